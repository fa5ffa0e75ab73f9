// Scenario 1: a server whose every response carries malformed or contradictory rate-limit headers. Whatever it says,
// every call settles once, no wait ratewise arms exceeds the caps, the requests sent stay within the retry bound,
// and the client ends idle. Each case runs through every entry point: `rw.fetch`, the axios adapter and Node's global
// fetch over the undici dispatcher.
import { expect, test } from 'vitest';
import { createRatewise, isRatewiseError, type RatewiseEvents } from '../../src/index.js';
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

const CALLS = 10;
const RATE_LIMIT_LIMIT = 2;
const ERROR_LIMIT = 1;
/** Each call makes at most one first attempt and its retries. */
const REQUEST_BOUND = CALLS * (1 + Math.max(RATE_LIMIT_LIMIT, ERROR_LIMIT));

/** About 700 field lines with distinct x-ratelimit-ish names, well inside Node's 16 KiB header limit. */
function manyFields(): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i < 700; i++) fields[`x-rl-${i}`] = String(i % 7);
  for (let i = 0; i < 60; i++) fields[`x-ratelimit-${i}-remaining`] = '-1';
  return fields;
}

interface Case {
  readonly name: string;
  /** The response to the request of this index (0-based). */
  readonly respond: (index: number) => ScriptedResponse;
  /** A client `maxWait`, where the server's (capped) waits would otherwise add up to tens of seconds. */
  readonly maxWait?: number;
}

const CASES: readonly Case[] = [
  {
    name: 'garbage numbers',
    respond: () => ({
      headers: {
        'x-ratelimit-limit': 'lots',
        'x-ratelimit-remaining': '12abc',
        'x-ratelimit-reset': 'NaN',
        'retry-after': 'soon',
        ratelimit: '"??";r=;t=-',
        'ratelimit-policy': ';;;',
      },
    }),
  },
  {
    name: 'negative values',
    respond: () => ({
      headers: { 'x-ratelimit-limit': '-5', 'x-ratelimit-remaining': '-1', 'x-ratelimit-reset': '-30' },
    }),
  },
  {
    name: '1e12 everywhere, remaining 0 on a 200',
    respond: () => ({
      headers: { 'x-ratelimit-limit': '1e12', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1e12' },
    }),
  },
  {
    name: 'a huge reset with one request left on a 200',
    respond: () => ({
      headers: { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': '999999999' },
    }),
  },
  {
    name: '429 with a Retry-After date in year 9999',
    respond: () => ({ status: 429, headers: { 'retry-after': 'Fri, 31 Dec 9999 23:59:59 GMT' } }),
  },
  {
    name: '429 with a Retry-After date in 1970',
    respond: () => ({ status: 429, headers: { 'retry-after': 'Thu, 01 Jan 1970 00:00:00 GMT' } }),
  },
  {
    name: 'a Date header in 1970 beside a small Retry-After',
    respond: () => ({
      status: 429,
      headers: { date: 'Thu, 01 Jan 1970 00:00:00 GMT', 'retry-after': '0' },
    }),
  },
  {
    name: 'hundreds of distinct x-ratelimit-ish fields on a 200',
    respond: () => ({ headers: manyFields() }),
  },
  {
    name: 'the same field repeated with contradictory values',
    respond: () => ({
      headers: {
        'x-ratelimit-remaining': ['5', '0', '-3', 'x', '1e12'],
        'x-ratelimit-reset': ['1', '9999999999', '-1'],
        'retry-after': ['0', '1'],
      },
    }),
  },
  {
    name: 'Retry-After shorter than the reset, on a 429',
    // Each request then waits out the 1 s reset: ten calls of three attempts would take half a minute.
    maxWait: 2500,
    respond: () => ({
      status: 429,
      headers: { 'retry-after': '0', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1' },
    }),
  },
  {
    name: 'remaining rising while 429s continue',
    respond: (index) => ({
      status: 429,
      headers: { 'x-ratelimit-limit': '1000', 'x-ratelimit-remaining': String(index * 100) },
    }),
  },
  {
    name: 'a 503 with contradictory IETF fields',
    respond: (index) => ({
      status: index % 2 === 0 ? 503 : 200,
      headers: { ratelimit: `"a";r=${index % 3};t=0, "b";r=0;t=99999999999`, 'ratelimit-policy': '"a";q=0;w=0' },
    }),
  },
];

describeEachEntryPoint('malformed and contradictory headers on every response', (entry) => {
  test.for(CASES.map((c) => [c.name, c] as const))(
    `[${entry.name}] %s: every call settles within the caps`,
    async ([, c]) => {
      const server = await startScriptedServer(({ index }) => c.respond(index));
      const clock = new CountingClock();
      const rw = createRatewise({
        clock,
        retry: { ...SMALL_RETRY, limit: ERROR_LIMIT, rateLimitLimit: RATE_LIMIT_LIMIT },
        loopGuard: false,
        ...(c.maxWait !== undefined && { maxWait: c.maxWait }),
      });
      const paused: RatewiseEvents['paused'][] = [];
      rw.on('paused', (event) => paused.push(event));
      try {
        await through(entry, rw, async () => {
          const calls = Array.from({ length: CALLS }, (_, i) => entry.call(rw, `${server.url}/h/${i}`));
          const result = await settleAll(calls);

          expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
          // What a call may end with: a response (any status) or one of ratewise's own errors; never a stray throw.
          for (const error of result.rejected) expect(isRatewiseError(entry.unwrap(error)), String(error)).toBe(true);
          expect(server.hits().total).toBeLessThanOrEqual(REQUEST_BOUND);
          expect(clock.maxDelayMs).toBeLessThanOrEqual(longestAllowedWait(c.maxWait));
          await expectIdle(rw, clock);
          console.info(
            `[hostile] [${entry.name}] ${c.name}: ${server.hits().total} requests (bound ${REQUEST_BOUND}), ` +
              `longest timer ${clock.maxDelayMs} ms (cap ${longestAllowedWait(c.maxWait)}), ` +
              `${result.fulfilled.length} responses, ${result.rejected.length} errors, ${paused.length} pauses`,
          );
        });
      } finally {
        await rw.close();
        await server.close();
      }
    },
  );
});
