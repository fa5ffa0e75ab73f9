// The absolute instant formats of dates.ts, read directly (docs/headers.md, "Reset values").
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseAnyDate, parseHttpDate, parseIsoDate, parseJsDate } from '../../src/headers/dates.js';
import { NOW } from './support.js';

describe('parseHttpDate', () => {
  test('RFC 9110 5.6.7 example in all three forms: Sun, 06 Nov 1994 08:49:37 GMT', () => {
    const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(expected);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(expected);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994', NOW)).toBe(expected);
  });

  test('RFC 9110 5.6.7: an RFC 850 year is the coming one with its digits, unless more than 50 years ahead', () => {
    const in2099 = Date.UTC(2099, 5, 1);
    expect(parseHttpDate('Friday, 01-Jan-00 00:00:00 GMT', in2099)).toBe(Date.UTC(2100, 0, 1));
    expect(parseHttpDate('Monday, 01-Jun-98 00:00:00 GMT', in2099)).toBe(Date.UTC(2098, 5, 1));
    expect(parseHttpDate('Tuesday, 01-Oct-75 12:00:00 GMT', NOW)).toBe(Date.UTC(2075, 9, 1, 12));
    expect(parseHttpDate('Wednesday, 01-Oct-75 12:00:01 GMT', NOW)).toBe(Date.UTC(1975, 9, 1, 12, 0, 1));
  });

  test('IMF-fixdate years below 100 are not read as 19xx', () => {
    expect(new Date(parseHttpDate('Sun, 06 Nov 0094 08:49:37 GMT', NOW)!).getUTCFullYear()).toBe(94);
    expect(new Date(parseHttpDate('Sun Nov  6 08:49:37 0050', NOW)!).getUTCFullYear()).toBe(50);
  });

  test('RFC 9110 5.6.7: the weekday is not cross-checked (recipients are encouraged to be robust)', () => {
    expect(parseHttpDate('Mon, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
  });

  test('an IMF-fixdate is read exactly when it has the pattern, each character changed in turn (property)', () => {
    const pattern = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    /** The instant the pattern's fields name, with the parser's own range checks; NaN when a field is out of range. */
    const expected = (m: RegExpExecArray): number => {
      const [day, year, h, min, s] = [m[1], m[3], m[4], m[5], m[6]].map(Number) as [
        number,
        number,
        number,
        number,
        number,
      ];
      const month = months.indexOf(m[2]!);
      const t = Date.UTC(year, month, day, h, min, Math.min(s, 59));
      const at = year < 100 ? new Date(t).setUTCFullYear(year) : t;
      const date = new Date(at);
      const valid =
        month >= 0 && h <= 23 && min <= 59 && s <= 60 && date.getUTCDate() === day && date.getUTCMonth() === month;
      return valid ? at : NaN;
    };
    const instant = fc.integer({ min: Date.UTC(0, 0, 1) - 1900 * 365.25 * 86_400_000, max: Date.UTC(9999, 11, 31) });
    const char = fc.oneof(
      fc.constantFrom(' ', ',', ':', '0', '9', 'a', 'Z', '/', '\u00e9'),
      fc.string({ minLength: 1, maxLength: 1 }),
    );
    fc.assert(
      fc.property(instant, fc.nat(40), char, fc.boolean(), (at, position, replacement, insert) => {
        const valid = new Date(at).toUTCString();
        const value = insert
          ? valid.slice(0, position) + replacement + valid.slice(position)
          : valid.slice(0, position) + replacement + valid.slice(position + 1);
        const m = pattern.exec(value);
        const parsed = parseHttpDate(value, NOW);
        if (m) expect(parsed ?? NaN).toBe(expected(m));
        // Not the pattern: no HTTP-date at all, since no other form starts with a three-letter weekday and a comma.
        else if (/^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),/.test(value)) expect(parsed).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseIsoDate: RFC 3339 / ISO 8601 with an explicit zone', () => {
  test.for([
    ['Anthropic docs: 2025-08-21T12:40:59Z', '2025-08-21T12:40:59Z', Date.UTC(2025, 7, 21, 12, 40, 59)],
    ['Jira Cloud docs: minute precision 2026-03-26T16:00Z', '2026-03-26T16:00Z', Date.UTC(2026, 2, 26, 16)],
    ['RFC 3339: fractional seconds', '2025-10-01T12:00:30.250Z', NOW + 30_250],
    ['RFC 3339: nanosecond fractions round to the ms', '2025-10-01T12:00:30.2506Z', NOW + 30_251],
    ['RFC 3339: a positive offset', '2025-10-01T14:00:00+02:00', NOW],
    ['RFC 3339: a negative offset', '2025-10-01T07:30:00-04:30', NOW],
    ['ISO 8601 basic offset +0200', '2025-10-01T14:00:00+0200', NOW],
    ['RFC 3339 5.6: lower-case t and z', '2025-10-01t12:00:00z', NOW],
    ['RFC 3339 5.6: a space instead of T', '2025-10-01 12:00:00Z', NOW],
  ] as const)('%s', ([, value, expected]) => {
    expect(parseIsoDate(value)).toBe(expected);
  });

  test.for([
    ['a zone-less local time', '2025-10-01T12:00:00'],
    ['a date alone', '2025-10-01'],
    ['an offset hour above 23', '2025-10-01T12:00:00+24:00'],
    ['month 13', '2025-13-01T12:00:00Z'],
    ['month 00', '2025-00-10T12:00:00Z'],
    ['day 00', '2025-10-00T12:00:00Z'],
    ['Feb 29 of a common year', '2025-02-29T12:00:00Z'],
    ['trailing text', '2025-10-01T12:00:00Z junk'],
  ] as const)('refuses %s', ([, value]) => {
    expect(parseIsoDate(value)).toBeUndefined();
  });
});

describe('parseJsDate: Date.prototype.toString() (lemlist)', () => {
  test('lemlist docs: Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)', () => {
    expect(parseJsDate('Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)')).toBe(
      Date.UTC(2021, 1, 16, 8, 2, 42),
    );
  });

  test('the zone name in parentheses is optional', () => {
    expect(parseJsDate('Wed Oct 01 2025 07:00:00 GMT-0500')).toBe(NOW);
  });

  test('a JS date without its GMT offset is refused', () => {
    expect(parseJsDate('Wed Oct 01 2025 12:00:00')).toBeUndefined();
  });
});

describe('parseAnyDate', () => {
  test('tries HTTP-date, then RFC 3339, then JS Date.toString()', () => {
    expect(parseAnyDate('Wed, 01 Oct 2025 12:00:00 GMT', NOW)).toBe(NOW);
    expect(parseAnyDate('2025-10-01T12:00:00Z', NOW)).toBe(NOW);
    expect(parseAnyDate('Wed Oct 01 2025 12:00:00 GMT+0000 (Coordinated Universal Time)', NOW)).toBe(NOW);
    expect(parseAnyDate('next tuesday', NOW)).toBeUndefined();
  });
});
