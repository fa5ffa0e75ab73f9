// Absolute instants as servers write them. Pure: every function returns epoch ms or undefined, never throws.

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

const WEEKDAYS: ReadonlySet<string> = new Set(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']);
const RFC850_DATE =
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;
// RFC 3339 / ISO 8601 with an explicit zone; seconds optional (Jira sends `2026-03-26T16:00Z`).
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;
// JavaScript's Date.prototype.toString(): `Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)`.
const JS_DATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) (\d{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT([+-])(\d{2})(\d{2})(?: \([^()]*\))?$/;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

/** Epoch ms of a UTC calendar time, or undefined when a field is out of range (Feb 30, 25:00, …). */
function utc(
  year: number,
  month: number | undefined,
  day: number,
  h: number,
  m: number,
  s: number,
): number | undefined {
  const days = month === undefined ? undefined : DAYS_IN_MONTH[month]; // an ISO month 00 or 13 has none
  if (month === undefined || days === undefined || h > 23 || m > 59 || s > 60 || day < 1 || day > days)
    return undefined;
  if (month === 1 && day === 29 && !isLeapYear(year)) return undefined;
  // A leap second is read as the last second of its minute.
  const t = Date.UTC(year, month, day, h, m, Math.min(s, 59));
  // Date.UTC reads the years 0 to 99 as 1900 to 1999.
  const at = year >= 0 && year < 100 ? new Date(t).setUTCFullYear(year) : t;
  return Number.isFinite(at) ? at : undefined;
}

/** `now` plus `years` calendar years (NaN when that leaves Date's range). */
function addYears(now: number, years: number): number {
  const date = new Date(now);
  return date.setUTCFullYear(date.getUTCFullYear() + years);
}

/**
 * An RFC 850 date with its two-digit year: the coming year with those digits, unless that timestamp is more than
 * 50 years after `now`, which RFC 9110 5.6.7 reads as the most recent past year with those digits.
 */
function rfc850(m: RegExpExecArray, now: number): number | undefined {
  const nowYear = new Date(now).getUTCFullYear();
  let year = nowYear - (nowYear % 100) + Number(m[3]);
  if (year < nowYear) year += 100;
  const at = (y: number) => utc(y, MONTHS[m[2]!], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const t = at(year);
  return t !== undefined && t > addYears(now, 50) ? at(year - 100) : t;
}

/** The decimal number of the ASCII digits of `value` in `[from, to)`, NaN when one is not a digit. */
function digitsAt(value: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = value.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return NaN;
    n = n * 10 + d;
  }
  return n;
}

const isUpper = (c: number): boolean => c >= 65 && c <= 90;
const isLower = (c: number): boolean => c >= 97 && c <= 122;

/**
 * Whether `value` has the shape of an IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`: each part at its fixed offset
 * (the digits are checked as they are read). Every `Date` field has it: read by position, without a pattern.
 */
function isImfFixdate(value: string): boolean {
  return (
    value.length === 29 &&
    value.startsWith(', ', 3) &&
    value.charCodeAt(7) === 32 &&
    isUpper(value.charCodeAt(8)) &&
    isLower(value.charCodeAt(9)) &&
    isLower(value.charCodeAt(10)) &&
    value.charCodeAt(11) === 32 &&
    value.charCodeAt(16) === 32 &&
    value.charCodeAt(19) === 58 &&
    value.charCodeAt(22) === 58 &&
    value.endsWith(' GMT') &&
    WEEKDAYS.has(value.slice(0, 3))
  );
}

/** The IMF-fixdate `parseHttpDate` read last, and what it read (its instant, or undefined for none). */
let lastFixdate: { readonly value: string; readonly at: number | undefined } = { value: '', at: undefined };

/**
 * An RFC 9110 HTTP-date in any of its three forms: IMF-fixdate, the obsolete RFC 850 form and asctime.
 * An RFC 850 timestamp more than 50 years after `now` means the most recent past year with those two digits.
 */
export function parseHttpDate(value: string, now: number): number | undefined {
  // The answers of one second all carry the same `Date`: the fixdate read last is remembered with its instant.
  if (value === lastFixdate.value) return lastFixdate.at;
  if (isImfFixdate(value)) {
    const day = digitsAt(value, 5, 7);
    const year = digitsAt(value, 12, 16);
    const h = digitsAt(value, 17, 19);
    const m = digitsAt(value, 20, 22);
    const s = digitsAt(value, 23, 25);
    // A non-digit where a digit belongs: no HTTP-date of any form (the others do not start with `Www, `).
    if (Number.isNaN(day + year + h + m + s)) return undefined;
    const at = utc(year, MONTHS[value.slice(8, 11)], day, h, m, s);
    lastFixdate = { value, at };
    return at;
  }
  let m = ASCTIME_DATE.exec(value);
  if (m) return utc(Number(m[6]), MONTHS[m[1]!], Number(m[2]!.trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  m = RFC850_DATE.exec(value);
  return m ? rfc850(m, now) : undefined;
}

/** An RFC 3339 / ISO 8601 date-time with an explicit zone (`Z` or an offset). Zone-less local times are refused. */
export function parseIsoDate(value: string): number | undefined {
  const m = ISO_DATE.exec(value);
  if (!m) return undefined;
  const base = utc(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  if (base === undefined) return undefined;
  const fraction = m[7] === undefined ? 0 : Math.round(Number(`0.${m[7]}`) * 1000);
  const offsetMinutes = m[8] === undefined ? zoneMinutes(m[9], m[10], m[11]) : 0;
  return offsetMinutes === undefined ? undefined : base + fraction - offsetMinutes * 60_000;
}

function zoneMinutes(sign: string | undefined, hh: string | undefined, mm: string | undefined): number | undefined {
  const h = Number(hh);
  const m = Number(mm);
  if (h > 23 || m > 59) return undefined;
  return (sign === '-' ? -1 : 1) * (h * 60 + m);
}

/** JavaScript's `Date.prototype.toString()` form, which some servers send (lemlist). */
export function parseJsDate(value: string): number | undefined {
  const m = JS_DATE.exec(value);
  if (!m) return undefined;
  const base = utc(Number(m[3]), MONTHS[m[1]!], Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offset = zoneMinutes(m[7], m[8], m[9]);
  return base === undefined || offset === undefined ? undefined : base - offset * 60_000;
}

/** Any absolute instant a reset field may carry: HTTP-date, RFC 3339, or JS `Date.toString()`. */
export function parseAnyDate(value: string, now: number): number | undefined {
  return parseHttpDate(value, now) ?? parseIsoDate(value) ?? parseJsDate(value);
}
