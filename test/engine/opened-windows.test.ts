// Windows opened by the budget's own probes: their length from the resets read, and the reset it brings forward.
import { describe, expect, it } from 'vitest';
import { OpenedWindows, secondsLeftBound } from '../../src/engine/opened-windows.js';
import { readRateLimit, type RateLimitPolicy } from '../../src/headers/index.js';

/** A whole second of the local clock, so that resets read in whole seconds are easy to follow. */
const S = 1_700_000_000_000;

describe('OpenedWindows', () => {
  it('takes the whole-second length the window cannot exceed, when the window exceeds the second below', () => {
    // The probe went at S+500 and came back at S+540 with a fresh quota that resets at S+3 s (whole seconds): the
    // window is at most 2.5 s and more than 3 000 - 1 000 - 540 = 1.46 s long. Windows are whole seconds: 2 s.
    const w = new OpenedWindows();
    w.probeSent(7, S + 500);
    expect(w.observed(7, S + 540, true, false, S + 3_000)).toBe(S + 540 + 2_000);
    // Later answers of the same window: the same reset, brought forward as well.
    expect(w.observed(8, S + 600, false, false, S + 3_000)).toBe(S + 2_540);
  });

  it('takes a bound that is a whole number of seconds as the length: a server may round its reset up, not past', () => {
    // Sent at S, answered at S+40, reset read S+2 s: a reset rounded up may be the true one, and the probe may have
    // reached the server in the millisecond it went: 2 s is not ruled out, so nothing is brought forward.
    const w = new OpenedWindows();
    w.probeSent(1, S);
    expect(w.observed(1, S + 40, true, false, S + 2_000)).toBeUndefined();
  });

  it('brings nothing forward when the window is known to exceed the whole second below its bound', () => {
    // Sent and answered at S, reset read S+3 s: at most 3 s, at least 3 000 - 1 000 - 0 = 2 000 ms, which rules out
    // 2 s: the length is the bound, and the window ends by the reset read, not before.
    const w = new OpenedWindows();
    w.probeSent(1, S);
    expect(w.observed(1, S, true, false, S + 3_000)).toBeUndefined();
  });

  it('keeps the least upper bound and the greatest lower bound over the windows probed', () => {
    const w = new OpenedWindows();
    // First window: more than 3 100 - 1 000 - 5 = 2 095 ms, at most 3.1 s: taken as 3 s.
    w.probeSent(1, S);
    expect(w.observed(1, S + 5, true, false, S + 3_100)).toBe(S + 3_005);
    // Second (a reset read to the ms): at most 2.4 s. The second below, 2 s, is ruled out by the first window: the
    // length is the bound itself, which ends after this reset.
    w.probeSent(2, S + 5_000);
    expect(w.observed(2, S + 5_010, true, false, S + 7_400)).toBeUndefined();
    // Third: at most 3 s and more than 1.99 s by itself; with the others, more than 2.095 s and at most 2.4 s.
    w.probeSent(3, S + 10_000);
    expect(w.observed(3, S + 10_010, true, false, S + 13_000)).toBe(S + 10_010 + 2_400);
  });

  it('learns from the probe only: answers to other requests neither bound the window nor open one', () => {
    const w = new OpenedWindows();
    expect(w.observed(3, S + 540, true, false, S + 3_000)).toBeUndefined();
    w.probeSent(4, S + 500);
    // Another request's answer arrives first: it says nothing of the window the probe opens.
    expect(w.observed(3, S + 520, true, false, S + 3_000)).toBeUndefined();
    expect(w.observed(4, S + 540, true, false, S + 3_000)).toBe(S + 2_540);
  });

  it('says nothing for a window no probe of ours opened', () => {
    const w = new OpenedWindows();
    w.probeSent(1, S + 500);
    // The probe found the window running (not fresh): someone else opened it.
    expect(w.observed(1, S + 540, false, false, S + 3_000)).toBeUndefined();
    expect(w.observed(2, S + 600, false, false, S + 3_000)).toBeUndefined();
    // A later probe that opens a window is measured as usual: the model was not dropped.
    w.probeSent(3, S + 3_500);
    expect(w.observed(3, S + 3_540, true, false, S + 6_000)).toBe(S + 5_540);
  });

  it('is not dropped by a refused probe that went at the reset as read', () => {
    const w = new OpenedWindows();
    w.probeSent(1, S);
    expect(w.observed(1, S + 20, false, true, S + 1_000)).toBeUndefined();
    w.probeSent(2, S + 3_500);
    expect(w.observed(2, S + 3_540, true, false, S + 6_000)).toBe(S + 5_540);
  });

  it('is dropped for good once a probe sent at a reset it brought forward is refused', () => {
    const w = new OpenedWindows();
    w.probeSent(1, S + 500);
    expect(w.observed(1, S + 540, true, false, S + 3_000)).toBe(S + 2_540);
    // The budget probes at the reset brought forward, and the server refuses: its windows do not open with ours.
    w.probeSent(2, S + 2_540);
    expect(w.observed(2, S + 2_560, false, true, S + 3_000)).toBeUndefined();
    // A probe at the reset as read opens a window as before, but the model no longer brings it forward.
    w.probeSent(3, S + 3_000);
    expect(w.observed(3, S + 3_040, true, false, S + 6_000)).toBeUndefined();
    w.probeSent(4, S + 6_000);
    expect(w.observed(4, S + 6_040, true, false, S + 9_000)).toBeUndefined();
  });

  it('is dropped too when a probe at a reset it brought forward finds the window still running', () => {
    const w = new OpenedWindows();
    w.probeSent(1, S + 500);
    expect(w.observed(1, S + 540, true, false, S + 3_000)).toBe(S + 2_540);
    w.probeSent(2, S + 2_540);
    expect(w.observed(2, S + 2_560, false, false, S + 3_000)).toBeUndefined();
    w.probeSent(3, S + 3_000);
    expect(w.observed(3, S + 3_040, true, false, S + 6_000)).toBeUndefined();
  });

  it('keeps the model while probes at the resets it brought forward open fresh windows', () => {
    const w = new OpenedWindows();
    w.probeSent(1, S + 500);
    expect(w.observed(1, S + 540, true, false, S + 3_000)).toBe(S + 2_540);
    w.probeSent(2, S + 2_540);
    expect(w.observed(2, S + 2_560, true, false, S + 5_000)).toBe(S + 4_560);
  });

  describe("the budget's first request", () => {
    it('opened the first window when the first answer of all came, whatever its count', () => {
      // Ten went at once; another's answer comes first, and the first request's own shows it was not counted first.
      const w = new OpenedWindows();
      w.probeSent(1, S + 500, true);
      expect(w.observed(2, S + 530, false, false, S + 3_000)).toBeUndefined();
      // At most 2 500 ms (reset less its send), more than 1 470 ms: 2 s from the first answer, at S+530.
      expect(w.observed(1, S + 540, false, false, S + 3_000)).toBe(S + 2_530);
      expect(w.observed(3, S + 550, false, false, S + 3_000)).toBe(S + 2_530);
    });

    it('teaches nothing when it was refused: the window was open already', () => {
      const w = new OpenedWindows();
      w.probeSent(1, S + 500, true);
      expect(w.observed(1, S + 540, false, true, S + 3_000)).toBeUndefined();
      expect(w.observed(2, S + 550, false, false, S + 3_000)).toBeUndefined();
    });
  });

  it('needs a reset: an answer without one says nothing', () => {
    const w = new OpenedWindows();
    w.probeSent(1, S + 500);
    expect(w.observed(1, S + 540, true, false, undefined)).toBeUndefined();
    expect(w.observed(2, S + 600, false, false, S + 3_000)).toBeUndefined();
  });

  describe('answers that date themselves', () => {
    // The reset less the answer's Date, both whole seconds as the server wrote them: 3 s means the window opened no
    // later than the Date and ends within the second before the reset: it lasts at least 2 s. Taken from the answer
    // to the request that opened the window, once the server is known to send epoch seconds (`epoch`).
    it('take the shortest whole-second length every reading allows, where the bounds leave two', () => {
      // Probed at the reset read, S+3 s, answered at S+3 s + 20 ms, reset read S+6 s: at most 3 s by the probe,
      // at least 2 s by the Date: 2 s (was 3 s: a probe at each reset read opens at the same fraction of a second).
      const w = new OpenedWindows();
      w.probeSent(1, S);
      expect(w.observed(1, S + 20, true, false, S + 3_000, 0, 3_000, true)).toBe(S + 2_020);
      w.probeSent(2, S + 2_020);
      expect(w.observed(2, S + 2_030, true, false, S + 5_000, 0, 3_000, true)).toBe(S + 4_030);
      // Without the Date: the longest length the bounds allow, the reset as read.
      const undated = new OpenedWindows();
      undated.probeSent(1, S);
      expect(undated.observed(1, S + 20, true, false, S + 3_000)).toBeUndefined();
    });

    it('wait for an answer that shows epoch seconds: seconds left would make the bound a second long', () => {
      const w = new OpenedWindows();
      w.probeSent(1, S, true);
      // The opening request's answer: at most 3 s, more than 1.97 s, so 3 s by the bounds alone; its Date says 2 s at
      // least, but its reset may be seconds left: nothing is taken from it yet.
      expect(w.observed(1, S + 30, false, false, S + 3_000, 0, 3_000, false)).toBeUndefined();
      // Another answer shows an epoch second: the opening answer's bound holds, 2 s from the first answer.
      expect(w.observed(3, S + 40, false, false, S + 3_000, 0, 2_000, true)).toBe(S + 2_030);
    });

    it("take no bound from another request's answer, which may be written a second after the window opened", () => {
      const w = new OpenedWindows();
      w.probeSent(1, S + 950, true);
      // The opening answer came in the second the window opened: 3 s, 2 s at least; a later answer, written in the
      // next second, says only 1 s: the bound stays 2 s.
      expect(w.observed(1, S + 980, false, false, S + 3_000, 0, 3_000, true)).toBe(S + 2_980);
      expect(w.observed(2, S + 1_050, false, false, S + 3_000, 0, 2_000, true)).toBe(S + 2_980);
    });

    it('try the next whole second once when a probe at the shortest is refused, then drop the model', () => {
      const w = new OpenedWindows();
      w.probeSent(1, S, true);
      expect(w.observed(1, S + 20, true, false, S + 3_000, 0, 3_000, true)).toBe(S + 2_020);
      // Refused at S+2 020: the window is longer than 2 s. The next window is taken as 3 s.
      w.probeSent(2, S + 2_020);
      expect(w.observed(2, S + 2_030, false, true, S + 3_000, 0, 1_000, true)).toBeUndefined();
      w.probeSent(3, S + 3_100);
      expect(w.observed(3, S + 3_110, true, false, S + 7_000, 0, 4_000, true)).toBe(S + 6_110);
      // Refused again where the model brought the reset forward: the server's windows do not open with ours.
      w.probeSent(4, S + 6_110);
      expect(w.observed(4, S + 6_120, false, true, S + 7_000, 0, 1_000, true)).toBeUndefined();
      w.probeSent(5, S + 7_000);
      expect(w.observed(5, S + 7_010, true, false, S + 10_000, 0, 3_000, true)).toBeUndefined();
    });

    it('yield to seconds left: whenever an answer was written, its seconds left less a second bound the window', () => {
      // Opened at S+950 (2 s), answered at S+1 010: the Date is S+1 s, the epoch reset S+3 s: "more than 1 s" only.
      // The same answer's seconds left, 2 (rounded up from 1.94), say more than 1 s as well; a later answer's, 2 again
      // (from 1.9 s), say the same, and any answer of a 2 s window says at most 2: the window is not taken as 1 s.
      const dated = new OpenedWindows();
      dated.probeSent(1, S + 950, true);
      expect(dated.observed(1, S + 1_010, false, false, S + 3_000, 0, 2_000, true)).toBe(S + 2_010);
      const w = new OpenedWindows();
      w.probeSent(1, S + 950, true);
      // Taken as 2 s: the window ends by the reset read, not a second before it.
      expect(w.observed(1, S + 1_010, false, false, S + 3_000, 0, 2_000, true, 1_000)).toBeUndefined();
      expect(w.observed(2, S + 1_050, false, false, S + 3_000, 0, 2_000, true, 1_000)).toBeUndefined();
    });

    it('bound nothing when the Date leaves less than a second', () => {
      const w = new OpenedWindows();
      w.probeSent(1, S + 500);
      // Reset within the second of the Date: no lower bound; the bounds alone, as without a Date.
      expect(w.observed(1, S + 540, true, false, S + 3_000, 0, 1_000, true)).toBe(S + 2_540);
    });
  });
});

describe('secondsLeftBound', () => {
  const now = S + 10;
  /** What the bound makes of `headers` as the engine reads them, delays noted. */
  const bound = (headers: Record<string, string>): number | undefined => {
    const delays: RateLimitPolicy[] = [];
    return secondsLeftBound(readRateLimit(headers, { now, status: 200 }, delays), delays, now);
  };
  const legacy = {
    'x-ratelimit-limit': '20',
    'x-ratelimit-remaining': '19',
    'x-ratelimit-reset': String(S / 1_000 + 2),
  };

  it('takes the seconds left of the quota reported, less a second: the IETF fields, a small X-RateLimit-Reset', () => {
    expect(bound({ ratelimit: 'limit=20, remaining=19, reset=2', ...legacy })).toBe(1_000);
    const draft6 = { 'ratelimit-limit': '20', 'ratelimit-remaining': '19', 'ratelimit-reset': '3' };
    expect(bound({ ...draft6, ...legacy })).toBe(2_000);
    const fastify = { 'x-ratelimit-limit': '20', 'x-ratelimit-remaining': '19', 'x-ratelimit-reset': '2' };
    expect(bound(fastify)).toBe(1_000);
    // Draft 08+: the policy's own seconds left, not another policy's (an hour's).
    const draft8 = {
      'ratelimit-policy': '"a";q=20;w=2, "b";q=1000;w=3600',
      ratelimit: '"a";r=19;t=2, "b";r=900;t=3000',
    };
    expect(bound(draft8)).toBe(1_000);
  });

  it('says nothing of resets stated as instants: epoch seconds, an HTTP-date', () => {
    expect(bound(legacy)).toBeUndefined();
    const gitlab = { 'ratelimit-limit': '20', 'ratelimit-remaining': '19', 'ratelimit-reset': String(S / 1_000 + 5) };
    expect(bound(gitlab)).toBeUndefined();
  });
});
