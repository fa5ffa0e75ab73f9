// Several budget patterns that all match loopback hosts, a per-request key, keyFn and `routes`, against real servers on
// 127.0.0.1: the documented precedence (exact host with its port, then the host, then `*`; the key decides; the first
// route pattern that matches wins) holds for calls made through rw.fetch and through global fetch alike.
import { describe, expect, test } from 'vitest';
import { installRatewise } from '../../src/adapters/undici.js';
import type { Ratewise } from '../../src/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { startScriptedServer, type TestServer } from '../support/servers.js';
import { closeAfterEach } from '../support/close-after-each.js';

const { open, uninstalls, client } = closeAfterEach();

async function serve(): Promise<TestServer> {
  const server = await startScriptedServer(({ method, url }) => ({ body: `${method} ${url}` }));
  open.push(server);
  return server;
}

const patterns = (rw: Ratewise): Record<string, string> =>
  Object.fromEntries(rw.stats().map((budget) => [budget.key, budget.pattern]));

describe.each([
  ['rw.fetch', (rw: Ratewise) => rw.fetch],
  [
    'global fetch with installRatewise',
    (rw: Ratewise) => {
      uninstalls.push(installRatewise(rw));
      return globalThis.fetch;
    },
  ],
])('through %s', (_name, entry) => {
  test('host with port, then host, then *; a key of its own takes its own pattern', async () => {
    const a = await serve();
    const b = await serve();
    const rw = client({
      budgets: {
        [`127.0.0.1:${a.port}`]: { concurrency: 1 },
        '127.0.0.1': { concurrency: 2 },
        [`*.test`]: { concurrency: 3 },
        'tenant-a': { concurrency: 4 },
        '*': { concurrency: 5 },
      },
      keyFn: ({ headers }) => headers.get('x-tenant') ?? undefined,
    });
    const fetcher = entry(rw);
    const texts = await Promise.all(
      [
        fetcher(`${a.url}/one`),
        fetcher(`${b.url}/two`),
        fetcher(`${a.url}/three`, { headers: { 'x-tenant': 'tenant-a' } }),
        fetcher(`${a.url}/four`, { headers: { 'x-tenant': 'tenant-b' } }),
      ].map(async (reply) => (await reply).text()),
    );
    expect(texts).toEqual(['GET /one', 'GET /two', 'GET /three', 'GET /four']);
    expect(patterns(rw)).toEqual({
      [a.url]: `127.0.0.1:${a.port}`,
      [b.url]: '127.0.0.1',
      'tenant-a': 'tenant-a',
      'tenant-b': '*',
    });
  });

  test('routes: the first pattern that matches wins; a call that matches none stays in the host’s budget', async () => {
    const a = await serve();
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const rw = client({
      clock,
      budgets: {
        '127.0.0.1': {
          routes: { 'GET /search/**': 'search', '/search/special': 'special', 'POST /items/*': 'writes' },
        },
      },
    });
    const fetcher = entry(rw);
    const calls: [string, RequestInit][] = [
      ['/search/special', {}],
      ['/search/special', { method: 'POST', body: 'x' }],
      ['/items/7', { method: 'POST', body: 'x' }],
      ['/items/7', {}],
    ];
    for (const [path, init] of calls) await (await fetcher(`${a.url}${path}`, init)).text();
    const sent = Object.fromEntries(rw.stats().map((budget) => [budget.key, budget.counters.sent]));
    expect(sent).toEqual({
      [`${a.url} search`]: 1,
      [`${a.url} special`]: 1,
      [`${a.url} writes`]: 1,
      [a.url]: 1,
    });
    expect(new Set(rw.stats().map((budget) => budget.pattern))).toEqual(new Set(['127.0.0.1']));
  });
});

test('rw.fetch: a per-request key bypasses routes and keyFn, and its pattern applies', async () => {
  const a = await serve();
  const rw = client({
    budgets: { '127.0.0.1': { routes: { '/search/**': 'search' } }, 'jobs.internal': { concurrency: 1 } },
    keyFn: () => 'from-keyFn',
  });
  await (await rw.fetch(`${a.url}/search/x`, { ratewise: { key: 'jobs.internal' } })).text();
  await (await rw.fetch(`${a.url}/search/x`)).text();
  expect(patterns(rw)).toEqual({ 'jobs.internal': 'jobs.internal', 'from-keyFn': '*' });
});
