// The seam between a client's budgets and a store that shares them across processes and machines (Redis). A store
// makes one atomic decision per call and keeps no client state; the engine (shared.ts) decides when to call it.

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
  /** Cost units granted so far on this budget, this grant included: a count that only goes up (0 if not kept). */
  readonly counter: number;
  /**
   * Live clients of this budget, the caller included: those whose last call was within their `client.ttlMs`.
   * While the store is unreachable, each spends its share of the budget by this count. 0 or undefined when the
   * store does not count them.
   */
  readonly clients?: number | undefined;
}

/**
 * Where budgets are shared. `redisStore()` (from `ratewise/redis`) is the one ratewise ships. Each call is one
 * atomic decision on the budget `key`, timed by the store (not by the calling machine's clock). Rejects on any
 * failure; ratewise bounds every call with its own timeout and falls back to local budgets.
 */
export interface RatewiseStore {
  /** A short name for events and errors, such as `"redis"`. */
  readonly name: string;
  /**
   * Makes one atomic decision on the budget `key`: takes what `request` asks for if it can, records what it tells,
   * and says how long to wait otherwise. Rejects when the store fails.
   */
  sync(key: string, request: StoreRequest): Promise<StoreReply>;
}
