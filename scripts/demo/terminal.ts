// What the demo can assume of its output's width. A terminal may report no width at all (`columns` undefined, as a
// pipe does) or a width of 0 (some pseudo-terminals with no size set): neither may shape the output, or a live line
// cut to nothing prints blank lines and prose wrapped to nothing prints one word per line.

/** Narrower than this, a reported width is taken for no width. */
export const MIN_COLUMNS = 20;

/** Prose is wrapped to this many characters at most, and to this when the width is unknown. */
export const MAX_TEXT_WIDTH = 100;

/** `columns` when it is a width the output can be shaped to, else `undefined`. */
export function usableColumns(columns: number | undefined): number | undefined {
  return columns !== undefined && Number.isInteger(columns) && columns >= MIN_COLUMNS ? columns : undefined;
}

/** The width to wrap prose to: one short of the terminal's (so a full line does not wrap), at most 100. */
export function textWidth(columns: number | undefined): number {
  const usable = usableColumns(columns);
  return usable === undefined ? MAX_TEXT_WIDTH : Math.min(MAX_TEXT_WIDTH, usable - 1);
}
