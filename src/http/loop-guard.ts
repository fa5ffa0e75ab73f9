// The loop guard: notices an application that requests the same thing over and over by accident (a retry loop of its
// own, a re-render storm) while leaving ordinary polling alone. Memory is bounded by `maxEntries`.

/** Options of {@link LoopGuard}, validated by `resolveOptions`. */
export interface LoopGuardConfig {
  /**
   * Calls of one key allowed within a window; the next one is a loop. `Infinity` never trips.
   * @default 100
   */
  readonly limit?: number;
  /**
   * The window, in ms.
   * @default 10_000
   */
  readonly windowMs?: number;
  /**
   * Most keys tracked at once (and, separately, most keys remembered as warned). Past it the least recently called
   * key (the oldest warned key) is forgotten.
   * @default 10_000
   */
  readonly maxEntries?: number;
}

interface Window {
  /** Epoch ms the key's current window started. */
  readonly startedAt: number;
  count: number;
  /** Whether this window has already reported its loop. */
  reported: boolean;
}

/**
 * Counts application calls per key (method and sanitised URL) in a fixed window per key that starts at the key's first
 * call: `limit` calls fit in `windowMs`, the call after them reports a loop. Retries made by ratewise must not be
 * recorded. Polling at one call per second on the same URL counts 10 per window with the defaults and never trips.
 *
 * A loop is reported once per window: {@link record} returns the count when it first exceeds `limit`, then `undefined`
 * until the key's window restarts, so a sustained loop is reported once per `windowMs`. {@link warnOnce} adds the
 * "one console warning per URL" bookkeeping on top.
 */
export class LoopGuard {
  readonly limit: number;
  readonly windowMs: number;
  readonly #maxEntries: number;
  /** In least-recently-called order. */
  readonly #windows = new Map<string, Window>();
  readonly #warned = new Set<string>();

  constructor({ limit = 100, windowMs = 10_000, maxEntries = 10_000 }: LoopGuardConfig = {}) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.#maxEntries = Math.max(1, maxEntries);
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#windows.size;
  }

  /**
   * Counts one application call of `key` at `now` (epoch ms). Returns the calls in the key's window, this one
   * included, when this call is the first to exceed `limit` in that window; otherwise `undefined`.
   */
  record(key: string, now: number): number | undefined {
    if (this.limit === Infinity) return undefined;
    let window = this.#windows.get(key);
    // Re-inserted on every call, so the map's first key is the least recently called: a flood of one-off URLs evicts
    // those, not a key that is looping right now.
    if (window !== undefined) this.#windows.delete(key);
    else if (this.#windows.size >= this.#maxEntries) evictOldest(this.#windows);
    // `now < startedAt`: the clock went back; restart rather than keep a window that may never end.
    if (window === undefined || !(now - window.startedAt < this.windowMs) || now < window.startedAt) {
      window = { startedAt: now, count: 0, reported: false };
    }
    this.#windows.set(key, window);
    window.count += 1;
    if (window.count <= this.limit || window.reported) return undefined;
    window.reported = true;
    return window.count;
  }

  /** Calls of `key` counted in its current window (0 when it has none running at `now`). */
  count(key: string, now: number): number {
    const window = this.#windows.get(key);
    return window !== undefined && now >= window.startedAt && now - window.startedAt < this.windowMs ? window.count : 0;
  }

  /** True the first time it is called for `key` (the caller then warns), false afterwards. */
  warnOnce(key: string): boolean {
    if (this.#warned.has(key)) return false;
    if (this.#warned.size >= this.#maxEntries) evictOldest(this.#warned);
    this.#warned.add(key);
    return true;
  }

  /** Forgets every count and every warning. */
  clear(): void {
    this.#windows.clear();
    this.#warned.clear();
  }
}

function evictOldest(collection: Map<string, unknown> | Set<string>): void {
  for (const key of collection.keys()) {
    collection.delete(key);
    return;
  }
}
