import { describe, expect, it } from 'vitest';
import type { Arrival } from '../../scripts/demo/server.js';
import {
  bucketFor,
  bucketize,
  mergePauses,
  niceStep,
  quotaWindows,
  waitSpans,
} from '../../scripts/demo/timeline-data.js';
import { STARTED_AT } from './support.js';

/** An arrival `ms` after the start for `/items/<item>`, answered `answerMs` later. */
function at(ms: number, status: number | undefined, item = ms, answerMs = 1): Arrival {
  return {
    receivedAt: STARTED_AT + ms,
    status,
    answeredAt: status === undefined ? undefined : STARTED_AT + ms + answerMs,
    path: `/items/${item}`,
  };
}

describe('bucketize', () => {
  it('counts arrivals per bucket by outcome, covering the whole duration', () => {
    const buckets = bucketize(
      [at(0, 200), at(249, 429), at(250, 200), at(260, 503), at(300, undefined), at(900, 429)],
      STARTED_AT,
      250,
      1_000,
    );
    expect(buckets).toEqual([
      { startMs: 0, accepted: 1, retries: 0, rejected: 1, other: 0 },
      { startMs: 250, accepted: 1, retries: 0, rejected: 0, other: 2 },
      { startMs: 500, accepted: 0, retries: 0, rejected: 0, other: 0 },
      { startMs: 750, accepted: 0, retries: 0, rejected: 1, other: 0 },
    ]);
  });

  it('counts an accepted request for a path already seen as a retry', () => {
    const buckets = bucketize([at(0, 429, 1), at(10, 200, 2), at(300, 200, 1), at(310, 429, 3)], STARTED_AT, 250, 500);
    expect(buckets).toEqual([
      { startMs: 0, accepted: 1, retries: 0, rejected: 1, other: 0 },
      { startMs: 250, accepted: 1, retries: 1, rejected: 1, other: 0 },
    ]);
  });

  it('adds buckets for arrivals past the duration and never drops one', () => {
    const buckets = bucketize([at(1_100, 200)], STARTED_AT, 250, 500);
    expect(buckets).toHaveLength(5);
    expect(buckets.at(-1)).toEqual({ startMs: 1_000, accepted: 1, retries: 0, rejected: 0, other: 0 });
  });

  it('gives one empty bucket for no arrivals and no duration', () => {
    expect(bucketize([], STARTED_AT, 250, 0)).toEqual([{ startMs: 0, accepted: 0, retries: 0, rejected: 0, other: 0 }]);
  });
});

describe('quotaWindows', () => {
  const limit = { limit: 2, windowMs: 1_000 };

  it('opens a window at the first request after the previous one ended, and says what used its quota', () => {
    const log = [
      at(10, 200, 1),
      at(20, 200, 2),
      at(30, 429, 3),
      at(40, 429, 4),
      // The next window opens here, at 1.5 s, and is used by the retries of items 3 and 4.
      at(1_500, 200, 3),
      at(1_510, 200, 4),
      at(1_520, 429, 5),
      at(2_600, 200, 5),
    ];
    expect(quotaWindows(log, STARTED_AT, limit)).toEqual([
      { fromMs: 10, untilMs: 1_010, accepted: 2, retries: 0, rejected: 2 },
      { fromMs: 1_500, untilMs: 2_500, accepted: 2, retries: 2, rejected: 1 },
      { fromMs: 2_600, untilMs: 3_600, accepted: 1, retries: 1, rejected: 0 },
    ]);
  });

  it('has no window before the first answer', () => {
    expect(quotaWindows([at(0, undefined)], STARTED_AT, limit)).toEqual([]);
  });
});

describe('waitSpans', () => {
  it('finds the spans when the server held no request, at least minMs long, up to the end of the run', () => {
    const log = [at(0, 200, 1, 50), at(20, 200, 2, 100), at(700, 200, 3, 10), at(750, 200, 4, 10)];
    // Busy 0–120 and 700–710, 750–760; the run ended at 1,100.
    expect(waitSpans(log, STARTED_AT, 1_100, 200)).toEqual([
      { fromMs: 120, untilMs: 700 },
      { fromMs: 760, untilMs: 1_100 },
    ]);
    expect(waitSpans(log, STARTED_AT, 1_100, 400)).toEqual([{ fromMs: 120, untilMs: 700 }]);
  });

  it('counts the time before the first request as waiting, and a request never answered as a moment', () => {
    expect(waitSpans([at(300, undefined)], STARTED_AT, 400, 200)).toEqual([{ fromMs: 0, untilMs: 300 }]);
  });

  it('finds none in a run that kept the server busy', () => {
    const log = Array.from({ length: 20 }, (_, i) => at(i * 100, 429, i, 100));
    expect(waitSpans(log, STARTED_AT, 2_000)).toEqual([]);
  });
});

describe('mergePauses', () => {
  it('merges overlapping and touching pauses into ordered spans after the start', () => {
    const spans = mergePauses(
      [
        { from: STARTED_AT + 3_000, until: STARTED_AT + 4_000 },
        { from: STARTED_AT + 500, until: STARTED_AT + 1_500 },
        { from: STARTED_AT + 600, until: STARTED_AT + 2_000 },
        { from: STARTED_AT + 2_000, until: STARTED_AT + 2_500 },
      ],
      STARTED_AT,
    );
    expect(spans).toEqual([
      { fromMs: 500, untilMs: 2_500 },
      { fromMs: 3_000, untilMs: 4_000 },
    ]);
  });

  it('drops empty pauses and clips those that began before the run', () => {
    expect(
      mergePauses(
        [
          { from: STARTED_AT + 100, until: STARTED_AT + 100 },
          { from: STARTED_AT - 100, until: STARTED_AT + 50 },
        ],
        STARTED_AT,
      ),
    ).toEqual([{ fromMs: 0, untilMs: 50 }]);
  });
});

describe('axis steps', () => {
  it('picks 1, 2 or 5 times a power of ten', () => {
    expect(niceStep(60, 5)).toBe(20);
    expect(niceStep(12.25, 12)).toBe(2);
    expect(niceStep(7, 5)).toBe(2);
    expect(niceStep(0, 5)).toBe(1);
  });

  it('uses 250 ms bars unless a run is long, then wider ones', () => {
    expect(bucketFor(12_000)).toBe(250);
    expect(bucketFor(30_000)).toBe(250);
    expect(bucketFor(45_000)).toBe(500);
    expect(bucketFor(200_000)).toBe(2_000);
  });
});
