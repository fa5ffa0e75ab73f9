// A rate limiter that says nothing but `429` and `Retry-After`: fixed windows, for `startScriptedServer`.
import type { WindowCount } from '../scripts/lib/server-windows.js';
import type { Script } from '../test/support/servers.js';

export interface FixedWindowLimiter {
  readonly script: Script;
  /** Every window from the first request to the last, empty ones included. */
  windows(): WindowCount[];
}

/**
 * `limit` requests per window of `windowMs`, windows back to back from the first request. Past the limit: a bare
 * `429` whose `Retry-After` is the whole seconds left in the window, rounded up (the field has no finer unit).
 */
export function fixedWindowLimiter(limit: number, windowMs: number): FixedWindowLimiter {
  let firstAt: number | undefined;
  const accepted: number[] = [];
  const rejected: number[] = [];
  return {
    script: () => {
      const now = Date.now();
      firstAt ??= now;
      const index = Math.floor((now - firstAt) / windowMs);
      if ((accepted[index] ?? 0) < limit) {
        accepted[index] = (accepted[index] ?? 0) + 1;
        return { status: 200, json: { ok: true } };
      }
      rejected[index] = (rejected[index] ?? 0) + 1;
      const endsAt = firstAt + (index + 1) * windowMs;
      return { status: 429, headers: { 'retry-after': String(Math.ceil((endsAt - now) / 1_000)) } };
    },
    windows: () =>
      Array.from({ length: Math.max(accepted.length, rejected.length) }, (_, index) => ({
        startAt: (firstAt ?? 0) + index * windowMs,
        accepted: accepted[index] ?? 0,
        rejected: rejected[index] ?? 0,
      })),
  };
}
