// Scenario 5: no credential leaves the request, and no header can pollute a prototype. Secrets travel to the server
// (that is their job) but never into ratewise's errors, events, stats, console output or budget keys, whichever way
// the call ends; header names and policy names such as `__proto__` and `constructor` are data, never property paths.
// Header and query secrets are also checked through each entry point (`rw.fetch`, axios, Node's global fetch).
import { inspect } from 'node:util';
import { afterEach, describe, expect, test, vi } from 'vitest';
import {
  createRatewise,
  isRatewiseError,
  parseRateLimit,
  type Ratewise,
  type RatewiseEvents,
} from '../../src/index.js';
import { startScriptedServer } from '../support/servers.js';
import {
  closedPort,
  CountingClock,
  describeEachEntryPoint,
  expectIdle,
  settleAll,
  SMALL_RETRY,
  startRawServer,
  through,
} from './support.js';

const USER = 'alice-USERINFO-NAME';
const PASSWORD = 'pa55w0rd-USERINFO-SECRET';
const BEARER = 'BEARER-SECRET-7f3a9c';
const COOKIE = 'COOKIE-SECRET-41be02';
const API_KEY = 'QUERY-APIKEY-SECRET-99d1';
const TOKEN = 'QUERY-TOKEN-SECRET-0c7e';
const SECRETS = [USER, PASSWORD, BEARER, COOKIE, API_KEY, TOKEN];

const EVENT_NAMES = ['queued', 'throttled', 'paused', 'retry', 'giveUp', 'rateLimitInfo', 'loop'] as const;

/** Everything ratewise wrote somewhere a log could pick it up. */
class Surfaces {
  readonly texts: string[] = [];

  add(label: string, value: unknown): void {
    // inspect walks own fields, causes and stacks; JSON.stringify is what a structured logger writes.
    let json: string;
    try {
      json = JSON.stringify(value);
    } catch {
      json = '';
    }
    this.texts.push(`${label}: ${inspect(value, { depth: 10, showHidden: false })} ${json}`);
    if (value instanceof Error) this.texts.push(`${label}.message: ${value.message} ${String(value.stack)}`);
  }

  listen(rw: Ratewise): void {
    for (const name of EVENT_NAMES) {
      rw.on(name, (event: RatewiseEvents[typeof name]) => {
        this.add(`event ${name}`, event);
      });
    }
  }

  leaks(): string[] {
    return this.texts.filter((text) => SECRETS.some((secret) => text.includes(secret)));
  }
}

/** The secrets in every place a request carries them: userinfo, Authorization, Cookie, secret-looking query. */
function secretUrl(origin: string, path: string): string {
  const url = new URL(`${origin}${path}`);
  url.username = USER;
  url.password = PASSWORD;
  url.searchParams.set('api_key', API_KEY);
  url.searchParams.set('access_token', TOKEN);
  url.searchParams.set('page', '2');
  return url.href;
}

/** `n` calls, each started once the previous one has settled (what the loop guard counts). */
function oneAfterAnother<T>(n: number, call: () => Promise<T>): Promise<T>[] {
  const calls = [call()];
  for (let i = 1; i < n; i++) calls.push(calls[i - 1]!.then(call, call));
  return calls;
}

const SECRET_HEADERS = { authorization: `Bearer ${BEARER}`, cookie: `session=${COOKIE}` };

/**
 * A fetch that accepts URL userinfo (undici refuses it, see the report): it moves it into the Authorization header,
 * as a client library would, and sends to the same host.
 */
const userinfoFetch: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  url.username = '';
  url.password = '';
  return globalThis.fetch(url, init);
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('no credential leaves the request', () => {
  test('errors, events, stats, console output and budget keys never carry a secret, whichever way a call ends', async () => {
    const consoleTexts: string[] = [];
    for (const method of ['warn', 'error', 'log', 'info', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        consoleTexts.push(args.map((a) => inspect(a, { depth: 10 })).join(' '));
      });
    }
    const surfaces = new Surfaces();
    const seenByServer: string[] = [];
    const server = await startScriptedServer(({ url, headers }) => {
      seenByServer.push(`${url} ${headers.authorization ?? ''} ${headers.cookie ?? ''}`);
      if (url.startsWith('/days')) return { status: 429, headers: { 'retry-after': String(3 * 86_400) } };
      if (url.startsWith('/down')) return { status: 503, body: `down ${url}` };
      if (url.startsWith('/broken')) return { status: 500, body: `broken ${url}` };
      if (url.startsWith('/storm')) return { status: 429, headers: { 'retry-after': '0' } };
      return { headers: { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '99', 'x-ratelimit-reset': '60' } };
    });
    const refused = await closedPort();
    const clock = new CountingClock();
    const clients: Ratewise[] = [];
    const make = (options: Parameters<typeof createRatewise>[0]): Ratewise => {
      const rw = createRatewise({ clock, fetch: userinfoFetch, ...options });
      surfaces.listen(rw);
      clients.push(rw);
      return rw;
    };
    // Keyed by a fingerprint of the Authorization header: one budget per credential, the credential nowhere.
    const rw = make({
      retry: { ...SMALL_RETRY, limit: 1, rateLimitLimit: 1, budget: { ratio: 0, minPerSecond: 0.1, windowMs: 10_000 } },
      keyFn: ({ headers }) => rw.fingerprint(headers.get('authorization') ?? ''),
      loopGuard: { limit: 1, windowMs: 60_000, mode: 'warn' },
    });
    const strict = make({ budgets: { '*': { concurrency: 1, maxQueue: 1 } }, loopGuard: { limit: 2, mode: 'throw' } });
    try {
      await (await rw.fetch(secretUrl(server.url, '/ok'), { headers: SECRET_HEADERS })).arrayBuffer();
      const calls: Promise<unknown>[] = [
        // Once the same call has settled: a loop warning.
        rw.fetch(secretUrl(server.url, '/ok'), { headers: SECRET_HEADERS }),
        rw.fetch(secretUrl(server.url, '/days'), { headers: SECRET_HEADERS }), // RateLimitError
        // While /ok succeeds a 503 is throttling: retried (rateLimitLimit 1), then the 503.
        rw.fetch(secretUrl(server.url, '/down'), { headers: SECRET_HEADERS }),
        rw.fetch(secretUrl(server.url, '/storm'), { headers: SECRET_HEADERS }), // throttle retries, then the 429
        rw.fetch(secretUrl(server.url, '/storm/2'), { headers: SECRET_HEADERS }),
        // Errors: one retry in the shared retry budget, the other refused (RetryBudgetExceededError).
        rw.fetch(secretUrl(server.url, '/broken'), { headers: SECRET_HEADERS }),
        rw.fetch(secretUrl(server.url, '/broken/2'), { headers: SECRET_HEADERS }),
        // The network error itself: no retry, which the one shared retry budget might refuse first (it would end as
        // RetryBudgetExceededError, whichever call's retry came first).
        rw.fetch(secretUrl(`http://127.0.0.1:${refused}`, '/refused'), {
          headers: SECRET_HEADERS,
          ratewise: { retry: { limit: 0 } },
        }),
        rw.fetch(secretUrl(server.url, '/post'), { method: 'POST', body: 'x', headers: SECRET_HEADERS }),
        // concurrency 1, maxQueue 1: one in flight, one queued, one refused; then the loop guard throws.
        ...[1, 2, 3].map((i) => strict.fetch(secretUrl(server.url, `/q/${i}`), { headers: SECRET_HEADERS })),
        ...oneAfterAnother(3, () => strict.fetch(secretUrl(server.url, '/loop'), { headers: SECRET_HEADERS })),
        // Aborted with a reason of the caller's own: passed on as it is, and no secret of ours added to it.
        rw.fetch(secretUrl(server.url, '/abort'), { headers: SECRET_HEADERS, signal: AbortSignal.abort('stop') }),
      ];
      const result = await settleAll(calls);
      expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: calls.length, pending: 0 });
      for (const error of result.rejected) surfaces.add('error', error);
      for (const value of result.fulfilled) {
        if (value instanceof Response) await value.arrayBuffer();
      }
      // Closed clients refuse with ClosedError, built from the same sanitised URL.
      await Promise.all(clients.map((c) => c.close()));
      const closed = await rw
        .fetch(secretUrl(server.url, '/closed'), { headers: SECRET_HEADERS })
        .catch((e: unknown) => e);
      surfaces.add('closed error', closed);
      for (const c of clients) surfaces.add('stats', c.stats());
      for (const c of clients) for (const s of c.stats()) surfaces.add('budget key', s.key);

      const names = new Set(result.rejected.filter((e) => e instanceof Error).map((e) => e.name));
      expect(names).toEqual(
        new Set(['RateLimitError', 'TypeError', 'RetryBudgetExceededError', 'QueueFullError', 'LoopDetectedError']),
      );
      expect(result.rejected).toContain('stop');
      expect(consoleTexts.some((text) => text.includes('request loop'))).toBe(true);
      // The secrets did reach the server, which is where they belong.
      expect(
        seenByServer.some((line) => line.includes(API_KEY) && line.includes(BEARER) && line.includes(COOKIE)),
      ).toBe(true);
      expect(surfaces.texts.length).toBeGreaterThan(20);
      // The URLs are there, sanitised: the check below looks at real output, not at nothing.
      expect(surfaces.texts.some((text) => text.includes('api_key=[REDACTED]'))).toBe(true);
      expect(surfaces.leaks()).toEqual([]);
      expect(consoleTexts.filter((text) => SECRETS.some((secret) => text.includes(secret)))).toEqual([]);
      for (const c of clients) await expectIdle(c, clock);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    }
  });
});

describeEachEntryPoint('no credential in ratewise’s events and errors', (entry) => {
  // Was a bug through axios: the adapter handed ratewise axios's own `AxiosError` for a failed attempt, and it went on
  // as the `retry` event's `error` and as the `cause` of ratewise's own errors, request `config` (Authorization,
  // secret query) included. The adapter now gives ratewise a plain copy of it (`Transport.safeError`).
  const scenario = test;
  scenario(`[${entry.name}] events, stats and ratewise’s own errors never carry a header or query secret`, async () => {
    const surfaces = new Surfaces();
    const server = await startScriptedServer(({ url }) => {
      if (url.startsWith('/days')) return { status: 429, headers: { 'retry-after': String(3 * 86_400) } };
      if (url.startsWith('/down')) return { status: 503, body: 'down' };
      return { status: 429, headers: { 'retry-after': '0' } };
    });
    const refused = await closedPort();
    const clock = new CountingClock();
    const rw = createRatewise({
      clock,
      loopGuard: false,
      // A retry budget of one retry: network errors are retried once, then refused with RetryBudgetExceededError.
      retry: { ...SMALL_RETRY, limit: 2, rateLimitLimit: 1, budget: { ratio: 0, minPerSecond: 0.1, windowMs: 10_000 } },
    });
    surfaces.listen(rw);
    const retryErrors: unknown[] = [];
    rw.on('retry', (event) => retryErrors.push(event.error));
    const secretPath = (origin: string, path: string): string => {
      const url = new URL(`${origin}${path}`);
      url.searchParams.set('api_key', API_KEY);
      url.searchParams.set('access_token', TOKEN);
      return url.href;
    };
    try {
      await through(entry, rw, async () => {
        const targets: [origin: string, path: string][] = [
          ...[1, 2, 3].map((i) => [`http://127.0.0.1:${refused}`, `/refused/${i}`] as [string, string]),
          [server.url, '/days'],
          [server.url, '/down'],
          [server.url, '/storm'],
        ];
        const calls = targets.map(([origin, path]) =>
          entry.call(rw, secretPath(origin, path), { headers: SECRET_HEADERS }),
        );
        const result = await settleAll(calls);
        expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: calls.length, pending: 0 });
        // ratewise's own errors only: a network error passed on as it is (axios's AxiosError with its config) is the
        // library's own, as it would be without ratewise.
        const own = result.rejected.map(entry.unwrap).filter((error) => isRatewiseError(error));
        for (const error of own) surfaces.add('error', error);
        for (const stats of rw.stats()) surfaces.add('stats', stats);

        // Not vacuous: a retry event carried a network error, and a ratewise error carried one as its cause.
        expect(retryErrors.some((error) => error instanceof Error)).toBe(true);
        expect(own.map((error) => error.name)).toEqual(expect.arrayContaining(['RetryBudgetExceededError']));
        expect(own.some((error) => error.cause instanceof Error)).toBe(true);
        expect(surfaces.texts.some((text) => text.includes('api_key=[REDACTED]'))).toBe(true);
        await expectIdle(rw, clock);
        expect(surfaces.leaks()).toEqual([]);
      });
    } finally {
      await rw.close();
      await server.close();
    }
  });
});

describe('header names cannot pollute prototypes', () => {
  const hostile = JSON.parse(
    '{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, "prototype": "1",' +
      '"x-ratelimit-limit": "10", "x-ratelimit-remaining": "3", "x-ratelimit-reset": "30",' +
      '"ratelimit-policy": "\\"__proto__\\";q=100;w=60, \\"constructor\\";q=5;w=1",' +
      '"ratelimit": "\\"__proto__\\";r=50;t=30, \\"constructor\\";r=1;t=1, \\"hasOwnProperty\\";r=2;t=2"}',
  ) as Record<string, string>;

  test('parseRateLimit over a plain object with __proto__ and constructor keys', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const info = parseRateLimit(hostile, { now: Date.now(), status: 200 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(Object.getPrototypeOf(info)).toBe(Object.prototype);
    for (const policy of info.policies) expect(Object.getPrototypeOf(policy)).toBe(Object.prototype);
    expect(info.remaining).toBeTypeOf('number');
  });

  test('a real response with __proto__, constructor and prototype fields and policy names', async () => {
    const server = await startRawServer((_req, res) => {
      res.setHeader('__proto__', 'polluted=yes');
      res.setHeader('constructor', 'polluted');
      res.setHeader('prototype', 'polluted');
      res.setHeader('x-ratelimit-__proto__', '1');
      res.setHeader('ratelimit-policy', '"__proto__";q=100;w=60, "constructor";q=5;w=1');
      res.setHeader('ratelimit', '"__proto__";r=50;t=30, "constructor";r=1;t=1');
      res.end('ok');
    });
    const clock = new CountingClock();
    const rw = createRatewise({ clock });
    const infos: RatewiseEvents['rateLimitInfo'][] = [];
    rw.on('rateLimitInfo', (event) => infos.push(event));
    try {
      const before = Object.getOwnPropertyNames(Object.prototype).sort();
      const response = await rw.fetch(`${server.url}/proto`);
      await response.text();
      const info = parseRateLimit(response.headers, { status: response.status });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
      expect(infos).toHaveLength(1);
      expect(info.policies.length).toBeGreaterThan(0);
      expect(typeof ({} as { constructor: unknown }).constructor).toBe('function');
      await expectIdle(rw, clock);
    } finally {
      await rw.close();
      await server.close();
    }
  });
});
