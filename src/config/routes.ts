// A budget's `routes`: which requests of a host count against which of its quotas, as the user names them, for APIs
// that limit per route and say nothing of it. Pure: patterns in, a matcher out.

/** One route pattern, compiled: `GET /search/**` → `search`. */
export interface RouteRule {
  /** The pattern as written, for messages. */
  readonly pattern: string;
  /** Upper-case; undefined matches every method. */
  readonly method: string | undefined;
  /** Path segments to match: literal text, or `*` for any one segment. */
  readonly segments: readonly string[];
  /** Whether the pattern ends in `**`: any number of segments (none included) may follow. */
  readonly rest: boolean;
  /** The quota's name: requests that match go through the budget's bucket of that name. */
  readonly bucket: string;
}

/** Routes remembered per origin with the quota its server named, unless `maxRoutes` says otherwise. */
export const MAX_LEARNED_ROUTES = 1_000;

/** Most route patterns per budget: each request is matched against them in turn. */
export const MAX_ROUTES = 256;

const METHOD = /^[A-Za-z]+$/;

function invalid(name: string, pattern: string, why: string): TypeError {
  return new TypeError(`Expected \`${name}\` pattern ${JSON.stringify(pattern)} to be ${why}`);
}

/** The path's segments, without empty ones (a doubled or trailing slash changes nothing). */
function segmentsOf(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

function compileRule(name: string, pattern: string, bucket: unknown): RouteRule {
  if (typeof bucket !== 'string' || bucket.trim() === '' || bucket.length > 200) {
    throw new TypeError(
      `Expected \`${name}[${JSON.stringify(pattern)}]\` to be a bucket name (a non-empty string of at most 200 ` +
        `characters), got ${typeof bucket === 'string' ? JSON.stringify(bucket) : typeof bucket}`,
    );
  }
  const parts = pattern.trim().split(/\s+/);
  if (parts.length > 2) throw invalid(name, pattern, '"METHOD /path" or "/path", with no other spaces');
  const path = parts.at(-1)!;
  const method = parts.length === 2 ? parts[0]! : undefined;
  if (method !== undefined && !METHOD.test(method)) throw invalid(name, pattern, 'led by an HTTP method (letters)');
  if (!path.startsWith('/')) throw invalid(name, pattern, 'a path that starts with "/"');
  if (/[?#]/.test(path)) throw invalid(name, pattern, 'a path without a query or fragment');
  const segments = segmentsOf(path);
  const rest = segments.at(-1) === '**';
  if (rest) segments.pop();
  if (segments.includes('**')) throw invalid(name, pattern, 'a path with `**` only at its end');
  return { pattern, method: method?.toUpperCase(), segments, rest, bucket };
}

/**
 * Compiles a budget's `routes` option (`{ 'GET /search/**': 'search', '/users/*\/repos': 'repos' }`): `*` matches one
 * path segment, `**` at the end any number of them, the method is optional, and the first pattern that matches wins.
 * Throws a TypeError naming the pattern for anything else.
 */
export function compileRoutes(value: unknown, name: string): readonly RouteRule[] {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected \`${name}\` to be an object of route patterns and bucket names, got ${typeof value}`);
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_ROUTES) {
    throw new TypeError(`Expected \`${name}\` to have at most ${MAX_ROUTES} patterns, got ${entries.length}`);
  }
  return Object.freeze(entries.map(([pattern, bucket]) => Object.freeze(compileRule(name, pattern, bucket))));
}

/** The bucket of the first rule that matches `method` (upper-case) and `pathname`, or undefined. */
export function matchRoute(rules: readonly RouteRule[], method: string, pathname: string): string | undefined {
  if (rules.length === 0) return undefined;
  const segments = segmentsOf(pathname);
  for (const rule of rules) {
    if (rule.method !== undefined && rule.method !== method) continue;
    const wanted = rule.segments;
    if (segments.length < wanted.length || (!rule.rest && segments.length !== wanted.length)) continue;
    let matches = true;
    for (let i = 0; i < wanted.length; i++) {
      const part = wanted[i]!;
      if (part !== '*' && part !== segments[i]) {
        matches = false;
        break;
      }
    }
    if (matches) return rule.bucket;
  }
  return undefined;
}
