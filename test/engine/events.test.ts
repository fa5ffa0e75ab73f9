import { describe, expect, it, vi } from 'vitest';
import { isRatewiseError } from '../../src/errors.js';
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
      expect(new Set(events.map((e) => e.name)).size).toBeGreaterThanOrEqual(6);
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
