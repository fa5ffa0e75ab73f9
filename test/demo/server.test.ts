import { afterEach, describe, expect, it } from 'vitest';
import {
  describeServer,
  FixedWindow,
  formatLimit,
  rateLimitFields,
  SERVER_KINDS,
  startDemoServer,
  type DemoServer,
} from '../../scripts/demo/server.js';

describe('rateLimitFields', () => {
  it('keeps Retry-After and the RateLimit families, nothing else', () => {
    const fields = rateLimitFields({
      'retry-after': '2',
      ratelimit: '"p";r=0;t=2',
      'ratelimit-policy': '"p";q=50;w=2',
      'x-ratelimit-limit': '50',
      'x-rate-limit-remaining': '0',
      'content-type': 'application/json',
    });
    expect(Object.keys(fields).sort()).toEqual([
      'ratelimit',
      'ratelimit-policy',
      'retry-after',
      'x-rate-limit-remaining',
      'x-ratelimit-limit',
    ]);
  });
});

describe('FixedWindow', () => {
  it('admits `limit` requests per window, counted from the first request of the window', () => {
    const window = new FixedWindow({ limit: 2, windowMs: 1_000 });
    expect(window.admit(10_000)).toEqual({ ok: true });
    expect(window.admit(10_100)).toEqual({ ok: true });
    expect(window.admit(10_200)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(window.admit(11_000)).toEqual({ ok: true });
  });

  it('asks for the rest of the window in whole seconds, at least 1', () => {
    const window = new FixedWindow({ limit: 1, windowMs: 5_000 });
    window.admit(0);
    expect(window.admit(100)).toEqual({ ok: false, retryAfterSeconds: 5 });
    expect(window.admit(4_990)).toEqual({ ok: false, retryAfterSeconds: 1 });
  });
});

describe('describeServer and formatLimit', () => {
  it('say what each server tells clients', () => {
    expect(describeServer('express')).toContain('draft-8');
    expect(describeServer('fastify')).toContain('X-RateLimit-*');
    expect(describeServer('no-headers')).toContain('only Retry-After');
    expect(formatLimit({ limit: 50, windowMs: 2_000 })).toBe('50 per 2 s');
    expect(formatLimit({ limit: 5, windowMs: 1_500 })).toBe('5 per 1.50 s');
  });
});

describe.each(SERVER_KINDS)('the %s server', (kind) => {
  let server: DemoServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  // A long window, so that it cannot roll over during the test.
  const limit = { limit: 3, windowMs: 60_000 };

  async function get(path: string): Promise<Response> {
    const response = await fetch(`${server!.url}${path}`);
    await response.arrayBuffer();
    return response;
  }

  it('answers within its limit, then 429 with Retry-After, on 127.0.0.1', async () => {
    server = await startDemoServer(kind, limit);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await get(`/items/${i}`);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('records every request with its status, in arrival order', async () => {
    server = await startDemoServer(kind, limit);
    const before = Date.now();
    for (let i = 0; i < 5; i++) await get(`/items/${i}`);
    const arrivals = server.arrivals();
    expect(arrivals.map((a) => a.status)).toEqual([200, 200, 200, 429, 429]);
    for (const a of arrivals) expect(a.receivedAt).toBeGreaterThanOrEqual(before);
    expect(arrivals.map((a) => a.receivedAt)).toEqual([...arrivals.map((a) => a.receivedAt)].sort((a, b) => a - b));
    expect(arrivals.map((a) => a.path)).toEqual(['/items/0', '/items/1', '/items/2', '/items/3', '/items/4']);
    for (const a of arrivals) expect(a.answeredAt).toBeGreaterThanOrEqual(a.receivedAt);
    expect(server.counts()).toEqual({ inFlight: 0, rejected: 2 });
  });

  it('keeps the rate-limit fields of its first 429, as the client received them', async () => {
    server = await startDemoServer(kind, limit);
    for (let i = 0; i < 3; i++) await get(`/items/${i}`);
    expect(server.firstRejection()).toBeUndefined();
    const refused = await get('/items/3');
    await get('/items/4');
    const received = Object.fromEntries(
      [...refused.headers].filter(([name]) => /^(retry-after|ratelimit|x-ratelimit)/.test(name)),
    );
    expect(received).toHaveProperty('retry-after');
    expect(server.firstRejection()).toEqual(received);
  });

  it('tells clients about its limit the way its kind does', async () => {
    server = await startDemoServer(kind, limit);
    const first = await get('/items/1');
    const names = [...first.headers.keys()];
    if (kind === 'express') expect(names).toEqual(expect.arrayContaining(['ratelimit', 'ratelimit-policy']));
    if (kind === 'fastify') {
      expect(names).toEqual(expect.arrayContaining(['x-ratelimit-limit', 'x-ratelimit-remaining']));
    }
    if (kind === 'no-headers') {
      expect(names.filter((n) => /ratelimit|rate-limit/.test(n))).toEqual([]);
      await get('/items/2');
      await get('/items/3');
      const refused = await get('/items/4');
      expect(refused.status).toBe(429);
      expect(
        [...refused.headers.keys()].filter((n) => n !== 'date' && n !== 'connection' && n !== 'keep-alive'),
      ).toEqual(['content-length', 'retry-after']);
    }
  });

  it('closes idempotently', async () => {
    server = await startDemoServer(kind, limit);
    const closing = server.close();
    expect(server.close()).toBe(closing);
    await closing;
    await expect(fetch(`${server.url}/items/1`)).rejects.toThrow();
  });
});
