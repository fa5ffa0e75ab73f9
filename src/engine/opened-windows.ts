// A fixed window that opens with the first request after the previous one ended (express-rate-limit's memory store,
// Flask-Limiter's fixed window): it resets one window length after that request arrived. A server that states its
// reset in whole seconds places it only within a second; the windows the budget's own probes opened place it better,
// once their length is known. No timers and no clock of its own: the budget tells it what was sent and read, with
// `now`.
import type { RateLimitInfo, RateLimitPolicy } from '../headers/types.js';
import { wholeSecondsWithin } from './window-bounds.js';

/**
 * What the windows opened by the budget's probes tell of the window's length, and where the current window's reset
 * falls by it.
 *
 * - A probe (the request sent alone once a window has reset) whose answer shows a fresh quota opened a window: that
 *   window resets one length after the probe arrived, which is after it was sent and no later than its answer. Its
 *   reset as read (never early) less the probe's send is a length the window cannot exceed; the least of these is
 *   kept. A reset read in whole seconds comes less than a second after the true one: the reset less a second less
 *   the probe's answer is a length the window exceeds; the greatest of these is kept.
 * - Windows are configured in whole seconds: the longest whole number of seconds within that bound is the window's
 *   length, when the window exceeds it. (A window probed every time at a reset read in whole seconds
 *   opens at the same fraction of a second each time, and the bounds alone would stay a second apart.)
 * - An answer that dates itself (`Date`) and names its reset as an epoch second tells more: its window opened no
 *   later than the answer was written, so the window lasts at least the reset less that date less the second both
 *   truncate (see `observed`). This bound is usually exact: the first answer of a window is written within
 *   milliseconds of the request that opened it. Once it is known, the window's length is the shortest whole number
 *   of seconds within the bounds: the earliest instant every reading allows, rather than the latest. Should the
 *   probe sent there be refused (a second turned between the opening request and its answer's date, or the windows
 *   follow the clock), the window is longer than that: the next whole second is tried, at the cost of that one
 *   probe, and a second refusal drops the model.
 * - The current window then resets no later than the probe's answer plus that length: the budget's pace may end
 *   there rather than at the reset as read.
 * - A probe sent at a reset brought forward so that is refused, or finds the window still running, shows that this
 *   server's windows do not open with the client's requests (they follow the clock, or another client): the model is
 *   dropped for good, at the cost of that one probe. One that is accepted with only part of the quota back shows a
 *   window that slides: see {@link slidingLength}.
 */
const SECOND_MS = 1_000;

/**
 * A length the window runs longer than, from an answer (arrived at `now`) whose quota's reset the server stated as
 * seconds left (`delays`: the IETF fields, a small `X-RateLimit-Reset`; see `readRateLimit`): it wrote them after the
 * window had opened, rounded to whole seconds, so the window lasts more than them less a second, whenever the answer
 * was written and whatever its `Date` says. Taken from the quota `info` reports (same limit); undefined when none of
 * its fields states seconds left.
 */
export function secondsLeftBound(
  info: RateLimitInfo,
  delays: readonly RateLimitPolicy[],
  now: number,
): number | undefined {
  let above: number | undefined;
  for (const p of delays) {
    if (p.resetAt === undefined || p.limit !== info.limit) continue;
    const bound = p.resetAt - now - SECOND_MS;
    if (above === undefined || bound > above) above = bound;
  }
  return above;
}

export class OpenedWindows {
  /** The window is no longer than this, in ms. */
  #lengthAtMost = Infinity;
  /** And longer than this, in ms. */
  #lengthAbove = 0;
  /** And at least this long, in ms, from answers that date themselves; 0 until one has. */
  #lengthAtLeast = 0;
  /** The bound from the opening requests' dated answers, in ms, taken once `#epoch`. */
  #dated = 0;
  /** Whether an answer showed that the server's resets are epoch seconds. */
  #epoch = false;
  /** Probes sent at a reset the shortest length brought forward, and refused. */
  #refusedEarly = 0;
  /** The length the model held when the probe went. */
  #probeLength = 0;
  /** The server's windows do not open with the budget's probes. */
  #off = false;
  /** The probe of the next window, and when it was sent; 0 when none is in flight. */
  #probeSeq = 0;
  #probeAt = 0;
  /** Whether the probe went at a reset this model brought forward. */
  #probeEarly = false;
  /** When the probe that opened the current window was answered; undefined when no probe of ours opened it. */
  #openedAt: number | undefined;
  /** Whether the current window's reset was brought forward by this model. */
  #brought = false;
  /** Whether the request in `#probeSeq` is the budget's first (see `probeSent`). */
  #first = false;
  /** Whether a probe showed that the window slides. */
  #slides = false;

  /**
   * The window's length when the probes showed that it slides (a probe sent where a whole window should have
   * reset found only part of the quota back), undefined otherwise.
   */
  get slidingLength(): number | undefined {
    return this.#slides ? this.#length() : undefined;
  }

  /** The window's length as the bounds tell it: in whole seconds when they allow it. */
  #length(): number {
    const atMost = this.#lengthAtMost;
    const atLeast = this.#lengthAtLeast;
    if (atLeast > 0) {
      // The shortest whole number of seconds the bounds allow.
      const shortest = Math.max(Math.ceil(atLeast / SECOND_MS), Math.floor(this.#lengthAbove / SECOND_MS) + 1);
      if (shortest * SECOND_MS <= atMost) return shortest * SECOND_MS;
    }
    return wholeSecondsWithin(atMost, this.#lengthAbove);
  }

  /**
   * Request `seq` went alone at `now` to ask whether the window has reset; or, `first`, it is the budget's first
   * request, which opened the server's first window (others may have gone with it: its answer need not show a
   * fresh quota, and the first answer of all tells when the window had opened by).
   */
  probeSent(seq: number, now: number, first = false): void {
    this.#first = first;
    this.#probeSeq = seq;
    this.#probeAt = now;
    this.#probeEarly = this.#brought;
    this.#probeLength = this.#length();
    this.#openedAt = undefined;
    this.#brought = false;
  }

  /**
   * The answer to request `seq` came at `now`: `fresh` when it shows a quota just opened (nothing spent but this
   * request), `refused` when it is a throttle, with the reset it read (undefined when none). Returns the instant the
   * current window resets by, when the windows opened so far tell it and it comes before `resetAt`.
   */
  observed(
    seq: number,
    now: number,
    fresh: boolean,
    refused: boolean,
    resetAt: number | undefined,
    /** How much later than the true reset `resetAt` may be placed (the server clock's uncertainty), ms. */
    lateBy = 0,
    /**
     * The reset less the answer's own `Date`, both as the server wrote them (ms), when the reset may be an epoch
     * second and the answer is dated: the window's opening came no later than that date, and both truncate to the
     * second, so the window lasts at least this less a second.
     */
    resetAfterDate?: number,
    /** Whether this answer's reset was surely an epoch second (see the budget's `#resetAfterDate`). */
    epoch = false,
    /** A length the window runs longer than, from this answer's seconds left (see {@link secondsLeftBound}), ms. */
    secondsLeftAbove?: number,
  ): number | undefined {
    if (this.#first && this.#openedAt === undefined) this.#openedAt = now;
    // Seconds left hold whichever answer states them, unlike a Date, which may be a second later than the opening.
    if (secondsLeftAbove !== undefined && !refused && secondsLeftAbove > this.#lengthAbove) {
      this.#lengthAbove = secondsLeftAbove;
    }
    // Only the answer to the request that opened the window: it was written milliseconds after that request arrived,
    // in the same second but for the rare one that turned between them. Another answer may be written a second later
    // than the window opened, and bound it a second short.
    if (seq === this.#probeSeq && resetAfterDate !== undefined && resetAfterDate - SECOND_MS > this.#dated) {
      this.#dated = resetAfterDate - SECOND_MS;
    }
    // The bound holds once the server is known to send epoch seconds: seconds left would give it a second long.
    if (epoch) this.#epoch = true;
    if (this.#epoch && this.#dated > this.#lengthAtLeast) this.#lengthAtLeast = this.#dated;
    if (seq === this.#probeSeq) {
      this.#probeSeq = 0;
      if (refused || (!fresh && !this.#first) || resetAt === undefined) {
        if (this.#probeEarly) {
          if (refused && this.#refusedEarly === 0 && this.#lengthAtLeast > 0) {
            // Sent at the shortest length the readings allowed, and refused: the window is longer. Once.
            this.#refusedEarly++;
            this.#lengthAbove = Math.max(this.#lengthAbove, this.#probeLength);
            return undefined;
          }
          // Accepted but not fresh: a slot had freed, not the whole window: the window slides.
          if (!refused && resetAt !== undefined) this.#slides = true;
          this.#off = true;
        }
        return undefined;
      }
      this.#lengthAtMost = Math.min(this.#lengthAtMost, resetAt - this.#probeAt);
      this.#lengthAbove = Math.max(this.#lengthAbove, resetAt - lateBy - SECOND_MS - now);
      if (!this.#first) this.#openedAt = now;
      this.#first = false;
    }
    if (this.#off || this.#openedAt === undefined || resetAt === undefined) return undefined;
    // The longest whole number of seconds below the bound: the window ends before the reset read, not on it.
    const by = this.#openedAt + this.#length();
    if (!(by < resetAt)) return undefined;
    this.#brought = true;
    return by;
  }
}
