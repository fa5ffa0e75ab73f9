// Pacing by what the server said of a quota counted in another unit than requests (tokens, input tokens, bytes):
// how much is left now, how fast it comes back, and what the requests in flight will take of it. Pure: the state is
// a plain object the budget owns; every function takes `now`.

/** What the budget believes of the server's quota in one unit. */
export interface UnitPace {
  /** Units left at `at`, less what was sent since and not yet counted by the server (below 0: a debt). */
  readonly level: number;
  /** The most the quota holds (the server's limit). */
  readonly capacity: number;
  /**
   * Units that come back per ms. `continuous`: the quota refills evenly until it is full again at the reset (the LLM
   * vendors'); `window`: all of it comes back at `resetAt` (a fixed window).
   */
  readonly perMs: number;
  readonly refill: 'continuous' | 'window';
  /** Epoch ms the server named for its quota to be whole again. */
  readonly resetAt: number;
  readonly at: number;
}

/** One answer's reading of a unit's quota. */
export interface UnitObservation {
  readonly remaining: number;
  readonly limit: number | undefined;
  readonly resetAt: number | undefined;
  /** Units of this budget's requests still in flight, besides the one whose answer this is: counted as spent. */
  readonly inFlight: number;
  readonly refill: 'continuous' | 'window';
}

/** The pace after an answer said `remaining` units are left. */
export function observeUnit(o: UnitObservation, now: number): UnitPace {
  const capacity = Math.max(o.limit ?? o.remaining, o.remaining, 1);
  const resetAt = o.resetAt !== undefined && o.resetAt > now ? o.resetAt : now;
  // Evenly back to the limit by the reset; a quota that is whole (or names no reset) comes back as fast as a window
  // of one second would bring all of it, which only matters once it has been spent.
  const missing = capacity - o.remaining;
  const perMs = missing > 0 && resetAt > now ? missing / (resetAt - now) : capacity / 1_000;
  return { level: o.remaining - o.inFlight, capacity, perMs, refill: o.refill, resetAt, at: now };
}

/** Units available at `now`. */
export function unitLevel(pace: UnitPace, now: number): number {
  if (pace.refill === 'window') return now >= pace.resetAt ? pace.capacity : pace.level;
  return Math.min(pace.capacity, pace.level + Math.max(0, now - pace.at) * pace.perMs);
}

/**
 * The earliest instant a request taking `amount` units may go: `now` when enough is left. A request larger than the
 * whole quota goes when the quota is whole, and the rest repay it.
 */
export function unitReadyAt(pace: UnitPace, amount: number, now: number): number {
  const needed = Math.min(amount, pace.capacity);
  const level = unitLevel(pace, now);
  if (level >= needed) return now;
  if (pace.refill === 'window') return Math.max(now + 1, pace.resetAt);
  return now + Math.max(1, Math.ceil((needed - level) / pace.perMs));
}

/** The pace after a request taking `amount` units was sent at `now`. */
export function spendUnit(pace: UnitPace, amount: number, now: number): UnitPace {
  const level = unitLevel(pace, now);
  // A window that has turned holds its whole quota again, until a reset not known yet: the next answer names it;
  // until then, a second is assumed, the shortest window a server names.
  const turned = pace.refill === 'window' && now >= pace.resetAt;
  return { ...pace, level: level - amount, at: now, resetAt: turned ? now + 1_000 : pace.resetAt };
}
