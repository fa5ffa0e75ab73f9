// The server's clock as its `Date` fields tell it over several answers. One `Date` places the server's time within a
// second (the field has whole seconds, truncated); readings taken at different moments narrow it. Absolute instants
// a server sends (an epoch-second reset, an HTTP-date) are then placed on the local clock to within that precision
// rather than to within a second.

/** How far the server's time may run past its `Date` field by the time the answer arrives: the second it truncates. */
const DATE_RESOLUTION_MS = 1_000;
/** Allowed for the answer's way from the server, beyond which readings contradict each other (a clock was set). */
const TRANSIT_SLACK_MS = 250;

/** One `Date` reading: the server's time it names (epoch ms, whole seconds) and when its answer arrived (local). */
export interface ServerClockReading {
  /** The server's time the `Date` field names, epoch ms (whole seconds). */
  readonly dateMs: number;
  /** The local instant its answer arrived, epoch ms. */
  readonly at: number;
}

/**
 * What is known of a server's clock: the offset of its time from the local clock (server − local, ms), as an
 * interval that every `Date` reading narrows. Keep one per server (ratewise keeps one per budget) and pass it to
 * `parseRateLimit` with each answer.
 */
export class ServerClock {
  /** The server's time is at least `local + low`: its `Date` was written before the answer arrived. */
  #low = -Infinity;
  /** And below `local + high`: the `Date` truncates less than a second, plus the answer's way here. */
  #high = Infinity;
  #last: ServerClockReading | undefined;

  /**
   * Takes in a `Date` reading (epoch ms, whole seconds) of an answer that arrived at `now` (local epoch ms). A reading
   * that contradicts the earlier ones (the server's or the local clock was set) starts the estimate afresh.
   */
  observe(dateMs: number, now: number): void {
    if (!Number.isFinite(dateMs) || !Number.isFinite(now)) return;
    this.#last = { dateMs, at: now };
    const low = dateMs - now;
    const high = low + DATE_RESOLUTION_MS + TRANSIT_SLACK_MS;
    if (low >= this.#high || high <= this.#low) {
      this.#low = low;
      this.#high = high;
      return;
    }
    if (low > this.#low) this.#low = low;
    if (high < this.#high) this.#high = high;
  }

  /** The latest `Date` reading taken in, and the local instant of its answer; undefined before any. */
  get lastReading(): ServerClockReading | undefined {
    return this.#last;
  }

  /**
   * How far apart the readings still leave the server's time (ms): how much later than the true instant an instant
   * the server names may be placed. Infinity before any reading.
   */
  get uncertaintyMs(): number {
    return this.#high - this.#low;
  }

  /**
   * The server's time at the local instant `now`, as late as the readings allow it to be early: an instant the
   * server names is placed no earlier on the local clock than it can be. Undefined before any reading.
   */
  serverNow(now: number): number | undefined {
    return this.#low === -Infinity ? undefined : now + this.#low;
  }
}
