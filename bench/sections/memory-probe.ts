// Child process of the `memory` section (see bench/child.ts): heap deltas around `gc()`, per queued call, per idle
// budget, and the budget count while many keys come and go.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type * as Ratewise from '../../src/index.js';
import { createRatewise as createRatewiseFromSource } from '../../src/index.js';
import { collectGarbage, probeInput, probeOutput } from '../child.js';
import { importRatewise } from '../build-imports.js';

export interface MemoryInput {
  readonly quick: boolean;
  /** Where the parent's `compileRatewise()` wrote the tsc build. */
  readonly build: string;
}

/** Calls queued behind budgets that cannot run, and what they hold on the heap. */
export interface QueuedCost {
  readonly calls: number;
  readonly keys: number;
  /** Heap growth over the calls, divided by their number. */
  readonly rawBytes: number;
  /** The same loop storing a pending `new Promise()` instead: what the caller's own promises cost. */
  readonly baselineBytes: number;
  /** Time per `rw.schedule` call while queueing, in µs. */
  readonly microsPerCall: number;
  /** Calls that `rw.close()` settled with ClosedError, out of `waiting`. */
  readonly closed: number;
  readonly waiting: number;
}

export interface IdleCost {
  readonly budgets: number;
  readonly bytesNoRate: number;
  readonly bytesWithRate: number;
}

/** Many distinct keys, with `maxBudgets` well below their number. */
export interface EvictionRun {
  readonly keys: number;
  readonly maxBudgets: number;
  /** Calls in flight at once: one batch awaited before the next; `keys` for a burst. */
  readonly batch: number;
  /** Most budgets `rw.stats()` listed after a batch (for a burst: with every call still in flight). */
  readonly peak: number;
  /** Budgets listed once every call settled. */
  readonly end: number;
  readonly microsPerKey: number;
  /** Heap growth from the empty client to the end, in bytes. */
  readonly heapBytes: number;
}

export interface MemoryOutput {
  readonly queued: QueuedCost;
  readonly queuedFromSource: QueuedCost;
  readonly idle: IdleCost;
  readonly evictionBatched: EvictionRun;
  readonly evictionBurst: EvictionRun;
}

type CreateRatewise = typeof Ratewise.createRatewise;

const noop = (): undefined => undefined;
const neverSettle = (): void => {};
const heapUsed = (): number => process.memoryUsage().heapUsed;
const keysOf = (count: number, prefix: string): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

/**
 * `calls` rw.schedule calls spread over `keys.length` budgets of `rate: '1/hour', burst: 1`. Each key is primed
 * first with one call that runs (and takes the only token) and one that queues (creating the budget's queue level
 * and arming its timer), so the figure is the cost of one more queued call. The promises are kept in an array
 * allocated beforehand, as a caller awaiting them would keep them.
 */
async function queuedCost(create: CreateRatewise, calls: number, keys: readonly string[]): Promise<QueuedCost> {
  const placeholder = Promise.resolve();
  // Baseline: the caller's own promise objects, measured the same way.
  const pending = new Array<Promise<unknown>>(calls).fill(placeholder);
  collectGarbage();
  let before = heapUsed();
  for (let i = 0; i < calls; i++) pending[i] = new Promise(neverSettle);
  collectGarbage();
  const baselineBytes = (heapUsed() - before) / calls;
  pending.length = 0; // used after the measurement, so its promises stayed reachable through it

  const promises = new Array<Promise<unknown>>(calls).fill(placeholder);
  const rw = create({ budgets: { '*': { rate: '1/hour', burst: 1 } }, maxBudgets: keys.length });
  const primed: Promise<unknown>[] = [];
  for (const key of keys) primed.push(rw.schedule(noop, { key }), rw.schedule(noop, { key }));
  await nextTurn(); // the first call of each key has run and freed its slot

  collectGarbage();
  before = heapUsed();
  const start = performance.now();
  for (let i = 0; i < calls; i++) promises[i] = rw.schedule(noop, { key: keys[i % keys.length]! });
  const microsPerCall = ((performance.now() - start) * 1_000) / calls;
  collectGarbage();
  const rawBytes = (heapUsed() - before) / calls;

  const waiting = rw.stats().reduce((sum, budget) => sum + budget.queued, 0);
  const settled = Promise.allSettled([...primed, ...promises]);
  await rw.close();
  const closed = (await settled).filter(
    (result) =>
      result.status === 'rejected' &&
      result.reason instanceof Error &&
      (result.reason as Partial<Ratewise.RatewiseError>).code === 'ERR_RATEWISE_CLOSED',
  ).length;
  return { calls, keys: keys.length, rawBytes, baselineBytes, microsPerCall, closed, waiting };
}

/** Heap per budget left idle after one call, with and without a local rate (which adds its token bucket). */
async function idleCost(create: CreateRatewise, count: number): Promise<IdleCost> {
  const perBudget = async (budget: Ratewise.BudgetOptions, prefix: string): Promise<number> => {
    const keys = keysOf(count, prefix);
    const rw = create({ budgets: { '*': budget }, maxBudgets: Infinity });
    await rw.schedule(noop, { key: `${prefix}warm-up` }); // the first budget's one-off costs are not per budget
    collectGarbage();
    const before = heapUsed();
    for (const key of keys) await rw.schedule(noop, { key });
    collectGarbage();
    const bytes = (heapUsed() - before) / count;
    const listed = rw.stats().length;
    if (listed !== count + 1) throw new Error(`expected ${count + 1} idle budgets, rw.stats() lists ${listed}`);
    await rw.close();
    return bytes;
  };
  return {
    budgets: count,
    bytesNoRate: await perBudget({}, 'plain-'),
    bytesWithRate: await perBudget({ rate: '10/s' }, 'rated-'),
  };
}

/** Touches `count` distinct keys, `batch` calls in flight at a time, under `maxBudgets`. */
async function eviction(create: CreateRatewise, count: number, maxBudgets: number, batch: number) {
  const keys = keysOf(count, 'evict-');
  const rw = create({ maxBudgets });
  collectGarbage();
  const before = heapUsed();
  let peak = 0;
  let elapsedMs = 0;
  for (let first = 0; first < count; first += batch) {
    const start = performance.now();
    const calls = keys.slice(first, first + batch).map((key) => rw.schedule(noop, { key }));
    // Listed while the whole batch is in flight: busy budgets are the ones eviction must not drop.
    const listed = rw.stats().length;
    await Promise.all(calls);
    elapsedMs += performance.now() - start;
    peak = Math.max(peak, listed, rw.stats().length);
  }
  collectGarbage();
  const run: EvictionRun = {
    keys: count,
    maxBudgets,
    batch,
    peak,
    end: rw.stats().length,
    microsPerKey: (elapsedMs * 1_000) / count,
    heapBytes: heapUsed() - before,
  };
  await rw.close();
  return run;
}

async function measure({ quick, build }: MemoryInput): Promise<MemoryOutput> {
  const { createRatewise } = await importRatewise(build);
  const keys = keysOf(10_000, 'key-');
  const calls = quick ? 100_000 : 1_000_000;
  const bound = quick ? 2_000 : 10_000;
  return {
    queued: await queuedCost(createRatewise, calls, keys),
    // The tsx figure needs no million calls: a tenth tells the per-call cost.
    queuedFromSource: await queuedCost(createRatewiseFromSource, calls / 10, keys),
    idle: await idleCost(createRatewise, 10_000),
    evictionBatched: await eviction(createRatewise, 10 * bound, bound, 1_000),
    evictionBurst: await eviction(createRatewise, 1.5 * bound, bound, 1.5 * bound),
  };
}

probeOutput(await measure(probeInput() as MemoryInput));
