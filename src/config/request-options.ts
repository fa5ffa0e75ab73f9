// Per-request options (`init.ratewise`, axios' `config.ratewise`): checked at each call, since they arrive with it.
import { invalidOption } from '../errors.js';
import type { RequestOptions } from '../options.js';

/** Validates a request's `ratewise` field; throws `TypeError` naming the option, as `createRatewise` does. */
export function checkRequestOptions(o: unknown): RequestOptions {
  if (o === undefined) return {};
  if (typeof o !== 'object' || o === null) throw invalidOption('ratewise', 'an object', o);
  const r = o as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!['priority', 'cost', 'key', 'maxWait', 'retry', 'idempotencyKey'].includes(key)) {
      throw new TypeError(`Unknown option \`ratewise.${key}\``);
    }
  }
  if (r.priority !== undefined && !Number.isFinite(r.priority))
    throw invalidOption('ratewise.priority', 'a finite number', r.priority);
  if (r.cost !== undefined && !(typeof r.cost === 'number' && r.cost >= 0 && Number.isFinite(r.cost))) {
    throw invalidOption('ratewise.cost', 'a non-negative finite number', r.cost);
  }
  if (r.key !== undefined && typeof r.key !== 'string') throw invalidOption('ratewise.key', 'a string', r.key);
  if (r.maxWait !== undefined && !(typeof r.maxWait === 'number' && r.maxWait >= 0)) {
    throw invalidOption('ratewise.maxWait', 'a non-negative number of milliseconds', r.maxWait);
  }
  const id = r.idempotencyKey;
  if (id !== undefined && typeof id !== 'boolean' && !(typeof id === 'string' && id !== '')) {
    throw invalidOption('ratewise.idempotencyKey', 'a boolean or a non-empty string', id);
  }
  if (r.retry !== undefined) checkRetryOverrides(r.retry);
  return o;
}

/** The per-request retry overrides are spread over the client's: a bad value would reach the attempt loop. */
function checkRetryOverrides(value: unknown): void {
  if (typeof value !== 'object' || value === null) throw invalidOption('ratewise.retry', 'an object', value);
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
  }
}
