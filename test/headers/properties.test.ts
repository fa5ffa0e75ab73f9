// fast-check properties of the header parser: total and sane on any input, and exact on the IETF forms it reads.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseRateLimit, parseRetryAfter } from '../../src/headers/index.js';
import type { HeaderInput, RateLimitInfo, RateLimitPolicy } from '../../src/headers/index.js';
import { summary } from './support.js';

/** Date's own range: no instant may lie beyond it. */
const MAX_INSTANT = 8.64e15;
const RUNS = 300;

/** Every field name docs/headers.md mentions, read or not ("Fields not read" included). */
const KNOWN_NAMES = [
  'date',
  'age',
  'retry-after',
  'retry-after-ms',
  'x-ms-retry-after-ms',
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'ratelimit-resettime',
  'ratelimit-name',
  'ratelimit-observed',
  'ratelimit-reason',
  'beta-ratelimit',
  'beta-ratelimit-policy',
  'x-beta-ratelimit-reset',
  ...['x-ratelimit', 'x-rate-limit'].flatMap((prefix) => [
    prefix,
    ...['limit', 'remaining', 'used', 'reset', 'reset-after', 'interval-seconds', 'fillrate', 'resource'].map(
      (field) => `${prefix}-${field}`,
    ),
  ]),
  'x-ratelimit-bucket',
  'x-ratelimit-scope',
  'x-ratelimit-global',
  'x-ratelimit-nearlimit',
  'x-rate-limit-duration',
  ...['second', 'minute', 'hour', 'day', 'month', 'year', 'requests', 'tokens'].flatMap((d) =>
    ['limit', 'remaining', 'reset'].map((field) => `x-ratelimit-${field}-${d}`),
  ),
  ...['requests', 'tokens', 'input-tokens', 'output-tokens'].flatMap((unit) =>
    ['limit', 'remaining', 'reset'].map((field) => `anthropic-ratelimit-${unit}-${field}`),
  ),
  ...['daily', 'daily-remaining', 'interval-milliseconds', 'max', 'remaining', 'secondly', 'secondly-remaining'].map(
    (field) => `x-hubspot-ratelimit-${field}`,
  ),
  'x-ms-ratelimit-remaining-subscription-reads',
  'x-ms-ratelimit-remaining-subscription-writes',
  'x-ms-ratelimit-remaining-tenant-reads',
  'x-ms-ratelimit-remaining-resource',
  'x-shopify-shop-api-call-limit',
  'sforce-limit-info',
  'zendesk-ratelimit-tickets-index',
];

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries

const now = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 4_102_444_800_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, MAX_INSTANT, -MAX_INSTANT, MAX_INSTANT - 1) },
  { weight: 1, arbitrary: fc.double({ min: -MAX_INSTANT, max: MAX_INSTANT, noNaN: true }) },
);

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const LONG_WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, width = 2, fill = '0'): string => String(n).padStart(width, fill);
const clock = (d: Date): string => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;

/** The three RFC 9110 HTTP-date forms of one instant. */
const httpDates = (d: Date): readonly [imf: string, rfc850: string, asctime: string] => [
  d.toUTCString(),
  `${LONG_WEEKDAYS[d.getUTCDay()]!}, ${pad(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]!}-${pad(d.getUTCFullYear() % 100)} ${clock(d)} GMT`,
  `${WEEKDAYS[d.getUTCDay()]!} ${MONTHS[d.getUTCMonth()]!} ${pad(d.getUTCDate(), 2, ' ')} ${clock(d)} ${d.getUTCFullYear()}`,
];

const dateText = fc
  .date({ noInvalidDate: true, min: new Date(Date.UTC(1900, 0, 1)), max: new Date(Date.UTC(2200, 0, 1)) })
  .chain((d) => fc.constantFrom(...httpDates(d), d.toISOString(), d.toString(), d.toISOString().slice(0, 16) + 'Z'));

const numberText = fc.oneof(
  fc.integer().map(String),
  fc.nat().map(String),
  fc.double().map(String),
  fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(String),
  fc.stringMatching(/^\d{1,20}(\.\d{1,4})?$/),
  fc.integer({ min: 1_000_000_000, max: 5_000_000_000 }).map(String),
  fc.integer({ min: 100_000_000_000, max: 5_000_000_000_000 }).map(String),
  fc.constantFrom('0', '-1', '1e3', '0x10', 'Infinity', 'NaN', '', ' ', '9'.repeat(30), '1000000000000', '-0', '.5'),
);

const goDuration = fc.stringMatching(/^(\d{1,12}(\.\d{1,3})?(h|m|s|ms|us|µs|ns)){1,4}$/);

const sfMember = fc.stringMatching(
  /^("[a-z0-9 -]{0,8}"|[a-zA-Z*][a-z0-9:/]{0,5}|\d{1,16}|limit|remaining|reset)(; ?[a-z]{1,2}(=(-?\d{1,17}|"[^"\\]*"|:[A-Za-z0-9+/=]*:|\d{1,13}\.\d{1,4}|\?[01]|@\d{1,11}|[a-z]+))?)*$/,
);
const sfText = fc.oneof(
  fc.array(sfMember, { maxLength: 6 }).map((members) => members.join(', ')),
  fc
    .array(fc.tuple(fc.constantFrom('limit', 'remaining', 'reset', 'foo'), fc.integer()), { maxLength: 4 })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join(', ')),
);

const usedOfLimit = fc.tuple(numberText, numberText).map(([a, b]) => `${a}/${b}`);
const salesforce = fc
  .array(fc.tuple(fc.constantFrom('api-usage', 'api-bursts', 'per-app-api-usage'), usedOfLimit), { maxLength: 3 })
  .map((parts) => parts.map(([k, v]) => `${k}=${v}`).join('; '));

/** A single field line's value: anything a server (or a fuzzer) might put there. */
const fieldValue: fc.Arbitrary<string> = fc.oneof(
  numberText,
  dateText,
  goDuration,
  sfText,
  usedOfLimit,
  salesforce,
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 8 }).map((s) => s.repeat(4097 / s.length + 1)),
);

/** A value as a record holds it: a string, several field lines, or what axios and friends put there. */
const rawValue = fc.oneof(
  { weight: 6, arbitrary: fieldValue },
  { weight: 2, arbitrary: fc.array(fieldValue, { minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(undefined, null, 0, 42, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY) },
);

const mixedCase = (name: string): fc.Arbitrary<string> =>
  fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((upper) =>
    name
      .split('')
      .map((c, i) => (upper[i] ? c.toUpperCase() : c))
      .join(''),
  );

const fieldName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...KNOWN_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom(...KNOWN_NAMES).chain(mixedCase) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty') },
  { weight: 1, arbitrary: fc.string() },
);

const headerRecord = fc.dictionary(fieldName, rawValue, { maxKeys: 25 });

/** The same record as a fetch `Headers` (lines the Headers class refuses are left out). */
function toHeaders(record: Readonly<Record<string, unknown>>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(record)) {
    for (const line of Array.isArray(value) ? (value as unknown[]) : [value]) {
      try {
        headers.append(name, String(line));
      } catch {
        // Not a valid field name or value for fetch: a real response could not carry it either.
      }
    }
  }
  return headers;
}

const status = fc.option(fc.constantFrom(200, 301, 403, 429, 500, 503, 0, -1, 1000), { nil: undefined });

// ---------------------------------------------------------------------------------------------------------------
// Invariants

function expectSaneInstant(at: number | undefined, arrival: number): void {
  if (at === undefined) return;
  expect(Number.isFinite(at)).toBe(true);
  expect(at).toBeGreaterThanOrEqual(arrival);
  expect(at).toBeLessThanOrEqual(MAX_INSTANT);
}

function expectSaneQuota(quota: Omit<RateLimitPolicy, 'source' | 'unit'>, arrival: number): void {
  if (quota.limit !== undefined) expect(Number.isSafeInteger(quota.limit) && quota.limit >= 0).toBe(true);
  if (quota.remaining !== undefined) {
    expect(Number.isSafeInteger(quota.remaining) && quota.remaining >= 0).toBe(true);
  }
  if (quota.windowMs !== undefined) expect(Number.isFinite(quota.windowMs) && quota.windowMs > 0).toBe(true);
  expectSaneInstant(quota.resetAt, arrival);
}

function expectSane(info: RateLimitInfo, arrival: number): void {
  expect(typeof info.isRateLimited).toBe('boolean');
  expectSaneInstant(info.retryAt, arrival);
  expectSaneQuota(info, arrival);
  for (const policy of info.policies) {
    expectSaneQuota(policy, arrival);
    expect(typeof policy.unit).toBe('string');
  }
}

describe('total and sane on any input', () => {
  test('arbitrary header records: never throws, no NaN/Infinity/negative counts, no instant before now', () => {
    fc.assert(
      fc.property(headerRecord, now, status, (record, arrival, code) => {
        const input = record as HeaderInput;
        expectSane(
          parseRateLimit(input, code === undefined ? { now: arrival } : { now: arrival, status: code }),
          arrival,
        );
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test('the same records as fetch Headers objects', () => {
    fc.assert(
      fc.property(headerRecord, now, (record, arrival) => {
        expectSane(parseRateLimit(toHeaders(record), { now: arrival, status: 429 }), arrival);
      }),
      { numRuns: RUNS },
    );
  });

  test('arbitrary strings placed in every known field at once', () => {
    const everyField = fc.tuple(...KNOWN_NAMES.map(() => fieldValue));
    fc.assert(
      fc.property(everyField, now, (values, arrival) => {
        const record = Object.fromEntries(KNOWN_NAMES.map((name, i) => [name, values[i]!]));
        expectSane(parseRateLimit(record, { now: arrival, status: 403 }), arrival);
      }),
      { numRuns: RUNS },
    );
  });

  test('one arbitrary string in each known field alone', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KNOWN_NAMES), fieldValue, now, (name, value, arrival) => {
        expectSane(parseRateLimit({ [name]: value }, { now: arrival, status: 503 }), arrival);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test('parseRetryAfter: any string, any Date, never an instant before now or NaN', () => {
    fc.assert(
      fc.property(
        fieldValue,
        now,
        fc.option(fc.oneof(fieldValue, fc.double()), { nil: undefined }),
        (value, arrival, date) => {
          const at = parseRetryAfter(value, date === undefined ? { now: arrival } : { now: arrival, date });
          expectSaneInstant(at, arrival);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });

  test('a future Retry-After is never read as a past instant (no later than its own delay)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), now, (seconds, arrival) => {
        const at = parseRetryAfter(String(seconds), { now: arrival });
        if (arrival + seconds * 1000 <= MAX_INSTANT) expect(at).toBe(arrival + seconds * 1000);
        else expect(at).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Round trips of the IETF forms

const arrivalTime = fc.integer({ min: 0, max: 4_102_444_800_000 });
const TOKEN_FIRST = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ*';
const TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~:/";
const tokenName = fc
  .tuple(
    fc.constantFrom(...TOKEN_FIRST.split('')),
    fc.string({ unit: fc.constantFrom(...TOKEN_CHARS.split('')), maxLength: 10 }),
  )
  .map(([first, rest]) => first + rest);
const printableAscii = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 12,
});

interface NamedPolicy {
  readonly name: string;
  readonly token: boolean;
  readonly q: number;
  readonly w: number | undefined;
  readonly r: number;
  readonly t: number;
  readonly qu: string | undefined;
  readonly pk: Uint8Array | undefined;
}

const policyName = fc.oneof(
  tokenName.map((name) => ({ name, token: true })),
  // Token names that are also draft-07 dictionary keys must still read as draft-10 names.
  fc.constantFrom('limit', 'remaining', 'reset', 'default').map((name) => ({ name, token: true })),
  printableAscii.map((name) => ({ name, token: false })),
);

const namedPolicy: fc.Arbitrary<NamedPolicy> = fc
  .tuple(
    policyName,
    fc.record({
      q: fc.integer({ min: 0, max: 999_999_999_999_999 }),
      w: fc.option(fc.integer({ min: 1, max: 999_999_999 }), { nil: undefined }),
      r: fc.integer({ min: 0, max: 999_999_999_999_999 }),
      t: fc.integer({ min: 0, max: 999_999_999 }),
      qu: fc.option(fc.constantFrom('requests', 'request', 'content-bytes', 'concurrent-requests'), { nil: undefined }),
      pk: fc.option(fc.uint8Array({ maxLength: 24 }), { nil: undefined }),
    }),
  )
  .map(([name, rest]) => ({ ...name, ...rest }));

const sfString = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** How the serializer spells things: OWS around commas, spaces after ";" (express-rate-limit), one line or several. */
const style = fc.record({
  comma: fc.constantFrom(',', ', ', ' ,  ', ',\t'),
  semicolon: fc.constantFrom(';', '; ', ';  '),
  lines: fc.boolean(),
});
type Style = typeof style extends fc.Arbitrary<infer S> ? S : never;

function list(members: readonly string[], s: Style): string | string[] {
  return s.lines ? [...members] : members.join(s.comma);
}

function params(pairs: readonly (readonly [string, string | number | undefined])[], s: Style): string {
  return pairs
    .filter((pair): pair is readonly [string, string | number] => pair[1] !== undefined)
    .map(([k, v]) => `${s.semicolon}${k}=${v}`)
    .join('');
}

describe('round trips: parse(serialize(policies)) of the IETF forms', () => {
  test('draft 10: named RateLimit-Policy and RateLimit items, matched by name in any order', () => {
    const policies = fc.uniqueArray(namedPolicy, { selector: (p) => p.name, minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(
        policies.chain((ps) => fc.tuple(fc.constant(ps), fc.shuffledSubarray(ps, { minLength: ps.length }))),
        style,
        arrivalTime,
        ([ps, order], s, arrival) => {
          const name = (p: NamedPolicy) => (p.token ? p.name : sfString(p.name));
          const policyField = ps.map(
            (p) =>
              name(p) +
              params(
                [
                  ['q', p.q],
                  ['qu', p.qu === undefined ? undefined : sfString(p.qu)],
                  ['w', p.w],
                  ['pk', p.pk === undefined ? undefined : `:${base64(p.pk)}:`],
                  ['acme-burst', 5],
                ],
                s,
              ),
          );
          const limitField = order.map(
            (p) =>
              name(p) +
              params(
                [
                  ['r', p.r],
                  ['t', p.t],
                ],
                s,
              ),
          );
          const info = parseRateLimit(
            { 'RateLimit-Policy': list(policyField, s), RateLimit: list(limitField, s) },
            { now: arrival },
          );
          const expected = order.map((p) => ({
            source: 'ietf',
            name: p.name,
            unit: p.qu === undefined || p.qu === 'request' ? 'requests' : p.qu,
            limit: p.q,
            remaining: p.r,
            resetAt: arrival + p.t * 1000,
            ...(p.w !== undefined && { windowMs: p.w * 1000 }),
            ...(p.pk !== undefined && { partitionKey: base64(p.pk) }),
          }));
          expect(info.policies).toEqual(expected);
          // Selection: an exhausted quota first (furthest reset), else the lowest remaining among requests quotas.
          const exhausted = ps.filter((p) => p.r === 0);
          const requests = ps.filter((p) => p.qu === undefined || p.qu === 'requests' || p.qu === 'request');
          const pool = exhausted.length > 0 ? exhausted : requests.length > 0 ? requests : ps;
          const lowest = Math.min(...pool.map((p) => p.r));
          const furthest = Math.max(...pool.filter((p) => p.r === lowest).map((p) => p.t));
          expect(info.remaining).toBe(lowest);
          expect(info.resetAt).toBe(arrival + furthest * 1000);
        },
      ),
      { numRuns: RUNS },
    );
  });

  interface IntegerQuota {
    readonly limit: number;
    readonly remaining: number | undefined;
    readonly reset: number;
    readonly window: number | undefined;
    /** Other `q;w=` policies, with quotas different from `limit` and from each other. */
    readonly others: readonly (readonly [q: number, w: number])[];
  }

  const integerQuota: fc.Arbitrary<IntegerQuota> = fc
    .record({
      limit: fc.integer({ min: 0, max: 999_999_999_999_999 }),
      remaining: fc.option(fc.integer({ min: 0, max: 999_999_999_999_999 }), { nil: undefined }),
      reset: fc.integer({ min: 0, max: 999_999_999 }),
      window: fc.option(fc.integer({ min: 1, max: 999_999_999 }), { nil: undefined }),
      others: fc.uniqueArray(
        fc.tuple(fc.integer({ min: 0, max: 999_999_999_999_999 }), fc.integer({ min: 1, max: 999_999_999 })),
        { selector: ([q]) => q, maxLength: 4 },
      ),
    })
    .map((quota) => ({ ...quota, others: quota.others.filter(([q]) => q !== quota.limit) }));

  const otherPolicies = (quota: IntegerQuota, source: string) =>
    quota.others.map(([q, w]) => ({ source, unit: 'requests', limit: q, windowMs: w * 1000 }));

  test('draft 7: the RateLimit dictionary (members in any order) with integer RateLimit-Policy items', () => {
    fc.assert(
      fc.property(integerQuota, style, fc.boolean(), arrivalTime, (quota, s, reversed, arrival) => {
        const members = [
          `limit=${quota.limit}`,
          ...(quota.remaining === undefined ? [] : [`remaining=${quota.remaining}`]),
          `reset=${quota.reset}`,
        ];
        if (reversed) members.reverse();
        const items = [
          ...(quota.window === undefined ? [] : [`${quota.limit}${params([['w', quota.window]], s)}`]),
          ...quota.others.map(([q, w]) => `${q}${params([['w', w]], s)}`),
        ];
        const headers: Record<string, string | string[]> = { ratelimit: list(members, s) };
        if (items.length > 0) headers['ratelimit-policy'] = list(items, s);
        const info = parseRateLimit(headers, { now: arrival });
        const main = {
          source: 'ietf-draft7',
          unit: 'requests',
          limit: quota.limit,
          ...(quota.remaining !== undefined && { remaining: quota.remaining }),
          resetAt: arrival + quota.reset * 1000,
          ...(quota.window !== undefined && { windowMs: quota.window * 1000 }),
        };
        expect(info.policies).toEqual([main, ...otherPolicies(quota, 'ietf-draft7')]);
        expect(summary(info)).toEqual(
          Object.fromEntries(Object.entries(main).filter(([key]) => key !== 'source' && key !== 'unit')),
        );
      }),
      { numRuns: RUNS },
    );
  });

  test('drafts 4 to 6: separate fields with RateLimit-Policy, and draft 3: the list inside RateLimit-Limit', () => {
    fc.assert(
      fc.property(integerQuota, style, fc.boolean(), arrivalTime, (quota, s, draft3, arrival) => {
        const items = [
          ...(quota.window === undefined ? [] : [`${quota.limit}${params([['w', quota.window]], s)}`]),
          ...quota.others.map(([q, w]) => `${q}${params([['w', w]], s)}`),
        ];
        const headers: Record<string, string | string[]> = { 'RateLimit-Reset': String(quota.reset) };
        if (quota.remaining !== undefined) headers['RateLimit-Remaining'] = String(quota.remaining);
        if (draft3) {
          headers['RateLimit-Limit'] = [String(quota.limit), ...items].join(s.comma);
        } else {
          headers['RateLimit-Limit'] = String(quota.limit);
          if (items.length > 0) headers['RateLimit-Policy'] = list(items, s);
        }
        const info = parseRateLimit(headers, { now: arrival });
        expect(info.policies).toEqual([
          {
            source: 'ietf-draft6',
            unit: 'requests',
            limit: quota.limit,
            ...(quota.remaining !== undefined && { remaining: quota.remaining }),
            resetAt: arrival + quota.reset * 1000,
            ...(quota.window !== undefined && { windowMs: quota.window * 1000 }),
          },
          ...otherPolicies(quota, 'ietf-draft6'),
        ]);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('round trips of instants', () => {
  const instant = fc
    .integer({ min: Date.UTC(1950, 0, 1) / 1000, max: Date.UTC(2150, 0, 1) / 1000 })
    .map((s) => new Date(s * 1000));

  test('Retry-After in the three HTTP-date forms: the same instant, never before now', () => {
    fc.assert(
      fc.property(instant, arrivalTime, (d, arrival) => {
        const [imf, rfc850, asctime] = httpDates(d);
        const expected = arrival + Math.max(0, d.getTime() - arrival);
        expect(parseRetryAfter(imf, { now: arrival })).toBe(expected);
        expect(parseRetryAfter(asctime, { now: arrival })).toBe(expected);
        // RFC 850 carries two year digits: it round-trips within 50 years of the reference.
        const years = Math.abs(d.getUTCFullYear() - new Date(arrival).getUTCFullYear());
        if (years < 49) expect(parseRetryAfter(rfc850, { now: arrival })).toBe(expected);
      }),
      { numRuns: RUNS },
    );
  });

  test('an absolute instant is read against Date, whatever the local clock skew', () => {
    fc.assert(
      fc.property(
        // From 2002: a bare number below 1e9 (Sep 2001 as epoch seconds) is delta seconds (the magnitude heuristic).
        fc.integer({ min: Date.UTC(2002, 0, 1) / 1000, max: Date.UTC(2100, 0, 1) / 1000 }),
        fc.integer({ min: -86_400, max: 365 * 86_400 }),
        fc.integer({ min: -10 * 86_400_000, max: 10 * 86_400_000 }),
        (serverSeconds, aheadSeconds, skewMs) => {
          const date = new Date(serverSeconds * 1000).toUTCString();
          const resetSeconds = serverSeconds + aheadSeconds;
          const arrival = serverSeconds * 1000 + skewMs;
          const wait = Math.max(0, aheadSeconds * 1000);
          const info = parseRateLimit(
            {
              date,
              'retry-after': new Date(resetSeconds * 1000).toUTCString(),
              'x-ratelimit-remaining': '0',
              'x-ratelimit-reset': String(resetSeconds),
            },
            { now: arrival },
          );
          expect(info.retryAt).toBe(arrival + wait);
          expect(info.resetAt).toBe(arrival + wait);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
