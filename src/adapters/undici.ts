/**
 * Node's global `fetch` (undici) through ratewise: {@link installRatewise} throttles every `fetch` of the process,
 * an SDK's included, and {@link ratewiseDispatcher} gives a dispatcher to pass where one is wanted. undici 7 is an
 * optional peer dependency.
 * @module ratewise/undici
 */
// `ratewise/undici`: an undici dispatcher over the engine, so Node's global `fetch` (and every SDK that uses it) is
// throttled. Each attempt goes through the dispatcher underneath; its head is held until the engine settles on it.
import { Dispatcher, errors, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { kindOf, knownOptions, setMarkScheduled } from '../http/seam.js';
import { AlreadyInstalledError, isRatewiseError, type Ratewise, type Transport } from '../index.js';
import { checkClient } from './checks.js';
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

/**
 * Marks the dispatch options of a request ratewise has scheduled already (an attempt of `rw.fetch` or of a ratewise
 * dispatcher): every ratewise dispatcher it reaches passes it straight through, so that no attempt is counted, paced
 * or retried twice. A symbol key never reaches the wire; wrappers that spread the options keep it.
 */
const SCHEDULED = Symbol.for('ratewise.scheduled');

type Marked = Dispatcher.DispatchOptions & { readonly [SCHEDULED]?: true };

function marked(options: Dispatcher.DispatchOptions): Marked {
  return { ...options, [SCHEDULED]: true };
}

/**
 * What `rw.fetch` sends an attempt with: the dispatcher fetch would have used (the init's own, else the global one
 * at the time), given the request marked. Whatever sits above a ratewise dispatcher (a wrapper, an interceptor) still
 * sees it; the ratewise dispatcher lets it through.
 */
function markingDispatcher(own: unknown): Pick<Dispatcher, 'dispatch'> & { readonly isMockActive: unknown } {
  const target = (): Dispatcher => (own as Dispatcher | undefined) ?? getGlobalDispatcher();
  return {
    dispatch: (options, handler) => target().dispatch(marked(options), handler),
    // fetch asks its dispatcher whether it is undici's MockAgent (which wants the body as given, to match on).
    get isMockActive() {
      return (target() as { isMockActive?: unknown }).isMockActive;
    },
  };
}

function markInit(init: RequestInit): RequestInit {
  const own = (init as { dispatcher?: unknown }).dispatcher;
  return { ...init, dispatcher: markingDispatcher(own) } as RequestInit;
}

/**
 * Makes a dispatcher `installRatewise` made pass everything through once uninstalled, whatever still holds it. Set by
 * the class itself, which alone can reach its private state.
 */
let retire: (dispatcher: RatewiseDispatcher) => void;

/** Options of {@link ratewiseDispatcher}. */
export interface RatewiseDispatcherOptions {
  /**
   * The dispatcher that sends each attempt. undici 6 dispatchers (Node 20's own) work too.
   * @default the global dispatcher when the ratewise dispatcher is made
   */
  readonly dispatcher?: Dispatcher | undefined;
}

const OPTION_NAMES: readonly (keyof RatewiseDispatcherOptions)[] = ['dispatcher'];

function isDispatcher(value: unknown): value is Dispatcher {
  return (
    typeof value === 'object' && value !== null && typeof (value as { dispatch?: unknown }).dispatch === 'function'
  );
}

/**
 * An undici `Dispatcher` that runs each request through `rw`'s budgets, pacing, pauses and retries, sending every
 * attempt through another dispatcher. Upgrades, `CONNECT`, requests ratewise has scheduled already (`rw.fetch`'s
 * attempts, any client's) and every request once `rw` is closed pass straight through. `close()` and `destroy()` end
 * nothing but this wrapper's own calls: the dispatcher underneath is not its to close.
 */
export class RatewiseDispatcher extends Dispatcher {
  readonly #rw: Ratewise;
  readonly #underlying: Underlying;
  readonly #active = new Set<(reason: Error) => void>();
  #closed: Error | undefined;
  #idle: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  #retired = false;

  static {
    retire = (dispatcher) => {
      dispatcher.#retired = true;
    };
  }

  /**
   * Throws `TypeError` when `rw` is not a ratewise client, `options` is not an object, or has a key other than
   * `dispatcher`, or its `dispatcher` has no `dispatch()`.
   */
  constructor(rw: Ratewise, options: RatewiseDispatcherOptions = {}) {
    super();
    checkClient(rw, 'ratewiseDispatcher()');
    // Read once: the dispatcher checked is the one every attempt goes through.
    const { dispatcher } = knownOptions(options, 'ratewiseDispatcher options', OPTION_NAMES, 'ratewiseDispatcher ');
    if (dispatcher !== undefined && !isDispatcher(dispatcher)) {
      throw new TypeError(
        `Expected \`ratewiseDispatcher dispatcher\` to be an undici Dispatcher (with dispatch()), got ${kindOf(dispatcher)}`,
      );
    }
    this.#rw = rw;
    this.#underlying = dispatcher ?? getGlobalDispatcher();
    // From now on, `rw.fetch` (of any client) marks its attempts, which may reach this dispatcher through the global
    // one: scheduled twice, an attempt would wait for the slot its own call holds.
    setMarkScheduled(markInit);
  }

  override dispatch(options: Dispatcher.DispatchOptions, dispatchHandler: Dispatcher.DispatchHandler): boolean {
    const handler = dispatchHandler as LegacyHandler | ControllerHandler;
    if (
      (options as Marked)[SCHEDULED] === true ||
      this.#retired ||
      (options.upgrade != null && options.upgrade !== false) ||
      options.method === 'CONNECT'
    ) {
      return this.#underlying.dispatch(options, handler as LegacyHandler);
    }
    const caller = toSink(handler);
    const controller = new AbortController();
    let current: Attempt | undefined;
    const abort = (reason?: Error): void => {
      if (!controller.signal.aborted) controller.abort(reason);
      current?.abort(controller.signal.reason as Error);
    };
    caller.connect(abort);
    if (this.#closed) {
      caller.error(this.#closed);
      return true;
    }
    this.#active.add(abort);
    const settled = (): void => {
      if (!this.#active.delete(abort)) return;
      if (this.#active.size === 0) this.#idle?.();
    };
    // A call is under way until its answer's body has ended, as with undici's own dispatchers: `destroy()` aborts a
    // body still streaming, and `close()` waits for it.
    const sink: typeof caller = {
      ...caller,
      complete(trailers) {
        caller.complete(trailers);
        settled();
      },
      error(error) {
        caller.error(error);
        settled();
      },
    };
    const headers = requestHeaders(options.headers);
    const attemptOptions = marked(options);
    const transport: Transport<Attempt> = {
      send: () => (current = new Attempt()).start(this.#underlying, attemptOptions),
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
          attempt.forward(sink);
        },
        (error: unknown) => {
          if (current === undefined && isRatewiseError(error, 'ERR_RATEWISE_CLOSED') && error.when === 'afterClose') {
            // `rw` was closed before this request: it goes through untouched, so that a closed client left installed
            // never breaks the process's fetch.
            const attempt = (current = new Attempt());
            attempt.start(this.#underlying, attemptOptions).then(
              (head) => {
                head.forward(sink);
              },
              (failure: unknown) => {
                sink.error(failure as Error);
              },
            );
            if (controller.signal.aborted) attempt.abort(controller.signal.reason as Error);
            return;
          }
          // A response the engine failed with a typed error was not discarded: drain it, the connection can stay.
          // (On abort, the attempt was aborted already.)
          current?.discard();
          sink.error(error as Error);
        },
      );
    return true;
  }

  /**
   * Refuses new dispatches and calls `callback` once this dispatcher's calls have ended, their answers' bodies
   * included. The dispatcher underneath stays open.
   */
  override close(callback: () => void): void;
  /** Refuses new dispatches and resolves once this dispatcher's calls have ended; the one underneath stays open. */
  override close(): Promise<void>;
  override close(callback?: () => void): Promise<void> | void {
    // undici's own errors, as its dispatchers fail a request after close() and destroy().
    this.#closed ??= new errors.ClientClosedError();
    // One promise for every caller: a second resolver would replace the first, which would never resolve.
    const idle = (this.#closing ??=
      this.#active.size === 0 ? Promise.resolve() : new Promise<void>((r) => (this.#idle = r)));
    if (!callback) return idle;
    void idle.then(callback);
  }

  /**
   * Refuses new dispatches, fails this dispatcher's calls with `error` (or, when null, an error saying it was
   * destroyed), answers whose bodies are still streaming included, and calls `callback` once they have settled. The
   * dispatcher underneath stays open.
   */
  override destroy(error: Error | null, callback: () => void): void;
  /** As `destroy(null, callback)`. */
  override destroy(callback: () => void): void;
  /** As `destroy(error, callback)`, resolving instead of calling back. */
  override destroy(error?: Error | null): Promise<void>;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const callback = typeof a === 'function' ? a : b;
    const reason = (typeof a === 'function' ? null : a) ?? new errors.ClientDestroyedError();
    this.#closed ??= reason;
    for (const abort of this.#active) abort(reason);
    if (!callback) return this.close();
    this.close(callback);
  }
}

/**
 * A dispatcher for `setGlobalDispatcher()` or a fetch's `dispatcher` option: see {@link RatewiseDispatcher}. Throws
 * `TypeError` for a `rw` that is not a ratewise client and for options it does not know.
 */
export function ratewiseDispatcher(rw: Ratewise, options?: RatewiseDispatcherOptions): RatewiseDispatcher {
  return new RatewiseDispatcher(rw, options);
}

/** The install in place, process-wide (every copy of ratewise sees the one global dispatcher). */
const INSTALLED = Symbol.for('ratewise.installed');

type InstallSlot = { [INSTALLED]?: object | undefined };

/**
 * Makes `rw` the global dispatcher, over the one in place: every `fetch` in the process (Node's own included) goes
 * through it; `rw.fetch`'s own attempts pass through it untouched. Throws `AlreadyInstalledError` while an earlier
 * install is in place. Returns the function that uninstalls: it puts the previous dispatcher back, unless the global
 * dispatcher was replaced since (then it leaves that one and warns); either way ratewise's dispatcher passes requests
 * through from then on. Throws `TypeError`, installing nothing, when `rw` is not a ratewise client.
 */
export function installRatewise(rw: Ratewise): () => void {
  // Checked before the install: a dispatcher over anything else would fail every fetch of the process.
  checkClient(rw, 'installRatewise()');
  const slot = globalThis as InstallSlot;
  if (slot[INSTALLED] !== undefined) throw new AlreadyInstalledError();
  const previous = getGlobalDispatcher();
  const dispatcher = new RatewiseDispatcher(rw, { dispatcher: previous });
  const install = {};
  setGlobalDispatcher(dispatcher);
  slot[INSTALLED] = install;
  let installed = true;
  return () => {
    if (!installed) return;
    installed = false;
    retire(dispatcher);
    if (slot[INSTALLED] === install) slot[INSTALLED] = undefined;
    if (getGlobalDispatcher() === dispatcher) {
      setGlobalDispatcher(previous);
    } else {
      console.warn(
        'ratewise: the global dispatcher was replaced after installRatewise(); uninstalling left the new one in ' +
          'place (if it still sends through ratewise, ratewise now passes its requests through)',
      );
    }
  };
}
