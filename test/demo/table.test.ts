import { describe, expect, it } from 'vitest';
import {
  allowedPerSecond,
  bullet,
  comparisons,
  goodput,
  goodputFootnote,
  renderTable,
  summarize,
  wrap,
  type Summary,
} from '../../scripts/demo/table.js';
import { ratewiseRun, retryingRun } from './support.js';

const LIMIT = { limit: 50, windowMs: 2_000 };

function summary(overrides: Partial<Summary>): Summary {
  return {
    client: 'ratewise',
    label: 'x',
    requests: 300,
    succeeded: 300,
    failed: 0,
    sent: 300,
    rejected: 0,
    wallMs: 12_000,
    goodput: 1,
    ...overrides,
  };
}

describe('goodput', () => {
  it('is successes per second over the allowed rate', () => {
    expect(allowedPerSecond(LIMIT)).toBe(25);
    expect(goodput(300, 12_000, LIMIT)).toBe(1);
    expect(goodput(300, 24_000, LIMIT)).toBe(0.5);
    expect(goodput(150, 12_000, LIMIT)).toBe(0.5);
  });

  it('is 0 for a run that took no time', () => {
    expect(goodput(10, 0, LIMIT)).toBe(0);
  });

  it('is defined in a footnote that names the allowed rate', () => {
    const note = goodputFootnote(LIMIT);
    expect(note).toMatch(/^¹ goodput = successful requests per second of wall time ÷ the server's allowed rate/);
    expect(note).toContain('(50 per 2 s = 25 requests/s)');
    expect(goodputFootnote({ limit: 10, windowMs: 3_000 })).toContain('(10 per 3 s = 3.33 requests/s)');
  });
});

describe('summarize', () => {
  it('counts requests sent and 429s from the server log, retries included', () => {
    expect(summarize(retryingRun({ succeeded: 19 }), LIMIT)).toEqual({
      client: 'loop',
      label: 'fetch + hand-written retry loop',
      requests: 20,
      succeeded: 19,
      failed: 1,
      sent: 30,
      rejected: 10,
      wallMs: 2_400,
      goodput: 19 / 2.4 / 25,
    });
    expect(summarize(ratewiseRun(), LIMIT)).toMatchObject({ sent: 21, rejected: 1 });
  });
});

describe('renderTable', () => {
  const table = renderTable([
    summary({
      client: 'loop',
      label: 'fetch + hand-written loop',
      sent: 2204,
      rejected: 1904,
      wallMs: 11_040,
      goodput: 1.087,
      succeeded: 298,
      failed: 2,
    }),
    summary({ label: 'ratewise', wallMs: 12_100, goodput: 0.9917 }),
  ]);

  it('has a header, a rule and one row per run, every line as wide as the others', () => {
    const lines = table.split('\n');
    expect(lines).toHaveLength(4);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[0]).toMatch(
      /^\| client +\| succeeded \| failed \| requests sent \| 429s received \| wall time \| goodput¹ \|$/,
    );
  });

  it('shows the counts, failed calls, the wall time in seconds and goodput in percent, numbers right-aligned', () => {
    expect(table).toMatch(
      /\| fetch \+ hand-written loop \| +298\/300 \| +2 \| +2204 \| +1904 \| +11\.0 s \| +109 % \|/,
    );
    expect(table).toMatch(/\| ratewise +\| +300\/300 \| +0 \| +300 \| +0 \| +12\.1 s \| +99 % \|/);
  });
});

describe('comparisons', () => {
  const ky = summary({ client: 'ky', label: 'ky, retry: { limit: 10 }', sent: 1050, rejected: 750, wallMs: 11_000 });
  const loop = summary({ client: 'loop', label: 'hand loop', sent: 2204, rejected: 1904, wallMs: 9_960, failed: 2 });
  /** Spaces for the no-break spaces that keep figures whole when wrapped. */
  const plain = (lines: string[]): string[] => lines.map((line) => line.replace(/\u00a0/g, ' '));

  it('states requests, 429s, failed calls and wall time for every other client, whichever way they go', () => {
    expect(plain(comparisons([ky, loop, summary({ wallMs: 10_000 })]))).toEqual([
      'Against ky, retry: { limit: 10 }: ratewise sent 300 requests vs 1050, received 0 × 429 vs 750, failed 0 calls ' +
        'vs 0, and finished 1.0 s sooner (10.0 s vs 11.0 s).',
      'Against hand loop: ratewise sent 300 requests vs 2204, received 0 × 429 vs 1904, failed 0 calls vs 2, and ' +
        'finished in the same time (10.0 s).',
    ]);
    expect(plain(comparisons([ky, summary({ wallMs: 12_140 })]))[0]).toContain(
      'and finished 1.1 s later (12.1 s vs 11.0 s).',
    );
  });

  it('compares nothing without a ratewise run', () => {
    expect(comparisons([ky, loop])).toEqual([]);
  });
});

describe('wrap', () => {
  it('breaks at spaces within the width and keeps a long word whole', () => {
    expect(wrap('aa bb cc dd', 5)).toBe('aa bb\ncc dd');
    expect(wrap('a verylongword b', 4)).toBe('a\nverylongword\nb');
    expect(wrap('', 10)).toBe('');
  });

  it('keeps words joined by a no-break space together', () => {
    expect(wrap('received 0\u00a0×\u00a0429 vs 12', 12)).toBe('received\n0\u00a0×\u00a0429 vs\n12');
  });

  it('makes a list item with its other lines indented under the first', () => {
    expect(bullet('aa bb cc dd', 7)).toBe('- aa bb\n  cc dd');
  });
});
