// `installRatewise(rw)` and `rw.fetch` on the same client at once, against one rate-limited server on 127.0.0.1
// whose fixed windows follow the client's fake clock: each call settles once, is counted once, and `rw.stats()`
// tells what the server saw.
import { expect, test } from 'vitest';
import { getGlobalDispatcher } from 'undici';
import { installRatewise } from '../../src/adapters/undici.js';
import type { Ratewise } from '../../src/index.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { windowedServer } from './support.js';
import { closeAfterEach } from '../support/close-after-each.js';

const { open, uninstalls, original, client } = closeAfterEach();

const total = (rw: Ratewise, counter: 'sent' | 'rateLimited' | 'retries'): number =>
  rw.stats().reduce((sum, budget) => sum + budget.counters[counter], 0);

test('global fetch and rw.fetch at once: each call settles once and is counted once; stats match the server', async () => {
  const clock = new FakeClock(Date.UTC(2030, 0, 1));
  const server = await windowedServer(clock, { limit: 4, windowMs: 1000 });
  open.push(server);
  const rw = client({ clock });
  const uninstall = installRatewise(rw);
  uninstalls.push(uninstall);
  const installed = getGlobalDispatcher();
  expect(installed).not.toBe(original);

  let settledCount = 0;
  const calls = Array.from({ length: 24 }, (_, i) =>
    (i % 2 === 0 ? fetch(`${server.url}/sdk/${i}`) : rw.fetch(`${server.url}/own/${i}`)).then(async (reply) => {
      settledCount++;
      return [reply.status, await reply.text()] as const;
    }),
  );
  const replies = await settle(clock, Promise.all(calls));
  expect(replies.map(([status]) => status)).toEqual(Array(24).fill(200));
  expect(settledCount).toBe(24);

  const hits = server.hits();
  expect(hits.accepted).toBe(24);
  expect(hits.rejected).toBeGreaterThan(0);
  // The host's budget, and a route's own where a refusal of one route set it apart.
  const budgets = rw.stats();
  for (const budget of budgets) expect(budget).toMatchObject({ queued: 0, inFlight: 0 });
  expect(budgets.every(({ key }) => key.startsWith(server.url))).toBe(true);
  // One send per request the server received, one refusal counted per 429 it wrote.
  expect(total(rw, 'sent')).toBe(hits.total);
  expect(total(rw, 'rateLimited')).toBe(hits.rejected);
  expect(total(rw, 'retries')).toBe(hits.rejected);

  uninstall();
  expect(getGlobalDispatcher()).toBe(original);
  // Uninstalled, global fetch no longer reaches rw.
  expect((await fetch(`${server.url}/after`)).status).toBe(200);
  expect(total(rw, 'sent')).toBe(hits.total);
});

test('close() while global fetch and rw.fetch calls wait: each fails once, no timer is left, fetch keeps working', async () => {
  const clock = new FakeClock(Date.UTC(2030, 0, 1));
  const server = await windowedServer(clock, { limit: 1, windowMs: 60_000 });
  open.push(server);
  const rw = client({ clock, budgets: { '*': { initialWindow: 1 } } });
  uninstalls.push(installRatewise(rw));

  // One request per minute: the first is accepted, the next refused, and the budget pauses.
  expect((await fetch(`${server.url}/a`)).status).toBe(200);
  const outcomes: string[] = [];
  const note = (name: string) => (outcome: unknown) => {
    outcomes.push(`${name}: ${outcome instanceof Error ? describe(outcome) : 'resolved'}`);
  };
  const viaGlobal = fetch(`${server.url}/a`).then(note('global'), note('global'));
  await expect.poll(() => rw.stats()[0]?.pausedUntil).toBeDefined();
  const viaOwn = rw.fetch(`${server.url}/a`).then(note('own'), note('own'));
  await expect.poll(() => rw.stats()[0]?.queued).toBe(2);

  const closing = rw.close();
  await Promise.all([viaGlobal, viaOwn, closing]);
  expect(outcomes.sort()).toEqual(['global: TypeError(ClosedError)', 'own: ClosedError']);
  expect(clock.pending()).toBe(0);
  expect(server.hits().total).toBe(2);
  await rw.close();

  // Closed and still installed: global fetch passes through, rw.fetch refuses.
  clock.advance(60_000);
  expect((await fetch(`${server.url}/b`)).status).toBe(200);
  await expect(rw.fetch(`${server.url}/c`)).rejects.toMatchObject({ name: 'ClosedError' });
});

/** An error's name, and its cause's when it has one: `TypeError(ClosedError)`. */
function describe(error: Error): string {
  return error.cause instanceof Error ? `${error.name}(${error.cause.name})` : error.name;
}
