// Reads the rate-limit-relevant fields out of any header container into one Map of lower-case name -> joined value.
import type { HeaderInput } from './types.js';

/** At most this many relevant fields are kept per response; a flood of header lines cannot grow memory or time. */
const MAX_FIELDS = 64;
/** A longer value is not a rate-limit field anybody sends: it is ignored. */
const MAX_VALUE_LENGTH = 4096;

/** Bit flags of the header families present, so that a parse only runs the readers that have something to read. */
export const Family = {
  ietf: 1,
  xRateLimit: 2,
  dimensions: 4,
  anthropic: 8,
  hubspot: 16,
  azure: 32,
  shopify: 64,
  salesforce: 128,
} as const;

/** The relevant fields of one response: lower-case name -> joined value, and which families appear. */
export interface Fields extends ReadonlyMap<string, string> {
  readonly families: number;
}

class FieldMap extends Map<string, string> implements Fields {
  families = 0;
}

function familyOf(name: string): number {
  if (name.startsWith('ratelimit') || name.startsWith('beta-ratelimit')) return Family.ietf;
  if (name.startsWith('x-ratelimit-')) {
    // OpenAI (`-limit-requests`) and Kong (`-limit-minute`) put a dimension after the usual name.
    const dimension = /^x-ratelimit-(?:limit|remaining|reset)-/.test(name) && name !== 'x-ratelimit-reset-after';
    return dimension ? Family.dimensions : Family.xRateLimit;
  }
  if (name.startsWith('x-rate-limit')) return Family.xRateLimit;
  if (name.startsWith('anthropic-ratelimit-')) return Family.anthropic;
  if (name.startsWith('x-hubspot-ratelimit-')) return Family.hubspot;
  if (name.startsWith('x-ms-ratelimit-remaining-')) return Family.azure;
  if (name === 'x-shopify-shop-api-call-limit') return Family.shopify;
  if (name === 'sforce-limit-info') return Family.salesforce;
  return 0;
}

// Every rate-limit family has "rate" in its name (ratelimit, rate-limit, x-ms-ratelimit, anthropic-ratelimit, …).
function isRelevant(name: string): boolean {
  return (
    name.includes('rate') ||
    name.includes('retry-after') ||
    name === 'date' ||
    name === 'age' ||
    name === 'x-shopify-shop-api-call-limit' ||
    name === 'sforce-limit-info'
  );
}

function add(fields: FieldMap, rawName: string, rawValue: unknown): void {
  const name = rawName.toLowerCase();
  if (!isRelevant(name)) return;
  let value: string;
  if (typeof rawValue === 'string') value = rawValue;
  else if (typeof rawValue === 'number') value = String(rawValue);
  else if (Array.isArray(rawValue)) value = rawValue.filter((v) => typeof v === 'string').join(', ');
  else return;
  value = value.trim();
  if (value === '') return;
  const previous = fields.get(name);
  if (previous !== undefined) value = `${previous}, ${value}`;
  else if (fields.size >= MAX_FIELDS) return;
  if (value.length > MAX_VALUE_LENGTH) {
    fields.delete(name);
    return;
  }
  fields.set(name, value);
  if (previous === undefined) fields.families |= familyOf(name);
}

function isForEachable(input: HeaderInput): input is Extract<HeaderInput, { forEach: unknown }> {
  return typeof (input as { forEach?: unknown }).forEach === 'function';
}

/** The relevant fields of `input`, names lower-cased, repeated lines joined with `", "`, values trimmed. */
export function collectFields(input: HeaderInput | null | undefined): Fields {
  const fields = new FieldMap();
  if (input === null || typeof input !== 'object') return fields;
  if (isForEachable(input)) {
    input.forEach((value, name) => {
      if (typeof name === 'string') add(fields, name, value);
    });
    return fields;
  }
  // Own enumerable keys only: a `__proto__` or `constructor` header is just a name that is not relevant.
  for (const name of Object.keys(input)) add(fields, name, input[name]);
  return fields;
}
