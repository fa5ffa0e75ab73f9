// The Redis harness itself: a real redis-server on 127.0.0.1 that a test can kill and start again on the same port,
// and the three client libraries, which fail at once while it is down and work again once it is back.
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REDIS_CLIENTS } from '../support/redis-clients.js';
import { startRedis } from '../support/redis-server.js';
import type { RedisServer } from '../support/redis-server.js';

/** Whether a process with this id exists. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Opens a TCP connection to the port on 127.0.0.1 and closes it again; rejects when nothing listens there. */
async function dial(port: number): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
  } finally {
    socket.destroy();
  }
}

describe('startRedis', () => {
  test('starts redis-server on 127.0.0.1; stop() ends the process and frees the port, and may be called twice', async () => {
    const redis = await startRedis();
    const pid = redis.pid;
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(pid).toBeDefined();
    expect(isAlive(pid!)).toBe(true);
    await dial(redis.port);

    await redis.stop();
    expect(redis.pid).toBeUndefined();
    expect(isAlive(pid!)).toBe(false);
    await expect(dial(redis.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await redis.stop();
  });

  test('two servers get two ports', async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    try {
      expect(a.port).not.toBe(b.port);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test('kill() ends the process at once; restart() serves again on the same port as a new process', async () => {
    const redis = await startRedis();
    try {
      const first = redis.pid!;
      await redis.kill();
      expect(isAlive(first)).toBe(false);
      await expect(dial(redis.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

      await redis.restart();
      expect(redis.pid).toBeDefined();
      expect(redis.pid).not.toBe(first);
      await dial(redis.port);
    } finally {
      await redis.stop();
    }
  });
});

describe.each(REDIS_CLIENTS)('$name with the harness', (library) => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  test('PINGs; while Redis is killed a command fails instead of hanging; after restart the same client works again', async () => {
    const connection = await library.connect(redis.url);
    try {
      expect(await connection.send(['PING'])).toBe('PONG');

      await redis.kill();
      await expect(connection.send(['PING'])).rejects.toThrow();
      // And again, once the client has surely seen the connection drop: no offline queue holds the command.
      await expect(connection.send(['PING'])).rejects.toThrow();

      await redis.restart();
      await connection.ready();
      expect(await connection.send(['PING'])).toBe('PONG');
    } finally {
      await connection.close();
    }
  });

  test('a restarted Redis is empty: nothing is persisted', async () => {
    const connection = await library.connect(redis.url);
    try {
      expect(await connection.send(['SET', 'harness:kept', 'yes'])).toBe('OK');
      await redis.stop();
      await redis.restart();
      await connection.ready();
      expect(await connection.send(['GET', 'harness:kept'])).toBeNull();
    } finally {
      await connection.close();
    }
  });

  test('a client made while nothing listens fails its commands at once, and connects once Redis is up', async () => {
    await redis.stop();
    const connection = await library.connect(redis.url, { ready: false });
    try {
      await expect(connection.send(['PING'])).rejects.toThrow();
      await redis.restart();
      await connection.ready();
      expect(await connection.send(['PING'])).toBe('PONG');
    } finally {
      await connection.close();
    }
  });

  test('close() is idempotent, also while Redis is down', async () => {
    const connection = await library.connect(redis.url);
    await redis.kill();
    await Promise.all([connection.close(), connection.close()]);
    await connection.close();
    await redis.restart();
  });
});
