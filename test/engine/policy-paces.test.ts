// One budget's view of each IETF policy its routes name: which routes count against which policies, and when a
// request of a known route may go (every policy of its route allows it). Pure: `now` is passed in.
import { describe, expect, it } from 'vitest';
import type { RateLimitInfo, RateLimitPolicy } from '../../src/headers/types.js';
import {
  MAX_POLICY_PACES,
  policyCounts,
  policyReadyAt,
  PolicyPaces,
  type PolicyCount,
} from '../../src/engine/policy-paces.js';
import { observe } from '../../src/engine/server-pace.js';

const NOW = 1_700_000_000_000;
const RESET = NOW + 2_000;
const SEARCH = 'GET /search';
const ITEMS = 'GET /items';

const count = (name: string, remaining: number, resetAt = RESET, limit?: number): PolicyCount => ({
  name,
  remaining,
  resetAt,
  limit,
});

const info = (...policies: RateLimitPolicy[]): RateLimitInfo => ({ isRateLimited: false, policies });

/** A budget's policies after one answer of each route: search counts against `search` and `host`, items against `items` and `host`. */
function twoRoutes(): PolicyPaces {
  const paces = new PolicyPaces({ reserve: 0, spread: false }, 100);
  paces.observe(1, SEARCH, [count('search', 4), count('host', 20)], 0, false, NOW);
  paces.observe(2, ITEMS, [count('items', 40), count('host', 19)], 0, false, NOW);
  return paces;
}

describe('policyCounts', () => {
  it('reads the named IETF policies of requests that carry a count and a reset, each name once', () => {
    const counts = policyCounts(
      info(
        { source: 'ietf', name: 'a', unit: 'requests', remaining: 3, resetAt: RESET, limit: 5 },
        { source: 'ietf-beta', name: 'b', unit: 'requests', remaining: 7, resetAt: RESET },
        { source: 'ietf', name: 'a', unit: 'requests', remaining: 1, resetAt: RESET },
        { source: 'ietf', name: 'tokens', unit: 'tokens', remaining: 100, resetAt: RESET },
        { source: 'ietf', name: 'no-count', unit: 'requests', limit: 5 },
        { source: 'ietf', unit: 'requests', remaining: 3, resetAt: RESET },
        { source: 'x-ratelimit', name: 'core', unit: 'requests', remaining: 3, resetAt: RESET },
      ),
    );
    expect(counts).toEqual([count('a', 3, RESET, 5), count('b', 7)]);
  });
});

describe('policyReadyAt', () => {
  const pace = observe(
    undefined,
    { remaining: 1, resetAt: RESET, limit: 5, inFlight: 0, reserve: 0, spread: false },
    NOW,
  );

  it('goes by the pace while its window lasts', () => {
    expect(policyReadyAt(pace, 3, 1, NOW)).toBe(NOW);
    expect(policyReadyAt(pace, 0, 2, NOW)).toBe(RESET);
  });

  it('lets one request ask once the window has turned (or nothing was heard), and holds the rest for its answer', () => {
    expect(policyReadyAt(pace, 0, 1, RESET)).toBe(RESET);
    expect(policyReadyAt(pace, 1, 1, RESET)).toBe(Infinity);
    expect(policyReadyAt(undefined, 0, 1, NOW)).toBe(NOW);
    expect(policyReadyAt(undefined, 2, 1, NOW)).toBe(Infinity);
  });
});

describe('PolicyPaces', () => {
  it('splits once a second route names other policies; routes naming the same ones keep the budget whole', () => {
    const paces = new PolicyPaces({ reserve: 0, spread: false }, 100);
    paces.observe(1, SEARCH, [count('minute', 4), count('day', 200)], 0, false, NOW);
    paces.observe(2, ITEMS, [count('day', 199), count('minute', 3)], 0, false, NOW);
    expect(paces.split).toBe(false);
    expect(paces.policiesOf(SEARCH)).toBeUndefined();
    paces.observe(3, 'GET /other', [count('other', 9)], 0, false, NOW);
    expect(paces.split).toBe(true);
    expect(paces.policiesOf(SEARCH)).toEqual(['minute', 'day']);
  });

  it('lets a request go when every policy of its route allows it: the tightest decides', () => {
    const paces = twoRoutes();
    const search = paces.policiesOf(SEARCH)!;
    const items = paces.policiesOf(ITEMS)!;
    for (let seq = 3; seq < 7; seq++) {
      expect(paces.readyAt(search, 1, seq - 3, NOW)).toBe(NOW);
      paces.take(SEARCH, seq, 1, NOW);
    }
    // The search policy is spent; the host's is not, and the items go on.
    expect(paces.readyAt(search, 1, 4, NOW)).toBe(RESET);
    expect(paces.readyAt(items, 1, 4, NOW)).toBe(NOW);
    // The items spend the host policy: 19 less the 4 searches.
    for (let seq = 7; seq < 22; seq++) paces.take(ITEMS, seq, 1, NOW);
    expect(paces.readyAt(items, 1, 19, NOW)).toBe(RESET);
  });

  it('counts in flight against a policy only the requests that may count against it', () => {
    const paces = twoRoutes();
    // Ten items in flight, then a search answer: the search policy's count is not lowered by them.
    for (let seq = 3; seq < 13; seq++) paces.take(ITEMS, seq, 1, NOW);
    paces.take(SEARCH, 13, 1, NOW);
    paces.observe(13, SEARCH, [count('search', 3), count('host', 15)], 10, false, NOW + 10);
    expect(paces.readyAt(['search'], 3, 10, NOW + 10)).toBe(NOW + 10);
    expect(paces.readyAt(['search'], 4, 10, NOW + 10)).toBe(RESET);
    // The host's count is: the ten items may not have been counted yet (15 less 10).
    expect(paces.readyAt(['host'], 5, 10, NOW + 10)).toBe(NOW + 10);
    expect(paces.readyAt(paces.policiesOf(ITEMS)!, 6, 10, NOW + 10)).toBe(RESET);
  });

  it('charges a request of a route not yet answered to every policy', () => {
    const paces = twoRoutes();
    for (let seq = 3; seq < 7; seq++) paces.take('GET /new', seq, 1, NOW);
    expect(paces.readyAt(paces.policiesOf(SEARCH)!, 1, 4, NOW)).toBe(RESET);
    // Its answer names its policies: the route is known from then on, and only they count it in flight.
    paces.observe(3, 'GET /new', [count('items', 36), count('host', 16)], 3, false, NOW);
    expect(paces.policiesOf('GET /new')).toEqual(['items', 'host']);
  });

  it('holds a route whose policy window turned until one request of it is answered', () => {
    const paces = twoRoutes();
    const search = paces.policiesOf(SEARCH)!;
    expect(paces.readyAt(search, 1, 0, RESET)).toBe(RESET);
    paces.take(SEARCH, 3, 1, RESET);
    expect(paces.readyAt(search, 1, 1, RESET)).toBe(Infinity);
    paces.observe(3, SEARCH, [count('search', 4, RESET + 2_000), count('host', 19, RESET + 2_000)], 0, false, RESET);
    expect(paces.readyAt(search, 1, 0, RESET)).toBe(RESET);
  });

  it('takes what a refusal says of the policies but does not learn the route from it (limiters after it were not asked)', () => {
    const paces = twoRoutes();
    paces.take(SEARCH, 3, 1, NOW);
    paces.observe(3, SEARCH, [count('search', 0)], 0, true, NOW);
    expect(paces.policiesOf(SEARCH)).toEqual(['search', 'host']);
    expect(paces.readyAt(paces.policiesOf(SEARCH)!, 1, 0, NOW)).toBe(RESET);
  });

  it('forgets every charge once the budget has nothing in flight (a request that ended unheard)', () => {
    const paces = twoRoutes();
    const search = paces.policiesOf(SEARCH)!;
    paces.take(SEARCH, 3, 1, NOW);
    expect(paces.readyAt(search, 1, 1, RESET)).toBe(Infinity);
    paces.idle();
    expect(paces.readyAt(search, 1, 0, RESET)).toBe(RESET);
  });

  it('stays bounded: policies past MAX_POLICY_PACES and routes past maxRoutes, the least recently answered first', () => {
    const paces = new PolicyPaces({ reserve: 0, spread: false }, 3);
    for (let i = 0; i < 100; i++) {
      paces.observe(i + 1, `GET /r${i}`, [count(`p${i}`, 5), count(`q${i}`, 5)], 0, false, NOW);
    }
    expect(paces.policiesOf('GET /r0')).toBeUndefined();
    expect(paces.policiesOf('GET /r99')).toEqual(['p99', 'q99']);
    // A policy forgotten says nothing: one request asks.
    expect(paces.readyAt(['p0'], 1, 0, NOW)).toBe(NOW);
    expect(paces.readyAt(['p0'], 1, 1, NOW)).toBe(Infinity);
    expect(MAX_POLICY_PACES).toBeLessThan(200);
    expect(paces.free(NOW)).toBe(true);
  });
});
