import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoopGuard } from '../../src/http/loop-guard.js';

const T0 = Date.UTC(2025, 9, 1, 12, 0, 0);
const KEY = 'GET https://api.example.com/items';

/** One call of `key` at `now` that settles before the next starts; its loop report, if any. */
function call(guard: LoopGuard, key: string, now: number): number | undefined {
  const recorded = guard.record(key, now);
  if (recorded === undefined) return undefined;
  guard.settle(recorded);
  return recorded.first ? recorded.count : undefined;
}

/** `calls` sequential calls of `key`, `everyMs` apart from `start`; the loop reports with the call's index. */
function run(
  guard: LoopGuard,
  calls: number,
  everyMs: number,
  start = T0,
  key = KEY,
): [index: number, count: number][] {
  const reports: [number, number][] = [];
  for (let i = 0; i < calls; i++) {
    const count = call(guard, key, start + i * everyMs);
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

  it('does not count copies started while the previous one is in flight: 200 at once count as one call', () => {
    const guard = new LoopGuard({ limit: 2 });
    const recorded = Array.from({ length: 200 }, () => guard.record(KEY, T0)!);
    expect(recorded.map((r) => r.count)).toEqual([1, ...Array<number>(199).fill(0)]);
    expect(recorded.some((r) => r.first)).toBe(false);
    for (const r of recorded) guard.settle(r);
    // Then one after the other: the loop.
    expect(run(guard, 3, 0)).toEqual([[1, 3]]);
  });

  it("counts a call once the key's latest call has settled, though an older copy is still in flight", () => {
    const guard = new LoopGuard({ limit: 5 });
    const slow = guard.record(KEY, T0)!;
    const fast = guard.record(KEY, T0)!;
    guard.settle(fast);
    expect(guard.record(KEY, T0)!.count).toBe(2);
    // The old copy settling now says nothing of the call in flight.
    guard.settle(slow);
    expect(guard.record(KEY, T0)!.count).toBe(0);
  });

  it('counts each key apart', () => {
    const guard = new LoopGuard({ limit: 2, windowMs: 1000 });
    expect(call(guard, 'GET /a', T0)).toBeUndefined();
    expect(call(guard, 'GET /b', T0)).toBeUndefined();
    expect(call(guard, 'GET /a', T0)).toBeUndefined();
    expect(call(guard, 'POST /a', T0)).toBeUndefined();
    expect(call(guard, 'GET /a', T0)).toBe(3);
    expect(call(guard, 'GET /b', T0)).toBeUndefined();
  });

  it('counts every call past the limit while the window lasts, and reports the first only', () => {
    const guard = new LoopGuard({ limit: 2, windowMs: 1000 });
    const counts = Array.from({ length: 5 }, () => {
      const r = guard.record(KEY, T0 + 100)!;
      guard.settle(r);
      return [r.count, r.first];
    });
    expect(counts).toEqual([
      [1, false],
      [2, false],
      [3, true],
      [4, false],
      [5, false],
    ]);
    expect(guard.record(KEY, T0 + 1100)).toMatchObject({ count: 1, first: false });
  });

  it('starts a fresh window when the clock goes back', () => {
    const guard = new LoopGuard({ limit: 2, windowMs: 1000 });
    call(guard, KEY, T0);
    call(guard, KEY, T0);
    expect(call(guard, KEY, T0 - 60_000)).toBeUndefined();
    expect(call(guard, KEY, T0 - 60_000)).toBeUndefined();
    expect(call(guard, KEY, T0 - 60_000)).toBe(3);
  });

  it('never trips with limit Infinity, and tracks nothing', () => {
    const guard = new LoopGuard({ limit: Infinity });
    expect(run(guard, 1000, 0)).toEqual([]);
    expect(guard.record(KEY, T0)).toBeUndefined();
    expect(guard.size).toBe(0);
  });

  it('tracks at most maxEntries keys, forgetting the least recently called first', () => {
    const guard = new LoopGuard({ limit: 2, windowMs: 1000, maxEntries: 3 });
    call(guard, 'a', T0);
    call(guard, 'b', T0 + 1);
    call(guard, 'c', T0 + 2);
    call(guard, 'a', T0 + 3); // 'a' is now the most recent
    call(guard, 'd', T0 + 4); // evicts 'b'
    expect(guard.size).toBe(3);
    expect(call(guard, 'a', T0 + 5)).toBe(3); // 'a' kept its count
    expect(call(guard, 'b', T0 + 6)).toBeUndefined(); // 'b' counts from 1 again; evicts 'c'
    expect(call(guard, 'b', T0 + 6)).toBeUndefined();
    expect(call(guard, 'b', T0 + 6)).toBe(3);
  });

  it('ignores the settling of a call whose key was forgotten', () => {
    const guard = new LoopGuard({ maxEntries: 1 });
    const a = guard.record('a', T0)!;
    guard.record('b', T0); // evicts 'a'
    guard.settle(a);
    expect(guard.size).toBe(1);
    expect(guard.record('b', T0)!.count).toBe(0); // 'b' is still in flight
  });

  it('keeps a looping key tracked while a flood of one-off URLs passes through', () => {
    const guard = new LoopGuard({ limit: 50, windowMs: 10_000, maxEntries: 10 });
    const reports: number[] = [];
    for (let i = 0; i < 200; i++) {
      call(guard, `GET /once/${i}`, T0 + i);
      const count = call(guard, KEY, T0 + i);
      if (count !== undefined) reports.push(count);
    }
    expect(guard.size).toBe(10);
    expect(reports).toEqual([51]);
  });

  it('keeps counting a looping key while one-off keys make its table grow, and tracks at most maxEntries', () => {
    const guard = new LoopGuard({ limit: 300, windowMs: 10_000 });
    const reports: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      call(guard, `GET https://api.example.com/once/${i}`, T0 + i);
      const count = call(guard, KEY, T0 + i);
      if (count !== undefined) reports.push(count);
    }
    // Two windows of 10 s, each with 10,000 calls of the key: each reports its 301st.
    expect(reports).toEqual([301, 301]);
    expect(guard.size).toBeLessThanOrEqual(8_192);
    expect(guard.size).toBeGreaterThan(8_192 * 0.9);
  });

  it('forgets, of the keys sharing a set, the least recently called: most recent keys are kept', () => {
    const guard = new LoopGuard({ limit: 2, windowMs: 1_000_000, maxEntries: 1_024 });
    for (let i = 0; i < 5_000; i++) call(guard, `GET /k/${i}`, T0);
    // The 100 latest keys, called once each, are all still tracked: their second call counts 2, their third trips.
    const second = Array.from({ length: 100 }, (_, i) => guard.record(`GET /k/${4_900 + i}`, T0)!);
    for (const r of second) guard.settle(r);
    expect(second.map((r) => r.count)).toEqual(Array<number>(100).fill(2));
    expect(guard.size).toBe(1_024);
  });

  it('settles a call recorded before its table grew, in the entry that moved: its key’s next call is counted', () => {
    const guard = new LoopGuard({ limit: 1_000, windowMs: 1_000_000, maxEntries: 1_024 });
    const inFlight = guard.record(KEY, T0)!;
    for (let i = 0; i < 200; i++) call(guard, `GET /k/${i}`, T0); // grows the table past its first 64 slots
    expect(guard.size).toBe(201); // nothing forgotten while the table could grow
    guard.settle(inFlight);
    expect(guard.record(KEY, T0)!.count).toBe(2);
    for (let i = 0; i < 200; i++) {
      const r = guard.record(`GET /k/${i}`, T0)!;
      guard.settle(r);
      expect(r.count).toBe(2);
    }
  });

  it('settles nothing for a call whose key was forgotten, nor for one a later call of its key followed', () => {
    const guard = new LoopGuard({ limit: 1_000, windowMs: 1_000_000, maxEntries: 2 });
    const a = guard.record('a', T0)!;
    call(guard, 'b', T0);
    call(guard, 'c', T0); // forgets 'a'
    guard.settle(a);
    expect(guard.size).toBe(2);
    const first = guard.record('b', T0)!;
    const second = guard.record('b', T0)!; // a concurrent copy
    guard.settle(first); // the older copy: 'b' still has a call in flight
    expect(guard.record('b', T0)!.count).toBe(0);
    guard.settle(second);
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

  it('forgets keys in least-recently-called order however many were forgotten before, across clear() (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('call' as const), key: fc.integer({ min: 0, max: 9 }) }),
            fc.record({ op: fc.constant('warn' as const), key: fc.integer({ min: 0, max: 9 }) }),
            fc.record({ op: fc.constant('clear' as const) }),
          ),
          { maxLength: 400 },
        ),
        (maxEntries, ops) => {
          const guard = new LoopGuard({ limit: 1_000_000, windowMs: 1_000_000, maxEntries });
          // The model: counts in least-recently-called order, and warned keys in the order they were first warned.
          const counts = new Map<string, number>();
          const warned: string[] = [];
          for (const step of ops) {
            if (step.op === 'clear') {
              guard.clear();
              counts.clear();
              warned.length = 0;
              continue;
            }
            const key = `GET /k/${step.key}`;
            if (step.op === 'warn') {
              const fresh = !warned.includes(key);
              if (fresh) {
                if (warned.length >= maxEntries) warned.shift();
                warned.push(key);
              }
              expect(guard.warnOnce(key)).toBe(fresh);
              continue;
            }
            const count = (counts.get(key) ?? 0) + 1;
            if (!counts.delete(key) && counts.size >= maxEntries) counts.delete(counts.keys().next().value!);
            counts.set(key, count);
            const recorded = guard.record(key, T0)!;
            guard.settle(recorded);
            expect(recorded.count).toBe(count);
            expect(guard.size).toBe(counts.size);
          }
        },
      ),
    );
  });

  it('counts a call iff the previous one had settled, and reports iff a window holds more than limit (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 2000 }), settles: fc.boolean() }), { maxLength: 300 }),
        (limit, windowMs, calls) => {
          const guard = new LoopGuard({ limit, windowMs });
          let now = T0;
          let startedAt = -Infinity;
          let count = 0;
          let previousSettled = true;
          for (const { gap, settles } of calls) {
            now += gap;
            const recorded = guard.record(KEY, now)!;
            if (previousSettled) {
              if (now - startedAt >= windowMs) [startedAt, count] = [now, 0];
              count++;
              expect(recorded).toMatchObject({ count, first: count === limit + 1 });
            } else {
              expect(recorded).toMatchObject({ count: 0, first: false });
            }
            if (settles) guard.settle(recorded);
            previousSettled = settles;
          }
        },
      ),
    );
  });
});
