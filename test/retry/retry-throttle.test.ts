import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/config/resolve.js';
import { parseRateLimit } from '../../src/headers/index.js';
import { decideRetry } from '../../src/retry/decision.js';
import { context, NOW, response, retryOptions, scripted, SECOND, throttle } from '../support/retry-context.js';

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

  it("never retries a throttle of a call above the server's whole limit, whatever it has left, and reports the server instant", () => {
    expect(decideRetry(context({ outcome: throttle(), overLimit: true }))).toEqual({
      retry: false,
      reason: 'over-limit',
    });
    expect(
      decideRetry(
        context({ outcome: throttle({ retryAt: NOW + SECOND }), overLimit: true, method: 'POST', idempotent: false }),
      ),
    ).toEqual({ retry: false, reason: 'over-limit', retryAt: NOW + SECOND, waitMs: 1000 });
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

  it('treats a 503 with Retry-After as a throttle', () => {
    const outcome = response(503, { isRateLimited: true, retryAt: NOW + 4 * SECOND });
    expect(decideRetry(context({ outcome, random: scripted(0) }))).toEqual({
      retry: true,
      kind: 'rateLimit',
      delayMs: 4000,
      source: 'server',
      pause: 'retry-after',
    });
  });

  it('does not retry a POST after a 503, which does not prove it was not processed, but reports the server instant', () => {
    const outcome = response(503, { isRateLimited: true, retryAt: NOW + 4 * SECOND });
    const post = { method: 'POST', idempotent: false, outcome };
    expect(decideRetry(context(post))).toEqual({
      retry: false,
      reason: 'not-idempotent',
      retryAt: NOW + 4 * SECOND,
      waitMs: 4000,
    });
    // Retry-After: 0 (the case of the report): nothing to wait for, still not resent.
    const now = response(503, { isRateLimited: true, retryAt: NOW });
    expect(decideRetry(context({ ...post, outcome: now }))).toEqual({
      retry: false,
      reason: 'not-idempotent',
      retryAt: NOW,
      waitMs: 0,
    });
    // With an Idempotency-Key (idempotent: true) it is.
    expect(decideRetry(context({ ...post, idempotent: true }))).toMatchObject({ retry: true, kind: 'rateLimit' });
  });

  it('retries a POST after a 403 with rate-limit evidence: the quota refused it, as a 429 would', () => {
    const outcome = response(403, { isRateLimited: true, retryAt: NOW + SECOND });
    expect(decideRetry(context({ method: 'POST', idempotent: false, outcome }))).toMatchObject({
      retry: true,
      kind: 'rateLimit',
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

  it('retries no throttle whose status retry.statuses leaves out, but reports its server instant', () => {
    const options = { statuses: new Set([500]) };
    for (const outcome of [throttle({ retryAt: NOW + 2 * SECOND }), response(503, { retryAt: NOW + 2 * SECOND })]) {
      expect(decideRetry(context({ options, outcome }))).toEqual({
        retry: false,
        reason: 'not-retryable-status',
        retryAt: NOW + 2 * SECOND,
        waitMs: 2000,
      });
    }
    const spent = throttle({ remaining: 0, resetAt: NOW + 3 * SECOND });
    expect(decideRetry(context({ options, outcome: spent }))).toMatchObject({ retryAt: NOW + 3 * SECOND });
    const none = { statuses: new Set<number>(), limit: 0 };
    expect(decideRetry(context({ options: none, outcome: throttle(), consecutiveThrottles: 1 }))).toEqual({
      retry: false,
      reason: 'not-retryable-status',
    });
  });

  it('lists a 403 with rate-limit evidence with 429, and a bare 403 only when 403 is listed', () => {
    const evidence = response(403, { isRateLimited: true, retryAt: NOW + SECOND });
    const decide = (statuses: number[], outcome = evidence) =>
      decideRetry(context({ options: { statuses: new Set(statuses) }, outcome }));
    expect(decide([429])).toMatchObject({ retry: true, kind: 'rateLimit' });
    expect(decide([403])).toMatchObject({ retry: true, kind: 'rateLimit' });
    expect(decide([500, 503])).toMatchObject({ retry: false, reason: 'not-retryable-status', retryAt: NOW + SECOND });
    expect(decide([429], response(403))).toMatchObject({ retry: false, reason: 'not-retryable-status' });
    expect(decide([403], response(403))).toMatchObject({ retry: true, kind: 'error' });
  });

  it('retries a 429 listed alone in retry.statuses, and nothing else', () => {
    const options = { statuses: new Set([429]) };
    expect(decideRetry(context({ options, outcome: throttle({ retryAt: NOW }) }))).toMatchObject({ retry: true });
    expect(decideRetry(context({ options, outcome: response(500) }))).toMatchObject({ retry: false });
    expect(decideRetry(context({ options, outcome: response(503, { retryAt: NOW }) }))).toMatchObject({
      retry: false,
      reason: 'not-retryable-status',
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

describe('retry defaults', () => {
  it('retry 429 and 503 (the fixtures of these tests are the defaults)', () => {
    const { statuses, methods, limit, rateLimitLimit } = resolveOptions().retry;
    expect(statuses).toEqual(new Set([408, 429, 500, 502, 503, 504]));
    expect({ statuses, methods, limit, rateLimitLimit }).toEqual({
      statuses: retryOptions().statuses,
      methods: retryOptions().methods,
      limit: retryOptions().limit,
      rateLimitLimit: retryOptions().rateLimitLimit,
    });
  });
});
