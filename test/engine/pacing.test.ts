import { describe, expect, it } from 'vitest';
import { advance, fixedRandom, flush, ok, quota, rig, T0, tooMany, track, warmUp } from './support/harness.js';

const since = (times: number[]): number[] => times.map((t) => t - T0);

describe('a new budget', () => {
  it('sends an initial window of ten at once, then one more per answer that shows no limit', async () => {
    const { rw, server } = rig({}, () => 'hold');
    for (let i = 0; i < 40; i++) void rw.fetch(`https://a.test/${i}`);
    await flush();
    expect(server.calls).toHaveLength(10);
    expect(rw.stats()[0]).toMatchObject({ inFlight: 10, queued: 30 });
    // Each answer frees its slot and adds one: ten answers, twenty in flight (the window doubles each round).
    for (const call of server.calls.slice(0, 10)) call.respond(ok());
    await flush();
    expect(server.calls).toHaveLength(30);
    expect(rw.stats()[0]).toMatchObject({ inFlight: 20, queued: 10 });
  });

  it('trusts an API from the start with initialWindow Infinity', async () => {
    const { rw, server } = rig({ budgets: { '*': { initialWindow: Infinity } } }, () => 'hold');
    for (let i = 0; i < 64; i++) void rw.fetch(`https://a.test/${i}`);
    await flush();
    expect(server.calls).toHaveLength(64);
  });

  it('probes with one request in flight until its answer, with initialWindow 1', async () => {
    const { rw, server } = rig({ budgets: { '*': { initialWindow: 1 } } }, () => 'hold');
    for (let i = 0; i < 5; i++) void rw.fetch(`https://a.test/${i}`);
    await flush();
    expect(server.calls).toHaveLength(1);
    expect(rw.stats()[0]).toMatchObject({ inFlight: 1, queued: 4 });
    server.calls[0]!.respond(ok());
    await flush();
    expect(server.calls.length).toBeGreaterThan(1);
  });

  it('does not probe `schedule()` tasks: they are not HTTP and teach nothing', async () => {
    const { rw } = rig({ budgets: { '*': { concurrency: 3 } } });
    let running = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const tasks = Array.from({ length: 5 }, () =>
      track(
        rw.schedule(
          () =>
            new Promise<void>((resolve) => {
              most = Math.max(most, ++running);
              gates.push(() => {
                running--;
                resolve();
              });
            }),
        ),
      ),
    );
    await flush();
    expect(most).toBe(3);
    while (gates.length > 0) {
      gates.shift()!();
      await flush();
    }
    expect(tasks.every((t) => t.state === 'fulfilled')).toBe(true);
    expect(most).toBe(3);
  });
});

describe('pacing by the server headers', () => {
  it('sends at once what fits in the remaining quota, then nothing until the reset', async () => {
    // The first answer says 20 requests remain for the next 10 s: 20 go at once, the other 10 at the reset.
    const { rw, clock, server } = rig({ serverReserve: 0 }, (call) =>
      call.index === 0 ? ok(quota(100, 20, 10)) : ok(),
    );
    await rw.fetch('https://a.test/?first');
    for (let i = 0; i < 30; i++) void rw.fetch(`https://a.test/${i}`);
    await advance(clock, 9999);
    const sent = since(server.sentAt.slice(1));
    expect(sent).toHaveLength(20);
    expect(new Set(sent)).toEqual(new Set([0]));
  });

  it("with pacing: 'spread', spreads the remaining quota evenly until the reset", async () => {
    // The first answer says 20 requests remain for the next 10 s: a burst of 10 % (2), then the other 18 evenly, in
    // 19 steps, so that the last goes one step before the reset rather than on it.
    const { rw, clock, server } = rig({ serverReserve: 0, budgets: { '*': { pacing: 'spread' } } }, (call) =>
      call.index === 0 ? ok(quota(100, 20, 10)) : ok(),
    );
    await rw.fetch('https://a.test/?first');
    for (let i = 0; i < 30; i++) void rw.fetch(`https://a.test/${i}`);
    await advance(clock, 9999);
    const sent = since(server.sentAt.slice(1));
    expect(sent).toHaveLength(20);
    expect(sent.slice(0, 2)).toEqual([0, 0]);
    const gaps = sent.slice(2).map((t, i) => t - sent[i + 1]!);
    // 10 000 ms / 19 = 526.3 ms, each wait rounded up to a whole ms.
    for (const gap of gaps) expect([526, 527]).toContain(gap);
    expect(clock.scheduled.every((ms) => ms >= 526 && ms <= 527)).toBe(true);
  });

  it('keeps the reserve share of the limit unused', async () => {
    // serverReserve 0.1 of a limit of 100 keeps 10 of the 20 that remain.
    const { rw, clock, server } = rig({ serverReserve: 0.1 }, (c) => (c.index === 0 ? ok(quota(100, 20, 10)) : ok()));
    await rw.fetch('https://a.test/?first');
    for (let i = 0; i < 30; i++) void rw.fetch(`https://a.test/${i}`);
    await advance(clock, 9999);
    expect(server.calls.length - 1).toBeLessThanOrEqual(10);
    expect(server.calls.length - 1).toBeGreaterThanOrEqual(9); // the last falls due at the reset
  });

  it('counts the other requests still in flight as spent when it reads `remaining`', async () => {
    const { rw, clock, server } = rig({ serverReserve: 0 });
    await warmUp(rw, 'https://a.test/?warm-up');
    server.script = () => 'hold';
    void rw.fetch('https://a.test/?a');
    void rw.fetch('https://a.test/?b');
    await flush();
    expect(server.held()).toHaveLength(2);
    // The answer to `a` says 2 remain; `b` is still in flight and will take one of them.
    server.held()[0]!.respond(ok(quota(10, 2, 10)));
    await flush();
    void rw.fetch('https://a.test/?c');
    void rw.fetch('https://a.test/?d');
    await advance(clock, 9999);
    expect(server.calls.filter((c) => /\?[cd]$/.test(c.url)).map((c) => [c.url, c.at - T0])).toEqual([
      ['https://a.test/?c', 0],
    ]);
  });

  it('sends nothing after `remaining: 0` until the reset, then probes with one request', async () => {
    const { rw, clock, server } = rig({}, (call) => (call.index === 0 ? ok(quota(10, 0, 30)) : 'hold'));
    await rw.fetch('https://a.test/?first');
    for (let i = 0; i < 3; i++) void rw.fetch(`https://a.test/?${i}`);
    await advance(clock, 29_999);
    expect(server.calls).toHaveLength(1);
    await advance(clock, 1);
    expect(since(server.sentAt)).toEqual([0, 30_000]);
    server.calls[1]!.respond(ok(quota(10, 9, 60)));
    await flush();
    expect(server.calls.length).toBeGreaterThan(2);
  });

  it('treats an answer whose reset has come (reset 0) as a turning window: one request probes it', async () => {
    // The first answer opens the pace; the second lands at the end of its window; answers to requests sent
    // before that moment describe the old window and do not end the probe.
    const { rw, clock, server } = rig({ budgets: { '*': { initialWindow: 1, pacing: 'spread' } } }, () => 'hold');
    for (let i = 0; i < 12; i++) void rw.fetch(`https://a.test/${String(i)}`);
    await flush();
    server.calls[0]!.respond(ok(quota(20, 19, 1)));
    await flush();
    const before = server.calls.length;
    expect(before).toBeGreaterThan(2); // the burst share of the pace
    server.calls[1]!.respond(ok(quota(20, 1, 0)));
    await flush();
    for (const call of server.calls.slice(2, before)) call.respond(ok(quota(20, 18, 1)));
    await advance(clock, 100);
    expect(server.calls).toHaveLength(before + 1); // the probe, alone
    server.calls[before]!.respond(ok(quota(20, 19, 1)));
    await flush();
    expect(server.calls.length).toBeGreaterThan(before + 1);
  });

  it('never lets the server raise the configured local rate', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { rate: '2/s', burst: 1 } } }, () => ok(quota(1000, 999, 1)));
    for (let i = 0; i < 5; i++) void rw.fetch(`https://a.test/${i}`);
    await advance(clock, 3000);
    expect(since(server.sentAt)).toEqual([0, 500, 1000, 1500, 2000]);
  });
});

describe('pauses', () => {
  it('pauses the whole budget until the Retry-After instant, and sends the refused request first', async () => {
    const { rw, clock, server, eventsOf } = rig({}, (call) => (call.index === 0 ? tooMany(5) : ok()));
    const first = track(rw.fetch('https://a.test/?refused'));
    await flush();
    const later = [track(rw.fetch('https://a.test/?later-1')), track(rw.fetch('https://a.test/?later-2'))];
    await flush();
    expect(eventsOf('paused')).toEqual([
      { key: 'https://a.test', until: T0 + 5000, reason: 'retry-after', status: 429 },
    ]);
    expect(rw.stats()[0]).toMatchObject({ pausedUntil: T0 + 5000, queued: 3 });
    await advance(clock, 4999);
    expect(server.calls).toHaveLength(1);
    await advance(clock, 1);
    expect(server.calls.map((c) => [new URL(c.url).search, c.at - T0])).toEqual([
      ['?refused', 0],
      ['?refused', 5000],
      ['?later-1', 5000],
      ['?later-2', 5000],
    ]);
    expect([first, ...later].map((c) => c.state)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(rw.stats()[0]?.pausedUntil).toBeUndefined();
  });

  it('adds jitter to a server-ordered pause only upward', async () => {
    for (const [random, expected] of [
      [0, 10_000],
      [0.5, 10_500],
      [0.999, 10_999],
    ] as const) {
      const { rw, clock, server } = rig({ random: fixedRandom(random) }, (c) => (c.index === 0 ? tooMany(10) : ok()));
      void rw.fetch('https://a.test/');
      await advance(clock, 20_000);
      expect(since(server.sentAt)).toEqual([0, expected]);
    }
  });

  it('reads a Retry-After given as an HTTP date', async () => {
    const at = new Date(T0 + 7000).toUTCString();
    const { rw, clock, server } = rig({}, (c) => (c.index === 0 ? tooMany(undefined, { 'retry-after': at }) : ok()));
    void rw.fetch('https://a.test/');
    await advance(clock, 10_000);
    expect(since(server.sentAt)).toEqual([0, 7000]);
  });

  it('backs the budget off exponentially after 429s that give no timing', async () => {
    const { rw, clock, server, eventsOf } = rig({ retry: { backoff: { jitter: 'none', baseMs: 500 } } }, (call) =>
      call.index < 3 ? tooMany() : ok(),
    );
    const call = track(rw.fetch('https://a.test/'));
    await advance(clock, 10_000);
    expect(since(server.sentAt)).toEqual([0, 500, 1500, 3500]);
    expect(eventsOf('paused').map((e) => [e.reason, e.until - T0])).toEqual([
      ['backoff', 500],
      ['backoff', 1500],
      ['backoff', 3500],
    ]);
    expect(call.state).toBe('fulfilled');
  });

  it('one backoff for 429s that answer requests sent together: they do not stretch the pause', async () => {
    // Four requests go at once (a configured rate is trusted from the start); all four come back refused, without
    // timing. The first pauses the budget; the other three belong to the same throttle and wait in that pause.
    const { rw, clock, server, eventsOf } = rig(
      { budgets: { '*': { rate: '100/s', burst: 4 } }, retry: { backoff: { jitter: 'none', baseMs: 500 } } },
      (call) => (call.index < 4 ? tooMany() : ok()),
    );
    const calls = Array.from({ length: 4 }, (_, i) => track(rw.fetch(`https://a.test/${String(i)}`)));
    await advance(clock, 5_000);
    expect(since(server.sentAt).slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(eventsOf('paused').map((e) => [e.reason, e.until - T0])).toEqual([['backoff', 500]]);
    expect(since(server.sentAt)[4]).toBe(500);
    expect(calls.every((c) => c.state === 'fulfilled')).toBe(true);
  });

  it('a 429 with remaining 0 and a reset pauses until the reset', async () => {
    const { rw, clock, server, eventsOf } = rig({}, (c) =>
      c.index === 0 ? tooMany(undefined, quota(10, 0, 4)) : ok(),
    );
    void rw.fetch('https://a.test/');
    await advance(clock, 10_000);
    expect(since(server.sentAt)).toEqual([0, 4000]);
    expect(eventsOf('paused')[0]).toMatchObject({ reason: 'remaining-zero', until: T0 + 4000 });
  });

  it('a 429 whose retries are spent still pauses the budget until its Retry-After', async () => {
    const { rw, clock, server, eventsOf } = rig({ retry: { rateLimitLimit: 0 } }, (c) =>
      c.index === 0 ? tooMany(20) : ok(),
    );
    expect((await rw.fetch('https://a.test/?refused')).status).toBe(429);
    expect(rw.stats()[0]?.pausedUntil).toBe(T0 + 20_000);
    expect(eventsOf('paused')).toEqual([
      { key: 'https://a.test', until: T0 + 20_000, reason: 'retry-after', status: 429 },
    ]);
    void rw.fetch('https://a.test/?next');
    await advance(clock, 19_999);
    expect(server.calls).toHaveLength(1);
    await advance(clock, 1);
    expect(since(server.sentAt)).toEqual([0, 20_000]);
  });

  it('a call that gives up on its maxWait still leaves the budget paused until the server instant', async () => {
    const { rw, clock, server } = rig({}, (c) => (c.index === 0 ? tooMany(20) : ok()));
    await expect(rw.fetch('https://a.test/?impatient', { ratewise: { maxWait: 1000 } })).rejects.toMatchObject({
      name: 'RateLimitError',
      reason: 'max-wait',
      retryAt: T0 + 20_000,
    });
    void rw.fetch('https://a.test/?next');
    await advance(clock, 30_000);
    expect(since(server.sentAt)).toEqual([0, 20_000]);
  });

  it('after a pause, one request goes alone until its answer', async () => {
    const { rw, clock, server } = rig({}, (call) => (call.index === 0 ? tooMany(2) : 'hold'));
    void rw.fetch('https://a.test/?refused');
    await flush();
    for (let i = 0; i < 3; i++) void rw.fetch(`https://a.test/?${i}`);
    await advance(clock, 2000);
    expect(server.calls.map((c) => new URL(c.url).search)).toEqual(['?refused', '?refused']);
    server.calls[1]!.respond(ok());
    await flush();
    expect(server.calls.length).toBeGreaterThan(2);
  });

  it('a longer Retry-After from a later 429 extends the pause; a shorter one never shortens it', async () => {
    const { rw, clock, server } = rig();
    await warmUp(rw, 'https://a.test/?warm-up');
    server.script = () => 'hold';
    void rw.fetch('https://a.test/?a');
    void rw.fetch('https://a.test/?b');
    void rw.fetch('https://a.test/?c');
    await flush();
    const [a, b, c] = server.held();
    a!.respond(tooMany(5));
    b!.respond(tooMany(2));
    await flush();
    expect(rw.stats()[0]?.pausedUntil).toBe(T0 + 5000);
    c!.respond(tooMany(8));
    await flush();
    expect(rw.stats()[0]?.pausedUntil).toBe(T0 + 8000);
    await advance(clock, 7999);
    expect(server.calls.slice(4 + 3)).toEqual([]);
    await advance(clock, 1);
    expect(since(server.calls.slice(4 + 3).map((x) => x.at))).toEqual([8000]);
  });

  it('waits until the reset when a response that got through says remaining: 0 (pacing: no paused event)', async () => {
    const { rw, clock, server } = rig({}, (call) => (call.index === 0 ? ok(quota(10, 0, 30)) : ok()));
    const paused: number[] = [];
    rw.on('paused', (e) => paused.push(e.until - T0));
    await rw.fetch('https://a.test/?first');
    expect(paused).toEqual([]);
    expect(rw.stats()[0]!.pausedUntil).toBe(T0 + 30_000);
    const next = track(rw.fetch('https://a.test/?next'), clock);
    await advance(clock, 30_000);
    expect(next.state).toBe('fulfilled');
    expect(server.calls.map((c) => c.at - T0)).toEqual([0, 30_000]);
  });

  it('fails queued calls at once when a spent quota resets later than maxRetryAfter', async () => {
    const { rw, clock, server } = rig({}, (call) => (call.index === 0 ? ok(quota(5000, 0, 3600)) : ok()));
    await rw.fetch('https://a.test/?first');
    const next = track(rw.fetch('https://a.test/?next'), clock);
    await flush();
    expect(next.error).toMatchObject({ name: 'RateLimitError', reason: 'max-retry-after', retryAt: T0 + 3_600_000 });
    expect(server.calls).toHaveLength(1);
  });

  it('a success that spends the quota is pacing: calls wait for the reset, told by throttled, not by paused', async () => {
    const { rw, clock, server, eventsOf } = rig({}, (c) => (c.index === 0 ? ok(quota(3, 0, 4)) : ok()));
    await rw.fetch('https://a.test/0');
    const calls = [1, 2].map((i) => track(rw.fetch(`https://a.test/${String(i)}`)));
    await advance(clock, 10_000);
    expect(calls.every((c) => c.state === 'fulfilled')).toBe(true);
    expect(since(server.sentAt).slice(0, 2)).toEqual([0, 4000]);
    expect(eventsOf('paused')).toEqual([]);
    expect(eventsOf('throttled')[0]).toEqual({
      key: 'https://a.test',
      reason: 'server-quota',
      waitMs: 4000,
      until: T0 + 4000,
    });
    expect(eventsOf('throttled').filter((e) => e.reason === 'paused')).toEqual([]);
  });

  it('a 429 saying the quota is spent still pauses the budget', async () => {
    const { rw, clock, eventsOf } = rig({}, (c) => (c.index === 0 ? tooMany(undefined, quota(10, 0, 4)) : ok()));
    const calls = [track(rw.fetch('https://a.test/1')), track(rw.fetch('https://a.test/2'))];
    await advance(clock, 10_000);
    expect(calls.every((c) => c.state === 'fulfilled')).toBe(true);
    expect(eventsOf('paused')).toMatchObject([{ reason: 'remaining-zero', status: 429, until: T0 + 4000 }]);
    expect(eventsOf('throttled').map((e) => e.reason)).toContain('paused');
  });
});
