// The runs of the `redis-far` section: processes sharing one budget through a real Redis behind a latency proxy
// (test/support/latency-proxy.ts), under light or heavy load, the proxy optionally stalled for a while mid-run. What
// the counting server saw is checked against the budget; the proxy counts the script calls the workers sent.
import { performance } from 'node:perf_hooks';
import type { LatencyProxy } from '../../test/support/latency-proxy.js';
import { admissions } from './arrivals.js';
import type { Admissions, Bucket, CountingServer } from './arrivals.js';
import type { WorkerPool } from './pool.js';
import type { Job, JobResult } from './worker.js';

/** What the runs share: one proxy in front of one Redis, one counting server, the workers. */
export interface FarFixture {
  readonly proxy: LatencyProxy;
  readonly server: CountingServer;
  readonly pool: WorkerPool;
}

/** One request at a time per process, with a gap after each; or several loops per process, back to back. */
export interface Load {
  readonly label: 'light' | 'heavy';
  readonly loops: number;
  readonly gapMs: number;
}

/** The proxy holds every packet both ways from `atMs` after `go` for `forMs`, then lets them through. */
export interface Stall {
  readonly atMs: number;
  readonly forMs: number;
}

export interface FarOptions {
  readonly processes: number;
  /** The proxy's delay each way: the round trip grows by twice this. */
  readonly delayMs: number;
  readonly load: Load;
  readonly bucket: Bucket;
  readonly prefix: string;
  readonly durationMs: number;
  /** The sliding window of {@link Admissions.worstWindow}. */
  readonly windowMs: number;
  readonly stall?: Stall | undefined;
}

/** What the server admitted while the proxy was stalled, against the budget over that time. */
export interface StallSeen {
  /** performance.now() when the proxy stalled and when it resumed. */
  readonly from: number;
  readonly to: number;
  readonly admitted: number;
  /** `burst + rate × (to − from)`. */
  readonly budget: number;
}

export interface FarRun {
  readonly processes: number;
  readonly delayMs: number;
  readonly load: Load;
  readonly seen: Admissions;
  /** EVAL and EVALSHA commands the proxy passed during the run. */
  readonly scriptCalls: number;
  /** The mean over processes of `rw.stats()`'s smoothed store round trip at the end of the run. */
  readonly measuredRttMs: number | undefined;
  /** The most live clients any process had heard of at the end. */
  readonly clients: number | undefined;
  readonly latenciesMs: readonly number[];
  readonly started: number;
  readonly settled: number;
  readonly notOk: number;
  readonly failures: readonly string[];
  readonly storeErrors: number;
  readonly storeRecovered: number;
  readonly stall: StallSeen | undefined;
}

/** How long after the end of a run a call may take to settle before the run is reported with it unsettled. */
export const SETTLE_GRACE_MS = 15_000;

const scriptCalls = (proxy: LatencyProxy): number =>
  proxy.commands().filter(([name]) => name === 'EVAL' || name === 'EVALSHA').length;

export async function runFar(fixture: FarFixture, options: FarOptions): Promise<FarRun> {
  const { proxy, server, pool } = fixture;
  const { processes, delayMs, load, bucket, stall } = options;
  // Before the workers connect: every command they send, the connection's own included, pays the round trip.
  proxy.delay(delayMs);
  const jobs: Job[] = Array.from({ length: processes }, (_, worker) => ({
    kind: 'loops',
    library: 'node-redis',
    redisUrl: proxy.url,
    prefix: options.prefix,
    origin: server.origin,
    host: server.host,
    rate: `${bucket.ratePerSecond}/s`,
    burst: bucket.burst,
    subscriber: true,
    loops: load.loops,
    gapMs: load.gapMs,
    durationMs: options.durationMs,
    settleGraceMs: SETTLE_GRACE_MS,
    worker,
  }));
  let callsBefore = 0;
  let stallFrom = NaN;
  let stallTo = NaN;
  const timers: NodeJS.Timeout[] = [];
  let results: JobResult[];
  try {
    results = await pool.run(jobs, () => {
      server.take(); // the workers' warm-up requests
      callsBefore = scriptCalls(proxy);
      if (stall !== undefined) {
        timers.push(
          setTimeout(() => {
            stallFrom = performance.now();
            proxy.stall();
          }, stall.atMs),
          setTimeout(() => {
            stallTo = performance.now();
            proxy.resume();
          }, stall.atMs + stall.forMs),
        );
      }
      return Promise.resolve();
    });
  } finally {
    for (const timer of timers) clearTimeout(timer);
    proxy.resume();
  }
  const calls = scriptCalls(proxy) - callsBefore;
  const arrivals = server.take();
  const seen = admissions(arrivals, bucket, options.windowMs);

  let started = 0;
  let settled = 0;
  let notOk = 0;
  let storeErrors = 0;
  let storeRecovered = 0;
  const failures: string[] = [];
  const latenciesMs: number[] = [];
  const rtts: number[] = [];
  let clients: number | undefined;
  for (const result of results) {
    if (result.kind !== 'loops') throw new Error('a loops job returned another result');
    started += result.started;
    settled += result.settled;
    notOk += result.notOk;
    storeErrors += result.storeErrors;
    storeRecovered += result.storeRecovered;
    failures.push(...result.failures);
    latenciesMs.push(...result.latenciesMs);
    if (result.store?.rttMs !== undefined) rtts.push(result.store.rttMs);
    if (result.store?.clients !== undefined) clients = Math.max(clients ?? 0, result.store.clients);
  }
  return {
    processes,
    delayMs,
    load,
    seen,
    scriptCalls: calls,
    measuredRttMs: rtts.length === 0 ? undefined : rtts.reduce((sum, rtt) => sum + rtt, 0) / rtts.length,
    clients,
    latenciesMs,
    started,
    settled,
    notOk,
    failures,
    storeErrors,
    storeRecovered,
    stall:
      stall === undefined
        ? undefined
        : {
            from: stallFrom,
            to: stallTo,
            admitted: arrivals.filter((at) => at >= stallFrom && at < stallTo).length,
            budget: bucket.burst + (bucket.ratePerSecond * (stallTo - stallFrom)) / 1_000,
          },
  };
}
