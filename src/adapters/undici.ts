// `ratewise/undici`: an undici dispatcher over the engine, so Node's global `fetch` (and every SDK that uses it) is
// throttled. Each attempt goes through the dispatcher underneath; its head is held until the engine settles on it.
import { Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import type { Ratewise } from '../client.js';
import type { Transport } from '../send.js';

type RawHeaders = (Buffer | string | (Buffer | string)[])[];
type Abort = (reason?: Error) => void;
type HeaderRecord = Record<string, string | string[]>;

/** The handler API undici 6 (Node 20's bundled fetch) calls, and undici 7 still accepts. */
interface LegacyHandler {
  onConnect?(abort: Abort, context?: unknown): void;
  onHeaders?(status: number, headers: RawHeaders, resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: RawHeaders | null): void;
  onError?(error: Error): void;
}

/** undici 7's handler API. */
interface ControllerHandler {
  onRequestStart(controller: Controller, context: unknown): void;
  onResponseStart?(controller: Controller, status: number, headers: HeaderRecord, statusText: string): void;
  onResponseData?(controller: Controller, chunk: Buffer): void;
  onResponseEnd?(controller: Controller, trailers: HeaderRecord): void;
  onResponseError?(controller: Controller, error: Error): void;
}

/** Any dispatcher, undici 6's included: attempts are sent with the handler API both understand. */
interface Underlying {
  dispatch(options: Dispatcher.DispatchOptions, handler: LegacyHandler): boolean;
}

/** The caller's handler, whichever API it speaks; `complete` and `error` reach it once at most, and last. */
interface Sink {
  connect(abort: Abort): void;
  headers(status: number, raw: RawHeaders, resume: () => void, statusText: string): boolean;
  data(chunk: Buffer): boolean;
  complete(trailers: RawHeaders | null): void;
  error(error: Error): void;
}

function text(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}

/** Raw `[name, value, …]` pairs as a record of lower-case names; repeated fields become arrays. */
function headerRecord(raw: RawHeaders | null): HeaderRecord {
  const record: HeaderRecord = {};
  if (raw === null) return record;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const key = (Array.isArray(name) ? name.map(text).join('') : text(name)).toLowerCase();
    const values = Array.isArray(value) ? value.map(text) : [text(value)];
    const seen = record[key];
    record[key] = seen === undefined ? (values.length === 1 ? values[0]! : values) : [seen, ...values].flat();
  }
  return record;
}

class Controller {
  #paused = false;
  #aborted = false;
  #reason: Error | null = null;
  constructor(
    readonly abortAttempt: Abort,
    public resumeAttempt: () => void = () => undefined,
  ) {}
  get paused(): boolean {
    return this.#paused;
  }
  get aborted(): boolean {
    return this.#aborted;
  }
  get reason(): Error | null {
    return this.#reason;
  }
  pause(): void {
    this.#paused = true;
  }
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.resumeAttempt();
  }
  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.abortAttempt(reason);
  }
}

function toSink(handler: LegacyHandler | ControllerHandler): Sink {
  let done = false;
  const finish = (): boolean => !done && (done = true);
  if (!('onRequestStart' in handler)) {
    return {
      connect: (abort) => handler.onConnect?.(abort),
      headers: (status, raw, resume, statusText) =>
        !done && handler.onHeaders?.(status, raw, resume, statusText) !== false,
      data: (chunk) => !done && handler.onData?.(chunk) !== false,
      complete: (trailers) => finish() && handler.onComplete?.(trailers),
      error: (error) => finish() && handler.onError?.(error),
    };
  }
  let controller = new Controller(() => undefined);
  return {
    connect(abort) {
      controller = new Controller(abort);
      handler.onRequestStart(controller, {});
    },
    headers(status, raw, resume, statusText) {
      if (done) return false;
      controller.resumeAttempt = resume;
      handler.onResponseStart?.(controller, status, headerRecord(raw), statusText);
      return !controller.paused;
    },
    data(chunk) {
      if (done) return false;
      handler.onResponseData?.(controller, chunk);
      return !controller.paused;
    },
    complete: (trailers) => finish() && handler.onResponseEnd?.(controller, headerRecord(trailers)),
    error: (error) => finish() && handler.onResponseError?.(controller, error),
  };
}

/**
 * One attempt through the underlying dispatcher. Its head resolves `start()`; its body waits (paused, and whatever
 * arrived anyway is kept) until the engine either returns it (`forward`) or retries (`discard`, which drains it so
 * the connection goes back to the pool).
 */
class Attempt {
  status = 0;
  statusText = '';
  rawHeaders: RawHeaders = [];
  #abort: Abort | undefined;
  #abortReason: Error | undefined;
  #resume: () => void = () => undefined;
  #chunks: Buffer[] = [];
  #end: { readonly trailers: RawHeaders | null } | { readonly error: Error } | undefined;
  #sink: Sink | undefined;
  #headed = false;
  #discarded = false;

  start(underlying: Underlying, options: Dispatcher.DispatchOptions): Promise<Attempt> {
    return new Promise<Attempt>((resolve, reject) => {
      const handler: LegacyHandler = {
        onConnect: (abort) => {
          this.#abort = abort;
          if (this.#abortReason) abort(this.#abortReason);
        },
        onHeaders: (status, raw, resume, statusText) => {
          if (status < 200) return true; // 1xx: informational, the answer is still to come
          Object.assign(this, { status, statusText, rawHeaders: raw });
          this.#resume = resume;
          this.#headed = true;
          resolve(this);
          return false;
        },
        onData: (chunk) => {
          if (this.#discarded) return true;
          if (this.#sink) return this.#sink.data(chunk);
          this.#chunks.push(chunk);
          return false;
        },
        onComplete: (trailers) => {
          if (this.#sink) this.#sink.complete(trailers);
          else this.#end = { trailers };
        },
        onError: (error) => {
          if (!this.#headed) reject(error);
          else if (this.#sink) this.#sink.error(error);
          else this.#end = { error };
        },
      };
      try {
        underlying.dispatch(options, handler);
      } catch (error) {
        // A dispatcher that throws instead of calling onError: the attempt failed the same way.
        handler.onError?.(error as Error);
      }
    });
  }

  /** Stops the attempt wherever it is; its handler reports the error. */
  abort(reason: Error): void {
    if (this.#end) return;
    this.#abortReason = reason;
    this.#abort?.(reason);
  }

  discard(): void {
    this.#discarded = true;
    this.#chunks = [];
    this.#resume();
  }

  /** Hands the answer to the caller: the head, what arrived so far, then the rest as it comes. */
  forward(sink: Sink): void {
    this.#sink = sink;
    let go = sink.headers(
      this.status,
      this.rawHeaders,
      () => {
        this.#resume();
      },
      this.statusText,
    );
    for (const chunk of this.#chunks) go = sink.data(chunk) && go;
    this.#chunks = [];
    const end = this.#end;
    if (end === undefined) {
      if (go) this.#resume();
    } else if ('error' in end) sink.error(end.error);
    else sink.complete(end.trailers);
  }
}

/** Request headers in any form undici takes, as `Headers` (for `keyFn` and the `Idempotency-Key` check). */
function requestHeaders(input: Dispatcher.DispatchOptions['headers']): Headers {
  const headers = new Headers();
  const add = (name: unknown, value: unknown): void => {
    if (value === undefined || value === null) return;
    for (const v of Array.isArray(value) ? value : [value]) {
      try {
        headers.append(String(name), String(v));
      } catch {
        // A field fetch would refuse: undici sends it or rejects it; it cannot matter to the budget.
      }
    }
  };
  if (input == null) return headers;
  if (Array.isArray(input)) {
    for (let i = 0; i + 1 < input.length; i += 2) add(input[i], input[i + 1]);
  } else if (Symbol.iterator in input) {
    for (const [name, value] of input as Iterable<[string, unknown]>) add(name, value);
  } else {
    for (const [name, value] of Object.entries(input)) add(name, value);
  }
  return headers;
}

function isReplayable(body: Dispatcher.DispatchOptions['body']): boolean {
  return body == null || typeof body === 'string' || body instanceof Uint8Array;
}

/** Options of {@link ratewiseDispatcher}. */
export interface RatewiseDispatcherOptions {
  /**
   * The dispatcher that sends each attempt. undici 6 dispatchers (Node 20's own) work too.
   * @default the global dispatcher when the ratewise dispatcher is made
   */
  readonly dispatcher?: Dispatcher | undefined;
}

/**
 * An undici `Dispatcher` that runs each request through `rw`'s budgets, pacing, pauses and retries, sending every
 * attempt through another dispatcher. Upgrades and `CONNECT` pass straight through. `close()` and `destroy()` end
 * nothing but this wrapper's own calls: the dispatcher underneath is not its to close.
 */
export class RatewiseDispatcher extends Dispatcher {
  readonly #rw: Ratewise;
  readonly #underlying: Underlying;
  readonly #active = new Set<(reason: Error) => void>();
  #closed: Error | undefined;
  #idle: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(rw: Ratewise, options: RatewiseDispatcherOptions = {}) {
    super();
    this.#rw = rw;
    this.#underlying = options.dispatcher ?? getGlobalDispatcher();
  }

  override dispatch(options: Dispatcher.DispatchOptions, dispatchHandler: Dispatcher.DispatchHandler): boolean {
    const handler = dispatchHandler as LegacyHandler | ControllerHandler;
    if ((options.upgrade != null && options.upgrade !== false) || options.method === 'CONNECT') {
      return this.#underlying.dispatch(options, handler as LegacyHandler);
    }
    const sink = toSink(handler);
    const controller = new AbortController();
    let current: Attempt | undefined;
    const abort = (reason?: Error): void => {
      if (!controller.signal.aborted) controller.abort(reason);
      current?.abort(controller.signal.reason as Error);
    };
    sink.connect(abort);
    if (this.#closed) {
      sink.error(this.#closed);
      return true;
    }
    this.#active.add(abort);
    const settled = (): void => {
      this.#active.delete(abort);
      if (this.#active.size === 0) this.#idle?.();
    };
    const headers = requestHeaders(options.headers);
    const transport: Transport<Attempt> = {
      send: () => (current = new Attempt()).start(this.#underlying, options),
      status: (attempt) => attempt.status,
      headers: (attempt) => headerRecord(attempt.rawHeaders),
      discard: (attempt) => {
        attempt.discard();
      },
    };
    const origin = String(options.origin ?? '').replace(/\/$/, '');
    this.#rw
      .request(
        {
          method: options.method,
          url: origin + options.path,
          headers,
          signal: controller.signal,
          replayable: isReplayable(options.body),
          hasIdempotencyKey: headers.has('idempotency-key'),
        },
        transport,
      )
      .then(
        (attempt) => {
          settled();
          attempt.forward(sink);
        },
        (error: unknown) => {
          settled();
          // A response the engine failed with a typed error was not discarded: drain it, the connection can stay.
          // (On abort, the attempt was aborted already.)
          current?.discard();
          sink.error(error as Error);
        },
      );
    return true;
  }

  override close(callback: () => void): void;
  override close(): Promise<void>;
  override close(callback?: () => void): Promise<void> | void {
    this.#closed ??= new Error('The ratewise dispatcher is closed');
    // One promise for every caller: a second resolver would replace the first, which would never resolve.
    const idle = (this.#closing ??=
      this.#active.size === 0 ? Promise.resolve() : new Promise<void>((r) => (this.#idle = r)));
    if (!callback) return idle;
    void idle.then(callback);
  }

  override destroy(error: Error | null, callback: () => void): void;
  override destroy(callback: () => void): void;
  override destroy(error?: Error | null): Promise<void>;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const callback = typeof a === 'function' ? a : b;
    const reason = (typeof a === 'function' ? null : a) ?? new Error('The ratewise dispatcher was destroyed');
    this.#closed ??= reason;
    for (const abort of this.#active) abort(reason);
    if (!callback) return this.close();
    this.close(callback);
  }
}

/** A dispatcher for `setGlobalDispatcher()` or a fetch's `dispatcher` option: see {@link RatewiseDispatcher}. */
export function ratewiseDispatcher(rw: Ratewise, options?: RatewiseDispatcherOptions): RatewiseDispatcher {
  return new RatewiseDispatcher(rw, options);
}

/**
 * Makes `rw` the global dispatcher, over the one in place: every `fetch` in the process (Node's own included) goes
 * through it. Returns the function that puts the previous dispatcher back.
 */
export function installRatewise(rw: Ratewise): () => void {
  const previous = getGlobalDispatcher();
  setGlobalDispatcher(new RatewiseDispatcher(rw, { dispatcher: previous }));
  let installed = true;
  return () => {
    if (installed) setGlobalDispatcher(previous);
    installed = false;
  };
}
