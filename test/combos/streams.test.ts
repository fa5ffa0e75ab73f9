// Streamed answers (`text/event-stream`) through `rw.fetch`, from a real server on 127.0.0.1 that writes one event
// and then holds the stream open (or ends it when asked), on a budget of concurrency 1: the stream holds the slot,
// and the next call goes once the stream is over, however it ends. The client's clock is fake: only `streamIdleMs`
// would free the slot on its own, and these tests never advance it unless they say so.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { createRatewise, type Ratewise } from '../../src/index.js';
import { FakeClock } from '../support/fake-clock.js';

interface StreamServer {
  readonly url: string;
  /** The streams still open, to end or reset from the test. */
  readonly open: ServerResponse[];
  close(): Promise<void>;
}

/** `/stream` writes one event and stays open; any other path answers `ok` and ends. */
async function streamServer(): Promise<StreamServer> {
  const open: ServerResponse[] = [];
  const server = createServer((req, res) => {
    if (req.url !== '/stream') {
      res.end('ok');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
    open.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    open,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((resource) => resource.close()));
});

async function setup(): Promise<{ rw: Ratewise; clock: FakeClock; server: StreamServer }> {
  const server = await streamServer();
  const clock = new FakeClock(Date.UTC(2030, 0, 1));
  const rw = createRatewise({ clock, budgets: { '*': { concurrency: 1 } }, streamIdleMs: 60_000, loopGuard: false });
  opened.push(server, rw);
  return { rw, clock, server };
}

const slots = (rw: Ratewise) => rw.stats().map(({ queued, inFlight }) => ({ queued, inFlight }));

/** A call to `/next`, queued behind the stream that holds the one slot. */
async function queueNext(
  rw: Ratewise,
  server: StreamServer,
): Promise<{ next: Promise<Response>; isDone: () => boolean }> {
  let done = false;
  const next = rw.fetch(`${server.url}/next`).then((answer) => {
    done = true;
    return answer;
  });
  await expect.poll(() => slots(rw)).toEqual([{ queued: 1, inFlight: 1 }]);
  return { next, isDone: () => done };
}

test('the caller aborts a stream it has not read: the slot goes back at once, not after streamIdleMs', async () => {
  const { rw, clock, server } = await setup();
  const controller = new AbortController();
  const response = await rw.fetch(`${server.url}/stream`, { signal: controller.signal });
  expect(response.headers.get('content-type')).toBe('text/event-stream');
  const { next, isDone } = await queueNext(rw, server);

  controller.abort(new Error('the user left'));
  // Nothing advances the fake clock: only the abort can free the slot.
  await expect.poll(isDone).toBe(true);
  expect(await (await next).text()).toBe('ok');
  expect(slots(rw)).toEqual([{ queued: 0, inFlight: 0 }]);
  // The stream's idle timer went with it.
  expect(clock.pending()).toBe(0);
  await expect(response.text()).rejects.toThrow('the user left');
});

test('the server resets a stream nobody reads: the slot goes back at once, not after streamIdleMs', async () => {
  const { rw, clock, server } = await setup();
  const response = await rw.fetch(`${server.url}/stream`);
  const { next, isDone } = await queueNext(rw, server);

  server.open[0]!.destroy();
  // Nothing advances the fake clock and nothing reads the stream: only its failure can free the slot.
  await expect.poll(isDone).toBe(true);
  expect(await (await next).text()).toBe('ok');
  expect(slots(rw)).toEqual([{ queued: 0, inFlight: 0 }]);
  expect(clock.pending()).toBe(0);
  // The reader is told of the failure.
  await expect(response.text()).rejects.toThrow();
});

test('the caller aborts while reading the stream: the read fails with its reason and the next call goes', async () => {
  const { rw, clock, server } = await setup();
  const controller = new AbortController();
  const response = await rw.fetch(`${server.url}/stream`, { signal: controller.signal });
  const reader = response.body!.getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
  const next = rw.fetch(`${server.url}/next`);
  const pending = reader.read();
  controller.abort(new Error('stop'));
  await expect(pending).rejects.toThrow('stop');
  expect((await next).status).toBe(200);
  expect(clock.pending()).toBe(0);
});

test('a stream that never ends frees its slot after streamIdleMs without a chunk, and not before', async () => {
  const { rw, clock, server } = await setup();
  const response = await rw.fetch(`${server.url}/stream`);
  const { next, isDone } = await queueNext(rw, server);
  clock.advance(59_999);
  await new Promise((resolve) => setImmediate(resolve));
  expect(isDone()).toBe(false);
  clock.advance(1);
  expect((await next).status).toBe(200);
  // The stream itself is the caller's still: it reads on, and cancels it.
  const reader = response.body!.getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
  server.open[0]!.write('data: late\n\n');
  expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: late\n\n');
  await reader.cancel();
  expect(slots(rw)).toEqual([{ queued: 0, inFlight: 0 }]);
});

test('the body read twice: the second read fails as fetch says, the first gets the whole stream', async () => {
  const { rw, server } = await setup();
  const response = await rw.fetch(`${server.url}/stream`);
  const whole = response.text();
  await expect(response.text()).rejects.toThrow(TypeError);
  await expect.poll(() => server.open.length).toBe(1);
  server.open[0]!.end('data: last\n\n');
  expect(await whole).toBe('data: first\n\ndata: last\n\n');
  expect((await rw.fetch(`${server.url}/next`)).status).toBe(200);
});

test('close() while a stream runs: the queued call fails with ClosedError, the stream stays readable', async () => {
  const { rw, server } = await setup();
  const response = await rw.fetch(`${server.url}/stream`);
  const next = rw.fetch(`${server.url}/next`);
  await expect.poll(() => slots(rw)).toEqual([{ queued: 1, inFlight: 1 }]);
  await rw.close();
  await expect(next).rejects.toMatchObject({ code: 'ERR_RATEWISE_CLOSED' });
  server.open[0]!.end('data: last\n\n');
  expect(await response.text()).toBe('data: first\n\ndata: last\n\n');
});
