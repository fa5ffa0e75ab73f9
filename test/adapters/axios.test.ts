// `ratewise/axios` against real servers on 127.0.0.1: the adapter wrapper throttles and retries each attempt below
// the user's interceptors and transforms, and settles as axios would.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import axios, { AxiosError, isCancel, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { withRatewise } from '../../src/adapters/axios.js';
import {
  ClosedError,
  createRatewise,
  isRatewiseError,
  QueueFullError,
  RateLimitError,
  RetryBudgetExceededError,
  type RatewiseOptions,
  type RequestOptions,
} from '../../src/index.js';
import { refusedSince } from '../integration/support.js';
import { FakeClock } from '../support/fake-clock.js';
import { sequence, startExpressServer, startScriptedServer, type Script, type TestServer } from '../support/servers.js';

const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((resource) => resource.close()));
});

async function serve(script: Script): Promise<TestServer> {
  const server = await startScriptedServer(script);
  open.push(server);
  return server;
}

/** A client whose computed retry waits are a few ms, and an axios instance throttled by it. */
function client(options: RatewiseOptions = {}) {
  const rw = createRatewise({ retry: { backoff: { baseMs: 5, maxMs: 20 } }, ...options });
  open.push(rw);
  return { rw, api: withRatewise(axios.create(), rw) };
}

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Resolves once `server` has received `count` requests. */
async function received(server: TestServer, count: number): Promise<void> {
  while (server.hits().total < count) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe('withRatewise(axios instance)', () => {
  it(
    '300 requests at once against express-rate-limit draft-8: all succeed, none refused after the first response',
    { timeout: 60_000 },
    async () => {
      const server = await startExpressServer({
        limit: 20,
        windowMs: 500,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
      });
      open.push(server);
      const { rw, api } = client();
      let firstResponseAt = Infinity;
      rw.on('rateLimitInfo', () => {
        firstResponseAt = Math.min(firstResponseAt, Date.now());
      });
      const responses = await Promise.all(
        Array.from({ length: 300 }, (_, i) => api.get<{ ok: boolean }>(`${server.url}/items/${i}`)),
      );
      expect(responses.map((response) => response.status)).toEqual(Array(300).fill(200));
      expect(responses.every((response) => response.data.ok)).toBe(true);
      const log = server.requests();
      expect(refusedSince(log, firstResponseAt)).toEqual([]);
      const hits = server.hits();
      const [budget] = rw.stats();
      expect(rw.stats()).toHaveLength(1);
      expect(budget?.counters).toMatchObject({
        sent: hits.total,
        rateLimited: hits.rejected,
        retries: hits.rejected,
        giveUps: 0,
      });
      expect(hits.accepted).toBe(300);
      console.log(`axios: ${hits.total} requests sent, ${hits.rejected} refused, 300 of 300 succeeded`);
    },
  );

  it('builds the URL from baseURL, url and params, and keys the budget by its origin', async () => {
    const server = await serve(() => ({ json: { ok: true } }));
    const { rw } = client();
    const api = withRatewise(axios.create({ baseURL: `${server.url}/v1/` }), rw);
    await api.get('items', { params: { page: 2 } });
    expect(server.requests()[0]?.url).toBe('/v1/items?page=2');
    expect(rw.stats()[0]?.key).toBe(server.url);
  });

  it('throttles a request that names its own adapter too', async () => {
    const server = await serve(sequence({ status: 503 }, { json: { ok: true } }));
    const { rw, api } = client();
    const response = await api.get(`${server.url}/own`, { adapter: 'fetch' });
    expect(response.data).toEqual({ ok: true });
    expect(server.hits().total).toBe(2);
    expect(rw.stats()[0]?.counters).toMatchObject({ sent: 2, retries: 1 });
  });

  it('a 404 rejects with an AxiosError carrying the response; validateStatus: () => true resolves with it', async () => {
    const server = await serve(() => ({ status: 404, json: { error: 'missing' } }));
    const { api } = client();
    const error: unknown = await api.get(`${server.url}/nope`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AxiosError);
    const axiosError = error as AxiosError;
    expect(axiosError.code).toBe(AxiosError.ERR_BAD_REQUEST);
    expect(axiosError.message).toBe('Request failed with status code 404');
    expect(axiosError.response?.status).toBe(404);
    expect(axiosError.response?.data).toEqual({ error: 'missing' });
    expect(axiosError.config?.validateStatus?.(404)).toBe(false);
    const response = await api.get(`${server.url}/nope`, { validateStatus: () => true });
    expect(response.status).toBe(404);
    expect(response.data).toEqual({ error: 'missing' });
    expect(server.hits().total).toBe(2);
  });

  it('rejects with an AxiosError carrying the final 503 once retries are spent', async () => {
    const server = await serve(() => ({ status: 503, json: { error: 'down' } }));
    const { rw, api } = client({ retry: { limit: 2, backoff: { baseMs: 5, maxMs: 20 } } });
    const error: unknown = await api.get(`${server.url}/flaky`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).code).toBe(AxiosError.ERR_BAD_RESPONSE);
    expect((error as AxiosError).response?.status).toBe(503);
    expect((error as AxiosError).response?.data).toEqual({ error: 'down' });
    expect(server.hits().total).toBe(3);
    expect(rw.stats()[0]?.counters).toMatchObject({ sent: 3, retries: 2 });
  });

  it('an abort while queued rejects as axios would and sends nothing; an abort in flight ends the call', async () => {
    const release = gate();
    const server = await serve(async () => {
      await release.opened;
      return { json: { ok: true } };
    });
    const { api } = client({ budgets: { '*': { concurrency: 1 } } });
    const inFlight = new AbortController();
    const queued = new AbortController();
    const first = api.get(`${server.url}/slow`, { signal: inFlight.signal }).catch((e: unknown) => e);
    const second = api.get(`${server.url}/queued`, { signal: queued.signal }).catch((e: unknown) => e);
    await received(server, 1);
    queued.abort();
    const queuedError = await second;
    expect(isCancel(queuedError)).toBe(true);
    expect((queuedError as AxiosError).code).toBe(AxiosError.ERR_CANCELED);
    inFlight.abort();
    const inFlightError = await first;
    expect(isCancel(inFlightError)).toBe(true);
    release.open();
    expect(server.requests().map((request) => request.url)).toEqual(['/slow']);
  });

  it('an abort while the budget is paused by Retry-After rejects at once, without another attempt', async () => {
    const server = await serve(() => ({ status: 503, headers: { 'retry-after': '30' } }));
    const { api } = client();
    const controller = new AbortController();
    const call = api.get(`${server.url}/busy`, { signal: controller.signal }).catch((e: unknown) => e);
    await received(server, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    expect(isCancel(await call)).toBe(true);
    expect(server.hits().total).toBe(1);
  });

  it('a CancelToken cancels while queued and in flight, with its own reason', async () => {
    const release = gate();
    const server = await serve(async () => {
      await release.opened;
      return { json: { ok: true } };
    });
    const { api } = client({ budgets: { '*': { concurrency: 1 } } });
    const inFlight = axios.CancelToken.source();
    const queued = axios.CancelToken.source();
    const first = api.get(`${server.url}/slow`, { cancelToken: inFlight.token }).catch((e: unknown) => e);
    const second = api.get(`${server.url}/queued`, { cancelToken: queued.token }).catch((e: unknown) => e);
    await received(server, 1);
    queued.cancel('not needed');
    const queuedError = await second;
    expect(isCancel(queuedError)).toBe(true);
    expect((queuedError as Error).message).toBe('not needed');
    inFlight.cancel('too slow');
    const inFlightError = await first;
    expect(isCancel(inFlightError)).toBe(true);
    expect((inFlightError as Error).message).toBe('too slow');
    release.open();
    expect(server.requests().map((request) => request.url)).toEqual(['/slow']);
  });

  it('never retries a POST without an Idempotency-Key', async () => {
    const server = await serve(sequence({ status: 503 }, { status: 201 }));
    const { api } = client();
    const error: unknown = await api.post(`${server.url}/orders`, { item: 1 }).catch((e: unknown) => e);
    expect((error as AxiosError).response?.status).toBe(503);
    expect(server.hits().total).toBe(1);
  });

  it('retries a POST with ratewise: { idempotencyKey: true }, sending the same key and body on every attempt', async () => {
    const seen: { key: string | string[] | undefined; body: string }[] = [];
    const server = await serve((request) => {
      seen.push({ key: request.headers['idempotency-key'], body: request.body });
      return request.index < 2 ? { status: 503 } : { status: 201, json: { id: 7 } };
    });
    const { api } = client();
    const response = await api.post(`${server.url}/orders`, { item: 1 }, { ratewise: { idempotencyKey: true } });
    expect(response.status).toBe(201);
    expect(response.data).toEqual({ id: 7 });
    expect(seen).toHaveLength(3);
    const key = seen[0]?.key;
    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(seen).toEqual(Array(3).fill({ key, body: '{"item":1}' }));
  });

  it('runs transforms and interceptors once per logical request, however many attempts it takes', async () => {
    const server = await serve(
      sequence({ status: 429, headers: { 'retry-after': '0' } }, { status: 503 }, { json: { ok: true } }),
    );
    const { api } = client();
    const calls = { transformRequest: 0, transformResponse: 0, requestInterceptor: 0, responseInterceptor: 0 };
    api.interceptors.request.use((config) => {
      calls.requestInterceptor++;
      return config;
    });
    api.interceptors.response.use((response) => {
      calls.responseInterceptor++;
      return response;
    });
    const response = await api.post(
      `${server.url}/things`,
      { n: 1 },
      {
        ratewise: { idempotencyKey: 'order-1' },
        transformRequest: [
          (data: unknown) => {
            calls.transformRequest++;
            return JSON.stringify(data);
          },
        ],
        transformResponse: [
          (data: string) => {
            calls.transformResponse++;
            return JSON.parse(data) as unknown;
          },
        ],
      },
    );
    expect(response.data).toEqual({ ok: true });
    expect(server.hits().total).toBe(3);
    expect(calls).toEqual({ transformRequest: 1, transformResponse: 1, requestInterceptor: 1, responseInterceptor: 1 });
  });

  // Was a RateLimitError as it is: `axios.isAxiosError(e)` false and no `response`, so axios error handlers and
  // interceptors missed it.
  it('rejects with an AxiosError carrying the ratewise error as cause, its code and fields, and the last response', async () => {
    const server = await serve(() => ({ status: 429, headers: { 'retry-after': '3600' }, json: { error: 'later' } }));
    const { api } = client();
    const seenByInterceptor: unknown[] = [];
    api.interceptors.response.use(undefined, (error: unknown) => {
      if (axios.isAxiosError(error)) seenByInterceptor.push(error.code);
      throw error;
    });
    const url = `${server.url}/later?api_key=secret-key`;
    const headers = { authorization: 'Bearer secret-token' };
    const error: unknown = await api.get(url, { headers }).catch((e: unknown) => e);

    expect(axios.isAxiosError(error)).toBe(true);
    expect(error).toBeInstanceOf(AxiosError);
    const axiosError = error as AxiosError;
    expect(seenByInterceptor).toEqual(['ERR_RATEWISE_RATE_LIMITED']);
    expect(axiosError.code).toBe('ERR_RATEWISE_RATE_LIMITED');
    expect(axiosError.response?.status).toBe(429);
    expect(axiosError.response?.data).toEqual({ error: 'later' });
    expect(axiosError.response?.config).toBe(axiosError.config);
    expect(axiosError.status).toBe(429);
    expect(axiosError.config?.url).toBe(url);

    const cause = axiosError.cause;
    expect(cause).toBeInstanceOf(RateLimitError);
    expect(cause).toMatchObject({ reason: 'max-retry-after', key: server.url, waitMs: 3_600_000 });
    expect(axiosError.message).toBe((cause as RateLimitError).message);
    expect(isRatewiseError(error, 'ERR_RATEWISE_RATE_LIMITED')).toBe(true);
    if (isRatewiseError(error, 'ERR_RATEWISE_RATE_LIMITED')) {
      expect({ reason: error.reason, retryAt: error.retryAt, key: error.key }).toEqual({
        reason: 'max-retry-after',
        retryAt: (cause as RateLimitError).retryAt,
        key: server.url,
      });
    }
    // The ratewise error holds no config, request or credential: the AxiosError's config is axios's own business.
    const shown = `${inspect(cause, { depth: 5, showHidden: true })} ${JSON.stringify(cause)}`;
    expect(shown).not.toContain('secret-token');
    expect(shown).not.toContain('secret-key');
  });

  it('a refusal before any response (queue full) is an AxiosError without response; a closed client’s too', async () => {
    const release = gate();
    const server = await serve(async () => {
      await release.opened;
      return { json: { ok: true } };
    });
    const { rw, api } = client({ budgets: { '*': { concurrency: 1, maxQueue: 1 } } });
    const first = api.get(`${server.url}/1`).catch((e: unknown) => e);
    const second = api.get(`${server.url}/2`).catch((e: unknown) => e);
    const third: unknown = await api.get(`${server.url}/3`).catch((e: unknown) => e);
    expect(axios.isAxiosError(third)).toBe(true);
    expect(third).toMatchObject({ code: 'ERR_RATEWISE_QUEUE_FULL', maxQueue: 1 });
    expect((third as AxiosError).response).toBeUndefined();
    expect((third as AxiosError).cause).toBeInstanceOf(QueueFullError);
    expect(isRatewiseError(third, 'ERR_RATEWISE_QUEUE_FULL')).toBe(true);
    release.open();
    expect(await Promise.all([first, second])).toMatchObject([{ status: 200 }, { status: 200 }]);
    await rw.close();
    const closed: unknown = await api.get(`${server.url}/4`).catch((e: unknown) => e);
    expect(axios.isAxiosError(closed)).toBe(true);
    expect(closed).toMatchObject({ code: 'ERR_RATEWISE_CLOSED', when: 'afterClose' });
    expect((closed as AxiosError).cause).toBeInstanceOf(ClosedError);
  });

  it('a refused retry carries the response it would have retried', async () => {
    const server = await serve(() => ({ status: 503, body: 'busy' }));
    const { api } = client({
      retry: { backoff: { baseMs: 5, maxMs: 20 }, budget: { ratio: 0, minPerSecond: 0, windowMs: 10_000 } },
    });
    const error: unknown = await api.get(`${server.url}/busy`).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_RATEWISE_RETRY_BUDGET', attempts: 1, status: 503 });
    expect((error as AxiosError).response?.data).toBe('busy');
    expect((error as AxiosError).cause).toBeInstanceOf(RetryBudgetExceededError);
  });

  it("leaves the timeout to axios, per attempt: a timed-out attempt fails with axios's own error, not retried", async () => {
    const server = await serve(async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { json: { ok: true } };
    });
    const { rw, api } = client();
    const error: unknown = await api.get(`${server.url}/slow`, { timeout: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).code).toBe(AxiosError.ECONNABORTED);
    expect((error as AxiosError).message).toBe('timeout of 50ms exceeded');
    // ratewise retries network failures, not timeouts (the request may have reached the server).
    expect(server.hits().total).toBe(1);
    expect(rw.stats()[0]?.counters).toMatchObject({ sent: 1, retries: 0 });
  });

  it('destroys the stream of a discarded responseType: "stream" response', async () => {
    const server = await serve(sequence({ status: 503, body: 'busy' }, { body: 'fine' }));
    const { api } = client();
    const response = await api.get<NodeJS.ReadableStream>(`${server.url}/s`, { responseType: 'stream' });
    const chunks: Buffer[] = [];
    for await (const chunk of response.data) chunks.push(Buffer.from(chunk));
    expect(Buffer.concat(chunks).toString()).toBe('fine');
    expect(server.hits().total).toBe(2);
  });

  it('throttles the default axios too, and wrapping again replaces the wrapper rather than nesting it', async () => {
    const server = await serve(sequence({ status: 503 }, { json: { ok: true } }));
    const { rw } = client();
    const before = axios.defaults.adapter;
    expect(before).toBeDefined();
    try {
      withRatewise(axios, rw);
      withRatewise(axios, rw);
      const response: AxiosResponse<{ ok: boolean }> = await axios.get(`${server.url}/default`);
      expect(response.data).toEqual({ ok: true });
      expect(rw.stats()[0]?.counters).toMatchObject({ sent: 2, retries: 1 });
    } finally {
      axios.defaults.adapter = before!;
    }
  });

  it('loop guard: distinct POST bodies to one URL and concurrent copies are not a loop; a POST repeated after each answer is', async () => {
    const server = await serve(() => ({ json: { data: {} } }));
    // On a fake clock that never moves: the guard's window lasts the whole test.
    const { api } = client({ clock: new FakeClock(Date.UTC(2025, 0, 1)), loopGuard: { limit: 5, mode: 'throw' } });
    const url = `${server.url}/graphql`;
    for (let id = 0; id < 20; id++)
      await api.post(url, { query: 'query($id: ID!) { item(id: $id) { name } }', variables: { id } });
    const batch = await Promise.all(Array.from({ length: 20 }, () => api.post(url, { query: '{ batch }' })));
    expect(batch.map((r) => r.status)).toEqual(Array<number>(20).fill(200));
    for (let i = 0; i < 5; i++) await api.post(url, { query: '{ again }' });
    const error: unknown = await api.post(url, { query: '{ again }' }).catch((e: unknown) => e);
    expect(isRatewiseError(error, 'ERR_RATEWISE_LOOP')).toBe(true);
    expect(server.hits().total).toBe(45);
    // A Buffer body is compared by its bytes; a stream is never the same as another.
    for (let i = 0; i < 5; i++) await api.post(url, Buffer.from('bytes'));
    expect(
      isRatewiseError(await api.post(url, Buffer.from('bytes')).catch((e: unknown) => e), 'ERR_RATEWISE_LOOP'),
    ).toBe(true);
    for (let i = 0; i < 8; i++) await api.post(url, Readable.from(['stream']));
    expect(server.hits().total).toBe(58);
  });

  it('types the ratewise field of a request config', () => {
    expectTypeOf<NonNullable<AxiosRequestConfig['ratewise']>>().toEqualTypeOf<RequestOptions>();
    // @ts-expect-error: not a ratewise option
    const bad: AxiosRequestConfig = { ratewise: { priorty: 1 } };
    expect(bad).toBeDefined();
  });
});

describe('the core without axios', () => {
  it('src/ outside adapters/ never imports axios or an adapter (ratewise/otel only how a missing peer is told)', () => {
    const src = fileURLToPath(new URL('../../src/', import.meta.url));
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
      (file) => file.endsWith('.ts') && !file.startsWith('adapters'),
    );
    expect(files).toContain('index.ts');
    for (const file of files) {
      let text = readFileSync(join(src, file), 'utf8');
      if (file.startsWith('otel')) text = text.replace("from '../adapters/peer.js'", '');
      expect(text, file).not.toMatch(/(?:from|import\()\s*['"](?:axios|[./]+adapters\/)/);
    }
  });
});
