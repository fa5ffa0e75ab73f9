// Retries as a user meets them against real servers on 127.0.0.1, on the fake clock: which failures of a POST are
// retried (a 429 always; a 5xx or a network failure only with an idempotency key), a Retry-After given as an
// HTTP-date by a server whose clock is an hour off, and a call ended by close() or its signal while it backs off.
import { createServer, type Server } from 'node:net';
import { expect, test } from 'vitest';
import { FakeClock, settle } from '../support/fake-clock.js';
import { startScriptedServer, type Script, type TestServer } from '../support/servers.js';
import { closeAfterEach } from '../support/close-after-each.js';

const { open, client } = closeAfterEach();
const T0 = Date.UTC(2030, 0, 1);

async function serve(script: Script): Promise<TestServer> {
  const server = await startScriptedServer(script);
  open.push(server);
  return server;
}

const outcome = (call: Promise<Response>): Promise<string> =>
  call.then(
    async (response) => `${response.status} ${await response.text()}`,
    (error: unknown) => (error as { code?: string }).code ?? (error as Error).name,
  );

test.each([
  [429, false, '200 ok', 2],
  [429, true, '200 ok', 2],
  [500, false, '500 ', 1],
  [500, true, '200 ok', 2],
  [503, false, '503 ', 1],
  [503, true, '200 ok', 2],
])('a POST answered %i (idempotency key: %s) ends as %s after %i requests', async (status, key, result, sent) => {
  const server = await serve(({ index }) =>
    index === 0 ? { status, headers: { 'retry-after': '1' } } : { body: 'ok' },
  );
  const clock = new FakeClock(T0);
  const rw = client({ clock });
  const call = rw.fetch(`${server.url}/orders`, { method: 'POST', body: '{}', ratewise: { idempotencyKey: key } });
  expect(await settle(clock, outcome(call))).toBe(result);
  expect(server.requests().map(({ method }) => method)).toEqual(Array(sent).fill('POST'));
});

test('a POST whose connection is reset is sent once, and again only with an idempotency key', async () => {
  let connections = 0;
  const reset: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => reset.listen(0, '127.0.0.1', resolve));
  open.push({
    close: () =>
      new Promise<void>((resolve) => {
        reset.close(() => {
          resolve();
        });
      }),
  });
  const url = `http://127.0.0.1:${(reset.address() as { port: number }).port}/orders`;
  const clock = new FakeClock(T0);
  const rw = client({ clock, retry: { limit: 2 } });

  expect(await settle(clock, outcome(rw.fetch(url, { method: 'POST', body: '{}' })))).toBe('TypeError');
  expect(connections).toBe(1);
  const keyed = rw.fetch(url, { method: 'POST', body: '{}', ratewise: { idempotencyKey: 'order-7' } });
  expect(await settle(clock, outcome(keyed))).toBe('TypeError');
  expect(connections).toBe(1 + 3);
});

test('a Retry-After HTTP-date from a server an hour ahead is waited as the server means it: 5 s', async () => {
  const clock = new FakeClock(T0);
  const skewMs = 3_600_000;
  const server = await serve(({ index }) => {
    const serverNow = clock.now() + skewMs;
    if (index > 0) return { body: 'ok' };
    return {
      status: 429,
      sendDate: false,
      headers: { date: new Date(serverNow).toUTCString(), 'retry-after': new Date(serverNow + 5_000).toUTCString() },
    };
  });
  // No jitter: the server's wait exactly.
  const rw = client({ clock, random: () => 0 });
  const delays: number[] = [];
  rw.on('retry', ({ delayMs }) => delays.push(delayMs));
  expect(await settle(clock, outcome(rw.fetch(`${server.url}/a`)))).toBe('200 ok');
  expect(delays).toEqual([5_000]);
  expect(clock.now()).toBe(T0 + 5_000);
});

test('close() while a call backs off: it fails with ClosedError saying what it sent, and no timer is left', async () => {
  const server = await serve(() => ({ status: 503 }));
  const clock = new FakeClock(T0);
  const rw = client({ clock, retry: { backoff: { baseMs: 5_000, jitter: 'none' } } });
  const call = rw.fetch(`${server.url}/a`).catch((error: unknown) => error);
  await expect.poll(() => rw.stats()[0]?.counters.retries).toBe(1);
  expect(clock.pending()).toBe(1);

  await rw.close();
  expect(await call).toMatchObject({ code: 'ERR_RATEWISE_CLOSED', attempts: 1, lastStatus: 503 });
  expect(clock.pending()).toBe(0);
  expect(server.requests()).toHaveLength(1);
});

test('an abort while a call backs off rejects with the caller’s reason, and no timer is left', async () => {
  const server = await serve(() => ({ status: 503 }));
  const clock = new FakeClock(T0);
  const rw = client({ clock, retry: { backoff: { baseMs: 5_000, jitter: 'none' } } });
  const controller = new AbortController();
  const call = rw.fetch(`${server.url}/a`, { signal: controller.signal }).catch((error: unknown) => error);
  await expect.poll(() => rw.stats()[0]?.counters.retries).toBe(1);

  const reason = new Error('the user left');
  controller.abort(reason);
  expect(await call).toBe(reason);
  expect(clock.pending()).toBe(0);
  expect(rw.stats()[0]).toMatchObject({ queued: 0, inFlight: 0 });
  expect(server.requests()).toHaveLength(1);
});
