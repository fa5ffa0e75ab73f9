// IETF draft-ietf-httpapi-ratelimit-headers, every syntax in use: drafts 03 to 10 and Atlassian's `Beta-` copies
// (docs/headers.md, "IETF RateLimit fields").
import { type BareItem, type Dictionary, type List, parseDictionary, Token } from 'structured-headers';
import { readList } from './sf-list.js';
import { parseHttpDate } from './dates.js';
import type { Fields } from './fields.js';
import type { RateLimitPolicy, RateLimitSource } from './types.js';
import {
  afterDelay,
  atServerInstant,
  compact,
  isDelayValue,
  makePolicy,
  mergeDuplicates,
  parseLimitValue,
  parseRemainingValue,
  parseResetField,
  type TimeBase,
  withDelayReset,
} from './values.js';

/** What a policy field says about one quota: its size, window and unit. Unnamed items are drafts 03 to 07. */
export interface PolicyItem {
  readonly name?: string;
  readonly limit?: number;
  readonly windowMs?: number;
  readonly unit: string;
  readonly partitionKey?: string;
}

/** The known parameters of one member, validated. */
interface Params {
  r?: number;
  t?: number;
  q?: number;
  w?: number;
  qu?: string;
  pk?: string;
}

type Member = List[number];

const DRAFT7_KEYS = ['limit', 'remaining', 'reset'] as const;

function safeList(value: string | undefined): List {
  if (value === undefined) return [];
  try {
    return readList(value);
  } catch {
    // RFC 9651: a field that fails to parse is ignored as a whole.
    return [];
  }
}

function safeDictionary(value: string): Dictionary | undefined {
  // Named policies start with a quote and integer policies with a digit: neither is a Dictionary, so skip the
  // parse (and the cost of its exception).
  const first = value.charCodeAt(0);
  if (first < 97 || first > 122) return undefined;
  try {
    return parseDictionary(value);
  } catch {
    return undefined;
  }
}

const isNonNegativeInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function base64(buffer: ArrayBuffer): string {
  let binary = '';
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The name of a list member: an sf-String, or leniently an sf-Token (the draft's own example uses one). */
function memberName(member: Member): string | undefined {
  const value = member[0];
  if (typeof value === 'string') return value;
  return value instanceof Token ? value.toString() : undefined;
}

/**
 * Validates the known parameters of one member: one bad known parameter invalidates the member
 * (`r=abc;t=30` gives nothing, not `t=30`). Unknown parameters are comments and are ignored.
 */
function readParams(params: ReadonlyMap<string, BareItem>): Params | undefined {
  const out: Params = {};
  for (const [key, v] of params) {
    if (key === 'r' || key === 't' || key === 'q' || key === 'w') {
      if (!isNonNegativeInteger(v) || (key === 'w' && v === 0)) return undefined;
      out[key] = v;
    } else if (key === 'qu') {
      if (typeof v !== 'string' && !(v instanceof Token)) return undefined;
      out.qu = v.toString();
    } else if (key === 'pk') {
      if (!(v instanceof ArrayBuffer)) return undefined;
      out.pk = base64(v);
    }
  }
  return out;
}

/** The quota unit of `qu`; the IANA table of draft 10 spells the default `request`, its text `requests`. */
const unitOf = (qu: string | undefined): string => (qu === undefined || qu === 'request' ? 'requests' : qu);

/** Policy members: named (draft 08+: `"name";q=100;w=60`) or integer (drafts 03 to 07: `100;w=60`). */
function readPolicyItems(list: Iterable<Member>): PolicyItem[] {
  const items: PolicyItem[] = [];
  for (const member of list) {
    const p = readParams(member[1]);
    if (!p) continue;
    const name = memberName(member);
    const value = member[0];
    if (name === undefined && !isNonNegativeInteger(value)) continue;
    // Field by field in one order, only those stated (as `compact` would, without the intermediate object).
    const item: { -readonly [K in keyof PolicyItem]: PolicyItem[K] } = {} as PolicyItem;
    if (name !== undefined) item.name = name;
    const limit = name === undefined ? (value as number) : p.q;
    if (limit !== undefined) item.limit = limit;
    if (p.w !== undefined) item.windowMs = p.w * 1000;
    item.unit = unitOf(p.qu);
    if (p.pk !== undefined) item.partitionKey = p.pk;
    items.push(item);
  }
  return items;
}

/** The unnamed policy whose quota equals the expiring limit `limit`, when exactly one does (drafts 03 to 07). */
function matchLimit(items: readonly PolicyItem[], limit: number | undefined): PolicyItem | undefined {
  if (limit === undefined) return undefined;
  let match: PolicyItem | undefined;
  for (const item of items) {
    if (item.name !== undefined || item.limit !== limit) continue;
    if (match) return undefined;
    match = item;
  }
  return match;
}

const windowForLimit = (items: readonly PolicyItem[], limit: number | undefined): number | undefined =>
  matchLimit(items, limit)?.windowMs;

/** The unnamed policies other than the one the expiring limit `limit` matched: quotas of their own. */
function otherQuotas(items: readonly PolicyItem[], limit: number | undefined): PolicyItem[] {
  const others: PolicyItem[] = [];
  // Named policies only (drafts 08+, the usual case): nothing to look for.
  if (!items.some((i) => i.name === undefined)) return others;
  const matched = matchLimit(items, limit);
  for (const item of items) if (item.name === undefined && item !== matched) others.push(item);
  return others;
}

/** The policy item named `name`, if any. */
function itemNamed(items: readonly PolicyItem[], name: string): PolicyItem | undefined {
  for (const item of items) if (item.name === name) return item;
  return undefined;
}

/** Draft 08 to 10 service-limit items, associated with their policies by name only. */
function namedPolicies(
  list: List,
  items: readonly PolicyItem[],
  source: RateLimitSource,
  time: TimeBase,
): RateLimitPolicy[] {
  const out: RateLimitPolicy[] = [];
  const seen: string[] = [];
  for (const member of list) {
    const name = memberName(member);
    const p = name === undefined ? undefined : readParams(member[1]);
    if (name === undefined || !p) continue;
    seen.push(name);
    const policy = itemNamed(items, name);
    // `t` is seconds left by the grammar of drafts 08 and later: never an instant.
    out.push(
      withDelayReset(
        makePolicy({
          source,
          name,
          unit: policy?.unit ?? 'requests',
          limit: policy?.limit,
          remaining: p.r,
          resetAt: p.t === undefined ? undefined : afterDelay(p.t * 1000, time),
          windowMs: policy?.windowMs,
          partitionKey: p.pk ?? policy?.partitionKey,
        }),
        true,
        time,
      ),
    );
  }
  // A few policies at most: a list is quicker than a Set to make and to search.
  for (const item of items) if (item.name !== undefined && !seen.includes(item.name)) out.push({ source, ...item });
  return out;
}

/**
 * Whether a Dictionary is the draft 07 form: a `limit`, `remaining` or `reset` member with a value. A bare key
 * (`limit;r=5`) is a draft 08+ item named by a Token that happens to parse as a Dictionary too.
 */
function isDraft7(dict: Dictionary): boolean {
  for (const key of DRAFT7_KEYS) {
    const member = dict.get(key);
    if (member !== undefined && typeof member[0] !== 'boolean') return true;
  }
  return false;
}

/**
 * Draft 07: `RateLimit: limit=100, remaining=50, reset=5`. Undefined when the field is not that form; null when it
 * is, but malformed (and so ignored as a whole).
 */
function draft7Policy(
  dict: Dictionary | undefined,
  items: readonly PolicyItem[],
  time: TimeBase,
): RateLimitPolicy | null | undefined {
  if (!dict || !isDraft7(dict)) return undefined;
  const values: (number | undefined)[] = [];
  for (const key of DRAFT7_KEYS) {
    const member = dict.get(key);
    if (member !== undefined && !isNonNegativeInteger(member[0])) return null;
    values.push(member?.[0] as number | undefined);
  }
  const [limit, remaining, reset] = values;
  // `reset` is seconds left by draft 07's grammar: never an instant.
  return withDelayReset(
    makePolicy({
      source: 'ietf-draft7',
      unit: 'requests',
      limit,
      remaining,
      resetAt: reset === undefined ? undefined : afterDelay(reset * 1000, time),
      windowMs: windowForLimit(items, limit),
    }),
    true,
    time,
  );
}

/** What a limit field says: the expiring limit, its window, and the other quotas a draft 03 list adds. */
export interface LimitField {
  readonly limit?: number;
  readonly windowMs?: number;
  /** The `quota;w=window` items of a draft 03 list other than the expiring limit's own. */
  readonly quotas: readonly PolicyItem[];
}

const NO_LIMIT: LimitField = { quotas: [] };

/**
 * A limit field in the draft 03 shape (`10, 10;w=1, 50;w=60`: the expiring limit, a plain Integer, then
 * `quota;w=window` items), or a plain limit, possibly duplicated (the smallest wins).
 */
export function readLimitField(value: string | undefined): LimitField {
  if (value === undefined) return NO_LIMIT;
  if (!value.includes(';')) {
    const limit = mergeDuplicates(value, parseLimitValue, Math.min);
    return limit === undefined ? NO_LIMIT : { limit, quotas: NO_LIMIT.quotas };
  }
  const [first, ...rest] = safeList(value);
  if (!first || !isNonNegativeInteger(first[0]) || first[1].size > 0) return NO_LIMIT;
  const limit = first[0];
  const items = readPolicyItems(rest);
  return compact<LimitField>({ limit, windowMs: windowForLimit(items, limit), quotas: otherQuotas(items, limit) });
}

/**
 * Drafts 03 to 06 separate fields; also what GitLab, Twitch, Heroku and Zendesk send under these names.
 * The expiring limit comes first, then the other quotas of a draft 03 limit list.
 */
function draft6Policies(fields: Fields, items: readonly PolicyItem[], time: TimeBase): RateLimitPolicy[] {
  const { limit, windowMs, quotas } = readLimitField(fields.get('ratelimit-limit'));
  const remainingValue = fields.get('ratelimit-remaining');
  const remaining =
    remainingValue === undefined ? undefined : mergeDuplicates(remainingValue, parseRemainingValue, Math.min);
  const resetValue = fields.get('ratelimit-reset');
  const resetTime = fields.get('ratelimit-resettime'); // GitLab, on 429: an HTTP-date
  const resetAt =
    (resetValue === undefined ? undefined : parseResetField(resetValue, time)) ??
    (resetTime === undefined ? undefined : atServerInstant(parseHttpDate(resetTime, time.reference), time));
  const out: RateLimitPolicy[] = [];
  if (limit !== undefined || remaining !== undefined || resetAt !== undefined) {
    out.push(
      withDelayReset(
        makePolicy({
          source: 'ietf-draft6',
          name: fields.get('ratelimit-name'),
          unit: 'requests',
          limit,
          remaining,
          resetAt,
          windowMs: windowMs ?? windowForLimit(items, limit),
        }),
        resetValue !== undefined && isDelayValue(resetValue),
        time,
      ),
    );
  }
  for (const quota of quotas) out.push({ source: 'ietf-draft6', ...quota });
  return out;
}

/** `RateLimit` and `RateLimit-Policy` (or their `Beta-` copies) in the draft 07 or draft 08+ syntax. */
function serviceLimits(
  value: string | undefined,
  items: readonly PolicyItem[],
  source: RateLimitSource,
  time: TimeBase,
): RateLimitPolicy[] {
  if (value === undefined) return namedPolicies([], items, source, time);
  const draft7 = draft7Policy(safeDictionary(value), items, time);
  if (draft7 === undefined) return namedPolicies(safeList(value), items, source, time);
  return draft7 ? [draft7] : [];
}

const NO_ITEMS: readonly PolicyItem[] = [];

/** The policy field read last, and its items (see `policyItems`). */
let lastPolicy: { readonly value: string; readonly items: readonly PolicyItem[] } = { value: '', items: NO_ITEMS };

/**
 * The items of a policy field. A server sends the same `RateLimit-Policy` on every answer: the items of the field
 * read last are kept, and the field is read again only when it changes. (Items are never handed out: the policies
 * made of them are copies.)
 */
function policyItems(value: string | undefined): readonly PolicyItem[] {
  if (value === undefined) return NO_ITEMS;
  if (value !== lastPolicy.value) lastPolicy = { value, items: readPolicyItems(safeList(value)) };
  return lastPolicy.items;
}

/** Every policy the IETF fields describe, in all draft syntaxes, plus Atlassian's `Beta-` prefixed copies. */
export function readIetf(fields: Fields, time: TimeBase): RateLimitPolicy[] {
  const items = policyItems(fields.get('ratelimit-policy'));
  const out = serviceLimits(fields.get('ratelimit'), items, 'ietf', time);
  let main: RateLimitPolicy | undefined;
  for (const p of out) {
    if (p.source !== 'ietf') {
      main = p;
      break;
    }
  }
  const draft6 = draft6Policies(fields, items, time);
  const source = main?.source ?? 'ietf-draft6';
  const limit = main?.limit ?? draft6[0]?.limit;
  out.push(...draft6);
  // Integer policies that are not the expiring limit still describe quotas the server enforces.
  for (const item of otherQuotas(items, limit)) out.push({ source, ...item });
  if (fields.has('beta-ratelimit') || fields.has('beta-ratelimit-policy')) {
    const betaItems = policyItems(fields.get('beta-ratelimit-policy'));
    out.push(...serviceLimits(fields.get('beta-ratelimit'), betaItems, 'ietf-beta', time));
  }
  return out;
}
