import { inspect } from 'node:util';
import { runInNewContext } from 'node:vm';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ClosedError,
  LoopDetectedError,
  QueueFullError,
  RateLimitError,
  RatewiseError,
  RetryBudgetExceededError,
  StoreUnavailableError,
  carryRatewiseError,
  formatValue,
  type CarriedRatewiseError,
  invalidOption,
  isRatewiseError,
} from '../src/errors.js';

const request = { method: 'GET', url: 'https://api.example.com/items?page=2' };
const retryAt = Date.UTC(2030, 0, 1, 12, 0, 0);

function examples(): RatewiseError[] {
  return [
    new RateLimitError({ ...request, reason: 'max-wait', key: 'api.example.com', retryAt }),
    new RetryBudgetExceededError({ ...request, key: 'api.example.com', attempts: 3 }),
    new QueueFullError({ ...request, key: 'api.example.com', maxQueue: 100 }),
    new LoopDetectedError({ ...request, count: 50, windowMs: 10_000 }),
    new ClosedError(request),
    new StoreUnavailableError({ ...request, store: 'redis', key: 'api.example.com', cause: new Error('ECONNREFUSED') }),
  ];
}

describe('error classes', () => {
  it.each([
    [RateLimitError, 'RateLimitError', 'ERR_RATEWISE_RATE_LIMITED'],
    [RetryBudgetExceededError, 'RetryBudgetExceededError', 'ERR_RATEWISE_RETRY_BUDGET'],
    [QueueFullError, 'QueueFullError', 'ERR_RATEWISE_QUEUE_FULL'],
    [LoopDetectedError, 'LoopDetectedError', 'ERR_RATEWISE_LOOP'],
    [ClosedError, 'ClosedError', 'ERR_RATEWISE_CLOSED'],
    [StoreUnavailableError, 'StoreUnavailableError', 'ERR_RATEWISE_STORE'],
  ] as const)('%o has name %s and code %s, and is an Error and a RatewiseError', (Class, name, code) => {
    const error = examples().find((e) => e instanceof Class)!;
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(RatewiseError);
    expect(error.stack?.startsWith(`${name}: `)).toBe(true);
    expect(isRatewiseError(error)).toBe(true);
    expect(isRatewiseError(error, code)).toBe(true);
  });

  it('every message names the method and the URL', () => {
    for (const error of examples()) expect(error.message).toContain('GET https://api.example.com/items?page=2');
  });

  it('types name and code as literals', () => {
    expectTypeOf(new QueueFullError({ ...request, key: 'k', maxQueue: 1 }).name).toEqualTypeOf<'QueueFullError'>();
    expectTypeOf(
      new QueueFullError({ ...request, key: 'k', maxQueue: 1 }).code,
    ).toEqualTypeOf<'ERR_RATEWISE_QUEUE_FULL'>();
  });
});

describe('RateLimitError', () => {
  it('says what wait was refused, against which cap, in which budget, and when to retry', () => {
    const error = new RateLimitError({
      ...request,
      reason: 'max-wait',
      key: 'api.example.com',
      retryAt,
      waitMs: 12_000,
      limitMs: 5000,
    });
    expect(error.message).toBe(
      'Rate limited: GET https://api.example.com/items?page=2 would wait 12000 ms, longer than maxWait (5000 ms); ' +
        'budget "api.example.com", retry at 2030-01-01T12:00:00.000Z',
    );
    expect(error).toMatchObject({ reason: 'max-wait', key: 'api.example.com', retryAt, waitMs: 12_000, limitMs: 5000 });
  });

  it('blames the server when its Retry-After is beyond maxRetryAfter', () => {
    const error = new RateLimitError({
      ...request,
      reason: 'max-retry-after',
      key: 'k',
      waitMs: 300_000,
      limitMs: 120_000,
    });
    expect(error.message).toBe(
      'Rate limited: GET https://api.example.com/items?page=2 was told by the server to wait 300000 ms, ' +
        'longer than maxRetryAfter (120000 ms); budget "k"',
    );
    expect(error.retryAt).toBeUndefined();
  });

  it('says when the call was never sent, and whose answer paused its budget', () => {
    const error = new RateLimitError({
      ...request,
      reason: 'max-retry-after',
      key: 'k',
      waitMs: 29_999,
      limitMs: 10_000,
      sent: false,
      pausedBy: { method: 'GET', url: 'https://api.example.com/slow', status: 429 },
    });
    expect(error.message).toBe(
      'Rate limited: GET https://api.example.com/items?page=2 (not sent) was told by the answer 429 to GET ' +
        'https://api.example.com/slow to wait 29999 ms, longer than maxRetryAfter (10000 ms); budget "k"',
    );
    expect(error).toMatchObject({ sent: false, pausedBy: { url: 'https://api.example.com/slow', status: 429 } });
  });

  it('says when the wait refused is not known: until a request in flight is answered', () => {
    const error = new RateLimitError({ ...request, reason: 'max-wait', key: 'k', waitMs: Infinity, limitMs: 0 });
    expect(error.message).toBe(
      'Rate limited: GET https://api.example.com/items?page=2 would wait until a request in flight is answered (how long is not known), longer than maxWait (0 ms); budget "k"',
    );
    expect(error.waitMs).toBeUndefined();
  });

  it('reads well without the optional numbers', () => {
    const error = new RateLimitError({ ...request, reason: 'max-wait', key: 'k' });
    expect(error.message).toBe(
      'Rate limited: GET https://api.example.com/items?page=2 would wait, longer than maxWait; budget "k"',
    );
  });

  it('carries the response without exposing it to logs, whose URL may hold secrets', () => {
    const response = new Response(null, { status: 429 });
    const error = new RateLimitError({ ...request, reason: 'max-retry-after', key: 'k', response });
    expect(error.response).toBe(response);
    expect(Object.keys(error)).not.toContain('response');
    expect(JSON.stringify(error)).not.toContain('response');
    expect(inspect(error)).not.toContain('Response');
  });

  it('keeps a cause when given one, and has none otherwise', () => {
    const cause = new Error('underlying');
    expect(new RateLimitError({ ...request, reason: 'max-wait', key: 'k', cause }).cause).toBe(cause);
    expect('cause' in new RateLimitError({ ...request, reason: 'max-wait', key: 'k' })).toBe(false);
  });

  it('does not throw on a retryAt that is not a valid date', () => {
    const error = new RateLimitError({ ...request, reason: 'max-wait', key: 'k', retryAt: Number.POSITIVE_INFINITY });
    expect(error.message).toContain('retry at Infinity');
  });
});

describe('the other errors', () => {
  it('RetryBudgetExceededError counts the attempts and keeps the last response', () => {
    const response = new Response('busy', { status: 503 });
    const error = new RetryBudgetExceededError({ ...request, key: 'api.example.com', attempts: 3, response });
    expect(error.message).toBe(
      'Retry budget exceeded: GET https://api.example.com/items?page=2 was not retried after 3 attempts; ' +
        'budget "api.example.com" has spent its retries',
    );
    expect(error.response).toBe(response);
    expect(error.attempts).toBe(3);
    expect(new RetryBudgetExceededError({ ...request, key: 'k', attempts: 1 }).message).toContain('after 1 attempt;');
  });

  it('QueueFullError names the budget and its maxQueue', () => {
    const error = new QueueFullError({ ...request, key: 'api.example.com', maxQueue: 100 });
    expect(error.message).toBe(
      'Queue full: GET https://api.example.com/items?page=2 was rejected; budget "api.example.com" already has ' +
        '100 requests queued (maxQueue)',
    );
    expect(error).toMatchObject({ key: 'api.example.com', maxQueue: 100 });
  });

  it('LoopDetectedError says how often within which window', () => {
    const error = new LoopDetectedError({ ...request, count: 50, windowMs: 10_000 });
    expect(error.message).toBe(
      'Loop detected: GET https://api.example.com/items?page=2 was requested 50 times within 10000 ms, ' +
        'each time after the same request had settled',
    );
    expect(error).toMatchObject({ count: 50, windowMs: 10_000 });
  });

  it('ClosedError tells a call after close from a call cut short by close', () => {
    expect(new ClosedError(request).message).toBe(
      'Client closed: GET https://api.example.com/items?page=2 was not sent; the client is closed',
    );
    const pending = new ClosedError({ ...request, when: 'pending' });
    expect(pending.message).toBe(
      'Client closed: GET https://api.example.com/items?page=2 was not sent; the client was closed while it waited',
    );
    expect(pending.when).toBe('pending');
  });
});

describe('isRatewiseError', () => {
  it('rejects plain errors, look-alikes and non-objects', () => {
    for (const value of [
      new Error('x'),
      { code: 'ERR_RATEWISE_LOOP', name: 'LoopDetectedError' },
      null,
      undefined,
      'ERR_RATEWISE_LOOP',
      42,
    ]) {
      expect(isRatewiseError(value)).toBe(false);
    }
  });

  it('checks the code when one is given, and narrows to that class', () => {
    const error: unknown = new QueueFullError({ ...request, key: 'k', maxQueue: 1 });
    expect(isRatewiseError(error, 'ERR_RATEWISE_LOOP')).toBe(false);
    if (isRatewiseError(error, 'ERR_RATEWISE_QUEUE_FULL')) {
      expectTypeOf(error).toEqualTypeOf<QueueFullError | CarriedRatewiseError<QueueFullError>>();
    } else expect.unreachable();
  });

  it('recognises an error that carries a ratewise error (the axios adapter’s), through its cause', () => {
    const error = new RateLimitError({ ...request, reason: 'max-retry-after', key: 'k', retryAt, waitMs: 5000 });
    const carrier = carryRatewiseError(new Error(error.message), error);
    expect(isRatewiseError(carrier)).toBe(true);
    expect(isRatewiseError(carrier, 'ERR_RATEWISE_RATE_LIMITED')).toBe(true);
    expect(isRatewiseError(carrier, 'ERR_RATEWISE_QUEUE_FULL')).toBe(false);
    expect(carrier.cause).toBe(error);
    expect(carrier).toMatchObject({ name: 'Error', code: 'ERR_RATEWISE_RATE_LIMITED', reason: 'max-retry-after' });
    expect(carrier).toMatchObject({ key: 'k', retryAt, waitMs: 5000, method: 'GET', url: request.url });
    // The cause stays out of enumerable keys, as a native error's does, and so does the mark.
    expect(Object.keys(carrier)).not.toContain('cause');
    expect(
      Object.getOwnPropertySymbols(carrier).every((s) => !Object.getOwnPropertyDescriptor(carrier, s)?.enumerable),
    ).toBe(true);
  });

  it('does not recognise an error that merely has a ratewise error as its cause, nor a look-alike carrier', () => {
    const error = new QueueFullError({ ...request, key: 'k', maxQueue: 1 });
    // undici's fetch fails with TypeError('fetch failed') whose cause is the dispatcher's error: not a carrier.
    expect(isRatewiseError(new TypeError('fetch failed', { cause: error }))).toBe(false);
    const lookAlike = Object.assign(new Error('x'), {
      code: 'ERR_RATEWISE_QUEUE_FULL',
      cause: { code: 'ERR_RATEWISE_QUEUE_FULL' },
    });
    Object.defineProperty(lookAlike, Symbol.for('ratewise.carrier'), { value: true });
    expect(isRatewiseError(lookAlike)).toBe(false);
  });

  it('recognises errors from another copy of the library or another realm, by the registered brand', () => {
    const foreign: unknown = runInNewContext(`
      const error = new Error('Queue full');
      Object.defineProperty(Object.getPrototypeOf(error), Symbol.for('ratewise.error'), { value: true });
      error.code = 'ERR_RATEWISE_QUEUE_FULL';
      error;
    `);
    expect(foreign).not.toBeInstanceOf(RatewiseError);
    expect(isRatewiseError(foreign)).toBe(true);
    expect(isRatewiseError(foreign, 'ERR_RATEWISE_QUEUE_FULL')).toBe(true);
  });

  it('keeps the brand out of enumerable keys', () => {
    const error = new ClosedError(request);
    expect(Object.getOwnPropertySymbols(error)).toEqual([]);
    expect(Object.keys(error)).toEqual(['name', 'code', 'method', 'url', 'when', 'attempts', 'lastStatus']);
  });
});

describe('formatValue', () => {
  it.each([
    ['abc', '`"abc"` (string)'],
    ['say "hi"', '`"say \\"hi\\""` (string)'],
    [0, '`0` (number)'],
    [-0, '`-0` (number)'],
    [Number.NaN, '`NaN` (number)'],
    [-Infinity, '`-Infinity` (number)'],
    [10n, '`10n` (bigint)'],
    [true, '`true` (boolean)'],
    [undefined, '`undefined` (undefined)'],
    [null, '`null` (null)'],
    [Symbol('s'), '`Symbol(s)` (symbol)'],
    [{ limit: 0 }, '`{"limit":0}` (object)'],
    [[1, 'a'], '`[1,"a"]` (array)'],
    [function named() {}, '`[Function named]` (function)'],
    [() => 0, '`[Function]` (function)'],
  ])('shows %o as %s', (value, shown) => {
    expect(formatValue(value)).toBe(shown);
  });

  it('falls back to the object tag for values JSON cannot show, without throwing', () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    expect(formatValue(circular)).toBe('`[object Object]` (object)');
    expect(formatValue({ big: 1n })).toBe('`[object Object]` (object)');
    expect(formatValue(Object.create(null))).toBe('`{}` (object)');
  });

  it('truncates long values', () => {
    const shown = formatValue('x'.repeat(500));
    expect(shown.length).toBeLessThan(120);
    expect(shown).toMatch(/…` \(string\)$/);
  });

  it('invalidOption builds the p-retry style TypeError', () => {
    const error = invalidOption('retries', 'a non-negative integer', -1);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('Expected `retries` to be a non-negative integer, got `-1` (number)');
  });
});
