declare const timerHandleBrand: unique symbol;

/** A timer returned by {@link Clock.setTimeout}. Opaque: only good for passing back to {@link Clock.clearTimeout}. */
export interface TimerHandle {
  /**
   * A type-only brand (no value carries it) that keeps handles opaque: a custom {@link Clock} casts what its
   * timers return to `TimerHandle`.
   */
  readonly [timerHandleBrand]: true;
}

/** Time as the library sees it. Injected everywhere, so tests drive a fake clock instead of sleeping. */
export interface Clock {
  /** The current instant, in epoch ms. */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now. Negative or NaN delays mean "as soon as possible". */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer. Clearing a timer that already fired or was cleared does nothing. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The longest delay a host timer takes (2^31 - 1 ms, about 24.8 days). Longer delays would fire at once in Node
 * and browsers, so {@link systemClock} shortens them to this; callers must re-check the time when a timer fires.
 */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

/**
 * The real clock: `Date.now()` and the host's timers, a client's `clock` by default. A client reads the time and arms
 * timers only through its clock; the one other read of real time in ratewise is the default `now` of `parseRateLimit`
 * and `parseRetryAfter`, for a caller that passes none (the client always passes its clock's).
 * Its timers keep a Node process alive, as a pending fetch's socket would: a timer exists only while a call waits
 * on it (ratewise arms none for an idle client), and a process awaiting a call in a pause must not exit mid-wait.
 */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delay = ms > 0 ? Math.min(ms, MAX_TIMER_DELAY_MS) : 0;
    return globalThis.setTimeout(fn, delay) as unknown as TimerHandle;
  },
  clearTimeout(handle: TimerHandle): void {
    globalThis.clearTimeout(handle as unknown as Parameters<typeof globalThis.clearTimeout>[0]);
  },
});
