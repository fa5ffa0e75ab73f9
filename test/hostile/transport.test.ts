// Scenario 3: transport faults on 127.0.0.1. Connection refused, a reset before the head and one in the middle of
// the body, a server that accepts and never answers, a body that drips, a head too large to read. Each call settles
// once, with the fault or the caller's abort reason; retries stay within `retry.limit`; the client ends idle. Each
// fault runs through every entry point: `rw.fetch`, the axios adapter and Node's global fetch over the undici
// dispatcher. What differs between them is the shape of the error the caller gets, and (global fetch) whether a
// request body can be sent again.
import { getEventListeners } from 'node:events';
import { AxiosError, isCancel } from 'axios';
import { describe, expect, test } from 'vitest';
import { createRatewise, giveUpReason } from '../../src/index.js';
import {
  closedPort,
  CountingClock,
  describeEachEntryPoint,
  expectIdle,
  longestAllowedWait,
  sentBy,
  settleAll,
  SMALL_RETRY,
  startRawServer,
  through,
  type EntryPoint,
} from './support.js';

const CALLS = 5;
const LIMIT = 2;
const BOUND = CALLS * (1 + LIMIT);

type ByEntry<T> = Readonly<Record<EntryPoint['name'], T>>;

/** undici's error for a request that failed before its head: the fault is its `cause`. */
const FETCH_FAILED = { name: 'TypeError', message: 'fetch failed' } as const;

/**
 * How a failure before the head reaches the caller. fetch (ratewise's own or the global one) wraps it in
 * `TypeError('fetch failed')`; axios's http adapter in an `AxiosError` that keeps the socket error's `code`.
 */
function expectFailedBeforeHead(entry: EntryPoint, error: unknown, axiosCode: string): void {
  if (entry.name === 'axios') {
    expect(error).toBeInstanceOf(AxiosError);
    expect(error).toMatchObject({ code: axiosCode });
  } else expect(error).toMatchObject(FETCH_FAILED);
}

/**
 * How the caller's abort reaches them. fetch rejects with the signal's reason; the axios adapter turns it into
 * axios's own `CanceledError`, as axios does without ratewise.
 */
function expectAborted(entry: EntryPoint, error: unknown): void {
  if (entry.name === 'axios') expect(isCancel(error), String(error)).toBe(true);
  else expect(error).toMatchObject({ name: 'TimeoutError' });
}

/** The error a body cut short fails its read with: undici's, or that of node:http's response stream (axios). */
const BODY_CUT: ByEntry<object> = {
  'rw.fetch': { name: 'TypeError', message: 'terminated' },
  'global fetch': { name: 'TypeError', message: 'terminated' },
  axios: { message: 'aborted', code: 'ECONNRESET' },
};

/** A client whose new budgets send one request alone first (initialWindow 1), as these scenarios' bounds count. */
function client(clock: CountingClock, onAttempt: () => void = () => undefined) {
  return createRatewise({
    budgets: { '*': { initialWindow: 1 } },
    clock,
    loopGuard: false,
    retry: { ...SMALL_RETRY, limit: LIMIT },
    // Only `rw.fetch` sends through this; axios and global fetch attempts are counted by ratewise's `sent`.
    fetch: (input, init) => {
      onAttempt();
      return globalThis.fetch(input, init);
    },
  });
}

describeEachEntryPoint('transport faults', (entry) => {
  test(`[${entry.name}] connection refused: each call fails with the network error after retry.limit retries`, async () => {
    const port = await closedPort();
    const clock = new CountingClock();
    let attempts = 0;
    const rw = client(clock, () => attempts++);
    try {
      await through(entry, rw, async () => {
        const calls = Array.from({ length: CALLS }, (_, i) => entry.call(rw, `http://127.0.0.1:${port}/refused/${i}`));
        const result = await settleAll(calls);

        expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
        expect(result.rejected).toHaveLength(CALLS);
        for (const error of result.rejected) {
          expectFailedBeforeHead(entry, error, 'ECONNREFUSED');
          // Global fetch: the reason is on the dispatcher's error, which undici's fetch wraps as `cause`.
          expect(giveUpReason(entry.unwrap(error))).toBe('retry-limit');
        }
        const sent = sentBy(rw);
        expect(sent).toBe(BOUND);
        if (entry.name === 'rw.fetch') expect(attempts).toBe(sent);
        expect(clock.maxDelayMs).toBeLessThanOrEqual(longestAllowedWait());
        await expectIdle(rw, clock);
        console.info(
          `[hostile] [${entry.name}] connection refused: ${sent} attempts (bound ${BOUND}), ` +
            `longest timer ${clock.maxDelayMs} ms`,
        );
      });
    } finally {
      await rw.close();
    }
  });

  test(`[${entry.name}] a reset before the response head is retried, then fails with the network error`, async () => {
    const server = await startRawServer((req) => {
      req.socket.destroy();
    });
    const clock = new CountingClock();
    const rw = client(clock);
    try {
      await through(entry, rw, async () => {
        const calls = Array.from({ length: CALLS }, (_, i) => entry.call(rw, `${server.url}/reset/${i}`));
        const result = await settleAll(calls);

        expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
        for (const error of result.rejected) {
          expectFailedBeforeHead(entry, error, 'ECONNRESET');
          expect(giveUpReason(entry.unwrap(error))).toBe('retry-limit');
        }
        expect(result.rejected).toHaveLength(CALLS);
        expect(server.arrivals.length).toBeLessThanOrEqual(BOUND);
        await expectIdle(rw, clock);
        console.info(
          `[hostile] [${entry.name}] reset before head: ${server.arrivals.length} requests (bound ${BOUND})`,
        );
      });
    } finally {
      await rw.close();
      await server.close();
    }
  });

  test(`[${entry.name}] a reset before the head of a POST with an Idempotency-Key: retried only where the body can be sent again`, async () => {
    const bodies: string[] = [];
    const server = await startRawServer((req) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        bodies.push(body);
        req.socket.destroy();
      });
    });
    const clock = new CountingClock();
    const rw = client(clock);
    try {
      await through(entry, rw, async () => {
        const calls = Array.from({ length: CALLS }, (_, i) =>
          entry.call(rw, `${server.url}/orders/${i}`, {
            method: 'POST',
            headers: { 'content-type': 'text/plain', 'idempotency-key': `order-${i}` },
            body: `order ${i}`,
          }),
        );
        const result = await settleAll(calls);

        expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
        expect(result.rejected).toHaveLength(CALLS);
        for (const error of result.rejected) expectFailedBeforeHead(entry, error, 'ECONNRESET');
        // Every attempt carried the whole body.
        expect(bodies.every((body) => /^order \d$/.test(body))).toBe(true);
        if (entry.name === 'global fetch') {
          // Node's fetch hands the dispatcher its body as a stream, which can be read once: never retried.
          for (const error of result.rejected) expect(giveUpReason(entry.unwrap(error))).toBe('body-not-replayable');
          expect(server.arrivals).toHaveLength(CALLS);
        } else {
          // A string body (rw.fetch's init, axios's transformed data) is sent again on every attempt.
          for (const error of result.rejected) expect(giveUpReason(entry.unwrap(error))).toBe('retry-limit');
          expect(server.arrivals).toHaveLength(BOUND);
        }
        await expectIdle(rw, clock);
        console.info(
          `[hostile] [${entry.name}] reset before the head of a POST: ${server.arrivals.length} requests (bound ${BOUND})`,
        );
      });
    } finally {
      await rw.close();
      await server.close();
    }
  });

  describe('a reset in the middle of the body', () => {
    async function midBodyServer() {
      return startRawServer((_req, res) => {
        res.writeHead(200, { 'content-length': '1000', 'x-ratelimit-remaining': '50', 'x-ratelimit-limit': '60' });
        res.write('partial');
        setTimeout(() => res.socket?.destroy(), 20);
      });
    }

    test(`[${entry.name}] the call resolves with the head, the body read fails`, async () => {
      const server = await midBodyServer();
      const clock = new CountingClock();
      const rw = client(clock);
      try {
        await through(entry, rw, async () => {
          const calls = Array.from({ length: CALLS }, async (_, i) => {
            const head = await entry.open(rw, `${server.url}/mid-body/${i}`);
            return head.text().then(
              () => 'read',
              (error: unknown) => error,
            );
          });
          const result = await settleAll(calls);

          expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
          expect(result.fulfilled).toHaveLength(CALLS);
          for (const error of result.fulfilled) expect(error).toMatchObject(BODY_CUT[entry.name]);
          expect(server.arrivals).toHaveLength(CALLS);
          await expectIdle(rw, clock);
        });
      } finally {
        await rw.close();
        await server.close();
      }
    });

    test(`[${entry.name}] read whole by the entry point: each call fails once, not retried`, async () => {
      const server = await midBodyServer();
      const clock = new CountingClock();
      const rw = client(clock);
      try {
        await through(entry, rw, async () => {
          const calls = Array.from({ length: CALLS }, (_, i) => entry.call(rw, `${server.url}/mid-body/${i}`));
          const result = await settleAll(calls);

          expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
          expect(result.rejected).toHaveLength(CALLS);
          for (const error of result.rejected) {
            if (entry.name === 'axios') {
              // axios reads the body inside its adapter: the cut fails the attempt itself, with an error of its own
              // that ratewise does not take for a network failure (the head came, the request reached the server).
              expect(error).toBeInstanceOf(AxiosError);
              expect(error).toMatchObject({ code: 'ERR_BAD_RESPONSE', message: 'stream has been aborted' });
            } else expect(error).toMatchObject(BODY_CUT[entry.name]);
          }
          expect(server.arrivals).toHaveLength(CALLS);
          await expectIdle(rw, clock);
        });
      } finally {
        await rw.close();
        await server.close();
      }
    });
  });

  test(`[${entry.name}] a server that never answers: the caller’s AbortSignal.timeout ends every call, in flight or queued`, async () => {
    const server = await startRawServer(() => undefined);
    const clock = new CountingClock();
    const rw = client(clock);
    try {
      await through(entry, rw, async () => {
        // One timeout for the batch: its abort reaches every call in one dispatch. (With a timeout per call, a loaded
        // machine fires them one by one, and the queued call next in line may go in between, as it should.)
        const timeout = AbortSignal.timeout(300);
        const signals = Array.from({ length: CALLS }, () => timeout);
        const calls = signals.map((signal, i) => entry.call(rw, `${server.url}/silent/${i}`, { signal }));
        const result = await settleAll(calls);

        expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
        for (const error of result.rejected) expectAborted(entry, error);
        expect(result.rejected).toHaveLength(CALLS);
        // A new budget sends one request until it hears back: the others waited in the queue and left it on abort.
        // (At most one: on a loaded machine the abort may come before even that one has reached the server.)
        expect(server.arrivals.length).toBeLessThanOrEqual(1);
        for (const signal of signals) expect(getEventListeners(signal, 'abort')).toHaveLength(0);
        await expectIdle(rw, clock);
      });
    } finally {
      await rw.close();
      await server.close();
    }
  });

  test(`[${entry.name}] a slow-drip body: the slot is free once the head is in, and the body arrives whole or ends with the abort`, async () => {
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
      await through(entry, rw, async () => {
        // `open`: axios with `responseType: 'stream'`, so that its call, too, resolves with the head.
        const whole = await entry.open(rw, `${server.url}/drip/whole`);
        // The head is in: nothing ratewise holds waits on the body.
        expect(rw.stats()[0]).toMatchObject({ inFlight: 0, queued: 0 });
        const body = await whole.text();
        expect(body.split('\n').filter(Boolean)).toHaveLength(8);

        // Aborted once the head is in, while the body still drips: not by a wall-clock timer, which a loaded machine
        // can fire before the head arrives.
        const controller = new AbortController();
        const cut = await entry.open(rw, `${server.url}/drip/cut`, { signal: controller.signal });
        const reading = settleAll([cut.text()]);
        controller.abort(new DOMException('The body took too long', 'TimeoutError'));
        const read = await reading;
        expect(read).toMatchObject({ settled: 1, pending: 0 });
        expectAborted(entry, read.rejected[0]);
        expect(server.arrivals).toHaveLength(2);
        await expectIdle(rw, clock);
      });
    } finally {
      await rw.close();
      await server.close();
    }
  });

  test(`[${entry.name}] a response head beyond the client’s header limit fails each call once, not retried`, async () => {
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
      await through(entry, rw, async () => {
        const calls = Array.from({ length: CALLS }, (_, i) => entry.call(rw, `${server.url}/big/${i}`));
        const result = await settleAll(calls);

        expect({ settled: result.settled, pending: result.pending }).toEqual({ settled: CALLS, pending: 0 });
        expect(result.rejected).toHaveLength(CALLS);
        // node:http's parser (axios) fails with HPE_HEADER_OVERFLOW, undici with UND_ERR_HEADERS_OVERFLOW.
        for (const error of result.rejected) expectFailedBeforeHead(entry, error, 'HPE_HEADER_OVERFLOW');
        expect(server.arrivals).toHaveLength(CALLS);
        await expectIdle(rw, clock);
      });
    } finally {
      await rw.close();
      await server.close();
    }
  });
});
