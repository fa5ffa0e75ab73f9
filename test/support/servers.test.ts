// The test peers themselves: later integration tests trust their counts and their close().
import { describe, expect, test } from 'vitest';
import { sequence, startFastifyServer, startScriptedServer } from './servers.js';
import type { ScriptedRequest } from './servers.js';

describe('startScriptedServer', () => {
  test('answers the n-th request with the n-th response, then repeats the last one', async () => {
    const server = await startScriptedServer(
      sequence({ status: 429, headers: { 'retry-after': '1' } }, { status: 503 }, { json: { ok: true } }),
    );
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const response = await fetch(server.url);
        await response.arrayBuffer();
        statuses.push(response.status);
      }
      expect(statuses).toEqual([429, 503, 200, 200, 200]);
      expect(server.hits()).toEqual({
        total: 5,
        accepted: 3,
        rejected: 1,
        byStatus: { 200: 3, 429: 1, 503: 1 },
        inFlight: 0,
        maxInFlight: 1,
      });
    } finally {
      await server.close();
    }
  });

  test('gives the script the request and sends its fields, repeated lines and body', async () => {
    const seen: ScriptedRequest[] = [];
    const server = await startScriptedServer((request) => {
      seen.push(request);
      return {
        status: 201,
        headers: { 'ratelimit-policy': ['"a";q=1', '"b";q=2'], 'x-count': 3 },
        json: { echoed: request.body },
        sendDate: false,
      };
    });
    try {
      const response = await fetch(`${server.url}/items?x=1`, { method: 'POST', body: 'hello' });
      expect(response.status).toBe(201);
      expect(response.headers.get('ratelimit-policy')).toBe('"a";q=1, "b";q=2');
      expect(response.headers.get('x-count')).toBe('3');
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(response.headers.has('date')).toBe(false);
      expect(await response.json()).toEqual({ echoed: 'hello' });
      expect(seen).toMatchObject([{ index: 0, method: 'POST', url: '/items?x=1', body: 'hello' }]);
      expect(server.requests()).toEqual([
        {
          method: 'POST',
          url: '/items?x=1',
          receivedAt: expect.any(Number) as number,
          status: 201,
          answeredAt: expect.any(Number) as number,
        },
      ]);
    } finally {
      await server.close();
    }
  });

  test('answers 500 when the script throws', async () => {
    const server = await startScriptedServer(() => {
      throw new Error('boom');
    });
    try {
      const response = await fetch(server.url);
      expect(response.status).toBe(500);
      expect(await response.text()).toContain('boom');
    } finally {
      await server.close();
    }
  });

  test('counts concurrent requests, and close() drops the ones still held open', async () => {
    const held: (() => void)[] = [];
    const server = await startScriptedServer(
      () =>
        new Promise((resolve) => {
          held.push(() => {
            resolve({ status: 200 });
          });
        }),
    );
    const pending = [1, 2, 3].map(() =>
      fetch(server.url).then(
        (response) => response.status,
        () => 'dropped',
      ),
    );
    await expect.poll(() => server.hits().inFlight).toBe(3);
    await server.close();
    expect(await Promise.all(pending)).toEqual(['dropped', 'dropped', 'dropped']);
    expect(server.hits()).toMatchObject({ total: 3, accepted: 0, inFlight: 0, maxInFlight: 3 });
    for (const release of held) release();
    await server.close();
  });
});

describe('startFastifyServer', () => {
  test('counts what the plugin lets through and what it rejects on any path and method', async () => {
    const server = await startFastifyServer({ max: 2, timeWindow: '1 minute' });
    try {
      const statuses: number[] = [];
      for (const [path, method] of [
        ['/', 'GET'],
        ['/a/b?c=1', 'POST'],
        ['/', 'DELETE'],
      ] as const) {
        const response = await fetch(`${server.url}${path}`, { method });
        await response.arrayBuffer();
        statuses.push(response.status);
      }
      expect(statuses).toEqual([200, 200, 429]);
      expect(server.hits()).toMatchObject({ total: 3, accepted: 2, rejected: 1 });
    } finally {
      await server.close();
    }
  });
});
