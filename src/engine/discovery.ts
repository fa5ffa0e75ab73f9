// Discovering a quota the server does not describe (no rate-limit fields, or none yet): a slow start by rounds, then
// the limit and the window learned from the server's refusals. No timers and no clock of its own: the budget tells
// it what was sent and what came back, with `now`, and asks it when the server's window should have turned.
import {
  acceptedAt,
  probeOffset,
  refusedAt,
  UNKNOWN_WINDOW,
  wholeSecondsWithin,
  type WindowBounds,
} from './window-bounds.js';

/** How much earlier than its first answer a window may have opened, allowed for when reading its length. */
const ANSWER_LATENESS_MS = 50;

/**
 * What a budget knows of a server that limits without saying so.
 *
 * - Slow start: a round of `initialWindow` requests goes at once; once a full round is answered without a refusal,
 *   the next round may send twice as many (TCP's slow start, by rounds rather than by answers, so that a server that
 *   limits without saying so refuses at most the last round's requests).
 * - A refusal (any throttle) ends the slow start: the requests the refusing window accepted are its limit, and the
 *   window is taken to have opened when its first request was answered (the server opened it between that request's
 *   send and its answer: the answer is the safe end to measure from). From then on a window's requests go at once up to that
 *   limit, and the budget holds the rest until the window should have turned; then one request probes it.
 * - A window that refuses after accepting fewer lowers the limit to what it accepted; once a whole window has
 *   accepted the limit, only the second such window in a row does (the first is more often a window that had not
 *   turned than a smaller quota).
 * - Each probe narrows the window's length (see window-bounds.ts): refused, it ran longer; accepted, a new window
 *   opened with it. Probes after a window whose quota went unrefused may try half way between the bounds: a refusal
 *   there costs one request per window and no time.
 */
export class Discovery {
  /** Slow start: requests the current round may send, and how many it sent and had answered. */
  #roundSize: number;
  #roundSent = 0;
  #roundAnswered = 0;
  /** Whether the current round met a refusal: it does not grow. */
  #roundRefused = false;
  /** The first request (by send order) of the current round. */
  #roundFrom = 1;
  /** The latest request sent, by send order. */
  #lastSeq = 0;
  /** Requests one window accepts, once a refusal has shown it; undefined before. */
  #limit: number | undefined;
  /**
   * What the windows said of `#limit`: 0, no window has accepted it whole yet; 1, one has; 2, one has, and the
   * latest window that refused first accepted less (kept: one such window is more likely a window that had not
   * turned, where a probe took its last request, than a smaller quota).
   */
  #trust = 0;
  #bounds: WindowBounds = UNKNOWN_WINDOW;
  /** When the first request of the window the server is believed to be in was answered; undefined before any. */
  #windowStart: number | undefined;
  /** The first request of that window, by send order. */
  #windowFrom = 1;
  #windowSent = 0;
  #windowAccepted = 0;
  /** Whether that window refused a request already: only its first refusal says where its limit is. */
  #windowRefused = false;
  /**
   * Whether the server's refusals say when to come back (`Retry-After`): a probe between the bounds would then cost
   * the whole wait it orders, so none is tried.
   */
  #timed = false;
  /** The request sent alone to find out whether a new window has opened, and when it went; 0 when none. */
  #probeSeq = 0;
  #probeAt = 0;

  constructor(
    initialWindow: number,
    /** The longest a window's learned limit holds the rest back before a probe asks again, in ms. */
    private readonly maxHoldMs: number,
  ) {
    this.#roundSize = initialWindow;
  }

  /** Requests one window accepts, once a refusal has shown it. */
  get limit(): number | undefined {
    return this.#limit;
  }

  /** What is known of the window's length. */
  get bounds(): WindowBounds {
    return this.#bounds;
  }

  /** Whether one more request may go now as far as discovery is concerned, with `inFlight` requests in flight. */
  maySend(inFlight: number): boolean {
    // Nothing in flight: no answer will come to let it go later (a round's requests may have failed unanswered).
    if (inFlight === 0) return true;
    if (this.#limit !== undefined) return this.#windowSent < this.#limit;
    return this.#roundSent < this.#roundSize;
  }

  /** Whether a request sent now (not a probe) goes within a share the server has been seen to accept. */
  backed(probe: boolean): boolean {
    return !probe && this.#limit !== undefined && this.#windowSent < this.#limit;
  }

  /**
   * Request `seq` goes at `now`; `probe` when it goes alone to find out whether a new window has opened. Returns the
   * instant until which the next requests must wait when this one uses up the window's learned limit.
   */
  sent(seq: number, now: number, probe: boolean): number | undefined {
    this.#lastSeq = seq;
    this.#roundSent++;
    if (probe) {
      // Counted in the window it opens, once accepted (see `answered`).
      this.#probeSeq = seq;
      this.#probeAt = now;
      // A window of one: accepted, the probe is all of the window it opens.
      return this.#limit === 1 ? this.#holdUntil(now, now) : undefined;
    }
    this.#windowSent++;
    if (this.#limit === undefined || this.#windowSent < this.#limit) return undefined;
    return this.#holdUntil(now, this.#windowStart ?? now);
  }

  /**
   * Until when the rest waits once the window opened at `start` has sent its limit; at least `now`, at most
   * `maxHoldMs` from now.
   */
  #holdUntil(now: number, start: number): number {
    return Math.min(now + this.maxHoldMs, Math.max(now, start + probeOffset(this.#bounds, !this.#timed)));
  }

  /**
   * Request `seq` ended: `'accepted'`, `'refused'` (a throttle), or `'failed'` (no answer, or a server error that
   * says nothing of the quota). `retryAt`: the instant a refusal told to come back at, when it did. The budget asks
   * {@link turnAt} when it must pause.
   */
  answered(seq: number, outcome: 'accepted' | 'refused' | 'failed', now: number, retryAt?: number): void {
    // A refusal that says to come back now (`Retry-After: 0`) tells of no window: only the round counts it.
    const comeBackNow = outcome === 'refused' && retryAt !== undefined && retryAt <= now;
    if (seq >= this.#roundFrom) {
      this.#roundAnswered++;
      if (outcome === 'refused' && !comeBackNow) this.#roundRefused = true;
    }
    if (outcome === 'failed' || comeBackNow) {
      if (seq === this.#probeSeq) this.#probeSeq = 0;
      this.#growRound();
      return;
    }
    const accepted = outcome === 'accepted';
    if (!accepted) this.#timed = retryAt !== undefined;
    if (seq === this.#probeSeq) {
      this.#probeSeq = 0;
      const start = this.#windowStart ?? this.#probeAt;
      const offset = this.#probeAt - start;
      if (!accepted) {
        this.#bounds = refusedAt(this.#bounds, offset);
        return;
      }
      // A new window opened with the probe.
      if (offset > 0) this.#bounds = acceptedAt(this.#bounds, offset);
      this.#windowStart = now;
      this.#windowFrom = seq;
      this.#windowSent = 1;
      this.#windowAccepted = 0;
      this.#windowRefused = false;
    }
    if (seq < this.#windowFrom) return;
    if (accepted) {
      this.#windowStart ??= now;
      this.#windowAccepted++;
      // Accepted answers that come after the window's first refusal (sent before it) belong to its limit too.
      if (this.#windowRefused && this.#windowAccepted > (this.#limit ?? 0)) this.#limit = this.#windowAccepted;
      // The whole limit accepted in one window: it holds.
      if (!this.#windowRefused && this.#windowAccepted >= (this.#limit ?? Infinity)) this.#trust = 1;
      this.#growRound();
      return;
    }
    // The server says when its window turns (rounded up to whole seconds, as `Retry-After` is): the window is no
    // longer than that, and, configured in whole seconds, it is the whole second below, when that is still longer
    // than what was refused.
    const start = this.#windowStart;
    if (retryAt !== undefined && start !== undefined && retryAt > start) {
      // The window opened a little before its first answer: up to that much longer than `retryAt - start`.
      this.#bounds = acceptedAt(this.#bounds, wholeSecondsWithin(retryAt - start, this.#bounds.lo, ANSWER_LATENESS_MS));
    }
    if (this.#windowRefused) return;
    this.#windowRefused = true;
    // A window refused before it accepted anything had been opened by someone else: it says nothing of the limit.
    if (this.#windowAccepted > 0) this.#learn(this.#windowAccepted);
  }

  /**
   * A window refused first after accepting `accepted` requests. Taken as its limit, but a limit that a whole window
   * has accepted is lowered only by a second such window in a row: the first is more likely a window that had not
   * turned, where a probe found the last request of a window the requests before it had filled (they reached the
   * server after its turn), than a smaller quota. Lowered at once, it would send that one request a window.
   */
  #learn(accepted: number): void {
    const limit = this.#limit ?? Infinity;
    if (accepted < limit && this.#trust === 1) {
      this.#trust = 2;
      return;
    }
    // A window that accepted the limit or more before its first refusal has accepted it whole.
    this.#trust = accepted < limit ? 0 : 1;
    this.#limit = accepted;
  }

  /** The next round of the slow start: twice as many, once a full round has been answered without a refusal. */
  #growRound(): void {
    if (this.#limit !== undefined || this.#roundSent < this.#roundSize) return;
    if (this.#roundAnswered < this.#roundSent || this.#roundRefused) return;
    this.#roundSize *= 2;
    this.#roundSent = 0;
    this.#roundAnswered = 0;
    this.#roundFrom = this.#lastSeq + 1;
  }

  /**
   * When the current window should have turned, as the next probe should find it: at least `now`. For the pause after
   * a throttle that gave no timing of its own.
   */
  turnAt(now: number): number {
    const start = this.#windowStart ?? now;
    let bounds = this.#bounds;
    let at = start + probeOffset(bounds, false);
    // Already past: the window has lasted longer than thought (a refusal now says so). Only for this answer: `now`
    // is later than the refused request's send, so it is no bound to keep.
    while (at <= now) {
      bounds = refusedAt(bounds, now - start);
      at = start + probeOffset(bounds, false);
    }
    return at;
  }
}
