// The `X-RateLimit-*` and `X-Rate-Limit-*` families: GitHub, X, Okta, Discord, Reddit, Zendesk, Jira, Confluence
// Data Center, GovWay, and Kong's per-period fields (docs/headers.md, "X-RateLimit and X-Rate-Limit" and "Kong").
import { Family, type Fields } from './fields.js';
import { readLimitField } from './ietf.js';
import type { RateLimitPolicy } from './types.js';
import {
  afterDelay,
  isDelayValue,
  mergeDuplicates,
  parseRemainingValue,
  parseResetField,
  parseSecondsMs,
  parseWindowMs,
  type TimeBase,
  makePolicy,
  withDelayReset,
} from './values.js';

/** Field names of one family, spelled out once: the hot path looks them up without building strings. */
function familyNames(prefix: 'x-ratelimit-' | 'x-rate-limit-', flag: number) {
  return {
    flag,
    limit: `${prefix}limit`,
    bareLimit: prefix.slice(0, -1), // Zendesk sends its limit as a bare `X-Rate-Limit`
    remaining: `${prefix}remaining`,
    used: `${prefix}used`,
    resetAfter: `${prefix}reset-after`,
    reset: `${prefix}reset`,
    interval: `${prefix}interval-seconds`,
    resource: `${prefix}resource`,
  } as const;
}

type FamilyNames = ReturnType<typeof familyNames>;

const FAMILIES: readonly FamilyNames[] = [
  familyNames('x-ratelimit-', Family.xRateLimit),
  familyNames('x-rate-limit-', Family.xRateLimitDashed),
];

const KONG_PERIODS: readonly (readonly [period: string, limit: string, remaining: string, windowMs: number])[] = (
  [
    ['second', 1000],
    ['minute', 60_000],
    ['hour', 3_600_000],
    ['day', 86_400_000],
    ['month', 2_592_000_000],
    ['year', 31_536_000_000],
  ] as const
).map(([period, windowMs]) => [period, `x-ratelimit-limit-${period}`, `x-ratelimit-remaining-${period}`, windowMs]);

const safeSum = (a: number, b: number): number | undefined => (Number.isSafeInteger(a + b) ? a + b : undefined);

function remainingOf(value: string | undefined): number | undefined {
  return value === undefined ? undefined : mergeDuplicates(value, parseRemainingValue, Math.min);
}

/**
 * One family (`x-ratelimit-` or `x-rate-limit-`): a single quota, plus the other quotas of a draft 03 style limit
 * list (GovWay: `X-RateLimit-Limit: 10, 10;w=60, 1000;w=3600`).
 */
function readFamily(fields: Fields, names: FamilyNames, time: TimeBase, out: RateLimitPolicy[]): void {
  const limitField = readLimitField(fields.get(names.limit) ?? fields.get(names.bareLimit));
  const remaining = remainingOf(fields.get(names.remaining));
  const used = remainingOf(fields.get(names.used));
  // Discord's Reset-After is exact (fractional seconds) where its Reset is an epoch: prefer it.
  const resetAfter = fields.get(names.resetAfter);
  const reset = fields.get(names.reset);
  const resetAfterAt =
    resetAfter === undefined ? undefined : afterDelay(mergeDuplicates(resetAfter, parseSecondsMs, Math.max), time);
  const resetAt = resetAfterAt ?? (reset === undefined ? undefined : parseResetField(reset, time));
  // Reddit sends no limit: it is what was used plus what is left.
  const limit =
    limitField.limit ?? (used !== undefined && remaining !== undefined ? safeSum(used, remaining) : undefined);
  if (limit === undefined && remaining === undefined && resetAt === undefined) return;
  const interval = fields.get(names.interval); // Confluence Data Center
  out.push(
    withDelayReset(
      makePolicy({
        source: 'x-ratelimit',
        name: fields.get(names.resource),
        unit: 'requests',
        limit,
        remaining,
        resetAt,
        windowMs: limitField.windowMs ?? parseWindowMs(interval, 1000),
      }),
      resetAfterAt !== undefined || (reset !== undefined && isDelayValue(reset)),
      time,
    ),
  );
  for (const quota of limitField.quotas) out.push({ source: 'x-ratelimit', ...quota });
}

/** Kong: `X-RateLimit-Limit-Minute: 60`, `X-RateLimit-Remaining-Minute: 59`: the window is in the name. */
export function readKong(fields: Fields): RateLimitPolicy[] {
  const out: RateLimitPolicy[] = [];
  for (const [period, limitName, remainingName, windowMs] of KONG_PERIODS) {
    const limitValue = fields.get(limitName);
    const remaining = remainingOf(fields.get(remainingName));
    const limit = limitValue === undefined ? undefined : readLimitField(limitValue).limit;
    if (limit === undefined && remaining === undefined) continue;
    out.push(makePolicy({ source: 'x-ratelimit', name: period, unit: 'requests', limit, remaining, windowMs }));
  }
  return out;
}

/** Every quota the `X-RateLimit-*` / `X-Rate-Limit-*` fields describe. */
export function readXRateLimit(fields: Fields, time: TimeBase): RateLimitPolicy[] {
  const out: RateLimitPolicy[] = [];
  for (const names of FAMILIES) if (fields.families & names.flag) readFamily(fields, names, time, out);
  return out;
}

/** The vendor's key for the bucket this response counts against. */
export function readBucket(fields: Fields): string | undefined {
  return fields.get('x-ratelimit-resource') ?? fields.get('x-ratelimit-bucket') ?? fields.get('ratelimit-name');
}

/** Discord's scope of a throttle: `X-RateLimit-Scope`, or `global` when `X-RateLimit-Global` is set. */
export function readScope(fields: Fields): string | undefined {
  const scope = fields.get('x-ratelimit-scope');
  if (scope !== undefined) return scope;
  return fields.get('x-ratelimit-global')?.toLowerCase() === 'true' ? 'global' : undefined;
}
