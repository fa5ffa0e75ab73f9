// The report's timeline as inline SVG: one panel per run, on one time axis and one y scale. Bars count the requests
// per bucket as the server saw them (accepted first tries, accepted retries and 429s stacked); each of the server's
// windows is bracketed with what its quota went to; spans when every open call was waiting are shaded; ratewise's
// pauses run along the bottom. Pure: data in, markup out.
import { niceStep, type Bucket, type QuotaWindow, type Span } from './timeline-data.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One run's panel. */
export interface Panel {
  readonly title: string;
  readonly subtitle: string;
  readonly buckets: readonly Bucket[];
  readonly windows: readonly QuotaWindow[];
  readonly waits: readonly Span[];
  /** ratewise's pauses; empty for other clients. */
  readonly pauses: readonly Span[];
}

/** What {@link renderTimeline} draws. */
export interface Timeline {
  readonly panels: readonly Panel[];
  readonly bucketMs: number;
  /** Requests the server allows per window. */
  readonly quota: number;
  /** The time axis, ms; every panel shares it. */
  readonly durationMs: number;
}

/** The SVG's own units; the page scales it to its width (about 1:1 in a 1400 px wide window). */
const WIDTH = 1300;
const PANEL_HEIGHT = 182;
const MARGIN = { left: 66, right: 12, top: 56, bottom: 22 };
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
const PLOT_BOTTOM = MARGIN.top + PLOT_HEIGHT;
/** Roughly the width of one character of the 11 px labels, for choosing a label that fits. */
const CHAR_WIDTH = 5.8;

/**
 * The top of the shared y axis. Refused requests of a retrying burst come by the hundred, which would flatten
 * everything else, so the axis is sized to the accepted traffic and the window's quota, and taller bars are cut
 * with their total written up the bar.
 */
export function yAxisTop(timeline: Timeline): number {
  let top = Math.max(1, timeline.quota);
  for (const panel of timeline.panels) {
    for (const b of panel.buckets) top = Math.max(top, b.accepted + b.other);
  }
  const headroom = top * 1.15;
  const step = niceStep(headroom, 4);
  return step * Math.ceil(headroom / step);
}

function fmt(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function secondsText(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The longest of `labels` that fits in `width`, or `undefined`. */
function fitting(labels: readonly string[], width: number): string | undefined {
  return labels.find((label) => label.length * CHAR_WIDTH + 8 <= width);
}

/** What a window's quota went to, in words, longest first: first tries, retries, or some of each. */
function quotaLabels(w: QuotaWindow, quota: number): string[] {
  const who =
    w.accepted === 0
      ? undefined
      : w.retries === 0
        ? 'first tries'
        : w.retries === w.accepted
          ? 'retries'
          : `${w.retries} retries, ${w.accepted - w.retries} first tries`;
  const used = `${w.accepted}/${quota} used`;
  return [
    ...(who === undefined ? [] : [`quota ${quota}: ${w.accepted} used, by ${who}`, `${used} by ${who}`]),
    `quota ${quota}: ${w.accepted} used`,
    used,
    `${w.accepted}/${quota}`,
  ];
}

function renderPanel(panel: Panel, index: number, timeline: Timeline, yTop: number): string {
  const { bucketMs, durationMs, quota } = timeline;
  const x = (ms: number): number => MARGIN.left + (Math.max(0, Math.min(ms, durationMs)) / durationMs) * PLOT_WIDTH;
  const y = (count: number): number => PLOT_BOTTOM - (Math.min(count, yTop) / yTop) * PLOT_HEIGHT;
  const parts: string[] = [];

  parts.push(
    `<text class="panel-title" x="${MARGIN.left}" y="14">${escapeHtml(panel.title)}</text>`,
    `<text class="panel-subtitle" x="${MARGIN.left}" y="29">${escapeHtml(panel.subtitle)}</text>`,
    `<text class="y-title" transform="translate(14 ${fmt(MARGIN.top + PLOT_HEIGHT / 2)}) rotate(-90)" ` +
      `text-anchor="middle">requests per ${bucketMs} ms</text>`,
  );

  // Every other window shaded, so that each window's extent shows; its quota bracketed above the plot.
  for (const [i, w] of panel.windows.entries()) {
    if (w.fromMs >= durationMs) continue;
    const left = x(w.fromMs);
    const right = x(w.untilMs);
    const width = right - left;
    const tip =
      `<title>window ${i + 1}, ${secondsText(w.fromMs)}–${secondsText(w.untilMs)}: quota ${quota}, ` +
      `${w.accepted} accepted (${w.accepted - w.retries} first tries, ${w.retries} retries), ${w.rejected} × 429</title>`;
    const label = fitting(quotaLabels(w, quota), width);
    parts.push(
      `<g class="window" data-window="${i + 1}">`,
      ...(i % 2 === 1
        ? [
            `<rect class="window-band" x="${fmt(left)}" y="${MARGIN.top}" width="${fmt(width)}" height="${PLOT_HEIGHT}"/>`,
          ]
        : []),
      `<line class="window-start" x1="${fmt(left)}" x2="${fmt(left)}" y1="${MARGIN.top - 8}" y2="${PLOT_BOTTOM}"/>`,
      `<path class="quota" d="M${fmt(left + 1)} ${MARGIN.top - 2}V${MARGIN.top - 8}H${fmt(right - 1)}V${MARGIN.top - 2}"/>`,
      ...(label === undefined
        ? []
        : [
            `<text class="quota-label${w.accepted >= quota ? ' full' : ''}" x="${fmt((left + right) / 2)}" ` +
              `y="${MARGIN.top - 12}" text-anchor="middle">${escapeHtml(label)}</text>`,
          ]),
      `<rect class="window-hit" x="${fmt(left)}" y="${MARGIN.top - 20}" width="${fmt(width)}" height="20">${tip}</rect>`,
      `</g>`,
    );
  }

  for (const span of panel.waits) {
    const from = x(span.fromMs);
    const width = Math.max(1, x(span.untilMs) - from);
    const text = `waiting ${secondsText(span.untilMs - span.fromMs)}`;
    parts.push(
      `<rect class="wait" x="${fmt(from)}" y="${MARGIN.top}" width="${fmt(width)}" height="${PLOT_HEIGHT}">` +
        `<title>${secondsText(span.fromMs)}–${secondsText(span.untilMs)}: no request at the server, every open call ` +
        `waiting in the client</title></rect>`,
      ...(text.length * CHAR_WIDTH + 8 <= width
        ? [
            `<text class="wait-label" x="${fmt(from + width / 2)}" y="${fmt(MARGIN.top + PLOT_HEIGHT / 2 + 4)}" ` +
              `text-anchor="middle">${text}</text>`,
          ]
        : []),
    );
  }

  const yStep = niceStep(yTop, 4);
  for (let v = 0; v <= yTop + 1e-9; v += yStep) {
    parts.push(
      `<line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${fmt(y(v))}" y2="${fmt(y(v))}"/>`,
      `<text class="tick" x="${MARGIN.left - 6}" y="${fmt(y(v) + 4)}" text-anchor="end">${fmt(v)}</text>`,
    );
  }
  const xStep = niceStep(durationMs / 1000, 14) * 1000;
  for (let t = 0; t <= durationMs + 1e-9; t += xStep) {
    parts.push(
      `<line class="axis" x1="${fmt(x(t))}" x2="${fmt(x(t))}" y1="${PLOT_BOTTOM}" y2="${PLOT_BOTTOM + 4}"/>`,
      `<text class="tick" x="${fmt(x(t))}" y="${PLOT_BOTTOM + 15}" text-anchor="middle">${fmt(t / 1000)} s</text>`,
    );
  }

  const barWidth = Math.max(1, (bucketMs / durationMs) * PLOT_WIDTH - 1);
  for (const b of panel.buckets) {
    const total = b.accepted + b.rejected + b.other;
    if (total === 0 || b.startMs >= durationMs) continue;
    const left = fmt(x(b.startMs) + 0.5);
    const tip =
      `<title>${(b.startMs / 1000).toFixed(2)}–${((b.startMs + bucketMs) / 1000).toFixed(2)} s: ` +
      `${b.accepted} accepted (${b.retries} of them retries), ${b.rejected} × 429` +
      `${b.other > 0 ? `, ${b.other} other` : ''}</title>`;
    let base = 0;
    for (const [cls, count] of [
      ['ok', b.accepted - b.retries],
      ['ok retry', b.retries],
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

  for (const span of panel.pauses) {
    const from = x(span.fromMs);
    parts.push(
      `<rect class="pause" x="${fmt(from)}" y="${PLOT_BOTTOM - 5}" width="${fmt(Math.max(1, x(span.untilMs) - from))}" ` +
        `height="5"><title>ratewise paused ${secondsText(span.fromMs)}–${secondsText(span.untilMs)}</title></rect>`,
    );
  }

  parts.push(
    `<line class="axis" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${PLOT_BOTTOM}" y2="${PLOT_BOTTOM}"/>`,
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
