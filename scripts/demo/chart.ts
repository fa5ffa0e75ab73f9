// The report's timeline as inline SVG: one panel per run, requests per bucket as the server saw them (accepted and
// 429 stacked), the server's allowed rate as a dashed line, ratewise's pauses shaded. Pure: data in, markup out.
import type { Arrival } from './server.js';

/** Requests that arrived in one bucket of time. */
export interface Bucket {
  /** Start of the bucket, ms after the run started. */
  readonly startMs: number;
  /** Answered below 400. */
  readonly accepted: number;
  /** Answered 429. */
  readonly rejected: number;
  /** Anything else: another error status, or never answered. */
  readonly other: number;
}

/** A span of time, ms after the run started. */
export interface Span {
  readonly fromMs: number;
  readonly untilMs: number;
}

/** Counts `arrivals` into buckets of `bucketMs` from `startedAt`, enough of them to cover `durationMs`. */
export function bucketize(
  arrivals: readonly Arrival[],
  startedAt: number,
  bucketMs: number,
  durationMs: number,
): Bucket[] {
  const last = arrivals.reduce((max, a) => Math.max(max, a.receivedAt - startedAt), 0);
  const count = Math.max(1, Math.ceil(Math.max(durationMs, last + 1) / bucketMs));
  const counts = Array.from({ length: count }, () => ({ accepted: 0, rejected: 0, other: 0 }));
  for (const { receivedAt, status } of arrivals) {
    const bucket = counts[Math.min(count - 1, Math.max(0, Math.floor((receivedAt - startedAt) / bucketMs)))]!;
    if (status === 429) bucket.rejected += 1;
    else if (status !== undefined && status < 400) bucket.accepted += 1;
    else bucket.other += 1;
  }
  return counts.map((c, i) => ({ startMs: i * bucketMs, ...c }));
}

/** Overlapping or touching pauses (epoch ms) as disjoint spans after `startedAt`, in order. */
export function mergePauses(pauses: readonly { from: number; until: number }[], startedAt: number): Span[] {
  const sorted = pauses
    .map((p) => ({ fromMs: Math.max(0, p.from - startedAt), untilMs: p.until - startedAt }))
    .filter((s) => s.untilMs > s.fromMs)
    .sort((a, b) => a.fromMs - b.fromMs);
  const merged: Span[] = [];
  for (const span of sorted) {
    const previous = merged.at(-1);
    if (previous !== undefined && span.fromMs <= previous.untilMs) {
      merged[merged.length - 1] = { fromMs: previous.fromMs, untilMs: Math.max(previous.untilMs, span.untilMs) };
    } else {
      merged.push(span);
    }
  }
  return merged;
}

/** A round step (1, 2 or 5 times a power of ten) giving about `ticks` intervals up to `max`. */
export function niceStep(max: number, ticks: number): number {
  if (!(max > 0)) return 1;
  const raw = max / Math.max(1, ticks);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  return Math.max(step, Number.EPSILON);
}

/** The bar width for a timeline of `durationMs`: 250 ms, or the next round width that keeps bars countable. */
export function bucketFor(durationMs: number, maxBuckets = 120): number {
  for (const ms of [250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000]) {
    if (durationMs / ms <= maxBuckets) return ms;
  }
  return 60_000 * Math.ceil(durationMs / 60_000 / maxBuckets);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One run's panel. */
export interface Panel {
  readonly title: string;
  readonly subtitle: string;
  readonly buckets: readonly Bucket[];
  readonly pauses: readonly Span[];
}

/** What {@link renderTimeline} draws. */
export interface Timeline {
  readonly panels: readonly Panel[];
  readonly bucketMs: number;
  /** The server's allowed rate, in requests per bucket. */
  readonly allowedPerBucket: number;
  /** The time axis, ms; every panel shares it. */
  readonly durationMs: number;
}

const WIDTH = 960;
const PANEL_HEIGHT = 230;
const MARGIN = { left: 52, right: 16, top: 44, bottom: 34 };
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;

/**
 * The top of the shared y axis. Refused requests of a naive burst come by the hundred, which would flatten
 * everything else, so the axis is sized to the accepted traffic and the allowed rate, and taller bars are cut
 * with their total written above.
 */
export function yAxisTop(timeline: Timeline): number {
  let top = timeline.allowedPerBucket * 3;
  for (const panel of timeline.panels) {
    for (const b of panel.buckets) top = Math.max(top, b.accepted + b.other);
  }
  const headroom = top * 1.15;
  const step = niceStep(headroom, 5);
  return step * Math.ceil(headroom / step);
}

function fmt(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function renderPanel(panel: Panel, index: number, timeline: Timeline, yTop: number): string {
  const { bucketMs, durationMs, allowedPerBucket } = timeline;
  const x = (ms: number): number => MARGIN.left + (Math.min(ms, durationMs) / durationMs) * PLOT_WIDTH;
  const y = (count: number): number => MARGIN.top + PLOT_HEIGHT - (Math.min(count, yTop) / yTop) * PLOT_HEIGHT;
  const parts: string[] = [];

  parts.push(
    `<text class="panel-title" x="${MARGIN.left}" y="18">${escapeHtml(panel.title)}</text>`,
    `<text class="panel-subtitle" x="${MARGIN.left}" y="34">${escapeHtml(panel.subtitle)}</text>`,
  );

  for (const span of panel.pauses) {
    const from = x(span.fromMs);
    parts.push(
      `<rect class="pause" x="${fmt(from)}" y="${MARGIN.top}" width="${fmt(Math.max(1, x(span.untilMs) - from))}" ` +
        `height="${PLOT_HEIGHT}"><title>ratewise paused ${(span.fromMs / 1000).toFixed(2)}–` +
        `${(span.untilMs / 1000).toFixed(2)} s</title></rect>`,
    );
  }

  const yStep = niceStep(yTop, 5);
  for (let v = 0; v <= yTop + 1e-9; v += yStep) {
    parts.push(
      `<line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${fmt(y(v))}" y2="${fmt(y(v))}"/>`,
      `<text class="tick" x="${MARGIN.left - 6}" y="${fmt(y(v) + 4)}" text-anchor="end">${fmt(v)}</text>`,
    );
  }
  const xStep = niceStep(durationMs / 1000, 12) * 1000;
  for (let t = 0; t <= durationMs + 1e-9; t += xStep) {
    parts.push(
      `<line class="axis" x1="${fmt(x(t))}" x2="${fmt(x(t))}" y1="${MARGIN.top + PLOT_HEIGHT}" ` +
        `y2="${MARGIN.top + PLOT_HEIGHT + 4}"/>`,
      `<text class="tick" x="${fmt(x(t))}" y="${MARGIN.top + PLOT_HEIGHT + 17}" text-anchor="middle">` +
        `${fmt(t / 1000)} s</text>`,
    );
  }

  const barWidth = Math.max(1, (bucketMs / durationMs) * PLOT_WIDTH - 1);
  for (const b of panel.buckets) {
    const total = b.accepted + b.rejected + b.other;
    if (total === 0 || b.startMs >= durationMs) continue;
    const left = fmt(x(b.startMs) + 0.5);
    const tip =
      `<title>${(b.startMs / 1000).toFixed(2)}–${((b.startMs + bucketMs) / 1000).toFixed(2)} s: ` +
      `${b.accepted} accepted, ${b.rejected} × 429${b.other > 0 ? `, ${b.other} other` : ''}</title>`;
    let base = 0;
    for (const [cls, count] of [
      ['ok', b.accepted],
      ['other', b.other],
      ['rejected', b.rejected],
    ] as const) {
      if (count === 0 || base >= yTop) {
        base += count;
        continue;
      }
      const top = y(base + count);
      parts.push(
        `<rect class="bar ${cls}" x="${left}" y="${fmt(top)}" width="${fmt(barWidth)}" ` +
          `height="${fmt(y(base) - top)}">${tip}</rect>`,
      );
      base += count;
    }
    if (total > yTop) {
      // A cut bar: a white notch near its top, and its total written up the bar when the bar is wide enough.
      const middle = x(b.startMs) + 0.5 + barWidth / 2;
      parts.push(
        `<path class="cut" d="M${fmt(middle - barWidth / 2)} ${MARGIN.top + 7}l${fmt(barWidth)} -4"/>`,
        ...(barWidth >= 11
          ? [
              `<text class="clipped" transform="translate(${fmt(middle + 3.5)} ${MARGIN.top + 10}) rotate(-90)" ` +
                `text-anchor="end">${total}</text>`,
            ]
          : []),
      );
    }
  }

  const limitY = fmt(y(allowedPerBucket));
  parts.push(
    `<line class="limit" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${limitY}" y2="${limitY}"/>`,
    `<line class="axis" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${MARGIN.top + PLOT_HEIGHT}" ` +
      `y2="${MARGIN.top + PLOT_HEIGHT}"/>`,
  );

  return `<g class="panel" data-run="${index}" transform="translate(0 ${index * PANEL_HEIGHT})">${parts.join('')}</g>`;
}

/** The whole timeline, one `<svg>` element. */
export function renderTimeline(timeline: Timeline): string {
  const yTop = yAxisTop(timeline);
  const height = PANEL_HEIGHT * timeline.panels.length;
  const panels = timeline.panels.map((panel, i) => renderPanel(panel, i, timeline, yTop)).join('');
  return (
    `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" ` +
    `role="img" aria-label="Requests per ${timeline.bucketMs} ms, as the server saw them">${panels}</svg>`
  );
}
