// `parseRateLimit`: the combiner of every header family. Pure and total: whatever a server sends, it returns a
// RateLimitInfo with finite, non-negative values and instants no earlier than `now`.
import { collectFields, Family, type Fields } from './fields.js';
import { readIetf } from './ietf.js';
import { readRetryAt, readServerDate } from './retry-after.js';
import { mergeSameQuota, selectPolicy } from './select.js';
import type { HeaderInput, ParseRateLimitOptions, RateLimitInfo, RateLimitPolicy } from './types.js';
import { LazyTimeBase, parseCount, type TimeBase } from './values.js';
import { readAnthropic, readAzure, readHubSpot, readOpenAi, readSalesforce, readShopify } from './vendors.js';
import { readBucket, readKong, readScope, readXRateLimit } from './x-ratelimit.js';

export { collectFields } from './fields.js';
export { parseRetryAfter, type ParseRetryAfterOptions } from './retry-after.js';
export { ServerClock } from './server-clock.js';
export type { ServerClockReading } from './server-clock.js';
export type { HeaderInput, ParseRateLimitOptions, RateLimitInfo, RateLimitPolicy, RateLimitSource } from './types.js';

/**
 * `more` after `policies`. Most answers speak one family: its reader's own array is taken as it is, not copied. (A
 * reader's array is its own, made for this call.)
 */
function join(policies: RateLimitPolicy[], more: RateLimitPolicy[]): RateLimitPolicy[] {
  if (policies.length === 0) return more;
  policies.push(...more);
  return policies;
}

/** Every quota described, running only the readers of the families present. */
function readPolicies(fields: Fields, time: TimeBase): RateLimitPolicy[] {
  const f = fields.families;
  let out: RateLimitPolicy[] = [];
  if (f & Family.ietf) out = join(out, readIetf(fields, time));
  if (f & (Family.xRateLimit | Family.xRateLimitDashed)) out = join(out, readXRateLimit(fields, time));
  if (f & Family.dimensions) out = join(join(out, readOpenAi(fields, time)), readKong(fields));
  if (f & Family.anthropic) out = join(out, readAnthropic(fields, time));
  if (f & Family.hubspot) out = join(out, readHubSpot(fields, time));
  if (f & Family.azure) out = join(out, readAzure(fields));
  if (f & Family.shopify) out = join(out, readShopify(fields));
  if (f & Family.salesforce) out = join(out, readSalesforce(fields));
  return out;
}

/**
 * Reads what a response's headers say about the client's rate limit: the IETF `RateLimit` fields (every draft),
 * `Retry-After` and its millisecond variants, `X-RateLimit-*` and the vendor families listed in docs/headers.md.
 * Unreadable values are left out, never guessed; this function never throws.
 */
export function parseRateLimit(
  headers: HeaderInput | null | undefined,
  options: ParseRateLimitOptions = {},
): RateLimitInfo {
  return readRateLimit(headers, options);
}

/**
 * {@link parseRateLimit}, noting in `delays` (when given) the policies whose reset the server stated as a delay
 * (seconds left) rather than an instant.
 */
export function readRateLimit(
  headers: HeaderInput | null | undefined,
  options: ParseRateLimitOptions,
  delays?: RateLimitPolicy[],
): RateLimitInfo {
  const fields = collectFields(headers);
  // Nothing to read (most answers of most APIs): what the steps below would make of no field at all.
  if (fields.size === 0) return { isRateLimited: options.status === 429, policies: [] };
  const now = options.now !== undefined && Number.isFinite(options.now) ? options.now : Date.now();
  const clock = options.serverClock;
  let time: TimeBase;
  if (clock === undefined) time = new LazyTimeBase(now, fields.get('date'), delays);
  else {
    // Every reading narrows the clock, whether this answer needs an absolute instant or not.
    const date = readServerDate(fields.get('date'), now);
    if (date !== undefined) clock.observe(date, now);
    time = { now, reference: clock.serverNow(now) ?? now, delays };
  }
  const retryAt = readRetryAt(fields, time);
  const age = fields.get('age');
  // Quota fields on a response served from a cache describe the past (draft-10 "Client Behavior").
  const cached = age !== undefined && (parseCount(age) ?? 0) > 0;
  const policies = cached ? [] : readPolicies(fields, time);
  const chosen = selectPolicy(policies);
  const selected = chosen && mergeSameQuota(chosen, policies);
  const status = options.status;
  const isRateLimited =
    status === 429 ||
    (status === 503 && retryAt !== undefined) ||
    (status === 403 && (retryAt !== undefined || selected?.remaining === 0));
  // Field by field in one order: every result shares a few shapes (see makePolicy).
  const info: { -readonly [K in keyof RateLimitInfo]: RateLimitInfo[K] } = { isRateLimited, policies };
  if (selected?.limit !== undefined) info.limit = selected.limit;
  if (selected?.remaining !== undefined) info.remaining = selected.remaining;
  if (selected?.resetAt !== undefined) info.resetAt = selected.resetAt;
  if (selected?.windowMs !== undefined) info.windowMs = selected.windowMs;
  if (retryAt !== undefined) info.retryAt = retryAt;
  const bucket = readBucket(fields);
  if (bucket !== undefined) info.bucket = bucket;
  const scope = readScope(fields);
  if (scope !== undefined) info.scope = scope;
  return info;
}
