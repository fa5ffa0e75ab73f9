// A retry budget (Finagle's RetryBudget, gRPC's retry throttling): retries may be at most a fixed floor plus a fraction
// of the first attempts sent recently, so a failing server sees a bounded multiple of normal traffic instead of a
// retry storm. Constant memory: a ring of SLOTS counters; every call is O(SLOTS).

/** Options of {@link RetryBudget}, validated by `resolveOptions` (`ratio >= 0`, `minPerSecond >= 0`, `windowMs > 0`). */
export interface RetryBudgetConfig {
  /** Retries allowed per first attempt sent in the window. */
  readonly ratio: number;
  /** Retries always allowed per second of window, however few requests were sent. */
  readonly minPerSecond: number;
  /** The sliding window, in ms. */
  readonly windowMs: number;
}

/** Counts in the budget's current window. */
export interface RetryBudgetSnapshot {
  /** First attempts recorded. */
  readonly requests: number;
  /** Retries admitted. */
  readonly retries: number;
}

/** The ring's length: the window slides by steps of `windowMs / SLOTS`. */
const SLOTS = 10;

/**
 * A sliding-window retry budget. {@link tryWithdraw} admits a retry while
 * `retries < minPerSecond × windowMs / 1000 + ratio × requests`, both counted over the window.
 *
 * The window is made of {@link SLOTS} slots of `windowMs / 10`: at time `t` it counts the slot holding `t` and the nine
 * before it, a span that starts between `0.9 × windowMs` and `windowMs` before `t`. Hence, with
 * `allowance(n) = minPerSecond × windowMs / 1000 + ratio × n`, for every retry admitted at time `t`:
 * - retries admitted in `(t − 0.9 × windowMs, t]`, this one included, are at most
 *   `ceil(allowance(requests recorded in (t − windowMs, t]))`;
 * - and conversely a retry asked for at `t` is admitted whenever the retries admitted before it in
 *   `(t − windowMs, t]` are fewer than `allowance(requests recorded in (t − 0.9 × windowMs, t])`.
 *
 * Time is measured internally as elapsed time: a clock that jumps backwards stands still until it passes its old
 * value again (nothing is forgotten, nothing is counted twice); one that jumps far forwards finds every slot expired.
 * Non-finite `now` values are ignored (time stands still).
 */
export class RetryBudget {
  readonly #slotMs: number;
  readonly #floor: number;
  readonly #ratio: number;
  /** Slot number (`floor(time / slotMs)`) each ring entry currently holds; -Infinity when never used. */
  readonly #slot = new Float64Array(SLOTS).fill(-Infinity);
  readonly #requests = new Float64Array(SLOTS);
  readonly #retries = new Float64Array(SLOTS);
  /** Internal elapsed time, in ms: the sum of the clock's forward steps, starting at the first `now` seen. */
  #time = 0;
  #lastNow: number | undefined;

  constructor({ ratio, minPerSecond, windowMs }: RetryBudgetConfig) {
    this.#slotMs = windowMs / SLOTS;
    this.#floor = (minPerSecond * windowMs) / 1000;
    this.#ratio = ratio;
  }

  /** Records a first attempt sent at `now` (epoch ms). Retries are not recorded here. */
  recordRequest(now: number): void {
    this.#requests[this.#current(now)]! += 1;
  }

  /** Whether a retry may be sent at `now` (epoch ms); records it when it may. */
  tryWithdraw(now: number): boolean {
    const index = this.#current(now);
    const { requests, retries } = this.#sum();
    if (retries >= this.#floor + this.#ratio * requests) return false;
    this.#retries[index]! += 1;
    return true;
  }

  /** The requests and retries counted in the window at `now` (epoch ms). */
  snapshot(now: number): RetryBudgetSnapshot {
    this.#current(now);
    return this.#sum();
  }

  /** Moves internal time to `now` and returns the ring index of its slot, emptied if it held an older slot. */
  #current(now: number): number {
    if (Number.isFinite(now)) {
      if (this.#lastNow === undefined) this.#time = now;
      else if (now > this.#lastNow) this.#time += now - this.#lastNow;
      this.#lastNow = now;
    }
    const slot = Math.floor(this.#time / this.#slotMs);
    const index = ((slot % SLOTS) + SLOTS) % SLOTS;
    if (this.#slot[index] !== slot) {
      this.#slot[index] = slot;
      this.#requests[index] = 0;
      this.#retries[index] = 0;
    }
    return index;
  }

  /** Totals over the slots of the current window; stale entries (older than SLOTS slots) are skipped. */
  #sum(): RetryBudgetSnapshot {
    const oldest = Math.floor(this.#time / this.#slotMs) - SLOTS;
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < SLOTS; i++) {
      if (this.#slot[i]! > oldest) {
        requests += this.#requests[i]!;
        retries += this.#retries[i]!;
      }
    }
    return { requests, retries };
  }
}
