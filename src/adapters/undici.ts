// `ratewise/undici`: an undici dispatcher over the engine, so Node's global `fetch` (and every SDK that uses it) is
// throttled. Each attempt goes through the dispatcher underneath; its head is held until the engine settles on it.
import { Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import type { Ratewise, Transport } from '../index.js';
import {
  Attempt,
  headerRecord,
  isReplayable,
  requestHeaders,
  toSink,
  type ControllerHandler,
  type LegacyHandler,
  type Underlying,
} from './undici-attempt.js';

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
          body: options.body,
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
