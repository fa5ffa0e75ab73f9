/**
 * Hand-made servers for the shapes of throttling that the limiter libraries do not cover: a limit that says
 * nothing but its status, a `503` with only `Retry-After`, and an API that never limits but answers slowly. All are
 * {@link startScriptedServer}s on 127.0.0.1, so they record requests and count hits as the others do.
 */
import { startScriptedServer } from './servers.js';
import type { ScriptedResponse, TestServer } from './servers.js';

/** A limit: `limit` requests per window of `windowMs`. */
export interface WindowLimit {
  readonly limit: number;
  /** Window length, ms. */
  readonly windowMs: number;
}

/** One window as a {@link FixedWindowCounter} counted it. */
export interface WindowTally {
  /** Server `Date.now()` at which the window opened: the instant of its first request. */
  readonly startAt: number;
  readonly accepted: number;
  readonly refused: number;
}

/** What a {@link FixedWindowCounter} decided for one request. */
export type Admission = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

/**
 * A fixed window like express-rate-limit's memory store: a window opens with the first request after the previous
 * one ended (so windows follow the client, not the clock) and admits `limit` requests until it ends.
 */
export class FixedWindowCounter {
  readonly #limit: WindowLimit;
  readonly #windows: { startAt: number; accepted: number; refused: number }[] = [];

  constructor(limit: WindowLimit) {
    this.#limit = limit;
  }

  /** Counts a request arriving at `now` (epoch ms). A refusal says the whole seconds left in its window. */
  admit(now: number): Admission {
    let current = this.#windows.at(-1);
    if (current === undefined || now >= current.startAt + this.#limit.windowMs) {
      current = { startAt: now, accepted: 0, refused: 0 };
      this.#windows.push(current);
    }
    if (current.accepted < this.#limit.limit) {
      current.accepted++;
      return { ok: true };
    }
    current.refused++;
    return { ok: false, retryAfterSeconds: Math.ceil((current.startAt + this.#limit.windowMs - now) / 1_000) };
  }

  /** Every window so far, in order (windows with no request do not exist in this scheme). */
  windows(): WindowTally[] {
    return this.#windows.map((window) => ({ ...window }));
  }
}

/** A server with a fixed-window limit, and the windows it counted. */
export interface LimitedServer extends TestServer {
  windows(): WindowTally[];
}

async function startLimited(
  limit: WindowLimit,
  refuse: (retryAfterSeconds: number) => ScriptedResponse,
  sendDate: boolean,
): Promise<LimitedServer> {
  const counter = new FixedWindowCounter(limit);
  const server = await startScriptedServer(() => {
    const admission = counter.admit(Date.now());
    return admission.ok ? { json: { ok: true }, sendDate } : refuse(admission.retryAfterSeconds);
  });
  return { ...server, windows: () => counter.windows() };
}

/**
 * `limit` requests per `windowMs` in a {@link FixedWindowCounter}; past the limit a `429` with no fields at all:
 * no `Retry-After`, no rate-limit fields, not even `Date`. Successes answer `200 {"ok":true}`, without `Date` either.
 */
export function startBare429Server(limit: WindowLimit): Promise<LimitedServer> {
  return startLimited(limit, () => ({ status: 429, sendDate: false }), false);
}

/**
 * `limit` requests per `windowMs` in a {@link FixedWindowCounter}; past the limit a `503` whose only field is
 * `Retry-After`, the whole seconds left in the window rounded up. Successes answer `200 {"ok":true}`; no response
 * has `Date` or any rate-limit field.
 */
export function startRetryAfter503Server(limit: WindowLimit): Promise<LimitedServer> {
  return startLimited(
    limit,
    (retryAfterSeconds) => ({ status: 503, headers: { 'retry-after': String(retryAfterSeconds) }, sendDate: false }),
    false,
  );
}

/** Options of {@link startSlowServer}. */
export interface SlowServerOptions {
  /** How long each request waits before its answer, ms. */
  readonly delayMs: number;
}

/** An API that never limits: every request answers `200 {"ok":true}` after `delayMs`, however many arrive at once. */
export function startSlowServer({ delayMs }: SlowServerOptions): Promise<TestServer> {
  return startScriptedServer(
    () =>
      new Promise<ScriptedResponse>((resolve) => {
        setTimeout(() => {
          resolve({ json: { ok: true } });
        }, delayMs);
      }),
  );
}
