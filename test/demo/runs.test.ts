import { afterEach, describe, expect, it } from 'vitest';
import type { ProgressSnapshot } from '../../scripts/demo/progress.js';
import { instrumentFetch, naiveGet, rateLimitFields, runBurst, type LiveCounts } from '../../scripts/demo/runs.js';
import { startDemoServer, type DemoServer } from '../../scripts/demo/server.js';

function response(status: number, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : 'body', { status, headers });
}

/** A fetch answering from a list, remembering each call. */
function scripted(...responses: Response[]): typeof fetch & { calls: number } {
  const stub = Object.assign(
    (): Promise<Response> => {
      stub.calls += 1;
      return Promise.resolve(responses[Math.min(stub.calls, responses.length) - 1]!);
    },
    { calls: 0 },
  );
  return stub;
}

describe('rateLimitFields', () => {
  it('keeps Retry-After and the RateLimit families, nothing else', () => {
    const headers = new Headers({
      'retry-after': '2',
      ratelimit: '"p";r=0;t=2',
      'ratelimit-policy': '"p";q=50;w=2',
      'x-ratelimit-limit': '50',
      'x-rate-limit-remaining': '0',
      'content-type': 'application/json',
    });
    expect(Object.keys(rateLimitFields(headers)).sort()).toEqual([
      'ratelimit',
      'ratelimit-policy',
      'retry-after',
      'x-rate-limit-remaining',
      'x-ratelimit-limit',
    ]);
  });
});

describe('instrumentFetch', () => {
  it('counts attempts in flight and 429s, and keeps the first 429’s fields', async () => {
    const live: LiveCounts = { done: 0, inFlight: 0, rejected: 0, firstRejection: undefined };
    let inFlightSeen = -1;
    const base = ((): Promise<Response> => {
      inFlightSeen = live.inFlight;
      return Promise.resolve(response(429, { 'retry-after': String(live.rejected + 1) }));
    }) as typeof fetch;
    const send = instrumentFetch(live, base);
    await send('http://127.0.0.1:1/');
    await send('http://127.0.0.1:1/');
    expect(inFlightSeen).toBe(1);
    expect(live).toEqual({ done: 0, inFlight: 0, rejected: 2, firstRejection: { 'retry-after': '1' } });
  });

  it('counts an attempt out of flight when it fails', async () => {
    const live: LiveCounts = { done: 0, inFlight: 0, rejected: 0, firstRejection: undefined };
    const send = instrumentFetch(live, () => Promise.reject(new TypeError('fetch failed')));
    await expect(send('http://127.0.0.1:1/')).rejects.toThrow('fetch failed');
    expect(live.inFlight).toBe(0);
  });
});

describe('naiveGet', () => {
  it('retries 429s until another answer comes', async () => {
    const fetch = scripted(response(429, { 'retry-after': '0' }), response(429), response(200));
    const res = await naiveGet('http://127.0.0.1:1/', { fetch, random: () => 0 });
    expect(res.status).toBe(200);
    expect(fetch.calls).toBe(3);
  });

  it('returns the last 429 after maxAttempts', async () => {
    const fetch = scripted(response(429, { 'retry-after': 'soon' }));
    const res = await naiveGet('http://127.0.0.1:1/', { fetch, random: () => 0, maxAttempts: 4 });
    expect(res.status).toBe(429);
    expect(fetch.calls).toBe(4);
  });

  it('does not retry other statuses', async () => {
    const fetch = scripted(response(503), response(200));
    expect((await naiveGet('http://127.0.0.1:1/', { fetch })).status).toBe(503);
    expect(fetch.calls).toBe(1);
  });

  it('stops sleeping when the signal aborts, with its reason', async () => {
    const controller = new AbortController();
    const fetch = scripted(response(429, { 'retry-after': '3600' }));
    const call = naiveGet('http://127.0.0.1:1/', { fetch, random: () => 1, signal: controller.signal });
    const reason = new Error('stop');
    setImmediate(() => {
      controller.abort(reason);
    });
    await expect(call).rejects.toBe(reason);
    expect(fetch.calls).toBe(1);
  });
});

describe('runBurst', () => {
  let server: DemoServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function recorder(): { updates: ProgressSnapshot[]; finished: ProgressSnapshot[] } & {
    update(s: ProgressSnapshot): void;
    finish(s: ProgressSnapshot): void;
  } {
    const updates: ProgressSnapshot[] = [];
    const finished: ProgressSnapshot[] = [];
    return { updates, finished, update: (s) => void updates.push(s), finish: (s) => void finished.push(s) };
  }

  it('settles every call of the plain client, and the server log holds every attempt', async () => {
    server = await startDemoServer('express', { limit: 5, windowMs: 1_000 });
    const progress = recorder();
    const run = await runBurst({ client: 'plain', server, requests: 12, progress, tickMs: 20 });
    expect(run.label).toBe('plain fetch + retry on 429');
    expect(run.succeeded + run.failures.reduce((sum, f) => sum + f.count, 0)).toBe(12);
    expect(run.arrivals.length).toBeGreaterThanOrEqual(12);
    expect(run.arrivals.filter((a) => a.status === 429).length).toBeGreaterThan(0);
    expect(run.firstRejection).toHaveProperty('retry-after');
    expect(run.pauses).toEqual([]);
    expect(progress.finished).toEqual([expect.objectContaining({ done: 12, inFlight: 0, waiting: 0 })]);
  });

  it('gets every call through ratewise with nothing tuned, against a server with headers', async () => {
    server = await startDemoServer('express', { limit: 5, windowMs: 1_000 });
    const run = await runBurst({ client: 'ratewise', server, requests: 12 });
    expect(run.failures).toEqual([]);
    expect(run.succeeded).toBe(12);
    expect(run.arrivals.filter((a) => a.status === 200)).toHaveLength(12);
  });

  it('records ratewise’s pauses against a server that only says Retry-After', async () => {
    server = await startDemoServer('no-headers', { limit: 5, windowMs: 1_000 });
    const run = await runBurst({ client: 'ratewise', server, requests: 12 });
    expect(run.failures).toEqual([]);
    expect(run.succeeded).toBe(12);
    expect(run.pauses.length).toBeGreaterThan(0);
    for (const pause of run.pauses) expect(pause.until).toBeGreaterThan(pause.from);
  });
});
