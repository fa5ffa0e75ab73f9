// What ratewise does when the server is down, asks for an impossible wait, or never answers: real servers on
// 127.0.0.1, default options unless a test says otherwise. Assertions are on outcomes and counts, never on timing.
import { describe, expect, test } from 'vitest';
import { createRatewise, isRatewiseError, RateLimitError } from '../../src/index.js';
import type { RatewiseEvents } from '../../src/index.js';
import { startScriptedServer } from '../support/servers.js';
import { burst, countStatuses } from './support.js';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('a 503 outage, then recovery', () => {
  test('every call succeeds once the server is back, and the outage costs two attempts, not one per call', async () => {
    const OUTAGE = 2;
    // Down (503, no timing) for the first two requests it receives, then up.
    const server = await startScriptedServer(({ index }) =>
      index < OUTAGE ? { status: 503, body: 'down for maintenance' } : { json: { ok: true } },
    );
    const rw = createRatewise();
    const paused: RatewiseEvents['paused'][] = [];
    rw.on('paused', (event) => paused.push(event));
    try {
      const result = await burst(rw, server.url, 20);

      expect(result.errors).toEqual([]);
      expect(countStatuses(result.statuses)).toEqual({ 200: 20 });
      // The whole budget backs off after each 503: the queued calls wait instead of each meeting the outage.
      expect(server.hits()).toMatchObject({ total: 20 + OUTAGE, byStatus: { 200: 20, 503: OUTAGE } });
      // The two 503s answer requests sent together in the initial window: one backoff, not one each.
      expect(paused.map((event) => [event.reason, event.status])).toEqual([['backoff', 503]]);
      expect(rw.stats()[0]?.counters).toMatchObject({ sent: 20 + OUTAGE, retries: OUTAGE, giveUps: 0 });
    } finally {
      await rw.close();
      await server.close();
    }
  });

  test('an outage longer than the retries returns the last 503, like fetch would', async () => {
    const server = await startScriptedServer(() => ({ status: 503, body: 'down' }));
    const rw = createRatewise({ retry: { limit: 1 } });
    try {
      const response = await rw.fetch(`${server.url}/items/1`);
      expect(response.status).toBe(503);
      expect(await response.text()).toBe('down');
      expect(server.hits()).toMatchObject({ total: 2, byStatus: { 503: 2 } });
    } finally {
      await rw.close();
      await server.close();
    }
  });
});

describe('a Retry-After of days', () => {
  test.for([
    { form: 'delay-seconds', retryAfter: () => String(3 * 24 * 60 * 60) },
    { form: 'HTTP-date', retryAfter: () => new Date(Date.now() + 3 * DAY_MS).toUTCString() },
  ])('$form: fails fast with RateLimitError carrying retryAt, and sends nothing more', async ({ retryAfter }) => {
    const server = await startScriptedServer(() => ({ status: 429, headers: { 'retry-after': retryAfter() } }));
    const rw = createRatewise();
    try {
      // A test timeout would fail these if ratewise waited: the defaults cap a server's wait at 60 s.
      const result = await burst(rw, server.url, 5);
      const after = await rw.fetch(`${server.url}/items/99`).catch((error: unknown) => error);

      const errors = [...result.errors, after];
      expect(errors).toHaveLength(6);
      for (const error of errors) {
        expect(error).toBeInstanceOf(RateLimitError);
        expect(isRatewiseError(error)).toBe(true);
        const { code, reason, retryAt } = error as RateLimitError;
        expect({ code, reason }).toEqual({ code: 'ERR_RATEWISE_RATE_LIMITED', reason: 'max-retry-after' });
        // The server's instant, not a local guess: between two and four days from now.
        expect(retryAt).toBeGreaterThan(Date.now() + 2 * DAY_MS);
        expect(retryAt).toBeLessThan(Date.now() + 4 * DAY_MS);
      }
      // The five went together in the new budget's initial window; the call made after their answers learned of the
      // pause before sending.
      expect(server.hits()).toMatchObject({ total: 5, rejected: 5 });
      expect(rw.stats()[0]?.pausedUntil).toBeGreaterThan(Date.now() + 2 * DAY_MS);
    } finally {
      await rw.close();
      await server.close();
    }
  });
});

describe('abort while the request is in flight', () => {
  test('rejects with the caller’s reason at once, frees the slot for the next call, and closes cleanly', async () => {
    let received: () => void = () => undefined;
    const firstReceived = new Promise<void>((resolve) => {
      received = resolve;
    });
    // The first request is never answered; later ones are.
    const server = await startScriptedServer(({ index }) => {
      if (index > 0) return { json: { ok: true } };
      received();
      return new Promise<never>(() => undefined);
    });
    // One request at a time, so that the second call can only go once the first has let go of its slot.
    const rw = createRatewise({ budgets: { '*': { concurrency: 1 } } });
    try {
      const controller = new AbortController();
      const hung = rw.fetch(`${server.url}/hangs`, { signal: controller.signal });
      const next = rw.fetch(`${server.url}/next`);
      await firstReceived;
      expect(rw.stats()[0]).toMatchObject({ inFlight: 1, queued: 1 });

      const reason = new Error('user navigated away');
      controller.abort(reason);
      await expect(hung).rejects.toBe(reason);

      const response = await next;
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      expect(server.requests().map(({ url, status }) => ({ url, status }))).toEqual([
        { url: '/hangs', status: undefined },
        { url: '/next', status: 200 },
      ]);
      expect(rw.stats()[0]).toMatchObject({ inFlight: 0, queued: 0 });
    } finally {
      await rw.close();
      await server.close();
    }
  });
});
