import { describe, expect, it } from 'vitest';
import {
  bucketFor,
  bucketize,
  escapeHtml,
  mergePauses,
  niceStep,
  renderTimeline,
  yAxisTop,
  type Bucket,
  type Timeline,
} from '../../scripts/demo/chart.js';
import { STARTED_AT } from './support.js';

function at(ms: number, status: number | undefined): { receivedAt: number; status: number | undefined } {
  return { receivedAt: STARTED_AT + ms, status };
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
      { startMs: 0, accepted: 1, rejected: 1, other: 0 },
      { startMs: 250, accepted: 1, rejected: 0, other: 2 },
      { startMs: 500, accepted: 0, rejected: 0, other: 0 },
      { startMs: 750, accepted: 0, rejected: 1, other: 0 },
    ]);
  });

  it('adds buckets for arrivals past the duration and never drops one', () => {
    const buckets = bucketize([at(1_100, 200)], STARTED_AT, 250, 500);
    expect(buckets).toHaveLength(5);
    expect(buckets.at(-1)).toEqual({ startMs: 1_000, accepted: 1, rejected: 0, other: 0 });
  });

  it('gives one empty bucket for no arrivals and no duration', () => {
    expect(bucketize([], STARTED_AT, 250, 0)).toEqual([{ startMs: 0, accepted: 0, rejected: 0, other: 0 }]);
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

const bucket = (startMs: number, accepted: number, rejected: number): Bucket => ({
  startMs,
  accepted,
  rejected,
  other: 0,
});

const timeline: Timeline = {
  bucketMs: 250,
  allowedPerBucket: 6.25,
  durationMs: 1_000,
  panels: [
    {
      title: 'plain <fetch>',
      subtitle: '3 requests',
      buckets: [bucket(0, 50, 250), bucket(250, 0, 10), bucket(500, 0, 0), bucket(750, 5, 0)],
      pauses: [],
    },
    {
      title: 'ratewise',
      subtitle: 'paused once',
      buckets: [bucket(0, 6, 1), bucket(250, 6, 0), bucket(500, 6, 0), bucket(750, 6, 0)],
      pauses: [{ fromMs: 250, untilMs: 600 }],
    },
  ],
};

describe('yAxisTop', () => {
  it('fits the accepted traffic and three times the allowed rate, not the flood of 429s', () => {
    expect(yAxisTop(timeline)).toBe(60);
    expect(yAxisTop({ ...timeline, panels: [timeline.panels[1]!] })).toBeGreaterThanOrEqual(3 * 6.25);
  });
});

describe('renderTimeline', () => {
  const svg = renderTimeline(timeline);

  it('draws one panel per run with its title escaped', () => {
    expect(svg.match(/<g class="panel"/g)).toHaveLength(2);
    expect(svg).toContain('plain &#60;fetch&#62;');
    expect(svg).not.toContain('<fetch>');
  });

  it('stacks accepted and 429 bars and leaves empty buckets out', () => {
    expect(svg.match(/class="bar ok"/g)).toHaveLength(6);
    expect(svg.match(/class="bar rejected"/g)).toHaveLength(3);
  });

  it('draws the allowed rate in every panel and shades ratewise pauses', () => {
    expect(svg.match(/class="limit"/g)).toHaveLength(2);
    expect(svg.match(/<rect class="pause"/g)).toHaveLength(1);
    expect(svg).toContain('ratewise paused 0.25–0.60 s');
  });

  it('cuts bars taller than the axis and writes their total', () => {
    expect(svg.match(/class="cut"/g)).toHaveLength(1);
    expect(svg).toMatch(/<text class="clipped"[^>]*>300<\/text>/);
  });

  it('is well-formed: every opened element is closed', () => {
    const opened = (svg.match(/<(?!\/)[a-z]+[^>]*[^/]>/g) ?? []).length;
    const closed = (svg.match(/<\/[a-z]+>/g) ?? []).length;
    expect(opened).toBe(closed);
  });
});

describe('escapeHtml', () => {
  it('escapes markup and quotes', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
  });
});
