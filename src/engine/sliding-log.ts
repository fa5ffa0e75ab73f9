// A window that slides (Flask-Limiter's moving window, any sliding log): each request the server accepted holds one
// of its `limit` slots for one window length from its arrival. The budget's own accepted requests tell when each slot
// frees: one window after its answer, which came no earlier than its arrival. No clock of its own: told `now`.

/** Most answer instants kept, whatever the limit: a limit this large paces like no limit at all. */
const MAX_KEPT = 10_000;

/** The slots the budget's own accepted requests hold in a sliding window. */
export class SlidingLog {
  /** When each accepted request's slot frees (its answer plus the window's length), oldest first. */
  #freesAt: number[] = [];
  /** The first live entry of `#freesAt` (entries before it have freed). */
  #head = 0;
  /** The window, once the server was found to slide: its limit and length (ms). */
  #window: { readonly limit: number; readonly lengthMs: number } | undefined;
  /** Answer instants heard before the window was known, oldest first (the latest {@link MAX_KEPT} are read). */
  #answers: number[] = [];

  /** Whether the server's window slides, as found (see {@link slide}). */
  get active(): boolean {
    return this.#window !== undefined;
  }

  /** A request the server accepted was answered at `now`. */
  accepted(now: number): void {
    const window = this.#window;
    if (window === undefined) {
      this.#answers.push(now);
      // Trimmed in batches, not shifted on every answer: only the latest MAX_KEPT are ever read (see `slide`).
      if (this.#answers.length > 2 * MAX_KEPT) this.#answers = this.#answers.slice(-MAX_KEPT);
      return;
    }
    this.#freesAt.push(now + window.lengthMs);
    // Only the latest `limit` can hold a slot.
    if (this.#freesAt.length - this.#head > window.limit) this.#head = this.#freesAt.length - window.limit;
    if (this.#head > 1_024 && this.#head * 2 > this.#freesAt.length) {
      this.#freesAt = this.#freesAt.slice(this.#head);
      this.#head = 0;
    }
  }

  /**
   * The server's window slides: `limit` requests in any `lengthMs`. From now on the slots the budget's accepted
   * requests hold pace it, the answers heard so far included.
   */
  slide(limit: number, lengthMs: number): void {
    if (!(limit >= 1) || !(lengthMs > 0)) return;
    this.#window = { limit, lengthMs };
    this.#freesAt = this.#answers.slice(-Math.min(limit, MAX_KEPT)).map((at) => at + lengthMs);
    this.#head = 0;
    this.#answers = [];
  }

  /** The server refused where the slots said there was room: its window is not this one. */
  stop(): void {
    this.#window = undefined;
    this.#freesAt = [];
    this.#head = 0;
  }

  /** Whether a request the server accepted still holds a slot of the sliding window at `now`. */
  holds(now: number): boolean {
    if (this.#window === undefined) return false;
    const last = this.#freesAt[this.#freesAt.length - 1];
    return last !== undefined && this.#freesAt.length > this.#head && last > now;
  }

  /**
   * When one more request may go with `inFlight` requests in flight (each holds a slot from its arrival): `now` when
   * a slot is free, the instant the next one frees, or Infinity when only an answer in flight can tell. `now` when
   * the window is not known to slide.
   */
  readyAt(inFlight: number, now: number): number {
    const window = this.#window;
    if (window === undefined) return now;
    const freesAt = this.#freesAt;
    let head = this.#head;
    while (head < freesAt.length && freesAt[head]! <= now) head++;
    this.#head = head;
    const held = freesAt.length - head + inFlight;
    if (held < window.limit) return now;
    const next = head + (held - window.limit);
    return next < freesAt.length ? freesAt[next]! : Infinity;
  }
}
