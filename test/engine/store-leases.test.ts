// Rate leases on the fake clock: a client sending steadily and lightly through a store that pushes pauses leases a
// part of the rate and decides alone within it; it renews the lease before it ends, hands it back, stops at a pause
// pushed to it, and holds none when pushes do not arrive, requests queue or the server describes its quota.
import { describe, expect, it } from 'vitest';
import type { RatewiseOptions } from '../../src/options.js';
import type { StoreReply, StoreRequest } from '../../src/store/types.js';
import { advance, ok, quota, rig, T0, track } from './support/harness.js';
import { ScriptedStore, WatchingStore } from './support/scripted-store.js';
import { steady as steadyTo } from './support/store-rig.js';

const URL_A = 'https://a.test/';
const KEY = 'https://a.test';
const budgets = { '*': { rate: '40/s', burst: 5 } };

/** A store that grants what is asked, and keeps one lease as the Redis script does (unless `refuse`). */
function leasingRig(
  options: Omit<RatewiseOptions, 'fetch' | 'clock' | 'store'> = {},
  script?: Parameters<typeof rig>[1],
  { watching = true, refuse = false } = {},
) {
  const box: { now: () => number } = { now: () => T0 };
  const watched = new WatchingStore(() => box.now());
  const store = watching ? watched : new ScriptedStore(() => box.now());
  const r = rig({ store, budgets, ...options }, script);
  box.now = () => r.clock.now();
  let held: { ratePerMs: number; burst: number; until: number } | undefined;
  store.script = (request: StoreRequest): Partial<StoreReply> => {
    const now = r.clock.now();
    if (held !== undefined && now >= held.until) held = undefined;
    const { lease } = request;
    let tokens = 0;
    if (lease === 'release') held = undefined;
    else if (lease !== undefined && !refuse) {
      if (held === undefined) tokens = lease.burst;
      held = { ratePerMs: lease.ratePerMs, burst: held?.burst ?? lease.burst, until: now + lease.ttlMs };
    }
    return held === undefined ? {} : { lease: { ...held, tokens, ttlMs: held.until - now } };
  };
  return { ...r, store, watched };
}

type LeasingRig = ReturnType<typeof leasingRig>;

const steady = (r: LeasingRig, count: number, gapMs: number) => steadyTo(r, URL_A, count, gapMs);

describe('rate leases', () => {
  it('a client sending one request at a time leases 1.5 times its rate, sends on it with no store call, and renews it before it ends', async () => {
    const r = leasingRig();
    const waits = await steady(r, 100, 200);
    expect(waits.every((w) => w === 0)).toBe(true);
    // The second request's call asks for the lease: 1.5 × one request per 200 ms, within 80 % of 40/s shared by one.
    expect(r.store.calls[1]!.request.lease).toEqual({
      ratePerMs: 1.5 / 200,
      minRatePerMs: 1 / 200,
      burst: 1,
      ttlMs: 10_000,
      maxShare: 0.8,
    });
    // 100 requests over 20 s: two calls, then one renewal every 7.5 s.
    console.info(`[leases] 100 requests, one every 200 ms: ${r.store.calls.length} store calls`);
    expect(r.store.calls.length).toBeLessThanOrEqual(5);
    expect(r.rw.stats()[0]!.store!.lease).toBeCloseTo(7.5);
    const renewals = r.store.calls.slice(2);
    expect(renewals.every((c) => c.request.want === 0 && c.request.lease !== undefined)).toBe(true);
  });

  it('holds no lease with a store that does not push pauses: it could not hear of one in time', async () => {
    const r = leasingRig({}, undefined, { watching: false });
    await steady(r, 20, 200);
    expect(r.store.calls.every((c) => c.request.lease === undefined)).toBe(true);
    expect(r.rw.stats()[0]!.store!.lease).toBe(0);
  });

  it('a pause pushed to a lease holder stops it at once, with no store call', async () => {
    const r = leasingRig();
    await steady(r, 5, 200);
    expect(r.rw.stats()[0]!.store!.lease).toBeGreaterThan(0);
    const calls = r.store.calls.length;
    r.watched.push(KEY, { forMs: 1000, orderedForMs: 1000 });
    const pausedAt = r.clock.now();
    const call = track(r.rw.fetch(URL_A), r.clock);
    await advance(r.clock, 999);
    expect(call.state).toBe('pending');
    await advance(r.clock, 1);
    expect(call.state).toBe('fulfilled');
    expect(r.server.sentAt.at(-1)).toBe(pausedAt + 1000);
    expect(r.eventsOf('paused')).toEqual([{ key: KEY, until: pausedAt + 1000, reason: 'shared', status: undefined }]);
    expect(r.store.calls).toHaveLength(calls);
  });

  it('while pushes do not arrive (the subscriber connection down), the lease goes unused: each request asks the store', async () => {
    const r = leasingRig();
    const store = r.watched;
    await steady(r, 5, 200);
    const calls = r.store.calls.length;
    store.live = false;
    await steady(r, 4, 200);
    expect(r.store.calls.length).toBeGreaterThanOrEqual(calls + 2);
    expect(r.store.calls.slice(calls).every((c) => c.request.lease === undefined)).toBe(true);
    store.live = true;
    const after = r.store.calls.length;
    await steady(r, 5, 200);
    expect(r.store.calls).toHaveLength(after);
  });

  it('an idle client arms no timer: its lease ends where it is; close() hands back one still held', async () => {
    const r = leasingRig();
    await steady(r, 5, 200);
    await advance(r.clock, 20_000);
    expect(r.clock.pending()).toBe(0);
    expect(r.rw.stats()[0]!.store!.lease).toBe(0);
    // Ended: the next request asks the store.
    const calls = r.store.calls.length;
    await steady(r, 3, 200);
    expect(r.store.calls.length).toBeGreaterThan(calls);
    expect(r.rw.stats()[0]!.store!.lease).toBeGreaterThan(0);
    await r.rw.close();
    expect(r.store.calls.at(-1)!.request).toMatchObject({ want: 0, lease: 'release' });
    expect(r.watched.watching(KEY)).toBe(0);
  });

  it('asks for no lease for a burst: requests queue, or it sends near its share of the rate', async () => {
    const r = leasingRig();
    const calls = Array.from({ length: 20 }, (_, i) => track(r.rw.fetch(`${URL_A}${i}`), r.clock));
    await advance(r.clock, 1000);
    expect(calls.every((c) => c.state === 'fulfilled')).toBe(true);
    expect(r.store.calls.every((c) => c.request.lease === undefined)).toBe(true);
  });

  it('a lease refused is not asked for again with a call of its own for 5 s', async () => {
    const r = leasingRig({}, undefined, { refuse: true });
    await steady(r, 30, 200);
    const ownCalls = r.store.calls.filter((c) => c.request.want === 0 && c.request.lease !== undefined);
    // 6 s of sending: the first refusal, and one more 5 s later.
    expect(ownCalls.length).toBeLessThanOrEqual(2);
  });

  it("hands the lease back once the server describes its quota: leased requests are not in the store's counts", async () => {
    const r = leasingRig({}, (call) => (call.index < 5 ? ok() : ok(quota(100, 90, 60))));
    await steady(r, 5, 200);
    expect(r.rw.stats()[0]!.store!.lease).toBeGreaterThan(0);
    await steady(r, 10, 200);
    expect(r.rw.stats()[0]!.store!.lease).toBe(0);
    const released = r.store.calls.findIndex((c) => c.request.lease === 'release');
    expect(released).toBeGreaterThan(0);
    expect(r.store.calls.slice(released + 1).every((c) => c.request.lease === undefined)).toBe(true);
  });
});
