// Vendor families with several dimensions or their own syntax: OpenAI, Anthropic, HubSpot, Azure Resource Manager,
// Shopify, Salesforce (docs/headers.md, "Vendor families").
import { parseIsoDate } from './dates.js';
import type { Fields } from './fields.js';
import type { RateLimitPolicy, RateLimitSource } from './types.js';
import {
  afterDelay,
  atServerInstant,
  mergeDuplicates,
  parseGoDurationMs,
  parseLimitValue,
  parseWindowMs,
  parseRemainingValue,
  type TimeBase,
  makePolicy,
} from './values.js';

type ResetReader = (value: string, time: TimeBase) => number | undefined;

/**
 * One dimension of a `{prefix}{limit,remaining,reset}{suffix}` family. Each value is read on its own: an unreadable
 * one is left out and its neighbours kept. A dimension needs a readable limit or remaining (a reset alone describes
 * no quota), so Azure OpenAI's `-1` sentinels (limit and remaining `-1`, reset `0`) describe nothing.
 */
function dimension(
  fields: Fields,
  source: RateLimitSource,
  name: string,
  names: Names,
  readReset: ResetReader,
  time: TimeBase,
): RateLimitPolicy | undefined {
  const limitValue = fields.get(names[0]);
  const remainingValue = fields.get(names[1]);
  const limit = limitValue === undefined ? undefined : mergeDuplicates(limitValue, parseLimitValue, Math.min);
  const remaining =
    remainingValue === undefined ? undefined : mergeDuplicates(remainingValue, parseRemainingValue, Math.min);
  if (limit === undefined && remaining === undefined) return undefined;
  const resetValue = names[2] === undefined ? undefined : fields.get(names[2]);
  const resetAt =
    resetValue === undefined ? undefined : mergeDuplicates(resetValue, (v) => readReset(v, time), Math.max);
  return makePolicy({ source, name, unit: name, limit, remaining, resetAt });
}

const goDuration: ResetReader = (value, time) => afterDelay(parseGoDurationMs(value), time);
const rfc3339: ResetReader = (value, time) => atServerInstant(parseIsoDate(value), time);

type Names = readonly [limit: string, remaining: string, reset?: string];

const OPENAI: readonly (readonly [string, Names])[] = ['requests', 'tokens'].map((unit) => [
  unit,
  [`x-ratelimit-limit-${unit}`, `x-ratelimit-remaining-${unit}`, `x-ratelimit-reset-${unit}`],
]);

const ANTHROPIC: readonly (readonly [string, Names])[] = ['requests', 'tokens', 'input-tokens', 'output-tokens'].map(
  (unit) => [
    unit,
    [`anthropic-ratelimit-${unit}-limit`, `anthropic-ratelimit-${unit}-remaining`, `anthropic-ratelimit-${unit}-reset`],
  ],
);

function dimensions(
  fields: Fields,
  source: RateLimitSource,
  table: readonly (readonly [string, Names])[],
  readReset: ResetReader,
  time: TimeBase,
): RateLimitPolicy[] {
  const out: RateLimitPolicy[] = [];
  for (const [unit, names] of table) {
    const policy = dimension(fields, source, unit, names, readReset, time);
    if (policy) out.push(policy);
  }
  return out;
}

/** OpenAI (and Azure OpenAI): requests and tokens, resets as Go durations. */
export function readOpenAi(fields: Fields, time: TimeBase): RateLimitPolicy[] {
  return dimensions(fields, 'openai', OPENAI, goDuration, time);
}

/** Anthropic: requests, tokens, input and output tokens, resets as RFC 3339 instants. */
export function readAnthropic(fields: Fields, time: TimeBase): RateLimitPolicy[] {
  return dimensions(fields, 'anthropic', ANTHROPIC, rfc3339, time);
}

/** HubSpot: a per-interval quota (window in ms), a per-second and a daily one. */
export function readHubSpot(fields: Fields, time: TimeBase): RateLimitPolicy[] {
  const out: RateLimitPolicy[] = [];
  const interval = fields.get('x-hubspot-ratelimit-interval-milliseconds');
  const windows: readonly [string, string, string, number | undefined][] = [
    ['interval', 'x-hubspot-ratelimit-max', 'x-hubspot-ratelimit-remaining', parseWindowMs(interval, 1)],
    ['secondly', 'x-hubspot-ratelimit-secondly', 'x-hubspot-ratelimit-secondly-remaining', 1000],
    ['daily', 'x-hubspot-ratelimit-daily', 'x-hubspot-ratelimit-daily-remaining', 86_400_000],
  ];
  for (const [name, limitName, remainingName, windowMs] of windows) {
    const policy = dimension(fields, 'hubspot', name, [limitName, remainingName], goDuration, time);
    if (policy) out.push(makePolicy({ ...policy, unit: 'requests', windowMs }));
  }
  return out;
}

const AZURE_PREFIX = 'x-ms-ratelimit-remaining-';

/** Azure Resource Manager: remaining counts only (`x-ms-ratelimit-remaining-subscription-reads: 11999`). */
export function readAzure(fields: Fields): RateLimitPolicy[] {
  const out: RateLimitPolicy[] = [];
  for (const [field, value] of fields) {
    // `-resource` lists per-operation quotas in a syntax of its own: an optional extra we leave out.
    if (!field.startsWith(AZURE_PREFIX) || field === `${AZURE_PREFIX}resource`) continue;
    const remaining = mergeDuplicates(value, parseRemainingValue, Math.min);
    if (remaining !== undefined)
      out.push({ source: 'azure', name: field.slice(AZURE_PREFIX.length), unit: 'requests', remaining });
  }
  return out;
}

const USED_OF_LIMIT = /^(\d+)\/(\d+)$/;

function usedOfLimit(source: RateLimitSource, name: string, value: string): RateLimitPolicy | undefined {
  const m = USED_OF_LIMIT.exec(value.trim());
  if (!m) return undefined;
  const used = parseLimitValue(m[1]!);
  const limit = parseLimitValue(m[2]!);
  if (used === undefined || limit === undefined) return undefined;
  return { source, name, unit: 'requests', limit, remaining: Math.max(0, limit - used) };
}

/** Shopify REST: `X-Shopify-Shop-Api-Call-Limit: 32/40` is used/bucket size. */
export function readShopify(fields: Fields): RateLimitPolicy[] {
  const value = fields.get('x-shopify-shop-api-call-limit');
  const policy = value === undefined ? undefined : usedOfLimit('shopify', 'api-call-limit', value);
  return policy ? [policy] : [];
}

/** Salesforce: `Sforce-Limit-Info: api-usage=18/5000; api-bursts=1/750` (used/limit, no reset). */
export function readSalesforce(fields: Fields): RateLimitPolicy[] {
  const out: RateLimitPolicy[] = [];
  for (const part of fields.get('sforce-limit-info')?.split(/[;,]/) ?? []) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    // The per-app pilot appends `(appName=x)`: the name is kept in the policy name.
    const name = part.slice(0, eq).trim();
    const rest = part.slice(eq + 1);
    const paren = rest.indexOf('(');
    const policy = usedOfLimit(
      'salesforce',
      paren < 0 ? name : `${name}${rest.slice(paren).trim()}`,
      paren < 0 ? rest : rest.slice(0, paren),
    );
    if (policy) out.push(policy);
  }
  return out;
}
