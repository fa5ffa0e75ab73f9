// Routes that count apart on one host, against real servers on 127.0.0.1: express-rate-limit mounted per route (the
// routes named in `routes`), and a server that answers as GitHub documents (`x-ratelimit-resource` names the quota,
// learnt by ratewise). The strict route's extra calls wait for its quota (here they give up at once: its wait is
// beyond `maxRetryAfter`), and the loose route's calls go through meanwhile, none refused.
import { afterEach, describe, expect, it } from 'vitest';
import { createRatewise, isRatewiseError, type Ratewise } from '../../src/index.js';
import { startExpressRoutesServer, startScriptedServer, type TestServer } from '../support/servers.js';

let server: TestServer | undefined;
let rw: Ratewise | undefined;

afterEach(async () => {
  await rw?.close();
  await server?.close();
  rw = undefined;
  server = undefined;
});

/** Each call's outcome: the status it ended with, or the code of the ratewise error that ended it. */
async function outcomes(calls: readonly Promise<Response>[]): Promise<(number | string)[]> {
  const settled = await Promise.allSettled(calls);
  return settled.map((s) => {
    if (s.status === 'fulfilled') return s.value.status;
    return isRatewiseError(s.reason) ? s.reason.code : String(s.reason);
  });
}

const count = (values: readonly (number | string)[], value: number | string): number =>
  values.filter((v) => v === value).length;

describe('express-rate-limit mounted per route: 3 per minute on /search, 100 per minute on /items', () => {
  async function run(routes: Record<string, string> | undefined) {
    server = await startExpressRoutesServer({
      '/search': { limit: 3, windowMs: 60_000, standardHeaders: 'draft-8', legacyHeaders: false },
      '/items': { limit: 100, windowMs: 60_000, standardHeaders: 'draft-8', legacyHeaders: false },
    });
    rw = createRatewise({
      retry: { maxRetryAfter: 1_000 },
      ...(routes && { budgets: { '*': { routes } } }),
    });
    const search = await outcomes(Array.from({ length: 6 }, (_, i) => rw!.fetch(`${server!.url}/search?q=${i}`)));
    // The items go once the search route has been refused: without routes, they would wait for its minute.
    const items = await outcomes(Array.from({ length: 20 }, (_, i) => rw!.fetch(`${server!.url}/items/${i}`)));
    return { search, items };
  }

  it('with `routes`, the items all go through while the search route waits out its minute', async () => {
    const { search, items } = await run({ '/search/**': 'search', '/items/**': 'items' });
    expect(count(search, 200)).toBe(3);
    expect(count(search, 'ERR_RATEWISE_RATE_LIMITED')).toBe(3);
    expect(items).toEqual(Array(20).fill(200));
    const refusedItems = server!.requests().filter((r) => r.url.startsWith('/items') && r.status === 429);
    expect(refusedItems).toEqual([]);
  });

  it("without, the host's budget stands for the policy named first (the search route's): its spent quota holds the items", async () => {
    const { items } = await run(undefined);
    expect(items).toEqual(Array(20).fill('ERR_RATEWISE_RATE_LIMITED'));
    expect(server!.requests().filter((r) => r.url.startsWith('/items'))).toEqual([]);
  });
});

describe('a server that answers as GitHub documents: x-ratelimit-resource names the quota', () => {
  it('learns the search quota from its answers: core calls all go through while search waits', async () => {
    const quotas = { search: { limit: 3, used: 0 }, core: { limit: 5_000, used: 0 } };
    const reset = Math.ceil(Date.now() / 1000) + 60;
    server = await startScriptedServer(({ url }) => {
      const resource = url.startsWith('/search/') ? 'search' : 'core';
      const quota = quotas[resource];
      quota.used++;
      const headers = {
        'x-ratelimit-limit': quota.limit,
        'x-ratelimit-remaining': Math.max(0, quota.limit - quota.used),
        'x-ratelimit-used': Math.min(quota.limit, quota.used),
        'x-ratelimit-reset': reset,
        'x-ratelimit-resource': resource,
      };
      // GitHub answers a spent primary limit with 403 or 429, remaining 0 and the reset.
      return quota.used <= quota.limit
        ? { headers, json: { ok: true } }
        : { status: 403, headers, json: { message: 'API rate limit exceeded' } };
    });
    rw = createRatewise({ retry: { maxRetryAfter: 1_000 } });
    const search = Array.from({ length: 6 }, (_, i) => rw!.fetch(`${server!.url}/search/code?q=${i}`));
    const searchOutcomes = await outcomes(search);
    const core = Array.from({ length: 30 }, (_, i) => rw!.fetch(`${server!.url}/repos/octo/${i}`));
    const coreOutcomes = await outcomes(core);

    expect(count(searchOutcomes, 200)).toBe(3);
    expect(coreOutcomes).toEqual(Array(30).fill(200));
    expect(quotas.core.used).toBe(30);
    expect(
      rw
        .stats()
        .map((s) => s.key)
        .sort(),
    ).toEqual([server.url, `${server.url} core`, `${server.url} search`]);
  });
});

describe('express-rate-limit per route (4 per second on /search, 40 on /items) and one for the whole host (18 per second)', () => {
  it('keeps one budget and paces each route by every policy it counts against: none refused', async () => {
    // Mounted in this order: a request passes its route's limiter, then the host's; each adds its policy to the
    // answer (`4-in-1sec` or `40-in-1sec`, and `18-in-1sec`), so the routes' policies merge into the host's group.
    server = await startExpressRoutesServer({
      '/search': { limit: 4, windowMs: 1_000, standardHeaders: 'draft-8', legacyHeaders: false },
      '/items': { limit: 40, windowMs: 1_000, standardHeaders: 'draft-8', legacyHeaders: false },
      '/': { limit: 18, windowMs: 1_000, standardHeaders: 'draft-8', legacyHeaders: false },
    });
    rw = createRatewise({ budgets: { '*': { initialWindow: 10 } } });
    // A search call in three: the first ten calls, sent before any answer, stay within every limit. The search
    // route's 16 calls take four windows; after the first, answers of the items say nothing of the search policy.
    const calls = Array.from({ length: 48 }, (_, i) =>
      rw!.fetch(`${server!.url}/${i % 3 === 0 ? 'search' : 'items'}/${i}`),
    );
    expect(await outcomes(calls)).toEqual(Array(48).fill(200));
    expect(server.requests().filter((r) => r.status === 429)).toEqual([]);
    expect(rw.stats().map((s) => s.key)).toEqual([server.url]);
  });
});
