// Timing helpers: tinybench for synchronous sub-microsecond work, medians and paired ratios for repeated runs, and the
// number formats the tables use.
import { Bench } from 'tinybench';

/** One function to time. */
export interface SyncCase {
  readonly name: string;
  /** The work of one operation. Must return something other than `undefined` (a cheap guard that it ran). */
  readonly fn: () => unknown;
}

/** Per-operation timings of one {@link SyncCase}. */
export interface Measurement {
  readonly name: string;
  /** Mean time per operation in ns. */
  readonly meanNs: number;
  /** Median and 99th percentile of the per-sample means, in ns. */
  readonly p50Ns: number;
  readonly p99Ns: number;
  /** Relative margin of error of the mean, in percent. */
  readonly rmePercent: number;
  /** Number of samples (each one the mean of `batch` operations). */
  readonly samples: number;
  /** Operations per second implied by the mean. */
  readonly opsPerSecond: number;
}

export interface MeasureOptions {
  /** Time budget per case in ms. */
  readonly timeMs: number;
  /** Warm-up budget per case in ms. */
  readonly warmupMs: number;
  /** Operations per sample: a timer read costs tens of ns, so single-call samples would mostly measure the timer. */
  readonly batch: number;
}

/** Times each case in turn; every tinybench sample is the mean of `batch` back-to-back calls. */
export async function measureSync(cases: readonly SyncCase[], options: MeasureOptions): Promise<Measurement[]> {
  const bench = new Bench({
    time: options.timeMs,
    warmupTime: options.warmupMs,
    timestampProvider: 'hrtimeNow',
    throws: true,
  });
  for (const { name, fn } of cases) {
    bench.add(name, () => {
      let result: unknown;
      const start = bench.now();
      for (let i = 0; i < options.batch; i++) result = fn();
      const elapsed = bench.now() - start;
      if (result === undefined) throw new Error(`${name}: the measured function returned undefined`);
      return { overriddenDuration: elapsed / options.batch, overriddenIterationCost: elapsed };
    });
  }
  await bench.run();
  return bench.tasks.map((task) => {
    const { result } = task;
    if (result.state !== 'completed') throw new Error(`${task.name}: benchmark ended in state ${result.state}`);
    const { latency } = result;
    return {
      name: task.name,
      meanNs: latency.mean * 1e6,
      p50Ns: latency.p50 * 1e6,
      p99Ns: latency.p99 * 1e6,
      rmePercent: latency.rme,
      samples: latency.samples?.length ?? task.runs,
      opsPerSecond: 1e3 / latency.mean,
    };
  });
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** `1234567.8` → `"1,234,568"`. */
export function formatInteger(value: number): string {
  return integer.format(value);
}

/** Nanoseconds as microseconds with three decimals: `1534.2` → `"1.534"`. */
export function formatMicros(ns: number): string {
  return (ns / 1e3).toFixed(3);
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The median over rounds of `numerator[i] / denominator[i]`: a ratio of two figures measured back to back in the
 * same round, so that load shared by both cancels out, rather than a ratio of medians taken at different times.
 */
export function pairedRatio(numerator: readonly number[], denominator: readonly number[]): number {
  if (numerator.length !== denominator.length) throw new RangeError('paired ratio of lists of different lengths');
  return median(numerator.map((value, round) => value / denominator[round]!));
}

/** `[1.234, 5.6]` → `"1.23–5.60"`, with `digits` decimals. */
export function formatRange(values: readonly number[], digits = 2): string {
  return `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;
}
