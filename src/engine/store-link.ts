// Sharing budgets through a store (Redis): the client's link to it (timeouts, outages, recovery) and, per budget,
// the tokens reserved in it. A budget asks the store only when it is otherwise ready to send, and asks for a small
// batch when several requests wait, so that a request costs at most one store round trip, and usually less.
import type { BudgetStoreSide, WaitReason } from './budget.js';
import type { Clock } from '../clock.js';
import { TWO_SOURCES_RESET_SPREAD_MS } from '../headers/reset-rounding.js';
import { randomKey } from '../random-key.js';
import type { BudgetConfig } from '../config/resolve.js';
import type { BucketLimit } from '../config/rate.js';
import { fullBuckets, msUntilAll, tryTakeAll, type BucketState } from './token-bucket.js';
import type {
  RatewiseStore,
  StoreLease,
  StoreLeaseAsk,
  StoreLimit,
  StoreReply,
  StoreRequest,
  StoreUnit,
  StoreWatch,
} from '../store/types.js';
import type { UnitCosts, UnitViewNote } from './unit-quotas.js';
import { sampleRtt, timeoutMs, type RttEstimate } from './store-timeout.js';

/** After a failure the store is asked again after this long, doubling up to {@link RETRY_MAX_MS}. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 5000;
/** Tokens reserved further ahead than this are not taken: the budget asks again when they come near. */
const MAX_RESERVE_MS = 30_000;
/** Reserved tokens not used this long after their instant are dropped: a late burst could overspend a window. */
const GRANT_USE_MS = 1000;
/** A batch holds at most what the shared rate refills in this long, so grants stay close to a fair share. */
const BATCH_WINDOW_MS = 100;
/** The largest batch, a cap for fast rates. */
const MAX_BATCH = 16;
/**
 * A grant (units held ahead of demand) is topped up to what the client's recent sending spends over two store round
 * trips (the top-up's own and one to spare) and this long more, within the batch's cap.
 */
const GRANT_HORIZON_MS = 500;
/** The client's recent sending is a sum of the costs sent, decaying with this time constant (so about a second's). */
const RECENT_TAU_MS = 1000;
/** Cost sent lately (see {@link RECENT_TAU_MS}) below which no grant is held ahead: it would expire unused. */
const MIN_RECENT_FOR_GRANT = 2;
/**
 * The batch of a budget without a rate while the server describes its quota: only that quota limits it, and what is
 * granted when its window turns (before any answer has told the store the new quota) may all be sent. A server that
 * says nothing gets one request per store call, so that a pause one client meets stops the others at once.
 */
const UNRATED_BATCH = 4;
/** Grant counters kept for the answers still to come (beyond, a view goes without its correction). */
const MAX_COUNTERS = 256;
const FIRST_COUNTERS = 16;
/** With every shared slot held, the store is asked again after this long, doubling up to {@link SLOT_POLL_MAX_MS}. */
const SLOT_POLL_FIRST_MS = 10;
const SLOT_POLL_MAX_MS = 200;
/**
 * A client is counted live by the store this long after its last call on a budget: the clients that share the
 * budget's spending while the store is unreachable. Longer than the gaps between calls of a busy client, so that it
 * is not forgotten between two; a client gone for good is counted that much longer (each then spends a little less).
 */
const CLIENT_TTL_MS = 60_000;

/**
 * Rate leases (with a store that pushes pauses, see `RatewiseStore.watch`): a client sending steadily and lightly (one
 * request at a time, at most {@link MAX_LEASE_GAP_MS} apart) leases a part of the budget's rate and decides alone
 * within it. The lease is this many times its recent rate, so that the spread of its sending stays within it.
 */
const LEASE_HEADROOM = 1.5;
/** A client leases only while it sends at most its share of what may be leased (1/N of it) divided by this. */
const LEASE_MARGIN = 1.25;
/** A lease lasts this long unless renewed: what a crashed process holds of the budget, at most. */
const LEASE_TTL_MS = 10_000;
/** A lease is renewed by a store call once less than this (or twice the store call's timeout) is left of it. */
const LEASE_RENEW_MS = 2500;
/** Most of the budget's rate every lease together may hold; the rest stays shared (for the clients that queue). */
const LEASE_SHARE = 0.8;
/** Most cost units a lease's bucket holds. */
const LEASE_BURST = 1;
/** Sends further apart than this (on average) are not worth a lease: it would end between two of them. */
const MAX_LEASE_GAP_MS = 2000;
/** After a lease was refused, no store call is made for one before this long (one rides on the calls made anyway). */
const LEASE_RETRY_MS = 5000;
/** The weight of the latest gap between two sends in their moving average. */
const GAP_WEIGHT = 0.25;
/** A lease's end as the client counts it, this much before the store's (ms rounded on either side). */
const LEASE_END_MARGIN_MS = 2;

/** What a budget does while its store fails: its share of the budget (1/N), its local limits, or fail its waiters. */
export type StoreFallback = 'share' | 'local' | 'fail';

/** What the client hears from its store link. */
export interface StoreLinkHooks {
  /**
   * The store failed: at the start of an outage (`downMs` 0), then at each check during it that found it still
   * failing (`downMs` since it began).
   */
  down(error: unknown, downMs: number): void;
  /** The store answered again after `downMs`. */
  up(downMs: number): void;
}

/** The client's link to its store, one per client: every budget's calls go through it and share its health. */
export class StoreLink {
  #down = false;
  #downSince = 0;
  #retryAt = 0;
  #retryMs = RETRY_FIRST_MS;
  /** The measured round trip, and the timeouts in a row since the last answer that came in time. */
  #rtt: RttEstimate | undefined;
  #backoff = 0;

  constructor(
    readonly store: RatewiseStore,
    readonly clock: Clock,
    /** `storeTimeout`: the least timeout of a call, and the least margin over the measured round trip. */
    readonly floorMs: number,
    readonly fallback: StoreFallback,
    private readonly hooks: StoreLinkHooks,
  ) {}

  /** The side of the budget `key` (with `config`) of this link. */
  budgetSide(key: string, config: BudgetConfig, hooks: BudgetStoreHooks): BudgetStoreLink {
    return new BudgetStoreLink(this, key, config, hooks);
  }

  /** Whether the last call failed: budgets decide locally (`'share'`, `'local'`) or fail their waiters (`'fail'`). */
  get down(): boolean {
    return this.#down;
  }

  /** When the outage in course began (local epoch ms); 0 while the store answers. */
  get downSince(): number {
    return this.#down ? this.#downSince : 0;
  }

  /** The smoothed round trip of the store calls answered in time, in ms; undefined before the first. */
  get rttMs(): number | undefined {
    return this.#rtt?.srttMs;
  }

  /** How long the next store call may take before it counts as failed, in ms. */
  get timeoutMs(): number {
    return timeoutMs(this.#rtt, this.floorMs, this.#backoff);
  }

  /** Whether a budget running locally should ask the store whether it is back. */
  retryDue(now: number): boolean {
    return now >= this.#retryAt;
  }

  /**
   * One store call, settled once: by the store's answer, its error or the timeout, whichever comes first. An answer
   * that comes after the timeout still tells that the store is back, and goes to `late`: the store has done what it
   * was asked (tokens it granted are reserved there).
   */
  call(key: string, request: StoreRequest, late?: (reply: StoreReply) => void): Promise<StoreReply> {
    return new Promise<StoreReply>((resolve, reject) => {
      const startedAt = this.clock.now();
      const limitMs = this.timeoutMs;
      let settled = false;
      let timedOut = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        this.#failed(error, timedOut);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the store's own error
        reject(error);
      };
      const timer = this.clock.setTimeout(() => {
        timedOut = true;
        // As TCP backs off its retransmissions: the next call waits twice as long, until one answers in time.
        this.#backoff++;
        fail(new Error(`ratewise: the ${this.store.name} store did not answer within ${Math.round(limitMs)} ms`));
      }, limitMs);
      let reply: Promise<StoreReply>;
      try {
        reply = Promise.resolve(this.store.sync(key, request));
      } catch (error) {
        fail(error);
        return;
      }
      reply.then(
        (value) => {
          if (settled) {
            if (!timedOut) return;
            // Not a measure of the round trip (it may have waited out a stall), but the store is there.
            this.#succeeded();
            late?.(value);
            return;
          }
          settled = true;
          this.clock.clearTimeout(timer);
          this.#rtt = sampleRtt(this.#rtt, this.clock.now() - startedAt);
          this.#backoff = 0;
          this.#succeeded();
          resolve(value);
        },
        (error: unknown) => {
          fail(error);
        },
      );
    });
  }

  #failed(error: unknown, timedOut: boolean): void {
    const now = this.clock.now();
    // One call that timed out, after one that answered in time, is asked again (with twice the timeout) before the
    // budgets decide without the store: on a loaded machine or network one late answer is common, and each process
    // spending its share while the others spend the store's would overspend the fleet. An error, a second timeout in
    // a row, or a timeout of a store that never answered is an outage.
    if (!this.#down && timedOut && this.#backoff < 2 && this.#rtt !== undefined) return;
    if (!this.#down) {
      this.#down = true;
      this.#downSince = now;
      this.#retryMs = RETRY_FIRST_MS;
      this.hooks.down(error, 0);
    } else if (now >= this.#retryAt) {
      // A check that the store is back found it still failing: told once per check, however many budgets asked.
      this.hooks.down(error, now - this.#downSince);
    } else {
      return;
    }
    this.#retryAt = now + this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
  }

  #succeeded(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#retryAt = 0;
    this.hooks.up(this.clock.now() - this.#downSince);
  }
}

/** A rate lease held: a token bucket of `ratePerMs` and `burst`, holding `tokens` at `at`, usable until `until`. */
interface HeldLease {
  ratePerMs: number;
  readonly burst: number;
  tokens: number;
  at: number;
  readonly until: number;
}

/** What a shared budget needs from its owner. */
export interface BudgetStoreHooks {
  /** Something changed (an answer came): look at the queue again. */
  wake(): void;
  /** Another client paused the budget: pause here too, without publishing it back. Instants in epoch ms. */
  pause(until: number, ordered: number): void;
  /** The store failed in `'fail'` mode: fail every request waiting on it. */
  fail(error: unknown): void;
  /** Cost units waiting in the budget's queue, the head's included: how large a batch to ask for. */
  demand(): number;
}

/** One budget's link to the store: the tokens it granted, the shared slots held, the pause and server view to publish. */
export class BudgetStoreLink implements BudgetStoreSide {
  /** Tokens the store granted (reserved there) and not yet used, usable from `#grantAt` until `#grantUntil` (local epoch ms). */
  #granted = 0;
  #grantAt = 0;
  #grantUntil = 0;
  /** A store call is under way: its answer wakes the budget. */
  #asking = false;
  /** Whether a store call of this budget is awaited. */
  get asking(): boolean {
    return this.#asking;
  }
  /** The store said no until then, for this reason. */
  #retryAt = 0;
  #retryReason: WaitReason = 'rate';
  /** A pause and a server view waiting to be published (local epoch ms). */
  #pause: { until: number; ordered: number } | undefined;
  #view:
    | { remaining: number; resetAt: number; counter?: number; span?: number | undefined; limit?: number | undefined }
    | undefined;
  /** The grant counter of the grant's last unit used, and of each recent request by its send number. */
  #grantCounter = 0;
  readonly #counters = new Map<number, number>();
  /** How far the grant's counter is below the exact count (the store's `counterSpan`), and each recent request's. */
  #grantSpan = 0;
  readonly #spans = new Map<number, number>();
  readonly #limits: readonly StoreLimit[];
  readonly #maxBatch: number;
  /** Shared concurrency, when the budget has it: the slot of the grant, the slots in flight, slots to give back. */
  readonly #slots: { readonly max: number; readonly ttlMs: number } | undefined;
  #grantSlot: string | undefined;
  readonly #held: string[] = [];
  /** Requests in flight that hold no slot: sent while the store was down. */
  #slotless = 0;
  #toRelease: string[] = [];
  #pollMs = SLOT_POLL_FIRST_MS;
  readonly #id = randomKey();
  #slotSeq = 0;
  /** Units of grants that went unused, to put back in the store's buckets with the next call. */
  #giveBack = 0;
  #disposed = false;
  /** The store calls under way. */
  readonly #calls = new Set<Promise<void>>();
  /** The live clients the store last counted on this budget, this one included; 0 before it answered. */
  #clients = 0;
  /** Cost sent lately, decaying (see {@link RECENT_TAU_MS}), as of `#recentAt`: how large a grant to hold. */
  #recent = 0;
  #recentAt = 0;
  /** While the store fails with `'share'`: this client's share of the budget's rates, since the outage began. */
  #share: Share | undefined;
  /** The budget's local limits per unit other than requests (`units`), as the store takes them. */
  readonly #unitLimits: ReadonlyMap<string, readonly StoreLimit[]>;
  /** Units the grant holds besides its cost units, by unit (a grant then covers one request). */
  readonly #unitGrant = new Map<string, number>();
  /** Each unit's grant counter as of the grant's last unit used, and per recent request (by send number). */
  readonly #unitCounter = new Map<string, number>();
  readonly #unitCounters = new Map<number, ReadonlyMap<string, number>>();
  /** Per unit, waiting for the next store call: units of grants unused, usage beyond estimates, the server's view. */
  readonly #unitBack = new Map<string, number>();
  readonly #unitSettle = new Map<string, number>();
  readonly #unitViews = new Map<string, UnitViewNote>();
  /** Whether requests with units have gone through this link: grants then cover one request each, none ahead. */
  #withUnits = false;
  /** The unit that kept the last refused grant waiting, when one did, and the units that grant wanted. */
  #retryUnit: string | undefined;
  #retryUnits: UnitCosts | undefined;
  /** The store's pushes of pauses on this budget, when it has them: leases are held only while they arrive. */
  readonly #watch: StoreWatch | undefined;
  /** The rate lease held, and whether one is to be handed back with the next call. */
  #lease: HeldLease | undefined;
  #leaseBack = false;
  /** No store call is made only to ask for a lease before then (one was refused). */
  #leaseRetryAt = 0;
  /** The moving average of the gaps between sends and of their costs; when the last request was sent. */
  #gapMs: number | undefined;
  #costAvg = 1;
  #lastSentAt: number | undefined;
  /** The server describes its quota: grant counters correct its counts, and a lease would go uncounted. */
  #views = false;
  /** Store calls made, and the number of the one whose answer may still set the lease. */
  #callSeq = 0;

  constructor(
    private readonly link: StoreLink,
    readonly key: string,
    config: BudgetConfig,
    private readonly hooks: BudgetStoreHooks,
  ) {
    const limits = config.limits;
    this.#limits = storeLimits(limits);
    this.#unitLimits = new Map([...config.unitLimits].map(([unit, unitLimits]) => [unit, storeLimits(unitLimits)]));
    this.#slots =
      config.sharedConcurrency === undefined
        ? undefined
        : { max: config.sharedConcurrency, ttlMs: config.sharedSlotTtlMs };
    this.#maxBatch =
      limits.length === 0
        ? UNRATED_BATCH
        : Math.max(
            1,
            Math.min(
              MAX_BATCH,
              ...limits.map(({ rate }) => Math.floor((rate.limit * BATCH_WINDOW_MS) / rate.intervalMs)),
            ),
          );
    this.#watch = link.store.watch?.(key, ({ forMs, orderedForMs }) => {
      const now = link.clock.now();
      this.hooks.pause(now + forMs, now + orderedForMs);
      this.hooks.wake();
    });
  }

  /** While the store fails with `storeFallback: 'share'` or `'local'`, the budget decides alone. */
  #local(): boolean {
    return this.link.down && this.link.fallback !== 'fail';
  }

  /** The live clients the store last counted on this budget (this one included); undefined before it answered. */
  get clients(): number | undefined {
    return this.#clients > 0 ? this.#clients : undefined;
  }

  /**
   * With `'share'` while the store fails: this client's buckets, each a 1/N share of the budget's (rate and burst),
   * N the live clients the store last counted (1 when it never answered), full when the outage began.
   */
  #shareOf(now: number): Share | undefined {
    if (this.link.fallback !== 'share' || (this.#limits.length === 0 && this.#unitLimits.size === 0)) return undefined;
    const since = this.link.downSince;
    if (this.#share?.since !== since) {
      const n = Math.max(1, this.#clients);
      const shareOf = (limits: readonly StoreLimit[]): SharedBuckets => {
        const share = limits.map(({ limit, intervalMs, capacity }) => ({
          rate: { limit: limit / n, intervalMs },
          capacity: capacity / n,
        }));
        return { limits: share, buckets: fullBuckets(share, now) };
      };
      const units = new Map([...this.#unitLimits].map(([unit, limits]) => [unit, shareOf(limits)]));
      this.#share = { since, ...shareOf(this.#limits), units };
    }
    return this.#share;
  }

  /** With `'share'` while the store fails: whether this client holds its share of the shared slots (1/N of them). */
  #shareSlotsFull(): boolean {
    const slots = this.#slots;
    if (slots === undefined || this.link.fallback !== 'share') return false;
    // The slots it took from the store before the outage count as well: it holds them still.
    return this.#held.length + this.#slotless >= Math.max(1, Math.floor(slots.max / Math.max(1, this.#clients)));
  }

  /** Whether the reservation holds enough for a request of `cost` (and `units`) and is not too late to use at `now`. */
  #usable(cost: number, now: number, units: UnitCosts | undefined): boolean {
    if (!(this.#granted >= cost - 1e-9 && now < this.#grantUntil)) return false;
    if (units !== undefined) {
      for (const [unit, amount] of units) if (!((this.#unitGrant.get(unit) ?? 0) >= amount - 1e-9)) return false;
    }
    return true;
  }

  /**
   * Brings this side up to `now` for a request of `cost` the budget is otherwise ready to send: a reservation too
   * small or too late to use is given up, and the store is asked for tokens (or, while it fails, whether it is
   * back) when no answer is awaited and it has not said to wait.
   */
  advance(cost: number, now: number, units?: UnitCosts): void {
    const link = this.link;
    if (this.#local()) {
      if (!this.#asking && link.retryDue(now)) this.#ask(0, 0, now);
      return;
    }
    const leaseAt = this.#leaseReadyAt(cost, now, units);
    if (leaseAt <= now || this.#usable(cost, now, units) || leaseAt <= now + this.#leaseWaitMs()) return;
    // Not enough left, or too late to use: what is left is given up, and its slot with it.
    this.#dropGrant();
    if (now < this.#retryUntil(units) || this.#asking) return;
    // With shared slots a grant is one request: each holds its own slot. With units, one request too: the next
    // one's units are not known yet.
    const most = this.#limits.length === 0 && this.#publishedResetAt <= now ? 1 : this.#maxBatch;
    const one = this.#slots !== undefined || units !== undefined;
    const batch = one ? cost : Math.max(cost, Math.min(Math.max(this.hooks.demand(), this.#target(now)), most));
    this.#ask(batch, cost, now, false, units);
  }

  /**
   * The units worth holding ahead of demand: what the recent sending spends over two round trips and
   * {@link GRANT_HORIZON_MS} more, within the batch's cap; 0 for a budget without a rate, or with shared slots (a
   * grant is then one request).
   */
  #target(now: number): number {
    if (this.#limits.length === 0 || this.#slots || this.#withUnits) return 0;
    const perMs = this.#recentCost(now) / RECENT_TAU_MS;
    return Math.min(this.#maxBatch, Math.ceil(perMs * (2 * (this.link.rttMs ?? 0) + GRANT_HORIZON_MS)));
  }

  #recentCost(now: number): number {
    return now > this.#recentAt ? this.#recent * Math.exp((this.#recentAt - now) / RECENT_TAU_MS) : this.#recent;
  }

  /** Units of the grant usable at `now` (0 when it is too late to use them). */
  grantAt(now: number): number {
    return now < this.#grantUntil ? this.#granted : 0;
  }

  /**
   * When a request of `cost` may go as far as the store is concerned: `now` when it holds the tokens (or decides
   * locally while the store is down), a later instant the store named, or Infinity while it asks. Changes nothing.
   */
  readyAt(cost: number, now: number, units?: UnitCosts): number {
    if (this.#local()) {
      if (this.#shareSlotsFull()) return Infinity;
      const share = this.#shareOf(now);
      if (share === undefined) return now;
      let at = now + msUntilAll(share.buckets, cost, share.limits, now);
      for (const [unit, amount] of units ?? []) {
        const own = share.units.get(unit);
        if (own !== undefined) at = Math.max(at, now + msUntilAll(own.buckets, amount, own.limits, now));
      }
      return at;
    }
    const leaseAt = this.#leaseReadyAt(cost, now, units);
    if (leaseAt <= now) return now;
    if (this.#usable(cost, now, units)) return Math.max(now, this.#grantAt);
    if (leaseAt <= now + this.#leaseWaitMs()) return leaseAt;
    const retryAt = this.#retryUntil(units);
    return now < retryAt ? retryAt : Infinity;
  }

  /**
   * When the lease holds a request of `cost` (none with units): `now` or later within the lease, Infinity when no
   * lease is held and usable (the store's pushes must arrive for it to be used), or it ends first.
   */
  #leaseReadyAt(cost: number, now: number, units: UnitCosts | undefined): number {
    const lease = this.#lease;
    if (lease === undefined || units !== undefined || cost > lease.burst || now >= lease.until) return Infinity;
    if (this.#watch?.live !== true || this.#local()) return Infinity;
    const level = leaseLevel(lease, now);
    if (level >= cost - 1e-9) return now;
    const at = now + (cost - level) / lease.ratePerMs;
    return at < lease.until ? at : Infinity;
  }

  /** How long a request waits for its lease's next token rather than ask the store: no longer than a round trip. */
  #leaseWaitMs(): number {
    return this.link.rttMs ?? 0;
  }

  /** Rate (cost units per s) of the lease held; 0 when none. */
  leaseAt(now: number): number {
    const lease = this.#lease;
    return lease !== undefined && now < lease.until ? lease.ratePerMs * 1000 : 0;
  }

  /** Why a request of `cost` (and `units`) waits for the store at `now`, when `readyAt` says it must. */
  waitReason(cost: number, now: number, units?: UnitCosts): WaitReason {
    if (this.#local()) return this.#shareSlotsFull() ? 'concurrency' : 'rate';
    if (this.#leaseReadyAt(cost, now, units) < Infinity) return 'rate';
    return !this.#usable(cost, now, units) && now < this.#retryUntil(units) ? this.#retryReason : 'rate';
  }

  /**
   * Until when the store's last refusal holds a request of `units`: a refusal for a unit's sake holds only requests
   * that want at least as much of every unit the refused one wanted (a smaller one may fit now); 0 when none holds.
   */
  #retryUntil(units: UnitCosts | undefined): number {
    const refused = this.#retryUnits;
    if (refused === undefined) return this.#retryAt;
    for (const [unit, amount] of refused) {
      const wanted = units?.find(([name]) => name === unit)?.[1] ?? 0;
      if (wanted < amount) return 0;
    }
    return this.#retryAt;
  }

  /** The unit whose quota the store said held the last grant asked for, when one did (until a grant comes). */
  get heldUnit(): string | undefined {
    return this.#retryUnit;
  }

  /**
   * Whether decisions go through the store, or are this client's alone while it fails: on its share of the budget
   * (`storeFallback: 'share'`) or on its local limits (`'local'`).
   */
  get mode(): 'store' | 'share' | 'local' {
    if (!this.#local()) return 'store';
    return this.link.fallback === 'share' ? 'share' : 'local';
  }

  /** The request `seq` (in the budget's send order) of `cost` was sent at `now`, when `readyAt` said so. */
  take(cost: number, seq: number, now: number, units?: UnitCosts): void {
    if (units !== undefined && !this.#withUnits) {
      this.#withUnits = true;
      this.#handBackLease();
    }
    this.#noteGap(cost, now);
    // On the lease: decided here, with no store call; renewed by one when it is nearly over.
    if (this.#leaseReadyAt(cost, now, units) <= now) {
      const lease = this.#lease!;
      lease.tokens = leaseLevel(lease, now) - cost;
      lease.at = now;
      this.#recent = this.#recentCost(now) + cost;
      this.#recentAt = now;
      this.#askLeaseIfDue(now);
      return;
    }
    // Decided locally while the store fails: on this client's share, when it spends one.
    if (this.#local()) {
      const share = this.#shareOf(now);
      if (share !== undefined) {
        share.buckets = tryTakeAll(share.buckets, cost, share.limits, now).state;
        for (const [unit, amount] of units ?? []) {
          const own = share.units.get(unit);
          if (own !== undefined) own.buckets = tryTakeAll(own.buckets, amount, own.limits, now).state;
        }
      }
    }
    // Sent on the reservation, or decided locally while the store fails.
    if (this.#local() || !this.#usable(cost, now, units) || this.#grantAt > now) {
      if (this.#slots) this.#slotless++;
      return;
    }
    this.#granted = Math.max(0, this.#granted - cost);
    this.#grantCounter += cost;
    if (units !== undefined) this.#takeUnits(units, seq);
    this.#recent = this.#recentCost(now) + cost;
    this.#recentAt = now;
    // Kept for a server that describes its quota (for the first few requests before it has: their answers bring
    // the first window's view), and bounded: a view answers one of the latest requests, or goes without the
    // correction. A server that says nothing leaves a handful here, never looked up.
    if (this.#publishedResetAt > 0 || this.#counters.size < FIRST_COUNTERS) {
      if (this.#counters.size >= MAX_COUNTERS) {
        const oldest = this.#counters.keys().next().value!;
        this.#counters.delete(oldest);
        this.#spans.delete(oldest);
      }
      this.#counters.set(seq, this.#grantCounter);
      if (this.#grantSpan > 0) this.#spans.set(seq, this.#grantSpan);
    }
    if (this.#grantSlot !== undefined) {
      this.#held.push(this.#grantSlot);
      this.#grantSlot = undefined;
    }
    // Ahead of demand: the grant is topped up before it runs out, while requests are being sent (this one was, and
    // others lately), so that the next one need not wait for a round trip. Requests waiting ask for themselves; a
    // client that sends less than a request or two a second would see its grant expire first, and asks nothing.
    const target = this.#target(now);
    if (
      !this.#asking &&
      now >= this.#retryAt &&
      this.#granted < target / 2 &&
      this.#recent >= MIN_RECENT_FOR_GRANT &&
      this.hooks.demand() <= 1 &&
      this.leaseAt(now) === 0
    ) {
      this.#ask(Math.max(1, target - this.#granted), Math.min(1, target), now, true);
    }
    this.#askLeaseIfDue(now);
  }

  /** The gap since the last request sent, in the moving average that sizes a lease. */
  #noteGap(cost: number, now: number): void {
    const last = this.#lastSentAt;
    this.#lastSentAt = now;
    this.#costAvg += GAP_WEIGHT * (cost - this.#costAvg);
    if (last === undefined) return;
    const gap = now - last;
    // After a pause in the sending, the average starts afresh: the gaps to come tell its rate from now on.
    if (gap > MAX_LEASE_GAP_MS) this.#gapMs = undefined;
    else this.#gapMs = this.#gapMs === undefined ? gap : this.#gapMs + GAP_WEIGHT * (gap - this.#gapMs);
  }

  /**
   * Asks the store for a lease (or renews the one held) with a call of its own, when one is worth it and none is
   * under way: the budget may lease, and holds none (none was refused lately) or one nearly over.
   */
  #askLeaseIfDue(now: number): void {
    if (this.#asking || now < this.#retryAt || this.#leaseWanted(now) === undefined) return;
    const lease = this.#lease;
    const due =
      lease === undefined || now >= lease.until
        ? now >= this.#leaseRetryAt
        : lease.until - now < Math.max(LEASE_RENEW_MS, 2 * this.link.timeoutMs);
    if (due) this.#ask(0, 0, now);
  }

  /**
   * The lease this client should hold, in cost units per ms (what it sends lately, with headroom, within its share),
   * and the least worth holding (what it sends); undefined when it should hold none: the store does not push pauses,
   * the budget has no rate or shares slots, its calls have units or its server describes its quota, requests queue,
   * it sends too rarely (or did not lately), or near its share (1/N of what may be leased).
   */
  #leaseWanted(now: number): { ratePerMs: number; minRatePerMs: number } | undefined {
    if (this.#watch?.live !== true || this.#disposed || this.#local()) return undefined;
    if (this.#limits.length === 0 || this.#slots !== undefined || this.#withUnits || this.#views) return undefined;
    const last = this.#lastSentAt;
    if (last === undefined || this.hooks.demand() > 1) return undefined;
    // Before a second send, the time since the first stands for the gap.
    const gap = this.#gapMs ?? now - last;
    if (!(gap > 0) || gap > MAX_LEASE_GAP_MS || now - last > MAX_LEASE_GAP_MS) return undefined;
    const sending = this.#costAvg / gap;
    const slowest = Math.min(...this.#limits.map(({ limit, intervalMs }) => limit / intervalMs));
    const share = (LEASE_SHARE * slowest) / Math.max(1, this.#clients);
    // Well under its share of what may be leased, or the client is better served by grants.
    if (sending * LEASE_MARGIN > share) return undefined;
    const ratePerMs = Math.min(LEASE_HEADROOM * sending, share);
    return { ratePerMs, minRatePerMs: Math.min(sending, ratePerMs) };
  }

  /**
   * What a store call asks of the lease: to hand it back, to grant or renew it (a lower rate applies here at once, a
   * higher one once the store agreed), or nothing.
   */
  #leaseAsk(now: number): StoreLeaseAsk | 'release' | undefined {
    if (this.#leaseBack) {
      this.#leaseBack = false;
      return 'release';
    }
    const wanted = this.#leaseWanted(now);
    if (wanted === undefined) return undefined;
    const lease = this.#lease;
    let { ratePerMs } = wanted;
    // Lowered once the sending has fallen by half (at once: the store frees the rate when it hears); else kept, so
    // that requests which waited for the store do not shrink it by the gaps they made.
    if (lease !== undefined && now < lease.until) {
      if (ratePerMs * 2 <= lease.ratePerMs) {
        lease.tokens = leaseLevel(lease, now);
        lease.at = now;
        lease.ratePerMs = ratePerMs;
      } else {
        ratePerMs = Math.max(ratePerMs, lease.ratePerMs);
      }
    }
    return { ...wanted, ratePerMs, burst: LEASE_BURST, ttlMs: LEASE_TTL_MS, maxShare: LEASE_SHARE };
  }

  /** Stops using the lease at once, and hands it back to the store with the next call. */
  #handBackLease(): void {
    if (this.#lease === undefined) return;
    this.#lease = undefined;
    this.#leaseBack = true;
  }

  /**
   * The lease the store says this client holds after the call numbered `seq`, sent at `sentAt`: its end counted from
   * `sentAt` (the store's now came later), its first tokens added to what the lease held. Only the answer to the
   * latest call sets it: an earlier one may describe a lease handed back or lowered since.
   */
  #noteLease(lease: StoreLease | undefined, asked: boolean, seq: number, sentAt: number, now: number): void {
    if (seq !== this.#callSeq) return;
    if (lease === undefined) {
      if (asked && this.#lease === undefined) this.#leaseRetryAt = now + LEASE_RETRY_MS;
      this.#lease = undefined;
      return;
    }
    if (this.#disposed || this.#withUnits || this.#views) {
      this.#leaseBack = true;
      this.#lease = undefined;
      return;
    }
    const held = this.#lease;
    const level = held !== undefined && now < held.until ? leaseLevel(held, now) : 0;
    this.#lease = {
      ratePerMs: lease.ratePerMs,
      burst: lease.burst,
      tokens: Math.min(lease.burst, level + lease.tokens),
      at: now,
      until: sentAt + lease.ttlMs - LEASE_END_MARGIN_MS,
    };
  }

  /** The grant's units taken by request `seq`: its counter per unit kept for the views its answer brings. */
  #takeUnits(units: UnitCosts, seq: number): void {
    const counters = new Map<string, number>();
    for (const [unit, amount] of units) {
      this.#unitGrant.set(unit, Math.max(0, (this.#unitGrant.get(unit) ?? 0) - amount));
      const counter = (this.#unitCounter.get(unit) ?? 0) + amount;
      this.#unitCounter.set(unit, counter);
      counters.set(unit, counter);
    }
    if (this.#unitCounters.size >= MAX_COUNTERS) this.#unitCounters.delete(this.#unitCounters.keys().next().value!);
    this.#unitCounters.set(seq, counters);
  }

  /**
   * What the answer to request `seq` said of its quotas in units other than requests, for the other clients (published
   * with the next store call; at once when a quota is spent, or the first time this client tells of a unit).
   */
  noteUnitViews(seq: number, views: readonly UnitViewNote[], othersInFlight: ReadonlyMap<string, number>): void {
    this.#views = true;
    this.#handBackLease();
    const counters = this.#unitCounters.get(seq);
    this.#unitCounters.delete(seq);
    let urgent = false;
    for (const view of views) {
      const counter = counters?.get(view.unit);
      // Without the unit's grant counter of the request answered, this client's own requests in flight count as spent.
      const note =
        counter === undefined
          ? { ...view, remaining: Math.max(0, view.remaining - (othersInFlight.get(view.unit) ?? 0)) }
          : { ...view, counter };
      if (note.remaining <= 0 || !this.#toldUnits.has(view.unit)) urgent = true;
      this.#toldUnits.add(view.unit);
      this.#unitViews.set(view.unit, note);
    }
    if (urgent) this.#flush();
  }

  /** The units whose quota this client has told the store of (see `noteUnitViews`). */
  readonly #toldUnits = new Set<string>();

  /**
   * Calls that went used `extra` units beyond their estimates (less where below): taken from the store's buckets with
   * the next call, at once when no request waits for one.
   */
  settleUnits(extra: UnitCosts): void {
    for (const [unit, amount] of extra) {
      if (amount !== 0 && this.#unitLimits.has(unit))
        this.#unitSettle.set(unit, (this.#unitSettle.get(unit) ?? 0) + amount);
    }
    if (this.#unitSettle.size > 0 && this.hooks.demand() <= 1) this.#flush();
  }

  /** A request sent by `take` ended: its shared slot is given back (with the next store call, or on its own). */
  release(): void {
    if (!this.#slots) return;
    // Which request ended is not known: a slotless one first, so that a slot is never given back early.
    if (this.#slotless > 0) {
      this.#slotless--;
      return;
    }
    const slot = this.#held.pop();
    if (slot === undefined) return;
    this.#toRelease.push(slot);
    // A slot is free here: a wait for one elsewhere ends now, not at the next poll.
    if (this.#retryReason === 'concurrency') this.#retryAt = 0;
    // The drain that follows a release asks the store and carries the slot; if nothing waits, it goes on its own.
    queueMicrotask(() => {
      if (this.#toRelease.length > 0) this.#flush();
    });
  }

  /** The budget is let go (evicted, idle): a grant it holds unused gives its slot back at once. */
  dispose(): void {
    this.#disposed = true;
    this.#dropGrant();
    this.#handBackLease();
    this.#watch?.close();
    if (this.#toRelease.length > 0 || this.#giveBack > 0 || this.#leaseBack) this.#flush();
  }

  /** Resolves once no store call of this budget is under way (the one that gives back a grant included). */
  async idle(): Promise<void> {
    while (this.#calls.size > 0) await Promise.allSettled([...this.#calls]);
  }

  /** Lets go of the grant: what is left of it goes back to the store with the next call, and its slot with it. */
  #dropGrant(): void {
    this.#giveBack += this.#granted;
    this.#granted = 0;
    for (const [unit, amount] of this.#unitGrant)
      if (amount > 0) this.#unitBack.set(unit, (this.#unitBack.get(unit) ?? 0) + amount);
    this.#unitGrant.clear();
    if (this.#grantSlot !== undefined) this.#toRelease.push(this.#grantSlot);
    this.#grantSlot = undefined;
  }

  /** Tells the other clients of a pause this one was ordered. */
  publishPause(until: number, ordered: number): void {
    this.#keepPause({ until, ordered });
    // Whatever this client holds was reserved before the pause: not to be used after it.
    this.#dropGrant();
    this.#flush();
  }

  /** A pause to publish, merged with one waiting already: the later end of each wins. */
  #keepPause(pause: { until: number; ordered: number }): void {
    const p = this.#pause;
    this.#pause = { until: Math.max(pause.until, p?.until ?? 0), ordered: Math.max(pause.ordered, p?.ordered ?? 0) };
  }

  /**
   * Records what the server said; published with the next store call, at once when the quota is spent or a new
   * window has begun (the other clients then learn its quota before they are granted much of it).
   */
  noteView(remaining: number, resetAt: number, limit: number | undefined, seq: number, othersInFlight: number): void {
    const counter = this.#counters.get(seq);
    const span = this.#spans.get(seq);
    this.#counters.delete(seq);
    this.#spans.delete(seq);
    // Requests sent on a lease are not in the grant counter that corrects the server's counts: no lease from here.
    this.#views = true;
    this.#handBackLease();
    // Without the grant counter of the request answered, this client's own requests in flight count as spent.
    this.#view =
      counter === undefined
        ? { remaining: Math.max(0, remaining - othersInFlight), resetAt }
        : { remaining, resetAt, counter, span, limit };
    if (this.#viewUrgent()) this.#flush();
  }

  /** Whether the view waiting to be published should go at once: the quota is spent, or a new window has begun. */
  #viewUrgent(): boolean {
    const view = this.#view;
    return (
      view !== undefined && (view.remaining <= 0 || view.resetAt > this.#publishedResetAt + TWO_SOURCES_RESET_SPREAD_MS)
    );
  }

  /** The reset of the last view published: a later one (beyond the senders' rounding) is a new window. */
  #publishedResetAt = 0;

  #flush(): void {
    if (this.#asking || (this.link.down && !this.link.retryDue(this.link.clock.now()))) return;
    this.#ask(0, 0, this.link.clock.now());
  }

  /**
   * Asks the store; a top-up (`topUp`) takes only units free now, and adds them to the grant held. `units`: what a
   * grant should hold besides `want` cost units.
   */
  #ask(want: number, need: number, now: number, topUp = false, units?: UnitCosts): void {
    this.#asking = true;
    const pause = this.#pause;
    const view = this.#view;
    const release = this.#toRelease;
    const giveBack = this.#giveBack;
    if (view) this.#publishedResetAt = Math.max(this.#publishedResetAt, view.resetAt);
    this.#pause = undefined;
    this.#view = undefined;
    this.#toRelease = [];
    // Sent once: after a failure it may have been put back or not, and twice would overspend the budget.
    this.#giveBack = 0;
    const slots = this.#slots;
    const take = slots && want > 0 ? `${this.#id}:${++this.#slotSeq}` : undefined;
    const storeUnits = this.#storeUnits(want > 0 ? units : undefined, now);
    const lease = this.#leaseAsk(now);
    const seq = ++this.#callSeq;
    const request: StoreRequest = {
      limits: this.#limits,
      want,
      need,
      maxWaitMs: topUp ? 0 : MAX_RESERVE_MS,
      pause: pause && { forMs: Math.max(0, pause.until - now), orderedForMs: Math.max(0, pause.ordered - now) },
      view:
        view && view.resetAt > now
          ? {
              remaining: view.remaining,
              resetInMs: view.resetAt - now,
              counter: view.counter,
              span: view.span,
              limit: view.limit,
            }
          : undefined,
      slots: slots && { ...slots, take, release },
      giveBack: giveBack > 0 ? giveBack : undefined,
      client: { id: this.#id, ttlMs: CLIENT_TTL_MS },
      ...(storeUnits.length > 0 && { units: storeUnits }),
      ...(lease !== undefined && { lease }),
    };
    const asked = lease !== undefined && lease !== 'release';
    const late = (reply: StoreReply): void => {
      this.#noteLease(reply.lease, asked, seq, now, this.link.clock.now());
      this.#late(reply, want, take, storeUnits);
    };
    const call = this.link.call(this.key, request, late).then(
      (reply) => {
        this.#asking = false;
        this.#noteLease(reply.lease, asked, seq, now, this.link.clock.now());
        this.#answer(reply, want, take, topUp, storeUnits);
      },
      (error: unknown) => {
        this.#asking = false;
        // Not published: keep the pause and the slots for the next call (slots also expire by themselves).
        if (pause) this.#keepPause(pause);
        this.#toRelease.push(...release);
        if (this.link.fallback === 'fail' && this.link.down && want > 0) this.hooks.fail(error);
        this.hooks.wake();
      },
    );
    this.#calls.add(call);
    void call.finally(() => this.#calls.delete(call));
  }

  /**
   * The units of a store call: those a grant should hold (`wanted`), and those with units to give back, usage to
   * settle or a view to tell, each sent once (after a failure it may have been taken in or not).
   */
  #storeUnits(wanted: UnitCosts | undefined, now: number): StoreUnit[] {
    const names = new Set<string>();
    for (const [unit] of wanted ?? []) names.add(unit);
    for (const unit of this.#unitBack.keys()) names.add(unit);
    for (const unit of this.#unitSettle.keys()) names.add(unit);
    for (const unit of this.#unitViews.keys()) names.add(unit);
    const units: StoreUnit[] = [];
    for (const name of names) {
      const view = this.#unitViews.get(name);
      units.push({
        name,
        limits: this.#unitLimits.get(name) ?? [],
        want: wanted?.find(([unit]) => unit === name)?.[1] ?? 0,
        giveBack: this.#unitBack.get(name),
        settle: this.#unitSettle.get(name),
        view: view && {
          remaining: view.remaining,
          limit: view.limit,
          resetInMs: Math.max(0, view.resetAt - now),
          refill: view.refill,
          counter: view.counter,
          ageMs: now > view.at ? now - view.at : undefined,
        },
      });
    }
    this.#unitBack.clear();
    this.#unitSettle.clear();
    this.#unitViews.clear();
    return units;
  }

  /**
   * The answer to a call that timed out: the store did what it was asked. A pause it tells is taken in; the units it
   * granted are this budget's grant when it holds none, else they go back to the store (with their slot).
   */
  #late(reply: StoreReply, want: number, take: string | undefined, units: readonly StoreUnit[]): void {
    const now = this.link.clock.now();
    if (reply.clients) this.#clients = reply.clients;
    if (reply.pausedForMs > 0) this.hooks.pause(now + reply.pausedForMs, now + reply.orderedForMs);
    if (want > 0 && reply.granted > 0) {
      if (this.#disposed || this.#granted > 0) {
        this.#giveBack += reply.granted;
        for (const { name, want: amount } of units)
          if (amount > 0) this.#unitBack.set(name, (this.#unitBack.get(name) ?? 0) + amount);
        if (take !== undefined) this.#toRelease.push(take);
      } else {
        this.#adopt(reply, take, now, units);
      }
    }
    if (this.#somethingToPublish()) this.#flush();
    this.hooks.wake();
  }

  /** The store granted `reply.granted` units (with the slot `take`): this budget's grant from now on. */
  #adopt(reply: StoreReply, take: string | undefined, now: number, units: readonly StoreUnit[]): void {
    this.#dropGrant();
    this.#granted = reply.granted;
    this.#grantCounter = reply.counter - reply.granted;
    this.#grantSpan = reply.counterSpan ?? 0;
    this.#retryUnit = undefined;
    this.#retryUnits = undefined;
    units.forEach(({ name, want }, i) => {
      if (want <= 0) return;
      this.#unitGrant.set(name, want);
      const counter = reply.unitCounters?.[i];
      if (counter === undefined) this.#unitCounter.delete(name);
      else this.#unitCounter.set(name, counter - want);
    });
    this.#grantSlot = take;
    this.#grantAt = now + reply.waitMs;
    this.#grantUntil = this.#grantAt + GRANT_USE_MS;
    this.#retryAt = 0;
    this.#pollMs = SLOT_POLL_FIRST_MS;
  }

  #somethingToPublish(): boolean {
    return (
      this.#pause !== undefined ||
      this.#leaseBack ||
      this.#toRelease.length > 0 ||
      this.#giveBack > 0 ||
      this.#unitBack.size > 0 ||
      this.#unitSettle.size > 0 ||
      this.#viewUrgent()
    );
  }

  #answer(
    reply: StoreReply,
    want: number,
    take: string | undefined,
    topUp: boolean,
    units: readonly StoreUnit[],
  ): void {
    const now = this.link.clock.now();
    if (reply.clients) this.#clients = reply.clients;
    if (reply.pausedForMs > 0) this.hooks.pause(now + reply.pausedForMs, now + reply.orderedForMs);
    if (topUp && reply.granted > 0 && this.#granted > 0 && now < this.#grantUntil && this.#grantAt <= now) {
      // Added to the grant held (units free now: usable at once, for as long as a new grant).
      this.#granted += reply.granted;
      this.#grantCounter = reply.counter - this.#granted;
      this.#grantSpan = reply.counterSpan ?? 0;
      this.#grantUntil = now + GRANT_USE_MS;
    } else if (want > 0 && !(topUp && reply.granted === 0)) {
      // (A top-up that found nothing free changes nothing: no request waits on it, and the next asks as it would.)
      if (reply.granted > 0) {
        this.#adopt(reply, take, now, units);
      } else if (reply.reason === 'concurrency') {
        // No event tells of a slot freed elsewhere: ask again soon, less often the longer it lasts.
        this.#retryAt = now + Math.min(reply.waitMs, this.#pollMs);
        this.#retryReason = 'concurrency';
        this.#retryUnit = undefined;
        this.#retryUnits = undefined;
        this.#pollMs = Math.min(this.#pollMs * 2, SLOT_POLL_MAX_MS);
      } else {
        // Waiting for the server's quota to come back: asked again a round trip early, the store hears the ask when
        // the wait ends (its answer took half a round trip to come, the ask takes the other half), not a round trip
        // after. The store grants nothing before then; asked too early, it names what is left of the wait.
        const early = reply.reason === 'server' ? (this.link.rttMs ?? 0) : 0;
        this.#retryAt = now + Math.max(1, reply.waitMs - early);
        this.#retryReason = reply.reason ?? 'rate';
        this.#retryUnit = reply.unit;
        this.#retryUnits = reply.unit === undefined ? undefined : units.map(({ name, want: amount }) => [name, amount]);
      }
    }
    // Something to publish came in meanwhile.
    if (this.#somethingToPublish()) this.#flush();
    this.hooks.wake();
  }
}

/** What `lease` holds at `now`: its tokens refilled at its rate, up to its burst. */
function leaseLevel(lease: HeldLease, now: number): number {
  return Math.min(lease.burst, lease.tokens + Math.max(0, now - lease.at) * lease.ratePerMs);
}

/** A budget's local rates as the store takes them. */
function storeLimits(limits: readonly BucketLimit[]): StoreLimit[] {
  return limits.map(({ rate, capacity }) => ({ limit: rate.limit, intervalMs: rate.intervalMs, capacity }));
}

/** Buckets of this client's share of the budget while the store fails (see `storeFallback: 'share'`). */
interface SharedBuckets {
  readonly limits: BucketLimit[];
  buckets: BucketState[];
}

/** This client's share of the budget since the outage began (`since`): its rates, and its units' rates by unit. */
interface Share extends SharedBuckets {
  readonly since: number;
  readonly units: ReadonlyMap<string, SharedBuckets>;
}

/**
 * The engine's side of sharing, as a store carries it (`RatewiseStore[STORE_LINK]`): only bundles that make a store
 * (`redisStore`, `customStore`) import this module. A link makes its budgets' sides.
 */
export const STORE_LINKS = { StoreLink };

/** What a store carries under `STORE_LINK`. */
export type StoreLinks = typeof STORE_LINKS;
