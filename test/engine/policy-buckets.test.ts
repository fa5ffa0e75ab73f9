// Quotas named by the IETF fields' policy names (drafts 08 and later): routes that name other policies than the
// host's first get budgets of their own; routes that share a policy name share a budget, even when the server counts
// them apart (express-rate-limit names a policy by its limit and window). On the fake clock.
import { describe, expect, it } from 'vitest';
import { LearnedRoutes } from '../../src/engine/learned-routes.js';
import { advance, flush, ok, rig, status, T0, track, type FetchCall } from './support/harness.js';
import { ScriptedStore } from './support/scripted-store.js';

const path = (url: string): string => new URL(url).pathname;

interface Limiter {
  readonly name: string;
  readonly limit: number;
  readonly windowMs: number;
  /** Fake instant the limiter's first window opens (express-rate-limit's opens at its first request). */
  openedAt?: number;
  used: number;
}

/**
 * express-rate-limit (draft-8) mounted per route: each route prefix has its own fixed-window limiter, opened by its
 * first request, named `${limit}-in-${seconds}sec`; `also` lists limiters every route counts against too.
 */
function perRoute(routes: Record<string, Limiter>, also: Limiter[] = []) {
  const refusedAfter: string[] = [];
  const sent: string[] = [];
  /** Indexes in `sent` of the requests refused. */
  const refused: number[] = [];
  let firstAnswerAt = Infinity;
  const script = (call: FetchCall): Response => {
    const route = `/${path(call.url).split('/')[1]}`;
    sent.push(`${route}@${call.at - T0}`);
    const limiters = [routes[route]!, ...also];
    for (const l of limiters) {
      if (l.openedAt === undefined || call.at - l.openedAt >= l.windowMs) {
        l.openedAt = call.at;
        l.used = 0;
      }
      l.used++;
    }
    const admitted = limiters.every((l) => l.used <= l.limit);
    if (!admitted) refused.push(sent.length - 1);
    if (!admitted && call.at > firstAnswerAt) refusedAfter.push(`${route}@${call.at - T0}`);
    firstAnswerAt = Math.min(firstAnswerAt, call.at);
    const headers = {
      'ratelimit-policy': limiters.map((l) => `"${l.name}"; q=${l.limit}; w=${l.windowMs / 1000}`).join(', '),
      ratelimit: limiters
        .map((l) => {
          const reset = Math.ceil((l.openedAt! + l.windowMs - call.at) / 1000);
          return `"${l.name}"; r=${Math.max(0, l.limit - l.used)}; t=${reset}`;
        })
        .join(', '),
    };
    if (admitted) return ok(headers);
    const retry = Math.max(...limiters.map((l) => Math.ceil((l.openedAt! + l.windowMs - call.at) / 1000)));
    return status(429, { ...headers, 'retry-after': String(retry) });
  };
  return { script, refusedAfter, sent, refused };
}

const limiter = (limit: number, seconds: number, name = `${limit}-in-${seconds}sec`): Limiter => ({
  name,
  limit,
  windowMs: seconds * 1000,
  used: 0,
});

/**
 * 80 calls at once, one search call in four (20 search, 60 items, queued interleaved), to routes that count against
 * their own policy (5 per 2 s on /search, 50 on /items) and a host-wide one (30 per 2 s); run to the end.
 */
async function searchAndItems() {
  const host = limiter(30, 2, 'host');
  const server = perRoute({ '/search': limiter(5, 2), '/items': limiter(50, 2) }, [host]);
  const { rw, clock } = rig({}, server.script);
  const calls = Array.from({ length: 80 }, (_, i) =>
    track(rw.fetch(`https://api.test/${i % 4 === 0 ? 'search' : 'items'}/${i}`), clock),
  );
  await flush();
  await advance(clock, 60_000);
  return { rw, server, calls };
}

describe('LearnedRoutes.learnPolicies', () => {
  it('keeps the first group for the host, gives other groups their own bucket, and merges groups that share a name', () => {
    const routes = new LearnedRoutes();
    expect(routes.learnPolicies('GET /a', ['hour'])).toBeUndefined(); // the host's
    expect(routes.learnPolicies('GET /s', ['search-min'])).toBe('search-min');
    expect(routes.bucketOf('GET /s')).toBe('search-min');
    expect(routes.learnPolicies('GET /t', ['t1', 't2'])).toBe('t1');
    expect(routes.learnPolicies('GET /u', ['t2'])).toBe('t1'); // shares t2: one group
    // A route that lists a host policy beside search's: search's group is the host's from now on.
    expect(routes.learnPolicies('GET /x', ['search-min', 'hour'])).toBeUndefined();
    expect(routes.bucketOf('GET /s')).toBeUndefined();
    expect(routes.bucketOf('GET /t')).toBe('t1');
  });

  it('tells when an answer teaches a route nothing new: its names are all of its group already', () => {
    const routes = new LearnedRoutes();
    expect(routes.samePolicies('GET /a', ['hour'])).toBe(false); // not known
    routes.learnPolicies('GET /a', ['hour', 'minute']);
    routes.learnPolicies('GET /s', ['search']);
    expect(routes.samePolicies('GET /a', ['minute'])).toBe(true);
    expect(routes.samePolicies('GET /a', ['hour', 'day'])).toBe(false); // a new name
    expect(routes.samePolicies('GET /a', ['search'])).toBe(false); // another group's
    routes.learn('GET /d', 'discord-bucket');
    expect(routes.samePolicies('GET /d', ['hour'])).toBe(false); // known by a vendor's bucket
    // Search's group merges into the host's: the search route learns again, to store the group's name now.
    routes.learnPolicies('GET /x', ['search', 'hour']);
    expect(routes.samePolicies('GET /s', ['search'])).toBe(false);
    expect(routes.learnPolicies('GET /s', ['search'])).toBeUndefined();
    expect(routes.samePolicies('GET /s', ['search'])).toBe(true);
  });

  it('forgets policy groups with their routes past its bound, never splitting one', () => {
    const routes = new LearnedRoutes(2);
    routes.learnPolicies('GET /a', ['a']);
    routes.learnPolicies('GET /b', ['b', 'c']);
    routes.learnPolicies('GET /d', ['d', 'e', 'f', 'g', 'h', 'i']); // past 4 × 2 names: everything learnt from policies goes
    expect(routes.bucketOf('GET /a')).toBeUndefined();
    expect(routes.bucketOf('GET /b')).toBeUndefined();
    expect(routes.bucketOf('GET /d')).toBeUndefined(); // the first group after the reset: the host's
    expect(routes.learnPolicies('GET /b', ['b'])).toBe('b');
  });
});

describe('routes with policies of their own', () => {
  it('paces a loose route by its own quota while a strict one waits for its own (one host budget mixed them)', async () => {
    const server = perRoute({ '/search': limiter(10, 2), '/items': limiter(50, 2) });
    const { rw, clock } = rig({}, server.script);
    const calls: { route: string; outcome: ReturnType<typeof track> }[] = [];
    for (let i = 0; i < 100; i++) {
      calls.push({ route: '/search', outcome: track(rw.fetch(`https://api.test/search?q=${i}`), clock) });
      calls.push({ route: '/items', outcome: track(rw.fetch(`https://api.test/items/${i}`), clock) });
    }
    const done = (route: string): number =>
      calls.filter((c) => c.route === route && c.outcome.state === 'fulfilled').length;
    await advance(clock, 4_500);
    // The loose route's 100 calls: 50 per 2 s, so all by the start of the third window; the strict one's 10 per 2 s.
    expect(done('/items')).toBe(100);
    // Three windows of the strict route, each used whole (the loose route's calls in flight at first were given back
    // to the strict route's count once their answers named their own policy).
    expect(done('/search')).toBe(30);
    await advance(clock, 20_000);
    expect(calls.every((c) => c.outcome.state === 'fulfilled' && c.outcome.settledCount === 1)).toBe(true);
    expect(server.refusedAfter).toEqual([]);
    expect(new Set(rw.stats().map((s) => s.key))).toEqual(
      new Set([
        'https://api.test',
        `https://api.test ${server.sent[0]!.startsWith('/search') ? '50-in-2sec' : '10-in-2sec'}`,
      ]),
    );
  });

  it('shares one budget between routes that name the same policy while the server counts them apart: none refused', async () => {
    const server = perRoute({ '/a': limiter(10, 2), '/b': limiter(10, 2) });
    const { rw, clock } = rig({}, server.script);
    // /b's limiter opens half a window after /a's.
    await rw.fetch('https://api.test/a/0');
    await advance(clock, 1_000);
    const calls = Array.from({ length: 60 }, (_, i) =>
      track(rw.fetch(`https://api.test/${i % 2 === 0 ? 'a' : 'b'}/${i}`), clock),
    );
    await advance(clock, 30_000);
    expect(calls.every((c) => c.state === 'fulfilled' && c.settledCount === 1)).toBe(true);
    expect(server.refusedAfter).toEqual([]);
    expect(rw.stats().map((s) => s.key)).toEqual(['https://api.test']);
  });

  // The budget's own view is its latest answer's: after a window turns, answers of the loose route say nothing of the
  // strict route's own policy, and strict calls that went by it were refused (two). Each route goes by every policy
  // it counts against.
  it('keeps one budget when every route also counts against a host-wide policy: none refused', async () => {
    const { rw, server, calls } = await searchAndItems();
    expect(calls.every((c) => c.state === 'fulfilled' && c.settledCount === 1)).toBe(true);
    expect(server.refusedAfter).toEqual([]);
    // rw.stats() shows each policy and the routes that count against it.
    const policies = rw.stats()[0]!.policies!;
    expect(Object.keys(policies).sort()).toEqual(['5-in-2sec', '50-in-2sec', 'host'].sort());
    expect(policies['5-in-2sec']).toMatchObject({ inFlight: 0, routes: ['GET /search/:id'] });
    expect([...policies.host!.routes].sort()).toEqual(['GET /items/:id', 'GET /search/:id']);
  });
});

describe('calls of one budget held by their own route', () => {
  it("go around a call whose route's policy is spent: the host's quota is used whole in every window", async () => {
    const { server, calls } = await searchAndItems();
    expect(calls.every((c) => c.state === 'fulfilled' && c.settledCount === 1)).toBe(true);
    expect(server.refusedAfter).toEqual([]);
    // Per 2 s window the host admits 30, of which 5 search: the 60 items calls need not wait for the search calls
    // queued among them, and end in the third window (at 4 s). Held behind each spent search call, they went 20 a
    // window and ended with the search calls, at 8 s.
    const lastOf = (route: (i: number) => boolean): number =>
      Math.max(...calls.filter((_, i) => route(i)).map((c) => c.settledAt! - T0));
    expect(lastOf((i) => i % 4 !== 0)).toBeLessThan(5_000);
    // The search calls go 5 a window as before, no later for the items calls going around them.
    expect(lastOf((i) => i % 4 === 0)).toBeLessThanOrEqual(8_000);
  });

  it('let a call of another route with a short maxWait go, rather than fail it for the held call ahead', async () => {
    const host = limiter(30, 2, 'host');
    const server = perRoute({ '/search': limiter(5, 2), '/items': limiter(50, 2) }, [host]);
    const { rw, clock } = rig({}, server.script);
    // Both routes answered once: the budget knows which policies each counts against.
    const first = [
      track(rw.fetch('https://api.test/search/0'), clock),
      track(rw.fetch('https://api.test/items/0'), clock),
    ];
    await advance(clock, 10);
    expect(first.map((c) => c.state)).toEqual(['fulfilled', 'fulfilled']);
    // The search policy spent (5 per window): six search calls wait for its reset, about 2 s away.
    const search = Array.from({ length: 10 }, (_, i) => track(rw.fetch(`https://api.test/search/${i + 1}`), clock));
    await advance(clock, 10);
    expect(search.filter((c) => c.state === 'pending')).toHaveLength(6);
    const at = clock.now();
    const item = track(rw.fetch('https://api.test/items/1', { ratewise: { maxWait: 100 } }), clock);
    await advance(clock, 50);
    expect(item.state).toBe('fulfilled');
    expect(item.settledAt! - at).toBeLessThan(100);
    await advance(clock, 10_000);
    expect(search.every((c) => c.state === 'fulfilled' && c.settledCount === 1)).toBe(true);
    expect(server.refusedAfter).toEqual([]);
  });
});

describe('per-policy pacing through a store', () => {
  it('asks the store nothing for a call its route’s spent policy holds: no grant goes unused', async () => {
    const host = limiter(30, 2, 'host');
    const server = perRoute({ '/search': limiter(2, 2), '/items': limiter(50, 2) }, [host]);
    const store = new ScriptedStore(
      () => clock.now(),
      () => ({}),
    );
    const { rw, clock } = rig({ store }, server.script);
    // Both routes answered: the budget is split, and /search's own policy (2 per 2 s) is known.
    await rw.fetch('https://api.test/items/1');
    await rw.fetch('https://api.test/search/1');
    await rw.fetch('https://api.test/search/2');
    // The latest answer is the loose route's: the budget's own view says there is room.
    await rw.fetch('https://api.test/items/2');
    await flush();
    const asked = store.calls.filter((call) => call.request.want > 0).length;
    // A third search waits for its policy's reset: until then, no store call asks for units for it.
    const third = track(rw.fetch('https://api.test/search/3'), clock);
    await advance(clock, 1_000);
    expect(third.state).toBe('pending');
    expect(store.calls.filter((call) => call.request.want > 0).length).toBe(asked);
    await advance(clock, 2_000);
    expect(third.state).toBe('fulfilled');
    expect(server.refusedAfter).toEqual([]);
  });
});

describe("a refusal of a route whose policies are the host budget's", () => {
  it('pauses the host budget rather than moving the route to a lane of its own, where the host policy is unknown', async () => {
    const host = limiter(12, 2, 'host');
    const server = perRoute({ '/search': limiter(2, 2), '/items': limiter(50, 2) }, [host]);
    const { rw, clock } = rig({}, server.script);
    // The first calls go before any answer: more search calls than its policy allows (ratewise's own discovery).
    const calls = Array.from({ length: 36 }, (_, i) =>
      track(rw.fetch(`https://api.test/${i % 3 === 0 ? 'search' : 'items'}/${i}`), clock),
    );
    await flush();
    await advance(clock, 60_000);
    expect(calls.every((c) => c.state === 'fulfilled')).toBe(true);
    expect(server.refused.length).toBeGreaterThan(0);
    // Refused only before the first answer came; never again once the route's policies were known.
    expect(server.refusedAfter).toEqual([]);
    expect(rw.stats().map((s) => s.key)).toEqual(['https://api.test']);
  });
});

describe('hostile policy names', () => {
  it('new names on every answer: every call settles once, budgets stay within maxBudgets, groups stay bounded', async () => {
    let n = 0;
    const { rw, clock } = rig({ maxBudgets: 20, budgets: { '*': { maxRoutes: 5 } } }, () => {
      const names = Array.from({ length: 40 }, () => `p${n++}`);
      return ok({
        'ratelimit-policy': names.map((name) => `"${name}";q=100;w=1`).join(', '),
        ratelimit: names.map((name) => `"${name}";r=50;t=1`).join(', '),
      });
    });
    const calls = Array.from({ length: 200 }, (_, i) => track(rw.fetch(`https://h.test/r${i % 9}/x`), clock));
    await flush();
    await advance(clock, 5_000);
    expect(calls.every((c) => c.state === 'fulfilled' && c.settledCount === 1)).toBe(true);
    await rw.fetch('https://h.test/r0/x');
    expect(rw.stats().length).toBeLessThanOrEqual(20);
  });
});
