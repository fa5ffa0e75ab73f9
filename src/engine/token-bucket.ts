/**
 * Token-bucket arithmetic as pure functions of (state, rate, capacity, now). No timers, no hidden clock: the caller
 * owns the state and says what time it is. Tokens refill continuously at `rate.limit / rate.intervalMs` per ms up
 * to `capacity` (the burst).
 *
 * Cost above the burst: a request costing `n > capacity` could never find `n` tokens, so it is admitted when the
 * bucket is full and leaves it `n - capacity` tokens in debt. Later requests wait until the debt is repaid, so the
 * long-run rate still holds and nothing deadlocks. Tokens are therefore never above `capacity` and never below
 * `min(0, capacity - n)` for the largest cost `n` taken.
 *
 * A cost of 0 is always admitted, debt or not. A clock that steps backwards refills nothing until it passes `updatedAt` again: waits only ever get longer.
 */
import type { BucketLimit, Rate } from '../config/rate.js';

/** One bucket. Store it; pass it back with the next call. */
export interface BucketState {
  /** Tokens available at `updatedAt`. Negative while a cost above capacity is being repaid. */
  readonly tokens: number;
  /** Epoch ms the token count refers to. */
  readonly updatedAt: number;
}

/** The outcome of a take: admitted with the new state, or refused with the exact wait. Both carry the refilled state. */
export type TakeResult<S> =
  { readonly taken: true; readonly state: S } | { readonly taken: false; readonly waitMs: number; readonly state: S };

/** A full bucket at `now`. */
export function fullBucket(capacity: number, now: number): BucketState {
  return { tokens: capacity, updatedAt: now };
}

/** The bucket as it stands at `now`: refilled for the time since `updatedAt`, never above `capacity`. */
export function refill(state: BucketState, rate: Rate, capacity: number, now: number): BucketState {
  const elapsed = now - state.updatedAt;
  if (!(elapsed > 0)) return { tokens: Math.min(state.tokens, capacity), updatedAt: state.updatedAt };
  const tokens = Math.min(capacity, state.tokens + (elapsed * rate.limit) / rate.intervalMs);
  return { tokens, updatedAt: now };
}

/** Takes `n` tokens at `now` if they are there (see the module note for `n > capacity`), or says how long to wait. */
export function tryTake(
  state: BucketState,
  n: number,
  rate: Rate,
  capacity: number,
  now: number,
): TakeResult<BucketState> {
  const current = refill(state, rate, capacity, now);
  if (!hasEnough(current.tokens, n, capacity)) {
    return { taken: false, waitMs: msUntil(state, n, rate, capacity, now), state: current };
  }
  return { taken: true, state: take(current, n, capacity) };
}

/**
 * Past this many ms (about 140,000 years) whole milliseconds are no longer exact in a float, and no wait that long
 * will ever end: the computed estimate is the answer, without the search that makes shorter waits exact.
 */
const EXACT_WAIT_MS = 2 ** 52;

/**
 * Whole milliseconds from `now` until `n` tokens can be taken: 0 if they can be now. Exact below
 * {@link EXACT_WAIT_MS}: a take at `now + msUntil(...)` succeeds, and when the result is positive a take one
 * millisecond earlier does not. Its running time does not grow with the debt or the wait: a few dozen steps at most.
 * `n` must be finite; a NaN state or cost gives Infinity (never ready), the one answer that is not finite.
 */
export function msUntil(state: BucketState, n: number, rate: Rate, capacity: number, now: number): number {
  const ready = (at: number): boolean => hasEnough(refill(state, rate, capacity, at).tokens, n, capacity);
  if (ready(now)) return 0;
  const { tokens } = refill(state, rate, capacity, now);
  const lagMs = Math.max(0, state.updatedAt - now);
  const estimate = Math.max(1, Math.ceil(lagMs + ((need(n, capacity) - tokens) * rate.intervalMs) / rate.limit));
  if (Number.isNaN(estimate)) return Infinity;
  // A debt so large that the wait overflows is still a finite instant, so that `maxWait` can refuse it at once.
  if (estimate >= EXACT_WAIT_MS) return Math.min(estimate, Number.MAX_VALUE);
  // Float rounding can put the estimate off either way. Readiness only grows with time, so bracket the first ready
  // millisecond around the estimate and bisect, with the very test a take uses: exact by construction.
  let notReady = 0;
  let isReady = estimate;
  if (ready(now + estimate)) {
    for (let step = 1; isReady - step > notReady; step *= 2) {
      if (!ready(now + isReady - step)) {
        notReady = isReady - step;
        break;
      }
      isReady -= step;
    }
  } else {
    for (let step = 1; !ready(now + isReady); step *= 2) {
      // Within a few ms of the estimate in practice; the bound keeps a float surprise from searching any further.
      if (isReady >= EXACT_WAIT_MS) return isReady;
      notReady = isReady;
      isReady += step;
    }
  }
  while (isReady - notReady > 1) {
    const mid = notReady + Math.floor((isReady - notReady) / 2);
    if (ready(now + mid)) isReady = mid;
    else notReady = mid;
  }
  return isReady;
}

/** Full buckets for every limit of a multi-rate bucket. */
export function fullBuckets(limits: readonly BucketLimit[], now: number): BucketState[] {
  return limits.map(({ capacity }) => fullBucket(capacity, now));
}

/** {@link refill} for each bucket of a multi-rate bucket. A missing state counts as a full bucket. */
export function refillAll(states: readonly BucketState[], limits: readonly BucketLimit[], now: number): BucketState[] {
  return limits.map(({ rate, capacity }, i) => refill(stateAt(states, i, capacity, now), rate, capacity, now));
}

/**
 * Takes `n` from every bucket of a multi-rate bucket, only if every one of them can give it (all rates are enforced
 * at once); otherwise waits for the slowest. `states[i]` belongs to `limits[i]`; a missing state counts as full.
 */
export function tryTakeAll(
  states: readonly BucketState[],
  n: number,
  limits: readonly BucketLimit[],
  now: number,
): TakeResult<BucketState[]> {
  const current = refillAll(states, limits, now);
  const ready = limits.every(({ capacity }, i) => hasEnough(stateAt(current, i, capacity, now).tokens, n, capacity));
  if (!ready) return { taken: false, waitMs: msUntilAll(states, n, limits, now), state: current };
  return { taken: true, state: limits.map(({ capacity }, i) => take(stateAt(current, i, capacity, now), n, capacity)) };
}

/** {@link msUntil} for a multi-rate bucket: the longest of the buckets' waits, and just as exact. */
export function msUntilAll(
  states: readonly BucketState[],
  n: number,
  limits: readonly BucketLimit[],
  now: number,
): number {
  return limits.reduce(
    (wait, { rate, capacity }, i) => Math.max(wait, msUntil(stateAt(states, i, capacity, now), n, rate, capacity, now)),
    0,
  );
}

/** Tokens a take of `n` must find: all of them, or a full bucket when `n` is above capacity. */
function need(n: number, capacity: number): number {
  return Math.min(Math.max(0, n), capacity);
}

// Refills of the same interval computed along different paths can differ in the last bits; forgive that much.
function hasEnough(tokens: number, n: number, capacity: number): boolean {
  return n <= 0 || tokens >= need(n, capacity) - 1e-9 * Math.max(1, capacity);
}

function take(state: BucketState, n: number, capacity: number): BucketState {
  const cost = Math.max(0, n);
  // The floor absorbs the rounding forgiven above, so the documented bounds hold exactly.
  return { tokens: Math.max(state.tokens - cost, Math.min(0, capacity - cost)), updatedAt: state.updatedAt };
}

function stateAt(states: readonly BucketState[], i: number, capacity: number, now: number): BucketState {
  return states[i] ?? fullBucket(capacity, now);
}
