// Per-request options (`init.ratewise`, axios' `config.ratewise`): checked at each call, since they arrive with it.
import { invalidOption } from '../errors.js';
import { knownOptions } from './known-options.js';
import type { RequestOptions } from '../options.js';

const REQUEST_KEYS = ['priority', 'cost', 'key', 'maxWait', 'retry', 'idempotencyKey'] as const;
const SCHEDULE_KEYS = ['priority', 'cost', 'key', 'maxWait'] as const;

/**
 * Validates a request's `ratewise` field; throws `TypeError` naming the option, as `createRatewise` does. Returns a
 * copy of what it checked, each option read once: the engine reads the copy, never the caller's object again.
 */
export function checkRequestOptions(o: unknown): RequestOptions {
  if (o === undefined) return {};
  const r = checkCallOptions(o, 'ratewise', REQUEST_KEYS, true);
  const id = r.idempotencyKey;
  if (id !== undefined && typeof id !== 'boolean' && !(typeof id === 'string' && id !== '')) {
    throw invalidOption('ratewise.idempotencyKey', 'a boolean or a non-empty string', id);
  }
  if (r.retry !== undefined) r.retry = checkRetryOverrides(r.retry);
  return r;
}

/** The options of `rw.schedule()`, checked as a request's are, with the same messages. */
export interface CheckedScheduleOptions {
  readonly priority?: number;
  readonly cost?: number;
  readonly key?: string;
  readonly maxWait?: number;
}

/** Validates `rw.schedule()`'s options; throws `TypeError` naming the option, as `rw.fetch` does for its own. */
export function checkScheduleOptions(o: unknown): CheckedScheduleOptions {
  if (o === undefined) return {};
  return checkCallOptions(o, 'options', SCHEDULE_KEYS, false);
}

/**
 * What a request and a task share: the key, the priority, the wait, and the cost. A cost or priority that is not a
 * finite number would make every later wait of its budget unanswerable (NaN) or endless (a debt of Infinity).
 * Returns the options as read, the undefined ones left out.
 */
function checkCallOptions(o: unknown, name: string, keys: readonly string[], units: boolean): Record<string, unknown> {
  // Each option is read once: a getter (or a Proxy) read again could answer something other than what was checked.
  const r = knownOptions(o, name, keys, `${name}.`);
  if (r.priority !== undefined && !Number.isFinite(r.priority))
    throw invalidOption(`${name}.priority`, 'a finite number', r.priority);
  if (r.cost !== undefined && !isAmount(r.cost)) {
    if (units && typeof r.cost === 'object' && r.cost !== null && !Array.isArray(r.cost)) {
      r.cost = checkUnitCosts(r.cost, name);
    } else {
      const expected = units
        ? 'a non-negative finite number, or a record of them per unit'
        : 'a non-negative finite number';
      throw invalidOption(`${name}.cost`, expected, r.cost);
    }
  }
  // An empty key names no budget: every call given one would share a budget no pattern can name.
  if (r.key !== undefined && !(typeof r.key === 'string' && r.key !== '')) {
    throw invalidOption(`${name}.key`, 'a non-empty string', r.key);
  }
  if (r.maxWait !== undefined && !(typeof r.maxWait === 'number' && r.maxWait >= 0)) {
    throw invalidOption(`${name}.maxWait`, 'a non-negative number of milliseconds', r.maxWait);
  }
  return r;
}

/**
 * The per-request retry overrides are spread over the client's: a bad value would reach the attempt loop. Returns
 * them as read, the undefined ones left out (they leave the client's value in place).
 */
function checkRetryOverrides(value: unknown): NonNullable<RequestOptions['retry']> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption('ratewise.retry', 'an object', value);
  }
  const checked: Record<string, number> = {};
  for (const [key, v] of Object.entries(value)) {
    const name = `ratewise.retry.${key}`;
    if (key !== 'limit' && key !== 'rateLimitLimit' && key !== 'maxRetryAfter') {
      throw new TypeError(
        `Unknown option \`${name}\`; expected one of \`limit\`, \`rateLimitLimit\`, \`maxRetryAfter\``,
      );
    }
    if (v === undefined) continue;
    if (key === 'maxRetryAfter' ? !(typeof v === 'number' && v >= 0) : !(Number.isInteger(v) && Number(v) >= 0)) {
      throw invalidOption(
        name,
        key === 'maxRetryAfter' ? 'a non-negative number of milliseconds' : 'a non-negative integer',
        v,
      );
    }
    checked[key] = v as number;
  }
  return checked;
}

function isAmount(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && Number.isFinite(value);
}

/** Most units a cost, a budget's `units` or its server view names: a server limits a handful. */
export const MAX_UNITS = 16;
/** Longest unit name: a header's unit is a short token. */
const MAX_UNIT_LENGTH = 64;

/**
 * The units of a record keyed by unit (a cost, a budget's `units`), when their count and names are acceptable;
 * otherwise a `TypeError` naming `optionName`.
 */
export function checkUnits<T>(record: object, optionName: string): [string, T][] {
  const entries = Object.entries(record) as [string, T][];
  if (entries.length > MAX_UNITS) {
    throw invalidOption(optionName, `at most ${String(MAX_UNITS)} units`, `${String(entries.length)} units`);
  }
  for (const [unit] of entries) {
    if (unit === '' || unit.length > MAX_UNIT_LENGTH) {
      throw invalidOption(optionName, `unit names of 1 to ${String(MAX_UNIT_LENGTH)} characters`, unit);
    }
  }
  return entries;
}

/** A cost per unit, checked; returns a copy of it, each amount read once. */
function checkUnitCosts(cost: object, name: string): Record<string, number> {
  const entries = checkUnits<unknown>(cost, `${name}.cost`);
  for (const [unit, amount] of entries) {
    if (!isAmount(amount)) throw invalidOption(`${name}.cost.${unit}`, 'a non-negative finite number', amount);
  }
  // fromEntries: a unit named `__proto__` stays a unit.
  return Object.fromEntries(entries) as Record<string, number>;
}

/**
 * A checked request's cost as the engine takes it: the requests it counts as (`requests`, 1 unless the record says)
 * and, for a record, its cost per unit, requests included (undefined for a plain number).
 */
export function splitCost(
  cost: number | Readonly<Record<string, number>> | undefined,
): [requests: number, units: (readonly [string, number])[] | undefined] {
  if (cost === undefined) return [1, undefined];
  if (typeof cost === 'number') return [cost, undefined];
  let requests = 1;
  const units: [string, number][] = [];
  for (const [unit, amount] of Object.entries(cost)) {
    if (unit === 'requests') requests = amount;
    else if (amount > 0) units.push([unit, amount]);
  }
  // Requests are a unit too where the server's quotas refill evenly (the engine paces them there with the rest).
  if (requests > 0) units.push(['requests', requests]);
  return [requests, units];
}
