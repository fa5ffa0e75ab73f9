// Child process of the `scheduling` section (see bench/child.ts): times N no-op tasks through each runner.
import Bottleneck from 'bottleneck';
import PQueue from 'p-queue';
import pThrottle from 'p-throttle';
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRatewise as createRatewiseFromSource } from '../../src/index.js';
import { collectGarbage, probeInput, probeOutput } from '../child.js';
import { importRatewise } from '../build-imports.js';

export interface SchedulingInput {
  readonly quick: boolean;
  /** Where the parent's `compileRatewise()` wrote the tsc build. */
  readonly build: string;
}

/** One runner's timings: µs per task in each round, in round order. */
export interface CaseTimings {
  readonly id: CaseId;
  readonly tasks: number;
  readonly microsPerTask: readonly number[];
}

export interface SchedulingOutput {
  readonly rounds: number;
  /** Untimed rounds before them. */
  readonly warmRounds: number;
  /** The cap of the `-c8` cases. */
  readonly concurrency: number;
  /** Calls at a time in the `-batched` cases. */
  readonly batch: number;
  readonly cases: readonly CaseTimings[];
}

export type CaseId =
  | 'promise-all'
  | 'rw-schedule'
  | 'rw-schedule-new'
  | 'rw-schedule-tsx'
  | 'p-queue'
  | 'p-throttle'
  | 'bottleneck'
  | 'fetch-bare'
  | 'rw-fetch'
  | 'fetch-bare-batched'
  | 'rw-fetch-batched'
  | 'rw-schedule-c8'
  | 'p-queue-c8'
  | 'bottleneck-c8';

type Task = () => Promise<void>;

/** Every task started in one loop and awaited together, on a runner made outside the timing. */
interface Runner {
  /** Untimed, before `run`: brings the runner to its steady state. */
  prepare?(): Promise<void>;
  run(tasks: readonly Task[]): Promise<unknown>;
  dispose?(): Promise<void>;
}

interface Case {
  readonly id: CaseId;
  /** Tasks per timed run. */
  readonly tasks: number;
  /**
   * A new runner for every run, disposed of after it. Otherwise one runner serves every run of the case, as an
   * application keeps its client or queue, and is disposed of at the end.
   */
  readonly fresh?: boolean;
  make(): Runner;
}

const CONCURRENCY = 8;
/** Untimed rounds of every runner before the timed ones (see the warm-up below). */
const WARM_ROUNDS = 3;
/** Calls at a time of the batched fetch cases: what an application fanning out over a list might keep in flight. */
const BATCH = 100;
/** Where the no-op fetch "sends" rw.fetch's requests: one URL, never contacted. */
const NOOP_URL = 'http://127.0.0.1:9/noop';
/** The batched cases' URLs: one resource each, with a query, as an API client's calls look. */
const itemUrl = (i: number): string => `http://127.0.0.1:9/items/${i}?page=2&per_page=50`;

const noopTask: Task = async () => {};
const noopFetch: typeof fetch = () => Promise.resolve(new Response(null));

async function measure({ quick, build }: SchedulingInput): Promise<SchedulingOutput> {
  // Each ratewise case runs a copy of the build of its own, as an application that makes only those calls would:
  // sharing one, the cases' different tickets and budgets made its hot functions polymorphic, and each case was
  // timed with the others' type feedback in its inline caches (rw.schedule cost up to twice as much).
  type Make = typeof createRatewiseFromSource;
  const own = async (id: CaseId): Promise<Make> => {
    // Inside the build, so that its disposal removes it: entry by entry (a directory cannot be copied into itself).
    const dir = join(build, 'cases', id);
    for (const entry of readdirSync(build)) {
      if (entry !== 'cases') cpSync(join(build, entry), join(dir, entry), { recursive: true });
    }
    return (await importRatewise(dir)).createRatewise;
  };
  const forSchedule = await own('rw-schedule');
  const forScheduleNew = await own('rw-schedule-new');
  const forFetch = await own('rw-fetch');
  const forFetchBatched = await own('rw-fetch-batched');
  const forCapped = await own('rw-schedule-c8');
  const n = quick ? 10_000 : 100_000;
  // bottleneck's default mode waits on a timer for every job (~1-3 ms each): a handful of tasks tells its cost.
  const nBottleneck = quick ? 100 : 500;
  const rounds = quick ? 3 : 5;

  const ratewise = (make: Make, concurrency = Infinity): Runner => {
    const rw = make({ budgets: { '*': concurrency === Infinity ? {} : { concurrency } } });
    return { run: (tasks) => Promise.all(tasks.map((task) => rw.schedule(task))), dispose: () => rw.close() };
  };
  const pQueue = (concurrency = Infinity): Runner => {
    const queue = new PQueue({ concurrency });
    return { run: (tasks) => Promise.all(tasks.map((task) => queue.add(task))), dispose: () => queue.onIdle() };
  };
  /** `fetch` called on the batched cases' URLs, `BATCH` calls at a time, each batch awaited before the next. */
  const batched = async (fetch: (url: string) => Promise<Response>, count: number, from = 0): Promise<void> => {
    for (let i = 0; i < count; i += BATCH) {
      const calls: Promise<Response>[] = [];
      for (let j = i; j < Math.min(count, i + BATCH); j++) calls.push(fetch(urls[(from + j) % urls.length]!));
      await Promise.all(calls);
    }
  };
  const urls = Array.from({ length: n }, (_, i) => itemUrl(i));
  const bottleneck = (maxConcurrent: number | null = null): Runner => {
    const limiter = new Bottleneck({ maxConcurrent });
    return { run: (tasks) => Promise.all(tasks.map((task) => limiter.schedule(task))) };
  };

  const cases: Case[] = [
    { id: 'promise-all', tasks: n, make: () => ({ run: (tasks) => Promise.all(tasks.map((task) => task())) }) },
    { id: 'rw-schedule', tasks: n, make: () => ratewise(forSchedule) },
    { id: 'rw-schedule-new', tasks: n, fresh: true, make: () => ratewise(forScheduleNew) },
    { id: 'rw-schedule-tsx', tasks: n, make: () => ratewise(createRatewiseFromSource) },
    { id: 'p-queue', tasks: n, make: () => pQueue() },
    {
      id: 'p-throttle',
      tasks: n,
      make: () => {
        // p-throttle wraps one function once; a limit no run reaches keeps every call on its no-delay path.
        const throttled = pThrottle({ limit: Number.MAX_SAFE_INTEGER, interval: 1_000 })((task: Task) => task());
        return { run: (tasks) => Promise.all(tasks.map((task) => throttled(task))) };
      },
    },
    { id: 'bottleneck', tasks: nBottleneck, make: () => bottleneck() },
    { id: 'fetch-bare', tasks: n, make: () => ({ run: (tasks) => Promise.all(tasks.map(() => noopFetch(NOOP_URL))) }) },
    {
      id: 'rw-fetch',
      tasks: n,
      fresh: true,
      make: () => {
        // The engine alone: the loop guard would not flag these concurrent calls, but would add its own cost.
        const rw = forFetch({ fetch: noopFetch, loopGuard: false });
        return { run: (tasks) => Promise.all(tasks.map(() => rw.fetch(NOOP_URL))), dispose: () => rw.close() };
      },
    },
    { id: 'fetch-bare-batched', tasks: n, make: () => ({ run: (tasks) => batched(noopFetch, tasks.length) }) },
    {
      id: 'rw-fetch-batched',
      tasks: n,
      // New each run: a client kept would see the same URLs again, which its loop guard tracks.
      fresh: true,
      make: () => {
        // Default options, the loop guard included. Warmed up on other URLs of the same host first: past the new
        // budget's first rounds, and with the loop guard tracking as many URLs as it keeps (10,000), as a busy
        // client's is.
        const rw = forFetchBatched({ fetch: noopFetch });
        return {
          prepare: () => batched((url) => rw.fetch(`${url}&warm`), 10_000),
          run: (tasks) => batched((url) => rw.fetch(url), tasks.length),
          dispose: () => rw.close(),
        };
      },
    },
    { id: 'rw-schedule-c8', tasks: n, make: () => ratewise(forCapped, CONCURRENCY) },
    { id: 'p-queue-c8', tasks: n, make: () => pQueue(CONCURRENCY) },
    { id: 'bottleneck-c8', tasks: nBottleneck, make: () => bottleneck(CONCURRENCY) },
  ];

  const tasksOf = (count: number): Task[] => Array.from({ length: count }, () => noopTask);
  const kept = new Map<CaseId, Runner>();
  const runnerOf = async (c: Case): Promise<Runner> => {
    let runner = c.fresh ? undefined : kept.get(c.id);
    if (runner === undefined) {
      runner = c.make();
      await runner.prepare?.();
      if (!c.fresh) kept.set(c.id, runner);
    }
    return runner;
  };
  const timeOnce = async (c: Case, tasks: readonly Task[]): Promise<number> => {
    const runner = await runnerOf(c);
    collectGarbage(); // garbage left by the previous run is not this run's cost
    const start = performance.now();
    await runner.run(tasks);
    const elapsedMs = performance.now() - start;
    if (c.fresh) await runner.dispose?.();
    return (elapsedMs * 1_000) / tasks.length;
  };

  // Warm-up: rounds like the timed ones, not timed, so that every runner is timed in the code its optimiser makes of
  // it, whatever its depth. One run of a tenth of the tasks left ratewise's deeper call paths partly unoptimised (the
  // optimising compiler works on a background thread, late on a loaded machine): its first rounds then measured the
  // compiler's progress as much as the runner, up to twice the steady cost of a task.
  const warmRounds = quick ? 1 : WARM_ROUNDS;
  for (let round = 0; round < warmRounds; round++) for (const c of cases) await timeOnce(c, tasksOf(c.tasks));

  const timings = new Map<CaseId, number[]>(cases.map((c) => [c.id, []]));
  for (let round = 0; round < rounds; round++) {
    // Round-robin, starting one case later each round, so no runner always follows the same one.
    for (let i = 0; i < cases.length; i++) {
      const c = cases[(round + i) % cases.length]!;
      timings.get(c.id)!.push(await timeOnce(c, tasksOf(c.tasks)));
    }
  }
  for (const runner of kept.values()) await runner.dispose?.();
  return {
    rounds,
    warmRounds,
    concurrency: CONCURRENCY,
    batch: BATCH,
    cases: cases.map((c) => ({ id: c.id, tasks: c.tasks, microsPerTask: timings.get(c.id)! })),
  };
}

probeOutput(await measure(probeInput() as SchedulingInput));
