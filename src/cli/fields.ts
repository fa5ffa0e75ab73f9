// Which raw response fields each quota came from, so the report can show the server's own words beside ratewise's
// reading. Pure. The field names are those parseRateLimit reads (headers/fields.ts collects them); this module only
// sorts them by family and by the quota a family's name or suffix ties them to.
import type { RateLimitPolicy, RateLimitSource } from '../headers/index.js';

/** What a raw field is about: a quota family, the retry time, or context (the `Date`, a cache `Age`, a bucket). */
export type FieldGroup = RateLimitSource | 'retry' | 'context';

/** One raw field, lower-case name and value as parseRateLimit reads it. */
export interface RawField {
  readonly name: string;
  readonly value: string;
}

/** A readable name of each header family. */
export const FAMILY_LABELS: Readonly<Record<RateLimitSource, string>> = {
  ietf: 'IETF RateLimit and RateLimit-Policy (draft 08 and later)',
  'ietf-draft7': 'IETF RateLimit (draft 07)',
  'ietf-draft6': 'IETF RateLimit-Limit, -Remaining, -Reset (drafts 03 to 06)',
  'ietf-beta': "Atlassian's Beta-RateLimit",
  'x-ratelimit': 'X-RateLimit-*',
  openai: 'OpenAI x-ratelimit-*-requests and -tokens',
  anthropic: 'Anthropic anthropic-ratelimit-*',
  hubspot: 'HubSpot X-HubSpot-RateLimit-*',
  azure: 'Azure Resource Manager x-ms-ratelimit-remaining-*',
  shopify: 'Shopify X-Shopify-Shop-Api-Call-Limit',
  salesforce: 'Salesforce Sforce-Limit-Info',
};

const KONG_PERIODS: ReadonlySet<string> = new Set(['second', 'minute', 'hour', 'day', 'month', 'year']);
const DIMENSION = /^x-ratelimit-(?:limit|remaining|reset)-(requests|tokens|second|minute|hour|day|month|year)$/;
const RETRY = new Set(['retry-after', 'retry-after-ms', 'x-ms-retry-after-ms']);
const CONTEXT = new Set(['date', 'age', 'x-ratelimit-bucket', 'x-ratelimit-scope', 'x-ratelimit-global']);
const DRAFT6 = new Set(['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-resettime']);

/** The group of a field parseRateLimit reads (names lower-case). */
export function fieldGroup(name: string): FieldGroup {
  if (RETRY.has(name)) return 'retry';
  if (CONTEXT.has(name)) return 'context';
  if (name === 'ratelimit' || name === 'ratelimit-policy') return 'ietf';
  if (DRAFT6.has(name) || name === 'ratelimit-name') return 'ietf-draft6';
  if (name.startsWith('beta-ratelimit')) return 'ietf-beta';
  const dimension = DIMENSION.exec(name)?.[1];
  if (dimension === 'requests' || dimension === 'tokens') return 'openai';
  if (name.startsWith('anthropic-ratelimit-')) return 'anthropic';
  if (name.startsWith('x-hubspot-ratelimit-')) return 'hubspot';
  if (name.startsWith('x-ms-ratelimit-remaining-')) return 'azure';
  if (name === 'x-shopify-shop-api-call-limit') return 'shopify';
  if (name === 'sforce-limit-info') return 'salesforce';
  return 'x-ratelimit';
}

/**
 * The families whose policies a field may feed: the IETF fields hold drafts 07 and 08+ alike, and a RateLimit-Policy
 * may give a draft 06 limit its window. None for the retry time and context.
 */
export function fieldSources(name: string): readonly RateLimitSource[] {
  const group = fieldGroup(name);
  if (group === 'retry' || group === 'context') return [];
  if (name === 'ratelimit-policy') return ['ietf', 'ietf-draft7', 'ietf-draft6'];
  return group === 'ietf' ? ['ietf', 'ietf-draft7'] : [group];
}

/** A readable name of a group of fields. */
export function groupLabel(group: FieldGroup): string {
  if (group === 'retry') return 'retry time';
  if (group === 'context') return 'context';
  return group === 'ietf' ? 'IETF RateLimit and RateLimit-Policy' : FAMILY_LABELS[group];
}

const HUBSPOT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  interval: ['x-hubspot-ratelimit-max', 'x-hubspot-ratelimit-remaining', 'x-hubspot-ratelimit-interval-milliseconds'],
  secondly: ['x-hubspot-ratelimit-secondly', 'x-hubspot-ratelimit-secondly-remaining'],
  daily: ['x-hubspot-ratelimit-daily', 'x-hubspot-ratelimit-daily-remaining'],
};

/** Whether `field` is one that `policy` was read from. */
function belongsTo(field: string, policy: RateLimitPolicy, fields: readonly RawField[]): boolean {
  const group = fieldGroup(field);
  const name = policy.name ?? '';
  switch (policy.source) {
    case 'ietf':
    case 'ietf-draft7':
      return group === 'ietf';
    case 'ietf-draft6':
      // A draft 06 limit may take its window from a RateLimit-Policy item.
      return group === 'ietf-draft6' || field === 'ratelimit-policy';
    case 'ietf-beta':
      return group === 'ietf-beta';
    case 'x-ratelimit': {
      if (group !== 'x-ratelimit') return false;
      const period = DIMENSION.exec(field)?.[1];
      const isKong = KONG_PERIODS.has(name) && fields.some((f) => DIMENSION.exec(f.name)?.[1] === name);
      return isKong ? period === name : period === undefined;
    }
    case 'openai':
      return group === 'openai' && field.endsWith(`-${name}`);
    case 'anthropic':
      return field.startsWith(`anthropic-ratelimit-${name}-`);
    case 'hubspot':
      return HUBSPOT_FIELDS[name]?.includes(field) ?? false;
    case 'azure':
      return field === `x-ms-ratelimit-remaining-${name}`;
    case 'shopify':
    case 'salesforce':
      return group === policy.source;
  }
}

/** The raw fields `policy` was read from, in the order the server sent them. */
export function fieldsOf(policy: RateLimitPolicy, fields: readonly RawField[]): RawField[] {
  return fields.filter((field) => belongsTo(field.name, policy, fields));
}
