import { formatValue, invalidOption } from '../errors.js';
import type { RateSpec } from '../options.js';

/** A normalised rate: `limit` units per `intervalMs`. Both positive and finite. */
export interface Rate {
  readonly limit: number;
  readonly intervalMs: number;
}

const EXPECTED = 'a rate such as "10/s", "5000/hour" or "200 per day"';
const UNITS: readonly (readonly [ms: number, names: readonly string[]])[] = [
  [1, ['ms', 'msec', 'msecs', 'millisecond', 'milliseconds']],
  [1000, ['s', 'sec', 'secs', 'second', 'seconds']],
  [60_000, ['m', 'min', 'mins', 'minute', 'minutes']],
  [3_600_000, ['h', 'hr', 'hrs', 'hour', 'hours']],
  [86_400_000, ['d', 'day', 'days']],
];
const UNIT_MS: ReadonlyMap<string, number> = new Map(
  UNITS.flatMap(([ms, names]) => names.map((name) => [name, ms] as const)),
);
// A decimal, with an optional exponent (`1e3`, `2.5E-1`): no unit begins with `e`, so the exponent is never a unit.
const NUMBER = String.raw`(?:\d+(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?`;
// <limit> ("/" | "per") [<count>] <unit>, with optional spaces around each part.
const RATE_PATTERN = new RegExp(String.raw`^(${NUMBER})\s*(?:/|\bper\b)\s*(${NUMBER})?\s*([a-z]+)$`, 'i');
const SEPARATORS = /[;,|]/;

/**
 * Parses a {@link RateSpec} into one or more {@link Rate}s, all of which apply at once.
 *
 * @param optionName The option's name in error messages, e.g. `budgets["api.github.com"].rate`.
 * @throws {TypeError} ``Expected `rate` to be a rate such as "10/s", … got `"abc"` (string)``.
 */
export function parseRate(spec: RateSpec, optionName = 'rate'): Rate[] {
  const value: unknown = spec;
  if (Array.isArray(value)) {
    if (value.length === 0) throw invalidOption(optionName, `${EXPECTED}, or a non-empty array of them`, value);
    return value.flatMap((item: unknown, index) => parseOne(item, `${optionName}[${index}]`));
  }
  return parseOne(value, optionName);
}

function parseOne(value: unknown, optionName: string): Rate[] {
  if (typeof value === 'string') return parseString(value, optionName);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return [parseObject(value, optionName)];
  throw invalidOption(optionName, EXPECTED, value);
}

function parseString(text: string, optionName: string): Rate[] {
  return text.split(SEPARATORS).map((part) => {
    const rate = parseSingle(part.trim());
    if (rate === undefined) throw invalidOption(optionName, EXPECTED, text);
    return rate;
  });
}

function parseSingle(text: string): Rate | undefined {
  const match = RATE_PATTERN.exec(text);
  if (match === null) return undefined;
  const [, limitText = '', countText = '1', unitText = ''] = match;
  const unitMs = UNIT_MS.get(unitText.toLowerCase());
  if (unitMs === undefined) return undefined;
  const limit = Number(limitText);
  const intervalMs = Number(countText) * unitMs;
  return isPositiveFinite(limit) && isPositiveFinite(intervalMs) ? freeze(limit, intervalMs) : undefined;
}

function parseObject(value: object, optionName: string): Rate {
  const keys = Object.keys(value);
  const unknown = keys.find((key) => key !== 'limit' && key !== 'interval');
  if (unknown !== undefined) {
    throw new TypeError(
      `Expected \`${optionName}\` to have only the keys \`limit\` and \`interval\`, got key ` +
        `\`${unknown}\` in ${formatValue(value)}`,
    );
  }
  const { limit, interval } = value as { limit?: unknown; interval?: unknown };
  if (!isPositiveFinite(limit)) throw invalidOption(`${optionName}.limit`, 'a positive finite number', limit);
  if (!isPositiveFinite(interval)) {
    throw invalidOption(`${optionName}.interval`, 'a positive finite number of milliseconds', interval);
  }
  return freeze(limit, interval);
}

function isPositiveFinite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

function freeze(limit: number, intervalMs: number): Rate {
  return Object.freeze({ limit, intervalMs });
}

/** One rate of a multi-rate bucket and its burst. */
export interface BucketLimit {
  readonly rate: Rate;
  /** Most tokens the bucket holds: the largest burst, in cost units. Positive. */
  readonly capacity: number;
}
