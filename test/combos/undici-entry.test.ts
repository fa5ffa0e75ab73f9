// `ratewise/undici` as an undici user drives it: undici's own `request()` and `fetch` through `ratewiseDispatcher`,
// the dispatcher's `close()` and `destroy()` while calls are queued, in flight or streaming their bodies, and
// `installRatewise` undone while calls are under way. Real servers on 127.0.0.1.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { Agent, fetch as undiciFetch, getGlobalDispatcher, request as undiciRequest } from 'undici';
import { installRatewise, ratewiseDispatcher, type RatewiseDispatcherOptions } from '../../src/adapters/undici.js';
import { isRatewiseError, type Ratewise } from '../../src/index.js';
import { closeAfterEach } from '../support/close-after-each.js';
import { startScriptedServer } from '../support/servers.js';

const { open, uninstalls, original, client } = closeAfterEach();

interface HeldServer {
  readonly url: string;
  /** The answers whose heads went out and whose bodies the test ends (`/stream`), in arrival order. */
  readonly streaming: ServerResponse[];
  /** The requests seen, by path. */
  readonly seen: string[];
  /** The answers to `/hold` not yet given (`/hold` waits for the test before it sends its head). */
  readonly holding: (() => void)[];
  close(): Promise<void>;
}

/**
 * `/stream` sends its head and a first chunk, then waits for the test; `/hold` waits for the test before its head;
 * any other path answers `ok`.
 */
async function heldServer(): Promise<HeldServer> {
  const streaming: ServerResponse[] = [];
  const seen: string[] = [];
  const holding: (() => void)[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url === '/hold') {
      holding.push(() => res.end('held'));
      return;
    }
    if (req.url !== '/stream') {
      res.end('ok');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first;');
    streaming.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const held: HeldServer = {
    url: `http://127.0.0.1:${port}`,
    streaming,
    seen,
    holding,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
  open.push(held);
  return held;
}

const slots = (rw: Ratewise) => rw.stats().map(({ queued, inFlight }) => ({ queued, inFlight }));

test('destroy(error) while an answer streams its body through request(): the body fails with that error', async () => {
  const server = await heldServer();
  const rw = client({ loopGuard: false });
  const dispatcher = ratewiseDispatcher(rw);
  const { statusCode, body } = await undiciRequest(`${server.url}/stream`, { dispatcher });
  expect(statusCode).toBe(200);
  let outcome: unknown = 'pending';
  const text = body.text().then(
    (value) => (outcome = value),
    (failure: unknown) => (outcome = failure),
  );
  const error = new Error('shutting down');
  await dispatcher.destroy(error);
  await expect.poll(() => outcome).toBe(error);
  await text;
  // The server sees its connection go, as with undici's own dispatchers.
  await expect.poll(() => server.streaming[0]!.destroyed).toBe(true);
});

test('close() waits for the bodies still streaming, then resolves; later calls are refused', async () => {
  const server = await heldServer();
  const rw = client({ loopGuard: false });
  const dispatcher = ratewiseDispatcher(rw);
  const response = await undiciFetch(`${server.url}/stream`, { dispatcher });
  const text = response.text();
  let closed = false;
  const closing = dispatcher.close().then(() => (closed = true));
  await new Promise((resolve) => setImmediate(resolve));
  expect(closed).toBe(false);
  server.streaming[0]!.end('last');
  expect(await text).toBe('first;last');
  await closing;
  // undici's own error, as its dispatchers give after close().
  await expect(undiciRequest(`${server.url}/after`, { dispatcher })).rejects.toMatchObject({ code: 'UND_ERR_CLOSED' });
  expect(server.seen).toEqual(['/stream']);
});

test('close() while calls wait for a concurrency slot: each goes in its turn, then close() resolves', async () => {
  const server = await heldServer();
  const rw = client({ loopGuard: false, budgets: { '*': { concurrency: 1 } } });
  const dispatcher = ratewiseDispatcher(rw);
  const calls = [
    undiciRequest(`${server.url}/hold`, { dispatcher }).then(({ body }) => body.text()),
    undiciRequest(`${server.url}/a`, { dispatcher }).then(({ body }) => body.text()),
    undiciFetch(`${server.url}/b`, { dispatcher }).then((response) => response.text()),
  ];
  await expect.poll(() => slots(rw)).toEqual([{ queued: 2, inFlight: 1 }]);
  let closed = false;
  const closing = dispatcher.close().then(() => (closed = true));
  await expect(undiciRequest(`${server.url}/refused`, { dispatcher })).rejects.toThrow('closed');
  await expect.poll(() => server.holding.length).toBe(1);
  expect(closed).toBe(false);
  server.holding[0]!();
  expect(await Promise.all(calls)).toEqual(['held', 'ok', 'ok']);
  await closing;
  expect(server.seen).toEqual(['/hold', '/a', '/b']);
  expect(slots(rw)).toEqual([{ queued: 0, inFlight: 0 }]);
});

test('uninstalled while calls wait: each settles once through ratewise, later ones pass straight through', async () => {
  let release: (() => void) | undefined;
  const server = await startScriptedServer(({ url }) =>
    url === '/slow'
      ? new Promise((resolve) => {
          release = () => {
            resolve({ body: 'slow' });
          };
        })
      : { body: url },
  );
  open.push(server);
  const rw = client({ loopGuard: false, budgets: { '*': { concurrency: 1 } } });
  const uninstall = installRatewise(rw);
  uninstalls.push(uninstall);
  expect(() => installRatewise(rw)).toThrow(expect.objectContaining({ code: 'ERR_RATEWISE_ALREADY_INSTALLED' }));

  let settledCount = 0;
  const count = <T>(promise: Promise<T>): Promise<T> => promise.finally(() => settledCount++);
  const calls = [
    count(fetch(`${server.url}/slow`).then((response) => response.text())),
    count(fetch(`${server.url}/a`).then((response) => response.text())),
    count(undiciRequest(`${server.url}/b`).then(({ body }) => body.text())),
  ];
  await expect.poll(() => slots(rw)).toEqual([{ queued: 2, inFlight: 1 }]);
  uninstall();
  expect(getGlobalDispatcher()).toBe(original);
  expect(await fetch(`${server.url}/after`).then((response) => response.text())).toBe('/after');
  release!();
  expect(await Promise.all(calls)).toEqual(['slow', '/a', '/b']);
  expect(settledCount).toBe(3);
  // The three waiting calls were ratewise's; the one after the uninstall was not.
  expect(rw.stats()[0]?.counters.sent).toBe(3);
  // Installing again works once the first install is undone.
  uninstalls.push(installRatewise(rw));
});

test('a 429 through request() is retried by ratewise and the retried answer is drained, not leaked', async () => {
  const server = await startScriptedServer(({ index }) =>
    index === 0 ? { status: 429, headers: { 'retry-after': 0 }, body: 'slow down' } : { body: 'fine' },
  );
  open.push(server);
  const rw = client({ loopGuard: false, retry: { serverJitter: { ratio: 0, maxExtraMs: 0 } } });
  const dispatcher = ratewiseDispatcher(rw);
  const { statusCode, body } = await undiciRequest(`${server.url}/x`, { dispatcher });
  expect(statusCode).toBe(200);
  expect(await body.text()).toBe('fine');
  expect(rw.stats()[0]?.counters).toMatchObject({ sent: 2, rateLimited: 1, retries: 1 });
  await dispatcher.close();
  const refused = await undiciRequest(`${server.url}/y`, { dispatcher }).catch((error: unknown) => error);
  expect(isRatewiseError(refused)).toBe(false);
  expect(refused).toBeInstanceOf(Error);
});

describe("ratewiseDispatcher's options", () => {
  test.each<[string, unknown, string]>([
    ['null', null, 'Expected `ratewiseDispatcher options` to be an object, got `null` (null)'],
    ['a string', 'agent', 'Expected `ratewiseDispatcher options` to be an object, got `"agent"` (string)'],
    [
      'an unknown key',
      { dispatchr: new Agent() },
      'Unknown option `ratewiseDispatcher dispatchr`; expected one of `dispatcher`',
    ],
    [
      'a dispatcher without dispatch()',
      { dispatcher: {} },
      'Expected `ratewiseDispatcher dispatcher` to be an undici Dispatcher (with dispatch()), got object',
    ],
    [
      'a dispatcher of null',
      { dispatcher: null },
      'Expected `ratewiseDispatcher dispatcher` to be an undici Dispatcher (with dispatch()), got null',
    ],
  ])('%s: a TypeError naming it, from ratewiseDispatcher() itself', (_, options, message) => {
    const rw = client();
    expect(() => ratewiseDispatcher(rw, options as RatewiseDispatcherOptions)).toThrow(new TypeError(message));
  });

  test('the dispatcher option is read once: every attempt goes through the one read', async () => {
    const server = await startScriptedServer(({ url }) => ({ body: `ok ${url}` }));
    open.push(server);
    const agent = new Agent();
    open.push(agent);
    const sent: string[] = [];
    const counting = {
      dispatch: (options: Parameters<Agent['dispatch']>[0], handler: Parameters<Agent['dispatch']>[1]) => {
        sent.push(options.path);
        return agent.dispatch(options, handler);
      },
    };
    let reads = 0;
    const options = {
      get dispatcher() {
        if (++reads > 1) throw new Error('read again');
        return counting as unknown as Agent;
      },
    };
    const dispatcher = ratewiseDispatcher(client({ loopGuard: false }), options);
    const { body } = await undiciRequest(`${server.url}/a`, { dispatcher });
    expect(await body.text()).toBe('ok /a');
    expect(await (await undiciFetch(`${server.url}/b`, { dispatcher })).text()).toBe('ok /b');
    expect(sent).toEqual(['/a', '/b']);
    expect(reads).toBe(1);
  });
});
