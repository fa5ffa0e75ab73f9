declare const timerHandleBrand: unique symbol;

/** A timer returned by {@link Clock.setTimeout}. Opaque: only good for passing back to {@link Clock.clearTimeout}. */
export interface TimerHandle {
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

interface Unrefable {
  unref(): unknown;
}

function isUnrefable(timer: unknown): timer is Unrefable {
  return typeof timer === 'object' && timer !== null && typeof (timer as Partial<Unrefable>).unref === 'function';
}

/**
 * The real clock: `Date.now()` and the host's timers. The only code in ratewise that touches real time.
 * Its timers are `unref()`ed where the host supports it, so pending waits never keep an idle Node process alive.
 */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delay = ms > 0 ? Math.min(ms, MAX_TIMER_DELAY_MS) : 0;
    const timer: unknown = globalThis.setTimeout(fn, delay);
    if (isUnrefable(timer)) timer.unref();
    return timer as TimerHandle;
  },
  clearTimeout(handle: TimerHandle): void {
    globalThis.clearTimeout(handle as unknown as Parameters<typeof globalThis.clearTimeout>[0]);
  },
});
