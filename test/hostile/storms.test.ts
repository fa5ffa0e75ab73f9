// Scenario 2: 429 storms. Every response a 429 (with a short Retry-After, a millisecond one, or none), alternating
// 200/429, an outage of 503s under a tight retry budget, and a Retry-After of days. Calls settle once each, within the caps; requests stay within the retry bound.
// Each storm runs through every entry point: `rw.fetch`, the axios adapter and Node's global fetch over the undici
// dispatcher.
import { expect, test } from 'vitest';
import {
  createRatewise,
  isRatewiseError,
  RateLimitError,
  RetryBudgetExceededError,
  type RatewiseOptions,
} from '../../src/index.js';
import { startScriptedServer, type ScriptedResponse } from '../support/servers.js';
import {
  CountingClock,
  describeEachEntryPoint,
  expectIdle,
  longestAllowedWait,
  settleAll,
  SMALL_RETRY,
  through,
} from './support.js';

const DAY_MS = 24 * 60 * 60 * 1000;

interface Storm {
  readonly name: string;
  readonly calls: number;
  readonly respond: (index: number) => ScriptedResponse;
  readonly options?: Omit<RatewiseOptions, 'clock' | 'retry'>;
  readonly rateLimitLimit: number;
  readonly retryBudget?: { readonly ratio: number; readonly minPerSecond: number; readonly windowMs: number };
  /** Most requests the server may see, and why. */
  readonly bound: number;
}

const STORMS: readonly Storm[] = [
  {
    name: 'every response a 429 with Retry-After: 0',
    calls: 10,
    rateLimitLimit: 3,
    bound: 10 * (1 + 3),
    respond: () => ({ status: 429, headers: { 'retry-after': '0' } }),
  },
  {
    name: 'every response a 429 with retry-after-ms: 30',
    calls: 10,
    rateLimitLimit: 3,
    bound: 10 * (1 + 3),
    respond: () => ({ status: 429, headers: { 'retry-after-ms': '30' } }),
  },
  {
    name: 'every response a 429 without any timing',
    calls: 10,
    rateLimitLimit: 3,
    bound: 10 * (1 + 3),
    respond: () => ({ status: 429, body: 'slow down' }),
  },
  {
    name: 'every response a 429 with Retry-After: 1, calls bounded by maxWait 1500',
    calls: 5,
    rateLimitLimit: 3,
    // The five at once (the initial window holds ten), then one request per 1 s pause while any call can still wait:
    // one more fits in 1.5 s.
    bound: 5 + 1,
    options: { maxWait: 1500 },
    respond: () => ({ status: 429, headers: { 'retry-after': '1' } }),
  },
  {
    name: 'alternating 200 / 429 without timing',
    calls: 20,
    rateLimitLimit: 5,
    bound: 20 * (1 + 5),
    respond: (index) => (index % 2 === 0 ? { json: { ok: true } } : { status: 429 }),
  },
  {
    // The retry budget bounds retries of failures, not of throttles (which wait for the server).
    name: 'every response a 503 without timing (an outage) and a tight retry budget',
    calls: 20,
    rateLimitLimit: 5,
    // The retry budget: 1/s over 10 s plus 10 % of 20 first attempts = 12 retries at most.
    bound: 20 + 10 + 2,
    retryBudget: { ratio: 0.1, minPerSecond: 1, windowMs: 10_000 },
    respond: () => ({ status: 503 }),
  },
];

describeEachEntryPoint('429 storms', (entry) => {
  test.for(STORMS.map((s) => [s.name, s] as const))(
    `[${entry.name}] %s: settles every call within the caps`,
    async ([, storm]) => {
      const server = await startScriptedServer(({ index }) => storm.respond(index));
      const clock = new CountingClock();
      // The default initial window (10 at once): the bounds are per call, however many go first.
      const rw = createRatewise({
        loopGuard: false,
        ...storm.options,
        clock,
        retry: {
          ...SMALL_RETRY,
          rateLimitLimit: storm.rateLimitLimit,
          ...(storm.retryBudget && { budget: storm.retryBudget }),
        },
      });
      try {
        await through(entry, rw, async () => {
          const calls = Array.from({ length: storm.calls }, (_, i) => entry.call(rw, `${server.url}/s/${i}`));
          const result = await settleAll(calls);

          expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: storm.calls, pending: 0 });
          for (const error of result.rejected) expect(isRatewiseError(entry.unwrap(error)), String(error)).toBe(true);
          for (const { status } of result.fulfilled) expect([200, 429, 503]).toContain(status);
          const sent = server.hits().total;
          expect(sent).toBeLessThanOrEqual(storm.bound);
          if (storm.retryBudget) {
            expect(result.rejected.some((e) => entry.unwrap(e) instanceof RetryBudgetExceededError)).toBe(true);
          }
          const cap = longestAllowedWait(storm.options?.maxWait);
          expect(clock.maxDelayMs).toBeLessThanOrEqual(cap);
          await expectIdle(rw, clock);
          console.info(
            `[hostile] [${entry.name}] ${storm.name}: ${sent} requests for ${storm.calls} calls (bound ${storm.bound}), ` +
              `longest timer ${clock.maxDelayMs} ms (cap ${cap}), ${result.fulfilled.length} responses ` +
              `(${result.fulfilled.filter((r) => r.status === 200).length} ok), ${result.rejected.length} errors`,
          );
        });
      } finally {
        await rw.close();
        await server.close();
      }
    },
  );

  test.for([
    { form: 'delay-seconds', retryAfter: () => String(3 * 24 * 60 * 60) },
    { form: 'HTTP-date', retryAfter: () => new Date(Date.now() + 3 * DAY_MS).toUTCString() },
  ])(
    `[${entry.name}] a Retry-After of days ($form) fails fast with RateLimitError and arms no long timer`,
    async ({ retryAfter }) => {
      const server = await startScriptedServer(() => ({ status: 429, headers: { 'retry-after': retryAfter() } }));
      const clock = new CountingClock();
      // One lone first request (initialWindow 1): the 429 it meets holds the others, which then fail at once.
      const rw = createRatewise({ clock, retry: SMALL_RETRY, budgets: { '*': { initialWindow: 1 } } });
      try {
        await through(entry, rw, async () => {
          const calls = Array.from({ length: 5 }, (_, i) => entry.call(rw, `${server.url}/days/${i}`));
          const result = await settleAll(calls);

          expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: 5, pending: 0 });
          expect(result.rejected).toHaveLength(5);
          for (const error of result.rejected.map(entry.unwrap)) {
            expect(error).toBeInstanceOf(RateLimitError);
            const { reason, limitMs, waitMs, retryAt } = error as RateLimitError;
            expect({ reason, limitMs }).toEqual({ reason: 'max-retry-after', limitMs: SMALL_RETRY.maxRetryAfter });
            expect(waitMs).toBeGreaterThan(2 * DAY_MS);
            expect(retryAt).toBeGreaterThan(Date.now() + 2 * DAY_MS);
          }
          // Only the first call reached the server; the pause refused the rest without a request or a sleep.
          expect(server.hits().total).toBe(1);
          expect(clock.maxDelayMs).toBeLessThanOrEqual(longestAllowedWait());
          await expectIdle(rw, clock);
        });
      } finally {
        await rw.close();
        await server.close();
      }
    },
  );
});
