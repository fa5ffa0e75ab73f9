// A shared budget when Redis fails: killed mid-run and restarted, unreachable from the start, or holding bad data.
// Real redis-server and HTTP server on 127.0.0.1, for each client library. Calls must always settle, exactly once;
// the events say when the budget stopped and started being shared; after recovery it is shared again.
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRatewise, isRatewiseError, StoreUnavailableError } from '../../src/index.js';
import type { Ratewise, RatewiseEvents } from '../../src/index.js';
import { REDIS_CLIENTS } from '../support/redis-clients.js';
import type { ConnectedRedisClient } from '../support/redis-clients.js';
import { freePort, startRedis } from '../support/redis-server.js';
import type { RedisServer } from '../support/redis-server.js';
import { excess } from './support/admissions.js';
import { startCountingServer } from './support/counting-server.js';
import type { CountingServer } from './support/counting-server.js';
import { storeOf } from './support/store.js';

const RATE = 20;
const BURST = 5;
/**
 * Requests over the bound allowed for measuring (see workers.test.ts), and here for a token a client reserved before
 * the count started and used after it.
 */
const SLACK = 1;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** A ratewise client on the store, with the one budget of `server`. */
function clientOf(
  connection: ConnectedRedisClient,
  prefix: string,
  server: CountingServer,
  storeFallback: 'local' | 'fail' = 'local',
): Ratewise {
  return createRatewise({
    store: storeOf(connection, prefix),
    storeFallback,
    budgets: { [server.host]: { rate: `${RATE}/s`, burst: BURST } },
  });
}

/** Resolves with the next `event` of `rw`. */
function next<E extends 'storeError' | 'storeRecovered'>(rw: Ratewise, event: E): Promise<RatewiseEvents[E]> {
  return new Promise((resolve) => {
    const off = rw.on(event, (payload) => {
      off();
      resolve(payload);
    });
  });
}

/** Sends a GET through `rw` and reads the body; resolves with the status, or with what the call threw. */
async function call(rw: Ratewise, url: string): Promise<{ status: number } | { error: unknown }> {
  try {
    const response = await rw.fetch(url);
    await response.arrayBuffer();
    return { status: response.status };
  } catch (error) {
    return { error };
  }
}

describe.each(REDIS_CLIENTS)('$name', (library) => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  test('Redis killed mid-run and restarted: every call settles once, storeError follows the kill and storeRecovered the restart, and then the budget is shared again', async () => {
    const server = await startCountingServer();
    const connections = await Promise.all([library.connect(redis.url), library.connect(redis.url)]);
    const clients = connections.map((connection) => clientOf(connection, 'faults:', server));
    try {
      type Phase = 'up' | 'killed' | 'restarted' | 'shared';
      let phase: Phase = 'up';
      const seen: Record<string, unknown>[] = [];
      clients.forEach((rw, client) => {
        rw.on('storeError', ({ store, fallback }) => {
          seen.push({ client, event: 'storeError', phase, store, fallback });
        });
        rw.on('storeRecovered', ({ store, downMs }) => {
          seen.push({ client, event: 'storeRecovered', phase, store, downMs: downMs > 0 ? 'some' : downMs });
        });
      });

      // Every call has a URL of its own, so the server's log shows any call sent twice.
      const sent = [0, 0];
      const outcomes: (Awaited<ReturnType<typeof call>> & { path: string })[] = [];
      const send = async (client: number, rw: Ratewise): Promise<boolean> => {
        const path = `/c${client}/${sent[client]!++}`;
        const outcome = await call(rw, `${server.url}${path}`);
        outcomes.push({ path, ...outcome });
        return 'status' in outcome;
      };
      // Each client keeps two calls going until it has seen Redis come back (the store is asked again only when
      // requests need it), or until a call fails (the test fails then, and a closed client fails calls at once).
      const failed = clients.map((rw) => next(rw, 'storeError'));
      const recovered = clients.map((rw) => next(rw, 'storeRecovered'));
      const done = [false, false];
      recovered.forEach((event, client) => {
        void event.then(() => (done[client] = true));
      });
      const pumps = clients.flatMap((rw, client) =>
        range(2).map(async () => {
          while (!done[client] && (await send(client, rw)));
        }),
      );

      await server.reached(2 * BURST);
      phase = 'killed';
      await redis.kill();
      await Promise.all(failed);

      phase = 'restarted';
      await redis.restart();
      await Promise.all(recovered);
      await Promise.all(pumps);

      // Shared again: both clients at once get one budget between them, not one each.
      phase = 'shared';
      const before = server.arrivals().length;
      const startedAt = performance.now();
      await Promise.all(clients.flatMap((rw, client) => range(20).map(() => send(client, rw))));
      const times = server
        .arrivals()
        .slice(before)
        .map(({ at }) => at);
      console.info(
        `[redis] ${library.name}: after recovery ${times.length} requests from 2 clients in ` +
          `${(times.at(-1)! - times[0]!).toFixed(0)} ms, most over the bound ${excess(times, RATE, BURST, startedAt).toFixed(2)}`,
      );
      expect(times).toHaveLength(40);
      expect(excess(times, RATE, BURST, startedAt)).toBeLessThanOrEqual(SLACK);

      // Every call settled with 200 and reached the server exactly once.
      expect(outcomes.filter((outcome) => !('status' in outcome) || outcome.status !== 200)).toEqual([]);
      expect(
        server
          .arrivals()
          .map(({ path }) => path)
          .sort(),
      ).toEqual(outcomes.map(({ path }) => path).sort());
      // One outage, one recovery, each client; each seen in its phase.
      expect(seen).toHaveLength(4);
      for (const client of [0, 1]) {
        expect(seen.filter((event) => event['client'] === client)).toEqual([
          { client, event: 'storeError', phase: 'killed', store: 'redis', fallback: 'local' },
          { client, event: 'storeRecovered', phase: 'restarted', store: 'redis', downMs: 'some' },
        ]);
      }
    } finally {
      await Promise.all(clients.map((rw) => rw.close()));
      await Promise.all(connections.map((connection) => connection.close()));
      await server.close();
    }
  }, 20_000);

  test('Redis unreachable from the start: calls succeed on the local budget, and storeError is emitted once', async () => {
    const server = await startCountingServer();
    const connection = await library.connect(`redis://127.0.0.1:${await freePort()}`, { ready: false });
    const rw = clientOf(connection, 'unreachable:', server);
    const errors: RatewiseEvents['storeError'][] = [];
    rw.on('storeError', (event) => errors.push(event));
    try {
      const startedAt = performance.now();
      const outcomes = await Promise.all(range(15).map((i) => call(rw, `${server.url}/unreachable/${i}`)));
      expect(outcomes).toEqual(range(15).map(() => ({ status: 200 })));
      expect(errors).toEqual([{ store: 'redis', error: expect.anything() as unknown, fallback: 'local', downMs: 0 }]);
      // The local limits still hold.
      const times = server.arrivals().map(({ at }) => at);
      expect(times).toHaveLength(15);
      expect(excess(times, RATE, BURST, startedAt)).toBeLessThanOrEqual(SLACK);
    } finally {
      await rw.close();
      await connection.close();
      await server.close();
    }
  });

  test("storeFallback: 'fail' with Redis unreachable: calls reject with ERR_RATEWISE_STORE and nothing is sent", async () => {
    const server = await startCountingServer();
    const connection = await library.connect(`redis://127.0.0.1:${await freePort()}`, { ready: false });
    const rw = clientOf(connection, 'unreachable:', server, 'fail');
    const errors: RatewiseEvents['storeError'][] = [];
    rw.on('storeError', (event) => errors.push(event));
    try {
      const outcomes = await Promise.all(range(3).map((i) => call(rw, `${server.url}/fail/${i}`)));
      for (const outcome of outcomes) {
        expect(outcome).toHaveProperty('error');
        const { error } = outcome as { error: unknown };
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(isRatewiseError(error, 'ERR_RATEWISE_STORE')).toBe(true);
        expect(error).toMatchObject({ code: 'ERR_RATEWISE_STORE', store: 'redis', method: 'GET' });
      }
      expect(server.arrivals()).toEqual([]);
      expect(errors).toEqual([{ store: 'redis', error: expect.anything() as unknown, fallback: 'fail', downMs: 0 }]);
    } finally {
      await rw.close();
      await connection.close();
      await server.close();
    }
  });

  test.for([
    { data: 'the key SET to a string', prefix: 'bad-type:', spoil: (key: string) => ['SET', key, 'not a budget'] },
    { data: 'a bucket field HSET to garbage', prefix: 'bad-field:', spoil: (key: string) => ['HSET', key, 't1', 'x'] },
  ])(
    'bad data in Redis ($data): the next request still succeeds and the key is a budget hash again',
    async ({ prefix, spoil }) => {
      const server = await startCountingServer();
      const connection = await library.connect(redis.url);
      const rw = clientOf(connection, prefix, server);
      const errors: RatewiseEvents['storeError'][] = [];
      rw.on('storeError', (event) => errors.push(event));
      try {
        expect(await call(rw, `${server.url}/bad/0`)).toEqual({ status: 200 });
        // One hash per budget, named `${prefix}{${budget key}}`, the sorted set of its live clients and the hash of
        // its units (here only the samples of its grant counter).
        const key = `${prefix}{${rw.stats()[0]!.key}}`;
        expect(((await connection.send(['KEYS', `${prefix}*`])) as string[]).sort()).toEqual([
          key,
          `${key}:clients`,
          `${key}:units`,
        ]);
        expect(await connection.send(['TYPE', key])).toBe('hash');

        await connection.send(spoil(key));
        expect(await call(rw, `${server.url}/bad/1`)).toEqual({ status: 200 });
        expect(await connection.send(['TYPE', key])).toBe('hash');
        expect(await connection.send(['HGET', key, 'v'])).toBe('1');
        const fields = await connection.send(['HGETALL', key]);
        // node-redis 4 and ioredis give a flat list, node-redis 5 an object.
        const values = Array.isArray(fields)
          ? (fields as string[]).filter((_, i) => i % 2 === 1)
          : Object.values(fields as Record<string, string>);
        for (const value of values) expect(Number.isFinite(Number(value)), value).toBe(true);
        // Bad data is not an outage: the budget stayed shared.
        expect(errors).toEqual([]);
      } finally {
        await rw.close();
        await connection.close();
        await server.close();
      }
    },
  );
});
