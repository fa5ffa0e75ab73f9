// Reset values whose format the family does not fix: the magnitude heuristic and the date forms (docs/headers.md,
// "Reset values").
import { describe, expect, test } from 'vitest';
import { DAY, MINUTE, NOW, NOW_SECONDS, parse, SECOND } from './support.js';

/** The reset instant a bare `X-RateLimit-Reset` (or draft-06 `RateLimit-Reset`) gives, with an optional Date. */
function resetAt(value: string, name = 'x-ratelimit-reset', date?: string): number | undefined {
  const headers: Record<string, string> = { 'x-ratelimit-remaining': '5', 'ratelimit-remaining': '5', [name]: value };
  if (date !== undefined) headers['date'] = date;
  return parse(headers).resetAt;
}

describe('the magnitude table of a bare reset number, against the reference time R (= Date, else arrival)', () => {
  const rows: readonly (readonly [name: string, value: string, expected: number | undefined])[] = [
    ['v < 1e9: delta seconds', '30', NOW + 30 * SECOND],
    ['v < 1e9: 0 means now', '0', NOW],
    ['v < 1e9: fractions allowed, rounded to the nearest ms', '64.57', NOW + 64_570],
    ['v < 1e9: 999999999 is still delta seconds (31.7 years)', '999999999', NOW + 999_999_999 * SECOND],
    ['v >= 1e9: epoch seconds within R - 1 day … R + 366 days', String(NOW_SECONDS + 30), NOW + 30 * SECOND],
    ['v >= 1e9: epoch seconds in the past (within a day) clamp to now', String(NOW_SECONDS - 3600), NOW],
    ['v >= 1e9: epoch seconds exactly R - 1 day is inside the window', String(NOW_SECONDS - 86_400), NOW],
    ['v >= 1e9: epoch seconds one second before R - 1 day is ignored', String(NOW_SECONDS - 86_401), undefined],
    [
      'v >= 1e9: epoch seconds exactly R + 366 days is inside the window',
      String(NOW_SECONDS + 366 * 86_400),
      NOW + 366 * DAY,
    ],
    [
      'v >= 1e9: epoch seconds one second after R + 366 days is ignored',
      String(NOW_SECONDS + 366 * 86_400 + 1),
      undefined,
    ],
    ['v >= 1e9: 1e9 itself (Sep 2001) is out of the window, ignored', '1000000000', undefined],
    ['v >= 1e9: 9999999999 (year 2286) is out of the window, ignored', '9999999999', undefined],
    ['Discord docs: fractional epoch seconds 1470173023.123 style', `${NOW_SECONDS + 30}.123`, NOW + 30_123],
    ['v >= 1e11: epoch ms within the window', String(NOW + 30 * SECOND), NOW + 30 * SECOND],
    ['v >= 1e11: epoch ms in the past (within a day) clamp to now', String(NOW - MINUTE), NOW],
    ['v >= 1e11: epoch ms out of the window are ignored', String(NOW + 367 * DAY), undefined],
    ['v >= 1e11: 1e11 (1973 as ms) is ignored', '100000000000', undefined],
    ['1000000000000 (1e12: 2001 as ms, year 33658 as s) is ignored', '1000000000000', undefined],
    ['above MAX_SAFE_INTEGER is ignored', '99999999999999999999', undefined],
    ['-30 is ignored', '-30', undefined],
    ['exponent text 1e12 is ignored', '1e12', undefined],
    ['a word is ignored', 'soon', undefined],
    ['a duration with a unit is ignored', '30s', undefined],
    ['an HTTP-date is accepted', 'Wed, 01 Oct 2025 12:01:00 GMT', NOW + MINUTE],
    ['an asctime date is accepted', 'Wed Oct  1 12:01:00 2025', NOW + MINUTE],
    ['Jira Cloud docs: ISO 8601 minute precision yyyy-MM-ddTHH:mmZ', '2025-10-01T12:01Z', NOW + MINUTE],
    ['RFC 3339 with an offset', '2025-10-01T14:01:00+02:00', NOW + MINUTE],
    ['RFC 3339 with fractions', '2025-10-01T12:00:30.250Z', NOW + 30_250],
    ['ISO 8601 without a zone is refused', '2025-10-01T12:01:00', undefined],
    [
      'lemlist: JS Date.toString() with a GMT offset',
      'Wed Oct 01 2025 14:01:00 GMT+0200 (Central European Summer Time)',
      NOW + MINUTE,
    ],
    ['a date in the past clamps to now', '2025-09-30T12:00:00Z', NOW],
  ];

  test.for(rows)('%s: %j', ([, value, expected]) => {
    expect(resetAt(value)).toBe(expected);
  });

  test.for(rows)('draft-06 RateLimit-Reset goes through the same table (GitLab, Twitch): %s', ([, value, expected]) => {
    expect(resetAt(value, 'ratelimit-reset')).toBe(expected);
  });
});

describe('absolute resets are measured against Date', () => {
  test('epoch seconds: Date 12:00:10, reset 12:00:40, arrival 12:00:00 gives 30 s', () => {
    expect(resetAt(String(NOW_SECONDS + 40), 'x-ratelimit-reset', 'Wed, 01 Oct 2025 12:00:10 GMT')).toBe(
      NOW + 30 * SECOND,
    );
  });

  test('epoch ms: Date 12:00:10, reset 12:00:40.500 gives 30.5 s', () => {
    expect(resetAt(String(NOW + 40_500), 'x-ratelimit-reset', 'Wed, 01 Oct 2025 12:00:10 GMT')).toBe(NOW + 30_500);
  });

  test('RFC 3339: Date 12:00:10, reset 12:00:40Z gives 30 s', () => {
    expect(resetAt('2025-10-01T12:00:40Z', 'x-ratelimit-reset', 'Wed, 01 Oct 2025 12:00:10 GMT')).toBe(
      NOW + 30 * SECOND,
    );
  });

  test('delta seconds ignore Date', () => {
    expect(resetAt('30', 'x-ratelimit-reset', 'Wed, 01 Oct 2025 13:00:00 GMT')).toBe(NOW + 30 * SECOND);
  });

  test('the epoch window is measured against Date: a server two days behind our clock is still read', () => {
    const serverNow = NOW - 2 * DAY;
    const date = new Date(serverNow).toUTCString();
    expect(resetAt(String(serverNow / 1000 + 30), 'x-ratelimit-reset', date)).toBe(NOW + 30 * SECOND);
  });

  test('express-rate-limit legacy headers: Date beside an epoch-seconds X-RateLimit-Reset', () => {
    const info = parse({
      date: 'Wed, 01 Oct 2025 11:59:58 GMT',
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '4',
      'x-ratelimit-reset': String(NOW_SECONDS + 58),
    });
    expect(info).toMatchObject({ limit: 5, remaining: 4, resetAt: NOW + MINUTE });
  });
});
