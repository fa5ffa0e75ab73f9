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
 * Whether a query, fragment or path parameter named `rawName` (as written in the URL, still encoded) is a secret.
 * `known`: names already judged no secret, which are recognised in the URL's text without cutting them out of it.
 */
interface Judge {
  (rawName: string): boolean;
  readonly known?: readonly string[];
}

const judgeRaw: Judge = (rawName) => isSecretParam(decodeName(rawName));

/** Names judged no secret a {@link createUrlRedactor} recognises in place (a client's calls use a few, again and again). */
const MAX_KNOWN = 8;

/** Parameter names a {@link createUrlRedactor} remembers its verdict on; past it, it starts afresh. */
const MAX_VERDICTS = 512;

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
  // A URL object is parsed already (and normalised: its parts are what parsing its href again would give).
  if (url instanceof URL) parsed = url;
  else {
    try {
      parsed = new URL(typeof url === 'string' ? url : (url as URL).href);
    } catch {
      return INVALID_URL;
    }
  }
  return redactParsed(parsed, judgeRaw);
}

/**
 * `redactUrl` for one client's requests, whose URLs are parsed already: it remembers its verdict on each parameter
 * name, since a client meets the same few names on every call.
 */
export function createUrlRedactor(): (url: URL) => string {
  const verdicts = new Map<string, boolean>();
  const known: string[] = [];
  let next = 0;
  const judge = (rawName: string): boolean => {
    let secret = verdicts.get(rawName);
    if (secret === undefined) {
      secret = judgeRaw(rawName);
      if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
      verdicts.set(rawName, secret);
    }
    if (!secret && !known.includes(rawName)) {
      // The latest names take the place of the oldest.
      known[next] = rawName;
      next = (next + 1) % MAX_KNOWN;
    }
    return secret;
  };
  const judged: Judge = Object.assign(judge, { known });
  return (url) => redactParsed(url, judged);
}

function redactParsed(parsed: URL, judge: Judge): string {
  const { href } = parsed;
  const from = href.startsWith('https://') ? 8 : href.startsWith('http://') ? 7 : 0;
  return from > 0 && unchangedHttp(href, from, judge) ? href : redactParts(parsed, judge);
}

/**
 * Whether a http(s) URL's `href` redacts to itself: no userinfo, no empty `?` or `#`, no path parameter and no
 * secret parameter. Read from the text alone (each part a `URL` hands over is a new string): as `URL` writes a
 * http(s) URL, no `/` comes before its path but those of `//`, a `?` before its `#` starts the query, and the first
 * `#` starts the fragment.
 */
function unchangedHttp(href: string, from: number, judge: Judge): boolean {
  const pathStart = href.indexOf('/', from);
  const at = href.indexOf('@', from);
  if (pathStart === -1 || (at !== -1 && at < pathStart)) return false;
  const hashStart = href.indexOf('#', pathStart);
  const queryEnd = hashStart === -1 ? href.length : hashStart;
  const mark = href.indexOf('?', pathStart);
  const queryStart = mark !== -1 && mark < queryEnd ? mark : queryEnd;
  const semicolon = href.indexOf(';', pathStart);
  if (semicolon !== -1 && semicolon < queryStart) return false;
  if (queryStart < queryEnd && (queryStart + 1 === queryEnd || hasSecretParam(href, queryStart + 1, queryEnd, judge)))
    return false;
  if (hashStart === -1) return true;
  return hashStart + 1 < href.length && !hasSecretParam(href, hashStart + 1, href.length, judge);
}

function redactParts(parsed: URL, judge: Judge): string {
  // An opaque path (`mailto:x`, or `user:pass@host` read as scheme `user:`) may hold anything: show none of it.
  const { host, pathname, search, hash, protocol, href } = parsed;
  if (host === '' && !pathname.startsWith('/')) return INVALID_URL;
  const rawQuery = search.slice(1);
  const query = rawQuery === '' ? '' : redactParams(rawQuery, judge);
  const rawFragment = hash.slice(1);
  const fragment = rawFragment === '' ? '' : redactParams(rawFragment, judge);
  const path = pathname.includes(';') ? redactPathParams(pathname, judge) : pathname;
  // Nothing removed and nothing replaced: the URL's own `href`, when it is that same text (it is not with userinfo,
  // an empty `?` or `#`, or no `//`), rather than a copy of it.
  if (
    query === rawQuery &&
    fragment === rawFragment &&
    path === pathname &&
    parsed.username === '' &&
    parsed.password === '' &&
    href.length === protocol.length + 2 + host.length + pathname.length + search.length + hash.length
  ) {
    return href;
  }
  return `${protocol}//${host}${path}${search === '' ? '' : `?${query}`}${hash === '' ? '' : `#${fragment}`}`;
}

/** `;name=value` parameters of each path segment, judged by name as query parameters are. */
function redactPathParams(pathname: string, judge: Judge): string {
  return pathname
    .split('/')
    .map((segment) => {
      const [head = '', ...params] = segment.split(';');
      return params.length === 0 ? segment : [head, ...params.map((pair) => redactPair(pair, judge))].join(';');
    })
    .join('/');
}

function redactParams(query: string, judge: Judge): string {
  // Most queries hold no secret: judged pair by pair in place, and split and joined again only when one does.
  if (!hasSecretParam(query, 0, query.length, judge)) return query;
  return query
    .split('&')
    .map((each) => redactPair(each, judge))
    .join('&');
}

/** Whether a `name=value` pair of the `&`-separated parameters of `text` from `from` to `to` has a secret name. */
function hasSecretParam(text: string, from: number, to: number, judge: Judge): boolean {
  let eq = -1;
  for (let start = from; start < to;) {
    let amp = text.indexOf('&', start);
    if (amp === -1 || amp > to) amp = to;
    if (eq < start) {
      // The next `=` once for all the pairs without one before it.
      eq = text.indexOf('=', start);
      if (eq === -1 || eq >= to) return false;
    }
    if (eq < amp && !isKnown(text, start, eq, judge.known) && judge(text.slice(start, eq))) return true;
    start = amp + 1;
  }
  return false;
}

/** Whether `text` from `start` to `end` is one of the names `known` to be no secret. */
function isKnown(text: string, start: number, end: number, known: readonly string[] | undefined): boolean {
  if (known === undefined) return false;
  for (const name of known) if (name.length === end - start && text.startsWith(name, start)) return true;
  return false;
}

function redactPair(pair: string, judge: Judge): string {
  const eq = pair.indexOf('=');
  if (eq === -1) return pair;
  const name = pair.slice(0, eq);
  return judge(name) ? `${name}=${REDACTED}` : pair;
}

function decodeName(name: string): string {
  // Nothing to decode: the name as it is (the common case, without the cost of a failed decode's exception path).
  if (!name.includes('%') && !name.includes('+')) return name;
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
