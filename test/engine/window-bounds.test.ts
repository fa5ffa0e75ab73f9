// The bounds on a silent server's window length, and where the next probe goes: examples and fast-check properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acceptedAt,
  probeMargin,
  probeOffset,
  refusedAt,
  UNKNOWN_WINDOW,
  WINDOW_LADDER_MS,
  type WindowBounds,
} from '../../src/engine/window-bounds.js';

const RUNS = 300;

/** A probe's offset from its window's opening, in whole ms (a clock's instants), never 0 (see `acceptedAt`). */
const offset = fc.integer({ min: 1, max: 600_000 });

/** Bounds as probes leave them: any run of refusals and acceptances, starting from nothing known. */
const reachable = fc
  .array(fc.record({ accepted: fc.boolean(), at: offset }), { maxLength: 12 })
  .map((steps) =>
    steps.reduce<WindowBounds>(
      (bounds, { accepted, at }) => (accepted ? acceptedAt(bounds, at) : refusedAt(bounds, at)),
      UNKNOWN_WINDOW,
    ),
  );

describe('probeMargin', () => {
  it('adds half a percent of the guess, at least 5 ms', () => {
    expect(probeMargin(0)).toBe(5);
    expect(probeMargin(1_000)).toBe(5);
    expect(probeMargin(2_000)).toBe(10);
    expect(probeMargin(3_001)).toBe(16);
    expect(probeMargin(60_000)).toBe(300);
  });
});

describe('probeOffset', () => {
  it('climbs the ladder of configured lengths while nothing was accepted, each with its margin', () => {
    let bounds = UNKNOWN_WINDOW;
    const probes: number[] = [];
    for (let i = 0; i < WINDOW_LADDER_MS.length; i++) {
      const at = probeOffset(bounds, false);
      probes.push(at);
      bounds = refusedAt(bounds, at);
    }
    expect(probes).toEqual([1_005, 2_010, 3_015, 5_025, 10_050, 15_075, 20_100, 30_150, 60_300]);
  });

  it('doubles the last rung once past the ladder', () => {
    expect(probeOffset({ lo: 60_300, hi: undefined }, false)).toBe(120_600);
    expect(probeOffset({ lo: 120_600, hi: undefined }, false)).toBe(241_200);
  });

  it('picks the first rung whose probe falls past what was refused, not the next one after it', () => {
    // Refused at 1.5 s (a probe the budget did not place itself): 2 s is still possible.
    expect(probeOffset({ lo: 1_500, hi: undefined }, false)).toBe(2_010);
    expect(probeOffset({ lo: 2_009, hi: undefined }, false)).toBe(2_010);
    expect(probeOffset({ lo: 2_010, hi: undefined }, false)).toBe(3_015);
  });

  it('goes at hi once a probe was accepted, without search', () => {
    expect(probeOffset({ lo: 1_005, hi: 2_010 }, false)).toBe(2_010);
    expect(probeOffset({ lo: 0, hi: 7_000 }, false)).toBe(7_000);
  });

  it('searches half way while the bounds are more than an eighth of hi apart, then goes at hi', () => {
    expect(probeOffset({ lo: 1_005, hi: 2_010 }, true)).toBe(1_508);
    expect(probeOffset({ lo: 1_508, hi: 2_010 }, true)).toBe(1_759);
    // 2 010 - 1 759 = 251 ms, within 2 010 / 8 = 251.25 ms: close enough.
    expect(probeOffset({ lo: 1_759, hi: 2_010 }, true)).toBe(2_010);
  });

  it('searches nothing while hi is unknown: search only splits known bounds', () => {
    expect(probeOffset({ lo: 1_005, hi: undefined }, true)).toBe(probeOffset({ lo: 1_005, hi: undefined }, false));
  });
});

describe('refusedAt and acceptedAt', () => {
  it('a refusal raises lo and keeps hi when it falls below it', () => {
    expect(refusedAt({ lo: 1_005, hi: 2_010 }, 1_508)).toEqual({ lo: 1_508, hi: 2_010 });
    expect(refusedAt({ lo: 1_508, hi: 2_010 }, 1_200)).toEqual({ lo: 1_508, hi: 2_010 });
  });

  it('a refusal at or past hi forgets hi: the window grew', () => {
    expect(refusedAt({ lo: 1_005, hi: 2_010 }, 2_010)).toEqual({ lo: 2_010, hi: undefined });
    expect(refusedAt({ lo: 1_005, hi: 2_010 }, 3_000)).toEqual({ lo: 3_000, hi: undefined });
  });

  it('an acceptance lowers hi and keeps lo when it falls above it', () => {
    expect(acceptedAt(UNKNOWN_WINDOW, 2_010)).toEqual({ lo: 0, hi: 2_010 });
    expect(acceptedAt({ lo: 1_005, hi: 2_010 }, 1_800)).toEqual({ lo: 1_005, hi: 1_800 });
    expect(acceptedAt({ lo: 1_005, hi: 1_800 }, 2_010)).toEqual({ lo: 1_005, hi: 1_800 });
  });

  it('an acceptance at or below lo forgets lo: the window shrank', () => {
    expect(acceptedAt({ lo: 1_508, hi: 2_010 }, 1_508)).toEqual({ lo: 0, hi: 1_508 });
    expect(acceptedAt({ lo: 1_508, hi: undefined }, 1_000)).toEqual({ lo: 0, hi: 1_000 });
  });

  it('ignores offsets that are no offsets (negative, NaN)', () => {
    const bounds = { lo: 1_005, hi: 2_010 };
    for (const bad of [-1, Number.NaN]) {
      expect(refusedAt(bounds, bad)).toBe(bounds);
      expect(acceptedAt(bounds, bad)).toBe(bounds);
    }
  });
});

describe('properties', () => {
  it('lo stays below hi in every reachable state', () => {
    fc.assert(
      fc.property(reachable, ({ lo, hi }) => {
        expect(lo).toBeGreaterThanOrEqual(0);
        if (hi !== undefined) expect(hi).toBeGreaterThan(lo);
      }),
      { numRuns: RUNS },
    );
  });

  it('the next probe without search falls past lo', () => {
    fc.assert(
      fc.property(reachable, (bounds) => {
        expect(probeOffset(bounds, false)).toBeGreaterThan(bounds.lo);
      }),
      { numRuns: RUNS },
    );
  });

  it('with hi known and no search, the probe goes exactly at hi', () => {
    fc.assert(
      fc.property(reachable, offset, (bounds, at) => {
        const known = bounds.hi === undefined ? acceptedAt(bounds, at) : bounds;
        expect(probeOffset(known, false)).toBe(known.hi);
      }),
      { numRuns: RUNS },
    );
  });

  it('a search probe lies strictly between lo and hi while they are far apart, and never past hi', () => {
    fc.assert(
      fc.property(fc.nat(600_000), fc.integer({ min: 2, max: 600_000 }), (lo, gap) => {
        const bounds = { lo, hi: lo + gap };
        const at = probeOffset(bounds, true);
        if (gap > bounds.hi / 8) {
          expect(at).toBeGreaterThan(lo);
          expect(at).toBeLessThan(bounds.hi);
        } else {
          expect(at).toBe(bounds.hi);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('refusedAt never lowers lo; acceptedAt never raises hi', () => {
    fc.assert(
      fc.property(reachable, offset, (bounds, at) => {
        expect(refusedAt(bounds, at).lo).toBeGreaterThanOrEqual(bounds.lo);
        const hi = acceptedAt(bounds, at).hi;
        expect(hi).toBeDefined();
        expect(hi).toBeLessThanOrEqual(bounds.hi ?? Infinity);
      }),
      { numRuns: RUNS },
    );
  });

  it('after a refusal the next probe goes later; after an acceptance, no later than it', () => {
    fc.assert(
      fc.property(reachable, offset, fc.boolean(), (bounds, at, search) => {
        expect(probeOffset(refusedAt(bounds, at), false)).toBeGreaterThan(at);
        expect(probeOffset(acceptedAt(bounds, at), search)).toBeLessThanOrEqual(at);
      }),
      { numRuns: RUNS },
    );
  });

  it('probing a true window always keeps it within the bounds and settles within an eighth of it (or a ms)', () => {
    // A server whose window lasts `length` ms accepts a probe sent at least that long after its window opened.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300_000 }), fc.boolean(), (length, search) => {
        let bounds = UNKNOWN_WINDOW;
        let probes = 0;
        for (; probes < 64; probes++) {
          const at = probeOffset(bounds, search);
          if (bounds.hi !== undefined && at === bounds.hi) break;
          bounds = at >= length ? acceptedAt(bounds, at) : refusedAt(bounds, at);
          expect(bounds.lo).toBeLessThan(length);
          if (bounds.hi !== undefined) expect(bounds.hi).toBeGreaterThanOrEqual(length);
        }
        expect(probes).toBeLessThan(64);
        expect(bounds.hi).toBeDefined();
        if (search) expect(bounds.hi! - bounds.lo).toBeLessThanOrEqual(Math.max(1, bounds.hi! / 8));
      }),
      { numRuns: RUNS },
    );
  });
});
