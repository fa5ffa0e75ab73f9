// The createRatewise budget that matches what a server said: its request quotas with a stated window become local
// rates, keyed by the URL's host. Pure.
import type { RateLimitPolicy } from '../headers/index.js';

/** The budget suggested for one host. */
export interface BudgetSuggestion {
  /** The budget pattern: the URL's host, with its port when not the scheme's default. */
  readonly pattern: string;
  /** Local rates (`"5/min"`), shortest window first; empty when the server stated no window. */
  readonly rates: readonly string[];
  /** What the snippet's comments say: why there is no rate, what a rate does not cover. */
  readonly notes: readonly string[];
  /** A TypeScript snippet to paste. */
  readonly snippet: string;
}

const UNITS: readonly (readonly [ms: number, one: string, many: string])[] = [
  [86_400_000, 'day', 'd'],
  [3_600_000, 'hour', 'h'],
  [60_000, 'min', 'min'],
  [1000, 's', 's'],
  [1, 'ms', 'ms'],
];

/** `limit` per `windowMs` as a rate string createRatewise reads: `"5/min"`, `"50/2s"`, `"10/1500ms"`. */
export function rateString(limit: number, windowMs: number): string {
  for (const [ms, one, many] of UNITS) {
    if (windowMs % ms !== 0) continue;
    const count = windowMs / ms;
    return count === 1 ? `${limit}/${one}` : `${limit}/${count}${many}`;
  }
  return `${limit}/${windowMs}ms`;
}

const quote = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function notesFor(policies: readonly RateLimitPolicy[], rates: readonly string[]): string[] {
  const notes: string[] = [];
  if (policies.length === 0) {
    notes.push(
      'This answer describes no quota: set a rate from the API documentation, or let ratewise learn from the 429s.',
    );
  } else if (rates.length === 0 && policies.some((p) => p.unit === 'requests')) {
    notes.push('The server states no window: ratewise paces by its remaining and reset, no local rate needed.');
  }
  const others = policies.filter((p) => p.unit !== 'requests' && p.limit !== undefined);
  for (const p of others) {
    const window = p.windowMs === undefined ? '' : ` per ${p.windowMs / 1000} s`;
    notes.push(
      `Also ${p.limit!} ${p.unit}${window}: a rate counts requests, unless each call says its cost ` +
        `(\`ratewise: { cost }\`) in a budget of its own.`,
    );
  }
  return notes;
}

/** The budget for `url`'s host that enforces the request quotas `policies` state with a window. */
export function suggestBudget(url: URL, policies: readonly RateLimitPolicy[]): BudgetSuggestion {
  const seen = new Set<string>();
  const quotas: (readonly [limit: number, windowMs: number])[] = [];
  for (const p of policies) {
    if (p.unit !== 'requests' || p.limit === undefined || p.windowMs === undefined || p.limit === 0) continue;
    const key = `${p.limit}/${p.windowMs}`;
    if (seen.has(key)) continue; // two families describing one quota
    seen.add(key);
    quotas.push([p.limit, p.windowMs]);
  }
  quotas.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  const rates = quotas.map(([limit, windowMs]) => rateString(limit, windowMs));
  const pattern = url.host;
  const notes = notesFor(policies, rates);
  const rate =
    rates.length === 0
      ? '{}'
      : rates.length === 1
        ? `{ rate: ${quote(rates[0]!)} }`
        : `{ rate: [${rates.map(quote).join(', ')}] }`;
  const snippet = [
    "import { createRatewise } from 'ratewise';",
    '',
    'const rw = createRatewise({',
    '  budgets: {',
    ...notes.map((note) => `    // ${note}`),
    `    ${quote(pattern)}: ${rate},`,
    '  },',
    '});',
  ].join('\n');
  return { pattern, rates, notes, snippet };
}
