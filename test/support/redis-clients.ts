/**
 * The Redis client libraries the store is tested with, as a table for `describe.each`: node-redis 5, node-redis 4
 * and ioredis 5. Each is set up for fault tests: it keeps reconnecting after the server dies (every 100 ms, so that a
 * restart is seen at once), a command sent while it is disconnected fails at once instead of waiting in an offline
 * queue (the engine bounds every store call with its own timeout anyway), and an `error` listener is attached, so
 * that a dead server does not crash the test process with an unhandled 'error' event.
 */
import { Redis } from 'ioredis';
import { createClient as createClient5 } from 'redis';
import { createClient as createClient4 } from 'redis4';

/** Milliseconds between two reconnection attempts. */
const RECONNECT_MS = 100;

/** A client made by {@link RedisClientLibrary.connect}. */
export interface ConnectedRedisClient {
  /** The library's own client object, for `redisStore(client)`. */
  readonly client: unknown;
  /** Resolves when the client is connected and ready: at once, or on its next (re)connection. */
  ready(): Promise<void>;
  /** Sends one raw command (`['HSET', key, field, value]`) through the client; resolves with its reply. */
  send(args: readonly string[]): Promise<unknown>;
  /** Disconnects at once and stops reconnecting; commands still pending fail. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link RedisClientLibrary.connect}. */
export interface ConnectOptions {
  /**
   * Whether to wait until the client is connected and ready. With `false` the client connects (and keeps trying)
   * in the background: for a Redis that is unreachable from the start. @default true
   */
  readonly ready?: boolean;
}

export interface RedisClientLibrary {
  /** Such as `'node-redis 5'`, for test names. */
  readonly name: string;
  connect(url: string, options?: ConnectOptions): Promise<ConnectedRedisClient>;
}

const ignore = (): void => undefined;

/**
 * Resolves on the client's next 'ready' event, or at once when it is ready already. Not `events.once`, which would
 * reject on the connection errors a reconnecting client emits meanwhile.
 */
function whenReady(client: NodeJS.EventEmitter, isReady: () => boolean): Promise<void> {
  return isReady()
    ? Promise.resolve()
    : new Promise((resolve) => {
        client.once('ready', () => {
          resolve();
        });
      });
}

const nodeRedis5: RedisClientLibrary = {
  name: 'node-redis 5',
  async connect(url, { ready = true } = {}) {
    const client = createClient5({
      url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: () => RECONNECT_MS },
    });
    client.on('error', ignore);
    const connecting = client.connect();
    if (ready) await connecting;
    else connecting.catch(ignore);
    let closed = false;
    return {
      client,
      ready: () => whenReady(client, () => client.isReady),
      send: (args) => client.sendCommand([...args]),
      close: () => {
        if (!closed) {
          closed = true;
          client.destroy();
        }
        return Promise.resolve();
      },
    };
  },
};

const nodeRedis4: RedisClientLibrary = {
  name: 'node-redis 4',
  async connect(url, { ready = true } = {}) {
    const client = createClient4({
      url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: () => RECONNECT_MS },
    });
    client.on('error', ignore);
    const connecting = client.connect();
    if (ready) await connecting;
    else connecting.catch(ignore);
    let closing: Promise<void> | undefined;
    return {
      client,
      ready: () => whenReady(client, () => client.isReady),
      send: (args) => client.sendCommand([...args]),
      // disconnect() throws when the client is closed already (a failed start, for instance).
      close: () => (closing ??= client.isOpen ? client.disconnect() : Promise.resolve()),
    };
  },
};

const ioredis: RedisClientLibrary = {
  name: 'ioredis',
  async connect(url, { ready = true } = {}) {
    const client = new Redis(url, {
      enableOfflineQueue: false,
      // Commands on a connection that drops fail at once rather than being sent again after a reconnection.
      maxRetriesPerRequest: 0,
      retryStrategy: () => RECONNECT_MS,
    });
    client.on('error', ignore);
    const isReady = (): boolean => client.status === 'ready';
    if (ready) await whenReady(client, isReady);
    let closing: Promise<void> | undefined;
    return {
      client,
      ready: () => whenReady(client, isReady),
      send: ([command, ...args]) => client.call(command ?? '', ...args),
      close: () =>
        (closing ??= new Promise<void>((resolve) => {
          // Between two attempts there is no socket: disconnect() only clears the timer, and no 'end' follows.
          if (client.status === 'end' || client.status === 'reconnecting') {
            client.disconnect();
            resolve();
            return;
          }
          client.once('end', () => {
            resolve();
          });
          client.disconnect();
        })),
    };
  },
};

/** Every library, for `describe.each(REDIS_CLIENTS)('$name', ...)`. */
export const REDIS_CLIENTS: readonly RedisClientLibrary[] = [nodeRedis5, nodeRedis4, ioredis];
