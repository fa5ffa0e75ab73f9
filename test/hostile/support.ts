// Shared by the hostile-server tests: a clock that counts ratewise's live timers and its longest scheduled wait,
// settlement counting with a hard bound, raw node:http peers (resets, silence, slow bodies), the idle checks every
// scenario ends with, and the entry points every scenario runs through (`rw.fetch`, axios, Node's global fetch).
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { describe, expect } from 'vitest';
import { withRatewise } from '../../src/adapters/axios.js';
import { installRatewise } from '../../src/adapters/undici.js';
import { systemClock, type Clock, type TimerHandle } from '../../src/clock.js';
import { isRatewiseError, type Ratewise, type RatewiseOptions } from '../../src/index.js';
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

/** What a call through an entry point ends with once its whole body is in. */
export interface Reply {
  readonly status: number;
  readonly body: string;
}

/** A response whose head is in and whose body is still to be read. */
export interface Head {
  readonly status: number;
  text(): Promise<string>;
}

/** What a scenario may pass with a call; each entry point maps it to its own request options. */
export interface CallInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
}

/** One of the ways a user calls through ratewise. Every scenario runs through each of {@link ENTRY_POINTS}. */
export interface EntryPoint {
  readonly name: 'rw.fetch' | 'axios' | 'global fetch';
  /** Sends one request and reads its whole body, so that a call only counts as done once its body is in. */
  readonly call: (rw: Ratewise, url: string, init?: CallInit) => Promise<Reply>;
  /** Sends one request and resolves with its head, the body left to read (axios: `responseType: 'stream'`). */
  readonly open: (rw: Ratewise, url: string, init?: CallInit) => Promise<Head>;
  /**
   * Runs before a scenario's first call; returns what undoes it, run in `finally` once the scenario's calls are
   * settled. Global fetch installs `rw` as the process-global undici dispatcher: a scenario through it must not run
   * beside any other scenario of the process (`rw.fetch` sends through the same global dispatcher, which passes its
   * requests through, but the watch set up with it would count them).
   */
  readonly setup?: (rw: Ratewise) => () => void;
  /**
   * The error ratewise settled the call with, from the one the caller got. undici's fetch (the global fetch entry
   * point) fails every call with `TypeError('fetch failed')` whose `cause` is the dispatcher's error (ratewise's own,
   * or the network error it gave up on); the axios adapter rejects with an `AxiosError` whose `cause` is ratewise's
   * error; `rw.fetch` passes ratewise's errors through as they are.
   */
  readonly unwrap: (error: unknown) => unknown;
  /**
   * Whether its scenarios may run beside other scenarios (see {@link describeEachEntryPoint}). Global fetch's may not:
   * its setup replaces the process-global undici dispatcher, which `rw.fetch` (over Node's fetch) sends through too,
   * and one install at a time is allowed.
   */
  readonly concurrent: boolean;
}

function fetchInit(init: CallInit): RequestInit {
  return {
    ...(init.method !== undefined && { method: init.method }),
    ...(init.headers !== undefined && { headers: init.headers }),
    ...(init.body !== undefined && { body: init.body }),
    ...(init.signal !== undefined && { signal: init.signal }),
  };
}

/** A throttled axios instance that resolves every status (the scenarios judge statuses themselves). */
function axiosRequest(rw: Ratewise, url: string, init: CallInit, responseType: 'text' | 'stream') {
  const api = withRatewise(axios.create({ validateStatus: () => true }), rw);
  return api.request<unknown>({
    url,
    method: init.method ?? 'GET',
    responseType,
    ...(init.headers !== undefined && { headers: { ...init.headers } }),
    ...(init.body !== undefined && { data: init.body }),
    ...(init.signal !== undefined && { signal: init.signal }),
  });
}

async function readStream(stream: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString();
}

async function globalFetchHead(url: string, init: CallInit): Promise<Head> {
  const response = await fetch(url, fetchInit(init));
  return { status: response.status, text: () => response.text() };
}

/** The handler methods that end a request, in undici 6's API (Node 20's fetch) and undici 7's. */
const ENDS: ReadonlySet<PropertyKey> = new Set(['onComplete', 'onError', 'onResponseEnd', 'onResponseError']);
const DELIVERIES: ReadonlySet<PropertyKey> = new Set(['onHeaders', 'onData', 'onResponseStart', 'onResponseData']);

/**
 * Sits above the global dispatcher and watches each handler Node's fetch gives it: a request ends once, and nothing
 * reaches its handler after its end. `settleAll` sees fetch's promise, which cannot settle twice; a dispatcher that
 * ended a request twice would show only here.
 */
class HandlerWatch extends Dispatcher {
  dispatched = 0;
  ended = 0;
  readonly problems: string[] = [];

  constructor(readonly inner: Dispatcher) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.dispatched++;
    const request = `${options.method} ${options.path}`;
    let ends = 0;
    const watched = new Proxy(handler, {
      get: (target, key, receiver) => {
        const value: unknown = Reflect.get(target, key, receiver);
        if (typeof value !== 'function' || !(ENDS.has(key) || DELIVERIES.has(key))) return value;
        return (...args: unknown[]): unknown => {
          if (ends > 0) this.problems.push(`${request}: ${String(key)} after the end`);
          if (ENDS.has(key) && ++ends === 1) this.ended++;
          return Reflect.apply(value, target, args);
        };
      },
    });
    return this.inner.dispatch(options, watched);
  }
}

/** `installRatewise(rw)`, watched by a {@link HandlerWatch}; what it returns checks the watch and uninstalls. */
function installWatched(rw: Ratewise): () => void {
  const uninstall = installRatewise(rw);
  const installed = getGlobalDispatcher();
  const watch = new HandlerWatch(installed);
  setGlobalDispatcher(watch);
  return () => {
    setGlobalDispatcher(installed);
    uninstall();
    expect(watch.dispatched).toBeGreaterThan(0);
    expect(watch.problems).toEqual([]);
    expect(watch.ended, 'requests the dispatcher ended').toBe(watch.dispatched);
  };
}

export const ENTRY_POINTS: readonly EntryPoint[] = [
  {
    name: 'rw.fetch',
    call: async (rw, url, init = {}) => {
      const response = await rw.fetch(url, fetchInit(init));
      return { status: response.status, body: await response.text() };
    },
    open: async (rw, url, init = {}) => {
      const response = await rw.fetch(url, fetchInit(init));
      return { status: response.status, text: () => response.text() };
    },
    unwrap: (error) => error,
    concurrent: true,
  },
  {
    name: 'axios',
    // axios's default: the body is read inside the adapter, so an attempt ends once its body is in.
    call: async (rw, url, init = {}) => {
      const response = await axiosRequest(rw, url, init, 'text');
      return { status: response.status, body: String(response.data) };
    },
    open: async (rw, url, init = {}) => {
      const response = await axiosRequest(rw, url, init, 'stream');
      return { status: response.status, text: () => readStream(response.data as AsyncIterable<unknown>) };
    },
    unwrap: (error) => (axios.isAxiosError(error) && isRatewiseError(error) ? error.cause : error),
    concurrent: true,
  },
  {
    name: 'global fetch',
    call: async (_rw, url, init = {}) => {
      const head = await globalFetchHead(url, init);
      return { status: head.status, body: await head.text() };
    },
    open: (_rw, url, init = {}) => globalFetchHead(url, init),
    setup: installWatched,
    unwrap: (error) =>
      error instanceof TypeError && error.message === 'fetch failed' && error.cause !== undefined ? error.cause : error,
    concurrent: false,
  },
];

/**
 * `describe.each` over {@link ENTRY_POINTS}: one suite per entry point, titled `title, through <name>`. The suites of
 * the concurrent entry points run beside each other, their scenarios too; then the others, one scenario at a time
 * (vitest runs consecutive concurrent suites together, and a sequential suite only once they have ended).
 */
export function describeEachEntryPoint(title: string, body: (entry: EntryPoint) => void): void {
  const rows = (concurrent: boolean) =>
    ENTRY_POINTS.filter((entry) => entry.concurrent === concurrent).map((entry) => [entry.name, entry] as const);
  describe.each(rows(true))(`${title}, through %s`, { concurrent: true }, (_, entry) => {
    body(entry);
  });
  describe.each(rows(false))(`${title}, through %s`, { concurrent: false }, (_, entry) => {
    body(entry);
  });
}

/**
 * Scenarios under way in this test file, so that {@link through} can prove the hazard {@link EntryPoint.concurrent}
 * describes never happens: a scenario of a non-concurrent entry point starts and ends with no other under way.
 */
const underWay = { shared: 0, alone: 0 };

/** Runs `scenario` with `entry` set up for `rw`, and undoes the setup however the scenario ends. */
export async function through<T>(entry: EntryPoint, rw: Ratewise, scenario: () => Promise<T>): Promise<T> {
  expect(underWay.alone, `a scenario through ${entry.name} beside one that must run alone`).toBe(0);
  if (!entry.concurrent) expect(underWay.shared, `${entry.name} beside other scenarios`).toBe(0);
  const slot = entry.concurrent ? 'shared' : 'alone';
  underWay[slot]++;
  const teardown = entry.setup?.(rw);
  try {
    return await scenario();
  } finally {
    teardown?.();
    underWay[slot]--;
  }
}

/** Requests `rw` has sent (every attempt), over all its budgets. */
export function sentBy(rw: Ratewise): number {
  return rw.stats().reduce((sum, budget) => sum + budget.counters.sent, 0);
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
