// Turns a fetch call's arguments into what the engine needs: method, URL, budget host, whether it may be retried,
// and a way to send it again. No policy here.
import type { RequestOptions } from '../options.js';
import { randomKey } from '../random-key.js';
import { BODY_HEADERS, CREDENTIAL_HEADERS, nextHop } from './redirect.js';

/** A fetch init that may carry ratewise's per-request options. */
export type RatewiseRequestInit = RequestInit & {
  /** This request's options: budget key, priority, cost, `maxWait`, retries, idempotency key. */
  readonly ratewise?: RequestOptions;
};

export interface PreparedRequest {
  readonly method: string;
  readonly url: URL;
  /** Whether the body can be sent again (no one-shot stream). */
  readonly replayable: boolean;
  /** Whether the request carries an `Idempotency-Key`. */
  readonly hasIdempotencyKey: boolean;
  /** The body as given: the init's, else the `Request`'s (a stream); null without one. */
  readonly body: unknown;
  /** The arguments of one attempt: a fresh copy each time when the body must be copied to be re-sent. */
  attempt(): [RequestInfo | URL, RequestInit];
  /** The request's header fields (a copy). */
  headers(): Headers;
  /**
   * The request a response with `status` and `location` redirects to, as fetch would make it; undefined when fetch
   * would return the response as it is. Throws fetch's `TypeError` for a redirect fetch would refuse to follow.
   */
  redirect(status: number, location: string | null): PreparedRequest | undefined;
}

/** How a body is produced again for each attempt: a fresh `Request` clone's stream, or the init's own value. */
type BodySource = (() => BodyInit | null) | undefined;

function isReplayableBody(body: unknown): boolean {
  if (body === null || body === undefined || typeof body === 'string') return true;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body) || body instanceof URLSearchParams) return true;
  if (typeof Blob !== 'undefined' && body instanceof Blob) return true;
  if (typeof FormData !== 'undefined' && body instanceof FormData) return true;
  return false; // a ReadableStream or an async iterable is read once
}

/**
 * Reads `input` and `init` like fetch would. Throws fetch's own `TypeError` for a URL fetch would refuse.
 * `idempotencyKey` adds an `Idempotency-Key` header (kept across attempts) unless one is there.
 */
export function prepareRequest(
  input: RequestInfo | URL,
  init: RequestInit,
  idempotencyKey: boolean | string | undefined,
): PreparedRequest {
  const request = typeof Request !== 'undefined' && input instanceof Request ? input : undefined;
  // fetch converts any other input to a string (WebIDL USVString), and so do we.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  const url = new URL(request ? request.url : input instanceof URL ? input.href : String(input));
  // As fetch reads it: any value given (a null, an object with a toString) converted to a string (WebIDL ByteString).
  const given: unknown = init.method !== undefined ? init.method : (request?.method ?? 'GET');
  const method = String(given).toUpperCase();
  let headers: Headers | undefined;
  const headerSource = init.headers ?? request?.headers;
  let hasIdempotencyKey = false;
  if (headerSource !== undefined) {
    headers = new Headers(headerSource);
    hasIdempotencyKey = headers.has('idempotency-key');
  }
  let attemptInit = init;
  if (idempotencyKey !== undefined && idempotencyKey !== false && !hasIdempotencyKey) {
    headers ??= new Headers();
    headers.set('idempotency-key', idempotencyKey === true ? randomKey() : idempotencyKey);
    hasIdempotencyKey = true;
    attemptInit = { ...init, headers };
  }
  const hasRequestBody = request?.body != null && init.body === undefined;
  const replayable = hasRequestBody ? !request.bodyUsed : isReplayableBody(init.body);
  // A Request's body is a stream: keep an unread copy and send a clone of it each time.
  const pristine = hasRequestBody && replayable ? request.clone() : undefined;
  return new FirstRequest(
    method,
    url,
    replayable,
    hasIdempotencyKey,
    hasRequestBody ? request.body : (init.body ?? null),
    input,
    init,
    attemptInit,
    request,
    headers ?? headerSource,
    pristine,
    !hasRequestBody && replayable,
  );
}

/** The request of a fetch call as it was made (one object, its steps on the prototype: one is made per call). */
class FirstRequest implements PreparedRequest {
  constructor(
    readonly method: string,
    readonly url: URL,
    readonly replayable: boolean,
    readonly hasIdempotencyKey: boolean,
    readonly body: unknown,
    private readonly input: RequestInfo | URL,
    private readonly init: RequestInit,
    /** `init`, with the `Idempotency-Key` ratewise added when it did. */
    private readonly attemptInit: RequestInit,
    /** The `Request` passed as `input`, when one was. */
    private readonly request: Request | undefined,
    private readonly headerFields: HeadersInit | undefined,
    /** An unread copy of a `Request`'s body, cloned for each attempt. */
    private readonly pristine: Request | undefined,
    /** Whether `init.body` is sent again as it is. */
    private readonly initBodyReplays: boolean,
  ) {}

  attempt(): [RequestInfo | URL, RequestInit] {
    const { pristine } = this;
    return [pristine ? pristine.clone() : this.input, this.attemptInit];
  }

  headers(): Headers {
    return new Headers(this.headerFields);
  }

  redirect(status: number, location: string | null): PreparedRequest | undefined {
    const { pristine, init } = this;
    let bodySource: BodySource;
    if (pristine) bodySource = () => pristine.clone().body;
    else if (this.initBodyReplays) bodySource = () => init.body ?? null;
    return redirectOf(this, baseOfHops(init, this.request), bodySource, status, location);
  }
}

/** What every later hop keeps of the first request: its init, and a `Request`'s signal. Made only for a redirect. */
function baseOfHops(init: RequestInit, request: Request | undefined): RequestInit {
  const rest: RequestInit = { ...init };
  delete rest.method;
  delete rest.headers;
  delete rest.body;
  return request && rest.signal === undefined ? { ...rest, signal: request.signal } : rest;
}

function redirectOf(
  from: PreparedRequest,
  base: RequestInit,
  bodySource: BodySource,
  status: number,
  location: string | null,
): PreparedRequest | undefined {
  const hop = nextHop(from.method, from.url, status, location);
  if (hop === undefined) return undefined;
  const headers = from.headers();
  let source: BodySource = undefined;
  let body: unknown = null;
  if (hop.keepBody && from.body !== null) {
    // Fetch cannot send a one-shot stream again either: a 307 or 308 after one is a network error.
    if (bodySource === undefined) {
      throw new TypeError(
        `${from.method} ${from.url.origin} answered ${status}: the request body is a stream, which cannot be sent again`,
      );
    }
    source = bodySource;
    body = from.body;
  } else {
    for (const name of BODY_HEADERS) headers.delete(name);
  }
  if (hop.crossOrigin) for (const name of CREDENTIAL_HEADERS) headers.delete(name);
  const stream = source !== undefined && typeof ReadableStream !== 'undefined' && from.body instanceof ReadableStream;
  // Node's fetch wants `duplex: 'half'` with a stream body (not in the DOM typings).
  const hopBase: RequestInit = stream ? ({ ...base, duplex: 'half' } as RequestInit) : base;
  const prepared: PreparedRequest = {
    method: hop.method,
    url: hop.url,
    replayable: true,
    hasIdempotencyKey: headers.has('idempotency-key'),
    body,
    attempt() {
      const init: RequestInit = { ...hopBase, method: hop.method, headers };
      if (source !== undefined) init.body = source();
      return [hop.url.href, init];
    },
    headers: () => new Headers(headers),
    redirect(nextStatus, nextLocation) {
      return redirectOf(prepared, hopBase, source, nextStatus, nextLocation);
    },
  };
  return prepared;
}

/**
 * The budget key of a URL when no other is given: its origin, without the trailing dot of a fully qualified name
 * (`api.example.com.` is the same server as `api.example.com`: one budget, not two).
 */
export function originOf(url: URL): string {
  if (url.hostname.endsWith('.')) {
    return `${url.protocol}//${url.hostname.slice(0, -1)}${url.port === '' ? '' : `:${url.port}`}`;
  }
  return url.origin === 'null' ? `${url.protocol}//${url.host}` : url.origin;
}
