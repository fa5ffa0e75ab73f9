import { describe, expect, it } from 'vitest';
import { parseRateLimit } from '../../src/headers/index.js';
import { decideRetry } from '../../src/retry/decision.js';
import { context, NOW, response, scripted, SECOND, throttle } from '../support/retry-context.js';

describe('decideRetry: throttles', () => {
  it('never retries before Retry-After, and jitters only upward', () => {
    const outcome = throttle({ retryAt: NOW + 5 * SECOND });
    // Upward jitter is at most min(10 % of 5 s, 1 s) = 500 ms.
    expect(decideRetry(context({ outcome, random: scripted(0) }))).toEqual({
      retry: true,
      kind: 'rateLimit',
      delayMs: 5000,
      source: 'server',
      pause: 'retry-after',
    });
    expect(decideRetry(context({ outcome, random: scripted(0.5) }))).toMatchObject({ delayMs: 5250 });
    expect(decideRetry(context({ outcome, random: scripted(1) }))).toMatchObject({ delayMs: 5500 });
  });

  it('waits for the reset when remaining is 0 and no Retry-After was sent', () => {
    const outcome = throttle({ remaining: 0, resetAt: NOW + 2 * SECOND });
    expect(decideRetry(context({ outcome, random: scripted(0) }))).toEqual({
      retry: true,
      kind: 'rateLimit',
      delayMs: 2000,
      source: 'server',
      pause: 'remaining-zero',
    });
  });

  it('prefers Retry-After over the quota reset', () => {
    const outcome = throttle({ retryAt: NOW + 3 * SECOND, remaining: 0, resetAt: NOW + 30 * SECOND });
    expect(decideRetry(context({ outcome, random: scripted(0) }))).toMatchObject({
      delayMs: 3000,
      pause: 'retry-after',
    });
  });

  it('ignores the reset while quota remains: a throttle without timing backs off', () => {
    const outcome = throttle({ remaining: 3, resetAt: NOW + 30 * SECOND });
    expect(decideRetry(context({ outcome, consecutiveThrottles: 1 }))).toMatchObject({ source: 'backoff' });
  });

  it('rounds a fractional server wait up, never down', () => {
    const outcome = throttle({ retryAt: NOW + 1500.2 });
    expect(decideRetry(context({ outcome, random: scripted(0) }))).toMatchObject({ delayMs: 1501 });
  });

  it('retries at once when Retry-After has already passed', () => {
    const outcome = throttle({ retryAt: NOW - 10 });
    expect(decideRetry(context({ outcome }))).toMatchObject({ retry: true, delayMs: 0, source: 'server' });
  });

  it('gives up with the server instant when Retry-After exceeds maxRetryAfter, instead of retrying early', () => {
    const outcome = throttle({ retryAt: NOW + 61 * SECOND });
    expect(decideRetry(context({ outcome }))).toEqual({
      retry: false,
      reason: 'max-retry-after',
      retryAt: NOW + 61 * SECOND,
      waitMs: 61_000,
    });
  });

  it('accepts a server wait of exactly maxRetryAfter', () => {
    const outcome = throttle({ retryAt: NOW + 60 * SECOND });
    expect(decideRetry(context({ outcome, random: scripted(0) }))).toMatchObject({ retry: true, delayMs: 60_000 });
  });

  it('applies maxRetryAfter to a quota reset too', () => {
    const outcome = throttle({ remaining: 0, resetAt: NOW + 3_600_000 });
    expect(decideRetry(context({ outcome }))).toMatchObject({ reason: 'max-retry-after', retryAt: NOW + 3_600_000 });
  });

  it('retries a POST after a 429: the server did not process it', () => {
    const outcome = throttle({ retryAt: NOW + SECOND });
    expect(decideRetry(context({ method: 'POST', idempotent: false, outcome }))).toMatchObject({
      retry: true,
      kind: 'rateLimit',
    });
  });

  it('does not retry a throttle whose body cannot be sent again, but still reports the server instant', () => {
    const outcome = throttle({ retryAt: NOW + SECOND });
    expect(decideRetry(context({ replayable: false, outcome }))).toEqual({
      retry: false,
      reason: 'body-not-replayable',
      retryAt: NOW + SECOND,
      waitMs: 1000,
    });
  });

  it('stops after rateLimitLimit throttle retries, even when the server wait is beyond maxRetryAfter', () => {
    const outcome = throttle({ retryAt: NOW + 120 * SECOND });
    expect(decideRetry(context({ outcome, rateLimitRetries: 5 }))).toEqual({
      retry: false,
      reason: 'rate-limit-limit',
      retryAt: NOW + 120 * SECOND,
      waitMs: 120_000,
    });
    expect(decideRetry(context({ outcome: throttle(), options: { rateLimitLimit: 0 } }))).toEqual({
      retry: false,
      reason: 'rate-limit-limit',
    });
  });

  it('does not count throttle retries against the error limit, nor error retries against rateLimitLimit', () => {
    const outcome = throttle({ retryAt: NOW + SECOND });
    expect(decideRetry(context({ outcome, errorRetries: 2, rateLimitRetries: 4 }))).toMatchObject({ retry: true });
  });

  it('backs the budget off exponentially when a throttle carries no timing', () => {
    const delays = [1, 2, 3, 4].map((consecutiveThrottles) =>
      decideRetry(context({ outcome: throttle(), consecutiveThrottles, random: scripted(0.5) })),
    );
    expect(delays).toEqual(
      [250, 500, 1000, 2000].map((delayMs) => ({
        retry: true,
        kind: 'rateLimit',
        delayMs,
        source: 'backoff',
        pause: 'backoff',
      })),
    );
  });

  it('treats a 503 with Retry-After as a throttle, for any method', () => {
    const outcome = response(503, { retryAt: NOW + 4 * SECOND });
    expect(decideRetry(context({ outcome, idempotent: false, random: scripted(0) }))).toEqual({
      retry: true,
      kind: 'rateLimit',
      delayMs: 4000,
      source: 'server',
      pause: 'retry-after',
    });
  });

  it('treats a 403 with rate-limit evidence as a throttle and a bare 403 as final', () => {
    const evidence = response(403, { isRateLimited: true, remaining: 0, resetAt: NOW + 7 * SECOND });
    expect(decideRetry(context({ outcome: evidence, random: scripted(0) }))).toMatchObject({
      kind: 'rateLimit',
      delayMs: 7000,
      pause: 'remaining-zero',
    });
    expect(decideRetry(context({ outcome: response(403) }))).toMatchObject({ reason: 'not-retryable-status' });
  });

  it('retries a throttle whatever retry.statuses lists (rateLimitLimit: 0 is the switch)', () => {
    const options = { statuses: new Set<number>() };
    expect(decideRetry(context({ options, outcome: response(429), consecutiveThrottles: 1 }))).toMatchObject({
      retry: true,
      kind: 'rateLimit',
    });
  });

  it('reads a real 429 with Retry-After as parsed by parseRateLimit', () => {
    const parsed = parseRateLimit({ 'retry-after': '3' }, { now: NOW, status: 429 });
    const decision = decideRetry(context({ outcome: { kind: 'response', status: 429, info: parsed } }));
    expect(decision).toMatchObject({ retry: true, kind: 'rateLimit', source: 'server', pause: 'retry-after' });
  });

  it('gives up with max-wait when the server wait ends past the deadline', () => {
    const outcome = throttle({ retryAt: NOW + 10 * SECOND });
    expect(decideRetry(context({ outcome, deadline: NOW + 9 * SECOND }))).toEqual({
      retry: false,
      reason: 'max-wait',
      retryAt: NOW + 10 * SECOND,
      waitMs: 10_000,
    });
  });

  it('trims upward jitter to the deadline, never below the server wait', () => {
    const outcome = throttle({ retryAt: NOW + 10 * SECOND });
    const decide = (deadline: number) => decideRetry(context({ outcome, deadline, random: scripted(1) }));
    expect(decide(NOW + 10_400)).toMatchObject({ retry: true, delayMs: 10_400 });
    expect(decide(NOW + 10_000)).toMatchObject({ retry: true, delayMs: 10_000 });
  });

  it('gives up with max-wait when a throttle backoff ends past the deadline', () => {
    const decision = decideRetry(
      context({ outcome: throttle(), consecutiveThrottles: 3, random: scripted(1), deadline: NOW + 1999 }),
    );
    expect(decision).toEqual({ retry: false, reason: 'max-wait', waitMs: 2000 });
  });
});
