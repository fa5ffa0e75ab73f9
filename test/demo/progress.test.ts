import { describe, expect, it } from 'vitest';
import {
  bar,
  createProgress,
  formatCounts,
  formatLiveLine,
  formatPlainLine,
  plainDecision,
  type ProgressSnapshot,
} from '../../scripts/demo/progress.js';

function snapshot(overrides: Partial<ProgressSnapshot> = {}): ProgressSnapshot {
  return {
    label: 'ratewise',
    requests: 300,
    done: 120,
    inFlight: 40,
    waiting: 140,
    rejected: 12,
    elapsedMs: 4_200,
    ...overrides,
  };
}

/** A stream that keeps what is written. */
function sink(
  isTTY: boolean,
  columns?: number,
): { writes: string[]; isTTY: boolean; columns?: number; write(t: string): void } {
  const writes: string[] = [];
  return { writes, isTTY, ...(columns === undefined ? {} : { columns }), write: (t: string) => void writes.push(t) };
}

describe('progress lines', () => {
  it('draws a bar of the done share, clamped to its width', () => {
    expect(bar(0, 10, 10)).toBe('[░░░░░░░░░░]');
    expect(bar(5, 10, 10)).toBe('[█████░░░░░]');
    expect(bar(10, 10, 4)).toBe('[████]');
    expect(bar(12, 10, 4)).toBe('[████]');
    expect(bar(0, 0, 4)).toBe('[████]');
  });

  it('shows done, in flight, waiting, 429s and elapsed time', () => {
    expect(formatCounts(snapshot())).toBe('120/300 done ·  40 in flight · 140 waiting ·   12 × 429 ·  4.2 s');
    expect(formatPlainLine(snapshot())).toBe(
      '  ratewise: 120/300 done · 40 in flight · 140 waiting · 12 × 429 · 4.2 s',
    );
  });

  it('keeps the live line one cell short of the terminal width so that it never wraps', () => {
    expect(formatLiveLine(snapshot(), 200)).toContain('[████████░░░░░░░░░░░░] 120/300 done');
    expect(formatLiveLine(snapshot(), 200).length).toBeLessThan(200);
    expect(formatLiveLine(snapshot(), 40)).toHaveLength(39);
    expect(formatLiveLine(snapshot({ label: 'axios-retry' }), 200)).toMatch(/^ {2}axios-retry {2}\[/);
  });
});

describe('plainDecision', () => {
  const start = { quarter: 0, printedAtMs: 0 };

  it('prints once per quarter passed, not at the end (the final line does that)', () => {
    expect(plainDecision(start, snapshot({ done: 74, elapsedMs: 1_000 })).print).toBe(false);
    const first = plainDecision(start, snapshot({ done: 75, elapsedMs: 1_000 }));
    expect(first).toEqual({ print: true, state: { quarter: 1, printedAtMs: 1_000 } });
    expect(plainDecision(first.state, snapshot({ done: 100, elapsedMs: 1_100 })).print).toBe(false);
    expect(plainDecision(first.state, snapshot({ done: 300, elapsedMs: 1_200 })).print).toBe(false);
  });

  it('prints a heartbeat when nothing has been printed for a while', () => {
    expect(plainDecision(start, snapshot({ done: 0, elapsedMs: 9_999 }), 10_000).print).toBe(false);
    expect(plainDecision(start, snapshot({ done: 0, elapsedMs: 10_000 }), 10_000)).toEqual({
      print: true,
      state: { quarter: 0, printedAtMs: 10_000 },
    });
  });
});

describe('createProgress', () => {
  it('redraws one line in place on a terminal and ends it with a newline', () => {
    const out = sink(true, 120);
    const progress = createProgress(out);
    progress.update(snapshot({ done: 1 }));
    progress.update(snapshot({ done: 2 }));
    progress.finish(snapshot({ done: 300 }));
    expect(out.writes).toHaveLength(3);
    for (const write of out.writes) expect(write.startsWith('\r\x1b[2K')).toBe(true);
    expect(out.writes.slice(0, 2).join('')).not.toContain('\n');
    expect(out.writes[2]).toMatch(/300\/300 done.*\n$/);
  });

  it('writes a few plain lines, not one per sample, when the output is not a terminal', () => {
    const out = sink(false);
    const progress = createProgress(out);
    // 12 s of samples every 100 ms, done growing steadily.
    for (let tick = 1; tick <= 120; tick++) progress.update(snapshot({ done: tick * 2.5, elapsedMs: tick * 100 }));
    progress.finish(snapshot({ done: 300, elapsedMs: 12_000 }));
    expect(out.writes.length).toBeLessThanOrEqual(5);
    expect(out.writes.every((w) => w.endsWith('\n') && !w.includes('\r') && !w.includes('\x1b'))).toBe(true);
    expect(out.writes.at(-1)).toContain('300/300 done');
  });

  // A terminal that reports no width: `columns` undefined (as a pipe's), 0 (a pseudo-terminal with no size set), or
  // too narrow to be real.
  it.each([undefined, 0, 1, Number.NaN])(
    'writes whole plain lines, never a blank or cut one, on a terminal whose width is %s',
    (columns) => {
      const out = sink(true, columns);
      const progress = createProgress(out);
      for (let tick = 1; tick <= 120; tick++) progress.update(snapshot({ done: tick * 2.5, elapsedMs: tick * 100 }));
      progress.finish(snapshot({ done: 300, elapsedMs: 12_000 }));
      const text = out.writes.join('');
      expect(text).not.toContain('\r');
      expect(text).not.toContain('\x1b');
      const lines = text.split('\n').slice(0, -1);
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.length).toBeLessThanOrEqual(5);
      for (const line of lines) expect(line).toMatch(/^ {2}ratewise: \d+\/300 done · \d+ in flight · .* s$/);
    },
  );
});
