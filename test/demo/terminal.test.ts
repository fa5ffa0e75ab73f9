import { describe, expect, it } from 'vitest';
import { goodputFootnote, wrap } from '../../scripts/demo/table.js';
import { MAX_TEXT_WIDTH, textWidth, usableColumns } from '../../scripts/demo/terminal.js';

describe('usableColumns', () => {
  it('takes a real terminal width, and no width, 0 or a width too narrow to be real for none', () => {
    expect(usableColumns(80)).toBe(80);
    expect(usableColumns(20)).toBe(20);
    for (const columns of [undefined, 0, 1, 19, -5, Number.NaN, 80.5]) expect(usableColumns(columns)).toBeUndefined();
  });
});

describe('textWidth', () => {
  it('wraps prose one short of the terminal, at most 100 wide', () => {
    expect(textWidth(60)).toBe(59);
    expect(textWidth(100)).toBe(99);
    expect(textWidth(250)).toBe(MAX_TEXT_WIDTH);
  });

  it.each([undefined, 0, 1])(
    'wraps to 100 when the terminal reports a width of %s, not one word per line',
    (columns) => {
      expect(textWidth(columns)).toBe(MAX_TEXT_WIDTH);
      const lines = wrap(goodputFootnote({ limit: 50, windowMs: 2_000 }), textWidth(columns)).split('\n');
      expect(lines.length).toBeLessThanOrEqual(3);
      for (const line of lines) {
        expect(line.trim()).not.toBe('');
        expect(line.split(' ').length).toBeGreaterThan(1);
      }
    },
  );
});
