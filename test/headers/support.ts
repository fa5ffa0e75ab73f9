// Shared fixtures of the header parser tests: one fixed arrival instant, so nothing reads the wall clock.
import { parseRateLimit } from '../../src/headers/index.js';
import type { HeaderInput, RateLimitInfo } from '../../src/headers/index.js';

/** Local arrival time of every response in these tests: Wed, 01 Oct 2025 12:00:00 GMT. */
export const NOW = Date.UTC(2025, 9, 1, 12, 0, 0);
/** `NOW` as the server writes it in a `Date` header. */
export const NOW_DATE = 'Wed, 01 Oct 2025 12:00:00 GMT';
/** `NOW` in Unix seconds. */
export const NOW_SECONDS = NOW / 1000;

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** `parseRateLimit` at {@link NOW}, with an optional status. */
export function parse(headers: HeaderInput, status?: number): RateLimitInfo {
  return parseRateLimit(headers, status === undefined ? { now: NOW } : { now: NOW, status });
}

/** The quota fields of the selected policy, the parts most table rows assert. */
export function summary(info: RateLimitInfo): Pick<RateLimitInfo, 'limit' | 'remaining' | 'resetAt' | 'windowMs'> {
  const { limit, remaining, resetAt, windowMs } = info;
  return Object.fromEntries(
    Object.entries({ limit, remaining, resetAt, windowMs }).filter(([, value]) => value !== undefined),
  );
}

/** Table rows as `[name, row]` pairs, so that `test.for(...)('%s', …)` prints each full name. */
export function named<T extends { readonly name: string }>(rows: readonly T[]): (readonly [string, T])[] {
  return rows.map((row) => [row.name, row] as const);
}
