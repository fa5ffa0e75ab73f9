// A fixed-window server's windows, rebuilt from its request log: shared by the bench (goodput over windows) and the
// demo (each window's quota on its timeline).

/** What a server allows: `limit` requests per window of `windowMs`. */
export interface AllowedRate {
  readonly limit: number;
  readonly windowMs: number;
}

/** One window as the limiter counted it. */
export interface WindowCount {
  /** Server `Date.now()` at which the window opened. */
  readonly startAt: number;
  readonly accepted: number;
  readonly rejected: number;
}

/** One request of a server's log: when it arrived and the status it was answered with. */
export interface LoggedRequest {
  /** Server `Date.now()` when the request head arrived. */
  readonly receivedAt: number;
  /** `undefined` while (or if never) answered. */
  readonly status: number | undefined;
}

/**
 * express-rate-limit's memory store opens a client's window at its first request after the previous one ended
 * (windows drift with the client); its own clock reads a hair after the tally's, so an accepted request that would
 * overfill a window opens the next one. @fastify/rate-limit's local store opens its windows the same way.
 */
export function expressWindows(requests: readonly LoggedRequest[], { limit, windowMs }: AllowedRate): WindowCount[] {
  const windows: { startAt: number; accepted: number; rejected: number }[] = [];
  let current: (typeof windows)[number] | undefined;
  for (const { receivedAt, status } of requests) {
    if (status === undefined) continue;
    const accepted = status < 400;
    if (current === undefined || receivedAt >= current.startAt + windowMs || (accepted && current.accepted === limit)) {
      current = { startAt: receivedAt, accepted: 0, rejected: 0 };
      windows.push(current);
    }
    if (accepted) current.accepted++;
    else if (status === 429) current.rejected++;
  }
  return windows;
}
