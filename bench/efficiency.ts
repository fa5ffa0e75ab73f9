// Efficiency, as issue 13 defines it: the fastest finish a server's policy allows for N calls started at once,
// divided by the wall time from the first call to the last settled call. 1 is the server's own limit.

/** What a server allows. */
export type Policy =
  /** `limit` requests per window of `windowMs`, a window opening with the first request after the previous one. */
  | { readonly kind: 'fixed-window'; readonly limit: number; readonly windowMs: number }
  /** A token or leaky bucket holding `capacity` requests, refilled at `perSecond` requests per second. */
  | { readonly kind: 'bucket'; readonly capacity: number; readonly perSecond: number };

/**
 * The fastest finish `policy` allows for `calls` calls started at once, in ms: (ceil(N / L) − 1) × W for a fixed
 * window (the first window at once, the last one opening W after the one before), (N − B) / r for a bucket; 0 when
 * everything fits at once.
 */
export function fastestFinishMs(calls: number, policy: Policy): number {
  if (!Number.isInteger(calls) || calls < 0) throw new RangeError(`calls must be a whole number ≥ 0, got ${calls}`);
  if (policy.kind === 'fixed-window') {
    if (!(policy.limit >= 1) || !(policy.windowMs > 0)) {
      throw new RangeError(
        `a fixed window needs limit ≥ 1 and windowMs > 0, got ${policy.limit} per ${policy.windowMs}`,
      );
    }
    return Math.max(0, Math.ceil(calls / policy.limit) - 1) * policy.windowMs;
  }
  if (!(policy.capacity >= 0) || !(policy.perSecond > 0)) {
    throw new RangeError(
      `a bucket needs capacity ≥ 0 and perSecond > 0, got ${policy.capacity} at ${policy.perSecond}/s`,
    );
  }
  return (Math.max(0, calls - policy.capacity) / policy.perSecond) * 1_000;
}

/**
 * {@link fastestFinishMs} ÷ `wallMs`: 1 for a client that finishes as soon as the server allows, less for a slower
 * one (above 1 only if the server let more through than its policy says). `undefined` when the policy allows
 * everything at once, since the ratio then says nothing.
 */
export function efficiency(calls: number, policy: Policy, wallMs: number): number | undefined {
  if (!(wallMs > 0)) throw new RangeError(`wallMs must be > 0, got ${wallMs}`);
  const fastest = fastestFinishMs(calls, policy);
  return fastest === 0 ? undefined : fastest / wallMs;
}
