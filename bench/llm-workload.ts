// The workload and the figure of the LLM measurement (llm-pair.ts), as issue 15 states them: calls whose token costs
// follow a seeded, skewed distribution, and token efficiency. Pure: no clock, no I/O.

/** A seeded generator of uniform numbers in [0, 1) (mulberry32): the same seed gives the same workload. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One call of the workload: its prompt and what it declares it may generate, in tokens. */
export interface LlmJob {
  readonly promptTokens: number;
  readonly maxTokens: number;
}

/** Options of {@link skewedJobs}. */
export interface SkewedJobsOptions {
  readonly seed: number;
  /** Smallest cost (prompt + max tokens). @default 100 */
  readonly min?: number;
  /** Largest cost. @default 2_000 */
  readonly max?: number;
  /** Share of each cost that is prompt. @default 0.3 */
  readonly promptShare?: number;
}

/**
 * `count` calls whose costs (prompt + `max_tokens`) run from `min` to `max`, skewed towards the small ones as chat
 * traffic is (min + (max − min) × u³: the median an eighth of the way up, the mean a quarter).
 */
export function skewedJobs(count: number, options: SkewedJobsOptions): LlmJob[] {
  const { seed, min = 100, max = 2_000, promptShare = 0.3 } = options;
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const cost = Math.round(min + (max - min) * random() ** 3);
    const promptTokens = Math.max(1, Math.round(cost * promptShare));
    return { promptTokens, maxTokens: cost - promptTokens };
  });
}

/** A token bucket as the server states it. */
export interface TokenCapacity {
  /** Tokens the bucket holds when full. */
  readonly capacity: number;
  /** Tokens refilled per ms. */
  readonly refillPerMs: number;
}

/**
 * Token efficiency: tokens admitted ÷ (capacity + refill × wall time), the share of all the tokens the server could
 * have admitted over the run that it did admit. 1 is the server's own limit.
 */
export function tokenEfficiency(admitted: number, { capacity, refillPerMs }: TokenCapacity, wallMs: number): number {
  if (!(wallMs >= 0) || !(capacity >= 0) || !(refillPerMs > 0)) {
    throw new RangeError(`token efficiency needs wallMs ≥ 0, capacity ≥ 0 and refillPerMs > 0`);
  }
  return admitted / (capacity + refillPerMs * wallMs);
}
