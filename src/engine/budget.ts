// One budget's state: local buckets, concurrency, the server's pause and pace, counters. No timers, no I/O:
// the scheduler asks it when the next request may go and tells it what was sent and what came back.
import type { RateLimitInfo } from '../headers/types.js';
import type { ResolvedBudget } from '../config/resolve.js';
import type { RetryBudget } from '../retry/retry-budget.js';
import { observe, readyAt, spend, type ServerPace } from './server-pace.js';
import { fullBuckets, msUntilAll, refillAll, tryTakeAll, type BucketState } from './token-bucket.js';

/** Why a request cannot go yet. */
export type WaitReason = 'paused' | 'rate' | 'server' | 'concurrency';

/**
 * What a budget needs of its store side when budgets are shared (`SharedBudget` in store-link.ts): owned here, so
 * that the budget does not depend on how the store is reached.
 */
export interface BudgetStoreSide {
  /** Why the last `readyAt` past `now` must wait. */
  readonly reason: WaitReason;
  /** `'store'` while shared, `'local'` while the store fails. */
  readonly mode: 'store' | 'local';
  /** The instant a request of `cost` may go as far as the store is concerned (`now` or earlier: now). */
  readyAt(cost: number, now: number): number;
  /** A request of `cost` numbered `seq` is being sent. */
  take(cost: number, seq: number): void;
  /** A request in flight ended. */
  release(): void;
  /** The server's view from the answer to request `seq`, for the other clients. */
  noteView(remaining: number, resetAt: number, seq: number, othersInFlight: number): void;
  /** A pause this client ordered, for the other clients. */
  publishPause(until: number, ordered: number): void;
  /** The budget is gone: give back whatever is held. */
  dispose(): void;
}

/** When the next request may go: `at <= now` means now; `at === Infinity` means when a request in flight ends. */
export interface Readiness {
  readonly at: number;
  readonly reason: WaitReason | undefined;
}

/** The budget's counters, since it was created. */
export interface BudgetCounters {
  /** Requests sent, retries included. */
  sent: number;
  /** Requests that had to wait in the queue. */
  waited: number;
  /** Throttling responses received (429, and 503/403 that the headers mark as rate limited). */
  rateLimited: number;
  /** Retries made. */
  retries: number;
  /** Calls that ended without a retry they wanted (limits, budgets, caps). */
  giveUps: number;
}

/** What the server said last, as `rw.stats()` shows it. */
export interface ServerView {
  readonly limit?: number;
  readonly remaining?: number;
  readonly resetAt?: number;
  readonly windowMs?: number;
  /** Epoch ms of the response this view came from. */
  readonly observedAt: number;
}

export class Budget {
  readonly counters: BudgetCounters = { sent: 0, waited: 0, rateLimited: 0, retries: 0, giveUps: 0 };
  inFlight = 0;
  /** The budget's store side, when the client shares budgets (`store`); set once, by {@link share}. */
  shared: BudgetStoreSide | undefined = undefined;
  /** Epoch ms before which nothing is sent (the server's Retry-After, or a backoff after a bare 429). */
  pausedUntil = 0;
  /** The instant the server named for the pause, without jitter (no later than `pausedUntil`). */
  orderedUntil = 0;
  /** Throttles without timing in a row: the exponent of the budget's own backoff. */
  consecutiveThrottles = 0;
  server: ServerView | undefined;
  lastUsedAt: number;
  #buckets: BucketState[];
  #pace: ServerPace | undefined;
  /** When the request whose answer set the pace was sent. */
  #observedSeq = 0;
  /**
   * While probing only one request is in flight: at the start, until the server has said what its limits are, and
   * after a pause, so that one request tests the water before the queue follows.
   */
  #probing: boolean;
  /** Only the answer to a request sent from this one on (by send order) ends the probe: older ones describe the past. */
  #probeFrom = 0;
  /**
   * Requests allowed in flight while the server describes no quota: starts at one and grows with each answer
   * (see `observe`), so that a server that limits without saying so refuses a few requests, not the whole queue.
   */
  #window: number;
  /**
   * Requests a server that limits without saying so accepted between two throttles: after a pause that many may
   * go, then one at a time, so that each window costs at most one refused request.
   */
  #learned: number | undefined;
  /** Requests sent and accepted since the last pause. */
  #cycleSent = 0;
  #cycleAccepted = 0;

  constructor(
    readonly key: string,
    readonly config: ResolvedBudget,
    now: number,
    /** Fraction of the server's quota left unused. */
    private readonly reserve: number,
    /** Caps retries to a share of recent requests; undefined when turned off. */
    readonly retryBudget: RetryBudget | undefined,
    /** Whether it learns from responses (HTTP) or just runs tasks at its configured limits (`rw.schedule`). */
    adaptive: boolean,
  ) {
    this.#buckets = fullBuckets(config.limits, now);
    this.#probing = adaptive && config.limits.length === 0;
    // A rate the user configured is trusted from the start; only an unknown limit is approached slowly.
    this.#window = adaptive && config.limits.length === 0 ? 1 : Infinity;
    this.#plain = !adaptive && config.limits.length === 0;
    this.lastUsedAt = now;
  }

  /** Most requests in flight now. */
  #concurrency(): number {
    if (this.#probing) return 1;
    if (this.#learned !== undefined && this.#pace === undefined) {
      return this.#cycleSent < this.#learned ? this.config.concurrency : 1;
    }
    return Math.min(this.config.concurrency, Math.floor(this.#window));
  }

  /** When a request of `cost` may go. */
  readiness(cost: number, now: number): Readiness {
    const at = this.readyAt(cost, now);
    return at <= now ? { at, reason: undefined } : { at, reason: this.#reason };
  }

  /**
   * The instant a request of `cost` may go: `now` or earlier when it may go now (no allocation: the hot path asks
   * this), `Infinity` when a request in flight must end first. Why it must wait is kept for `readiness`.
   */
  readyAt(cost: number, now: number): number {
    const at = this.#localReadyAt(cost, now);
    const shared = this.shared;
    if (at > now || shared === undefined) return at;
    // Ready here: the store has the last word (its tokens, a pause another client heard of).
    const sharedAt = shared.readyAt(cost, now);
    return sharedAt > now ? this.#wait(shared.reason, sharedAt) : at;
  }

  #localReadyAt(cost: number, now: number): number {
    if (now < this.pausedUntil) return this.#wait('paused', this.pausedUntil);
    if (this.inFlight >= this.#concurrency()) return this.#wait('concurrency', Infinity);
    if (this.config.limits.length > 0) {
      const wait = msUntilAll(this.#buckets, cost, this.config.limits, now);
      if (wait > 0) return this.#wait('rate', now + wait);
    }
    const pace = this.#pace;
    if (pace === undefined) return now;
    if (now >= pace.resetAt) {
      // The server's window has turned: its quota is back, by how much the next answer will tell. One request
      // asks, so that the whole queue does not rush into a window that may not have turned yet.
      this.#pace = undefined;
      this.#probe();
      return this.inFlight >= 1 ? this.#wait('concurrency', Infinity) : now;
    }
    const serverAt = readyAt(pace, cost, now);
    return serverAt > now ? this.#wait('server', serverAt) : now;
  }

  #reason: WaitReason = 'concurrency';
  #plain: boolean;

  #wait(reason: WaitReason, at: number): number {
    this.#reason = reason;
    return at;
  }

  /**
   * Records that a request of `cost` is being sent now; returns its number in send order (1, 2, …), which its
   * answer passes back to `observe`. Call only when `readiness(cost, now).at <= now`.
   */
  take(cost: number, now: number): number {
    this.inFlight++;
    this.counters.sent++;
    this.#cycleSent++;
    this.lastUsedAt = now;
    if (this.config.limits.length > 0) {
      const result = tryTakeAll(this.#buckets, cost, this.config.limits, now);
      this.#buckets = result.state;
    }
    this.#pace = spend(this.#pace, cost, now);
    this.shared?.take(cost, this.counters.sent);
    return this.counters.sent;
  }

  /** A request in flight ended (response headers, or an error). */
  release(): void {
    this.inFlight--;
    this.shared?.release();
  }

  /**
   * Whether a request may go now, answered without the clock: only for a budget with no local rate, no pace and
   * no pause ever (tasks of `rw.schedule`), where the concurrency cap is all there is. False means: ask `readyAt`.
   */
  freeNow(): boolean {
    return this.plain && this.inFlight < this.config.concurrency;
  }

  /** No local rate, no pace and no pause ever: only the concurrency cap decides, and time plays no part. */
  get plain(): boolean {
    return this.#plain && this.pausedUntil === 0 && this.#pace === undefined;
  }

  /** Shares the budget through a store: from now on the store has the last word on every request. */
  share(shared: BudgetStoreSide): void {
    this.shared = shared;
    this.#plain = false;
  }

  /** `take` for a budget `freeNow` said yes to: nothing but the counts to keep. */
  takeFree(): number {
    this.inFlight++;
    this.#cycleSent++;
    return ++this.counters.sent;
  }

  /**
   * Takes in what the answer to the request `seq` (as `take` numbered it) said. The pace follows only the answer to
   * the latest request sent: an earlier request answered late reports a count the server has already gone past.
   */
  observe(info: RateLimitInfo, now: number, seq: number): void {
    const { limit, remaining, resetAt, windowMs } = info;
    if (limit !== undefined || remaining !== undefined || resetAt !== undefined) {
      this.server = {
        ...(limit !== undefined && { limit }),
        ...(remaining !== undefined && { remaining }),
        ...(resetAt !== undefined && { resetAt }),
        ...(windowMs !== undefined && { windowMs }),
        observedAt: now,
      };
    }
    let turning = false;
    if (remaining !== undefined && resetAt !== undefined && seq >= this.#observedSeq) {
      this.#observedSeq = seq;
      this.#pace = observe(
        this.#pace,
        // `inFlight` still counts the request this answers (it is released after): the server counted that one.
        { remaining, resetAt, limit, inFlight: Math.max(0, this.inFlight - 1), reserve: this.reserve },
        now,
      );
      // Shared: what is left for everyone (the store counts what was granted after this request).
      this.shared?.noteView(remaining, resetAt, seq, Math.max(0, this.inFlight - 1));
      // A reset that has come already (`reset=0`): the window is turning now, and one request asks what the
      // next one holds, as at any reset.
      turning = this.#pace === undefined;
    }
    // One answer is enough to leave the probe: the server has spoken, or has shown it says nothing.
    if (turning) this.#probe();
    else if (now >= this.pausedUntil && seq >= this.#probeFrom) this.#probing = false;
    if (this.#pace) this.#window = Infinity; // the server's quota paces from here
    if (info.isRateLimited) {
      // A throttle with no quota described: remember what got through since the last pause. Throttles that come
      // in while paused answer requests sent before it: the same window, nothing new to learn.
      if (this.#pace === undefined && now >= this.pausedUntil) this.#learned = Math.max(1, this.#cycleAccepted);
      return;
    }
    this.consecutiveThrottles = 0;
    this.#cycleAccepted++;
    // Up to four at once quickly, then one more per round trip (additive increase): near an unknown limit, few
    // requests are in flight to be refused.
    if (this.#window < Infinity) this.#window += this.#window < 4 ? 1 : 1 / this.#window;
    // Far past what was learned without a throttle (one at a time past the learned share, a cycle may span a few
    // server windows): the limit has gone up, or away. Grow again from the learned share, one per round trip.
    if (this.#learned !== undefined && this.#cycleAccepted > 4 * this.#learned) {
      this.#window = Math.max(4, this.#learned);
      this.#learned = undefined;
    }
  }

  /**
   * The next request goes alone, and the rest follow once it is answered: after a refusal (an outage, a throttle)
   * that nothing paused for, because the call that met it gave up instead of retrying.
   */
  probeNext(): void {
    this.#probe();
  }

  /** The last request sent before the latest pause began (by send order). */
  #pausedAfterSeq = 0;

  /** Whether the request `seq` went out before the latest pause began: its answer belongs to that episode. */
  sentBeforePause(seq: number): boolean {
    return seq <= this.#pausedAfterSeq;
  }

  /** One request at a time, until a request sent from now on is answered. */
  #probe(): void {
    this.#probing = true;
    this.#probeFrom = this.counters.sent + 1;
  }

  /**
   * Stops sending until `until`; the first request after it goes alone. `ordered` is the instant the server named,
   * before the jitter added to it: what a waiter's `maxRetryAfter` is held against. With `share`, the pause is told
   * to the other clients of the store (not one that came from there).
   */
  pause(until: number, ordered = until, share = true): void {
    if (share) this.shared?.publishPause(until, ordered);
    this.#pausedAfterSeq = this.counters.sent;
    if (until > this.pausedUntil) this.pausedUntil = until;
    if (ordered > this.orderedUntil) this.orderedUntil = ordered;
    this.#probe();
    this.#cycleSent = 0;
    this.#cycleAccepted = 0;
  }

  /**
   * When the server's current window resets, as closely as heard: every answer rounds the time left up to whole
   * seconds, and the pace keeps the earliest reading of the window. Undefined without a pace.
   */
  get serverResetAt(): number | undefined {
    return this.#pace?.resetAt;
  }

  /** The local bucket's tokens now (the emptiest bucket), or undefined without a local rate. */
  tokens(now: number): number | undefined {
    if (this.config.limits.length === 0) return undefined;
    return Math.min(...refillAll(this.#buckets, this.config.limits, now).map((b) => b.tokens));
  }

  /**
   * Nothing queued elsewhere can be waiting on this budget: nothing in flight, no pause ahead, and no spent server
   * quota (evicting that would forget it, and the next request would go straight back to the server).
   */
  isIdle(now: number): boolean {
    return this.inFlight === 0 && now >= this.pausedUntil && readyAt(this.#pace, 1, now) <= now;
  }
}
