// Two behaviours of a shared budget against real parts (redis-server and an HTTP server on 127.0.0.1): a pause one
// client is ordered stops the other client too, and a Redis that stalls (behind a proxy the test holds) longer than
// `storeTimeout` sends the budgets to their local limits and back, without a call lost.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { systemClock, type Clock } from '../../src/clock.js';
import { createRatewise, type Ratewise, type RatewiseEvents } from '../../src/index.js';
import { customStore } from '../../src/store/custom.js';
import { redisStore } from '../../src/store/redis.js';
import type { RatewiseStore } from '../../src/store/types.js';
import { startLatencyProxy } from '../support/latency-proxy.js';
import { REDIS_CLIENTS, type ConnectedRedisClient } from '../support/redis-clients.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { startScriptedServer } from '../support/servers.js';

let redis: RedisServer;
let connection: ConnectedRedisClient;
beforeAll(async () => {
  redis = await startRedis();
  connection = await REDIS_CLIENTS[0]!.connect(redis.url);
});
afterAll(async () => {
  await connection.close();
  await redis.stop();
});

/** The store, and a promise that resolves once a call carrying a pause has been answered by Redis. */
function watchedStore(prefix: string): { store: RatewiseStore; pausePublished: Promise<void> } {
  const inner = redisStore(connection.client as never, { prefix });
  let published!: () => void;
  const pausePublished = new Promise<void>((resolve) => {
    published = resolve;
  });
  return {
    store: customStore({
      name: inner.name,
      sync: async (key, request) => {
        const reply = await inner.sync(key, request);
        if (request.pause !== undefined) published();
        return reply;
      },
    }),
    pausePublished,
  };
}

describe('a budget shared through a real Redis', () => {
  test('a 429 with Retry-After that one client meets pauses the other: the server refuses one request, not more', async () => {
    // The server refuses every request within 1 s of its first refusal, as a limiter whose window is closed would.
    let refusedAt: number | undefined;
    const server = await startScriptedServer(() => {
      const now = Date.now();
      if (refusedAt === undefined) refusedAt = now;
      else if (now - refusedAt >= 1000) return { body: 'ok' };
      return { status: 429, headers: { 'retry-after': '1' }, body: 'slow down' };
    });
    const a = watchedStore('pause:');
    const b = redisStore(connection.client as never, { prefix: 'pause:' });
    const first = createRatewise({ store: a.store });
    const second = createRatewise({ store: b });
    const paused: RatewiseEvents['paused'][] = [];
    second.on('paused', (event) => paused.push(event));
    try {
      const refused = first.fetch(`${server.url}/a`);
      await a.pausePublished;
      // The second client starts only now: it has heard nothing of the server, only of the shared pause.
      const responses = await Promise.all([
        refused,
        ...Array.from({ length: 5 }, (_, i) => second.fetch(`${server.url}/b/${i}`)),
      ]);
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(server.hits().rejected).toBe(1);
      expect(server.hits().total).toBe(7);
      expect(paused.map((e) => e.reason)).toEqual(['shared']);
    } finally {
      await Promise.all([first.close(), second.close()]);
      await server.close();
    }
  });

  test('a Redis that stalls past storeTimeout: local limits meanwhile, shared again after, every call settled once', async () => {
    const server = await startScriptedServer(() => ({ body: 'ok' }));
    const proxy = await startLatencyProxy(redis.port);
    const stalled = await REDIS_CLIENTS[0]!.connect(proxy.url);
    // The client's clock, which the test moves on by the store's retry delay instead of waiting it out.
    let skewMs = 0;
    const clock: Clock = {
      now: () => systemClock.now() + skewMs,
      setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms),
      clearTimeout: (handle) => {
        systemClock.clearTimeout(handle);
      },
    };
    const rw: Ratewise = createRatewise({
      clock,
      store: redisStore(stalled.client as never, { prefix: 'stall:' }),
      storeTimeout: 100,
      budgets: { '*': { rate: '1000/s' } },
    });
    const errors: RatewiseEvents['storeError'][] = [];
    const recovered: RatewiseEvents['storeRecovered'][] = [];
    rw.on('storeError', (event) => errors.push(event));
    const back = new Promise<void>((resolve) => {
      rw.on('storeRecovered', (event) => {
        recovered.push(event);
        resolve();
      });
    });
    try {
      expect((await rw.fetch(`${server.url}/before`)).status).toBe(200);
      proxy.stall();
      const during = await Promise.all(Array.from({ length: 10 }, (_, i) => rw.fetch(`${server.url}/during/${i}`)));
      expect(during.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 200));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ store: 'redis', fallback: 'share', downMs: 0 });
      // The measured round trip plus storeTimeout.
      expect(String(errors[0]!.error)).toMatch(/did not answer within \d+ ms/);
      expect(Number(/within (\d+) ms/.exec(String(errors[0]!.error))![1])).toBeGreaterThanOrEqual(100);
      expect(recovered).toEqual([]);
      proxy.resume();
      // A second on, the store is due to be asked again: the next call goes locally and asks it in the background.
      skewMs += 1000;
      expect((await rw.fetch(`${server.url}/retry`)).status).toBe(200);
      await back;
      expect(recovered).toHaveLength(1);
      expect(recovered[0]!.downMs).toBeGreaterThanOrEqual(1000);
      expect((await rw.fetch(`${server.url}/after`)).status).toBe(200);
      expect(errors).toHaveLength(1);
      expect(server.hits().total).toBe(13);
    } finally {
      await rw.close();
      await stalled.close();
      await proxy.close();
      await server.close();
    }
  });
});
