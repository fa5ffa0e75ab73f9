// Costs in units other than requests through a shared store, on the fake clock: what a grant holds, what the store is
// told of each unit (the server's views with their grant counters, usage settled, units given back), how a refusal
// for a unit's sake holds the calls behind it, and each unit's share while the store fails.
import { describe, expect, it } from 'vitest';
import { advance, flush, ok, T0, track } from './support/harness.js';
import { storeRig } from './support/store-rig.js';

const URL_A = 'https://a.test/v1/chat';
const TOKENS_PER_HOUR = { tokens: { rate: '1000/h', burst: 1000 } };

const post = (tokens: number, more: { maxWait?: number } = {}) => ({
  method: 'POST',
  body: '{}',
  ratewise: { cost: { tokens }, ...more },
});

describe('units through a shared store', () => {
  it('asks for the head’s units with its requests, one request per grant, and sends nothing before the grant', async () => {
    const { rw, server, store } = storeRig({ budgets: { '*': { rate: '100/s', units: TOKENS_PER_HOUR } } });
    const first = track(rw.fetch(URL_A, post(300)));
    const second = track(rw.fetch(URL_A, post(200)));
    await flush();
    expect(server.calls).toHaveLength(0);
    expect(store.calls).toHaveLength(1);
    expect(store.calls[0]!.request).toMatchObject({
      want: 1,
      need: 1,
      units: [
        { name: 'tokens', want: 300, limits: [{ limit: 1000, intervalMs: 3_600_000, capacity: 1000 }] },
        { name: 'requests', want: 1, limits: [] },
      ],
    });
    store.calls[0]!.answer({ counter: 1, unitCounters: [300, 1] });
    await flush();
    expect(first.state).toBe('fulfilled');
    // The second call's units were not in the first grant: a grant of its own, for it alone (no batch, no top-up).
    expect(store.calls).toHaveLength(2);
    expect(store.calls[1]!.request).toMatchObject({ want: 1, units: [{ name: 'tokens', want: 200 }, { want: 1 }] });
    store.calls[1]!.answer({ counter: 2, unitCounters: [500, 2] });
    await flush();
    expect(second.state).toBe('fulfilled');
    expect(server.calls).toHaveLength(2);
    expect(store.calls).toHaveLength(2);
  });

  it('a refusal for a unit names it, holds calls that want as much, and lets a smaller one ask again', async () => {
    const { rw, clock, store, eventsOf } = storeRig({ budgets: { '*': { units: TOKENS_PER_HOUR } } });
    // 800 tokens are 48 minutes away: beyond this call's maxWait, it fails unsent.
    const big = track(rw.fetch(URL_A, post(800, { maxWait: 60_000 })), clock);
    await flush();
    store.calls[0]!.answer({ granted: 0, waitMs: 2_880_000, reason: 'rate', unit: 'tokens' });
    await flush();
    expect(big.state).toBe('rejected');
    // As large a call waits for the same instant without asking; a smaller one asks at once.
    const same = track(rw.fetch(URL_A, post(800, { maxWait: 60_000 })), clock);
    await flush();
    expect(same.state).toBe('rejected');
    expect(store.calls).toHaveLength(1);
    const small = track(rw.fetch(URL_A, post(100)), clock);
    await flush();
    expect(store.calls).toHaveLength(2);
    expect(store.calls[1]!.request.units).toMatchObject([{ name: 'tokens', want: 100 }, { name: 'requests' }]);
    store.calls[1]!.answer({ granted: 0, waitMs: 5_000, reason: 'rate', unit: 'tokens' });
    await flush();
    expect(eventsOf('throttled').at(-1)).toMatchObject({ reason: 'rate', unit: 'tokens', waitMs: 5_000 });
    store.script = () => ({});
    await advance(clock, 5_000);
    expect(small.state).toBe('fulfilled');
  });

  it("tells the store the server's view of each unit, with the unit's grant counter of the request answered", async () => {
    const headers = {
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-limit-tokens': '6000',
      'x-ratelimit-remaining-tokens': '5000',
      'x-ratelimit-reset-tokens': '10s',
    };
    const { rw, clock, store } = storeRig({}, () => ok(headers));
    const first = track(rw.fetch(URL_A, post(1000)), clock);
    await flush();
    store.calls[0]!.answer({ counter: 7, unitCounters: [4000, 7] });
    await flush();
    expect(first.state).toBe('fulfilled');
    // The answer's views go at once (the first this client tells of each unit), with the counters of its grant.
    const told = store.calls[1]!.request;
    expect(told.want).toBe(0);
    expect(told.units).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'tokens',
          want: 0,
          view: { remaining: 5000, limit: 6000, resetInMs: 10_000, refill: 'continuous', counter: 4000 },
        }),
        expect.objectContaining({
          name: 'requests',
          view: { remaining: 59, limit: 60, resetInMs: 1_000, refill: 'continuous', counter: 7 },
        }),
      ]),
    );
  });

  it('tells a view that waited for a later call with its age: its quota has been refilling since the answer', async () => {
    const remaining = ['5000', '4000'];
    const { rw, clock, store } = storeRig({}, () =>
      ok({
        'x-ratelimit-limit-tokens': '6000',
        'x-ratelimit-remaining-tokens': remaining.shift() ?? '3000',
        'x-ratelimit-reset-tokens': '10s',
      }),
    );
    store.script = () => ({});
    for (const tokens of [1000, 500]) {
      const call = track(rw.fetch(URL_A, post(tokens)), clock);
      await advance(clock, 0);
      expect(call.state).toBe('fulfilled');
    }
    const views = () => store.calls.flatMap((call) => call.request.units ?? []).flatMap((unit) => unit.view ?? []);
    // The first answer's view went at once, the second's waits for the next call.
    expect(views()).toEqual([expect.objectContaining({ remaining: 5000, resetInMs: 10_000, ageMs: undefined })]);
    await advance(clock, 300);
    const later = track(rw.fetch(URL_A, post(100)), clock);
    await advance(clock, 0);
    expect(later.state).toBe('fulfilled');
    expect(views()[1]).toMatchObject({ remaining: 4000, resetInMs: 9_700, ageMs: 300 });
  });

  it('settles usage against the shared buckets: beyond the estimate taken, below it given back', async () => {
    const used = [600, 100];
    const { rw, clock, store } = storeRig(
      { budgets: { '*': { units: TOKENS_PER_HOUR, usage: () => ({ tokens: used.shift()! }) } } },
      () => ok({ 'content-type': 'application/json' }),
    );
    store.script = () => ({});
    for (const estimate of [500, 300]) {
      const response = await rw.fetch(URL_A, post(estimate));
      await response.text();
      await flush();
    }
    await advance(clock, 0);
    const settles = store.calls.flatMap((call) => call.request.units ?? []).filter((unit) => unit.settle);
    expect(settles.map((unit) => [unit.name, unit.settle])).toEqual([
      ['tokens', 100],
      ['tokens', -200],
    ]);
  });

  it("while the store fails with 'share', each client spends 1/N of a unit's rate", async () => {
    const { rw, clock, server, store, eventsOf } = storeRig({
      storeTimeout: 100,
      budgets: { '*': { units: TOKENS_PER_HOUR } },
    });
    const first = track(rw.fetch(URL_A, post(100)), clock);
    await flush();
    store.calls[0]!.answer({ clients: 2 });
    await flush();
    expect(first.state).toBe('fulfilled');
    // The store stops answering: this client spends 500 tokens an hour, with a burst of 500.
    const calls = [400, 400].map((tokens) => track(rw.fetch(URL_A, post(tokens, { maxWait: 7_200_000 })), clock));
    await flush();
    // Two timeouts in a row (100 ms, then 200): the store is down.
    await advance(clock, 300);
    expect(rw.stats()[0]!.shared).toBe('share');
    await flush();
    expect(calls[0]!.state).toBe('fulfilled');
    expect(calls[1]!.state).toBe('pending');
    // 300 more of the share's 500 an hour: 36 minutes after the failure.
    const failedAt = T0 + 300;
    expect(eventsOf('throttled').at(-1)).toMatchObject({ until: failedAt + 2_160_000 });
    await advance(clock, 2_160_000);
    expect(calls[1]!.state).toBe('fulfilled');
    expect(server.calls).toHaveLength(3);
  });
});
