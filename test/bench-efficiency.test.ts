// The efficiency the bench reports, as issue 13 defines it, for both kinds of policy.
import { describe, expect, test } from 'vitest';
import { efficiency, fastestFinishMs } from '../bench/efficiency.js';
import type { Policy } from '../bench/efficiency.js';

const fixed = (limit: number, windowMs: number): Policy => ({ kind: 'fixed-window', limit, windowMs });
const bucket = (capacity: number, perSecond: number): Policy => ({ kind: 'bucket', capacity, perSecond });

describe('fastestFinishMs', () => {
  test('fixed window: (ceil(N / L) − 1) × W', () => {
    expect(fastestFinishMs(300, fixed(50, 2_000))).toBe(10_000);
    expect(fastestFinishMs(300, fixed(20, 1_000))).toBe(14_000);
    // A last window only partly used still has to open.
    expect(fastestFinishMs(301, fixed(50, 2_000))).toBe(12_000);
    expect(fastestFinishMs(51, fixed(50, 2_000))).toBe(2_000);
  });

  test('fixed window: what fits in the first window costs nothing', () => {
    expect(fastestFinishMs(50, fixed(50, 2_000))).toBe(0);
    expect(fastestFinishMs(1, fixed(50, 2_000))).toBe(0);
    expect(fastestFinishMs(0, fixed(50, 2_000))).toBe(0);
  });

  test('bucket: (N − B) / r', () => {
    expect(fastestFinishMs(300, bucket(50, 25))).toBe(10_000);
    expect(fastestFinishMs(60, bucket(0, 20))).toBe(3_000);
    expect(fastestFinishMs(10, bucket(4, 3))).toBe(2_000);
    expect(fastestFinishMs(30, bucket(50, 25))).toBe(0);
  });

  test('rejects a policy that allows nothing, or a negative count', () => {
    expect(() => fastestFinishMs(10, fixed(0, 1_000))).toThrow(RangeError);
    expect(() => fastestFinishMs(10, fixed(5, 0))).toThrow(RangeError);
    expect(() => fastestFinishMs(10, bucket(5, 0))).toThrow(RangeError);
    expect(() => fastestFinishMs(-1, fixed(5, 1_000))).toThrow(RangeError);
    expect(() => fastestFinishMs(1.5, fixed(5, 1_000))).toThrow(RangeError);
  });
});

describe('efficiency', () => {
  test('fastest ÷ wall time', () => {
    // The issue's own figures: 300 calls at 50 per 2 s in 12.1 s is 0.83; at 20 per 1 s, 60 calls in 3 s is 0.67.
    expect(efficiency(300, fixed(50, 2_000), 12_100)).toBeCloseTo(0.826, 3);
    expect(efficiency(60, fixed(20, 1_000), 3_000)).toBeCloseTo(0.667, 3);
    expect(efficiency(300, fixed(50, 2_000), 10_000)).toBe(1);
    expect(efficiency(300, bucket(50, 25), 20_000)).toBe(0.5);
  });

  test('undefined when the policy lets everything through at once', () => {
    expect(efficiency(50, fixed(50, 2_000), 300)).toBeUndefined();
    expect(efficiency(10, bucket(50, 25), 300)).toBeUndefined();
  });

  test('rejects a wall time that is not positive', () => {
    expect(() => efficiency(300, fixed(50, 2_000), 0)).toThrow(RangeError);
  });
});
