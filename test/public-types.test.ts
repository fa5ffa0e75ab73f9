// The public surface as a user's compiler sees it. `npm run typecheck` compiles this file: a `@ts-expect-error`
// that stops being an error fails the build.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  createRatewise,
  isRatewiseError,
  parseRateLimit,
  parseRetryAfter,
  RateLimitError,
  type BudgetStats,
  type CarriedRatewiseError,
  type RateLimitInfo,
  type Ratewise,
  type RatewiseOptions,
} from '../src/index.js';

describe('public types', () => {
  it('rw.fetch is a drop-in fetch that also takes ratewise options', () => {
    const rw = createRatewise({ fetch: () => Promise.resolve(new Response()) });
    expectTypeOf(rw).toEqualTypeOf<Ratewise>();
    expectTypeOf(rw.fetch).toBeCallableWith('https://example.com', { method: 'POST', ratewise: { priority: 1 } });
    expectTypeOf(rw.fetch).returns.toEqualTypeOf<Promise<Response>>();
    const asFetch: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response> = rw.fetch;
    expectTypeOf(asFetch).toBeFunction();
    expectTypeOf(rw.stats()).toEqualTypeOf<BudgetStats[]>();
    expectTypeOf(rw.on('paused', () => undefined)).toEqualTypeOf<() => void>();
  });

  it('event payloads are typed by name', () => {
    const rw = createRatewise({ fetch: () => Promise.resolve(new Response()) });
    rw.on('paused', (event) => {
      expectTypeOf(event.until).toBeNumber();
      expectTypeOf(event.reason).toEqualTypeOf<'retry-after' | 'remaining-zero' | 'backoff' | 'shared'>();
    });
    // @ts-expect-error: no such event
    rw.on('nope', () => undefined);
  });

  it('options are checked at compile time too', () => {
    expectTypeOf<RatewiseOptions>().toHaveProperty('budgets');
    // @ts-expect-error: unknown option (and at run time too)
    expect(() => createRatewise({ budget: {} })).toThrow('Unknown option `budget`');
    // @ts-expect-error: maxWait is milliseconds, a number
    expect(() => createRatewise({ maxWait: '5s' })).toThrow('Expected `maxWait` to be a non-negative number');
    // @ts-expect-error: unknown per-request option
    void createRatewise().fetch('https://example.com', { ratewise: { prio: 1 } });
  });

  it('parsers return instants in epoch ms, never throwing types', () => {
    expectTypeOf(parseRateLimit({})).toEqualTypeOf<RateLimitInfo>();
    expectTypeOf(parseRateLimit(new Headers()).retryAt).toEqualTypeOf<number | undefined>();
    expectTypeOf(parseRetryAfter('120')).toEqualTypeOf<number | undefined>();
  });

  it('isRatewiseError narrows by code, to the error or an error that carries it (the axios adapter’s)', () => {
    const error: unknown = new RateLimitError({ reason: 'max-wait', key: 'k', method: 'GET', url: 'https://x' });
    if (isRatewiseError(error, 'ERR_RATEWISE_RATE_LIMITED')) {
      expectTypeOf(error).toEqualTypeOf<RateLimitError | CarriedRatewiseError<RateLimitError>>();
      // What both have: the code and the fields, with their types; the response has at least a status.
      expectTypeOf(error.retryAt).toEqualTypeOf<number | undefined>();
      expectTypeOf(error.reason).toEqualTypeOf<RateLimitError['reason']>();
      expectTypeOf(error.code).toEqualTypeOf<'ERR_RATEWISE_RATE_LIMITED'>();
      expectTypeOf(error.response?.status).toEqualTypeOf<number | undefined>();
      if (error instanceof RateLimitError) expectTypeOf(error.response).toEqualTypeOf<Response | undefined>();
    }
  });
});
