import { describe, expect, it } from 'vitest';
import { decideRetry } from '../../src/retry/decision.js';
import { context, networkError, NOW, response, scripted, SECOND } from '../support/retry-context.js';

describe('decideRetry: responses that are not retried', () => {
  it.for([200, 201, 204, 301, 304])('settles a %i as success', (status) => {
    expect(decideRetry(context({ outcome: response(status) }))).toEqual({ retry: false, reason: 'success' });
  });

  it.for([400, 401, 403, 404, 409, 422, 501])('does not retry a %i, which is not in retry.statuses', (status) => {
    expect(decideRetry(context({ outcome: response(status) }))).toEqual({
      retry: false,
      reason: 'not-retryable-status',
    });
  });

  it('retries only the statuses the options list', () => {
    const options = { statuses: new Set([500]) };
    expect(decideRetry(context({ options, outcome: response(502) }))).toMatchObject({
      retry: false,
      reason: 'not-retryable-status',
    });
    expect(decideRetry(context({ options, outcome: response(500) }))).toMatchObject({ retry: true });
  });

  it('settles a 200 with remaining 0 as success: a spent quota is not a failed request', () => {
    const outcome = response(200, { remaining: 0, resetAt: NOW + 5000 });
    expect(decideRetry(context({ outcome }))).toEqual({ retry: false, reason: 'success' });
  });
});

describe('decideRetry: errors', () => {
  it('retries a 500 on an idempotent request with exponential backoff and full jitter', () => {
    const options = { limit: 3 };
    const delays = [0, 1, 2].map((errorRetries) =>
      decideRetry(context({ options, errorRetries, random: scripted(0.5) })),
    );
    expect(delays).toEqual(
      [250, 500, 1000].map((delayMs) => ({ retry: true, kind: 'error', delayMs, source: 'backoff', pause: undefined })),
    );
  });

  it.for([408, 500, 502, 504])('retries a %i without pausing the budget', (status) => {
    expect(decideRetry(context({ outcome: response(status) }))).toMatchObject({ kind: 'error', pause: undefined });
  });

  it('backs the whole budget off after a 503 without timing: an outage', () => {
    expect(decideRetry(context({ outcome: response(503), random: scripted(1) }))).toEqual({
      retry: true,
      kind: 'error',
      delayMs: 500,
      source: 'backoff',
      pause: 'backoff',
    });
  });

  it('never retries a non-idempotent request after an error', () => {
    const base = { method: 'POST', idempotent: false } as const;
    expect(decideRetry(context(base))).toEqual({ retry: false, reason: 'not-idempotent' });
    expect(decideRetry(context({ ...base, outcome: networkError() }))).toEqual({
      retry: false,
      reason: 'not-idempotent',
    });
  });

  it('retries a POST after a network error when it is opted in (Idempotency-Key)', () => {
    expect(decideRetry(context({ method: 'POST', idempotent: true, outcome: networkError() }))).toMatchObject({
      retry: true,
      kind: 'error',
    });
  });

  it('does not retry an error whose body cannot be sent again', () => {
    expect(decideRetry(context({ replayable: false }))).toEqual({ retry: false, reason: 'body-not-replayable' });
  });

  it('stops after retry.limit error retries', () => {
    expect(decideRetry(context({ errorRetries: 1 }))).toMatchObject({ retry: true });
    expect(decideRetry(context({ errorRetries: 2 }))).toEqual({ retry: false, reason: 'retry-limit' });
    expect(decideRetry(context({ options: { limit: 0 }, outcome: networkError() }))).toEqual({
      retry: false,
      reason: 'retry-limit',
    });
  });

  it('waits for the server retry time on an error response when it is longer than the backoff', () => {
    const outcome = response(500, { retryAt: NOW + 5 * SECOND });
    // random: first the backoff (0.5 of 500 ms), then the server jitter (0).
    expect(decideRetry(context({ outcome, random: scripted(0.5, 0) }))).toEqual({
      retry: true,
      kind: 'error',
      delayMs: 5000,
      source: 'server',
      pause: undefined,
    });
  });

  it('keeps the backoff when it is longer than the server retry time', () => {
    const outcome = response(500, { retryAt: NOW + 100 });
    expect(decideRetry(context({ outcome, errorRetries: 1, random: scripted(1, 0) }))).toMatchObject({
      delayMs: 1000,
      source: 'backoff',
    });
  });

  it('gives up when an error response asks for a wait beyond maxRetryAfter', () => {
    const outcome = response(502, { retryAt: NOW + 90 * SECOND });
    expect(decideRetry(context({ outcome }))).toEqual({
      retry: false,
      reason: 'max-retry-after',
      retryAt: NOW + 90 * SECOND,
      waitMs: 90_000,
    });
  });

  it('feeds the previous delay to decorrelated jitter', () => {
    const options = { backoff: { jitter: 'decorrelated', baseMs: 100 } } as const;
    const decision = decideRetry(context({ options, errorRetries: 1, previousDelayMs: 400, random: scripted(0.5) }));
    expect(decision).toMatchObject({ delayMs: 100 + 0.5 * (1200 - 100) });
  });

  it('gives up with max-wait when the backoff would end past the deadline', () => {
    const decision = decideRetry(context({ errorRetries: 1, random: scripted(1), deadline: NOW + 999 }));
    expect(decision).toEqual({ retry: false, reason: 'max-wait', waitMs: 1000 });
    expect(decideRetry(context({ errorRetries: 1, random: scripted(1), deadline: NOW + 1000 }))).toMatchObject({
      retry: true,
      delayMs: 1000,
    });
  });

  it('retries network errors with backoff', () => {
    expect(decideRetry(context({ outcome: networkError('ECONNREFUSED'), random: scripted(1) }))).toEqual({
      retry: true,
      kind: 'error',
      delayMs: 500,
      source: 'backoff',
      pause: undefined,
    });
  });

  it.for([
    ['a RangeError', new RangeError('Invalid array length')],
    ['a TypeError from a bug', new TypeError('fetchFn is not a function')],
    ['an abort', new DOMException('This operation was aborted', 'AbortError')],
    ['a timeout', new DOMException('The operation timed out', 'TimeoutError')],
    ['a thrown string', 'boom'],
  ] as const)('never retries %s', ([, error]) => {
    expect(decideRetry(context({ outcome: { kind: 'error', error } }))).toEqual({
      retry: false,
      reason: 'not-network-error',
    });
  });
});
