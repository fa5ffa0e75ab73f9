import type { Clock, TimerHandle } from '../../src/clock.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

/** Most timers one `advance` may fire; more means a timer keeps re-arming itself with no delay. */
const MAX_FIRES_PER_ADVANCE = 100_000;

/**
 * A {@link Clock} that only moves when told to. Timers fire in time order (in scheduling order on ties) during
 * {@link advance}, each seeing `now()` equal to its due time; timers scheduled while advancing fire too when they
 * fall due within the window.
 */
export class FakeClock implements Clock {
  /** Every delay passed to `setTimeout`, in call order, as given. */
  readonly scheduled: number[] = [];
  readonly #timers = new Map<number, Timer>();
  #now: number;
  #seq = 0;

  constructor(startAt = 0) {
    this.#now = startAt;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    this.scheduled.push(ms);
    const seq = ++this.#seq;
    this.#timers.set(seq, { at: this.#now + (ms > 0 ? ms : 0), seq, fn });
    return seq as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as unknown as number);
  }

  /** Live timers: scheduled, not yet fired, not cleared. */
  pending(): number {
    return this.#timers.size;
  }

  /** Due time (epoch ms) of the next timer, if any. */
  nextAt(): number | undefined {
    return this.#next()?.at;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance expects a non-negative number of ms, got ${ms}`);
    this.advanceTo(this.#now + ms);
  }

  /** Moves time forward to `at` (epoch ms), firing every timer that falls due on the way. */
  advanceTo(at: number): void {
    if (!(at >= this.#now)) throw new RangeError(`FakeClock cannot go back from ${this.#now} to ${at}`);
    for (let fired = 0; ; fired++) {
      const timer = this.#next();
      if (timer === undefined || timer.at > at) break;
      if (fired >= MAX_FIRES_PER_ADVANCE) throw new Error(`FakeClock fired ${fired} timers in one advance: a loop?`);
      this.#timers.delete(timer.seq);
      this.#now = timer.at;
      timer.fn();
    }
    this.#now = at;
  }

  /** Moves time to the next timer and fires it (and any due at the same instant). False when none is pending. */
  next(): boolean {
    const at = this.nextAt();
    if (at === undefined) return false;
    this.advanceTo(at);
    return true;
  }

  /**
   * Steps the wall clock by `ms` (backwards when negative) without firing anything, the way an NTP correction does.
   * Pending timers keep their remaining delay, as real timers (which run on a monotonic clock) do.
   */
  jump(ms: number): void {
    this.#now += ms;
    for (const [seq, timer] of this.#timers) this.#timers.set(seq, { ...timer, at: timer.at + ms });
  }

  #next(): Timer | undefined {
    let earliest: Timer | undefined;
    for (const timer of this.#timers.values()) {
      if (earliest === undefined || timer.at < earliest.at || (timer.at === earliest.at && timer.seq < earliest.seq)) {
        earliest = timer;
      }
    }
    return earliest;
  }
}

/**
 * Fires the fake clock's timers, one at a time, until `promise` settles: the servers answer on the real clock, the
 * client waits on the fake one. `mayMove` holds the clock while it answers false (a request on the wire, say, so
 * that it reaches the server at the instant it was sent).
 */
export async function settle<T>(clock: FakeClock, promise: Promise<T>, mayMove = (): boolean => true): Promise<T> {
  let done = false;
  const watched = promise.finally(() => {
    done = true;
  });
  watched.catch(() => undefined);
  while (!done) {
    await new Promise((resolve) => setImmediate(resolve));
    if (mayMove()) clock.next();
  }
  return watched;
}
