// Fixtures of the retry-decision tests: a fixed arrival instant, resolved retry options built field by field, and
// contexts with every input explicit, so each test states only what it varies.
import type { BackoffOptions } from '../../src/options.js';
import { BACKOFF_DEFAULTS, JITTER_UP_DEFAULTS } from '../../src/retry/backoff.js';
import type { RateLimitInfo } from '../../src/headers/types.js';
import type { RetryPolicy as ResolvedRetry } from '../../src/retry/decision.js';
import type { AttemptOutcome, RetryContext } from '../../src/retry/decision.js';

/** When every outcome in these tests arrives: Wed, 01 Oct 2025 12:00:00 GMT. */
export const NOW = Date.UTC(2025, 9, 1, 12, 0, 0);
export const SECOND = 1000;

/** A scripted `random` that returns the given values in turn, then repeats the last. */
export function scripted(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

export type RetryOptionOverrides = Partial<Omit<ResolvedRetry, 'backoff'>> & { readonly backoff?: BackoffOptions };

/** `resolveOptions()`'s retry defaults, with overrides. */
export function retryOptions(overrides: RetryOptionOverrides = {}): ResolvedRetry {
  const { backoff, ...rest } = overrides;
  return {
    limit: 2,
    rateLimitLimit: 5,
    maxRetryAfter: 60_000,
    statuses: new Set([408, 429, 500, 502, 503, 504]),
    methods: new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']),
    serverJitter: { ...JITTER_UP_DEFAULTS },
    budget: undefined,
    ...rest,
    backoff: { ...BACKOFF_DEFAULTS, ...backoff },
  };
}

export function info(fields: Partial<RateLimitInfo> = {}): RateLimitInfo {
  return { isRateLimited: false, policies: [], ...fields };
}

export type ContextOverrides = Partial<Omit<RetryContext, 'options'>> & { readonly options?: RetryOptionOverrides };

/** A GET's first failed attempt (a bare 500) at {@link NOW}, no deadline, `random` always 0.5; then the overrides. */
export function context({ options, ...rest }: ContextOverrides = {}): RetryContext {
  return {
    now: NOW,
    method: 'GET',
    idempotent: true,
    replayable: true,
    outcome: response(500),
    errorRetries: 0,
    rateLimitRetries: 0,
    consecutiveThrottles: 0,
    spendsRateLimit: true,
    overLimit: false,
    windowTurnAt: undefined,
    previousDelayMs: undefined,
    deadline: Infinity,
    random: scripted(0.5),
    options: retryOptions(options),
    ...rest,
  };
}

export function response(status: number, fields: Partial<RateLimitInfo> = {}): AttemptOutcome {
  return { kind: 'response', status, info: info(fields) };
}

/** A 429 as `parseRateLimit` reports it, with the given timing fields. */
export function throttle(fields: Partial<RateLimitInfo> = {}): AttemptOutcome {
  return response(429, { isRateLimited: true, ...fields });
}

/** What undici's fetch rejects with when the connection fails with `code`. */
export function networkError(code = 'ECONNRESET'): AttemptOutcome {
  return {
    kind: 'error',
    error: new TypeError('fetch failed', { cause: Object.assign(new Error(`read ${code}`), { code }) }),
  };
}
