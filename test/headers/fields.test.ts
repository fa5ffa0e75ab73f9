// Field access: every header container, names in any case, repeated lines, hostile input (docs/headers.md,
// "Reading fields").
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { mayBeRelevant } from '../../src/headers/fields.js';
import type { HeaderInput } from '../../src/headers/index.js';
import { NOW, parse, SECOND, summary } from './support.js';

describe('header containers', () => {
  test('fetch Headers: names are case-insensitive and appended lines are joined with ", "', () => {
    const headers = new Headers();
    headers.append('RateLimit-Policy', '"permin";q=50;w=60');
    headers.append('RateLimit', '"permin";r=40;t=30');
    headers.append('ratelimit', '"perhr";r=5;t=1800');
    headers.append('Retry-After', '10');
    const info = parse(headers);
    expect(info.policies.map((p) => p.name)).toEqual(['permin', 'perhr']);
    expect(info).toMatchObject({ remaining: 5, retryAt: NOW + 10 * SECOND });
  });

  test('Node IncomingHttpHeaders: a string[] value is several field lines', () => {
    const info = parse({ ratelimit: ['"a";r=10;t=5', '"b";r=3;t=50'], 'x-ratelimit-remaining': ['9', '4'] });
    expect(info.policies.map((p) => [p.source, p.remaining])).toEqual([
      ['ietf', 10],
      ['ietf', 3],
      ['x-ratelimit', 4],
    ]);
  });

  test('non-string array members are skipped', () => {
    const headers = { 'x-ratelimit-remaining': ['7', 8, null] } as unknown as HeaderInput;
    expect(parse(headers).remaining).toBe(7);
  });

  test('axios: numeric values are read as their decimal text', () => {
    expect(summary(parse({ 'x-ratelimit-limit': 60, 'x-ratelimit-remaining': 59, 'retry-after': 2 }))).toEqual({
      limit: 60,
      remaining: 59,
    });
    expect(parse({ 'retry-after': 2 }).retryAt).toBe(NOW + 2 * SECOND);
  });

  test('undefined and null values are absent fields', () => {
    expect(parse({ 'x-ratelimit-remaining': undefined, 'x-ratelimit-limit': null, 'retry-after': '1' })).toEqual({
      retryAt: NOW + SECOND,
      isRateLimited: false,
      policies: [],
    });
  });

  test('a Map of name to value works like Headers (anything with forEach(value, name))', () => {
    const info = parse(new Map([['X-RateLimit-Remaining', '3']]));
    expect(info.remaining).toBe(3);
  });

  test.for([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'x-ratelimit-remaining: 5'],
    ['a number', 42],
    ['a function', () => 'x'],
    ['an array of pairs', [['x-ratelimit-remaining', '5']]],
  ] as const)('not a header container (%s): nothing is read, nothing throws', ([, input]) => {
    expect(parse(input as unknown as HeaderInput)).toEqual({ isRateLimited: false, policies: [] });
  });

  test('a forEach that hands over non-string names or values is tolerated', () => {
    const odd = {
      forEach(callback: (value: unknown, name: unknown) => void) {
        callback('5', 42);
        callback({}, 'x-ratelimit-limit');
        callback('3', 'x-ratelimit-remaining');
      },
    } as unknown as HeaderInput;
    expect(summary(parse(odd))).toEqual({ remaining: 3 });
  });
});

describe('names and values (RFC 9110 5.1, 5.5)', () => {
  test('mixed-case names in a plain record', () => {
    const info = parse({ 'X-RATELIMIT-LIMIT': '60', 'x-RateLimit-Remaining': '59', 'X-Ratelimit-Reset': '30' });
    expect(summary(info)).toEqual({ limit: 60, remaining: 59, resetAt: NOW + 30 * SECOND });
  });

  test('the same name in two cases is two field lines, merged conservatively', () => {
    const info = parse({ 'X-RateLimit-Remaining': '5', 'x-ratelimit-remaining': '3', 'x-ratelimit-limit': '10' });
    expect(info.remaining).toBe(3);
  });

  test('values are trimmed (OWS is not part of the value)', () => {
    expect(summary(parse({ 'x-ratelimit-limit': ' \t60 ', ratelimit: '  "a";r=5  ' }))).toEqual({ remaining: 5 });
    expect(parse({ 'x-ratelimit-limit': ' \t60 ', 'x-ratelimit-remaining': '  9' })).toMatchObject({
      limit: 60,
      remaining: 9,
    });
  });

  test('an empty value is an absent field (Number("") would say 0)', () => {
    expect(parse({ 'x-ratelimit-remaining': '', 'retry-after': '' })).toEqual({ isRateLimited: false, policies: [] });
  });
});

describe('duplicated singleton numerics: all valid, the safest; any invalid, ignored', () => {
  test.for([
    ['remaining: the smallest', { 'x-ratelimit-remaining': '5, 3, 9' }, { remaining: 3 }],
    ['limit: the smallest', { 'x-ratelimit-limit': '100, 60' }, { limit: 60 }],
    ['reset: the latest', { 'x-ratelimit-reset': '5, 30' }, { resetAt: NOW + 30 * SECOND }],
    ['Reset-After: the latest', { 'x-ratelimit-reset-after': '1.5, 0.5' }, { resetAt: NOW + 1500 }],
    ['draft-06 remaining: the smallest', { 'ratelimit-remaining': '10, 2' }, { remaining: 2 }],
    ['draft-06 reset: the latest', { 'ratelimit-reset': '10, 20' }, { resetAt: NOW + 20 * SECOND }],
    [
      'an HTTP-date reset is not split at its comma',
      { 'ratelimit-remaining': '1', 'ratelimit-resettime': 'Wed, 01 Oct 2025 12:00:30 GMT' },
      { remaining: 1, resetAt: NOW + 30 * SECOND },
    ],
    [
      'two HTTP-date resets: the latest',
      { 'x-ratelimit-reset': 'Wed, 01 Oct 2025 12:00:30 GMT, Wed, 01 Oct 2025 12:00:20 GMT' },
      { resetAt: NOW + 30 * SECOND },
    ],
  ] as const)('%s', ([, headers, selected]) => {
    expect(summary(parse(headers))).toEqual(selected);
  });

  test.for([
    [
      'one invalid remaining member ignores the field',
      { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '5, x' },
      { limit: 10 },
    ],
    [
      'one negative limit member ignores the field',
      { 'x-ratelimit-limit': '10, -1', 'x-ratelimit-remaining': '5' },
      { remaining: 5 },
    ],
    [
      'one invalid reset member ignores the field',
      { 'x-ratelimit-remaining': '5', 'x-ratelimit-reset': '30, soon' },
      { remaining: 5 },
    ],
  ] as const)('%s', ([, headers, selected]) => {
    expect(summary(parse(headers))).toEqual(selected);
  });
});

describe('hostile input', () => {
  test('__proto__ and constructor header names: read as names, no prototype pollution', () => {
    const headers = JSON.parse(
      '{"__proto__": {"x-ratelimit-remaining": "0"}, "constructor": "5", "x-ratelimit-remaining": "7"}',
    ) as Record<string, string>;
    const info = parse(headers);
    expect(summary(info)).toEqual({ remaining: 7 });
    expect(({} as Record<string, unknown>)['x-ratelimit-remaining']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('x-ratelimit-remaining');
  });

  test('__proto__ and constructor in a Headers object', () => {
    const headers = new Headers([
      ['__proto__', '1'],
      ['constructor', '2'],
      ['x-ratelimit-remaining', '3'],
    ]);
    expect(summary(parse(headers))).toEqual({ remaining: 3 });
  });

  test('inherited properties are not header fields', () => {
    const proto = { 'x-ratelimit-remaining': '0' };
    const headers = Object.create(proto) as Record<string, string>;
    headers['x-ratelimit-limit'] = '10';
    expect(summary(parse(headers))).toEqual({ limit: 10 });
  });

  test('a record without a prototype', () => {
    const headers = Object.create(null) as Record<string, string>;
    headers['x-ratelimit-remaining'] = '4';
    expect(parse(headers).remaining).toBe(4);
  });

  test('a huge value is ignored, the rest is read', () => {
    const info = parse({
      ratelimit: `"a";r=1;t=1, ${'"b";r=2;t=2, '.repeat(100_000)}"c";r=3`,
      'x-ratelimit-remaining': '9'.repeat(100_000),
      'retry-after': '5',
      'x-ratelimit-limit': '10',
    });
    expect(summary(info)).toEqual({ limit: 10 });
    expect(info.retryAt).toBe(NOW + 5 * SECOND);
  });

  test('a huge line does not let a later line of the same field stand alone', () => {
    const info = parse({ 'Retry-After': '9'.repeat(10_000), 'retry-after': '5' });
    expect(info.retryAt).toBeUndefined();
    const headers = { 'X-RateLimit-Remaining': ['1'.repeat(10_000), '0'], 'x-ratelimit-remaining': '4' };
    expect(parse(headers).remaining).toBeUndefined();
  });

  test('a value of 999999999999999999999 digits does not become Infinity', () => {
    const info = parse({ 'x-ratelimit-limit': '9'.repeat(400), 'x-ratelimit-remaining': '9'.repeat(400) });
    expect(summary(info)).toEqual({});
  });

  test('thousands of header lines: the known fields are still read', () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) headers[`x-custom-rate-${String(i).padStart(4, '0')}`] = String(i);
    for (let i = 0; i < 5000; i++) headers[`x-ms-ratelimit-remaining-op${String(i).padStart(4, '0')}`] = '100';
    headers['x-ratelimit-limit'] = '60';
    headers['x-ratelimit-remaining'] = '42';
    headers['retry-after'] = '3';
    const info = parse(headers);
    expect(info).toMatchObject({ retryAt: NOW + 3 * SECOND });
    expect(info.policies.find((p) => p.source === 'x-ratelimit')).toMatchObject({ limit: 60, remaining: 42 });
    expect(info.policies.length).toBeLessThanOrEqual(100);
    expect(info.remaining).toBe(42);
  });

  test('thousands of lines in one Headers object (sorted by name) do not push out the known fields', () => {
    const headers = new Headers();
    for (let i = 0; i < 3000; i++) headers.append(`a-rate-${i}`, '1');
    for (let i = 0; i < 3000; i++) headers.append(`x-ms-ratelimit-remaining-a${i}`, '100');
    headers.append('x-ratelimit-remaining', '42');
    const info = parse(headers);
    expect(info.remaining).toBe(42);
  });

  test('thousands of lines of one field (a string[] of 10,000 members) are bounded and ignored', () => {
    const info = parse({
      'x-ratelimit-remaining': Array.from({ length: 10_000 }, () => '5'),
      'x-ratelimit-limit': '9',
    });
    expect(summary(info)).toEqual({ limit: 9 });
  });
});

describe('the quick check of a field name', () => {
  const relevant = [
    'date',
    'age',
    'retry-after',
    'x-ms-retry-after-ms',
    'ratelimit-policy',
    'beta-ratelimit',
    'x-ratelimit-remaining',
    'x-rate-limit-reset',
    'x-ratelimit-limit-tokens',
    'anthropic-ratelimit-requests-limit',
    'x-hubspot-ratelimit-max',
    'x-ms-ratelimit-remaining-subscription-reads',
    'x-shopify-shop-api-call-limit',
    'sforce-limit-info',
  ];

  test('lets through every relevant name in any case (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...relevant).chain((name) => fc.mixedCase(fc.constant(name))),
        (name) => {
          expect(mayBeRelevant(name)).toBe(true);
        },
      ),
    );
  });

  test('lets through every name whose lower case begins as a relevant one does, whatever its characters (property)', () => {
    const heads = new Set(relevant.map((name) => name.slice(0, 3)));
    // The letters of those heads in both cases, and the two characters outside ASCII whose lower case is ASCII.
    const letters = fc.constantFrom(...Array.from('datgerx-mbnhsfoDATGERXMBNHSFOki\u212a\u0130'));
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: letters, maxLength: 5 }), fc.string({ unit: 'binary', maxLength: 5 })),
        (name) => {
          if (heads.has(name.toLowerCase().slice(0, 3))) expect(mayBeRelevant(name)).toBe(true);
        },
      ),
      { numRuns: 5000 },
    );
  });

  test("skips a GitHub answer's other fields without reading them", () => {
    for (const name of [
      'server',
      'content-type',
      'etag',
      'x-github-request-id',
      'x-oauth-scopes',
      'vary',
      'Via',
      'a',
    ]) {
      expect(mayBeRelevant(name)).toBe(false);
    }
  });
});
