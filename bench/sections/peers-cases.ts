// The pairs of the `peers` section: real rate-limited servers, and the clients that send "N requests at once, all must
// succeed" to them, each configured as its users would. One pair runs in a child process (peers-probe.ts).
import { setMaxListeners } from 'node:events';
import axios, { isAxiosError } from 'axios';
import Bottleneck from 'bottleneck';
import got, { HTTPError as GotHTTPError } from 'got';
import { HTTPError as KyHTTPError } from 'ky';
import PQueue from 'p-queue';
import type * as RatewiseAxios from '../../src/adapters/axios.js';
import type * as Ratewise from '../../src/index.js';
import type { TestServer } from '../../test/support/servers.js';
import { startExpressServer, startFastifyServer } from '../../test/support/servers.js';
import { createAxiosRetry, kyGet } from '../../scripts/lib/retrying-clients.js';
import { expressWindows, type AllowedRate } from '../../scripts/lib/server-windows.js';
import { goodputOverWindows } from './goodput.js';

export interface Shape extends AllowedRate {
  /** Requests sent at once: a whole number of windows' worth. */
  readonly requests: number;
  /** A run still going this long after it started has its calls aborted (a client may back off for minutes). */
  readonly deadlineMs: number;
}

export interface ServerKind {
  readonly id: string;
  readonly label: string;
  /** Whether `--quick` runs it too. */
  readonly quick: boolean;
  start(shape: Shape): Promise<TestServer>;
}

export const serverKinds: readonly ServerKind[] = [
  {
    id: 'erl-draft-6',
    label: 'express-rate-limit, draft-6 + legacy `X-RateLimit-*`',
    quick: false,
    start: ({ limit, windowMs }) =>
      startExpressServer({ limit, windowMs, standardHeaders: 'draft-6', legacyHeaders: true }),
  },
  {
    id: 'erl-draft-7',
    label: 'express-rate-limit, draft-7',
    quick: false,
    start: ({ limit, windowMs }) =>
      startExpressServer({ limit, windowMs, standardHeaders: 'draft-7', legacyHeaders: false }),
  },
  {
    id: 'erl-draft-8',
    label: 'express-rate-limit, draft-8',
    quick: true,
    start: ({ limit, windowMs }) =>
      startExpressServer({ limit, windowMs, standardHeaders: 'draft-8', legacyHeaders: false }),
  },
  {
    id: 'erl-none',
    label: 'express-rate-limit, no headers (bare 429)',
    quick: false,
    start: ({ limit, windowMs }) =>
      startExpressServer({ limit, windowMs, standardHeaders: false, legacyHeaders: false }),
  },
  {
    id: 'fastify',
    label: '@fastify/rate-limit (`X-RateLimit-*`, `Retry-After`)',
    quick: true,
    start: ({ limit, windowMs }) => startFastifyServer({ max: limit, timeWindow: windowMs }),
  },
];

/** One client set up for one run. */
export interface Runner {
  /** Resolves once a 2xx response's body is read; rejects otherwise. */
  call(url: string): Promise<void>;
  close(): Promise<void>;
}

export interface Client {
  readonly id: string;
  readonly label: string;
  /** `signal` aborts every call when the run's deadline passes. */
  create(shape: Shape, signal: AbortSignal, ratewise: RatewiseModule): Runner;
}

export type RatewiseModule = typeof Ratewise & typeof RatewiseAxios;

/** A call that ended on a response that was not a success, with no error from the client to say so. */
export class StatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${String(status)}`);
  }
}

/** Plain fetch, as the limiter-only clients send it: a non-2xx response is a failed call. */
export async function plainFetch(url: string, signal: AbortSignal): Promise<void> {
  const response = await fetch(url, { signal });
  await response.arrayBuffer();
  if (!response.ok) throw new StatusError(response.status);
}

/** The HTTP status behind a failed call, whichever client threw it. */
export function statusOf(error: unknown): number | undefined {
  if (error instanceof StatusError) return error.status;
  if (error instanceof KyHTTPError) return error.response.status;
  if (error instanceof GotHTTPError) return error.response.statusCode;
  if (isAxiosError(error)) return error.response?.status;
  return undefined;
}

export const clients: readonly Client[] = [
  {
    id: 'ratewise',
    label: 'ratewise `rw.fetch` (no rate set)',
    create: (_shape, signal, { createRatewise }) => {
      const rw = createRatewise();
      return {
        call: async (url) => {
          const response = await rw.fetch(url, { signal });
          await response.arrayBuffer();
          if (!response.ok) throw new StatusError(response.status);
        },
        close: () => rw.close(),
      };
    },
  },
  {
    id: 'ratewise-axios',
    label: 'ratewise `withRatewise(axios.create(), rw)` (no rate set)',
    create: (_shape, signal, { createRatewise, withRatewise }) => {
      const rw = createRatewise();
      const instance = withRatewise(axios.create(), rw);
      return {
        call: async (url) => {
          await instance.get(url, { signal, responseType: 'arraybuffer' });
        },
        close: () => rw.close(),
      };
    },
  },
  {
    id: 'ky',
    label: 'ky `retry: 10`',
    create: (_shape, signal) => ({
      call: async (url) => {
        await kyGet(url, signal);
      },
      close: () => Promise.resolve(),
    }),
  },
  {
    id: 'axios-retry',
    label: 'axios + axios-retry (10, exponential, 429)',
    create: (_shape, signal) => {
      const instance = createAxiosRetry();
      return {
        call: async (url) => {
          await instance.get(url, { signal, responseType: 'arraybuffer' });
        },
        close: () => Promise.resolve(),
      };
    },
  },
  {
    id: 'got',
    label: 'got `retry: { limit: 10 }`',
    create: (_shape, signal) => ({
      call: async (url) => {
        // got's default retry status codes include 429, and it waits for Retry-After when there is one.
        await got(url, { retry: { limit: 10 }, signal }).buffer();
      },
      close: () => Promise.resolve(),
    }),
  },
  {
    id: 'bottleneck-reservoir',
    label: 'bottleneck reservoir (limit per window) + fetch',
    create: ({ limit, windowMs }, signal) => {
      const limiter = new Bottleneck({
        reservoir: limit,
        reservoirRefreshAmount: limit,
        reservoirRefreshInterval: windowMs,
      });
      return bottleneckRunner(limiter, signal);
    },
  },
  {
    id: 'bottleneck-mintime',
    label: 'bottleneck `minTime` (window ÷ limit) + fetch',
    create: ({ limit, windowMs }, signal) => bottleneckRunner(new Bottleneck({ minTime: windowMs / limit }), signal),
  },
  {
    id: 'p-queue',
    label: 'p-queue `intervalCap` / `interval` + fetch',
    create: ({ limit, windowMs }, signal) => {
      const queue = new PQueue({ intervalCap: limit, interval: windowMs });
      return {
        call: (url) => queue.add(() => plainFetch(url, signal), { signal }),
        close: () => {
          queue.clear();
          return Promise.resolve();
        },
      };
    },
  },
];

function bottleneckRunner(limiter: Bottleneck, signal: AbortSignal): Runner {
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= limiter.stop({ dropWaitingJobs: true }).then(() => limiter.disconnect()));
  signal.addEventListener('abort', () => void stop(), { once: true });
  return { call: (url) => limiter.schedule(() => plainFetch(url, signal)), close: stop };
}

/** An error's name and code, without its message (which names the URL, different for every call). */
export function errorKind(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const { code } = error as { code?: unknown };
  const { cause } = error as { cause?: { code?: unknown } };
  const detail = code ?? cause?.code;
  return typeof detail === 'string' ? `${error.name} ${detail}` : error.name;
}

/** One pair's outcome, as JSON. */
export interface PairResult {
  readonly wallMs: number;
  readonly cutOff: boolean;
  readonly successes: number;
  /** Failed calls by cause: `429`, `cut off`, or the error's own words. */
  readonly failures: readonly (readonly [cause: string, count: number])[];
  readonly rejected: number;
  readonly sent: number;
  readonly goodput: number;
}

/** Starts a fresh server of `kind`, waits for `ready`, then sends the server the workload through `client`. */
export async function runPair(
  kind: ServerKind,
  client: Client,
  shape: Shape,
  ratewise: RatewiseModule,
  /** Awaited once the server and client are set up, before the clock starts. */
  ready: () => Promise<void>,
): Promise<PairResult> {
  const server = await kind.start(shape);
  const controller = new AbortController();
  // One signal on every call of the run, by design: got and axios add a listener per request to it (ratewise adds
  // one in all), which is no leak here.
  setMaxListeners(Infinity, controller.signal);
  const runner = client.create(shape, controller.signal, ratewise);
  await ready();
  const deadline = setTimeout(() => {
    controller.abort(new Error('deadline'));
  }, shape.deadlineMs);
  try {
    const startedAt = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: shape.requests }, (_, i) => runner.call(`${server.url}/item/${String(i)}`)),
    );
    const wallMs = performance.now() - startedAt;
    const cutOff = controller.signal.aborted;
    const failures = new Map<string, number>();
    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      const status = statusOf(result.reason);
      const cause = status !== undefined ? String(status) : cutOff ? 'cut off' : errorKind(result.reason);
      failures.set(cause, (failures.get(cause) ?? 0) + 1);
    }
    const hits = server.hits();
    return {
      wallMs,
      cutOff,
      successes: results.filter((result) => result.status === 'fulfilled').length,
      failures: [...failures],
      rejected: hits.rejected,
      sent: hits.total,
      goodput: goodputOverWindows(expressWindows(server.requests(), shape), shape),
    };
  } finally {
    clearTimeout(deadline);
    await runner.close();
    await server.close();
  }
}
