// Redirects through rw.fetch and global fetch: each hop waits for, is counted by and informs the budget of its own
// host. Two servers on 127.0.0.1 are two origins: A redirects to B, and B refuses its first request with a 429.
import { describe, expect, test } from 'vitest';
import axios, { AxiosError } from 'axios';
import { withRatewise } from '../../src/adapters/axios.js';
import { installRatewise } from '../../src/adapters/undici.js';
import { isRatewiseError } from '../../src/index.js';
import type { Ratewise } from '../../src/index.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { startScriptedServer, type Script, type ScriptedRequest, type TestServer } from '../support/servers.js';
import { closeAfterEach } from '../support/close-after-each.js';

const { open, uninstalls, client } = closeAfterEach();

async function serve(script: Script): Promise<TestServer & { seen: ScriptedRequest[] }> {
  const seen: ScriptedRequest[] = [];
  const server = await startScriptedServer((request) => {
    seen.push(request);
    return script(request);
  });
  open.push(server);
  return Object.assign(server, { seen });
}

/** B: refuses its first request with `429 Retry-After: 2`, then answers `B <path>`. */
const limitedB = (): Promise<TestServer & { seen: ScriptedRequest[] }> =>
  serve(({ index, url }) => (index === 0 ? { status: 429, headers: { 'retry-after': 2 } } : { body: `B ${url}` }));

/** A: `/go` redirects to `target` with `status`; anything else answers `A <path>`. */
const redirectingA = (target: () => string, status = 302): Promise<TestServer & { seen: ScriptedRequest[] }> =>
  serve(({ url }) => (url === '/go' ? { status, headers: { location: target() } } : { body: `A ${url}` }));

const stats = (rw: Ratewise, key: string) => rw.stats().find((budget) => budget.key === key);

/** A call through one entry point: the body as text, and the final URL where the entry point tells it. */
type Get = (url: string) => Promise<{ text: string; url: string | undefined }>;

const throughFetch =
  (fetch: typeof globalThis.fetch): Get =>
  async (url) => {
    const response = await fetch(url);
    return { text: await response.text(), url: response.url };
  };

const entries: [string, (rw: Ratewise) => Get][] = [
  ['rw.fetch', (rw) => throughFetch(rw.fetch)],
  [
    'global fetch with installRatewise',
    (rw) => {
      uninstalls.push(installRatewise(rw));
      return throughFetch(globalThis.fetch);
    },
  ],
  [
    'the axios adapter',
    (rw) => {
      const api = withRatewise(axios.create({ responseType: 'text' }), rw);
      return async (url) => ({ text: (await api.get<string>(url)).data, url: undefined });
    },
  ],
];

describe.each(entries)('a 302 from A to B, B answering 429 Retry-After: 2, through %s', (_name, entry) => {
  test('pauses B’s budget, not A’s: A’s calls go, a direct call to B waits', async () => {
    const b = await limitedB();
    const a = await redirectingA(() => `${b.url}/limited`);
    const clock = new FakeClock(Date.now());
    const rw = client({ clock });
    const get = entry(rw);

    const redirected = get(`${a.url}/go`);
    await expect.poll(() => stats(rw, b.url)?.pausedUntil).toBeDefined();
    expect(stats(rw, a.url)?.pausedUntil).toBeUndefined();
    // A's budget is free: its calls go without the clock moving.
    expect((await get(`${a.url}/other`)).text).toBe('A /other');
    // B's budget is paused: a direct call of the same route waits with the redirected one.
    const direct = get(`${b.url}/limited?direct`);
    await expect.poll(() => stats(rw, b.url)?.queued).toBe(2);
    expect(b.hits().total).toBe(1);

    const [viaA, toB] = await settle(clock, Promise.all([redirected, direct]));
    expect(viaA.text).toBe('B /limited');
    if (viaA.url !== undefined) expect(viaA.url).toBe(`${b.url}/limited`);
    expect(toB.text).toBe('B /limited?direct');
    // A saw the redirected call once (its retry went to B) and the other call; B the refused hop, its retry and the
    // direct call.
    expect(a.seen.map((request) => request.url)).toEqual(['/go', '/other']);
    expect(b.seen.map((request) => request.url)).toEqual(['/limited', '/limited', '/limited?direct']);
    expect(stats(rw, a.url)?.counters).toMatchObject({ sent: 2, rateLimited: 0 });
    expect(stats(rw, b.url)?.counters).toMatchObject({ sent: 3, rateLimited: 1 });
  });
});

describe('rw.fetch follows redirects hop by hop', () => {
  test('a per-request key names the budget of the first hop only', async () => {
    const b = await serve(() => ({ body: 'B' }));
    const a = await redirectingA(() => `${b.url}/x`);
    const rw = client();
    const reply = await rw.fetch(`${a.url}/go`, { ratewise: { key: 'mine' } });
    expect(await reply.text()).toBe('B');
    expect(rw.stats().map((budget) => [budget.key, budget.counters.sent])).toEqual([
      ['mine', 1],
      [b.url, 1],
    ]);
  });

  test('more than 20 redirects fail with a TypeError after 21 requests, each counted', async () => {
    const server = await serve(({ url }) => ({ status: 302, headers: { location: `/r/${Number(url.slice(3)) + 1}` } }));
    const rw = client();
    await expect(rw.fetch(`${server.url}/r/0`)).rejects.toThrow(TypeError);
    expect(server.hits().total).toBe(21);
    expect(stats(rw, server.url)?.counters.sent).toBe(21);
  });

  test('the loop guard sees the hops of a redirect loop between two hosts', async () => {
    let aUrl = '';
    const b = await serve(() => ({ status: 302, headers: { location: `${aUrl}/go` } }));
    const a = await redirectingA(() => `${b.url}/back`);
    aUrl = a.url;
    const rw = client({ loopGuard: { mode: 'throw', limit: 3 } });
    const failure = await rw.fetch(`${a.url}/go`).catch((error: unknown) => error);
    expect(isRatewiseError(failure, 'ERR_RATEWISE_LOOP')).toBe(true);
    expect(a.hits().total).toBe(3);
    expect(b.hits().total).toBe(3);
  });

  test('303, and 302 after a POST, go on as a GET without body; 307 keeps method and body', async () => {
    const b = await serve(() => ({ body: 'B' }));
    const a = await serve(({ url }) => ({ status: Number(url.slice(1)), headers: { location: `${b.url}${url}` } }));
    const rw = client();
    for (const status of [302, 303, 307]) {
      const reply = await rw.fetch(`${a.url}/${status}`, {
        method: 'POST',
        body: 'payload',
        headers: { 'content-type': 'text/plain' },
      });
      expect(await reply.text()).toBe('B');
    }
    expect(b.seen.map(({ method, body, headers }) => [method, body, headers['content-type']])).toEqual([
      ['GET', '', undefined],
      ['GET', '', undefined],
      ['POST', 'payload', 'text/plain'],
    ]);
    expect(stats(rw, b.url)?.counters.sent).toBe(3);
  });

  test('a 307 after a stream body fails with a TypeError, as fetch does', async () => {
    const b = await serve(() => ({ body: 'B' }));
    const a = await redirectingA(() => `${b.url}/x`, 307);
    const rw = client();
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('once'));
        controller.close();
      },
    });
    await expect(rw.fetch(`${a.url}/go`, { method: 'POST', body, duplex: 'half' } as RequestInit)).rejects.toThrow(
      TypeError,
    );
    expect(b.hits().total).toBe(0);
  });

  test('Authorization and Cookie stay behind when the origin changes, and go along when it does not', async () => {
    const b = await serve(() => ({ body: 'B' }));
    const a = await serve(({ url }) =>
      url === '/cross'
        ? { status: 302, headers: { location: `${b.url}/x` } }
        : url === '/same'
          ? { status: 302, headers: { location: '/landed' } }
          : { body: 'A' },
    );
    const rw = client();
    const headers = { authorization: 'Bearer secret', cookie: 'session=1', 'x-kept': 'yes' };
    await (await rw.fetch(`${a.url}/cross`, { headers })).text();
    await (await rw.fetch(`${a.url}/same`, { headers })).text();
    const [toB] = b.seen;
    expect(toB?.headers).toMatchObject({ 'x-kept': 'yes' });
    expect(toB?.headers.authorization).toBeUndefined();
    expect(toB?.headers.cookie).toBeUndefined();
    expect(a.seen.at(-1)?.headers).toMatchObject({ authorization: 'Bearer secret', cookie: 'session=1' });
  });

  test("redirect: 'manual' returns the 3xx, 'error' rejects; B is never asked", async () => {
    const b = await serve(() => ({ body: 'B' }));
    const a = await redirectingA(() => `${b.url}/x`);
    const rw = client();
    const manual = await rw.fetch(`${a.url}/go`, { redirect: 'manual' });
    expect(manual.status).toBe(302);
    expect(manual.headers.get('location')).toBe(`${b.url}/x`);
    await expect(rw.fetch(`${a.url}/go`, { redirect: 'error' })).rejects.toThrow(TypeError);
    expect(b.hits().total).toBe(0);
    expect(rw.stats().map((budget) => budget.key)).toEqual([a.url]);
  });
});

describe('the axios adapter follows redirects hop by hop in Node', () => {
  test('maxRedirects: 0 returns the 3xx as axios does (rejected by the default validateStatus); B is never asked', async () => {
    const b = await serve(() => ({ body: 'B' }));
    const a = await redirectingA(() => `${b.url}/x`);
    const rw = client();
    const api = withRatewise(axios.create(), rw);
    const failure = await api.get(`${a.url}/go`, { maxRedirects: 0 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AxiosError);
    expect((failure as AxiosError).response?.status).toBe(302);
    const accepted = await api.get(`${a.url}/go`, { maxRedirects: 0, validateStatus: () => true });
    expect(accepted.status).toBe(302);
    expect(b.hits().total).toBe(0);
  });

  test('past maxRedirects, ERR_FR_TOO_MANY_REDIRECTS after maxRedirects + 1 requests, each counted', async () => {
    const server = await serve(({ url }) => ({ status: 302, headers: { location: `/r/${Number(url.slice(3)) + 1}` } }));
    const rw = client();
    const api = withRatewise(axios.create(), rw);
    const failure = await api.get(`${server.url}/r/0`, { maxRedirects: 3 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AxiosError);
    expect((failure as AxiosError).code).toBe('ERR_FR_TOO_MANY_REDIRECTS');
    expect(server.hits().total).toBe(4);
    expect(stats(rw, server.url)?.counters.sent).toBe(4);
  });

  test('a POST answered 303 goes on as a GET; Authorization stays behind at the other origin', async () => {
    const b = await serve(() => ({ body: 'B' }));
    const a = await redirectingA(() => `${b.url}/x`, 303);
    const rw = client();
    const api = withRatewise(axios.create(), rw);
    const reply = await api.post(`${a.url}/go`, { order: 1 }, { headers: { authorization: 'Bearer secret' } });
    expect(reply.data).toBe('B');
    expect(b.seen.map(({ method, body, headers }) => [method, body, headers.authorization])).toEqual([
      ['GET', '', undefined],
    ]);
    expect(a.seen[0]?.headers.authorization).toBe('Bearer secret');
    expect(rw.stats().map((budget) => [budget.key, budget.counters.sent])).toEqual([
      [a.url, 1],
      [b.url, 1],
    ]);
  });
});
