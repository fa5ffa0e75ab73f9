// Pacing by what the server said: how many requests remain until its reset, spread over the time left.
// Pure: the state is a plain object the budget owns; every function takes `now`.
import { ONE_SOURCE_RESET_SPREAD_MS } from '../headers/reset-rounding.js';

/** What the budget believes of the server's quota. */
export interface ServerPace {
  /** Requests the server will still accept before `resetAt`, less what was sent since (never trusted upward). */
  readonly allowance: number;
  /** Epoch ms when the server's quota is restored. */
  readonly resetAt: number;
  /** The earliest reset the server's answers named for this window: `resetAt` unless brought forward (`resetBy`). */
  readonly heardResetAt: number;
  /** Requests that may go back to back before pacing spreads the rest. */
  readonly burst: number;
  /** The server's own count in the answer that set this pace. */
  readonly remaining: number;
  /** The lowest count the server reported in this window. */
  readonly lowest: number;
  /** Pacing tokens available at `updatedAt`. */
  readonly tokens: number;
  readonly updatedAt: number;
  /** The route whose answer set this pace (see {@link Observation.route}). */
  readonly route?: string | undefined;
  /**
   * A count that holds past `resetAt`: another route of the budget named a window that resets later, so the server
   * counts it apart. Until `later.resetAt` no more than `later.allowance` go; spent as the pace is.
   */
  readonly later?: { readonly resetAt: number; readonly allowance: number } | undefined;
}

/** Inputs of one observation: a response's `remaining` and `resetAt`, as `parseRateLimit` gave them. */
export interface Observation {
  readonly remaining: number;
  readonly resetAt: number;
  readonly limit: number | undefined;
  /** Requests of this budget still in flight, besides the one whose response this is. */
  readonly inFlight: number;
  /** Fraction of the limit to leave unused. */
  readonly reserve: number;
  /**
   * Spread the allowance evenly until the reset (`pacing: 'spread'`), rather than let all of it go at once: a batch
   * that fits in what is left finishes sooner at once, and one that does not finishes no later, since the rest waits
   * for the reset either way.
   */
  readonly spread: boolean;
  /**
   * The route of the request answered (its method and path shape), when the budget serves several: answers of two
   * routes that name windows resetting apart are two counts (express-rate-limit mounted per route names its policies
   * alike), and the budget keeps to the lower of them until the later reset.
   */
  readonly route?: string | undefined;
}

/** Requests of a quota of `limit` left unused, for a `reserve` share of it. */
export function reservedOf(limit: number, reserve: number): number {
  return Math.floor(limit * reserve);
}

/** Share of the allowance that may go at once when spreading; the rest is spread evenly until the reset. */
const SPREAD_BURST_SHARE = 0.1;

/**
 * The pace after a response said `remaining` requests are left until `resetAt`. The caller passes only the answer
 * to the most recently sent request: an older answer that arrives late describes the past.
 */
export function observe(previous: ServerPace | undefined, o: Observation, now: number): ServerPace | undefined {
  if (!(o.resetAt > now)) return undefined;
  const reserved = reservedOf(o.limit ?? o.remaining, o.reserve);
  // The same window as before: it has not reset yet as far as heard (the pace keeps the earliest reading of its
  // reset), and this reading's reset agrees within the servers' precision. A count that went up is no sign of a new
  // window: a server that handles requests at once (threads, several processes) may count them in another order
  // than they were sent, and its answers report counts out of order.
  const running = previous !== undefined && previous.resetAt > now;
  // Another route's count, in a window that resets apart from the one heard: counted apart, and both hold.
  const apart =
    running &&
    o.route !== undefined &&
    previous.route !== undefined &&
    o.route !== previous.route &&
    Math.abs(o.resetAt - previous.heardResetAt) >= ONE_SOURCE_RESET_SPREAD_MS;
  const sameWindow = running && (apart || o.resetAt < previous.heardResetAt + ONE_SOURCE_RESET_SPREAD_MS);
  // Requests still in flight may not have been counted by the server yet: count them as spent. Within a window the
  // allowance is never raised: a server that handles requests at once (threads, several processes) may count them
  // in another order than they were sent, so a count read early says less than what was sent since.
  // With nothing else in flight every request sent has been counted: the lowest count read in the window is exact.
  const lowest = sameWindow ? Math.min(previous.lowest, o.remaining) : o.remaining;
  const fresh = Math.max(0, o.remaining - o.inFlight - reserved);
  const allowance =
    o.inFlight === 0 ? Math.max(0, lowest - reserved) : sameWindow ? Math.min(previous.allowance, fresh) : fresh;
  const burst = o.spread ? Math.max(1, Math.ceil(allowance * SPREAD_BURST_SHARE)) : Math.max(1, allowance);
  // Spread: what went since the last reading stays spent. Burst: the whole allowance may go at once.
  const tokens = !o.spread ? allowance : sameWindow ? Math.min(current(previous, now), burst) : burst;
  // Servers round the time left up to whole seconds: within one window, the earliest reset heard is the closest.
  const resetAt = sameWindow ? Math.min(previous.resetAt, o.resetAt) : o.resetAt;
  // What holds until the later reset: the lowest allowance either count leaves (slower, never refused).
  const carried = running && previous.later !== undefined && previous.later.resetAt > now ? previous.later : undefined;
  const laterAt = apart ? Math.max(o.resetAt, previous.resetAt, carried?.resetAt ?? 0) : carried?.resetAt;
  const later =
    laterAt !== undefined && laterAt > resetAt
      ? { resetAt: laterAt, allowance: Math.min(allowance, fresh, carried?.allowance ?? Infinity) }
      : undefined;
  return {
    allowance,
    resetAt,
    heardResetAt: sameWindow ? Math.min(previous.heardResetAt, o.resetAt) : o.resetAt,
    burst,
    remaining: o.remaining,
    lowest,
    tokens: Math.min(tokens, allowance),
    updatedAt: now,
    route: sameWindow ? previous.route : o.route,
    later,
  };
}

/** The pace at `now`: itself before its reset, then the count that holds on past it, if any. */
export function live(pace: ServerPace, now: number): ServerPace | undefined {
  return now < pace.resetAt ? pace : rollOver(pace, now);
}

/**
 * The pace once its window has turned (`now >= resetAt`), when a count of another route holds on past it (see
 * {@link ServerPace.later}): that count, until its own reset. Undefined otherwise: the window is forgotten.
 */
export function rollOver(pace: ServerPace, now: number): ServerPace | undefined {
  const later = pace.later;
  if (later === undefined || !(later.resetAt > now)) return undefined;
  const allowance = Math.max(0, later.allowance);
  return {
    allowance,
    resetAt: later.resetAt,
    heardResetAt: later.resetAt,
    burst: Math.max(1, allowance),
    remaining: allowance,
    lowest: allowance,
    tokens: allowance,
    updatedAt: now,
    route: pace.route,
    later: undefined,
  };
}

/**
 * The pace after an answer that does not set it (an earlier request's, answered late) reported `remaining` for the
 * window resetting at `resetAt`: only the lowest count of the window may go down.
 */
export function noteCount(
  pace: ServerPace | undefined,
  remaining: number,
  resetAt: number,
  now: number,
): ServerPace | undefined {
  // The same window: its reset read within the servers' precision of the one heard (an answer of the previous
  // window, answered late, names an earlier one).
  if (pace === undefined || !(pace.resetAt > now)) return pace;
  if (!(Math.abs(resetAt - pace.heardResetAt) < ONE_SOURCE_RESET_SPREAD_MS)) return pace;
  return remaining < pace.lowest ? { ...pace, lowest: remaining } : pace;
}

/**
 * Tokens per ms: the allowance spread evenly over the time left, in `allowance + 1` equal steps, so that the last
 * request goes one step before the reset rather than on it (where it would wait for the probe of the next window).
 */
function ratePerMs(pace: ServerPace, now: number): number {
  return (pace.allowance + 1) / Math.max(1, pace.resetAt - now);
}

function current(pace: ServerPace, now: number): number {
  const elapsed = Math.max(0, now - pace.updatedAt);
  return Math.min(pace.burst, pace.allowance, pace.tokens + elapsed * ratePerMs(pace, pace.updatedAt));
}

/**
 * The earliest instant a request of `cost` may go: `now` when it may go now, `resetAt` when the allowance is spent.
 * A pace whose reset has passed says nothing: the caller probes the server again.
 */
export function readyAt(previous: ServerPace | undefined, cost: number, now: number): number {
  const pace = previous && live(previous, now);
  if (!pace) return now;
  if (pace.allowance < cost) return pace.resetAt;
  const tokens = current(pace, now);
  if (tokens >= Math.min(cost, pace.burst)) return now;
  const wait = (Math.min(cost, pace.burst) - tokens) / ratePerMs(pace, pace.updatedAt);
  return Math.min(pace.resetAt, now + Math.ceil(wait));
}

/** The pace after a request of `cost` was sent at `now`. */
export function spend(previous: ServerPace | undefined, cost: number, now: number): ServerPace | undefined {
  const pace = previous && live(previous, now);
  if (!pace) return undefined;
  const later = pace.later;
  return {
    ...pace,
    allowance: Math.max(0, pace.allowance - cost),
    tokens: current(pace, now) - cost,
    updatedAt: now,
    later: later && { resetAt: later.resetAt, allowance: Math.max(0, later.allowance - cost) },
  };
}

/**
 * The pace after a request counted as spent turned out to count against another quota (its answer named it): `cost`
 * back, but never more than the lowest count of the window leaves once the requests still in flight are counted.
 */
export function giveBack(
  pace: ServerPace | undefined,
  cost: number,
  stillInFlight: number,
  reserved: number,
  now: number,
): ServerPace | undefined {
  if (pace === undefined || !(pace.resetAt > now)) return pace;
  const allowance = Math.max(pace.allowance, Math.min(pace.allowance + cost, pace.lowest - reserved - stillInFlight));
  if (allowance === pace.allowance) return pace;
  return {
    ...pace,
    allowance,
    tokens: Math.min(allowance, current(pace, now) + (allowance - pace.allowance)),
    updatedAt: now,
  };
}

/** The pace with its reset brought forward to `at`, when that is sooner (and still to come). */
export function resetBy(pace: ServerPace | undefined, at: number): ServerPace | undefined {
  if (pace === undefined || !(at < pace.resetAt) || !(at > pace.updatedAt)) return pace;
  return { ...pace, resetAt: at };
}
