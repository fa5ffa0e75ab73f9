import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { BackoffOptions, Jitter } from '../../src/options.js';
import { backoffCeiling, backoffDelay, jitterUp } from '../../src/retry/backoff.js';

/** A scripted `random` that returns the given values in turn, then repeats the last. */
function scripted(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

const never = (): number => {
  throw new Error('random() should not be called');
};

describe('backoffCeiling', () => {
  it('doubles from 500 ms and stops at 30 s by default', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffCeiling(attempt))).toEqual([
      500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
  });

  it('follows baseMs, factor and maxMs', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffCeiling(attempt, { baseMs: 100, factor: 3, maxMs: 1000 }))).toEqual([
      100, 300, 900, 1000,
    ]);
  });

  it('treats attempts below 1 as the first and survives absurd attempt numbers', () => {
    expect(backoffCeiling(0)).toBe(500);
    expect(backoffCeiling(-5)).toBe(500);
    expect(backoffCeiling(1e9)).toBe(30_000);
    expect(backoffCeiling(1e9, { baseMs: 0 })).toBe(0);
  });
});

describe('backoffDelay', () => {
  it("'none' is the exponential delay itself and never calls random", () => {
    expect([1, 2, 3].map((attempt) => backoffDelay(attempt, never, { jitter: 'none' }))).toEqual([500, 1000, 2000]);
  });

  it("'full' is uniform in [0, exponential] and is the default", () => {
    expect(backoffDelay(3, scripted(0))).toBe(0);
    expect(backoffDelay(3, scripted(0.25))).toBe(500);
    expect(backoffDelay(3, scripted(0.999_999))).toBe(2000);
  });

  it("'equal' is uniform in [exponential / 2, exponential]", () => {
    expect(backoffDelay(3, scripted(0), { jitter: 'equal' })).toBe(1000);
    expect(backoffDelay(3, scripted(0.5), { jitter: 'equal' })).toBe(1500);
  });

  it("'decorrelated' is uniform in [base, 3 × previous], starting from base, capped", () => {
    const options: BackoffOptions = { jitter: 'decorrelated', baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(1, scripted(0), options)).toBe(100);
    expect(backoffDelay(1, scripted(0.5), options)).toBe(200);
    expect(backoffDelay(7, scripted(0.5), options, 200)).toBe(350);
    expect(backoffDelay(7, scripted(0.999), options, 900)).toBe(1000);
  });

  it("'decorrelated' grows a sequence fed its own previous delays, within the cap", () => {
    const options: BackoffOptions = { jitter: 'decorrelated', baseMs: 100, maxMs: 5000 };
    const random = scripted(1);
    const delays: number[] = [];
    let previous: number | undefined;
    for (let attempt = 1; attempt <= 6; attempt++) {
      previous = backoffDelay(attempt, random, options, previous);
      delays.push(previous);
    }
    expect(delays).toEqual([300, 900, 2700, 5000, 5000, 5000]);
  });

  it('clamps a random() that strays outside [0, 1) instead of leaving the bounds', () => {
    expect(backoffDelay(3, () => 7)).toBe(2000);
    expect(backoffDelay(3, () => -1)).toBe(0);
  });

  it('draws from Math.random instead of a random() that is not a finite number: the delay stays jittered', () => {
    // Taken as 0, a NaN gave every retry the shortest backoff (0 ms with full jitter): every client at once.
    const spy = vi.spyOn(Math, 'random').mockReturnValue(0.25);
    try {
      for (const broken of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '0.5' as never]) {
        expect(backoffDelay(3, () => broken)).toBe(500);
        expect(backoffDelay(3, () => broken, { jitter: 'equal' })).toBe(1250);
        expect(jitterUp(2000, () => broken)).toBe(2050);
      }
      expect(spy).toHaveBeenCalledTimes(12);
    } finally {
      spy.mockRestore();
    }
  });

  it('returns whole milliseconds', () => {
    expect(backoffDelay(1, scripted(0.3333), { baseMs: 1 })).toBe(0);
    expect(Number.isInteger(backoffDelay(2, scripted(0.123_456)))).toBe(true);
  });
});

describe('jitterUp', () => {
  it('adds up to 10 % of the wait, at most 1 s, by default', () => {
    expect(jitterUp(2000, scripted(0))).toBe(2000);
    expect(jitterUp(2000, scripted(0.5))).toBe(2100);
    expect(jitterUp(60_000, scripted(0.999_999))).toBe(61_000);
  });

  it('follows ratio and maxExtraMs', () => {
    expect(jitterUp(1000, scripted(1), { ratio: 0.5, maxExtraMs: 10_000 })).toBe(1500);
    expect(jitterUp(1000, scripted(1), { ratio: 0.5, maxExtraMs: 50 })).toBe(1050);
    expect(jitterUp(1000, scripted(1), { ratio: 0 })).toBe(1000);
  });

  it('leaves a zero, negative or non-finite wait as it is', () => {
    expect(jitterUp(0, scripted(0.9))).toBe(0);
    expect(jitterUp(-500, scripted(0.9))).toBe(-500);
    expect(jitterUp(Number.POSITIVE_INFINITY, scripted(0.9))).toBe(Number.POSITIVE_INFINITY);
  });
});

const jitters = fc.constantFrom<Jitter>('none', 'full', 'equal', 'decorrelated');
const options = fc.record({
  baseMs: fc.double({ min: 0, max: 100_000, noNaN: true }),
  maxMs: fc.double({ min: 0, max: 1_000_000, noNaN: true }),
  factor: fc.double({ min: 1, max: 10, noNaN: true }),
  jitter: jitters,
});
const randoms = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const attempts = fc.integer({ min: -3, max: 2000 });

describe('backoff properties', () => {
  it('every delay is a finite whole number of ms within [0, maxMs]', () => {
    fc.assert(
      fc.property(
        attempts,
        randoms,
        options,
        fc.option(fc.double({ min: 0, max: 1e7, noNaN: true })),
        (attempt, r, opts, previous) => {
          const delay = backoffDelay(attempt, () => r, opts, previous ?? undefined);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(opts.maxMs);
        },
      ),
    );
  });

  it("'none', 'full' and 'equal' delays never exceed the ceiling (rounded), and the ceiling never falls", () => {
    fc.assert(
      fc.property(
        attempts,
        randoms,
        options,
        fc.constantFrom<Jitter>('none', 'full', 'equal'),
        (attempt, r, opts, jitter) => {
          const ceiling = backoffCeiling(attempt, opts);
          expect(backoffDelay(attempt, () => r, { ...opts, jitter })).toBeLessThanOrEqual(Math.round(ceiling));
          expect(backoffCeiling(attempt + 1, opts)).toBeGreaterThanOrEqual(ceiling);
        },
      ),
    );
  });

  it("'none' delays never fall from one attempt to the next", () => {
    fc.assert(
      fc.property(attempts, options, (attempt, opts) => {
        const next = backoffDelay(attempt + 1, never, { ...opts, jitter: 'none' });
        expect(next).toBeGreaterThanOrEqual(backoffDelay(attempt, never, { ...opts, jitter: 'none' }));
      }),
    );
  });

  it('a higher random() never gives a shorter delay', () => {
    fc.assert(
      fc.property(attempts, randoms, randoms, options, (attempt, a, b, opts) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(backoffDelay(attempt, () => high, opts, 1000)).toBeGreaterThanOrEqual(
          backoffDelay(attempt, () => low, opts, 1000),
        );
      }),
    );
  });

  it('upward jitter never shortens a server-given wait and adds at most min(maxExtraMs, ratio × wait)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        randoms,
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.double({ min: 0, max: 100_000, noNaN: true }),
        (delayMs, r, ratio, maxExtraMs) => {
          const jittered = jitterUp(delayMs, () => r, { ratio, maxExtraMs });
          expect(Number.isFinite(jittered)).toBe(true);
          expect(jittered).toBeGreaterThanOrEqual(delayMs);
          expect(jittered - delayMs).toBeLessThanOrEqual(Math.round(Math.min(maxExtraMs, delayMs * ratio)) + 1e-6);
        },
      ),
    );
  });
});
