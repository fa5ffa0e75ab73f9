/**
 * Real rate-limited HTTP peers on 127.0.0.1, for integration tests, demos and benchmarks.
 *
 * Every helper listens on an ephemeral port and returns a {@link TestServer}. Requests are tallied at the
 * node:http level, the moment the response head is written, so the counts are already up to date when the
 * client's `fetch` resolves, whichever framework produced the response.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import rateLimitPlugin from '@fastify/rate-limit';
import type { RateLimitPluginOptions } from '@fastify/rate-limit';
import express from 'express';
import { MemoryStore, rateLimit } from 'express-rate-limit';
import type { Options as ExpressRateLimitOptions } from 'express-rate-limit';
import Fastify from 'fastify';
import { closeServer, HOST, listen, onHead } from '../../scripts/lib/loopback.js';

/** How many requests a server has seen, by outcome. */
export interface HitCounts {
  /** Requests received, answered or not. */
  readonly total: number;
  /** Responses with a status below 400: requests the limiter let through. */
  readonly accepted: number;
  /** `429 Too Many Requests` responses. */
  readonly rejected: number;
  /** Every answered request by status code. */
  readonly byStatus: Readonly<Record<number, number>>;
  /** Requests received whose response has not finished (or whose connection has not closed) yet. */
  readonly inFlight: number;
  /** The highest `inFlight` seen so far. */
  readonly maxInFlight: number;
}

/** One request as the server saw it. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  /** Server-side `Date.now()` when the request head arrived. */
  readonly receivedAt: number;
  /** The status written, or `undefined` while the request is unanswered. */
  readonly status: number | undefined;
  /** Server-side `Date.now()` when the status was written, or `undefined` while the request is unanswered. */
  readonly answeredAt: number | undefined;
}

/** A running server. */
export interface TestServer {
  /** Origin to send to, such as `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Counts so far. */
  hits(): HitCounts;
  /** A snapshot of every request so far, in arrival order. */
  requests(): readonly RecordedRequest[];
  /**
   * Drops every open connection (in-flight requests included), stops listening and releases timers; resolves once
   * every response has closed. Idempotent.
   */
  close(): Promise<void>;
}

/** The counts of a request log, given what the server knows of its open requests. */
export function hitCounts(log: readonly RecordedRequest[], inFlight: number, maxInFlight: number): HitCounts {
  const byStatus: Record<number, number> = {};
  let accepted = 0;
  let rejected = 0;
  for (const { status } of log) {
    if (status === undefined) continue;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (status < 400) accepted += 1;
    if (status === 429) rejected += 1;
  }
  return { total: log.length, accepted, rejected, byStatus, inFlight, maxInFlight };
}

type MutableRecord = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

/** Records requests and responses for one server. */
class Tally {
  readonly #log: MutableRecord[] = [];
  readonly #open = new Set<ServerResponse>();
  #maxInFlight = 0;

  /** Wraps a request listener so every request is logged and its status recorded when the head is written. */
  wrap(listener: RequestListener): RequestListener {
    return (req, res) => {
      const record: MutableRecord = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        receivedAt: Date.now(),
        status: undefined,
        answeredAt: undefined,
      };
      this.#log.push(record);
      this.#open.add(res);
      this.#maxInFlight = Math.max(this.#maxInFlight, this.#open.size);
      res.once('close', () => {
        this.#open.delete(res);
      });
      // Frameworks' own hooks would not cover all three servers: the head itself is watched.
      onHead(res, (status) => {
        record.status = status;
        record.answeredAt = Date.now();
      });
      listener(req, res);
    };
  }

  counts(): HitCounts {
    return hitCounts(this.#log, this.#open.size, this.#maxInFlight);
  }

  requests(): readonly RecordedRequest[] {
    return this.#log.map((record) => ({ ...record }));
  }

  /** Resolves once every response seen so far has closed (Node emits `close` a tick after the socket goes). */
  async drained(): Promise<void> {
    await Promise.all([...this.#open].map((res) => once(res, 'close')));
  }
}

function handle(port: number, tally: Tally, close: () => Promise<void>): TestServer {
  let closing: Promise<void> | undefined;
  return {
    url: `http://${HOST}:${port}`,
    port,
    hits: () => tally.counts(),
    requests: () => tally.requests(),
    close: () => (closing ??= close().then(() => tally.drained())),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// express + express-rate-limit

/** Options of {@link startExpressServer}; defaults are express-rate-limit's own. */
export interface ExpressServerOptions {
  /** Requests allowed per window. @default 5 */
  readonly limit?: number;
  /** Window length in ms. @default 60_000 */
  readonly windowMs?: number;
  /** Which IETF draft's fields to send. @default false */
  readonly standardHeaders?: ExpressRateLimitOptions['standardHeaders'];
  /** Whether to send `X-RateLimit-*` (and `Date`). @default true */
  readonly legacyHeaders?: boolean;
  /** Draft-8 policy name. @default `${limit}-in-${window}` such as `"5-in-1min"` */
  readonly identifier?: string;
  /** Status of a rejected request. @default 429 */
  readonly statusCode?: number;
}

/**
 * express 5 + express-rate-limit 8 with a fresh memory store: every path answers `200 {"ok":true}` until the limit,
 * then the limiter's rejection. All requests from the loopback client share one key.
 */
export function startExpressServer(options: ExpressServerOptions = {}): Promise<TestServer> {
  return startExpressLimited({ '/': options });
}

/**
 * express 5 with an express-rate-limit limiter of its own on each path prefix (`{ '/search': { limit: 3 } }`), each
 * with a fresh memory store: routes that count apart, as APIs that limit per route do. Paths under no prefix are not
 * limited.
 */
export function startExpressRoutesServer(routes: Readonly<Record<string, ExpressServerOptions>>): Promise<TestServer> {
  return startExpressLimited(routes);
}

/** express 5 with a limiter of its own, on a fresh memory store, on each path prefix; `{ ok: true }` past them. */
async function startExpressLimited(routes: Readonly<Record<string, ExpressServerOptions>>): Promise<TestServer> {
  const stores: MemoryStore[] = [];
  const app = express();
  app.disable('x-powered-by');
  for (const [prefix, options] of Object.entries(routes)) {
    const store = new MemoryStore();
    stores.push(store);
    app.use(prefix, rateLimit({ ...options, store }));
  }
  app.use((_req, res) => {
    res.json({ ok: true });
  });
  const tally = new Tally();
  const server = createServer(tally.wrap(app));
  const port = await listen(server);
  return handle(port, tally, async () => {
    for (const store of stores) store.shutdown();
    await closeServer(server);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// fastify + @fastify/rate-limit

/** Options of {@link startFastifyServer}. */
export interface FastifyServerOptions {
  /** Requests allowed per window. @default 5 (the plugin's own default is 1000) */
  readonly max?: number;
  /** Window length in ms, or an `@lukeed/ms` string such as `'1 minute'`. @default 60_000 */
  readonly timeWindow?: number | string;
  /** Send `RateLimit-Limit`/`-Remaining`/`-Reset` instead of `X-RateLimit-*`. @default false */
  readonly enableDraftSpec?: boolean;
  /** Extra plugin options, passed through unchanged. */
  readonly plugin?: Omit<RateLimitPluginOptions, 'max' | 'timeWindow' | 'enableDraftSpec'>;
}

/**
 * fastify 5 + @fastify/rate-limit with its local store: every path answers `200 {"ok":true}` until the limit,
 * then the plugin's `429` JSON error.
 */
export async function startFastifyServer(options: FastifyServerOptions = {}): Promise<TestServer> {
  const tally = new Tally();
  let server: Server | undefined;
  const app = Fastify({
    forceCloseConnections: true,
    serverFactory: (handler) => (server = createServer(tally.wrap(handler))),
  });
  await app.register(rateLimitPlugin, {
    ...options.plugin,
    max: options.max ?? 5,
    timeWindow: options.timeWindow ?? 60_000,
    enableDraftSpec: options.enableDraftSpec ?? false,
  });
  app.all('/*', () => ({ ok: true }));
  await app.listen({ port: 0, host: HOST });
  const port = (server!.address() as AddressInfo).port;
  return handle(port, tally, () => app.close());
}

// ---------------------------------------------------------------------------------------------------------------
// node:http, scripted

/** A request as a script sees it. */
export interface ScriptedRequest {
  /** 0 for the first request the server received, 1 for the next, … */
  readonly index: number;
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The request body, decoded as UTF-8. */
  readonly body: string;
}

/** What a script answers. */
export interface ScriptedResponse {
  /** @default 200 */
  readonly status?: number;
  /** Response fields; an array gives repeated field lines. A `date` given here replaces Node's own. */
  readonly headers?: Readonly<Record<string, string | number | readonly string[]>>;
  /** Sent as is. Mutually exclusive with `json`. */
  readonly body?: string;
  /** Sent as `application/json`. */
  readonly json?: unknown;
  /** Whether Node adds a `Date` field when `headers` has none. @default true */
  readonly sendDate?: boolean;
}

/** Decides each response. May be async (to hold a request open, for instance); a throw answers 500. */
export type Script = (request: ScriptedRequest) => ScriptedResponse | Promise<ScriptedResponse>;

/** A plain node:http server that answers every request from `script`. */
export async function startScriptedServer(script: Script): Promise<TestServer> {
  let index = 0;
  const tally = new Tally();
  const server = createServer(
    tally.wrap((req, res) => {
      void answer(script, index++, req, res);
    }),
  );
  const port = await listen(server);
  return handle(port, tally, () => closeServer(server));
}

/** A script that answers the n-th request with the n-th response, then repeats the last one. */
export function sequence(first: ScriptedResponse, ...rest: readonly ScriptedResponse[]): Script {
  const responses = [first, ...rest];
  return ({ index }) => responses[Math.min(index, responses.length - 1)]!;
}

async function answer(script: Script, index: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let response: ScriptedResponse;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    response = await script({ index, method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body });
  } catch (error) {
    response = { status: 500, body: `script failed: ${String(error)}` };
  }
  // The client may have given up (abort) or the server may be closing while the script ran.
  if (res.destroyed) return;
  res.sendDate = response.sendDate ?? true;
  for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
  let body = response.body ?? '';
  if (response.json !== undefined) {
    res.setHeader('content-type', 'application/json');
    body = JSON.stringify(response.json);
  }
  res.statusCode = response.status ?? 200;
  res.end(body);
}
