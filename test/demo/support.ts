// Made-up runs for the demo's pure pieces (table, chart, report): no server, no clock.
import type { RunResult } from '../../scripts/demo/runs.js';
import type { Arrival } from '../../scripts/demo/server.js';

export const STARTED_AT = Date.parse('2026-11-27T12:00:00Z');

/** `count` arrivals with `status`, spread evenly from `fromMs` to `untilMs` after {@link STARTED_AT}. */
export function arrivals(count: number, status: number, fromMs: number, untilMs: number): Arrival[] {
  return Array.from({ length: count }, (_, i) => ({
    receivedAt: STARTED_AT + fromMs + Math.floor(((untilMs - fromMs) * i) / Math.max(1, count)),
    status,
  }));
}

/** A plain run: a first burst of 20 with 10 refused, then 10 retries that got through a window later. */
export function plainRun(overrides: Partial<RunResult> = {}): RunResult {
  return {
    client: 'plain',
    label: 'plain fetch + retry on 429',
    requests: 20,
    succeeded: 20,
    failures: [],
    startedAt: STARTED_AT,
    wallMs: 2_400,
    arrivals: [...arrivals(10, 200, 0, 100), ...arrivals(10, 429, 100, 200), ...arrivals(10, 200, 2_000, 2_300)],
    pauses: [],
    firstRejection: { 'retry-after': '2' },
    ...overrides,
  };
}

/** A ratewise run: 20 requests paced over 2 s, one 429 and a pause after it. */
export function ratewiseRun(overrides: Partial<RunResult> = {}): RunResult {
  return {
    client: 'ratewise',
    label: 'ratewise',
    requests: 20,
    succeeded: 20,
    failures: [],
    startedAt: STARTED_AT,
    wallMs: 2_000,
    arrivals: [...arrivals(10, 200, 0, 900), ...arrivals(1, 429, 950, 960), ...arrivals(10, 200, 1_500, 1_950)],
    pauses: [
      { from: STARTED_AT + 960, until: STARTED_AT + 1_400 },
      { from: STARTED_AT + 970, until: STARTED_AT + 1_500 },
    ],
    firstRejection: undefined,
    ...overrides,
  };
}
