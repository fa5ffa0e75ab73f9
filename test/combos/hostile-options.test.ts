// Hostile options through every entry point, against a real server on 127.0.0.1: a bad value is a clear TypeError
// (a rejection, never a synchronous throw from rw.fetch or rw.schedule), nothing is sent for it, no timer is left
// and no call stays unsettled.
import axios, { type InternalAxiosRequestConfig } from 'axios';
import { getGlobalDispatcher } from 'undici';
import { describe, expect, test } from 'vitest';
import { withRatewise } from '../../src/adapters/axios.js';
import { installRatewise, ratewiseDispatcher } from '../../src/adapters/undici.js';
import { createRatewise } from '../../src/index.js';
import type { Ratewise } from '../../src/index.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { startScriptedServer, type TestServer } from '../support/servers.js';
import { closeAfterEach } from '../support/close-after-each.js';

const { open, uninstalls, client } = closeAfterEach();

async function serve(): Promise<TestServer> {
  const server = await startScriptedServer(({ url }) => ({ body: `ok ${url}` }));
  open.push(server);
  return server;
}

describe('keyFn answers that are not a non-empty string or undefined', () => {
  // `headers.get()` answers null for a missing field (and '' for one sent empty), an async keyFn a promise: none
  // names a budget.
  const answers: [string, unknown][] = [
    ['an empty string', ''],
    ['null', null],
    ['a number', 42],
    ['an object', { tenant: 'a' }],
    ['a promise', Promise.resolve('tenant-a')],
  ];

  test.each(answers)('%s rejects the call with a TypeError naming keyFn; nothing is sent', async (_name, answer) => {
    const server = await serve();
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const rw = client({ clock, keyFn: () => answer as string });
    const call = rw.fetch(`${server.url}/x`);
    await expect(call).rejects.toThrow(TypeError);
    await expect(call).rejects.toThrow(/^Expected `keyFn` to return a non-empty string or undefined, got /);
    expect(server.hits().total).toBe(0);
    expect(rw.stats()).toEqual([]);
    expect(clock.pending()).toBe(0);
  });

  test('through global fetch with installRatewise: fetch rejects, its cause the same TypeError', async () => {
    const server = await serve();
    const rw = client({ keyFn: ({ headers }) => headers.get('x-tenant') as string });
    uninstalls.push(installRatewise(rw));
    const failure = await fetch(`${server.url}/x`).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as Error).cause).toBeInstanceOf(TypeError);
    expect(((failure as Error).cause as Error).message).toBe(
      'Expected `keyFn` to return a non-empty string or undefined, got `null` (null)',
    );
    expect(server.hits().total).toBe(0);
    // A request whose keyFn answers a string goes.
    expect(await (await fetch(`${server.url}/y`, { headers: { 'x-tenant': 'a' } })).text()).toBe('ok /y');
  });
});

describe('a method that is not a string, read as fetch reads it', () => {
  test('an object with a toString is converted, as fetch converts it: the server sees POST', async () => {
    const server = await startScriptedServer(({ method }) => ({ body: `ok ${method}` }));
    open.push(server);
    const rw = client();
    const method = { toString: () => 'post' } as unknown as string;
    const viaFetch = await fetch(`${server.url}/x`, { method });
    const viaRatewise = await rw.fetch(`${server.url}/x`, { method });
    expect([await viaFetch.text(), await viaRatewise.text()]).toEqual(['ok POST', 'ok POST']);
  });
});

describe('a `fetch` option that does not resolve to a Response', () => {
  // A test double of the kind often written by hand (`mockResolvedValue({ ok: true, status: 200, json })`).
  const notResponses: [string, unknown][] = [
    ['a plain object with a status', { ok: true, status: 200, json: () => Promise.resolve({}) }],
    ['undefined', undefined],
    ['a number', 42],
  ];

  test.each(notResponses)(
    '%s: the call rejects with a TypeError naming fetch, and its slot is free',
    async (_, fake) => {
      const server = await serve();
      let calls = 0;
      const rw = client({
        budgets: { '*': { concurrency: 1 } },
        fetch: (input, init) => (calls++ === 0 ? Promise.resolve(fake as Response) : globalThis.fetch(input, init)),
      });
      await expect(rw.fetch(`${server.url}/x`)).rejects.toThrow(/^Expected `fetch` to resolve to a Response, got /);
      expect(rw.stats()[0]).toMatchObject({ inFlight: 0, queued: 0 });
      // The budget's one slot is free for the next call.
      expect(await (await rw.fetch(`${server.url}/y`)).text()).toBe('ok /y');
    },
  );
});

test('an init that is not an object, null or undefined is a TypeError, as fetch makes it; nothing is sent', async () => {
  const server = await serve();
  const rw = client({});
  for (const init of [5, 'no-cors', true]) {
    const call = rw.fetch(`${server.url}/x`, init as unknown as RequestInit);
    await expect(call).rejects.toThrow(TypeError);
    await expect(call).rejects.toThrow(/^Expected `init` to be an object, null or undefined, got /);
  }
  expect(server.hits().total).toBe(0);
  // null and undefined are no init, as for fetch.
  expect(await (await rw.fetch(`${server.url}/y`, null as unknown as RequestInit)).text()).toBe('ok /y');
});

test('ratewise.retry given as an array is a TypeError, as ratewise itself is', async () => {
  const server = await serve();
  const rw = client({});
  await expect(rw.fetch(`${server.url}/x`, { ratewise: { retry: [] as never } })).rejects.toThrow(
    'Expected `ratewise.retry` to be an object, got `[]` (array)',
  );
  expect(server.hits().total).toBe(0);
});

describe('backoff options at their extremes', () => {
  test('retry.backoff.baseMs must be finite: Infinity is a TypeError naming it', () => {
    expect(() => createRatewise({ retry: { backoff: { baseMs: Infinity } } })).toThrow(
      'Expected `retry.backoff.baseMs` to be a non-negative finite number of milliseconds, got `Infinity` (number)',
    );
  });

  test('a computed backoff past every number waits on a timer (close() ends it), never on none', async () => {
    const server = await startScriptedServer(() => ({ status: 500 }));
    open.push(server);
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    // No cap, and a factor that takes the second retry's backoff past the largest number.
    const rw = client({
      clock,
      retry: { limit: 3, budget: false, backoff: { baseMs: 10, maxMs: Infinity, factor: 1e308, jitter: 'none' } },
    });
    let outcome: unknown = 'pending';
    const call = rw.fetch(`${server.url}/x`).then(
      (reply) => (outcome = reply.status),
      (error: unknown) => (outcome = error),
    );
    // The first retry after 10 ms; the second's backoff is past every number.
    await expect.poll(() => clock.pending()).toBe(1);
    clock.next();
    await expect.poll(() => server.hits().total).toBe(2);
    await expect.poll(() => clock.pending()).toBe(1);
    // Without a timer the call would wait on nothing: a Node process would exit with it unsettled.
    expect(clock.nextAt()! - clock.now()).toBeGreaterThan(0);
    expect(outcome).toBe('pending');
    await rw.close();
    await call;
    expect(outcome).toMatchObject({ name: 'ClosedError' });
    expect(clock.pending()).toBe(0);
  });

  test('with a maxWait, the same call ends at once with the last answer', async () => {
    const server = await startScriptedServer(() => ({ status: 500 }));
    open.push(server);
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const rw = client({
      clock,
      maxWait: 60_000,
      retry: { limit: 3, budget: false, backoff: { baseMs: 10, maxMs: Infinity, factor: 1e308, jitter: 'none' } },
    });
    const reply = await settle(clock, rw.fetch(`${server.url}/x`));
    expect(reply.status).toBe(500);
    expect(server.hits().total).toBe(2);
  });
});

describe('signals that end the call before or as it starts', () => {
  test.each([
    ['rw.fetch', (rw: Ratewise) => rw.fetch],
    [
      'global fetch with installRatewise',
      (rw: Ratewise) => {
        uninstalls.push(installRatewise(rw));
        return globalThis.fetch;
      },
    ],
  ])(
    'AbortSignal.timeout(0) and an aborted signal through %s: one rejection each, no slot or timer left',
    async (_, entry) => {
      let answer: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (answer = resolve));
      const server = await startScriptedServer(async () => {
        await held;
        return { body: 'late' };
      });
      open.push({ close: () => (answer(), server.close()) });
      const clock = new FakeClock(Date.UTC(2030, 0, 1));
      const rw = client({ clock, budgets: { '*': { concurrency: 1 } } });
      const fetcher = entry(rw);
      const settled: string[] = [];
      const note = (error: unknown) => settled.push((error as Error).name);
      await Promise.all([
        fetcher(`${server.url}/timeout`, { signal: AbortSignal.timeout(0) }).then(() => settled.push('resolved'), note),
        fetcher(`${server.url}/aborted`, { signal: AbortSignal.abort() }).then(() => settled.push('resolved'), note),
      ]);
      expect(settled.sort()).toEqual(['AbortError', 'TimeoutError']);
      await expect.poll(() => rw.stats().every((budget) => budget.inFlight === 0 && budget.queued === 0)).toBe(true);
      expect(clock.pending()).toBe(0);
      // The budget's one slot is free again.
      answer();
      expect(await (await fetcher(`${server.url}/next`)).text()).toBe('late');
    },
  );
});

describe("the axios adapter reads a request's ratewise field once, as rw.fetch does", () => {
  /**
   * An options object that counts the reads of each key, and answers `first` for idempotencyKey, then `later`. An
   * instance of a class: axios copies a plain object it is given in a config, but passes any other object as it is.
   */
  function changing(first: unknown, later: () => unknown) {
    class CallOptions {
      idempotencyKey = first;
      priority = 1;
    }
    const reads: Record<string, number> = {};
    const options = new Proxy(new CallOptions() as unknown as Record<string, unknown>, {
      get(target, key, receiver) {
        if (typeof key === 'string') reads[key] = (reads[key] ?? 0) + 1;
        if (key === 'idempotencyKey' && reads[key]! > 1) return later();
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    return { options, reads };
  }

  test('the Idempotency-Key sent is the one checked: each option read once, a getter answering differently later', async () => {
    const server = await startScriptedServer(({ headers }) => ({ body: String(headers['idempotency-key']) }));
    open.push(server);
    const api = withRatewise(axios.create(), client());
    const { options, reads } = changing('order-1', () => 'order-2');
    const response = await api.post<string>(`${server.url}/orders`, 'x', { ratewise: options });
    expect(response.data).toBe('order-1');
    expect(reads).toMatchObject({ idempotencyKey: 1, priority: 1 });
  });

  test('a getter that throws when read again: the call goes, with the key it gave the first time', async () => {
    const server = await startScriptedServer(({ headers }) => ({ body: String(headers['idempotency-key']) }));
    open.push(server);
    const api = withRatewise(axios.create(), client());
    const { options } = changing('order-1', () => {
      throw new Error('read twice');
    });
    expect((await api.post<string>(`${server.url}/orders`, 'x', { ratewise: options })).data).toBe('order-1');
  });

  test.each<[string, unknown]>([
    ['an empty string', ''],
    ['a number', 42],
    [
      'an object whose toString throws',
      {
        toString: () => {
          throw new Error('not a key');
        },
      },
    ],
  ])('an idempotencyKey that is %s: the TypeError rw.fetch gives, no header set, nothing sent', async (_, key) => {
    const server = await serve();
    const rw = client();
    const api = withRatewise(axios.create(), rw);
    const expected = await rw
      .fetch(`${server.url}/x`, { method: 'POST', ratewise: { idempotencyKey: key as string } })
      .catch((error: unknown) => error);
    expect(expected).toBeInstanceOf(TypeError);
    // The config the adapter is given (axios makes it from the caller's): its headers are the ones sent.
    let config: InternalAxiosRequestConfig | undefined;
    api.interceptors.request.use((given) => (config = given));
    const failure = await api
      .post(`${server.url}/x`, 'x', { ratewise: { idempotencyKey: key as string } })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as Error).message).toBe((expected as Error).message);
    expect(config?.headers.has('idempotency-key')).toBe(false);
    expect(server.hits().total).toBe(0);
  });
});

describe('the adapters given something other than a ratewise client', () => {
  const notClients: [string, unknown, string][] = [
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ["a client's options", { budgets: {} }, 'object'],
  ];

  test.each(notClients)('%s: withRatewise throws a TypeError naming rw, and wraps nothing', (_, rw, kind) => {
    const instance = axios.create();
    const adapter = instance.defaults.adapter;
    expect(() => withRatewise(instance, rw as Ratewise)).toThrow(
      new TypeError(
        `Expected \`rw\` of withRatewise() to be a ratewise client (what createRatewise returns), got ${kind}`,
      ),
    );
    expect(instance.defaults.adapter).toBe(adapter);
  });

  test.each(notClients)('%s: ratewiseDispatcher throws a TypeError naming rw', (_, rw, kind) => {
    expect(() => ratewiseDispatcher(rw as Ratewise)).toThrow(
      new TypeError(
        `Expected \`rw\` of ratewiseDispatcher() to be a ratewise client (what createRatewise returns), got ${kind}`,
      ),
    );
  });

  test.each(notClients)(
    "%s: installRatewise throws a TypeError naming rw and installs nothing: the process's fetch still works",
    async (_, rw, kind) => {
      const server = await serve();
      const before = getGlobalDispatcher();
      expect(() => installRatewise(rw as Ratewise)).toThrow(
        new TypeError(
          `Expected \`rw\` of installRatewise() to be a ratewise client (what createRatewise returns), got ${kind}`,
        ),
      );
      expect(getGlobalDispatcher()).toBe(before);
      expect(await (await fetch(`${server.url}/x`)).text()).toBe('ok /x');
      // No install is left in place: a real client installs.
      uninstalls.push(installRatewise(client()));
    },
  );
});
