// IETF draft-ietf-httpapi-ratelimit-headers, every syntax in use (HEADERS.md 1 and 4.4).
import { type BareItem, type Dictionary, type List, parseDictionary, parseList, Token } from 'structured-headers';
import { parseHttpDate } from './dates.js';
import type { Fields } from './fields.js';
import type { RateLimitPolicy, RateLimitSource } from './types.js';
import {
  afterDelay,
  atServerInstant,
  compact,
  mergeDuplicates,
  parseLimitValue,
  parseRemainingValue,
  parseResetInstant,
  type TimeBase,
} from './values.js';

/** What a policy field says about one quota: its size, window and unit. Unnamed items are drafts 03 to 07. */
interface PolicyItem {
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

function safeList(value: string | undefined): List {
  if (value === undefined) return [];
  try {
    return parseList(value);
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

/** Policy members: named (draft 08+: `"name";q=100;w=60`) or integer (drafts 03 to 07: `100;w=60`). */
function readPolicyItems(list: List): PolicyItem[] {
  const items: PolicyItem[] = [];
  for (const member of list) {
    const p = readParams(member[1]);
    if (!p) continue;
    const name = memberName(member);
    const value = member[0];
    if (name === undefined && !isNonNegativeInteger(value)) continue;
    items.push(
      compact<PolicyItem>({
        name,
        limit: name === undefined ? (value as number) : p.q,
        windowMs: p.w === undefined ? undefined : p.w * 1000,
        unit: p.qu ?? 'requests',
        partitionKey: p.pk,
      }),
    );
  }
  return items;
}

/** The window of the unnamed policy whose quota equals `limit`, when exactly one does. */
function windowForLimit(items: readonly PolicyItem[], limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined;
  const matches = items.filter((i) => i.name === undefined && i.limit === limit);
  return matches.length === 1 ? matches[0]!.windowMs : undefined;
}

/** Draft 08 to 10 service-limit items, associated with their policies by name only. */
function namedPolicies(
  list: List,
  items: readonly PolicyItem[],
  source: RateLimitSource,
  time: TimeBase,
): RateLimitPolicy[] {
  const out: RateLimitPolicy[] = [];
  const seen = new Set<string>();
  for (const member of list) {
    const name = memberName(member);
    const p = name === undefined ? undefined : readParams(member[1]);
    if (name === undefined || !p) continue;
    seen.add(name);
    const policy = items.find((i) => i.name === name);
    out.push(
      compact<RateLimitPolicy>({
        source,
        name,
        unit: policy?.unit ?? 'requests',
        limit: policy?.limit,
        remaining: p.r,
        resetAt: p.t === undefined ? undefined : afterDelay(p.t * 1000, time),
        windowMs: policy?.windowMs,
        partitionKey: p.pk ?? policy?.partitionKey,
      }),
    );
  }
  for (const item of items) if (item.name !== undefined && !seen.has(item.name)) out.push({ source, ...item });
  return out;
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
  if (!dict || !(dict.has('limit') || dict.has('remaining') || dict.has('reset'))) return undefined;
  const values: (number | undefined)[] = [];
  for (const key of ['limit', 'remaining', 'reset']) {
    const member = dict.get(key);
    if (member !== undefined && !isNonNegativeInteger(member[0])) return null;
    values.push(member?.[0] as number | undefined);
  }
  const [limit, remaining, reset] = values;
  return compact<RateLimitPolicy>({
    source: 'ietf-draft7',
    unit: 'requests',
    limit,
    remaining,
    resetAt: reset === undefined ? undefined : afterDelay(reset * 1000, time),
    windowMs: windowForLimit(items, limit),
  });
}

interface LimitField {
  readonly limit?: number;
  readonly windowMs?: number;
}

/**
 * A limit field in the draft 03 shape (`10, 10;w=1, 50;w=60`: the expiring limit, then `quota;w=window` items),
 * or a plain limit, possibly duplicated (the smallest wins).
 */
export function readLimitField(value: string | undefined): LimitField {
  if (value === undefined) return {};
  if (!value.includes(';')) return compact<LimitField>({ limit: mergeDuplicates(value, parseLimitValue, Math.min) });
  const [first, ...rest] = readPolicyItems(safeList(value));
  if (first?.name !== undefined || first?.windowMs !== undefined || first?.limit === undefined) return {};
  return compact<LimitField>({ limit: first.limit, windowMs: windowForLimit(rest, first.limit) });
}

/** Drafts 03 to 06 separate fields; also what GitLab, Twitch, Heroku and Zendesk send under these names. */
function draft6Policy(fields: Fields, items: readonly PolicyItem[], time: TimeBase): RateLimitPolicy | undefined {
  const { limit, windowMs } = readLimitField(fields.get('ratelimit-limit'));
  const remainingValue = fields.get('ratelimit-remaining');
  const remaining =
    remainingValue === undefined ? undefined : mergeDuplicates(remainingValue, parseRemainingValue, Math.min);
  const resetValue = fields.get('ratelimit-reset');
  const resetTime = fields.get('ratelimit-resettime'); // GitLab, on 429: an HTTP-date
  const resetAt =
    (resetValue === undefined ? undefined : mergeDuplicates(resetValue, (v) => parseResetInstant(v, time), Math.max)) ??
    (resetTime === undefined ? undefined : atServerInstant(parseHttpDate(resetTime, time.reference), time));
  if (limit === undefined && remaining === undefined && resetAt === undefined) return undefined;
  return compact<RateLimitPolicy>({
    source: 'ietf-draft6',
    name: fields.get('ratelimit-name'),
    unit: 'requests',
    limit,
    remaining,
    resetAt,
    windowMs: windowMs ?? windowForLimit(items, limit),
  });
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

/** Every policy the IETF fields describe, in all draft syntaxes, plus Atlassian's `Beta-` prefixed copies. */
export function readIetf(fields: Fields, time: TimeBase): RateLimitPolicy[] {
  const items = readPolicyItems(safeList(fields.get('ratelimit-policy')));
  const out = serviceLimits(fields.get('ratelimit'), items, 'ietf', time);
  const draft6 = draft6Policy(fields, items, time);
  if (draft6) out.push(draft6);
  const main = out.find((p) => p.source !== 'ietf');
  // Integer policies that are not the expiring limit still describe quotas the server enforces.
  for (const item of items) {
    if (item.name === undefined && item.limit !== main?.limit)
      out.push({ source: main?.source ?? 'ietf-draft6', ...item });
  }
  if (fields.has('beta-ratelimit') || fields.has('beta-ratelimit-policy')) {
    const betaItems = readPolicyItems(safeList(fields.get('beta-ratelimit-policy')));
    out.push(...serviceLimits(fields.get('beta-ratelimit'), betaItems, 'ietf-beta', time));
  }
  return out;
}
