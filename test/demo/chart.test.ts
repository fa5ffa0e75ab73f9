import { describe, expect, it } from 'vitest';
import { escapeHtml, renderTimeline, yAxisTop, type Timeline } from '../../scripts/demo/chart.js';
import type { Bucket } from '../../scripts/demo/timeline-data.js';

const bucket = (startMs: number, accepted: number, rejected: number, retries = 0): Bucket => ({
  startMs,
  accepted,
  retries,
  rejected,
  other: 0,
});

const timeline: Timeline = {
  bucketMs: 250,
  quota: 50,
  durationMs: 4_000,
  panels: [
    {
      title: 'ky <retry>',
      subtitle: '3 requests',
      buckets: [bucket(0, 50, 250), bucket(250, 0, 10), bucket(2_000, 50, 0, 50), bucket(2_250, 5, 0, 5)],
      windows: [
        { fromMs: 0, untilMs: 2_000, accepted: 50, retries: 0, rejected: 260 },
        { fromMs: 2_000, untilMs: 4_000, accepted: 55, retries: 55, rejected: 0 },
      ],
      waits: [{ fromMs: 500, untilMs: 2_000 }],
      pauses: [],
    },
    {
      title: 'ratewise',
      subtitle: 'paused once',
      buckets: [bucket(0, 6, 1), bucket(250, 6, 0), bucket(500, 6, 0), bucket(750, 6, 0)],
      windows: [{ fromMs: 0, untilMs: 2_000, accepted: 24, retries: 0, rejected: 1 }],
      waits: [],
      pauses: [{ fromMs: 250, untilMs: 600 }],
    },
  ],
};

describe('yAxisTop', () => {
  it('fits the accepted traffic and the quota, not the flood of 429s', () => {
    expect(yAxisTop(timeline)).toBe(60);
    expect(yAxisTop({ ...timeline, panels: [timeline.panels[1]!] })).toBeGreaterThanOrEqual(50);
  });
});

describe('renderTimeline', () => {
  const svg = renderTimeline(timeline);

  it('draws one panel per run with its title escaped and a y-axis title', () => {
    expect(svg.match(/<g class="panel"/g)).toHaveLength(2);
    expect(svg).toContain('ky &#60;retry&#62;');
    expect(svg).not.toContain('<retry>');
    expect(svg.match(/<text class="y-title"[^>]*>requests per 250 ms<\/text>/g)).toHaveLength(2);
  });

  it('stacks accepted first tries, accepted retries and 429s, and leaves empty buckets out', () => {
    expect(svg.match(/class="bar ok"/g)).toHaveLength(5);
    expect(svg.match(/class="bar ok retry"/g)).toHaveLength(2);
    expect(svg.match(/class="bar rejected"/g)).toHaveLength(3);
  });

  it('brackets each server window with its quota and what used it', () => {
    expect(svg.match(/<g class="window"/g)).toHaveLength(3);
    expect(svg.match(/<path class="quota"/g)).toHaveLength(3);
    expect(svg).toContain('>quota 50: 50 used, by first tries</text>');
    expect(svg).toContain('>quota 50: 55 used, by retries</text>');
    expect(svg).toContain('window 2, 2.0 s–4.0 s: quota 50, 55 accepted (0 first tries, 55 retries), 0 × 429');
  });

  it('shades the spans when every call waited, with their length, and marks ratewise pauses', () => {
    expect(svg.match(/<rect class="wait"/g)).toHaveLength(1);
    expect(svg).toContain('>waiting 1.5 s</text>');
    expect(svg.match(/<rect class="pause"/g)).toHaveLength(1);
    expect(svg).toContain('ratewise paused 0.3 s–0.6 s');
  });

  it('shortens a window label to what fits, down to used/quota', () => {
    const long = renderTimeline({ ...timeline, durationMs: 60_000 });
    expect(long).toMatch(/>50\/50<\/text>/);
    expect(long).not.toContain('by first tries');
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
