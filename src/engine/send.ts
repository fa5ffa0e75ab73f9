// One logical request: wait for a turn, send, read what came back, and retry or settle. Exactly one outcome:
// the response, a typed ratewise error, the caller's abort reason, or the network error after retries are spent.
import { RateLimitError, RetryBudgetExceededError } from '../errors.js';
import type { RatewiseEvents } from '../events.js';
import { parseRateLimit, type HeaderInput } from '../headers/index.js';
import type { ResolvedOptions } from '../config/resolve.js';
import { decideRetry, type AttemptOutcome, type GiveUpReason } from '../retry/decision.js';
import type { CallTicket, WaitContext } from './wait.js';

/** What one logical request needs from its client. */
export interface SendContext extends WaitContext {
  readonly options: ResolvedOptions;
}

/**
 * How one attempt of a request is sent and read: `fetch` by default, an axios adapter or an undici dispatcher for
 * the other entry points. The engine never looks inside `R` but through these.
 */
export interface Transport<R> {
  /** Sends one attempt. Resolves with whatever came back, any status; rejects only when nothing did. */
  send(): Promise<R>;
  status(response: R): number;
  headers(response: R): HeaderInput;
  /** Frees a response that will not be returned (its body is not read), so its connection goes back to the pool. */
  discard(response: R): void;
  /**
   * An attempt's error as events and ratewise's own errors (as `cause`) may show it: without the request's headers,
   * body or credentials. The caller still gets the error itself. By default the error as it is (fetch's errors
   * carry none of the request).
   */
  safeError?(error: unknown): unknown;
}

const GIVE_UP = Symbol.for('ratewise.giveUp');

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

/** Sends one logical request through its lane, with retries, and settles it once. */
export async function send<R>(ctx: SendContext, call: CallTicket, transport: Transport<R>): Promise<R> {
  const { options, scheduler, events } = ctx;
  const { lane, request, safeUrl, signal, retry, deadline, maxWaitMs } = call;
  const { budget } = lane;
  const idempotent = retry.methods.has(request.method) || request.hasIdempotencyKey;
  budget.retryBudget?.recordRequest(call.startedAt);
  let errorRetries = 0;
  let rateLimitRetries = 0;
  let previousDelayMs: number | undefined;
  /** An attempt's error as events and ratewise's errors carry it (see `Transport.safeError`). */
  const safe = (error: unknown): unknown =>
    error === undefined || transport.safeError === undefined ? error : transport.safeError(error);
  /** Pauses the budget until `until`; `ordered` is the server's own instant, before any jitter (for the cap). */
  const pauseBudget = (
    until: number,
    reason: RatewiseEvents['paused']['reason'],
    status: number | undefined,
    ordered = until,
  ): void => {
    // A spent quota is shared as the server's view (with its reset), not as a pause: readings of one reset rounded
    // differently would each lengthen a shared pause.
    budget.pause(until, ordered, reason !== 'remaining-zero');
    events.emit('paused', { key: budget.key, until, reason, status });
  };
  for (let attempt = 1; ; attempt++) {
    const seq = await call.acquire();
    let response: R | undefined;
    let error: unknown;
    try {
      response = await transport.send();
    } catch (e) {
      error = e;
    }
    const discard = (r: R | undefined): void => {
      if (r !== undefined) transport.discard(r);
    };
    // The errors carry a fetch Response; another transport's response reaches its caller through its adapter.
    const errorResponse = response instanceof Response ? response : undefined;
    const responseStatus = response === undefined ? undefined : transport.status(response);
    const now = options.clock.now();
    let outcome: AttemptOutcome;
    if (response !== undefined && responseStatus !== undefined) {
      const status = responseStatus;
      const info = parseRateLimit(transport.headers(response), { now, status });
      budget.observe(info, now, seq);
      if (info.isRateLimited) {
        budget.counters.rateLimited++;
        // Throttles answering requests sent before the budget paused belong to the throttle that paused it.
        if (!budget.sentBeforePause(seq)) budget.consecutiveThrottles++;
      }
      if (events.hasListeners('rateLimitInfo'))
        events.emit('rateLimitInfo', { key: budget.key, url: safeUrl, status, info });
      // Quota spent, though this request got through: nothing more until the reset, for anybody.
      if (!info.isRateLimited && info.remaining === 0 && info.resetAt !== undefined && info.resetAt > now) {
        pauseBudget(Math.min(info.resetAt, budget.serverResetAt ?? Infinity), 'remaining-zero', status);
      }
      // The caller gave up on this call, but the server's order holds for everyone else in the budget.
      if (signal?.aborted && info.isRateLimited && info.retryAt !== undefined && info.retryAt > now) {
        pauseBudget(info.retryAt, 'retry-after', status);
      }
      outcome = { kind: 'response', status, info };
    } else {
      outcome = { kind: 'error', error };
    }
    if (signal?.aborted) {
      scheduler.release(lane);
      discard(response);
      throw signal.reason;
    }
    const decision = decideRetry({
      now,
      method: request.method,
      idempotent,
      replayable: request.replayable,
      outcome,
      errorRetries,
      rateLimitRetries,
      consecutiveThrottles: Math.max(1, budget.consecutiveThrottles),
      previousDelayMs,
      deadline,
      options: retry,
      random: options.random,
    });
    if (decision.retry && !(budget.retryBudget?.tryWithdraw(now) ?? true)) {
      // The wait the decision found still holds for the budget, though this call does not retry.
      if (decision.pause) pauseBudget(now + decision.delayMs, decision.pause, responseStatus);
      scheduler.release(lane);
      budget.counters.giveUps++;
      events.emit('giveUp', {
        key: budget.key,
        method: request.method,
        url: safeUrl,
        reason: 'retry-budget',
        attempts: attempt,
        status: responseStatus,
      });
      throw new RetryBudgetExceededError({
        key: budget.key,
        method: request.method,
        url: safeUrl,
        attempts: attempt,
        response: errorResponse,
        cause: safe(error),
      });
    }
    if (!decision.retry) {
      // A server-ordered wait holds for the budget even when this call does not wait it out (beyond the cap or the
      // deadline, retries spent, not retryable): nobody else should go before it either.
      if (decision.retryAt !== undefined && decision.retryAt > now) {
        const serverSaid = outcome.kind === 'response' && outcome.info.retryAt !== undefined;
        pauseBudget(decision.retryAt, serverSaid ? 'retry-after' : 'remaining-zero', responseStatus);
      } else if (
        outcome.kind === 'response' &&
        (outcome.info.isRateLimited || outcome.status === 429 || outcome.status === 503)
      ) {
        // Its retries spent, this call does not pause the budget as a retry would: the next request still goes
        // alone, or the whole queue would rush at a server that is down or throttling.
        budget.probeNext();
      }
      scheduler.release(lane);
      if (decision.reason !== 'success' && decision.reason !== 'not-retryable-status') {
        budget.counters.giveUps++;
        events.emit('giveUp', {
          key: budget.key,
          method: request.method,
          url: safeUrl,
          reason: decision.reason,
          attempts: attempt,
          status: responseStatus,
        });
      }
      const throttled = outcome.kind === 'response' && outcome.info.isRateLimited;
      // A wait beyond what the call allows is a rate-limit error for a throttle; for an error (a 500 whose backoff
      // would end past maxWait) the call ends as fetch would: with that response, or that network error.
      if (decision.reason === 'max-retry-after' || (decision.reason === 'max-wait' && throttled)) {
        throw new RateLimitError({
          reason: decision.reason === 'max-wait' ? 'maxWait' : 'maxRetryAfter',
          key: budget.key,
          method: request.method,
          url: safeUrl,
          retryAt: decision.retryAt,
          waitMs: decision.waitMs,
          limitMs: decision.reason === 'max-wait' ? maxWaitMs : retry.maxRetryAfter,
          response: errorResponse,
          cause: safe(error),
        });
      }
      if (response !== undefined) return response;
      // The network error goes to the caller as it is, with why it was not retried (when it was not for being
      // what it is): see `giveUpReason`.
      if (decision.reason !== 'success' && decision.reason !== 'not-network-error') markGiveUp(error, decision.reason);
      throw error;
    }
    discard(response);
    budget.counters.retries++;
    if (decision.kind === 'rateLimit') rateLimitRetries++;
    else errorRetries++;
    previousDelayMs = decision.delayMs;
    call.front = true;
    call.notBefore = 0;
    if (decision.pause === 'backoff' && budget.sentBeforePause(seq) && budget.pausedUntil > now) {
      // The budget already backs off for the throttle this request ran into with others: it waits in that pause,
      // rather than drawing a longer one of its own.
    } else if (decision.pause) {
      // The cap is checked against the server's own instant: the jitter added to it may end past the cap.
      const info = outcome.kind === 'response' ? outcome.info : undefined;
      const ordered =
        decision.source === 'server' && info
          ? (info.retryAt ?? (info.remaining === 0 ? info.resetAt : undefined))
          : undefined;
      pauseBudget(now + decision.delayMs, decision.pause, responseStatus, ordered ?? now + decision.delayMs);
    } else {
      call.notBefore = now + decision.delayMs;
    }
    // The slot is freed only now, after the pause is in place: nothing queued can slip out before it.
    scheduler.release(lane);
    events.emit('retry', {
      key: budget.key,
      method: request.method,
      url: safeUrl,
      attempt,
      delayMs: decision.delayMs,
      source: decision.source,
      status: responseStatus,
      error: safe(error),
    });
  }
}
