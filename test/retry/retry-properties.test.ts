import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideRetry, type RetryDecision } from '../../src/retry/decision.js';
import { context, networkError, NOW, response, scripted, throttle } from '../support/retry-context.js';

describe('decideRetry: properties', () => {
  const randoms = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
  const retryRandom = fc.array(randoms, { minLength: 1, maxLength: 3 }).map((values) => scripted(...values));

  it('never shortens a server wait, and never goes past maxRetryAfter plus the jitter cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 36_000_000 }),
        fc.integer({ min: 0, max: 36_000_000 }),
        fc.constantFrom(429, 503, 500, 403),
        fc.boolean(),
        fc.record({ ratio: fc.double({ min: 0, max: 1, noNaN: true }), maxExtraMs: fc.integer({ min: 0, max: 5000 }) }),
        fc.integer({ min: 0, max: 4 }),
        retryRandom,
        (waitMs, maxRetryAfter, status, asReset, serverJitter, errorRetries, random) => {
          const at = NOW + waitMs;
          const evidence = asReset ? { remaining: 0, resetAt: at } : { retryAt: at };
          const outcome = response(status, { ...evidence, isRateLimited: status !== 500 });
          const options = { maxRetryAfter, serverJitter, limit: 5 };
          const decision: RetryDecision = decideRetry(context({ outcome, options, errorRetries, random }));
          if (waitMs > maxRetryAfter) {
            expect(decision).toEqual({ retry: false, reason: 'max-retry-after', retryAt: at, waitMs });
            return;
          }
          expect(decision.retry).toBe(true);
          if (!decision.retry) return;
          expect(decision.delayMs).toBeGreaterThanOrEqual(waitMs);
          expect(Number.isInteger(decision.delayMs)).toBe(true);
          if (decision.source === 'server') {
            expect(decision.delayMs).toBeLessThanOrEqual(maxRetryAfter + serverJitter.maxExtraMs);
            expect(decision.delayMs).toBeLessThanOrEqual(waitMs + Math.round(waitMs * serverJitter.ratio) + 1);
          }
        },
      ),
    );
  });

  it('keeps computed delays within [0, backoff.maxMs]', () => {
    fc.assert(
      fc.property(
        fc.record({
          baseMs: fc.integer({ min: 0, max: 100_000 }),
          maxMs: fc.integer({ min: 0, max: 1_000_000 }),
          factor: fc.double({ min: 1, max: 10, noNaN: true }),
          jitter: fc.constantFrom('none', 'full', 'equal', 'decorrelated'),
        }),
        fc.boolean(),
        fc.integer({ min: 0, max: 1000 }),
        fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: undefined }),
        retryRandom,
        (backoff, asThrottle, attempts, previousDelayMs, random) => {
          const decision = decideRetry(
            context({
              outcome: asThrottle ? throttle() : networkError(),
              options: { backoff, limit: 10_000, rateLimitLimit: 10_000 },
              errorRetries: attempts,
              consecutiveThrottles: attempts,
              previousDelayMs,
              random,
            }),
          );
          expect(decision).toMatchObject({ retry: true, source: 'backoff' });
          if (!decision.retry) return;
          expect(decision.delayMs).toBeGreaterThanOrEqual(0);
          expect(decision.delayMs).toBeLessThanOrEqual(backoff.maxMs);
        },
      ),
    );
  });

  it('never schedules a retry past the deadline', () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: undefined }),
        fc.constantFrom(429, 500, 503),
        fc.integer({ min: 0, max: 120_000 }),
        retryRandom,
        (retryIn, status, budgetMs, random) => {
          const outcome = response(status, retryIn === undefined ? {} : { retryAt: NOW + retryIn });
          const decision = decideRetry(
            context({ outcome, deadline: NOW + budgetMs, consecutiveThrottles: 3, errorRetries: 1, random }),
          );
          if (decision.retry) expect(NOW + decision.delayMs).toBeLessThanOrEqual(NOW + budgetMs);
          else expect(decision.reason).toMatch(/^max-/);
        },
      ),
    );
  });
});
