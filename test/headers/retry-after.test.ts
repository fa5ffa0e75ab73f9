// Explicit retry-delay signals: Retry-After's grammar, its millisecond variants, the time base (docs/headers.md,
// "Retry-After and its millisecond variants").
import { describe, expect, test } from 'vitest';
import { parseRetryAfter } from '../../src/headers/index.js';
import { MINUTE, NOW, NOW_DATE, parse, SECOND } from './support.js';

const retryAfter = (value: string, date?: string | number): number | undefined =>
  parseRetryAfter(value, date === undefined ? { now: NOW } : { now: NOW, date });

describe('Retry-After values', () => {
  const valid: readonly (readonly [name: string, value: string, retryAt: number])[] = [
    ['RFC 9110 10.2.3: delay-seconds 120', '120', NOW + 120 * SECOND],
    ['RFC 9110 10.2.3: delay-seconds 0 means now', '0', NOW],
    ['Shopify REST docs: a decimal 2.0', '2.0', NOW + 2 * SECOND],
    ['fractional seconds round to the nearest ms (64.57 s, not 64569.999…)', '64.57', NOW + 64_570],
    ['RFC 9110 5.5: surrounding whitespace is not part of the value', '  30 ', NOW + 30 * SECOND],
    ['huge values are parsed faithfully (clamping is a separate policy)', '999999999', NOW + 999_999_999_000],
    ['RFC 9110 5.6.7: IMF-fixdate', 'Wed, 01 Oct 2025 12:00:40 GMT', NOW + 40 * SECOND],
    ['RFC 9110 5.6.7: obsolete RFC 850 date', 'Wednesday, 01-Oct-25 12:00:40 GMT', NOW + 40 * SECOND],
    [
      'RFC 9110 5.6.7: obsolete asctime date, single-digit day padded with a space',
      'Wed Oct  1 12:00:40 2025',
      NOW + 40 * SECOND,
    ],
    ['RFC 9110 5.6.7: asctime date with a two-digit day', 'Sat Oct 11 12:00:00 2025', NOW + 10 * 24 * 60 * MINUTE],
    ['RFC 9110 5.6.7: an HTTP-date in the past gives now', 'Sun, 06 Nov 1994 08:49:37 GMT', NOW],
    ['Azure SDK: a date in the past gives 0 (asctime)', 'Sun Nov  6 08:49:37 1994', NOW],
    [
      'RFC 9110 5.6.7: leap second 60 is read as the last second of its minute',
      'Wed, 01 Oct 2025 12:00:60 GMT',
      NOW + 59 * SECOND,
    ],
    [
      'RFC 9110 5.6.7: RFC 850 year 50 years ahead to the second is still the future',
      'Tuesday, 01-Oct-75 12:00:00 GMT',
      Date.UTC(2075, 9, 1, 12),
    ],
    [
      'RFC 9110 5.6.7: RFC 850 year 26 is the coming year',
      'Thursday, 01-Oct-26 12:00:00 GMT',
      Date.UTC(2026, 9, 1, 12),
    ],
    [
      'RFC 9110 5.6.7: RFC 850 year more than 50 years ahead is the past century (past gives now)',
      'Wednesday, 01-Oct-75 12:00:01 GMT',
      NOW,
    ],
    ['RFC 9110 5.6.7: RFC 850 year 94 is 1994 (past gives now)', 'Sunday, 06-Nov-94 08:49:37 GMT', NOW],
    ['RFC 9110 5.6.7: Feb 29 of a leap year', 'Thu, 29 Feb 2024 00:00:00 GMT', NOW],
  ];

  test.for(valid)('%s: %s', ([, value, retryAt]) => {
    expect(retryAfter(value)).toBe(retryAt);
  });

  const invalid: readonly (readonly [name: string, value: string])[] = [
    ['negative delay', '-5'],
    ['a word', 'soon'],
    ['a unit after the number (parseInt would say 120)', '120 seconds'],
    ['exponent notation (Number would say 1000)', '1e3'],
    ['hexadecimal (Number would say 16)', '0x10'],
    ['empty (Number would say 0)', ''],
    ['blank', '   '],
    ['RFC 3339 is not an HTTP-date', '2025-10-01T12:00:40Z'],
    ['RFC 9110 10.2.3: a plus sign', '+5'],
    ['a trailing dot', '5.'],
    ['a leading dot', '.5'],
    ['Infinity', 'Infinity'],
    ['NaN', 'NaN'],
    ['above Number.MAX_SAFE_INTEGER', '9007199254740993'],
    ['beyond the range of Date', '8640000000000'],
    ['RFC 9110 5.6.7: HTTP-date is case-sensitive', 'wed, 01 oct 2025 12:00:40 gmt'],
    ['RFC 9110 5.6.7: HTTP-date is always GMT (UTC)', 'Wed, 01 Oct 2025 12:00:40 UTC'],
    ['RFC 9110 5.6.7: HTTP-date is always GMT (+0000)', 'Wed, 01 Oct 2025 12:00:40 +0000'],
    ['RFC 9110 5.6.7: IMF-fixdate needs a two-digit day', 'Wed, 1 Oct 2025 12:00:40 GMT'],
    ['RFC 9110 5.6.7: no such day (Sep 31)', 'Wed, 31 Sep 2025 12:00:40 GMT'],
    ['RFC 9110 5.6.7: no Feb 29 in 2025', 'Sat, 29 Feb 2025 12:00:40 GMT'],
    ['RFC 9110 5.6.7: no hour 24', 'Wed, 01 Oct 2025 24:00:00 GMT'],
    ['RFC 9110 5.6.7: no such month', 'Wed, 01 Okt 2025 12:00:40 GMT'],
    ['RFC 9110 5.6.7: no such weekday', 'Wen, 01 Oct 2025 12:00:40 GMT'],
    ['JS Date.toString() is not an HTTP-date', 'Wed Oct 01 2025 14:00:40 GMT+0200'],
  ];

  test.for(invalid)('%s: %j is ignored', ([, value]) => {
    expect(retryAfter(value)).toBeUndefined();
  });

  test('non-string values are ignored', () => {
    expect(parseRetryAfter(undefined, { now: NOW })).toBeUndefined();
    expect(parseRetryAfter(null, { now: NOW })).toBeUndefined();
  });

  test('a non-finite now gives no instant', () => {
    expect(parseRetryAfter('5', { now: Number.NaN })).toBeUndefined();
  });
});

describe('duplicated Retry-After (docs/headers.md, Duplicated singleton fields)', () => {
  test.for([
    ['every member valid: the latest instant wins', '5, 10', NOW + 10 * SECOND],
    ['an HTTP-date is not split at its own comma', 'Wed, 01 Oct 2025 12:00:40 GMT', NOW + 40 * SECOND],
    [
      'two HTTP-dates joined: the later wins',
      'Wed, 01 Oct 2025 12:00:40 GMT, Wed, 01 Oct 2025 12:00:50 GMT',
      NOW + 50 * SECOND,
    ],
    ['delay-seconds and an HTTP-date joined: the later wins', '30, Wed, 01 Oct 2025 12:00:40 GMT', NOW + 40 * SECOND],
    ['an RFC 850 date joined with delay-seconds', 'Wednesday, 01-Oct-25 12:00:20 GMT, 5', NOW + 20 * SECOND],
  ] as const)('%s: %j', ([, value, retryAt]) => {
    expect(retryAfter(value)).toBe(retryAt);
  });

  test.for([
    ['one invalid member invalidates the field', '5, soon'],
    ['an empty member invalidates the field', '5, , 10'],
    ['a half date invalidates the field', '5, Wed'],
  ] as const)('%s: %j', ([, value]) => {
    expect(retryAfter(value)).toBeUndefined();
  });

  test('repeated field lines of a record are joined and merged', () => {
    expect(parse({ 'retry-after': ['5', '10'] }).retryAt).toBe(NOW + 10 * SECOND);
    expect(parse({ 'retry-after': ['5', 'soon'] }).retryAt).toBeUndefined();
  });
});

describe('time base: absolute instants are measured against the Date header', () => {
  test('Date 12:00:10, Retry-After 12:00:40, arrival 12:00:00 waits 30 s, not 40 s', () => {
    expect(retryAfter('Wed, 01 Oct 2025 12:00:40 GMT', 'Wed, 01 Oct 2025 12:00:10 GMT')).toBe(NOW + 30 * SECOND);
    const info = parse({ date: 'Wed, 01 Oct 2025 12:00:10 GMT', 'retry-after': 'Wed, 01 Oct 2025 12:00:40 GMT' });
    expect(info.retryAt).toBe(NOW + 30 * SECOND);
  });

  test('a server clock behind ours: Date 11:59:00, Retry-After 11:59:20 waits 20 s (not 0)', () => {
    expect(retryAfter('Wed, 01 Oct 2025 11:59:20 GMT', 'Wed, 01 Oct 2025 11:59:00 GMT')).toBe(NOW + 20 * SECOND);
  });

  test('the Date option may be given in epoch ms', () => {
    expect(retryAfter('Wed, 01 Oct 2025 12:00:40 GMT', NOW + 10 * SECOND)).toBe(NOW + 30 * SECOND);
  });

  test('a Date in the obsolete forms is accepted too', () => {
    expect(retryAfter('Wed, 01 Oct 2025 12:00:40 GMT', 'Wednesday, 01-Oct-25 12:00:10 GMT')).toBe(NOW + 30 * SECOND);
    expect(retryAfter('Wed, 01 Oct 2025 12:00:40 GMT', 'Wed Oct  1 12:00:10 2025')).toBe(NOW + 30 * SECOND);
  });

  test('an invalid Date is ignored: the instant is measured against arrival', () => {
    expect(retryAfter('Wed, 01 Oct 2025 12:00:40 GMT', 'yesterday')).toBe(NOW + 40 * SECOND);
    expect(retryAfter('Wed, 01 Oct 2025 12:00:40 GMT', Number.NaN)).toBe(NOW + 40 * SECOND);
    expect(parse({ date: '2025-10-01T12:00:10Z', 'retry-after': 'Wed, 01 Oct 2025 12:00:40 GMT' }).retryAt).toBe(
      NOW + 40 * SECOND,
    );
  });

  test('delay-seconds count from arrival whatever Date says', () => {
    expect(retryAfter('30', 'Wed, 01 Oct 2025 13:00:00 GMT')).toBe(NOW + 30 * SECOND);
  });

  test('RFC 850 50-year rule is applied against the server Date', () => {
    // Date in 2025: year 75 is 2075 (exactly 50 years ahead), measured against the server's clock.
    expect(retryAfter('Tuesday, 01-Oct-75 12:00:00 GMT', NOW_DATE)).toBe(Date.UTC(2075, 9, 1, 12));
  });

  test('draft-10 example of a throttled response: Date 09:27:00, Retry-After 09:27:05 waits 5 s on a skewed client', () => {
    const info = parse(
      {
        date: 'Mon, 05 Aug 2019 09:27:00 GMT',
        'retry-after': 'Mon, 05 Aug 2019 09:27:05 GMT',
        ratelimit: '"default";r=0;t=5',
      },
      429,
    );
    expect(info).toMatchObject({
      remaining: 0,
      resetAt: NOW + 5 * SECOND,
      retryAt: NOW + 5 * SECOND,
      isRateLimited: true,
    });
  });
});

describe('precedence: retry-after-ms > x-ms-retry-after-ms > Retry-After (Azure SDK, openai-node)', () => {
  test.for([
    [
      'openai-node: retry-after-ms wins over Retry-After',
      { 'retry-after-ms': '1500', 'retry-after': '30' },
      NOW + 1500,
    ],
    [
      'Azure SDK: retry-after-ms wins over x-ms-retry-after-ms',
      { 'retry-after-ms': '1500', 'x-ms-retry-after-ms': '200', 'retry-after': '30' },
      NOW + 1500,
    ],
    [
      'Cosmos DB docs: x-ms-retry-after-ms 100 wins over Retry-After',
      { 'x-ms-retry-after-ms': '100', 'retry-after': '30' },
      NOW + 100,
    ],
    [
      'openai-node: retry-after-ms may be a decimal (rounded to the nearest ms)',
      { 'retry-after-ms': '1500.6' },
      NOW + 1501,
    ],
    [
      'Azure SDK: an invalid retry-after-ms falls through to the next signal',
      { 'retry-after-ms': 'soon', 'x-ms-retry-after-ms': '200' },
      NOW + 200,
    ],
    [
      'Azure SDK: an invalid x-ms-retry-after-ms falls through to Retry-After',
      { 'x-ms-retry-after-ms': '-1', 'retry-after': '3' },
      NOW + 3 * SECOND,
    ],
    ['duplicated retry-after-ms members: the largest', { 'retry-after-ms': '100, 250' }, NOW + 250],
    ['RFC 9110 5.1: names are case-insensitive', { 'Retry-After-Ms': '700', 'RETRY-AFTER': '30' }, NOW + 700],
  ] as const)('%s', ([, headers, retryAt]) => {
    expect(parse(headers).retryAt).toBe(retryAt);
  });

  test('retryAt comes only from explicit retry signals, never from a reset', () => {
    const info = parse({ ratelimit: '"default";r=0;t=5', 'x-ratelimit-reset-after': '3' }, 429);
    expect(info.retryAt).toBeUndefined();
    expect(info.resetAt).toBe(NOW + 5 * SECOND);
  });

  test('draft-10 Client Behavior: Retry-After is reported beside a RateLimit reset, which it does not change', () => {
    const info = parse({ ratelimit: '"default";r=0;t=5', 'retry-after': '20' }, 429);
    expect(info).toMatchObject({ resetAt: NOW + 5 * SECOND, retryAt: NOW + 20 * SECOND });
  });
});
