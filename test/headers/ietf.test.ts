// The IETF RateLimit fields in every draft syntax a client meets (docs/headers.md, "IETF RateLimit fields").
import { describe, expect, test } from 'vitest';
import type { RateLimitInfo, RateLimitPolicy } from '../../src/headers/index.js';
import { HOUR, MINUTE, named, NOW, parse, SECOND, summary } from './support.js';

interface Case {
  readonly name: string;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  /** The selected quota: exactly these keys, the others absent. */
  readonly selected: ReturnType<typeof summary>;
  /** Every policy reported, in order (partial match of each). */
  readonly policies?: readonly Partial<RateLimitPolicy>[];
}

function check({ headers, selected, policies }: Case): RateLimitInfo {
  const info = parse(headers);
  expect(summary(info)).toEqual(selected);
  if (policies) expect(info.policies).toMatchObject(policies);
  return info;
}

describe('drafts 08 to 10: named policies', () => {
  const cases: readonly Case[] = [
    {
      name: 'draft-10 RateLimit field example: "default";r=50;t=30',
      headers: { ratelimit: '"default";r=50;t=30' },
      selected: { remaining: 50, resetAt: NOW + 30 * SECOND },
      policies: [{ source: 'ietf', name: 'default', unit: 'requests', remaining: 50, resetAt: NOW + 30 * SECOND }],
    },
    {
      name: 'draft-10 RateLimit-Policy example: "permin";q=50;w=60,"perhr";q=1000;w=3600 with "permin";r=10;t=30',
      headers: { 'ratelimit-policy': '"permin";q=50;w=60,"perhr";q=1000;w=3600', ratelimit: '"permin";r=10;t=30' },
      selected: { limit: 50, remaining: 10, resetAt: NOW + 30 * SECOND, windowMs: MINUTE },
      policies: [
        { name: 'permin', limit: 50, remaining: 10, windowMs: MINUTE },
        { name: 'perhr', limit: 1000, windowMs: HOUR },
      ],
    },
    {
      name: 'draft-08: "burst";q=100;w=60 with "burst";r=50;t=30',
      headers: { 'ratelimit-policy': '"burst";q=100;w=60', ratelimit: '"burst";r=50;t=30' },
      selected: { limit: 100, remaining: 50, resetAt: NOW + 30 * SECOND, windowMs: MINUTE },
    },
    {
      name: 'draft-10 qu and pk example: "peruser";q=65535;qu="content-bytes";w=10;pk=:sdfjLJUOUH==:',
      headers: {
        'ratelimit-policy': '"peruser";q=65535;qu="content-bytes";w=10;pk=:sdfjLJUOUH==:',
        ratelimit: '"peruser";r=1000;t=5',
      },
      selected: { limit: 65535, remaining: 1000, resetAt: NOW + 5 * SECOND, windowMs: 10 * SECOND },
      // The bytes of a non-canonical base64 text (`H==` has stray bits) come back in canonical form.
      policies: [{ name: 'peruser', unit: 'content-bytes', partitionKey: 'sdfjLJUOUA==' }],
    },
    {
      name: 'draft-10 pk on the RateLimit item: "default";r=999;pk=:dHJpYWwxMjEzMjM=:',
      headers: { ratelimit: '"default";r=999;pk=:dHJpYWwxMjEzMjM=:' },
      selected: { remaining: 999 },
      policies: [{ name: 'default', remaining: 999, partitionKey: 'dHJpYWwxMjEzMjM=' }],
    },
    {
      name: 'draft-10 "Missing Remaining information" example: token names quota;q=100;w=1 and quota;t=1, no r',
      headers: { 'ratelimit-policy': 'quota;q=100;w=1', ratelimit: 'quota;t=1' },
      selected: { limit: 100, resetAt: NOW + SECOND, windowMs: SECOND },
      policies: [{ name: 'quota', limit: 100 }],
    },
    {
      name: 'Cloudflare API docs: "default";r=50;t=30 beside "burst";q=100;w=60 are not associated (by name only)',
      headers: { Ratelimit: '"default";r=50;t=30', 'Ratelimit-Policy': '"burst";q=100;w=60' },
      selected: { remaining: 50, resetAt: NOW + 30 * SECOND },
      policies: [
        { name: 'default', remaining: 50 },
        { name: 'burst', limit: 100, windowMs: MINUTE },
      ],
    },
    {
      name: 'express-rate-limit draft-8: spaces after each ";" ("5-in-1min"; q=5; w=60; pk=:MmMyNmI0NmI2OGZm:)',
      headers: {
        'ratelimit-policy': '"5-in-1min"; q=5; w=60; pk=:MmMyNmI0NmI2OGZm:',
        ratelimit: '"5-in-1min"; r=4; t=60',
      },
      selected: { limit: 5, remaining: 4, resetAt: NOW + MINUTE, windowMs: MINUTE },
      policies: [{ name: '5-in-1min', partitionKey: 'MmMyNmI0NmI2OGZm' }],
    },
    {
      name: 'express-rate-limit draft-8 stacked limiters are appended; the exhausted one is selected',
      headers: {
        'ratelimit-policy': '"1-in-5sec"; q=1; w=5, "5-in-1min"; q=5; w=60',
        ratelimit: '"1-in-5sec"; r=0; t=5, "5-in-1min"; r=4; t=60',
      },
      selected: { limit: 1, remaining: 0, resetAt: NOW + 5 * SECOND, windowMs: 5 * SECOND },
      policies: [
        { name: '1-in-5sec', remaining: 0 },
        { name: '5-in-1min', remaining: 4 },
      ],
    },
    {
      name: 'RFC 9651 3.1: a list split over several field lines is joined before parsing',
      headers: {
        'ratelimit-policy': ['"permin";q=50;w=60', '"perhr";q=1000;w=3600'],
        ratelimit: ['"permin";r=40;t=30', '"perhr";r=20;t=1800'],
      },
      selected: { limit: 1000, remaining: 20, resetAt: NOW + 1800 * SECOND, windowMs: HOUR },
      policies: [{ name: 'permin' }, { name: 'perhr' }],
    },
    {
      name: 'draft-10 RateLimit-Policy: "other parameters can be regarded as comments" (acme-burst, foo)',
      headers: { 'ratelimit-policy': '"b";q=100;w=60;acme-burst=10;foo', ratelimit: '"b";r=9;t=3;x="y"' },
      selected: { limit: 100, remaining: 9, resetAt: NOW + 3 * SECOND, windowMs: MINUTE },
    },
    {
      name: 'draft-10: a service limit item without a policy keeps its own r and t only',
      headers: { 'ratelimit-policy': '"a";q=10;w=1', ratelimit: '"b";r=3;t=2' },
      selected: { remaining: 3, resetAt: NOW + 2 * SECOND },
    },
    {
      name: 'one bad parameter invalidates its member only (r=abc;t=30 gives nothing, not t=30)',
      headers: { ratelimit: '"a";r=abc;t=30, "b";r=5;t=10' },
      selected: { remaining: 5, resetAt: NOW + 10 * SECOND },
      policies: [{ name: 'b' }],
    },
  ];

  test.for(named(cases))('%s', ([, c]) => {
    check(c);
  });

  const ignored: readonly (readonly [name: string, headers: Readonly<Record<string, string>>])[] = [
    ['RFC 9651: space before ";" ("default" ;r=50) fails the parse', { ratelimit: '"default" ;r=50' }],
    ['RFC 9651: an upper-case key ("default";R=10) fails the parse', { ratelimit: '"default";R=10' }],
    ['RFC 9651: a 16-digit Integer fails the parse', { ratelimit: '"default";r=1234567890123456' }],
    ['RFC 9651: a trailing comma fails the parse', { ratelimit: '"default";r=50,' }],
    ['r must be an Integer, t=1.5 is a Decimal', { ratelimit: '"default";r=5;t=1.5' }],
    ['RFC 9651: t=@1748779230 is a Date, not an Integer', { ratelimit: '"default";r=5;t=@1748779230' }],
    ['draft-10: r is non-negative (r=-1)', { ratelimit: '"default";r=-1;t=5' }],
    ['r=abc is a Token, a semantic error', { ratelimit: '"default";r=abc' }],
    ['a member whose value is neither String nor Token (Integer 5;r=1)', { ratelimit: '5;r=1;t=2' }],
    ['draft-09: w must be non-zero', { 'ratelimit-policy': '"a";q=10;w=0' }],
    ['draft-10: pk must be a Byte Sequence', { 'ratelimit-policy': '"a";q=10;pk="abc"' }],
    ['draft-10: qu must be a String', { 'ratelimit-policy': '"a";q=10;qu=5' }],
  ];

  test.for(ignored)('malformed, so ignored: %s', ([, headers]) => {
    const info = parse(headers);
    expect(summary(info)).toEqual({});
    expect(info.policies).toEqual([]);
  });

  test('draft-10 Client Behavior: the policy item of a service limit supplies q and w, the service limit r and t', () => {
    const info = parse({ 'RateLimit-Policy': '"a";q=10;w=1', RateLimit: '"a";r=3' });
    expect(info.policies).toEqual([
      { source: 'ietf', name: 'a', unit: 'requests', limit: 10, remaining: 3, windowMs: SECOND },
    ]);
  });

  test('draft-10 quota units: qu="request" (the IANA table spelling) counts as requests', () => {
    const info = parse({ 'ratelimit-policy': '"a";q=10;qu="request"', ratelimit: '"a";r=3' });
    expect(info.policies[0]?.unit).toBe('requests');
  });

  test.for(['limit', 'remaining', 'reset'])(
    'a Token-named item %s;r=5 parses as a Dictionary too, but is a draft-08+ item',
    (name) => {
      const info = parse({ 'ratelimit-policy': `${name};q=10;w=1`, ratelimit: `${name};r=5;t=1` });
      expect(info.policies).toEqual([
        { source: 'ietf', name, unit: 'requests', limit: 10, remaining: 5, resetAt: NOW + SECOND, windowMs: SECOND },
      ]);
    },
  );

  test('Atlassian Beta-RateLimit (real logs): draft-08 syntax under a prefixed name, reported as ietf-beta', () => {
    const info = parse({
      'Beta-RateLimit-Policy': '"tenant-app-quota";q=100100;w=3600',
      'Beta-RateLimit': '"tenant-app-quota";r=17842;t=2107',
    });
    expect(info.policies).toEqual([
      {
        source: 'ietf-beta',
        name: 'tenant-app-quota',
        unit: 'requests',
        limit: 100100,
        remaining: 17842,
        resetAt: NOW + 2107 * SECOND,
        windowMs: HOUR,
      },
    ]);
  });
});

describe('draft 07: the RateLimit dictionary', () => {
  const cases: readonly Case[] = [
    {
      name: 'draft-07: limit=100, remaining=50, reset=5',
      headers: { ratelimit: 'limit=100, remaining=50, reset=5' },
      selected: { limit: 100, remaining: 50, resetAt: NOW + 5 * SECOND },
      policies: [{ source: 'ietf-draft7', unit: 'requests' }],
    },
    {
      name: 'express-rate-limit draft-7: RateLimit-Policy 5;w=60 gives the window by q == limit',
      headers: { 'ratelimit-policy': '5;w=60', ratelimit: 'limit=5, remaining=4, reset=60' },
      selected: { limit: 5, remaining: 4, resetAt: NOW + MINUTE, windowMs: MINUTE },
      policies: [{ source: 'ietf-draft7', limit: 5 }],
    },
    {
      name: 'draft-07 RateLimit-Policy 10;w=1, 50;w=60, 1000;w=3600: the expiring limit matches 50, the rest are policies',
      headers: { 'ratelimit-policy': '10;w=1, 50;w=60, 1000;w=3600', ratelimit: 'limit=50, remaining=7, reset=20' },
      selected: { limit: 50, remaining: 7, resetAt: NOW + 20 * SECOND, windowMs: MINUTE },
      policies: [
        { source: 'ietf-draft7', limit: 50, remaining: 7, windowMs: MINUTE },
        { source: 'ietf-draft7', limit: 10, windowMs: SECOND },
        { source: 'ietf-draft7', limit: 1000, windowMs: HOUR },
      ],
    },
    {
      name: 'draft-07: two policies with the quota of the limit are ambiguous, so neither gives the window',
      headers: { 'ratelimit-policy': '100;w=60, 100;w=3600', ratelimit: 'limit=100, remaining=50, reset=5' },
      selected: { limit: 100, remaining: 50, resetAt: NOW + 5 * SECOND },
      policies: [
        { source: 'ietf-draft7', limit: 100, remaining: 50 },
        { limit: 100, windowMs: MINUTE },
        { limit: 100, windowMs: HOUR },
      ],
    },
    {
      name: 'draft-07: remaining is optional',
      headers: { ratelimit: 'limit=100, reset=5' },
      selected: { limit: 100, resetAt: NOW + 5 * SECOND },
    },
    {
      name: 'draft-07: parameters on members MUST be ignored',
      headers: { ratelimit: 'limit=100;w=10, remaining=50;foo, reset=5' },
      selected: { limit: 100, remaining: 50, resetAt: NOW + 5 * SECOND },
    },
    {
      name: 'draft-07: unknown dictionary keys are ignored',
      headers: { ratelimit: 'limit=100, remaining=50, reset=5, acme=1' },
      selected: { limit: 100, remaining: 50, resetAt: NOW + 5 * SECOND },
    },
    {
      name: 'draft-07: dictionary split over two field lines',
      headers: { ratelimit: ['limit=100, remaining=50', 'reset=5'] },
      selected: { limit: 100, remaining: 50, resetAt: NOW + 5 * SECOND },
    },
  ];

  test.for(named(cases))('%s', ([, c]) => {
    check(c);
  });

  test.for([
    ['draft-07: a negative member', 'limit=100, remaining=-1, reset=5'],
    ['draft-07: a Decimal member', 'limit=100, remaining=50, reset=5.5'],
    ['draft-07: a String member', 'limit="100", remaining=50, reset=5'],
    ['RFC 9651: an upper-case key fails the parse', 'Limit=100, remaining=50, reset=5'],
  ] as const)('malformed, so ignored as a whole: %s', ([, value]) => {
    expect(parse({ ratelimit: value }).policies).toEqual([]);
  });
});

describe('drafts 04 to 06: separate fields', () => {
  const cases: readonly Case[] = [
    {
      name: 'draft-06: RateLimit-Limit 100, RateLimit-Remaining 50, RateLimit-Reset 50 (delay-seconds)',
      headers: { 'ratelimit-limit': '100', 'ratelimit-remaining': '50', 'ratelimit-reset': '50' },
      selected: { limit: 100, remaining: 50, resetAt: NOW + 50 * SECOND },
      policies: [{ source: 'ietf-draft6', unit: 'requests' }],
    },
    {
      name: 'express-rate-limit draft-6: RateLimit-Policy 5;w=60 gives the window by q == limit',
      headers: {
        'ratelimit-policy': '5;w=60',
        'ratelimit-limit': '5',
        'ratelimit-remaining': '4',
        'ratelimit-reset': '60',
      },
      selected: { limit: 5, remaining: 4, resetAt: NOW + MINUTE, windowMs: MINUTE },
      policies: [{ source: 'ietf-draft6', limit: 5, windowMs: MINUTE }],
    },
    {
      name: 'draft-04: RateLimit-Policy 100;w=60, 1000;w=3600 beside the expiring limit 100',
      headers: {
        'ratelimit-policy': '100;w=60, 1000;w=3600',
        'ratelimit-limit': '100',
        'ratelimit-remaining': '99',
        'ratelimit-reset': '30',
      },
      selected: { limit: 100, remaining: 99, resetAt: NOW + 30 * SECOND, windowMs: MINUTE },
      policies: [
        { source: 'ietf-draft6', limit: 100, remaining: 99 },
        { source: 'ietf-draft6', limit: 1000, windowMs: HOUR },
      ],
    },
    {
      name: 'GitLab docs: RateLimit-Reset is epoch seconds, RateLimit-Name keys the bucket',
      headers: {
        'RateLimit-Limit': '60',
        'RateLimit-Name': 'throttle_authenticated_api',
        'RateLimit-Observed': '67',
        'RateLimit-Remaining': '0',
        'RateLimit-Reset': String(NOW / 1000 + 42),
      },
      selected: { limit: 60, remaining: 0, resetAt: NOW + 42 * SECOND },
      policies: [{ source: 'ietf-draft6', name: 'throttle_authenticated_api' }],
    },
    {
      name: 'GitLab docs: on 429 RateLimit-ResetTime (HTTP-date) stands in for a missing RateLimit-Reset',
      headers: {
        'RateLimit-Limit': '60',
        'RateLimit-Remaining': '0',
        'RateLimit-ResetTime': 'Wed, 01 Oct 2025 12:00:42 GMT',
      },
      selected: { limit: 60, remaining: 0, resetAt: NOW + 42 * SECOND },
    },
    {
      name: 'Twitch Helix guide: Ratelimit-Reset is epoch seconds',
      headers: {
        'Ratelimit-Limit': '800',
        'Ratelimit-Remaining': '799',
        'Ratelimit-Reset': String(NOW / 1000 + 60),
      },
      selected: { limit: 800, remaining: 799, resetAt: NOW + MINUTE },
    },
    {
      name: 'Heroku Platform API: RateLimit-Remaining only',
      headers: { 'RateLimit-Remaining': '4499' },
      selected: { remaining: 4499 },
      policies: [{ source: 'ietf-draft6', unit: 'requests', remaining: 4499 }],
    },
    {
      name: 'Zendesk list endpoints: ratelimit-reset is delta seconds',
      headers: { 'ratelimit-limit': '100', 'ratelimit-remaining': '99', 'ratelimit-reset': '41' },
      selected: { limit: 100, remaining: 99, resetAt: NOW + 41 * SECOND },
    },
    {
      name: '@fastify/rate-limit enableDraftSpec: draft-06 names',
      headers: { 'ratelimit-limit': '5', 'ratelimit-remaining': '4', 'ratelimit-reset': '59' },
      selected: { limit: 5, remaining: 4, resetAt: NOW + 59 * SECOND },
    },
  ];

  test.for(named(cases))('%s', ([, c]) => {
    check(c);
  });
});

describe('draft 03: a policy list inside RateLimit-Limit', () => {
  const cases: readonly Case[] = [
    {
      name: 'draft-03: RateLimit-Limit 10, 10;w=1, 50;w=60 (the expiring limit, then quota;w=window items)',
      headers: { 'ratelimit-limit': '10, 10;w=1, 50;w=60', 'ratelimit-remaining': '9', 'ratelimit-reset': '1' },
      selected: { limit: 10, remaining: 9, resetAt: NOW + SECOND, windowMs: SECOND },
      policies: [
        { source: 'ietf-draft6', limit: 10, remaining: 9, windowMs: SECOND },
        { source: 'ietf-draft6', limit: 50, windowMs: MINUTE },
      ],
    },
    {
      name: 'draft-03: RateLimit-Limit 10, 10;w=1;burst=1000, 1000;w=3600 (unknown params are comments)',
      headers: { 'ratelimit-limit': '10, 10;w=1;burst=1000, 1000;w=3600', 'ratelimit-remaining': '3' },
      selected: { limit: 10, remaining: 3, windowMs: SECOND },
      policies: [
        { limit: 10, remaining: 3, windowMs: SECOND },
        { limit: 1000, windowMs: HOUR },
      ],
    },
    {
      name: 'Limitador DRAFT_VERSION_03: the expiring limit without its own window item',
      headers: { 'ratelimit-limit': '10, 100;w=60', 'ratelimit-remaining': '9', 'ratelimit-reset': '5' },
      selected: { limit: 10, remaining: 9, resetAt: NOW + 5 * SECOND },
      policies: [
        { limit: 10, remaining: 9 },
        { limit: 100, windowMs: MINUTE },
      ],
    },
  ];

  test.for(named(cases))('%s', ([, c]) => {
    check(c);
  });

  test('a list whose first member carries parameters is not a draft-03 limit list', () => {
    expect(parse({ 'ratelimit-limit': '10;w=1, 50;w=60', 'ratelimit-remaining': '9' }).limit).toBeUndefined();
  });

  test('a malformed draft-03 list is ignored as a whole', () => {
    const info = parse({ 'ratelimit-limit': '10, 10;w=1, 50;W=60', 'ratelimit-remaining': '9' });
    expect(info.limit).toBeUndefined();
    expect(info.policies).toMatchObject([{ remaining: 9 }]);
  });
});
