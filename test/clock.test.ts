import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_DELAY_MS, systemClock } from '../src/clock.js';
import { FakeClock } from './support/fake-clock.js';

describe('systemClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads the time from Date.now', () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    expect(systemClock.now()).toBe(1_700_000_000_000);
  });

  it('fires a timer after its delay, and not before', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    systemClock.setTimeout(fn, 1000);
    vi.advanceTimersByTime(999);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledOnce();
  });

  it('cancels a timer', () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const handle = systemClock.setTimeout(fn, 10);
    systemClock.clearTimeout(handle);
    systemClock.clearTimeout(handle);
    vi.advanceTimersByTime(100);
    expect(fn).not.toHaveBeenCalled();
  });

  it('keeps its timers referenced: a call waiting on one keeps the process up (an idle client has none)', () => {
    const handle = systemClock.setTimeout(() => undefined, 60_000) as unknown as NodeJS.Timeout;
    try {
      expect(handle.hasRef()).toBe(true);
    } finally {
      systemClock.clearTimeout(handle as unknown as Parameters<typeof systemClock.clearTimeout>[0]);
    }
  });

  it('shortens delays beyond the host maximum instead of letting them fire at once', () => {
    vi.useFakeTimers();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    systemClock.setTimeout(() => undefined, 40 * 24 * 3600 * 1000);
    systemClock.setTimeout(() => undefined, -5);
    systemClock.setTimeout(() => undefined, Number.NaN);
    expect(spy.mock.calls.map((call) => call[1])).toEqual([MAX_TIMER_DELAY_MS, 0, 0]);
  });

  it('is frozen, so no caller can swap the time source for everyone', () => {
    expect(Object.isFrozen(systemClock)).toBe(true);
  });
});

describe('FakeClock', () => {
  it('starts at the given instant and moves only when advanced', () => {
    const clock = new FakeClock(5000);
    expect(clock.now()).toBe(5000);
    clock.advance(250);
    expect(clock.now()).toBe(5250);
    clock.advanceTo(6000);
    expect(clock.now()).toBe(6000);
  });

  it('fires due timers in time order, each seeing its own due time', () => {
    const clock = new FakeClock();
    const seen: [string, number][] = [];
    clock.setTimeout(() => seen.push(['b', clock.now()]), 200);
    clock.setTimeout(() => seen.push(['a', clock.now()]), 100);
    clock.setTimeout(() => seen.push(['c', clock.now()]), 300);
    clock.advance(250);
    expect(seen).toEqual([
      ['a', 100],
      ['b', 200],
    ]);
    expect(clock.now()).toBe(250);
    expect(clock.pending()).toBe(1);
  });

  it('fires timers due at the same instant in the order they were scheduled', () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    for (const id of [1, 2, 3]) clock.setTimeout(() => seen.push(id), 10);
    clock.advance(10);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('fires timers scheduled during an advance when they fall due within it', () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const tick = (): void => {
      seen.push(clock.now());
      clock.setTimeout(tick, 100);
    };
    clock.setTimeout(tick, 100);
    clock.advance(350);
    expect(seen).toEqual([100, 200, 300]);
    expect(clock.pending()).toBe(1);
    expect(clock.nextAt()).toBe(400);
  });

  it('fires a zero-delay timer scheduled during an advance at once, and treats negative delays as zero', () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    clock.setTimeout(() => {
      clock.setTimeout(() => seen.push(clock.now()), 0);
      clock.setTimeout(() => seen.push(clock.now()), -50);
    }, 10);
    clock.advance(10);
    expect(seen).toEqual([10, 10]);
  });

  it('does not fire cleared timers', () => {
    const clock = new FakeClock();
    const fn = vi.fn();
    const handle = clock.setTimeout(fn, 10);
    clock.setTimeout(() => {
      clock.clearTimeout(handle);
    }, 5);
    clock.advance(20);
    expect(fn).not.toHaveBeenCalled();
    expect(clock.pending()).toBe(0);
  });

  it('logs every scheduled delay for assertions', () => {
    const clock = new FakeClock();
    clock.setTimeout(() => undefined, 1000);
    const handle = clock.setTimeout(() => undefined, 250);
    clock.clearTimeout(handle);
    expect(clock.scheduled).toEqual([1000, 250]);
    expect(clock.pending()).toBe(1);
  });

  it('next() jumps to the next timer and reports whether there was one', () => {
    const clock = new FakeClock();
    const fn = vi.fn();
    clock.setTimeout(fn, 700);
    expect(clock.next()).toBe(true);
    expect(clock.now()).toBe(700);
    expect(fn).toHaveBeenCalledOnce();
    expect(clock.next()).toBe(false);
  });

  it('jump() steps the wall clock without firing, and timers keep their remaining delay', () => {
    const clock = new FakeClock(10_000);
    const fn = vi.fn();
    clock.setTimeout(fn, 100);
    clock.jump(-5000);
    expect(clock.now()).toBe(5000);
    clock.advance(99);
    expect(fn).not.toHaveBeenCalled();
    clock.advance(1);
    expect(fn).toHaveBeenCalledOnce();
  });

  it('refuses to go back in time or to spin forever', () => {
    const clock = new FakeClock(100);
    expect(() => {
      clock.advance(-1);
    }).toThrow(RangeError);
    expect(() => {
      clock.advanceTo(50);
    }).toThrow(RangeError);
    const spin = (): void => {
      clock.setTimeout(spin, 0);
    };
    clock.setTimeout(spin, 0);
    expect(() => {
      clock.advance(1);
    }).toThrow(/a loop\?/);
  });
});
