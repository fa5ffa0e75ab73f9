import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rateString, suggestBudget } from '../../src/cli/budget.js';
import { parseRate } from '../../src/config/rate.js';
import type { RateLimitPolicy } from '../../src/headers/index.js';

const URL_ = new URL('https://api.example:8443/v1');

describe('rateString', () => {
  it.each([
    [5, 60_000, '5/min'],
    [50, 2000, '50/2s'],
    [10, 1000, '10/s'],
    [5000, 3_600_000, '5000/hour'],
    [200, 86_400_000, '200/day'],
    [100, 300_000, '100/5min'],
    [10, 90_000, '10/90s'],
    [10, 7_200_000, '10/2h'],
    [1000, 2_592_000_000, '1000/30d'],
    [10, 1500, '10/1500ms'],
  ])('%i per %i ms is %j', (limit, windowMs, expected) => {
    expect(rateString(limit, windowMs)).toBe(expected);
  });

  it('writes what createRatewise reads back as the same limit and interval', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.integer({ min: 1, max: 400 * 86_400_000 }),
        (limit, windowMs) => {
          expect(parseRate(rateString(limit, windowMs))).toEqual([{ limit, intervalMs: windowMs }]);
        },
      ),
    );
  });
});

describe('suggestBudget', () => {
  const policy = (p: Partial<RateLimitPolicy>): RateLimitPolicy => ({ source: 'ietf', unit: 'requests', ...p });

  it('keys the budget by host and port, with one rate per request quota that states a window', () => {
    const budget = suggestBudget(URL_, [
      policy({ limit: 1000, windowMs: 3_600_000 }),
      policy({ limit: 10, windowMs: 1000 }),
      policy({ source: 'x-ratelimit', limit: 10, windowMs: 1000 }), // the same quota in another family
      policy({ limit: 7 }), // no window
    ]);
    expect(budget.pattern).toBe('api.example:8443');
    expect(budget.rates).toEqual(['10/s', '1000/hour']);
    expect(budget.notes).toEqual([]);
    expect(budget.snippet).toBe(
      [
        "import { createRatewise } from 'ratewise';",
        '',
        'const rw = createRatewise({',
        '  budgets: {',
        "    'api.example:8443': { rate: ['10/s', '1000/hour'] },",
        '  },',
        '});',
      ].join('\n'),
    );
  });

  it('leaves the default port out of the pattern, and writes a single rate as a string', () => {
    const budget = suggestBudget(new URL('https://api.example/'), [policy({ limit: 5, windowMs: 60_000 })]);
    expect(budget.snippet).toContain("    'api.example': { rate: '5/min' },");
  });

  it('says why there is no rate when the server states no window, or no quota at all', () => {
    const noWindow = suggestBudget(URL_, [policy({ source: 'x-ratelimit', limit: 60, remaining: 59 })]);
    expect(noWindow.rates).toEqual([]);
    expect(noWindow.notes).toEqual([
      'The server states no window: ratewise paces by its remaining and reset, no local rate needed.',
    ]);
    expect(noWindow.snippet).toContain(`    // ${noWindow.notes[0]!}\n    'api.example:8443': {},`);
    expect(suggestBudget(URL_, []).notes[0]).toMatch(/^This answer describes no quota/);
  });

  it('makes no rate of a quota counted in tokens, and says so', () => {
    const budget = suggestBudget(URL_, [
      policy({ source: 'openai', name: 'requests', limit: 500, remaining: 499 }),
      policy({ source: 'openai', name: 'tokens', unit: 'tokens', limit: 30_000, windowMs: 60_000 }),
    ]);
    expect(budget.rates).toEqual([]);
    expect(budget.notes).toContainEqual(expect.stringMatching(/^Also 30000 tokens per 60 s: a rate counts requests/));
  });
});
