// The two measurements of the `redis` section, each one run of the worker pool on one Redis: decisions per second
// through a shared budget no run exhausts, and what a counting server admits of processes overspending one.
import { admissions } from './arrivals.js';
import type { Admissions, Bucket, CountingServer } from './arrivals.js';
import type { WorkerPool } from './pool.js';
import type { Job, JobResult, Library, OverspendJob } from './worker.js';

/**
 * Redis's tally of script calls, EVALSHA and EVAL (which the store sends when Redis lost the script), from
 * `INFO commandstats`: calls, and Redis's own time spent on them in µs. Each call is one round trip.
 */
export interface ScriptStats {
  readonly calls: number;
  readonly usec: number;
}

/** What the runs share: one Redis, one counting server, the workers. */
export interface Fixture {
  readonly redisUrl: string;
  readonly server: CountingServer;
  readonly pool: WorkerPool;
  scriptCalls(): Promise<ScriptStats>;
}

export interface DecisionsRun {
  readonly processes: number;
  readonly library: Library | undefined;
  readonly tasks: number;
  /** The sum over processes of each one's tasks ÷ its own elapsed time. */
  readonly perSecond: number;
  /** Script calls per task granted. */
  readonly roundTrips: number;
  readonly storeErrors: number;
}

export interface OverspendRun {
  readonly processes: number;
  readonly library: Library | undefined;
  readonly seen: Admissions;
  /** Script calls per request admitted. */
  readonly roundTrips: number;
  readonly storeErrors: number;
  readonly failures: readonly string[];
}

/** EVALSHA and EVAL together in `INFO commandstats`; zeros before the first call. */
export function parseScriptCalls(info: string): ScriptStats {
  let calls = 0;
  let usec = 0;
  for (const match of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+),usec=(\d+)/gm)) {
    calls += Number(match[1]);
    usec += Number(match[2]);
  }
  return { calls, usec };
}

/** Runs `jobs` (one per process) and counts the script calls Redis served meanwhile. */
async function measure(fixture: Fixture, jobs: readonly Job[]): Promise<{ results: JobResult[]; calls: number }> {
  let before: ScriptStats = { calls: 0, usec: 0 };
  const results = await fixture.pool.run(jobs, async () => {
    fixture.server.take(); // the workers' warm-up requests
    before = await fixture.scriptCalls();
  });
  return { results, calls: (await fixture.scriptCalls()).calls - before.calls };
}

export interface DecisionsOptions {
  readonly processes: number;
  readonly library: Library | undefined;
  readonly prefix: string;
  readonly rate: string;
  readonly lanes: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export async function runDecisions(fixture: Fixture, options: DecisionsOptions): Promise<DecisionsRun> {
  const { processes, library, prefix, rate, lanes, warmupMs, durationMs } = options;
  const job: Job = {
    kind: 'decisions',
    library,
    redisUrl: fixture.redisUrl,
    prefix,
    rate,
    lanes,
    warmupMs,
    durationMs,
  };
  const { results, calls } = await measure(
    fixture,
    Array.from({ length: processes }, () => job),
  );
  let tasks = 0;
  let perSecond = 0;
  let storeErrors = 0;
  for (const result of results) {
    if (result.kind !== 'decisions') throw new Error('a decisions job returned another result');
    tasks += result.tasks;
    perSecond += (result.tasks * 1_000) / result.elapsedMs;
    storeErrors += result.storeErrors;
  }
  return { processes, library, tasks, perSecond, roundTrips: calls / tasks, storeErrors };
}

/** One `rw.fetch` job per process, numbered in their request paths. */
function fetchJobs(
  fixture: Fixture,
  processes: number,
  job: Omit<OverspendJob, 'kind' | 'redisUrl' | 'worker'>,
): Job[] {
  return Array.from({ length: processes }, (_, worker) => ({
    kind: 'overspend',
    redisUrl: fixture.redisUrl,
    ...job,
    worker,
  }));
}

export interface OverspendOptions {
  readonly processes: number;
  readonly library: Library | undefined;
  readonly prefix: string;
  readonly bucket: Bucket;
  /** Requests per process, all at once. */
  readonly requests: number;
  readonly durationMs: number;
  /** The sliding window of {@link Admissions.worstWindow}. */
  readonly windowMs: number;
}

export async function runOverspend(fixture: Fixture, options: OverspendOptions): Promise<OverspendRun> {
  const { processes, library, bucket } = options;
  const { origin, host } = fixture.server;
  const jobs = fetchJobs(fixture, processes, {
    library,
    prefix: options.prefix,
    origin,
    host,
    rate: `${bucket.ratePerSecond}/s`,
    burst: bucket.burst,
    warmUp: true,
    requests: options.requests,
    durationMs: options.durationMs,
  });
  const { results, calls } = await measure(fixture, jobs);
  const seen = admissions(fixture.server.take(), bucket, options.windowMs);
  const failures: string[] = [];
  let storeErrors = 0;
  for (const result of results) {
    if (result.kind !== 'overspend') throw new Error('an overspend job returned another result');
    failures.push(...result.failures);
    storeErrors += result.storeErrors;
  }
  return { processes, library, seen, roundTrips: calls / seen.admitted, storeErrors, failures };
}

/** A rate-limited server the refusals run sends to: express-rate-limit, as test/support/servers.ts starts it. */
export interface LimitedServer {
  readonly url: string;
  readonly port: number;
  hits(): { readonly total: number; readonly rejected: number; readonly accepted: number };
  requests(): readonly { readonly receivedAt: number }[];
}

export interface RefusalsRun {
  readonly processes: number;
  readonly library: Library | undefined;
  /** Calls that ended with a response (after ratewise's retries), of all calls. */
  readonly answered: number;
  readonly calls: number;
  /** 429s the server sent. */
  readonly refused: number;
  /** From the first request the server saw to the last, in ms. */
  readonly spanMs: number;
  /** Script calls per call. */
  readonly roundTrips: number;
  readonly failures: readonly string[];
}

/**
 * `requests` calls per process at once, with no rate configured, against a real rate-limited server: how many it
 * refuses when the processes share what its headers say through the store, and when each learns alone.
 */
export async function runRefusals(
  fixture: Fixture,
  server: LimitedServer,
  options: {
    readonly processes: number;
    readonly library: Library | undefined;
    readonly prefix: string;
    readonly requests: number;
  },
): Promise<RefusalsRun> {
  const { processes, library, requests } = options;
  const origin = server.url;
  const jobs = fetchJobs(fixture, processes, {
    library,
    prefix: options.prefix,
    origin,
    host: new URL(origin).host,
    rate: undefined,
    burst: undefined,
    warmUp: false,
    requests,
    durationMs: 120_000,
  });
  const { results, calls } = await measure(fixture, jobs);
  const failures: string[] = [];
  let answered = 0;
  for (const result of results) {
    if (result.kind !== 'overspend') throw new Error('an overspend job returned another result');
    failures.push(...result.failures);
    answered += result.responses;
  }
  const seen = server.requests();
  const spanMs = seen.length < 2 ? 0 : seen.at(-1)!.receivedAt - seen[0]!.receivedAt;
  return {
    processes,
    library,
    answered,
    calls: processes * requests,
    refused: server.hits().rejected,
    spanMs,
    roundTrips: calls / (processes * requests),
    failures,
  };
}
