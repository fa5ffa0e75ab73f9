// The pace read from the server's answers: one window's readings, counts out of order, a reset brought forward.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  giveBack,
  noteCount,
  observe,
  readyAt,
  resetBy,
  spend,
  type Observation,
  type ServerPace,
} from '../../src/engine/server-pace.js';

const NOW = 1_700_000_000_000;

/** An answer read at `now`: `remaining` of 10 left until `resetAt`, nothing else in flight, no reserve. */
function reading(remaining: number, resetAt: number, extra: Partial<Observation> = {}): Observation {
  return { remaining, resetAt, limit: 10, inFlight: 0, reserve: 0, spread: false, ...extra };
}

function paced(remaining: number, resetAt: number, now = NOW): ServerPace {
  const pace = observe(undefined, reading(remaining, resetAt), now);
  if (pace === undefined) throw new Error('no pace');
  return pace;
}

describe('observe', () => {
  it('allows what remains, less the requests still in flight and the reserve', () => {
    expect(paced(6, NOW + 2_000)).toMatchObject({ allowance: 6, burst: 6, tokens: 6, resetAt: NOW + 2_000 });
    const pace = observe(undefined, reading(6, NOW + 2_000, { inFlight: 2, limit: 20, reserve: 0.1 }), NOW);
    expect(pace?.allowance).toBe(2);
  });

  it('says nothing of a reset that has come', () => {
    expect(observe(undefined, reading(6, NOW), NOW)).toBeUndefined();
  });

  it('never raises the allowance within a window: a count that went up was counted out of order', () => {
    // Three left; a later answer (of a request the server counted before others, one still in flight) says eight.
    const pace = paced(3, NOW + 2_000);
    const next = observe(pace, reading(8, NOW + 2_000, { inFlight: 1 }), NOW + 100);
    expect(next).toMatchObject({ allowance: 3, remaining: 8, resetAt: NOW + 2_000 });
    expect(next!.tokens).toBeLessThanOrEqual(3);
  });

  it('lowers the allowance within a window', () => {
    const next = observe(paced(3, NOW + 2_000), reading(1, NOW + 2_000), NOW + 100);
    expect(next?.allowance).toBe(1);
  });

  it('takes a reset read up to a second later as the same window, and keeps its earliest reading', () => {
    // Whole seconds rounded up: the same reset read 999 ms later, with more remaining: still the same window.
    const next = observe(paced(3, NOW + 2_000), reading(8, NOW + 2_999), NOW + 100);
    expect(next).toMatchObject({ allowance: 3, resetAt: NOW + 2_000 });
    // An earlier reading of the reset narrows it.
    const sooner = observe(paced(3, NOW + 2_000), reading(3, NOW + 1_500), NOW + 100);
    expect(sooner).toMatchObject({ allowance: 3, resetAt: NOW + 1_500 });
  });

  it('takes a reset a second or more later as a new window: the allowance is what it says', () => {
    const next = observe(paced(3, NOW + 2_000), reading(8, NOW + 3_000), NOW + 100);
    expect(next).toMatchObject({ allowance: 8, tokens: 8, resetAt: NOW + 3_000 });
  });

  it('takes any reading after the old reset as a new window', () => {
    const next = observe(paced(3, NOW + 2_000), reading(9, NOW + 2_500), NOW + 2_000);
    expect(next).toMatchObject({ allowance: 9, resetAt: NOW + 2_500 });
  });

  it('counts spent requests against the window whatever later answers of it say', () => {
    // Five left; five go. The answer to the third comes after the first two were answered, with two still in flight,
    // and says four are left: the server counted it first. Two more would overrun the window.
    let pace: ServerPace | undefined = paced(5, NOW + 2_000);
    for (let i = 0; i < 5; i++) pace = spend(pace, 1, NOW);
    expect(pace?.allowance).toBe(0);
    pace = observe(pace, reading(4, NOW + 2_000, { inFlight: 2 }), NOW + 50);
    expect(pace?.allowance).toBe(0);
    expect(readyAt(pace, 1, NOW + 50)).toBe(NOW + 2_000);
  });

  it('takes the lowest count of the window as exact with the last answer in flight, out of order or not', () => {
    // Five left; three go. The server counts the second first: the answers say 3, 4, then 2 with nothing else in
    // flight. Two are left indeed.
    let pace: ServerPace | undefined = paced(5, NOW + 2_000);
    for (let i = 0; i < 3; i++) pace = spend(pace, 1, NOW);
    pace = observe(pace, reading(3, NOW + 2_000, { inFlight: 2 }), NOW + 10);
    expect(pace?.allowance).toBe(1);
    pace = observe(pace, reading(4, NOW + 2_000, { inFlight: 1 }), NOW + 20);
    expect(pace?.allowance).toBe(1);
    pace = observe(pace, reading(2, NOW + 2_000, { inFlight: 0 }), NOW + 30);
    expect(pace).toMatchObject({ allowance: 2, tokens: 2, lowest: 2 });
  });

  it('property: within one window, no reading moves the reset later; none with others in flight raises the allowance; the last in flight sets it to the lowest count', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ remaining: fc.nat(10), late: fc.integer({ min: -200, max: 999 }), inFlight: fc.nat(5) }), {
          minLength: 1,
          maxLength: 20,
        }),
        (readings) => {
          let pace = paced(10, NOW + 5_000);
          let lowest = 10;
          let now = NOW;
          for (const r of readings) {
            now += 10;
            lowest = Math.min(lowest, r.remaining);
            const next = observe(pace, reading(r.remaining, pace.resetAt + r.late, { inFlight: r.inFlight }), now)!;
            if (r.inFlight > 0) expect(next.allowance).toBeLessThanOrEqual(pace.allowance);
            else expect(next.allowance).toBe(lowest);
            expect(next.allowance).toBeLessThanOrEqual(lowest);
            expect(next.resetAt).toBeLessThanOrEqual(pace.resetAt);
            pace = next;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('resetBy', () => {
  it('brings the reset forward to an instant still to come', () => {
    const pace = paced(0, NOW + 3_000);
    const sooner = resetBy(pace, NOW + 2_540);
    expect(sooner).toEqual({ ...pace, resetAt: NOW + 2_540 });
    // The spent quota now waits for the sooner reset.
    expect(readyAt(sooner, 1, NOW + 100)).toBe(NOW + 2_540);
  });

  it('never moves the reset later, nor to an instant the pace has passed', () => {
    const pace = paced(0, NOW + 3_000);
    expect(resetBy(pace, NOW + 3_000)).toBe(pace);
    expect(resetBy(pace, NOW + 4_000)).toBe(pace);
    expect(resetBy(pace, NOW)).toBe(pace);
    expect(resetBy(pace, NOW - 1)).toBe(pace);
    expect(resetBy(pace, Number.NaN)).toBe(pace);
    expect(resetBy(undefined, NOW + 1_000)).toBeUndefined();
  });
});

describe('a reset brought forward, then read again', () => {
  it('is still the same window when a later answer names the reset heard before (was: read as a new window)', () => {
    // 8 left until the reset read at +3 s, brought forward to +2 s; 5 sent. An answer of the same window names +3 s
    // again with a count of 6 (counted out of order) and 2 in flight: the allowance stays the 3 left, not 6 - 2.
    const brought = resetBy(spend(paced(8, NOW + 3_000), 5, NOW + 10), NOW + 2_000);
    const next = observe(brought, reading(6, NOW + 3_000, { inFlight: 2 }), NOW + 50);
    expect(next).toMatchObject({ allowance: 3, resetAt: NOW + 2_000, heardResetAt: NOW + 3_000 });
  });
});

describe('noteCount', () => {
  it("lowers the window's lowest count from an answer that does not set the pace", () => {
    const pace = paced(6, NOW + 2_000);
    expect(noteCount(pace, 2, NOW + 2_000, NOW + 10)).toEqual({ ...pace, lowest: 2 });
    // Counts only go down, and only its own window's count (one read within the servers' precision) counts.
    expect(noteCount(pace, 7, NOW + 2_000, NOW + 10)).toBe(pace);
    expect(noteCount(pace, 1, NOW + 4_000, NOW + 10)).toBe(pace);
    expect(noteCount(pace, 1, NOW - 1_000, NOW + 10)).toBe(pace);
    expect(noteCount(pace, 1, NOW + 2_000, NOW + 2_000)).toBe(pace);
    expect(noteCount(undefined, 1, NOW + 2_000, NOW)).toBeUndefined();
  });

  it('makes the last answer of a window exact whatever order the counts came in', () => {
    // Ten in flight; the latest request's answer says 4 left, an earlier one's (answered later) 0, then the last.
    let pace = observe(undefined, reading(4, NOW + 2_000, { inFlight: 9 }), NOW + 10);
    pace = noteCount(pace, 0, NOW + 2_000, NOW + 20);
    pace = observe(pace, reading(3, NOW + 2_000, { inFlight: 0 }), NOW + 30);
    expect(pace?.allowance).toBe(0);
  });
});

describe('two routes counted apart in one budget (`later`)', () => {
  const a = (remaining: number, resetAt: number, inFlight = 0) =>
    reading(remaining, resetAt, { route: 'GET /a', inFlight });
  const b = (remaining: number, resetAt: number, inFlight = 0) =>
    reading(remaining, resetAt, { route: 'GET /b', inFlight });

  it('keeps the lower count until the later reset when two routes name windows resetting apart', () => {
    let pace = observe(undefined, a(2, NOW + 1_000), NOW);
    pace = observe(pace, b(7, NOW + 2_000), NOW + 10);
    expect(pace).toMatchObject({ allowance: 2, resetAt: NOW + 1_000, later: { resetAt: NOW + 2_000, allowance: 2 } });
    pace = spend(pace, 1, NOW + 20);
    expect(pace?.later?.allowance).toBe(1);
    // /a's window turns; /b's has not: one request may still go (the lower count, less what was sent), not ten.
    expect(readyAt(pace, 1, NOW + 1_000)).toBe(NOW + 1_000);
    pace = spend(pace, 1, NOW + 1_000);
    expect(pace).toMatchObject({ allowance: 0, resetAt: NOW + 2_000 });
    expect(readyAt(pace, 1, NOW + 1_100)).toBe(NOW + 2_000);
    // Past the later reset the window is forgotten: the next request asks.
    expect(readyAt(pace, 1, NOW + 2_000)).toBe(NOW + 2_000);
    expect(spend(pace, 1, NOW + 2_000)).toBeUndefined();
  });

  it('reads the same route a window later as a new window, as before', () => {
    const pace = observe(observe(undefined, a(0, NOW + 1_000), NOW), a(9, NOW + 3_000), NOW + 10);
    expect(pace).toMatchObject({ allowance: 9, resetAt: NOW + 3_000 });
    expect(pace?.later).toBeUndefined();
  });

  it('keeps a later reset heard first, when the earlier one comes second', () => {
    let pace = observe(undefined, b(5, NOW + 2_000), NOW);
    pace = observe(pace, a(3, NOW + 1_000), NOW + 10);
    expect(pace).toMatchObject({ allowance: 3, resetAt: NOW + 1_000, later: { resetAt: NOW + 2_000, allowance: 3 } });
  });
});

describe('giveBack', () => {
  it('returns a request that counted against another quota, never beyond the lowest count less what is in flight', () => {
    // 5 left, 4 in flight besides this answer's request: allowance 1.
    const pace = observe(undefined, reading(5, NOW + 2_000, { inFlight: 4 }), NOW);
    expect(pace?.allowance).toBe(1);
    // One of the four was another quota's: 2 may go, 3 still in flight.
    const back = giveBack(pace, 1, 3, 0, NOW + 10);
    expect(back?.allowance).toBe(2);
    // Nothing in flight any more: the lowest count, 5, bounds it.
    expect(giveBack(back, 10, 0, 0, NOW + 20)?.allowance).toBe(5);
    // A window that has turned is left alone.
    expect(giveBack(pace, 1, 0, 0, NOW + 2_000)).toBe(pace);
  });
});
