/**
 * axios through ratewise: {@link withRatewise} makes an axios instance's requests go through a ratewise client, below
 * its interceptors. axios is an optional peer dependency.
 * @module ratewise/axios
 */
// `ratewise/axios`: an axios instance whose adapter runs every request through a ratewise client. The wrapper sits
// where axios calls its adapter, below the user's interceptors and transforms: those run once per logical request,
// while budgets, pacing, pauses and retries act on each attempt, and each attempt is a real call of the adapter.
import {
  AxiosError,
  AxiosHeaders,
  CanceledError,
  getAdapter,
  isAxiosError,
  isCancel,
  type AxiosAdapter,
  type AxiosInstance,
  type AxiosRequestConfig,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import {
  BODY_HEADERS,
  carryRatewiseError,
  checkRequestOptions,
  CREDENTIAL_HEADERS,
  inBrowser,
  nextHop as hopOf,
  randomKey,
  type RedirectHop,
} from '../http/seam.js';
import { isRatewiseError, type Ratewise, type RatewiseError, type RequestOptions, type Transport } from '../index.js';
import { checkClient } from './checks.js';

declare module 'axios' {
  interface AxiosRequestConfig {
    /** ratewise's per-request options: `priority`, `cost`, `key`, `maxWait`, `retry`, `idempotencyKey`. */
    ratewise?: RequestOptions | undefined;
  }
}

type AdapterChoice = AxiosRequestConfig['adapter'];

/** axios's own default: the first adapter the environment supports. */
const DEFAULT_ADAPTERS: AdapterChoice = ['xhr', 'http', 'fetch'];

/** Marks a ratewise adapter with what it wraps, so that wrapping again replaces rather than nests. */
const WRAPPED = Symbol.for('ratewise.axios.wrapped');

interface Wrapping {
  readonly instance: AxiosInstance;
  readonly rw: Ratewise;
  /** The adapter choice underneath, resolved at request time; undefined for axios's default. */
  readonly inner: AdapterChoice;
}

type Wrapped = AxiosAdapter & { readonly [WRAPPED]: Wrapping };

function wrappingOf(choice: AdapterChoice): Wrapping | undefined {
  return typeof choice === 'function' && WRAPPED in choice ? (choice as Wrapped)[WRAPPED] : undefined;
}

function ratewiseAdapter(wrapping: Wrapping): Wrapped {
  const adapter = (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => throttled(wrapping, config);
  return Object.defineProperty(adapter, WRAPPED, { value: wrapping }) as Wrapped;
}

/**
 * Throttles `instance` (an `axios.create()` instance or the default `axios`) through `rw`: its adapter (the one in
 * `instance.defaults.adapter`, else axios's default, resolved at request time) is wrapped, so that every request
 * waits for its budget and is retried by ratewise. Statuses are judged by your `validateStatus` once ratewise is
 * done. Per-request options go in the config's `ratewise` field. Returns `instance`. Throws `TypeError`, wrapping
 * nothing, when `rw` is not a ratewise client.
 */
export function withRatewise<I extends AxiosInstance>(instance: I, rw: Ratewise): I {
  checkClient(rw, 'withRatewise()');
  const current = instance.defaults.adapter;
  const previous = wrappingOf(current);
  instance.defaults.adapter = ratewiseAdapter({ instance, rw, inner: previous ? previous.inner : current });
  if (previous?.instance !== instance) {
    // A request's own `adapter` would replace the wrapper: wrap it too, with the client wrapped last. Registered
    // once, so it runs after the interceptors added later (axios runs request interceptors last-added first).
    instance.interceptors.request.use(
      (config) => {
        const wrapping = wrappingOf(instance.defaults.adapter);
        if (wrapping && config.adapter !== undefined && !wrappingOf(config.adapter)) {
          config.adapter = ratewiseAdapter({ ...wrapping, inner: config.adapter });
        }
        return config;
      },
      undefined,
      { synchronous: true },
    );
  }
  return instance;
}

/**
 * An AxiosError carries its config (the request's headers: `Authorization`, cookies) and its request: events and
 * ratewise's errors get a plain copy with the name, message and code only.
 */
function safeError(error: unknown): unknown {
  if (!isAxiosError(error)) return error;
  const copy = new Error(error.message);
  copy.name = error.name;
  return error.code === undefined ? copy : Object.assign(copy, { code: error.code });
}

/** How many redirects axios follows when `maxRedirects` is not set (follow-redirects' default). */
const DEFAULT_MAX_REDIRECTS = 21;

async function throttled(
  { instance, rw, inner }: Wrapping,
  config: InternalAxiosRequestConfig,
): Promise<AxiosResponse> {
  const send = getAdapter(inner ?? DEFAULT_ADAPTERS, config);
  // Checked once, here, and only the checked copy read from then on (by rw.request too): the header and the engine
  // see the same options, whatever a getter of the caller's object would answer next.
  const given = config.ratewise;
  let ratewise = given === undefined ? undefined : checkRequestOptions(given);
  const idempotencyKey = ratewise?.idempotencyKey;
  // Set on the config itself: every attempt sends the same key.
  if (idempotencyKey !== undefined && idempotencyKey !== false && !config.headers.has('idempotency-key')) {
    config.headers.set('Idempotency-Key', idempotencyKey === true ? randomKey() : idempotencyKey);
  }
  // In Node, redirects are followed here, hop by hop, so that each hop goes through the budget of its own host. A
  // browser follows them itself (XHR does not show them), and the first host pays.
  const maxRedirects = config.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const followHere = maxRedirects > 0 && !inBrowser();
  const abort = abortOf(config);
  try {
    let hopConfig = config;
    let url = absoluteUrl(instance.getUri(config));
    // The call's hops, as one: its maxWait bounds them all.
    const chain = {};
    for (let hops = 0; ; hops++) {
      const response = await sendHop(rw, send, config, hopConfig, url, ratewise, abort?.signal, followHere, chain);
      let hop: RedirectHop | undefined;
      try {
        hop = followHere ? nextHop(url, hopConfig, response) : undefined;
        if (hop !== undefined && hops === maxRedirects) {
          throw new AxiosError('Maximum number of redirects exceeded', 'ERR_FR_TOO_MANY_REDIRECTS', config);
        }
        if (hop !== undefined) {
          const next = redirected(hopConfig, hop);
          discard(response);
          hopConfig = next;
        }
      } catch (error) {
        discard(response);
        throw error;
      }
      if (hop === undefined) return judged(response, config);
      url = hop.url;
      // The caller's `key` names the budget of the call they made, not of wherever it is redirected.
      if (ratewise?.key !== undefined) {
        const rest: { -readonly [K in keyof RequestOptions]: RequestOptions[K] } = { ...ratewise };
        delete rest.key;
        ratewise = rest;
      }
    }
  } finally {
    abort?.dispose();
  }
}

/** The hop `response` redirects to, as fetch would decide it; undefined when it is the final response. */
function nextHop(url: URL, config: InternalAxiosRequestConfig, response: AxiosResponse): RedirectHop | undefined {
  const location: unknown = AxiosHeaders.from(response.headers as AxiosHeaders).get('location');
  try {
    return hopOf(
      (config.method ?? 'get').toUpperCase(),
      url,
      response.status,
      typeof location === 'string' ? location : null,
    );
  } catch (error) {
    throw new AxiosError((error as Error).message, 'ERR_FR_REDIRECTION_FAILURE', config, response.request, response);
  }
}

/** The config of the request a redirect leads to: fetch's rules for the method, the body and credentials. */
function redirected(from: InternalAxiosRequestConfig, hop: RedirectHop): InternalAxiosRequestConfig {
  const headers = AxiosHeaders.concat(from.headers);
  let data: unknown = from.data;
  if (hop.keepBody) {
    if (!isReplayable(data)) {
      throw new AxiosError(
        `${(from.method ?? 'get').toUpperCase()} was redirected with a status that keeps the body, but the body is a stream, which cannot be sent again`,
        'ERR_FR_REDIRECTION_FAILURE',
        from,
      );
    }
  } else {
    data = undefined;
    // The adapter wrote the body's length into the config's headers: without the body, the server would wait for it.
    for (const name of [...BODY_HEADERS, 'content-length']) headers.delete(name);
  }
  // The hop's URL is absolute and carries the query already.
  const next: InternalAxiosRequestConfig = {
    ...from,
    url: hop.url.href,
    method: hop.method.toLowerCase(),
    headers,
    data,
  };
  delete next.baseURL;
  delete next.params;
  if (hop.crossOrigin) {
    for (const name of CREDENTIAL_HEADERS) headers.delete(name);
    delete next.auth;
  }
  return next;
}

/** One request of a redirect chain (or the only one) through `rw`, with its attempts and retries. */
async function sendHop(
  rw: Ratewise,
  send: AxiosAdapter,
  config: InternalAxiosRequestConfig,
  hopConfig: InternalAxiosRequestConfig,
  url: URL,
  ratewise: RequestOptions | undefined,
  signal: AbortSignal | undefined,
  followHere: boolean,
  chain: object,
): Promise<AxiosResponse> {
  // Every status resolves, so that ratewise sees it; the caller's validateStatus is applied once it is done.
  const attemptConfig: InternalAxiosRequestConfig = { ...hopConfig, validateStatus: () => true };
  if (followHere) attemptConfig.maxRedirects = 0;
  /** The last attempt's response, for the `AxiosError` a ratewise error becomes; undefined after a network error. */
  let last: AxiosResponse | undefined;
  const transport: Transport<AxiosResponse> = {
    send: () =>
      send(attemptConfig).then(
        (response) => (last = response),
        (error: unknown) => {
          last = undefined;
          // The caller sees their own config, not the copy with every status valid.
          if (isAxiosError(error) && error.config === attemptConfig) error.config = config;
          throw error;
        },
      ),
    status: (response) => response.status,
    headers: (response) => headerRecord(response.headers),
    discard,
    safeError,
  };
  try {
    return await rw.request(
      {
        method: hopConfig.method ?? 'get',
        url,
        headers: headerRecord(hopConfig.headers),
        signal,
        replayable: isReplayable(hopConfig.data),
        hasIdempotencyKey: hopConfig.headers.has('idempotency-key'),
        // Transformed already: a JSON body is a string here.
        body: hopConfig.data,
        ratewise,
        chain,
      },
      transport,
    );
  } catch (error) {
    // Ended by the caller (while queued, paused, backing off or in flight): reject as axios would.
    if (signal?.aborted && error === signal.reason) {
      throw isCancel(error) ? error : new CanceledError(undefined, config);
    }
    if (isRatewiseError(error) && !isAxiosError(error)) throw asAxiosError(error, config, last);
    throw error;
  }
}

/** The final response as axios gives it: resolved, or rejected by the caller's `validateStatus`. */
function judged(response: AxiosResponse, config: InternalAxiosRequestConfig): AxiosResponse {
  response.config = config;
  const { validateStatus } = config;
  if (!response.status || !validateStatus || validateStatus(response.status)) return response;
  throw new AxiosError(
    `Request failed with status code ${response.status}`,
    response.status >= 400 && response.status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE,
    config,
    response.request,
    response,
  );
}

/**
 * A ratewise error as axios users expect a failed call: an `AxiosError` (so `axios.isAxiosError`, interceptors and
 * `error.response` work) with the ratewise code and fields, the ratewise error as `cause`, and the last response
 * when there was one. The ratewise error itself holds no config: its `Authorization` stays in the AxiosError's.
 */
function asAxiosError(
  error: RatewiseError,
  config: InternalAxiosRequestConfig,
  response: AxiosResponse | undefined,
): AxiosError {
  if (response) response.config = config;
  return carryRatewiseError(new AxiosError(error.message, error.code, config, response?.request, response), error);
}

/** The caller's `signal` and `CancelToken` as one AbortSignal for ratewise's waits; undefined when neither is set. */
function abortOf(config: InternalAxiosRequestConfig): { signal: AbortSignal; dispose: () => void } | undefined {
  const { signal, cancelToken } = config;
  if (cancelToken === undefined && signal instanceof AbortSignal) return { signal, dispose: () => undefined };
  if (cancelToken === undefined && signal === undefined) return undefined;
  const controller = new AbortController();
  // axios's GenericAbortSignal has no `reason`: a real AbortSignal's is kept.
  const onAbort = (): void => {
    controller.abort(signal instanceof AbortSignal ? signal.reason : undefined);
  };
  const onCancel = (cancel: unknown): void => {
    controller.abort(cancel);
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener?.('abort', onAbort);
  if (cancelToken?.reason) onCancel(cancelToken.reason);
  else cancelToken?.subscribe(onCancel);
  return {
    signal: controller.signal,
    dispose() {
      signal?.removeEventListener?.('abort', onAbort);
      cancelToken?.unsubscribe(onCancel);
    },
  };
}

/** A response not returned: a stream body is destroyed so its connection is freed; a read body needs nothing. */
function discard(response: AxiosResponse): void {
  const data: unknown = response.data;
  if (typeof data !== 'object' || data === null) return;
  const body = data as { destroy?: unknown; cancel?: unknown };
  if (typeof body.destroy === 'function') (body as { destroy(): void }).destroy();
  else if (typeof ReadableStream !== 'undefined' && data instanceof ReadableStream)
    data.cancel().catch(() => undefined);
}

/** Whether the transformed body can be sent again: a Node stream or a web stream is read once. */
function isReplayable(data: unknown): boolean {
  if (typeof data !== 'object' || data === null) return true;
  if (typeof (data as { pipe?: unknown }).pipe === 'function') return false;
  if (typeof ReadableStream !== 'undefined' && data instanceof ReadableStream) return false;
  return !(Symbol.asyncIterator in data);
}

/** Header fields as a record (repeated fields joined), whatever shape an adapter or the config gave them in. */
function headerRecord(headers: AxiosResponse['headers'] | undefined): Record<string, string> {
  return AxiosHeaders.from(headers as AxiosHeaders | undefined).toJSON(true);
}

/** `getUri` gives a path when there is no `baseURL`: a browser resolves it against the page. */
function absoluteUrl(uri: string): URL {
  return new URL(uri, (globalThis as { location?: { href: string } }).location?.href);
}
