// `rw.schedule` and `rw.fetch` on one budget key (a task keyed by the origin shares the budget of the requests to it,
// as documented): whichever comes first, the requests get what a budget made by a request gives them, the slow start
// of an unknown limit and the retry budget.
import { expect, test } from 'vitest';
import type { Ratewise } from '../../src/index.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { startScriptedServer, type Script, type TestServer } from '../support/servers.js';
import { closeAfterEach } from '../support/close-after-each.js';
import { ScriptedStore } from '../engine/support/scripted-store.js';

const { open, client } = closeAfterEach();

async function serve(script: Script): Promise<TestServer> {
  const server = await startScriptedServer(script);
  open.push(server);
  return server;
}

const firsts: [string, (rw: Ratewise, origin: string) => Promise<unknown>][] = [
  ['a request', async (rw, origin) => (await rw.fetch(`${origin}/first`)).text()],
  ['a task keyed by the origin', (rw, origin) => rw.schedule(() => 'done', { key: origin })],
];

test.each(firsts)('budget made by %s: the requests that follow start with the initial window', async (_, first) => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const server = await serve(async ({ url }) => {
    if (url !== '/first') await held;
    return { body: 'ok' };
  });
  const rw = client({ budgets: { '*': { initialWindow: 4 } } });
  await first(rw, server.url);

  const calls = Array.from({ length: 12 }, (_, i) => rw.fetch(`${server.url}/x/${i}`).then((reply) => reply.text()));
  // An unknown limit: what is left of the round of the initial window goes, the rest waits for its answers.
  const [budget] = rw.stats();
  expect(budget?.inFlight).toBeGreaterThan(0);
  expect(budget?.inFlight).toBeLessThanOrEqual(4);
  expect((budget?.inFlight ?? 0) + (budget?.queued ?? 0)).toBe(12);
  release();
  expect(await Promise.all(calls)).toEqual(Array(12).fill('ok'));
});

test.each(firsts)('budget made by %s: retries after errors are bounded by the retry budget', async (_, first) => {
  const server = await serve(({ url }) => (url === '/first' ? { body: 'ok' } : { status: 500 }));
  const clock = new FakeClock(Date.UTC(2030, 0, 1));
  // A retry budget that admits no retry at all: every call gives up after its one attempt.
  const rw = client({
    clock,
    retry: { limit: 3, backoff: { baseMs: 10, maxMs: 10 }, budget: { ratio: 0, minPerSecond: 0 } },
  });
  await first(rw, server.url);
  const outcomes = await settle(
    clock,
    Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        rw.fetch(`${server.url}/x/${i}`).then(
          (reply) => reply.status,
          (error: unknown) => (error as Error).name,
        ),
      ),
    ),
  );
  expect(outcomes).toEqual(Array(5).fill('RetryBudgetExceededError'));
  expect(server.requests().filter(({ url }) => url !== '/first')).toHaveLength(5);
  expect(rw.stats()[0]?.counters.retries).toBe(0);
});

test('with a store, a budget a task made is shared once a request uses it', async () => {
  const server = await serve(() => ({ body: 'ok' }));
  const clock = new FakeClock(Date.UTC(2030, 0, 1));
  const store = new ScriptedStore(() => clock.now());
  const rw = client({ clock, store });
  await rw.schedule(() => 'done', { key: server.url });
  expect(rw.stats()[0]?.shared).toBeUndefined();
  expect(
    await settle(
      clock,
      rw.fetch(`${server.url}/x`).then((reply) => reply.text()),
    ),
  ).toBe('ok');
  expect(rw.stats()[0]).toMatchObject({ key: server.url, shared: 'store' });
  expect(store.calls.map(({ key }) => key)).toContain(server.url);
});
