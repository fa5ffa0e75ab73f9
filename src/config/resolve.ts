// `resolveOptions()`: validates the options once, at the door, and returns a frozen, fully defaulted object.
// The hot path trusts it and never re-checks.
import { BACKOFF_DEFAULTS, JITTER_UP_DEFAULTS } from '../retry/backoff.js';
import { systemClock, type Clock } from '../clock.js';
import { formatValue, invalidOption } from '../errors.js';
import type {
  BackoffOptions,
  BudgetOptions,
  JitterUpOptions,
  RateSpec,
  RatewiseOptions,
  RequestDescriptor,
  RetryOptions,
} from '../options.js';
import { STORE_LINK, type RatewiseStore } from '../store/types.js';
import {
  addressOfKey,
  matchPattern,
  parsePattern,
  patternId,
  patternTable,
  type HostPattern,
  type PatternTable,
} from './host-pattern.js';
import { parseRate, type BucketLimit } from './rate.js';
import { knownOptions } from './known-options.js';
import { checkUnits } from './request-options.js';
import { compileRoutes, MAX_LEARNED_ROUTES, type RouteRule } from './routes.js';
import type { RetryPolicy } from '../retry/decision.js';

export interface BudgetConfig {
  /** The budget pattern that matched, for stats. */
  readonly pattern: string;
  readonly limits: readonly BucketLimit[];
  readonly concurrency: number;
  readonly maxQueue: number;
  /** The cap across every client of the store, undefined when concurrency is per client. */
  readonly sharedConcurrency: number | undefined;
  readonly sharedSlotTtlMs: number;
  /** How an announced quota is used: at once, or spread until its reset. */
  readonly pacing: 'burst' | 'spread';
  /** Requests in flight before the server has described a limit (grows by one per answer). */
  readonly initialWindow: number;
  /** The budget's route patterns, in order: a request that matches one goes through that route's bucket. */
  readonly routes: readonly RouteRule[];
  /** Most routes remembered per origin with the quota its server named; 0 learns none. */
  readonly maxRoutes: number;
  /** The budget's hook recognising throttles told in the body, if any. */
  readonly classify: BudgetOptions['classify'];
  /** The budget's hook reading what an answer actually used, per unit, if any. */
  readonly usage: BudgetOptions['usage'];
  /** Local limits per unit other than requests (`units`), empty without. */
  readonly unitLimits: ReadonlyMap<string, readonly BucketLimit[]>;
}

export interface ResolvedOptions {
  readonly budgets: BudgetTable;
  readonly retry: RetryPolicy;
  readonly maxWait: number;
  readonly streamIdleMs: number;
  readonly keyFn: ((request: RequestDescriptor) => string | undefined) | undefined;
  readonly maxBudgets: number;
  readonly budgetIdleMs: number;
  readonly serverReserve: number;
  readonly loopGuard:
    { readonly limit: number; readonly windowMs: number; readonly mode: 'warn' | 'throw' } | undefined;
  readonly fetch: typeof globalThis.fetch;
  readonly store: RatewiseStore | undefined;
  readonly storeFallback: 'share' | 'local' | 'fail';
  readonly storeTimeout: number;
  readonly clock: Clock;
  readonly random: () => number;
}

/** Budgets by host pattern: exact hosts, `*.suffix` wildcards and the `*` fallback. */
export type BudgetTable = PatternTable<BudgetConfig>;

const DEFAULT_STATUSES = [408, 429, 500, 502, 503, 504];
const DEFAULT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'];

type Checked = Readonly<Record<string, unknown>>;

/** `knownOptions`, a key it does not know named in full (`retry.foo`; a top-level one by itself). */
function object(value: unknown, name: string, keys: readonly string[]): Checked {
  return knownOptions(value, name, keys, name === 'options' ? '' : `${name}.`);
}

function number(
  value: unknown,
  name: string,
  fallback: number,
  check: (n: number) => boolean,
  expected: string,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || !check(value)) throw invalidOption(name, expected, value);
  return value;
}

const nonNegativeInteger = (v: unknown, name: string, fallback: number): number =>
  number(v, name, fallback, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
const positiveOrInfinity = (v: unknown, name: string, fallback: number): number =>
  number(v, name, fallback, (n) => n > 0 && (Number.isInteger(n) || n === Infinity), 'a positive integer or Infinity');
const durationMs = (v: unknown, name: string, fallback: number): number =>
  number(v, name, fallback, (n) => n >= 0, 'a non-negative number of milliseconds');
const positiveDurationMs = (v: unknown, name: string, fallback: number): number =>
  number(v, name, fallback, (n) => n > 0 && n < Infinity, 'a positive finite number of milliseconds');
const fraction = (v: unknown, name: string, fallback: number): number =>
  number(v, name, fallback, (n) => n >= 0 && n <= 1, 'a number from 0 to 1');

function checkFunction(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'function') throw invalidOption(name, 'a function', value);
}

function resolveBudget(pattern: string, value: unknown): BudgetConfig {
  const name = `budgets[${JSON.stringify(pattern)}]`;
  const o = object(value, name, [
    'rate',
    'burst',
    'concurrency',
    'maxQueue',
    'sharedConcurrency',
    'sharedSlotTtlMs',
    'pacing',
    'initialWindow',
    'routes',
    'maxRoutes',
    'classify',
    'units',
    'usage',
  ]) as BudgetOptions;
  checkFunction(o.classify, `${name}.classify`);
  checkFunction(o.usage, `${name}.usage`);
  const routes = compileRoutes(o.routes, `${name}.routes`);
  // A budget's rate and shared cap are host-wide: its routes' buckets would each apply them apart.
  if (routes.length > 0 && (o.rate !== undefined || o.sharedConcurrency !== undefined)) {
    throw new TypeError(
      `Expected \`${name}.routes\` without \`${name}.${o.rate !== undefined ? 'rate' : 'sharedConcurrency'}\`: ` +
        'routes split the budget into a bucket per route, and a rate or shared cap applies to the whole host',
    );
  }
  const limits = bucketLimits(o.rate, o.burst, name);
  const shared =
    o.sharedConcurrency === undefined
      ? undefined
      : number(
          o.sharedConcurrency,
          `${name}.sharedConcurrency`,
          0,
          (n) => Number.isInteger(n) && n > 0,
          'a positive integer',
        );
  return Object.freeze({
    pattern,
    limits,
    // A cap across every client is a cap on this one too.
    concurrency: Math.min(positiveOrInfinity(o.concurrency, `${name}.concurrency`, Infinity), shared ?? Infinity),
    maxQueue: positiveOrInfinity(o.maxQueue, `${name}.maxQueue`, Infinity),
    sharedConcurrency: shared,
    sharedSlotTtlMs: positiveDurationMs(o.sharedSlotTtlMs, `${name}.sharedSlotTtlMs`, 60_000),
    pacing: pacing(o.pacing, `${name}.pacing`),
    initialWindow: positiveOrInfinity(o.initialWindow, `${name}.initialWindow`, 10),
    routes,
    maxRoutes: number(
      o.maxRoutes,
      `${name}.maxRoutes`,
      MAX_LEARNED_ROUTES,
      (n) => Number.isInteger(n) && n >= 0 && n <= 1_000_000,
      'an integer from 0 to 1,000,000',
    ),
    classify: o.classify,
    unitLimits: unitLimits(o.units, `${name}.units`),
    usage: o.usage,
  });
}

/** A rate (every form `rate` takes) and its burst, as the buckets that enforce them. */
function bucketLimits(rate: unknown, burstValue: unknown, name: string, prefix = ''): readonly BucketLimit[] {
  const rates = rate === undefined ? [] : parseRate(rate as RateSpec, `${name}.${prefix}rate`);
  const burst = number(
    burstValue,
    `${name}.${prefix}burst`,
    0,
    (n) => n > 0 && Number.isFinite(n),
    'a positive finite number',
  );
  // The burst is the capacity of the rate's token bucket: without a rate there is no bucket for it to size.
  if (burstValue !== undefined && rate === undefined) {
    throw new TypeError(
      `Expected \`${name}.${prefix}burst\` to come with a \`${name}.${prefix}rate\`: a burst is how much of a rate may go at once`,
    );
  }
  return Object.freeze(rates.map((r) => Object.freeze({ rate: r, capacity: burst || r.limit })));
}

function unitLimits(value: unknown, name: string): ReadonlyMap<string, readonly BucketLimit[]> {
  const limits = new Map<string, readonly BucketLimit[]>();
  if (value === undefined) return limits;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(name, 'an object of { rate, burst } per unit', value);
  }
  for (const [unit, spec] of checkUnits<unknown>(value, name)) {
    const at = `${name}[${JSON.stringify(unit)}]`;
    if (unit === 'requests') {
      throw new TypeError(`Expected \`${name}\` without \`requests\`: the budget's own \`rate\` limits requests`);
    }
    const o = object(spec, at, ['rate', 'burst']) as { rate?: unknown; burst?: unknown };
    if (o.rate === undefined) throw invalidOption(`${at}.rate`, 'a rate such as "30000/min"', o.rate);
    limits.set(unit, bucketLimits(o.rate, o.burst, at, ''));
  }
  return limits;
}

function pacing(value: unknown, name: string): 'burst' | 'spread' {
  if (value === undefined) return 'burst';
  if (value === 'burst' || value === 'spread') return value;
  throw invalidOption(name, '"burst" or "spread"', value);
}

function resolveBudgets(value: unknown): BudgetTable {
  let fallback: BudgetConfig = resolveBudget('*', {});
  if (value === undefined) return patternTable([], fallback);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption('budgets', 'an object mapping host patterns to budgets', value);
  }
  const entries: [HostPattern, BudgetConfig][] = [];
  const seen = new Map<string, string>();
  for (const [pattern, budget] of Object.entries(value)) {
    if (pattern === '*') {
      fallback = resolveBudget(pattern, budget);
      continue;
    }
    const parsed = parsePattern(pattern);
    if (typeof parsed === 'string') {
      throw new TypeError(
        'Expected `budgets` to be keyed by host patterns such as "api.github.com", "localhost:8080", ' +
          `"*.example.com" or "*", got ${formatValue(pattern)}: ${parsed}`,
      );
    }
    const id = patternId(parsed);
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      throw new TypeError(
        `Expected each host once in \`budgets\`, got ${JSON.stringify(earlier)} and ${JSON.stringify(pattern)}, ` +
          `which both mean ${JSON.stringify(id)}`,
      );
    }
    seen.set(id, pattern);
    entries.push([parsed, resolveBudget(pattern, budget)]);
  }
  return patternTable(entries, fallback);
}

function resolveRetry(value: unknown): RetryPolicy {
  const o = object(value ?? {}, 'retry', [
    'limit',
    'rateLimitLimit',
    'maxRetryAfter',
    'statuses',
    'methods',
    'backoff',
    'serverJitter',
    'budget',
  ]) as RetryOptions;
  const backoff = object(o.backoff ?? {}, 'retry.backoff', ['baseMs', 'maxMs', 'factor', 'jitter']) as BackoffOptions;
  const jitter = backoff.jitter ?? BACKOFF_DEFAULTS.jitter;
  if (!['none', 'full', 'equal', 'decorrelated'].includes(jitter)) {
    throw invalidOption('retry.backoff.jitter', '"none", "full", "equal" or "decorrelated"', jitter);
  }
  const serverJitter = object(o.serverJitter ?? {}, 'retry.serverJitter', ['ratio', 'maxExtraMs']) as JitterUpOptions;
  const budget =
    o.budget === false ? undefined : object(o.budget ?? {}, 'retry.budget', ['ratio', 'minPerSecond', 'windowMs']);
  return Object.freeze({
    limit: nonNegativeInteger(o.limit, 'retry.limit', 2),
    rateLimitLimit: nonNegativeInteger(o.rateLimitLimit, 'retry.rateLimitLimit', 5),
    maxRetryAfter: durationMs(o.maxRetryAfter, 'retry.maxRetryAfter', 60_000),
    statuses: new Set(
      list(
        o.statuses,
        'retry.statuses',
        DEFAULT_STATUSES,
        // A success or a redirect is an answer, never a failure to retry.
        (s) => Number.isInteger(s) && Number(s) >= 400 && Number(s) <= 599,
        'HTTP error statuses (400 to 599)',
      ) as number[],
    ),
    methods: new Set(
      (
        list(
          o.methods,
          'retry.methods',
          DEFAULT_METHODS,
          (m) => typeof m === 'string' && m !== '',
          'method names',
        ) as string[]
      ).map((m) => m.toUpperCase()),
    ),
    backoff: Object.freeze({
      // Infinite, it would make every computed wait endless (or, decorrelated, NaN).
      baseMs: number(
        backoff.baseMs,
        'retry.backoff.baseMs',
        BACKOFF_DEFAULTS.baseMs,
        (n) => n >= 0 && Number.isFinite(n),
        'a non-negative finite number of milliseconds',
      ),
      maxMs: durationMs(backoff.maxMs, 'retry.backoff.maxMs', BACKOFF_DEFAULTS.maxMs),
      factor: number(
        backoff.factor,
        'retry.backoff.factor',
        BACKOFF_DEFAULTS.factor,
        (n) => n >= 1 && Number.isFinite(n),
        'a finite number >= 1',
      ),
      jitter,
    }),
    serverJitter: Object.freeze({
      ratio: fraction(serverJitter.ratio, 'retry.serverJitter.ratio', JITTER_UP_DEFAULTS.ratio),
      maxExtraMs: durationMs(serverJitter.maxExtraMs, 'retry.serverJitter.maxExtraMs', JITTER_UP_DEFAULTS.maxExtraMs),
    }),
    budget:
      budget &&
      Object.freeze({
        ratio: number(
          budget.ratio,
          'retry.budget.ratio',
          0.2,
          (n) => n >= 0 && Number.isFinite(n),
          'a non-negative number',
        ),
        minPerSecond: number(
          budget.minPerSecond,
          'retry.budget.minPerSecond',
          10,
          (n) => n >= 0 && Number.isFinite(n),
          'a non-negative number',
        ),
        windowMs: number(
          budget.windowMs,
          'retry.budget.windowMs',
          10_000,
          (n) => n >= 1000 && Number.isFinite(n),
          'a finite number of milliseconds >= 1000',
        ),
      }),
  });
}

function list(
  value: unknown,
  name: string,
  fallback: readonly unknown[],
  check: (v: unknown) => boolean,
  what: string,
): readonly unknown[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value)) throw invalidOption(name, `an array of ${what}`, value);
  // A copy, each item read once, is what is checked and kept.
  const items: unknown[] = Array.from(value);
  if (!items.every(check)) throw invalidOption(name, `an array of ${what}`, value);
  return items;
}

function resolveLoopGuard(value: unknown): ResolvedOptions['loopGuard'] {
  if (value === false) return undefined;
  const o = object(value ?? {}, 'loopGuard', ['limit', 'windowMs', 'mode']);
  const mode = o.mode ?? 'warn';
  if (mode !== 'warn' && mode !== 'throw') throw invalidOption('loopGuard.mode', '"warn" or "throw"', mode);
  return Object.freeze({
    limit: positiveOrInfinity(o.limit, 'loopGuard.limit', 100),
    windowMs: positiveDurationMs(o.windowMs, 'loopGuard.windowMs', 10_000),
    mode,
  });
}

const TOP_LEVEL = [
  'budgets',
  'retry',
  'maxWait',
  'streamIdleMs',
  'keyFn',
  'maxBudgets',
  'budgetIdleMs',
  'serverReserve',
  'loopGuard',
  'store',
  'storeFallback',
  'storeTimeout',
  'fetch',
  'clock',
  'random',
];

/** Validates `options` (unknown keys are errors) and fills in every default. Throws `TypeError` naming the option. */
export function resolveOptions(options: RatewiseOptions = {}): ResolvedOptions {
  const o = object(options, 'options', TOP_LEVEL) as RatewiseOptions;
  const clock = o.clock ?? systemClock;
  if (
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    throw invalidOption('clock', 'an object with now(), setTimeout() and clearTimeout()', clock);
  }
  checkFunction(o.fetch, 'fetch');
  checkFunction(o.keyFn, 'keyFn');
  checkFunction(o.random, 'random');
  const store: unknown = o.store;
  if (
    store !== undefined &&
    (typeof store !== 'object' ||
      store === null ||
      typeof (store as Partial<RatewiseStore>).sync !== 'function' ||
      typeof (store as Partial<RatewiseStore>)[STORE_LINK] !== 'object')
  )
    throw invalidOption(
      'store',
      'a store made by redisStore(client) from ratewise/redis, or customStore(store) from ratewise/store',
      o.store,
    );
  const storeFallback: unknown = o.storeFallback ?? 'share';
  if (storeFallback !== 'share' && storeFallback !== 'local' && storeFallback !== 'fail')
    throw invalidOption('storeFallback', '"share", "local" or "fail"', storeFallback);
  const storeTimeout = positiveDurationMs(o.storeTimeout, 'storeTimeout', 250);
  // The global fetch is looked up at each call, so that a fetch installed later (a polyfill, a test mock) is used.
  const fetchFn: typeof globalThis.fetch = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
  return Object.freeze({
    budgets: resolveBudgets(o.budgets),
    retry: resolveRetry(o.retry),
    maxWait: durationMs(o.maxWait, 'maxWait', Infinity),
    streamIdleMs: positiveDurationMs(o.streamIdleMs, 'streamIdleMs', 60_000),
    keyFn: o.keyFn,
    maxBudgets: positiveOrInfinity(o.maxBudgets, 'maxBudgets', 10_000),
    budgetIdleMs: durationMs(o.budgetIdleMs, 'budgetIdleMs', 300_000),
    serverReserve: fraction(o.serverReserve, 'serverReserve', 0.01),
    loopGuard: resolveLoopGuard(o.loopGuard),
    fetch: fetchFn,
    store: o.store,
    storeFallback,
    storeTimeout,
    clock,
    random: o.random ?? Math.random,
  });
}

/**
 * The budget options for the budget `key`: the pattern its host matches when it is an origin or URL (the default
 * key), or the pattern it matches as a host name otherwise (`jobs.internal`, `tenant-42`). The key alone decides,
 * so a budget has the same options whichever call creates it.
 */
export function budgetFor(table: BudgetTable, key: string): BudgetConfig {
  return matchPattern(table, addressOfKey(key));
}
