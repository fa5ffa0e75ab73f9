// The engine tests' rig: a ratewise client on a FakeClock with a scripted `fetch` that records when (in fake time)
// and with what each attempt was sent, and answers either from a script or later, from the test (a held call).
import { getEventListeners } from 'node:events';
import { createRatewise, type Ratewise } from '../../../src/client.js';
import type { RatewiseEvents } from '../../../src/events.js';
import type { RatewiseOptions } from '../../../src/options.js';
import { FakeClock } from '../../support/fake-clock.js';

/** Where fake time starts: Tue, 14 Nov 2023 22:13:20 GMT, a realistic epoch for header instants. */
export const T0 = 1_700_000_000_000;

/** One attempt the engine handed to fetch. */
export interface FetchCall {
  /** 0 for the first attempt the fetch saw, 1 for the next, … */
  readonly index: number;
  /** Fake-clock instant the attempt was sent. */
  readonly at: number;
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly signal: AbortSignal | undefined;
  /** The arguments fetch received. */
  readonly input: RequestInfo | URL;
  readonly init: RequestInit | undefined;
  /** Whether the call has been answered (or failed, or aborted). */
  readonly settled: boolean;
  /** Answers a held call. */
  respond(response: Response): void;
  /** Fails a held call, as a broken connection would. */
  fail(error: unknown): void;
}

/** What a script returns for an attempt: a response, a thrown error, or `'hold'` to answer it later from the test. */
export type Reply = Response | { readonly throws: unknown } | 'hold';
export type Script = (call: FetchCall) => Reply;

/** A scripted fetch: answers with `script`, holds the call when it says `'hold'`, and records every attempt. */
export class ScriptedFetch {
  readonly calls: FetchCall[] = [];
  script: Script;
  /** Whether held calls ignore an abort (a fetch that does not listen to its signal). */
  ignoreAbort = false;

  constructor(
    private readonly clock: FakeClock,
    script: Script = () => ok(),
  ) {
    this.script = script;
  }

  readonly fetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : undefined;
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    const url = request ? request.url : input instanceof URL ? input.href : String(input);
    const signal = init?.signal ?? request?.signal ?? undefined;
    let settle!: { resolve: (r: Response) => void; reject: (e: unknown) => void };
    const promise = new Promise<Response>((resolve, reject) => {
      settle = { resolve, reject };
    });
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      f();
    };
    // Like a real fetch, an abort in flight rejects with the signal's reason.
    const onAbort = (): void => {
      finish(() => {
        settle.reject(signal?.reason);
      });
    };
    const call: FetchCall = {
      index: this.calls.length,
      at: this.clock.now(),
      method: (init?.method ?? request?.method ?? 'GET').toUpperCase(),
      url,
      headers: new Headers(init?.headers ?? request?.headers),
      signal,
      input,
      init,
      get settled() {
        return settled;
      },
      respond: (response) => {
        finish(() => {
          settle.resolve(response);
        });
      },
      fail: (error) => {
        finish(() => {
          settle.reject(error);
        });
      },
    };
    this.calls.push(call);
    if (!this.ignoreAbort) {
      if (signal?.aborted) {
        onAbort();
        return promise;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    }
    const reply = this.script(call);
    if (reply instanceof Response) call.respond(reply);
    else if (reply !== 'hold') call.fail(reply.throws);
    return promise;
  };

  /** Instants at which attempts were sent. */
  get sentAt(): number[] {
    return this.calls.map((c) => c.at);
  }

  /** Held calls not yet answered. */
  held(): FetchCall[] {
    return this.calls.filter((c) => !c.settled);
  }
}

/** A response with the given status and headers. */
export function ok(headers: Record<string, string> = {}): Response {
  return new Response('ok', { status: 200, headers });
}

export function status(code: number, headers: Record<string, string> = {}): Response {
  return new Response(code === 204 ? null : String(code), { status: code, headers });
}

/** A 429 telling the client to come back in `seconds`. */
export function tooMany(seconds?: number, headers: Record<string, string> = {}): Response {
  return status(429, seconds === undefined ? headers : { 'retry-after': String(seconds), ...headers });
}

/** IETF draft-6 quota headers: `remaining` left until `resetSeconds` from the response's arrival. */
export function quota(limit: number, remaining: number, resetSeconds: number): Record<string, string> {
  return {
    'ratelimit-limit': String(limit),
    'ratelimit-remaining': String(remaining),
    'ratelimit-reset': String(resetSeconds),
  };
}

/** undici's error for a connection reset. */
export function networkError(): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
}

/** Lets every pending promise chain run (grants resolve promises; the attempt loop continues in microtasks). */
export async function flush(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise<void>((resolve) => {
      setImmediate(resolve);
    });
  }
}

/**
 * Moves fake time forward by `ms` one timer at a time, letting promises run after each, so that an attempt a timer
 * releases is sent at the timer's instant (not at the end of the step).
 */
export async function advance(clock: FakeClock, ms: number): Promise<void> {
  const until = clock.now() + ms;
  await flush();
  for (let at = clock.nextAt(); at !== undefined && at <= until; at = clock.nextAt()) {
    clock.advanceTo(at);
    await flush();
  }
  clock.advanceTo(until);
  await flush();
}

/** The state of a promise, readable synchronously; never an unhandled rejection. */
export interface Outcome<T> {
  readonly state: 'pending' | 'fulfilled' | 'rejected';
  readonly value: T | undefined;
  readonly error: unknown;
  /** How many times it settled (a promise settles once; this counts the handlers that ran, as a check). */
  readonly settledCount: number;
  /** Fake-clock instant it settled, when it has. */
  readonly settledAt: number | undefined;
}

export function track<T>(promise: Promise<T>, clock?: FakeClock): Outcome<T> {
  const outcome: {
    state: Outcome<T>['state'];
    value: T | undefined;
    error: unknown;
    settledCount: number;
    settledAt: number | undefined;
  } = {
    state: 'pending',
    value: undefined,
    error: undefined,
    settledCount: 0,
    settledAt: undefined,
  };
  promise.then(
    (value) => {
      Object.assign(outcome, { state: 'fulfilled', value, settledAt: clock?.now() });
      outcome.settledCount++;
    },
    (error: unknown) => {
      Object.assign(outcome, { state: 'rejected', error, settledAt: clock?.now() });
      outcome.settledCount++;
    },
  );
  return outcome;
}

/** Listeners currently registered for `abort` on `signal` (Node's own introspection, no monkey-patching). */
export function abortListeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

/** A fixed `random` (the jitter source): 0 makes server waits exact and full-jitter backoff 0. */
export function fixedRandom(value: number): () => number {
  return () => value;
}

export interface Rig {
  readonly rw: Ratewise;
  readonly clock: FakeClock;
  readonly server: ScriptedFetch;
  /** Every event emitted, in order, with the fake-clock instant. */
  readonly events: { readonly name: keyof RatewiseEvents; readonly at: number; readonly event: unknown }[];
  readonly eventsOf: <K extends keyof RatewiseEvents>(name: K) => RatewiseEvents[K][];
}

const EVENT_NAMES: readonly (keyof RatewiseEvents)[] = [
  'queued',
  'throttled',
  'paused',
  'retry',
  'giveUp',
  'rateLimitInfo',
  'loop',
  'storeError',
  'storeRecovered',
];

/**
 * A client on a FakeClock at {@link T0} with a scripted fetch (every call answered `200` unless `script` says
 * otherwise), `random` fixed at 0 unless given, the loop guard off unless given, and every event recorded.
 */
export function rig(options: Omit<RatewiseOptions, 'fetch' | 'clock'> = {}, script?: Script): Rig {
  const clock = new FakeClock(T0);
  const server = new ScriptedFetch(clock, script);
  const rw = createRatewise({
    random: fixedRandom(0),
    loopGuard: false,
    ...options,
    fetch: server.fetch,
    clock,
  });
  const events: Rig['events'] = [];
  for (const name of EVENT_NAMES) {
    rw.on(name, (event) => {
      events.push({ name, at: clock.now(), event });
    });
  }
  return {
    rw,
    clock,
    server,
    events,
    eventsOf: <K extends keyof RatewiseEvents>(name: K) =>
      events.filter((e) => e.name === name).map((e) => e.event as RatewiseEvents[K]),
  };
}

/**
 * Sends `n` requests to `url` one after another (the script must answer them), so that the budget has left its slow
 * start (its window grows by one per answer, up to four) before a test holds calls.
 */
export async function warmUp(rw: Ratewise, url: string, n = 4): Promise<void> {
  for (let i = 0; i < n; i++) await rw.fetch(url, { headers: { 'x-warm-up': '1' } });
}
