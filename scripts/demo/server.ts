// The demo's rate-limited API on 127.0.0.1: three flavours of the same limit (N requests per window, counted from
// the first request of each window), each recording every request's arrival time and status on the server side.
import { createServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import rateLimitPlugin from '@fastify/rate-limit';
import express from 'express';
import { MemoryStore, rateLimit } from 'express-rate-limit';
import Fastify from 'fastify';
import { closeServer, HOST, listen, onHead } from '../lib/loopback.js';

/** Which server the demo runs. */
export type ServerKind = 'express' | 'fastify' | 'no-headers';

export const SERVER_KINDS: readonly ServerKind[] = ['express', 'fastify', 'no-headers'];

/** The server's limit: `limit` requests per `windowMs`. */
export interface Limit {
  readonly limit: number;
  /** Window length, ms. */
  readonly windowMs: number;
}

/** 50 requests per 2 s: small enough that a burst of 300 needs six windows. */
export const DEFAULT_LIMIT: Limit = { limit: 50, windowMs: 2_000 };

/** One request as the server saw it. */
export interface Arrival {
  /** Epoch ms when the request head arrived. */
  readonly receivedAt: number;
  /** The status written, `undefined` if the request was never answered. */
  readonly status: number | undefined;
  /** Epoch ms when the response head was written, `undefined` if never. */
  readonly answeredAt: number | undefined;
  /** Path and query, as sent: the same path again is a retry of the same call. */
  readonly path: string;
}

/** What the server has seen so far, cheap to read while a run goes. */
export interface ServerCounts {
  /** Requests arrived and not answered yet. */
  readonly inFlight: number;
  /** 429 responses written. */
  readonly rejected: number;
}

/** A running demo server. */
export interface DemoServer {
  readonly kind: ServerKind;
  /** Origin such as `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly limit: Limit;
  /** Every request so far, in arrival order. */
  arrivals(): readonly Arrival[];
  counts(): ServerCounts;
  /** The rate-limit fields of the first 429 the server wrote, lower-case names; `undefined` before one. */
  firstRejection(): Readonly<Record<string, string>> | undefined;
  /** Drops open connections and stops listening. Idempotent. */
  close(): Promise<void>;
}

/** What each kind is, and what it tells clients about its limit, in a phrase. */
export function describeServer(kind: ServerKind): string {
  switch (kind) {
    case 'express':
      return 'express + express-rate-limit, IETF draft-8 RateLimit/RateLimit-Policy headers';
    case 'fastify':
      return 'fastify + @fastify/rate-limit, X-RateLimit-* headers';
    case 'no-headers':
      return 'node:http, a bare 429 with only Retry-After, no rate-limit headers';
  }
}

/** `"50 per 2 s"`. */
export function formatLimit({ limit, windowMs }: Limit): string {
  return `${limit} per ${formatSeconds(windowMs)}`;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(2)} s`;
}

/** Starts a server of `kind` on an ephemeral port of 127.0.0.1. */
export async function startDemoServer(kind: ServerKind, limit: Limit = DEFAULT_LIMIT): Promise<DemoServer> {
  switch (kind) {
    case 'express':
      return startExpress(limit);
    case 'fastify':
      return startFastify(limit);
    case 'no-headers':
      return startBare(limit);
  }
}

/** The verdict of a {@link FixedWindow} on one request. */
export type Admission = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

/**
 * A fixed-window counter like express-rate-limit's memory store: a window opens with the first request after the
 * previous one ended, and admits `limit` requests until it ends.
 */
export class FixedWindow {
  readonly #limit: Limit;
  #windowEndsAt = -Infinity;
  #count = 0;

  constructor(limit: Limit) {
    this.#limit = limit;
  }

  /** Counts a request arriving at `now` (epoch ms). */
  admit(now: number): Admission {
    if (now >= this.#windowEndsAt) {
      this.#windowEndsAt = now + this.#limit.windowMs;
      this.#count = 0;
    }
    this.#count += 1;
    if (this.#count <= this.#limit.limit) return { ok: true };
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((this.#windowEndsAt - now) / 1000)) };
  }
}

const RATE_LIMIT_FIELD = /^(retry-after|ratelimit|x-ratelimit|x-rate-limit)/;

/** The rate-limit fields among `fields` (lower-case names). */
export function rateLimitFields(fields: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([name]) => RATE_LIMIT_FIELD.test(name)));
}

/** Records each request's arrival and its response head, whichever framework wrote it. */
class Recorder {
  readonly #log: { receivedAt: number; status: number | undefined; answeredAt: number | undefined; path: string }[] =
    [];
  #inFlight = 0;
  #rejected = 0;
  #firstRejection: Record<string, string> | undefined;

  wrap(listener: RequestListener): RequestListener {
    return (req, res) => {
      const record = {
        receivedAt: Date.now(),
        status: undefined as number | undefined,
        answeredAt: undefined as number | undefined,
        path: req.url ?? '',
      };
      this.#log.push(record);
      this.#inFlight += 1;
      onHead(res, (status, fields) => {
        record.status = status;
        record.answeredAt = Date.now();
        this.#inFlight -= 1;
        if (status !== 429) return;
        this.#rejected += 1;
        this.#firstRejection ??= rateLimitFields(fields());
      });
      listener(req, res);
    };
  }

  arrivals(): readonly Arrival[] {
    return this.#log.map((record) => ({ ...record }));
  }

  counts(): ServerCounts {
    return { inFlight: this.#inFlight, rejected: this.#rejected };
  }

  firstRejection(): Readonly<Record<string, string>> | undefined {
    return this.#firstRejection;
  }
}

function demoServer(kind: ServerKind, limit: Limit, port: number, recorder: Recorder, close: () => Promise<void>) {
  let closing: Promise<void> | undefined;
  const server: DemoServer = {
    kind,
    url: `http://${HOST}:${port}`,
    limit,
    arrivals: () => recorder.arrivals(),
    counts: () => recorder.counts(),
    firstRejection: () => recorder.firstRejection(),
    close: () => (closing ??= close()),
  };
  return server;
}

async function startExpress(limit: Limit): Promise<DemoServer> {
  const store = new MemoryStore();
  const app = express();
  app.disable('x-powered-by');
  app.use(
    rateLimit({
      limit: limit.limit,
      windowMs: limit.windowMs,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      store,
    }),
  );
  app.get('/items/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  const recorder = new Recorder();
  const server = createServer(recorder.wrap(app));
  const port = await listen(server);
  return demoServer('express', limit, port, recorder, async () => {
    store.shutdown();
    await closeServer(server);
  });
}

async function startFastify(limit: Limit): Promise<DemoServer> {
  const recorder = new Recorder();
  let server: Server | undefined;
  const app = Fastify({
    forceCloseConnections: true,
    serverFactory: (handler) => (server = createServer(recorder.wrap(handler))),
  });
  await app.register(rateLimitPlugin, { max: limit.limit, timeWindow: limit.windowMs });
  app.get<{ Params: { id: string } }>('/items/:id', (req) => ({ id: req.params.id }));
  await app.listen({ port: 0, host: HOST });
  const port = (server!.address() as AddressInfo).port;
  return demoServer('fastify', limit, port, recorder, () => app.close());
}

async function startBare(limit: Limit): Promise<DemoServer> {
  const window = new FixedWindow(limit);
  const recorder = new Recorder();
  const server = createServer(
    recorder.wrap((req, res) => {
      const admission = window.admit(Date.now());
      if (!admission.ok) {
        res.writeHead(429, { 'retry-after': String(admission.retryAfterSeconds), 'content-length': '0' });
        res.end();
        return;
      }
      const id = /^\/items\/([^/?]+)/.exec(req.url ?? '')?.[1];
      res.writeHead(id === undefined ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(id === undefined ? { error: 'not found' } : { id }));
    }),
  );
  const port = await listen(server);
  return demoServer('no-headers', limit, port, recorder, () => closeServer(server));
}
