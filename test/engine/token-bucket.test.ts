import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BucketLimit, Rate } from '../../src/config/rate.js';
import {
  fullBucket,
  fullBuckets,
  msUntil,
  msUntilAll,
  refill,
  refillAll,
  tryTake,
  tryTakeAll,
  type BucketState,
} from '../../src/engine/token-bucket.js';

const perSecond = (limit: number): Rate => ({ limit, intervalMs: 1000 });

describe('token bucket', () => {
  it('admits a full burst at once, then refuses with the wait for one more token', () => {
    const rate = perSecond(10);
    let state = fullBucket(5, 0);
    for (let i = 0; i < 5; i++) {
      const result = tryTake(state, 1, rate, 5, 0);
      expect(result.taken).toBe(true);
      state = result.state;
    }
    expect(tryTake(state, 1, rate, 5, 0)).toEqual({ taken: false, waitMs: 100, state: { tokens: 0, updatedAt: 0 } });
  });

  it('refills linearly at limit / intervalMs tokens per ms and never beyond capacity', () => {
    const rate = perSecond(10);
    const empty = { tokens: 0, updatedAt: 1000 };
    expect(refill(empty, rate, 5, 1250)).toEqual({ tokens: 2.5, updatedAt: 1250 });
    expect(refill(empty, rate, 5, 1500)).toEqual({ tokens: 5, updatedAt: 1500 });
    expect(refill(empty, rate, 5, 999_999)).toEqual({ tokens: 5, updatedAt: 999_999 });
  });

  it('paces a steady stream at exactly the rate', () => {
    const rate: Rate = { limit: 3, intervalMs: 1000 };
    let state = fullBucket(1, 0);
    let now = 0;
    const admittedAt: number[] = [];
    while (admittedAt.length < 5) {
      const result = tryTake(state, 1, rate, 1, now);
      state = result.state;
      if (result.taken) admittedAt.push(now);
      else now += result.waitMs;
    }
    expect(admittedAt).toEqual([0, 334, 668, 1002, 1336]);
  });

  it('says 0 ms when the tokens are already there, and always admits a cost of 0', () => {
    expect(msUntil(fullBucket(1, 0), 1, perSecond(1), 1, 0)).toBe(0);
    expect(tryTake({ tokens: -3, updatedAt: 0 }, 0, perSecond(1), 1, 0).taken).toBe(true);
  });

  describe('a cost above capacity', () => {
    it('is admitted when the bucket is full and leaves it in debt', () => {
      const result = tryTake(fullBucket(5, 0), 8, perSecond(1), 5, 0);
      expect(result).toEqual({ taken: true, state: { tokens: -3, updatedAt: 0 } });
    });

    it('waits for a full bucket rather than for tokens that could never fit', () => {
      const state = { tokens: 4, updatedAt: 0 };
      expect(msUntil(state, 100, perSecond(1), 5, 0)).toBe(1000);
      expect(tryTake(state, 100, perSecond(1), 5, 1000).taken).toBe(true);
    });

    it('makes the next request wait until the debt is repaid, so the long-run rate holds', () => {
      const indebted = tryTake(fullBucket(5, 0), 8, perSecond(1), 5, 0).state;
      expect(msUntil(indebted, 1, perSecond(1), 5, 0)).toBe(4000);
    });
  });

  describe('a huge debt', () => {
    /**
     * 10 per second, counting how often the maths reads it: the work done for one answer. It throws past a bound,
     * so that a search that would run for ever (a bisection stuck between two floats) fails instead of hanging.
     */
    function countedRate(): { rate: Rate; reads: () => number } {
      let reads = 0;
      const rate = {
        get limit(): number {
          if (++reads > 10_000) throw new Error('the bucket maths read its rate 10,000 times for one answer');
          return 10;
        },
        intervalMs: 1000,
      };
      return { rate, reads: () => reads };
    }

    it.each([1e16, 1e300, Number.MAX_VALUE])(
      'after a cost of %d, the wait is computed in a few dozen steps, not searched for',
      (cost) => {
        const now = 1_700_000_000_000;
        const { rate, reads } = countedRate();
        const indebted = tryTake(fullBucket(10, now), cost, rate, 10, now).state;
        expect(indebted.tokens).toBe(10 - cost);
        const wait = msUntil(indebted, 1, rate, 10, now);
        // The debt over the rate: 1e16 tokens at 10 per second is about 1e18 ms, past what a float counts exactly.
        expect(wait).toBeGreaterThanOrEqual(Math.min(cost * 100, Number.MAX_VALUE) * (1 - 1e-12));
        expect(Number.isFinite(wait)).toBe(true);
        expect(Number.isFinite(now + wait)).toBe(true);
        expect(reads()).toBeLessThan(300);
      },
    );

    it('a debt just short of exactness still gets the exact wait', () => {
      const now = 1_700_000_000_000;
      const state = { tokens: -1e13, updatedAt: now }; // 1e15 ms at 10/s: below 2^52 ms
      const wait = msUntil(state, 1, perSecond(10), 10, now);
      expect(tryTake(state, 1, perSecond(10), 10, now + wait).taken).toBe(true);
      expect(tryTake(state, 1, perSecond(10), 10, now + wait - 1).taken).toBe(false);
    });

    it('a NaN cost is never ready, and says so at once', () => {
      // Counted on the state: with a NaN instant the refill returns before it reads the rate.
      let reads = 0;
      const state = {
        get tokens(): number {
          if (++reads > 10_000) throw new Error('the bucket maths read its state 10,000 times for one answer');
          return 10;
        },
        updatedAt: 0,
      };
      expect(msUntil(state, Number.NaN, perSecond(10), 10, 0)).toBe(Infinity);
      expect(reads).toBeLessThan(10);
    });
  });

  it('refills nothing while the clock is behind the last update, so a backwards step only lengthens waits', () => {
    const state = { tokens: 0, updatedAt: 10_000 };
    expect(refill(state, perSecond(1), 5, 4000)).toEqual(state);
    expect(msUntil(state, 1, perSecond(1), 5, 4000)).toBe(7000);
    expect(refill({ tokens: 9, updatedAt: 10_000 }, perSecond(1), 5, 4000).tokens).toBe(5);
  });

  describe('multi-rate buckets', () => {
    const limits: BucketLimit[] = [
      { rate: { limit: 200, intervalMs: 86_400_000 }, capacity: 200 },
      { rate: { limit: 50, intervalMs: 3_600_000 }, capacity: 50 },
    ];

    it('admits only while every rate has tokens, taking from each', () => {
      let states: BucketState[] = fullBuckets(limits, 0);
      for (let i = 0; i < 50; i++) {
        const result = tryTakeAll(states, 1, limits, 0);
        expect(result.taken).toBe(true);
        states = result.state;
      }
      expect(states.map((s) => s.tokens)).toEqual([150, 0]);
      const refused = tryTakeAll(states, 1, limits, 0);
      expect(refused).toMatchObject({ taken: false, waitMs: 72_000 });
    });

    it('waits for the slowest rate', () => {
      const states = [
        { tokens: 0, updatedAt: 0 },
        { tokens: 50, updatedAt: 0 },
      ];
      expect(msUntilAll(states, 1, limits, 0)).toBe(432_000);
      expect(tryTakeAll(states, 1, limits, 431_999).taken).toBe(false);
      expect(tryTakeAll(states, 1, limits, 432_000).taken).toBe(true);
    });

    it('treats a missing state as a full bucket', () => {
      expect(refillAll([], limits, 7)).toEqual([
        { tokens: 200, updatedAt: 7 },
        { tokens: 50, updatedAt: 7 },
      ]);
    });
  });
});

const rates = fc.record({
  limit: fc.double({ min: 0.01, max: 10_000, noNaN: true }),
  intervalMs: fc.oneof(fc.integer({ min: 1, max: 100_000_000 }), fc.double({ min: 0.5, max: 1e6, noNaN: true })),
});
const capacities = fc.double({ min: 0.5, max: 10_000, noNaN: true });
const steps = fc.array(fc.record({ dt: fc.nat({ max: 10_000 }), cost: fc.double({ min: 0, max: 1, noNaN: true }) }), {
  minLength: 1,
  maxLength: 60,
});

/** Runs a sequence of take attempts, scaling each cost to `maxCost`, and returns the admitted (time, cost) pairs. */
function simulate(rate: Rate, capacity: number, maxCost: number, plan: { dt: number; cost: number }[]) {
  let state = fullBucket(capacity, 0);
  let now = 0;
  const admitted: { at: number; cost: number }[] = [];
  const states: BucketState[] = [];
  for (const { dt, cost } of plan) {
    now += dt;
    const n = cost * maxCost;
    const result = tryTake(state, n, rate, capacity, now);
    state = result.state;
    states.push(state);
    if (result.taken) admitted.push({ at: now, cost: n });
  }
  return { admitted, states };
}

describe('token bucket properties', () => {
  it('never holds more than capacity, and never less than 0 while costs fit the burst', () => {
    fc.assert(
      fc.property(rates, capacities, steps, (rate, capacity, plan) => {
        for (const { tokens } of simulate(rate, capacity, capacity, plan).states) {
          expect(tokens).toBeLessThanOrEqual(capacity);
          expect(tokens).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });

  it('never owes more than the largest cost above capacity', () => {
    fc.assert(
      fc.property(rates, capacities, fc.double({ min: 1, max: 10, noNaN: true }), steps, (rate, capacity, k, plan) => {
        const maxCost = capacity * k;
        for (const { tokens } of simulate(rate, capacity, maxCost, plan).states) {
          expect(tokens).toBeLessThanOrEqual(capacity);
          expect(tokens).toBeGreaterThanOrEqual(Math.min(0, capacity - maxCost));
        }
      }),
    );
  });

  it('admits at most burst + rate × t over any window of length t (plus the overshoot of a cost above burst)', () => {
    fc.assert(
      fc.property(rates, capacities, fc.double({ min: 0.1, max: 3, noNaN: true }), steps, (rate, capacity, k, plan) => {
        const maxCost = capacity * k;
        const { admitted } = simulate(rate, capacity, maxCost, plan);
        const overshoot = Math.max(0, maxCost - capacity);
        for (let i = 0; i < admitted.length; i++) {
          let sum = 0;
          for (let j = i; j < admitted.length; j++) {
            sum += admitted[j]!.cost;
            const window = admitted[j]!.at - admitted[i]!.at;
            const bound = capacity + (rate.limit / rate.intervalMs) * window + overshoot;
            expect(sum).toBeLessThanOrEqual(bound * (1 + 1e-9) + 1e-6);
          }
        }
      }),
    );
  });

  const states = fc.record({
    tokens: fc.double({ min: -10_000, max: 10_000, noNaN: true }),
    updatedAt: fc.integer({ min: 0, max: 1e12 }),
  });

  it('msUntil is exact: a take then succeeds, and one millisecond earlier it does not', () => {
    fc.assert(
      fc.property(
        states,
        rates,
        capacities,
        fc.double({ min: 0, max: 20_000, noNaN: true }),
        fc.integer({ min: -1e6, max: 1e6 }),
        (state, rate, capacity, n, offset) => {
          const now = state.updatedAt + offset;
          const wait = msUntil(state, n, rate, capacity, now);
          expect(Number.isInteger(wait) && wait >= 0).toBe(true);
          expect(tryTake(state, n, rate, capacity, now + wait).taken).toBe(true);
          if (wait > 0) expect(tryTake(state, n, rate, capacity, now + wait - 1).taken).toBe(false);
        },
      ),
    );
  });

  it('a refused take, retried after its waitMs with the state it returned, succeeds', () => {
    fc.assert(
      fc.property(
        states,
        rates,
        capacities,
        fc.double({ min: 0, max: 20_000, noNaN: true }),
        (state, rate, capacity, n) => {
          const now = state.updatedAt + 1;
          const refused = tryTake(state, n, rate, capacity, now);
          if (refused.taken) return;
          expect(tryTake(refused.state, n, rate, capacity, now + refused.waitMs).taken).toBe(true);
        },
      ),
    );
  });

  it('a multi-rate bucket admits exactly when every single bucket would, and its wait is exact', () => {
    const limitsArb = fc.array(fc.record({ rate: rates, capacity: capacities }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(
        limitsArb,
        fc.array(states, { minLength: 4, maxLength: 4 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.integer({ min: 0, max: 1e6 }),
        (limits, all, n, offset) => {
          const now = 1e12 + offset;
          const single = limits.map(({ rate, capacity }, i) => tryTake(all[i]!, n, rate, capacity, now));
          const multi = tryTakeAll(all, n, limits, now);
          expect(multi.taken).toBe(single.every((r) => r.taken));
          const wait = msUntilAll(all, n, limits, now);
          expect(tryTakeAll(all, n, limits, now + wait).taken).toBe(true);
          if (wait > 0) expect(tryTakeAll(all, n, limits, now + wait - 1).taken).toBe(false);
        },
      ),
    );
  });
});
