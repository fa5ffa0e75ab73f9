// The pairs of the `routes` section: one host whose routes count apart (express-rate-limit, draft-8, mounted per
// route: a strict limit on /search, a loose one on /items), and the clients that send half their calls to each. One
// pair runs in a child process (routes-probe.ts).
import { setMaxListeners } from 'node:events';
import got from 'got';
import type * as Ratewise from '../../src/index.js';
import { isRefused } from '../../test/support/request-log.js';
import { startExpressRoutesServer } from '../../test/support/servers.js';
import type { RecordedRequest } from '../../test/support/servers.js';
import { kyGet } from '../../scripts/lib/retrying-clients.js';
import { fastestFinishMs } from '../efficiency.js';

/** One route's limit and the calls sent to it. */
export interface RouteShape {
  readonly path: string;
  readonly limit: number;
  readonly windowMs: number;
  readonly calls: number;
}

export interface RoutesShape {
  readonly strict: RouteShape;
  readonly loose: RouteShape;
  readonly deadlineMs: number;
}

/** 300 calls at once, half to 10 per 2 s, half to 50 per 2 s; a quick run 60, half to 5 per 1 s, half to 20 per 1 s. */
export function routesShape(quick: boolean): RoutesShape {
  return quick
    ? {
        strict: { path: '/search', limit: 5, windowMs: 1_000, calls: 30 },
        loose: { path: '/items', limit: 20, windowMs: 1_000, calls: 30 },
        deadlineMs: 20_000,
      }
    : {
        strict: { path: '/search', limit: 10, windowMs: 2_000, calls: 150 },
        loose: { path: '/items', limit: 50, windowMs: 2_000, calls: 150 },
        deadlineMs: 60_000,
      };
}

/** The fastest finish of one route's calls, its fixed window opening with its first request. */
export function routeFastestMs(route: RouteShape): number {
  return fastestFinishMs(route.calls, { kind: 'fixed-window', limit: route.limit, windowMs: route.windowMs });
}

type Call = (url: string, signal: AbortSignal) => Promise<void>;

export interface RoutesClient {
  readonly id: string;
  readonly label: string;
  readonly ratewise: boolean;
  create(ratewise: typeof Ratewise): { call: Call; close(): Promise<void> };
}

async function drain(response: Response): Promise<void> {
  await response.arrayBuffer();
  if (!response.ok) throw Object.assign(new Error(`HTTP ${String(response.status)}`), { status: response.status });
}

export const routesClients: readonly RoutesClient[] = [
  {
    id: 'ratewise',
    label: 'ratewise `rw.fetch` (routes learnt from the policy names)',
    ratewise: true,
    create: ({ createRatewise }) => {
      const rw = createRatewise({ retry: { maxRetryAfter: 120_000 }, loopGuard: false });
      return {
        call: async (url, signal) => drain(await rw.fetch(url, { signal })),
        close: () => rw.close(),
      };
    },
  },
  {
    id: 'ratewise-host',
    label: 'ratewise `rw.fetch`, one budget per host (`maxRoutes: 0`)',
    ratewise: true,
    create: ({ createRatewise }) => {
      const rw = createRatewise({
        retry: { maxRetryAfter: 120_000 },
        loopGuard: false,
        budgets: { '*': { maxRoutes: 0 } },
      });
      return {
        call: async (url, signal) => drain(await rw.fetch(url, { signal })),
        close: () => rw.close(),
      };
    },
  },
  {
    id: 'ky',
    label: 'ky `retry: 10`',
    ratewise: false,
    create: () => ({
      call: async (url, signal) => {
        await kyGet(url, signal);
      },
      close: () => Promise.resolve(),
    }),
  },
  {
    id: 'got',
    label: 'got `retry: { limit: 10 }`',
    ratewise: false,
    create: () => ({
      call: async (url, signal) => {
        await got(url, { retry: { limit: 10 }, signal }).buffer();
      },
      close: () => Promise.resolve(),
    }),
  },
];

/** One route's figures in one run. */
export interface RouteRun {
  /** From the start to the last settled call of this route, ms. */
  readonly wallMs: number;
  readonly successes: number;
  readonly lost: number;
  readonly cutOff: number;
  /** Refused requests of this route, as the server counted them. */
  readonly refused: number;
  /** Refused requests of this route that arrived after the server's first answer to this route. */
  readonly refusedAfterFirstAnswer: number;
}

export interface RoutesRun {
  readonly strict: RouteRun;
  readonly loose: RouteRun;
}

/** When one call settled (ms from the start), and how. */
interface Settled {
  readonly at: number;
  readonly ok: boolean;
  readonly cutOff: boolean;
}

/** The calls of one route: sent, settled, and what the server saw. */
function routeRun(log: readonly RecordedRequest[], route: RouteShape, settled: readonly Settled[]): RouteRun {
  const mine = log.filter((request) => request.url.startsWith(route.path));
  let first = Infinity;
  for (const { answeredAt } of mine) if (answeredAt !== undefined && answeredAt < first) first = answeredAt;
  const successes = settled.filter((s) => s.ok).length;
  const cutOff = settled.filter((s) => s.cutOff).length;
  return {
    wallMs: Math.max(...settled.map((s) => s.at)),
    successes,
    lost: route.calls - successes - cutOff,
    cutOff,
    refused: mine.filter(isRefused).length,
    refusedAfterFirstAnswer: mine.filter((request) => request.receivedAt > first && isRefused(request)).length,
  };
}

export async function runRoutesPair(
  client: RoutesClient,
  shape: RoutesShape,
  ratewise: typeof Ratewise,
  ready: () => Promise<void>,
): Promise<RoutesRun> {
  const limiter = (route: RouteShape) => ({
    limit: route.limit,
    windowMs: route.windowMs,
    standardHeaders: 'draft-8' as const,
    legacyHeaders: false,
  });
  const server = await startExpressRoutesServer({
    [shape.strict.path]: limiter(shape.strict),
    [shape.loose.path]: limiter(shape.loose),
  });
  const controller = new AbortController();
  setMaxListeners(Infinity, controller.signal);
  const runner = client.create(ratewise);
  let deadline: NodeJS.Timeout | undefined;
  try {
    await ready();
    deadline = setTimeout(() => {
      controller.abort(new Error('deadline'));
    }, shape.deadlineMs);
    const settled: Record<'strict' | 'loose', Settled[]> = { strict: [], loose: [] };
    const startedAt = performance.now();
    const calls: Promise<void>[] = [];
    // Interleaved, as an application's calls to two endpoints would be.
    for (let i = 0; i < Math.max(shape.strict.calls, shape.loose.calls); i++) {
      for (const which of ['strict', 'loose'] as const) {
        const route = shape[which];
        if (i >= route.calls) continue;
        const done = (ok: boolean) => () => {
          settled[which].push({ at: performance.now() - startedAt, ok, cutOff: !ok && controller.signal.aborted });
        };
        calls.push(
          runner.call(`${server.url}${route.path}/${String(i)}`, controller.signal).then(done(true), done(false)),
        );
      }
    }
    await Promise.all(calls);
    await runner.close();
    await server.close();
    const log = server.requests();
    return { strict: routeRun(log, shape.strict, settled.strict), loose: routeRun(log, shape.loose, settled.loose) };
  } finally {
    clearTimeout(deadline);
    await server.close();
  }
}
