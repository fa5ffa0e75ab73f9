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
   * Most keys tracked at once (and, separately, most keys remembered as warned). A new key takes the place of the
   * least recently called key of its set (see {@link LoopGuard}; the oldest warned key).
   * @default 8_192
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
  /** Where the key's entry was when the call was counted: what settling it marks, without looking the key up again. */
  readonly slot: number;
  /** The key's hash: where settling looks for the entry once the table has grown and moved it. */
  readonly hash: number;
}

// An entry is four numbers of the table: the key's hash, the ticket of its latest call (0: the slot is empty), the
// epoch ms its window started, and its state: the window's count × 4, + 2 once the window reported its loop, + 1 once
// the latest call has settled.
const STRIDE = 4;
const HASH = 0;
const LATEST = 1;
const STARTED = 2;
const STATE = 3;
const REPORTED = 2;
const SETTLED = 1;
/** Keys in a set: the ones a key may be kept beside (see {@link LoopGuard}). */
const WAYS = 4;
/** Most keys kept in a single set, searched whole: up to it, the guard forgets exactly the least recently called. */
const ONE_SET_MAX = 16;
/** Sets a table starts with, before it grows. */
const FIRST_SETS = 16;
/** 2^21: the hash is two 32-bit hashes of the key, the first whole and 21 bits of the second (53 bits in all). */
const LOW = 2_097_152;

/**
 * Counts application calls per key (method, sanitised URL and body fingerprint) in a fixed window per key that starts
 * at the key's first counted call: `limit` counted calls fit in `windowMs`, the counted call after them is a loop.
 * A call counts only when the key's previous call had settled before it started: a loop waits for each answer
 * before asking again, while copies sent at once (a burst, a page loading the same resource twice) are not a loop.
 * Retries made by ratewise must not be recorded. Polling at one call per second on the same URL counts 10 per window
 * with the defaults and never trips.
 *
 * Keys are known by a 53-bit hash, in a table of numbers (no object per key, nothing for the garbage collector to
 * trace: a `Map` of URL strings cost `rw.fetch` about half a microsecond a call). The table is split into sets of
 * four by the hash (one set of `maxEntries` when that is 16 or fewer), and starts small: a new key whose set is full
 * splits the set in two while the table may grow (to at most `maxEntries` slots), and then takes the place of the
 * least recently called key of its set. So nothing is forgotten before the table is whole, and then the keys
 * forgotten are the least recently called ones of each set, not of all.
 */
export class LoopGuard {
  readonly limit: number;
  readonly windowMs: number;
  /** Most keys remembered as warned. */
  readonly #maxEntries: number;
  /** Keys a set holds, and the most sets the table grows to. */
  readonly #ways: number;
  readonly #maxSets: number;
  #sets: number;
  #table: Float64Array;
  /** Slots in use. */
  #used = 0;
  /** Keys warned of, oldest first. */
  readonly #warned = new Set<string>();
  #tickets = 0;

  constructor({ limit = 100, windowMs = 10_000, maxEntries = 8_192 }: LoopGuardConfig = {}) {
    this.limit = limit;
    this.windowMs = windowMs;
    const most = Math.max(1, Math.floor(maxEntries));
    this.#maxEntries = most;
    // Sets are a power of two, so that the table grows by splitting each one in two.
    this.#ways = most <= ONE_SET_MAX ? most : WAYS;
    this.#maxSets = most <= ONE_SET_MAX ? 1 : 2 ** Math.floor(Math.log2(most / WAYS));
    this.#sets = Math.min(this.#maxSets, FIRST_SETS);
    this.#table = new Float64Array(this.#sets * this.#ways * STRIDE);
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#used;
  }

  /**
   * Records one application call of `key` starting at `now` (epoch ms); {@link settle} must follow when it settles.
   * Undefined when the guard never trips (`limit: Infinity`) and tracks nothing.
   */
  record(key: string, now: number): Recorded | undefined {
    if (this.limit === Infinity) return undefined;
    const ticket = ++this.#tickets;
    // FNV-1a, and a second multiplicative hash beside it.
    let high = 0x811c9dc5;
    let low = 0x9747b28c;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      high = Math.imul(high ^ c, 16_777_619);
      low = Math.imul(low ^ c, 0x5bd1e995);
      low ^= low >>> 15;
    }
    high >>>= 0;
    const hash = high * LOW + (low & (LOW - 1));
    let table = this.#table;
    let slot: number;
    for (;;) {
      slot = this.#find(hash);
      // A new key whose set is full: the set splits in two while the table may grow, rather than forget a key.
      if (slot >= 0 || table[-slot - 1 + LATEST] === 0 || this.#sets >= this.#maxSets) break;
      table = this.#grow();
    }
    let state: number;
    if (slot < 0) {
      slot = -slot - 1;
      if (table[slot + LATEST] === 0) this.#used++;
      table[slot + HASH] = hash;
      table[slot + STARTED] = now;
      state = SETTLED; // a new key: nothing in flight, nothing counted
    } else state = table[slot + STATE]!;
    table[slot + LATEST] = ticket;
    if ((state & SETTLED) === 0) return { ticket, count: 0, first: false, slot, hash };
    let count = Math.floor(state / 4);
    let reported = (state & REPORTED) !== 0;
    const startedAt = table[slot + STARTED]!;
    // `now < startedAt`: the clock went back; restart rather than keep a window that may never end.
    if (!(now - startedAt < this.windowMs) || now < startedAt) {
      table[slot + STARTED] = now;
      count = 0;
      reported = false;
    }
    count += 1;
    const first = count > this.limit && !reported;
    if (first) reported = true;
    table[slot + STATE] = count * 4 + (reported ? REPORTED : 0);
    return { ticket, count, first, slot, hash };
  }

  /**
   * The slot of the key whose hash is `hash`; when it is not in the table, -1 - the slot it would take: the least
   * recently called of its set, an empty one before any.
   */
  #find(hash: number): number {
    const table = this.#table;
    const from = (Math.floor(hash / LOW) & (this.#sets - 1)) * this.#ways * STRIDE;
    const to = from + this.#ways * STRIDE;
    let oldest = from;
    for (let at = from; at < to; at += STRIDE) {
      if (table[at + LATEST]! > 0 && table[at + HASH] === hash) return at;
      if (table[at + LATEST]! < table[oldest + LATEST]!) oldest = at;
    }
    return -oldest - 1;
  }

  /**
   * Marks a call settled, unless a later call of its key has started since. O(1); a call whose key was forgotten
   * since finds another ticket in its slot, and changes nothing.
   */
  settle({ slot, ticket, hash }: Recorded): void {
    const table = this.#table;
    // Tickets are never reused: another ticket there is another call's, or the table has grown and moved the entry.
    if (table[slot + LATEST] !== ticket) slot = this.#find(hash);
    if (slot >= 0 && table[slot + LATEST] === ticket) table[slot + STATE] = table[slot + STATE]! | SETTLED;
  }

  /** Twice the sets: each set's keys go to one of the two sets it splits into, by the next bit of their hash. */
  #grow(): Float64Array {
    const old = this.#table;
    const ways = this.#ways;
    const sets = this.#sets * 2;
    const table = new Float64Array(sets * ways * STRIDE);
    const fill = new Uint8Array(sets);
    for (let at = 0; at < old.length; at += STRIDE) {
      if (old[at + LATEST] === 0) continue;
      const set = Math.floor(old[at + HASH]! / LOW) & (sets - 1);
      table.set(old.subarray(at, at + STRIDE), (set * ways + fill[set]!++) * STRIDE);
    }
    this.#sets = sets;
    this.#table = table;
    return table;
  }

  /** True the first time it is called for `key` (the caller then warns), false afterwards. */
  warnOnce(key: string): boolean {
    if (this.#warned.has(key)) return false;
    // Rare (a loop each): a new iterator for each is cheap here.
    if (this.#warned.size >= this.#maxEntries) this.#warned.delete(this.#warned.values().next().value!);
    this.#warned.add(key);
    return true;
  }

  /** Forgets every count and every warning. */
  clear(): void {
    this.#table.fill(0);
    this.#used = 0;
    this.#warned.clear();
  }
}
