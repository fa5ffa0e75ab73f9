// Which thrown errors are network failures worth retrying, across fetch implementations and HTTP clients.

/** System and library codes of a connection that failed or broke: the request may not have reached the server. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ERR_NETWORK', // axios in browsers (XMLHttpRequest onerror)
]);

/** Messages of the `TypeError` a browser fetch (or polyfill) rejects with when the network fails. */
const BROWSER_MESSAGES: ReadonlySet<string> = new Set([
  'Failed to fetch', // Chromium
  'network error', // Chromium, body read
  'NetworkError when attempting to fetch resource.', // Firefox
  'The Internet connection appears to be offline.', // Safari 16
  'Load failed', // Safari 17+
  'Network request failed', // whatwg-fetch, cross-fetch, React Native
]);

/** Messages of undici's `TypeError`, whose `cause` says what happened (`'bad port'` and the like are not network). */
const UNDICI_MESSAGES: ReadonlySet<string> = new Set(['fetch failed', 'terminated']);

/**
 * Whether `error` is a network failure worth retrying: undici's `TypeError('fetch failed')` (or `'terminated'`) whose
 * `cause` chain carries a connection code (`ECONNRESET`, `ENOTFOUND`, `UND_ERR_SOCKET`, …), a browser fetch's
 * `TypeError` (`'Failed to fetch'`, …), or any error (axios, got, node:http) whose own `code` is such a code.
 * Never an abort or timeout `DOMException`, an axios cancel or timeout (`ERR_CANCELED`, `ECONNABORTED`), an error
 * carrying an HTTP response, or a programming error.
 */
export function isNetworkError(error: unknown): boolean {
  if (!isObject(error)) return false;
  const { name, message } = error;
  if (name === 'AbortError' || name === 'TimeoutError' || isObject(error.response)) return false;
  if (name === 'TypeError' && typeof message === 'string') {
    if (UNDICI_MESSAGES.has(message)) return error.cause === undefined || hasNetworkCode(error.cause, 0);
    // Safari's message is generic enough to be a programming error too; its network errors have no stack.
    if (message === 'Load failed') return error.stack === undefined;
    if (BROWSER_MESSAGES.has(message)) return true;
  }
  return typeof error.code === 'string' && NETWORK_CODES.has(error.code);
}

/** Looks for a network code in `error`, its `cause` chain and `AggregateError.errors` (Happy Eyeballs), bounded. */
function hasNetworkCode(error: unknown, depth: number): boolean {
  if (!isObject(error) || depth > 4) return false;
  if (typeof error.code === 'string' && NETWORK_CODES.has(error.code)) return true;
  if (Array.isArray(error.errors) && error.errors.some((inner) => hasNetworkCode(inner, depth + 1))) return true;
  return hasNetworkCode(error.cause, depth + 1);
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null;
}
