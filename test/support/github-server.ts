/**
 * A stand-in for GitHub's API on 127.0.0.1, for tests and examples: a few REST routes and `POST /graphql`, answering
 * as GitHub documents its rate limits ("Rate limits for the REST API", "Troubleshooting the REST API"), so that
 * Octokit talks to it unchanged.
 *
 * - Every answer carries a `Date` field read from `now`; every answer of the API also carries `x-ratelimit-limit`,
 *   `-remaining`, `-used`, `-reset` (epoch seconds, rounded up) and `-resource`.
 * - Each resource (`core`, `search`, `graphql`) has a quota of its own: a {@link FixedWindowCounter}, whose window
 *   opens with its first request and whose end is the reset the fields name. A spent quota answers 403 (or 429) with
 *   `x-ratelimit-remaining: 0` and GitHub's message; the refused request does not count. A spent GraphQL quota
 *   answers as GitHub's GraphQL API does ("Rate limits and query limits for the GraphQL API"): a 200 whose `errors`
 *   hold one of type `RATE_LIMITED`, with `x-ratelimit-remaining: 0`.
 * - With `secondary`, content-creating requests (POST, PATCH, PUT, DELETE, GraphQL aside) have a secondary limit, as
 *   GitHub's per-minute one: past it, a 403 with `retry-after` (the whole seconds left in that window) and the message
 *   "You have exceeded a secondary rate limit". The request counted against its primary quota (its fields say so).
 *
 * Routes: `GET /repos/:owner/:repo/issues/:number` (an issue, or 404 from number 1,000 on), `POST
 * /repos/:owner/:repo/issues` (201, the issue made), `GET /search/issues`, `POST /graphql`; anything else is GitHub's
 * 404. Every request the API answers counts against its quota, 404s included, as GitHub counts them.
 */
import { startScriptedServer } from './servers.js';
import type { ScriptedRequest, ScriptedResponse, TestServer } from './servers.js';
import { FixedWindowCounter } from './throttling-servers.js';
import type { WindowLimit } from './throttling-servers.js';

/** A quota GitHub keeps apart from the others, named by `x-ratelimit-resource`. */
export type GitHubResource = 'core' | 'search' | 'graphql';

/** Options of {@link startGitHubServer}. */
export interface GitHubServerOptions {
  /**
   * Each resource's quota, requests per window. @default core 60 and graphql 50 per hour, search 10 per minute (as
   * GitHub's windows: an hour, and a minute for search)
   */
  readonly quotas?: Readonly<Partial<Record<GitHubResource, WindowLimit>>>;
  /** The status of a spent primary quota: GitHub answers 403 or 429. @default 403 */
  readonly primaryStatus?: 403 | 429;
  /** Content-creating requests per window before a secondary rate limit. @default none */
  readonly secondary?: WindowLimit;
  /**
   * Answers a request instead of the API, before any quota counts it (a 500 of a failing backend, say), or
   * `undefined` to let the API answer. @default none
   */
  readonly intercept?: (request: ScriptedRequest) => ScriptedResponse | undefined;
  /** The server's clock, epoch ms: every window, reset and `Date` reads it. @default Date.now */
  readonly now?: () => number;
}

/** One request as the server decided it. */
export interface GitHubLogEntry {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  /** The quota it counted against (or was refused by); `undefined` for an intercepted request. */
  readonly resource: GitHubResource | undefined;
  /** The server's `now()` when it decided: with the clock held while requests travel, when the client sent it. */
  readonly at: number;
  readonly status: number;
  /** Which limit refused it, if one did. */
  readonly refusedBy: 'primary' | 'secondary' | undefined;
}

/** A running GitHub stand-in. */
export interface GitHubServer extends TestServer {
  /** Every request so far, in the order the server decided them. */
  log(): readonly GitHubLogEntry[];
}

const DEFAULT_QUOTAS: Readonly<Record<GitHubResource, WindowLimit>> = {
  core: { limit: 60, windowMs: 3_600_000 },
  search: { limit: 10, windowMs: 60_000 },
  graphql: { limit: 50, windowMs: 3_600_000 },
};

const DOCS = 'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api';
const CONTENT_CREATING = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);
const ISSUE = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)$/;
const ISSUES = /^\/repos\/[^/]+\/[^/]+\/issues$/;

/** The resource a request counts against, as GitHub names it. */
function resourceOf(path: string): GitHubResource {
  if (path === '/graphql') return 'graphql';
  return path.startsWith('/search/') ? 'search' : 'core';
}

/** What the API answers once every limit has let the request through. */
function route(method: string, path: string, body: string, created: () => number): ScriptedResponse {
  const issue = method === 'GET' ? ISSUE.exec(path) : null;
  if (issue !== null && Number(issue[1]) < 1_000) {
    return { json: { number: Number(issue[1]), title: `Issue ${issue[1]}`, state: 'open' } };
  }
  if (method === 'POST' && ISSUES.test(path)) {
    const { title } = JSON.parse(body || '{}') as { title?: string };
    return { status: 201, json: { number: created(), title: title ?? '', state: 'open' } };
  }
  if (method === 'GET' && path === '/search/issues') {
    return { json: { total_count: 0, incomplete_results: false, items: [] } };
  }
  if (method === 'POST' && path === '/graphql') return { json: { data: { viewer: { login: 'octocat' } } } };
  return {
    status: 404,
    json: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' },
  };
}

/** Starts a GitHub stand-in on 127.0.0.1 (see the module's comment). */
export async function startGitHubServer(options: GitHubServerOptions = {}): Promise<GitHubServer> {
  const now = options.now ?? Date.now;
  const counters = new Map<GitHubResource, { readonly limit: WindowLimit; readonly counter: FixedWindowCounter }>();
  for (const resource of ['core', 'search', 'graphql'] as const) {
    const limit = options.quotas?.[resource] ?? DEFAULT_QUOTAS[resource];
    counters.set(resource, { limit, counter: new FixedWindowCounter(limit) });
  }
  const secondary = options.secondary && new FixedWindowCounter(options.secondary);
  const log: GitHubLogEntry[] = [];
  let issues = 1_000;

  const server = await startScriptedServer(({ method, url, body, ...rest }) => {
    const at = now();
    const entry = (response: ScriptedResponse, resource?: GitHubResource, refusedBy?: 'primary' | 'secondary') => {
      log.push({ method, url, resource, at, status: response.status ?? 200, refusedBy });
      return response;
    };
    const date = new Date(at).toUTCString();
    const intercepted = options.intercept?.({ method, url, body, ...rest });
    if (intercepted !== undefined) return entry({ ...intercepted, headers: { date, ...intercepted.headers } });

    const path = new URL(url, 'http://github.test').pathname;
    const resource = resourceOf(path);
    const { limit, counter } = counters.get(resource)!;
    const admission = counter.admit(at);
    // The window the request fell in: the counter opened it, if none was open.
    const window = counter.windows().at(-1)!;
    const headers = {
      date,
      'x-ratelimit-limit': limit.limit,
      'x-ratelimit-remaining': limit.limit - window.accepted,
      'x-ratelimit-used': window.accepted,
      'x-ratelimit-reset': Math.ceil((window.startAt + limit.windowMs) / 1_000),
      'x-ratelimit-resource': resource,
    };
    if (!admission.ok && resource === 'graphql') {
      const error = {
        type: 'RATE_LIMITED',
        code: 'graphql_rate_limit',
        message: 'API rate limit exceeded for user ID 1.',
      };
      return entry({ status: 200, headers, json: { errors: [error] } }, resource, 'primary');
    }
    if (!admission.ok) {
      const message = 'API rate limit exceeded for user ID 1.';
      const json = { message, documentation_url: `${DOCS}#about-primary-rate-limits` };
      return entry({ status: options.primaryStatus ?? 403, headers, json }, resource, 'primary');
    }
    if (secondary !== undefined && resource !== 'graphql' && CONTENT_CREATING.has(method)) {
      const second = secondary.admit(at);
      if (!second.ok) {
        const message =
          'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.';
        const json = { message, documentation_url: `${DOCS}#about-secondary-rate-limits` };
        const retryAfter = { 'retry-after': second.retryAfterSeconds };
        return entry({ status: 403, headers: { ...headers, ...retryAfter }, json }, resource, 'secondary');
      }
    }
    const answer = route(method, path, body, () => ++issues);
    return entry({ ...answer, headers: { ...headers, ...answer.headers } }, resource);
  });
  return { ...server, log: () => log.map((record) => ({ ...record })) };
}
