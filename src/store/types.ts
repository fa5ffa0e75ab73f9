// The seam between a client's budgets and a store that shares them across processes and machines (Redis). A store
// makes one atomic decision per call and keeps no client state; the engine (engine/store-link.ts) decides when to
// call it.

/** One token bucket of a shared budget: `limit` cost units per `intervalMs`, holding at most `capacity`. */
export interface StoreLimit {
  /** Cost units the bucket gains per `intervalMs` (the count of the budget's rate). */
  readonly limit: number;
  /** The rate's interval, in ms. */
  readonly intervalMs: number;
  /** Most cost units the bucket holds (the budget's burst). */
  readonly capacity: number;
}

/** What one call to the store asks for and tells it. Every duration is in ms from the store's own now. */
export interface StoreRequest {
  /** The budget's local rates; empty when it has none (only pauses and the server's view are shared). */
  readonly limits: readonly StoreLimit[];
  /** Cost units wanted now; 0 to take nothing (a publish, or a check that the store is back). */
  readonly want: number;
  /** Fewest cost units worth granting (the next request's cost): the server's spent quota grants down to it. */
  readonly need: number;
  /** Tokens further ahead than this are not reserved: the reply says how long until they would be, in ms. */
  readonly maxWaitMs: number;
  /** A pause this client was ordered: ms until it ends, and until the instant the server named (no jitter). */
  readonly pause?:
    | {
        /** ms until the pause ends, jitter included. */
        readonly forMs: number;
        /** ms until the instant the server named, without jitter (no more than `forMs`). */
        readonly orderedForMs: number;
      }
    | undefined;
  /**
   * What the server said last: `remaining` cost units until `resetInMs` from now, in answer to a request granted
   * when the grant counter reached `counter` (what was granted since is not in `remaining` yet).
   */
  readonly view?:
    | {
        /** Cost units the server said were left. */
        readonly remaining: number;
        /** ms until the server's quota is restored. */
        readonly resetInMs: number;
        /** The grant counter when the request it answers was granted; undefined when that is not known. */
        readonly counter?: number | undefined;
        /**
         * How far `counter` is below the exact count (the grant's `StoreReply.counterSpan`): what was granted shortly
         * before the request, which its answer may or may not count. 0 or undefined: `counter` is exact.
         */
        readonly span?: number | undefined;
        /** The quota's limit in the window, when the server said it. */
        readonly limit?: number | undefined;
      }
    | undefined;
  /** Shared concurrency: slots held across every client, each expiring after `ttlMs` at the latest. */
  readonly slots?: StoreSlots | undefined;
  /**
   * Cost units of earlier grants that went unused (their call timed out, or they were given up): put back in the
   * budget's buckets, never above their capacity. 0 or undefined for none.
   */
  readonly giveBack?: number | undefined;
  /** The calling client, counted live until `ttlMs` after this call: how many spend the budget (see `clients`). */
  readonly client?: StoreClient | undefined;
  /**
   * The budget's units other than its requests (tokens, …; see `cost`): what each of them asks, gives back and tells.
   * A grant then holds every unit's `want` as well, or nothing. Empty or undefined for a budget counted in requests.
   */
  readonly units?: readonly StoreUnit[] | undefined;
  /**
   * A rate lease this client asks for (or renews), or `'release'` to hand its lease back. Needs `client` (the lease is
   * the client id's). Undefined to leave the lease as it is.
   */
  readonly lease?: StoreLeaseAsk | 'release' | undefined;
}

/**
 * A rate lease asked of the store: a part of the budget's rate that this client spends alone, deciding locally with a
 * token bucket of `ratePerMs` and `burst` until the lease ends, with no store call. The shared bucket refills that
 * much slower, and holds that much less, while the lease lasts.
 */
export interface StoreLeaseAsk {
  /** Cost units per ms wanted. A lease held is set to this rate when it is lower; raised only within `maxShare`. */
  readonly ratePerMs: number;
  /** The least rate worth a new lease, in cost units per ms: a new lease below it is not granted. */
  readonly minRatePerMs: number;
  /** Most cost units the client's bucket holds (taken from the shared bucket's capacity while the lease lasts). */
  readonly burst: number;
  /** The lease ends this long after the store's now, in ms, unless renewed. */
  readonly ttlMs: number;
  /** Most of the budget's rate that every lease together may hold (0 to 1): the rest stays shared. */
  readonly maxShare: number;
}

/** The lease the client holds after a store call. */
export interface StoreLease {
  /** Cost units per ms. */
  readonly ratePerMs: number;
  /** Most cost units its bucket holds. */
  readonly burst: number;
  /**
   * Cost units added to the client's bucket with this call: a new lease's first tokens, taken from the shared bucket;
   * negative when tokens owed by the shared bucket must be repaid first (the client's bucket starts that far in debt,
   * as if the lease, or the rate it gained, began once they are); else 0.
   */
  readonly tokens: number;
  /** ms from the store's now until the lease ends. */
  readonly ttlMs: number;
}

/** A pause another client published on a budget, pushed to the clients that watch it. */
export interface StorePauseNotice {
  /** ms until the pause ends, jitter included, from when the store published it. */
  readonly forMs: number;
  /** ms until the instant the server named, without jitter. */
  readonly orderedForMs: number;
}

/** A watch on a budget's pauses (see {@link RatewiseStore.watch}). */
export interface StoreWatch {
  /** Whether pauses reach this client now (subscribed, the connection up): leases are used only while they do. */
  readonly live: boolean;
  /** Stops the notices to this watch. */
  close(): void;
}

/** One unit of a shared budget other than its requests (tokens, …), in a store call. */
export interface StoreUnit {
  /** The unit's name, as the call's `cost` names it (`tokens`). */
  readonly name: string;
  /** The budget's local rates in this unit (`budgets[p].units`); empty when it has none. */
  readonly limits: readonly StoreLimit[];
  /** Units wanted with the grant; 0 for none. Granted whole or not at all, with the cost units. */
  readonly want: number;
  /** Units of earlier grants that went unused: back in the unit's buckets and the server's count. */
  readonly giveBack?: number | undefined;
  /**
   * What calls that went already used beyond their estimate, less what they used below it (see the `usage` hook):
   * taken from the unit's buckets (a negative amount puts units back). The server's count is its own.
   */
  readonly settle?: number | undefined;
  /** What the server said last of its quota in this unit. */
  readonly view?: StoreUnitView | undefined;
}

/** The server's quota in one unit, as one answer described it. */
export interface StoreUnitView {
  /** Units the server said were left. */
  readonly remaining: number;
  /** The most its quota holds (its limit), when it said. */
  readonly limit?: number | undefined;
  /** ms until the quota is whole again (0 when it named no reset). */
  readonly resetInMs: number;
  /** `continuous`: it comes back evenly until then (the LLM vendors'); `window`: all of it at once then. */
  readonly refill: 'continuous' | 'window';
  /** The unit's grant counter when the request it answers was granted; undefined when not known. */
  readonly counter?: number | undefined;
  /**
   * ms since the answer came: a quota that refills evenly has been refilling since (at the rate the answer implies:
   * what was missing, over `resetInMs + ageMs`). Undefined for 0.
   */
  readonly ageMs?: number | undefined;
}

/** The client making a store call, for the count of a budget's live clients. */
export interface StoreClient {
  /** A random id, one per client and budget. */
  readonly id: string;
  /** The client is counted live until this many ms after its last call. */
  readonly ttlMs: number;
}

/** Slots of a shared concurrency cap, in a store call. */
export interface StoreSlots {
  /** Most slots held at once. */
  readonly max: number;
  /** A slot taken now is held for at most this long, in ms, counted from when its request may go. */
  readonly ttlMs: number;
  /** The slot to take with a grant (a grant is then one request), undefined to take none. */
  readonly take: string | undefined;
  /** Slots given back: their requests ended, or their grant went unused. */
  readonly release: readonly string[];
}

/** The store's decision. */
export interface StoreReply {
  /** Cost units granted: 0, or between `need` and `want` (less only when the server's quota is nearly spent). */
  readonly granted: number;
  /**
   * With a grant: ms until the granted units may be used (a reservation on the shared bucket). Without: ms until
   * a grant could be made (0 when `want` was 0).
   */
  readonly waitMs: number;
  /** What keeps a request waiting: the shared bucket, a shared pause, the server's spent quota, or no free slot. */
  readonly reason: 'rate' | 'paused' | 'server' | 'concurrency' | undefined;
  /** ms left of the shared pause, jitter included; 0 when there is none. */
  readonly pausedForMs: number;
  /** ms left until the instant the server named for the shared pause, without jitter; 0 when there is none. */
  readonly orderedForMs: number;
  /**
   * Cost units granted so far on this budget, this grant included: a count that only goes up (0 if not kept). With a
   * grant, a store may return less: the counter that the view of the granted requests' answers is to be corrected by
   * (the Redis store leaves out what it granted shortly before, see `RedisStoreOptions.reorderMs`).
   */
  readonly counter: number;
  /**
   * With a grant: how far `counter` is below the exact count, when the store returned less (what it granted shortly
   * before, which the answers of this grant's requests may or may not count). 0 or undefined: `counter` is exact.
   */
  readonly counterSpan?: number | undefined;
  /**
   * Live clients of this budget, the caller included: those whose last call was within their `client.ttlMs`.
   * While the store is unreachable, each spends its share of the budget by this count. 0 or undefined when the
   * store does not count them.
   */
  readonly clients?: number | undefined;
  /** With `units`: the unit whose quota kept the request waiting, when one did. */
  readonly unit?: string | undefined;
  /**
   * With `units`: each unit's grant counter (units granted so far, this grant included), in the request's order. For
   * a unit granted, a store may return less: the counter that the view of the granted request's answer is to be
   * corrected by (the Redis store leaves out what it granted shortly before, see `RedisStoreOptions.reorderMs`).
   */
  readonly unitCounters?: readonly number[] | undefined;
  /** The rate lease this client holds after the call, when it holds one (see `StoreRequest.lease`). */
  readonly lease?: StoreLease | undefined;
}

/**
 * The key under which a store carries the engine's side of sharing (see `customStore` in `ratewise/store`). A global
 * symbol, so that two copies of ratewise in one bundle still recognise each other's stores.
 */
export const STORE_LINK: unique symbol = Symbol.for('ratewise.storeLink');

/**
 * Where budgets are shared. `redisStore()` (from `ratewise/redis`) is the one ratewise ships. Each call is one
 * atomic decision on the budget `key`, timed by the store (not by the calling machine's clock). Rejects on any
 * failure; ratewise bounds every call with its own timeout and falls back to local budgets.
 */
export interface RatewiseStore {
  /**
   * The engine's side of sharing (grants, leases, timeouts, fallbacks), put there by `redisStore()` or
   * `customStore()`: it comes with the store, so that a client without one carries none of it.
   */
  readonly [STORE_LINK]?: unknown;
  /** A short name for events and errors, such as `"redis"`. */
  readonly name: string;
  /**
   * Makes one atomic decision on the budget `key`: takes what `request` asks for if it can, records what it tells,
   * and says how long to wait otherwise. Rejects when the store fails.
   */
  sync(key: string, request: StoreRequest): Promise<StoreReply>;
  /**
   * Optional: keeps what the clients learnt of the routes of the origin whose budget is `key` (which quota each route
   * counts against, as the server named it), so that a client starting later sends each route to its quota's budget
   * from its first call. Records `learned` (an entry known already keeps its value, except a route's bucket, which
   * the latest learner sets) and resolves with everything kept, at most `max` routes. Rejects when the store fails.
   */
  routes?(key: string, learned: StoreRoutes, max: number): Promise<StoreRoutes>;
  /**
   * Optional: calls `onPause` when a client publishes a pause on the budget `key`, as soon as the store hears of it.
   * A store that has it pushes pauses, so budgets may hold rate leases (see `StoreRequest.lease`): a process that
   * makes no store call for seconds still stops within a round trip of another's 429.
   */
  watch?(key: string, onPause: (pause: StorePauseNotice) => void): StoreWatch;
}

/** What the clients learnt of one origin's routes (see `RatewiseStore.routes`). */
export interface StoreRoutes {
  /** The IETF policy group the origin's own budget stands for (the first one named), when known. */
  readonly host?: string | undefined;
  /** IETF policy names merged into another's group, as `[name, group]`. */
  readonly groups: readonly (readonly [string, string])[];
  /**
   * Routes (a method and a path shape, as `"GET /search/*"`) and the bucket the server named for each, as
   * `[route, bucket]`; a bucket learnt from IETF policy names is the name of one of them after `=`.
   */
  readonly routes: readonly (readonly [string, string])[];
}
