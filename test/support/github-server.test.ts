// The GitHub stand-in answers as GitHub documents its rate limits: the fields of every answer, a quota per resource,
// a spent quota's 403 (or 429) and a secondary limit's 403 with retry-after.
import { afterEach, expect, test } from 'vitest';
import { startGitHubServer, type GitHubServer, type GitHubServerOptions } from './github-server.js';

const T0 = Date.UTC(2030, 0, 1);
const open: GitHubServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

/** A server whose clock stands at `clock.now` until a test moves it. */
async function start(options: GitHubServerOptions = {}) {
  const clock = { now: T0 };
  const server = await startGitHubServer({ ...options, now: () => clock.now });
  open.push(server);
  const send = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const fields = Object.fromEntries(
      [...response.headers].filter(([name]) => /^(x-ratelimit|retry-after|date)/.test(name)),
    );
    return { status: response.status, fields, json: (await response.json()) as Record<string, unknown> };
  };
  return { server, clock, send };
}

test('every answer names its quota, what is left and used of it, its reset in epoch seconds, and the date', async () => {
  const { send, clock } = await start();
  clock.now = T0 + 1_500;
  expect(await send('GET', '/repos/octo/hello/issues/7')).toEqual({
    status: 200,
    fields: {
      date: new Date(T0 + 1_500).toUTCString(),
      'x-ratelimit-limit': '60',
      'x-ratelimit-remaining': '59',
      'x-ratelimit-used': '1',
      // The window opened with this request: it ends an hour later, named by the whole second at or after it.
      'x-ratelimit-reset': String((T0 + 3_602_000) / 1_000),
      'x-ratelimit-resource': 'core',
    },
    json: { number: 7, title: 'Issue 7', state: 'open' },
  });
  expect((await send('GET', '/search/issues?q=x')).fields).toMatchObject({
    'x-ratelimit-limit': '10',
    'x-ratelimit-remaining': '9',
    'x-ratelimit-resource': 'search',
  });
  expect((await send('POST', '/graphql', { query: '{ viewer { login } }' })).fields).toMatchObject({
    'x-ratelimit-limit': '50',
    'x-ratelimit-resource': 'graphql',
  });
  // A 404 counts against core as well.
  const missing = await send('GET', '/repos/octo/hello/issues/1000');
  expect(missing).toMatchObject({ status: 404, json: { message: 'Not Found' } });
  expect(missing.fields).toMatchObject({ 'x-ratelimit-remaining': '58', 'x-ratelimit-used': '2' });
});

test.each([403, 429] as const)(
  'a spent quota answers %i with remaining 0 and GitHub’s message, holds that resource only, and turns at its reset',
  async (primaryStatus) => {
    const { send, clock, server } = await start({ primaryStatus, quotas: { core: { limit: 2, windowMs: 30_000 } } });
    await send('GET', '/repos/octo/hello/issues/1');
    await send('POST', '/repos/octo/hello/issues', { title: 'a' });
    const refused = await send('GET', '/repos/octo/hello/issues/2');
    expect(refused).toMatchObject({
      status: primaryStatus,
      fields: { 'x-ratelimit-remaining': '0', 'x-ratelimit-used': '2', 'x-ratelimit-reset': String(T0 / 1_000 + 30) },
      json: { message: 'API rate limit exceeded for user ID 1.' },
    });
    expect(refused.fields).not.toHaveProperty('retry-after');
    expect((await send('GET', '/search/issues?q=x')).status).toBe(200);
    clock.now = T0 + 30_000;
    expect((await send('GET', '/repos/octo/hello/issues/2')).status).toBe(200);
    expect(server.log().map(({ resource, status, refusedBy }) => [resource, status, refusedBy])).toEqual([
      ['core', 200, undefined],
      ['core', 201, undefined],
      ['core', primaryStatus, 'primary'],
      ['search', 200, undefined],
      ['core', 200, undefined],
    ]);
  },
);

test('past the secondary limit, a content-creating request gets a 403 with retry-after and the secondary message', async () => {
  const { send, clock } = await start({ secondary: { limit: 1, windowMs: 60_000 } });
  expect(await send('POST', '/repos/octo/hello/issues', { title: 'a' })).toMatchObject({
    status: 201,
    json: { number: 1_001, title: 'a' },
  });
  // Reads are not content-creating.
  expect((await send('GET', '/repos/octo/hello/issues/1')).status).toBe(200);
  clock.now = T0 + 20_500;
  const refused = await send('POST', '/repos/octo/hello/issues', { title: 'b' });
  expect(refused).toMatchObject({ status: 403, fields: { 'retry-after': '40', 'x-ratelimit-remaining': '57' } });
  expect(refused.json.message).toMatch(/^You have exceeded a secondary rate limit\./);
});

test('intercept answers instead of the API, dated by the server’s clock, and no quota counts it', async () => {
  const { send, server } = await start({
    intercept: ({ method }) => (method === 'POST' ? { status: 500, json: { message: 'Server Error' } } : undefined),
  });
  expect(await send('POST', '/repos/octo/hello/issues', { title: 'a' })).toEqual({
    status: 500,
    fields: { date: new Date(T0).toUTCString() },
    json: { message: 'Server Error' },
  });
  expect((await send('GET', '/repos/octo/hello/issues/1')).fields).toMatchObject({ 'x-ratelimit-remaining': '59' });
  expect(server.log().map(({ resource, status }) => [resource, status])).toEqual([
    [undefined, 500],
    ['core', 200],
  ]);
});
