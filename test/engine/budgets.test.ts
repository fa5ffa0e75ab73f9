import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRatewise } from '../../src/client.js';
import { originOf } from '../../src/http/request.js';
import { QueueFullError, RateLimitError } from '../../src/errors.js';
import axios, { type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { withRatewise } from '../../src/adapters/axios.js';
import { installRatewise } from '../../src/adapters/undici.js';
import { startScriptedServer } from '../support/servers.js';
import { advance, flush, ok, quota, rig, T0, tooMany, track } from './support/harness.js';

const path = (url: string): string => new URL(url).pathname;

describe('budget keys', () => {
  it('keys a budget by origin by default: hosts do not wait for each other', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { rate: '1/s', burst: 1 } } });
    const calls = [
      rw.fetch('https://a.test/1'),
      rw.fetch('https://a.test/2'),
      rw.fetch('https://b.test/1'),
      rw.fetch('http://a.test/1'), // another scheme is another origin
    ].map((p) => track(p));
    await flush();
    expect(server.calls.map((c) => c.url)).toEqual(['https://a.test/1', 'https://b.test/1', 'http://a.test/1']);
    await advance(clock, 1000);
    expect(server.calls.map((c) => [c.url, c.at - T0])).toContainEqual(['https://a.test/2', 1000]);
    expect(calls.every((c) => c.state === 'fulfilled')).toBe(true);
    expect(
      rw
        .stats()
        .map((s) => s.key)
        .sort(),
    ).toEqual(['http://a.test', 'https://a.test', 'https://b.test']);
  });

  it('puts requests with the same `ratewise.key` in one budget, whatever their host', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { rate: '1/s', burst: 1 } } });
    void rw.fetch('https://a.test/', { ratewise: { key: 'tenant-1' } });
    void rw.fetch('https://b.test/', { ratewise: { key: 'tenant-1' } });
    await flush();
    expect(server.calls).toHaveLength(1);
    await advance(clock, 1000);
    expect(server.sentAt.map((t) => t - T0)).toEqual([0, 1000]);
    expect(rw.stats().map((s) => s.key)).toEqual(['tenant-1']);
  });

  it('uses `keyFn` for the key, and the origin when it returns undefined', async () => {
    const seen: string[] = [];
    const { rw, server } = rig({
      budgets: { '*': { rate: '1/s', burst: 1 } },
      keyFn: ({ method, url, headers }) => {
        seen.push(`${method} ${url.pathname} ${headers.get('x-tenant') ?? '-'}`);
        return headers.get('x-tenant') ?? undefined;
      },
    });
    void rw.fetch('https://a.test/x', { headers: { 'x-tenant': 't1' } });
    void rw.fetch('https://b.test/y', { headers: { 'x-tenant': 't1' } });
    void rw.fetch('https://c.test/z', { method: 'post' });
    await flush();
    expect(seen).toEqual(['GET /x t1', 'GET /y t1', 'POST /z -']);
    expect(server.calls.map((c) => c.url)).toEqual(['https://a.test/x', 'https://c.test/z']);
    expect(
      rw
        .stats()
        .map((s) => s.key)
        .sort(),
    ).toEqual(['https://c.test', 't1']);
  });

  it('per-request `ratewise.key` wins over `keyFn`', async () => {
    const { rw } = rig({ keyFn: () => 'from-fn' });
    await rw.fetch('https://a.test/', { ratewise: { key: 'explicit' } });
    expect(rw.stats().map((s) => s.key)).toEqual(['explicit']);
  });
});

describe('budget patterns', () => {
  it('matches an exact host, then the longest `*.suffix` wildcard, then `*`', async () => {
    const { rw } = rig({
      budgets: {
        'api.example.com': { rate: '1/s' },
        '*.example.com': { rate: '2/s' },
        '*.eu.example.com': { rate: '3/s' },
        'localhost:8080': { rate: '4/s' },
        '*': { concurrency: 4 },
      },
    });
    const urls = [
      'https://api.example.com/',
      'https://www.example.com/',
      'https://a.b.example.com/',
      'https://x.eu.example.com/',
      'https://example.com/',
      'http://localhost:8080/',
      'http://localhost:9090/',
      'https://other.test/',
    ];
    for (const url of urls) await rw.fetch(url);
    expect(Object.fromEntries(rw.stats().map((s) => [s.key, s.pattern]))).toEqual({
      'https://api.example.com': 'api.example.com',
      'https://www.example.com': '*.example.com',
      'https://a.b.example.com': '*.example.com',
      'https://x.eu.example.com': '*.eu.example.com',
      'https://example.com': '*', // a wildcard matches subdomains only
      'http://localhost:8080': 'localhost:8080',
      'http://localhost:9090': '*',
      'https://other.test': '*',
    });
  });

  it('matches host patterns case-insensitively', async () => {
    const { rw } = rig({ budgets: { 'API.Example.com': { rate: '1/s' } } });
    await rw.fetch('https://api.EXAMPLE.com/');
    expect(rw.stats()[0]?.pattern).toBe('API.Example.com');
  });

  it('a `schedule()` key is matched against the patterns like a host', async () => {
    const { rw } = rig({ budgets: { 'jobs.internal': { rate: '1/s', burst: 1 }, '*': {} } });
    await rw.schedule(() => 1, { key: 'jobs.internal' });
    await rw.schedule(() => 2);
    expect(Object.fromEntries(rw.stats().map((s) => [s.key, s.pattern]))).toEqual({
      'jobs.internal': 'jobs.internal',
      '*': '*',
    });
  });
});

describe('a key resolves to its pattern the same way, whoever creates its budget', () => {
  const budgets = { 'api.test': { rate: '2/s', burst: 1 }, '*': {} };

  it('a task keyed by an origin, scheduled before any request, leaves the host its configured rate', async () => {
    const { rw, clock, server } = rig({ budgets });
    await rw.schedule(() => 'first', { key: 'https://api.test' });
    expect(rw.stats().map((s) => [s.key, s.pattern])).toEqual([['https://api.test', 'api.test']]);
    const calls = [1, 2].map((i) => track(rw.fetch(`https://api.test/${i}`), clock));
    await advance(clock, 1000);
    expect(calls.map((c) => c.state)).toEqual(['fulfilled', 'fulfilled']);
    expect(server.sentAt.map((t) => t - T0)).toEqual([500, 1000]);
  });

  it('a key is matched by its own host, not by the host of the first request that used it', async () => {
    const { rw } = rig({ budgets: { 'api.test': { rate: '2/s' }, 'tenant-1': { rate: '5/s' }, '*': {} } });
    await rw.fetch('https://api.test/', { ratewise: { key: 'tenant-1' } });
    await rw.fetch('https://api.test/', { ratewise: { key: 'tenant-2' } });
    await rw.schedule(() => 1, { key: 'api.test' });
    expect(Object.fromEntries(rw.stats().map((s) => [s.key, s.pattern]))).toEqual({
      'tenant-1': 'tenant-1',
      'tenant-2': '*',
      'api.test': 'api.test',
    });
  });

  it('a keyFn key that is an origin with a fragment (one budget per credential) keeps its host’s pattern', async () => {
    const { rw } = rig({ budgets, keyFn: ({ url }) => `${url.origin}#${rw.fingerprint('secret')}` });
    await rw.fetch('https://api.test/');
    await rw.fetch('https://other.test/');
    expect(rw.stats().map((s) => s.pattern)).toEqual(['api.test', '*']);
  });

  it('through axios too', async () => {
    const { rw, clock } = rig({ budgets });
    await rw.schedule(() => 1, { key: 'https://api.test' });
    const api = withRatewise(
      axios.create({
        adapter: (config: InternalAxiosRequestConfig): Promise<AxiosResponse> =>
          Promise.resolve({ data: 'ok', status: 200, statusText: 'OK', headers: {}, config }),
      }),
      rw,
    );
    const call = track(api.get('https://api.test/'), clock);
    await advance(clock, 500);
    expect(call.state).toBe('fulfilled');
    expect(rw.stats().map((s) => [s.key, s.pattern, s.counters.sent])).toEqual([['https://api.test', 'api.test', 2]]);
    expect(call.settledAt).toBe(T0 + 500);
  });

  it('through Node’s global fetch too', async () => {
    const server = await startScriptedServer(() => ({ body: 'ok' }));
    const rw = createRatewise({ budgets: { [new URL(server.url).host]: { rate: '2/s', burst: 2 } }, loopGuard: false });
    const uninstall = installRatewise(rw);
    try {
      await rw.schedule(() => 1, { key: server.url });
      expect(rw.stats().map((s) => s.pattern)).toEqual([new URL(server.url).host]);
      await (await fetch(`${server.url}/a`)).text();
      expect(rw.stats().map((s) => [s.key, s.pattern, s.counters.sent])).toEqual([
        [server.url, new URL(server.url).host, 2],
      ]);
    } finally {
      uninstall();
      await rw.close();
      await server.close();
    }
  });
});

describe('patterns are normalised as URL hosts are', () => {
  const patternOf = async (budgets: Record<string, object>, urls: readonly string[]) => {
    const { rw } = rig({ budgets: { ...budgets, '*': {} } });
    for (const url of urls) await rw.fetch(url);
    return Object.fromEntries(rw.stats().map((s) => [s.key, s.pattern]));
  };

  it('a wildcard with a port matches subdomains on that port only', async () => {
    expect(
      await patternOf({ '*.wild.test:8443': { rate: '1/s' } }, [
        'https://x.wild.test:8443/',
        'https://a.b.wild.test:8443/',
        'https://x.wild.test/',
        'https://wild.test:8443/',
      ]),
    ).toEqual({
      'https://x.wild.test:8443': '*.wild.test:8443',
      'https://a.b.wild.test:8443': '*.wild.test:8443',
      'https://x.wild.test': '*',
      'https://wild.test:8443': '*',
    });
  });

  it('a port-specific wildcard comes before the same wildcard without a port; a longer suffix before both', async () => {
    expect(
      await patternOf(
        { '*.w.test': { rate: '1/s' }, '*.w.test:8443': { rate: '2/s' }, '*.eu.w.test': { rate: '3/s' } },
        ['https://x.w.test:8443/', 'https://x.w.test/', 'https://x.eu.w.test:8443/'],
      ),
    ).toEqual({
      'https://x.w.test:8443': '*.w.test:8443',
      'https://x.w.test': '*.w.test',
      'https://x.eu.w.test:8443': '*.eu.w.test',
    });
  });

  it('a default port in a pattern matches URLs that leave it out, for their scheme only', async () => {
    expect(
      await patternOf({ 'secure.test:443': { rate: '1/s' }, 'plain.test:80': { rate: '1/s' } }, [
        'https://secure.test/',
        'http://secure.test:443/',
        'http://secure.test/',
        'http://plain.test/',
        'https://plain.test/',
      ]),
    ).toEqual({
      'https://secure.test': 'secure.test:443',
      'http://secure.test:443': 'secure.test:443',
      'http://secure.test': '*',
      'http://plain.test': 'plain.test:80',
      'https://plain.test': '*',
    });
  });

  it('a trailing dot, upper case and Unicode name the same host on either side', async () => {
    expect(
      await patternOf({ 'api.example.com': { rate: '1/s' }, 'API.Other.TEST.': { rate: '1/s' }, 'bücher.test': {} }, [
        'https://api.example.com./',
        'https://api.other.test/',
        'https://xn--bcher-kva.test/',
      ]),
    ).toEqual({
      'https://api.example.com': 'api.example.com',
      'https://api.other.test': 'API.Other.TEST.',
      'https://xn--bcher-kva.test': 'bücher.test',
    });
  });

  it('keys each request by its own origin, whatever the origin of the request before it (property)', async () => {
    const urls = [
      'https://api.test/a',
      'https://api.test./b',
      'https://api.test:8443/c',
      'https://api.test.:8443/d',
      'https://user:pw@api.test/e',
      'https://api.testing/f',
      'https://api.test',
      'http://api.test/g',
      'http://[::1]:8080/h',
      'http://[::1]/i',
      'foo://api.test/j',
      'foo://api.test',
      'foo:///k',
      'file:///tmp/l',
    ];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...urls), { minLength: 1, maxLength: 12 }), async (sequence) => {
        const rw = createRatewise({ fetch: () => Promise.resolve(new Response(null)), loopGuard: false });
        for (const url of sequence) {
          await rw.fetch(url);
          // Budgets are listed least recently used first: the last one is this request's.
          expect(rw.stats().at(-1)?.key).toBe(originOf(new URL(url)));
        }
        await rw.close();
      }),
    );
  });

  it('a host with and without its trailing dot is one budget: the same server, one bucket', async () => {
    const { rw, clock, server } = rig({ budgets: { 'api.example.com': { rate: '1/s', burst: 1 }, '*': {} } });
    const calls = ['https://api.example.com./a', 'https://api.example.com/b', 'https://api.example.com.:8443/c'].map(
      (url) => track(rw.fetch(url), clock),
    );
    await advance(clock, 1000);
    expect(calls.map((c) => c.state)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(server.calls.map((c) => [c.url, c.at - T0])).toEqual([
      ['https://api.example.com./a', 0],
      ['https://api.example.com.:8443/c', 0],
      ['https://api.example.com/b', 1000],
    ]);
    expect(rw.stats().map((s) => [s.key, s.pattern])).toEqual([
      ['https://api.example.com', 'api.example.com'],
      ['https://api.example.com:8443', 'api.example.com'],
    ]);
  });

  it('accepts real host names: underscores (container networks), IPv4, IPv6 with a port', async () => {
    expect(
      await patternOf({ my_service: { rate: '1/s' }, '10.0.0.1': {}, '[::1]:8080': {} }, [
        'http://my_service:8080/',
        'http://10.0.0.1/',
        'http://[::1]:8080/',
        'http://[::1]:9090/',
      ]),
    ).toEqual({
      'http://my_service:8080': 'my_service',
      'http://10.0.0.1': '10.0.0.1',
      'http://[::1]:8080': '[::1]:8080',
      'http://[::1]:9090': '*',
    });
  });

  it('schedule keys are matched the same way (a host, a host:port, or a URL)', async () => {
    const { rw } = rig({
      budgets: { 'jobs.internal': {}, 'queue.internal:9000': {}, '*.wild.test:8443': {}, '*': {} },
    });
    for (const key of ['JOBS.internal.', 'queue.internal:9000', 'queue.internal', 'https://x.wild.test:8443/path']) {
      await rw.schedule(() => 1, { key });
    }
    expect(rw.stats().map((s) => [s.key, s.pattern])).toEqual([
      ['JOBS.internal.', 'jobs.internal'],
      ['queue.internal:9000', 'queue.internal:9000'],
      ['queue.internal', '*'],
      ['https://x.wild.test:8443/path', '*.wild.test:8443'],
    ]);
  });

  it.each([
    ['https://x.test', 'a pattern is a host, without a scheme'],
    ['x.test/v1', 'a pattern is a host, without a path, query, user info or spaces'],
    ['user@x.test', 'a pattern is a host, without a path, query, user info or spaces'],
    ['x .test', 'a pattern is a host, without a path, query, user info or spaces'],
    ['a*.test', '`*` stands alone or begins a pattern as `*.`'],
    ['*.*.test', '`*` stands alone or begins a pattern as `*.`'],
    ['*x.test', '`*` stands alone or begins a pattern as `*.`'],
    ['*.10.0.0.1', 'a `*.` wildcard needs a domain name, not an IP address'],
    ['x.test:0', 'a port is a number from 1 to 65535'],
    ['x.test:65536', 'a port is a number from 1 to 65535'],
    ['x.test:http', 'a port is a number from 1 to 65535'],
    ['::1', 'an IPv6 address goes in brackets'],
    ['[::1', 'an IPv6 address ends with `]`'],
    ['', 'a pattern needs a host name'],
    [':8080', 'a pattern needs a host name'],
    ['a..test', 'a host name has no empty label'],
    ['x<y.test', 'not a valid host name'],
  ])('rejects %j, saying why', (pattern, why) => {
    const create = () => createRatewise({ budgets: { [pattern]: {} } });
    expect(create).toThrow(TypeError);
    expect(create).toThrow(
      `Expected \`budgets\` to be keyed by host patterns such as "api.github.com", "localhost:8080", "*.example.com" or "*", got \`${JSON.stringify(pattern)}\` (string): ${why}`,
    );
  });

  it('rejects two patterns that name the same host', () => {
    expect(() => createRatewise({ budgets: { 'Api.test': {}, 'api.test.': {} } })).toThrow(
      new TypeError('Expected each host once in `budgets`, got "Api.test" and "api.test.", which both mean "api.test"'),
    );
    expect(() => createRatewise({ budgets: { 'api.test': {}, 'api.test:443': {} } })).not.toThrow();
  });
});

describe('local rates', () => {
  async function sendTimes(rate: unknown, n: number, run: number, burst?: number): Promise<number[]> {
    const budget = burst === undefined ? { rate } : { rate, burst };
    const { rw, clock, server } = rig({ budgets: { '*': budget as never } });
    for (let i = 0; i < n; i++) void rw.fetch(`https://a.test/${i}`);
    await advance(clock, run);
    return server.sentAt.map((t) => t - T0);
  }

  it('"10/s" sends a burst of 10, then one every 100 ms', async () => {
    expect(await sendTimes('10/s', 13, 1000)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 200, 300]);
  });

  it('"5000/hour" with burst 1 spaces requests 720 ms apart', async () => {
    expect(await sendTimes('5000/hour', 3, 2000, 1)).toEqual([0, 720, 1440]);
  });

  it('"200 per day" with burst 1 spaces requests 432 s apart', async () => {
    expect(await sendTimes('200 per day', 3, 1_000_000, 1)).toEqual([0, 432_000, 864_000]);
  });

  it('{ limit, interval } is limit per interval ms', async () => {
    expect(await sendTimes({ limit: 2, interval: 500 }, 4, 1000)).toEqual([0, 0, 250, 500]);
  });

  it('enforces every rate of a list at once', async () => {
    // 2/s alone would send at 0, 0, 500, 1000, 1500; 3 per 10 s holds the fourth until its bucket refills.
    const times = await sendTimes(['2/s', '3/10s'], 5, 20_000);
    expect(times.slice(0, 3)).toEqual([0, 0, 500]);
    // At 500 the 3/10s bucket held 0.15 after the third take; one token more takes 0.85 / 0.0003 per ms = 2834 ms.
    expect(times[3]).toBe(500 + 2834);
    expect(times[4]).toBe(6667); // one token per 3333.3 ms from there
  });

  it('burst sets how many go at once after an idle period', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { rate: '1/s', burst: 3 } } });
    for (let i = 0; i < 5; i++) void rw.fetch('https://a.test/');
    await advance(clock, 2000);
    expect(server.sentAt.map((t) => t - T0)).toEqual([0, 0, 0, 1000, 2000]);
    await advance(clock, 10_000); // idle: the bucket refills to the burst, not beyond
    for (let i = 0; i < 4; i++) void rw.fetch('https://a.test/');
    await advance(clock, 1000);
    expect(server.sentAt.slice(5).map((t) => t - T0)).toEqual([12_000, 12_000, 12_000, 13_000]);
  });

  it('schedules one timer for the head of the queue, at the instant its token is due', async () => {
    const { rw, clock } = rig({ budgets: { '*': { rate: '4/s', burst: 1 } } });
    for (let i = 0; i < 50; i++) void rw.fetch('https://a.test/');
    await flush();
    expect(clock.pending()).toBe(1);
    expect(clock.scheduled).toEqual([250]);
    await advance(clock, 750);
    expect(clock.scheduled).toEqual([250, 250, 250, 250]);
  });

  it('a request costing n takes n tokens', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { rate: '10/s' } } });
    void rw.fetch('https://a.test/big', { ratewise: { cost: 8 } });
    void rw.fetch('https://a.test/mid', { ratewise: { cost: 3 } });
    void rw.fetch('https://a.test/free', { ratewise: { cost: 0 } });
    await advance(clock, 1000);
    // 10 - 8 = 2 tokens: the 3-token request waits 100 ms; the free one waits its turn behind it (FIFO).
    expect(server.calls.map((c) => [path(c.url), c.at - T0])).toEqual([
      ['/big', 0],
      ['/mid', 100],
      ['/free', 100],
    ]);
  });
});

describe('concurrency and the queue', () => {
  it('keeps at most `concurrency` requests in flight', async () => {
    const { rw, server } = rig({ budgets: { '*': { rate: '100/s', concurrency: 2 } } });
    for (let i = 0; i < 4; i++) await rw.fetch('https://a.test/warm-up'); // past the slow start
    server.script = () => 'hold';
    const calls = Array.from({ length: 5 }, (_, i) => track(rw.fetch(`https://a.test/${i}`)));
    await flush();
    expect(server.calls.slice(4).map((c) => path(c.url))).toEqual(['/0', '/1']);
    expect(rw.stats()[0]).toMatchObject({ inFlight: 2, queued: 3 });
    server.calls[5]!.respond(new Response('ok'));
    await flush();
    expect(server.calls.slice(4).map((c) => path(c.url))).toEqual(['/0', '/1', '/2']);
    expect(calls[1]!.state).toBe('fulfilled');
    for (let i = 0; i < 5; i++) {
      for (const c of server.held()) c.respond(new Response('ok'));
      await flush();
    }
    expect(calls.map((c) => c.state)).toEqual(Array(5).fill('fulfilled'));
    expect(rw.stats()[0]).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('fails a request beyond `maxQueue` with QueueFullError, at once', async () => {
    const { rw, server, eventsOf } = rig(
      { budgets: { '*': { rate: '100/s', concurrency: 1, maxQueue: 2 } } },
      () => 'hold',
    );
    const calls = Array.from({ length: 4 }, (_, i) => track(rw.fetch(`https://a.test/${i}?token=SECRET`)));
    await flush();
    expect(calls.map((c) => c.state)).toEqual(['pending', 'pending', 'pending', 'rejected']);
    const error = calls[3]!.error;
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toMatchObject({ key: 'https://a.test', maxQueue: 2, method: 'GET' });
    expect((error as Error).message).not.toContain('SECRET');
    expect(server.calls).toHaveLength(1);
    expect(eventsOf('queued').map((e) => new URL(e.url).pathname)).toEqual(['/1', '/2']); // not the refused one
  });

  it('sends higher priority first and keeps FIFO within a priority', async () => {
    const { rw, server } = rig({ budgets: { '*': { rate: '100/s', concurrency: 1 } } }, () => 'hold');
    void rw.fetch('https://a.test/first');
    for (const [name, priority] of [
      ['a', 0],
      ['b', 5],
      ['c', 0],
      ['d', 5],
      ['e', -1],
      ['f', 10],
    ] as const) {
      void rw.fetch(`https://a.test/${name}`, { ratewise: { priority } });
    }
    for (let i = 0; i < 7; i++) {
      await flush();
      for (const c of server.held()) c.respond(new Response('ok'));
    }
    expect(server.calls.map((c) => path(c.url))).toEqual(['/first', '/f', '/b', '/d', '/a', '/c', '/e']);
  });

  it('`schedule()` runs tasks under the same budgets and gives their results back', async () => {
    const { rw, clock } = rig({ budgets: { '*': { rate: '1/s', burst: 1 } } });
    const ran: number[] = [];
    const results = [1, 2, 3].map((n) =>
      track(
        rw.schedule(() => {
          ran.push(clock.now() - T0);
          return n * 10;
        }),
      ),
    );
    await advance(clock, 2000);
    expect(ran).toEqual([0, 1000, 2000]);
    expect(results.map((r) => r.value)).toEqual([10, 20, 30]);
  });

  it('`schedule()` frees the slot when a task throws, and rejects with its error', async () => {
    const { rw } = rig({ budgets: { '*': { concurrency: 1 } } });
    const boom = new Error('boom');
    await expect(
      rw.schedule(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    await expect(rw.schedule(() => Promise.resolve('next'))).resolves.toBe('next');
    expect(rw.stats()[0]).toMatchObject({ inFlight: 0, queued: 0 });
  });
});

describe('a long queue of tasks that end at once', () => {
  it('runs them all without deepening the stack, however long the queue', async () => {
    const rw = createRatewise({ budgets: { '*': { concurrency: 1 } } });
    let release!: () => void;
    const first = rw.schedule(() => new Promise<void>((resolve) => (release = resolve)));
    let ran = 0;
    // Queued behind the first task; each ends as soon as it runs, freeing the slot for the next.
    const rest = Array.from({ length: 50_000 }, () => rw.schedule(() => ++ran));
    release();
    const results = await Promise.all(rest);
    await first;
    expect(ran).toBe(50_000);
    expect(results.at(-1)).toBe(50_000);
    await rw.close();
  });
});

describe('routes: a bucket per route inside a budget', () => {
  /** `GET /slow` is refused for 30 s; every other path is answered. */
  const slowRoute = (call: { url: string }): Response => (path(call.url) === '/slow' ? tooMany(30) : ok());

  it("pauses only the refused route's bucket: another route goes at once (was: failed unsent)", async () => {
    const options = { retry: { maxRetryAfter: 10_000 } };
    const routed = rig({ ...options, budgets: { 'api.test': { routes: { 'GET /slow': 'slow' } } } }, slowRoute);
    const slow = track(routed.rw.fetch('https://api.test/slow'), routed.clock);
    await flush();
    expect(slow.state).toBe('rejected');
    expect(slow.error).toBeInstanceOf(RateLimitError);
    const other = track(routed.rw.fetch('https://api.test/things/2'), routed.clock);
    await flush();
    expect(other.state).toBe('fulfilled');
    expect(routed.server.calls.map((c) => path(c.url))).toEqual(['/slow', '/things/2']);
    expect(
      routed.rw
        .stats()
        .map((s) => [s.key, s.pattern])
        .sort(),
    ).toEqual([
      ['https://api.test slow', 'api.test'],
      ['https://api.test', 'api.test'],
    ]);

    // The same without routes: the slow route waits in a budget of its own, and another call of it fails without
    // being sent; the other route probes the host, accepted.
    const plain = rig(options, slowRoute);
    void track(plain.rw.fetch('https://api.test/slow'), plain.clock);
    await flush();
    const blocked = track(plain.rw.fetch('https://api.test/slow'), plain.clock);
    await flush();
    expect(blocked.state).toBe('rejected');
    // Its error says it was not sent, and whose answer held it.
    expect(blocked.error).toMatchObject({
      sent: false,
      pausedBy: { method: 'GET', url: 'https://api.test/slow', status: 429 },
    });
    expect((blocked.error as Error).message).toContain(
      'GET https://api.test/slow (not sent) was told by the answer 429 to GET https://api.test/slow to wait',
    );
    const probe = track(plain.rw.fetch('https://api.test/things/2'), plain.clock);
    await flush();
    expect(probe.state).toBe('fulfilled');
    expect(plain.server.calls.map((c) => path(c.url))).toEqual(['/slow', '/things/2']);
  });

  it("gives a route's bucket its budget's options, and its own pace from its own answers", async () => {
    // Each route has its own quota of 2 per 10 s; one host budget would mix their counts and hold both.
    const counts = new Map<string, number>();
    const opened = new Map<string, number>();
    let refused = 0;
    const { rw, clock, server } = rig(
      { budgets: { 'api.test': { routes: { '/a/**': 'a', '/b/**': 'b' }, concurrency: 1 } } },
      (call) => {
        const route = path(call.url).split('/')[1]!;
        const start = opened.get(route);
        if (start === undefined || call.at - start >= 10_000) {
          opened.set(route, call.at);
          counts.set(route, 0);
        }
        const used = counts.get(route)! + 1;
        counts.set(route, used);
        if (used > 2) refused++;
        return used <= 2 ? ok(quota(2, 2 - used, 10)) : tooMany(10);
      },
    );
    const calls = ['/a/1', '/a/2', '/a/3', '/b/1', '/b/2'].map((p) => track(rw.fetch(`https://api.test${p}`), clock));
    await flush();
    await advance(clock, 1);
    // concurrency 1 per bucket: each bucket sends its own requests one at a time, in parallel with the other.
    expect(calls.map((c) => c.state)).toEqual(['fulfilled', 'fulfilled', 'pending', 'fulfilled', 'fulfilled']);
    expect(counts).toEqual(
      new Map([
        ['a', 2],
        ['b', 2],
      ]),
    );
    // The third call to /a waits for its own route's reset, unrefused.
    await advance(clock, 11_000);
    expect(calls[2]!.state).toBe('fulfilled');
    expect(server.calls.filter((c) => path(c.url) === '/a/3')).toHaveLength(1);
    expect(refused).toBe(0);
  });
});

describe("routes: a route bucket's key", () => {
  it("takes its origin's options whichever call makes its budget first, a task included", async () => {
    const { rw } = rig({ budgets: { 'api.test': { routes: { '/s/**': 'search' }, concurrency: 3 } } });
    await rw.schedule(() => Promise.resolve(), { key: 'https://api.test search' });
    await rw.schedule(() => Promise.resolve(), { key: 'https://api.test other' });
    const stats = new Map(rw.stats().map((s) => [s.key, s.pattern]));
    expect(stats.get('https://api.test search')).toBe('api.test');
    // Not one of its routes' buckets: an ordinary key, matched as a host name would be.
    expect(stats.get('https://api.test other')).toBe('*');
  });
});

describe('routes: what holds the whole host', () => {
  it("a 503 on a route that matches no pattern pauses the routes' buckets too", async () => {
    const { rw, clock, server } = rig({ budgets: { 'api.test': { routes: { '/s/**': 'search' } } } }, (call) =>
      path(call.url) === '/down' && call.index === 1 ? status503() : ok(),
    );
    await rw.fetch('https://api.test/s/1');
    const down = track(rw.fetch('https://api.test/down'), clock);
    await flush();
    const search = track(rw.fetch('https://api.test/s/2'), clock);
    await flush();
    expect(search.state).toBe('pending');
    await advance(clock, 5_000);
    expect(search.state).toBe('fulfilled');
    expect(down.state).toBe('fulfilled');
    expect(server.calls.find((c) => path(c.url) === '/s/2')!.at - T0).toBe(5_000);
  });
});

function status503(): Response {
  return new Response('busy', { status: 503, headers: { 'retry-after': '5' } });
}
