// The X-RateLimit-* and X-Rate-Limit-* families: same names, different meanings per vendor (docs/headers.md,
// "X-RateLimit and X-Rate-Limit").
import { describe, expect, test } from 'vitest';
import type { RateLimitInfo, RateLimitPolicy } from '../../src/headers/index.js';
import { DAY, HOUR, MINUTE, named, NOW, NOW_SECONDS, parse, SECOND, summary } from './support.js';

interface Case {
  readonly name: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly status?: number;
  readonly selected: ReturnType<typeof summary>;
  readonly extra?: Partial<RateLimitInfo>;
  readonly policies?: readonly Partial<RateLimitPolicy>[];
}

const cases: readonly Case[] = [
  {
    name: 'GitHub REST docs: x-ratelimit-reset is epoch seconds, x-ratelimit-resource names the bucket',
    headers: {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4987',
      'x-ratelimit-used': '13',
      'x-ratelimit-reset': String(NOW_SECONDS + 1800),
      'x-ratelimit-resource': 'core',
    },
    selected: { limit: 5000, remaining: 4987, resetAt: NOW + 1800 * SECOND },
    extra: { bucket: 'core', isRateLimited: false },
    policies: [{ source: 'x-ratelimit', name: 'core', unit: 'requests' }],
  },
  {
    name: 'GitHub REST docs: the search resource has its own bucket',
    headers: {
      'X-RateLimit-Limit': '30',
      'X-RateLimit-Remaining': '18',
      'X-RateLimit-Used': '12',
      'X-RateLimit-Reset': String(NOW_SECONDS + 45),
      'X-RateLimit-Resource': 'search',
    },
    selected: { limit: 30, remaining: 18, resetAt: NOW + 45 * SECOND },
    extra: { bucket: 'search' },
  },
  {
    name: 'GitHub REST docs: primary limit exhausted comes back as 403 with remaining 0',
    headers: {
      'x-ratelimit-limit': '60',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-used': '60',
      'x-ratelimit-reset': String(NOW_SECONDS + 600),
      'x-ratelimit-resource': 'core',
    },
    status: 403,
    selected: { limit: 60, remaining: 0, resetAt: NOW + 600 * SECOND },
    extra: { isRateLimited: true },
  },
  {
    name: 'X API docs: x-rate-limit-reset is epoch seconds (15-minute window)',
    headers: {
      'x-rate-limit-limit': '900',
      'x-rate-limit-remaining': '899',
      'x-rate-limit-reset': String(NOW_SECONDS + 900),
    },
    selected: { limit: 900, remaining: 899, resetAt: NOW + 15 * MINUTE },
  },
  {
    name: 'Okta docs: X-Rate-Limit-Reset is epoch seconds',
    headers: {
      'X-Rate-Limit-Limit': '600',
      'X-Rate-Limit-Remaining': '599',
      'X-Rate-Limit-Reset': String(NOW_SECONDS + 60),
    },
    selected: { limit: 600, remaining: 599, resetAt: NOW + MINUTE },
  },
  {
    name: 'Okta docs: on a concurrent-limit 429, Limit and Remaining are always 0',
    headers: {
      'X-Rate-Limit-Limit': '0',
      'X-Rate-Limit-Remaining': '0',
      'X-Rate-Limit-Reset': String(NOW_SECONDS + 60),
    },
    status: 429,
    selected: { limit: 0, remaining: 0, resetAt: NOW + MINUTE },
    extra: { isRateLimited: true },
  },
  {
    name: 'Discord docs: Reset-After (fractional delta seconds) is preferred over the epoch Reset',
    headers: {
      'X-RateLimit-Limit': '5',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': `${NOW_SECONDS + 65}.123`,
      'X-RateLimit-Reset-After': '64.57',
      'X-RateLimit-Bucket': 'abcd1234',
    },
    selected: { limit: 5, remaining: 0, resetAt: NOW + 64_570 },
    extra: { bucket: 'abcd1234' },
  },
  {
    name: 'Discord docs: X-RateLimit-Reset may be fractional epoch seconds',
    headers: { 'X-RateLimit-Limit': '5', 'X-RateLimit-Remaining': '4', 'X-RateLimit-Reset': `${NOW_SECONDS + 1}.5` },
    selected: { limit: 5, remaining: 4, resetAt: NOW + 1500 },
  },
  {
    name: 'Discord docs: a 429 with X-RateLimit-Scope shared and Retry-After rounded up (65 vs 64.57)',
    headers: {
      'X-RateLimit-Limit': '10',
      'X-RateLimit-Remaining': '9',
      'X-RateLimit-Reset-After': '64.57',
      'X-RateLimit-Scope': 'shared',
      'Retry-After': '65',
    },
    status: 429,
    selected: { limit: 10, remaining: 9, resetAt: NOW + 64_570 },
    extra: { scope: 'shared', retryAt: NOW + 65 * SECOND, isRateLimited: true },
  },
  {
    name: 'Discord docs: X-RateLimit-Global: true means the global scope',
    headers: { 'X-RateLimit-Global': 'true', 'Retry-After': '1' },
    status: 429,
    selected: {},
    extra: { scope: 'global', retryAt: NOW + SECOND, isRateLimited: true },
  },
  {
    name: 'Reddit API wiki: remaining is a float, reset is delta seconds, limit = used + remaining',
    headers: { 'x-ratelimit-used': '5', 'x-ratelimit-remaining': '595.0', 'x-ratelimit-reset': '300' },
    selected: { limit: 600, remaining: 595, resetAt: NOW + 300 * SECOND },
  },
  {
    name: 'prawcore rate_limit.py: a fractional remaining is floored (595.7 -> 595)',
    headers: { 'x-ratelimit-used': '4', 'x-ratelimit-remaining': '595.7', 'x-ratelimit-reset': '10' },
    selected: { limit: 599, remaining: 595, resetAt: NOW + 10 * SECOND },
  },
  {
    name: 'Zendesk docs: the limit is a bare X-Rate-Limit (no -Limit suffix)',
    headers: { 'X-Rate-Limit': '700', 'X-Rate-Limit-Remaining': '699' },
    selected: { limit: 700, remaining: 699 },
  },
  {
    name: 'Jira Cloud docs: X-RateLimit-Reset is ISO 8601 at minute precision',
    headers: {
      'X-RateLimit-Limit': '350',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '2025-10-01T12:02Z',
      'X-RateLimit-NearLimit': 'true',
      'RateLimit-Reason': 'jira-burst-based',
      'Retry-After': '120',
    },
    status: 429,
    selected: { limit: 350, remaining: 0, resetAt: NOW + 2 * MINUTE },
    extra: { retryAt: NOW + 2 * MINUTE, isRateLimited: true },
  },
  {
    name: 'lemlist docs: X-RateLimit-Reset is JS Date.toString()',
    headers: {
      'X-RateLimit-Limit': '20',
      'X-RateLimit-Remaining': '19',
      'X-RateLimit-Reset': 'Wed Oct 01 2025 14:00:02 GMT+0200 (Central European Summer Time)',
    },
    selected: { limit: 20, remaining: 19, resetAt: NOW + 2 * SECOND },
  },
  {
    name: 'Confluence Data Center docs: X-RateLimit-Interval-Seconds is the window; retry-after 0 on a 200 means now',
    headers: {
      'X-RateLimit-Limit': '20',
      'X-RateLimit-Remaining': '19',
      'X-RateLimit-Interval-Seconds': '1',
      'X-RateLimit-FillRate': '5',
      'retry-after': '0',
    },
    status: 200,
    selected: { limit: 20, remaining: 19, windowMs: SECOND },
    extra: { retryAt: NOW, isRateLimited: false },
  },
  {
    name: '@fastify/rate-limit: X-RateLimit-Reset in delta seconds',
    headers: { 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '4', 'x-ratelimit-reset': '59' },
    selected: { limit: 5, remaining: 4, resetAt: NOW + 59 * SECOND },
  },
  {
    name: 'Kong rate-limiting handler.lua: the window is in the name (per-period fields)',
    headers: {
      'X-RateLimit-Limit-Minute': '60',
      'X-RateLimit-Remaining-Minute': '57',
      'X-RateLimit-Limit-Hour': '1000',
      'X-RateLimit-Remaining-Hour': '900',
    },
    selected: { limit: 60, remaining: 57, windowMs: MINUTE },
    policies: [
      { source: 'x-ratelimit', name: 'minute', limit: 60, remaining: 57, windowMs: MINUTE },
      { source: 'x-ratelimit', name: 'hour', limit: 1000, remaining: 900, windowMs: HOUR },
    ],
  },
  {
    name: 'Kong: every period from second to year',
    headers: {
      'x-ratelimit-limit-second': '5',
      'x-ratelimit-remaining-second': '5',
      'x-ratelimit-limit-day': '10000',
      'x-ratelimit-remaining-day': '4',
      'x-ratelimit-limit-month': '100000',
      'x-ratelimit-remaining-month': '5000',
      'x-ratelimit-limit-year': '1000000',
      'x-ratelimit-remaining-year': '90000',
    },
    selected: { limit: 10000, remaining: 4, windowMs: DAY },
    policies: [
      { name: 'second', windowMs: SECOND },
      { name: 'day', windowMs: DAY },
      { name: 'month', windowMs: 30 * DAY },
      { name: 'year', windowMs: 365 * DAY },
    ],
  },
  {
    name: 'GovWay: the draft-03 list shape under an X- name (10, 10;w=60, 1000;w=3600)',
    headers: {
      'X-RateLimit-Limit': '10, 10;w=60, 1000;w=3600',
      'X-RateLimit-Remaining': '9',
      'X-RateLimit-Reset': '30',
    },
    selected: { limit: 10, remaining: 9, resetAt: NOW + 30 * SECOND, windowMs: MINUTE },
    policies: [
      { source: 'x-ratelimit', limit: 10, remaining: 9, windowMs: MINUTE },
      { source: 'x-ratelimit', limit: 1000, windowMs: HOUR },
    ],
  },
  {
    name: 'tollbooth: x-rate-limit-limit 0.02 is a rate, not a count, so the limit is ignored',
    headers: { 'x-rate-limit-limit': '0.02', 'x-rate-limit-duration': '1', 'x-rate-limit-remaining': '1' },
    selected: { remaining: 1 },
  },
  {
    name: 'Prisjakt delta-ms X-Rate-Limit-Reset 600000 cannot be told from delta seconds',
    headers: { 'X-Rate-Limit-Remaining': '10', 'X-Rate-Limit-Reset': '600000' },
    selected: { remaining: 10, resetAt: NOW + 600_000 * SECOND },
  },
];

test.for(named(cases))('%s', ([, { headers, status, selected, extra, policies }]) => {
  const info = parse(headers, status);
  expect(summary(info)).toEqual(selected);
  if (extra) expect(info).toMatchObject(extra);
  if (policies) expect(info.policies).toMatchObject(policies);
});

describe('stated windows and derived limits stay sane', () => {
  test('Confluence DC: X-RateLimit-Interval-Seconds 0 states no window', () => {
    const info = parse({ 'X-RateLimit-Limit': '20', 'X-RateLimit-Interval-Seconds': '0' });
    expect(summary(info)).toEqual({ limit: 20 });
  });

  test('Confluence DC: a fractional interval is read in ms', () => {
    expect(parse({ 'X-RateLimit-Limit': '20', 'X-RateLimit-Interval-Seconds': '0.5' }).windowMs).toBe(500);
  });

  test('Reddit: used + remaining beyond MAX_SAFE_INTEGER gives no limit', () => {
    const info = parse({ 'x-ratelimit-used': '9007199254740991', 'x-ratelimit-remaining': '10' });
    expect(summary(info)).toEqual({ remaining: 10 });
  });
});

describe('bucket keys', () => {
  test.for([
    ['GitHub x-ratelimit-resource', { 'x-ratelimit-resource': 'graphql', 'x-ratelimit-remaining': '1' }, 'graphql'],
    ['Discord X-RateLimit-Bucket', { 'X-RateLimit-Bucket': 'abcd1234', 'X-RateLimit-Remaining': '1' }, 'abcd1234'],
    [
      'GitLab RateLimit-Name',
      { 'RateLimit-Name': 'throttle_authenticated_web', 'RateLimit-Remaining': '1' },
      'throttle_authenticated_web',
    ],
  ] as const)('%s', ([, headers, bucket]) => {
    expect(parse(headers).bucket).toBe(bucket);
  });

  test('no bucket field, no bucket key', () => {
    expect(parse({ 'x-ratelimit-remaining': '1' })).not.toHaveProperty('bucket');
  });

  test('X-RateLimit-Global other than true is not a scope', () => {
    expect(parse({ 'X-RateLimit-Global': 'false' })).not.toHaveProperty('scope');
  });
});

describe('malformed members leave the value out, never 0', () => {
  test.for([
    ['a negative remaining', { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '-1' }, { limit: 10 }],
    ['a remaining with a unit', { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '5 requests' }, { limit: 10 }],
    ['an empty limit', { 'x-ratelimit-limit': '', 'x-ratelimit-remaining': '5' }, { remaining: 5 }],
    ['a hexadecimal limit', { 'x-ratelimit-limit': '0x10', 'x-ratelimit-remaining': '5' }, { remaining: 5 }],
    [
      'a negative Reset-After falls back to Reset',
      { 'x-ratelimit-reset-after': '-1', 'x-ratelimit-reset': '5' },
      { resetAt: NOW + 5 * SECOND },
    ],
  ] as const)('%s', ([, headers, selected]) => {
    expect(summary(parse(headers))).toEqual(selected);
  });
});
