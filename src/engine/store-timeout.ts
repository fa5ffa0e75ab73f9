// How long a store call may take before it counts as failed: TCP's retransmission timeout (RFC 6298) applied to
// the store's round trip. Pure: the link (store-link.ts) measures and tells.

/** A smoothed round trip and its mean deviation, in ms. */
export interface RttEstimate {
  readonly srttMs: number;
  readonly rttvarMs: number;
}

/** The timeout before any answer has been measured: TCP's first retransmission timeout. */
export const FIRST_TIMEOUT_MS = 1000;
/** The longest timeout, however far the store or however many timeouts in a row (unless `storeTimeout` is longer). */
export const MAX_TIMEOUT_MS = 10_000;

/** The estimate after one more measured round trip of `rttMs` (RFC 6298: gains 1/8 and 1/4). */
export function sampleRtt(estimate: RttEstimate | undefined, rttMs: number): RttEstimate {
  const r = Math.max(0, rttMs);
  if (estimate === undefined) return { srttMs: r, rttvarMs: r / 2 };
  const { srttMs, rttvarMs } = estimate;
  return { srttMs: srttMs + (r - srttMs) / 8, rttvarMs: rttvarMs + (Math.abs(srttMs - r) - rttvarMs) / 4 };
}

/**
 * The timeout of the next store call: the smoothed round trip plus the larger of `floorMs` (`storeTimeout`) and four
 * deviations, so never less than `floorMs`; before any measure, the larger of {@link FIRST_TIMEOUT_MS} and `floorMs`.
 * Doubled for each timeout in a row (`backoff`), as TCP backs off, until an answer comes in time.
 */
export function timeoutMs(estimate: RttEstimate | undefined, floorMs: number, backoff: number): number {
  const base =
    estimate === undefined
      ? Math.max(FIRST_TIMEOUT_MS, floorMs)
      : estimate.srttMs + Math.max(floorMs, 4 * estimate.rttvarMs);
  return Math.min(base * 2 ** Math.min(backoff, 16), Math.max(MAX_TIMEOUT_MS, base));
}
