// The engine's side of a shared store, on the fake clock: when it asks the store, what it tells it, how it waits for
// reservations and shared pauses, and what it does when the store fails, is slow, or comes back.
import { describe, expect, it } from 'vitest';
import { isRatewiseError } from '../../src/errors.js';
import { customStore } from '../../src/store/custom.js';
import type { RatewiseOptions } from '../../src/options.js';
import { advance, flush, ok, quota, rig, T0, tooMany, track } from './support/harness.js';
import { steady as steadyTo, storeRig } from './support/store-rig.js';

const URL_A = 'https://a.test/';

describe('a budget shared through a store', () => {
  it('sends nothing until the store grants it, then one call grants a batch for the queue', async () => {
    const { rw, server, store } = storeRig({ budgets: { '*': { rate: '100/s' } } });
    const first = track(rw.fetch(URL_A));
    await flush();
    expect(server.calls).toHaveLength(0);
    expect(store.calls).toHaveLength(1);
    expect(store.calls[0]!.request).toMatchObject({
      want: 1,
      need: 1,
      limits: [{ limit: 100, intervalMs: 1000, capacity: 100 }],
    });
    expect(store.calls[0]!.key).toBe('https://a.test');
    // More requests arrive while the store is asked: they wait for its answer, no second call.
    const rest = Array.from({ length: 20 }, (_, i) => track(rw.fetch(`${URL_A}${i}`)));
    await flush();
    expect(store.calls).toHaveLength(1);
    store.calls[0]!.answer();
    await flush();
    expect(first.state).toBe('fulfilled');
    // The next call asks for a batch: as many as wait, up to what the rate refills in 100 ms (10).
    expect(store.calls).toHaveLength(2);
    expect(store.calls[1]!.request.want).toBe(10);
    store.calls[1]!.answer();
    await flush();
    expect(server.calls).toHaveLength(11);
    expect(rest.filter((r) => r.state === 'fulfilled')).toHaveLength(10);
    expect(store.calls).toHaveLength(3);
    store.calls[2]!.answer();
    await flush();
    expect(rest.every((r) => r.state === 'fulfilled' && r.settledCount === 1)).toBe(true);
    // 21 requests, 3 store calls; then, the queue empty after a burst, a fourth tops up the grant ahead of demand:
    // what 21 units sent lately spend over two round trips (0 ms here) and 500 ms, within the batch's cap (10),
    // only units free now.
    expect(store.calls).toHaveLength(4);
    expect(store.calls[3]!.request).toMatchObject({ want: 10, maxWaitMs: 0 });
  });

  it('asks for as many as wait, not one more: a grant left unused would hold other clients back', async () => {
    const { rw, store } = storeRig({ budgets: { '*': { rate: '1000/s' } } });
    const first = track(rw.fetch(URL_A));
    await flush();
    const rest = [track(rw.fetch(`${URL_A}1`)), track(rw.fetch(`${URL_A}2`))];
    await flush();
    expect(store.calls).toHaveLength(1);
    store.calls[0]!.answer();
    await flush();
    expect(first.state).toBe('fulfilled');
    // Two wait (the queue's head among them): a batch of 2.
    expect(store.calls[1]!.request.want).toBe(2);
    store.calls[1]!.answer();
    await flush();
    expect(rest.every((r) => r.state === 'fulfilled')).toBe(true);
  });

  it("asks again a round trip before the server's quota comes back, so that the store hears it as it does", async () => {
    const { rw, clock, server, store } = storeRig();
    const call = track(rw.fetch(URL_A), clock);
    await flush();
    // The store is 100 ms away: its answer says the quota comes back 1000 ms after it decided, 50 ms ago.
    await advance(clock, 100);
    store.calls[0]!.answer({ granted: 0, waitMs: 950, reason: 'server' });
    await flush();
    // Asked again when the wait ends less the round trip (100 ms): it reaches the store as the quota comes back.
    await advance(clock, 849);
    expect(store.calls).toHaveLength(1);
    await advance(clock, 1);
    expect(store.calls).toHaveLength(2);
    expect(store.calls[1]!.request).toMatchObject({ want: 1 });
    await advance(clock, 100);
    store.calls[1]!.answer();
    await flush();
    expect(server.sentAt).toEqual([T0 + 1050]);
    expect(call.state).toBe('fulfilled');
  });

  it('waits for a reservation: the granted tokens are used at the instant the store named, not before', async () => {
    const { rw, clock, server, store } = storeRig({ budgets: { '*': { rate: '10/s' } } });
    store.script = () => ({ waitMs: 300, reason: 'rate' });
    const call = track(rw.fetch(URL_A), clock);
    await advance(clock, 299);
    expect(server.calls).toHaveLength(0);
    await advance(clock, 1);
    expect(server.sentAt).toEqual([T0 + 300]);
    expect(call.state).toBe('fulfilled');
  });

  it('asks again when the store refuses, after the wait it names', async () => {
    const { rw, clock, server, store } = storeRig({ budgets: { '*': { rate: '10/s' } } });
    store.script = () => (store.calls.length === 1 ? { granted: 0, waitMs: 40_000, reason: 'rate' } : {});
    void rw.fetch(URL_A);
    await advance(clock, 39_999);
    expect(store.calls).toHaveLength(1);
    expect(server.calls).toHaveLength(0);
    await advance(clock, 1);
    expect(store.calls).toHaveLength(2);
    expect(server.sentAt).toEqual([T0 + 40_000]);
  });

  it('fails at once a call whose maxWait the store says it cannot meet', async () => {
    const { rw, store } = storeRig({ budgets: { '*': { rate: '10/s' } }, maxWait: 5000 });
    store.script = () => ({ granted: 0, waitMs: 40_000, reason: 'rate' });
    const call = track(rw.fetch(URL_A));
    await flush();
    expect(call.state).toBe('rejected');
    expect(isRatewiseError(call.error, 'ERR_RATEWISE_RATE_LIMITED')).toBe(true);
  });

  it('takes in a pause another client published: nothing goes until it ends, and a `paused` event says why', async () => {
    const { rw, clock, server, store, eventsOf } = storeRig();
    store.script = () =>
      store.calls.length === 1 ? { granted: 0, waitMs: 5000, reason: 'paused', pausedForMs: 5000 } : {};
    const call = track(rw.fetch(URL_A), clock);
    await advance(clock, 4999);
    expect(server.calls).toHaveLength(0);
    expect(eventsOf('paused')).toEqual([
      { key: 'https://a.test', until: T0 + 5000, reason: 'shared', status: undefined },
    ]);
    await advance(clock, 1);
    expect(call.state).toBe('fulfilled');
    expect(server.sentAt).toEqual([T0 + 5000]);
    // The pause is not published back to the store: it came from there.
    expect(store.calls.every((c) => c.request.pause === undefined)).toBe(true);
  });

  it('hears the same shared pause again a few ms later as that pause, not a new one, and still waits it out', async () => {
    const { rw, clock, server, store, eventsOf } = storeRig();
    const replies = [
      { granted: 0, waitMs: 5000, reason: 'paused' as const, pausedForMs: 5000, orderedForMs: 5000 },
      // The store's clock had the pause end 30 ms later than this client made of the first answer.
      { granted: 0, waitMs: 30, reason: 'paused' as const, pausedForMs: 30, orderedForMs: 30 },
    ];
    store.script = () => replies[store.calls.length - 1] ?? {};
    const call = track(rw.fetch(URL_A), clock);
    await advance(clock, 5029);
    expect(server.calls).toHaveLength(0);
    await advance(clock, 1);
    expect(call.state).toBe('fulfilled');
    expect(server.sentAt).toEqual([T0 + 5030]);
    expect(eventsOf('paused')).toHaveLength(1);
  });

  it('publishes a pause the server ordered, with the instant it named apart from the jitter', async () => {
    const { rw, clock, store } = storeRig({}, (call) => (call.index === 0 ? tooMany(10) : ok()));
    store.script = () => ({});
    const call = track(rw.fetch(URL_A), clock);
    await flush();
    const published = store.calls.find((c) => c.request.pause !== undefined);
    expect(published?.request).toMatchObject({ want: 0, pause: { forMs: 10_000, orderedForMs: 10_000 } });
    await advance(clock, 10_000);
    expect(call.state).toBe('fulfilled');
  });

  it("publishes the server's remaining quota: at once in a new window or when spent, else with the next call", async () => {
    const left = [500, 499, 0];
    const { rw, clock, store } = storeRig({}, (call) => ok(quota(1000, left[call.index] ?? 0, 60)));
    // The store counts what it granted: 1 for the first request, 2 for the second, …; the first grant's counter
    // leaves out 2 granted shortly before it (its span), the others are exact.
    let counter = 0;
    store.script = (request) => ({ counter: (counter += request.want), ...(counter === 1 && { counterSpan: 2 }) });
    await rw.fetch(URL_A);
    // A new window: published on its own, with the grant counter of the request it answers, its span and the limit.
    expect(store.calls).toHaveLength(2);
    expect(store.calls[1]!.request).toMatchObject({
      want: 0,
      view: { remaining: 500, resetInMs: 60_000, counter: 1, span: 2, limit: 1000 },
    });
    await rw.fetch(URL_A);
    // The same window, quota left: it waits for the next call.
    expect(store.calls).toHaveLength(3);
    await rw.fetch(URL_A);
    expect(store.calls[3]!.request).toMatchObject({ want: 1, view: { remaining: 499, counter: 2, limit: 1000 } });
    expect(store.calls[3]!.request.view?.span).toBeUndefined();
    // Spent: at once.
    expect(store.calls[4]!.request).toMatchObject({ want: 0, view: { remaining: 0, counter: 3 } });
    expect(clock.now()).toBe(T0);
  });
});

describe('when the store fails', () => {
  it('falls back to local limits after the store timeout, says so once, and shares again when it is back', async () => {
    const { rw, clock, server, store, eventsOf } = storeRig({ storeTimeout: 200, storeFallback: 'local' });
    const first = track(rw.fetch(URL_A), clock);
    // Before any round trip was measured, a call may take 1 s (storeTimeout when longer).
    await advance(clock, 999);
    expect(server.calls).toHaveLength(0);
    await advance(clock, 1);
    expect(first.state).toBe('fulfilled');
    expect(eventsOf('storeError')).toHaveLength(1);
    expect(eventsOf('storeError')[0]).toMatchObject({ store: 'scripted', fallback: 'local', downMs: 0 });
    expect(String(eventsOf('storeError')[0]!.error)).toMatch(/did not answer within 1000 ms/);
    expect(rw.stats()[0]!.shared).toBe('local');
    // Local from here: no store call until the retry is due (1 s after the failure).
    for (let i = 0; i < 5; i++) await rw.fetch(URL_A);
    expect(store.calls).toHaveLength(1);
    await advance(clock, 1000);
    const during = track(rw.fetch(URL_A), clock);
    await flush();
    // The request went locally; the store was asked in the background whether it is back.
    expect(during.state).toBe('fulfilled');
    expect(store.calls).toHaveLength(2);
    expect(store.calls[1]!.request.want).toBe(0);
    store.calls[1]!.answer();
    await flush();
    expect(eventsOf('storeRecovered')).toEqual([{ store: 'scripted', downMs: 1000 }]);
    expect(rw.stats()[0]!.shared).toBe('store');
    // The check answered at once: its round trip is the first measure, and the timeout follows it.
    expect(rw.stats()[0]!.store).toEqual({ rttMs: 0, timeoutMs: 200, clients: undefined, grant: 0, lease: 0 });
    // Shared again: the next request waits for a grant.
    const after = track(rw.fetch(URL_A));
    await flush();
    expect(after.state).toBe('pending');
    expect(store.calls).toHaveLength(3);
    store.calls[2]!.answer();
    await flush();
    expect(after.state).toBe('fulfilled');
    expect(eventsOf('storeError')).toHaveLength(1);
  });

  it('backs off asking a store that keeps failing: 1 s, 2 s, 4 s, then every 5 s', async () => {
    const { rw, clock, store, eventsOf } = storeRig();
    store.script = () => new Error('ECONNREFUSED');
    const asked: number[] = [];
    for (let t = 0; t <= 20_000; t += 100) {
      await rw.fetch(URL_A);
      if (store.calls.length > asked.length) asked.push(store.calls.at(-1)!.at - T0);
      await advance(clock, 100);
    }
    expect(asked).toEqual([0, 1000, 3000, 7000, 12_000, 17_000]);
    // Each check that finds it still failing says so, with how long it has failed.
    expect(eventsOf('storeError').map(({ downMs }) => downMs)).toEqual([0, 1000, 3000, 7000, 12_000, 17_000]);
  });

  it("with storeFallback 'fail', fails the waiting calls with StoreUnavailableError and tries again for the next", async () => {
    const { rw, server, store } = storeRig({ storeFallback: 'fail' });
    const calls = [track(rw.fetch(URL_A)), track(rw.fetch(URL_A))];
    await flush();
    const cause = new Error('ECONNREFUSED');
    store.calls[0]!.fail(cause);
    await flush();
    for (const call of calls) {
      expect(call.state).toBe('rejected');
      expect(call.settledCount).toBe(1);
      expect(isRatewiseError(call.error, 'ERR_RATEWISE_STORE')).toBe(true);
      expect(call.error).toMatchObject({ store: 'scripted', key: 'https://a.test', method: 'GET', cause });
    }
    expect(server.calls).toHaveLength(0);
    const next = track(rw.fetch(URL_A));
    await flush();
    expect(store.calls).toHaveLength(2);
    store.calls[1]!.answer();
    await flush();
    expect(next.state).toBe('fulfilled');
  });

  it('treats a store that throws instead of rejecting as failed', async () => {
    const { rw, eventsOf } = rig({
      store: customStore({
        name: 'broken',
        sync() {
          throw new Error('boom');
        },
      }),
    });
    await expect(rw.fetch(URL_A)).resolves.toBeInstanceOf(Response);
    expect(eventsOf('storeError')).toHaveLength(1);
  });

  it('takes in the pause of an answer that comes after the timeout', async () => {
    const { rw, clock, server, store, eventsOf } = storeRig({ storeTimeout: 100 });
    const call = track(rw.fetch(URL_A), clock);
    await advance(clock, 1000);
    expect(call.state).toBe('fulfilled');
    store.calls[0]!.answer({ granted: 0, reason: 'paused', waitMs: 60_000, pausedForMs: 60_000 });
    await flush();
    expect(rw.stats()[0]!.pausedUntil).toBe(clock.now() + 60_000);
    expect(eventsOf('paused')).toMatchObject([{ reason: 'shared' }]);
    expect(eventsOf('storeRecovered')).toHaveLength(1);
    expect(server.calls).toHaveLength(1);
  });
});

describe("storeFallback 'share'", () => {
  /** A client whose store counted `clients` live clients, then stopped answering: resolves at the failure. */
  async function sharing(clients: number, budgets: NonNullable<RatewiseOptions['budgets']>) {
    const r = storeRig({ storeTimeout: 100, budgets });
    const first = track(r.rw.fetch(URL_A), r.clock);
    await flush();
    r.store.calls[0]!.answer({ clients });
    await flush();
    expect(first.state).toBe('fulfilled');
    // The next call is never answered: after its timeout (0 ms measured + 100) it is asked again with twice the
    // timeout, and when that one times out too the budget spends its share.
    void r.rw.fetch(URL_A);
    await flush();
    await advance(r.clock, 100);
    expect(r.rw.stats()[0]!.shared).toBe('store');
    await advance(r.clock, 200);
    expect(r.rw.stats()[0]!.shared).toBe('share');
    expect(r.eventsOf('storeError')).toMatchObject([{ fallback: 'share', downMs: 0 }]);
    return { ...r, failedAt: r.clock.now() };
  }

  it('tells the store who calls, so that it counts the live clients', async () => {
    const { rw, store } = storeRig();
    void rw.fetch(URL_A);
    await flush();
    expect(store.calls[0]!.request.client).toEqual({ id: expect.any(String) as unknown, ttlMs: 60_000 });
    store.calls[0]!.answer({ clients: 3 });
    await flush();
    expect(rw.stats()[0]!.store!.clients).toBe(3);
  });

  it('while the store fails, each of N clients spends 1/N of the rate and of the burst', async () => {
    // 4 live clients of { rate: '10/s' } (burst 10): this one spends 2.5/s with a burst of 2.5.
    const { rw, clock, server, failedAt } = await sharing(4, { '*': { rate: '10/s' } });
    const calls = Array.from({ length: 6 }, () => track(rw.fetch(URL_A), clock));
    await advance(clock, 2000);
    expect(calls.every((c) => c.state === 'fulfilled')).toBe(true);
    // The request that was waiting at the failure went then, as did the next one (2 of the 2.5 units); then one
    // unit every 400 ms, from the half unit left.
    expect(server.sentAt.slice(1).map((at) => at - failedAt)).toEqual([0, 0, 200, 600, 1000, 1400, 1800]);
  });

  it('caps the requests in flight at 1/N of sharedConcurrency', async () => {
    // Every response is held: the requests stay in flight.
    const { rw, clock, server, store } = storeRig(
      { storeTimeout: 100, budgets: { '*': { sharedConcurrency: 4, sharedSlotTtlMs: 30_000 } } },
      () => 'hold',
    );
    void rw.fetch(URL_A);
    await flush();
    store.calls[0]!.answer({ clients: 2 });
    await flush();
    void rw.fetch(URL_A);
    await flush();
    // Two timeouts in a row (100 ms, then 200): the store is down.
    await advance(clock, 300);
    expect(rw.stats()[0]!.shared).toBe('share');
    for (let i = 0; i < 4; i++) void rw.fetch(URL_A);
    await flush();
    // This client's share is 2 slots (4 / 2): the first request holds one from the store, one more goes.
    expect(server.calls).toHaveLength(2);
    expect(rw.stats()[0]!.inFlight).toBe(2);
    expect(rw.stats()[0]!.queued).toBe(4);
  });

  it("with 'local', each client spends the whole budget", async () => {
    const r = storeRig({ storeTimeout: 100, storeFallback: 'local', budgets: { '*': { rate: '10/s' } } });
    void r.rw.fetch(URL_A);
    await flush();
    r.store.calls[0]!.answer({ clients: 4 });
    await flush();
    void r.rw.fetch(URL_A);
    await flush();
    await advance(r.clock, 300);
    expect(r.rw.stats()[0]!.shared).toBe('local');
    for (let i = 0; i < 8; i++) void r.rw.fetch(URL_A);
    await flush();
    expect(r.server.calls).toHaveLength(10);
  });
});

describe('grants: units held ahead of demand', () => {
  const steady = (r: ReturnType<typeof storeRig>, count: number, everyMs: number) => steadyTo(r, URL_A, count, everyMs);

  it('a client sending steadily tops its grant up before it runs out: its requests go at once, with fewer store calls', async () => {
    const r = storeRig({ budgets: { '*': { rate: '100/s' } } });
    r.store.script = () => ({});
    const waits = await steady(r, 30, 100);
    expect(waits.every((w) => w === 0)).toBe(true);
    // About 10 units sent over the last second: 5 held ahead (500 ms of them), topped up below half of that.
    console.info(`[store] 30 requests at 10/s: ${r.store.calls.length} store calls`);
    expect(r.store.calls.length).toBeLessThanOrEqual(15);
    expect(r.store.calls.filter((c) => c.request.maxWaitMs === 0).length).toBeGreaterThan(0);
    expect(r.rw.stats()[0]!.store!.grant).toBeGreaterThan(0);
  });

  it('a client that sends rarely holds no grant: each request asks for itself', async () => {
    const r = storeRig({ budgets: { '*': { rate: '100/s' } } });
    r.store.script = () => ({});
    await steady(r, 5, 2000);
    expect(r.store.calls.map((c) => c.request.want)).toEqual([1, 1, 1, 1, 1]);
    expect(r.rw.stats()[0]!.store!.grant).toBe(0);
  });

  it('an idle client arms no timer: its grant expires where it is, and goes back with the next call or at close()', async () => {
    const r = storeRig({ budgets: { '*': { rate: '100/s' } } });
    r.store.script = () => ({});
    await steady(r, 10, 100);
    const held = r.rw.stats()[0]!.store!.grant;
    expect(held).toBeGreaterThan(0);
    await advance(r.clock, 5000);
    expect(r.clock.pending()).toBe(0);
    expect(r.rw.stats()[0]!.store!.grant).toBe(0);
    const calls = r.store.calls.length;
    await r.rw.close();
    expect(r.store.calls).toHaveLength(calls + 1);
    expect(r.store.calls.at(-1)!.request).toMatchObject({ want: 0, giveBack: held });
  });
});

describe('late answers and unused grants', () => {
  it('uses the units granted to a call that timed out: the next request goes on them, with no store call', async () => {
    const { rw, clock, server, store, eventsOf } = storeRig({ storeTimeout: 100, budgets: { '*': { rate: '10/s' } } });
    const first = track(rw.fetch(URL_A), clock);
    await advance(clock, 1000);
    // Sent on its share of the budget meanwhile (this client counts itself alone: the store never answered).
    expect(first.state).toBe('fulfilled');
    expect(rw.stats()[0]!.shared).toBe('share');
    // Redis granted the call 1 unit after all: the store is back, and the unit is this client's.
    store.calls[0]!.answer({ granted: 1 });
    await flush();
    expect(eventsOf('storeRecovered')).toHaveLength(1);
    expect(rw.stats()[0]!.shared).toBe('store');
    const second = track(rw.fetch(URL_A), clock);
    await flush();
    expect(second.state).toBe('fulfilled');
    expect(server.calls).toHaveLength(2);
    expect(store.calls).toHaveLength(1);
  });

  it('gives back the units of a late answer when the budget holds a grant already', async () => {
    const { rw, clock, store } = storeRig({ storeTimeout: 100, budgets: { '*': { rate: '10/s' } } });
    void rw.fetch(URL_A);
    await advance(clock, 1000);
    // A second on, a request goes locally and the store is asked whether it is back: it is.
    await advance(clock, 1000);
    await rw.fetch(URL_A);
    expect(store.calls[1]!.request.want).toBe(0);
    store.calls[1]!.answer();
    await flush();
    const third = track(rw.fetch(URL_A));
    await flush();
    store.calls[2]!.answer({ granted: 5 });
    await flush();
    expect(third.state).toBe('fulfilled');
    // The first call's answer comes now: its unit goes back to the store at once.
    store.calls[0]!.answer({ granted: 1 });
    await flush();
    expect(store.calls).toHaveLength(4);
    expect(store.calls[3]!.request).toMatchObject({ want: 0, giveBack: 1 });
  });

  it('gives back what is left of a grant too late to use, once: not again after a failed call', async () => {
    const { rw, clock, store } = storeRig({ budgets: { '*': { rate: '10/s' } } });
    const first = track(rw.fetch(URL_A));
    await flush();
    store.calls[0]!.answer({ granted: 5 });
    await flush();
    expect(first.state).toBe('fulfilled');
    // 4 units left, unused for 2 s: given back with the next call.
    await advance(clock, 2000);
    void rw.fetch(URL_A);
    await flush();
    expect(store.calls[1]!.request).toMatchObject({ want: 1, giveBack: 4 });
    store.calls[1]!.fail(new Error('ECONNRESET'));
    await flush();
    // Whether Redis put them back is not known: never sent twice.
    await advance(clock, 1000);
    void rw.fetch(URL_A);
    await flush();
    expect(store.calls[2]!.request.giveBack).toBeUndefined();
  });

  it('close() fails calls waiting on the store, and a late answer changes nothing', async () => {
    const { rw, clock, store } = storeRig();
    const call = track(rw.fetch(URL_A));
    await flush();
    const closed = rw.close();
    await flush();
    expect(isRatewiseError(call.error, 'ERR_RATEWISE_CLOSED')).toBe(true);
    store.calls[0]!.answer();
    await closed;
    await flush();
    expect(call.settledCount).toBe(1);
    expect(clock.pending()).toBe(0);
  });
});

describe('timeouts that follow the round trip', () => {
  it('times each call out after the smoothed round trip plus the larger of storeTimeout and four deviations, shown in rw.stats()', async () => {
    const { rw, clock, store } = storeRig({ storeTimeout: 100, budgets: { '*': { rate: '1/s' } } });
    expect(rw.stats()).toEqual([]);
    // Each call answered 400 ms after it was made.
    const rtts: number[] = [];
    for (let i = 0; i < 6; i++) {
      const call = track(rw.fetch(URL_A), clock);
      await flush();
      await advance(clock, 400);
      store.calls.at(-1)!.answer();
      await flush();
      expect(call.state).toBe('fulfilled');
      rtts.push(rw.stats()[0]!.store!.rttMs!);
      await advance(clock, 1000);
    }
    // RFC 6298: the first sample is the estimate (deviation half of it), later ones move it by 1/8.
    expect(rtts).toEqual([400, 400, 400, 400, 400, 400]);
    const { timeoutMs } = rw.stats()[0]!.store!;
    // Deviation 200 -> 150 -> 112.5 -> 84.4 -> 63.3 -> 47.5: 400 + max(100, 190).
    expect(timeoutMs).toBeCloseTo(400 + 4 * 200 * 0.75 ** 5, 6);
    expect(rw.stats()[0]!.shared).toBe('store');
  });

  it('a store 400 ms away with storeTimeout 100 stays shared: no call times out', async () => {
    const { rw, clock, store, eventsOf } = storeRig({ storeTimeout: 100, budgets: { '*': { rate: '10/s' } } });
    for (let i = 0; i < 20; i++) {
      const call = track(rw.fetch(URL_A), clock);
      await flush();
      await advance(clock, 400);
      store.held().at(-1)?.answer();
      await flush();
      await advance(clock, 0);
      expect(call.state).toBe('fulfilled');
    }
    expect(eventsOf('storeError')).toEqual([]);
    expect(rw.stats()[0]!.shared).toBe('store');
  });

  it('after a timeout the next call may take twice as long (backed off), and one answered in time ends the backoff', async () => {
    const { rw, clock, store, eventsOf } = storeRig({ storeTimeout: 100, budgets: { '*': { rate: '10/s' } } });
    const first = track(rw.fetch(URL_A), clock);
    await flush();
    await advance(clock, 10);
    store.calls[0]!.answer();
    await flush();
    expect(first.state).toBe('fulfilled');
    // 10 + max(100, 4 x 5).
    expect(rw.stats()[0]!.store).toEqual({ rttMs: 10, timeoutMs: 110, clients: undefined, grant: 0, lease: 0 });
    // The store moved far away: the next call times out. One timeout after answers in time is asked again at once,
    // with twice the timeout, before the budget decides alone; the second times out too, and the budget goes local.
    await advance(clock, 1000);
    void rw.fetch(URL_A);
    await flush();
    await advance(clock, 110);
    expect(rw.stats()[0]!.shared).toBe('store');
    expect(rw.stats()[0]!.store!.timeoutMs).toBe(220);
    expect(store.calls).toHaveLength(3);
    expect(eventsOf('storeError')).toEqual([]);
    await advance(clock, 220);
    expect(rw.stats()[0]!.shared).toBe('share');
    expect(eventsOf('storeError')).toMatchObject([{ downMs: 0 }]);
    expect(rw.stats()[0]!.store!.timeoutMs).toBe(440);
    // The check whether it is back may take 440 ms: it answers in 200, and the budget is shared again.
    await advance(clock, 1000);
    void rw.fetch(URL_A);
    await flush();
    const check = store.held().at(-1)!;
    await advance(clock, 200);
    check.answer({ granted: 0 });
    await flush();
    expect(rw.stats()[0]!.shared).toBe('store');
    // Backed off no more: 33.75 + 4 x 51.25 (it would be 440 backed off once more).
    expect(rw.stats()[0]!.store).toEqual({
      rttMs: 10 + (200 - 10) / 8,
      timeoutMs: 33.75 + 4 * (5 + (190 - 5) / 4),
      clients: undefined,
      grant: 0,
      lease: 0,
    });
  });
});

describe('shared concurrency', () => {
  const budgets = { '*': { sharedConcurrency: 2, sharedSlotTtlMs: 30_000 } };

  it('asks for one slot per request, and gives each back with the next call when its request ends', async () => {
    const { rw, server, store } = storeRig({ budgets }, () => 'hold');
    store.script = () => ({});
    void rw.fetch(URL_A);
    await flush();
    const first = store.calls[0]!.request.slots!;
    expect(first).toMatchObject({ max: 2, ttlMs: 30_000, release: [] });
    expect(first.take).toMatch(/:1$/);
    expect(store.calls[0]!.request.want).toBe(1);
    // The answer to the probe lets the rest follow; each takes its own slot, never more than two here at once.
    server.calls[0]!.respond(ok());
    await flush();
    expect(store.calls.at(-1)!.request.slots!.release).toEqual([first.take]);
    for (let i = 0; i < 3; i++) void rw.fetch(URL_A);
    await flush();
    expect(rw.stats()[0]!.inFlight).toBe(2);
    const takes = store.calls.map((c) => c.request.slots!.take).filter((t) => t !== undefined);
    expect(new Set(takes).size).toBe(takes.length);
    server.held()[0]!.respond(ok());
    await flush();
    // The slot of the request that ended went back with the call that took the next one.
    const last = store.calls.at(-1)!.request.slots!;
    expect(last.release).toHaveLength(1);
    expect(last.take).toBeDefined();
  });

  it('with every slot held elsewhere, asks again soon and less often while it lasts', async () => {
    const { rw, clock, server, store } = storeRig({ budgets });
    store.script = () => (store.calls.length <= 4 ? { granted: 0, waitMs: 30_000, reason: 'concurrency' } : {});
    const call = track(rw.fetch(URL_A), clock);
    await advance(clock, 1000);
    // Refused at 0, 10, 30 and 70 ms; granted at 150; the slot given back on its own when the request ended.
    expect(store.calls.map((c) => c.at - T0)).toEqual([0, 10, 30, 70, 150, 150]);
    expect(store.calls[5]!.request).toMatchObject({
      want: 0,
      slots: { release: [store.calls[4]!.request.slots!.take] },
    });
    expect(call.state).toBe('fulfilled');
    expect(server.sentAt).toEqual([T0 + 150]);
  });

  it('gives back the slot of a grant its request never used', async () => {
    const { rw, clock, store } = storeRig({ budgets });
    store.script = () => (store.calls.length === 1 ? { waitMs: 500, reason: 'rate' } : {});
    const controller = new AbortController();
    const call = track(rw.fetch(URL_A, { signal: controller.signal }));
    await flush();
    const slot = store.calls[0]!.request.slots!.take;
    controller.abort();
    await flush();
    expect(call.state).toBe('rejected');
    await advance(clock, 2000);
    await rw.fetch(URL_A);
    expect(store.calls.flatMap((c) => c.request.slots!.release)).toContain(slot);
  });

  it('gives back at once the slot of an unused grant when its budget is evicted', async () => {
    const { rw, clock, store } = storeRig({ budgets, maxBudgets: 1 });
    store.script = () => (store.calls.length === 1 ? { waitMs: 500, reason: 'rate' } : {});
    const controller = new AbortController();
    const call = track(rw.fetch(URL_A, { signal: controller.signal }));
    await flush();
    const slot = store.calls[0]!.request.slots!.take!;
    controller.abort();
    await advance(clock, 2000);
    expect(call.state).toBe('rejected');
    expect(store.calls).toHaveLength(1);
    // Another budget takes the only place: the first is evicted, and the slot it held goes back with a call of its own.
    await rw.fetch('https://b.test/');
    expect(rw.stats().map((s) => s.key)).toEqual(['https://b.test']);
    expect(
      store.calls.find((c) => c.key === 'https://a.test' && c.request.slots?.release.includes(slot)),
    ).toBeDefined();
  });

  it('caps this client too, with or without a store', async () => {
    const { rw, server } = rig({ budgets: { '*': { sharedConcurrency: 1 } } }, () => 'hold');
    for (let i = 0; i < 3; i++) void rw.fetch(URL_A);
    await flush();
    server.calls[0]!.respond(ok());
    await flush();
    expect(rw.stats()[0]!.inFlight).toBe(1);
    expect(() => rig({ budgets: { '*': { sharedConcurrency: 1.5 } } })).toThrow(/sharedConcurrency/);
    expect(() => rig({ budgets: { '*': { sharedSlotTtlMs: 0 } } })).toThrow(/sharedSlotTtlMs/);
  });
});

describe('which budgets are shared', () => {
  it('schedule() tasks share only when their budget has a rate', async () => {
    const { rw, store } = storeRig({ budgets: { limited: { rate: '5/s' } } });
    store.script = () => ({});
    await rw.schedule(() => 1, { key: 'free' });
    expect(store.calls).toHaveLength(0);
    expect(rw.stats()[0]!.shared).toBeUndefined();
    await rw.schedule(() => 1, { key: 'limited' });
    expect(store.calls.map((c) => c.key)).toEqual(['limited']);
  });

  it("judges maxWait by the wait the store's answer names, not by its round trip", async () => {
    const { rw, clock, store, server } = storeRig({ maxWait: 0, budgets: { '*': { rate: '10/s' } } });
    const first = track(rw.fetch(URL_A), clock);
    await flush();
    expect(store.calls).toHaveLength(1);
    // The answer takes 5 ms: the call waits for it (no timer of its own spins meanwhile), and goes when it says now.
    expect(clock.nextAt()! - clock.now()).toBeGreaterThan(5);
    await advance(clock, 5);
    expect(first.state).toBe('pending');
    store.calls[0]!.answer({ granted: 1 });
    await advance(clock, 0);
    expect(first.state).toBe('fulfilled');
    // An answer that names a wait fails the call at once, unsent, with the instant it named.
    const second = track(rw.fetch(URL_A), clock);
    await flush();
    const asked = store.calls.at(-1)!;
    await advance(clock, 5);
    asked.answer({ granted: 0, waitMs: 100, reason: 'rate' });
    await advance(clock, 0);
    expect(second.state).toBe('rejected');
    expect(second.error).toMatchObject({
      code: 'ERR_RATEWISE_RATE_LIMITED',
      reason: 'max-wait',
      sent: false,
      retryAt: clock.now() + 100,
    });
    expect(server.calls).toHaveLength(1);
  });

  it('checks the store options', () => {
    expect(() => rig({ store: {} as never })).toThrow(/Expected `store` to be a store/);
    expect(() => rig({ storeFallback: 'ignore' as never })).toThrow(/storeFallback.*"share", "local" or "fail"/);
    expect(() => rig({ storeFallback: 'share' })).not.toThrow();
    expect(() => rig({ storeTimeout: 0 })).toThrow(/storeTimeout/);
    expect(() => rig({ storeTimeout: Infinity })).toThrow(/storeTimeout/);
  });

  it("takes a store of the application's own once customStore made it usable, and names it when not", async () => {
    const calls: string[] = [];
    const own = {
      name: 'own',
      sync: (key: string) => {
        calls.push(key);
        return Promise.resolve({
          granted: 1,
          waitMs: 0,
          reason: undefined,
          pausedForMs: 0,
          orderedForMs: 0,
          counter: 0,
        });
      },
    };
    expect(() => rig({ store: own })).toThrow(
      /Expected `store` to be a store made by redisStore\(client\) from ratewise\/redis, or customStore\(store\) from ratewise\/store, got/,
    );
    expect(customStore(own)).toBe(own);
    expect(customStore(own)).toBe(own);
    const { rw } = rig({ store: own, budgets: { '*': { rate: '10/s' } } });
    await rw.schedule(() => 1);
    expect(calls).toEqual(['*']);
    // A frozen store cannot take the property: an object in front of it carries it, and calls go to the store.
    const frozen = Object.freeze({ name: 'frozen', sync: own.sync });
    const usable = customStore(frozen);
    expect(usable).not.toBe(frozen);
    const other = rig({ store: usable, budgets: { '*': { rate: '10/s' } } });
    await other.rw.schedule(() => 1, { key: 'k' });
    expect(calls).toEqual(['*', 'k']);
    // A copy by spread keeps it (wrapping a store to log its calls, say).
    expect(() => rig({ store: { ...own, name: 'copy' } })).not.toThrow();
    for (const bad of [null, {}, { sync: 1 }, 'redis'])
      expect(() => customStore(bad as never)).toThrow(
        /`customStore store` to be an object with a sync\(key, request\) method/,
      );
  });
});
