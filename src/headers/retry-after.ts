// Explicit retry-delay signals: `retry-after-ms` > `x-ms-retry-after-ms` > `Retry-After`, the first readable one wins
// (docs/headers.md, "Retry-After and its millisecond variants").
import { parseHttpDate } from './dates.js';
import type { Fields } from './fields.js';
import { afterDelay, atServerInstant, mergeDuplicates, parseMs, parseSecondsMs, type TimeBase } from './values.js';

/** Options of {@link parseRetryAfter}. */
export interface ParseRetryAfterOptions {
  /**
   * The local instant the response arrived, in epoch ms.
   * @default Date.now()
   */
  readonly now?: number;
  /**
   * The response's `Date` header (string) or that instant in epoch ms. An HTTP-date `Retry-After` is measured
   * against it, so a skewed local clock does not distort the wait.
   * @default undefined (measured against `now`)
   */
  readonly date?: string | number;
}

/** One member of `Retry-After`: delay-seconds (fractions accepted, as Shopify sends `2.0`) or an HTTP-date. */
function retryAfterMember(value: string, time: TimeBase): number | undefined {
  const delayMs = parseSecondsMs(value);
  if (delayMs !== undefined) return afterDelay(delayMs, time);
  return atServerInstant(parseHttpDate(value, time.reference), time);
}

/** The retry instant from a `Retry-After` value; duplicated members must all be valid, and the latest wins. */
export function retryAtFromValue(value: string, time: TimeBase): number | undefined {
  return mergeDuplicates(value, (member) => retryAfterMember(member, time), Math.max);
}

/** The millisecond variants of `Retry-After`, strongest first. */
const MS_FIELDS = ['retry-after-ms', 'x-ms-retry-after-ms'] as const;

/** The retry instant the server asked for, from the strongest explicit signal present. */
export function readRetryAt(fields: Fields, time: TimeBase): number | undefined {
  for (const name of MS_FIELDS) {
    const value = fields.get(name);
    if (value === undefined) continue;
    const at = afterDelay(mergeDuplicates(value, parseMs, Math.max), time);
    if (at !== undefined) return at;
  }
  const value = fields.get('retry-after');
  return value === undefined ? undefined : retryAtFromValue(value, time);
}

/** A valid `Date` value, as epoch ms. */
export function readServerDate(value: string | number | undefined, now: number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  return value === undefined ? undefined : parseHttpDate(value.trim(), now);
}

/**
 * Reads a `Retry-After` value: delay-seconds (fractions accepted) or an HTTP-date in any RFC 9110 form.
 * Returns the epoch-ms instant before which the client should not retry (never before `now`), or `undefined`
 * when the value cannot be read. Subtract `now` for the delay. Never throws.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  options: ParseRetryAfterOptions = {},
): number | undefined {
  if (typeof value !== 'string') return undefined;
  const now = options.now ?? Date.now();
  if (!Number.isFinite(now)) return undefined;
  const reference = readServerDate(options.date, now) ?? now;
  return retryAtFromValue(value.trim(), { now, reference });
}
