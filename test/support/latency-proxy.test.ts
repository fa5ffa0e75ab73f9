// The latency proxy itself, in front of a real redis-server: it passes commands on in order, holds a direction
// until resumed, reads the commands a client sends, and drops connections when told.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startLatencyProxy, type LatencyProxy } from './latency-proxy.js';
import { REDIS_CLIENTS } from './redis-clients.js';
import { startRedis, type RedisServer } from './redis-server.js';

let redis: RedisServer;
let proxy: LatencyProxy;
beforeAll(async () => {
  redis = await startRedis();
  proxy = await startLatencyProxy(redis.port);
});
afterAll(async () => {
  await proxy.close();
  await redis.stop();
});

describe('startLatencyProxy', () => {
  test('passes commands on, in order, delayed; reads the commands sent', async () => {
    const connection = await REDIS_CLIENTS[0]!.connect(proxy.url);
    try {
      proxy.delay(20);
      const replies = await Promise.all([
        connection.send(['SET', 'proxy:a', '1']),
        connection.send(['INCR', 'proxy:a']),
        connection.send(['GET', 'proxy:a']),
      ]);
      expect(replies).toEqual(['OK', 2, '2']);
      expect(proxy.commands().slice(-3)).toEqual([
        ['SET', 'proxy:a', '1'],
        ['INCR', 'proxy:a'],
        ['GET', 'proxy:a'],
      ]);
    } finally {
      proxy.delay(0);
      await connection.close();
    }
  });

  test('a stalled direction holds everything until resumed', async () => {
    const connection = await REDIS_CLIENTS[0]!.connect(proxy.url);
    try {
      proxy.stall('down');
      let answered = false;
      const reply = connection.send(['ECHO', 'held']).then((value) => {
        answered = true;
        return value;
      });
      // Redis has the command (it went up): its answer is what is held.
      await proxy.seen(/^ECHO$/);
      expect(answered).toBe(false);
      proxy.resume('down');
      expect(await reply).toBe('held');
    } finally {
      proxy.resume();
      await connection.close();
    }
  });

  test('drop() ends every connection; the client connects again through it', async () => {
    const connection = await REDIS_CLIENTS[0]!.connect(proxy.url);
    try {
      expect(await connection.send(['PING'])).toBe('PONG');
      proxy.drop();
      await expect(connection.send(['PING'])).rejects.toBeDefined();
      await connection.ready();
      expect(await connection.send(['PING'])).toBe('PONG');
    } finally {
      await connection.close();
    }
  });
});
