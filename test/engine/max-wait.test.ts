// maxWait is deadline-aware: when the wait ahead is already known to exceed it, the call fails at once with a
// RateLimitError carrying retryAt; it does not sleep until the deadline to find out.
import { describe, expect, it } from 'vitest';
import { RateLimitError } from '../../src/errors.js';
import { advance, flush, ok, quota, rig, status, T0, tooMany, track } from './support/harness.js';

describe('maxWait', () => {
  it('fails at once when the local rate already makes the wait longer', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { rate: '1/s', burst: 1 } } });
    void rw.fetch('https://a.test/?first');
    const call = track(rw.fetch('https://a.test/?second&token=SECRET', { ratewise: { maxWait: 500 } }), clock);
    await flush();
    expect(call.state).toBe('rejected');
    expect(call.settledAt).toBe(T0);
    expect(call.error).toBeInstanceOf(RateLimitError);
    expect(call.error).toMatchObject({ reason: 'max-wait', retryAt: T0 + 1000, waitMs: 1000, limitMs: 500 });
    expect((call.error as Error).message).not.toContain('SECRET');
    expect(server.calls).toHaveLength(1);
    expect(clock.pending()).toBe(0);
  });

  it('a request refused at once was never queued: no `queued` event', async () => {
    const { rw, clock, eventsOf } = rig({ budgets: { '*': { rate: '1/s', burst: 1 } } });
    await rw.fetch('https://a.test/?first'); // answered: the budget waits on its rate alone
    const call = track(rw.fetch('https://a.test/?second', { ratewise: { maxWait: 500 } }), clock);
    await flush();
    expect(call.error).toMatchObject({ name: 'RateLimitError', retryAt: T0 + 1000 });
    expect(eventsOf('queued')).toEqual([]);
  });

  it('fails a call that would wait for an answer still to come, saying its wait is not known', async () => {
    // A new budget's first request is in flight, and nothing is known of the server's quota until it is answered.
    const { rw, clock, server } = rig({ budgets: { '*': { initialWindow: 1 } } }, () => 'hold');
    const first = track(rw.fetch('https://a.test/first'), clock);
    const call = track(rw.fetch('https://a.test/second', { ratewise: { maxWait: 0 } }), clock);
    await flush();
    expect(call.state).toBe('rejected');
    expect(call.error).toMatchObject({ reason: 'max-wait', retryAt: undefined, waitMs: undefined, sent: false });
    expect((call.error as Error).message).toContain(
      'would wait until a request in flight is answered (how long is not known), longer than maxWait (0 ms)',
    );
    expect(server.calls).toHaveLength(1);
    expect(first.state).toBe('pending');
  });

  it('waits when the wait fits', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { rate: '1/s', burst: 1 } } });
    void rw.fetch('https://a.test/?first');
    const call = track(rw.fetch('https://a.test/?second', { ratewise: { maxWait: 1000 } }), clock);
    await advance(clock, 1000);
    expect(call.state).toBe('fulfilled');
    expect(server.sentAt.map((t) => t - T0)).toEqual([0, 1000]);
  });

  it('uses the client-wide maxWait when the request sets none', async () => {
    const { rw, clock } = rig({ maxWait: 200, budgets: { '*': { rate: '1/s', burst: 1 } } });
    void rw.fetch('https://a.test/?first');
    const call = track(rw.fetch('https://a.test/?second'), clock);
    await flush();
    expect(call.error).toMatchObject({ name: 'RateLimitError', reason: 'max-wait', limitMs: 200 });
  });

  it('fails queued requests at once when a long pause begins, and new ones as they arrive', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { initialWindow: 1 } } }, (c) =>
      c.index === 0 ? 'hold' : ok(),
    );
    void rw.fetch('https://a.test/?probe');
    const queued = [1, 2].map((i) => track(rw.fetch(`https://a.test/?q${i}`, { ratewise: { maxWait: 5000 } }), clock));
    const patient = track(rw.fetch('https://a.test/?patient'), clock);
    await flush();
    server.calls[0]!.respond(tooMany(30));
    await flush();
    for (const q of queued) {
      expect(q.error).toBeInstanceOf(RateLimitError);
      expect(q.error).toMatchObject({ reason: 'max-wait', retryAt: T0 + 30_000 });
      expect(q.settledAt).toBe(T0);
    }
    await advance(clock, 1000);
    const late = track(rw.fetch('https://a.test/?late', { ratewise: { maxWait: 5000 } }), clock);
    await flush();
    expect(late.error).toMatchObject({ reason: 'max-wait', retryAt: T0 + 30_000, waitMs: 29_000 });
    expect(late.settledAt).toBe(T0 + 1000);
    await advance(clock, 60_000);
    expect(patient.state).toBe('fulfilled');
    expect(server.calls.map((c) => new URL(c.url).search)).toEqual(['?probe', '?probe', '?patient']);
  });

  it('fails a request queued behind a pause longer than its maxRetryAfter, at once', async () => {
    const { rw, clock, server } = rig({}, (c) => (c.index === 0 ? tooMany(30) : ok()));
    void rw.fetch('https://a.test/?refused');
    await flush();
    // Two arrivals, so that the pause has been checked once already when the second comes.
    const first = track(rw.fetch('https://a.test/?a', { ratewise: { retry: { maxRetryAfter: 10_000 } } }), clock);
    await flush();
    const second = track(rw.fetch('https://a.test/?b', { ratewise: { retry: { maxRetryAfter: 10_000 } } }), clock);
    await flush();
    for (const call of [first, second]) {
      expect(call.error).toBeInstanceOf(RateLimitError);
      expect(call.error).toMatchObject({ reason: 'max-retry-after', retryAt: T0 + 30_000, limitMs: 10_000 });
      expect(call.settledAt).toBe(T0);
    }
    await advance(clock, 60_000);
    expect(server.calls.map((c) => new URL(c.url).search)).toEqual(['?refused', '?refused']);
  });

  it('fails at the deadline when the wait is unknown (every slot busy), not before', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { initialWindow: 1 } } }, () => 'hold');
    void rw.fetch('https://a.test/?probe');
    const call = track(rw.fetch('https://a.test/?waits', { ratewise: { maxWait: 2000 } }), clock);
    await flush();
    expect(clock.scheduled).toEqual([2000]);
    await advance(clock, 1999);
    expect(call.state).toBe('pending');
    await advance(clock, 1);
    expect(call.error).toMatchObject({ name: 'RateLimitError', reason: 'max-wait' });
    expect(call.settledAt).toBe(T0 + 2000);
    expect(server.calls).toHaveLength(1);
    expect(clock.pending()).toBe(0);
  });

  it('gives up on a retry whose server wait ends past the deadline, with the server instant', async () => {
    const { rw, clock, server } = rig({}, () => status(503, { 'retry-after': '10' }));
    const call = track(rw.fetch('https://a.test/', { ratewise: { maxWait: 5000 } }), clock);
    await flush();
    expect(call.error).toMatchObject({ name: 'RateLimitError', reason: 'max-wait', retryAt: T0 + 10_000 });
    expect((call.error as RateLimitError).response?.status).toBe(503);
    expect(server.calls).toHaveLength(1);
  });

  it('counts the time already spent waiting against maxWait', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { rate: '1/s', burst: 1 } } }, (c) =>
      c.index === 1 ? tooMany(3) : ok(),
    );
    void rw.fetch('https://a.test/?first');
    // Waits 1 s for a token, then is told to wait 3 s more: 4 s in all, beyond its 3.5 s.
    const call = track(rw.fetch('https://a.test/?second', { ratewise: { maxWait: 3500 } }), clock);
    await advance(clock, 1000);
    expect(server.calls).toHaveLength(2);
    expect(call.error).toMatchObject({ name: 'RateLimitError', reason: 'max-wait', retryAt: T0 + 4000 });
    expect(call.settledAt).toBe(T0 + 1000);
  });

  it('`schedule()` honours maxWait too, failing at once when the known wait exceeds it', async () => {
    const { rw, clock } = rig({ budgets: { jobs: { rate: '1/s', burst: 1 } } });
    await rw.schedule(() => 1, { key: 'jobs' });
    const call = track(
      rw.schedule(() => 2, { key: 'jobs', maxWait: 100 }),
      clock,
    );
    await flush();
    expect(call.error).toMatchObject({ name: 'RateLimitError', reason: 'max-wait', retryAt: T0 + 1000, key: 'jobs' });
  });

  it('fails queued calls at once when the server quota is spent until a reset beyond maxRetryAfter', async () => {
    // One request left until a reset ~31 years away: the pace would hold the rest until then, past any cap.
    const { rw, clock, server } = rig({ retry: { maxRetryAfter: 2000 } }, (c) =>
      c.index === 0 ? ok(quota(10, 1, 999_999_999)) : ok(),
    );
    await rw.fetch('https://a.test/?first');
    await rw.fetch('https://a.test/?second');
    const queued = [1, 2, 3].map((i) => track(rw.fetch(`https://a.test/?q${i}`), clock));
    await flush();
    for (const q of queued) {
      expect(q.error).toBeInstanceOf(RateLimitError);
      expect(q.error).toMatchObject({ reason: 'max-retry-after', retryAt: T0 + 999_999_999_000, limitMs: 2000 });
      expect(q.settledAt).toBe(T0);
    }
    expect(server.calls).toHaveLength(2);
    expect(clock.pending()).toBe(0);
  });

  it('waits out a spent quota whose reset is within maxRetryAfter', async () => {
    const { rw, clock, server } = rig({ retry: { maxRetryAfter: 2000 } }, (c) =>
      c.index === 0 ? ok(quota(10, 1, 2)) : ok(),
    );
    await rw.fetch('https://a.test/?first');
    await rw.fetch('https://a.test/?second');
    const third = track(rw.fetch('https://a.test/?third'), clock);
    await advance(clock, 2000);
    expect(third.state).toBe('fulfilled');
    expect(server.calls.map((c) => c.at - T0)).toEqual([0, 0, 2000]);
  });

  it('holds maxRetryAfter against the server instant, not the jitter added to it', async () => {
    // Retry-After 10 s with the cap at 10 s; random 0.9 adds 900 ms to the pause. Queued requests sit it out.
    const { rw, clock, server } = rig({ retry: { maxRetryAfter: 10_000 }, random: () => 0.9 }, (call) =>
      call.index === 0 ? tooMany(10) : ok(),
    );
    const first = track(rw.fetch('https://a.test/?first'), clock);
    await flush();
    const second = track(rw.fetch('https://a.test/?second'), clock);
    await advance(clock, 10_900);
    expect(second.state).toBe('fulfilled');
    expect(first.state).toBe('fulfilled');
    expect(server.calls.map((c) => c.at - T0)).toEqual([0, 10_900, 10_900]);
  });

  it('each call refused for its maxWait states its own wait, from its start, and the instant it could have gone', async () => {
    const { rw, clock } = rig({ budgets: { '*': { rate: '1/s', burst: 1 } } });
    const calls = [0, 1, 2, 3, 4].map((i) =>
      track(rw.fetch(`https://a.test/items/${i}`, { ratewise: { maxWait: 1500 } }), clock),
    );
    await advance(clock, 10_000);
    expect(calls.map((c) => c.state)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected']);
    for (const call of calls.slice(2)) {
      // Refused when the second call went: the next token comes 2 s after they began, past their 1.5 s.
      expect(call.settledAt).toBe(T0 + 1000);
      expect(call.error).toMatchObject({ reason: 'max-wait', retryAt: T0 + 2000, waitMs: 2000, limitMs: 1500 });
    }
    expect((calls[2]!.error as RateLimitError).message).toContain(
      'GET https://a.test/items/2 (not sent) would wait 2000 ms, longer than maxWait (1500 ms)',
    );
    expect(calls[2]!.error).toMatchObject({ sent: false, pausedBy: undefined });
  });

  it('a call refused behind patient calls states the instant its turn would have come', async () => {
    const { rw, clock } = rig({ budgets: { '*': { rate: '1/s', burst: 1 } } });
    const patient = [0, 1, 2].map((i) => track(rw.fetch(`https://a.test/patient/${i}`), clock));
    const late = track(rw.fetch('https://a.test/?late', { ratewise: { maxWait: 500 } }), clock);
    await flush();
    // Two calls wait ahead of it, one token a second: its turn would come at 3 s.
    expect(late.error).toMatchObject({ reason: 'max-wait', retryAt: T0 + 3000, waitMs: 3000, limitMs: 500 });
    await advance(clock, 1500);
    // It queues (the next token, at 2 s, is within its 1.2 s) and is refused when that token goes to the call
    // ahead of it: its own turn would have come at 3 s, 1.5 s after it began.
    const later = track(rw.fetch('https://a.test/?later', { ratewise: { maxWait: 1200 } }), clock);
    await advance(clock, 500);
    expect(later.settledAt).toBe(T0 + 2000);
    expect(later.error).toMatchObject({ reason: 'max-wait', retryAt: T0 + 3000, waitMs: 1500, limitMs: 1200 });
    await advance(clock, 10_000);
    expect(patient.every((c) => c.state === 'fulfilled')).toBe(true);
  });

  it('a retry refused for its maxWait states its wait from the start of the call', async () => {
    const { rw, clock } = rig({ budgets: { '*': { rate: '1/s', burst: 1 } } }, (c) =>
      c.index === 1 ? tooMany(3) : ok(),
    );
    void rw.fetch('https://a.test/?first');
    const call = track(rw.fetch('https://a.test/?second', { ratewise: { maxWait: 3500 } }), clock);
    await advance(clock, 1000);
    expect(call.error).toMatchObject({ reason: 'max-wait', retryAt: T0 + 4000, waitMs: 4000, limitMs: 3500 });
  });

  it('a task refused behind patient tasks states the instant its turn would have come', async () => {
    const { rw, clock } = rig({ budgets: { jobs: { rate: '1/s', burst: 1 } } });
    const patient = [0, 1, 2].map((i) =>
      track(
        rw.schedule(() => i, { key: 'jobs' }),
        clock,
      ),
    );
    const late = track(
      rw.schedule(() => 'late', { key: 'jobs', maxWait: 500 }),
      clock,
    );
    await flush();
    expect(late.error).toMatchObject({ reason: 'max-wait', retryAt: T0 + 3000, waitMs: 3000, limitMs: 500 });
    await advance(clock, 5000);
    expect(patient.every((c) => c.state === 'fulfilled')).toBe(true);
  });
});
