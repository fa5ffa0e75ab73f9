// `installRatewise` beside `rw.fetch` (the natural setup: install for SDKs, `rw.fetch` for your own calls), and the
// life of an install: one at a time, uninstall in any order, a closed client never breaking the process's fetch.
// Against real servers on 127.0.0.1. The global dispatcher is process-global: every test puts it back afterwards.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { Dispatcher, getGlobalDispatcher, MockAgent, setGlobalDispatcher } from 'undici';
import { installRatewise, ratewiseDispatcher, RatewiseDispatcher } from '../../src/adapters/undici.js';
import { AlreadyInstalledError, isRatewiseError } from '../../src/index.js';
import type { Ratewise } from '../../src/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { startScriptedServer, type ScriptedRequest, type TestServer } from '../support/servers.js';
import { closeAfterEach } from '../support/close-after-each.js';

const { open, uninstalls, original, client } = closeAfterEach();

afterEach(() => {
  vi.restoreAllMocks();
});

/** `installRatewise(rw)`, uninstalled after the test whatever happens. */
function install(rw: Ratewise): () => void {
  const uninstall = installRatewise(rw);
  uninstalls.push(uninstall);
  return uninstall;
}

/** A server answering `ok`, that keeps every request it received. */
async function serve(): Promise<TestServer & { seen: ScriptedRequest[] }> {
  const seen: ScriptedRequest[] = [];
  const server = await startScriptedServer((request) => {
    seen.push(request);
    return { body: 'ok' };
  });
  open.push(server);
  return Object.assign(server, { seen });
}

const sent = (rw: Ratewise): number => rw.stats().reduce((sum, budget) => sum + budget.counters.sent, 0);

/** Counts the requests it passes on: something of the user's own above (or below) a ratewise dispatcher. */
class Counting extends Dispatcher {
  dispatched = 0;
  constructor(readonly inner: Dispatcher) {
    super();
  }
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.dispatched++;
    return this.inner.dispatch(options, handler);
  }
}

describe('installRatewise with rw.fetch', () => {
  // Was a deadlock: rw.fetch sent through the global fetch, which went back through rw; the outer call held the new
  // budget's only slot while the inner one waited for it.
  test('rw.fetch of the installed client is scheduled once, beside global fetch calls that go through rw', async () => {
    const server = await serve();
    const rw = client({ budgets: { '*': { concurrency: 1 } } });
    install(rw);
    const first = await rw.fetch(`${server.url}/own/0`);
    expect(await first.text()).toBe('ok');
    expect(sent(rw)).toBe(1);

    const replies = await Promise.all([
      ...[1, 2, 3].map((i) => rw.fetch(`${server.url}/own/${i}`)),
      ...[1, 2, 3].map((i) => fetch(`${server.url}/sdk/${i}`)),
    ]);
    expect(await Promise.all(replies.map((reply) => reply.text()))).toEqual(Array(6).fill('ok'));
    // Each call counted once by the one budget: as many sends as requests the server received.
    expect(server.hits().total).toBe(7);
    expect(rw.stats()).toHaveLength(1);
    expect(rw.stats()[0]).toMatchObject({ key: server.url, inFlight: 0, queued: 0, counters: { sent: 7 } });
  });

  test('an rw.fetch attempt is paced once: one token for one call', async () => {
    const server = await serve();
    const clock = new FakeClock(Date.now());
    const rw = client({ clock, budgets: { '*': { rate: '1/s', burst: 1 } } });
    const throttled: string[] = [];
    rw.on('throttled', (event) => throttled.push(event.reason));
    install(rw);
    // The bucket holds one token: the call goes without the clock moving (paced twice, it would wait for a second).
    expect(await (await rw.fetch(`${server.url}/a`)).text()).toBe('ok');
    const second = rw.fetch(`${server.url}/b`);
    await expect.poll(() => throttled).toHaveLength(1);
    clock.advance(1000);
    expect(await (await second).text()).toBe('ok');
    expect(throttled).toHaveLength(1);
    expect(rw.stats()[0]?.counters).toMatchObject({ sent: 2, waited: 1 });
    expect(server.hits().total).toBe(2);
  });

  test('two clients: one installed, the other used with rw.fetch; each call is scheduled by one of them', async () => {
    const server = await serve();
    const installed = client({ budgets: { '*': { concurrency: 1 } } });
    const own = client({ budgets: { '*': { concurrency: 1 } } });
    install(installed);
    const replies = await Promise.all([
      ...[1, 2].map((i) => own.fetch(`${server.url}/own/${i}`)),
      ...[1, 2].map((i) => fetch(`${server.url}/sdk/${i}`)),
    ]);
    await Promise.all(replies.map((reply) => reply.text()));
    expect(sent(own)).toBe(2);
    expect(sent(installed)).toBe(2);
    expect(server.hits().total).toBe(4);
  });

  test('a ratewise dispatcher given to fetch schedules the call; the installed one passes its attempt on', async () => {
    const server = await serve();
    const installed = client();
    const own = client();
    install(installed);
    const dispatcher = ratewiseDispatcher(own);
    open.push(dispatcher);
    // undici 6's fetch in Node 20 takes a dispatcher of undici 7 as it is.
    const reply = await fetch(`${server.url}/x`, { dispatcher } as RequestInit);
    expect(await reply.text()).toBe('ok');
    expect(sent(own)).toBe(1);
    expect(installed.stats()).toEqual([]);
  });

  test('what sits above the installed dispatcher still sees rw.fetch’s requests; the server sees no mark', async () => {
    const server = await serve();
    const rw = client();
    install(rw);
    const above = new Counting(getGlobalDispatcher());
    setGlobalDispatcher(above);
    const headers = { 'x-test': '1' };
    await (await rw.fetch(`${server.url}/own`, { headers })).text();
    await (await fetch(`${server.url}/sdk`, { headers })).text();
    expect(above.dispatched).toBe(2);
    expect(sent(rw)).toBe(2);
    const [own, sdk] = server.seen;
    expect(Object.keys(own!.headers).sort()).toEqual(Object.keys(sdk!.headers).sort());
    setGlobalDispatcher(above.inner);
  });

  test('rw.fetch still sends through undici’s MockAgent set as the global dispatcher, body matching included', async () => {
    const rw = client();
    open.push(ratewiseDispatcher(rw)); // rw.fetch marks its attempts once a ratewise dispatcher exists
    const mock = new MockAgent();
    mock.disableNetConnect();
    mock.get('http://api.test').intercept({ path: '/orders', method: 'POST', body: 'payload' }).reply(201, 'made');
    setGlobalDispatcher(mock);
    open.push(mock);
    const reply = await rw.fetch('http://api.test/orders', { method: 'POST', body: 'payload' });
    expect(reply.status).toBe(201);
    expect(await reply.text()).toBe('made');
  });
});

describe('one install at a time', () => {
  test('a second installRatewise while one is in place is refused with AlreadyInstalledError', async () => {
    const server = await serve();
    const a = client();
    const b = client();
    const uninstall = install(a);
    const installedDispatcher = getGlobalDispatcher();
    let refusal: unknown;
    try {
      installRatewise(b);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(AlreadyInstalledError);
    expect(isRatewiseError(refusal, 'ERR_RATEWISE_ALREADY_INSTALLED')).toBe(true);
    expect(refusal).toMatchObject({ name: 'AlreadyInstalledError', code: 'ERR_RATEWISE_ALREADY_INSTALLED' });
    expect((refusal as Error).message).toMatch(/^Already installed: installRatewise\(\) was called while/);
    expect(getGlobalDispatcher()).toBe(installedDispatcher);

    // The order: install A, install B, uninstall A, uninstall B. B was never installed: A's uninstall is
    // the last word, and puts back what was there before A.
    uninstall();
    expect(getGlobalDispatcher()).toBe(original);
    await a.close();
    await (await fetch(`${server.url}/after`)).text();
    expect(server.hits().total).toBe(1);

    // Uninstalled, the next install is accepted.
    install(b);
    await (await fetch(`${server.url}/b`)).text();
    expect(sent(b)).toBe(1);
  });

  test('uninstall leaves a dispatcher set since in place, warns once, and ratewise passes requests through', async () => {
    const server = await serve();
    const rw = client();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const uninstall = install(rw);
    // Something else wraps the global dispatcher after the install (an interceptor of the user's, say).
    const later = new Counting(getGlobalDispatcher());
    setGlobalDispatcher(later);
    uninstall();
    uninstall();
    expect(getGlobalDispatcher()).toBe(later);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/global dispatcher was replaced after installRatewise\(\)/);
    // Still in the chain, the uninstalled dispatcher no longer schedules anything.
    await (await fetch(`${server.url}/through`)).text();
    expect(later.dispatched).toBe(1);
    expect(rw.stats()).toEqual([]);
    expect(server.hits().total).toBe(1);
  });

  test('a closed client’s dispatcher passes requests through untouched: the process’s fetch keeps working', async () => {
    const server = await serve();
    const rw = client();
    install(rw);
    await (await fetch(`${server.url}/before`)).text();
    expect(getGlobalDispatcher()).toBeInstanceOf(RatewiseDispatcher);
    await rw.close();
    const reply = await fetch(`${server.url}/after`, { method: 'POST', body: 'payload' });
    expect(reply.status).toBe(200);
    expect(await reply.text()).toBe('ok');
    expect(server.seen.map(({ method, url, body }) => `${method} ${url} ${body}`)).toEqual([
      'GET /before ',
      'POST /after payload',
    ]);
    expect(sent(rw)).toBe(1);
  });
});
