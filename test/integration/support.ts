// Shared by the integration tests: fire many `rw.fetch` calls at once and record how each ended.
import type { Ratewise } from '../../src/index.js';
import type { RecordedRequest } from '../support/servers.js';

/** How a burst of calls ended, as the client saw it. */
export interface BurstResult {
  /** The status of each call that resolved, in call order; `undefined` where the call threw. */
  readonly statuses: readonly (number | undefined)[];
  /** What each call that threw threw, in call order. */
  readonly errors: readonly unknown[];
  /** Client `Date.now()` when the first response (of any attempt) arrived; `Infinity` if none did. */
  readonly firstResponseAt: number;
  /** Wall time of the whole burst, for the record only: tests do not assert on it. */
  readonly elapsedMs: number;
}

/** Sends `calls` GETs to `${origin}/items/<i>` at once through `rw`, reads every body and waits for all of them. */
export async function burst(rw: Ratewise, origin: string, calls: number): Promise<BurstResult> {
  let firstResponseAt = Infinity;
  const off = rw.on('rateLimitInfo', () => {
    firstResponseAt = Math.min(firstResponseAt, Date.now());
  });
  const startedAt = Date.now();
  const errors: unknown[] = [];
  const statuses = await Promise.all(
    Array.from({ length: calls }, async (_, i) => {
      try {
        const response = await rw.fetch(`${origin}/items/${i}`);
        await response.arrayBuffer();
        return response.status;
      } catch (error) {
        errors.push(error);
        return undefined;
      }
    }),
  );
  off();
  return { statuses, errors, firstResponseAt, elapsedMs: Date.now() - startedAt };
}

/** How many responses had each status: `{ 200: 300 }`. */
export function countStatuses(statuses: readonly (number | undefined)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const status of statuses) {
    const key = String(status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** The requests the server refused (any status of 400 or more) that reached it at or after `at`. */
export function refusedSince(log: readonly RecordedRequest[], at: number): RecordedRequest[] {
  return log.filter((request) => request.receivedAt >= at && request.status !== undefined && request.status >= 400);
}
