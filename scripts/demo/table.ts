// The comparison at the end of the demo: one row per run, counted from the server's own log.
import type { RunResult } from './runs.js';
import { formatLimit, type Limit } from './server.js';

/** One run, summed up. */
export interface Summary {
  readonly label: string;
  readonly requests: number;
  readonly succeeded: number;
  /** Requests the server received, retries included. */
  readonly sent: number;
  /** 429 responses the server wrote. */
  readonly rejected: number;
  readonly wallMs: number;
  /** {@link goodput}, a ratio (1 = 100 %). */
  readonly goodput: number;
}

/** The server's allowed rate, requests per second. */
export function allowedPerSecond({ limit, windowMs }: Limit): number {
  return limit / (windowMs / 1000);
}

/** Successful calls per second of wall time, as a share of the server's allowed rate. */
export function goodput(succeeded: number, wallMs: number, limit: Limit): number {
  if (wallMs <= 0) return 0;
  return succeeded / (wallMs / 1000) / allowedPerSecond(limit);
}

export function summarize(run: RunResult, limit: Limit): Summary {
  return {
    label: run.label,
    requests: run.requests,
    succeeded: run.succeeded,
    sent: run.arrivals.length,
    rejected: run.arrivals.filter((arrival) => arrival.status === 429).length,
    wallMs: run.wallMs,
    goodput: goodput(run.succeeded, run.wallMs, limit),
  };
}

/** The cells of the table, header first; shared by the terminal table and the HTML report. */
export function tableCells(rows: readonly Summary[]): { readonly head: string[]; readonly body: string[][] } {
  return {
    head: ['client', 'succeeded', 'requests sent', '429s received', 'wall time', 'goodput¹'],
    body: rows.map((r) => [
      r.label,
      `${r.succeeded}/${r.requests}`,
      String(r.sent),
      String(r.rejected),
      `${(r.wallMs / 1000).toFixed(1)} s`,
      `${Math.round(100 * r.goodput)} %`,
    ]),
  };
}

/** The footnote that defines goodput for this server's limit. */
export function goodputFootnote(limit: Limit): string {
  const rate = allowedPerSecond(limit);
  return (
    `¹ goodput = successful requests per second of wall time ÷ the server's allowed rate ` +
    `(${formatLimit(limit)} = ${Number.isInteger(rate) ? rate : rate.toFixed(2)} requests/s). ` +
    `100 % is all the server allows; a fixed-window limiter lets a whole window's quota through at once, ` +
    `so a short burst can score a little above 100 %.`
  );
}

/** A Markdown-style table, columns padded, numbers right-aligned. */
export function renderTable(rows: readonly Summary[]): string {
  const { head, body } = tableCells(rows);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(head), rule, ...body.map(line)].join('\n');
}

/** `text` broken at spaces into lines of at most `width` characters (a longer word keeps its own line). */
export function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

/** One sentence comparing the plain run (`before`) with ratewise (`after`). */
export function verdict(before: Summary, after: Summary): string {
  const fewer = after.sent > 0 ? before.sent / after.sent : Infinity;
  const gapSeconds = ((after.wallMs - before.wallMs) / 1000).toFixed(1);
  const time =
    gapSeconds === '0.0' || gapSeconds === '-0.0'
      ? 'in the same time'
      : gapSeconds.startsWith('-')
        ? `${gapSeconds.slice(1)} s sooner`
        : `${gapSeconds} s later`;
  return (
    `ratewise sent ${after.sent} requests instead of ${before.sent} (${fewer.toFixed(1)}× fewer), ` +
    `received ${after.rejected} × 429 instead of ${before.rejected}, and finished ${time}.`
  );
}
