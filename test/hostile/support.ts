// Shared by the hostile-server tests: a clock that counts ratewise's live timers and its longest scheduled wait,
// settlement counting with a hard bound, raw node:http peers (resets, silence, slow bodies) and the idle checks
// every scenario ends with.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { systemClock, type Clock, type TimerHandle } from '../../src/clock.js';
import type { Ratewise, RatewiseOptions } from '../../src/index.js';
import { closeServer, HOST } from '../../scripts/lib/loopback.js';

/** The small caps every hostile scenario runs under, so that a wrong wait shows as an outcome, not as a hang. */
export const CAPS = {
  maxRetryAfter: 2000,
  /** Server-given waits get at most this much on top (upward jitter). */
  maxExtraMs: 100,
  backoffMaxMs: 200,
} as const;

/** Retry options with the small caps. */
export const SMALL_RETRY = {
  maxRetryAfter: CAPS.maxRetryAfter,
  backoff: { baseMs: 10, maxMs: CAPS.backoffMaxMs },
  serverJitter: { ratio: 0.1, maxExtraMs: CAPS.maxExtraMs },
} as const satisfies RatewiseOptions['retry'];

/** The longest timer ratewise may ever arm under {@link CAPS} (and `maxWait`, when the scenario sets one). */
export function longestAllowedWait(maxWait = 0): number {
  return Math.max(CAPS.maxRetryAfter + CAPS.maxExtraMs, CAPS.backoffMaxMs, maxWait);
}

/** The real clock, counting the timers ratewise arms: how many are live, and the longest delay ever asked for. */
export class CountingClock implements Clock {
  readonly #live = new Set<TimerHandle>();
  /** The longest delay passed to `setTimeout`, in ms. */
  maxDelayMs = 0;
  armed = 0;

  now(): number {
    return systemClock.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    this.armed++;
    if (ms > this.maxDelayMs) this.maxDelayMs = ms;
    const handle = systemClock.setTimeout(() => {
      this.#live.delete(handle);
      fn();
    }, ms);
    this.#live.add(handle);
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#live.delete(handle);
    systemClock.clearTimeout(handle);
  }

  /** Timers armed and neither fired nor cleared. */
  get live(): number {
    return this.#live.size;
  }
}

/** How a batch of calls ended. */
export interface Settlements<T> {
  /** Calls that settled by the bound; each counted once per settlement (a second one would show here). */
  readonly settled: number;
  /** Calls still pending at the bound: lost calls. */
  readonly pending: number;
  readonly fulfilled: T[];
  readonly rejected: unknown[];
}

/**
 * Waits for `calls` to settle, at most `boundMs` (wall time, only as a guard: a call still pending then is reported
 * as lost instead of hanging the test). Counts every settlement of every call.
 */
export async function settleAll<T>(calls: readonly Promise<T>[], boundMs = 20_000): Promise<Settlements<T>> {
  const counts = calls.map(() => 0);
  const fulfilled: T[] = [];
  const rejected: unknown[] = [];
  const all = Promise.all(
    calls.map((call, i) =>
      call.then(
        (value) => {
          counts[i]!++;
          fulfilled.push(value);
        },
        (error: unknown) => {
          counts[i]!++;
          rejected.push(error);
        },
      ),
    ),
  );
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, boundMs);
  });
  await Promise.race([all, guard]);
  clearTimeout(timer);
  // A microtask turn for any duplicate settlement to show.
  await new Promise((resolve) => setImmediate(resolve));
  expect(counts.every((n) => n <= 1)).toBe(true);
  const settled = counts.filter((n) => n === 1).length;
  return { settled, pending: calls.length - settled, fulfilled, rejected };
}

/** Calls `rw.fetch` and reads the whole body, so that a call only counts as done once its body is in. */
export async function fetchText(
  rw: Ratewise,
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: string }> {
  const response = await rw.fetch(url, init);
  return { status: response.status, body: await response.text() };
}

/**
 * The end of every scenario: nothing queued or in flight, `close()` resolves (within a guard), and no ratewise timer
 * is left armed.
 */
export async function expectIdle(rw: Ratewise, clock: CountingClock): Promise<void> {
  for (const stats of rw.stats()) expect(stats, stats.key).toMatchObject({ queued: 0, inFlight: 0 });
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    rw.close().then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        resolve(false);
      }, 5000);
    }),
  ]);
  clearTimeout(timer);
  expect(closed).toBe(true);
  expect(clock.live).toBe(0);
}

/** A raw node:http peer: the handler gets the request and the response to do with as it likes. */
export interface RawServer {
  readonly url: string;
  /** Requests received, in arrival order, with the server-side instant and the requests open at arrival. */
  readonly arrivals: { readonly url: string; readonly at: number; readonly openAtArrival: number }[];
  close(): Promise<void>;
}

export async function startRawServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<RawServer> {
  const arrivals: { url: string; at: number; openAtArrival: number }[] = [];
  let open = 0;
  const server = createServer((req, res) => {
    arrivals.push({ url: req.url ?? '/', at: Date.now(), openAtArrival: open });
    open++;
    res.once('close', () => {
      open--;
    });
    handler(req, res);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${HOST}:${port}`,
    arrivals,
    close: () => closeServer(server),
  };
}

/** A loopback port that nothing listens on: bound once, then closed. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await closeServer(server);
  return port;
}
