// Scalar values inside rate-limit fields: counts, delays, durations and reset instants. Pure, never throws.
import { parseAnyDate, parseHttpDate } from './dates.js';
import type { RateLimitPolicy } from './types.js';

/** The instants a parse is measured against. */
export interface TimeBase {
  /** Local arrival time of the response (epoch ms). */
  readonly now: number;
  /** The server's idea of `now`: its valid `Date` header, otherwise `now`. Absolute instants are measured against it. */
  readonly reference: number;
  /** Where the readers note the policies whose reset the server stated as a delay, when the caller asks. */
  readonly delays?: RateLimitPolicy[] | undefined;
}

/**
 * A TimeBase whose reference is the response's `Date` (when valid), parsed only when an absolute instant needs it:
 * most answers state only relative values.
 */
export class LazyTimeBase implements TimeBase {
  #reference: number | undefined;
  constructor(
    readonly now: number,
    /** The `Date` field's value, if any. */
    private readonly date: string | undefined,
    readonly delays?: RateLimitPolicy[],
  ) {}
  get reference(): number {
    const { date } = this;
    this.#reference ??= (date === undefined ? undefined : parseHttpDate(date.trim(), this.now)) ?? this.now;
    return this.#reference;
  }
}

const DAY_MS = 86_400_000;
// Date's own range: any instant past it is not an instant.
const MAX_INSTANT = 8.64e15;
const WEEKDAY = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*$/;
/** A bare reset number at least this large is read as epoch milliseconds (docs/headers.md, "Reset values"). */
export const EPOCH_MS_FROM = 1e11;
/** A bare reset number at least this large, and below {@link EPOCH_MS_FROM}, is read as epoch seconds. */
export const EPOCH_SECONDS_FROM = 1e9;

/**
 * Whether `value` is digits, optionally followed by a point and more digits (`40`, `595.0`): what `Number` reads
 * the same in every engine. Scanned rather than matched: every count of every answer passes here.
 */
function isDecimal(value: string): boolean {
  const n = value.length;
  let i = 0;
  while (i < n && isDigit(value.charCodeAt(i))) i++;
  if (i === 0) return false;
  if (i === n) return true;
  if (value.charCodeAt(i) !== 46 || i + 1 === n) return false; // `.`
  for (i++; i < n; i++) if (!isDigit(value.charCodeAt(i))) return false;
  return true;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** A non-negative decimal count (`40`, `595.0`), at most `Number.MAX_SAFE_INTEGER`. */
export function parseCount(value: string): number | undefined {
  if (!isDecimal(value)) return undefined;
  const n = Number(value);
  return n <= Number.MAX_SAFE_INTEGER ? n : undefined;
}

/** A quota size: a count that is a whole number (tollbooth's `0.02` is a rate, not a limit). */
export function parseLimitValue(value: string): number | undefined {
  const n = parseCount(value);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

/** Units left: a count, floored (Reddit sends `595.0`). */
export function parseRemainingValue(value: string): number | undefined {
  const n = parseCount(value);
  return n === undefined ? undefined : Math.floor(n);
}

/** Decimal seconds (`30`, `64.57`, Shopify's `2.0`) in ms, rounded to the nearest ms. */
export function parseSecondsMs(value: string): number | undefined {
  const n = parseCount(value);
  return n === undefined ? undefined : Math.round(n * 1000);
}

/** A stated window length, `unitMs` ms per unit: positive, or undefined (a zero window describes no quota). */
export function parseWindowMs(value: string | undefined, unitMs: number): number | undefined {
  const n = value === undefined ? undefined : parseCount(value);
  const ms = n === undefined ? 0 : Math.round(n * unitMs);
  return ms > 0 ? ms : undefined;
}

/** Decimal milliseconds (`retry-after-ms: 1500.5`). */
export function parseMs(value: string): number | undefined {
  const n = parseCount(value);
  return n === undefined ? undefined : Math.round(n);
}

const GO_UNIT_MS: Readonly<Record<string, number>> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ns: 1e-6,
};
const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|μs|ns))+$/;
const GO_PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|μs|ns)/g;

/** A Go duration as OpenAI sends it (`1s`, `6m0s`, `12ms`, `1h2m3s`); a bare number means seconds (Azure OpenAI). */
export function parseGoDurationMs(value: string): number | undefined {
  if (isDecimal(value)) return parseSecondsMs(value);
  if (value.length > 64 || !GO_DURATION.test(value)) return undefined;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(GO_PART)) total += Number(amount) * (GO_UNIT_MS[unit!] ?? 0);
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** The local instant `delayMs` after arrival, or undefined when it is not a usable instant. */
export function afterDelay(delayMs: number | undefined, time: TimeBase): number | undefined {
  if (delayMs === undefined || !(delayMs >= 0)) return undefined;
  const at = time.now + delayMs;
  return at <= MAX_INSTANT ? at : undefined;
}

/** The local instant matching the server's absolute instant `serverAt`, measured against `reference` (skew-safe). */
export function atServerInstant(serverAt: number | undefined, time: TimeBase): number | undefined {
  if (serverAt === undefined) return undefined;
  return afterDelay(Math.max(0, serverAt - time.reference), time);
}

/**
 * A reset field whose format is not fixed by its vendor (docs/headers.md, "Reset values"): a bare number is epoch ms
 * (>= 1e11), epoch seconds (>= 1e9) when it lands between a day before and a year after the reference, otherwise
 * delta seconds; anything else must be a date with a zone.
 */
export function parseResetInstant(value: string, time: TimeBase): number | undefined {
  if (isDecimal(value)) {
    const v = Number(value);
    const epochMs = v >= EPOCH_MS_FROM ? v : v >= EPOCH_SECONDS_FROM ? v * 1000 : undefined;
    if (epochMs === undefined) return afterDelay(parseSecondsMs(value), time);
    const inWindow = epochMs >= time.reference - DAY_MS && epochMs <= time.reference + 366 * DAY_MS;
    return inWindow ? atServerInstant(Math.round(epochMs), time) : undefined;
  }
  return atServerInstant(parseAnyDate(value, time.reference), time);
}

/**
 * Whether a reset value reads as seconds left in {@link parseResetInstant} (a bare number below
 * {@link EPOCH_SECONDS_FROM}), not as an instant.
 */
export function isDelayValue(value: string): boolean {
  return isDecimal(value) && Number(value) < EPOCH_SECONDS_FROM;
}

/**
 * `policy`, noted in `time.delays` (when the caller asked for them) as one whose reset its server stated as a delay
 * (seconds left, measured from when it wrote the answer) when `delay`: read against the answer's arrival, such a
 * reset holds whatever the answer's `Date` says.
 */
export function withDelayReset(policy: RateLimitPolicy, delay: boolean, time: TimeBase): RateLimitPolicy {
  if (delay && policy.resetAt !== undefined) time.delays?.push(policy);
  return policy;
}

/**
 * A reset field that may arrive duplicated (see {@link mergeDuplicates}): the latest of its instants. Read whole
 * first, as `mergeDuplicates` would, without a closure made for it: most fields are single.
 */
export function parseResetField(value: string, time: TimeBase): number | undefined {
  const whole = parseResetInstant(value, time);
  if (whole !== undefined || !value.includes(',')) return whole;
  return mergeDuplicates(value, (member) => parseResetInstant(member, time), Math.max);
}

/**
 * Splits a field that several lines joined with commas, without breaking an HTTP-date (`Wed, 21 Oct 2015 …`)
 * at its own comma.
 */
export function splitMembers(value: string): string[] {
  const parts = value.split(',');
  const members: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!.trim();
    const next = parts[i + 1];
    if (next !== undefined && WEEKDAY.test(part)) {
      members.push(`${part}, ${next.trim()}`);
      i++;
    } else {
      members.push(part);
    }
  }
  return members;
}

/**
 * A singleton field that may arrive duplicated (docs/headers.md, "Duplicated singleton fields"): when every member is
 * valid the safest one wins (`pick`), when any member is invalid the whole field is ignored.
 */
export function mergeDuplicates(
  value: string,
  parse: (member: string) => number | undefined,
  pick: (a: number, b: number) => number,
): number | undefined {
  const whole = parse(value);
  if (whole !== undefined || !value.includes(',')) return whole;
  let result: number | undefined;
  for (const member of splitMembers(value)) {
    const n = parse(member);
    if (n === undefined) return undefined;
    result = result === undefined ? n : pick(result, n);
  }
  return result;
}

/** `T` with every optional property also accepting `undefined`, as built before {@link compact}. */
export type Loose<T> = { [K in keyof T]: T[K] | undefined };

/** Drops the `undefined` properties, so optional fields are absent rather than present and undefined. */
export function compact<T extends object>(o: Loose<T>): T {
  const out: Record<string, unknown> = {};
  const input = o as Record<string, unknown>;
  for (const key in input) if (input[key] !== undefined) out[key] = input[key];
  return out as T;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A policy with only its stated fields, built field by field in one fixed order (faster than {@link compact} on
 * the hot path, and every policy shares the same few shapes).
 */
export function makePolicy(p: Loose<RateLimitPolicy> & Pick<RateLimitPolicy, 'source' | 'unit'>): RateLimitPolicy {
  const out: Mutable<RateLimitPolicy> = { source: p.source, unit: p.unit };
  if (p.name !== undefined) out.name = p.name;
  if (p.limit !== undefined) out.limit = p.limit;
  if (p.remaining !== undefined) out.remaining = p.remaining;
  if (p.resetAt !== undefined) out.resetAt = p.resetAt;
  if (p.windowMs !== undefined) out.windowMs = p.windowMs;
  if (p.partitionKey !== undefined) out.partitionKey = p.partitionKey;
  return out;
}
