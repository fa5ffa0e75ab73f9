// Redirects across two hosts on 127.0.0.1 (two ports are two origins) with budgets of their own, combined with
// maxWait, close(), abort and the redirect modes, through rw.fetch and through global fetch with installRatewise.
import { describe, expect, test } from 'vitest';
import axios from 'axios';
import { withRatewise } from '../../src/adapters/axios.js';
import { installRatewise } from '../../src/adapters/undici.js';
import { isRatewiseError } from '../../src/index.js';
import type { Ratewise } from '../../src/index.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { startScriptedServer, type Script, type ScriptedRequest, type TestServer } from '../support/servers.js';
import { closeAfterEach } from '../support/close-after-each.js';

const { open, uninstalls, client } = closeAfterEach();

type Served = TestServer & { readonly seen: ScriptedRequest[]; readonly host: string };

async function serve(script: Script): Promise<Served> {
  const seen: ScriptedRequest[] = [];
  const server = await startScriptedServer((request) => {
    seen.push(request);
    return script(request);
  });
  open.push(server);
  return Object.assign(server, { seen, host: `127.0.0.1:${server.port}` });
}

/** B: answers `B <path>`. */
const plainB = (): Promise<Served> => serve(({ url }) => ({ body: `B ${url}` }));

/** A: `/go…` redirects to `target` (302); anything else answers `A <path>`. */
const redirectingA = (target: () => string): Promise<Served> =>
  serve(({ url }) => (url.startsWith('/go') ? { status: 302, headers: { location: target() } } : { body: `A ${url}` }));

const stats = (rw: Ratewise, key: string) => rw.stats().find((budget) => budget.key === key);

describe('each hop waits in the budget of its own host', () => {
  test('the hop to B waits for B’s rate; A’s budget is not held by it', async () => {
    const b = await plainB();
    const a = await redirectingA(() => `${b.url}/x`);
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const rw = client({ clock, budgets: { [b.host]: { rate: '1/s', burst: 1 } } });
    // B's one token goes to a direct call.
    expect(await (await rw.fetch(`${b.url}/direct`)).text()).toBe('B /direct');

    const redirected = rw.fetch(`${a.url}/go`);
    await expect.poll(() => stats(rw, b.url)?.queued).toBe(1);
    expect(stats(rw, a.url)).toMatchObject({ queued: 0, inFlight: 0, counters: { sent: 1, waited: 0 } });
    // A's calls still go at once.
    expect(await (await rw.fetch(`${a.url}/other`)).text()).toBe('A /other');
    clock.advance(1000);
    expect(await (await redirected).text()).toBe('B /x');
    expect(stats(rw, b.url)?.counters).toMatchObject({ sent: 2, waited: 1 });
  });

  test.each([
    ['rw.fetch', (rw: Ratewise) => (url: string, maxWait: number) => rw.fetch(url, { ratewise: { maxWait } })],
    [
      'the axios adapter',
      (rw: Ratewise) => {
        const api = withRatewise(axios.create(), rw);
        return (url: string, maxWait: number) => api.get(url, { ratewise: { maxWait } });
      },
    ],
  ])('maxWait bounds the whole redirected call through %s, not each hop apart', async (_, entry) => {
    const b = await plainB();
    const a = await redirectingA(() => `${b.url}/x`);
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const rw = client({
      clock,
      budgets: { [a.host]: { rate: '1/s', burst: 1 }, [b.host]: { rate: '1 per 2 s', burst: 1 } },
    });
    // Both tokens spent at once: A's comes back in 1 s, B's in 2 s.
    await (await rw.fetch(`${a.url}/first`)).text();
    await (await rw.fetch(`${b.url}/first`)).text();

    // Each hop alone would wait 1 s, within the call's 1.5 s; the call as a whole would wait 2 s.
    const call = entry(rw)(`${a.url}/go`, 1500) as Promise<unknown>;
    const failure = await settle(
      clock,
      call.then(
        () => 'answered',
        (error: unknown) => error,
      ),
    );
    expect(isRatewiseError(failure, 'ERR_RATEWISE_RATE_LIMITED')).toBe(true);
    expect(failure).toMatchObject({ reason: 'max-wait', key: b.url, limitMs: 1500 });
    expect(b.seen.map(({ url }) => url)).toEqual(['/first']);
  });
});

describe('close() and abort in the middle of a chain', () => {
  test('close() while the first hop is on the wire: the call fails with ClosedError, B is never asked', async () => {
    const b = await plainB();
    let answer: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (answer = resolve));
    const a = await serve(async () => {
      await held;
      return { status: 302, headers: { location: `${b.url}/x` } };
    });
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const rw = client({ clock });
    const call = rw.fetch(`${a.url}/go`).catch((error: unknown) => error);
    await expect.poll(() => a.hits().total).toBe(1);
    const closing = rw.close();
    const second = rw.close();
    expect(second).toBe(closing);
    answer();
    const failure = await call;
    expect(failure).toMatchObject({ name: 'ClosedError', code: 'ERR_RATEWISE_CLOSED' });
    await closing;
    expect(b.hits().total).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  test('close() while the hop to B waits in B’s queue: ClosedError, and close() resolves', async () => {
    const b = await plainB();
    const a = await redirectingA(() => `${b.url}/x`);
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const rw = client({ clock, budgets: { [b.host]: { rate: '1/min', burst: 1 } } });
    await (await rw.fetch(`${b.url}/first`)).text();
    const call = rw.fetch(`${a.url}/go`).catch((error: unknown) => error);
    await expect.poll(() => stats(rw, b.url)?.queued).toBe(1);
    await rw.close();
    expect(await call).toMatchObject({ name: 'ClosedError', when: 'pending' });
    expect(clock.pending()).toBe(0);
    expect(b.seen.map(({ url }) => url)).toEqual(['/first']);
  });

  test('an abort while the hop to B waits rejects with the caller’s reason, and B’s queue empties', async () => {
    const b = await plainB();
    const a = await redirectingA(() => `${b.url}/x`);
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const rw = client({ clock, budgets: { [b.host]: { rate: '1/min', burst: 1 } } });
    await (await rw.fetch(`${b.url}/first`)).text();
    const controller = new AbortController();
    const call = rw.fetch(`${a.url}/go`, { signal: controller.signal }).catch((error: unknown) => error);
    await expect.poll(() => stats(rw, b.url)?.queued).toBe(1);
    const reason = new Error('the caller gave up');
    controller.abort(reason);
    expect(await call).toBe(reason);
    expect(stats(rw, b.url)).toMatchObject({ queued: 0, inFlight: 0 });
    expect(clock.pending()).toBe(0);
  });

  test('a signal aborted before the call: rejected with its reason, nothing sent, no budget made', async () => {
    const a = await redirectingA(() => 'http://127.0.0.1:1/never');
    const rw = client({});
    const reason = new Error('already');
    await expect(rw.fetch(`${a.url}/go`, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(a.hits().total).toBe(0);
  });
});

describe('redirect modes through rw.fetch and global fetch, installed on the same client', () => {
  test("'manual' returns the 302 and 'error' rejects, each sent once and never retried; B is never asked", async () => {
    const b = await plainB();
    const a = await redirectingA(() => `${b.url}/x`);
    const rw = client({});
    uninstalls.push(installRatewise(rw));
    for (const fetcher of [rw.fetch, globalThis.fetch]) {
      const manual = await fetcher(`${a.url}/go`, { redirect: 'manual' });
      expect(manual.status).toBe(302);
      await manual.body?.cancel();
      await expect(fetcher(`${a.url}/go`, { redirect: 'error' })).rejects.toThrow(TypeError);
    }
    expect(a.hits().total).toBe(4);
    expect(b.hits().total).toBe(0);
    expect(stats(rw, a.url)?.counters).toMatchObject({ sent: 4, retries: 0 });
  });

  test('a 429 on B pauses B only: A’s calls through both entry points go on, the redirected calls wait for B', async () => {
    const b = await serve(({ index, url }) =>
      index === 0 ? { status: 429, headers: { 'retry-after': 5 } } : { body: `B ${url}` },
    );
    const a = await redirectingA(() => `${b.url}/x`);
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const rw = client({ clock });
    uninstalls.push(installRatewise(rw));
    const viaOwn = rw.fetch(`${a.url}/go/own`);
    await expect.poll(() => stats(rw, b.url)?.pausedUntil).toBeDefined();
    const viaGlobal = fetch(`${a.url}/go/global`);
    await expect.poll(() => stats(rw, b.url)?.queued).toBe(2);
    expect(stats(rw, a.url)?.pausedUntil).toBeUndefined();
    expect(await (await fetch(`${a.url}/a1`)).text()).toBe('A /a1');
    expect(await (await rw.fetch(`${a.url}/a2`)).text()).toBe('A /a2');
    const replies = await settle(clock, Promise.all([viaOwn, viaGlobal]));
    expect(await Promise.all(replies.map((reply) => reply.text()))).toEqual(['B /x', 'B /x']);
    expect(b.hits()).toMatchObject({ total: 3, rejected: 1 });
    expect(stats(rw, b.url)?.counters).toMatchObject({ sent: 3, rateLimited: 1 });
    expect(stats(rw, a.url)?.counters).toMatchObject({ sent: 4, rateLimited: 0 });
  });
});
