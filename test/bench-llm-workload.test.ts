// The workload and the figure of the LLM measurement (bench/llm-pair.ts).
import { describe, expect, test } from 'vitest';
import { seededRandom, skewedJobs, tokenEfficiency } from '../bench/llm-workload.js';

describe('skewedJobs', () => {
  test('the same seed gives the same calls; another seed others', () => {
    expect(skewedJobs(50, { seed: 15 })).toEqual(skewedJobs(50, { seed: 15 }));
    expect(skewedJobs(50, { seed: 16 })).not.toEqual(skewedJobs(50, { seed: 15 }));
  });

  test('costs stay within 100..2,000, 30 % of each is prompt, and most are small', () => {
    const jobs = skewedJobs(1_000, { seed: 15 });
    const costs = jobs.map((job) => job.promptTokens + job.maxTokens).sort((a, b) => a - b);
    expect(costs[0]).toBeGreaterThanOrEqual(100);
    expect(costs.at(-1)).toBeLessThanOrEqual(2_000);
    for (const job of jobs) {
      expect(job.promptTokens).toBe(Math.round((job.promptTokens + job.maxTokens) * 0.3));
    }
    // min + (max − min) × u³: the median cost is 100 + 1,900 / 8 = 337.5 in expectation.
    expect(costs[500]).toBeLessThan(600);
    expect(costs[900]).toBeGreaterThan(1_000);
  });

  test('seededRandom gives numbers in [0, 1)', () => {
    const random = seededRandom(1);
    for (let i = 0; i < 1_000; i++) {
      const value = random();
      expect(value >= 0 && value < 1).toBe(true);
    }
  });
});

describe('tokenEfficiency', () => {
  test('tokens admitted ÷ (capacity + refill × wall time)', () => {
    expect(tokenEfficiency(120_000, { capacity: 20_000, refillPerMs: 10 }, 10_000)).toBe(1);
    expect(tokenEfficiency(60_000, { capacity: 20_000, refillPerMs: 10 }, 10_000)).toBe(0.5);
    expect(tokenEfficiency(20_000, { capacity: 20_000, refillPerMs: 10 }, 0)).toBe(1);
  });

  test('rejects a negative wall time or a bucket that never refills', () => {
    expect(() => tokenEfficiency(1, { capacity: 1, refillPerMs: 0 }, 1)).toThrow(RangeError);
    expect(() => tokenEfficiency(1, { capacity: 1, refillPerMs: 1 }, -1)).toThrow(RangeError);
  });
});
