// Live progress of a run: one line redrawn in place on a terminal that reports its width, a few plain lines otherwise
// (CI logs, pipes, a terminal with no width).
import { usableColumns } from './terminal.js';

/** Where a run stands. */
export interface ProgressSnapshot {
  /** The client's short name. */
  readonly label: string;
  /** Calls in the burst. */
  readonly requests: number;
  /** Calls settled (a response or an error). */
  readonly done: number;
  /** HTTP attempts on the wire: sent, no response head yet. */
  readonly inFlight: number;
  /** Calls neither settled nor on the wire: queued inside ratewise, or sleeping before a retry. */
  readonly waiting: number;
  /** 429 responses received so far. */
  readonly rejected: number;
  readonly elapsedMs: number;
}

/** Receives snapshots while a run goes, and its last one. */
export interface ProgressSink {
  update(snapshot: ProgressSnapshot): void;
  finish(snapshot: ProgressSnapshot): void;
}

/** The part of a stream the display needs (`process.stdout` fits). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

/** `"[██████░░░░░░]"`: `done` of `total` as a bar `width` cells wide. */
export function bar(done: number, total: number, width: number): string {
  const share = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const full = Math.round(share * width);
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}]`;
}

/** `"4.2 s"`. */
export function formatElapsed(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The counts of a snapshot, without the label: `"120/300 done · 40 in flight · 140 waiting · 12 × 429 · 4.2 s"`. */
export function formatCounts(s: ProgressSnapshot): string {
  const width = String(s.requests).length;
  return [
    `${String(s.done).padStart(width)}/${s.requests} done`,
    `${String(s.inFlight).padStart(width)} in flight`,
    `${String(s.waiting).padStart(width)} waiting`,
    `${String(s.rejected).padStart(4)} × 429`,
    formatElapsed(s.elapsedMs).padStart(6),
  ].join(' · ');
}

/** The line a terminal shows, cut to `columns - 1` so that it never wraps (a wrapped line cannot be redrawn). */
export function formatLiveLine(s: ProgressSnapshot, columns: number): string {
  const line = `  ${s.label.padEnd(12)} ${bar(s.done, s.requests, 20)} ${formatCounts(s)}`;
  // Every character here is one UTF-16 unit and one terminal cell (ASCII, █, ░, ×, ·).
  return line.slice(0, Math.max(1, columns - 1));
}

/** The line a log gets: no bar, no padding to redraw. */
export function formatPlainLine(s: ProgressSnapshot): string {
  return `  ${s.label}: ${formatCounts(s).replace(/ {2,}/g, ' ').trim()}`;
}

/** What the plain display has printed so far. */
export interface PlainState {
  /** Quarters of the burst already reported done (0 to 4). */
  readonly quarter: number;
  /** `elapsedMs` of the last line printed. */
  readonly printedAtMs: number;
}

/** A line when the run passes another quarter, or after `heartbeatMs` without one (so a stuck run still shows). */
export function plainDecision(
  state: PlainState,
  s: ProgressSnapshot,
  heartbeatMs = 10_000,
): { readonly print: boolean; readonly state: PlainState } {
  const quarter = s.requests <= 0 ? 4 : Math.floor((4 * s.done) / s.requests);
  // The last quarter is the run's end, which `finish` reports.
  if (quarter > state.quarter && quarter < 4) return { print: true, state: { quarter, printedAtMs: s.elapsedMs } };
  if (s.elapsedMs - state.printedAtMs >= heartbeatMs) {
    return { print: true, state: { quarter: Math.max(quarter, state.quarter), printedAtMs: s.elapsedMs } };
  }
  return { print: false, state };
}

/**
 * A live line on a terminal that reports a usable width, a few plain lines elsewhere: a terminal with no width
 * (`columns` undefined or 0) gets the plain lines, since a line redrawn in place must not wrap.
 */
export function createProgress(out: ProgressStream): ProgressSink {
  const initial = out.isTTY === true ? usableColumns(out.columns) : undefined;
  if (initial !== undefined) {
    // Re-read on every redraw, for a terminal resized during the run.
    const columns = (): number => usableColumns(out.columns) ?? initial;
    return {
      update: (s) => out.write(`\r\x1b[2K${formatLiveLine(s, columns())}`),
      finish: (s) => out.write(`\r\x1b[2K${formatLiveLine(s, columns())}\n`),
    };
  }
  let state: PlainState = { quarter: 0, printedAtMs: 0 };
  return {
    update: (s) => {
      const decision = plainDecision(state, s);
      state = decision.state;
      if (decision.print) out.write(`${formatPlainLine(s)}\n`);
    },
    finish: (s) => out.write(`${formatPlainLine(s)}\n`),
  };
}
