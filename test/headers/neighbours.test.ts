// One unreadable field never drops its neighbours: for every header family, each field in turn is given an
// unreadable value, and every other value the response states must still be reported, unchanged.
import { describe, expect, test } from 'vitest';
import type { HeaderInput, RateLimitInfo } from '../../src/headers/index.js';
import { NOW, NOW_SECONDS, parse } from './support.js';

/**
 * What corrupting one field takes away from the baseline reading: `retryAt`, a whole policy (`'1'`: policies[1]),
 * or one value of a policy (`'0.limit'`). Anything not listed must stay exactly as it was.
 */
type Lost = readonly string[];

interface Family {
  readonly name: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly status?: number;
  /** The fields to corrupt, one at a time, with what each one's loss takes away. */
  readonly fields: Readonly<Record<string, Lost>>;
}

/** Unreadable in every syntax a rate-limit field uses (counts, delays, epochs, dates, Go durations, RFC 9651). */
const UNREADABLE = ['-1', '1e3', 'soon'];
/**
 * `soon` is a well-formed RFC 9651 Token, so in a structured field it is a policy named `soon` rather than an
 * unreadable value; those fields get the other two.
 */
const STRUCTURED = new Set(['ratelimit', 'ratelimit-policy', 'beta-ratelimit', 'beta-ratelimit-policy']);

const families: readonly Family[] = [
  {
    name: 'GitHub x-ratelimit-* (epoch-second reset)',
    headers: {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4987',
      'x-ratelimit-used': '13',
      'x-ratelimit-reset': String(NOW_SECONDS + 1800),
      'x-ratelimit-resource': 'core',
    },
    fields: {
      'x-ratelimit-limit': [], // used + remaining still give it, as for Reddit
      'x-ratelimit-remaining': ['0.remaining'],
      'x-ratelimit-used': [],
      'x-ratelimit-reset': ['0.resetAt'],
    },
  },
  {
    name: 'X and Okta x-rate-limit-*',
    headers: {
      'x-rate-limit-limit': '900',
      'x-rate-limit-remaining': '899',
      'x-rate-limit-reset': String(NOW_SECONDS + 900),
    },
    fields: {
      'x-rate-limit-limit': ['0.limit'],
      'x-rate-limit-remaining': ['0.remaining'],
      'x-rate-limit-reset': ['0.resetAt'],
    },
  },
  {
    name: 'Discord: Reset-After and Reset state the same instant, either stands in for the other',
    headers: {
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '4',
      'x-ratelimit-reset': `${NOW_SECONDS + 64}.57`,
      'x-ratelimit-reset-after': '64.57',
      'x-ratelimit-bucket': 'abcd1234',
    },
    fields: {
      'x-ratelimit-limit': ['0.limit'],
      'x-ratelimit-remaining': ['0.remaining'],
      'x-ratelimit-reset': [],
      'x-ratelimit-reset-after': [],
    },
  },
  {
    name: 'Reddit: the limit is used + remaining',
    headers: { 'x-ratelimit-used': '5', 'x-ratelimit-remaining': '595.0', 'x-ratelimit-reset': '300' },
    fields: {
      'x-ratelimit-used': ['0.limit'],
      'x-ratelimit-remaining': ['0.remaining', '0.limit'],
      'x-ratelimit-reset': ['0.resetAt'],
    },
  },
  {
    name: 'Zendesk: a bare X-Rate-Limit',
    headers: { 'x-rate-limit': '700', 'x-rate-limit-remaining': '699' },
    fields: { 'x-rate-limit': ['0.limit'], 'x-rate-limit-remaining': ['0.remaining'] },
  },
  {
    name: 'Confluence Data Center: X-RateLimit-Interval-Seconds',
    headers: { 'x-ratelimit-limit': '20', 'x-ratelimit-remaining': '19', 'x-ratelimit-interval-seconds': '1' },
    fields: {
      'x-ratelimit-limit': ['0.limit'],
      'x-ratelimit-remaining': ['0.remaining'],
      'x-ratelimit-interval-seconds': ['0.windowMs'],
    },
  },
  {
    name: 'GovWay: a draft-03 limit list under an X- name',
    headers: {
      'x-ratelimit-limit': '10, 10;w=60, 1000;w=3600',
      'x-ratelimit-remaining': '9',
      'x-ratelimit-reset': '30',
    },
    fields: { 'x-ratelimit-remaining': ['0.remaining'], 'x-ratelimit-reset': ['0.resetAt'] },
  },
  {
    name: 'Kong: one quota per period',
    headers: {
      'x-ratelimit-limit-minute': '60',
      'x-ratelimit-remaining-minute': '59',
      'x-ratelimit-limit-hour': '1000',
      'x-ratelimit-remaining-hour': '999',
    },
    fields: {
      'x-ratelimit-limit-minute': ['0.limit'],
      'x-ratelimit-remaining-minute': ['0.remaining'],
      'x-ratelimit-limit-hour': ['1.limit'],
      'x-ratelimit-remaining-hour': ['1.remaining'],
    },
  },
  {
    name: 'IETF drafts 04 to 06 (express-rate-limit draft-6)',
    headers: {
      'ratelimit-policy': '5;w=60',
      'ratelimit-limit': '5',
      'ratelimit-remaining': '4',
      'ratelimit-reset': '60',
    },
    // A bad RateLimit-Limit is left out too, but its policy item then stands as a quota of its own (asserted below).
    fields: {
      'ratelimit-policy': ['0.windowMs'],
      'ratelimit-remaining': ['0.remaining'],
      'ratelimit-reset': ['0.resetAt'],
    },
  },
  {
    name: 'GitLab: RateLimit-Reset (epoch seconds) and RateLimit-ResetTime (HTTP-date) state the same instant',
    headers: {
      'ratelimit-limit': '60',
      'ratelimit-name': 'throttle_authenticated_api',
      'ratelimit-remaining': '0',
      'ratelimit-reset': String(NOW_SECONDS + 42),
      'ratelimit-resettime': 'Wed, 01 Oct 2025 12:00:42 GMT',
      'retry-after': '42',
    },
    status: 429,
    fields: {
      'ratelimit-limit': ['0.limit'],
      'ratelimit-remaining': ['0.remaining'],
      'ratelimit-reset': [],
      'ratelimit-resettime': [],
      'retry-after': ['retryAt'],
    },
  },
  {
    name: 'IETF draft 07: RateLimit-Policy beside the RateLimit dictionary',
    headers: { 'ratelimit-policy': '5;w=60', ratelimit: 'limit=5, remaining=4, reset=60' },
    fields: { 'ratelimit-policy': ['0.windowMs'] },
  },
  {
    name: 'IETF draft 10: RateLimit and RateLimit-Policy',
    headers: { 'ratelimit-policy': '"permin";q=50;w=60,"perhr";q=1000;w=3600', ratelimit: '"permin";r=10;t=30' },
    fields: {
      'ratelimit-policy': ['0.limit', '0.windowMs', '1'],
      ratelimit: ['0.remaining', '0.resetAt'],
    },
  },
  {
    name: "Atlassian's Beta-RateLimit beside X-RateLimit-*",
    headers: {
      'beta-ratelimit-policy': '"tenant-app-quota";q=100100;w=3600',
      'beta-ratelimit': '"tenant-app-quota";r=17842;t=2107',
      'x-ratelimit-limit': '350',
      'x-ratelimit-remaining': '349',
    },
    fields: {
      'beta-ratelimit-policy': ['0.limit', '0.windowMs'],
      'beta-ratelimit': ['0.remaining', '0.resetAt'],
      'x-ratelimit-limit': ['1.limit'],
      'x-ratelimit-remaining': ['1.remaining'],
    },
  },
  {
    name: 'Retry-After beside the quota fields of a 429',
    headers: { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0', 'retry-after': '30' },
    status: 429,
    fields: {
      'x-ratelimit-limit': ['0.limit'],
      'x-ratelimit-remaining': ['0.remaining'],
      'retry-after': ['retryAt'],
    },
  },
  {
    name: 'OpenAI: requests and tokens, Go-duration resets',
    headers: {
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-tokens': '149984',
      'x-ratelimit-reset-tokens': '6m0s',
    },
    fields: {
      'x-ratelimit-limit-requests': ['0.limit'],
      'x-ratelimit-remaining-requests': ['0.remaining'],
      'x-ratelimit-reset-requests': ['0.resetAt'],
      'x-ratelimit-limit-tokens': ['1.limit'],
      'x-ratelimit-remaining-tokens': ['1.remaining'],
      'x-ratelimit-reset-tokens': ['1.resetAt'],
    },
  },
  {
    name: 'Azure OpenAI: the same names, resets in bare seconds',
    headers: {
      'x-ratelimit-limit-requests': '100',
      'x-ratelimit-remaining-requests': '99',
      'x-ratelimit-reset-requests': '10',
    },
    fields: {
      'x-ratelimit-limit-requests': ['0.limit'],
      'x-ratelimit-remaining-requests': ['0.remaining'],
      'x-ratelimit-reset-requests': ['0.resetAt'],
    },
  },
  {
    name: 'Anthropic: RFC 3339 resets',
    headers: {
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '49',
      'anthropic-ratelimit-requests-reset': '2025-10-01T12:00:01Z',
      'anthropic-ratelimit-output-tokens-limit': '10000',
      'anthropic-ratelimit-output-tokens-remaining': '9500',
      'anthropic-ratelimit-output-tokens-reset': '2025-10-01T12:00:04Z',
    },
    fields: {
      'anthropic-ratelimit-requests-limit': ['0.limit'],
      'anthropic-ratelimit-requests-remaining': ['0.remaining'],
      'anthropic-ratelimit-requests-reset': ['0.resetAt'],
      'anthropic-ratelimit-output-tokens-limit': ['1.limit'],
      'anthropic-ratelimit-output-tokens-remaining': ['1.remaining'],
      'anthropic-ratelimit-output-tokens-reset': ['1.resetAt'],
    },
  },
  {
    name: 'HubSpot: interval, secondly and daily quotas',
    headers: {
      'x-hubspot-ratelimit-interval-milliseconds': '10000',
      'x-hubspot-ratelimit-max': '100',
      'x-hubspot-ratelimit-remaining': '97',
      'x-hubspot-ratelimit-secondly': '10',
      'x-hubspot-ratelimit-secondly-remaining': '9',
      'x-hubspot-ratelimit-daily': '250000',
      'x-hubspot-ratelimit-daily-remaining': '249990',
    },
    fields: {
      'x-hubspot-ratelimit-interval-milliseconds': ['0.windowMs'],
      'x-hubspot-ratelimit-max': ['0.limit'],
      'x-hubspot-ratelimit-remaining': ['0.remaining'],
      'x-hubspot-ratelimit-secondly': ['1.limit'],
      'x-hubspot-ratelimit-secondly-remaining': ['1.remaining'],
      'x-hubspot-ratelimit-daily': ['2.limit'],
      'x-hubspot-ratelimit-daily-remaining': ['2.remaining'],
    },
  },
  {
    name: 'Azure Resource Manager: one remaining count per field',
    headers: {
      'x-ms-ratelimit-remaining-subscription-reads': '11999',
      'x-ms-ratelimit-remaining-subscription-writes': '1199',
    },
    fields: {
      'x-ms-ratelimit-remaining-subscription-reads': ['0'],
      'x-ms-ratelimit-remaining-subscription-writes': ['1'],
    },
  },
];

type Reading = Record<string, unknown> & { policies: readonly Record<string, unknown>[] };

/** The parts of a reading that do not depend on which quota is selected: the selection may move with a loss. */
function described({ retryAt, bucket, scope, isRateLimited, policies }: RateLimitInfo): Reading {
  return { retryAt, bucket, scope, isRateLimited, policies: policies.map((p) => ({ ...p })) };
}

/** The value a path of {@link Lost} names in `reading`. */
function at(reading: Reading, path: string): unknown {
  const [first, key] = path.split('.') as [string, string | undefined];
  const index = Number(first);
  if (Number.isNaN(index)) return reading[first];
  return key === undefined ? reading.policies[index] : reading.policies[index]?.[key];
}

/** `reading` without what `lost` names. */
function without(reading: Reading, lost: Lost): Reading {
  const policies: (Record<string, unknown> | undefined)[] = reading.policies.map((p) => ({ ...p }));
  const out: Reading = { ...reading };
  for (const path of lost) {
    const [first, key] = path.split('.') as [string, string | undefined];
    const index = Number(first);
    if (Number.isNaN(index)) out[first] = undefined;
    else if (key === undefined) policies[index] = undefined;
    else policies[index]![key] = undefined; // toEqual reads an undefined property as an absent one
  }
  out.policies = policies.filter((p) => p !== undefined);
  return out;
}

const cases = families.flatMap((family) =>
  Object.entries(family.fields).flatMap(([field, lost]) =>
    UNREADABLE.filter((bad) => !(STRUCTURED.has(field) && bad === 'soon')).map(
      (bad) => [`${family.name}: ${field}: ${JSON.stringify(bad)}`, family, field, bad, lost] as const,
    ),
  ),
);

describe('an unreadable value is left out, its neighbours kept', () => {
  test.for(families.map((f) => [f.name, f] as const))('the baseline states every field: %s', ([, family]) => {
    const baseline = described(parse(family.headers, family.status));
    // Each field to corrupt must contribute what its loss takes away, so that the loss is visible.
    for (const [field, lost] of Object.entries(family.fields)) {
      for (const path of lost) expect(at(baseline, path), `${field} → ${path}`).toBeDefined();
    }
  });

  test.for(cases)('%s', ([, family, field, bad, lost]) => {
    const baseline = parse(family.headers, family.status);
    const corrupted: HeaderInput = { ...family.headers, [field]: bad };
    expect(described(parse(corrupted, family.status))).toEqual(without(described(baseline), lost));
  });

  test('issue example: an OpenAI reset "soon" is left out, the limit and remaining are reported', () => {
    const info = parse({
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '10',
      'x-ratelimit-reset-requests': 'soon',
    });
    expect(info).toEqual({
      limit: 60,
      remaining: 10,
      isRateLimited: false,
      policies: [{ source: 'openai', name: 'requests', unit: 'requests', limit: 60, remaining: 10 }],
    });
  });

  test('drafts 04 to 06: an unreadable RateLimit-Limit is left out; its policy item stays a quota of its own', () => {
    const info = parse({
      'ratelimit-policy': '5;w=60',
      'ratelimit-limit': 'soon',
      'ratelimit-remaining': '4',
      'ratelimit-reset': '60',
    });
    expect(info.policies).toEqual([
      { source: 'ietf-draft6', unit: 'requests', remaining: 4, resetAt: NOW + 60_000 },
      { source: 'ietf-draft6', unit: 'requests', limit: 5, windowMs: 60_000 },
    ]);
  });
});
