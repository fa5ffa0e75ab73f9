// Child process of the `redis` and `redis-far` sections (see pool.ts): one process with its own ratewise client and
// Redis connection. Run as `node --import tsx worker.ts [build dir]` through fork() (an IPC channel is required). For
// each job it is told to `prepare` (connect, create the client, warm up), says `prepared`, waits for `go`, runs the
// job and sends its result; `exit` closes everything and leaves.
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import type * as Ratewise from '../../src/index.js';
import type * as RatewiseRedis from '../../src/store/redis.js';

/** The Redis client libraries a worker can share budgets with; `undefined` in a job means no store at all. */
export type Library = 'node-redis' | 'ioredis';

/** Tasks through `rw.schedule` on one budget with a rate high enough never to make a task wait. */
export interface DecisionsJob {
  readonly kind: 'decisions';
  readonly library: Library | undefined;
  readonly redisUrl: string;
  readonly prefix: string;
  readonly rate: string;
  /** Tasks kept waiting at once: each settled task is replaced by the next. */
  readonly lanes: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** `requests` GETs at once through `rw.fetch` to one host, all aborted `durationMs` after `go`. */
export interface OverspendJob {
  readonly kind: 'overspend';
  readonly library: Library | undefined;
  readonly redisUrl: string;
  readonly prefix: string;
  readonly origin: string;
  /** The budget pattern: the origin's `host:port`. */
  readonly host: string;
  /** The budget's rate and burst; none: the client paces by the server's headers alone. */
  readonly rate: string | undefined;
  readonly burst: number | undefined;
  /** Whether to open connections with plain fetch first (not against a rate-limited server: it would count them). */
  readonly warmUp: boolean;
  readonly requests: number;
  readonly durationMs: number;
  /** This worker's number, in the request paths. */
  readonly worker: number;
}

/**
 * `loops` loops through `rw.fetch` to one host, each sending one request at a time (the next `gapMs` after the last
 * settled), for `durationMs` after `go`; what is still waiting then is aborted. Each call is tracked until it settles.
 */
export interface LoopsJob {
  readonly kind: 'loops';
  readonly library: Library;
  readonly redisUrl: string;
  readonly prefix: string;
  readonly origin: string;
  /** The budget pattern: the origin's `host:port`. */
  readonly host: string;
  readonly rate: string;
  readonly burst: number;
  /** Whether the store gets a second connection in subscriber mode (pauses pushed, rate leases). */
  readonly subscriber: boolean;
  readonly loops: number;
  readonly gapMs: number;
  readonly durationMs: number;
  /** How long after the end a call may take to settle before the run is reported with it unsettled. */
  readonly settleGraceMs: number;
  /** This worker's number, in the request paths. */
  readonly worker: number;
}

export type Job = DecisionsJob | OverspendJob | LoopsJob;

export type JobResult =
  | { readonly kind: 'decisions'; readonly tasks: number; readonly elapsedMs: number; readonly storeErrors: number }
  | {
      readonly kind: 'overspend';
      /** Responses received (any status), requests aborted at the end, and calls that failed otherwise. */
      readonly responses: number;
      readonly aborted: number;
      readonly failures: readonly string[];
      readonly storeErrors: number;
    }
  | {
      readonly kind: 'loops';
      /** Calls made; of them, settled (a response, an abort at the end, or another failure) within the grace. */
      readonly started: number;
      readonly settled: number;
      readonly responses: number;
      /** Responses whose status was not 2xx. */
      readonly notOk: number;
      readonly aborted: number;
      readonly failures: readonly string[];
      /** From each call to its response, in ms, for the calls answered. */
      readonly latenciesMs: readonly number[];
      readonly storeErrors: number;
      readonly storeRecovered: number;
      /** `rw.stats()`'s store figures at the end of the run, before the client closed. */
      readonly store: { readonly rttMs: number | undefined; readonly clients: number | undefined } | undefined;
    };

export type ToWorker = { readonly type: 'prepare'; readonly job: Job } | { readonly type: 'go' | 'exit' };
export type FromWorker =
  | { readonly type: 'prepared' }
  | { readonly type: 'result'; readonly result: JobResult }
  | { readonly type: 'failed'; readonly error: string };

interface Connection {
  readonly client: RatewiseRedis.NodeRedisLike | RatewiseRedis.IoRedisLike;
  /** The subscriber connection, when asked for. */
  readonly subscriber: RatewiseRedis.NodeRedisSubscriberLike | RatewiseRedis.IoRedisSubscriberLike | undefined;
  close(): Promise<void>;
}

/** A job made ready to start: `run` starts it at once, and closes its client and connection once done. */
interface Prepared {
  run(): Promise<JobResult>;
  /** Closes the client and connection of a job that will not run. */
  dispose(): Promise<void>;
}

const send = process.send?.bind(process);
if (send === undefined) throw new Error('bench/redis/worker.ts runs as a forked child, with an IPC channel');
const reply = (message: FromWorker): Promise<void> =>
  new Promise((resolve, reject) => {
    send(message, undefined, undefined, (error) => {
      if (error) reject(error);
      else resolve();
    });
  });

// The engine as tsc emits it (bench/compiled.ts), like the other sections that time it; src through tsx when no
// build is given (quick runs, which skip the compilation).
const build = process.argv[2];
const moduleOf = (path: string): string =>
  build === undefined
    ? new URL(`../../src/${path.replace(/\.js$/, '.ts')}`, import.meta.url).href
    : pathToFileURL(join(build, path)).href;
const { createRatewise } = (await import(moduleOf('index.js'))) as typeof Ratewise;
const { redisStore } = (await import(moduleOf('store/redis.js'))) as typeof RatewiseRedis;

async function connect(library: Library, url: string, withSubscriber: boolean): Promise<Connection> {
  if (library === 'node-redis') {
    const client = createClient({ url });
    await client.connect();
    const subscriber = withSubscriber ? client.duplicate() : undefined;
    await subscriber?.connect();
    return {
      client,
      subscriber,
      close: async () => {
        await Promise.all([client.close(), subscriber?.close()]);
      },
    };
  }
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  const subscriber = withSubscriber ? client.duplicate() : undefined;
  return {
    client,
    subscriber,
    close: async () => {
      await Promise.all([client.quit(), subscriber?.quit()]);
    },
  };
}

/** The client of a job, with the store when the job has a library; `dispose` closes both. */
async function clientFor(
  job: Job,
  budgets: Ratewise.RatewiseOptions['budgets'],
): Promise<{
  rw: Ratewise.Ratewise;
  storeErrors: () => number;
  storeRecovered: () => number;
  dispose: () => Promise<void>;
}> {
  const withSubscriber = job.kind === 'loops' && job.subscriber;
  const connection = job.library === undefined ? undefined : await connect(job.library, job.redisUrl, withSubscriber);
  const rw = createRatewise({
    ...(connection && {
      store: redisStore(connection.client, { prefix: job.prefix, subscriber: connection.subscriber }),
    }),
    ...(budgets && { budgets }),
  });
  let storeErrors = 0;
  let storeRecovered = 0;
  rw.on('storeError', () => storeErrors++);
  rw.on('storeRecovered', () => storeRecovered++);
  return {
    rw,
    storeErrors: () => storeErrors,
    storeRecovered: () => storeRecovered,
    dispose: async () => {
      await rw.close();
      await connection?.close();
    },
  };
}

const noop = (): undefined => undefined;
/** Connections each overspend worker opens to the server before it starts: as many as its first batch sends. */
const WARM_CONNECTIONS = 5;

async function prepareDecisions(job: DecisionsJob): Promise<Prepared> {
  const { rw, storeErrors, dispose } = await clientFor(job, { shared: { rate: job.rate } });
  const options = { key: 'shared' };
  /** Keeps `lanes` tasks waiting until `ms` have passed; resolves with the tasks run and the time taken. */
  const drive = async (ms: number): Promise<{ tasks: number; elapsedMs: number }> => {
    const startedAt = performance.now();
    const endAt = startedAt + ms;
    let tasks = 0;
    const lane = async (): Promise<void> => {
      while (performance.now() < endAt) {
        await rw.schedule(noop, options);
        tasks++;
      }
    };
    await Promise.all(Array.from({ length: job.lanes }, lane));
    return { tasks, elapsedMs: performance.now() - startedAt };
  };
  // Warm-up: the script loaded into Redis, the connection open, every path compiled.
  await drive(job.warmupMs);
  const errorsBefore = storeErrors();
  return {
    run: async () => {
      try {
        const { tasks, elapsedMs } = await drive(job.durationMs);
        return { kind: 'decisions', tasks, elapsedMs, storeErrors: storeErrors() - errorsBefore };
      } finally {
        await dispose();
      }
    },
    dispose,
  };
}

async function prepareOverspend(job: OverspendJob): Promise<Prepared> {
  const budgets = job.rate === undefined ? undefined : { [job.host]: { rate: job.rate, burst: job.burst ?? 1 } };
  const { rw, storeErrors, dispose } = await clientFor(job, budgets);
  // Warm-up outside the budget (the parent drops these arrivals): fetch loaded and a few connections open. The
  // first fetch of a process loads undici and may take tens of ms; without this, the first arrival would come late
  // and every bound measured from it would be too tight by that delay × the rate.
  await warmUp(job.origin, job.worker, job.warmUp ? WARM_CONNECTIONS : 0);
  return {
    run: async () => {
      const controller = new AbortController();
      const { signal } = controller;
      const timer = setTimeout(() => {
        controller.abort();
      }, job.durationMs);
      let responses = 0;
      let aborted = 0;
      const failures: string[] = [];
      try {
        await Promise.all(
          Array.from({ length: job.requests }, async (_, i) => {
            try {
              const response = await rw.fetch(`${job.origin}/w${job.worker}/${i}`, { signal });
              await response.arrayBuffer();
              responses++;
            } catch (error) {
              if (signal.aborted) aborted++;
              else failures.push(String(error));
            }
          }),
        );
        return { kind: 'overspend', responses, aborted, failures, storeErrors: storeErrors() };
      } finally {
        clearTimeout(timer);
        await dispose();
      }
    },
    dispose,
  };
}

async function prepareLoops(job: LoopsJob): Promise<Prepared> {
  const { rw, storeErrors, storeRecovered, dispose } = await clientFor(job, {
    [job.host]: { rate: job.rate, burst: job.burst },
  });
  // As in the overspend job: fetch loaded and connections open before the run (the parent drops these arrivals).
  await warmUp(job.origin, job.worker, Math.min(job.loops, WARM_CONNECTIONS));
  return {
    run: async () => {
      const controller = new AbortController();
      const { signal } = controller;
      let started = 0;
      let settled = 0;
      let responses = 0;
      let notOk = 0;
      let aborted = 0;
      const failures: string[] = [];
      const latenciesMs: number[] = [];
      const call = async (path: string): Promise<void> => {
        started++;
        const sentAt = performance.now();
        try {
          const response = await rw.fetch(`${job.origin}${path}`, { signal });
          await response.arrayBuffer();
          latenciesMs.push(performance.now() - sentAt);
          responses++;
          if (!response.ok) notOk++;
        } catch (error) {
          if (signal.aborted) aborted++;
          else failures.push(String(error));
        } finally {
          settled++;
        }
      };
      // A function, so that each read sees the signal as it is after the awaits.
      const stopped = (): boolean => signal.aborted;
      const loop = async (lane: number): Promise<void> => {
        for (let i = 0; !stopped(); i++) {
          await call(`/w${job.worker}/l${lane}/${i}`);
          if (job.gapMs > 0 && !stopped()) await delay(job.gapMs, signal);
        }
      };
      const timer = setTimeout(() => {
        controller.abort();
      }, job.durationMs);
      let grace: NodeJS.Timeout | undefined;
      try {
        // A call that never settles must not hang the bench: past the grace, it is reported as unsettled.
        await Promise.race([
          Promise.all(Array.from({ length: job.loops }, (_, lane) => loop(lane))),
          new Promise((resolve) => (grace = setTimeout(resolve, job.durationMs + job.settleGraceMs))),
        ]);
        const store = rw.stats().find((budget) => budget.pattern === job.host)?.store;
        return {
          kind: 'loops',
          started,
          settled,
          responses,
          notOk,
          aborted,
          failures,
          latenciesMs,
          storeErrors: storeErrors(),
          storeRecovered: storeRecovered(),
          store: store && { rttMs: store.rttMs, clients: store.clients },
        };
      } finally {
        clearTimeout(timer);
        clearTimeout(grace);
        await dispose();
      }
    },
    dispose,
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

let prepared: Prepared | undefined;

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'prepare':
      prepared = await (message.job.kind === 'decisions'
        ? prepareDecisions(message.job)
        : message.job.kind === 'overspend'
          ? prepareOverspend(message.job)
          : prepareLoops(message.job));
      await reply({ type: 'prepared' });
      return;
    case 'go': {
      const job = prepared;
      prepared = undefined;
      if (job === undefined) throw new Error('`go` before `prepare`');
      await reply({ type: 'result', result: await job.run() });
      return;
    }
    case 'exit':
      await prepared?.dispose();
      process.disconnect();
      return;
  }
}

process.on('message', (message: ToWorker) => {
  handle(message).catch(async (error: unknown) => {
    await reply({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  });
});

/** Opens `connections` connections to the server with requests it drops from its counts (`/warm-up/…`). */
async function warmUp(origin: string, worker: number, connections: number): Promise<void> {
  await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      const response = await fetch(`${origin}/warm-up/w${worker}/${i}`);
      await response.arrayBuffer();
    }),
  );
}
