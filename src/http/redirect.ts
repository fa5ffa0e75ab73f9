// Where a redirect leads, as fetch decides it (the Fetch standard's "HTTP-redirect fetch"): pure, no I/O. `rw.fetch`
// follows redirects itself so that each hop is paced, counted and informed by its own host's budget.

/** Most redirects one call follows, as fetch does. */
export const MAX_REDIRECTS = 20;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Fields that describe a request body: dropped with the body when a redirect turns the request into a GET. */
export const BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type'] as const;

/** Credentials a redirect to another origin must not carry there. */
export const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'] as const;

/** Whether fetch follows a response of this status (when it has a `Location`). */
export function isRedirectStatus(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

/** The next request of a redirect chain. */
export interface RedirectHop {
  readonly method: string;
  readonly url: URL;
  /** Whether the body goes along (307 and 308 keep method and body). */
  readonly keepBody: boolean;
  /** Whether the hop leaves the origin of the request it follows (credentials stay behind). */
  readonly crossOrigin: boolean;
}

/**
 * The hop a response leads to, or undefined when fetch would return the response as it is (not a redirect status,
 * or no `Location`). Throws fetch's `TypeError` for a location that is not a http(s) URL.
 */
export function nextHop(method: string, url: URL, status: number, location: string | null): RedirectHop | undefined {
  if (!REDIRECT_STATUSES.has(status) || location === null) return undefined;
  if (!URL.canParse(location, url)) {
    throw new TypeError(`the redirect from ${url.origin} has an invalid Location`);
  }
  const next = new URL(location, url);
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new TypeError(`a redirect from ${url.origin} leads to a ${next.protocol} URL, which fetch does not follow`);
  }
  // The fragment of the original URL carries over when the location has none.
  if (next.hash === '' && url.hash !== '') next.hash = url.hash;
  const toGet =
    status === 303 ? method !== 'GET' && method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST';
  return {
    method: toGet ? 'GET' : method,
    url: next,
    keepBody: !toGet,
    crossOrigin: next.origin !== url.origin,
  };
}

/**
 * A browser page or worker: there a script does not see the hops of a redirect (a `redirect: 'manual'` fetch gets
 * an opaque response, XHR follows on its own), so the browser follows them and the first host pays.
 */
export function inBrowser(): boolean {
  const scope = globalThis as { document?: unknown; importScripts?: unknown };
  return typeof scope.document === 'object' || typeof scope.importScripts === 'function';
}
