// `ratewise/redis` as a hurried user sets it up: options that are not an object or name a key it does not have,
// and a real redis-server on 127.0.0.1 whose client the application disconnects while calls wait on it. The
// client's clock is fake: no store timeout fires unless a test advances it.
import { createClient } from 'redis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createRatewise } from '../../src/index.js';
import { redisStore, type RedisStoreOptions } from '../../src/store/redis.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { startScriptedServer } from '../support/servers.js';

/** A client shape redisStore accepts, never called by these checks. */
const unused = { sendCommand: () => Promise.reject(new Error('not called')) };

test.each<[string, unknown, string]>([
  ['null', null, 'Expected `redisStore options` to be an object, got `null`'],
  ['a string', 'app:', 'Expected `redisStore options` to be an object, got `"app:"` (string)'],
  [
    "createRatewise's storeTimeout",
    { storeTimeout: 100 },
    'Unknown option `redisStore storeTimeout`; expected one of `prefix`, `subscriber`, `reorderMs`',
  ],
  ['a misspelt prefix', { prefx: 'app:' }, 'Unknown option `redisStore prefx`'],
])('redisStore options that are %s: a TypeError naming them', (_, options, message) => {
  expect(() => redisStore(unused, options as RedisStoreOptions)).toThrow(TypeError);
  expect(() => redisStore(unused, options as RedisStoreOptions)).toThrow(message);
});

test('every option it has is still taken', () => {
  expect(redisStore(unused, { prefix: '', reorderMs: 0, subscriber: undefined }).name).toBe('redis');
  expect(redisStore(unused, {}).name).toBe('redis');
});

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

test('the application disconnects its Redis client while calls wait on the store: each call settles once', async () => {
  const server = await startScriptedServer(() => ({ body: 'ok' }));
  const connection = createClient({ url: redis.url, socket: { reconnectStrategy: false } });
  connection.on('error', () => undefined);
  await connection.connect();
  const admin = createClient({ url: redis.url });
  await admin.connect();
  const clock = new FakeClock(Date.UTC(2030, 0, 1));
  const rw = createRatewise({
    clock,
    loopGuard: false,
    store: redisStore(connection, { prefix: 'disconnect:' }),
    storeFallback: 'fail',
    budgets: { '*': { rate: '5/s', burst: 1 } },
  });
  try {
    // Redis runs no script while writes are paused: the calls' store requests stay unanswered.
    await admin.sendCommand(['CLIENT', 'PAUSE', '60000', 'WRITE']);
    let settledCount = 0;
    const outcomes = Array.from({ length: 4 }, (_, i) =>
      rw.fetch(`${server.url}/${i}`).then(
        (response) => response.status,
        (error: unknown) => (error as { code?: string }).code,
      ),
    ).map((outcome) => outcome.finally(() => settledCount++));
    await expect.poll(() => rw.stats()[0]?.queued).toBe(4);
    expect(settledCount).toBe(0);

    connection.destroy();
    const results = await settle(clock, Promise.all(outcomes));
    expect(results).toEqual(Array(4).fill('ERR_RATEWISE_STORE'));
    expect(settledCount).toBe(4);
    expect(server.hits().total).toBe(0);
    // close() gives nothing back to a store it cannot reach, and leaves no timer behind.
    await settle(clock, rw.close());
    expect(clock.pending()).toBe(0);
    expect(rw.stats().every(({ queued, inFlight }) => queued === 0 && inFlight === 0)).toBe(true);
  } finally {
    await admin.sendCommand(['CLIENT', 'UNPAUSE']);
    admin.destroy();
    await rw.close();
    await server.close();
  }
});
