// Scenario 3: transport faults on 127.0.0.1. Connection refused, a reset before the head and one in the middle of
// the body, a server that accepts and never answers, a body that drips, a head too large to read. Each call settles
// once, with the fault or the caller's abort reason; retries stay within `retry.limit`; the client ends idle.
import { getEventListeners } from 'node:events';
import { describe, expect, test } from 'vitest';
import { createRatewise, giveUpReason } from '../../src/index.js';
import {
  closedPort,
  CountingClock,
  expectIdle,
  longestAllowedWait,
  settleAll,
  SMALL_RETRY,
  startRawServer,
} from './support.js';

const CALLS = 5;
const LIMIT = 2;
const BOUND = CALLS * (1 + LIMIT);

function client(clock: CountingClock, onAttempt: () => void = () => undefined) {
  return createRatewise({
    clock,
    loopGuard: false,
    retry: { ...SMALL_RETRY, limit: LIMIT },
    fetch: (input, init) => {
      onAttempt();
      return globalThis.fetch(input, init);
    },
  });
}

describe('transport faults', () => {
  test('connection refused: each call fails with the network error after retry.limit retries', async () => {
    const port = await closedPort();
    const clock = new CountingClock();
    let attempts = 0;
    const rw = client(clock, () => attempts++);
    try {
      const calls = Array.from({ length: CALLS }, (_, i) => rw.fetch(`http://127.0.0.1:${port}/refused/${i}`));
      const result = await settleAll(calls);

      expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
      expect(result.rejected).toHaveLength(CALLS);
      for (const error of result.rejected) {
        expect(error).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
        expect(giveUpReason(error)).toBe('retry-limit');
      }
      expect(attempts).toBe(BOUND);
      expect(clock.maxDelayMs).toBeLessThanOrEqual(longestAllowedWait());
      await expectIdle(rw, clock);
      console.info(
        `[hostile] connection refused: ${attempts} attempts (bound ${BOUND}), longest timer ${clock.maxDelayMs} ms`,
      );
    } finally {
      await rw.close();
    }
  });

  test('a reset before the response head is retried, then fails with the network error', async () => {
    const server = await startRawServer((req) => {
      req.socket.destroy();
    });
    const clock = new CountingClock();
    const rw = client(clock);
    try {
      const result = await settleAll(Array.from({ length: CALLS }, (_, i) => rw.fetch(`${server.url}/reset/${i}`)));

      expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
      for (const error of result.rejected) expect(giveUpReason(error)).toBe('retry-limit');
      expect(result.rejected).toHaveLength(CALLS);
      expect(server.arrivals.length).toBeLessThanOrEqual(BOUND);
      await expectIdle(rw, clock);
      console.info(`[hostile] reset before head: ${server.arrivals.length} requests (bound ${BOUND})`);
    } finally {
      await rw.close();
      await server.close();
    }
  });

  test('a reset in the middle of the body: the call resolves with the response, the body read fails', async () => {
    const server = await startRawServer((_req, res) => {
      res.writeHead(200, { 'content-length': '1000', 'x-ratelimit-remaining': '50', 'x-ratelimit-limit': '60' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const clock = new CountingClock();
    const rw = client(clock);
    try {
      const calls = Array.from({ length: CALLS }, async (_, i) => {
        const response = await rw.fetch(`${server.url}/mid-body/${i}`);
        return response.text().then(
          () => 'read',
          (error: unknown) => (error as Error).message,
        );
      });
      const result = await settleAll(calls);

      expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
      // undici's error for a body cut short.
      expect(result.fulfilled).toEqual(Array.from({ length: CALLS }, () => 'terminated'));
      expect(server.arrivals).toHaveLength(CALLS);
      await expectIdle(rw, clock);
    } finally {
      await rw.close();
      await server.close();
    }
  });

  test('a server that never answers: the caller’s AbortSignal.timeout ends every call, in flight or queued', async () => {
    const server = await startRawServer(() => undefined);
    const clock = new CountingClock();
    const rw = client(clock);
    try {
      const signals = Array.from({ length: CALLS }, () => AbortSignal.timeout(300));
      const calls = signals.map((signal, i) => rw.fetch(`${server.url}/silent/${i}`, { signal }));
      const result = await settleAll(calls);

      expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
      for (const error of result.rejected) expect(error).toMatchObject({ name: 'TimeoutError' });
      expect(result.rejected).toHaveLength(CALLS);
      // A new budget sends one request until it hears back: the others waited in the queue and left it on abort.
      expect(server.arrivals).toHaveLength(1);
      for (const signal of signals) expect(getEventListeners(signal, 'abort')).toHaveLength(0);
      await expectIdle(rw, clock);
    } finally {
      await rw.close();
      await server.close();
    }
  });

  test('a slow-drip body: the slot is free once the head is in, and the body arrives whole or ends with the abort', async () => {
    const server = await startRawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let chunk = 0;
      const drip = setInterval(() => {
        if (res.destroyed) {
          clearInterval(drip);
          return;
        }
        res.write(`chunk ${chunk}\n`);
        if (++chunk === 8) {
          clearInterval(drip);
          res.end();
        }
      }, 25);
    });
    const clock = new CountingClock();
    const rw = client(clock);
    try {
      const whole = await rw.fetch(`${server.url}/drip/whole`);
      // The head is in: nothing ratewise holds waits on the body.
      expect(rw.stats()[0]).toMatchObject({ inFlight: 0, queued: 0 });
      const body = await whole.text();
      expect(body.split('\n').filter(Boolean)).toHaveLength(8);

      const signal = AbortSignal.timeout(60);
      const cut = await rw.fetch(`${server.url}/drip/cut`, { signal });
      const read = await settleAll([cut.text()]);
      expect(read).toMatchObject({ settled: 1, pending: 0 });
      expect(read.rejected[0]).toMatchObject({ name: 'TimeoutError' });
      expect(server.arrivals).toHaveLength(2);
      await expectIdle(rw, clock);
    } finally {
      await rw.close();
      await server.close();
    }
  });

  test('a response head beyond the client’s header limit fails each call once, not retried', async () => {
    const big = 'x'.repeat(1000);
    const server = await startRawServer((_req, res) => {
      const headers: Record<string, string> = {};
      for (let i = 0; i < 40; i++) headers[`x-ratelimit-pad-${i}`] = big;
      res.writeHead(200, headers);
      res.end('ok');
    });
    const clock = new CountingClock();
    const rw = client(clock);
    try {
      const result = await settleAll(Array.from({ length: CALLS }, (_, i) => rw.fetch(`${server.url}/big/${i}`)));

      expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
      expect(result.rejected).toHaveLength(CALLS);
      for (const error of result.rejected) expect(error).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
      expect(server.arrivals).toHaveLength(CALLS);
      await expectIdle(rw, clock);
    } finally {
      await rw.close();
      await server.close();
    }
  });
});
