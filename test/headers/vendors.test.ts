// Vendor families with dimensions or a syntax of their own: OpenAI, Azure, Anthropic, HubSpot, Shopify, Salesforce,
// and vendors that send nothing but Retry-After (docs/headers.md, "Vendor families").
import { describe, expect, test } from 'vitest';
import { DAY, HOUR, MINUTE, NOW, NOW_DATE, parse, SECOND, summary } from './support.js';

describe('OpenAI: requests and tokens, resets as Go durations', () => {
  const openai = (reset: string): Record<string, string> => ({
    'x-ratelimit-limit-requests': '60',
    'x-ratelimit-remaining-requests': '59',
    'x-ratelimit-reset-requests': reset,
  });

  test('OpenAI rate-limit guide headers table: both dimensions, the requests one selected', () => {
    const info = parse({
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-remaining-tokens': '20',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-reset-tokens': '6m0s',
    });
    expect(summary(info)).toEqual({ limit: 60, remaining: 59, resetAt: NOW + SECOND });
    expect(info.policies).toEqual([
      { source: 'openai', name: 'requests', unit: 'requests', limit: 60, remaining: 59, resetAt: NOW + SECOND },
      { source: 'openai', name: 'tokens', unit: 'tokens', limit: 150000, remaining: 20, resetAt: NOW + 6 * MINUTE },
    ]);
  });

  test('an exhausted tokens dimension wins over the requests one', () => {
    const info = parse({
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-reset-tokens': '8.64s',
    });
    expect(summary(info)).toEqual({ limit: 150000, remaining: 0, resetAt: NOW + 8640 });
  });

  test.for([
    ['OpenAI guide: 1s', '1s', SECOND],
    ['OpenAI guide: 6m0s', '6m0s', 6 * MINUTE],
    ['OpenAI guide: 20ms ("ms" is not "m" + "s")', '20ms', 20],
    ['OpenAI guide: 12ms', '12ms', 12],
    ['OpenAI guide: 8.64s', '8.64s', 8640],
    ['Go time.Duration: 1h2m3s', '1h2m3s', HOUR + 2 * MINUTE + 3 * SECOND],
    ['Go time.Duration: 1.5h', '1.5h', 90 * MINUTE],
    ['Go time.Duration: 2m30.5s', '2m30.5s', 150_500],
    ['Go time.Duration: 1500us rounds to the nearest ms', '1500us', 2],
    ['Go time.Duration: µs (micro sign)', '2500µs', 3],
    ['Go time.Duration: ns', '999999ns', 1],
    ['Go time.Duration: 0s', '0s', 0],
    ['Azure OpenAI Q&A: a bare number means seconds', '30', 30 * SECOND],
    ['Azure OpenAI Q&A: reset 0', '0', 0],
  ] as const)('%s', ([, reset, delayMs]) => {
    expect(parse(openai(reset)).resetAt).toBe(NOW + delayMs);
  });

  test.for([
    ['a minus sign', '-1s'],
    ['a unit Go does not have (d)', '1d'],
    ['a space between parts', '1m 2s'],
    ['an upper-case unit', '1S'],
    ['a number without its unit after a part', '6m0'],
    ['a unit without a number', 'ms'],
    ['an HTTP-date', NOW_DATE],
  ] as const)('an unreadable reset (%s) is left out, the limit and remaining kept', ([, reset]) => {
    expect(parse(openai(reset)).policies).toEqual([
      { source: 'openai', name: 'requests', unit: 'requests', limit: 60, remaining: 59 },
    ]);
  });

  test('Azure OpenAI Q&A 5625878: -1 sentinels drop the tokens dimension, the requests one stays', () => {
    const info = parse({
      'x-ratelimit-limit-requests': '100',
      'x-ratelimit-remaining-requests': '99',
      'x-ratelimit-limit-tokens': '-1',
      'x-ratelimit-remaining-tokens': '-1',
      'x-ratelimit-reset-tokens': '0',
    });
    expect(info.policies).toEqual([
      { source: 'openai', name: 'requests', unit: 'requests', limit: 100, remaining: 99 },
    ]);
    expect(summary(info)).toEqual({ limit: 100, remaining: 99 });
  });

  test('a -1 remaining is left out, the limit and reset of its dimension kept', () => {
    const info = parse({
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-tokens': '-1',
      'x-ratelimit-reset-tokens': '1s',
    });
    expect(info.policies).toEqual([
      { source: 'openai', name: 'tokens', unit: 'tokens', limit: 150000, resetAt: NOW + SECOND },
    ]);
  });

  test('a readable reset beside an unreadable limit and remaining is not a dimension', () => {
    const info = parse({
      'x-ratelimit-limit-tokens': 'n/a',
      'x-ratelimit-remaining-tokens': '-',
      'x-ratelimit-reset-tokens': '1s',
    });
    expect(info.policies).toEqual([]);
  });

  test('a reset alone is not a dimension', () => {
    expect(parse({ 'x-ratelimit-reset-requests': '1s' }).policies).toEqual([]);
  });
});

describe('Anthropic: RFC 3339 resets', () => {
  const anthropic = {
    'anthropic-ratelimit-requests-limit': '50',
    'anthropic-ratelimit-requests-remaining': '49',
    'anthropic-ratelimit-requests-reset': '2025-10-01T12:00:01Z',
    'anthropic-ratelimit-tokens-limit': '40000',
    'anthropic-ratelimit-tokens-remaining': '39000',
    'anthropic-ratelimit-tokens-reset': '2025-10-01T12:00:02Z',
    'anthropic-ratelimit-input-tokens-limit': '30000',
    'anthropic-ratelimit-input-tokens-remaining': '29500',
    'anthropic-ratelimit-input-tokens-reset': '2025-10-01T12:00:03Z',
    'anthropic-ratelimit-output-tokens-limit': '10000',
    'anthropic-ratelimit-output-tokens-remaining': '9500',
    'anthropic-ratelimit-output-tokens-reset': '2025-10-01T12:00:04Z',
  };

  test('Anthropic rate-limit docs: four dimensions, the requests one selected', () => {
    const info = parse(anthropic);
    expect(summary(info)).toEqual({ limit: 50, remaining: 49, resetAt: NOW + SECOND });
    expect(info.policies.map((p) => [p.source, p.unit, p.resetAt])).toEqual([
      ['anthropic', 'requests', NOW + SECOND],
      ['anthropic', 'tokens', NOW + 2 * SECOND],
      ['anthropic', 'input-tokens', NOW + 3 * SECOND],
      ['anthropic', 'output-tokens', NOW + 4 * SECOND],
    ]);
  });

  test('tidyllm fixture: a reset one second before Date clamps to now', () => {
    const info = parse({
      date: NOW_DATE,
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '49',
      'anthropic-ratelimit-requests-reset': '2025-10-01T11:59:59Z',
    });
    expect(info.resetAt).toBe(NOW);
  });

  test('the RFC 3339 reset is measured against Date', () => {
    const info = parse({
      date: 'Wed, 01 Oct 2025 12:00:10 GMT',
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '49',
      'anthropic-ratelimit-requests-reset': '2025-10-01T12:00:40Z',
    });
    expect(info.resetAt).toBe(NOW + 30 * SECOND);
  });

  test('Anthropic docs: retry-after (seconds) on 429, an exhausted output-tokens dimension selected', () => {
    const info = parse({ ...anthropic, 'anthropic-ratelimit-output-tokens-remaining': '0', 'retry-after': '4' }, 429);
    expect(info).toMatchObject({ limit: 10000, remaining: 0, retryAt: NOW + 4 * SECOND, isRateLimited: true });
  });
});

describe('HubSpot: interval window in milliseconds', () => {
  test('HubSpot changelog 2018-11-06: daily, interval and secondly quotas', () => {
    const info = parse({
      'X-HubSpot-RateLimit-Daily': '250000',
      'X-HubSpot-RateLimit-Daily-Remaining': '249990',
      'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
      'X-HubSpot-RateLimit-Max': '100',
      'X-HubSpot-RateLimit-Remaining': '97',
      'X-HubSpot-RateLimit-Secondly': '10',
      'X-HubSpot-RateLimit-Secondly-Remaining': '9',
    });
    expect(info.policies).toEqual([
      { source: 'hubspot', name: 'interval', unit: 'requests', limit: 100, remaining: 97, windowMs: 10 * SECOND },
      { source: 'hubspot', name: 'secondly', unit: 'requests', limit: 10, remaining: 9, windowMs: SECOND },
      { source: 'hubspot', name: 'daily', unit: 'requests', limit: 250000, remaining: 249990, windowMs: DAY },
    ]);
    expect(summary(info)).toEqual({ limit: 10, remaining: 9, windowMs: SECOND });
  });

  test('HubSpot: an interval of 0 ms states no window', () => {
    const info = parse({
      'X-HubSpot-RateLimit-Interval-Milliseconds': '0',
      'X-HubSpot-RateLimit-Max': '110',
      'X-HubSpot-RateLimit-Remaining': '109',
    });
    expect(summary(info)).toEqual({ limit: 110, remaining: 109 });
  });

  test('HubSpot OAuth changelog: OAuth calls omit the Daily fields', () => {
    const info = parse({
      'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
      'X-HubSpot-RateLimit-Max': '110',
      'X-HubSpot-RateLimit-Remaining': '109',
    });
    expect(summary(info)).toEqual({ limit: 110, remaining: 109, windowMs: 10 * SECOND });
  });
});

describe('Azure Resource Manager: remaining counts only', () => {
  test('ARM request limits docs: the lowest remaining of reads and writes', () => {
    const info = parse({
      'x-ms-ratelimit-remaining-subscription-reads': '11999',
      'x-ms-ratelimit-remaining-subscription-writes': '1199',
      'x-ms-ratelimit-remaining-tenant-reads': '11998',
    });
    expect(info.policies).toEqual([
      { source: 'azure', name: 'subscription-reads', unit: 'requests', remaining: 11999 },
      { source: 'azure', name: 'subscription-writes', unit: 'requests', remaining: 1199 },
      { source: 'azure', name: 'tenant-reads', unit: 'requests', remaining: 11998 },
    ]);
    expect(summary(info)).toEqual({ remaining: 1199 });
  });

  test('ARM docs: x-ms-ratelimit-remaining-resource (per-operation list) is an optional extra, not read', () => {
    const info = parse({
      'x-ms-ratelimit-remaining-resource':
        'Microsoft.Compute/GetVMScaleSet3Min;197,Microsoft.Compute/GetVMScaleSet30Min;1297',
    });
    expect(info.policies).toEqual([]);
  });

  test('a duplicated remaining takes the smaller value', () => {
    expect(parse({ 'x-ms-ratelimit-remaining-subscription-reads': ['11999', '11990'] }).remaining).toBe(11990);
  });

  test('a duplicated remaining with an invalid member is ignored', () => {
    expect(parse({ 'x-ms-ratelimit-remaining-subscription-reads': '11999, n/a' }).policies).toEqual([]);
  });
});

describe('Shopify and Salesforce: used/limit', () => {
  test.for([
    ['Shopify REST docs: 32/40 is used/bucket size', '32/40', { limit: 40, remaining: 8 }],
    ['Shopify REST docs: a full bucket 40/40', '40/40', { limit: 40, remaining: 0 }],
    ['Shopify: an over-full bucket never gives a negative remaining', '41/40', { limit: 40, remaining: 0 }],
  ] as const)('%s', ([, value, selected]) => {
    const info = parse({ 'X-Shopify-Shop-Api-Call-Limit': value });
    expect(summary(info)).toEqual(selected);
    expect(info.policies).toMatchObject([{ source: 'shopify', name: 'api-call-limit', unit: 'requests' }]);
  });

  test.for(['32', '32/', '/40', '32/40/50', '-1/40', '3.5/40', 'a/b'])(
    'Shopify: a malformed call limit %j is ignored',
    (value) => {
      expect(parse({ 'X-Shopify-Shop-Api-Call-Limit': value }).policies).toEqual([]);
    },
  );

  test('Shopify REST docs: Retry-After 2.0 on 429', () => {
    const info = parse({ 'X-Shopify-Shop-Api-Call-Limit': '40/40', 'Retry-After': '2.0' }, 429);
    expect(info).toMatchObject({ limit: 40, remaining: 0, retryAt: NOW + 2 * SECOND, isRateLimited: true });
  });

  test('Salesforce REST docs: Sforce-Limit-Info api-usage=18/5000 is used/limit', () => {
    const info = parse({ 'Sforce-Limit-Info': 'api-usage=18/5000' });
    expect(summary(info)).toEqual({ limit: 5000, remaining: 4982 });
    expect(info.policies).toEqual([
      { source: 'salesforce', name: 'api-usage', unit: 'requests', limit: 5000, remaining: 4982 },
    ]);
  });

  test('Salesforce: api-usage=10018/100000; api-bursts=1/750 gives two quotas, the bursts one is lower', () => {
    const info = parse({ 'Sforce-Limit-Info': 'api-usage=10018/100000; api-bursts=1/750' });
    expect(info.policies.map((p) => [p.name, p.limit, p.remaining])).toEqual([
      ['api-usage', 100000, 89982],
      ['api-bursts', 750, 749],
    ]);
    expect(summary(info)).toEqual({ limit: 750, remaining: 749 });
  });

  test('Salesforce pilot: per-app-api-usage=17/250(appName=sample-app) keeps the app in the name', () => {
    const info = parse({ 'Sforce-Limit-Info': 'api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)' });
    expect(info.policies.map((p) => p.name)).toEqual(['api-usage', 'per-app-api-usage(appName=sample-app)']);
  });

  test('Salesforce: members without "=" or with a malformed usage are skipped', () => {
    const info = parse({ 'Sforce-Limit-Info': 'garbage; api-usage=18/x; api-bursts=1/750' });
    expect(info.policies.map((p) => p.name)).toEqual(['api-bursts']);
  });
});

describe('vendors without quota fields', () => {
  test('Stripe docs: a 429 without Retry-After is rate limited, with nothing else known', () => {
    const info = parse({ 'Stripe-Should-Retry': 'true' }, 429);
    expect(info).toEqual({ isRateLimited: true, policies: [] });
  });

  test('Slack docs: Retry-After seconds only', () => {
    expect(parse({ 'Retry-After': '30' }, 429)).toEqual({
      retryAt: NOW + 30 * SECOND,
      isRateLimited: true,
      policies: [],
    });
  });

  test('Microsoft Graph throttling docs: 429 + Retry-After 41', () => {
    expect(parse({ 'Retry-After': '41' }, 429).retryAt).toBe(NOW + 41 * SECOND);
  });

  test('Zendesk docs: zendesk-ratelimit-tickets-index is an optional extra, not read', () => {
    expect(parse({ 'zendesk-ratelimit-tickets-index': 'total=100; remaining=99; resets=41' }).policies).toEqual([]);
  });
});
