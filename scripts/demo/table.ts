// The comparison at the end of the demo: one row per run, counted from the server's own log.
import type { ClientKind } from './clients.js';
import type { RunResult } from './runs.js';
import { formatLimit, type Limit } from './server.js';

/** One run, summed up. */
export interface Summary {
  readonly client: ClientKind;
  readonly label: string;
  readonly requests: number;
  readonly succeeded: number;
  /** Calls that did not end in a 2xx response. */
  readonly failed: number;
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
    client: run.client,
    label: run.label,
    requests: run.requests,
    succeeded: run.succeeded,
    failed: run.requests - run.succeeded,
    sent: run.arrivals.length,
    rejected: run.arrivals.filter((arrival) => arrival.status === 429).length,
    wallMs: run.wallMs,
    goodput: goodput(run.succeeded, run.wallMs, limit),
  };
}

/** The cells of the table, header first; shared by the terminal table and the HTML report. */
export function tableCells(rows: readonly Summary[]): { readonly head: string[]; readonly body: string[][] } {
  return {
    head: ['client', 'succeeded', 'failed', 'requests sent', '429s received', 'wall time', 'goodput¹'],
    body: rows.map((r) => [
      r.label,
      `${r.succeeded}/${r.requests}`,
      String(r.failed),
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

/**
 * `text` broken at spaces into lines of at most `width` characters (a longer word keeps its own line). A no-break
 * space (U+00A0) holds its neighbours together.
 */
export function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/[ \t\r\n]+/).filter((w) => w !== '')) {
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

/** `text` as a list item: `- ` before its first line, its other lines indented to match, `width` in all. */
export function bullet(text: string, width: number): string {
  return wrap(text, width - 2)
    .split('\n')
    .map((line, i) => `${i === 0 ? '-' : ' '} ${line}`)
    .join('\n');
}

/** A no-break space: keeps `0 × 429` and `6.1 s` on one line when wrapped. */
const NBSP = '\u00a0';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}${NBSP}s`;
}

function times429(count: number): string {
  return `${count}${NBSP}×${NBSP}429`;
}

/**
 * One sentence per other client, ratewise's figures beside its: requests, 429s, failed calls and wall time, whichever
 * way each goes. Empty without a ratewise row.
 */
export function comparisons(rows: readonly Summary[]): string[] {
  const ours = rows.find((r) => r.client === 'ratewise');
  if (ours === undefined) return [];
  return rows
    .filter((r) => r !== ours)
    .map((peer) => {
      // Compared as the table shows them, to the tenth of a second.
      const [mine, theirs] = [Math.round(ours.wallMs / 100), Math.round(peer.wallMs / 100)];
      const time =
        mine === theirs
          ? `finished in the same time (${seconds(ours.wallMs)})`
          : `finished ${seconds(Math.abs(mine - theirs) * 100)} ${mine < theirs ? 'sooner' : 'later'} ` +
            `(${seconds(ours.wallMs)} vs ${seconds(peer.wallMs)})`;
      return (
        `Against ${peer.label}: ratewise sent ${ours.sent} requests vs ${peer.sent}, received ${times429(ours.rejected)} ` +
        `vs ${peer.rejected}, failed ${ours.failed} calls vs ${peer.failed}, and ${time}.`
      );
    });
}

/** What one run can and cannot show. */
export const ONE_RUN_NOTE =
  'One run of each: wall times vary by a second or so from run to run. Whether ratewise finishes no later than ' +
  'each of these is measured over several runs by `npm run bench` (its peers and efficiency sections).';
