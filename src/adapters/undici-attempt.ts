// The undici side of `ratewise/undici`: the two handler APIs a dispatcher is called with (undici 6's, which Node 20's
// bundled fetch speaks, and undici 7's controllers), and one attempt through the dispatcher underneath, its head held
// until the engine settles on it. No engine logic: the dispatcher in undici.ts runs attempts through `rw.request`.
import type { Dispatcher } from 'undici';

type RawHeaders = (Buffer | string | (Buffer | string)[])[];
type Abort = (reason?: Error) => void;
type HeaderRecord = Record<string, string | string[]>;

/** The handler API undici 6 (Node 20's bundled fetch) calls, and undici 7 still accepts. */
export interface LegacyHandler {
  onConnect?(abort: Abort, context?: unknown): void;
  onHeaders?(status: number, headers: RawHeaders, resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: RawHeaders | null): void;
  onError?(error: Error): void;
}

/** undici 7's handler API. */
export interface ControllerHandler {
  onRequestStart(controller: Controller, context: unknown): void;
  onResponseStart?(controller: Controller, status: number, headers: HeaderRecord, statusText: string): void;
  onResponseData?(controller: Controller, chunk: Buffer): void;
  onResponseEnd?(controller: Controller, trailers: HeaderRecord): void;
  onResponseError?(controller: Controller, error: Error): void;
}

/** Any dispatcher, undici 6's included: attempts are sent with the handler API both understand. */
export interface Underlying {
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
export function headerRecord(raw: RawHeaders | null): HeaderRecord {
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

export function toSink(handler: LegacyHandler | ControllerHandler): Sink {
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
export class Attempt {
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
export function requestHeaders(input: Dispatcher.DispatchOptions['headers']): Headers {
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

export function isReplayable(body: Dispatcher.DispatchOptions['body']): boolean {
  return body == null || typeof body === 'string' || body instanceof Uint8Array;
}
