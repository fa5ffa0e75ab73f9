import { describe, expect, it } from 'vitest';
import { advance, flush, ok, quota, rig, T0, tooMany, track } from './support/harness.js';

const keys = (stats: readonly { key: string }[]): string[] => stats.map((s) => s.key).sort();

describe('budget eviction', () => {
  it('evicts a budget idle for budgetIdleMs when a new one is made', async () => {
    const { rw, clock } = rig({ budgetIdleMs: 1000 });
    await rw.fetch('https://a.test/');
    await advance(clock, 999);
    await rw.fetch('https://b.test/');
    expect(keys(rw.stats())).toEqual(['https://a.test', 'https://b.test']);
    await advance(clock, 1);
    await rw.fetch('https://c.test/');
    expect(keys(rw.stats())).toEqual(['https://b.test', 'https://c.test']);
  });

  it('keeps at most maxBudgets idle budgets, evicting the least recently used', async () => {
    const { rw } = rig({ maxBudgets: 3 });
    for (const host of ['a', 'b', 'c']) await rw.fetch(`https://${host}.test/`);
    await rw.fetch('https://a.test/again');
    await rw.fetch('https://d.test/');
    expect(keys(rw.stats())).toEqual(['https://a.test', 'https://c.test', 'https://d.test']);
  });

  it('stays bounded over 100,000 distinct keys through schedule()', async () => {
    const { rw, clock } = rig({ maxBudgets: 1000 });
    for (let i = 0; i < 100_000; i++) await rw.schedule(() => i, { key: `host-${i}.test` });
    expect(rw.stats().length).toBeLessThanOrEqual(1000);
    expect(clock.pending()).toBe(0);
  });

  it('stays bounded over 20,000 distinct hosts through fetch', async () => {
    const { rw, clock } = rig({ maxBudgets: 1000 });
    for (let i = 0; i < 20_000; i++) await rw.fetch(`https://h${i}.test/`);
    expect(rw.stats().length).toBeLessThanOrEqual(1000);
    expect(clock.pending()).toBe(0);
  });

  it('never evicts a budget as it is made: two requests of one key share it, even with budgetIdleMs 0', async () => {
    const { rw, server } = rig({ budgetIdleMs: 0, budgets: { '*': { initialWindow: 1 } } }, () => 'hold');
    void rw.fetch('https://a.test/1');
    void rw.fetch('https://a.test/2');
    await flush();
    expect(server.calls).toHaveLength(1); // the second waits behind the first's probe
    expect(rw.stats()).toMatchObject([{ key: 'https://a.test', inFlight: 1, queued: 1 }]);
  });

  it('a pause survives when every other budget is busy and maxBudgets is reached', async () => {
    const { rw, clock, server } = rig({ maxBudgets: 1 }, (call) =>
      call.url.startsWith('https://busy.test') ? 'hold' : call.index === 1 ? tooMany(30) : ok(),
    );
    void rw.fetch('https://busy.test/');
    await rw.fetch('https://b.test/', { ratewise: { retry: { rateLimitLimit: 0 } } });
    void rw.fetch('https://b.test/?next');
    await advance(clock, 29_999);
    expect(server.calls.map((c) => c.url)).toEqual(['https://busy.test/', 'https://b.test/']);
    await advance(clock, 1);
    expect(server.calls.map((c) => c.url)).toContain('https://b.test/?next');
  });

  it('never evicts a budget with a request in flight, queued, or paused', async () => {
    const { rw, server } = rig({ maxBudgets: 1, budgetIdleMs: 0, budgets: { '*': { initialWindow: 1 } } }, (call) => {
      if (call.url.startsWith('https://busy.test')) return 'hold';
      if (call.url.startsWith('https://paused.test')) return tooMany(60);
      return ok();
    });
    void rw.fetch('https://busy.test/1');
    void rw.fetch('https://busy.test/2'); // queued behind the probe
    void rw.fetch('https://paused.test/', { ratewise: { retry: { rateLimitLimit: 0 } } });
    await flush();
    for (let i = 0; i < 20; i++) await rw.fetch(`https://idle-${i}.test/`);
    expect(keys(rw.stats())).toEqual(['https://busy.test', 'https://idle-19.test', 'https://paused.test']);
    const busy = rw.stats().find((s) => s.key === 'https://busy.test');
    expect(busy).toMatchObject({ inFlight: 1, queued: 1 });
    server.held()[0]!.respond(ok());
    await flush();
    expect(server.calls.filter((c) => c.url.startsWith('https://busy.test'))).toHaveLength(2);
  });

  it('keeps a budget whose server quota is spent until a reset, however long it is idle', async () => {
    const { rw, clock, server } = rig({ retry: { maxRetryAfter: 3_600_000 } }, (call) =>
      call.index === 0 ? ok(quota(5000, 0, 3600)) : ok(),
    );
    await rw.fetch('https://api.test/');
    await advance(clock, 600_000); // twice the default budgetIdleMs
    await rw.fetch('https://other.test/'); // makes a budget: eviction runs
    const next = track(rw.fetch('https://api.test/again'), clock);
    await advance(clock, 3_000_000 - 1);
    expect(server.calls.map((c) => c.url)).toEqual(['https://api.test/', 'https://other.test/']);
    await advance(clock, 1);
    expect(next.settledAt).toBe(T0 + 3_600_000);
  });

  it('a budget whose quota was spent is evicted once its reset has passed', async () => {
    const { rw, clock } = rig({ budgetIdleMs: 1000 }, (call) => (call.index === 0 ? ok(quota(10, 0, 5)) : ok()));
    await rw.fetch('https://api.test/');
    await advance(clock, 5000);
    await rw.fetch('https://other.test/');
    expect(keys(rw.stats())).toEqual(['https://other.test']);
  });

  it('an evicted budget starts afresh: a new probe, full tokens', async () => {
    const { rw, clock } = rig({ budgetIdleMs: 1000, budgets: { '*': { rate: '1/min', burst: 1 } } });
    await rw.fetch('https://a.test/');
    expect(rw.stats()[0]?.bucketLevel).toBe(0);
    await advance(clock, 1000);
    await rw.fetch('https://b.test/');
    await rw.fetch('https://a.test/');
    expect(rw.stats().find((s) => s.key === 'https://a.test')?.counters.sent).toBe(1);
  });
});
