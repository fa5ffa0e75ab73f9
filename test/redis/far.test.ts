// A Redis far away: a real redis-server behind a TCP proxy (test/support/latency-proxy.ts) that delays, holds or
// drops its traffic. The store must decide in one round trip from the first call on, and a round trip longer than
// `storeTimeout` must not push the budgets off the store.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRatewise } from '../../src/index.js';
import type { Ratewise, RatewiseEvents } from '../../src/index.js';
import { startLatencyProxy, type LatencyProxy } from '../support/latency-proxy.js';
import { REDIS_CLIENTS } from '../support/redis-clients.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { startCountingServer } from './support/counting-server.js';
import { storeOf } from './support/store.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

/** Resolves with the next `event` of `rw`. */
function next<E extends keyof RatewiseEvents>(rw: Ratewise, event: E): Promise<RatewiseEvents[E]> {
  return new Promise((resolve) => {
    const off = rw.on(event, (payload) => {
      off();
      resolve(payload);
    });
  });
}

describe.each(REDIS_CLIENTS)('$name through a proxy', (library) => {
  let proxy: LatencyProxy;
  beforeAll(async () => {
    proxy = await startLatencyProxy(redis.port);
  });
  afterAll(async () => {
    await proxy.close();
  });

  test('the first store call sends the command that decides before any reply has come back', async () => {
    const server = await startCountingServer();
    const connection = await library.connect(proxy.url);
    const rw = createRatewise({
      store: storeOf(connection, 'first-call:'),
      budgets: { [server.host]: { rate: '10/s' } },
    });
    try {
      // Nothing comes back from Redis until the test says: whatever the client sends meanwhile needed no reply.
      proxy.stall('down');
      const call = rw.fetch(`${server.url}/first`);
      const outcome = await Promise.race([
        proxy.seen(/^EVAL/).then((command) => command[0]),
        next(rw, 'storeError').then(() => 'storeError'),
      ]);
      proxy.resume('down');
      expect(outcome).toMatch(/^EVAL/);
      expect((await call).status).toBe(200);
    } finally {
      proxy.resume('down');
      await rw.close();
      await connection.close();
      await server.close();
    }
  });
});

describe('a Redis 300 ms away (150 ms each way), storeTimeout 250 ms', () => {
  test('the budget stays shared: no storeError over a run of requests', async () => {
    const proxy = await startLatencyProxy(redis.port);
    const server = await startCountingServer();
    const connection = await REDIS_CLIENTS[0]!.connect(proxy.url);
    const rw = createRatewise({
      store: storeOf(connection, 'far-300:'),
      storeTimeout: 250,
      budgets: { [server.host]: { rate: '20/s', burst: 5 } },
    });
    const errors: RatewiseEvents['storeError'][] = [];
    rw.on('storeError', (event) => errors.push(event));
    try {
      proxy.delay(150);
      const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => rw.fetch(`${server.url}/r/${i}`)));
      expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 12 }, () => 200));
      expect(errors).toEqual([]);
      expect(rw.stats()[0]!.shared).toBe('store');
    } finally {
      await rw.close();
      await connection.close();
      await proxy.close();
      await server.close();
    }
  }, 20_000);
});

describe('an answer that comes after the timeout', () => {
  test('its tokens are not lost: the store is back with it, and the next request goes on them without a store call', async () => {
    const proxy = await startLatencyProxy(redis.port);
    const server = await startCountingServer();
    const connection = await REDIS_CLIENTS[0]!.connect(proxy.url);
    const rw = createRatewise({
      store: storeOf(connection, 'late:'),
      storeTimeout: 50,
      budgets: { [server.host]: { rate: '100/h', burst: 10 } },
    });
    const decisions = (): number => proxy.commands().filter(([name]) => /^EVAL/.test(name!)).length;
    try {
      expect((await rw.fetch(`${server.url}/before`)).status).toBe(200);
      // Redis's answers are held: the next call times out, and its request goes on the local budget.
      proxy.stall('down');
      const failed = next(rw, 'storeError');
      expect((await rw.fetch(`${server.url}/during`)).status).toBe(200);
      await failed;
      expect(rw.stats()[0]!.shared).toBe('local');
      const recovered = next(rw, 'storeRecovered');
      proxy.resume('down');
      await recovered;
      const asked = decisions();
      expect((await rw.fetch(`${server.url}/after`)).status).toBe(200);
      expect(decisions()).toBe(asked);
      // Redis granted 2 units in all, each used once.
      expect(server.arrivals()).toHaveLength(3);
    } finally {
      proxy.resume();
      await rw.close();
      await connection.close();
      await proxy.close();
      await server.close();
    }
  });
});
