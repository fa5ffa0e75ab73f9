// Budget patterns (`api.github.com`, `host:port`, `*.example.com`, `*`) and the budget keys matched against them.
// Both sides are normalised by the URL parser, as a request's host is: lower case, punycode, no trailing dot, and a
// port only where one is known (a URL key always knows its port: the scheme's default when none is written).

/** A host as patterns see it. */
export interface Address {
  /** Lower case, punycode, without a trailing dot; IPv6 in brackets. */
  readonly hostname: string;
  /** Decimal, without leading zeros; undefined when the key names no port (`jobs.internal`). */
  readonly port: string | undefined;
}

/** A valid pattern other than `*`. */
export interface HostPattern extends Address {
  /** `*.suffix`: `hostname` is the suffix, without its leading dot, and only subdomains of it match. */
  readonly wildcard: boolean;
}

/** The budgets by pattern, ready for matching. */
export interface PatternTable<T> {
  /** By `hostname` (any port) and `hostname:port`. */
  readonly exact: ReadonlyMap<string, T>;
  /** Longest suffix first; for the same suffix, the one with a port first. */
  readonly wildcards: readonly { readonly suffix: string; readonly port: string | undefined; readonly value: T }[];
  readonly fallback: T;
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };
// What the URL parser would read as something else than a host: a scheme, a path, a query, user info.
const NOT_A_HOST = /[/?#@\\\s]/;
const SCHEME = /^[a-z][a-z\d+.-]*:\/\//i;
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

/** Parses a pattern other than `*`: the normalised pattern, or why it is not one. */
export function parsePattern(pattern: string): HostPattern | string {
  if (SCHEME.test(pattern)) return 'a pattern is a host, without a scheme (`api.example.com`, not a URL)';
  const wildcard = pattern.startsWith('*.');
  const rest = wildcard ? pattern.slice(2) : pattern;
  if (rest.includes('*')) return '`*` stands alone or begins a pattern as `*.`';
  const host = parseHost(rest);
  if (typeof host === 'string') return host;
  if (wildcard && (host.hostname.startsWith('[') || IPV4.test(host.hostname))) {
    return 'a `*.` wildcard needs a domain name, not an IP address';
  }
  return { ...host, wildcard };
}

/**
 * The address of a budget key, for matching: an origin or URL key (`https://api.test`, `https://api.test#tenant`)
 * by its host and port; any other key as if it were a host (`jobs.internal`). Undefined when it names no host.
 */
export function addressOfKey(key: string): Address | undefined {
  if (!SCHEME.test(key)) {
    const host = parseHost(key);
    return typeof host === 'string' ? undefined : host;
  }
  if (!URL.canParse(key)) return undefined;
  const url = new URL(key);
  if (url.hostname === '') return undefined;
  return { hostname: withoutTrailingDot(url.hostname), port: url.port || DEFAULT_PORTS[url.protocol] };
}

/** `host` or `host:port`, normalised, or why it is not one. */
function parseHost(text: string): Address | string {
  if (text === '') return 'a pattern needs a host name';
  if (NOT_A_HOST.test(text)) return 'a pattern is a host, without a path, query, user info or spaces';
  const split = splitPort(text);
  if (typeof split === 'string') return split;
  const [name, portText] = split;
  if (name === '') return 'a pattern needs a host name';
  let port: string | undefined;
  if (portText !== undefined) {
    const n = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || n < 1 || n > 65_535) return 'a port is a number from 1 to 65535';
    port = String(n);
  }
  const parsed = URL.canParse(`http://${name}`) ? new URL(`http://${name}`).hostname : '';
  const hostname = withoutTrailingDot(parsed);
  if (hostname === '') return 'not a valid host name';
  if (!hostname.startsWith('[') && hostname.split('.').includes('')) return 'a host name has no empty label';
  return { hostname, port };
}

/** `[name, port]`; the port undefined when none is written. */
function splitPort(text: string): [string, string | undefined] | string {
  if (text.startsWith('[')) {
    const end = text.indexOf(']') + 1;
    if (end === 0) return 'an IPv6 address ends with `]`';
    const rest = text.slice(end);
    if (rest !== '' && !rest.startsWith(':')) return 'not a valid host name';
    return [text.slice(0, end), rest === '' ? undefined : rest.slice(1)];
  }
  const colon = text.indexOf(':');
  if (colon < 0) return [text, undefined];
  if (text.includes(':', colon + 1)) return 'an IPv6 address goes in brackets (`[::1]:8080`)';
  return [text.slice(0, colon), text.slice(colon + 1)];
}

function withoutTrailingDot(hostname: string): string {
  return hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
}

/** The text two patterns that mean the same share, for telling duplicates apart. */
export function patternId(p: HostPattern): string {
  return `${p.wildcard ? '*.' : ''}${p.hostname}${p.port === undefined ? '' : `:${p.port}`}`;
}

/** A table of `entries`, with `fallback` for `*` (and every key that names no host). */
export function patternTable<T>(entries: readonly (readonly [HostPattern, T])[], fallback: T): PatternTable<T> {
  const exact = new Map<string, T>();
  const wildcards: { suffix: string; port: string | undefined; value: T }[] = [];
  for (const [p, value] of entries) {
    if (p.wildcard) wildcards.push({ suffix: `.${p.hostname}`, port: p.port, value });
    else exact.set(p.port === undefined ? p.hostname : `${p.hostname}:${p.port}`, value);
  }
  wildcards.sort(
    (a, b) => b.suffix.length - a.suffix.length || Number(a.port === undefined) - Number(b.port === undefined),
  );
  return { exact, wildcards, fallback };
}

/** The entry for `address`: an exact host (with its port first), then the longest wildcard, then the fallback. */
export function matchPattern<T>(table: PatternTable<T>, address: Address | undefined): T {
  if (address === undefined) return table.fallback;
  const { hostname, port } = address;
  const withPort = port === undefined ? undefined : table.exact.get(`${hostname}:${port}`);
  const exact = withPort ?? table.exact.get(hostname);
  if (exact !== undefined) return exact;
  for (const w of table.wildcards) {
    if (hostname.endsWith(w.suffix) && (w.port === undefined || w.port === port)) return w.value;
  }
  return table.fallback;
}
