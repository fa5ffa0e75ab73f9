// The loop guard: notices an application that requests the same thing over and over by accident (a retry loop of its
// own, a re-render storm) while leaving ordinary polling and concurrent traffic alone. Memory is bounded by
// `maxEntries`.

/** Options of {@link LoopGuard}, validated by `resolveOptions`. */
export interface LoopGuardConfig {
  /**
   * Counted calls of one key allowed within a window; the next one is a loop. `Infinity` never trips.
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

/** What {@link LoopGuard.record} says of one call; passed back to {@link LoopGuard.settle} when the call settles. */
export interface Recorded {
  /** The call's ticket: its number among the guard's calls. */
  readonly ticket: number;
  /** Counted calls in the key's window, this one included; 0 when this call was not counted (a concurrent copy). */
  readonly count: number;
  /** Whether this call is the first in its window to exceed `limit`: the loop is reported once per window. */
  readonly first: boolean;
  /** The key's entry the call was counted in: what settling it marks, without looking the key up again. */
  readonly entry: Entry;
}

/** What the guard keeps of one key. */
export interface Entry {
  /** Epoch ms the key's current window started. */
  startedAt: number;
  count: number;
  /** Whether this window has already reported its loop. */
  reported: boolean;
  /** The ticket of the key's most recent call. */
  latest: number;
  /** Whether that call has settled: a call started before it has is a concurrent copy, not a repeat. */
  latestSettled: boolean;
}

/**
 * Counts application calls per key (method, sanitised URL and body fingerprint) in a fixed window per key that starts
 * at the key's first counted call: `limit` counted calls fit in `windowMs`, the counted call after them is a loop.
 * A call counts only when the key's previous call had settled before it started: a loop waits for each answer
 * before asking again, while copies sent at once (a burst, a page loading the same resource twice) are not a loop.
 * Retries made by ratewise must not be recorded. Polling at one call per second on the same URL counts 10 per window
 * with the defaults and never trips.
 */
export class LoopGuard {
  readonly limit: number;
  readonly windowMs: number;
  readonly #maxEntries: number;
  /** In least-recently-called order. */
  readonly #entries = new Map<string, Entry>();
  readonly #warned = new Set<string>();
  /** Where the next eviction of each collection starts (see {@link Oldest}). */
  readonly #oldestEntry = new Oldest(this.#entries);
  readonly #oldestWarned = new Oldest(this.#warned);
  #tickets = 0;

  constructor({ limit = 100, windowMs = 10_000, maxEntries = 10_000 }: LoopGuardConfig = {}) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.#maxEntries = Math.max(1, maxEntries);
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Records one application call of `key` starting at `now` (epoch ms); {@link settle} must follow when it settles.
   * Undefined when the guard never trips (`limit: Infinity`) and tracks nothing.
   */
  record(key: string, now: number): Recorded | undefined {
    if (this.limit === Infinity) return undefined;
    const ticket = ++this.#tickets;
    let entry = this.#entries.get(key);
    // Re-inserted on every call, so the map's first key is the least recently called: a flood of one-off URLs evicts
    // those, not a key that is looping right now.
    if (entry !== undefined) this.#entries.delete(key);
    else if (this.#entries.size >= this.#maxEntries) this.#oldestEntry.evict();
    const concurrent = entry !== undefined && !entry.latestSettled;
    entry ??= { startedAt: now, count: 0, reported: false, latest: ticket, latestSettled: false };
    entry.latest = ticket;
    entry.latestSettled = false;
    this.#entries.set(key, entry);
    if (concurrent) return { ticket, count: 0, first: false, entry };
    // `now < startedAt`: the clock went back; restart rather than keep a window that may never end.
    if (!(now - entry.startedAt < this.windowMs) || now < entry.startedAt) {
      entry.startedAt = now;
      entry.count = 0;
      entry.reported = false;
    }
    entry.count += 1;
    const first = entry.count > this.limit && !entry.reported;
    if (first) entry.reported = true;
    return { ticket, count: entry.count, first, entry };
  }

  /**
   * Marks a call settled, unless a later call of its key has started since. O(1); a call of a forgotten key marks
   * an entry the guard no longer holds, which changes nothing.
   */
  settle({ entry, ticket }: Recorded): void {
    if (entry.latest === ticket) entry.latestSettled = true;
  }

  /** True the first time it is called for `key` (the caller then warns), false afterwards. */
  warnOnce(key: string): boolean {
    if (this.#warned.has(key)) return false;
    if (this.#warned.size >= this.#maxEntries) this.#oldestWarned.evict();
    this.#warned.add(key);
    return true;
  }

  /** Forgets every count and every warning. */
  clear(): void {
    this.#entries.clear();
    this.#warned.clear();
    this.#oldestEntry.reset();
    this.#oldestWarned.reset();
  }
}

/**
 * Evicts the first key of a Map or Set in insertion order (keys are only ever deleted or appended, so every key
 * before the cursor is gone). A fresh `keys()` iterator per eviction would walk past every deleted slot the table
 * has not yet compacted: thousands of them once the collection is full, at every call. One long-lived iterator
 * resumes where the last eviction stopped instead: O(1) amortised.
 */
class Oldest {
  #cursor: Iterator<string> | undefined;

  constructor(private readonly collection: Map<string, unknown> | Set<string>) {}

  evict(): void {
    let next = this.#cursor?.next();
    // A finished iterator stays finished, whatever is added afterwards: start again from the front.
    if (next === undefined || next.done === true) {
      this.#cursor = this.collection.keys();
      next = this.#cursor.next();
    }
    if (next.done !== true) this.collection.delete(next.value);
  }

  /** The collection was cleared: the next eviction starts from its front. */
  reset(): void {
    this.#cursor = undefined;
  }
}
