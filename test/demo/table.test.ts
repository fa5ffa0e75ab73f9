import { describe, expect, it } from 'vitest';
import {
  allowedPerSecond,
  goodput,
  goodputFootnote,
  renderTable,
  summarize,
  verdict,
  wrap,
  type Summary,
} from '../../scripts/demo/table.js';
import { plainRun, ratewiseRun } from './support.js';

const LIMIT = { limit: 50, windowMs: 2_000 };

function summary(overrides: Partial<Summary>): Summary {
  return {
    label: 'x',
    requests: 300,
    succeeded: 300,
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
    expect(summarize(plainRun(), LIMIT)).toEqual({
      label: 'plain fetch + retry on 429',
      requests: 20,
      succeeded: 20,
      sent: 30,
      rejected: 10,
      wallMs: 2_400,
      goodput: 20 / 2.4 / 25,
    });
    expect(summarize(ratewiseRun(), LIMIT)).toMatchObject({ sent: 21, rejected: 1 });
  });
});

describe('renderTable', () => {
  const table = renderTable([
    summary({ label: 'plain fetch + retry on 429', sent: 2204, rejected: 1904, wallMs: 11_040, goodput: 1.087 }),
    summary({ label: 'ratewise', wallMs: 12_100, goodput: 0.9917 }),
  ]);

  it('has a header, a rule and one row per run, every line as wide as the others', () => {
    const lines = table.split('\n');
    expect(lines).toHaveLength(4);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[0]).toMatch(/^\| client +\| succeeded \| requests sent \| 429s received \| wall time \| goodput¹ \|$/);
  });

  it('shows the counts, the wall time in seconds and goodput in percent, numbers right-aligned', () => {
    expect(table).toMatch(/\| plain fetch \+ retry on 429 \| +300\/300 \| +2204 \| +1904 \| +11\.0 s \| +109 % \|/);
    expect(table).toMatch(/\| ratewise +\| +300\/300 \| +300 \| +0 \| +12\.1 s \| +99 % \|/);
  });
});

describe('verdict', () => {
  it('compares requests, 429s and time', () => {
    const before = summary({ sent: 2204, rejected: 1904, wallMs: 11_000 });
    expect(verdict(before, summary({ wallMs: 12_100 }))).toBe(
      'ratewise sent 300 requests instead of 2204 (7.3× fewer), received 0 × 429 instead of 1904, and finished 1.1 s later.',
    );
    expect(verdict(before, summary({ wallMs: 9_000 }))).toContain('finished 2.0 s sooner.');
    expect(verdict(before, summary({ wallMs: 11_020 }))).toContain('finished in the same time.');
  });
});

describe('wrap', () => {
  it('breaks at spaces within the width and keeps a long word whole', () => {
    expect(wrap('aa bb cc dd', 5)).toBe('aa bb\ncc dd');
    expect(wrap('a verylongword b', 4)).toBe('a\nverylongword\nb');
    expect(wrap('', 10)).toBe('');
  });
});
