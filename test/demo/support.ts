// Made-up runs for the demo's pure pieces (table, chart, report): no server, no clock.
import type { RunResult } from '../../scripts/demo/runs.js';
import type { Arrival } from '../../scripts/demo/server.js';

export const STARTED_AT = Date.parse('2026-11-27T12:00:00Z');

/**
 * `count` arrivals with `status`, spread evenly from `fromMs` to `untilMs` after {@link STARTED_AT}, each answered
 * 5 ms after it arrived, for the paths `/items/<first>` onwards.
 */
export function arrivals(count: number, status: number, fromMs: number, untilMs: number, first = 0): Arrival[] {
  return Array.from({ length: count }, (_, i) => {
    const receivedAt = STARTED_AT + fromMs + Math.floor(((untilMs - fromMs) * i) / Math.max(1, count));
    return { receivedAt, status, answeredAt: receivedAt + 5, path: `/items/${first + i}` };
  });
}

/**
 * A retrying client's run: a first burst of 20 with 10 refused (items 10 to 19), then those 10 retried a window
 * later, all accepted.
 */
export function retryingRun(overrides: Partial<RunResult> = {}): RunResult {
  return {
    client: 'loop',
    label: 'fetch + hand-written retry loop',
    requests: 20,
    succeeded: 20,
    failures: [],
    startedAt: STARTED_AT,
    wallMs: 2_400,
    arrivals: [
      ...arrivals(10, 200, 0, 100),
      ...arrivals(10, 429, 100, 200, 10),
      ...arrivals(10, 200, 2_000, 2_300, 10),
    ],
    pauses: [],
    firstRejection: { 'retry-after': '2' },
    ...overrides,
  };
}

/** A ratewise run: 20 requests paced over 2 s, one 429 and a pause after it. */
export function ratewiseRun(overrides: Partial<RunResult> = {}): RunResult {
  return {
    client: 'ratewise',
    label: 'ratewise, rw.fetch, no options',
    requests: 20,
    succeeded: 20,
    failures: [],
    startedAt: STARTED_AT,
    wallMs: 2_000,
    arrivals: [...arrivals(10, 200, 0, 900), ...arrivals(1, 429, 950, 960, 10), ...arrivals(10, 200, 1_500, 1_950, 10)],
    pauses: [
      { from: STARTED_AT + 960, until: STARTED_AT + 1_400 },
      { from: STARTED_AT + 970, until: STARTED_AT + 1_500 },
    ],
    firstRejection: undefined,
    ...overrides,
  };
}

/** The demo's four runs, in its order: ky, axios-retry, the hand-written loop, ratewise. */
export function fourRuns(): RunResult[] {
  return [
    retryingRun({ client: 'ky', label: 'ky, retry: { limit: 10 }', wallMs: 2_350 }),
    retryingRun({ client: 'axios-retry', label: 'axios + axios-retry, retries: 10, on 429', wallMs: 2_600 }),
    retryingRun(),
    ratewiseRun(),
  ];
}
