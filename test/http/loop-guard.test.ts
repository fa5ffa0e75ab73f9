import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoopGuard } from '../../src/http/loop-guard.js';

const T0 = Date.UTC(2025, 9, 1, 12, 0, 0);
const KEY = 'GET https://api.example.com/items';

/** Records `calls` calls of `key`, `everyMs` apart from `start`; returns the non-undefined results with their index. */
function run(
  guard: LoopGuard,
  calls: number,
  everyMs: number,
  start = T0,
  key = KEY,
): [index: number, count: number][] {
  const reports: [number, number][] = [];
  for (let i = 0; i < calls; i++) {
    const count = guard.record(key, start + i * everyMs);
    if (count !== undefined) reports.push([i, count]);
  }
  return reports;
}

describe('LoopGuard', () => {
  it('never trips on ordinary polling: one request a second on the same URL, for a day', () => {
    const guard = new LoopGuard();
    expect(run(guard, 86_400, 1000)).toEqual([]);
  });

  it('never trips on polling at exactly the limit: 100 calls spread over each window', () => {
    expect(run(new LoopGuard(), 10_000, 100)).toEqual([]);
  });

  it('reports a tight loop once, with the count of the first call beyond the limit', () => {
    const guard = new LoopGuard();
    expect(run(guard, 500, 1)).toEqual([[100, 101]]);
  });

  it('reports a sustained loop once per window', () => {
    const guard = new LoopGuard({ limit: 10, windowMs: 1000 });
    expect(run(guard, 100, 50).map(([index]) => index)).toEqual([10, 30, 50, 70, 90]);
  });

  it('counts each key apart', () => {
    const guard = new LoopGuard({ limit: 2, windowMs: 1000 });
    expect(guard.record('GET /a', T0)).toBeUndefined();
    expect(guard.record('GET /b', T0)).toBeUndefined();
    expect(guard.record('GET /a', T0)).toBeUndefined();
    expect(guard.record('POST /a', T0)).toBeUndefined();
    expect(guard.record('GET /a', T0)).toBe(3);
    expect(guard.record('GET /b', T0)).toBeUndefined();
  });

  it('starts a fresh window when the clock goes back', () => {
    const guard = new LoopGuard({ limit: 2, windowMs: 1000 });
    guard.record(KEY, T0);
    guard.record(KEY, T0);
    expect(guard.record(KEY, T0 - 60_000)).toBeUndefined();
    expect(guard.record(KEY, T0 - 60_000)).toBeUndefined();
    expect(guard.record(KEY, T0 - 60_000)).toBe(3);
  });

  it('never trips with limit Infinity, and tracks nothing', () => {
    const guard = new LoopGuard({ limit: Infinity });
    expect(run(guard, 1000, 0)).toEqual([]);
    expect(guard.size).toBe(0);
  });

  it('tracks at most maxEntries keys, forgetting the least recently called first', () => {
    const guard = new LoopGuard({ limit: 2, windowMs: 1000, maxEntries: 3 });
    guard.record('a', T0);
    guard.record('b', T0 + 1);
    guard.record('c', T0 + 2);
    guard.record('a', T0 + 3); // 'a' is now the most recent
    guard.record('d', T0 + 4); // evicts 'b'
    expect(guard.size).toBe(3);
    expect(guard.record('a', T0 + 5)).toBe(3); // 'a' kept its count
    expect(guard.record('b', T0 + 6)).toBeUndefined(); // 'b' counts from 1 again; evicts 'c'
    expect(guard.record('b', T0 + 6)).toBeUndefined();
    expect(guard.record('b', T0 + 6)).toBe(3);
  });

  it('keeps a looping key tracked while a flood of one-off URLs passes through', () => {
    const guard = new LoopGuard({ limit: 50, windowMs: 10_000, maxEntries: 10 });
    const reports: number[] = [];
    for (let i = 0; i < 200; i++) {
      guard.record(`GET /once/${i}`, T0 + i);
      const count = guard.record(KEY, T0 + i);
      if (count !== undefined) reports.push(count);
    }
    expect(guard.size).toBe(10);
    expect(reports).toEqual([51]);
  });

  it('counts the calls of the running window, and none once it has ended', () => {
    const guard = new LoopGuard({ limit: 2, windowMs: 1000 });
    for (let i = 0; i < 5; i++) guard.record('GET /x', 100);
    expect(guard.count('GET /x', 500)).toBe(5);
    expect(guard.count('GET /x', 1100)).toBe(0);
    expect(guard.count('GET /other', 500)).toBe(0);
  });

  it('warns once per key', () => {
    const guard = new LoopGuard();
    expect(guard.warnOnce(KEY)).toBe(true);
    expect(guard.warnOnce(KEY)).toBe(false);
    expect(guard.warnOnce('GET /other')).toBe(true);
    guard.clear();
    expect(guard.warnOnce(KEY)).toBe(true);
  });

  it('remembers at most maxEntries warned keys', () => {
    const guard = new LoopGuard({ maxEntries: 2 });
    guard.warnOnce('a');
    guard.warnOnce('b');
    guard.warnOnce('c'); // forgets 'a'
    expect(guard.warnOnce('b')).toBe(false);
    expect(guard.warnOnce('a')).toBe(true);
  });

  it('reports iff a window holds more than limit calls, at most once per window (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 300 }),
        (limit, windowMs, gaps) => {
          const guard = new LoopGuard({ limit, windowMs });
          let now = T0;
          let startedAt = -Infinity;
          let count = 0;
          for (const gap of gaps) {
            now += gap;
            if (now - startedAt >= windowMs) [startedAt, count] = [now, 0];
            count++;
            expect(guard.record(KEY, now)).toBe(count === limit + 1 ? count : undefined);
          }
        },
      ),
    );
  });
});
