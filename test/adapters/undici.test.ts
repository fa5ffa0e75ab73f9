// `ratewise/undici`: Node's own global fetch (undici 6, bundled with Node 20) and undici 7's fetch, throttled through
// one dispatcher over the engine, against real servers on 127.0.0.1.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { fetch as undiciFetch, getGlobalDispatcher, request as undiciRequest } from 'undici';
import { installRatewise, ratewiseDispatcher, RatewiseDispatcher } from '../../src/adapters/undici.js';
import { createRatewise, isRatewiseError } from '../../src/index.js';
import type { Ratewise } from '../../src/index.js';
import { refusedSince } from '../integration/support.js';
import { FakeClock } from '../support/fake-clock.js';
import { sequence, startExpressServer, startScriptedServer } from '../support/servers.js';
import type { TestServer } from '../support/servers.js';

/** Installs `rw` for the length of `body`, then puts the previous dispatcher back and closes everything. */
async function installed<T>(rw: Ratewise, server: TestServer, body: () => Promise<T>): Promise<T> {
  const uninstall = installRatewise(rw);
  try {
    return await body();
  } finally {
    uninstall();
    await rw.close();
    await server.close();
  }
}

const sent = (rw: Ratewise): number => rw.stats().reduce((sum, budget) => sum + budget.counters.sent, 0);

describe('installRatewise (Node’s global fetch)', () => {
  test('Node’s bundled fetch goes through the dispatcher set with the undici package', async () => {
    const server = await startScriptedServer(() => ({ body: 'hello' }));
    const rw = createRatewise();
    const before = getGlobalDispatcher();
    await installed(rw, server, async () => {
      expect(getGlobalDispatcher()).toBeInstanceOf(RatewiseDispatcher);
      expect(Reflect.get(globalThis, Symbol.for('undici.globalDispatcher.1'))).toBe(getGlobalDispatcher());
      const response = await fetch(`${server.url}/a`);
      expect(await response.text()).toBe('hello');
      expect(sent(rw)).toBe(1);
    });
    expect(getGlobalDispatcher()).toBe(before);
  });

  test(
    '300 concurrent global fetch calls against express-rate-limit draft-8 (20 per 500 ms) all succeed',
    { timeout: 60_000 },
    async () => {
      const server = await startExpressServer({
        limit: 20,
        windowMs: 500,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
      });
      const rw = createRatewise();
      let firstResponseAt = Infinity;
      rw.on('rateLimitInfo', () => (firstResponseAt = Math.min(firstResponseAt, Date.now())));
      const statuses = await installed(rw, server, async () => {
        const result = await Promise.all(
          Array.from({ length: 300 }, async (_, i) => {
            const response = await fetch(`${server.url}/items/${i}`);
            expect(await response.json()).toEqual({ ok: true });
            return response.status;
          }),
        );
        expect(refusedSince(server.requests(), firstResponseAt)).toEqual([]);
        expect(sent(rw)).toBe(server.requests().length);
        expect(rw.stats()[0]).toMatchObject({ key: server.url, inFlight: 0, queued: 0 });
        return result;
      });
      expect(statuses).toEqual(Array.from({ length: 300 }, () => 200));
    },
  );

  test('the function it returns restores the previous dispatcher: later fetches bypass ratewise', async () => {
    const server = await startScriptedServer(() => ({ body: 'ok' }));
    const rw = createRatewise();
    const previous = getGlobalDispatcher();
    const uninstall = installRatewise(rw);
    try {
      await (await fetch(server.url)).text();
      expect(sent(rw)).toBe(1);
    } finally {
      uninstall();
      uninstall(); // a second call changes nothing
    }
    expect(getGlobalDispatcher()).toBe(previous);
    await (await fetch(server.url)).text();
    expect(server.hits().total).toBe(2);
    expect(sent(rw)).toBe(1);
    await rw.close();
    await server.close();
  });

  test('a 429 with Retry-After pauses the host, then the retry succeeds', async () => {
    const server = await startScriptedServer(
      sequence({ status: 429, headers: { 'retry-after': 1 }, body: 'slow down' }, { body: 'fine' }),
    );
    const rw = createRatewise();
    await installed(rw, server, async () => {
      const paused: number[] = [];
      rw.on('paused', (event) => paused.push(event.until));
      const response = await fetch(`${server.url}/x`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('fine');
      const [first, second] = server.requests();
      expect(paused).toHaveLength(1);
      expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(990);
      expect(rw.stats()[0]?.counters).toMatchObject({ sent: 2, rateLimited: 1, retries: 1 });
    });
  });

  test('a wait past maxRetryAfter fails the fetch with RateLimitError as its cause', async () => {
    const server = await startScriptedServer(
      sequence({ status: 429, headers: { 'retry-after': 3600 }, body: 'come back later' }, { body: 'ok' }),
    );
    const rw = createRatewise({ retry: { maxRetryAfter: 1000 } });
    await installed(rw, server, async () => {
      const failure: unknown = await fetch(`${server.url}/x`).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(TypeError);
      expect(isRatewiseError((failure as TypeError).cause, 'ERR_RATEWISE_RATE_LIMITED')).toBe(true);
      expect(server.hits().total).toBe(1);
    });
  });

  test('abort: a queued call never reaches the server; an in-flight call stops; both reject with the reason', async () => {
    let release: (() => void) | undefined;
    const server = await startScriptedServer(
      () =>
        new Promise((resolve) => {
          release = () => {
            resolve({ body: 'late' });
          };
        }),
    );
    const rw = createRatewise({ budgets: { '*': { concurrency: 1 } } });
    await installed(rw, server, async () => {
      const inFlight = new AbortController();
      const queued = new AbortController();
      const first = fetch(`${server.url}/first`, { signal: inFlight.signal });
      const second = fetch(`${server.url}/second`, { signal: queued.signal });
      await expect.poll(() => server.hits().total).toBe(1);
      const queuedReason = new Error('not needed');
      queued.abort(queuedReason);
      await expect(second).rejects.toBe(queuedReason);
      const inFlightReason = new Error('too slow');
      inFlight.abort(inFlightReason);
      await expect(first).rejects.toBe(inFlightReason);
      release?.();
      expect(server.requests().map((request) => request.url)).toEqual(['/first']);
      await expect.poll(() => rw.stats()[0]?.inFlight).toBe(0);
    });
  });

  test('a large body arrives whole, streamed after the engine settles on the attempt', async () => {
    const big = 'x'.repeat(4 * 1024 * 1024);
    const server = await startScriptedServer(sequence({ status: 503, body: 'busy' }, { body: big }));
    const rw = createRatewise({ retry: { limit: 1 }, random: () => 0 });
    await installed(rw, server, async () => {
      const response = await fetch(`${server.url}/big`);
      expect(response.status).toBe(200);
      expect((await response.text()).length).toBe(big.length);
    });
  });

  test('a PUT whose body fetch streams is sent once and its answer returned as it is', async () => {
    const server = await startScriptedServer(() => ({ status: 503, body: 'busy' }));
    const rw = createRatewise();
    await installed(rw, server, async () => {
      const response = await fetch(`${server.url}/put`, { method: 'PUT', body: 'payload' });
      expect(response.status).toBe(503);
      expect(await response.text()).toBe('busy');
      expect(server.hits().total).toBe(1);
    });
  });

  test('loop guard: concurrent fetches of one URL are not a loop; a GET repeated after each answer is', async () => {
    const server = await startScriptedServer(() => ({ body: 'ok' }));
    // On a fake clock that never moves: the guard's window lasts the whole test.
    const rw = createRatewise({ clock: new FakeClock(Date.UTC(2025, 0, 1)), loopGuard: { limit: 3, mode: 'throw' } });
    await installed(rw, server, async () => {
      const batch = await Promise.all(Array.from({ length: 50 }, () => fetch(`${server.url}/items`)));
      expect(batch.map((response) => response.status)).toEqual(Array<number>(50).fill(200));
      await Promise.all(batch.map((response) => response.text()));
      for (let i = 0; i < 3; i++) await (await fetch(`${server.url}/poll`)).text();
      const failure: unknown = await fetch(`${server.url}/poll`).catch((error: unknown) => error);
      expect(isRatewiseError((failure as TypeError).cause, 'ERR_RATEWISE_LOOP')).toBe(true);
      // fetch hands its dispatcher every body as a stream: a request with a body is never the same as another.
      for (let i = 0; i < 6; i++) await (await fetch(`${server.url}/graphql`, { method: 'POST', body: '{}' })).text();
      expect(server.hits().total).toBe(59);
    });
  });

  test('loop guard through the dispatcher: a string or Buffer body is compared', async () => {
    const server = await startScriptedServer(() => ({ body: 'ok' }));
    const rw = createRatewise({ clock: new FakeClock(Date.UTC(2025, 0, 1)), loopGuard: { limit: 2, mode: 'throw' } });
    const dispatcher = ratewiseDispatcher(rw);
    const post = async (body: string | Buffer): Promise<unknown> => {
      try {
        const response = await undiciRequest(`${server.url}/graphql`, { method: 'POST', body, dispatcher });
        return await response.body.text();
      } catch (error) {
        return error;
      }
    };
    try {
      for (let i = 0; i < 10; i++) expect(await post(`{"id":${i}}`)).toBe('ok');
      expect(await post('{"id":1}')).toBe('ok');
      expect(isRatewiseError(await post('{"id":1}'), 'ERR_RATEWISE_LOOP')).toBe(true);
      expect(await post(Buffer.from('x'))).toBe('ok');
      expect(await post(Buffer.from('x'))).toBe('ok');
      expect(isRatewiseError(await post(Buffer.from('x')), 'ERR_RATEWISE_LOOP')).toBe(true);
      expect(server.hits().total).toBe(13);
    } finally {
      await dispatcher.close();
      await rw.close();
      await server.close();
    }
  });
});

describe('ratewiseDispatcher with undici 7’s own fetch (the newer handler API)', () => {
  test('paces, retries and streams the answer like Node’s fetch', async () => {
    const server = await startScriptedServer(
      sequence({ status: 429, headers: { 'retry-after': 1 }, body: 'slow down' }, { body: 'fine' }),
    );
    const rw = createRatewise();
    const dispatcher = ratewiseDispatcher(rw);
    try {
      const response = await undiciFetch(`${server.url}/x`, { dispatcher });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('fine');
      expect(rw.stats()[0]?.counters).toMatchObject({ sent: 2, rateLimited: 1, retries: 1 });
      const controller = new AbortController();
      const reason = new Error('stop');
      const aborted = undiciFetch(`${server.url}/y`, { dispatcher, signal: controller.signal });
      controller.abort(reason);
      await expect(aborted).rejects.toBe(reason);
      await dispatcher.close();
      await expect(undiciFetch(`${server.url}/z`, { dispatcher })).rejects.toThrow(TypeError);
    } finally {
      await rw.close();
      await server.close();
    }
  });

  test('close() waits for the calls under way; destroy(error) fails them with that error', async () => {
    let release: (() => void) | undefined;
    const server = await startScriptedServer(
      () =>
        new Promise((resolve) => {
          release = () => {
            resolve({ body: 'late' });
          };
        }),
    );
    const rw = createRatewise();
    const dispatcher = ratewiseDispatcher(rw);
    try {
      const call = undiciRequest(`${server.url}/slow`, { dispatcher });
      await expect.poll(() => server.hits().total).toBe(1);
      let closed = false;
      const closing = dispatcher.close().then(() => (closed = true));
      await new Promise(setImmediate);
      expect(closed).toBe(false);
      const error = new Error('gone');
      await dispatcher.destroy(error);
      await expect(call).rejects.toBe(error);
      await closing;
      expect(rw.stats()[0]?.inFlight).toBe(0);
    } finally {
      release?.();
      await rw.close();
      await server.close();
    }
  });
});

test('src/ outside adapters/ never imports undici', () => {
  const src = fileURLToPath(new URL('../../src/', import.meta.url));
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
    (file) => file.endsWith('.ts') && !file.startsWith('adapters'),
  );
  expect(files).toContain('index.ts');
  for (const file of files) {
    expect(readFileSync(join(src, file), 'utf8'), file).not.toMatch(/(?:from|import\()\s*['"]undici/);
  }
});
