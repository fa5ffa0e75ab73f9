/**
 * Budgets shared across processes and machines through Redis: {@link redisStore} wraps the node-redis or ioredis
 * client the application already has, for `createRatewise({ store })`.
 * @module ratewise/redis
 */
// `ratewise/redis`: budgets shared through a Redis server, with the client the application already has (node-redis
// v4 or v5, or ioredis). One round trip per call: EVAL of the script in redis-script.ts until its SHA1 is known (a
// SCRIPT LOAD sent ahead of the first call tells it), EVALSHA after; after a restart of Redis, the call that finds
// it gone sends it whole with EVAL.
import { knownOptions } from '../config/known-options.js';
import { invalidOption } from '../errors.js';
import { ROUTES_SCRIPT, routesArguments, routesOf } from './redis-routes.js';
import { SCRIPT } from './redis-script.js';
import { STORE_LINKS } from '../engine/store-link.js';
import {
  STORE_LINK,
  type RatewiseStore,
  type StorePauseNotice,
  type StoreReply,
  type StoreRequest,
  type StoreRoutes,
  type StoreWatch,
} from './types.js';

export type * from './public-types.js';

/** A node-redis (v4, v5) client: commands as argument arrays. */
export interface NodeRedisLike {
  /** Sends one command, its name first in `args`, and resolves with Redis' reply. */
  sendCommand(args: string[]): Promise<unknown>;
}

/** An ioredis client (or cluster): commands by name and arguments. */
export interface IoRedisLike {
  /** Sends the command `command` with `args` and resolves with Redis' reply. */
  call(command: string, ...args: string[]): Promise<unknown>;
}

/** A node-redis (v4, v5) client in subscriber mode (`client.duplicate()`, connected). */
export interface NodeRedisSubscriberLike {
  /** Subscribes `listener` to `channel`; resolves once Redis confirmed it. */
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  /** Unsubscribes `listener` from `channel`. */
  unsubscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  /** Whether the connection is up. */
  readonly isReady?: boolean;
}

/** An ioredis client in subscriber mode (`client.duplicate()`). */
export interface IoRedisSubscriberLike {
  /** Subscribes to `channel`; resolves once Redis confirmed it. Messages come as `message` events. */
  subscribe(channel: string): Promise<unknown>;
  /** Unsubscribes from `channel`. */
  unsubscribe(channel: string): Promise<unknown>;
  /** Adds a listener of the messages of the channels subscribed to. */
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  /** Removes a listener added by `on`. */
  off(event: 'message', listener: (channel: string, message: string) => void): unknown;
  /** `'ready'` while the connection is up. */
  readonly status?: string;
  /** Sends the command `command` with `args` and resolves with Redis' reply. */
  call(command: string, ...args: string[]): Promise<unknown>;
}

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * Prepended to every Redis key ratewise writes: a budget `key` lives in the hash `${prefix}{${key}}` (the braces
   * make it a Redis Cluster hash tag). Give each application its own prefix.
   * @default 'ratewise:'
   */
  readonly prefix?: string;
  /**
   * A second connection in subscriber mode (`client.duplicate()`, connected), of the same library as `client`: the
   * store then pushes a pause to every process within a round trip, and budgets may hold **rate leases** (a process
   * sending steadily and lightly decides alone within its lease, with a store call every few seconds). ratewise
   * subscribes to the one channel `${prefix}pauses` while a budget is shared, and does not connect or close it.
   * @default undefined (no pushes, no leases: every process hears of a pause with its next store call)
   */
  readonly subscriber?: NodeRedisSubscriberLike | IoRedisSubscriberLike | undefined;
  /**
   * How much later, ms, a request granted by the store may reach the API server than one granted after it (each
   * process's network and event loop delay its requests differently). When an answer tells what is left of a quota
   * (of requests, or of another unit such as an LLM vendor's tokens), the store takes off what was granted after the
   * answered request, and also what was granted this long before it, which may not have been counted yet. 0 takes off
   * only what was granted after it. A window's first count of requests, when the server names its limit, loses no
   * more than what the store granted in that window less what the server counted of it.
   * @default 50
   */
  readonly reorderMs?: number;
}

type Command = (args: string[]) => Promise<unknown>;

const OPTION_NAMES: readonly string[] = ['prefix', 'subscriber', 'reorderMs'];

function commandOf(client: unknown): Command {
  if (typeof client === 'object' && client !== null) {
    // ioredis first: it has a `sendCommand` of its own, which takes a Command object, not an array.
    const { call, sendCommand } = client as Partial<IoRedisLike & NodeRedisLike>;
    if (typeof call === 'function') return (args) => call.call(client, args[0]!, ...args.slice(1));
    if (typeof sendCommand === 'function') return (args) => sendCommand.call(client, args);
  }
  throw invalidOption('redisStore client', 'a node-redis (v4, v5) or ioredis client', client);
}

/**
 * A store that shares budgets through Redis: pass it as `createRatewise({ store })` in every process that shares
 * the budgets (with the same `budgets` options). ratewise does not connect or close the client: the application
 * owns it.
 */
export function redisStore(client: NodeRedisLike | IoRedisLike, options: RedisStoreOptions = {}): RatewiseStore {
  const send = commandOf(client);
  // Each option read once, as createRatewise reads its own: an unknown key (`storeTimeout` belongs to createRatewise)
  // is a mistake to tell, not to ignore.
  const {
    prefix = 'ratewise:',
    reorderMs = 50,
    subscriber,
  } = knownOptions(options, 'redisStore options', OPTION_NAMES, 'redisStore ') as RedisStoreOptions;
  if (typeof prefix !== 'string') throw invalidOption('redisStore prefix', 'a string', prefix);
  const channel = `${prefix}pauses`;
  if (typeof reorderMs !== 'number' || !(reorderMs >= 0) || !Number.isFinite(reorderMs))
    throw invalidOption('redisStore reorderMs', 'a finite number of ms, 0 or more', reorderMs);
  const pauses = subscriber === undefined ? undefined : pauseChannel(subscriber, channel);
  // The script's SHA1, once Redis told it. Until then every call sends the script itself (EVAL, which also caches it
  // in Redis), with SCRIPT LOAD ahead of it on the same connection to learn the SHA1: one round trip either way.
  let sha: string | undefined;
  let loading = false;
  const learn = (): void => {
    if (loading) return;
    loading = true;
    send(['SCRIPT', 'LOAD', SCRIPT]).then(
      (value) => {
        sha = String(value);
        loading = false;
      },
      () => {
        loading = false;
      },
    );
  };

  const store: RatewiseStore = {
    [STORE_LINK]: STORE_LINKS,
    name: 'redis',
    // Called when a client meets an origin and when it learns a route: rare, so the script goes whole each time.
    async routes(key: string, learned: StoreRoutes, max: number): Promise<StoreRoutes> {
      const hash = `${prefix}{${key}}:routes`;
      return routesOf(await send(['EVAL', ROUTES_SCRIPT, '1', hash, ...routesArguments(learned, max)]), max);
    },
    async sync(key: string, request: StoreRequest): Promise<StoreReply> {
      const hash = `${prefix}{${key}}`;
      const keys = [hash, `${hash}:slots`, `${hash}:clients`, `${hash}:units`, `${hash}:leases`];
      const { view } = request;
      const args = [
        '5',
        ...keys,
        ...argumentsOf(request),
        channel,
        String(reorderMs),
        view?.span ? String(view.span) : '',
        view?.limit === undefined ? '' : String(view.limit),
      ];
      if (sha === undefined) {
        learn();
        return replyOf(await send(['EVAL', SCRIPT, ...args]));
      }
      try {
        return replyOf(await send(['EVALSHA', sha, ...args]));
      } catch (error) {
        // Redis restarted (or SCRIPT FLUSH), or a cluster node that has not seen the script: send the script itself
        // (the one call that takes two round trips), and learn it again for the next call.
        if (!String((error as { message?: unknown } | undefined)?.message).startsWith('NOSCRIPT')) throw error;
        sha = undefined;
        learn();
        return replyOf(await send(['EVAL', SCRIPT, ...args]));
      }
    },
  };
  if (pauses !== undefined) store.watch = (key, onPause) => pauses.watch(`${prefix}{${key}}`, onPause);
  return store;
}

/** A failed SUBSCRIBE is tried again by the next look at a watch, no sooner than this after it failed. */
const SUBSCRIBE_RETRY_MS = 1000;

/**
 * The pause channel through `subscriber`: one subscription for every budget, held while any budget watches, and each
 * message handed to the watches of the hash it names.
 */
function pauseChannel(
  subscriber: NodeRedisSubscriberLike | IoRedisSubscriberLike,
  channel: string,
): { watch(hash: string, onPause: (pause: StorePauseNotice) => void): StoreWatch } {
  const given = subscriber as unknown;
  if (
    typeof given !== 'object' ||
    given === null ||
    typeof (given as Partial<IoRedisSubscriberLike>).subscribe !== 'function'
  )
    throw invalidOption('redisStore subscriber', 'a node-redis (v4, v5) or ioredis client', subscriber);
  const io = typeof (subscriber as Partial<IoRedisSubscriberLike>).call === 'function';
  const watches = new Map<string, Set<(pause: StorePauseNotice) => void>>();
  let state: 'off' | 'subscribing' | 'on' = 'off';
  let failedAt = -Infinity;
  const deliver = (message: string): void => {
    const match = /^(\d+) (\d+) (.*)$/s.exec(message);
    if (match === null) return;
    const pause = { forMs: Number(match[1]), orderedForMs: Number(match[2]) };
    for (const onPause of watches.get(match[3]!) ?? []) onPause(pause);
  };
  const onMessage = (message: string): void => {
    deliver(message);
  };
  const onIoMessage = (from: string, message: string): void => {
    if (from === channel) deliver(message);
  };
  const subscribe = (): void => {
    if (state !== 'off' || Date.now() - failedAt < SUBSCRIBE_RETRY_MS) return;
    state = 'subscribing';
    if (io) (subscriber as IoRedisSubscriberLike).on('message', onIoMessage);
    const subscribed = io
      ? (subscriber as IoRedisSubscriberLike).subscribe(channel)
      : (subscriber as NodeRedisSubscriberLike).subscribe(channel, onMessage);
    Promise.resolve(subscribed).then(
      () => {
        if (state !== 'subscribing') return;
        state = 'on';
        if (watches.size === 0) unsubscribe();
      },
      () => {
        if (io) (subscriber as IoRedisSubscriberLike).off('message', onIoMessage);
        state = 'off';
        failedAt = Date.now();
      },
    );
  };
  const unsubscribe = (): void => {
    if (state !== 'on') return;
    state = 'off';
    const done = io
      ? (subscriber as IoRedisSubscriberLike).unsubscribe(channel)
      : (subscriber as NodeRedisSubscriberLike).unsubscribe(channel, onMessage);
    if (io) (subscriber as IoRedisSubscriberLike).off('message', onIoMessage);
    // Nothing waits on it: a connection gone has dropped the subscription anyway.
    Promise.resolve(done).catch(() => undefined);
  };
  const connected = (): boolean => {
    const { isReady } = subscriber as NodeRedisSubscriberLike;
    const { status } = subscriber as IoRedisSubscriberLike;
    return io ? status === undefined || status === 'ready' : isReady !== false;
  };
  return {
    watch(hash, onPause) {
      let set = watches.get(hash);
      if (set === undefined) watches.set(hash, (set = new Set()));
      set.add(onPause);
      subscribe();
      let closed = false;
      return {
        get live() {
          if (closed) return false;
          if (state === 'off') subscribe();
          return state === 'on' && connected();
        },
        close() {
          if (closed) return;
          closed = true;
          set.delete(onPause);
          if (set.size === 0) watches.delete(hash);
          if (watches.size === 0) unsubscribe();
        },
      };
    },
  };
}

function argumentsOf(request: StoreRequest): string[] {
  const { pause, view, slots, client } = request;
  const args = [
    String(request.want),
    String(request.need),
    String(request.maxWaitMs),
    pause ? String(pause.forMs) : '',
    pause ? String(pause.orderedForMs) : '',
    view ? String(view.remaining) : '',
    view ? String(view.resetInMs) : '',
    view?.counter === undefined ? '' : String(view.counter),
    slots ? String(slots.max) : '',
    slots ? String(slots.ttlMs) : '',
    slots?.take ?? '',
    request.giveBack ? String(request.giveBack) : '',
    client?.id ?? '',
    client ? String(client.ttlMs) : '',
    String(slots?.release.length ?? 0),
    ...(slots?.release ?? []),
  ];
  pushLimits(args, request.limits);
  const units = request.units ?? [];
  const lease = request.lease;
  args.push(String(units.length));
  for (const { name, want, giveBack, settle, view, limits } of units) {
    args.push(
      name,
      String(want),
      giveBack ? String(giveBack) : '',
      settle ? String(settle) : '',
      view ? String(view.remaining) : '',
      view?.limit === undefined ? '' : String(view.limit),
      view ? String(view.resetInMs) : '',
      view ? (view.refill === 'continuous' ? 'c' : 'w') : '',
      view?.counter === undefined ? '' : String(view.counter),
      view?.ageMs === undefined ? '' : String(view.ageMs),
    );
    pushLimits(args, limits);
  }
  if (lease === undefined) args.push('', '', '', '', '');
  else if (lease === 'release') args.push('0', '', '', '', '');
  else
    args.push(
      String(lease.ratePerMs),
      String(lease.minRatePerMs),
      String(lease.burst),
      String(lease.ttlMs),
      String(lease.maxShare),
    );
  return args;
}

/** The count of `limits`, then limit, intervalMs and capacity of each. */
function pushLimits(args: string[], limits: StoreRequest['limits']): void {
  args.push(String(limits.length));
  for (const { limit, intervalMs, capacity } of limits) args.push(String(limit), String(intervalMs), String(capacity));
}

const REASONS = new Set(['rate', 'paused', 'server', 'concurrency']);

function replyOf(reply: unknown): StoreReply {
  if (!Array.isArray(reply) || reply.length < 14) throw new TypeError('ratewise: unexpected reply from Redis');
  const [
    granted,
    waitMs,
    reason,
    pausedForMs,
    orderedForMs,
    ,
    counter,
    clients,
    unit,
    leaseRate,
    leaseBurst,
    leaseTokens,
    leaseTtl,
    counterSpan,
    ...unitCounters
  ] = (reply as unknown[]).map((v) =>
    typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? String(v) : '',
  ) as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    ...string[],
  ];
  const signed = (text: string): number => {
    const n = Number(text);
    if (!Number.isFinite(n)) throw new TypeError('ratewise: unexpected reply from Redis');
    return n;
  };
  const number = (text: string): number => {
    const n = signed(text);
    if (n < 0) throw new TypeError('ratewise: unexpected reply from Redis');
    return n;
  };
  return {
    granted: number(granted),
    waitMs: number(waitMs),
    reason: REASONS.has(reason) ? (reason as StoreReply['reason']) : undefined,
    pausedForMs: number(pausedForMs),
    orderedForMs: number(orderedForMs),
    counter: number(counter),
    ...(number(counterSpan) > 0 && { counterSpan: number(counterSpan) }),
    clients: number(clients),
    ...(unit !== '' && { unit }),
    ...(unitCounters.length > 0 && { unitCounters: unitCounters.map(number) }),
    ...(number(leaseRate) > 0 && {
      lease: {
        ratePerMs: number(leaseRate),
        burst: number(leaseBurst),
        tokens: signed(leaseTokens),
        ttlMs: number(leaseTtl),
      },
    }),
  };
}
