/**
 * Budgets shared across processes and machines through Redis: {@link redisStore} wraps the node-redis or ioredis
 * client the application already has, for `createRatewise({ store })`.
 * @module ratewise/redis
 */
// `ratewise/redis`: budgets shared through a Redis server, with the client the application already has (node-redis
// v4 or v5, or ioredis). One round trip per call: EVAL of the script in redis-script.ts until its SHA1 is known (a
// SCRIPT LOAD sent ahead of the first call tells it), EVALSHA after; after a restart of Redis, the call that finds
// it gone sends it whole with EVAL.
import { invalidOption } from '../errors.js';
import { ROUTES_SCRIPT, routesArguments, routesOf } from './redis-routes.js';
import { SCRIPT } from './redis-script.js';
import type { RatewiseStore, StoreReply, StoreRequest, StoreRoutes } from './types.js';

export type {
  RatewiseStore,
  StoreClient,
  StoreLimit,
  StoreReply,
  StoreRequest,
  StoreRoutes,
  StoreSlots,
  StoreUnit,
  StoreUnitView,
} from './types.js';

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

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * Prepended to every Redis key ratewise writes: a budget `key` lives in the hash `${prefix}{${key}}` (the braces
   * make it a Redis Cluster hash tag). Give each application its own prefix.
   * @default 'ratewise:'
   */
  readonly prefix?: string;
}

type Command = (args: string[]) => Promise<unknown>;

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
  const prefix = options.prefix ?? 'ratewise:';
  if (typeof prefix !== 'string') throw invalidOption('redisStore prefix', 'a string', prefix);
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

  return {
    name: 'redis',
    // Called when a client meets an origin and when it learns a route: rare, so the script goes whole each time.
    async routes(key: string, learned: StoreRoutes, max: number): Promise<StoreRoutes> {
      const hash = `${prefix}{${key}}:routes`;
      return routesOf(await send(['EVAL', ROUTES_SCRIPT, '1', hash, ...routesArguments(learned, max)]), max);
    },
    async sync(key: string, request: StoreRequest): Promise<StoreReply> {
      const hash = `${prefix}{${key}}`;
      const args = ['4', hash, `${hash}:slots`, `${hash}:clients`, `${hash}:units`, ...argumentsOf(request)];
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
    );
    pushLimits(args, limits);
  }
  return args;
}

/** The count of `limits`, then limit, intervalMs and capacity of each. */
function pushLimits(args: string[], limits: StoreRequest['limits']): void {
  args.push(String(limits.length));
  for (const { limit, intervalMs, capacity } of limits) args.push(String(limit), String(intervalMs), String(capacity));
}

const REASONS = new Set(['rate', 'paused', 'server', 'concurrency']);

function replyOf(reply: unknown): StoreReply {
  if (!Array.isArray(reply) || reply.length < 7) throw new TypeError('ratewise: unexpected reply from Redis');
  const [granted, waitMs, reason, pausedForMs, orderedForMs, , counter, clients = '0', unit = '', ...unitCounters] = (
    reply as unknown[]
  ).map((v) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? String(v) : '')) as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string?,
    string?,
    ...string[],
  ];
  const number = (text: string): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new TypeError('ratewise: unexpected reply from Redis');
    return n;
  };
  return {
    granted: number(granted),
    waitMs: number(waitMs),
    reason: REASONS.has(reason) ? (reason as StoreReply['reason']) : undefined,
    pausedForMs: number(pausedForMs),
    orderedForMs: number(orderedForMs),
    counter: number(counter),
    clients: number(clients),
    ...(unit !== '' && { unit }),
    ...(unitCounters.length > 0 && { unitCounters: unitCounters.map(number) }),
  };
}
