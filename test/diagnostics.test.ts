// ratewise's events on Node's diagnostics channels (`ratewise:<event>`), as an APM agent subscribes to them: by name,
// without the application's code changing. A real server on 127.0.0.1; the client waits on a fake clock.
import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, expect, test } from 'vitest';
import { createRatewise, type Ratewise, type RatewiseEvents } from '../src/index.js';
import { FakeClock, settle } from './support/fake-clock.js';
import { startScriptedServer, type TestServer } from './support/servers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Subscribes to `ratewise:<name>` until the test ends; returns what it receives. */
function subscribe<K extends keyof RatewiseEvents>(name: K): RatewiseEvents[K][] {
  const received: RatewiseEvents[K][] = [];
  const listener = (message: unknown): void => {
    received.push(message as RatewiseEvents[K]);
  };
  diagnostics.subscribe(`ratewise:${name}`, listener);
  cleanups.push(() => diagnostics.unsubscribe(`ratewise:${name}`, listener));
  return received;
}

async function setup(): Promise<{ server: TestServer; rw: Ratewise; clock: FakeClock }> {
  const server = await startScriptedServer(({ index }) =>
    index === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { json: { ok: true } },
  );
  const clock = new FakeClock(Date.now());
  const rw = createRatewise({ clock, random: () => 0 });
  cleanups.push(
    () => server.close(),
    () => rw.close(),
  );
  return { server, rw, clock };
}

describe('diagnostics channels', () => {
  test('a subscriber hears every event of every client, with the payload listeners get', async () => {
    // Subscribed before the client exists, and after: both hear it.
    const attempts = subscribe('attempt');
    const { server, rw, clock } = await setup();
    const retries = subscribe('retry');
    const settled = subscribe('settled');
    const listened: RatewiseEvents['retry'][] = [];
    rw.on('retry', (event) => listened.push(event));

    const response = await settle(clock, rw.fetch(`${server.url}/x?token=s3cret`));
    expect(response.status).toBe(200);
    expect(attempts.map((event) => [event.attempt, event.status, event.outcome])).toEqual([
      [1, 429, 'refused'],
      [2, 200, 'ok'],
    ]);
    expect(retries).toEqual(listened);
    expect(retries[0]).toBe(listened[0]);
    expect(retries).toMatchObject([{ attempt: 1, delayMs: 1000, source: 'server', status: 429 }]);
    expect(settled).toMatchObject([{ attempts: 2, status: 200, waitedMs: 1000, error: undefined }]);
    expect(JSON.stringify([attempts, retries, settled])).not.toContain('s3cret');
  });

  test('a subscriber hears its own event only; channels nobody subscribed to stay without subscribers', async () => {
    const { server, rw, clock } = await setup();
    expect(diagnostics.hasSubscribers('ratewise:attempt')).toBe(false);
    expect(diagnostics.channel('ratewise:attempt').hasSubscribers).toBe(false);
    // Subscribed to one event only: the others stay silent.
    const retries = subscribe('retry');
    await settle(clock, rw.fetch(`${server.url}/x`));
    expect(retries).toHaveLength(1);
    expect(diagnostics.hasSubscribers('ratewise:queued')).toBe(false);
  });
});
