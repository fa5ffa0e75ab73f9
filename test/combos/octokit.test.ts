// Octokit over rw.fetch, as a user moving from @octokit/plugin-throttling writes it (the README's recipe), against a
// GitHub stand-in on 127.0.0.1 whose quotas follow the fake clock (core and graphql per hour, search per minute): many
// calls at once against the core quota, search and graphql paced apart from core, a quota smaller than the first
// round (its excess refused once, in that round), a secondary rate limit waited out, a spent quota's reset waited for
// or not (maxRetryAfter), a 404, a POST refused with a 403 or 429 or answered 500, and an abort while queued. Every
// figure is the server's own count.
import { Octokit } from '@octokit/core';
import { expect, test } from 'vitest';
import { isRatewiseError, type Ratewise, type RatewiseEvents, type RatewiseOptions } from '../../src/index.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import {
  startGitHubServer,
  type GitHubLogEntry,
  type GitHubServer,
  type GitHubServerOptions,
} from '../support/github-server.js';
import { closeAfterEach } from '../support/close-after-each.js';

const { open, client } = closeAfterEach();
const T0 = Date.UTC(2030, 0, 1);
const REPO = { owner: 'octo', repo: 'hello' };

async function start(clock: FakeClock, options: GitHubServerOptions = {}): Promise<GitHubServer> {
  const server = await startGitHubServer({ ...options, now: () => clock.now() });
  open.push(server);
  return server;
}

/**
 * The README's options for GitHub: a spent quota's reset is waited for (an hour, plus the second GitHub's epoch-second
 * reset and the server clock's uncertainty may add), not failed at once.
 */
const RECIPE: RatewiseOptions = { retry: { maxRetryAfter: 65 * 60_000 } };

/** A client on `clock` and an Octokit that sends through it, as the README shows. */
function octokitOver(server: GitHubServer, clock: FakeClock, options: RatewiseOptions = RECIPE) {
  const rw = client({ clock, ...options });
  const octokit = new Octokit({ auth: 'token', baseUrl: server.url, request: { fetch: rw.fetch } });
  return { rw, octokit };
}

/**
 * As `settle`, but the fake clock moves only while no request of `rw` is on the wire: each request reaches the server
 * at the instant it was sent, so that the server's log tells when ratewise sent each.
 */
function settleSent<T>(clock: FakeClock, rw: Ratewise, promise: Promise<T>): Promise<T> {
  return settle(clock, promise, () => rw.stats().every(({ inFlight }) => inFlight === 0));
}

/** How many requests the server decided at each instant, as `{ [ms after T0]: count }`. */
function sentAt(log: readonly GitHubLogEntry[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { at } of log) counts[at - T0] = (counts[at - T0] ?? 0) + 1;
  return counts;
}

/** Every event of `names` a client emits, in order, as `[name, payload]`. */
function record<K extends keyof RatewiseEvents>(rw: Ratewise, names: readonly K[]): [K, RatewiseEvents[K]][] {
  const seen: [K, RatewiseEvents[K]][] = [];
  for (const name of names) rw.on(name, (event) => seen.push([name, event]));
  return seen;
}

const getIssue = (octokit: Octokit, issueNumber: number, signal?: AbortSignal) =>
  octokit.request('GET /repos/{owner}/{repo}/issues/{issue_number}', {
    ...REPO,
    issue_number: issueNumber,
    ...(signal && { request: { signal } }),
  });

const createIssue = (octokit: Octokit, title: string) =>
  octokit.request('POST /repos/{owner}/{repo}/issues', { ...REPO, title });

/** What a call rejected with; a call that resolves fails the test. */
const rejection = (call: Promise<unknown>): Promise<Error & { status?: number; cause?: unknown }> =>
  call.then(
    () => {
      throw new Error('expected the call to reject');
    },
    (error: unknown) => error as Error,
  );

test('150 issues at once against a core quota of 60 per hour: every call resolves, none refused, one window after another', async () => {
  const clock = new FakeClock(T0);
  const server = await start(clock);
  const { rw, octokit } = octokitOver(server, clock);
  const numbers = Array.from({ length: 150 }, (_, i) => i + 1);
  const responses = await settleSent(clock, rw, Promise.all(numbers.map((n) => getIssue(octokit, n))));

  expect(responses.map(({ status }) => status)).toEqual(Array<number>(150).fill(200));
  expect(responses.map(({ data }) => data.number)).toEqual(numbers);
  const log = server.log();
  expect(log).toHaveLength(150);
  expect(log.filter(({ refusedBy }) => refusedBy !== undefined)).toEqual([]);
  // Each window's 60 go as it opens, and nothing goes before the reset the server named.
  expect(sentAt(log)).toEqual({ 0: 60, 3_600_000: 60, 7_200_000: 30 });
  expect(clock.pending()).toBe(0);
});

const search = (octokit: Octokit) => octokit.request('GET /search/issues', { q: 'is:open' });
const graphql = (octokit: Octokit) => octokit.request('POST /graphql', { query: '{ viewer { login } }' });

test.each([
  ['search', search, 60_000],
  ['graphql', graphql, 3_600_000],
] as const)(
  '%s and core are paced apart: 12 of its calls and 20 core calls at once, a quota of 10 holds only its own last 2',
  async (resource, other, windowMs) => {
    const clock = new FakeClock(T0);
    const server = await start(clock, { quotas: { [resource]: { limit: 10, windowMs } } });
    const { rw, octokit } = octokitOver(server, clock);
    const calls = [
      ...Array.from({ length: 12 }, () => other(octokit)),
      ...Array.from({ length: 20 }, (_, i) => getIssue(octokit, i + 1)),
    ];
    const results = await settleSent(clock, rw, Promise.all<{ status: number }>(calls));

    expect(results.map(({ status }) => status)).toEqual(Array<number>(32).fill(200));
    const log = server.log();
    expect(log.filter(({ refusedBy }) => refusedBy !== undefined)).toEqual([]);
    // The first round was 10 of the other resource's calls, whose answers said its quota was spent: the core calls
    // went at once all the same, and the last two when the other resource's window turned.
    expect(sentAt(log.filter((entry) => entry.resource === 'core'))).toEqual({ 0: 20 });
    expect(sentAt(log.filter((entry) => entry.resource === resource))).toEqual({ 0: 10, [windowMs]: 2 });
    expect(rw.stats().map(({ key }) => key)).toEqual(
      expect.arrayContaining([`${server.url} ${resource}`, `${server.url} core`]),
    );
  },
);

test('a quota smaller than the first round (5 searches per minute, 12 at once): that round’s excess is refused once and retried at the reset, and nothing after it', async () => {
  const clock = new FakeClock(T0);
  const server = await start(clock, { quotas: { search: { limit: 5, windowMs: 60_000 } } });
  // No jitter on the refusal's pause: the window's reset exactly.
  const { rw, octokit } = octokitOver(server, clock, { ...RECIPE, random: () => 0 });
  const results = await settleSent(clock, rw, Promise.all(Array.from({ length: 12 }, () => search(octokit))));

  expect(results.map(({ status }) => status)).toEqual(Array<number>(12).fill(200));
  const log = server.log();
  // The first round (10) went before the server had named the search quota: 5 of it were refused. Each window since
  // took what the quota holds, the refused calls first.
  expect(sentAt(log.filter(({ refusedBy }) => refusedBy === 'primary'))).toEqual({ 0: 5 });
  expect(sentAt(log.filter(({ refusedBy }) => refusedBy === undefined))).toEqual({ 0: 5, 60_000: 5, 120_000: 2 });
});

test('a secondary rate limit (403, retry-after, its message): the POST is sent again after the wait and not before, and Octokit resolves', async () => {
  const clock = new FakeClock(T0);
  // GitHub's own limit on content creation is per minute: its retry-after is at most 60 s. No jitter: the server's
  // wait exactly.
  const server = await start(clock, { secondary: { limit: 2, windowMs: 60_000 } });
  const { rw, octokit } = octokitOver(server, clock, { ...RECIPE, random: () => 0 });
  const events = record(rw, ['paused', 'retry']);
  const responses = await settleSent(
    clock,
    rw,
    Promise.all(['a', 'b', 'c'].map((title) => createIssue(octokit, title))),
  );

  expect(responses.map(({ status, data }) => [status, data.title])).toEqual([
    [201, 'a'],
    [201, 'b'],
    [201, 'c'],
  ]);
  expect(server.log().map(({ at, status, refusedBy }) => [at - T0, status, refusedBy])).toEqual([
    [0, 201, undefined],
    [0, 201, undefined],
    [0, 403, 'secondary'],
    // Nothing in between: the retry went when the server's 60 s were over.
    [60_000, 201, undefined],
  ]);
  expect(events).toMatchObject([
    ['paused', { reason: 'retry-after', status: 403, until: T0 + 60_000 }],
    ['retry', { attempt: 1, delayMs: 60_000, source: 'server', status: 403 }],
  ]);
});

test('without maxRetryAfter raised: once the core quota is spent, later calls fail at once, unsent, with Octokit’s error around a RateLimitError', async () => {
  const clock = new FakeClock(T0);
  const server = await start(clock, { quotas: { core: { limit: 5, windowMs: 3_600_000 } } });
  const { rw, octokit } = octokitOver(server, clock, {});
  await settleSent(clock, rw, Promise.all([1, 2, 3, 4, 5].map((n) => getIssue(octokit, n))));

  const errors = await settleSent(clock, rw, Promise.all([6, 7].map((n) => rejection(getIssue(octokit, n)))));
  for (const error of errors) {
    // Octokit turns whatever its fetch throws into its RequestError, status 500, with the ratewise error as cause.
    expect(error).toMatchObject({ name: 'HttpError', status: 500 });
    expect(isRatewiseError(error.cause, 'ERR_RATEWISE_RATE_LIMITED')).toBe(true);
    expect(error.cause).toMatchObject({ reason: 'max-retry-after', sent: false, retryAt: T0 + 3_600_000 });
  }
  expect(server.log()).toHaveLength(5);
  expect(clock.now()).toBe(T0);
});

test('with the recipe’s maxRetryAfter (65 min): later calls wait for the hourly reset, a second-rounded one included, and go then', async () => {
  // The window opens half a second past a whole second: its reset, named in whole seconds, is 3,601 s away.
  const clock = new FakeClock(T0 + 1_500);
  const server = await start(clock, { quotas: { core: { limit: 5, windowMs: 3_600_000 } } });
  const { rw, octokit } = octokitOver(server, clock);
  const events = record(rw, ['throttled', 'paused']);
  await settleSent(clock, rw, Promise.all([1, 2, 3, 4, 5].map((n) => getIssue(octokit, n))));

  const later = await settleSent(clock, rw, Promise.all([6, 7].map((n) => getIssue(octokit, n))));
  expect(later.map(({ status }) => status)).toEqual([200, 200]);
  const log = server.log();
  expect(log.filter(({ refusedBy }) => refusedBy !== undefined)).toEqual([]);
  // Both went once the server's window (an hour from its first request) had turned, and by its reset as named.
  const windowEnd = T0 + 1_500 + 3_600_000;
  for (const { at } of log.slice(5)) {
    expect(at).toBeGreaterThanOrEqual(windowEnd);
    expect(at).toBeLessThanOrEqual(T0 + 3_603_000);
  }
  // Nothing was refused: the success that spent the quota holds the calls (a throttle), it pauses nothing.
  expect(events).toMatchObject([['throttled', { reason: 'server-quota' }]]);
});

/** The README's options for writes, as GitHub advises them: one content-creating request at a time, a second apart. */
const WRITES: RatewiseOptions = {
  ...RECIPE,
  keyFn: ({ method, url }) =>
    url.hostname === '127.0.0.1' && method !== 'GET' && method !== 'HEAD' ? 'github-writes' : undefined,
  budgets: { 'github-writes': { rate: ['1/s', '500/hour'], concurrency: 1 } },
};

test('writes one at a time, a second apart, through a budget of their own: 100 POSTs at once meet no secondary limit of 80 a minute, while reads go at once', async () => {
  const clock = new FakeClock(T0);
  const server = await start(clock, {
    quotas: { core: { limit: 5_000, windowMs: 3_600_000 } },
    secondary: { limit: 80, windowMs: 60_000 },
  });
  const { rw, octokit } = octokitOver(server, clock, WRITES);
  const calls: Promise<{ status: number }>[] = [
    ...Array.from({ length: 100 }, (_, i) => createIssue(octokit, `issue ${i}`)),
    ...Array.from({ length: 20 }, (_, i) => getIssue(octokit, i + 1)),
  ];
  const results = await settleSent(clock, rw, Promise.all(calls));

  expect(results.map(({ status }) => status)).toEqual([
    ...Array<number>(100).fill(201),
    ...Array<number>(20).fill(200),
  ]);
  const log = server.log();
  expect(log.filter(({ refusedBy }) => refusedBy !== undefined)).toEqual([]);
  const posts = log.filter(({ method }) => method === 'POST').map(({ at }) => at - T0);
  expect(posts).toEqual(Array.from({ length: 100 }, (_, i) => i * 1_000));
  expect(sentAt(log.filter(({ method }) => method === 'GET'))).toEqual({ 0: 20 });
});

test('a GraphQL quota another client spent: its 200 whose errors say RATE_LIMITED is retried at the reset, and the call resolves with data', async () => {
  const clock = new FakeClock(T0);
  const server = await start(clock, { quotas: { graphql: { limit: 2, windowMs: 3_600_000 } } });
  // Another client spends the quota first.
  for (let i = 0; i < 2; i++) {
    const response = await fetch(`${server.url}/graphql`, { method: 'POST', body: '{"query":"{ viewer { login } }"}' });
    await response.arrayBuffer();
  }
  const { rw, octokit } = octokitOver(server, clock, { ...RECIPE, random: () => 0 });
  const retries = record(rw, ['retry']);
  const { data } = (await settleSent(clock, rw, graphql(octokit))) as { data: unknown };

  expect(data).toEqual({ data: { viewer: { login: 'octocat' } } });
  const log = server.log().filter(({ method }) => method === 'POST');
  // The third request of the window was refused with a 200 (status and errors as GitHub's GraphQL API sends them);
  // ratewise sent it again when the window turned, not before.
  expect(log.map(({ at, status, refusedBy }) => [at - T0, status, refusedBy])).toEqual([
    [0, 200, undefined],
    [0, 200, undefined],
    [0, 200, 'primary'],
    [3_600_000, 200, undefined],
  ]);
  expect(retries).toHaveLength(1);
});

test('a 404 is Octokit’s RequestError with status 404, sent once', async () => {
  const clock = new FakeClock(T0);
  const server = await start(clock);
  const { rw, octokit } = octokitOver(server, clock);
  const error = await settleSent(clock, rw, rejection(getIssue(octokit, 1_000)));
  expect(error).toMatchObject({
    name: 'HttpError',
    status: 404,
    message: expect.stringContaining('Not Found') as string,
  });
  expect(server.log()).toMatchObject([{ method: 'GET', status: 404 }]);
});

test.each([403, 429] as const)(
  'a POST refused by a spent quota (%i, remaining 0) is sent again at the reset, and Octokit resolves',
  async (primaryStatus) => {
    const clock = new FakeClock(T0);
    const server = await start(clock, { primaryStatus, quotas: { core: { limit: 2, windowMs: 30_000 } } });
    const { rw, octokit } = octokitOver(server, clock, { ...RECIPE, random: () => 0 });
    const responses = await settleSent(
      clock,
      rw,
      Promise.all(['a', 'b', 'c'].map((title) => createIssue(octokit, title))),
    );
    expect(responses.map(({ status }) => status)).toEqual([201, 201, 201]);
    expect(server.log().map(({ at, status }) => [at - T0, status])).toEqual([
      [0, 201],
      [0, 201],
      [0, primaryStatus],
      [30_000, 201],
    ]);
  },
);

test('a POST answered 500 is not sent again (not idempotent without a key): Octokit rejects with status 500', async () => {
  const clock = new FakeClock(T0);
  const server = await start(clock, {
    intercept: ({ method }) => (method === 'POST' ? { status: 500, json: { message: 'Server Error' } } : undefined),
  });
  const { rw, octokit } = octokitOver(server, clock);
  const events = record(rw, ['giveUp']);
  const error = await settleSent(clock, rw, rejection(createIssue(octokit, 'a')));
  expect(error).toMatchObject({ name: 'HttpError', status: 500 });
  expect(server.log()).toMatchObject([{ method: 'POST', status: 500 }]);
  expect(events).toMatchObject([['giveUp', { reason: 'not-idempotent', attempts: 1, status: 500 }]]);
});

test('a call aborted while it waits for the quota rejects and is never sent', async () => {
  const clock = new FakeClock(T0);
  const server = await start(clock, { quotas: { core: { limit: 2, windowMs: 30_000 } } });
  const { rw, octokit } = octokitOver(server, clock);
  await settleSent(clock, rw, Promise.all([getIssue(octokit, 1), getIssue(octokit, 2)]));

  const controller = new AbortController();
  const waiting = rejection(getIssue(octokit, 3, controller.signal));
  await expect.poll(() => rw.stats().some(({ queued }) => queued === 1)).toBe(true);
  controller.abort();
  expect(await waiting).toMatchObject({ name: 'AbortError' });
  expect(server.log()).toHaveLength(2);
  expect(clock.pending()).toBe(0);
  // The next call goes when the window turns, as the quota says.
  const next = await settleSent(clock, rw, getIssue(octokit, 4));
  expect(next.status).toBe(200);
  expect(server.log().map(({ at }) => at - T0)).toEqual([0, 0, 30_000]);
});
