// Scenario 4: a 503 outage (no Retry-After) under 20 concurrent calls, then recovery. Retries stay within what the
// retry budget allows, the budget sends one request at a time while the server is down, and once it is back the
// first request goes alone before the rest follow: no thundering herd. Run through every entry point: `rw.fetch`, the
// axios adapter and Node's global fetch over the undici dispatcher.
import { expect, test } from 'vitest';
import { createRatewise, isRatewiseError } from '../../src/index.js';
import {
  CountingClock,
  describeEachEntryPoint,
  expectIdle,
  longestAllowedWait,
  settleAll,
  startRawServer,
  through,
} from './support.js';

const CALLS = 20;
const OUTAGE_MS = 800;
/** Each answer takes this long, so that requests sent together would overlap at the server. */
const ANSWER_MS = 20;
const RETRY_BUDGET = { ratio: 0.2, minPerSecond: 1, windowMs: 10_000 } as const;
/** Retries the budget admits over the window: the floor plus its share of the first attempts. */
const MAX_RETRIES = (RETRY_BUDGET.minPerSecond * RETRY_BUDGET.windowMs) / 1000 + RETRY_BUDGET.ratio * CALLS;

describeEachEntryPoint('a 503 outage, then recovery', (entry) => {
  test(`[${entry.name}] ${CALLS} concurrent calls: retries within the retry budget, and the first request after recovery goes alone`, async () => {
    let downUntil = Infinity;
    const log: { status: number; answeredAt: number }[] = [];
    const server = await startRawServer((_req, res) => {
      if (downUntil === Infinity) downUntil = Date.now() + OUTAGE_MS;
      const entry = { status: Date.now() < downUntil ? 503 : 200, answeredAt: 0 };
      log.push(entry);
      setTimeout(() => {
        entry.answeredAt = Date.now();
        res.writeHead(entry.status, { 'content-type': 'text/plain' });
        res.end(entry.status === 503 ? 'down for maintenance' : 'ok');
      }, ANSWER_MS);
    });
    const clock = new CountingClock();
    // One lone first request (initialWindow 1), as the bounds below count: the default window of 10 is tested in
    // test/engine/pacing.test.ts.
    const rw = createRatewise({
      clock,
      loopGuard: false,
      budgets: { '*': { initialWindow: 1 } },
      retry: {
        limit: 4,
        maxRetryAfter: 2000,
        backoff: { baseMs: 50, maxMs: 200 },
        serverJitter: { ratio: 0.1, maxExtraMs: 100 },
        budget: RETRY_BUDGET,
      },
    });
    try {
      await through(entry, rw, async () => {
        const calls = Array.from({ length: CALLS }, (_, i) => entry.call(rw, `${server.url}/items/${i}`));
        const result = await settleAll(calls);

        expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
        for (const error of result.rejected) {
          expect(isRatewiseError(entry.unwrap(error), 'ERR_RATEWISE_RETRY_BUDGET')).toBe(true);
        }
        const sent = server.arrivals.length;
        const retries = sent - CALLS;
        const ratio = retries / CALLS;
        expect(retries).toBeLessThanOrEqual(MAX_RETRIES);
        expect(ratio).toBeLessThanOrEqual(MAX_RETRIES / CALLS);

        // While the server is down, the budget sends one request at a time (a probe after each backoff).
        const outage = log.filter((entry) => entry.status === 503).length;
        expect(server.arrivals.slice(0, outage).every((a) => a.openAtArrival === 0)).toBe(true);
        // Recovery: the first request the server accepts arrived alone, and nothing else arrived before it was answered.
        const first = log.findIndex((entry) => entry.status === 200);
        expect(first).toBeGreaterThan(0);
        expect(server.arrivals[first]!.openAtArrival).toBe(0);
        const next = server.arrivals[first + 1];
        if (next) expect(next.at).toBeGreaterThanOrEqual(log[first]!.answeredAt);
        // Service resumed: every call that was not refused a retry ended with a 200.
        expect(result.fulfilled.filter((r) => r.status !== 200).map((r) => r.status)).toEqual(
          result.fulfilled.filter((r) => r.status === 503).map(() => 503),
        );
        expect(result.fulfilled.filter((r) => r.status === 200).length).toBeGreaterThan(0);
        expect(clock.maxDelayMs).toBeLessThanOrEqual(longestAllowedWait());
        await expectIdle(rw, clock);
        console.info(
          `[hostile] [${entry.name}] 503 outage: ${sent} requests for ${CALLS} calls; retries/first attempts = ${retries}/${CALLS} = ` +
            `${ratio.toFixed(2)} (bound ${(MAX_RETRIES / CALLS).toFixed(2)}); ${outage} answered 503; ` +
            `${result.fulfilled.filter((r) => r.status === 200).length} ok, ` +
            `${result.fulfilled.filter((r) => r.status === 503).length} ended 503, ${result.rejected.length} retry-budget errors; ` +
            `max open at arrival ${Math.max(...server.arrivals.map((a) => a.openAtArrival)) + 1}`,
        );
      });
    } finally {
      await rw.close();
      await server.close();
    }
  });
});
