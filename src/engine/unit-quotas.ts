// A budget's quotas in units other than requests (tokens, …): the server's view of each, the units its requests in
// flight hold, and when a request's units allow it to go. No clock: the budget tells `now`.
import type { RateLimitInfo } from '../headers/index.js';
import type { OverLimit } from '../errors.js';
import type { BucketLimit } from '../config/rate.js';
import { MAX_UNITS } from '../config/request-options.js';
import { msUntilAll, refillAll, tryTakeAll, type BucketState } from './token-bucket.js';
import { observeUnit, spendUnit, unitLevel, unitReadyAt, type UnitPace } from './unit-pace.js';

/** A request's costs in units other than requests, as `[unit, amount]` pairs (amounts > 0). */
export type UnitCosts = readonly (readonly [string, number])[];

/** What `rw.stats()` shows of one unit. */
export interface UnitView {
  /**
   * Units left now in the server's quota, as the budget reckons them (its last count, less what went since, plus
   * the refill); undefined while the server has not described it.
   */
  readonly remaining?: number;
  /** The most the server's quota holds (its limit), when described. */
  readonly limit?: number;
  /** Epoch ms the server named for its quota to be whole again, when described. */
  readonly resetAt?: number;
  /**
   * What the budget's calls have cost in this unit: the actual amounts the `usage` hook reported for the calls it
   * settled, and the estimates of the others (in flight, or not settled).
   */
  readonly charged: number;
}

/** What an answer said of the server's quota in one unit, as a store shares it (instants in epoch ms). */
export interface UnitViewNote {
  readonly unit: string;
  readonly remaining: number;
  readonly limit: number | undefined;
  readonly resetAt: number;
  /** `continuous`: it comes back evenly until `resetAt`; `window`: all of it at once then. */
  readonly refill: 'continuous' | 'window';
  /** The unit's grant counter (in the store) of the request answered, when known. */
  readonly counter?: number | undefined;
  /** Epoch ms the answer came. */
  readonly at: number;
}

/** Sources whose quotas refill evenly until their reset (the LLM vendors document so), rather than all at once. */
const CONTINUOUS = new Set(['openai', 'anthropic']);

export class UnitQuotas {
  readonly #paces = new Map<string, UnitPace>();
  /** The local buckets of the units the budget limits itself (`units`), by unit. */
  readonly #buckets = new Map<string, BucketState[]>();
  /** What the calls have cost per unit, estimates replaced by actual amounts once settled. */
  readonly #charged = new Map<string, number>();

  constructor(private readonly limits: ReadonlyMap<string, readonly BucketLimit[]> = new Map()) {}
  readonly #inFlight = new Map<string, number>();
  readonly #bySeq = new Map<number, UnitCosts>();
  /** The latest request whose answer set the views: an earlier request's answer, come late, describes the past. */
  #observedSeq = 0;
  /** The unit that held the last request asked about, when one did. */
  heldBy: string | undefined;
  /** What of that unit held it: the budget's own rate in it (`units`), or the server's quota. */
  heldByRate = false;
  /** Whether any answer has come back since the budget first sent a request with units. */
  #answered = false;
  /** Each unit's limit as the latest answer that stated one said it (the lowest, when it named two policies). */
  readonly #stated = new Map<string, number>();

  /**
   * When a request of these units may go (`now` when it may; `Infinity` until a request in flight is answered), and
   * sets {@link heldBy}.
   */
  readyAt(units: UnitCosts, now: number): number {
    let at = now;
    this.heldBy = undefined;
    this.heldByRate = false;
    for (const [unit, amount] of units) {
      const local = this.limits.get(unit);
      if (local !== undefined) {
        const localAt = now + msUntilAll(this.#buckets.get(unit) ?? [], amount, local, now);
        if (localAt > at) {
          at = localAt;
          this.heldBy = unit;
          this.heldByRate = true;
        }
      }
      const pace = this.#paces.get(unit);
      if (pace === undefined) {
        if (local !== undefined) continue; // the user said what the quota is
        // Nothing is known of this unit's quota yet: the first request asks, and the rest wait for its answer, rather
        // than spend in one burst a quota that may be smaller than the burst. Once answered, a unit the server does
        // not describe costs nothing.
        if (!this.#answered && this.#bySeq.size > 0) {
          this.heldBy = unit;
          return Infinity;
        }
        continue;
      }
      const unitAt = unitReadyAt(pace, amount, now);
      if (unitAt > at) {
        at = unitAt;
        this.heldBy = unit;
        this.heldByRate = false;
      }
    }
    return at;
  }

  /**
   * Whether the server's word backs a request of these units at `now`: it described at least one of them, and what
   * it said is left of each holds the request's amount. Ask before `take`.
   */
  backs(units: UnitCosts, now: number): boolean {
    let described = false;
    for (const [unit, amount] of units) {
      const pace = this.#paces.get(unit);
      if (pace === undefined) continue;
      if (unitLevel(pace, now) < amount) return false;
      described = true;
    }
    return described;
  }

  /** The server's limit in `unit`, as the latest answer that stated one said it; undefined when none did. */
  statedLimit(unit: string): number | undefined {
    return this.#stated.get(unit);
  }

  /** Request `seq` of these units was sent at `now`. */
  take(units: UnitCosts, seq: number, now: number): void {
    for (const [unit, amount] of units) {
      this.#charged.set(unit, (this.#charged.get(unit) ?? 0) + amount);
      const local = this.limits.get(unit);
      if (local !== undefined)
        this.#buckets.set(unit, tryTakeAll(this.#buckets.get(unit) ?? [], amount, local, now).state);
      const pace = this.#paces.get(unit);
      if (pace !== undefined) this.#paces.set(unit, spendUnit(pace, amount, now));
      this.#inFlight.set(unit, (this.#inFlight.get(unit) ?? 0) + amount);
    }
    this.#bySeq.set(seq, units);
  }

  /** Units of requests in flight, by unit. */
  get inFlight(): ReadonlyMap<string, number> {
    return this.#inFlight;
  }

  /**
   * Request `seq` ended: its answer (if any) counted its units. Then the answer's views of each unit, if any: returns
   * those it took in (none for an answer that came after a later request's).
   */
  observe(seq: number, info: RateLimitInfo | undefined, now: number): UnitViewNote[] {
    const units = this.#bySeq.get(seq);
    if (units !== undefined) {
      this.#bySeq.delete(seq);
      for (const [unit, amount] of units) {
        const left = (this.#inFlight.get(unit) ?? 0) - amount;
        if (left > 0) this.#inFlight.set(unit, left);
        else this.#inFlight.delete(unit);
      }
    }
    const notes: UnitViewNote[] = [];
    if (info === undefined) return notes;
    this.#answered = true;
    if (seq < this.#observedSeq) return notes;
    const seen = new Set<string>();
    for (const policy of info.policies) {
      const { unit, remaining } = policy;
      const continuous = CONTINUOUS.has(policy.source);
      // Requests are paced here only where they refill evenly too (see `quotaFree`); elsewhere the budget's own pace
      // reads them.
      if ((unit === 'requests' && !continuous) || remaining === undefined) continue;
      if (!this.#paces.has(unit) && this.#paces.size >= MAX_UNITS) continue;
      const pace = observeUnit(
        {
          remaining,
          limit: policy.limit,
          resetAt: policy.resetAt,
          inFlight: this.#inFlight.get(unit) ?? 0,
          refill: continuous ? 'continuous' : 'window',
        },
        now,
      );
      // Two policies of one unit (a per-minute and a per-day quota): the one with less left holds.
      const known = seen.has(unit) ? this.#paces.get(unit) : undefined;
      if (known === undefined || unitLevel(pace, now) < unitLevel(known, now)) {
        this.#paces.set(unit, pace);
        const note = { unit, remaining, limit: policy.limit, resetAt: pace.resetAt, refill: pace.refill, at: now };
        const at = notes.findIndex((n) => n.unit === unit);
        if (at >= 0) notes[at] = note;
        else notes.push(note);
      }
      seen.add(unit);
    }
    for (const [unit, limit] of statedLimits(info)) {
      if (this.#stated.has(unit) || this.#stated.size < MAX_UNITS) this.#stated.set(unit, limit);
    }
    if (seen.size > 0) this.#observedSeq = seq;
    return notes;
  }

  /**
   * A call that was charged `estimate` actually used `actual` (the `usage` hook's amounts, already checked): each
   * named unit's difference is given back to (or owed by) its local buckets, and replaces the estimate in `charged`.
   */
  settle(estimate: UnitCosts, actual: Readonly<Record<string, number>>, now: number): [string, number][] {
    const extras: [string, number][] = [];
    for (const [unit, charged] of estimate) {
      const used = actual[unit];
      if (used === undefined) continue;
      const extra = used - charged;
      extras.push([unit, extra]);
      this.#charged.set(unit, (this.#charged.get(unit) ?? 0) + extra);
      const local = this.limits.get(unit);
      if (local === undefined) continue;
      const states = refillAll(this.#buckets.get(unit) ?? [], local, now);
      this.#buckets.set(
        unit,
        states.map((state, i) => ({
          tokens: Math.min(local[i]!.capacity, state.tokens - extra),
          updatedAt: state.updatedAt,
        })),
      );
    }
    return extras;
  }

  /** Units reported as limited by nobody (see {@link unlimited}). */
  readonly #reported = new Set<string>();

  /**
   * The units of `units` that, now that the server has answered, neither it nor the budget limits (they cost
   * nothing), each said once per budget; empty otherwise.
   */
  unlimited(units: UnitCosts): string[] {
    const found: string[] = [];
    if (!this.#answered) return found;
    for (const [unit] of units) {
      if (unit === 'requests' || this.#paces.has(unit) || this.limits.has(unit) || this.#reported.has(unit)) continue;
      if (this.#reported.size >= 16) break;
      this.#reported.add(unit);
      found.push(unit);
    }
    return found;
  }

  /** Whether any request holds units or the server has described any. */
  get active(): boolean {
    return this.#paces.size > 0 || this.#bySeq.size > 0;
  }

  /** Each unit's quota as the budget reckons it at `now`, for `rw.stats()`; undefined when none is known. */
  view(now: number): Readonly<Record<string, UnitView>> | undefined {
    if (this.#paces.size === 0 && this.#charged.size === 0) return undefined;
    const views: Record<string, UnitView> = {};
    for (const unit of new Set([...this.#paces.keys(), ...this.#charged.keys()])) {
      const pace = this.#paces.get(unit);
      const charged = this.#charged.get(unit) ?? 0;
      views[unit] =
        pace === undefined
          ? { charged }
          : { remaining: Math.floor(unitLevel(pace, now)), limit: pace.capacity, resetAt: pace.resetAt, charged };
    }
    return views;
  }
}

/**
 * The answer as the budget's request pace reads it when the call named its costs per unit: where the quotas refill
 * evenly (the LLM vendors'), none of them, requests included, since every unit the call names is paced by
 * {@link UnitQuotas} as it refills (a fixed-window pace would take each reset, a fraction of a second away, for a
 * window that turns, and send one request at a time across it); elsewhere {@link requestsOnly}.
 */
export function quotaFree(info: RateLimitInfo): RateLimitInfo {
  return info.policies.some((policy) => CONTINUOUS.has(policy.source)) ? withoutQuota(info) : requestsOnly(info);
}

/**
 * The answer as the budget's request pace reads it when the call named its costs in other units: the most restrictive
 * policy counted in requests, not a spent quota of tokens (those units' own views hold the calls that need them; a
 * pause until a token quota is whole again would hold every call far longer than the refill requires).
 */
export function requestsOnly(info: RateLimitInfo): RateLimitInfo {
  let chosen: RateLimitInfo['policies'][number] | undefined;
  for (const policy of info.policies) {
    if (policy.unit !== 'requests' || policy.remaining === undefined) continue;
    if (chosen === undefined || policy.remaining < (chosen.remaining ?? Infinity)) chosen = policy;
  }
  const rest = withoutQuota(info);
  if (chosen === undefined) return rest;
  return {
    ...rest,
    ...(chosen.limit !== undefined && { limit: chosen.limit }),
    remaining: chosen.remaining!,
    ...(chosen.resetAt !== undefined && { resetAt: chosen.resetAt }),
    ...(chosen.windowMs !== undefined && { windowMs: chosen.windowMs }),
  };
}

/** The answer without its selected quota (limit, remaining, reset, window): its throttle and its policies only. */
function withoutQuota(info: RateLimitInfo): RateLimitInfo {
  return {
    isRateLimited: info.isRateLimited,
    policies: info.policies,
    ...(info.retryAt !== undefined && { retryAt: info.retryAt }),
    ...(info.bucket !== undefined && { bucket: info.bucket }),
    ...(info.scope !== undefined && { scope: info.scope }),
  };
}

/** Each unit's limit as `info` states it: the lowest, when it names two policies of the unit. */
function statedLimits(info: RateLimitInfo): Map<string, number> {
  const stated = new Map<string, number>();
  for (const { unit, limit } of info.policies) {
    if (limit !== undefined) stated.set(unit, Math.min(limit, stated.get(unit) ?? Infinity));
  }
  return stated;
}

/**
 * The first of a call's units whose amount is above the server's whole limit in it: as `info` (the answer that
 * refused the call) states it, else as `known` says an earlier answer did. Undefined when every amount fits.
 */
export function overLimit(
  units: UnitCosts,
  info: RateLimitInfo,
  known: (unit: string) => number | undefined,
): OverLimit | undefined {
  const stated = statedLimits(info);
  for (const [unit, cost] of units) {
    const limit = stated.get(unit) ?? known(unit);
    if (limit !== undefined && cost > limit) return { unit, cost, limit };
  }
  return undefined;
}

/** Whether an answer described a quota in another unit than requests. */
export function hasOtherUnits(info: RateLimitInfo): boolean {
  for (const policy of info.policies) if (policy.unit !== 'requests') return true;
  return false;
}
