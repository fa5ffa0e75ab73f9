// What the retry options mean, through every entry point (`rw.fetch`, the axios adapter, Node's global fetch over
// the undici dispatcher): a status left out of `retry.statuses` is never retried, a throttle included, though its
// wait still holds the budget; a request that is not idempotent is retried after a 429 only, never after a 503; a
// refused wait has one name in the error and in the `giveUp` event.
import { expect, test } from 'vitest';
import { createRatewise, RateLimitError, type Ratewise, type RatewiseEvents } from '../../src/index.js';
import { startScriptedServer, type ScriptedResponse, type TestServer } from '../support/servers.js';
import { CountingClock, describeEachEntryPoint, expectIdle, SMALL_RETRY, through, type EntryPoint } from './support.js';

/** Answers each path from its own list of responses, in turn, repeating the last one. */
async function startPaths(paths: Readonly<Record<string, readonly ScriptedResponse[]>>): Promise<TestServer> {
  const seen = new Map<string, number>();
  return startScriptedServer(({ url }) => {
    const responses = paths[url] ?? [{ status: 404 }];
    const n = seen.get(url) ?? 0;
    seen.set(url, n + 1);
    return responses[Math.min(n, responses.length - 1)]!;
  });
}

/** Requests the server saw, by path. */
function sentByPath(server: TestServer): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { url } of server.requests()) counts[url] = (counts[url] ?? 0) + 1;
  return counts;
}

function record<K extends keyof RatewiseEvents>(rw: Ratewise, name: K): RatewiseEvents[K][] {
  const seen: RatewiseEvents[K][] = [];
  rw.on(name, (event) => seen.push(event));
  return seen;
}

/** Runs `scenario` through `entry` with a client made of `options`, and checks it is left idle. */
async function withClient(
  entry: EntryPoint,
  options: Parameters<typeof createRatewise>[0],
  scenario: (rw: Ratewise) => Promise<void>,
): Promise<void> {
  const clock = new CountingClock();
  const rw = createRatewise({ loopGuard: false, ...options, clock });
  try {
    await through(entry, rw, async () => {
      await scenario(rw);
      await expectIdle(rw, clock);
    });
  } finally {
    await rw.close();
  }
}

const RETRY_AFTER_0 = { 'retry-after': '0' };

describeEachEntryPoint('retry policy', (entry) => {
  test(`[${entry.name}] a 429 or a 503 with Retry-After whose status retry.statuses leaves out is sent once, and its wait pauses the budget`, async () => {
    const server = await startPaths({
      '/429': [{ status: 429, headers: RETRY_AFTER_0 }, { status: 200 }],
      '/503': [{ status: 503, headers: RETRY_AFTER_0 }, { status: 200 }],
      '/later': [{ status: 429, headers: { 'retry-after': '1' } }, { status: 200 }],
    });
    try {
      await withClient(entry, { retry: { ...SMALL_RETRY, statuses: [500] } }, async (rw) => {
        const paused = record(rw, 'paused');
        const retries = record(rw, 'retry');
        expect((await entry.call(rw, `${server.url}/429`)).status).toBe(429);
        expect((await entry.call(rw, `${server.url}/503`)).status).toBe(503);
        expect((await entry.call(rw, `${server.url}/later`)).status).toBe(429);
        expect(sentByPath(server)).toEqual({ '/429': 1, '/503': 1, '/later': 1 });
        expect(retries).toEqual([]);
        // Not retried, yet the server's Retry-After holds for the whole budget.
        expect(paused).toMatchObject([{ reason: 'retry-after', status: 429 }]);
      });
    } finally {
      await server.close();
    }
  });

  test(`[${entry.name}] with statuses: [] and limit: 0, a 429 is sent once`, async () => {
    const server = await startPaths({ '/429': [{ status: 429 }, { status: 200 }] });
    try {
      await withClient(entry, { retry: { ...SMALL_RETRY, statuses: [], limit: 0 } }, async (rw) => {
        expect((await entry.call(rw, `${server.url}/429`)).status).toBe(429);
        expect(sentByPath(server)).toEqual({ '/429': 1 });
      });
    } finally {
      await server.close();
    }
  });

  test(`[${entry.name}] a POST is retried after a 429, not after a 503 unless it carries an Idempotency-Key`, async () => {
    const server = await startPaths({
      '/throttled': [{ status: 429, headers: RETRY_AFTER_0 }, { status: 200 }],
      '/unavailable': [{ status: 503, headers: RETRY_AFTER_0 }, { status: 200 }],
      '/keyed': [{ status: 503, headers: RETRY_AFTER_0 }, { status: 200 }],
    });
    try {
      await withClient(entry, { retry: SMALL_RETRY }, async (rw) => {
        const giveUps = record(rw, 'giveUp');
        expect((await entry.call(rw, `${server.url}/throttled`, { method: 'POST' })).status).toBe(200);
        expect((await entry.call(rw, `${server.url}/unavailable`, { method: 'POST' })).status).toBe(503);
        const keyed = { method: 'POST', headers: { 'idempotency-key': 'order-1' } };
        expect((await entry.call(rw, `${server.url}/keyed`, keyed)).status).toBe(200);
        expect(sentByPath(server)).toEqual({ '/throttled': 2, '/unavailable': 1, '/keyed': 2 });
        expect(giveUps.map((e) => [e.reason, e.status])).toEqual([['not-idempotent', 503]]);
      });
    } finally {
      await server.close();
    }
  });

  test(`[${entry.name}] a POST answered 503 with a Retry-After is not resent, and the Retry-After pauses the budget`, async () => {
    const server = await startPaths({ '/order': [{ status: 503, headers: { 'retry-after': '1' } }, { status: 200 }] });
    try {
      await withClient(entry, { retry: SMALL_RETRY }, async (rw) => {
        const paused = record(rw, 'paused');
        expect((await entry.call(rw, `${server.url}/order`, { method: 'POST' })).status).toBe(503);
        expect(sentByPath(server)).toEqual({ '/order': 1 });
        expect(paused).toMatchObject([{ reason: 'retry-after', status: 503 }]);
      });
    } finally {
      await server.close();
    }
  });

  test(`[${entry.name}] a refused wait has one name in the RateLimitError and in the giveUp event`, async () => {
    const far = await startPaths({ '/far': [{ status: 429, headers: { 'retry-after': '3600' } }] });
    const soon = await startPaths({ '/soon': [{ status: 429, headers: { 'retry-after': '1' } }] });
    try {
      await withClient(entry, { retry: SMALL_RETRY, maxWait: 500 }, async (rw) => {
        const giveUps = record(rw, 'giveUp');
        const failures: unknown[] = [];
        for (const url of [`${far.url}/far`, `${soon.url}/soon`]) {
          await entry.call(rw, url).then(
            () => expect.unreachable(`${url} should fail`),
            (error: unknown) => failures.push(entry.unwrap(error)),
          );
        }
        for (const error of failures) expect(error).toBeInstanceOf(RateLimitError);
        const reasons = failures.map((e) => (e as RateLimitError).reason);
        expect(reasons).toEqual(['max-retry-after', 'max-wait']);
        expect(giveUps.map((e) => e.reason)).toEqual(reasons);
        expect((failures[1] as RateLimitError).message).toContain('longer than maxWait (500 ms)');
      });
    } finally {
      await far.close();
      await soon.close();
    }
  });
});
