// A fixed table of response header sets for the conformance run: every runtime reads each one with
// `parseRateLimit` and `parseRetryAfter` from the built package, and the results must equal Node 20's.
// Plain data, no runtime API: the same file is loaded by every runtime under test.

/** The instant every set is read at (epoch ms), so that results do not depend on the wall clock. */
export const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const NOW_S = NOW / 1000;
const HTTP_DATE = new Date(NOW).toUTCString();
const LATER_DATE = new Date(NOW + 90_000).toUTCString();

/**
 * @typedef {object} HeaderSet
 * @property {string} name
 * @property {Readonly<Record<string, string | readonly string[]>>} headers A list value is a repeated field.
 * @property {number} [status] The response status, when it matters.
 */

/** @type {readonly HeaderSet[]} */
export const HEADER_SETS = [
  {
    name: 'IETF draft-8 (express-rate-limit)',
    headers: { 'ratelimit-policy': '"20-in-1sec"; q=20; w=1; pk=:MTIz:', ratelimit: '"20-in-1sec"; r=7; t=1' },
  },
  {
    name: 'IETF draft-8, two policies, one spent',
    headers: {
      'ratelimit-policy': '"burst";q=100;w=60, "daily";q=1000;w=86400',
      ratelimit: '"burst";r=0;t=30, "daily";r=500;t=3600',
    },
    status: 429,
  },
  {
    name: 'IETF draft-7 dictionary',
    headers: { ratelimit: 'limit=20, remaining=3, reset=2', 'ratelimit-policy': '20;w=1' },
  },
  {
    name: 'IETF draft-6 separate fields',
    headers: { 'ratelimit-limit': '50', 'ratelimit-remaining': '49', 'ratelimit-reset': '2' },
  },
  {
    name: 'GitHub x-ratelimit-* (epoch seconds)',
    headers: {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4987',
      'x-ratelimit-used': '13',
      'x-ratelimit-reset': String(NOW_S + 1800),
      'x-ratelimit-resource': 'core',
    },
  },
  {
    name: 'Discord, fractional reset-after and bucket',
    headers: {
      'x-ratelimit-limit': '5',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(NOW_S + 64.57),
      'x-ratelimit-reset-after': '64.57',
      'x-ratelimit-bucket': 'abcd1234',
      'x-ratelimit-scope': 'user',
    },
    status: 429,
  },
  {
    name: 'OpenAI, Go durations',
    headers: {
      'x-ratelimit-limit-requests': '500',
      'x-ratelimit-remaining-requests': '499',
      'x-ratelimit-reset-requests': '120ms',
      'x-ratelimit-limit-tokens': '30000',
      'x-ratelimit-remaining-tokens': '29000',
      'x-ratelimit-reset-tokens': '6m0s',
    },
  },
  {
    name: 'Anthropic, RFC 3339 instants',
    headers: {
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': new Date(NOW + 20_000).toISOString(),
      'retry-after': '20',
    },
    status: 429,
  },
  { name: 'Retry-After seconds on a 429', headers: { 'retry-after': '120' }, status: 429 },
  {
    name: 'Retry-After HTTP-date with a Date header',
    headers: { 'retry-after': LATER_DATE, date: HTTP_DATE },
    status: 503,
  },
  { name: 'retry-after-ms', headers: { 'retry-after-ms': '1500.4' }, status: 429 },
  {
    name: 'repeated fields',
    headers: { 'x-ratelimit-limit': ['60', '60'], 'x-ratelimit-remaining': ['10', '12'], 'x-ratelimit-reset': '30' },
  },
  {
    name: 'unreadable values',
    headers: {
      ratelimit: '"p";r=-1;t=soon',
      'ratelimit-policy': '"p";q=1e3',
      'retry-after': 'later',
      'x-ratelimit-limit': 'ten',
    },
    status: 429,
  },
  { name: 'no rate-limit fields', headers: { 'content-type': 'application/json', etag: '"x"' } },
];
