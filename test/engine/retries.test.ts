import { describe, expect, it, vi } from 'vitest';
import { giveUpReason } from '../../src/index.js';
import { RateLimitError, RetryBudgetExceededError } from '../../src/errors.js';
import {
  advance,
  fixedRandom,
  flush,
  networkError,
  ok,
  quota,
  rig,
  status,
  T0,
  tooMany,
  track,
  type Reply,
} from './support/harness.js';

const since = (times: number[]): number[] => times.map((t) => t - T0);

/** Answers the attempts in turn from `replies`, then 200. */
function sequence(...replies: Reply[]): (call: { index: number }) => Reply {
  return ({ index }) => replies[index] ?? ok();
}

describe('what is retried', () => {
  it.each([429, 503, 408, 500, 502, 504])('retries a GET answered %i, and returns the next answer', async (code) => {
    const { rw, clock, server } = rig({}, sequence(status(code)));
    const call = track(rw.fetch('https://a.test/'));
    await advance(clock, 60_000);
    expect(server.calls).toHaveLength(2);
    expect(call.state).toBe('fulfilled');
    expect(call.value?.status).toBe(200);
  });

  it('does not retry other statuses: the response comes back as fetch returns it', async () => {
    for (const code of [400, 401, 404, 409, 501]) {
      const { rw, server } = rig({}, () => status(code));
      const response = await rw.fetch('https://a.test/');
      expect(response.status).toBe(code);
      expect(server.calls).toHaveLength(1);
    }
  });

  it('retries a network error (a connection reset) on a GET', async () => {
    const { rw, clock, server, eventsOf } = rig({}, sequence({ throws: networkError() }));
    const call = track(rw.fetch('https://a.test/'));
    await advance(clock, 60_000);
    expect(server.calls).toHaveLength(2);
    expect(call.value?.status).toBe(200);
    expect(eventsOf('retry')[0]).toMatchObject({ attempt: 1, source: 'backoff', status: undefined });
    expect(eventsOf('retry')[0]?.error).toBeInstanceOf(TypeError);
  });

  it('never retries an error that is not a network failure, and rethrows it unchanged', async () => {
    const bug = new TypeError('Cannot read properties of undefined');
    const { rw, server } = rig({}, () => ({ throws: bug }));
    await expect(rw.fetch('https://a.test/')).rejects.toBe(bug);
    expect(server.calls).toHaveLength(1);
  });

  it('does not retry a POST after an error: the 500 comes back, the network error is rethrown', async () => {
    const failure = networkError();
    const { rw, server, eventsOf } = rig({}, sequence(status(500), { throws: failure }));
    expect((await rw.fetch('https://a.test/', { method: 'POST', body: 'x' })).status).toBe(500);
    await expect(rw.fetch('https://a.test/', { method: 'POST', body: 'x' })).rejects.toBe(failure);
    expect(server.calls).toHaveLength(2);
    expect(eventsOf('giveUp').map((e) => e.reason)).toEqual(['not-idempotent', 'not-idempotent']);
  });

  it('retries a POST refused with 429: the server did not process it', async () => {
    const { rw, clock, server } = rig({}, sequence(tooMany(1)));
    const call = track(rw.fetch('https://a.test/', { method: 'POST', body: 'x' }));
    await advance(clock, 1000);
    expect(since(server.sentAt)).toEqual([0, 1000]);
    expect(call.value?.status).toBe(200);
  });

  it('does not retry a POST after a 503, whose server may have processed it; the 503 still pauses the budget', async () => {
    const { rw, clock, server, eventsOf } = rig(
      {},
      sequence(status(503, { 'retry-after': '0' }), status(503, { 'retry-after': '2' })),
    );
    const posts = [1, 2].map((i) => track(rw.fetch(`https://a.test/${i}`, { method: 'POST', body: 'x' })));
    await flush();
    expect(posts.map((c) => c.value?.status)).toEqual([503, 503]);
    expect(eventsOf('giveUp').map((e) => [e.reason, e.attempts, e.status])).toEqual([
      ['not-idempotent', 1, 503],
      ['not-idempotent', 1, 503],
    ]);
    expect(eventsOf('paused')).toMatchObject([{ reason: 'retry-after', until: T0 + 2000, status: 503 }]);
    // The second 503's Retry-After holds for the budget: the next call waits for it.
    const next = track(rw.fetch('https://a.test/3'));
    await advance(clock, 1999);
    expect(server.calls).toHaveLength(2);
    await advance(clock, 1);
    expect(since(server.sentAt)).toEqual([0, 0, 2000]);
    expect(next.value?.status).toBe(200);
  });

  it('retries a POST that carries an Idempotency-Key, with that key on every attempt', async () => {
    const { rw, clock, server } = rig({}, sequence(status(503), { throws: networkError() }));
    const call = track(
      rw.fetch('https://a.test/', { method: 'POST', body: 'x', headers: { 'Idempotency-Key': 'k-1' } }),
    );
    await advance(clock, 60_000);
    expect(call.value?.status).toBe(200);
    expect(server.calls.map((c) => c.headers.get('idempotency-key'))).toEqual(['k-1', 'k-1', 'k-1']);
  });

  it('`ratewise.idempotencyKey: true` adds one generated key, the same on every attempt', async () => {
    const { rw, clock, server } = rig({}, sequence(status(500), status(502)));
    const call = track(rw.fetch('https://a.test/', { method: 'POST', body: 'x', ratewise: { idempotencyKey: true } }));
    await advance(clock, 60_000);
    expect(call.value?.status).toBe(200);
    const keys = server.calls.map((c) => c.headers.get('idempotency-key'));
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(keys).size).toBe(1);
  });

  it('`ratewise.idempotencyKey` as a string is the key; a key already in the headers is kept', async () => {
    const { rw, clock, server } = rig({}, sequence(status(500), status(500)));
    void rw.fetch('https://a.test/1', { method: 'PATCH', body: 'x', ratewise: { idempotencyKey: 'mine' } });
    await advance(clock, 60_000);
    void rw.fetch('https://a.test/2', {
      method: 'POST',
      headers: { 'idempotency-key': 'theirs' },
      ratewise: { idempotencyKey: true },
    });
    await advance(clock, 60_000);
    expect(server.calls.map((c) => [new URL(c.url).pathname, c.headers.get('idempotency-key')])).toEqual([
      ['/1', 'mine'],
      ['/1', 'mine'],
      ['/1', 'mine'],
      ['/2', 'theirs'],
    ]);
  });

  it('never retries a request whose body is a one-shot stream', async () => {
    for (const reply of [status(503), tooMany(1), { throws: networkError() }] as const) {
      const { rw, clock, server, eventsOf } = rig({}, () => reply);
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('x'));
          controller.close();
        },
      });
      const call = track(rw.fetch('https://a.test/', { method: 'PUT', body, duplex: 'half' } as RequestInit));
      await advance(clock, 60_000);
      expect(server.calls).toHaveLength(1);
      expect(call.state).not.toBe('pending');
      expect(eventsOf('giveUp').map((e) => e.reason)).toEqual(['body-not-replayable']);
      // The network error reaches the caller as it was thrown, and says why it was not retried.
      if ('throws' in reply) expect(giveUpReason(call.error)).toBe('body-not-replayable');
    }
  });

  it('sends a fresh copy of a Request body on every attempt', async () => {
    const bodies: Promise<string>[] = [];
    const { rw, clock } = rig({}, (call) => {
      bodies.push((call.input as Request).text());
      return call.index === 0 ? status(500) : ok();
    });
    const call = track(rw.fetch(new Request('https://a.test/', { method: 'PUT', body: 'payload' })));
    await advance(clock, 60_000);
    expect(call.value?.status).toBe(200);
    expect(await Promise.all(bodies)).toEqual(['payload', 'payload']);
  });
});

describe('retry.statuses', () => {
  it('retries no throttle whose status it leaves out: a 429 and a 503 with Retry-After are sent once', async () => {
    const { rw, clock, server, eventsOf } = rig(
      { retry: { statuses: [500] } },
      sequence(tooMany(0), status(503, { 'retry-after': '0' })),
    );
    const calls = [track(rw.fetch('https://a.test/1')), track(rw.fetch('https://a.test/2'))];
    await advance(clock, 60_000);
    expect(calls.map((c) => c.value?.status)).toEqual([429, 503]);
    expect(server.calls).toHaveLength(2);
    expect(eventsOf('retry')).toEqual([]);
  });

  it('with `statuses: []` and `limit: 0`, nothing is retried, a 429 included', async () => {
    const { rw, clock, server } = rig({ retry: { statuses: [], limit: 0 } }, () => tooMany());
    const call = track(rw.fetch('https://a.test/'));
    await advance(clock, 60_000);
    expect(server.calls).toHaveLength(1);
    expect(call.value?.status).toBe(429);
  });

  it('a 429 it leaves out still pauses the budget until the server says', async () => {
    const { rw, clock, server, eventsOf } = rig({ retry: { statuses: [500] } }, sequence(tooMany(3)));
    const call = track(rw.fetch('https://a.test/1'));
    await flush();
    expect(call.value?.status).toBe(429);
    expect(eventsOf('paused')).toMatchObject([{ reason: 'retry-after', until: T0 + 3000, status: 429 }]);
    const next = track(rw.fetch('https://a.test/2'));
    await advance(clock, 2999);
    expect(server.calls).toHaveLength(1);
    await advance(clock, 1);
    expect(since(server.sentAt)).toEqual([0, 3000]);
    expect(next.value?.status).toBe(200);
  });

  it('a 429 without timing it leaves out lets only the next request go until that one is answered', async () => {
    const { rw, clock, server } = rig({ retry: { statuses: [500] } }, (call) =>
      call.index === 0 ? tooMany() : 'hold',
    );
    const first = track(rw.fetch('https://a.test/0'));
    await flush();
    expect(first.value?.status).toBe(429);
    for (const i of [1, 2, 3]) void rw.fetch(`https://a.test/${i}`);
    await advance(clock, 1000);
    expect(server.calls).toHaveLength(2);
    server.held()[0]!.respond(ok());
    await advance(clock, 1000);
    expect(server.calls.length).toBeGreaterThan(2);
  });
});

describe('how long it waits', () => {
  it('never shortens a server wait: a 503 with Retry-After waits at least that long', async () => {
    const { rw, clock, server } = rig({}, sequence(status(503, { 'retry-after': '3' })));
    void rw.fetch('https://a.test/');
    await advance(clock, 10_000);
    expect(since(server.sentAt)).toEqual([0, 3000]);
  });

  it('waits the longer of the server wait and the backoff after an error status', async () => {
    const { rw, clock, server } = rig(
      { retry: { backoff: { jitter: 'none', baseMs: 2000 } } },
      sequence(status(500, { 'retry-after': '1' }), status(500, { 'retry-after': '5' })),
    );
    void rw.fetch('https://a.test/');
    await advance(clock, 20_000);
    expect(since(server.sentAt)).toEqual([0, 2000, 2000 + 5000]);
  });

  it('backs off exponentially between error retries', async () => {
    const { rw, clock, server } = rig(
      { retry: { limit: 3, backoff: { jitter: 'none', baseMs: 100 } } },
      sequence(status(500), status(500), status(500)),
    );
    void rw.fetch('https://a.test/');
    await advance(clock, 10_000);
    expect(since(server.sentAt)).toEqual([0, 100, 300, 700]);
  });

  it('fails with RateLimitError carrying retryAt when Retry-After exceeds maxRetryAfter, without retrying early', async () => {
    const { rw, clock, server, eventsOf } = rig(
      { retry: { maxRetryAfter: 10_000 } },
      sequence(tooMany(30, { 'x-request-id': '1' })),
    );
    const call = track(rw.fetch('https://a.test/x?api_key=SECRET'));
    await flush();
    expect(call.state).toBe('rejected');
    const error = call.error as RateLimitError;
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({
      reason: 'max-retry-after',
      retryAt: T0 + 30_000,
      waitMs: 30_000,
      limitMs: 10_000,
      key: 'https://a.test',
    });
    expect(error.response?.status).toBe(429);
    expect(error.message).not.toContain('SECRET');
    expect(eventsOf('giveUp')).toEqual([
      {
        key: 'https://a.test',
        method: 'GET',
        url: expect.any(String) as string,
        reason: 'max-retry-after',
        attempts: 1,
        status: 429,
      },
    ]);
    // The server's instant still holds for the budget: the next call is not sent before it.
    const next = track(rw.fetch('https://a.test/x?next', { ratewise: { retry: { maxRetryAfter: 60_000 } } }));
    await advance(clock, 29_999);
    expect(server.calls).toHaveLength(1);
    await advance(clock, 1);
    expect(since(server.sentAt)).toEqual([0, 30_000]);
    expect(next.value?.status).toBe(200);
  });

  it('retries a server wait that is within maxRetryAfter even when jitter takes it past the cap', async () => {
    // Retry-After: 10 s is exactly the cap; up to 1 s of upward jitter must not turn the retry into a failure.
    const { rw, clock, server, eventsOf } = rig(
      { retry: { maxRetryAfter: 10_000 }, random: fixedRandom(0.9) },
      sequence(tooMany(10)),
    );
    const call = track(rw.fetch('https://a.test/'));
    await advance(clock, 20_000);
    expect(eventsOf('retry').map((e) => e.delayMs)).toEqual([10_900]);
    expect(since(server.sentAt)).toEqual([0, 10_900]);
    expect(call.value?.status).toBe(200);
  });

  it('a `random` that answers NaN is drawn again from Math.random: the backoff stays jittered', async () => {
    const spy = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      const { rw, clock, server, eventsOf } = rig(
        { retry: { backoff: { baseMs: 1000 } }, random: () => Number.NaN },
        sequence(status(500)),
      );
      void rw.fetch('https://a.test/');
      await advance(clock, 10_000);
      // Full jitter of a 1 s backoff, at Math.random's 0.5; taken as 0, every client retried at once.
      expect(eventsOf('retry').map((e) => e.delayMs)).toEqual([500]);
      expect(since(server.sentAt)).toEqual([0, 500]);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('retry limits', () => {
  it('counts error retries and throttle retries separately', async () => {
    const { rw, clock, server, eventsOf } = rig(
      { retry: { limit: 1, rateLimitLimit: 2 } },
      sequence(status(500), tooMany(1), tooMany(1), status(500)),
    );
    const call = track(rw.fetch('https://a.test/'));
    await advance(clock, 60_000);
    expect(server.calls).toHaveLength(4);
    expect(call.value?.status).toBe(500); // the last response, as fetch would return it
    expect(eventsOf('giveUp')).toMatchObject([{ reason: 'retry-limit', attempts: 4, status: 500 }]);
    expect(eventsOf('retry').map((e) => e.attempt)).toEqual([1, 2, 3]);
  });

  it('returns the last 429 when the throttle retries are spent', async () => {
    const { rw, clock, server, eventsOf } = rig({ retry: { rateLimitLimit: 2 } }, () => tooMany(1));
    const call = track(rw.fetch('https://a.test/'));
    await advance(clock, 60_000);
    expect(server.calls).toHaveLength(3);
    expect(call.value?.status).toBe(429);
    expect(eventsOf('giveUp')).toMatchObject([{ reason: 'rate-limit-limit', attempts: 3 }]);
  });

  it('rethrows the last network error when the error retries are spent', async () => {
    const errors = [networkError(), networkError(), networkError()];
    const { rw, clock, server } = rig({}, ({ index }) => ({ throws: errors[index] }));
    const call = track(rw.fetch('https://a.test/'));
    await advance(clock, 60_000);
    expect(server.calls).toHaveLength(3);
    expect(call.error).toBe(errors[2]);
  });

  it('per-request `retry` overrides the client limits', async () => {
    const { rw, clock, server } = rig({}, () => status(500));
    const call = track(rw.fetch('https://a.test/', { ratewise: { retry: { limit: 0 } } }));
    await advance(clock, 60_000);
    expect(server.calls).toHaveLength(1);
    expect(call.value?.status).toBe(500);
  });

  it('fails with RetryBudgetExceededError carrying the last response when the retry budget is spent', async () => {
    // One retry per 10 s window, whatever the traffic.
    const { rw, clock, server, eventsOf } = rig(
      { retry: { budget: { ratio: 0, minPerSecond: 0.1, windowMs: 10_000 } } },
      () => status(502),
    );
    const call = track(rw.fetch('https://a.test/'));
    await advance(clock, 60_000);
    expect(server.calls).toHaveLength(2);
    expect(call.error).toBeInstanceOf(RetryBudgetExceededError);
    expect((call.error as RetryBudgetExceededError).response?.status).toBe(502);
    expect(call.error).toMatchObject({ attempts: 2, key: 'https://a.test' });
    expect(eventsOf('giveUp')).toMatchObject([{ reason: 'retry-budget', attempts: 2, status: 502 }]);
  });

  it('a throttle is retried whatever the retry budget says: the budget bounds retries of failures', async () => {
    const { rw, clock, server } = rig({ retry: { budget: { ratio: 0, minPerSecond: 0, windowMs: 10_000 } } }, (c) =>
      c.index === 0 ? tooMany(5) : ok(),
    );
    const call = track(rw.fetch('https://a.test/'));
    await advance(clock, 10_000);
    expect(call.value?.status).toBe(200);
    expect(since(server.sentAt)).toEqual([0, 5000]);
  });

  it('a retry refused by the retry budget in an outage still leaves the budget paused for the backoff', async () => {
    const { rw, clock, server } = rig(
      {
        retry: {
          budget: { ratio: 0, minPerSecond: 0, windowMs: 10_000 },
          backoff: { jitter: 'none', baseMs: 2000 },
        },
      },
      (c) => (c.index === 0 ? status(503) : ok()),
    );
    await expect(rw.fetch('https://a.test/')).rejects.toBeInstanceOf(RetryBudgetExceededError);
    expect(rw.stats()[0]?.pausedUntil).toBe(T0 + 2000);
    void rw.fetch('https://a.test/next');
    await advance(clock, 10_000);
    expect(since(server.sentAt)).toEqual([0, 2000]);
  });

  it('a 503 answering a request sent before the backoff began pauses nothing more, even once the backoff is over', async () => {
    // Two requests go together; the server is down for both. The second answer comes 500 ms after the first, when
    // the first one's backoff (100 ms) has ended: it tells of the same outage, not of a new one.
    const { rw, clock, server, eventsOf } = rig({ retry: { backoff: { jitter: 'none', baseMs: 100 } } }, (call) =>
      call.index < 2 ? 'hold' : ok(),
    );
    const calls = [track(rw.fetch('https://a.test/1'), clock), track(rw.fetch('https://a.test/2'), clock)];
    await flush();
    expect(server.calls).toHaveLength(2);
    server.held()[0]!.respond(status(503));
    await advance(clock, 500);
    server.held()[0]!.respond(status(503));
    await advance(clock, 1_000);
    expect(calls.every((c) => c.state === 'fulfilled' && c.settledCount === 1)).toBe(true);
    expect(eventsOf('paused').map((e) => [e.reason, e.status])).toEqual([['backoff', 503]]);
  });

  it('the retried request re-enters its budget at the front of the queue', async () => {
    // One slot: while `a` backs off (100 ms) `b` takes the slot; `a` then goes before `c`, queued before it.
    const { rw, clock, server } = rig(
      { budgets: { '*': { concurrency: 1 } }, retry: { backoff: { jitter: 'none', baseMs: 100 } } },
      (call) => (call.index === 0 ? status(500) : 'hold'),
    );
    void rw.fetch('https://a.test/a');
    void rw.fetch('https://a.test/b');
    void rw.fetch('https://a.test/c');
    await advance(clock, 1000);
    server.held()[0]!.respond(ok());
    await flush();
    server.held()[0]!.respond(ok());
    await flush();
    expect(server.calls.map((c) => [new URL(c.url).pathname, c.at - T0])).toEqual([
      ['/a', 0],
      ['/b', 0],
      ['/a', 1000],
      ['/c', 1000],
    ]);
  });

  it('does not count the remaining-zero headers of a 200 as a reason to retry', async () => {
    const { rw, server } = rig({}, () => ok(quota(10, 0, 60)));
    expect((await rw.fetch('https://a.test/')).status).toBe(200);
    expect(server.calls).toHaveLength(1);
  });

  it.todo(
    'design: a retry whose computed backoff is 0 ms (full jitter with random() = 0) does not go first: the slot it ' +
      'frees is granted to the next queued request before the retry re-enters at the front (a, b, a rather than ' +
      'a, a, b with one slot). Harmless with a real backoff, where others should use the slot meanwhile.',
  );
});
