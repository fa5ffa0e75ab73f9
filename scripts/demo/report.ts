// The demo's HTML report: one self-contained page (inline CSS and SVG, no script, nothing fetched) with a timeline
// of every run as the server saw it, at the top so that all of it shows in a 1400 × 1000 window, then the comparison.
import { escapeHtml, renderTimeline, type Panel } from './chart.js';
import { CLIENTS } from './clients.js';
import type { RunResult } from './runs.js';
import { describeServer, formatLimit, type Limit, type ServerKind } from './server.js';
import { comparisons, goodputFootnote, ONE_RUN_NOTE, summarize, tableCells } from './table.js';
import { bucketFor, bucketize, mergePauses, quotaWindows, waitSpans } from './timeline-data.js';

/** What the report shows. */
export interface ReportInput {
  readonly server: ServerKind;
  readonly limit: Limit;
  readonly requests: number;
  /** In the order they ran. */
  readonly runs: readonly RunResult[];
  /** Epoch ms. */
  readonly generatedAt: number;
  readonly nodeVersion: string;
  /** Package versions to name (`ky` → `1.14.3`), when known. */
  readonly versions?: Readonly<Record<string, string>>;
  /** Width of a timeline bar, ms. @default 250, or wider for a long run (see `bucketFor`) */
  readonly bucketMs?: number;
}

const CSS = `
  :root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --ok: #2563eb; --retry: #7dd3fc;
    --rejected: #e11d48; --other: #9ca3af; --wait: #f59e0b; --pause: #b45309; --quota: #047857; }
  * { box-sizing: border-box; }
  body { margin: 0; background: #f9fafb; color: var(--ink);
    font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
  main { max-width: 1360px; margin: 0 auto; padding: 12px 16px 32px; }
  h1 { font-size: 20px; margin: 0 0 2px; }
  h2 { font-size: 16px; margin: 22px 0 8px; }
  p { margin: 4px 0; }
  .lead { color: var(--muted); margin-bottom: 8px; }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; }
  th { font-weight: 600; color: var(--muted); font-size: 13px; }
  tr:last-child td { border-bottom: 0; }
  ul.facts { margin: 8px 0 4px; padding-left: 20px; }
  .note { color: var(--muted); font-size: 13px; }
  .legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12.5px; margin: 0 0 4px; }
  .legend > span { display: inline-flex; align-items: center; gap: 6px; }
  .legend b { font-weight: inherit; }
  .swatch { width: 14px; height: 10px; border-radius: 2px; display: inline-block; }
  .swatch.bracket { height: 6px; border: 1.5px solid var(--quota); border-bottom: 0; border-radius: 0; }
  svg.timeline { width: 100%; height: auto; display: block; }
  svg text { font-family: inherit; fill: var(--ink); }
  .panel-title { font-size: 13px; font-weight: 600; }
  .panel-subtitle, .tick { font-size: 11px; fill: var(--muted); }
  .y-title { font-size: 11px; fill: var(--muted); }
  .clipped { font-size: 10px; fill: #fff; font-weight: 600; }
  .cut { stroke: #fff; stroke-width: 2.5; }
  .grid { stroke: var(--line); }
  .axis { stroke: var(--muted); }
  .bar.ok { fill: var(--ok); }
  .bar.ok.retry { fill: var(--retry); }
  .bar.rejected { fill: var(--rejected); }
  .bar.other { fill: var(--other); }
  .window-band { fill: #f3f4f6; }
  .window-start { stroke: var(--quota); stroke-width: 1; stroke-dasharray: 2 3; }
  .quota { fill: none; stroke: var(--quota); stroke-width: 1.5; }
  .quota-label { font-size: 11px; fill: var(--quota); }
  .window-hit { fill: transparent; }
  .wait { fill: var(--wait); fill-opacity: 0.22; }
  .wait-label { font-size: 11px; fill: #92400e; }
  .pause { fill: var(--pause); }
  code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
  pre { background: #f3f4f6; border-radius: 6px; padding: 8px 10px; overflow-x: auto; margin: 6px 0; }
  dl.clients { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; }
  dl.clients dt { font-weight: 600; }
  dl.clients dd { margin: 0; }
`;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** The page, as one string. */
export function renderReport(input: ReportInput): string {
  const { limit, runs, requests } = input;
  const summaries = runs.map((run) => summarize(run, limit));
  const lastMs = Math.max(
    1,
    ...runs.map((run) => Math.max(run.wallMs, ...run.arrivals.map((a) => a.receivedAt - run.startedAt + 1))),
  );
  const bucketMs = input.bucketMs ?? bucketFor(lastMs);
  const durationMs = bucketMs * Math.max(4, Math.ceil(lastMs / bucketMs));

  const panels: Panel[] = runs.map((run, i) => {
    const s = summaries[i]!;
    const pauses = mergePauses(run.pauses, run.startedAt);
    const pausedMs = pauses.reduce((sum, p) => sum + p.untilMs - p.fromMs, 0);
    const subtitle = [
      `${plural(s.sent, 'request')} sent`,
      `${s.rejected} × 429`,
      `${s.succeeded}/${s.requests} succeeded, ${s.failed} failed`,
      seconds(s.wallMs),
      ...(run.client === 'ratewise'
        ? [
            pauses.length === 0
              ? 'never paused'
              : `paused ${plural(pauses.length, 'time')}, ${seconds(pausedMs)} in all`,
          ]
        : []),
    ].join(' · ');
    return {
      title: run.label,
      subtitle,
      buckets: bucketize(run.arrivals, run.startedAt, bucketMs, durationMs),
      windows: quotaWindows(run.arrivals, run.startedAt, limit),
      waits: waitSpans(run.arrivals, run.startedAt, run.wallMs),
      pauses,
    };
  });

  const { head, body } = tableCells(summaries);
  const table =
    `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>` +
    body.map((cells) => `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('') +
    `</tbody></table>`;
  const facts = comparisons(summaries);
  const factList =
    facts.length === 0 ? '' : `<ul class="facts">${facts.map((f) => `<li>${escapeHtml(f)}</li>`).join('')}</ul>`;

  const failures = runs.flatMap((run) =>
    run.failures.map((f) => `<li>${escapeHtml(run.label)}: ${f.count} × ${escapeHtml(f.reason)}</li>`),
  );
  const rejection = runs.find((run) => run.firstRejection !== undefined)?.firstRejection;
  const rejectionBlock =
    rejection === undefined
      ? ''
      : `<h2>The server's first 429 said</h2><pre><code>${escapeHtml(
          Object.entries(rejection)
            .map(([name, value]) => `${name}: ${value}`)
            .join('\n') || '(no rate-limit fields)',
        )}</code></pre>`;
  const clients = runs
    .map((run) => `<dt>${escapeHtml(run.label)}</dt><dd>${escapeHtml(CLIENTS[run.client].how)}</dd>`)
    .join('');
  const versions = Object.entries(input.versions ?? {})
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');

  const title = `ratewise demo: ${requests} requests at once against ${formatLimit(limit)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="lead">The same ${requests} GET requests, all started at once, through each client in turn, each against a
fresh <strong>${escapeHtml(describeServer(input.server))}</strong> on 127.0.0.1 allowing ${escapeHtml(formatLimit(limit))}.
Bars count the requests the server received per ${bucketMs} ms, retries included.</p>

<div class="card timeline-card">
<div class="legend">
<span><i class="swatch" style="background: var(--ok)"></i><b>accepted, first try</b></span>
<span><i class="swatch" style="background: var(--retry)"></i><b>accepted, a retry</b></span>
<span><i class="swatch" style="background: var(--rejected)"></i><b>429 Too Many Requests</b></span>
<span><i class="swatch bracket"></i><b>a server window: its quota of ${limit.limit} and what used it</b></span>
<span><i class="swatch" style="background: var(--wait); opacity: 0.45"></i><b>waiting: no request at the server, every open call held in its client</b></span>
<span><i class="swatch" style="background: var(--pause)"></i><b>ratewise paused</b></span>
</div>
${renderTimeline({ panels, bucketMs, quota: limit.limit, durationMs })}
</div>

<h2>Comparison</h2>
<div class="card">
${table}
${factList}
<p class="note">${escapeHtml(ONE_RUN_NOTE)}</p>
<p class="note">${escapeHtml(goodputFootnote(limit))} Requests sent and 429s are counted by the server.</p>
${failures.length > 0 ? `<p class="note">Calls that failed:</p><ul class="note">${failures.join('')}</ul>` : ''}
</div>

<h2>The clients</h2>
<div class="card">
<dl class="clients">${clients}</dl>
<p class="note">Each bar of the timeline counts the requests that reached the server in one ${bucketMs} ms slot, by the
status the server answered; a retry is a request for a path the server had already received. Bars taller than the
axis are cut (white notch), with their total written up the bar. Each server window opens with the first request
after the previous one ended and admits ${limit.limit} requests; its bracket says how many it accepted and how many of
those were retries.</p>
</div>
${rejectionBlock}

<p class="note">Generated by <code>npm run demo</code> on ${escapeHtml(new Date(input.generatedAt).toISOString())}
with Node.js ${escapeHtml(input.nodeVersion)}${versions === '' ? '' : `, ${escapeHtml(versions)}`}.</p>
</main>
</body>
</html>
`;
}
