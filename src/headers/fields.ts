// Reads the rate-limit-relevant fields out of any header container into one Map of lower-case name -> joined value.
import type { HeaderInput } from './types.js';

/** Fields matched by prefix only (Azure's open-ended list): at most this many, so a flood cannot grow memory or time. */
const MAX_PREFIXED_FIELDS = 32;
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
  /** `X-Rate-Limit-*`, apart from `X-RateLimit-*` so that an answer with one spelling never looks up the other's. */
  xRateLimitDashed: 256,
} as const;

const AZURE_PREFIX = 'x-ms-ratelimit-remaining-';

const X_RATELIMIT_FIELDS = ['limit', 'remaining', 'used', 'reset', 'reset-after', 'interval-seconds'];
const KONG_PERIODS = ['second', 'minute', 'hour', 'day', 'month', 'year'];
const DIMENSIONS = ['requests', 'tokens'];
const ANTHROPIC_UNITS = ['requests', 'tokens', 'input-tokens', 'output-tokens'];

/**
 * Every field name a reader looks up, with the family it flags (0: read by the combiner itself). Names outside this
 * table (and the Azure prefix) are skipped at the door, so unrelated fields cost one lookup and can never crowd out
 * the known ones.
 */
const KNOWN_FIELDS: ReadonlyMap<string, number> = new Map<string, number>([
  ...['date', 'age', 'retry-after', 'retry-after-ms', 'x-ms-retry-after-ms'].map((n) => [n, 0] as const),
  ...['x-ratelimit-bucket', 'x-ratelimit-scope', 'x-ratelimit-global'].map((n) => [n, 0] as const),
  ...['', '-policy', '-limit', '-remaining', '-reset', '-resettime', '-name'].map(
    (suffix) => [`ratelimit${suffix}`, Family.ietf] as const,
  ),
  ['beta-ratelimit', Family.ietf],
  ['beta-ratelimit-policy', Family.ietf],
  ...(
    [
      ['x-ratelimit', Family.xRateLimit],
      ['x-rate-limit', Family.xRateLimitDashed],
    ] as const
  ).flatMap(([prefix, family]) => [
    [prefix, family] as const, // Zendesk sends its limit as a bare `X-Rate-Limit`
    [`${prefix}-resource`, family] as const,
    ...X_RATELIMIT_FIELDS.map((n) => [`${prefix}-${n}`, family] as const),
  ]),
  // Kong (`-limit-minute`) and OpenAI (`-limit-requests`) put a dimension after the usual name.
  ...[...KONG_PERIODS, ...DIMENSIONS].flatMap((d) =>
    ['limit', 'remaining', 'reset'].map((n) => [`x-ratelimit-${n}-${d}`, Family.dimensions] as const),
  ),
  ...ANTHROPIC_UNITS.flatMap((unit) =>
    ['limit', 'remaining', 'reset'].map((n) => [`anthropic-ratelimit-${unit}-${n}`, Family.anthropic] as const),
  ),
  ...['daily', 'daily-remaining', 'interval-milliseconds', 'max', 'remaining', 'secondly', 'secondly-remaining'].map(
    (n) => [`x-hubspot-ratelimit-${n}`, Family.hubspot] as const,
  ),
  ['x-shopify-shop-api-call-limit', Family.shopify],
  ['sforce-limit-info', Family.salesforce],
]);

/**
 * The first three characters of a name as one number, ASCII letters folded to lower case (other characters are
 * folded too, harmlessly: this only lets through names that may be relevant). No character outside ASCII lower-cases
 * to a character that begins a relevant name (only the Kelvin sign and a dotted capital I lower-case into ASCII, to
 * `k` and `i`), so a name whose lower case is relevant always has the head of a relevant name.
 */
function headOf(name: string): number {
  return ((name.charCodeAt(0) | 0x20) << 16) | ((name.charCodeAt(1) | 0x20) << 8) | (name.charCodeAt(2) | 0x20);
}

/** A head folded to 15 bits: five bits of each character, which keep every letter apart. */
const slotOf = (head: number): number => ((head >>> 6) & 0x7c00) | ((head >>> 3) & 0x3e0) | (head & 0x1f);

/**
 * The heads of the relevant names, one bit per {@link slotOf} slot (4 KB): any other name is skipped without being
 * lower-cased or looked up, at the cost of a few arithmetic steps rather than a hash lookup. Names that only share
 * a slot with a relevant head (digits and punctuation fold onto letters) go on to the exact lookup.
 */
const RELEVANT_SLOTS = new Uint32Array(1024);
for (const name of [...KNOWN_FIELDS.keys(), AZURE_PREFIX]) {
  const slot = slotOf(headOf(name));
  RELEVANT_SLOTS[slot >>> 5]! |= 1 << (slot & 31);
}

/**
 * Whether a field named `name` (in any case) may be one a reader looks at: false only for names that cannot be. A
 * response carries mostly other fields (caching, security, tracing): this is all they cost.
 */
export function mayBeRelevant(name: string): boolean {
  const slot = slotOf(headOf(name));
  return (RELEVANT_SLOTS[slot >>> 5]! & (1 << (slot & 31))) !== 0;
}

/** The relevant fields of one response: lower-case name -> joined value, and which families appear. */
export interface Fields extends ReadonlyMap<string, string> {
  readonly families: number;
}

class FieldMap extends Map<string, string> implements Fields {
  families = 0;
  prefixed = 0;
  /** Fields ignored for an over-long value: a later line of the same field must not stand in for them. */
  dropped: Set<string> | undefined;
}

/** The family flag of a relevant lower-case name, or undefined when no reader looks at it. */
function familyOf(name: string): number | undefined {
  return KNOWN_FIELDS.get(name) ?? (name.startsWith(AZURE_PREFIX) ? Family.azure : undefined);
}

/**
 * `value` without surrounding whitespace. Node and fetch hand values over trimmed already: one that begins and ends
 * with a visible ASCII character is returned as it is, without the cost of a `trim` call.
 */
function trimmed(value: string): string {
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  return first > SPACE && first < DEL && last > SPACE && last < DEL ? value : value.trim();
}

const SPACE = 0x20;
const DEL = 0x7f;

function valueOf(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number') return String(raw);
  if (Array.isArray(raw)) return raw.filter((v) => typeof v === 'string').join(', ');
  return undefined;
}

function add(fields: FieldMap, rawName: string, rawValue: unknown): void {
  // Node and fetch hand names over lower-cased: a name the table knows as it is needs no `toLowerCase` call.
  let name = rawName;
  let family = KNOWN_FIELDS.get(name);
  if (family === undefined) {
    name = rawName.toLowerCase();
    family = familyOf(name);
  }
  if (family === undefined || fields.dropped?.has(name)) return;
  const raw = valueOf(rawValue);
  if (raw === undefined) return;
  const line = trimmed(raw);
  if (line === '') return;
  const previous = fields.get(name);
  if (previous === undefined && family === Family.azure && ++fields.prefixed > MAX_PREFIXED_FIELDS) return;
  const value = previous === undefined ? line : `${previous}, ${line}`;
  if (value.length > MAX_VALUE_LENGTH) {
    fields.delete(name);
    (fields.dropped ??= new Set()).add(name);
    return;
  }
  fields.set(name, value);
  fields.families |= family;
}

function isForEachable(input: HeaderInput): input is Extract<HeaderInput, { forEach: unknown }> {
  return typeof (input as { forEach?: unknown }).forEach === 'function';
}

/** What an answer without a relevant field reads as: never written to (a reader only reads). */
const NO_FIELDS: Fields = new FieldMap();

/** The relevant fields of `input`, names lower-cased, repeated lines joined with `", "`, values trimmed. */
export function collectFields(input: HeaderInput | null | undefined): Fields {
  if (input === null || typeof input !== 'object') return NO_FIELDS;
  // Made at the first field that may be relevant: an answer without one makes nothing.
  let fields: FieldMap | undefined;
  // A fetch `Headers` is iterated rather than called back: its `forEach` adds a call per field to the iteration.
  if (typeof Headers !== 'undefined' && input instanceof Headers) {
    for (const [name, value] of input) if (mayBeRelevant(name)) add((fields ??= new FieldMap()), name, value);
    return fields ?? NO_FIELDS;
  }
  if (isForEachable(input)) {
    input.forEach((value, name) => {
      if (typeof name === 'string' && mayBeRelevant(name)) add((fields ??= new FieldMap()), name, value);
    });
    return fields ?? NO_FIELDS;
  }
  // Own enumerable keys only: a `__proto__` or `constructor` header is just a name that is not relevant.
  for (const name of Object.keys(input)) if (mayBeRelevant(name)) add((fields ??= new FieldMap()), name, input[name]);
  return fields ?? NO_FIELDS;
}
