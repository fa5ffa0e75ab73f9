// One budget's state: local buckets, concurrency, the server's pause and pace, counters. No timers and no clock of
// its own: the scheduler brings it up to `now` (`advance`), asks it when the next request may go (queries change
// nothing) and tells it what was sent and what came back. Shared through a store, its store side (store-link.ts)
// starts the store calls: from `advance`, and to publish what `take`, `release`, `observe` and `pause` tell it.
import type { PauseCause } from '../errors.js';
import type { RateLimitInfo, RateLimitPolicy } from '../headers/types.js';
import { ServerClock } from '../headers/server-clock.js';
import type { BudgetConfig } from '../config/resolve.js';
import type { RetryBudget } from '../retry/retry-budget.js';
import { shapeOf, type CallRoute } from './route-shape.js';
import { hasOtherUnits, UnitQuotas, type UnitCosts, type UnitView, type UnitViewNote } from './unit-quotas.js';
import {
  giveBack,
  live,
  noteCount,
  observe,
  readyAt,
  reservedOf,
  resetBy,
  spend,
  type ServerPace,
} from './server-pace.js';
import { Discovery } from './discovery.js';
import { policyCounts, PolicyPaces, type PolicyStats } from './policy-paces.js';
import { OpenedWindows, secondsLeftBound } from './opened-windows.js';
import { SlidingLog } from './sliding-log.js';
import { fullBuckets, msUntilAll, refillAll, tryTakeAll, type BucketState } from './token-bucket.js';

const SECOND_MS = 1_000;
/** No policy: what an answer's list of delays is when nobody noted any. */
const NO_POLICIES: readonly RateLimitPolicy[] = [];

/** Why a request cannot go yet. */
export type WaitReason = 'paused' | 'server-quota' | 'rate' | 'server' | 'concurrency';

/**
 * What a budget needs of its store side when budgets are shared (`BudgetStoreLink` in store-link.ts): owned here, so
 * that the budget does not depend on how the store is reached.
 */
export interface BudgetStoreSide {
  /** `'store'` while shared; while the store fails, `'share'` (a share of the budget) or `'local'` (local limits). */
  readonly mode: 'store' | 'share' | 'local';
  /** Whether an answer of the store is awaited: until it comes, how long a request waits is not known. */
  readonly asking: boolean;
  /**
   * Brings the store side up to `now` for a request of `cost` the budget is otherwise ready to send: lets go of a
   * reservation too small or too late to use, and asks the store (its answer wakes the budget) when it must.
   */
  advance(cost: number, now: number, units?: UnitCosts): void;
  /**
   * The instant a request of `cost` (and `units`, its costs in other units) may go as far as the store is concerned
   * (`now` or earlier: now), Infinity while its answer is awaited. Changes nothing.
   */
  readyAt(cost: number, now: number, units?: UnitCosts): number;
  /** Why a request of `cost` (and `units`) must wait for the store at `now`, when `readyAt` says it must. */
  waitReason(cost: number, now: number, units?: UnitCosts): WaitReason;
  /** The unit whose shared quota held the last request the store refused, when one did. */
  readonly heldUnit: string | undefined;
  /** A request of `cost` (and `units`) numbered `seq` is being sent at `now`. */
  take(cost: number, seq: number, now: number, units?: UnitCosts): void;
  /** A request in flight ended. */
  release(): void;
  /** The server's view from the answer to request `seq`, for the other clients. */
  noteView(remaining: number, resetAt: number, limit: number | undefined, seq: number, othersInFlight: number): void;
  /** What the answer to request `seq` said of quotas in other units, for the other clients. */
  noteUnitViews(seq: number, views: readonly UnitViewNote[], othersInFlight: ReadonlyMap<string, number>): void;
  /** Calls used these units beyond their estimates (negative: below), for the shared buckets. */
  settleUnits(extra: UnitCosts): void;
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
  /** Quota units per window of the most restrictive policy, when the server said. */
  readonly limit?: number;
  /** Quota units it had left, when the server said. */
  readonly remaining?: number;
  /** Epoch ms when that quota is restored, when the server said. */
  readonly resetAt?: number;
  /** That policy's window length in ms, when the server stated it. */
  readonly windowMs?: number;
  /** Epoch ms of the response this view came from. */
  readonly observedAt: number;
}

export class Budget {
  readonly #counters: BudgetCounters = { sent: 0, waited: 0, rateLimited: 0, retries: 0, giveUps: 0 };
  #inFlight = 0;
  /** The budget's store side, when the client shares budgets (`store`); set once, by {@link share}. */
  #store: BudgetStoreSide | undefined = undefined;
  /** Epoch ms before which nothing is sent (the server's Retry-After, or a backoff after a bare 429). */
  #pausedUntil = 0;
  /** The instant the server named for the pause, without jitter (no later than `#pausedUntil`). */
  #orderedUntil = 0;
  /** The end of the latest wait for a spent quota's reset (`waitForQuota`): while it holds the pause, it is pacing. */
  #quotaUntil = 0;
  /** Throttles without timing in a row: the exponent of the budget's own backoff. */
  #consecutiveThrottles = 0;
  #server: ServerView | undefined;
  #lastUsedAt: number;
  #buckets: BucketState[];
  #pace: ServerPace | undefined;
  /** When the request whose answer set the pace was sent. */
  #observedSeq = 0;
  /** While probing only one request is in flight: after a pause, so that one request tests the water first. */
  #probing = false;
  /** Only the answer to a request sent from this one on (by send order) ends the probe: older ones describe the past. */
  #probeFrom = 0;
  /**
   * While the server describes no quota (an adaptive budget, until an answer does): the slow start, then the limit
   * and window learned from refusals. Undefined for tasks and once the server has described its quota.
   */
  #discovery: Discovery | undefined;
  /**
   * Requests in flight that went without the server's word (or a configured rate) that there was quota for them:
   * the slow start, probes. Their refusals are ratewise's own discovery, not the server refusing a call.
   */
  readonly #unbacked = new Set<number>();
  /** Epoch ms of the latest answer that was not a throttle nor a server error. */
  #lastAcceptedAt = -Infinity;
  #plain: boolean;
  /** What the windows the budget's probes opened tell of where the server's window resets. */
  readonly #opened = new OpenedWindows();
  /** A window found to slide: the slots the budget's accepted requests hold pace it instead of the reset read. */
  readonly #sliding = new SlidingLog();
  /** The sliding model was refused once: not tried again. */
  #slidingDropped = false;
  /** The server's clock, as the `Date` fields of its answers tell it: where its absolute instants fall locally. */
  readonly serverClock = new ServerClock();
  /**
   * The view of each IETF policy the answers of the budget's routes named, made at the first such answer: once two
   * routes name different policies, a request of a route known goes by the policies it counts against.
   */
  #policies: PolicyPaces | undefined;

  #retryBudget: RetryBudget | undefined;
  #adaptive: boolean;

  constructor(
    readonly key: string,
    readonly config: BudgetConfig,
    now: number,
    /** Fraction of the server's quota left unused. */
    private readonly reserve: number,
    /** Caps retries to a share of recent requests; undefined when turned off. */
    retryBudget: RetryBudget | undefined,
    /** Whether it learns from responses (HTTP) or just runs tasks at its configured limits (`rw.schedule`). */
    adaptive: boolean,
    /**
     * The longest the budget holds requests back on its own estimate of a server window that says nothing of itself
     * (`retry.backoff.maxMs`), in ms.
     */
    private readonly maxHoldMs = 30_000,
  ) {
    this.#buckets = fullBuckets(config.limits, now);
    this.#retryBudget = retryBudget;
    this.#adaptive = adaptive;
    // A rate the user configured is trusted: the server's refusals pause it, as they say; an unknown limit is
    // discovered.
    if (adaptive && config.limits.length === 0) this.#discovery = new Discovery(config.initialWindow, maxHoldMs);
    this.#plain = !adaptive && config.limits.length === 0;
    this.#lastUsedAt = now;
  }

  /** Caps retries to a share of recent requests; undefined when turned off, and for a budget of tasks only. */
  get retryBudget(): RetryBudget | undefined {
    return this.#retryBudget;
  }

  /** Whether it learns from responses: made by a request, or used by one since (see {@link adapt}). */
  get adaptive(): boolean {
    return this.#adaptive;
  }

  /**
   * A budget made for tasks (`rw.schedule` with a key requests use too) now serves a request: from now on it is what
   * a request would have made, an unknown limit discovered and retries after errors capped by `retryBudget`.
   */
  adapt(retryBudget: RetryBudget | undefined): void {
    if (this.#adaptive) return;
    this.#adaptive = true;
    this.#retryBudget = retryBudget;
    const { limits, initialWindow } = this.config;
    if (limits.length === 0) this.#discovery = new Discovery(initialWindow, this.maxHoldMs);
    this.#plain = false;
  }

  /** The budget's counters, since it was created (read-only: the budget counts). */
  get counters(): Readonly<BudgetCounters> {
    return this.#counters;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Epoch ms before which nothing is sent (the server's Retry-After, or a backoff after a bare 429); 0 when never. */
  get pausedUntil(): number {
    return this.#pausedUntil;
  }

  /** The instant the server named for the pause, without jitter (no later than `pausedUntil`). */
  get orderedUntil(): number {
    return this.#orderedUntil;
  }

  /** Throttles without timing in a row: the exponent of the budget's own backoff. */
  get consecutiveThrottles(): number {
    return this.#consecutiveThrottles;
  }

  /** What the server said last, undefined before it said anything. */
  get server(): ServerView | undefined {
    return this.#server;
  }

  /** The budget's quotas in units other than requests (tokens, …), when a request or the server named any. */
  #units: UnitQuotas | undefined;

  /** The unit whose quota held the last request asked about (see `readiness`), when one did. */
  get heldByUnit(): string | undefined {
    return this.#units?.heldBy ?? this.#store?.heldUnit;
  }

  /** Units of a call's cost that nothing limits, each said once (see `UnitQuotas.unlimited`). */
  unlimitedUnits(units: UnitCosts): string[] {
    return this.#units?.unlimited(units) ?? [];
  }

  /**
   * Request `seq` (of `cost`) turned out to count against another budget's quota (its answer named it): it is given
   * back to this budget's pace (see `giveBack`).
   */
  notOurs(cost: number, now: number): void {
    const pace = this.#pace;
    if (pace === undefined) return;
    const reserved = reservedOf(this.#server?.limit ?? pace.remaining, this.reserve);
    this.#pace = giveBack(pace, cost, Math.max(0, this.#inFlight - 1), reserved, now);
  }

  /** A call charged `estimate` actually used `actual` (see `UnitQuotas.settle`). */
  settleUnits(estimate: UnitCosts, actual: Readonly<Record<string, number>>, now: number): void {
    const extra = this.#units?.settle(estimate, actual, now);
    if (extra !== undefined && extra.length > 0) this.#store?.settleUnits(extra);
  }

  /** Each IETF policy's view at `now` once the budget's routes name different ones (see `PolicyPaces.view`). */
  policyViews(now: number): Readonly<Record<string, PolicyStats>> | undefined {
    return this.#policies?.view(now);
  }

  /** Each unit's quota at `now` (see `UnitQuotas.view`), undefined when none is known. */
  unitViews(now: number): Readonly<Record<string, UnitView>> | undefined {
    return this.#units?.view(now);
  }

  /** When a request last went out, or the budget last became idle: what eviction measures from. */
  get lastUsedAt(): number {
    return this.#lastUsedAt;
  }

  /** With a `store`: whether decisions go through it (`'store'`) or are local while it fails; undefined unshared. */
  get storeMode(): 'store' | 'share' | 'local' | undefined {
    return this.#store?.mode;
  }

  /**
   * Whether the store is being asked: a request held until its answer is not yet known to wait (the store's round
   * trip is not a wait for the limit), so `maxWait` judges the wait the answer names, not the round trip.
   */
  get askingStore(): boolean {
    return this.#store?.asking === true;
  }

  /** A request waited in the queue. */
  countWaited(): void {
    this.#counters.waited++;
  }

  /** A call retried. */
  countRetry(): void {
    this.#counters.retries++;
  }

  /** A call ended without a retry it wanted. */
  countGiveUp(): void {
    this.#counters.giveUps++;
  }

  /** Nothing in flight and nothing queued from `now` on. */
  markIdle(now: number): void {
    this.#lastUsedAt = now;
  }

  /** Whether the concurrency cap, a probe or the discovery of an undescribed quota hold the next request back. */
  #slotsFull(): boolean {
    const inFlight = this.#inFlight;
    if (inFlight >= (this.#probing ? 1 : this.config.concurrency)) return true;
    const discovery = this.#discovery;
    return discovery !== undefined && this.#pace === undefined && !discovery.maySend(inFlight);
  }

  /**
   * Brings the budget up to `now` for a request of `cost`, before it is asked when that request may go. Two things
   * happen here, never in the queries:
   * - A server window that has turned is forgotten, and the next request probes (one asks, so that the whole queue
   *   does not rush into a window that may not have turned yet). Only once such a request could otherwise go (not
   *   paused, a slot free, the local rate allows it), as a query at that moment would find it: until then, answers
   *   still in flight may describe the new window.
   * - Shared, when it could go here: the store side may let go of a reservation and ask the store.
   */
  advance(cost: number, now: number, units?: UnitCosts, route?: CallRoute): void {
    let pace = this.#pace;
    // Another route's count that holds on past the reset (`ServerPace.later`) paces from here, until its own.
    if (pace !== undefined && now >= pace.resetAt && pace.later !== undefined)
      pace = this.#pace = live(pace, now) ?? pace;
    if (
      pace !== undefined &&
      !this.#sliding.active &&
      now >= pace.resetAt &&
      this.#localHold(cost, now) === undefined
    ) {
      this.#pace = undefined;
      this.#probe();
    }
    const store = this.#store;
    // A request its route's policies or its units hold here asks the store nothing yet: a grant would wait unused.
    if (store === undefined || this.#localReadyAt(cost, now, route) > now) return;
    if (units !== undefined && this.#units !== undefined && this.#units.readyAt(units, now) > now) return;
    store.advance(cost, now, units);
  }

  /**
   * When a request of `cost` (and of `units`, its costs in other units) may go, and why it must wait. Changes nothing
   * (see {@link advance}).
   */
  readiness(cost: number, now: number, units?: UnitCosts, route?: CallRoute): Readiness {
    if (units !== undefined && this.#units !== undefined) {
      const unitAt = this.#units.readyAt(units, now);
      // Held here by its units, the request has not asked the store (see `advance`): the store is not asked yet.
      const ready = this.#readiness(cost, now, units, route, unitAt <= now);
      if (!(unitAt > now && unitAt > ready.at)) return ready;
      // Infinity: a request in flight must be answered first, as when every slot is taken.
      if (unitAt === Infinity) return { at: unitAt, reason: 'concurrency' };
      return { at: unitAt, reason: this.#units.heldByRate ? 'rate' : 'server' };
    }
    return this.#readiness(cost, now, units, route);
  }

  #readiness(
    cost: number,
    now: number,
    units: UnitCosts | undefined,
    route: CallRoute | undefined,
    askStore = true,
  ): Readiness {
    const local = this.#localReadyAt(cost, now, route);
    if (local > now) return { at: local, reason: this.#localReason(cost, now, local, route) };
    const store = this.#store;
    if (store === undefined || !askStore) return { at: local, reason: undefined };
    const at = store.readyAt(cost, now, units);
    return at > now ? { at, reason: store.waitReason(cost, now, units) } : { at: local, reason: undefined };
  }

  /**
   * The instant a request of `cost` may go: `now` or earlier when it may go now (no allocation: the hot path asks
   * this), `Infinity` when a request in flight must end first. Changes nothing (see {@link advance}).
   */
  readyAt(cost: number, now: number, units?: UnitCosts, route?: CallRoute): number {
    const unitAt = units !== undefined && this.#units !== undefined ? this.#units.readyAt(units, now) : now;
    const at = this.#localReadyAt(cost, now, route);
    const store = this.#store;
    // Held here, the request has not asked the store (see `advance`).
    if (at > now || unitAt > now || store === undefined) return Math.max(at, unitAt);
    // Ready here: the store has the last word (its tokens, a pause another client heard of).
    const storeAt = store.readyAt(cost, now, units);
    return Math.max(storeAt > now ? storeAt : at, unitAt);
  }

  /**
   * The earliest instant a request of `cost` could go once `costAhead` units queued before it have gone: what the
   * local rate and the server's pace allow after the first of them goes (at `readyAt`), never earlier than that.
   * Infinity when a request in flight must end first. Changes nothing.
   */
  readyAfter(costAhead: number, cost: number, now: number): number {
    const at = this.readyAt(cost, now);
    if (!(costAhead > 0) || at === Infinity) return at;
    const start = Math.max(now, at);
    let after = start;
    const { limits } = this.config;
    if (limits.length > 0) {
      const level = refillAll(this.#buckets, limits, start).map((b) => ({
        tokens: b.tokens - costAhead,
        updatedAt: start,
      }));
      after = Math.max(after, start + msUntilAll(level, cost, limits, start));
    }
    const pace = this.#pace;
    if (pace !== undefined) after = Math.max(after, readyAt(spend(pace, costAhead, start), cost, start));
    return after;
  }

  /** What holds a request of `cost` back before the server's pace is looked at, or undefined when nothing does. */
  #localHold(cost: number, now: number): WaitReason | undefined {
    if (now < this.#pausedUntil) return this.#pausedUntil === this.#quotaUntil ? 'server-quota' : 'paused';
    if (this.#slotsFull()) return 'concurrency';
    if (this.config.limits.length > 0 && msUntilAll(this.#buckets, cost, this.config.limits, now) > 0) return 'rate';
    return undefined;
  }

  #localReadyAt(cost: number, now: number, route?: CallRoute): number {
    if (now < this.#pausedUntil) return this.#pausedUntil;
    if (this.#slotsFull()) return Infinity;
    if (this.config.limits.length > 0) {
      const wait = msUntilAll(this.#buckets, cost, this.config.limits, now);
      if (wait > 0) return now + wait;
    }
    if (this.#sliding.active) return this.#sliding.readyAt(this.#inFlight, now);
    // A route whose policies are known goes when each of them allows it: the budget's own view is the latest
    // answer's, of whichever route, and may say nothing of this route's own policy.
    const names = this.#policiesOf(route);
    if (names !== undefined) {
      const at = this.#policies!.readyAt(names, cost, this.#inFlight, now);
      return at > now ? at : now;
    }
    const heard = this.#pace;
    if (heard === undefined) return now;
    const pace = live(heard, now);
    // A window that turned and was not yet forgotten (`advance`): as it will be, one request asks.
    if (pace === undefined) return this.#inFlight >= 1 ? Infinity : now;
    const serverAt = readyAt(pace, cost, now);
    return serverAt > now ? serverAt : now;
  }

  /**
   * Whether the routes of this budget count against different policies (see `#policies`): a request held by its own
   * route's policies may then be passed by requests of other routes (see `heldApart`).
   */
  get routesApart(): boolean {
    return this.#policies?.split === true;
  }

  /**
   * Whether a request of `cost` and `route` that cannot go at `now` is held by its route's own policies alone: no
   * pause, no slot, local rate, units or store holds it, so a request of another route may still go.
   */
  heldApart(cost: number, now: number, units: UnitCosts | undefined, route: CallRoute | undefined): boolean {
    const names = this.#policiesOf(route);
    if (names === undefined || this.#sliding.active || this.#localHold(cost, now) !== undefined) return false;
    if (units !== undefined && this.#units !== undefined && this.#units.readyAt(units, now) > now) return false;
    return this.#policies!.readyAt(names, cost, this.#inFlight, now) > now;
  }

  /** The policies a request of `route` goes by (see `#policies`), undefined when the budget's own view paces it. */
  #policiesOf(route: CallRoute | undefined): readonly string[] | undefined {
    const policies = this.#policies;
    return route === undefined || policies === undefined || !policies.split
      ? undefined
      : policies.policiesOf(shapeOf(route));
  }

  /** Why a request of `cost` waits here until `at`, when `#localReadyAt` says it must. */
  #localReason(cost: number, now: number, at: number, route: CallRoute | undefined): WaitReason {
    if (this.#policiesOf(route) !== undefined)
      return this.#localHold(cost, now) ?? (at === Infinity ? 'concurrency' : 'server');
    const pace = this.#pace;
    const turned = pace !== undefined && !this.#sliding.active && live(pace, now) === undefined;
    return this.#localHold(cost, now) ?? (turned ? 'concurrency' : 'server');
  }

  /**
   * Records that a request of `cost` is being sent now; returns its number in send order (1, 2, …), which its
   * answer passes back to `observe`. Call only when `readiness(cost, now).at <= now`.
   */
  take(cost: number, now: number, units?: UnitCosts, route?: CallRoute): number {
    const seq = ++this.#counters.sent;
    this.#policies?.take(route && shapeOf(route), seq, cost, now);
    // Asked before the units are spent: what the server said is left of each unit the request names holds it.
    const unitsBacked = units !== undefined && (this.#units?.backs(units, now) ?? false);
    if (units !== undefined) (this.#units ??= new UnitQuotas(this.config.unitLimits)).take(units, seq, now);
    this.#inFlight++;
    this.#lastUsedAt = now;
    const pace = this.#pace;
    const discovery = pace === undefined ? this.#discovery : undefined;
    const probe = this.#probing;
    const limits = this.config.limits;
    // Backed: the server said there was quota left (of requests, or of each unit the request names), the user
    // configured a rate, or the server has accepted this many in a window before.
    const backed =
      unitsBacked ||
      (pace !== undefined && (live(pace, now)?.allowance ?? 0) >= cost) ||
      (limits.length > 0 && !probe) ||
      (discovery?.backed(probe) ?? false);
    if (!backed) this.#noteUnbacked(seq);
    if (limits.length > 0) this.#buckets = tryTakeAll(this.#buckets, cost, limits, now).state;
    this.#pace = spend(pace, cost, now);
    this.#store?.take(cost, seq, now, units);
    // The budget's first request opened the server's first window, as a probe opens each later one.
    if ((probe || seq === 1) && pace === undefined) this.#opened.probeSent(seq, now, seq === 1);
    const holdUntil = discovery?.sent(seq, now, probe);
    // The window's learned limit is sent: the rest waits until the window should have turned, then one probes it.
    // Ratewise's own estimate, not the server's order: no waiter's `maxRetryAfter` is held against it.
    if (holdUntil !== undefined) {
      this.pause(holdUntil, 0, false, undefined, true);
      if (holdUntil > this.#quotaUntil) this.#quotaUntil = holdUntil;
    }
    return seq;
  }

  #noteUnbacked(seq: number): void {
    const unbacked = this.#unbacked;
    unbacked.add(seq);
    // Requests that ended without an answer (network errors) are never observed: forget the oldest past a bound.
    if (unbacked.size > 1_024 + 2 * this.#inFlight) {
      for (const old of unbacked) {
        unbacked.delete(old);
        if (unbacked.size <= this.#inFlight) break;
      }
    }
  }

  /**
   * Whether request `seq` went with the server's word (or a configured rate, or a share the server has been seen to
   * accept) that there was quota for it. A refusal of one that did not is ratewise's own discovery. Ask before
   * `observe`ing its answer, which forgets it.
   */
  wasBacked(seq: number): boolean {
    return !this.#unbacked.has(seq);
  }

  /**
   * Whether the server has accepted a request of this budget within the last `withinMs`: a 503 without timing
   * then is the server throttling some requests while it serves others, not an outage.
   */
  acceptedWithin(withinMs: number, now: number): boolean {
    return now - this.#lastAcceptedAt <= withinMs;
  }

  /**
   * When the server's window should have turned, as discovered from its refusals: where the pause after a throttle
   * without timing ends. Undefined while the server describes its quota (its reset says when), and for tasks.
   */
  windowTurnAt(now: number): number | undefined {
    return this.#pace === undefined ? this.#discovery?.turnAt(now) : undefined;
  }

  /** A request in flight ended (response headers, or an error). */
  release(): void {
    if (--this.#inFlight === 0) this.#policies?.idle();
    this.#store?.release();
  }

  /**
   * Whether a request may go now, answered without the clock: only for a budget with no local rate, no pace and
   * no pause ever (tasks of `rw.schedule`), where the concurrency cap is all there is. False means: ask `readyAt`.
   */
  freeNow(): boolean {
    return this.plain && this.#inFlight < this.config.concurrency;
  }

  /** No local rate, no pace and no pause ever: only the concurrency cap decides, and time plays no part. */
  get plain(): boolean {
    return this.#plain && this.#pausedUntil === 0 && this.#pace === undefined;
  }

  /** Shares the budget through a store: from now on the store has the last word on every request. */
  share(store: BudgetStoreSide): void {
    this.#store = store;
    this.#plain = false;
  }

  /** The budget is let go (evicted): whatever its store side holds is given back. */
  dispose(): void {
    this.#store?.dispose();
  }

  /** `take` for a budget `freeNow` said yes to: nothing but the counts to keep. */
  takeFree(): number {
    this.#inFlight++;
    return ++this.#counters.sent;
  }

  /**
   * Takes in what the answer to the request `seq` (as `take` numbered it) said, and counts a throttle. The pace
   * follows only the answer to the latest request sent: an earlier request answered late reports a count the server
   * has already gone past. `status` is the answer's (an answer with a status of 500 or more that is not a throttle
   * tells nothing of the quota).
   */
  observe(
    info: RateLimitInfo,
    now: number,
    seq: number,
    status = 200,
    route?: CallRoute,
    /** The policies of `info` whose reset the server stated as seconds left (see `readRateLimit`). */
    delays: readonly RateLimitPolicy[] = NO_POLICIES,
  ): void {
    this.#unbacked.delete(seq);
    if (this.#units !== undefined || hasOtherUnits(info)) this.#observeUnits(info, now, seq);
    const { limit, remaining, resetAt } = info;
    this.#noteServer(info, now);
    // A window opened by one of the budget's probes resets a known length after it, which may be sooner than the
    // reset read (whole seconds). Every answer counts here, late ones too: the probe's may come after others'.
    const fresh = limit !== undefined && remaining !== undefined && remaining >= limit - 1;
    const lateBy = Math.min(this.serverClock.uncertaintyMs, 2 * SECOND_MS);
    const dated = this.#resetAfterDate(resetAt, now);
    const by = this.#opened.observed(
      seq,
      now,
      fresh,
      info.isRateLimited,
      resetAt,
      lateBy,
      dated?.afterDate,
      dated?.epoch,
      secondsLeftBound(info, delays, now),
    );
    const slidingLength = this.#opened.slidingLength;
    if (slidingLength !== undefined && limit !== undefined && !this.#sliding.active && !this.#slidingDropped) {
      this.#sliding.slide(limit, slidingLength);
    }
    let turning = false;
    // The latest request's answer, or the last answer of all: with nothing else in flight, the lowest count the
    // window reported is exact, whatever order the answers came in.
    const last = this.#inFlight <= 1;
    // An earlier request's answer does not set the pace, but its count is one the window reported.
    if (remaining !== undefined && resetAt !== undefined && seq < this.#observedSeq && !last) {
      this.#pace = noteCount(this.#pace, remaining, resetAt, now);
    }
    if (remaining !== undefined && resetAt !== undefined && (seq >= this.#observedSeq || last)) {
      this.#observedSeq = Math.max(seq, this.#observedSeq);
      this.#pace = observe(
        this.#pace,
        // `inFlight` still counts the request this answers (it is released after): the server counted that one.
        {
          remaining,
          resetAt,
          limit,
          inFlight: Math.max(0, this.#inFlight - 1),
          reserve: this.reserve,
          spread: this.config.pacing === 'spread',
          route: route && shapeOf(route),
        },
        now,
      );
      if (by !== undefined) this.#pace = resetBy(this.#pace, by);
      // Shared: what is left for everyone (the store counts what was granted after this request).
      this.#store?.noteView(remaining, resetAt, limit, seq, Math.max(0, this.#inFlight - 1));
      // A reset that has come already (`reset=0`): the window is turning now, and one request asks what the
      // next one holds, as at any reset.
      turning = this.#pace === undefined;
    }
    if (route !== undefined || this.#policies !== undefined) this.#observePolicies(info, seq, route, now);
    // One answer is enough to leave the probe: the server has spoken, or has shown it says nothing.
    if (turning) this.#probe();
    else if (now >= this.#pausedUntil && seq >= this.#probeFrom) this.#probing = false;
    // The server's quota paces from here: nothing left to discover.
    if (this.#pace) this.#discovery = undefined;
    const throttled = info.isRateLimited;
    this.#discovery?.answered(seq, throttled ? 'refused' : status >= 500 ? 'failed' : 'accepted', now, info.retryAt);
    if (!throttled && status >= 500) return;
    if (throttled) {
      // Refused where the slots said there was room: the window does not slide as thought.
      if (this.#sliding.active && !this.sentBeforePause(seq)) {
        this.#sliding.stop();
        this.#slidingDropped = true;
      }
      this.#counters.rateLimited++;
      // Throttles answering requests sent before the budget paused belong to the throttle that paused it.
      if (!this.sentBeforePause(seq)) this.#consecutiveThrottles++;
      return;
    }
    this.#consecutiveThrottles = 0;
    this.#lastAcceptedAt = now;
    this.#sliding.accepted(now);
  }

  /** The policies the answer to request `seq` named, for `#policies` (made at the first answer of a route to name any). */
  #observePolicies(info: RateLimitInfo, seq: number, route: CallRoute | undefined, now: number): void {
    let policies = this.#policies;
    if (policies === undefined && (route === undefined || info.policies.length === 0)) return;
    const counts = policyCounts(info);
    if (policies === undefined) {
      if (counts.length === 0) return;
      policies = this.#policies = this.#newPolicies();
    }
    const othersInFlight = Math.max(0, this.#inFlight - 1);
    policies.observe(seq, route && shapeOf(route), counts, othersInFlight, info.isRateLimited, now);
  }

  #newPolicies(): PolicyPaces {
    return new PolicyPaces({ reserve: this.reserve, spread: this.config.pacing === 'spread' }, this.config.maxRoutes);
  }

  /**
   * The reset less the answer's `Date`, as the server wrote both (ms), when this answer (arrived at `now`) was dated
   * and its reset falls on a whole second of the server's clock; and whether the reset was then surely an epoch
   * second: not also a whole number of seconds after `now`, as seconds left are read (the answer that placed the
   * server's clock reads both ways). Undefined otherwise.
   */
  #resetAfterDate(resetAt: number | undefined, now: number): { afterDate: number; epoch: boolean } | undefined {
    const reading = this.serverClock.lastReading;
    const serverNow = this.serverClock.serverNow(now);
    if (resetAt === undefined || reading?.at !== now || serverNow === undefined) return undefined;
    const serverReset = resetAt + serverNow - now;
    if (serverReset % SECOND_MS !== 0) return undefined;
    return { afterDate: serverReset - reading.dateMs, epoch: (resetAt - now) % SECOND_MS !== 0 };
  }

  /**
   * Takes in an answer to a request that another budget sent (its origin's, before the server named this budget's
   * quota, or another route's): the server's view and pace, as if `othersInFlight` more of this budget's requests
   * were in flight (they may be: sent through that budget, not yet counted), and whether it was a throttle.
   */
  observeForeign(info: RateLimitInfo, now: number, othersInFlight: number, route?: string): void {
    const { limit, remaining, resetAt } = info;
    this.#noteServer(info, now);
    if (remaining !== undefined && resetAt !== undefined) {
      this.#pace = observe(
        this.#pace,
        {
          remaining,
          resetAt,
          limit,
          inFlight: this.#inFlight + othersInFlight,
          reserve: this.reserve,
          spread: this.config.pacing === 'spread',
          route,
        },
        now,
      );
      if (this.#pace) this.#discovery = undefined;
      // Shared: the other clients hear of it as of any answer (no grant counter: what is in flight counts as spent).
      this.#store?.noteView(remaining, resetAt, limit, 0, this.#inFlight + othersInFlight);
    }
    if (route !== undefined) {
      const counts = policyCounts(info);
      if (counts.length > 0) {
        this.#policies ??= this.#newPolicies();
        this.#policies.observeForeign(route, counts, this.#inFlight, othersInFlight, now);
      }
    }
    if (info.isRateLimited) {
      this.#counters.rateLimited++;
      this.#consecutiveThrottles++;
    } else {
      this.#consecutiveThrottles = 0;
      this.#lastAcceptedAt = now;
    }
  }

  /** The server's view for `stats()`: what this answer said of the quota, when it said anything. */
  #noteServer({ limit, remaining, resetAt, windowMs }: RateLimitInfo, now: number): void {
    if (limit === undefined && remaining === undefined && resetAt === undefined) return;
    this.#server = {
      ...(limit !== undefined && { limit }),
      ...(remaining !== undefined && { remaining }),
      ...(resetAt !== undefined && { resetAt }),
      ...(windowMs !== undefined && { windowMs }),
      observedAt: now,
    };
  }

  /** The server's limit in `unit`, as the latest answer that stated one said it (see `UnitQuotas.statedLimit`). */
  statedLimit(unit: string): number | undefined {
    return this.#units?.statedLimit(unit);
  }

  /**
   * Takes in the refusal of request `seq` for a cost above the server's whole limit in one of its units: what it
   * says of each unit's quota, and a refusal in the counters. It is not a throttle of the budget's traffic (the server
   * refused that one request for its size): no backoff streak, and no window discovered from it.
   */
  observeOverLimit(info: RateLimitInfo, now: number, seq: number): void {
    this.#unbacked.delete(seq);
    this.#noteServer(info, now);
    this.#policies?.failed(seq);
    this.#observeUnits(info, now, seq);
    this.#discovery?.answered(seq, 'failed', now);
    this.#counters.rateLimited++;
  }

  /** What the answer to request `seq` said of the server's quotas in units; the other clients hear of them. */
  #observeUnits(info: RateLimitInfo, now: number, seq: number): void {
    const units = (this.#units ??= new UnitQuotas(this.config.unitLimits));
    const views = units.observe(seq, info, now);
    if (views.length === 0) return;
    this.#store?.noteUnitViews(seq, views, units.inFlight);
  }

  /** Request `seq` ended without an answer (a network error). */
  observeFailure(seq: number, now: number): void {
    this.#unbacked.delete(seq);
    this.#policies?.failed(seq);
    this.#units?.observe(seq, undefined, now);
    this.#discovery?.answered(seq, 'failed', now);
  }

  /**
   * The next request goes alone, and the rest follow once it is answered: after a refusal (an outage, a throttle)
   * that nothing paused for, because the call that met it gave up instead of retrying.
   */
  probeNext(): void {
    this.#probe();
  }

  /** The answer that ordered the latest pause, when known (a pause heard from the store, or ratewise's own, has none). */
  #pausedBy: PauseCause | undefined;

  /** The answer that ordered the pause in place, when known. */
  get pausedBy(): PauseCause | undefined {
    return this.#pausedBy;
  }

  /** The last request sent before the latest pause began (by send order). */
  #pausedAfterSeq = 0;

  /** Whether the request `seq` went out before the latest pause began: its answer belongs to that episode. */
  sentBeforePause(seq: number): boolean {
    return seq <= this.#pausedAfterSeq;
  }

  /** The last request sent before the latest pause that was not the discovery's own hold (see `pause`). */
  #throttledAfterSeq = 0;

  /**
   * Whether the request `seq` went out before the latest pause that another answer ordered (a refusal's wait, a
   * spent quota): a throttle it meets is that pause's, not one this call spends `rateLimitLimit` on. The hold the
   * discovery puts after a window's learned limit does not count: sent with the server's word for its quota (its
   * units', say), the request that ends a round spends like any other.
   */
  sentBeforeThrottlePause(seq: number): boolean {
    return seq <= this.#throttledAfterSeq;
  }

  /** One request at a time, until a request sent from now on is answered. */
  #probe(): void {
    this.#probing = true;
    this.#probeFrom = this.#counters.sent + 1;
  }

  /**
   * Stops sending until `until`; the first request after it goes alone. `ordered` is the instant the server named,
   * before the jitter added to it: what a waiter's `maxRetryAfter` is held against. With `share`, the pause is told
   * to the other clients of the store (not one that came from there).
   */
  pause(until: number, ordered = until, share = true, cause?: PauseCause, hold = false): void {
    if (share) this.#store?.publishPause(until, ordered);
    if (until > this.#pausedUntil || cause !== undefined) this.#pausedBy = cause;
    this.#pausedAfterSeq = this.#counters.sent;
    if (!hold) this.#throttledAfterSeq = this.#counters.sent;
    if (until > this.#pausedUntil) this.#pausedUntil = until;
    if (ordered > this.#orderedUntil) this.#orderedUntil = ordered;
    this.#probe();
  }

  /**
   * Lifts the pause in place, ahead of its end: the route whose refusal it was waits in a lane of its own, and the
   * next request goes alone to ask whether the rest of the host may go.
   */
  resume(): void {
    this.#pausedUntil = 0;
    this.#orderedUntil = 0;
    this.#quotaUntil = 0;
    this.#pausedBy = undefined;
    this.#probe();
  }

  /**
   * A success said the server's quota is spent until `until` (`remaining: 0`): nothing is sent until then, and the
   * first request after goes alone, as after a pause; but nothing was refused, so it is not told to the other clients
   * as a pause (they hear the server's view), and a wait for it reads `'server-quota'`, not `'paused'`.
   */
  waitForQuota(until: number, route?: CallRoute): void {
    // A route paced by its own policies: the spent one holds the routes that count against it, not the budget.
    if (this.#policiesOf(route) !== undefined) return;
    // A window that slides frees a slot at a time: the slots the budget's requests hold say when, not the reset.
    if (this.#sliding.active) return;
    this.pause(until, until, false);
    if (until > this.#quotaUntil) this.#quotaUntil = until;
  }

  /**
   * When the server's current window resets, as closely as heard: every answer rounds the time left up to whole
   * seconds, and the pace keeps the earliest reading of the window. Undefined without a pace.
   */
  get serverResetAt(): number | undefined {
    return this.#pace?.resetAt;
  }

  /** The local token bucket's level now (the emptiest bucket's), or undefined without a local rate. */
  bucketLevel(now: number): number | undefined {
    if (this.config.limits.length === 0) return undefined;
    return Math.min(...refillAll(this.#buckets, this.config.limits, now).map((b) => b.tokens));
  }

  /**
   * Nothing queued elsewhere can be waiting on this budget: nothing in flight, no pause ahead, no spent server
   * quota and no slot of a sliding window held (evicting that would forget it, and the next request would go straight
   * back to the server).
   */
  isIdle(now: number): boolean {
    return (
      this.#inFlight === 0 &&
      now >= this.#pausedUntil &&
      readyAt(this.#pace, 1, now) <= now &&
      (this.#policies?.free(now) ?? true) &&
      !this.#sliding.holds(now)
    );
  }
}
