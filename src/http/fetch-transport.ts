// `fetch` as a transport: what `rw.fetch` sends each attempt with.
import type { Transport } from '../engine/send.js';
import { markScheduled } from './scheduled.js';
import { holdWhileStreaming, isEventStream } from './held-stream.js';
import type { Clock } from '../clock.js';
import { scrubUserinfo } from './redact.js';
import { formatValue } from '../errors.js';

/** What a fetch transport sends: the arguments of each attempt, fresh each time (see `PreparedRequest.attempt`). */
export interface Attempts {
  /** The URL the attempts go to, parsed. */
  readonly url: URL;
  attempt(): [RequestInfo | URL, RequestInit];
}

/**
 * `fetch` as a transport: the entry point of `rw.fetch`. `onHiddenThrottle` hears of a cross-origin 429 whose
 * rate-limit headers the browser hid (the server did not list them in `Access-Control-Expose-Headers`).
 * With `onOpaqueRedirect`, each attempt is sent with `redirect: 'manual'`, so that ratewise sees each redirect and
 * follows it itself; where fetch hides the redirect (a browser's opaque redirect), the attempt is sent again with
 * fetch following it, and `onOpaqueRedirect` is told.
 */
export function fetchTransport(
  fetch: typeof globalThis.fetch,
  request: Attempts,
  onHiddenThrottle: (response: Response) => void,
  onOpaqueRedirect?: () => void,
): Transport<Response> {
  return new FetchTransport(fetch, request, onHiddenThrottle, onOpaqueRedirect);
}

/** One per call: its steps are on the prototype, so that a call makes one object, not one closure per step. */
class FetchTransport implements Transport<Response> {
  constructor(
    private readonly fetch: typeof globalThis.fetch,
    private readonly request: Attempts,
    private readonly onHiddenThrottle: (response: Response) => void,
    private readonly onOpaqueRedirect: (() => void) | undefined,
  ) {}

  // Chained with `then` rather than written as an async method: every attempt of every call goes through here, and
  // an async frame costs several times what a reaction does.
  send(): Promise<Response> {
    try {
      const [input, init] = this.request.attempt();
      const manual = this.onOpaqueRedirect !== undefined;
      const sent = this.fetch(input, markScheduled(manual ? { ...init, redirect: 'manual' } : init));
      // Whatever a given fetch returns, as `await` would take it (a native promise is taken as it is).
      return Promise.resolve(sent).then((response) => this.#received(response));
    } catch (error) {
      // A fetch that throws rather than rejects: the attempt rejects, as it would from an async method.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return Promise.reject(error);
    }
  }

  /** An answer of fetch: sent again where fetch hid a redirect, and checked for rate-limit fields a browser hid. */
  #received(response: Response): Response | Promise<Response> {
    checkResponse(response);
    const { onOpaqueRedirect } = this;
    if (onOpaqueRedirect === undefined || response.type !== 'opaqueredirect') return this.#checked(response);
    onOpaqueRedirect();
    const [again, againInit] = this.request.attempt();
    const sent = this.fetch(again, markScheduled({ ...againInit, redirect: 'follow' }));
    return Promise.resolve(sent).then((final) => {
      checkResponse(final);
      return this.#checked(final);
    });
  }

  #checked(response: Response): Response {
    if (response.status === 429 && response.type === 'cors' && !hasTimingHeaders(response.headers)) {
      this.onHiddenThrottle(response);
    }
    return response;
  }

  status(response: Response): number {
    return response.status;
  }

  /** Node's fetch refuses `user:pass@host` URLs with an error naming the URL: events see it without the password. */
  safeError(error: unknown): unknown {
    scrubUserinfo(error, this.request.url);
    return error;
  }

  headers(response: Response): Headers {
    return response.headers;
  }

  holdWhileStreaming(
    response: Response,
    release: (bodyText: string | undefined) => void,
    idleMs: number,
    clock: Clock,
    collect: boolean,
  ): Response | undefined {
    return isEventStream(response) ? holdWhileStreaming(response, release, idleMs, clock, collect) : undefined;
  }

  discard(response: Response): void {
    response.body?.cancel().catch(() => undefined);
  }

  async bodyText(response: Response, maxBytes: number, signal: AbortSignal): Promise<string | undefined> {
    const length = response.headers.get('content-length');
    if (length !== null && !(Number(length) <= maxBytes)) return undefined;
    if (response.body === null || response.bodyUsed) return undefined;
    // A copy: the caller's body stays whole. Only up to `maxBytes` of it is read, then the copy is let go.
    const reader = response.clone().body!.getReader();
    const stop = (): void => {
      reader.cancel().catch(() => undefined);
    };
    signal.addEventListener('abort', stop, { once: true });
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (signal.aborted) return undefined;
        total += value.byteLength;
        if (total > maxBytes) return undefined;
        chunks.push(value);
      }
    } catch {
      return undefined;
    } finally {
      signal.removeEventListener('abort', stop);
      if (total > maxBytes || signal.aborted) stop();
    }
    if (signal.aborted) return undefined;
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
    return new TextDecoder().decode(bytes);
  }
}

/** Whether any retry or quota field survived CORS filtering (a browser shows only the exposed ones). */
function hasTimingHeaders(headers: Headers): boolean {
  for (const name of ['retry-after', 'ratelimit', 'ratelimit-reset', 'x-ratelimit-reset', 'x-ratelimit-remaining']) {
    if (headers.has(name)) return true;
  }
  return false;
}

/**
 * Fails the attempt when a `fetch` of the user's (a hand-written test double, say) resolves to something that is not
 * a Response, with an error that says so: its status and headers are read next, and would fail with a property read
 * of `undefined`. (Either way the attempt's slot goes back: see `CallRun.free`.)
 */
function checkResponse(response: unknown): void {
  const r = response as { status?: unknown; headers?: { get?: unknown } } | null | undefined;
  if (typeof r?.status !== 'number' || typeof r.headers?.get !== 'function') {
    throw new TypeError(`Expected \`fetch\` to resolve to a Response, got ${formatValue(response)}`);
  }
}
