import { describe, expect, it, vi } from 'vitest';
import { createRatewise } from '../../src/client.js';
import { isRatewiseError } from '../../src/errors.js';
import type { RatewiseEvents } from '../../src/events.js';
import { advance, flush, networkError, ok, quota, rig, status, T0, tooMany, track } from './support/harness.js';

describe('events', () => {
  it('emits queued, throttled, paused, retry, rateLimitInfo and giveUp with their payloads', async () => {
    const { rw, clock, eventsOf } = rig(
      { budgets: { '*': { rate: '1/s', burst: 1 } }, retry: { rateLimitLimit: 1 } },
      (call) => (call.index === 0 ? ok(quota(100, 50, 60)) : tooMany(2)),
    );
    void rw.fetch('https://a.test/one');
    void rw.fetch('https://a.test/two', { ratewise: { priority: 3 } });
    await advance(clock, 10_000);
    // Once waiting for a token, once more when its retry waits out the pause.
    const queued = { key: 'https://a.test', method: 'GET', url: 'https://a.test/two', queued: 1, priority: 3 };
    expect(eventsOf('queued')).toEqual([queued, queued]);
    expect(eventsOf('throttled')[0]).toEqual({ key: 'https://a.test', reason: 'rate', waitMs: 1000, until: T0 + 1000 });
    expect(eventsOf('rateLimitInfo')[0]).toMatchObject({
      key: 'https://a.test',
      url: 'https://a.test/one',
      status: 200,
      info: { limit: 100, remaining: 50, resetAt: T0 + 60_000 },
    });
    expect(eventsOf('paused')[0]).toEqual({
      key: 'https://a.test',
      until: T0 + 3000,
      reason: 'retry-after',
      status: 429,
    });
    expect(eventsOf('retry')).toEqual([
      {
        key: 'https://a.test',
        method: 'GET',
        url: 'https://a.test/two',
        attempt: 1,
        delayMs: 2000,
        source: 'server',
        status: 429,
        error: undefined,
      },
    ]);
    expect(eventsOf('giveUp')).toEqual([
      {
        key: 'https://a.test',
        method: 'GET',
        url: 'https://a.test/two',
        reason: 'rate-limit-limit',
        attempts: 2,
        status: 429,
      },
    ]);
  });

  it('stops calling a listener once its disposer ran', async () => {
    const { rw } = rig({}, () => status(500));
    const seen: number[] = [];
    const off = rw.on('retry', (e) => seen.push(e.attempt));
    const call = rw.fetch('https://a.test/', { ratewise: { retry: { limit: 1 } } });
    await flush();
    off();
    await call;
    await rw.fetch('https://a.test/', { ratewise: { retry: { limit: 1 } } });
    expect(seen).toEqual([1]);
  });

  it('a listener that throws affects neither the request nor the other listeners', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const { rw } = rig({}, (c) => (c.index === 0 ? status(503) : ok()));
      const seen: string[] = [];
      rw.on('retry', () => {
        throw new Error('listener bug');
      });
      rw.on('retry', (e) => seen.push(e.url));
      const response = await rw.fetch('https://a.test/');
      expect(response.status).toBe(200);
      expect(seen).toEqual(['https://a.test/']);
      expect(error).toHaveBeenCalledOnce();
    } finally {
      error.mockRestore();
    }
  });
});

describe('attempt and settled', () => {
  /** A rig that also records `attempt` and `settled`, which the engine rig leaves out. */
  function told(...args: Parameters<typeof rig>) {
    const r = rig(...args);
    const attempts: RatewiseEvents['attempt'][] = [];
    const settled: RatewiseEvents['settled'][] = [];
    r.rw.on('attempt', (e) => attempts.push(e));
    r.rw.on('settled', (e) => settled.push(e));
    return { ...r, attempts, settled };
  }

  it('tell each attempt with the wait before it, and each call with its whole wait', async () => {
    const { rw, clock, attempts, settled } = told({ budgets: { '*': { rate: '1/s', burst: 1 } } }, (call) =>
      call.index === 1 ? tooMany(2) : ok(),
    );
    const first = track(rw.fetch('https://a.test/one'));
    const second = track(rw.fetch('https://a.test/two', { method: 'POST', ratewise: { idempotencyKey: 'k' } }));
    await advance(clock, 10_000);
    expect([first.state, second.state]).toEqual(['fulfilled', 'fulfilled']);
    const base = { key: 'https://a.test', pattern: '*', durationMs: 0 };
    expect(attempts).toEqual([
      {
        ...base,
        method: 'GET',
        url: 'https://a.test/one',
        attempt: 1,
        status: 200,
        outcome: 'ok',
        sentAt: T0,
        waitedMs: 0,
      },
      // Its turn in the budget's rate, then the server's Retry-After.
      {
        ...base,
        method: 'POST',
        url: 'https://a.test/two',
        attempt: 1,
        status: 429,
        outcome: 'refused',
        sentAt: T0 + 1000,
        waitedMs: 1000,
      },
      {
        ...base,
        method: 'POST',
        url: 'https://a.test/two',
        attempt: 2,
        status: 200,
        outcome: 'ok',
        sentAt: T0 + 3000,
        waitedMs: 2000,
      },
    ]);
    const call = { key: 'https://a.test', pattern: '*', status: 200, error: undefined, startedAt: T0, lastWaitMs: 0 };
    expect(settled).toEqual([
      { ...call, method: 'GET', url: 'https://a.test/one', attempts: 1, durationMs: 0, waitedMs: 0 },
      { ...call, method: 'POST', url: 'https://a.test/two', attempts: 2, durationMs: 3000, waitedMs: 3000 },
    ]);
  });

  it('read an outcome from the status, and from the headers of a 403 or 503', async () => {
    const replies = [status(500), { throws: networkError() }, status(503, { 'retry-after': '1' }), status(404)];
    const { rw, clock, attempts, settled } = told({ retry: { limit: 5 } }, (call) => replies[call.index]!);
    const call = track(rw.fetch('https://a.test/'));
    await advance(clock, 60_000);
    expect(call.state).toBe('fulfilled');
    expect(attempts.map((e) => [e.status, e.outcome])).toEqual([
      [500, 'error'],
      [undefined, 'error'],
      [503, 'refused'],
      [404, 'error'],
    ]);
    expect(settled).toMatchObject([{ attempts: 4, status: 404, error: undefined, lastWaitMs: 0 }]);
  });

  it('tell the wait a call ended in: before its first attempt, or before a retry', async () => {
    const { rw, clock, attempts, settled } = told({ budgets: { '*': { rate: '1/s', burst: 1 } } }, (call) =>
      call.index === 0 ? ok() : tooMany(30),
    );
    await rw.fetch('https://a.test/one');
    const controller = new AbortController();
    const aborted = track(rw.fetch('https://a.test/two', { signal: controller.signal }));
    await advance(clock, 400);
    controller.abort();
    await advance(clock, 1000);
    expect(aborted.state).toBe('rejected');
    expect(settled[1]).toMatchObject({
      attempts: 0,
      status: undefined,
      waitedMs: 400,
      lastWaitMs: 400,
      durationMs: 400,
    });
    expect(settled[1]!.error).toBe(aborted.error);

    const refused = track(rw.fetch('https://a.test/three'));
    await advance(clock, 5000);
    const closing = rw.close();
    await advance(clock, 0);
    await closing;
    expect(refused.error).toMatchObject({ code: 'ERR_RATEWISE_CLOSED' });
    expect(attempts.at(-1)).toMatchObject({ url: 'https://a.test/three', attempt: 1, status: 429, waitedMs: 0 });
    // Sent at once (the rate's token had come back), refused, then closed 5 s into the pause.
    expect(settled[2]).toMatchObject({ attempts: 1, status: 429, waitedMs: 5000, lastWaitMs: 5000, durationMs: 5000 });
    expect(settled[2]!.error).toBe(refused.error);
  });
});

describe('sanitised URLs', () => {
  const url = 'https://alice:p4ssw0rd@host.test/x?api_key=SECRET&page=2';
  const leaks = (text: string): boolean => /SECRET|p4ssw0rd|alice/.test(text);

  it('never shows credentials or query secrets in events, errors or stats', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const { rw, clock, events } = rig(
        {
          budgets: { '*': { rate: '1/s', burst: 1, maxQueue: 1 } },
          retry: { maxRetryAfter: 5000, budget: { ratio: 0, minPerSecond: 0.1, windowMs: 10_000 } },
          loopGuard: { limit: 3, windowMs: 3_600_000 },
        },
        (call) => [status(503), status(503), tooMany(60), { throws: networkError() }][call.index % 4]!,
      );
      for (const name of ['attempt', 'settled'] as const) {
        rw.on(name, (event) => events.push({ name, at: clock.now(), event }));
      }
      const outcomes = Array.from({ length: 6 }, () => track(rw.fetch(url)));
      await advance(clock, 120_000);
      // One after another, each once the previous one has settled: a loop, and its warning.
      for (let i = 0; i < 4; i++) {
        outcomes.push(track(rw.fetch(url)));
        await advance(clock, 120_000);
      }
      outcomes.push(track(rw.fetch(url, { ratewise: { maxWait: 0 } })));
      const closing = rw.close();
      outcomes.push(track(rw.fetch(url)));
      await advance(clock, 120_000);
      await closing;

      const errors = outcomes.filter((o) => o.state === 'rejected').map((o) => o.error);
      expect(errors.length).toBeGreaterThan(3);
      const codes = new Set(errors.filter((e) => isRatewiseError(e)).map((e) => e.code));
      expect(codes.size).toBeGreaterThanOrEqual(3);
      for (const e of errors) {
        expect(leaks(String(e))).toBe(false);
        expect(leaks(JSON.stringify(e))).toBe(false);
      }
      expect(new Set(events.map((e) => e.name)).size).toBeGreaterThanOrEqual(8);
      expect(leaks(JSON.stringify(events))).toBe(false);
      expect(events.some((e) => JSON.stringify(e.event).includes('api_key=[REDACTED]&page=2'))).toBe(true);
      expect(leaks(JSON.stringify(rw.stats()))).toBe(false);
      expect(warn).toHaveBeenCalled();
      for (const args of warn.mock.calls) expect(leaks(args.join(' '))).toBe(false);
    } finally {
      warn.mockRestore();
    }
  });

  it('redacts a session id passed as a path parameter (;jsessionid=, any case) in events and errors', async () => {
    const { rw, clock, events } = rig({ budgets: { '*': { rate: '1/s', burst: 1 } } });
    const sent = 'https://shop.test/cart;JSESSIONID=ABC123?x=1';
    await rw.fetch(sent);
    const error: unknown = await rw.fetch(sent, { ratewise: { maxWait: 0 } }).catch((e: unknown) => e);
    await advance(clock, 1000);
    expect(error).toMatchObject({
      code: 'ERR_RATEWISE_RATE_LIMITED',
      url: 'https://shop.test/cart;JSESSIONID=[REDACTED]?x=1',
    });
    expect(String(error)).not.toContain('ABC123');
    expect(events.map((e) => e.name)).toContain('rateLimitInfo');
    expect(JSON.stringify(events)).not.toContain('ABC123');
    expect(JSON.stringify(events)).toContain('cart;JSESSIONID=[REDACTED]?x=1');
  });

  it('keep the password of a user:pass@ URL out of the settled event when fetch refuses such URLs', async () => {
    const rw = createRatewise();
    // As listeners see it then (the caller's copy is scrubbed afterwards, the same object).
    const seen: string[] = [];
    rw.on('settled', (e) => seen.push(String(e.error)));
    // Node's fetch throws before connecting: nothing is sent.
    const error = await rw.fetch('http://alice:p4ssw0rd@127.0.0.1:9/x').catch((e: unknown) => e);
    expect(seen).toEqual([String(error)]);
    expect(seen[0]).toContain('includes credentials');
    expect(leaks(seen[0]!)).toBe(false);
  });

  it('still sends the URL as given', async () => {
    const { rw, server } = rig();
    await rw.fetch(url);
    expect(server.calls[0]!.url).toBe(url);
  });
});

describe('stats()', () => {
  it('reports queued, in flight, bucket level, pause, the server view and counters per budget', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { rate: '10/s', burst: 5 } } }, (call) => {
      if (call.index === 0) return ok(quota(100, 42, 30));
      if (call.index === 1) return tooMany(4);
      return 'hold';
    });
    await rw.fetch('https://a.test/');
    void rw.fetch('https://a.test/');
    await flush();
    expect(rw.stats()).toEqual([
      {
        key: 'https://a.test',
        pattern: '*',
        queued: 1,
        inFlight: 0,
        bucketLevel: 3,
        pausedUntil: T0 + 4000,
        server: { limit: 100, remaining: 42, resetAt: T0 + 30_000, observedAt: T0 },
        counters: { sent: 2, waited: 1, rateLimited: 1, retries: 1, giveUps: 0 },
        shared: undefined,
        store: undefined,
      },
    ]);
    await advance(clock, 4000);
    expect(rw.stats()[0]).toMatchObject({ queued: 0, inFlight: 1, pausedUntil: undefined, bucketLevel: 4 });
    server.held()[0]!.respond(ok());
    await flush();
    expect(rw.stats()[0]).toMatchObject({ queued: 0, inFlight: 0, counters: { sent: 3 } });
  });

  it('reports bucketLevel as undefined without a local rate, and a snapshot that later calls do not change', async () => {
    const { rw } = rig();
    await rw.fetch('https://a.test/');
    const before = rw.stats();
    await rw.fetch('https://a.test/');
    expect(before[0]).toMatchObject({ bucketLevel: undefined, server: undefined, counters: { sent: 1 } });
    expect(rw.stats()[0]?.counters.sent).toBe(2);
  });
});
