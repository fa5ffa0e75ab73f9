// Discovery of a quota the server does not describe, driven directly: what the budget tells it (sent, answered, with
// `now`) and what it answers (maySend, the hold after a window's limit, turnAt). Instants are plain numbers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Discovery } from '../../src/engine/discovery.js';

const HOLD_MS = 30_000;

/** Sends requests `from`..`to` at `now` (not probes), checking that each may go; returns the last hold. */
function sendAll(d: Discovery, from: number, to: number, now: number, inFlight = 0): number | undefined {
  let hold: number | undefined;
  for (let seq = from; seq <= to; seq++) {
    expect(d.maySend(inFlight + seq - from)).toBe(true);
    hold = d.sent(seq, now, false);
  }
  return hold;
}

/**
 * A window that accepted `accepted` of the `sent` requests sent at 0 (answered at `answeredAt`, in send order) and
 * refused the rest, without timing unless `retryAt` is given.
 */
function learnt(sent: number, accepted: number, answeredAt: number, retryAt?: number): Discovery {
  const d = new Discovery(sent, HOLD_MS);
  sendAll(d, 1, sent, 0);
  for (let seq = 1; seq <= sent; seq++) {
    d.answered(seq, seq <= accepted ? 'accepted' : 'refused', answeredAt, seq <= accepted ? undefined : retryAt);
  }
  return d;
}

describe('slow start by rounds', () => {
  it('sends a round of initialWindow, and the next round only once every request of it was answered', () => {
    const d = new Discovery(2, HOLD_MS);
    sendAll(d, 1, 2, 0);
    expect(d.maySend(2)).toBe(false);
    d.answered(1, 'accepted', 100);
    // One answer of two: the round is not over, and its freed slot does not let a third go.
    expect(d.maySend(1)).toBe(false);
    d.answered(2, 'accepted', 110);
    // Round two: four.
    sendAll(d, 3, 6, 110);
    expect(d.maySend(4)).toBe(false);
    for (let seq = 3; seq <= 6; seq++) d.answered(seq, 'accepted', 200);
    // Round three: eight.
    sendAll(d, 7, 14, 200);
    expect(d.maySend(8)).toBe(false);
    expect(d.limit).toBeUndefined();
  });

  it('counts a failed answer (no answer, a server error) as answered for the round', () => {
    const d = new Discovery(2, HOLD_MS);
    sendAll(d, 1, 2, 0);
    d.answered(1, 'accepted', 100);
    d.answered(2, 'failed', 100);
    sendAll(d, 3, 6, 100);
    expect(d.maySend(4)).toBe(false);
  });

  it('does not double a round that met a refusal: the limit takes over', () => {
    const d = learnt(4, 3, 100);
    expect(d.limit).toBe(3);
    // The window has sent its four: nothing more while anything is in flight.
    expect(d.maySend(1)).toBe(false);
  });

  // Was a bug: a round grew once every request was answered, refused or not. A refusal in a window that accepted
  // nothing sets no limit (the window was opened by someone else), so the round doubled once its last request
  // failed, although the server refused part of it.
  it('does not double a round whose only refusal came before any acceptance, once the rest failed', () => {
    const d = new Discovery(2, HOLD_MS);
    sendAll(d, 1, 2, 0);
    d.answered(1, 'refused', 100);
    d.answered(2, 'failed', 100);
    sendAll(d, 3, 3, 100);
    expect(d.maySend(1)).toBe(false);
  });

  it('always lets a request go with nothing in flight, whatever happened before', () => {
    const outcome = fc.constantFrom('accepted' as const, 'refused' as const, 'failed' as const);
    const step = fc.record({
      outcome,
      probe: fc.boolean(),
      timed: fc.boolean(),
      gap: fc.nat(5_000),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.array(step, { maxLength: 40 }), (initial, steps) => {
        const d = new Discovery(initial, HOLD_MS);
        let now = 0;
        let seq = 0;
        for (const s of steps) {
          expect(d.maySend(0)).toBe(true);
          now += s.gap;
          const hold = d.sent(++seq, now, s.probe);
          if (hold !== undefined) {
            expect(hold).toBeGreaterThanOrEqual(now);
            expect(hold).toBeLessThanOrEqual(now + HOLD_MS);
          }
          d.answered(seq, s.outcome, now, s.timed ? now + 1_000 : undefined);
          expect(d.turnAt(now)).toBeGreaterThan(now);
        }
        expect(d.maySend(0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the limit', () => {
  it('is the number of requests the window accepted when it first refused', () => {
    const d = new Discovery(10, HOLD_MS);
    sendAll(d, 1, 8, 0);
    for (let seq = 1; seq <= 5; seq++) d.answered(seq, 'accepted', 50);
    expect(d.limit).toBeUndefined();
    d.answered(6, 'refused', 50);
    expect(d.limit).toBe(5);
  });

  it('is raised by accepted answers that come after the first refusal, and not lowered by later refusals', () => {
    const d = new Discovery(10, HOLD_MS);
    sendAll(d, 1, 8, 0);
    for (let seq = 1; seq <= 3; seq++) d.answered(seq, 'accepted', 50);
    d.answered(4, 'refused', 50);
    expect(d.limit).toBe(3);
    // Answers out of order: 5 and 6 were accepted (the server counted them before 4).
    d.answered(5, 'accepted', 60);
    expect(d.limit).toBe(4);
    d.answered(6, 'accepted', 60);
    expect(d.limit).toBe(5);
    d.answered(7, 'refused', 60);
    d.answered(8, 'refused', 60);
    expect(d.limit).toBe(5);
  });

  it('is not set by a window that refused before accepting anything (someone else opened it)', () => {
    const d = new Discovery(4, HOLD_MS);
    sendAll(d, 1, 4, 0);
    d.answered(1, 'refused', 50);
    d.answered(2, 'refused', 50);
    expect(d.limit).toBeUndefined();
    // An answer accepted after those refusals is still this window's share.
    d.answered(3, 'accepted', 60);
    expect(d.limit).toBe(1);
  });

  it('lets a window send exactly its limit while requests are in flight', () => {
    const d = learnt(8, 5, 50);
    // A probe opens the next window, accepted: four more may go with it, not a fifth.
    expect(d.sent(9, 2_000, true)).toBeUndefined();
    d.answered(9, 'accepted', 2_000);
    sendAll(d, 10, 13, 2_000, 0);
    expect(d.maySend(4)).toBe(false);
    expect(d.backed(false)).toBe(false);
  });

  /**
   * The window that a probe at `at` opens: accepted, then `limit - 1` more sent with it, of which the first
   * `accepted - 1` are accepted and the rest refused (Retry-After: 1 s). Returns the next request's number.
   */
  function probedWindow(d: Discovery, seq: number, at: number, limit: number, accepted: number): number {
    d.sent(seq, at, true);
    d.answered(seq, 'accepted', at + 2);
    sendAll(d, seq + 1, seq + limit - 1, at + 2);
    for (let next = seq + 1; next < seq + limit; next++) {
      const ok = next - seq < accepted;
      d.answered(next, ok ? 'accepted' : 'refused', at + 5, ok ? undefined : at + 1_005);
    }
    return seq + limit;
  }

  // Was a bug (a run of 300 calls took 96 s where 14 s were allowed): the requests sent with a probe reached the
  // server after its window turned, so the next probe, at the end of the window they opened, found that window's last
  // request and the requests sent with it were refused. The limit became 1, and the budget sent one request a
  // window, learning more only from refusals that no longer came.
  it('is kept when a window that accepted it whole is followed by one that refused after its probe alone', () => {
    const d = learnt(8, 5, 50, 1_050);
    let seq = probedWindow(d, 9, 2_000, 5, 5);
    expect(d.limit).toBe(5);
    seq = probedWindow(d, seq, 4_000, 5, 1);
    expect(d.limit).toBe(5);
    // The next window accepts the whole limit again: one such window later is doubted again, not taken.
    seq = probedWindow(d, seq, 6_000, 5, 5);
    probedWindow(d, seq, 8_000, 5, 2);
    expect(d.limit).toBe(5);
  });

  it('is lowered by a second window in a row that refused after accepting less (a smaller quota, or a shared one)', () => {
    const d = learnt(8, 5, 50, 1_050);
    let seq = probedWindow(d, 9, 2_000, 5, 5);
    seq = probedWindow(d, seq, 4_000, 5, 3);
    expect(d.limit).toBe(5);
    probedWindow(d, seq, 6_000, 5, 3);
    expect(d.limit).toBe(3);
  });

  // The slow start may have spanned two windows of the server: what it counted is then more than one window accepts,
  // and the first window sent at that limit says so.
  it('is lowered at once when no window has accepted it whole yet', () => {
    const d = learnt(8, 5, 50, 1_050);
    probedWindow(d, 9, 2_000, 5, 3);
    expect(d.limit).toBe(3);
  });

  it('says a request within the learnt limit is backed, a probe never', () => {
    const d = learnt(8, 5, 50);
    expect(d.sent(9, 2_000, true)).toBeUndefined();
    d.answered(9, 'accepted', 2_000);
    expect(d.backed(false)).toBe(true);
    expect(d.backed(true)).toBe(false);
    expect(new Discovery(10, HOLD_MS).backed(false)).toBe(false);
  });
});

describe('a Retry-After of 0', () => {
  it('teaches nothing: no limit, no bound, and the round still counts it as answered', () => {
    const d = new Discovery(4, HOLD_MS);
    sendAll(d, 1, 4, 0);
    d.answered(1, 'accepted', 50);
    d.answered(2, 'accepted', 50);
    // retryAt at or before the answer: "come back now".
    d.answered(3, 'refused', 60, 60);
    d.answered(4, 'refused', 70, 10);
    expect(d.limit).toBeUndefined();
    expect(d.bounds).toEqual({ lo: 0, hi: undefined });
    // Nothing learnt: the window is still measured on the ladder from its first answer.
    expect(d.turnAt(100)).toBe(50 + 1_005);
    // The round of four was answered in full: the next has eight.
    sendAll(d, 5, 12, 100);
    expect(d.maySend(8)).toBe(false);
  });

  it('is no sign of a timed server: the hold after the limit still searches between the bounds', () => {
    // A limit of 3 learnt without timing; the next window opens with a probe at 1 005 (bounds 0..1 005).
    const d = learnt(4, 3, 0);
    expect(d.sent(5, 1_005, true)).toBeUndefined();
    d.answered(5, 'accepted', 1_005);
    expect(d.sent(6, 1_010, false)).toBeUndefined();
    // A refusal saying "come back now" must not switch the search off.
    d.answered(6, 'refused', 1_010, 1_010);
    expect(d.bounds).toEqual({ lo: 0, hi: 1_005 });
    // The window's third request is its limit: hold half way, at 1 005 + 503 (timed: at 1 005 + 1 005).
    expect(d.sent(7, 1_020, false)).toBe(1_005 + 503);
  });
});

describe('the window', () => {
  it('is measured from the first accepted answer, on the ladder while its length is unknown', () => {
    const d = learnt(4, 3, 120);
    expect(d.bounds).toEqual({ lo: 0, hi: undefined });
    expect(d.turnAt(130)).toBe(120 + 1_005);
  });

  it('turnAt moves past a guess that has already passed, without keeping it as a bound', () => {
    const d = learnt(4, 3, 0);
    expect(d.turnAt(1_005)).toBe(2_010);
    expect(d.turnAt(2_500)).toBe(3_015);
    expect(d.turnAt(4_000)).toBe(5_025);
    expect(d.bounds).toEqual({ lo: 0, hi: undefined });
  });

  it('turnAt counts from now before any answer', () => {
    expect(new Discovery(10, HOLD_MS).turnAt(7_000)).toBe(8_005);
  });

  it('a refused probe raises lo; an accepted one sets hi and opens a new window', () => {
    const d = learnt(4, 3, 0);
    expect(d.sent(5, 1_005, true)).toBeUndefined();
    d.answered(5, 'refused', 1_005);
    expect(d.bounds).toEqual({ lo: 1_005, hi: undefined });
    expect(d.turnAt(1_005)).toBe(2_010);
    expect(d.sent(6, 2_010, true)).toBeUndefined();
    d.answered(6, 'accepted', 2_030);
    expect(d.bounds).toEqual({ lo: 1_005, hi: 2_010 });
    // The new window opened with the probe: measured from its answer.
    expect(d.turnAt(2_030)).toBe(2_030 + 2_010);
  });

  it('holds the rest once the window sent its limit: half way between the bounds while they are far apart', () => {
    const d = learnt(4, 3, 0);
    d.sent(5, 1_005, true);
    d.answered(5, 'refused', 1_005);
    d.sent(6, 2_010, true);
    d.answered(6, 'accepted', 2_010);
    // The probe is the window's first; two more make its limit of three.
    expect(d.sent(7, 2_010, false)).toBeUndefined();
    expect(d.sent(8, 2_010, false)).toBe(2_010 + 1_508);
    // Refused half way: lo rises, and the next window holds until 3/4.
    d.sent(9, 3_518, true);
    d.answered(9, 'refused', 3_518);
    expect(d.bounds).toEqual({ lo: 1_508, hi: 2_010 });
    d.sent(10, 4_020, true);
    d.answered(10, 'accepted', 4_020);
    d.sent(11, 4_020, false);
    expect(d.sent(12, 4_020, false)).toBe(4_020 + 1_759);
  });

  it('after a timed refusal (Retry-After), holds until hi: no search between the bounds', () => {
    // The refusal, 10 ms into the window, says to come back at 2 010: the window ends by then, and is taken in whole
    // seconds (2 s). The hold after the limit goes at hi, not half way (1 s), where a refusal would cost a whole
    // Retry-After.
    const d = learnt(4, 3, 0, 2_010);
    expect(d.bounds).toEqual({ lo: 0, hi: 2_000 });
    d.sent(5, 2_010, true);
    d.answered(5, 'accepted', 2_010);
    expect(d.bounds).toEqual({ lo: 0, hi: 2_000 });
    d.sent(6, 2_010, false);
    expect(d.sent(7, 2_010, false)).toBe(2_010 + 2_000);

    // Without timing, the same probe sets hi, and the hold goes half way.
    const untimed = learnt(4, 3, 0);
    untimed.sent(5, 2_010, true);
    untimed.answered(5, 'accepted', 2_010);
    expect(untimed.bounds).toEqual({ lo: 0, hi: 2_010 });
    untimed.sent(6, 2_010, false);
    expect(untimed.sent(7, 2_010, false)).toBe(2_010 + 1_005);
  });

  it('keeps a timed bound as it is when the whole second below it was refused already', () => {
    const d = learnt(4, 3, 0);
    d.sent(5, 1_005, true);
    d.answered(5, 'refused', 1_005);
    expect(d.bounds).toEqual({ lo: 1_005, hi: undefined });
    // A late refusal of the window says come back at 1 500: 1 s is ruled out, so hi is 1 500.
    d.sent(6, 1_100, false);
    d.answered(6, 'refused', 1_100, 1_500);
    expect(d.bounds).toEqual({ lo: 1_005, hi: 1_500 });
  });

  // Was a bug: a Retry-After in whole seconds puts the window's end within the second up to `retryAt`, so the window
  // is `floor(most / 1000)` whole seconds (`most = retryAt - windowStart`); the whole second strictly below was one
  // second short whenever `most` is itself whole (a refusal handled in the millisecond its window opened, answered
  // as fast as the window's first answer). Here the window is 2 s and the refusal says 2 s.
  it('takes a Retry-After that times the window exactly in whole seconds as that many seconds', () => {
    const d = learnt(4, 3, 0, 2_000);
    expect(d.bounds).toEqual({ lo: 0, hi: 2_000 });
  });

  it('a window of one holds from the probe itself', () => {
    const d = learnt(2, 1, 0);
    expect(d.limit).toBe(1);
    expect(d.sent(3, 1_005, true)).toBe(1_005 + 1_005);
  });

  it('holds at most maxHoldMs', () => {
    const d = new Discovery(4, 300);
    sendAll(d, 1, 4, 0);
    for (let seq = 1; seq <= 3; seq++) d.answered(seq, 'accepted', 0);
    d.answered(4, 'refused', 0);
    d.sent(5, 1_005, true);
    d.answered(5, 'accepted', 1_005);
    d.sent(6, 1_005, false);
    // The window is at most 1 005 long: it would hold half way, until 1 508; 300 ms is the cap.
    expect(d.sent(7, 1_010, false)).toBe(1_010 + 300);
  });
});
