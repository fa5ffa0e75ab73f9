// The retry decision: pure functions of what an attempt brought back and what was already spent, for its call
// (`decideRetry`) and for its whole budget (`budgetEffects`). They never wait and never throw; the engine's attempt
// loop (engine/send.ts) applies what they decide, owns the timers and emits the events.
import { backoffDelay, jitterUp } from './backoff.js';
import type { RateLimitInfo } from '../headers/types.js';
import type { BackoffOptions, JitterUpOptions } from '../options.js';
import { isNetworkError } from './network-error.js';

/** The retry options a decision follows: the client's, with a request's own overrides applied. */
export interface RetryPolicy {
  readonly limit: number;
  readonly rateLimitLimit: number;
  readonly maxRetryAfter: number;
  readonly statuses: ReadonlySet<number>;
  readonly methods: ReadonlySet<string>;
  readonly backoff: Required<BackoffOptions>;
  readonly serverJitter: Required<JitterUpOptions>;
  readonly budget: { readonly ratio: number; readonly minPerSecond: number; readonly windowMs: number } | undefined;
}

/** Why a failed attempt is not retried. */
export type GiveUpReason =
  /** The status is not in `retry.statuses` (a 403 with rate-limit evidence counts as a 429 there). */
  | 'not-retryable-status'
  /**
   * A retry was due, but the request is not idempotent (its method is not in `retry.methods`, it has no
   * `Idempotency-Key`) and the failure does not prove the server left it unprocessed: anything but a 429 (or a 403
   * with rate-limit evidence).
   */
  | 'not-idempotent'
  /** The request body was a stream already consumed: it cannot be sent again. */
  | 'body-not-replayable'
  /** `retry.limit` error retries were already made. */
  | 'retry-limit'
  /** `retry.rateLimitLimit` throttle retries were already made. */
  | 'rate-limit-limit'
  /** The server's wait is longer than `retry.maxRetryAfter`. */
  | 'max-retry-after'
  /** The wait would end after the call's deadline (`maxWait`). */
  | 'max-wait'
  /**
   * The server refused a call that costs more in one unit than the server's whole limit in it (as the refusal, or
   * an earlier answer, states that limit): no wait can make it fit.
   */
  | 'over-limit'
  /** The attempt threw something that is not a network failure (a programming error, an abort): never retried. */
  | 'not-network-error';

/** How an attempt ended: a response (any status), or a thrown error. */
export type AttemptOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly info: RateLimitInfo }
  | { readonly kind: 'error'; readonly error: unknown };

/** Everything {@link decideRetry} looks at. */
export interface RetryContext {
  /** Epoch ms when the outcome arrived. */
  readonly now: number;
  /** The request method, upper-case. */
  readonly method: string;
  /**
   * Whether the request may be repeated after an error or a throttle other than a 429: its method is in
   * `retry.methods`, or it carries an `Idempotency-Key`.
   */
  readonly idempotent: boolean;
  /** Whether the request body can be sent again. */
  readonly replayable: boolean;
  readonly outcome: AttemptOutcome;
  /** Error retries already made for this call. */
  readonly errorRetries: number;
  /** Throttle retries already made for this call. */
  readonly rateLimitRetries: number;
  /** Throttles without timing in a row for this budget, this one included (>= 1 when this outcome is one). */
  readonly consecutiveThrottles: number;
  /**
   * Whether a throttle spends the call's `rateLimitLimit`: the server refused a request it had said (or shown) it had
   * quota for. Refusals of ratewise's own discovery, or that belong to another call's throttle, do not.
   */
  readonly spendsRateLimit: boolean;
  /**
   * Whether the call costs more in one of its units than the server's whole limit in that unit (as the throttle's
   * answer, or the budget's view of the server's quota, states it): refused once, it is refused every time.
   */
  readonly overLimit: boolean;
  /**
   * When the server's window should have turned, as its budget discovered it from earlier refusals (epoch ms): a
   * throttle without timing waits until then (at most `backoff.maxMs`) rather than for the exponential backoff.
   * Undefined when unknown.
   */
  readonly windowTurnAt: number | undefined;
  /** The wait before the previous attempt, in ms, for decorrelated jitter. */
  readonly previousDelayMs: number | undefined;
  /** Epoch ms the call must not wait past (its `maxWait`); `Infinity` when none. */
  readonly deadline: number;
  readonly options: RetryPolicy;
  /** Uniform in [0, 1). */
  readonly random: () => number;
}

/**
 * What to do after an attempt.
 *
 * - `retry: false`: settle with this outcome. `reason` is `'success'` for a status below 400, else a
 *   {@link GiveUpReason}. `retryAt` (epoch ms) is set whenever the server said when to come back, whatever the reason
 *   (so the budget can still honour it); `waitMs` with it, or alone for a refused computed wait (`'max-wait'`). The
 *   client turns `'max-retry-after'` and `'max-wait'` into a `RateLimitError` carrying them.
 * - `retry: true`: send again after `delayMs`. `kind` says which counter it spends, `source` whose wait it is, and
 *   `pause` whether the whole budget (not just this call) must hold off for `delayMs`, and why.
 */
export type RetryDecision =
  | {
      readonly retry: false;
      readonly reason: GiveUpReason | 'success';
      /** Epoch ms from which the server accepts the request again, when it said. */
      readonly retryAt?: number;
      /** The wait that was refused or that the server asked for, in ms. */
      readonly waitMs?: number;
    }
  | {
      readonly retry: true;
      readonly kind: 'rateLimit' | 'error';
      /** Wait before the next attempt, in whole ms. */
      readonly delayMs: number;
      readonly source: 'server' | 'backoff';
      readonly pause: PauseReason | undefined;
    };

/** Why an attempt pauses its whole budget, as the `paused` event names it. */
export type PauseReason = 'retry-after' | 'remaining-zero' | 'backoff';

type GiveUp = Extract<RetryDecision, { retry: false }>;

/**
 * Decides whether and when to retry an attempt. The answer is data (a retry with its delay and source, or a give-up
 * with its reason), so that this policy stays a pure function and the caller alone acts on it.
 *
 * A response whose status is not in `statuses` is never retried, a throttle included; a throttle still reports the
 * server's instant (`retryAt`), so that its wait holds for the budget. A 403 with rate-limit evidence (GitHub's way
 * of answering a spent quota) is listed when 429 is.
 *
 * Throttles (429, a 503 with a retry time, anything `info.isRateLimited`, such as that 403) spend `rateLimitLimit`;
 * a throttle of a call that costs more than the server's whole limit in one of its units (`overLimit`) is never
 * retried.
 * Only a 429 (or that 403) proves the server refused the request before processing it, so only those are retried
 * for a request that is not idempotent; a 503 may come from a gateway that gave up on a request the application
 * went on to complete. The wait is the server's (`retryAt`, else the reset when `remaining` is 0), jittered only
 * upward; past `maxRetryAfter` the call gives up with `retryAt` instead of retrying early. Without timing, the budget
 * backs off exponentially by `consecutiveThrottles`.
 *
 * Errors (a listed status that is not a throttle, or a network failure per {@link isNetworkError}) are retried
 * only for idempotent, replayable requests and spend `limit`. The wait is the computed backoff, or the server's wait
 * when it gave one and that is longer. A 503 without timing is an outage: the whole budget backs off (`pause:
 * 'backoff'`).
 *
 * Server waits that would end past the deadline give up with `'max-wait'`; jitter alone never causes that (it is
 * trimmed to fit). Computed waits are not trimmed: one that ends past the deadline gives up too.
 */
export function decideRetry(ctx: RetryContext): RetryDecision {
  const { outcome, options } = ctx;
  if (outcome.kind === 'error') {
    return isNetworkError(outcome.error) ? decideError(ctx, undefined, undefined) : giveUp('not-network-error');
  }
  const { status, info } = outcome;
  const throttle = info.isRateLimited || status === 429 || (status === 503 && info.retryAt !== undefined);
  if (!isListed(options.statuses, status, info)) {
    if (status < 400) return giveUp('success');
    return giveUp('not-retryable-status', throttle ? serverWait(info, ctx.now) : undefined);
  }
  return throttle ? decideThrottle(ctx, status, info) : decideError(ctx, status, info);
}

/** Whether `retry.statuses` lets a response with `status` be retried at all. */
function isListed(statuses: ReadonlySet<number>, status: number, info: RateLimitInfo): boolean {
  return statuses.has(status) || (status === 403 && info.isRateLimited && statuses.has(429));
}

/** Whether the throttle proves the request was refused before it was processed, so that any request may be resent. */
function refusedUnprocessed(status: number): boolean {
  // A 403 reaches a throttle decision only with rate-limit evidence: the quota refused it, as a 429 would.
  return status === 429 || status === 403;
}

function decideThrottle(ctx: RetryContext, status: number, info: RateLimitInfo): RetryDecision {
  const { now, options, random } = ctx;
  const server = serverWait(info, now);
  // No retry can be admitted: the call ends now, whatever retries it has left (a wait the server ordered still holds
  // for the budget).
  if (ctx.overLimit) return giveUp('over-limit', server);
  if (!ctx.idempotent && !refusedUnprocessed(status)) return giveUp('not-idempotent', server);
  if (!ctx.replayable) return giveUp('body-not-replayable', server);
  // A limit of 0 turns throttle retries off, whoever's discovery the throttle was.
  const spends = ctx.spendsRateLimit || options.rateLimitLimit === 0;
  if (spends && ctx.rateLimitRetries >= options.rateLimitLimit) return giveUp('rate-limit-limit', server);
  if (server === undefined) {
    const turn = ctx.windowTurnAt;
    const delayMs =
      turn !== undefined && turn > now
        ? Math.min(Math.ceil(turn - now), options.backoff.maxMs)
        : backoffDelay(Math.max(1, ctx.consecutiveThrottles), random, options.backoff, ctx.previousDelayMs);
    if (now + delayMs > ctx.deadline) return giveUp('max-wait', { waitMs: delayMs });
    return { retry: true, kind: 'rateLimit', delayMs, source: 'backoff', pause: 'backoff' };
  }
  if (server.waitMs > options.maxRetryAfter) return giveUp('max-retry-after', server);
  if (now + server.waitMs > ctx.deadline) return giveUp('max-wait', server);
  const delayMs = fitJitter(jitterUp(server.waitMs, random, options.serverJitter), server.waitMs, ctx);
  return { retry: true, kind: 'rateLimit', delayMs, source: 'server', pause: server.pause };
}

function decideError(ctx: RetryContext, status: number | undefined, info: RateLimitInfo | undefined): RetryDecision {
  const { now, options, random } = ctx;
  const server = info && serverWait(info, now);
  if (!ctx.idempotent) return giveUp('not-idempotent', server);
  if (!ctx.replayable) return giveUp('body-not-replayable', server);
  if (ctx.errorRetries >= options.limit) return giveUp('retry-limit', server);
  // An outage, not one bad request: the whole budget holds off, or every queued request would hit it too.
  const pause = status === 503 ? 'backoff' : undefined;
  const computed = backoffDelay(ctx.errorRetries + 1, random, options.backoff, ctx.previousDelayMs);
  if (server !== undefined) {
    if (server.waitMs > options.maxRetryAfter) return giveUp('max-retry-after', server);
    const jittered = jitterUp(server.waitMs, random, options.serverJitter);
    if (jittered >= computed) {
      if (now + server.waitMs > ctx.deadline) return giveUp('max-wait', server);
      return {
        retry: true,
        kind: 'error',
        delayMs: fitJitter(jittered, server.waitMs, ctx),
        source: 'server',
        pause,
      };
    }
  }
  if (now + computed > ctx.deadline) return giveUp('max-wait', { waitMs: computed });
  return { retry: true, kind: 'error', delayMs: computed, source: 'backoff', pause };
}

interface ServerWait {
  /** Epoch ms the server named. */
  readonly retryAt: number;
  /** Ms from now until then, never negative. */
  readonly waitMs: number;
  readonly pause: 'retry-after' | 'remaining-zero';
}

/** The server's own wait: `retryAt`, else the reset of a spent quota. */
function serverWait(info: RateLimitInfo, now: number): ServerWait | undefined {
  if (info.retryAt !== undefined)
    return { retryAt: info.retryAt, waitMs: waitFrom(now, info.retryAt), pause: 'retry-after' };
  if (info.remaining === 0 && info.resetAt !== undefined) {
    return { retryAt: info.resetAt, waitMs: waitFrom(now, info.resetAt), pause: 'remaining-zero' };
  }
  return undefined;
}

function waitFrom(now: number, at: number): number {
  return Math.max(0, Math.ceil(at - now));
}

/** Trims a jittered server wait to end by the deadline, never below the server's own wait. */
function fitJitter(jittered: number, waitMs: number, ctx: RetryContext): number {
  return Math.max(waitMs, Math.min(jittered, Math.floor(ctx.deadline - ctx.now)));
}

function giveUp(reason: GiveUp['reason'], wait?: { readonly retryAt?: number; readonly waitMs: number }): GiveUp {
  if (wait === undefined) return { retry: false, reason };
  return wait.retryAt === undefined
    ? { retry: false, reason, waitMs: wait.waitMs }
    : { retry: false, reason, retryAt: wait.retryAt, waitMs: wait.waitMs };
}

/**
 * What an attempt asks of its whole budget besides its own call (see {@link budgetEffects}).
 *
 * - `pause`: nothing is sent until `until`, and the first request after it goes alone. `ordered` is the server's own
 *   instant, before any jitter: what a waiting call's `maxRetryAfter` is held against.
 * - `quota`: a success said the server's quota is spent (`remaining: 0`): nothing is sent until its reset at `until`.
 *   Pacing, not a pause: nothing was refused.
 * - `probe`: the next request goes alone, and the rest follow once it is answered.
 */
export type BudgetEffect =
  | { readonly kind: 'pause'; readonly until: number; readonly ordered: number; readonly reason: PauseReason }
  | { readonly kind: 'quota'; readonly until: number }
  | { readonly kind: 'probe' };

/** Everything {@link budgetEffects} looks at. */
export interface EffectContext {
  /** Epoch ms when the outcome arrived. */
  readonly now: number;
  readonly outcome: AttemptOutcome;
  /** What {@link decideRetry} decided; undefined when the caller aborted the call meanwhile (nothing is decided). */
  readonly decision: RetryDecision | undefined;
  /** Whether the retry budget refused the retry the decision wanted. */
  readonly retryRefused: boolean;
  /** Whether the request went out before a pause of its budget that still holds (its throttle is that pause's). */
  readonly sentInPause: boolean;
  /** The reset of the server's window as the budget heard it (its earliest reading), undefined when none. */
  readonly serverResetAt: number | undefined;
}

/**
 * What the budget must do after an attempt, in order: the caller applies each effect to the budget. Pure, as
 * {@link decideRetry} is; together they are everything an answer (a 429 included) does beyond its own call.
 *
 * - A success that spent the quota (`remaining: 0` and a reset to come): the budget waits for the reset.
 * - A call aborted meanwhile is not retried, but a throttle's `retryAt` still holds for the budget.
 * - A retry refused by the retry budget: the pause the retry would have waited in still holds for the budget.
 * - No retry: a server-ordered wait still holds for the budget (beyond the cap or the deadline, retries spent, not
 *   retryable); a throttle or an outage without one makes the next request a probe, so that the queue does not rush
 *   at a server that is down or throttling. A refusal of a call above the server's whole limit (`'over-limit'`)
 *   tells nothing of the others: no probe.
 * - A retry whose wait is the budget's (`decision.pause`): the budget pauses for it, unless it is a backoff and the
 *   request went out before a pause that still holds (it waits in that one). A retry without `pause` waits alone.
 */
export function budgetEffects(ctx: EffectContext): BudgetEffect[] {
  const { now, outcome, decision } = ctx;
  const info = outcome.kind === 'response' ? outcome.info : undefined;
  const effects: BudgetEffect[] = [];
  // Quota spent, though this request got through: nothing more until the reset, for anybody.
  const quotaSpent =
    info !== undefined &&
    !info.isRateLimited &&
    info.remaining === 0 &&
    info.resetAt !== undefined &&
    info.resetAt > now;
  if (quotaSpent) effects.push({ kind: 'quota', until: Math.min(info.resetAt, ctx.serverResetAt ?? Infinity) });
  if (decision === undefined) {
    // The caller gave up on this call, but the server's order holds for everyone else in the budget.
    if (info?.isRateLimited && info.retryAt !== undefined && info.retryAt > now) {
      effects.push(pause(info.retryAt, 'retry-after'));
    }
    return effects;
  }
  if (decision.retry && ctx.retryRefused) {
    // The wait the decision found still holds for the budget, though this call does not retry.
    if (decision.pause) effects.push(pause(now + decision.delayMs, decision.pause));
    return effects;
  }
  if (!decision.retry) {
    // A server-ordered wait holds for the budget even when this call does not wait it out: nobody else should go
    // before it either.
    if (decision.retryAt !== undefined && decision.retryAt > now) {
      effects.push(pause(decision.retryAt, info?.retryAt !== undefined ? 'retry-after' : 'remaining-zero'));
    } else if (
      decision.reason !== 'over-limit' &&
      outcome.kind === 'response' &&
      (outcome.info.isRateLimited || outcome.status === 429 || outcome.status === 503)
    ) {
      // Its retries spent, this call does not pause the budget as a retry would: the next request still goes
      // alone, or the whole queue would rush at a server that is down or throttling.
      effects.push({ kind: 'probe' });
    }
    return effects;
  }
  if (decision.pause === undefined) return effects;
  // The budget already backs off for the throttle this request ran into with others: it waits in that pause, rather
  // than drawing a longer one of its own.
  if (decision.pause === 'backoff' && (ctx.sentInPause || quotaSpent)) return effects;
  const until = now + decision.delayMs;
  // The cap is checked against the server's own instant: the jitter added to it may end past the cap.
  const ordered =
    decision.source === 'server' && info
      ? (info.retryAt ?? (info.remaining === 0 ? info.resetAt : undefined))
      : undefined;
  effects.push(pause(until, decision.pause, ordered ?? until));
  return effects;
}

function pause(until: number, reason: PauseReason, ordered = until): BudgetEffect {
  return { kind: 'pause', until, ordered, reason };
}
