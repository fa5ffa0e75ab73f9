// Section: budgets shared through one local Redis by several processes: how many decisions per second they get and
// how many Redis round trips each costs, then whether processes sending far more than a shared budget allows keep
// to it together.
import os from 'node:os';
import { createClient } from 'redis';
import { startRedis } from '../../test/support/redis-server.js';
import { compileRatewise } from '../compiled.js';
import { formatInteger } from '../measure.js';
import { startCountingServer } from '../redis/arrivals.js';
import type { Bucket } from '../redis/arrivals.js';
import { WorkerPool } from '../redis/pool.js';
import { startExpressServer } from '../../test/support/servers.js';
import { parseScriptCalls, runDecisions, runOverspend, runRefusals } from '../redis/runs.js';
import type { DecisionsRun, Fixture, OverspendRun, RefusalsRun } from '../redis/runs.js';
import type { Library } from '../redis/worker.js';
import type { RunContext, Section, SectionResult } from '../report.js';

const PROCESSES = 4;
/** A rate no run comes near: every task is granted, and the figure is the cost of asking Redis. */
const DECISION_RATE = '1000000/s';
/** Tasks each process keeps waiting in `rw.schedule`. */
const LANES = 256;
/** The shared budget of the overspend runs. */
const BUCKET: Bucket = { ratePerSecond: 50, burst: 10 };
const WINDOW_MS = 1_000;
/** Admitted beyond the shared budget, as a share of it. */
const TARGET_OVERSPEND = 0;

const percent = (fraction: number): string => `${(fraction * 100).toFixed(1)}%`;
const storeLabel = (library: Library | undefined): string => library ?? 'none (local budget)';

async function run({ quick }: RunContext): Promise<SectionResult> {
  const durationMs = quick ? 300 : 3_000;
  const warmupMs = quick ? 100 : 500;
  const overspendMs = quick ? 2_000 : 4_000;
  /** Per process: twice what the whole budget allows over the run, so that no process ever runs dry. */
  const requests = 2 * (BUCKET.burst + (BUCKET.ratePerSecond * overspendMs) / 1_000);

  // Closed at the end in reverse order, whatever happens: nothing the section starts outlives it.
  const cleanups: (() => unknown)[] = [];
  try {
    // Quick runs load src through tsx: compiling takes seconds, and their figures are indicative only.
    const compiled = quick ? undefined : compileRatewise();
    if (compiled)
      cleanups.push(() => {
        compiled.dispose();
      });
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const admin = createClient({ url: redis.url });
    await admin.connect();
    cleanups.push(() => admin.close());
    const server = await startCountingServer();
    cleanups.push(() => server.close());
    const pool = new WorkerPool(PROCESSES, compiled?.dir);
    cleanups.push(() => pool.close());

    const fixture: Fixture = {
      redisUrl: redis.url,
      server,
      pool,
      scriptCalls: async () => parseScriptCalls(await admin.info('commandstats')),
    };
    let runs = 0;
    const prefix = (): string => `ratewise-bench:${++runs}:`;
    const decisions = (processes: number, library: Library | undefined): Promise<DecisionsRun> =>
      runDecisions(fixture, {
        processes,
        library,
        prefix: prefix(),
        rate: DECISION_RATE,
        lanes: LANES,
        warmupMs,
        durationMs,
      });
    const overspend = (library: Library | undefined): Promise<OverspendRun> =>
      runOverspend(fixture, {
        processes: PROCESSES,
        library,
        prefix: prefix(),
        bucket: BUCKET,
        requests,
        durationMs: overspendMs,
        windowMs: WINDOW_MS,
      });

    const decisionRuns = [
      await decisions(1, undefined),
      ...(quick ? [] : [await decisions(1, 'node-redis')]),
      await decisions(PROCESSES, 'node-redis'),
      ...(quick ? [] : [await decisions(1, 'ioredis')]),
      await decisions(PROCESSES, 'ioredis'),
    ];
    const overspendRuns = [
      await overspend('node-redis'),
      ...(quick ? [] : [await overspend('ioredis'), await overspend(undefined)]),
    ];
    // Full runs only: a few rate-limit windows each.
    const refusals = async (library: Library | undefined): Promise<RefusalsRun> => {
      const limited = await startExpressServer({
        limit: REFUSALS.limit,
        windowMs: REFUSALS.windowMs,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
      });
      try {
        return await runRefusals(fixture, limited, {
          processes: PROCESSES,
          library,
          prefix: prefix(),
          requests: REFUSALS.requests,
        });
      } finally {
        await limited.close();
      }
    };
    const refusalRuns = quick ? [] : [await refusals('node-redis'), await refusals(undefined)];
    const { calls, usec } = await fixture.scriptCalls();
    const build = compiled === undefined ? 'src through tsx' : 'tsc build';
    return report(decisionRuns, overspendRuns, refusalRuns, {
      build,
      durationMs,
      overspendMs,
      requests,
      usecPerCall: usec / calls,
    });
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

interface Shape {
  /** How the workers loaded ratewise. */
  readonly build: string;
  readonly durationMs: number;
  readonly overspendMs: number;
  readonly requests: number;
  /** Redis's own time per script call, over the whole section. */
  readonly usecPerCall: number;
}

/** The refusals runs: express-rate-limit with draft-8 headers, and each process's calls, with no rate configured. */
const REFUSALS = { limit: 50, windowMs: 2000, requests: 75 } as const;

function refusalNote(runs: readonly RefusalsRun[]): string[] {
  if (runs.length === 0) return [];
  const line = (run: RefusalsRun): string =>
    `${storeLabel(run.library)}: ${formatInteger(run.answered)} of ${formatInteger(run.calls)} answered, ` +
    `${formatInteger(run.refused)} refused, ${(run.spanMs / 1000).toFixed(1)} s` +
    (run.library === undefined ? '' : `, ${run.roundTrips.toFixed(2)} round trips per call`) +
    (run.failures.length === 0 ? '' : `, ${run.failures.length} failed`);
  return [
    `No rate configured, ${PROCESSES} processes × ${REFUSALS.requests} calls at once against express-rate-limit ` +
      `(draft-8 headers, ${REFUSALS.limit} per ${REFUSALS.windowMs / 1000} s): ${runs.map(line).join('; ')}. ` +
      'With the store the processes share what the headers say (the count left, with what was granted since ' +
      'subtracted); without it each learns alone.',
  ];
}

function report(
  decisions: readonly DecisionsRun[],
  overspends: readonly OverspendRun[],
  refusals: readonly RefusalsRun[],
  shape: Shape,
): SectionResult {
  const rows = [
    ...decisions.map((run) => [
      `decisions, \`rate: '${DECISION_RATE}'\``,
      String(run.processes),
      storeLabel(run.library),
      formatInteger(run.tasks),
      formatInteger(run.perSecond),
      run.library === undefined ? '–' : run.roundTrips.toFixed(3),
      '–',
      '–',
      '–',
      '–',
      '–',
    ]),
    ...overspends.map(({ processes, library, seen, roundTrips }) => [
      `overspend, \`rate: '${BUCKET.ratePerSecond}/s', burst: ${BUCKET.burst}\``,
      String(processes),
      storeLabel(library),
      formatInteger(seen.admitted),
      seen.spanMs > 0 ? ((seen.admitted * 1_000) / seen.spanMs).toFixed(1) : '–',
      library === undefined ? '–' : roundTrips.toFixed(2),
      seen.allowed.toFixed(1),
      percent(seen.overspend),
      seen.peakExcess.toFixed(2),
      `${seen.worstWindow} of ${seen.allowedPerWindow}`,
      percent(seen.goodput),
    ]),
  ];
  const local = decisions.find((run) => run.library === undefined);
  const shared = overspends.filter((run) => run.library !== undefined);
  const worst = Math.max(...shared.map((run) => run.seen.overspend));
  const peak = Math.max(...shared.map((run) => run.seen.peakExcess));
  const worstWindow = Math.max(...shared.map((run) => run.seen.worstWindow / run.seen.allowedPerWindow - 1), 0);
  const storeErrors = [...decisions, ...overspends].reduce((sum, run) => sum + run.storeErrors, 0);
  const failures = overspends.flatMap((run) => run.failures);
  return {
    description:
      `Each process is its own Node process with its own ratewise client (${shape.build}) and Redis connection, all ` +
      'on one local `redis-server` (no persistence) through `redisStore(client, { prefix })`. Decisions: each ' +
      `process keeps ${LANES} no-op tasks waiting in \`rw.schedule(() => undefined, { key: 'shared' })\` on one ` +
      `shared budget whose rate no run reaches, for ${shape.durationMs / 1_000} s after a warm-up; per second is ` +
      'the sum over processes. Overspend: each process sends ' +
      `${formatInteger(shape.requests)} GETs at once through \`rw.fetch\` to one counting server on 127.0.0.1 ` +
      `sharing one budget, and aborts what is left after ${shape.overspendMs / 1_000} s; the server records every ` +
      'arrival. Round trips are the script calls (EVALSHA, and EVAL) counted by Redis (`INFO commandstats`) during the run, per ' +
      'granted task or admitted request.',
    columns: [
      'Measure',
      'Processes',
      'Store client',
      'Granted',
      'Per second',
      'Round trips per grant',
      'Allowed',
      'Overspend',
      'Peak excess',
      'Most in 1 s',
      'Goodput',
    ],
    rows,
    notes: [
      ...refusalNote(refusals),
      `Target: overspend across processes ${percent(TARGET_OVERSPEND)}: worst ${percent(worst)}, peak excess ` +
        `${peak.toFixed(2)} requests (${peak < 1 ? 'met' : 'not met'}: no arrival beyond the bound by a whole ` +
        'request); the busiest 1 s window ' +
        (worstWindow > 0 ? `held ${percent(worstWindow)} more than the bucket allows in one.` : 'kept within it.'),
      'Allowed = burst + rate × the time from the first arrival to the last; overspend = max(0, admitted − ' +
        'allowed) ÷ allowed; peak excess = the most requests beyond burst + rate × (time since the first arrival) ' +
        'at any arrival; goodput = admitted ÷ allowed. "Most in 1 s": the most arrivals in any 1 s from an ' +
        `arrival, of the burst + one second of rate (${BUCKET.burst + BUCKET.ratePerSecond}) a bucket allows.`,
      'Measured at the server, the bound is blurred: Redis starts the bucket when it grants the first request, ' +
        'which arrives some ms later (the grant travels back, the worker sends, the server reads), and later ' +
        `arrivals lag their grants by more or less than that one did; at ${BUCKET.ratePerSecond}/s each 20 ms of ` +
        'difference is one request. A few ms on an idle machine; on one whose cores are all busy, tens of ms, and ' +
        'the peak excess can pass one request without any overspend. Each worker opens its connections before ' +
        'the run, so that the first arrival is not late by the loading of `fetch`.',
      ...(local === undefined
        ? []
        : [
            `Without a store one process decides locally ${formatInteger(local.perSecond)} times per second: the ` +
              'shared figures are the cost of one atomic Redis script per batch of grants.',
          ]),
      'A budget asks Redis for a batch when tasks wait (what its rate refills in 100 ms, at most 16), one call at ' +
        'a time: at least 1/16 = 0.063 round trips per grant for the decisions runs, up to 5 requests per call at ' +
        '50/s, and one at 10/s or less: one per request (80 requests, 80 calls, in one process at 5/s and 10/s). ' +
        'Here each run ends by aborting what is still queued, and the reservations those requests held were calls ' +
        'without a request: at 10/s or less that puts round trips per request slightly above 1.',
      `Redis spent ${shape.usecPerCall.toFixed(1)} µs per script call (its own time, from \`INFO commandstats\`). ` +
        `${PROCESSES} workers, the runner and Redis share ${os.availableParallelism()} available cores: on fewer ` +
        'cores than processes the decision rates measure CPU contention as much as Redis.',
      ...(storeErrors === 0 ? [] : [`\`storeError\` events (store failed or slower than 250 ms): ${storeErrors}.`]),
      ...(failures.length === 0
        ? []
        : [`Calls that failed: ${failures.length} (${[...new Set(failures)].slice(0, 3).join('; ')}).`]),
    ],
  };
}

export const redis: Section = {
  id: 'redis',
  title: 'Budgets shared through Redis',
  peers: ['redis', 'ioredis'],
  run,
};
