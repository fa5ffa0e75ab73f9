// Machines disagree about the time: two clients whose clocks are an hour apart (one ahead, one behind) share one
// budget through a real Redis. The store decides by Redis's own clock and every instant crosses the wire as a
// duration, so the skew changes nothing: the server sees no more than the one budget allows.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { systemClock } from '../../src/clock.js';
import { createRatewise } from '../../src/index.js';
import { redisStore } from '../../src/store/redis.js';
import { excess } from '../redis/support/admissions.js';
import { startCountingServer } from '../redis/support/counting-server.js';
import { REDIS_CLIENTS } from '../support/redis-clients.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const HOUR = 3_600_000;
const RATE = 20;
const BURST = 4;
const PER_CLIENT = 30;

/** The system clock, `offsetMs` away from the truth. */
function skewed(offsetMs: number): Clock {
  return {
    now: () => systemClock.now() + offsetMs,
    setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms),
    clearTimeout: (handle) => {
      systemClock.clearTimeout(handle);
    },
  };
}

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe('clock skew between the clients of a store', () => {
  test(`two clients an hour ahead and an hour behind share { rate: '${RATE}/s', burst: ${BURST} } exactly`, async () => {
    const connection = await REDIS_CLIENTS[0]!.connect(redis.url);
    const server = await startCountingServer();
    const clients = [HOUR, -HOUR].map((offset) =>
      createRatewise({
        clock: skewed(offset),
        store: redisStore(connection.client as never, { prefix: 'skew:' }),
        budgets: { [server.host]: { rate: `${RATE}/s`, burst: BURST } },
      }),
    );
    try {
      // The bucket is full (burst) at this instant: its promise holds from here on.
      const from = performance.now();
      const calls = clients.flatMap((rw) =>
        Array.from({ length: PER_CLIENT }, (_, i) => rw.fetch(`${server.url}/${i}`).then((r) => r.status)),
      );
      const statuses = await Promise.all(calls);
      expect(statuses.every((status) => status === 200)).toBe(true);
      const times = server.arrivals().map((a) => a.at);
      expect(times).toHaveLength(2 * PER_CLIENT);
      // Never more than the bucket allows (one request of slack for loopback jitter between the instant Redis
      // reserved and the arrival).
      expect(excess(times, RATE, BURST, from)).toBeLessThanOrEqual(1);
    } finally {
      await Promise.all(clients.map((rw) => rw.close()));
      await server.close();
      await connection.close();
    }
  });
});
