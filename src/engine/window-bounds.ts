// What a server that limits without describing its quota reveals of its window: bounds on the window's length,
// narrowed by each probe sent after a window should have turned. Pure: plain values in, plain values out.

/**
 * What is known of the window's length, in ms from the instant a window opened (the send of its first request):
 * a probe sent `lo` after that was refused (the window was still running), one sent `hi` after it was accepted (a new
 * window had opened). `hi` is undefined until a probe has been accepted.
 */
export interface WindowBounds {
  readonly lo: number;
  readonly hi: number | undefined;
}

export const UNKNOWN_WINDOW: WindowBounds = { lo: 0, hi: undefined };

/**
 * The window lengths servers are configured with, tried in turn until one is accepted: a limit is almost always set
 * per second, per few seconds, per minute. Past the last, the guess doubles.
 */
export const WINDOW_LADDER_MS: readonly number[] = [1_000, 2_000, 3_000, 5_000, 10_000, 15_000, 20_000, 30_000, 60_000];

/**
 * Added to a guessed window end: a request reaches the server a little after it is sent, and the first request of
 * the window did too, but not always by the same amount.
 */
export function probeMargin(offsetMs: number): number {
  return Math.max(5, Math.ceil(offsetMs * 0.005));
}

/** Below this share of `hi`, the bounds are close enough: no more probes between them. */
const SEARCH_PRECISION = 1 / 8;

/**
 * The offset from a window's opening at which to probe whether it has turned.
 * - Known to turn by `hi`: at `hi`; or, when `search` (a window whose quota went unrefused, so that one refusal costs
 *   no time: the probe goes back to the queue and the window still turns by `hi`), half way between `lo` and `hi`
 *   while they are far apart.
 * - Not known yet: the next length servers are configured with (see {@link WINDOW_LADDER_MS}) past `lo`.
 */
export function probeOffset(bounds: WindowBounds, search: boolean): number {
  const { lo, hi } = bounds;
  if (hi !== undefined) {
    if (search && hi - lo > hi * SEARCH_PRECISION) return Math.ceil((lo + hi) / 2);
    return hi;
  }
  let rung = WINDOW_LADDER_MS.find((length) => length + probeMargin(length) > lo);
  if (rung === undefined) {
    rung = WINDOW_LADDER_MS[WINDOW_LADDER_MS.length - 1]!;
    while (rung + probeMargin(rung) <= lo) rung *= 2;
  }
  return rung + probeMargin(rung);
}

const SECOND_MS = 1_000;

/**
 * A window's length from a bound it cannot exceed (`atMost`, ms) and one it exceeds (`above`): windows are configured
 * in whole seconds, so the longest whole number of seconds within the bound (allowing `slackMs` past it, for how much
 * the bound may fall short) when that still exceeds `above`, else the bound itself.
 */
export function wholeSecondsWithin(atMost: number, above: number, slackMs = 0): number {
  const seconds = Math.floor((atMost + slackMs) / SECOND_MS) * SECOND_MS;
  return seconds > above ? seconds : atMost;
}

/** A probe sent `offset` after the window opened was refused: the window runs longer than that. */
export function refusedAt(bounds: WindowBounds, offset: number): WindowBounds {
  if (!(offset >= 0)) return bounds;
  // Refused where a window had turned before: the window has grown (or the server changed): learn it again.
  const hi = bounds.hi !== undefined && offset >= bounds.hi ? undefined : bounds.hi;
  return { lo: Math.max(bounds.lo, offset), hi };
}

/** A probe sent `offset` after the window opened was accepted: the window is no longer than that. */
export function acceptedAt(bounds: WindowBounds, offset: number): WindowBounds {
  if (!(offset >= 0)) return bounds;
  // Accepted where a window was running before: the window has shrunk; what was refused says nothing any more.
  const lo = offset <= bounds.lo ? 0 : bounds.lo;
  return { lo, hi: Math.min(bounds.hi ?? Infinity, offset) };
}
