/**
 * Retry delays as pure functions of (attempt, random, options, previous delay). Randomness is injected: pass
 * `Math.random` in production and a scripted function in tests (a draw that is not a finite number is drawn again
 * from `Math.random`). Results are whole milliseconds.
 */

import type { BackoffOptions, JitterUpOptions } from '../options.js';

/** The defaults of {@link BackoffOptions}. */
export const BACKOFF_DEFAULTS: Readonly<Required<BackoffOptions>> = Object.freeze({
  baseMs: 500,
  maxMs: 30_000,
  factor: 2,
  jitter: 'full',
});

/** The defaults of {@link JitterUpOptions}. */
export const JITTER_UP_DEFAULTS: Readonly<Required<JitterUpOptions>> = Object.freeze({ ratio: 0.1, maxExtraMs: 1000 });

/**
 * The exponential delay before jitter for a retry: `min(maxMs, baseMs × factor^(attempt - 1))`, in ms.
 * Non-decreasing in `attempt`; the upper bound of the `'none'`, `'full'` and `'equal'` delays.
 *
 * @param attempt 1 for the first retry, 2 for the second, …; values below 1 count as 1.
 */
export function backoffCeiling(attempt: number, options: BackoffOptions = {}): number {
  const { baseMs, maxMs, factor } = { ...BACKOFF_DEFAULTS, ...options };
  if (baseMs <= 0 || maxMs <= 0) return 0;
  // factor ** attempt overflows to Infinity for large attempts; min() then yields the cap, which is what we want.
  return Math.min(maxMs, baseMs * factor ** (Math.max(1, attempt) - 1));
}

/**
 * The delay before retry number `attempt`, in whole ms, within [0, `maxMs`] and finite.
 *
 * @param attempt 1 for the first retry, 2 for the second, …; values below 1 count as 1.
 * @param random Uniform in [0, 1), like `Math.random`; values outside are clamped, and a draw that is not a finite
 *   number is replaced by one of `Math.random()`.
 * @param previousMs The delay used before the previous attempt, for `'decorrelated'` jitter.
 *   @default options.baseMs
 */
export function backoffDelay(
  attempt: number,
  random: () => number,
  options: BackoffOptions = {},
  previousMs?: number,
): number {
  const resolved = { ...BACKOFF_DEFAULTS, ...options };
  const { baseMs, maxMs, jitter } = resolved;
  const ceiling = backoffCeiling(attempt, resolved);
  let delay: number;
  switch (jitter) {
    case 'none':
      delay = ceiling;
      break;
    case 'full':
      delay = unit(random) * ceiling;
      break;
    case 'equal':
      delay = ceiling / 2 + (unit(random) * ceiling) / 2;
      break;
    case 'decorrelated': {
      const upper = Math.max(baseMs, 3 * finiteOr(previousMs, baseMs));
      delay = baseMs + unit(random) * (upper - baseMs);
      break;
    }
  }
  // Finite whatever `maxMs` (Infinity: no cap) and the growth: an endless wait would arm no timer at all.
  return clamp(Math.round(delay), 0, Math.min(MAX_DELAY_MS, Math.floor(Math.max(0, maxMs))));
}

/** The longest computed delay: the largest whole number of ms a double holds exactly (about 285,000 years). */
const MAX_DELAY_MS = Number.MAX_SAFE_INTEGER;

/**
 * A server-given wait with a little random time added, so clients told to come back at the same instant do not all
 * come back at once. Only ever adds: the result is never shorter than `delayMs` (the server's word is authoritative).
 * The extra is at most `min(maxExtraMs, delayMs × ratio)`, rounded to whole ms; a non-finite wait is returned as is.
 *
 * Apply the `maxRetryAfter` cap to the server's wait before this, not to the result.
 */
export function jitterUp(delayMs: number, random: () => number, options: JitterUpOptions = {}): number {
  if (!Number.isFinite(delayMs)) return delayMs;
  const { ratio, maxExtraMs } = { ...JITTER_UP_DEFAULTS, ...options };
  const room = Math.max(0, Math.min(maxExtraMs, delayMs * ratio));
  return delayMs + Math.round(unit(random) * room);
}

/**
 * One draw in [0, 1]. A draw that is no finite number (a NaN from a broken generator) says nothing of where in the
 * range to land, and any fixed choice would send every client's retries in step (0: all at once, at the shortest
 * backoff): the default generator draws instead.
 */
function unit(random: () => number): number {
  const value = random();
  return Number.isFinite(value) ? clamp(value, 0, 1) : Math.random();
}

function finiteOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) ? value : fallback;
}

function clamp(value: number, low: number, high: number): number {
  return value > low ? Math.min(high, value) : low; // NaN lands on `low`
}
