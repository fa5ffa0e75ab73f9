// One logical request: wait for a turn, send, observe the answer, decide, then settle or back off and go again.
// Exactly one outcome: the response, a typed ratewise error, the caller's abort reason, or the network error after
// retries are spent.
import { formatValue, RateLimitError, RetryBudgetExceededError, type OverLimit } from '../errors.js';
import type { GiveUpEventReason } from '../events.js';
import {
  collectFields,
  readRateLimit,
  type HeaderInput,
  type RateLimitInfo,
  type RateLimitPolicy,
} from '../headers/index.js';
import type { ResolvedOptions } from '../config/resolve.js';
import type { Clock } from '../clock.js';
import type { ClassifyVerdict } from '../options.js';
import {
  BODY_PEEK_BYTES,
  BODY_PEEK_MS,
  isGraphQlRateLimited,
  isGraphQlRequest,
  isSecondaryRateLimit,
  isSpentCount,
  secondaryWaitMs,
} from '../retry/body-signals.js';
import {
  budgetEffects,
  decideRetry,
  type AttemptOutcome,
  type BudgetEffect,
  type GiveUpReason,
  type RetryDecision,
} from '../retry/decision.js';
import type { Lane } from './scheduler.js';
import type { CallTicket, WaitContext } from './wait.js';
import { hasOtherUnits, overLimit, quotaFree } from './unit-quotas.js';

/** What one logical request needs from its client. */
export interface SendContext extends WaitContext {
  readonly options: ResolvedOptions;
  /**
   * An answer to `call` was read: when it names the quota the call's route counts against, the client learns the
   * route, moves the call (and those of its route still waiting) to that quota's lane, gives that lane's budget the
   * answer (see `Budget.observeForeign`), and returns true; the budget that sent it then reads none of its quota.
   */
  readonly routeAnswer?: (call: CallTicket, info: RateLimitInfo, now: number) => boolean;
  /** A pause that holds the whole origin (a 503, a global limit): every lane of the call's origin pauses. */
  readonly pauseOrigin?: (call: CallTicket, until: number, ordered: number) => void;
  /**
   * The server refused `call` on its origin's own lane, naming no quota of its route: returns the lane to pause in
   * its place (its route's own, which the call and its route's waiting calls have moved to, while the origin's next
   * request probes whether the limit is the whole host's), or `until` moved later when an earlier refusal's route
   * turns out to share the host's limit. Undefined: the origin's lane pauses as it would.
   */
  readonly routeRefused?: (call: CallTicket, until: number, ordered: number, now: number) => RouteRefusal | undefined;
}

/** Where the pause of a refusal on an origin's own lane goes (see {@link SendContext.routeRefused}). */
export interface RouteRefusal {
  readonly lane: Lane;
  /** The pause's end and the server's instant: the refusal's own, or later when an earlier refusal asked for longer. */
  readonly until: number;
  readonly ordered: number;
  /** What to do once the pause is in place: move calls into the paused lane. */
  readonly then: (() => void) | undefined;
}

/**
 * How one attempt of a request is sent and read: `fetch` by default, an axios adapter or an undici dispatcher for
 * the other entry points. The engine never looks inside `R` but through these.
 */
export interface Transport<R> {
  /** Sends one attempt. Resolves with whatever came back, any status; rejects only when nothing did. */
  send(): Promise<R>;
  /** The HTTP status of an answer `send()` resolved with. */
  status(response: R): number;
  /** The headers of an answer `send()` resolved with, for ratewise to read its rate-limit information from. */
  headers(response: R): HeaderInput;
  /** Frees a response that will not be returned (its body is not read), so its connection goes back to the pool. */
  discard(response: R): void;
  /**
   * An attempt's error as events and ratewise's own errors (as `cause`) may show it: without the request's headers,
   * body or credentials. The caller still gets the error itself. By default the error as it is (fetch's errors
   * carry none of the request).
   */
  safeError?(error: unknown): unknown;
  /**
   * The text of an answer's body, read from a copy so that the caller still gets all of it: undefined when it is
   * longer than `maxBytes`, cannot be copied, or `signal` aborts first. Without it, throttles that only a body tells
   * of (GitHub's secondary rate limits and GraphQL `RATE_LIMITED` errors, a budget's `classify`) go unrecognised.
   */
  bodyText?(response: R, maxBytes: number, signal: AbortSignal): Promise<string | undefined>;
  /**
   * A successful answer that streams (`text/event-stream`): the answer to return in its place, whose body calls
   * `release` once, when the stream ends, fails (read or not: the call's signal aborting fails it too) or is
   * cancelled, or after `idleMs` without a chunk (timed on `clock`), with the stream's whole text when it ended and
   * `collect` asked for it. Undefined for any other answer: its slot is released at once. Without it, every answer is
   * released at once.
   */
  holdWhileStreaming?(
    response: R,
    release: (bodyText: string | undefined) => void,
    idleMs: number,
    clock: Clock,
    collect: boolean,
  ): R | undefined;
}

const GIVE_UP = Symbol.for('ratewise.giveUp');

/** Most of an answer's body read for a budget's `usage` hook: past it, the hook sees none. */
const MAX_USAGE_BODY = 1_048_576;

/** What a budget reads of an answer whose quota another budget read: nothing of the server's quota. */
const UNDESCRIBED: RateLimitInfo = Object.freeze({ isRateLimited: false, policies: Object.freeze([]) });

function markGiveUp(error: unknown, reason: GiveUpReason): void {
  if (typeof error === 'object' && error !== null && Object.isExtensible(error)) {
    Object.defineProperty(error, GIVE_UP, { value: reason, configurable: true });
  }
}

/**
 * Why ratewise did not retry a network error it passed on (`'body-not-replayable'`, `'not-idempotent'`,
 * `'retry-limit'`, …), or undefined for any other error.
 */
export function giveUpReason(error: unknown): GiveUpReason | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as Record<symbol, GiveUpReason | undefined>)[GIVE_UP];
}

/** What one attempt brought back: a response (any status), or the error it threw. */
interface Answer<R> {
  readonly response: R | undefined;
  readonly status: number | undefined;
  readonly error: unknown;
  /** The body's text, when a throttle might be told there (see `Transport.bodyText`). */
  readonly bodyText?: string | undefined;
}

type Retry = Extract<RetryDecision, { retry: true }>;
type Settle = Extract<RetryDecision, { retry: false }>;

/** What an attempt that does not end the call ends in: another attempt. */
const AGAIN = Symbol('again');

/**
 * Sends one logical request through its lane, with retries, and settles it once. Each attempt: wait for a turn,
 * send, observe the answer (the budget learns from it), decide (pure: `decideRetry` for the call, `budgetEffects`
 * for its budget), apply what the budget must do, then settle the call or back off for the next attempt.
 *
 * Only the waits are here: an async function's frame holds every variable it has, and is made for every call, so
 * the steps between the waits are the run's (`CallRun.conclude`).
 */
export async function send<R>(ctx: SendContext, call: CallTicket, transport: Transport<R>): Promise<R> {
  const run = new CallRun(ctx, call, transport);
  for (;;) {
    // Most turns are taken at once, as a number: nothing to wait for.
    const turn = call.acquire();
    const seq = typeof turn === 'number' ? turn : await turn;
    run.took(call.lane);
    let response: R | undefined;
    let error: unknown;
    try {
      response = await transport.send();
    } catch (e) {
      error = e;
    }
    try {
      const status = run.answered(response);
      const bodyText = run.mayTellInBody(response, status) ? await run.peek(response) : undefined;
      const result = run.conclude({ response, status, error, bodyText }, seq);
      if (result !== AGAIN) return result;
    } finally {
      // Whatever ended the attempt (an adapter whose status or headers threw, too), its slot goes back.
      run.free();
    }
  }
}

/**
 * How long after the server last accepted a request of a budget its refusals are taken for throttling (it refuses
 * some requests while it serves others), in ms: a 503 without timing then is no outage, and ratewise's own discovery
 * of the limit spends no call's `rateLimitLimit`.
 */
const THROTTLING_MS = 30_000;

/** Throttle retries of one call that may spend no `rateLimitLimit` retry (ratewise's own discovery), at most. */
const MAX_EXEMPT_THROTTLES = 10;

/** One call on its way through its attempts: what it has spent so far, and the steps of an attempt. */
class CallRun<R> {
  /** The lane whose budget took the current attempt: the one its slot goes back to. */
  sentLane: Lane;
  /** Whether the current attempt holds its slot: from its turn until the slot goes back (or to a held stream). */
  #holding = false;
  /** Whether the latest answer holds the whole origin (a 503, a global limit): its pause is every lane's. */
  #originWide = false;
  #errorRetries = 0;
  #rateLimitRetries = 0;
  /** Whether the latest attempt went with the server's word that there was quota for it (see `Budget.wasBacked`). */
  #backed = true;
  /** Whether the latest throttle spends a `rateLimitLimit` retry (see `decide`). */
  #spends = true;
  /** Throttle retries that spent no `rateLimitLimit` retry. */
  #exempted = 0;
  /** The unit whose whole limit the call's cost is above, when the latest answer refused it (see `observe`). */
  #overLimit: OverLimit | undefined;
  /** The wait before the previous attempt, for decorrelated jitter. */
  #previousDelayMs: number | undefined;
  readonly #idempotent: boolean;

  constructor(
    private readonly ctx: SendContext,
    private readonly call: CallTicket,
    private readonly transport: Transport<R>,
  ) {
    const { request, retry, lane } = call;
    this.sentLane = lane;
    this.#idempotent = retry.methods.has(request.method) || request.hasIdempotencyKey;
    lane.budget.retryBudget?.recordRequest(call.startedAt);
  }

  /**
   * What an attempt's answer ends in: the call's result (or its error, thrown), or `AGAIN` once the call has backed
   * off for another attempt.
   */
  conclude(answer: Answer<R>, seq: number): R | typeof AGAIN {
    const { call } = this;
    // Counted as each came back (see `answered`): this one is the latest.
    const attempt = call.attempts;
    const now = this.ctx.options.clock.now();
    const outcome = this.observe(answer, seq, now);
    // The answer may have named the quota the call's route counts against: the call is in that bucket's lane now,
    // and what the answer asks of a budget is asked of that one.
    const { budget } = call.lane;
    const sentHere = call.lane === this.sentLane;
    // An aborted call decides nothing: it ends with its caller's reason (its answer still informs the budget).
    // Sent before the latest pause began (whether or not it has ended): its answer belongs to that episode, and a
    // throttle it tells of was answered by that pause already (an answer can come after a short backoff has ended).
    const sentInPause = sentHere && budget.sentBeforePause(seq);
    const decision = call.signal?.aborted
      ? undefined
      : this.decide(outcome, now, sentHere && budget.sentBeforeThrottlePause(seq));
    // The retry budget bounds retries of failures (an outage); a throttle's retry waits for the server instead.
    const retryRefused =
      decision?.retry === true && decision.kind === 'error' && !(budget.retryBudget?.tryWithdraw(now) ?? true);
    const effects = budgetEffects({
      now,
      outcome,
      decision,
      retryRefused,
      sentInPause,
      serverResetAt: budget.serverResetAt,
    });
    // Before the slot is freed (by every step below): nothing queued can slip out before a pause is in place.
    this.apply(effects, answer.status, outcome.kind === 'response' && outcome.info.isRateLimited, now);
    if (decision === undefined) throw this.abandon(answer);
    if (retryRefused) throw this.refuse(answer, attempt);
    if (!decision.retry) return this.settle(decision, outcome, answer, attempt, now);
    this.backOff(decision, answer, attempt, now);
    return AGAIN;
  }

  /** Counts an attempt that came back with `response` (undefined: it failed); returns the answer's status. */
  answered(response: R | undefined): number | undefined {
    const status = response === undefined ? undefined : this.transport.status(response);
    this.call.attempts++;
    this.call.lastStatus = status;
    return status;
  }

  /**
   * Whether an answer's body is read (see `Transport.bodyText`): only where a throttle may be told in words, a 403
   * or 429 (GitHub's secondary limits), a 200 to a GraphQL request whose `x-ratelimit-remaining` is 0 (GitHub's
   * GraphQL API) or any answer of a budget with its own `classify`.
   */
  mayTellInBody(response: R | undefined, status: number | undefined): response is R {
    if (response === undefined || status === undefined || this.transport.bodyText === undefined) return false;
    if (status === 403 || status === 429 || this.sentLane.budget.config.classify !== undefined) return true;
    // GitHub's GraphQL API: a 200 whose quota is spent may say so in its errors. Looked up only for such requests.
    const { request, safeUrl } = this.call;
    return (
      status === 200 &&
      isGraphQlRequest(request.method, safeUrl) &&
      isSpentCount(collectFields(this.transport.headers(response)).get('x-ratelimit-remaining'))
    );
  }

  /** The body's text, given up after `BODY_PEEK_MS` of the client's clock. */
  async peek(response: R): Promise<string | undefined> {
    const { transport } = this;
    if (transport.bodyText === undefined) return undefined;
    const { clock } = this.ctx.options;
    const controller = new AbortController();
    const timer = clock.setTimeout(() => {
      controller.abort();
    }, BODY_PEEK_MS);
    try {
      return await transport.bodyText(response, BODY_PEEK_BYTES, controller.signal);
    } catch {
      return undefined;
    } finally {
      clock.clearTimeout(timer);
    }
  }

  /** Reads the answer's headers into the budget (its pace, its probe, its counters) and says how the attempt ended. */
  observe(answer: Answer<R>, seq: number, now: number): AttemptOutcome {
    const { response, status } = answer;
    const { events } = this.ctx;
    const { budget } = this.sentLane;
    this.#originWide = false;
    if (response === undefined || status === undefined) {
      this.#backed = budget.wasBacked(seq);
      budget.observeFailure(seq, now);
      return { kind: 'error', error: answer.error };
    }
    const delays: RateLimitPolicy[] = [];
    const parsed = readRateLimit(
      this.transport.headers(response),
      { now, status, serverClock: budget.serverClock },
      delays,
    );
    // A 503 without timing while the server accepts other requests of the budget is throttling, not an outage.
    let info: RateLimitInfo =
      status === 503 && !parsed.isRateLimited && budget.acceptedWithin(THROTTLING_MS, now)
        ? { ...parsed, isRateLimited: true }
        : parsed;
    // A call with costs in other units (tokens): its request pace reads the quota of requests alone.
    if (this.call.units !== undefined && hasOtherUnits(info)) {
      info = quotaFree(info);
    }
    const heard = this.#bodyThrottle(info, status, response, answer.bodyText, now);
    if (heard !== undefined) info = heard;
    this.#backed = budget.wasBacked(seq);
    // Refused, and costing more in a unit than the server's whole limit there: it can never be admitted. The refusal
    // is this call's alone: the budget takes in its view of the quotas, not a throttle of its traffic.
    const { units } = this.call;
    this.#overLimit =
      units !== undefined && (info.isRateLimited || status === 429)
        ? overLimit(units, parsed, (unit) => budget.statedLimit(unit))
        : undefined;
    if (this.#overLimit !== undefined) {
      budget.observeOverLimit(info, now, seq);
      this.#emitInfo(status, parsed);
      return { kind: 'response', status: heard !== undefined && status !== 403 ? 429 : status, info };
    }
    this.#originWide = status === 503 || info.scope === 'global';
    // Named for a quota of the call's route: that quota's budget has read it; this one only counts the answer.
    const routed = !this.#originWide && (this.ctx.routeAnswer?.(this.call, info, now) ?? false);
    // Counted as spent here while in flight, it was of another quota.
    if (routed) budget.notOurs(this.call.cost, now);
    budget.observe(routed ? UNDESCRIBED : info, now, seq, status, this.call.routing, delays);
    if (units !== undefined && status < 400) {
      for (const unit of budget.unlimitedUnits(units)) events.emit('unitUnlimited', { key: budget.key, unit });
    }
    this.#emitInfo(status, parsed);
    // A throttle told by the body alone is decided as a 429: refused before it was processed.
    return { kind: 'response', status: heard !== undefined && status !== 403 ? 429 : status, info };
  }

  #emitInfo(status: number, info: RateLimitInfo): void {
    const { events } = this.ctx;
    if (events.hasListeners('rateLimitInfo')) {
      events.emit('rateLimitInfo', { key: this.call.lane.budget.key, url: this.call.safeUrl, status, info });
    }
  }

  /**
   * The answer as a throttle, when its body says it is one and its headers did not: the budget's `classify` hook,
   * else GitHub's secondary rate limit or its GraphQL API's `RATE_LIMITED` error (its own `retry-after` first, then
   * the reset of a spent quota, else a minute, longer for each throttle in a row). Undefined when the body says
   * nothing more.
   */
  #bodyThrottle(
    info: RateLimitInfo,
    status: number,
    response: R,
    bodyText: string | undefined,
    now: number,
  ): RateLimitInfo | undefined {
    const { budget } = this.sentLane;
    const { classify } = budget.config;
    if (classify !== undefined) {
      let verdict: ClassifyVerdict | undefined;
      try {
        verdict = classify({ status, headers: asHeaders(this.transport.headers(response)), bodyText });
      } catch {
        // A hook that throws says nothing: the answer is read from its headers alone.
        return undefined;
      }
      if (verdict?.throttled !== true || info.isRateLimited) return undefined;
      const wait = verdict.retryAfterMs;
      const retryAt = typeof wait === 'number' && wait >= 0 && wait < Infinity ? now + wait : info.retryAt;
      return { ...info, isRateLimited: true, ...(retryAt !== undefined && { retryAt }) };
    }
    if (info.retryAt !== undefined) return undefined;
    if (!isSecondaryRateLimit(status, bodyText) && !isGraphQlRateLimited(status, bodyText)) return undefined;
    // A spent quota's reset says when (the budget waits for it); otherwise GitHub's minute, and more.
    if (info.remaining === 0 && info.resetAt !== undefined) return { ...info, isRateLimited: true };
    return { ...info, isRateLimited: true, retryAt: now + secondaryWaitMs(budget.consecutiveThrottles) };
  }

  /**
   * Whether and when the call tries again (see `decideRetry`). `sentInThrottle`: the attempt went out before a pause
   * of its budget that another answer ordered (not the discovery's own hold, see `Budget.sentBeforeThrottlePause`),
   * so its throttle is that pause's and spends no `rateLimitLimit`.
   */
  decide(outcome: AttemptOutcome, now: number, sentInThrottle: boolean): RetryDecision {
    const { call } = this;
    const { budget } = call.lane;
    const consecutiveThrottles = Math.max(1, budget.consecutiveThrottles);
    // The server accepts requests of this budget (it throttles, it does not refuse everything).
    const accepting = budget.acceptedWithin(THROTTLING_MS, now);
    // Exempt a bounded number of times: a call refused over and over is refused, whoever's discovery it is.
    this.#spends = !(accepting && (!this.#backed || sentInThrottle)) || this.#exempted >= MAX_EXEMPT_THROTTLES;
    // Only a throttle's backoff waits for the window to turn: for any other answer, it is not worked out.
    const throttle =
      outcome.kind === 'response' && (outcome.info.isRateLimited || outcome.status === 429 || outcome.status === 503);
    return decideRetry({
      now,
      method: call.request.method,
      idempotent: this.#idempotent,
      replayable: call.request.replayable,
      outcome,
      errorRetries: this.#errorRetries,
      rateLimitRetries: this.#rateLimitRetries,
      consecutiveThrottles,
      // While the server accepts requests of the budget, only a refusal of a request ratewise believed it had quota
      // for spends `rateLimitLimit`: ratewise's own discovery (a slow start's last round, a probe of the window) and
      // another call's throttle do not. A server that accepts nothing refuses every call.
      spendsRateLimit: this.#spends,
      overLimit: this.#overLimit !== undefined,
      windowTurnAt: accepting && throttle ? budget.windowTurnAt(now) : undefined,
      previousDelayMs: this.#previousDelayMs,
      deadline: call.deadline,
      options: call.retry,
      random: this.ctx.options.random,
    });
  }

  /** Does to the budget what the attempt asks of it (see `budgetEffects`), and says so. */
  apply(effects: readonly BudgetEffect[], status: number | undefined, throttled: boolean, now: number): void {
    let { budget } = this.call.lane;
    for (const effect of effects) {
      if (effect.kind === 'probe') {
        budget.probeNext();
        continue;
      }
      if (effect.kind === 'quota') {
        // Pacing, as the server asked: the `throttled` event tells of it when calls wait ('server-quota').
        budget.waitForQuota(effect.until, this.call.routing);
        continue;
      }
      const { reason } = effect;
      let { until, ordered } = effect;
      // A throttle of one route, where the server names no quota: that route pauses, the host's next request probes.
      const refusal =
        throttled && !this.#originWide ? this.ctx.routeRefused?.(this.call, until, ordered, now) : undefined;
      if (refusal !== undefined) {
        if (refusal.lane.budget !== budget) budget.probeNext();
        budget = refusal.lane.budget;
        ({ until, ordered } = refusal);
      }
      // A spent quota is shared as the server's view (with its reset), not as a pause: readings of one reset rounded
      // differently would each lengthen a shared pause.
      budget.pause(until, ordered, reason !== 'remaining-zero', {
        method: this.call.request.method,
        url: this.call.safeUrl,
        status,
      });
      refusal?.then?.();
      this.ctx.events.emit('paused', { key: budget.key, until, reason, status });
      if (this.#originWide) this.ctx.pauseOrigin?.(this.call, until, ordered);
    }
  }

  /** The current attempt took its turn: it holds a slot of `lane`. */
  took(lane: Lane): void {
    this.sentLane = lane;
    this.#holding = true;
  }

  /** The current attempt's slot goes back, once. */
  free(): void {
    if (!this.#holding) return;
    this.#holding = false;
    this.ctx.scheduler.release(this.sentLane);
  }

  /** The caller aborted the call: its slot is freed and its answer dropped. Returns what to throw: the reason. */
  abandon(answer: Answer<R>): unknown {
    this.free();
    this.#discard(answer);
    return this.call.signal?.reason;
  }

  /** The retry budget refused the retry the call wanted. Returns the error to throw. */
  refuse(answer: Answer<R>, attempts: number): RetryBudgetExceededError {
    const { lane, request, safeUrl } = this.call;
    const { budget } = lane;
    this.free();
    this.#giveUp('retry-budget', attempts, answer.status);
    return new RetryBudgetExceededError({
      key: budget.key,
      method: request.method,
      url: safeUrl,
      attempts,
      response: errorResponse(answer),
      cause: this.#safe(answer.error),
    });
  }

  /**
   * Ends the call with this attempt: its response; a `RateLimitError` when a throttle's wait is beyond what the call
   * allows; or, as fetch would, the response or the network error of an error it does not retry.
   */
  settle(decision: Settle, outcome: AttemptOutcome, answer: Answer<R>, attempts: number, now: number): R {
    const { lane, request, safeUrl, retry, maxWaitMs, waitSince } = this.call;
    // A stream holds its slot while it runs (its concurrency is the server's too); anything else frees it now.
    const held = this.#holdWhileStreaming(answer, decision);
    // Held, the slot goes back when the stream ends: the stream has it now.
    if (held === undefined) this.free();
    else this.#holding = false;
    const { reason } = decision;
    if (reason !== 'success' && reason !== 'not-retryable-status') this.#giveUp(reason, attempts, answer.status);
    const throttled = outcome.kind === 'response' && outcome.info.isRateLimited;
    // A wait beyond what the call allows is a rate-limit error for a throttle; for an error (a 500 whose backoff
    // would end past maxWait) the call ends as fetch would: with that response, or that network error.
    if (reason === 'max-retry-after' || (reason === 'max-wait' && throttled)) {
      // Past maxWait, the call's own wait counts from its start, to the instant it could have gone; the server's
      // wait past maxRetryAfter counts from now.
      const maxWait = reason === 'max-wait';
      const retryAt = maxWait ? (decision.retryAt ?? now + (decision.waitMs ?? 0)) : decision.retryAt;
      const waitMs = maxWait && retryAt !== undefined ? retryAt - waitSince : decision.waitMs;
      throw new RateLimitError({
        reason,
        key: lane.budget.key,
        method: request.method,
        url: safeUrl,
        retryAt,
        waitMs,
        limitMs: maxWait ? maxWaitMs : retry.maxRetryAfter,
        response: errorResponse(answer),
        cause: this.#safe(answer.error),
      });
    }
    if (reason === 'over-limit') {
      throw new RateLimitError({
        reason,
        key: lane.budget.key,
        method: request.method,
        url: safeUrl,
        response: errorResponse(answer),
        overLimit: this.#overLimit,
        status: answer.status,
      });
    }
    if (answer.response !== undefined) return held ?? answer.response;
    // The network error goes to the caller as it is, with why it was not retried (when it was not for being what it
    // is): see `giveUpReason`.
    if (reason !== 'success' && reason !== 'not-network-error') markGiveUp(answer.error, reason);
    throw answer.error;
  }

  #holdWhileStreaming(answer: Answer<R>, decision: Settle): R | undefined {
    const { response } = answer;
    if (response === undefined || decision.reason !== 'success') return undefined;
    const { transport } = this;
    const lane = this.sentLane;
    const usage = this.call.units !== undefined && lane.budget.config.usage !== undefined;
    const held =
      transport.holdWhileStreaming === undefined
        ? undefined
        : transport.holdWhileStreaming(
            response,
            (bodyText) => {
              this.ctx.scheduler.release(lane);
              if (usage) this.#settleUsage(lane, response, bodyText);
            },
            this.ctx.options.streamIdleMs,
            this.ctx.options.clock,
            usage,
          );
    if (held === undefined && usage) void this.#readUsage(lane, response);
    return held;
  }

  /** Reads a copy of an answer's body for the budget's `usage` hook, then settles the call's units with it. */
  async #readUsage(lane: Lane, response: R): Promise<void> {
    const { transport } = this;
    const { clock, streamIdleMs } = this.ctx.options;
    let bodyText: string | undefined;
    if (transport.bodyText !== undefined) {
      const controller = new AbortController();
      const timer = clock.setTimeout(() => {
        controller.abort();
      }, streamIdleMs);
      try {
        bodyText = await transport.bodyText(response, MAX_USAGE_BODY, controller.signal);
      } catch {
        bodyText = undefined;
      } finally {
        clock.clearTimeout(timer);
      }
    }
    this.#settleUsage(lane, response, bodyText);
  }

  /** Asks the budget's `usage` hook what the call used, and settles its units with the answer (see `usage`). */
  #settleUsage(lane: Lane, response: R, bodyText: string | undefined): void {
    const { budget } = lane;
    const hook = budget.config.usage;
    const units = this.call.units;
    if (hook === undefined || units === undefined) return;
    const ignored = (reason: string): void => {
      this.ctx.events.emit('usageIgnored', { key: budget.key, url: this.call.safeUrl, reason });
    };
    let actual: unknown;
    try {
      actual = hook({
        status: this.transport.status(response),
        headers: asHeaders(this.transport.headers(response)),
        bodyText,
      });
    } catch (error) {
      ignored(`the hook threw ${String(error)}`);
      return;
    }
    if (actual === undefined) return;
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) {
      ignored(`the hook returned ${formatValue(actual)}, not a record of amounts per unit`);
      return;
    }
    for (const [unit, amount] of Object.entries(actual)) {
      if (!(typeof amount === 'number' && amount >= 0 && Number.isFinite(amount))) {
        ignored(`the hook returned ${formatValue(amount)} for ${JSON.stringify(unit)}, not a finite amount >= 0`);
        return;
      }
    }
    budget.settleUnits(units, actual as Readonly<Record<string, number>>, this.ctx.options.clock.now());
  }

  /**
   * Makes ready for the next attempt: it goes back to the front of its queue, after its own backoff when the wait
   * is not the budget's (a budget's pause was applied with the effects).
   */
  backOff(decision: Retry, answer: Answer<R>, attempt: number, now: number): void {
    const { call } = this;
    const { lane, request, safeUrl } = call;
    const { budget } = lane;
    this.#discard(answer);
    budget.countRetry();
    if (decision.kind === 'rateLimit') {
      if (this.#spends) this.#rateLimitRetries++;
      else this.#exempted++;
    } else this.#errorRetries++;
    this.#previousDelayMs = decision.delayMs;
    call.front = true;
    call.notBefore = decision.pause === undefined ? now + decision.delayMs : 0;
    this.free();
    this.ctx.events.emit('retry', {
      key: budget.key,
      method: request.method,
      url: safeUrl,
      attempt,
      delayMs: decision.delayMs,
      source: decision.source,
      status: answer.status,
      error: this.#safe(answer.error),
    });
  }

  #giveUp(reason: GiveUpEventReason, attempts: number, status: number | undefined): void {
    const { lane, request, safeUrl } = this.call;
    lane.budget.countGiveUp();
    this.ctx.events.emit('giveUp', {
      key: lane.budget.key,
      method: request.method,
      url: safeUrl,
      reason,
      attempts,
      status,
    });
  }

  /** Frees a response that will not be returned. */
  #discard(answer: Answer<R>): void {
    if (answer.response !== undefined) this.transport.discard(answer.response);
  }

  /** An attempt's error as events and ratewise's errors carry it (see `Transport.safeError`). */
  #safe(error: unknown): unknown {
    const { transport } = this;
    return error === undefined || transport.safeError === undefined ? error : transport.safeError(error);
  }
}

/** Headers as a fetch `Headers` object, for a `classify` hook (a record's repeated lines joined). */
function asHeaders(input: HeaderInput): Headers {
  if (input instanceof Headers) return input;
  const headers = new Headers();
  const add = (value: unknown, name: string): void => {
    try {
      headers.append(name, Array.isArray(value) ? value.join(', ') : String(value));
    } catch {
      // A name or value fetch would refuse: left out.
    }
  };
  if (typeof input.forEach === 'function')
    (input as { forEach(cb: (v: string, n: string) => void): void }).forEach(add);
  else for (const [name, value] of Object.entries(input)) if (value !== undefined && value !== null) add(value, name);
  return headers;
}

/** The response the errors carry: a fetch Response; another transport's reaches its caller through its adapter. */
function errorResponse(answer: Answer<unknown>): Response | undefined {
  return answer.response instanceof Response ? answer.response : undefined;
}
