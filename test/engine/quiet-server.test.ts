// Servers that limit without describing their quota, through createRatewise on the fake clock: what ratewise learns
// from their refusals, when it sends, and that no call is lost to throttling. Every server here answers at once, so
// that a window opens at the instant its first request is sent; `random` is 0, so that no jitter moves an instant.
import { describe, expect, it } from 'vitest';
import { RetryBudgetExceededError } from '../../src/errors.js';
import type { Ratewise } from '../../src/client.js';
import type { FakeClock } from '../support/fake-clock.js';
import {
  advance,
  flush,
  ok,
  rig,
  status,
  T0,
  tooMany,
  track,
  type FetchCall,
  type Outcome,
  type Script,
} from './support/harness.js';

/**
 * The script, up to `max` attempts; past them, attempts are held unanswered. An engine that retries at once without
 * end (in promise callbacks, where no timer runs) then leaves calls pending and fails the test, instead of running
 * out of memory.
 */
function bounded(script: Script, max = 1_000): Script {
  return (call) => (call.index < max ? script(call) : 'hold');
}

/** One window of a {@link fixedWindow} server: when it opened (since T0) and what it did. */
interface Window {
  readonly start: number;
  accepted: number;
  refused: number;
}

/**
 * A fixed window of `limit` requests per `windowMs`, opened by the first request at or after the previous window's
 * end. Beyond the limit, `refuse` answers, given the instant the window ends.
 */
function fixedWindow(limit: number, windowMs: number, refuse: (endsAt: number, call: FetchCall) => Response) {
  const windows: Window[] = [];
  /** Refusals per URL. */
  const refusals = new Map<string, number>();
  const script = (call: FetchCall): Response => {
    let current = windows.at(-1);
    if (current === undefined || call.at - T0 >= current.start + windowMs) {
      current = { start: call.at - T0, accepted: 0, refused: 0 };
      windows.push(current);
    }
    if (current.accepted < limit) {
      current.accepted++;
      return ok();
    }
    current.refused++;
    refusals.set(call.url, (refusals.get(call.url) ?? 0) + 1);
    return refuse(T0 + current.start + windowMs, call);
  };
  return { script, windows, refusals };
}

/** A 503 with the seconds left until `endsAt`, rounded up, as Retry-After. */
const unavailableUntil = (endsAt: number, call: FetchCall): Response =>
  status(503, { 'retry-after': String(Math.ceil((endsAt - call.at) / 1_000)) });

const since = (times: readonly number[]): number[] => times.map((t) => t - T0);

/** How many requests went at each instant (since T0), in time order: `[[0, 10], [1005, 1], …]`. */
function tally(times: readonly number[]): [number, number][] {
  const counts = new Map<number, number>();
  for (const t of since(times)) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a - b);
}

/**
 * Runs fake time from timer to timer until every call has settled, nothing is left to wake them, or a bound on the
 * steps is reached (an engine retrying without end then fails the test instead of running out of memory).
 */
async function settleAll(clock: FakeClock, outcomes: readonly Outcome<Response>[]): Promise<void> {
  await flush();
  for (let step = 0; step < 2_000 && outcomes.some((o) => o.state === 'pending'); step++) {
    const at = clock.nextAt();
    if (at === undefined) return;
    clock.advanceTo(at);
    await flush();
  }
}

/** Sends `count` calls at once (`https://a.test/0`, `/1`, …) through `rw`, and runs fake time until they settle. */
async function burst(rw: Ratewise, clock: FakeClock, count: number): Promise<Outcome<Response>[]> {
  const calls = Array.from({ length: count }, (_, i) => track(rw.fetch(`https://a.test/${i}`), clock));
  await settleAll(clock, calls);
  return calls;
}

/** The latest instant (since T0) a call settled. */
const lastSettled = (outcomes: readonly Outcome<unknown>[]): number =>
  Math.max(...outcomes.map((o) => o.settledAt ?? Infinity)) - T0;

const statuses = (outcomes: readonly Outcome<Response>[]): (number | string)[] =>
  outcomes.map((o) => (o.state === 'fulfilled' ? o.value!.status : o.state));

describe('a server that answers a bare 429 beyond 5 per 2 s', () => {
  it('gets 30 calls at once through, with at most one refusal per window from the third on', async () => {
    const server = fixedWindow(5, 2_000, () => status(429));
    const { rw, clock, server: fetch } = rig({}, bounded(server.script));
    const calls = await burst(rw, clock, 30);

    expect(statuses(calls)).toEqual(Array(30).fill(200));
    // - 0: the first round of ten; five accepted, five refused: the limit is 5. The window is measured from the
    //   first answer, on the ladder of configured lengths: 1 s plus its 5 ms margin.
    // - 1 005: one probe, refused: longer than 1 005 ms. Next rung: 2 s + 10 ms.
    // - 2 010: the probe is accepted and opens a window (at most 2 010 ms long); four more make its limit. The rest
    //   holds until half way between the bounds: 2 010 + ceil((1 005 + 2 010) / 2) = 3 518.
    // - 3 518: the probe is refused (lo = 1 508); the pause of that throttle ends when the window must have turned,
    //   at hi: 2 010 + 2 010 = 4 020.
    // - 4 020: a window of five; the hold goes half way again, 4 020 + 1 759 = 5 779, refused (lo = 1 759).
    // - 6 030: a window of five; the bounds are within an eighth of hi: no more search, every window is held until
    //   hi (2 010 ms): 8 040, 10 050.
    expect(tally(fetch.sentAt)).toEqual([
      [0, 10],
      [1_005, 1],
      [2_010, 5],
      [3_518, 1],
      [4_020, 5],
      [5_779, 1],
      [6_030, 5],
      [8_040, 5],
      [10_050, 5],
    ]);
    expect(server.windows).toEqual([
      { start: 0, accepted: 5, refused: 6 },
      { start: 2_010, accepted: 5, refused: 1 },
      { start: 4_020, accepted: 5, refused: 1 },
      { start: 6_030, accepted: 5, refused: 0 },
      { start: 8_040, accepted: 5, refused: 0 },
      { start: 10_050, accepted: 5, refused: 0 },
    ]);
    // The server's policy allows no faster finish than (ceil(30 / 5) - 1) x 2 s = 10 s: 10 ms of margin per window.
    expect(lastSettled(calls)).toBe(10_050);
    expect(rw.stats()[0]!.counters).toMatchObject({ sent: 38, rateLimited: 8, giveUps: 0 });
  });
});

describe('a server that answers 503 with Retry-After (whole seconds, rounded up) beyond 5 per 2 s', () => {
  // The refusals are handled in the millisecond the window opened and answered as fast as its first request, so
  // Retry-After is exact (2 s): the window is taken as those 2 s (was a bug: the whole second strictly below, 1 s,
  // and a probe refused 1 s into the second window).
  it('refuses nothing after the first window', async () => {
    const server = fixedWindow(5, 2_000, unavailableUntil);
    const { rw, clock, server: fetch } = rig({}, bounded(server.script));
    const calls = await burst(rw, clock, 30);

    expect(statuses(calls)).toEqual(Array(30).fill(200));
    // The first refusals say 2 s: the window is at most 2 s long, and, timed, it is held until then (no search,
    // which would cost a whole Retry-After).
    expect(tally(fetch.sentAt)).toEqual([
      [0, 10],
      [2_000, 5],
      [4_000, 5],
      [6_000, 5],
      [8_000, 5],
      [10_000, 5],
    ]);
    expect(server.windows.map((w) => w.refused)).toEqual([5, 0, 0, 0, 0, 0]);
    expect(lastSettled(calls)).toBe(10_000);
  });
});

describe('a server that states its reset in epoch seconds, 5 per 2 s, its windows opening mid-second', () => {
  // Every answer comes at x.500 s with a Date of x s: the Date fields never narrow the server's clock (it may be up
  // to 500 ms behind), so the reset, rounded up to the next whole second, may be read a whole second late. The
  // window's length is then known only to be at most 3 s: ratewise waits out each window until the reset as read,
  // 3 s apart, and never sends early (none refused). A server whose answers come at varied fractions of a second
  // narrows the clock, and its windows are paced 2 s apart (the Flask-Limiter bench row).
  it('waits each window out until its reset as read, never early, when the Date fields cannot narrow the clock', async () => {
    const windows: number[] = [];
    let count = 0;
    const { rw, clock } = rig(
      {},
      bounded((call) => {
        const t = call.at - T0;
        if (windows.length === 0 || t >= windows.at(-1)! + 2_000) {
          windows.push(t);
          count = 0;
        }
        const admitted = count < 5;
        if (admitted) count++;
        const headers = {
          date: new Date(call.at).toUTCString(),
          'x-ratelimit-limit': '5',
          'x-ratelimit-remaining': String(5 - count),
          'x-ratelimit-reset': String(Math.ceil((T0 + windows.at(-1)! + 2_000) / 1_000)),
        };
        return admitted ? ok(headers) : status(429, headers);
      }),
    );
    await advance(clock, 500);
    const calls = await burst(rw, clock, 30);

    expect(statuses(calls)).toEqual(Array(30).fill(200));
    expect(windows).toHaveLength(6);
    expect(windows.slice(2).map((t, i) => t - windows[i + 1]!)).toEqual([3_000, 3_000, 3_000, 3_000]);
  });
});

describe('rateLimitLimit', () => {
  it('is not spent by refusals of ratewise own discovery while the server accepts other requests', async () => {
    // The first server again, with a single throttle retry per call: a call refused in the first round and again
    // as the probe at 1 005 ms has had two discovery refusals; it still gets through.
    const server = fixedWindow(5, 2_000, () => status(429));
    const { rw, clock, server: fetch, eventsOf } = rig({ retry: { rateLimitLimit: 1 } }, bounded(server.script));
    const calls = await burst(rw, clock, 30);

    expect(statuses(calls)).toEqual(Array(30).fill(200));
    expect(Math.max(...server.refusals.values())).toBeGreaterThan(1);
    expect(eventsOf('giveUp')).toEqual([]);
    expect(fetch.calls).toHaveLength(38);
  });

  it('still ends the calls of a server that refuses everything', async () => {
    const {
      rw,
      clock,
      server: fetch,
      eventsOf,
    } = rig(
      { retry: { rateLimitLimit: 1 } },
      bounded(() => status(429)),
    );
    const calls = await burst(rw, clock, 3);

    // One retry each, then the 429 as fetch would return it.
    expect(statuses(calls)).toEqual([429, 429, 429]);
    expect(fetch.calls).toHaveLength(6);
    expect(eventsOf('giveUp').map((e) => e.reason)).toEqual(Array(3).fill('rate-limit-limit'));
  });
});

describe('retry.backoff.maxMs 0', () => {
  // Was a bug: a throttle without timing waits until the window should have turned, capped at `retry.backoff.maxMs`
  // (decideRetry's `Math.min(turn - now, backoff.maxMs)`), and the hold after a learnt limit is capped by it too. With
  // `maxMs: 0` the wait is 0 ms; while the server accepted a request of the budget in the last 30 s, a refusal of a
  // probe spends no `rateLimitLimit`, so the call retries at once, at the same instant, without end (in promise
  // callbacks: no timer runs in between). Now at most 10 throttle retries of a call are exempt.
  it('does not retry a refused call without end at one instant', async () => {
    const { rw, clock, server } = rig(
      { retry: { backoff: { maxMs: 0 } } },
      bounded((call) => (call.index === 0 ? ok() : status(429))),
    );
    await rw.fetch('https://a.test/first');
    const call = track(rw.fetch('https://a.test/refused'), clock);
    await flush();
    // At most the first attempt, 10 retries exempt as discovery and rateLimitLimit (5) retries.
    expect(server.calls.filter((c) => c.url.endsWith('/refused')).length).toBeLessThanOrEqual(16);
    expect(call.state).not.toBe('pending');
  });
});

describe('the retry budget', () => {
  // One retry per 10 s, whatever the traffic.
  const budget = { ratio: 0, minPerSecond: 0.1, windowMs: 10_000 };

  it('does not refuse throttle retries, nor count them', async () => {
    // Three 429s (Retry-After: 1), then two 500s: the throttles are retried; the first 500 takes the budget's one
    // retry, which the throttles left; the second is refused.
    const answers = [tooMany(1), tooMany(1), tooMany(1), status(500), status(500), ok()];
    const {
      rw,
      clock,
      server: fetch,
    } = rig(
      { retry: { budget, limit: 5 } },
      bounded((call) => answers[call.index] ?? ok()),
    );
    const call = track(rw.fetch('https://a.test/'), clock);
    await settleAll(clock, [call]);

    expect(call.state).toBe('rejected');
    expect(call.error).toBeInstanceOf(RetryBudgetExceededError);
    expect(call.error).toMatchObject({ code: 'ERR_RATEWISE_RETRY_BUDGET', attempts: 5 });
    expect(since(fetch.sentAt)).toEqual([0, 1_000, 2_000, 3_000, 3_000]);
  });

  it('refuses error retries beyond it', async () => {
    const {
      rw,
      clock,
      server: fetch,
    } = rig(
      { retry: { budget, limit: 5 } },
      bounded(() => status(500)),
    );
    const call = track(rw.fetch('https://a.test/'), clock);
    await settleAll(clock, [call]);

    expect(call.error).toMatchObject({ code: 'ERR_RATEWISE_RETRY_BUDGET', attempts: 2 });
    expect(fetch.calls).toHaveLength(2);
  });
});

describe('a 503 without timing', () => {
  /** A client without error retries (`retry.limit: 0`): only a throttle is retried. The first answer is a 200. */
  async function after(ms: number): Promise<{ second: Outcome<Response>; sentAt: number[]; rateLimited: number }> {
    const {
      rw,
      clock,
      server: fetch,
    } = rig(
      { retry: { limit: 0 } },
      bounded((call) => (call.index === 1 ? status(503) : ok())),
    );
    await rw.fetch('https://a.test/first');
    await advance(clock, ms);
    const second = track(rw.fetch('https://a.test/second'), clock);
    await settleAll(clock, [second]);
    return { second, sentAt: since(fetch.sentAt), rateLimited: rw.stats()[0]!.counters.rateLimited };
  }

  it('is throttling while the budget had an answer accepted in the last 30 s: retried, not an error', async () => {
    const { second, sentAt, rateLimited } = await after(30_000);
    expect(second.value?.status).toBe(200);
    // The window the 503 ended is measured from the first answer: past 30 s, the next rung (30 s) and its margin.
    expect(sentAt).toEqual([0, 30_000, 30_150]);
    expect(rateLimited).toBe(1);
  });

  it('is an outage once the last accepted answer is older than 30 s: not retried with no error retries', async () => {
    const { second, sentAt, rateLimited } = await after(30_001);
    expect(second.value?.status).toBe(503);
    expect(sentAt).toEqual([0, 30_001]);
    expect(rateLimited).toBe(0);
  });

  it('is an outage when the budget never had an answer accepted', async () => {
    const {
      rw,
      clock,
      server: fetch,
    } = rig(
      { retry: { limit: 0 } },
      bounded(() => status(503)),
    );
    const call = track(rw.fetch('https://a.test/'), clock);
    await settleAll(clock, [call]);
    expect(call.value?.status).toBe(503);
    expect(fetch.calls).toHaveLength(1);
    expect(rw.stats()[0]!.counters.rateLimited).toBe(0);
  });
});

describe('an API that never limits', () => {
  it('takes 64 calls through rounds of 10, 20 and 40: three answer times', async () => {
    // Every answer takes 200 ms. Plain fetch would take one answer time.
    const r = rig({}, (call) => {
      r.clock.setTimeout(() => {
        call.respond(ok());
      }, 200);
      return 'hold';
    });
    const { rw, clock, server: fetch } = r;
    const calls = await burst(rw, clock, 64);

    expect(statuses(calls)).toEqual(Array(64).fill(200));
    expect(tally(fetch.sentAt)).toEqual([
      [0, 10],
      [200, 20],
      [400, 34],
    ]);
    expect(lastSettled(calls)).toBe(600);
  });

  it('waits for the whole round before the next: one slow answer holds the next round back', async () => {
    // The fifth answer takes 500 ms: the second round goes when it comes, not when the other nine came.
    const r = rig({}, (call) => {
      r.clock.setTimeout(
        () => {
          call.respond(ok());
        },
        call.index === 4 ? 500 : 200,
      );
      return 'hold';
    });
    const { rw, clock, server: fetch } = r;
    await burst(rw, clock, 30);

    expect(tally(fetch.sentAt)).toEqual([
      [0, 10],
      [500, 20],
    ]);
  });
});

describe('a server like Flask-Limiter: epoch-second resets, dated answers that take their time, 20 per 2 s', () => {
  // The reset is the whole second after the window's end (Flask-Limiter's `X-RateLimit-Reset`), read up to a second
  // late; the window opens with the first request after the previous one ended. Answers take 20 to 80 ms, so their
  // Dates fall at varied fractions of a second. Each dated answer bounds the window from below (its reset less its
  // Date less a second: 2 s), so each window is taken as 2 s from the answer of the request that opened it, the
  // earliest instant every reading allows: windows 2 s plus one answer's time apart (was: each waited out until the
  // reset as read, up to a second later), and none refused.
  it('sends each window 2 s after the previous one opened, plus an answer time, and nothing is refused', async () => {
    const windows: number[] = [];
    let count = 0;
    let refused = 0;
    // The rig's clock, known once the rig is made (the script runs only after).
    const held: { clock?: FakeClock } = {};
    const script: Script = (call) => {
      const hit = call.at;
      if (windows.length === 0 || hit - T0 >= windows.at(-1)! + 2_000) {
        windows.push(hit - T0);
        count = 0;
      }
      const admitted = count < 20;
      if (admitted) count++;
      else refused++;
      const headers = {
        date: new Date(hit).toUTCString(),
        'x-ratelimit-limit': '20',
        'x-ratelimit-remaining': String(20 - count),
        'x-ratelimit-reset': String(Math.floor((T0 + windows.at(-1)! + 2_000) / 1_000) + 1),
      };
      const answer = admitted ? ok(headers) : status(429, headers);
      held.clock?.setTimeout(
        () => {
          call.respond(answer);
        },
        20 + ((call.index * 37) % 61),
      );
      return 'hold';
    };
    const { rw, clock } = rig({}, bounded(script));
    held.clock = clock;
    await advance(clock, 300);
    const calls = await burst(rw, clock, 100);

    expect(statuses(calls)).toEqual(Array(100).fill(200));
    expect(refused).toBe(0);
    expect(windows).toHaveLength(5);
    // Window k+1 opens 2 s after the answer of the request that opened window k: 2 s plus that answer's time.
    expect(windows.slice(1).map((t, i) => t - windows[i]!)).toEqual([2_020, 2_028, 2_036, 2_044]);
  });
});

describe.each(['draft-6', 'draft-7'] as const)(
  'a server like express-rate-limit: %s seconds left beside legacy epoch seconds, 20 per 2 s',
  (draft) => {
    // The window opens with the first request after the previous one ended; the fields are set when a request arrives
    // (`RateLimit: … reset=<seconds left, rounded up>` and `X-RateLimit-Reset: <the window's end, an epoch second
    // rounded up>`), the `Date` when its answer is written. Every answer is written 5 ms after its request arrived but
    // the first one, which takes `firstMs`: started `startMs` into a second, it may be written in the next second,
    // and then its Date is a second later than the window's opening.
    async function run(startMs: number, firstMs: number) {
      const windows: number[] = [];
      let count = 0;
      let refused = 0;
      const held: { clock?: FakeClock } = {};
      const script: Script = (call) => {
        const hit = call.at;
        if (windows.length === 0 || hit >= windows.at(-1)! + 2_000) {
          windows.push(hit);
          count = 0;
        }
        const end = windows.at(-1)! + 2_000;
        const admitted = count < 20;
        if (admitted) count++;
        else refused++;
        const remaining = String(20 - count);
        const secondsLeft = String(Math.ceil((end - hit) / 1_000));
        const ietf =
          draft === 'draft-7'
            ? { ratelimit: `limit=20, remaining=${remaining}, reset=${secondsLeft}` }
            : { 'ratelimit-limit': '20', 'ratelimit-remaining': remaining, 'ratelimit-reset': secondsLeft };
        const fields = {
          ...ietf,
          'x-ratelimit-limit': '20',
          'x-ratelimit-remaining': remaining,
          'x-ratelimit-reset': String(Math.ceil(end / 1_000)),
        };
        const delay = call.index === 0 ? firstMs : 5;
        held.clock?.setTimeout(() => {
          const headers = { ...fields, date: new Date(held.clock!.now()).toUTCString() };
          call.respond(admitted ? ok(headers) : status(429, headers));
        }, delay);
        return 'hold';
      };
      const { rw, clock } = rig({}, bounded(script));
      held.clock = clock;
      await advance(clock, startMs);
      const calls = await burst(rw, clock, 100);
      return { calls, refused, windows: windows.map((t) => t - T0) };
    }

    it('refuses nothing when the first answer is dated in the second its window opened', async () => {
      const { calls, refused, windows } = await run(300, 5);
      expect(statuses(calls)).toEqual(Array(100).fill(200));
      expect(refused).toBe(0);
      expect(windows).toHaveLength(5);
    });

    // The first answer's Date is a second after the window opened: its epoch reset less its Date says the window lasts
    // more than 1 s only. Its seconds left (`reset=2`, rounded up from less than 2 s) say more than 1 s as well, but
    // every answer's do, whenever it was written: the window lasts 2 s.
    it.each([
      [950, 60],
      [500, 600],
    ])('refuses nothing when the first answer, started %i ms into a second, takes %i ms', async (startMs, firstMs) => {
      const { calls, refused, windows } = await run(startMs, firstMs);
      expect(statuses(calls)).toEqual(Array(100).fill(200));
      expect(refused).toBe(0);
      expect(windows).toHaveLength(5);
    });
  },
);

describe('a server that answers 429 with Retry-After beyond 20 requests per epoch second, 300 calls at once', () => {
  /** One window of the server: a second of the epoch, and what it did. */
  interface Second {
    accepted: number;
    refused: number;
  }

  /**
   * Starts the burst `startMs` into a second. Each request reaches the server `forward(i)` ms after it is sent, and
   * its answer comes `back(i)` ms after that; the server counts it in the second it arrives.
   */
  async function run(startMs: number, forward: (i: number) => number, back: (i: number) => number) {
    const seconds = new Map<number, Second>();
    const held: { clock?: FakeClock } = {};
    const serve = (call: FetchCall): void => {
      const at = held.clock!.now();
      const index = Math.floor(at / 1_000);
      let second = seconds.get(index);
      if (second === undefined) seconds.set(index, (second = { accepted: 0, refused: 0 }));
      let answer: Response;
      if (second.accepted < 20) {
        second.accepted++;
        answer = ok();
      } else {
        second.refused++;
        answer = status(429, { 'retry-after': String(Math.ceil(((index + 1) * 1_000 - at) / 1_000)) });
      }
      held.clock!.setTimeout(() => {
        call.respond(answer);
      }, back(call.index));
    };
    const { rw, clock } = rig(
      {},
      bounded((call) => {
        held.clock!.setTimeout(() => {
          serve(call);
        }, forward(call.index));
        return 'hold';
      }, 3_000),
    );
    held.clock = clock;
    // T0 is a whole second.
    await advance(clock, startMs);
    const calls = await burst(rw, clock, 300);
    return { calls, seconds: [...seconds.values()], took: lastSettled(calls) - startMs };
  }

  // Where the slow start (rounds of 10, 20 and 40, one answer time apart) stays in one second, its last round
  // finds the limit: 10 refused. Where a second turns between its rounds, the second round has a fresh second to
  // itself, and the third overshoots it by up to 40 (2 x the limit); the limit counted across both seconds is then
  // up to the limit too many, and the first second sent at it refuses that many, which corrects it. Nothing else
  // refuses more than a probe.
  it('at every start within the second: none lost, at most two seconds refuse more than one request', async () => {
    const spanned: number[] = [];
    // Every 50 ms, and where the second turns between the slow start's first and second rounds (the first reaches
    // the server 2 ms after it is sent, the second 7 ms).
    for (const startMs of [...Array.from({ length: 20 }, (_, i) => i * 50), 995, 997]) {
      const { calls, seconds } = await run(
        startMs,
        () => 2,
        () => 3,
      );
      expect(statuses(calls)).toEqual(Array(300).fill(200));
      const many = seconds.map((s) => s.refused).filter((refused) => refused > 1);
      expect(many.length).toBeLessThanOrEqual(2);
      if (many.length === 2) {
        spanned.push(startMs);
        expect(many[0]).toBeLessThanOrEqual(40);
        expect(many[1]).toBeLessThanOrEqual(20);
      }
      expect(seconds.reduce((sum, s) => sum + s.refused, 0)).toBeLessThanOrEqual(50);
    }
    expect(spanned).toEqual([995, 997]);
  });

  // Was a bug (a run against a real server took 96 s where 14 s are allowed, and drifted to 17 a window in others):
  // requests that reached the server after its second turned were counted there, so a later probe found the last
  // request of a second that had not turned, and the requests sent with it were refused: that one window lowered
  // the limit to what it had accepted, for good. Answers here take 2 to 11 ms, a tenth of them up to 100 ms and
  // one in fifty up to half a second, both ways (a fixed pseudo-random sequence).
  it('keeps the limit through seconds that had not turned when a probe found them', async () => {
    let seed = 1;
    const next = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const latencies = Array.from({ length: 3_000 }, () => {
      const u = next();
      return u < 0.9
        ? 2 + Math.floor(next() * 10)
        : u < 0.98
          ? 20 + Math.floor(next() * 80)
          : 100 + Math.floor(next() * 400);
    });
    const { calls, seconds, took } = await run(
      776,
      (i) => latencies[(i * 7 + 3) % 3_000]!,
      (i) => latencies[i % 3_000]!,
    );
    expect(statuses(calls)).toEqual(Array(300).fill(200));
    // From the fifth second on, every second but the last accepts the whole limit (was: 17 from the sixth on).
    expect(seconds.slice(4, -1).map((s) => s.accepted)).toEqual(Array(seconds.length - 5).fill(20));
    // 14 s are the fastest the server allows; the first second began 776 ms in. (Was 17.7 s.)
    expect(took).toBeLessThan(16_000);
  });
});
