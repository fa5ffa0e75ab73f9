// Section: routes that count apart on one host (issue 14). 300 calls at once, half to a strict route and half to a
// loose one of one express-rate-limit server (draft-8, a limiter per route), through ratewise learning the routes
// from the policy names, ratewise keyed per host, and ky and got retrying; each half scored by its own route's
// efficiency.
import { runTogether } from '../child.js';
import { compileRatewise } from '../compiled.js';
import { formatInteger, median } from '../measure.js';
import type { RunContext, Section, SectionResult } from '../report.js';
import { routeFastestMs, routesClients, routesShape } from './routes-cases.js';
import type { RouteRun, RoutesClient, RoutesRun, RouteShape } from './routes-cases.js';
import type { RoutesInput } from './routes-probe.js';

const PROBE = new URL('./routes-probe.ts', import.meta.url);

/** Timed runs of each pair in a full run: the figures are their medians. */
const RUNS = 3;

interface Row {
  readonly client: RoutesClient;
  readonly runs: RoutesRun[];
}

interface HalfFigures {
  readonly wallMs: number;
  readonly efficiency: number;
  readonly refused: number;
  readonly refusedAfterFirstAnswer: number;
  readonly lost: number;
  readonly cutOff: number;
}

function halfFigures(runs: readonly RouteRun[], route: RouteShape): HalfFigures {
  const wallMs = median(runs.map((run) => run.wallMs));
  return {
    wallMs,
    efficiency: routeFastestMs(route) / wallMs,
    refused: median(runs.map((run) => run.refused)),
    refusedAfterFirstAnswer: Math.max(...runs.map((run) => run.refusedAfterFirstAnswer)),
    lost: runs.reduce((sum, run) => sum + run.lost, 0),
    cutOff: runs.reduce((sum, run) => sum + run.cutOff, 0),
  };
}

const seconds = (ms: number): string => (ms / 1_000).toFixed(2);
const count = (value: number): string => (Number.isInteger(value) ? formatInteger(value) : value.toFixed(1));

async function run({ quick }: RunContext): Promise<SectionResult> {
  const shape = routesShape(quick);
  const compiled = compileRatewise();
  const rows: Row[] = routesClients.map((client) => ({ client, runs: [] }));
  try {
    // ratewise's pairs together, then the peers' together, so that the peers' retry storms do not share the cores
    // with ratewise's measurement.
    const groups = [rows.filter((row) => row.client.ratewise), rows.filter((row) => !row.client.ratewise)];
    const timed = quick ? 1 : RUNS;
    for (let round = 0; round < timed; round++) {
      for (const group of groups) {
        process.stderr.write(
          `routes: run ${String(round + 1)} of ${String(timed)}: ${group.map((row) => row.client.id).join(', ')}\n`,
        );
        const inputs = group.map((row): RoutesInput => ({ client: row.client.id, quick, build: compiled.dir }));
        const outputs = await runTogether<RoutesRun>(PROBE, inputs);
        for (const [index, row] of group.entries()) row.runs.push(outputs[index]!);
      }
    }
  } finally {
    compiled.dispose();
  }

  const halves = [
    ['strict', shape.strict],
    ['loose', shape.loose],
  ] as const;
  const table = rows.flatMap((row) =>
    halves.map(([which, route]) => {
      const f = halfFigures(
        row.runs.map((r) => r[which]),
        route,
      );
      return [
        row.client.label,
        `${route.path}: ${String(route.limit)} per ${seconds(route.windowMs)} s`,
        formatInteger(route.calls),
        seconds(f.wallMs),
        seconds(routeFastestMs(route)),
        f.lost + f.cutOff > 0 ? `(${f.efficiency.toFixed(2)})` : f.efficiency.toFixed(2),
        count(f.refused),
        formatInteger(f.refusedAfterFirstAnswer),
        formatInteger(f.lost),
        formatInteger(f.cutOff),
      ];
    }),
  );

  const learnt = rows.find((row) => row.client.id === 'ratewise')!;
  const figures = halves.map(([which, route]) => ({
    which,
    f: halfFigures(
      learnt.runs.map((r) => r[which]),
      route,
    ),
  }));
  const met = figures.every(
    ({ f }) => f.efficiency >= 0.95 && f.refusedAfterFirstAnswer === 0 && f.lost + f.cutOff === 0,
  );
  const target =
    'Target: each half finishes with efficiency ≥ 0.95 of its own route’s limit, 0 refused after the first ' +
    `answers — ${met ? 'target met' : 'target not met'} (` +
    figures
      .map(
        ({ which, f }) =>
          `${which} ${f.efficiency.toFixed(2)}, ${String(f.refusedAfterFirstAnswer)} refused after the first answer`,
      )
      .join('; ') +
    ').';

  return {
    description:
      `${String(shape.strict.calls + shape.loose.calls)} GET calls started at once, interleaved: half to a strict ` +
      `route (${String(shape.strict.limit)} per ${seconds(shape.strict.windowMs)} s) and half to a loose one ` +
      `(${String(shape.loose.limit)} per ${seconds(shape.loose.windowMs)} s) of one express-rate-limit server ` +
      '(draft-8, a limiter of its own on each route, named by its limit and window), on 127.0.0.1. ratewise (tsc ' +
      'build) with no rate set, learning the routes from the policy names (the default) and keyed per host ' +
      '(`maxRoutes: 0`, one budget for the host as before); ky and got retrying 429 up to 10 times. Each pair runs ' +
      'in its own process against its own fresh server; the ratewise pairs at the same time, then the peers’. ' +
      (quick ? 'Quick run: smaller N, one run: indicative only.' : `Medians of ${String(RUNS)} runs.`),
    columns: [
      'Client',
      'Route',
      'N',
      'Wall s',
      'Fastest s',
      'Efficiency',
      'Refused',
      'Refused after first answer',
      'Calls lost',
      'Cut off',
    ],
    rows: table,
    notes: [
      target,
      'Wall: from the start to the last settled call of the route. Efficiency = the fastest finish the route’s ' +
        'own limit allows, (ceil(N / L) − 1) × W, ÷ that wall time. Refused after first answer: the route’s ' +
        'refused requests that reached the server after it had answered the route’s first (server clock), the ' +
        'worst of all runs. Calls lost: failed although the server only throttled; cut off: still going at the ' +
        `deadline (${seconds(shape.deadlineMs)} s), aborted by the harness; both summed over the runs. An ` +
        'efficiency in parentheses: calls were lost or cut off.',
    ],
  };
}

export const routes: Section = {
  id: 'routes',
  title: 'Routes that count apart on one host',
  peers: ['express', 'express-rate-limit', 'got', 'ky'],
  run,
};
