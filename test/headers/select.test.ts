// Which quota a response is reported by, what counts as a throttle, and cached responses (docs/headers.md, "Selecting
// one quota", "Merging families that describe the same quota", "isRateLimited", "Cached responses").
import { describe, expect, test } from 'vitest';
import { MINUTE, NOW, NOW_DATE, NOW_SECONDS, parse, SECOND, summary } from './support.js';

describe('isRateLimited', () => {
  const rows: readonly (readonly [
    name: string,
    status: number | undefined,
    headers: Record<string, string>,
    expected: boolean,
  ])[] = [
    ['RFC 6585 4: a 429 is a throttle', 429, {}, true],
    [
      'GitLab issue 199738: a 429 is a throttle even when the headers show quota left',
      429,
      { 'RateLimit-Limit': '600', 'RateLimit-Remaining': '550' },
      true,
    ],
    [
      'Discord docs: a shared-scope 429 with remaining 9 is a throttle',
      429,
      { 'X-RateLimit-Remaining': '9', 'X-RateLimit-Scope': 'shared' },
      true,
    ],
    ['RFC 9110 15.6.4: a bare 503 is an outage', 503, {}, false],
    ['Azure SDK: a 503 with Retry-After is a throttle', 503, { 'Retry-After': '120' }, true],
    ['Azure SDK: a 503 with retry-after-ms is a throttle', 503, { 'retry-after-ms': '500' }, true],
    ['a 503 with an invalid Retry-After is an outage', 503, { 'Retry-After': 'soon' }, false],
    ['a 503 with remaining 0 but no retry delay is an outage', 503, { 'RateLimit-Remaining': '0' }, false],
    ['a plain 403 (permissions) is not a throttle', 403, {}, false],
    [
      'GitHub docs: a 403 with remaining 5 is a permissions error',
      403,
      { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '5' },
      false,
    ],
    [
      'GitHub docs: a 403 with remaining 0 is the primary limit',
      403,
      { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0' },
      true,
    ],
    ['GitHub docs: a secondary-limit 403 with retry-after', 403, { 'retry-after': '60' }, true],
    [
      'a 200 with remaining 0 is not a throttle',
      200,
      { 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '0' },
      false,
    ],
    ['Confluence DC docs: a 200 with retry-after 0 is not a throttle', 200, { 'retry-after': '0' }, false],
    [
      'draft-10 Server Behavior: a 301 with r=0;t=10 is not a throttle',
      301,
      { ratelimit: '"problemPolicy";r=0;t=10' },
      false,
    ],
    ['a 500 with Retry-After is not a throttle', 500, { 'retry-after': '10' }, false],
    [
      'ParseRateLimitOptions: no status, not rate limited',
      undefined,
      { 'retry-after': '10', 'x-ratelimit-remaining': '0' },
      false,
    ],
  ];

  test.for(rows)('%s', ([, status, headers, expected]) => {
    expect(parse(headers, status).isRateLimited).toBe(expected);
  });

  test('draft-10 Server Behavior: the 301 still reports the wait before following Location', () => {
    expect(summary(parse({ ratelimit: '"problemPolicy";r=0;t=10' }, 301))).toEqual({
      remaining: 0,
      resetAt: NOW + 10 * SECOND,
    });
  });
});

describe('selecting one quota', () => {
  test('rule 1: among exhausted quotas, the one whose reset is furthest away', () => {
    const info = parse({
      'ratelimit-policy': '"a";q=10;w=10, "b";q=100;w=3600, "c";q=5;w=1',
      ratelimit: '"a";r=0;t=5, "b";r=0;t=1800, "c";r=3;t=1',
    });
    expect(summary(info)).toEqual({ limit: 100, remaining: 0, resetAt: NOW + 1800 * SECOND, windowMs: 3600 * SECOND });
  });

  test('rule 1: an exhausted quota with a reset beats one without', () => {
    const info = parse({ ratelimit: '"a";r=0, "b";r=0;t=5' });
    expect(info.policies[0]?.name).toBe('a');
    expect(summary(info)).toEqual({ remaining: 0, resetAt: NOW + 5 * SECOND });
  });

  test('rule 1 across families: an exhausted X-RateLimit quota beats a draft-10 one with quota left', () => {
    const info = parse({
      ratelimit: '"default";r=50;t=30',
      'x-ratelimit-limit': '60',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(NOW_SECONDS + 600),
    });
    expect(summary(info)).toEqual({ limit: 60, remaining: 0, resetAt: NOW + 600 * SECOND });
  });

  test('rule 2: with requests and tokens dimensions and none exhausted, the requests one', () => {
    const info = parse({
      'x-ratelimit-limit-requests': '10000',
      'x-ratelimit-remaining-requests': '9999',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '1',
    });
    expect(summary(info)).toEqual({ limit: 10000, remaining: 9999 });
  });

  test('rule 2: an IETF policy with qu="content-bytes" gives way to a requests one', () => {
    const info = parse({
      'ratelimit-policy': '"bytes";q=65535;qu="content-bytes";w=10, "calls";q=100;w=60',
      ratelimit: '"bytes";r=10;t=5, "calls";r=90;t=30',
    });
    expect(summary(info)).toMatchObject({ limit: 100, remaining: 90 });
  });

  test('rule 2: with no requests quota at all, the lowest remaining of the others', () => {
    const info = parse({
      'ratelimit-policy': '"up";q=1000;qu="content-bytes", "down";q=1000;qu="content-bytes"',
      ratelimit: '"up";r=700, "down";r=200',
    });
    expect(info.remaining).toBe(200);
  });

  test('rule 3: the lowest remaining', () => {
    const info = parse({ ratelimit: '"a";r=40;t=5, "b";r=30;t=60, "c";r=50;t=1' });
    expect(summary(info)).toEqual({ remaining: 30, resetAt: NOW + MINUTE });
  });

  test('rule 3: on a tie, the furthest reset', () => {
    const info = parse({ ratelimit: '"a";r=30;t=5, "b";r=30;t=60, "c";r=30;t=10' });
    expect(summary(info)).toEqual({ remaining: 30, resetAt: NOW + MINUTE });
  });

  test('quotas without a remaining are chosen only when none states one', () => {
    expect(summary(parse({ 'ratelimit-policy': '"a";q=10;w=1, "b";q=100;w=60' }))).toEqual({
      limit: 10,
      windowMs: SECOND,
    });
    expect(summary(parse({ 'ratelimit-policy': '"a";q=10;w=1', ratelimit: '"b";r=7' }))).toEqual({ remaining: 7 });
  });

  test('every quota stays in policies, the selected one included', () => {
    const info = parse({
      ratelimit: '"default";r=50;t=30',
      'x-ratelimit-limit': '60',
      'x-ratelimit-remaining': '20',
      'x-ms-ratelimit-remaining-subscription-reads': '100',
    });
    expect(info.policies.map((p) => p.source)).toEqual(['ietf', 'x-ratelimit', 'azure']);
    expect(info.remaining).toBe(20);
  });
});

describe('merging families that describe the same quota', () => {
  test('express-rate-limit legacy + draft-7: the window comes from RateLimit-Policy, the reset from the closer reading', () => {
    const info = parse({
      date: NOW_DATE,
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '4',
      'x-ratelimit-reset': String(NOW_SECONDS + 61),
      'ratelimit-policy': '5;w=60',
      ratelimit: 'limit=5, remaining=4, reset=60',
    });
    // Both readings round up (the epoch reset is counted from a Date truncated to the second): of two readings of
    // one reset within that rounding, the earlier (60 s) is the closer one.
    expect(summary(info)).toEqual({ limit: 5, remaining: 4, resetAt: NOW + 60 * SECOND, windowMs: MINUTE });
    expect(info.policies.map((p) => p.source)).toEqual(['ietf-draft7', 'x-ratelimit']);
  });

  test('express-rate-limit legacy + draft-6', () => {
    const info = parse({
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '4',
      'x-ratelimit-reset': String(NOW_SECONDS + 60),
      'ratelimit-policy': '5;w=60',
      'ratelimit-limit': '5',
      'ratelimit-remaining': '4',
      'ratelimit-reset': '60',
    });
    expect(summary(info)).toEqual({ limit: 5, remaining: 4, resetAt: NOW + MINUTE, windowMs: MINUTE });
  });

  test('Zendesk: X-Rate-Limit + ratelimit-* on list endpoints, the reset filled from ratelimit-reset', () => {
    const info = parse({
      'X-Rate-Limit': '700',
      'X-Rate-Limit-Remaining': '699',
      'ratelimit-limit': '700',
      'ratelimit-remaining': '699',
      'ratelimit-reset': '41',
    });
    expect(summary(info)).toEqual({ limit: 700, remaining: 699, resetAt: NOW + 41 * SECOND });
  });

  test('a same-remaining family fills the limit it lacks (Heroku-style remaining beside a full record)', () => {
    const info = parse({
      'ratelimit-remaining': '5',
      'x-ratelimit-remaining': '5',
      'x-ratelimit-limit': '60',
      'x-ratelimit-reset': '30',
    });
    expect(summary(info)).toEqual({ limit: 60, remaining: 5, resetAt: NOW + 30 * SECOND });
  });

  test('families that disagree are not merged', () => {
    const info = parse({
      'x-ratelimit-limit': '100',
      'x-ratelimit-remaining': '50',
      'x-ratelimit-reset': '300',
      'ratelimit-policy': '10;w=1',
      ratelimit: 'limit=10, remaining=50',
    });
    // A tie on remaining goes to the furthest reset; the other family's window is not borrowed.
    expect(summary(info)).toEqual({ limit: 100, remaining: 50, resetAt: NOW + 300 * SECOND });
    const other = parse({
      'x-ratelimit-limit': '100',
      'x-ratelimit-remaining': '50',
      'x-ratelimit-reset': '300',
      ratelimit: 'limit=10, remaining=5',
    });
    expect(summary(other)).toEqual({ limit: 10, remaining: 5 });
  });

  test('quotas in different units are not merged', () => {
    const info = parse({
      'x-ratelimit-limit-tokens': '100',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-limit': '100',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '30',
    });
    expect(info.policies).toHaveLength(2);
    expect(summary(info)).toEqual({ limit: 100, remaining: 0, resetAt: NOW + 30 * SECOND });
  });
});

describe('cached responses (draft-10 Client Behavior)', () => {
  const quota = { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '30' };

  test('Age > 0: the quota fields describe the past and are ignored', () => {
    const info = parse({ ...quota, age: '30' }, 403);
    expect(info).toEqual({ isRateLimited: false, policies: [] });
  });

  test('Age > 0 does not hide an explicit Retry-After', () => {
    expect(parse({ ...quota, age: '30', 'retry-after': '5' }).retryAt).toBe(NOW + 5 * SECOND);
  });

  test.for([
    ['Age: 0 is a fresh response', '0'],
    ['an invalid Age is ignored', 'old'],
    ['a negative Age is ignored', '-5'],
  ] as const)('%s', ([, age]) => {
    expect(parse({ ...quota, age }).remaining).toBe(0);
  });
});
