// Section: how much of a real server's allowed rate ratewise turns into successful requests, and how many requests
// the server refuses on the way, when a burst of requests is sent at once with no local rate.
import type * as Ratewise from '../../src/index.js';
import type { TestServer } from '../../test/support/servers.js';
import { startExpressServer, startScriptedServer } from '../../test/support/servers.js';
import { expressWindows, type AllowedRate, type WindowCount } from '../../scripts/lib/server-windows.js';
import { importCompiledRatewise } from '../compiled.js';
import { fixedWindowLimiter } from '../fixed-window.js';
import { formatInteger, formatRange, median } from '../measure.js';
import type { RunContext, Section, SectionResult } from '../report.js';

/** Goodput over full windows, as a fraction of the allowed rate. */
const TARGET_GOODPUT = 0.95;

interface Shape extends AllowedRate {
  /** Requests sent at once: a whole number of windows' worth, so the last window is a full one too. */
  readonly requests: number;
  readonly rounds: number;
}

/** A server under test, with the windows its limiter counted. */
interface Peer {
  readonly server: TestServer;
  windows(): WindowCount[];
}

interface Scenario {
  readonly label: string;
  start(shape: Shape): Promise<Peer>;
}

interface RunResult {
  readonly wallMs: number;
  readonly successes: number;
  /** Calls that ended in an error (retries spent, a wait refused): none expected. */
  readonly failures: readonly string[];
  /** 429 responses the server sent. */
  readonly rejected: number;
  /** 429 responses to requests sent after the client had its first response. */
  readonly rejectedAfterFirst: number;
  readonly windows: readonly WindowCount[];
  /** successes ÷ (wall time × allowed rate). */
  readonly goodputWall: number;
  /** Accepted in the full windows ÷ what those windows allowed, by time; NaN with fewer than two windows. */
  readonly goodputWindows: number;
}

const scenarios: readonly Scenario[] = [
  {
    label: 'express-rate-limit, `standardHeaders: draft-8`',
    async start(shape) {
      const server = await startExpressServer({
        limit: shape.limit,
        windowMs: shape.windowMs,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
      });
      return { server, windows: () => expressWindows(server.requests(), shape) };
    },
  },
  {
    label: 'fixed window, bare `429` + `Retry-After`',
    async start(shape) {
      const limiter = fixedWindowLimiter(shape.limit, shape.windowMs);
      return { server: await startScriptedServer(limiter.script), windows: () => limiter.windows() };
    },
  },
];

/**
 * Goodput over full windows: the requests accepted before the last window opened, over what the allowed rate
 * permits in the time from the first window's opening to the last's. A client that enters every window at once
 * scores 1; time lost entering windows (a late return after a pause) lowers it, and so does a window left part empty.
 */
export function goodputOverWindows(windows: readonly WindowCount[], { limit, windowMs }: AllowedRate): number {
  const last = windows.findLastIndex((window) => window.accepted > 0);
  if (last < 1) return NaN;
  const accepted = windows.slice(0, last).reduce((sum, window) => sum + window.accepted, 0);
  const spanMs = windows[last]!.startAt - windows[0]!.startAt;
  return accepted / ((limit * spanMs) / windowMs);
}

async function runOnce(
  createRatewise: typeof Ratewise.createRatewise,
  scenario: Scenario,
  shape: Shape,
): Promise<RunResult> {
  const peer = await scenario.start(shape);
  let answered = false;
  let rejectedAfterFirst = 0;
  const rw = createRatewise({
    fetch: async (input, init) => {
      const afterFirst = answered;
      const response = await fetch(input, init);
      answered = true;
      if (response.status === 429 && afterFirst) rejectedAfterFirst++;
      return response;
    },
  });
  try {
    const startedAt = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: shape.requests }, async (_, i) => {
        const response = await rw.fetch(`${peer.server.url}/item/${i}`);
        await response.arrayBuffer();
        return response.status;
      }),
    );
    const wallMs = performance.now() - startedAt;
    const successes = results.filter((r) => r.status === 'fulfilled' && r.value < 400).length;
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    const windows = peer.windows();
    return {
      wallMs,
      successes,
      failures,
      rejected: peer.server.hits().rejected,
      rejectedAfterFirst,
      windows,
      goodputWall: (successes * shape.windowMs) / (wallMs * shape.limit),
      goodputWindows: goodputOverWindows(windows, shape),
    };
  } finally {
    await rw.close();
    await peer.server.close();
  }
}

const percent = (fraction: number): string => (Number.isNaN(fraction) ? '–' : `${(fraction * 100).toFixed(1)}%`);

async function run({ quick }: RunContext): Promise<SectionResult> {
  const shape: Shape = quick
    ? { limit: 20, windowMs: 1_000, requests: 60, rounds: 1 }
    : { limit: 50, windowMs: 2_000, requests: 300, rounds: 3 };
  const { createRatewise } = await importCompiledRatewise();
  const runs = new Map<Scenario, RunResult[]>(scenarios.map((scenario) => [scenario, []]));
  for (let round = 0; round < shape.rounds; round++) {
    for (const scenario of scenarios) runs.get(scenario)!.push(await runOnce(createRatewise, scenario, shape));
  }

  const rows: string[][] = [];
  const failures: string[] = [];
  const medians: number[] = [];
  for (const [scenario, results] of runs) {
    // The run with the median goodput is shown whole, so that its figures belong together.
    const goodputs = results.map((r) => r.goodputWindows);
    const shown = [...results].sort((a, b) => a.goodputWindows - b.goodputWindows)[results.length >> 1]!;
    medians.push(median(goodputs));
    failures.push(...results.flatMap((r) => r.failures.map((failure) => `${scenario.label}: ${failure}`)));
    rows.push([
      scenario.label,
      formatInteger(shape.requests),
      formatInteger(shown.successes),
      (shown.wallMs / 1_000).toFixed(2),
      formatInteger(shown.rejected),
      formatInteger(shown.rejectedAfterFirst),
      shown.windows.map((window) => window.rejected).join(', '),
      percent(shown.goodputWall),
      percent(shown.goodputWindows),
      results.length > 1
        ? formatRange(
            goodputs.map((g) => g * 100),
            1,
          )
        : '–',
    ]);
  }
  const allowed = `${shape.limit} requests per ${shape.windowMs / 1_000} s`;
  const worst = Math.min(...medians);
  return {
    description:
      `${formatInteger(shape.requests)} GET requests sent at once through \`rw.fetch\` (default options: no local ` +
      `rate) to a real rate-limited server on 127.0.0.1 allowing ${allowed}, each response body read; ` +
      `${shape.rounds} run(s) per server, the run with the median goodput shown. 429s are the server's count; ` +
      '"after first response" counts those answering requests sent once the client had heard from the server. ' +
      "Per window: the 429s of each of the server's windows, in order.",
    columns: [
      'Server',
      'Requests',
      'Successes',
      'Wall s',
      '429s',
      '429s after first response',
      '429s per window',
      'Goodput (wall)',
      'Goodput (full windows)',
      'Full windows, all runs %',
    ],
    rows,
    notes: [
      `Target: goodput over full windows ≥ ${percent(TARGET_GOODPUT)}: ${percent(worst)} for the lower of the ` +
        `two medians (${worst >= TARGET_GOODPUT ? 'met' : 'not met'}).`,
      'Goodput (full windows) = requests accepted before the last window opened ÷ (allowed rate × time from the ' +
        "first window's opening to the last's). It counts whole windows only: a client that enters each window " +
        'as it opens and fills it scores 100%; time lost before re-entering a window, or a window left part ' +
        "empty, lowers it. Windows are the server's: express-rate-limit opens one at the first request after the " +
        'previous ended (reconstructed from its request log), the fixed-window server back to back from its first ' +
        'request.',
      'Goodput (wall) = successes ÷ (wall time × allowed rate), wall time from the first call to the last settled ' +
        'response. It credits the first window, served at once at time 0, and can exceed 100% for a client that ' +
        'sends each window in one burst; a client that spreads each window over its length (as ratewise does when ' +
        'the server sends its quota) scores close to the full-window figure.',
      'Against a server that sends its quota, ratewise paces each window by it and leaves `serverReserve` ' +
        '(default 1% of the limit, rounded down: none of a limit below 100) unused, and counts its requests in ' +
        'flight as spent until they are answered.',
      'The bare-429 server says nothing until it refuses, and its `Retry-After` is in whole seconds: the first ' +
        'window costs the requests in flight when the limit is reached, later windows at most one probe each.',
      ...(failures.length === 0
        ? []
        : [`Calls that failed: ${failures.length} (${[...new Set(failures)].slice(0, 3).join('; ')}).`]),
    ],
  };
}

export const goodput: Section = {
  id: 'goodput',
  title: 'Goodput against rate-limited servers',
  peers: ['express', 'express-rate-limit'],
  run,
};
