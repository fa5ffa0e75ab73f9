/** What {@link redactUrl} puts in place of a secret value. */
export const REDACTED = '[REDACTED]';

/** What {@link redactUrl} returns for input it cannot read as a URL. */
export const INVALID_URL = '[invalid URL]';

// Compared after lower-casing and dropping `-`, `_` and `.`, so `api_key`, `api-key` and `apiKey` are one name.
const SECRET_NAMES: ReadonlySet<string> = new Set([
  'key',
  'sig',
  'code',
  'auth',
  'authorization',
  'session',
  'pass',
  'pwd',
  'jwt',
  'otp',
  'phpsessid',
  'sid',
]);
const SECRET_PARTS: readonly string[] = [
  'token',
  'secret',
  'password',
  'passwd',
  'signature',
  'apikey',
  'credential',
  'accesskey',
  'privatekey',
  'subscriptionkey',
  'sessionid',
];

/** Whether a query parameter of this name carries a secret (matched case-insensitively, ignoring `-`, `_`, `.`). */
export function isSecretParam(name: string): boolean {
  const normalised = name.toLowerCase().replace(/[-_.]/g, '');
  return SECRET_NAMES.has(normalised) || SECRET_PARTS.some((part) => normalised.includes(part));
}

/**
 * A URL that is safe to put in an error message or a log line: userinfo (`user:pass@`) removed, and the values of
 * secret-looking query parameters, fragment parameters (where OAuth puts tokens) and path parameters (Java
 * servlets' `/cart;jsessionid=…`) replaced with `[REDACTED]`. Parameter order and encoding are kept, and the result
 * redacts to itself. Input that is not an absolute URL with a host or path (a relative URL, an opaque `scheme:`
 * string, garbage) becomes `[invalid URL]`. Never throws.
 *
 * Secrets that are path segments themselves (a bot token in the path, a webhook id) cannot be recognised and are
 * kept.
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(typeof url === 'string' ? url : url.href);
  } catch {
    return INVALID_URL;
  }
  // An opaque path (`mailto:x`, or `user:pass@host` read as scheme `user:`) may hold anything: show none of it.
  if (parsed.host === '' && !parsed.pathname.startsWith('/')) return INVALID_URL;
  const search = parsed.search === '' ? '' : `?${redactParams(parsed.search.slice(1))}`;
  const hash = parsed.hash === '' ? '' : `#${redactParams(parsed.hash.slice(1))}`;
  const path = parsed.pathname.includes(';') ? redactPathParams(parsed.pathname) : parsed.pathname;
  return `${parsed.protocol}//${parsed.host}${path}${search}${hash}`;
}

/** `;name=value` parameters of each path segment, judged by name as query parameters are. */
function redactPathParams(pathname: string): string {
  return pathname
    .split('/')
    .map((segment) => {
      const [head = '', ...params] = segment.split(';');
      return params.length === 0 ? segment : [head, ...params.map(redactPair)].join(';');
    })
    .join('/');
}

function redactParams(query: string): string {
  return query.split('&').map(redactPair).join('&');
}

function redactPair(pair: string): string {
  const eq = pair.indexOf('=');
  if (eq === -1) return pair;
  const name = pair.slice(0, eq);
  return isSecretParam(decodeName(name)) ? `${name}=${REDACTED}` : pair;
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/**
 * Removes a URL's userinfo from an error that quotes the URL (Node's fetch refuses `user:pass@host` URLs with a
 * TypeError naming the whole URL). The error keeps its identity, class and cause; only its text changes.
 */
export function scrubUserinfo(error: unknown, url: URL): void {
  if (url.username === '' && url.password === '') return;
  if (typeof error !== 'object' || error === null) return;
  const safe = redactUrl(url);
  const scrub = (text: unknown): unknown => {
    if (typeof text !== 'string') return text;
    let out = text.split(url.href).join(safe);
    if (url.password !== '') out = out.split(url.password).join(REDACTED);
    return out;
  };
  const target = error as { message?: unknown; stack?: unknown };
  try {
    if ('message' in target) target.message = scrub(target.message);
    if ('stack' in target) target.stack = scrub(target.stack);
  } catch {
    // A frozen error keeps its text: nothing more to do without replacing it.
  }
}
