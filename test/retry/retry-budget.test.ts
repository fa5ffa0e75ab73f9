import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RetryBudget, type RetryBudgetConfig } from '../../src/retry/retry-budget.js';

const T0 = Date.UTC(2025, 9, 1, 12, 0, 0);
const DEFAULTS: RetryBudgetConfig = { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 };

/** Withdraws until refused (at most `max` times); returns how many were admitted. */
function drain(budget: RetryBudget, now: number, max = 10_000): number {
  let admitted = 0;
  while (admitted < max && budget.tryWithdraw(now)) admitted++;
  return admitted;
}

describe('RetryBudget', () => {
  it('admits minPerSecond × windowMs / 1000 retries when no request was sent', () => {
    const budget = new RetryBudget(DEFAULTS);
    expect(drain(budget, T0)).toBe(100);
    expect(budget.snapshot(T0)).toEqual({ requests: 0, retries: 100 });
  });

  it('admits ratio × requests on top of the floor', () => {
    const budget = new RetryBudget(DEFAULTS);
    for (let i = 0; i < 500; i++) budget.recordRequest(T0 + i);
    expect(drain(budget, T0 + 500)).toBe(100 + 0.2 * 500);
  });

  it('stops a retry storm: with no floor, one retry per five requests', () => {
    const budget = new RetryBudget({ ...DEFAULTS, minPerSecond: 0 });
    expect(budget.tryWithdraw(T0)).toBe(false);
    for (let i = 0; i < 4; i++) budget.recordRequest(T0);
    expect(budget.tryWithdraw(T0)).toBe(true); // 0 < 0.8
    expect(budget.tryWithdraw(T0)).toBe(false); // 1 >= 0.8
    budget.recordRequest(T0);
    expect(budget.tryWithdraw(T0)).toBe(false); // 1 >= 1
    budget.recordRequest(T0);
    expect(budget.tryWithdraw(T0)).toBe(true); // 1 < 1.2
  });

  it('admits nothing when both the floor and the ratio are 0', () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, windowMs: 10_000 });
    for (let i = 0; i < 100; i++) budget.recordRequest(T0);
    expect(budget.tryWithdraw(T0)).toBe(false);
  });

  it('does not count retries as requests', () => {
    const budget = new RetryBudget(DEFAULTS);
    drain(budget, T0);
    expect(budget.snapshot(T0).requests).toBe(0);
  });

  it('frees spent retries as the window slides, a tenth of the window at a time', () => {
    const budget = new RetryBudget(DEFAULTS);
    expect(drain(budget, T0, 30)).toBe(30); // slot 0
    expect(drain(budget, T0 + 1000, 30)).toBe(30); // slot 1
    expect(drain(budget, T0 + 2000)).toBe(40); // slot 2: the floor is spent
    expect(budget.tryWithdraw(T0 + 9999)).toBe(false);
    expect(budget.snapshot(T0 + 10_000)).toEqual({ requests: 0, retries: 70 }); // slot 0 left the window
    expect(drain(budget, T0 + 10_000)).toBe(30);
    expect(drain(budget, T0 + 11_000)).toBe(30); // slot 1 left
    expect(budget.snapshot(T0 + 30_000)).toEqual({ requests: 0, retries: 0 });
  });

  it('forgets requests as the window slides, shrinking the allowance', () => {
    const budget = new RetryBudget({ ...DEFAULTS, minPerSecond: 0, ratio: 1 });
    for (let i = 0; i < 10; i++) budget.recordRequest(T0);
    expect(budget.snapshot(T0 + 9999)).toEqual({ requests: 10, retries: 0 });
    expect(budget.tryWithdraw(T0 + 10_000)).toBe(false);
  });

  it('stands still when the clock jumps backwards: nothing forgotten, nothing counted twice', () => {
    const budget = new RetryBudget(DEFAULTS);
    expect(drain(budget, T0 + 5000)).toBe(100);
    expect(budget.tryWithdraw(T0 - 3_600_000)).toBe(false); // an hour back: still the same window
    // Internal time resumes from where it stood: 10 s of forward steps free the slots again.
    expect(budget.tryWithdraw(T0 - 3_600_000 + 9999)).toBe(false);
    expect(budget.snapshot(T0 - 3_600_000 + 10_000)).toEqual({ requests: 0, retries: 0 });
  });

  it('finds every slot expired after a jump far forwards', () => {
    const budget = new RetryBudget(DEFAULTS);
    budget.recordRequest(T0);
    drain(budget, T0);
    expect(budget.snapshot(T0 + 365 * 86_400_000)).toEqual({ requests: 0, retries: 0 });
    expect(drain(budget, T0 + 365 * 86_400_000)).toBe(100);
  });

  it('ignores a non-finite now (time stands still)', () => {
    const budget = new RetryBudget(DEFAULTS);
    budget.recordRequest(T0);
    budget.recordRequest(Number.NaN);
    budget.recordRequest(Infinity);
    expect(budget.snapshot(-Infinity)).toEqual({ requests: 3, retries: 0 });
    expect(budget.snapshot(T0 + 10_000)).toEqual({ requests: 0, retries: 0 });
  });
});

type Op = { readonly kind: 'request' } | { readonly kind: 'retry' } | { readonly kind: 'step'; readonly ms: number };

describe('RetryBudget: the guarantee of src/retry-budget.ts, whatever the calls and clock steps', () => {
  // Small floors and short steps, so that the allowance is reached often and the edges of the window are exercised.
  const config = fc.record({
    ratio: fc.constantFrom(0, 0.1, 0.2, 0.5, 1, 2.5),
    minPerSecond: fc.constantFrom(0, 0.1, 0.5, 1, 3),
    windowMs: fc.integer({ min: 100, max: 500 }).map((tenth) => tenth * 10),
  });
  const step = (min: number, max: number) => fc.integer({ min, max }).map<Op>((ms) => ({ kind: 'step', ms }));
  const ops = (windowMs: number) =>
    fc.array(
      fc.oneof(
        { weight: 6, arbitrary: fc.constant<Op>({ kind: 'request' }) },
        { weight: 8, arbitrary: fc.constant<Op>({ kind: 'retry' }) },
        { weight: 3, arbitrary: step(0, windowMs / 5) },
        { weight: 3, arbitrary: step(0, windowMs) },
        { weight: 1, arbitrary: step(-2 * windowMs, 3 * windowMs) },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom(windowMs / 10, (9 * windowMs) / 10, windowMs)
            .map<Op>((ms) => ({ kind: 'step', ms })),
        },
        { weight: 1, arbitrary: step(-1e12, 1e12) },
      ),
      { maxLength: 200 },
    );

  it('admits a retry at t exactly when the windowed counts allow it', () => {
    fc.assert(
      fc.property(
        config.chain((c) => fc.tuple(fc.constant(c), ops(c.windowMs))),
        ([{ ratio, minPerSecond, windowMs }, script]) => {
          const budget = new RetryBudget({ ratio, minPerSecond, windowMs });
          const allowance = (requests: number): number => (minPerSecond * windowMs) / 1000 + ratio * requests;
          // The model measures time as the budget documents: elapsed time, the sum of the clock's forward steps.
          const requests: number[] = [];
          const retries: number[] = [];
          const count = (log: readonly number[], from: number, to: number): number =>
            log.filter((at) => at > from && at <= to).length;
          let now = T0;
          let lastCallNow = T0;
          let t = T0;
          for (const op of script) {
            if (op.kind === 'step') {
              now += op.ms;
              continue;
            }
            t += Math.max(0, now - lastCallNow);
            lastCallNow = now;
            if (op.kind === 'request') {
              budget.recordRequest(now);
              requests.push(t);
            } else if (budget.tryWithdraw(now)) {
              retries.push(t);
              const admitted = count(retries, t - 0.9 * windowMs, t);
              expect(admitted).toBeLessThanOrEqual(Math.ceil(allowance(count(requests, t - windowMs, t))));
            } else {
              expect(count(retries, t - windowMs, t)).toBeGreaterThanOrEqual(
                allowance(count(requests, t - 0.9 * windowMs, t)),
              );
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
