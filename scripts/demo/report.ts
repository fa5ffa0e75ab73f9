// The demo's HTML report: one self-contained page (inline CSS and SVG, no script, nothing fetched) with the
// comparison table and a timeline of both runs as the server saw them.
import { bucketFor, bucketize, escapeHtml, mergePauses, renderTimeline, type Panel } from './chart.js';
import type { RunResult } from './runs.js';
import { describeServer, formatLimit, type Limit, type ServerKind } from './server.js';
import { goodputFootnote, summarize, tableCells, verdict } from './table.js';

/** What the report shows. */
export interface ReportInput {
  readonly server: ServerKind;
  readonly limit: Limit;
  readonly requests: number;
  /** The plain run first, then ratewise. */
  readonly runs: readonly RunResult[];
  /** Epoch ms. */
  readonly generatedAt: number;
  readonly nodeVersion: string;
  /** Width of a timeline bar, ms. @default 250, or wider for a long run (see `bucketFor`) */
  readonly bucketMs?: number;
}

const CSS = `
  :root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --ok: #3b82f6;
    --rejected: #e11d48; --other: #9ca3af; --pause: #f59e0b; }
  * { box-sizing: border-box; }
  body { margin: 0; background: #f9fafb; color: var(--ink);
    font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
  main { max-width: 1000px; margin: 0 auto; padding: 28px 20px 40px; }
  h1 { font-size: 24px; margin: 0 0 4px; }
  h2 { font-size: 17px; margin: 28px 0 8px; }
  p { margin: 6px 0; }
  .lead { color: var(--muted); }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
  th:first-child, td:first-child { text-align: left; }
  th { font-weight: 600; color: var(--muted); font-size: 13px; }
  tr:last-child td { border-bottom: 0; }
  .verdict { font-weight: 600; margin-top: 10px; }
  .note { color: var(--muted); font-size: 13px; }
  .legend { display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 13px; margin: 4px 0 10px; }
  .legend > span { display: inline-flex; align-items: center; gap: 6px; }
  .legend b { font-weight: inherit; }
  .swatch { width: 14px; height: 10px; border-radius: 2px; display: inline-block; }
  .swatch.line { height: 0; border-top: 2px dashed var(--ink); border-radius: 0; }
  svg.timeline { width: 100%; height: auto; display: block; }
  svg text { font-family: inherit; fill: var(--ink); }
  .panel-title { font-size: 14px; font-weight: 600; }
  .panel-subtitle, .tick { font-size: 11px; fill: var(--muted); }
  .clipped { font-size: 10px; fill: #fff; font-weight: 600; }
  .cut { stroke: #fff; stroke-width: 2.5; }
  .grid { stroke: var(--line); }
  .axis { stroke: var(--muted); }
  .bar.ok { fill: var(--ok); }
  .bar.rejected { fill: var(--rejected); }
  .bar.other { fill: var(--other); }
  .pause { fill: var(--pause); fill-opacity: 0.2; }
  .limit { stroke: var(--ink); stroke-width: 1.5; stroke-dasharray: 6 4; }
  code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
  pre { background: #f3f4f6; border-radius: 6px; padding: 8px 10px; overflow-x: auto; margin: 6px 0; }
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
  const allowedPerBucket = (limit.limit * bucketMs) / limit.windowMs;

  const panels: Panel[] = runs.map((run, i) => {
    const s = summaries[i]!;
    const pauses = mergePauses(run.pauses, run.startedAt);
    const pausedMs = pauses.reduce((sum, p) => sum + p.untilMs - p.fromMs, 0);
    const subtitle = [
      `${plural(s.sent, 'request')} sent`,
      `${s.rejected} × 429`,
      `${s.succeeded}/${s.requests} succeeded in ${seconds(s.wallMs)}`,
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
      pauses,
    };
  });

  const { head, body } = tableCells(summaries);
  const table =
    `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>` +
    body.map((cells) => `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('') +
    `</tbody></table>`;
  const before = summaries.find((_, i) => runs[i]!.client === 'plain');
  const after = summaries.find((_, i) => runs[i]!.client === 'ratewise');
  const sentence = before && after ? `<p class="verdict">${escapeHtml(verdict(before, after))}</p>` : '';

  const failures = runs.flatMap((run) =>
    run.failures.map((f) => `<li>${escapeHtml(run.label)}: ${f.count} × ${escapeHtml(f.reason)}</li>`),
  );
  const rejection = runs.find((run) => run.firstRejection !== undefined)?.firstRejection;
  const rejectionBlock =
    rejection === undefined
      ? ''
      : `<p class="note">The server's first 429 said:</p><pre><code>${escapeHtml(
          Object.entries(rejection)
            .map(([name, value]) => `${name}: ${value}`)
            .join('\n') || '(no rate-limit fields)',
        )}</code></pre>`;

  const title = `ratewise demo: ${requests} requests against ${formatLimit(limit)}`;
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
<p class="lead">${requests} GET requests fired at once at <strong>${escapeHtml(describeServer(input.server))}</strong>,
which allows ${escapeHtml(formatLimit(limit))}: first with plain <code>fetch</code> and a naive retry loop
(on a 429, sleep a random share of <code>Retry-After</code> and try again), then through
<code>createRatewise().fetch</code> with no rate configured.</p>

<h2>Comparison</h2>
<div class="card">
${table}
${sentence}
<p class="note">${escapeHtml(goodputFootnote(limit))} Requests sent and 429s are counted by the server.</p>
${failures.length > 0 ? `<p class="note">Calls that failed:</p><ul class="note">${failures.join('')}</ul>` : ''}
</div>

<h2>Timeline: requests per ${bucketMs} ms, as the server saw them</h2>
<div class="card">
<div class="legend">
<span><i class="swatch" style="background: var(--ok)"></i><b>accepted</b></span>
<span><i class="swatch" style="background: var(--rejected)"></i><b>429 Too Many Requests</b></span>
<span><i class="swatch line"></i><b>allowed rate: ${escapeHtml(formatLimit(limit))} = ${+allowedPerBucket.toFixed(2)} per ${bucketMs} ms</b></span>
<span><i class="swatch" style="background: var(--pause); opacity: 0.35"></i><b>ratewise paused (its <code>paused</code> events)</b></span>
</div>
${renderTimeline({ panels, bucketMs, allowedPerBucket, durationMs })}
<p class="note">Each bar counts the requests that reached the server in one ${bucketMs} ms slot, retries included,
by the status the server answered. Bars taller than the axis are cut (white notch), with their total written up the bar.
A fixed-window limiter admits a window's whole quota at once, so accepted bars may rise above the dashed average rate
at the start of a window.</p>
${rejectionBlock}
</div>

<p class="note">Generated by <code>npm run demo</code> on ${escapeHtml(new Date(input.generatedAt).toISOString())}
with Node.js ${escapeHtml(input.nodeVersion)}.</p>
</main>
</body>
</html>
`;
}
