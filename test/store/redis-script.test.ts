// The Redis store's one script, against a real redis-server through each client library: the shared bucket with
// reservations, the shared pause, the server's view, bad data, expiry, and a script cache emptied under it.
// Rates are slow (per hour) so that the milliseconds these tests take do not move a figure they check.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { redisStore } from '../../src/store/redis.js';
import type { RatewiseStore, StoreLeaseAsk, StorePauseNotice, StoreRequest, StoreUnit } from '../../src/store/types.js';
import { REDIS_CLIENTS, type ConnectedRedisClient } from '../support/redis-clients.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const HOUR = 3_600_000;
/** Slack for the time the test itself takes, against hour-long waits. */
const SLACK = 5000;
const perHour = (limit: number, capacity = limit) => [{ limit, intervalMs: HOUR, capacity }];
const ask = (request: Partial<StoreRequest>): StoreRequest => ({
  limits: [],
  want: 1,
  need: request.want ?? 1,
  maxWaitMs: 0,
  ...request,
});

/**
 * `client` as a subscriber for redisStore, with a promise that resolves once its first SUBSCRIBE is confirmed (before
 * the store itself hears of it).
 */
function watchSubscriptions(client: unknown): { subscriber: unknown; subscribed: Promise<void> } {
  let confirmed!: () => void;
  const subscribed = new Promise<void>((resolve) => {
    confirmed = resolve;
  });
  const target = client as Record<string | symbol, unknown>;
  const subscriber = new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (property !== 'subscribe') return method.bind(object);
      return (...args: unknown[]) => {
        const done = Promise.resolve(method.apply(object, args));
        done.then(confirmed, () => undefined);
        return done;
      };
    },
  });
  return { subscriber, subscribed };
}

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe.each(REDIS_CLIENTS)('the Redis store script through $name', (library) => {
  let connection: ConnectedRedisClient;
  let store: RatewiseStore;
  beforeAll(async () => {
    connection = await library.connect(redis.url);
  });
  afterAll(async () => {
    await connection.close();
  });
  beforeEach(async () => {
    await connection.send(['FLUSHALL']);
    // Counters exact (no reorder span), so that the tests can name them whatever time passes between two calls.
    store = redisStore(connection.client as never, { prefix: 'test:', reorderMs: 0 });
  });
  const hash = async (key: string): Promise<Record<string, string>> => {
    const reply = await connection.send(['HGETALL', `test:{${key}}`]);
    if (Array.isArray(reply)) {
      const out: Record<string, string> = {};
      for (let i = 0; i < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
      return out;
    }
    return reply as Record<string, string>;
  };

  it('grants the burst at once, then reserves tokens ahead, and refuses beyond maxWaitMs', async () => {
    const limits = perHour(2);
    expect(await store.sync('k', ask({ limits }))).toMatchObject({ granted: 1, waitMs: 0, reason: undefined });
    expect(await store.sync('k', ask({ limits }))).toMatchObject({ granted: 1, waitMs: 0 });
    // The bucket is empty: the next token comes in half an hour. Within maxWaitMs it is reserved.
    const reserved = await store.sync('k', ask({ limits, maxWaitMs: HOUR }));
    expect(reserved).toMatchObject({ granted: 1, reason: 'rate' });
    expect(reserved.waitMs).toBeGreaterThan(HOUR / 2 - SLACK);
    expect(reserved.waitMs).toBeLessThanOrEqual(HOUR / 2);
    // The one after that is an hour away: beyond a maxWaitMs of 45 minutes, refused with the wait.
    const refused = await store.sync('k', ask({ limits, maxWaitMs: (HOUR * 3) / 4 }));
    expect(refused).toMatchObject({ granted: 0, reason: 'rate' });
    expect(refused.waitMs).toBeGreaterThan(HOUR - SLACK);
    expect(refused.waitMs).toBeLessThanOrEqual(HOUR);
  });

  it('grants a batch only when every one of several rates allows it', async () => {
    const limits = [...perHour(100, 10), { limit: 3, intervalMs: 24 * HOUR, capacity: 3 }];
    expect(await store.sync('k', ask({ limits, want: 3 }))).toMatchObject({ granted: 3, waitMs: 0 });
    const daily = await store.sync('k', ask({ limits, want: 1, maxWaitMs: 0 }));
    expect(daily).toMatchObject({ granted: 0, reason: 'rate' });
    expect(daily.waitMs).toBeGreaterThan(8 * HOUR - SLACK);
  });

  it('admits a cost above the capacity when the bucket is full, leaving a debt', async () => {
    const limits = perHour(10, 4);
    expect(await store.sync('k', ask({ limits, want: 6 }))).toMatchObject({ granted: 6, waitMs: 0 });
    const next = await store.sync('k', ask({ limits, maxWaitMs: 0 }));
    expect(next.granted).toBe(0);
    // Two tokens of debt and one to take: three tenths of an hour.
    expect(next.waitMs).toBeGreaterThan(0.3 * HOUR - SLACK);
    expect(next.waitMs).toBeLessThanOrEqual(0.3 * HOUR);
  });

  it('shares a pause: the latest end wins, and it holds every grant until it ends', async () => {
    await store.sync('k', ask({ want: 0, pause: { forMs: 60_000, orderedForMs: 55_000 } }));
    await store.sync('k', ask({ want: 0, pause: { forMs: 30_000, orderedForMs: 30_000 } }));
    const reply = await store.sync('k', ask({ want: 1 }));
    expect(reply).toMatchObject({ granted: 0, reason: 'paused' });
    expect(reply.pausedForMs).toBeGreaterThan(60_000 - SLACK);
    expect(reply.orderedForMs).toBeGreaterThan(55_000 - SLACK);
    expect(reply.orderedForMs).toBeLessThanOrEqual(reply.pausedForMs);
    expect(reply.waitMs).toBe(reply.pausedForMs);
  });

  it("shares the server's view: grants stop when its quota is spent, and a later window starts afresh", async () => {
    await store.sync('k', ask({ want: 0, view: { remaining: 3, resetInMs: 60_000 } }));
    // Asking for 5 with 3 left grants the 3.
    expect(await store.sync('k', ask({ want: 5, need: 1 }))).toMatchObject({ granted: 3 });
    const spent = await store.sync('k', ask({ want: 1 }));
    expect(spent).toMatchObject({ granted: 0, reason: 'server' });
    expect(spent.waitMs).toBeGreaterThan(60_000 - SLACK);
    // A reading of the same window with more left (it answered a request sent earlier) does not add quota.
    await store.sync('k', ask({ want: 0, view: { remaining: 2, resetInMs: 59_500 } }));
    expect(await store.sync('k', ask({ want: 1 }))).toMatchObject({ granted: 0, reason: 'server' });
    // An older window's reading is ignored; a later window's replaces the view.
    await store.sync('k', ask({ want: 0, view: { remaining: 9, resetInMs: 1000 } }));
    expect(await store.sync('k', ask({ want: 1 }))).toMatchObject({ granted: 0, reason: 'server' });
    await store.sync('k', ask({ want: 0, view: { remaining: 9, resetInMs: 120_000 } }));
    expect(await store.sync('k', ask({ want: 2 }))).toMatchObject({ granted: 2, reason: undefined });
  });

  it('counts what was granted after the request a view answers: the grant counter', async () => {
    const first = await store.sync('k', ask({ want: 1 }));
    expect(first.counter).toBe(1);
    // Four more granted (other clients) before the answer to the first request comes in.
    expect((await store.sync('k', ask({ want: 4 }))).counter).toBe(5);
    // The server said 6 left after the first request: 4 of them are granted already.
    await store.sync('k', ask({ want: 0, view: { remaining: 6, resetInMs: 60_000, counter: first.counter } }));
    expect(await store.sync('k', ask({ want: 3, need: 1 }))).toMatchObject({ granted: 2, counter: 7 });
    expect(await store.sync('k', ask({ want: 1 }))).toMatchObject({ granted: 0, reason: 'server' });
  });

  it('corrects a view by the requests granted shortly before its request too: they may reach the server later', async () => {
    // Within the reorder span (an hour here, so that the test's own milliseconds cannot matter), a grant's counter
    // leaves out what was granted before it; with a span of 0 it is exact.
    for (const [reorderMs, leftAfter] of [
      [HOUR, 1],
      [0, 4],
    ] as const) {
      await connection.send(['FLUSHALL']);
      const wide = redisStore(connection.client as never, { prefix: 'test:', reorderMs });
      // Granted first, they reach the server second; the answer to the ones granted after them does not count them.
      expect(await wide.sync('k', ask({ want: 3 }))).toMatchObject({ granted: 3, counter: 3 });
      const second = await wide.sync('k', ask({ want: 5 }));
      expect(second).toMatchObject({ granted: 5, counter: reorderMs === 0 ? 8 : 5 });
      // The server says 4 left after the second grant's requests: by the store's count, 4 less what it may not hold.
      const view = { remaining: 4, resetInMs: HOUR, counter: second.counter };
      await wide.sync('k', ask({ want: 0, view }));
      expect(await wide.sync('k', ask({ want: 9, need: 1 }))).toMatchObject({ granted: leftAfter });
      // The samples are not fields of the budget's hash, where an earlier release's script would take them for bad
      // data and throw the budget away.
      expect(Object.keys(await hash('k')).sort()).toEqual(['g', 'sr', 'sx', 'v']);
    }
  });

  it("trusts no sample of the requests' counter taken before the counter started afresh", async () => {
    const wide = redisStore(connection.client as never, { prefix: 'test:', reorderMs: HOUR });
    // Samples left in the units' hash from a budget hash that has expired since (the counter was 200, long ago).
    await connection.send(['HSET', 'test:{k}:units', '|l1', '100', '|l2', '200', '|l2t', '0']);
    expect(await wide.sync('k', ask({ want: 1 }))).toMatchObject({ granted: 1, counter: 1 });
    // The second grant's counter leaves out the first, granted within the reorder span.
    expect(await wide.sync('k', ask({ want: 1 }))).toMatchObject({ granted: 1, counter: 1 });
  });

  it("returns how far a grant's counter is below the exact one, and an exact counter after a quiet span", async () => {
    const wide = redisStore(connection.client as never, { prefix: 'test:', reorderMs: HOUR });
    const first = await wide.sync('k', ask({ want: 3 }));
    expect(first).toMatchObject({ granted: 3, counter: 3 });
    expect(first.counterSpan).toBeUndefined();
    // Granted within the span after the first: its counter leaves those 3 out, and says so.
    expect(await wide.sync('k', ask({ want: 5 }))).toMatchObject({ granted: 5, counter: 5, counterSpan: 3 });
    // The last grant long ago (its time set back): nothing was granted within the span, the counter is exact.
    await connection.send(['HSET', 'test:{k}:units', '|lt', '0', '|l2t', '0']);
    const quiet = await wide.sync('k', ask({ want: 1 }));
    expect(quiet).toMatchObject({ granted: 1, counter: 9 });
    expect(quiet.counterSpan).toBeUndefined();
  });

  it.each([
    // The server counted the second grant's 5 only: the first grant's 3 are on their way, 2 are left for others.
    ['the first grant not counted yet', 5, 2],
    // The server counted both grants: nothing is on its way, and its 2 left are what is left.
    ['both grants counted', 2, 2],
    // The server counted 4 of another client's besides the second grant's 5: the first grant's 3 may be among them.
    ["another client's counted too", 1, 1],
  ])(
    "corrects a window's first view by what was granted in the window less what the server counted (%s)",
    async (_, remaining, leftAfter) => {
      const wide = redisStore(connection.client as never, { prefix: 'test:', reorderMs: HOUR });
      await wide.sync('k', ask({ want: 3 }));
      const second = await wide.sync('k', ask({ want: 5 }));
      const view = { remaining, resetInMs: HOUR, counter: second.counter, span: second.counterSpan, limit: 10 };
      await wide.sync('k', ask({ want: 0, view }));
      expect(await wide.sync('k', ask({ want: 9, need: 1 }))).toMatchObject({ granted: leftAfter });
    },
  );

  it("corrects a view by the whole span without the quota's limit, or when its window began before the store's", async () => {
    const wide = redisStore(connection.client as never, { prefix: 'test:', reorderMs: HOUR });
    await wide.sync('k', ask({ want: 3 }));
    const second = await wide.sync('k', ask({ want: 5 }));
    // Both grants counted (2 of 10 left), but no limit said: the first grant's 3 may still be on their way.
    const view = { remaining: 2, resetInMs: HOUR, counter: second.counter, span: second.counterSpan };
    await wide.sync('k', ask({ want: 0, view }));
    expect(await wide.sync('k', ask({ want: 9, need: 1 }))).toMatchObject({ granted: 0, reason: 'server' });

    // A start counter taken for a window that has ended (its reset long gone) is not this window's: the next grant
    // takes a new one, the counter as it was the span before it. Samples: the counter was 4, then 6 within the span
    // (their time ahead of Redis's clock, so that the test's milliseconds cannot take them out of it).
    await connection.send(['FLUSHALL']);
    await connection.send(['HSET', 'test:{k}', 'v', '1', 'g', '6']);
    const future = String(Date.now() + HOUR);
    await connection.send(['HSET', 'test:{k}:units', '|w0', '0', '|w0x', '1', '|l1', '4', '|l2', '6', '|l2t', future]);
    const third = await wide.sync('k', ask({ want: 2 }));
    expect(third).toMatchObject({ granted: 2, counter: 6, counterSpan: 2 });
    // The server counted the 2 granted before (within the span) and these 2 in its new window: 6 of 10 left. What
    // was granted since the start counter (4) is what it counted: nothing is on its way.
    const late = { remaining: 6, resetInMs: HOUR, counter: third.counter, span: third.counterSpan, limit: 10 };
    await wide.sync('k', ask({ want: 0, view: late }));
    expect(await wide.sync('k', ask({ want: 9, need: 1 }))).toMatchObject({ granted: 6 });
  });

  it.each([
    ['another type', ['SET', 'test:{k}', 'hello']],
    ['a garbage number', ['HSET', 'test:{k}', 't1', 'garbage']],
    ['a NaN', ['HSET', 'test:{k}', 't1', 'nan']],
    ['a foreign field', ['HSET', 'test:{k}', '__proto__', '1']],
    ['a missing version', ['HDEL', 'test:{k}', 'v']],
  ])('throws away bad data (%s) and starts the budget afresh', async (_, command) => {
    const limits = perHour(2);
    await store.sync('k', ask({ limits, want: 2 }));
    await connection.send(command);
    expect(await store.sync('k', ask({ limits, want: 2 }))).toMatchObject({ granted: 2, waitMs: 0 });
    expect(await hash('k')).toMatchObject({ v: '1' });
  });

  it('lets a key expire once its state is what a new key would have', async () => {
    await store.sync('k', ask({ limits: [{ limit: 10, intervalMs: 1000, capacity: 10 }], want: 5 }));
    const ttl = Number(await connection.send(['PTTL', 'test:{k}']));
    // Five tokens refill in 500 ms: the key lives at least a second, plus a second of margin.
    expect(ttl).toBeGreaterThan(1000);
    expect(ttl).toBeLessThanOrEqual(2000);
    await store.sync('slow', ask({ limits: perHour(10), want: 5 }));
    // Five tokens of ten an hour refill in half an hour.
    expect(Number(await connection.send(['PTTL', 'test:{slow}']))).toBeGreaterThan(HOUR / 2);
    await store.sync('p', ask({ want: 0, pause: { forMs: HOUR, orderedForMs: HOUR } }));
    expect(Number(await connection.send(['PTTL', 'test:{p}']))).toBeGreaterThan(HOUR);
  });

  it("lets the units' hash expire with the budget's hash: each call does not add to its life", async () => {
    // Ten units refill in 10 ms: each key lives a second, plus a second of margin, however many calls it has seen.
    const limits = [{ limit: 1000, intervalMs: 1000, capacity: 1000 }];
    const units = [{ name: 'tokens', limits, want: 1 }];
    for (const more of [{}, { units }]) {
      await connection.send(['FLUSHALL']);
      for (let i = 0; i < 10; i++)
        expect(await store.sync('k', ask({ limits, ...more }))).toMatchObject({ granted: 1 });
      const ttl = Number(await connection.send(['PTTL', 'test:{k}:units']));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(2000);
    }
  });

  it('holds shared slots: at most `max` at once, each until released or its lease ends', async () => {
    const slots = (take: string | undefined, release: string[] = []) => ({ max: 2, ttlMs: HOUR, take, release });
    expect(await store.sync('k', ask({ slots: slots('a') }))).toMatchObject({ granted: 1 });
    expect(await store.sync('k', ask({ slots: slots('b') }))).toMatchObject({ granted: 1 });
    const full = await store.sync('k', ask({ slots: slots('c') }));
    expect(full).toMatchObject({ granted: 0, reason: 'concurrency' });
    // The wait is until the first lease ends: an hour from now.
    expect(full.waitMs).toBeGreaterThan(HOUR - SLACK);
    // Giving one back frees it in the same call that takes the next.
    expect(await store.sync('k', ask({ slots: slots('c', ['a']) }))).toMatchObject({ granted: 1 });
    expect(await connection.send(['ZCARD', 'test:{k}:slots'])).toBe(2);
    // A lease that has ended frees its slot without a release (a crashed process): here its end is set in the past.
    const one = (take: string) => ask({ slots: { max: 1, ttlMs: HOUR, take, release: [] } });
    expect(await store.sync('short', one('x'))).toMatchObject({ granted: 1 });
    expect(await store.sync('short', one('y'))).toMatchObject({ granted: 0, reason: 'concurrency' });
    await connection.send(['ZADD', 'test:{short}:slots', '0', 'x']);
    expect(await store.sync('short', one('y'))).toMatchObject({ granted: 1 });
  });

  it('throws away a slots key of another type', async () => {
    await connection.send(['SET', 'test:{k}:slots', 'hello']);
    const reply = await store.sync('k', ask({ slots: { max: 1, ttlMs: HOUR, take: 'a', release: [] } }));
    expect(reply.granted).toBe(1);
    expect(await connection.send(['TYPE', 'test:{k}:slots'])).toBe('zset');
  });

  it('puts units given back in the buckets, never above their capacity', async () => {
    const limits = perHour(2);
    expect(await store.sync('k', ask({ limits, want: 2 }))).toMatchObject({ granted: 2 });
    expect(await store.sync('k', ask({ limits }))).toMatchObject({ granted: 0 });
    // One unit of the grant went unused: it comes back, and is granted again at once.
    expect(await store.sync('k', ask({ limits, want: 0, giveBack: 1 }))).toMatchObject({ granted: 0 });
    expect(await store.sync('k', ask({ limits }))).toMatchObject({ granted: 1, waitMs: 0 });
    expect(await store.sync('k', ask({ limits }))).toMatchObject({ granted: 0 });
    // More than was taken: the bucket holds its capacity, no more.
    await store.sync('k', ask({ limits, want: 0, giveBack: 10 }));
    expect(await store.sync('k', ask({ limits, want: 2 }))).toMatchObject({ granted: 2, waitMs: 0 });
    expect(await store.sync('k', ask({ limits }))).toMatchObject({ granted: 0 });
  });

  describe('units other than requests', () => {
    const tokens = (want: number, more: Partial<StoreUnit> = {}): StoreUnit => ({
      name: 'tokens',
      limits: perHour(1000),
      want,
      ...more,
    });

    it('grants every unit with the requests, or nothing, and names the unit that held the grant', async () => {
      const first = await store.sync('k', ask({ limits: perHour(100), units: [tokens(800)] }));
      expect(first).toMatchObject({ granted: 1, waitMs: 0, unitCounters: [800] });
      expect(first.unit).toBeUndefined();
      // 200 tokens left: 300 more come in 6 minutes (1,000 an hour), beyond a maxWaitMs of 0.
      const held = await store.sync('k', ask({ limits: perHour(100), units: [tokens(300)] }));
      expect(held).toMatchObject({ granted: 0, reason: 'rate', unit: 'tokens', unitCounters: [800] });
      expect(held.waitMs).toBeGreaterThan(6 * 60_000 - SLACK);
      expect(held.waitMs).toBeLessThanOrEqual(6 * 60_000);
      // A call without units is not held by them, and nothing was taken by the refusal: 98 requests are left.
      expect(await store.sync('k', ask({ limits: perHour(100), want: 1 }))).toMatchObject({ granted: 1 });
      expect(await store.sync('k', ask({ limits: perHour(100), want: 98 }))).toMatchObject({ granted: 98 });
      expect(await store.sync('k', ask({ limits: perHour(100), want: 1 }))).toMatchObject({ granted: 0 });
    });

    it("holds grants by the server's count of a unit that refills evenly, corrected by what was granted since", async () => {
      // No local limit: only what the server said holds the grants.
      const free = (want: number, more: Partial<StoreUnit> = {}): StoreUnit => tokens(want, { limits: [], ...more });
      expect(await store.sync('k', ask({ units: [free(300)] }))).toMatchObject({ granted: 1, unitCounters: [300] });
      expect(await store.sync('k', ask({ units: [free(300)] }))).toMatchObject({ granted: 1, unitCounters: [600] });
      // An answer to the first request (granted at counter 300): 1,000 left of 10,000, whole again in an hour. The
      // second grant is not in that count yet: 700 left.
      const view = { remaining: 1000, limit: 10_000, resetInMs: HOUR, refill: 'continuous' as const, counter: 300 };
      expect(await store.sync('k', ask({ units: [free(700, { view })] }))).toMatchObject({ granted: 1 });
      // Spent: 9,000 come back in an hour (150 a minute), so 600 in 4 minutes.
      const held = await store.sync('k', ask({ units: [free(600)] }));
      expect(held).toMatchObject({ granted: 0, reason: 'server', unit: 'tokens' });
      expect(held.waitMs).toBeGreaterThan(4 * 60_000 - SLACK);
      expect(held.waitMs).toBeLessThanOrEqual(4 * 60_000);
      // Units of a grant that went unused come back to the count.
      expect(await store.sync('k', ask({ want: 0, units: [free(0, { giveBack: 600 })] }))).toMatchObject({
        granted: 0,
      });
      expect(await store.sync('k', ask({ units: [free(600)] }))).toMatchObject({ granted: 1 });
    });

    it('takes a view told late as refilled since its answer, at the rate the answer implies', async () => {
      const free = (want: number, more: Partial<StoreUnit> = {}): StoreUnit => tokens(want, { limits: [], ...more });
      const first = await store.sync('k', ask({ units: [free(100)] }));
      // Granted after it: not in its answer's count.
      expect(await store.sync('k', ask({ units: [free(2000)] }))).toMatchObject({ granted: 1 });
      // The answer, told half an hour after it came: 4,000 of 10,000 were left, whole an hour after the answer, so
      // 100 come back a minute (not 200: the half hour that has passed is not the whole span).
      const view = {
        remaining: 4000,
        limit: 10_000,
        resetInMs: HOUR / 2,
        ageMs: HOUR / 2,
        refill: 'continuous' as const,
        counter: first.unitCounters![0]!,
      };
      // 4,000, and 3,000 back since, less the 2,000 granted after: 5,000 may go now.
      expect(await store.sync('k', ask({ units: [free(5000, { view })] }))).toMatchObject({ granted: 1 });
      const held = await store.sync('k', ask({ units: [free(100)] }));
      expect(held).toMatchObject({ granted: 0, reason: 'server', unit: 'tokens' });
      expect(held.waitMs).toBeGreaterThan(60_000 - SLACK);
      expect(held.waitMs).toBeLessThanOrEqual(60_000);
    });

    it('corrects a view by what was granted shortly before its request too: that may reach the server later', async () => {
      const free = (want: number, more: Partial<StoreUnit> = {}): StoreUnit => tokens(want, { limits: [], ...more });
      // Within the reorder span (an hour here, so that the test's own milliseconds cannot matter), a grant's counter
      // leaves out what was granted before it; with a span of 0 it is exact.
      for (const [reorderMs, leftAfter] of [
        [HOUR, 700],
        [0, 1000],
      ] as const) {
        await connection.send(['FLUSHALL']);
        const wide = redisStore(connection.client as never, { prefix: 'test:', reorderMs });
        // Granted first, it reaches the server second; the answer to the one granted after it does not count it.
        expect(await wide.sync('k', ask({ units: [free(300)] }))).toMatchObject({ granted: 1, unitCounters: [300] });
        const second = await wide.sync('k', ask({ units: [free(500)] }));
        expect(second.unitCounters).toEqual([reorderMs === 0 ? 800 : 500]);
        const view = {
          remaining: 1000,
          limit: 10_000,
          resetInMs: HOUR,
          refill: 'continuous' as const,
          counter: second.unitCounters![0]!,
        };
        // What is left by the store's count decides whether 800 may go now (9,000 an hour come back: 0.15 a minute).
        expect(await wide.sync('k', ask({ units: [free(800, { view })] }))).toMatchObject(
          leftAfter >= 800 ? { granted: 1 } : { granted: 0, reason: 'server', unit: 'tokens' },
        );
      }
    });

    it("holds grants by a fixed window's count until its reset", async () => {
      const view = { remaining: 0, limit: 500, resetInMs: HOUR, refill: 'window' as const };
      const held = await store.sync('k', ask({ units: [tokens(10, { limits: [], view })] }));
      expect(held).toMatchObject({ granted: 0, reason: 'server', unit: 'tokens' });
      expect(held.waitMs).toBeGreaterThan(HOUR - SLACK);
      // A later window, whole: granted, and counted.
      const next = { remaining: 500, limit: 500, resetInMs: 2 * HOUR, refill: 'window' as const };
      expect(await store.sync('k', ask({ units: [tokens(400, { limits: [], view: next })] }))).toMatchObject({
        granted: 1,
      });
      expect(await store.sync('k', ask({ units: [tokens(200, { limits: [] })] }))).toMatchObject({
        granted: 0,
        reason: 'server',
      });
    });

    it('settles what calls used beyond their estimate (or below it) in the buckets', async () => {
      expect(await store.sync('k', ask({ units: [tokens(500)] }))).toMatchObject({ granted: 1 });
      // The call used 900: 400 more are taken; 100 are left.
      expect(await store.sync('k', ask({ want: 0, units: [tokens(0, { settle: 400 })] }))).toMatchObject({
        granted: 0,
      });
      expect(await store.sync('k', ask({ units: [tokens(200)] }))).toMatchObject({ granted: 0, unit: 'tokens' });
      // Another used 300 less than its estimate: they come back.
      await store.sync('k', ask({ want: 0, units: [tokens(0, { settle: -300 })] }));
      expect(await store.sync('k', ask({ units: [tokens(200)] }))).toMatchObject({ granted: 1 });
    });

    it('keeps units apart by name, and throws away bad data in their hash', async () => {
      const both = [tokens(900), { name: 'images', limits: perHour(2), want: 2 }];
      expect(await store.sync('k', ask({ units: both }))).toMatchObject({ granted: 1, unitCounters: [900, 2] });
      expect(await store.sync('k', ask({ units: [{ name: 'images', limits: perHour(2), want: 1 }] }))).toMatchObject({
        granted: 0,
        unit: 'images',
      });
      expect(await store.sync('k', ask({ units: [tokens(100)] }))).toMatchObject({ granted: 1 });
      await connection.send(['HSET', 'test:{k}:units', 'tokens|t1', 'not a number']);
      // Started afresh: a full bucket of tokens, and the requests' state untouched.
      expect(await store.sync('k', ask({ units: [tokens(1000)] }))).toMatchObject({ granted: 1, unitCounters: [1000] });
      expect(await hash('k')).toMatchObject({ v: '1' });
    });
  });

  describe("an origin's learned routes", () => {
    const none = { groups: [], routes: [] };

    it('keeps what each client learnt: the first host group and name groups, the latest bucket of a route', async () => {
      expect(await store.routes!('o', none, 10)).toEqual({ host: undefined, groups: [], routes: [] });
      const a = await store.routes!(
        'o',
        { host: 'core', groups: [['search-day', 'search']], routes: [['GET /search/*', '=search']] },
        10,
      );
      expect(a).toEqual({ host: 'core', groups: [['search-day', 'search']], routes: [['GET /search/*', '=search']] });
      // Another client learnt its own host group first, and a bucket for the same route: the host stays, the route
      // takes the latest bucket, and a name keeps its first group.
      const b = await store.routes!(
        'o',
        { host: 'other', groups: [['search-day', 'elsewhere']], routes: [['GET /search/*', 'search']] },
        10,
      );
      expect(b.host).toBe('core');
      expect(b.groups).toEqual([['search-day', 'search']]);
      expect(b.routes).toEqual([['GET /search/*', 'search']]);
      // Kept apart per origin, and for a day at most.
      expect((await store.routes!('p', none, 10)).routes).toEqual([]);
      const ttl = Number(await connection.send(['PTTL', 'test:{o}:routes']));
      expect(ttl).toBeGreaterThan(86_000_000);
      expect(ttl).toBeLessThanOrEqual(86_400_000);
    });

    it('starts afresh past its bound, and throws away a key of another type', async () => {
      const many = Array.from({ length: 12 }, (_, i) => [`GET /r${i}`, 'b'] as const);
      await store.routes!('o', { groups: [], routes: many }, 2);
      const next = await store.routes!('o', { groups: [], routes: [['GET /new', 'n']] }, 2);
      expect(next.routes).toEqual([['GET /new', 'n']]);
      await connection.send(['SET', 'test:{o}:routes', 'x']);
      expect((await store.routes!('o', { groups: [], routes: [['GET /a', 'a']] }, 2)).routes).toEqual([
        ['GET /a', 'a'],
      ]);
    });
  });

  it('counts the live clients of a budget: each counted from its call until its ttl has passed', async () => {
    const client = (id: string, ttlMs = HOUR) => ({ id, ttlMs });
    expect(await store.sync('k', ask({ client: client('a') }))).toMatchObject({ clients: 1 });
    expect(await store.sync('k', ask({ want: 0, client: client('b') }))).toMatchObject({ clients: 2 });
    expect(await store.sync('k', ask({ client: client('a') }))).toMatchObject({ clients: 2 });
    // A call without a client id counts, but is not counted.
    expect(await store.sync('k', ask({}))).toMatchObject({ clients: 2 });
    expect(await store.sync('other', ask({ client: client('a') }))).toMatchObject({ clients: 1 });
    // Silent for longer than its ttl: no longer counted (the scores are Redis ms: one an hour old is long gone).
    const now = Number(((await connection.send(['TIME'])) as string[])[0]) * 1000;
    await connection.send(['ZADD', 'test:{k}:clients', String(now - 2 * HOUR), 'b']);
    expect(await store.sync('k', ask({ client: client('a') }))).toMatchObject({ clients: 1 });
    expect(await connection.send(['PTTL', 'test:{k}:clients'])).toBeGreaterThan(HOUR);
  });

  it('throws away a clients key of another type', async () => {
    await connection.send(['SET', 'test:{k}:clients', 'hello']);
    expect(await store.sync('k', ask({ client: { id: 'a', ttlMs: HOUR } }))).toMatchObject({ granted: 1, clients: 1 });
    expect(await connection.send(['TYPE', 'test:{k}:clients'])).toBe('zset');
  });

  it('loads the script again after Redis lost it (a restart, SCRIPT FLUSH)', async () => {
    await store.sync('k', ask({}));
    await connection.send(['SCRIPT', 'FLUSH']);
    expect(await store.sync('k', ask({}))).toMatchObject({ granted: 1 });
  });

  describe('rate leases', () => {
    const lease = (perHour: number, more: Partial<StoreLeaseAsk> = {}): StoreLeaseAsk => ({
      ratePerMs: perHour / HOUR,
      minRatePerMs: 0,
      burst: 2,
      ttlMs: HOUR,
      maxShare: 0.8,
      ...more,
    });
    const as = (id: string, request: Partial<StoreRequest>): StoreRequest =>
      ask({ want: 0, client: { id, ttlMs: HOUR }, ...request });
    const redisNow = async (): Promise<number> => {
      const [seconds, micros] = (await connection.send(['TIME'])) as string[];
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    };

    it('leases parts of the rate within the share, each with a burst: the shared bucket refills slower and holds less', async () => {
      const limits = perHour(100, 10);
      const a = await store.sync('k', as('a', { limits, lease: lease(40) }));
      expect(a.lease).toMatchObject({ burst: 2, tokens: 2 });
      expect(a.lease!.ratePerMs).toBeCloseTo(40 / HOUR, 12);
      expect(a.lease!.ttlMs).toBeGreaterThan(HOUR - SLACK);
      // 80 of the 100 an hour may be leased: 40 are left of the 50 asked.
      const b = await store.sync('k', as('b', { limits, lease: lease(50, { minRatePerMs: 10 / HOUR }) }));
      expect(b.lease).toMatchObject({ burst: 2, tokens: 2 });
      expect(b.lease!.ratePerMs).toBeCloseTo(40 / HOUR, 12);
      expect((await store.sync('k', as('c', { limits, lease: lease(10) }))).lease).toBeUndefined();
      // The shared bucket holds 10 − 2 − 2: six at once, then one every three minutes (the 20 an hour left).
      expect(await store.sync('k', ask({ limits, want: 6 }))).toMatchObject({ granted: 6, waitMs: 0 });
      const next = await store.sync('k', ask({ limits, maxWaitMs: HOUR }));
      expect(next).toMatchObject({ granted: 1, reason: 'rate' });
      expect(next.waitMs).toBeGreaterThan(180_000 - SLACK);
      expect(next.waitMs).toBeLessThanOrEqual(180_000);
      // Given back, units fill what the leases leave of the burst, no more.
      await store.sync('k', ask({ limits, want: 0, giveBack: 100 }));
      expect(await store.sync('k', ask({ limits, want: 6 }))).toMatchObject({ granted: 6, waitMs: 0 });
      expect(await store.sync('k', ask({ limits }))).toMatchObject({ granted: 0 });
    });

    it('a lease handed back returns its rate to the shared bucket at once', async () => {
      const limits = perHour(100, 10);
      await store.sync('k', as('a', { limits, lease: lease(80) }));
      expect(await store.sync('k', ask({ limits, want: 8 }))).toMatchObject({ granted: 8 });
      const slow = await store.sync('k', ask({ limits, want: 0.5, need: 0.5, maxWaitMs: 0 }));
      // Half a unit at the 20 an hour left: 90 s.
      expect(slow.waitMs).toBeGreaterThan(90_000 - SLACK);
      const back = await store.sync('k', as('a', { limits, lease: 'release' }));
      expect(back.lease).toBeUndefined();
      const fast = await store.sync('k', ask({ limits, want: 0.5, need: 0.5, maxWaitMs: 0 }));
      expect(fast.waitMs).toBeLessThanOrEqual(18_000);
      expect(await connection.send(['EXISTS', 'test:{k}:leases'])).toBe(0);
    });

    it('a lease that ended held its part of the rate until it ended, and no longer', async () => {
      const limits = perHour(100, 100);
      const now = await redisNow();
      // An empty bucket as of an hour ago, and a lease of 80 an hour that ended half an hour ago: 10 tokens came in
      // the first half hour, 50 in the second.
      await connection.send(['HSET', 'test:{k}', 'v', '1', 't1', '0', 'u1', String(now - HOUR)]);
      await connection.send(['HSET', 'test:{k}:leases', 'gone', `${80 / HOUR} 2 ${now - HOUR / 2}`]);
      expect(await store.sync('k', ask({ limits, want: 61 }))).toMatchObject({ granted: 0 });
      expect(await store.sync('k', ask({ limits, want: 60 }))).toMatchObject({ granted: 60 });
      expect(await connection.send(['HEXISTS', 'test:{k}:leases', 'gone'])).toBe(0);
    });

    it('a renewal lowers the rate at once, and raises it within the share, in debt for tokens owed', async () => {
      const limits = perHour(100, 10);
      await store.sync('k', as('a', { limits, lease: lease(40) }));
      await store.sync('k', as('b', { limits, lease: lease(40) }));
      expect((await store.sync('k', as('a', { limits, lease: lease(50) }))).lease!.ratePerMs).toBeCloseTo(40 / HOUR);
      expect((await store.sync('k', as('b', { limits, lease: lease(20) }))).lease!.ratePerMs).toBeCloseTo(20 / HOUR);
      // Renewed, not new: no token moves, and the burst stays what it was.
      const raised = await store.sync('k', as('a', { limits, lease: lease(50, { burst: 5 }) }));
      expect(raised.lease).toMatchObject({ burst: 2, tokens: 0 });
      expect(raised.lease!.ratePerMs).toBeCloseTo(50 / HOUR);
      // A reservation counts on the refill at the 30 an hour left: one token owed, repaid in two minutes. b's lease
      // is raised by 10 an hour, which it may spend only once those two minutes are over: a third of a unit in debt.
      await store.sync('k', ask({ limits, want: 6 }));
      expect(await store.sync('k', ask({ limits, maxWaitMs: HOUR }))).toMatchObject({ granted: 1, reason: 'rate' });
      const owed = await store.sync('k', as('b', { limits, lease: lease(40) }));
      expect(owed.lease!.ratePerMs).toBeCloseTo(30 / HOUR);
      expect(owed.lease!.tokens).toBeCloseTo(-1 / 3, 3);
      // A call that asks nothing of the lease tells it as it stands.
      expect((await store.sync('k', as('b', { limits }))).lease).toMatchObject({ burst: 2, tokens: 0 });
    });

    it('a new lease while tokens are owed starts in debt for as long as they take to repay', async () => {
      const limits = perHour(100, 10);
      await store.sync('k', ask({ limits, want: 10 }));
      expect(await store.sync('k', ask({ limits, maxWaitMs: HOUR }))).toMatchObject({ granted: 1, reason: 'rate' });
      // One token owed, repaid in 36 s at 100 an hour: a lease of 40 an hour starts 0.4 of a unit in debt.
      const late = await store.sync('k', as('a', { limits, lease: lease(40) }));
      expect(late.lease!.tokens).toBeCloseTo(-0.4, 3);
    });

    it('grants no lease whose burst would leave the shared bucket less than one unit, nor with slots or a server view', async () => {
      const limits = perHour(100, 3);
      expect((await store.sync('k', as('a', { limits, lease: lease(10) }))).lease).toMatchObject({ burst: 2 });
      expect((await store.sync('k', as('b', { limits, lease: lease(10, { burst: 1 }) }))).lease).toBeUndefined();
      const slots = { max: 2, ttlMs: HOUR, take: undefined, release: [] };
      expect((await store.sync('s', as('a', { limits, slots, lease: lease(10) }))).lease).toBeUndefined();
      await store.sync('v', ask({ want: 0, view: { remaining: 5, resetInMs: 60_000 } }));
      expect((await store.sync('v', as('a', { limits, lease: lease(10) }))).lease).toBeUndefined();
    });

    it('throws away a bad lease entry and a leases key of another type', async () => {
      const limits = perHour(100, 10);
      await connection.send(['HSET', 'test:{k}:leases', 'x', 'garbage']);
      expect((await store.sync('k', as('a', { limits, lease: lease(10) }))).lease).toMatchObject({ tokens: 2 });
      expect(await connection.send(['HEXISTS', 'test:{k}:leases', 'x'])).toBe(0);
      await connection.send(['SET', 'test:{j}:leases', 'hello']);
      expect((await store.sync('j', as('a', { limits, lease: lease(10) }))).lease).toMatchObject({ tokens: 2 });
      expect(await connection.send(['TYPE', 'test:{j}:leases'])).toBe('hash');
    });

    it('pushes a pause that ends later than before to the watches of its budget, through a subscriber', async () => {
      const sub = await library.connect(redis.url);
      try {
        const { subscriber, subscribed } = watchSubscriptions(sub.client);
        const pushing = redisStore(connection.client as never, { prefix: 'test:', subscriber: subscriber as never });
        const heard: StorePauseNotice[] = [];
        const others: StorePauseNotice[] = [];
        const watch = pushing.watch!('k', (pause) => heard.push(pause));
        const other = pushing.watch!('other', (pause) => others.push(pause));
        await subscribed;
        expect(watch.live).toBe(true);
        const pushed = new Promise<void>((resolve) => {
          pushing.watch!('k', () => {
            resolve();
          });
        });
        await pushing.sync('k', ask({ want: 0, pause: { forMs: 60_000, orderedForMs: 50_000 } }));
        await pushed;
        expect(heard).toHaveLength(1);
        expect(heard[0]!.forMs).toBeGreaterThan(60_000 - SLACK);
        expect(heard[0]!.orderedForMs).toBeLessThanOrEqual(50_000);
        expect(others).toEqual([]);
        // The same pause again (a second client met it too) is not pushed again; a later one is.
        await pushing.sync('k', ask({ want: 0, pause: { forMs: 30_000, orderedForMs: 30_000 } }));
        const later = new Promise<void>((resolve) => {
          pushing.watch!('k', () => {
            resolve();
          });
        });
        await pushing.sync('k', ask({ want: 0, pause: { forMs: 90_000, orderedForMs: 90_000 } }));
        await later;
        expect(heard).toHaveLength(2);
        watch.close();
        other.close();
        expect(watch.live).toBe(false);
      } finally {
        await sub.close();
      }
    });
  });

  it('keeps budgets apart by key and by prefix', async () => {
    const limits = perHour(1);
    const other = redisStore(connection.client as never, { prefix: 'other:' });
    expect(await store.sync('a', ask({ limits }))).toMatchObject({ granted: 1 });
    expect(await store.sync('b', ask({ limits }))).toMatchObject({ granted: 1 });
    expect(await other.sync('a', ask({ limits }))).toMatchObject({ granted: 1 });
    expect(await store.sync('a', ask({ limits }))).toMatchObject({ granted: 0 });
  });
});

describe('redisStore', () => {
  it('refuses what is not a Redis client, naming what it wants', () => {
    expect(() => redisStore({} as never)).toThrow(/node-redis \(v4, v5\) or ioredis client/);
    expect(() => redisStore(null as never)).toThrow(TypeError);
  });

  it('refuses a reorder span that is not a finite number of ms, 0 or more', () => {
    const client = { call: () => Promise.resolve(null) };
    for (const reorderMs of [-1, Number.NaN, Infinity, '50'])
      expect(() => redisStore(client, { reorderMs: reorderMs as number })).toThrow(/`redisStore reorderMs`/);
    expect(() => redisStore(client, { reorderMs: 0 })).not.toThrow();
  });
});
