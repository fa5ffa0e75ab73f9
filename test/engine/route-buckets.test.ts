// Quotas a server names per route (GitHub's `x-ratelimit-resource`, Discord's `X-RateLimit-Bucket`), learnt from its
// answers: each route's calls go through their quota's own budget, paced and paused apart from the rest of the host;
// what holds the whole host (a 503, Discord's global limit) still does. On the fake clock.
import { describe, expect, it } from 'vitest';
import { LearnedRoutes } from '../../src/engine/learned-routes.js';
import { routeShape } from '../../src/engine/route-shape.js';
import type { StoreRoutes } from '../../src/store/types.js';
import { advance, flush, ok, rig, status, T0, tooMany, track, type FetchCall } from './support/harness.js';
import { ScriptedStore } from './support/scripted-store.js';

const path = (url: string): string => new URL(url).pathname;

describe('routeShape', () => {
  it.each([
    ['GET', '/repos/1234/issues', 'GET /repos/:id/issues'],
    ['GET', '/channels/81384788765712384/messages', 'GET /channels/:id/messages'],
    ['PUT', '/items/3f2504e0-4f89-11d3-9a0c-0305e82c3301', 'PUT /items/:id'],
    ['GET', '/commits/9fceb02d0ae598e95dc970b74767f19372d61af8', 'GET /commits/:id'],
    ['GET', '/search/code', 'GET /search/code'],
    ['GET', '/users/deadbeef', 'GET /users/deadbeef'], // hex letters without a digit: a name
    ['GET', '/', 'GET /'],
    ['GET', '', 'GET /'],
    ['GET', '//a//b/', 'GET /a/b'],
    ['GET', `/t/${'x'.repeat(65)}`, 'GET /t/:id'],
    ['GET', '/1/2/3/4/5/6/7/8/9/10/11/12/13/14', 'GET /:id/:id/:id/:id/:id/:id/:id/:id/:id/:id/:id/:id'],
  ])('%s %s → %s', (method, pathname, shape) => {
    expect(routeShape(method, pathname)).toBe(shape);
  });
});

describe('LearnedRoutes', () => {
  it('remembers the bucket of each route, says what is news, and forgets the least recently used past its bound', () => {
    const routes = new LearnedRoutes(2);
    expect(routes.learn('GET /a', 'x')).toBe(true);
    expect(routes.learn('GET /a', 'x')).toBe(false);
    expect(routes.learn('GET /b', 'y')).toBe(true);
    expect(routes.bucketOf('GET /a')).toBe('x'); // /a used: /b is now the least recent
    routes.learn('GET /c', 'z');
    expect(routes.size).toBe(2);
    expect(routes.bucketOf('GET /b')).toBeUndefined();
    expect(routes.bucketOf('GET /a')).toBe('x');
    expect(routes.learn('GET /a', 'w')).toBe(true); // the server moved the route to another quota
    expect(routes.bucketOf('GET /a')).toBe('w');
  });
});

/**
 * A GitHub-like host: `/search/**` counts against `search` (5 per 10 s), everything else against `core` (1,000 per
 * hour); each answer names its resource, with its limit, what remains and the reset (epoch seconds), as GitHub's do.
 */
function github() {
  const used = { search: 0, core: 0 };
  const opened = { search: T0, core: T0 };
  const refusedAfter: string[] = [];
  let firstAnswerAt = Infinity;
  const quota = { search: { limit: 5, windowMs: 10_000 }, core: { limit: 1_000, windowMs: 3_600_000 } };
  const script = (call: FetchCall): Response => {
    const resource = path(call.url).startsWith('/search/') ? 'search' : 'core';
    const { limit, windowMs } = quota[resource];
    if (call.at - opened[resource] >= windowMs) {
      opened[resource] = call.at;
      used[resource] = 0;
    }
    used[resource]++;
    const admitted = used[resource] <= limit;
    if (!admitted && call.at > firstAnswerAt) refusedAfter.push(path(call.url));
    firstAnswerAt = Math.min(firstAnswerAt, call.at);
    const headers = {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(Math.max(0, limit - used[resource])),
      'x-ratelimit-used': String(Math.min(limit, used[resource])),
      'x-ratelimit-reset': String(Math.ceil((opened[resource] + windowMs) / 1_000)),
      'x-ratelimit-resource': resource,
    };
    return admitted ? ok(headers) : status(429, { ...headers, 'retry-after': String(Math.ceil(windowMs / 1000)) });
  };
  return { script, refusedAfter };
}

describe('quotas named by the server', () => {
  it('lets 60 core calls through at once while 20 search calls wait for their own quota (was: none within 15 s)', async () => {
    const server = github();
    const { rw, clock } = rig({ retry: { maxRetryAfter: 60_000, rateLimitLimit: 10 } }, server.script);
    const search = Array.from({ length: 20 }, (_, i) =>
      track(rw.fetch(`https://api.github.test/search/code?q=${i}`), clock),
    );
    const core = Array.from({ length: 60 }, (_, i) => track(rw.fetch(`https://api.github.test/repos/${i}`), clock));
    await flush();
    await advance(clock, 100);
    expect(core.map((c) => c.state)).toEqual(Array(60).fill('fulfilled'));
    expect(search.filter((c) => c.state === 'fulfilled').length).toBeLessThanOrEqual(5);
    // The search quota paces its own calls: 5 per 10 s, and none refused once its first answers were in.
    await advance(clock, 40_000);
    expect(search.map((c) => c.state)).toEqual(Array(20).fill('fulfilled'));
    expect(server.refusedAfter).toEqual([]);
    expect(
      rw
        .stats()
        .map((s) => s.key)
        .sort(),
    ).toEqual(['https://api.github.test', 'https://api.github.test core', 'https://api.github.test search']);
    // A call moved to its route's bucket while waiting counts as one wait, not one in each budget.
    const waited = rw.stats().reduce((sum, s) => sum + s.counters.waited, 0);
    expect(waited).toBeLessThanOrEqual(80);
  });

  it('sends a new call of a learnt route straight to its quota, which its earlier answers paced', async () => {
    const server = github();
    const { rw, clock } = rig({}, server.script);
    for (let i = 0; i < 5; i++) await rw.fetch(`https://api.github.test/search/code?q=${i}`);
    // The search quota is spent: a sixth search waits for its reset; a core call does not.
    const sixth = track(rw.fetch('https://api.github.test/search/code?q=6'), clock);
    const core = track(rw.fetch('https://api.github.test/repos/1'), clock);
    await flush();
    expect(core.state).toBe('fulfilled');
    expect(sixth.state).toBe('pending');
    await advance(clock, 11_000);
    expect(sixth.state).toBe('fulfilled');
    expect(server.refusedAfter).toEqual([]);
  });
});

describe('what holds the whole host', () => {
  /** Discord-like: each route names its bucket; `/global` answers a global 429 for 5 s. */
  function discord(calls: string[]) {
    return (call: FetchCall): Response => {
      const route = path(call.url);
      calls.push(`${route}@${call.at - T0}`);
      const bucket = { 'x-ratelimit-bucket': route.split('/')[1]!, 'x-ratelimit-limit': '50' };
      if (route === '/global/1' && calls.filter((c) => c.startsWith('/global/1@')).length === 1) {
        return tooMany(5, { ...bucket, 'x-ratelimit-global': 'true', 'x-ratelimit-scope': 'global' });
      }
      if (route === '/down/1' && calls.filter((c) => c.startsWith('/down/1@')).length === 1) {
        return status(503, { ...bucket, 'retry-after': '5' });
      }
      return ok({ ...bucket, 'x-ratelimit-remaining': '40', 'x-ratelimit-reset-after': '60' });
    };
  }

  it.each(['/global/1', '/down/1'])('pauses every route of the host after %s', async (trigger) => {
    const calls: string[] = [];
    const { rw, clock } = rig({}, discord(calls));
    // Teach two routes their buckets.
    await rw.fetch('https://chat.test/a/1');
    await rw.fetch('https://chat.test/b/1');
    await rw.fetch(`https://chat.test${trigger}`.replace('/1', '/0'));
    const refused = track(rw.fetch(`https://chat.test${trigger}`), clock);
    await flush();
    // While the host is paused, the other routes wait too, then go when it ends.
    const other = track(rw.fetch('https://chat.test/a/2'), clock);
    await flush();
    expect(other.state).toBe('pending');
    await advance(clock, 5_000);
    expect(other.state).toBe('fulfilled');
    expect(refused.state).toBe('fulfilled');
    expect(calls.find((c) => c.startsWith('/a/2@'))).toBe('/a/2@5000');
  });
});

describe('budgets[p].maxRoutes', () => {
  it('0 learns no route: one budget for the whole host, as before', async () => {
    const server = github();
    const { rw } = rig({ budgets: { '*': { maxRoutes: 0 } } }, server.script);
    await rw.fetch('https://api.github.test/search/code?q=1');
    await rw.fetch('https://api.github.test/repos/1');
    expect(rw.stats().map((s) => s.key)).toEqual(['https://api.github.test']);
  });

  it('forgets the least recently used route past it: its calls go through the host until named again', async () => {
    const server = github();
    const { rw } = rig({ budgets: { '*': { maxRoutes: 1 } } }, server.script);
    await rw.fetch('https://api.github.test/search/code?q=1'); // learnt: search
    await rw.fetch('https://api.github.test/repos/1'); // learnt: core; search forgotten
    await rw.fetch('https://api.github.test/search/code?q=2'); // through the host again, then learnt
    const sent = new Map(rw.stats().map((s) => [s.key, s.counters.sent]));
    expect(sent).toEqual(
      new Map([
        ['https://api.github.test', 3],
        ['https://api.github.test search', 0],
        ['https://api.github.test core', 0],
      ]),
    );
  });

  it.each([-1, 1.5, Number.NaN, 'many'])('refuses %s with a TypeError', (maxRoutes) => {
    expect(() => rig({ budgets: { '*': { maxRoutes: maxRoutes as number } } })).toThrow(TypeError);
  });
});

describe('hostile bucket names', () => {
  it('a new name on every answer: every call settles once, and budgets stay within maxBudgets', async () => {
    let n = 0;
    const { rw, clock } = rig({ maxBudgets: 20 }, () =>
      ok({ 'x-ratelimit-bucket': `b${n++} with spaces`, 'x-ratelimit-remaining': '5', 'x-ratelimit-reset-after': '1' }),
    );
    const calls = Array.from({ length: 200 }, (_, i) => track(rw.fetch(`https://h.test/r/${i % 7}/x`), clock));
    await flush();
    await advance(clock, 5_000);
    expect(calls.every((c) => c.state === 'fulfilled' && c.settledCount === 1)).toBe(true);
    // Budgets busy when made are kept; once idle, the next budget made evicts them down to the bound.
    await rw.fetch('https://h.test/r/0/x');
    expect(rw.stats().length).toBeLessThanOrEqual(20);
  });

  it('ignores an empty name and one longer than 200 characters', async () => {
    const names = ['', 'x'.repeat(201)];
    let n = 0;
    const { rw } = rig({}, () => ok({ 'x-ratelimit-bucket': names[n++ % 2]!, 'x-ratelimit-remaining': '5' }));
    await rw.fetch('https://h.test/a');
    await rw.fetch('https://h.test/b');
    expect(rw.stats().map((s) => s.key)).toEqual(['https://h.test']);
  });
});

describe('routes learnt by other clients of a store', () => {
  it('agrees on the budgets of IETF policy groups: the host group, the names of a group, each route', () => {
    const a = new LearnedRoutes();
    expect(a.learnPolicies('GET /a', ['host'])).toBeUndefined();
    expect(a.learnPolicies('GET /s', ['s-min', 's-day'])).toBe('s-min');
    const shared = a.sharedOf('GET /s');
    expect(shared).toEqual({ host: 'host', groups: [['s-day', 's-min']], routes: [['GET /s', '=s-min']] });
    const b = new LearnedRoutes();
    b.adopt(shared);
    expect(b.bucketOf('GET /s')).toBe('s-min');
    // B's own answers then name a policy of that group on another route, and the host's on a third: the same budgets.
    expect(b.learnPolicies('GET /s2', ['s-day'])).toBe('s-min');
    expect(b.learnPolicies('GET /x', ['host'])).toBeUndefined();
    // A group link that would loop is left out: lookups end.
    const c = new LearnedRoutes();
    c.adopt({
      groups: [
        ['p', 'q'],
        ['q', 'p'],
      ],
      routes: [['GET /t', '=p']],
    });
    expect(c.bucketOf('GET /t')).toBe('q');
    // (The first group this client names itself is its host's.)
    expect(c.learnPolicies('GET /u', ['q', 'p'])).toBeUndefined();
  });

  /** A store that grants every call at once and keeps learned routes in memory, as the Redis store does. */
  function sharedStore() {
    const store = new ScriptedStore(
      () => T0,
      () => ({}),
    );
    const kept = { host: undefined as string | undefined, groups: new Map<string, string>(), routes: new Map() };
    const told: StoreRoutes[] = [];
    const routes = (_key: string, learned: StoreRoutes): Promise<StoreRoutes> => {
      told.push(learned);
      kept.host ??= learned.host;
      for (const [name, group] of learned.groups) if (!kept.groups.has(name)) kept.groups.set(name, group);
      for (const [route, bucket] of learned.routes) kept.routes.set(route, bucket);
      return Promise.resolve({ host: kept.host, groups: [...kept.groups], routes: [...kept.routes] });
    };
    return { store: Object.assign(store, { routes }), told };
  }

  it('sends a route another client learnt straight to its quota’s budget', async () => {
    const { store, told } = sharedStore();
    const a = rig({ store }, github().script);
    await a.rw.fetch('https://api.github.test/search/code?q=1');
    expect(told.at(-1)).toEqual({ host: undefined, groups: [], routes: [['GET /search/code', 'search']] });
    // Another client: its first call meets the origin and learns what the first one learnt.
    const b = rig({ store }, github().script);
    await b.rw.fetch('https://api.github.test/repos/1');
    await flush();
    await b.rw.fetch('https://api.github.test/search/code?q=2');
    const sent = Object.fromEntries(b.rw.stats().map((s) => [s.key, s.counters.sent]));
    // The search call went through the search budget alone; the origin's budget sent only the first call.
    expect(sent).toEqual({
      'https://api.github.test': 1,
      'https://api.github.test core': 0,
      'https://api.github.test search': 1,
    });
  });

  it("tells the store the quota the answer that taught a route named, for that quota's budget", async () => {
    const { store } = sharedStore();
    const { rw } = rig({ store }, github().script);
    await rw.fetch('https://api.github.test/search/code?q=1');
    await flush();
    const views = store.calls.filter((call) => call.key === 'https://api.github.test search' && call.request.view);
    expect(views[0]?.request.view).toMatchObject({ remaining: 4 });
  });

  it('keeps to its own learning, and ignores what a hostile store returns', async () => {
    const { store } = sharedStore();
    const replies: unknown[] = [
      'nonsense',
      { groups: 'x', routes: [] },
      {
        groups: [['a', 'b'], ['b', 'a'], 7, ['c']],
        routes: [null, ['GET /search/code', 'elsewhere'], ['x'.repeat(600), 'y']],
      },
    ];
    const hostile = Object.assign(store, {
      routes: () => {
        const reply = replies.shift();
        if (reply === undefined) throw new Error('sync failure');
        return Promise.resolve(reply);
      },
    });
    const { rw, clock } = rig({ store: hostile }, github().script);
    for (let i = 0; i < 5; i++) {
      const call = track(rw.fetch(`https://api.github.test/search/code?q=${i}`), clock);
      await advance(clock, 10);
      expect(call.state).toBe('fulfilled');
    }
    // Its own answers named the route's quota: the store's "elsewhere" does not overrule them.
    expect(rw.stats().map((s) => s.key)).toContain('https://api.github.test search');
    expect(rw.stats().map((s) => s.key)).not.toContain('https://api.github.test elsewhere');
  });
});
