// What ratewise reports, through every entry point (`rw.fetch`, the axios adapter, Node's global fetch over the
// undici dispatcher): a call cut short by close() after attempts says what they got; healthy traffic that spends a
// quota is told as pacing (`throttled`, 'server-quota'), never as a `paused` budget.
import { expect, test } from 'vitest';
import { ClosedError, createRatewise, type Ratewise, type RatewiseEvents } from '../../src/index.js';
import { startScriptedServer, type TestServer } from '../support/servers.js';
import { CountingClock, describeEachEntryPoint, SMALL_RETRY, through } from './support.js';

function record<K extends keyof RatewiseEvents>(rw: Ratewise, name: K): RatewiseEvents[K][] {
  const seen: RatewiseEvents[K][] = [];
  rw.on(name, (event) => seen.push(event));
  return seen;
}

describeEachEntryPoint('reports', (entry) => {
  test(`[${entry.name}] a call waiting to retry when the client closes says how many attempts were sent and the last status`, async () => {
    const server: TestServer = await startScriptedServer(() => ({ status: 429, headers: { 'retry-after': '1' } }));
    const rw = createRatewise({ loopGuard: false, retry: SMALL_RETRY, clock: new CountingClock() });
    try {
      await through(entry, rw, async () => {
        const retrying = new Promise<void>((resolve) => {
          rw.on('retry', () => {
            resolve();
          });
        });
        const failed = entry.call(rw, `${server.url}/throttled`).then(
          () => expect.unreachable('the call should fail with ClosedError'),
          (error: unknown) => entry.unwrap(error),
        );
        await retrying;
        await rw.close();
        const error = await failed;
        expect(error).toBeInstanceOf(ClosedError);
        expect(error).toMatchObject({ when: 'pending', attempts: 1, lastStatus: 429 });
        expect((error as ClosedError).message).toContain('was sent 1 time (the last answered 429)');
        expect(server.requests()).toHaveLength(1);
      });
    } finally {
      await rw.close();
      await server.close();
    }
  });

  test(`[${entry.name}] successes that spend the quota pace the next call to the reset, told by throttled, never by paused`, async () => {
    const remaining = ['2', '1', '0', '2'];
    let answered = 0;
    const server = await startScriptedServer(() => ({
      headers: {
        'ratelimit-limit': '3',
        'ratelimit-remaining': remaining[Math.min(answered++, remaining.length - 1)]!,
        'ratelimit-reset': '1',
      },
    }));
    const rw = createRatewise({ loopGuard: false, retry: SMALL_RETRY, clock: new CountingClock() });
    try {
      await through(entry, rw, async () => {
        const paused = record(rw, 'paused');
        const throttled = record(rw, 'throttled');
        for (let i = 0; i < 4; i++) expect((await entry.call(rw, `${server.url}/items/${i}`)).status).toBe(200);
        expect(paused).toEqual([]);
        expect(throttled.map((e) => e.reason)).toContain('server-quota');
        expect(throttled.map((e) => e.reason)).not.toContain('paused');
      });
    } finally {
      await rw.close();
      await server.close();
    }
  });
});
