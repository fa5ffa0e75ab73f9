// The numbers behind the report's timeline, from a run's server log: requests per bucket of time, the server's
// windows and who used their quota, the spans when every open call was waiting, ratewise's pauses. Pure.
import { expressWindows } from '../lib/server-windows.js';
import type { Arrival, Limit } from './server.js';

/** Requests that arrived in one bucket of time. */
export interface Bucket {
  /** Start of the bucket, ms after the run started. */
  readonly startMs: number;
  /** Answered below 400. */
  readonly accepted: number;
  /** Of the accepted, the retries: requests for a path the server had seen before. */
  readonly retries: number;
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

/** One of the server's windows and what its quota went to. */
export interface QuotaWindow extends Span {
  /** Requests accepted in the window: the share of its quota used. */
  readonly accepted: number;
  /** Of those, retries of a call refused before. */
  readonly retries: number;
  /** 429s written in the window. */
  readonly rejected: number;
}

/** Whether each arrival is a retry: a request for a path the server had already received. In arrival order. */
function retryFlags(arrivals: readonly Arrival[]): boolean[] {
  const seen = new Set<string>();
  return arrivals.map(({ path }) => {
    const again = seen.has(path);
    seen.add(path);
    return again;
  });
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
  const counts = Array.from({ length: count }, () => ({ accepted: 0, retries: 0, rejected: 0, other: 0 }));
  const retry = retryFlags(arrivals);
  for (const [i, { receivedAt, status }] of arrivals.entries()) {
    const bucket = counts[Math.min(count - 1, Math.max(0, Math.floor((receivedAt - startedAt) / bucketMs)))]!;
    if (status === 429) bucket.rejected += 1;
    else if (status !== undefined && status < 400) {
      bucket.accepted += 1;
      if (retry[i]!) bucket.retries += 1;
    } else bucket.other += 1;
  }
  return counts.map((c, i) => ({ startMs: i * bucketMs, ...c }));
}

/**
 * The server's windows during a run, each with the requests that used its quota. Every demo server opens a window
 * with the first request after the previous one ended, as express-rate-limit's memory store does, so the windows
 * are rebuilt from the log the way the bench rebuilds them.
 */
export function quotaWindows(arrivals: readonly Arrival[], startedAt: number, limit: Limit): QuotaWindow[] {
  const windows = expressWindows(arrivals, limit);
  const retries = windows.map(() => 0);
  const retry = retryFlags(arrivals);
  let w = 0;
  for (const [i, { receivedAt, status }] of arrivals.entries()) {
    if (status === undefined || status >= 400 || !retry[i]!) continue;
    while (w + 1 < windows.length && windows[w + 1]!.startAt <= receivedAt) w += 1;
    retries[w]! += 1;
  }
  return windows.map((window, i) => ({
    fromMs: window.startAt - startedAt,
    untilMs: window.startAt - startedAt + limit.windowMs,
    accepted: window.accepted,
    retries: retries[i]!,
    rejected: window.rejected,
  }));
}

/**
 * The spans of at least `minMs` within the run's first `wallMs` when the server held no request: every call still
 * open was waiting in its client (queued, or sleeping before a retry).
 */
export function waitSpans(arrivals: readonly Arrival[], startedAt: number, wallMs: number, minMs = 200): Span[] {
  const busy = arrivals
    .map((a) => ({ fromMs: a.receivedAt - startedAt, untilMs: (a.answeredAt ?? a.receivedAt) - startedAt }))
    .sort((a, b) => a.fromMs - b.fromMs);
  const spans: Span[] = [];
  let freeFrom = 0;
  for (const { fromMs, untilMs } of busy) {
    if (fromMs - freeFrom >= minMs) spans.push({ fromMs: freeFrom, untilMs: Math.min(fromMs, wallMs) });
    freeFrom = Math.max(freeFrom, untilMs);
  }
  if (wallMs - freeFrom >= minMs) spans.push({ fromMs: freeFrom, untilMs: wallMs });
  return spans.filter((span) => span.untilMs - span.fromMs >= minMs);
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
