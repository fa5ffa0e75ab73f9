// A quota in another unit than requests (tokens): what is left, how it refills (evenly, or all at once at a window's
// reset), and when a request of some amount may go. Pure.
import { describe, expect, it } from 'vitest';
import { observeUnit, spendUnit, unitLevel, unitReadyAt } from '../../src/engine/unit-pace.js';
import { overLimit, quotaFree, requestsOnly, UnitQuotas } from '../../src/engine/unit-quotas.js';
import { parseRateLimit } from '../../src/headers/index.js';

const NOW = 1_700_000_000_000;

describe('continuous refill (the LLM vendors)', () => {
  // 20,000 tokens, 2,000 left, whole again in 1.8 s: 10 tokens per ms.
  const pace = observeUnit(
    { remaining: 2_000, limit: 20_000, resetAt: NOW + 1_800, inFlight: 500, refill: 'continuous' },
    NOW,
  );

  it('counts the units in flight as spent, and refills evenly up to the limit', () => {
    expect(unitLevel(pace, NOW)).toBe(1_500);
    expect(unitLevel(pace, NOW + 100)).toBe(2_500);
    expect(unitLevel(pace, NOW + 60_000)).toBe(20_000);
  });

  it('lets a request go when its amount is there, and says when it will be', () => {
    expect(unitReadyAt(pace, 1_500, NOW)).toBe(NOW);
    expect(unitReadyAt(pace, 2_500, NOW)).toBe(NOW + 100);
    // More than the whole quota: it goes when the quota is whole, and the rest repay it.
    expect(unitReadyAt(pace, 50_000, NOW)).toBe(NOW + 1_850);
    const spent = spendUnit(pace, 1_500, NOW);
    expect(unitLevel(spent, NOW)).toBe(0);
    expect(unitReadyAt(spent, 1_000, NOW)).toBe(NOW + 100);
  });
});

describe('window refill (an IETF policy in tokens)', () => {
  const pace = observeUnit({ remaining: 100, limit: 1_000, resetAt: NOW + 5_000, inFlight: 0, refill: 'window' }, NOW);

  it('holds what is left until the reset, then all of it', () => {
    expect(unitLevel(pace, NOW + 4_999)).toBe(100);
    expect(unitReadyAt(pace, 200, NOW)).toBe(NOW + 5_000);
    expect(unitLevel(pace, NOW + 5_000)).toBe(1_000);
  });
});

describe('UnitQuotas', () => {
  const answer = (requests: number, tokens: number) =>
    parseRateLimit(
      {
        'x-ratelimit-limit-requests': '60',
        'x-ratelimit-remaining-requests': String(requests),
        'x-ratelimit-reset-requests': '1s',
        'x-ratelimit-limit-tokens': '6000',
        'x-ratelimit-remaining-tokens': String(tokens),
        'x-ratelimit-reset-tokens': '900ms',
      },
      { now: NOW },
    );

  it('holds a request whose tokens are not there, names the unit, and frees its units once answered', () => {
    const quotas = new UnitQuotas();
    quotas.take([['tokens', 1_000]], 1, NOW);
    quotas.take([['tokens', 2_000]], 2, NOW);
    // The first answer: 3,000 left after it; the second request's 2,000 are not counted yet.
    quotas.observe(1, answer(58, 3_000), NOW + 10);
    expect(quotas.readyAt([['tokens', 1_000]], NOW + 10)).toBe(NOW + 10);
    expect(quotas.readyAt([['tokens', 1_500]], NOW + 10)).toBeGreaterThan(NOW + 10);
    expect(quotas.heldBy).toBe('tokens');
    quotas.observe(2, answer(57, 1_000), NOW + 20);
    // OpenAI's requests refill evenly too: they have a view of their own here.
    expect(quotas.view(NOW + 20)).toEqual({
      requests: { remaining: 57, limit: 60, resetAt: NOW + 1_000, charged: 0 },
      tokens: { remaining: 1_000, limit: 6_000, resetAt: NOW + 900, charged: 3_000 },
    });
    expect(quotas.readyAt([['input-tokens', 10_000]], NOW + 20)).toBe(NOW + 20); // a unit nobody limits costs nothing
  });

  it('sends the first request with units alone until the server has answered, then charges only what it describes', () => {
    const quotas = new UnitQuotas();
    expect(quotas.readyAt([['tokens', 500]], NOW)).toBe(NOW);
    quotas.take([['tokens', 500]], 1, NOW);
    expect(quotas.readyAt([['tokens', 500]], NOW)).toBe(Infinity);
    expect(quotas.heldBy).toBe('tokens');
    // The answer describes no tokens: they cost nothing from then on.
    quotas.observe(1, parseRateLimit({}, { now: NOW + 10 }), NOW + 10);
    expect(quotas.readyAt([['tokens', 500]], NOW + 10)).toBe(NOW + 10);
  });

  it("says whether the server's word backs a request: each unit it describes holds the amount", () => {
    const quotas = new UnitQuotas();
    expect(quotas.backs([['tokens', 10]], NOW)).toBe(false); // nothing described yet
    quotas.take([['tokens', 10]], 1, NOW);
    quotas.observe(1, answer(59, 1_000), NOW);
    expect(
      quotas.backs(
        [
          ['requests', 1],
          ['tokens', 1_000],
          ['widgets', 5],
        ],
        NOW,
      ),
    ).toBe(true);
    expect(
      quotas.backs(
        [
          ['requests', 1],
          ['tokens', 1_001],
        ],
        NOW,
      ),
    ).toBe(false);
  });

  it("finds a cost above the server's whole limit: as the refusal states it, else as an earlier answer did", () => {
    const quotas = new UnitQuotas();
    quotas.take([['tokens', 10]], 1, NOW);
    quotas.observe(1, answer(59, 5_990), NOW);
    expect(quotas.statedLimit('tokens')).toBe(6_000);
    const known = (unit: string) => quotas.statedLimit(unit);
    expect(
      overLimit(
        [
          ['requests', 1],
          ['tokens', 6_001],
        ],
        answer(59, 0),
        known,
      ),
    ).toEqual({
      unit: 'tokens',
      cost: 6_001,
      limit: 6_000,
    });
    expect(overLimit([['tokens', 6_000]], answer(59, 0), known)).toBeUndefined();
    // A bare refusal: the limit an earlier answer stated.
    expect(overLimit([['tokens', 7_000]], parseRateLimit({}, { now: NOW }), known)).toMatchObject({ limit: 6_000 });
    expect(overLimit([['input-tokens', 7_000]], parseRateLimit({}, { now: NOW }), known)).toBeUndefined();
  });

  it('reads the request pace from the requests policy alone, not a spent token quota; none where quotas refill evenly', () => {
    expect(quotaFree(answer(40, 0))).not.toHaveProperty('remaining');
    const info = requestsOnly(answer(40, 0));
    expect(info).toMatchObject({ limit: 60, remaining: 40, resetAt: NOW + 1_000 });
    expect(info.policies).toHaveLength(2);
  });
});
