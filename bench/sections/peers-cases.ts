// Section: the workload "N requests at once, all must succeed" against real rate-limited servers, sent through
// ratewise and through the retry and limiter libraries users reach for, each configured as its users would.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import axios, { isAxiosError } from 'axios';
import axiosRetry, { exponentialDelay, isNetworkOrIdempotentRequestError } from 'axios-retry';
import Bottleneck from 'bottleneck';
import got, { HTTPError as GotHTTPError } from 'got';
import ky, { HTTPError as KyHTTPError } from 'ky';
import PQueue from 'p-queue';
import type * as Ratewise from '../../src/index.js';
import type { TestServer } from '../../test/support/servers.js';
import { startExpressServer, startFastifyServer } from '../../test/support/servers.js';
import { importCompiledRatewise } from '../compiled.js';
import { formatInteger } from '../measure.js';
import type { RunContext, Section, SectionResult } from '../report.js';
import { expressWindows, goodputOverWindows, type AllowedRate } from './goodput.js';

interface Shape extends AllowedRate {
  /** Requests sent at once: a whole number of windows' worth. */
  readonly requests: number;
  /** A run still going this long after it started has its calls aborted (a client may back off for minutes). */
  readonly deadlineMs: number;
}

interface ServerKind {
  readonly label: string;
  /** Whether `--quick` runs it too. */
  readonly quick: boolean;
  start(shape: Shape): Promise<TestServer>;
}

const serverKinds: readonly ServerKind[] = [
  {
    label: 'express-rate-limit, draft-6 + legacy `X-RateLimit-*`',
    quick: false,
    start: ({ limit, windowMs }) =>
      startExpressServer({ limit, windowMs, standardHeaders: 'draft-6', legacyHeaders: true }),
  },
  {
    label: 'express-rate-limit, draft-7',
    quick: false,
    start: ({ limit, windowMs }) =>
      startExpressServer({ limit, windowMs, standardHeaders: 'draft-7', legacyHeaders: false }),
  },
  {
    label: 'express-rate-limit, draft-8',
    quick: true,
    start: ({ limit, windowMs }) =>
      startExpressServer({ limit, windowMs, standardHeaders: 'draft-8', legacyHeaders: false }),
  },
  {
    label: 'express-rate-limit, no headers (bare 429)',
    quick: false,
    start: ({ limit, windowMs }) =>
      startExpressServer({ limit, windowMs, standardHeaders: false, legacyHeaders: false }),
  },
  {
    label: '@fastify/rate-limit (`X-RateLimit-*`, `Retry-After`)',
    quick: true,
    start: ({ limit, windowMs }) => startFastifyServer({ max: limit, timeWindow: windowMs }),
  },
];

/** One client set up for one run. */
interface Runner {
  /** Resolves once a 2xx response's body is read; rejects otherwise. */
  call(url: string): Promise<void>;
  close(): Promise<void>;
}

interface Client {
  readonly label: string;
  /** `signal` aborts every call when the run's deadline passes. */
  create(shape: Shape, signal: AbortSignal): Runner;
}

/** A call that ended on a response that was not a success, with no error from the client to say so. */
class StatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${String(status)}`);
  }
}

/** Plain fetch, as the limiter-only clients send it: a non-2xx response is a failed call. */
async function plainFetch(url: string, signal: AbortSignal): Promise<void> {
  const response = await fetch(url, { signal });
  await response.arrayBuffer();
  if (!response.ok) throw new StatusError(response.status);
}

/** The HTTP status behind a failed call, whichever client threw it. */
function statusOf(error: unknown): number | undefined {
  if (error instanceof StatusError) return error.status;
  if (error instanceof KyHTTPError) return error.response.status;
  if (error instanceof GotHTTPError) return error.response.statusCode;
  if (isAxiosError(error)) return error.response?.status;
  return undefined;
}

function clients(createRatewise: typeof Ratewise.createRatewise): readonly Client[] {
  return [
    {
      label: 'ratewise `rw.fetch` (no rate set)',
      create: (_shape, signal) => {
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
      label: 'ky `retry: 10`',
      create: (_shape, signal) => ({
        call: async (url) => {
          // ky's defaults retry GET on 429 and wait for its Retry-After (or RateLimit-Reset, X-RateLimit-Reset).
          await ky.get(url, { retry: 10, signal }).arrayBuffer();
        },
        close: () => Promise.resolve(),
      }),
    },
    {
      label: 'axios + axios-retry (10, exponential, 429)',
      create: (_shape, signal) => {
        const instance = axios.create();
        axiosRetry(instance, {
          retries: 10,
          // exponentialDelay takes the larger of its backoff and the response's Retry-After.
          retryDelay: exponentialDelay,
          retryCondition: (error) => isNetworkOrIdempotentRequestError(error) || error.response?.status === 429,
        });
        return {
          call: async (url) => {
            await instance.get(url, { signal, responseType: 'arraybuffer' });
          },
          close: () => Promise.resolve(),
        };
      },
    },
    {
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
      label: 'bottleneck `minTime` (window ÷ limit) + fetch',
      create: ({ limit, windowMs }, signal) => bottleneckRunner(new Bottleneck({ minTime: windowMs / limit }), signal),
    },
    {
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
}

function bottleneckRunner(limiter: Bottleneck, signal: AbortSignal): Runner {
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= limiter.stop({ dropWaitingJobs: true }).then(() => limiter.disconnect()));
  signal.addEventListener('abort', () => void stop(), { once: true });
  return { call: (url) => limiter.schedule(() => plainFetch(url, signal)), close: stop };
}

interface PairResult {
  readonly server: string;
  readonly client: string;
  readonly wallMs: number;
  readonly cutOff: boolean;
  readonly successes: number;
  /** Failed calls by cause: `429`, `cut off`, or the error's own words. */
  readonly failures: ReadonlyMap<string, number>;
  readonly rejected: number;
  readonly sent: number;
  readonly goodput: number;
}

async function runPair(kind: ServerKind, client: Client, shape: Shape): Promise<PairResult> {
  const server = await kind.start(shape);
  const controller = new AbortController();
  const runner = client.create(shape, controller.signal);
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
      const cause = status !== undefined ? String(status) : cutOff ? 'cut off' : String(result.reason).slice(0, 80);
      failures.set(cause, (failures.get(cause) ?? 0) + 1);
    }
    const hits = server.hits();
    return {
      server: kind.label,
      client: client.label,
      wallMs,
      cutOff,
      successes: results.filter((result) => result.status === 'fulfilled').length,
      failures,
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

const percent = (fraction: number): string => (Number.isNaN(fraction) ? '–' : `${(fraction * 100).toFixed(1)}%`);

async function run({ quick }: RunContext): Promise<SectionResult> {
  const shape: Shape = quick
    ? { limit: 20, windowMs: 1_000, requests: 60, deadlineMs: 8_000 }
    : { limit: 50, windowMs: 2_000, requests: 300, deadlineMs: 60_000 };
  const kinds = serverKinds.filter((kind) => !quick || kind.quick);
  const { createRatewise } = await importCompiledRatewise();
  const all = clients(createRatewise);

  // Every client of a server kind runs at the same time, each against its own fresh server; the event loop's delay
  // says how much they got in each other's way.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const results: PairResult[] = [];
  for (const kind of kinds) results.push(...(await Promise.all(all.map((client) => runPair(kind, client, shape)))));
  delay.disable();

  const rows = results.map((r) => [
    r.server,
    r.client,
    r.cutOff ? `> ${(shape.deadlineMs / 1_000).toFixed(2)}` : (r.wallMs / 1_000).toFixed(2),
    formatInteger(r.successes),
    formatInteger(shape.requests - r.successes),
    r.failures.size === 0
      ? '–'
      : [...r.failures].map(([cause, count]) => `${cause}: ${formatInteger(count)}`).join(', '),
    formatInteger(r.rejected),
    formatInteger(r.sent),
    percent(r.goodput),
  ]);
  const allowed = `${formatInteger(shape.limit)} requests per ${String(shape.windowMs / 1_000)} s`;
  const clean = results.filter((r) => r.successes === shape.requests && r.rejected === 0);
  return {
    description:
      `${formatInteger(shape.requests)} GET requests started at once, all of which must succeed, each response body ` +
      `read, against a real rate-limited server on 127.0.0.1 allowing ${allowed}; every pair of server and client ` +
      'gets its own fresh server, one run each. Each client is configured as its users would: the retrying clients ' +
      "with their retry option and a limit of 10, the limiters by hand from the server's documented rate, over " +
      "plain `fetch` (no retry). 429s and requests sent are the server's counts.",
    columns: [
      'Server',
      'Client',
      'Wall s',
      'Successes',
      'Failed calls',
      'Failures by cause',
      '429s',
      'Requests sent',
      'Goodput (full windows)',
    ],
    rows,
    notes: [
      `Pairs with every call a success and no 429: ${clean.length} of ${results.length} ` +
        `(${[...new Set(clean.map((r) => r.client))].join('; ') || 'none'}).`,
      'Failed calls: calls that did not end in a 2xx response. By cause: the status of the last response (a ' +
        'retrying client that spent its 10 retries, or a limiter over plain fetch that let a request through too ' +
        `early), or "cut off" when the run was still going ${String(shape.deadlineMs / 1_000)} s after it started ` +
        '(its calls are then aborted and the wall time reads "> deadline"): exponential backoff with no ' +
        'Retry-After to go by waits minutes by its 10th retry.',
      'Goodput (full windows) = requests accepted before the last window opened ÷ (allowed rate × time from the ' +
        "first window's opening to the last's), the goodput section's formula: 100% for a client that fills each " +
        "window as it opens. Windows are the server's, rebuilt from its request log (both express-rate-limit's " +
        "memory store and @fastify/rate-limit's local store open a window at the first request after the previous " +
        'one ended). A client cut off at the deadline, or whose calls failed, is scored on what it got through.',
      'ky, axios-retry and got honour `Retry-After` on a 429 (ky also reads `RateLimit-Reset` and ' +
        '`X-RateLimit-Reset`); with no headers they fall back to exponential backoff (n the retry number: ky ' +
        '0.3 s × 2ⁿ⁻¹, axios-retry 0.1 s × 2ⁿ + up to 20%, got 1 s × 2ⁿ⁻¹ + up to 0.1 s). express-rate-limit sends `Retry-After` only when ' +
        'it sends other rate-limit headers too.',
      'bottleneck and p-queue know the rate but not the window: their intervals start at the client, the ' +
        "server's at the first request it receives, so a refill can land a few ms before the server's window ends.",
      `The clients of one server kind run concurrently (separate servers, one process, ${String(
        kinds.length,
      )} server kinds one after another). Event-loop delay over the section: p99 ${(delay.percentile(99) / 1e6).toFixed(
        1,
      )} ms, max ${(delay.max / 1e6).toFixed(1)} ms.`,
      'ky 1.x and got 14.x are the last majors that run on Node 20 (ky 2 and got 15+ need Node 22).',
    ],
  };
}

export const peers: Section = {
  id: 'peers',
  title: 'All requests must succeed: ratewise and the retry/limiter libraries against real servers',
  peers: [
    'axios',
    'axios-retry',
    'bottleneck',
    'express',
    'express-rate-limit',
    'fastify',
    '@fastify/rate-limit',
    'got',
    'ky',
    'p-queue',
  ],
  run,
};
