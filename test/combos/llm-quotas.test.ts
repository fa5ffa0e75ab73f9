// Costs per unit as a user gets them wrong, against a server that limits requests and tokens as OpenAI does (on
// 127.0.0.1, its quotas on the fake clock): a cost that is not an amount is refused before anything is sent, a
// unit the server never names costs nothing once it has answered, and is said so once, and a call refused though the
// quotas said it fitted spends its throttle retries.
import { expect, test } from 'vitest';
import type { Ratewise, RatewiseEvents } from '../../src/index.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { startOpenAiServer, type LlmServer } from '../support/llm-servers.js';
import { closeAfterEach } from '../support/close-after-each.js';

const { open, client } = closeAfterEach();
const T0 = Date.UTC(2030, 0, 1);
const PATH = '/v1/chat/completions';
const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer k' };
const body = (maxTokens: number) =>
  JSON.stringify({
    model: 'gpt-4o-mini',
    max_completion_tokens: maxTokens,
    messages: [{ role: 'user', content: 'hi' }],
  });

async function start(clock: FakeClock): Promise<LlmServer> {
  const server = await startOpenAiServer({ requests: 10, tokens: 1_000, windowMs: 2_000, now: () => clock.now() });
  open.push(server);
  return server;
}

test.each<[string, unknown, string]>([
  ['a function', () => 5, 'Expected `ratewise.cost` to be a non-negative finite number, or a record of them per unit'],
  ['NaN', Number.NaN, 'got `NaN` (number)'],
  ['negative', -1, 'got `-1` (number)'],
  ['a negative unit', { tokens: -1 }, 'Expected `ratewise.cost.tokens` to be a non-negative finite number'],
  ['a NaN unit', { tokens: Number.NaN }, 'Expected `ratewise.cost.tokens` to be a non-negative finite number'],
  ['an endless unit', { tokens: Infinity }, 'got `Infinity` (number)'],
  ['a unit given by a function', { tokens: () => 3 }, 'Expected `ratewise.cost.tokens`'],
])('a cost that is %s rejects the call with a TypeError, and nothing is sent', async (_, cost, message) => {
  const clock = new FakeClock(T0);
  const server = await start(clock);
  const rw = client({ clock });
  const call = rw.fetch(`${server.url}${PATH}`, {
    method: 'POST',
    headers: HEADERS,
    body: body(10),
    ratewise: { cost: cost as number },
  });
  await expect(call).rejects.toThrow(TypeError);
  await expect(call).rejects.toThrow(message);
  expect(server.log()).toHaveLength(0);
  expect(clock.pending()).toBe(0);
});

test('a unit the server never names: the calls go, and unitUnlimited says so once', async () => {
  const clock = new FakeClock(T0);
  const server = await start(clock);
  const rw = client({ clock });
  const unlimited: string[] = [];
  rw.on('unitUnlimited', ({ unit }) => unlimited.push(unit));
  const call = () =>
    rw
      .fetch(`${server.url}${PATH}`, {
        method: 'POST',
        headers: HEADERS,
        body: body(10),
        ratewise: { cost: { tokens: 11, widgets: 5_000 } },
      })
      .then((response) => response.status);
  expect(await settle(clock, call())).toBe(200);
  expect(await settle(clock, Promise.all([call(), call(), call()]))).toEqual([200, 200, 200]);
  expect(unlimited).toEqual(['widgets']);
  expect(server.log().every(({ admitted }) => admitted)).toBe(true);
});

/** Every event of `names` a client emits, in order, as `[name, payload]`. */
function record<K extends keyof RatewiseEvents>(
  rw: { on<N extends K>(name: N, listener: (event: RatewiseEvents[N]) => void): () => void },
  names: readonly K[],
): [K, RatewiseEvents[K]][] {
  const seen: [K, RatewiseEvents[K]][] = [];
  for (const name of names) rw.on(name, (event) => seen.push([name, event]));
  return seen;
}

/**
 * As `settle`, but the fake clock moves only while no request of `rw` is on the wire: each request reaches the server
 * at the instant it was sent, so that the server's log tells when ratewise sent each.
 */
async function settleSent<T>(clock: FakeClock, rw: Ratewise, promise: Promise<T>): Promise<T> {
  let done = false;
  const watched = promise.finally(() => {
    done = true;
  });
  watched.catch(() => undefined);
  while (!done) {
    await new Promise((resolve) => setImmediate(resolve));
    if (rw.stats().every(({ inFlight }) => inFlight === 0)) clock.next();
  }
  return watched;
}

test('a call refused every time though the server said its quotas held it spends retry.rateLimitLimit: 5 retries, then the 429', async () => {
  const clock = new FakeClock(T0);
  const server = await startOpenAiServer({ requests: 60, tokens: 1_000, windowMs: 2_000, now: () => clock.now() });
  open.push(server);
  // Another client of the same organisation spends the tokens just before each of this call's attempts.
  let rival = false;
  const spendFirst: typeof fetch = async (input, init) => {
    const left = server.remaining().tokens ?? 0;
    if (rival && left > 6) {
      // 'hi' is 1 token: 5 tokens are left, fewer than the call's 11.
      const direct = await fetch(`${server.url}${PATH}`, { method: 'POST', headers: HEADERS, body: body(left - 6) });
      expect(direct.status).toBe(200);
      await direct.text();
    }
    return fetch(input, init);
  };
  const rw = client({ clock, fetch: spendFirst, random: () => 0.5 });
  const events = record(rw, ['giveUp']);
  const call = () =>
    rw.fetch(`${server.url}${PATH}`, {
      method: 'POST',
      headers: HEADERS,
      body: body(10),
      ratewise: { cost: { tokens: 11 } },
    });
  expect((await settle(clock, call())).status).toBe(200);
  rival = true;
  const response = await settleSent(clock, rw, call());
  expect(response.status).toBe(429);
  const own = server.log().filter((entry) => entry.request?.maxTokens === 10);
  // The first call, then this one's first attempt and its 5 retries, each refused for tokens.
  expect(own.map((entry) => entry.refusedBy)).toEqual([undefined, ...Array<string>(6).fill('tokens')]);
  expect(events).toMatchObject([['giveUp', { reason: 'rate-limit-limit', attempts: 6, status: 429 }]]);
});
