// Costs per unit as a user gets them wrong, against a server that limits requests and tokens as OpenAI does (on
// 127.0.0.1, its quotas on the fake clock): a cost that is not an amount is refused before anything is sent, a
// unit the server never names costs nothing once it has answered, and is said so once, a call that costs more than
// the server's whole limit fails at its refusal without holding the others, and a call refused though the quotas
// said it fitted spends its throttle retries.
import { expect, test } from 'vitest';
import { isRatewiseError, RateLimitError, type Ratewise, type RatewiseEvents } from '../../src/index.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import {
  startAnthropicServer,
  startOpenAiServer,
  type LlmServer,
  type LlmServerOptions,
} from '../support/llm-servers.js';
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
function settleSent<T>(clock: FakeClock, rw: Ratewise, promise: Promise<T>): Promise<T> {
  return settle(clock, promise, () => rw.stats().every(({ inFlight }) => inFlight === 0));
}

const VENDORS: [string, (options: LlmServerOptions) => Promise<LlmServer>, string][] = [
  ['OpenAI', startOpenAiServer, PATH],
  ['Anthropic', startAnthropicServer, '/v1/messages'],
];

test.each(VENDORS)(
  '%s: a call that costs more tokens than the server allows at all goes once, and its refusal fails it at once with RateLimitError (over-limit), without holding the other calls',
  async (_, startServer, path) => {
    const clock = new FakeClock(T0);
    const server = await startServer({ requests: 10, tokens: 1_000, windowMs: 2_000, now: () => clock.now() });
    open.push(server);
    const rw = client({ clock });
    const events = record(rw, ['paused', 'retry', 'giveUp']);
    const call = (maxTokens: number) =>
      rw.fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: HEADERS,
        body: JSON.stringify({ model: 'm', max_tokens: maxTokens, messages: [{ role: 'user', content: 'hi' }] }),
        ratewise: { cost: { tokens: maxTokens + 1 } },
      });
    // The first answer describes the quotas: 1,000 tokens per 2 s.
    expect((await settle(clock, call(10))).status).toBe(200);
    const big = call(5_000);
    const small = [call(10), call(10), call(10), call(10)];
    const [bigOutcome, ...smallOutcomes] = await settleSent(clock, rw, Promise.allSettled([big, ...small]));
    const bigEntry = server.log().find((entry) => entry.request?.maxTokens === 5_000)!;
    // Sent once, as soon as the token quota was whole again (the estimate might have been high: 11 tokens at 1,000
    // per 2 s come back in 22 ms), and refused for its tokens.
    expect(server.log().filter((entry) => entry.request?.maxTokens === 5_000)).toHaveLength(1);
    expect(bigEntry).toMatchObject({ status: 429, refusedBy: 'tokens', receivedAt: T0 + 22 });
    expect(bigOutcome.status).toBe('rejected');
    const error = (bigOutcome as PromiseRejectedResult).reason as RateLimitError;
    expect(error).toBeInstanceOf(RateLimitError);
    expect(isRatewiseError(error, 'ERR_RATEWISE_RATE_LIMITED')).toBe(true);
    expect(error).toMatchObject({
      reason: 'over-limit',
      sent: true,
      overLimit: { unit: 'tokens', cost: 5_001, limit: 1_000 },
    });
    expect(error.response?.status).toBe(429);
    expect(error.message).toBe(
      `Rate limited: POST ${server.url}${path} costs 5001 tokens, more than the server's limit of 1000 tokens, and the server refused it (429): it can never be admitted; budget ${JSON.stringify(server.url)}`,
    );
    // Nothing paused the budget: the other calls went at once, at the refusal's instant, and were all admitted.
    expect(smallOutcomes.map((outcome) => outcome.status === 'fulfilled' && outcome.value.status)).toEqual([
      200, 200, 200, 200,
    ]);
    const smallEntries = server.log().filter((entry) => entry.request?.maxTokens === 10);
    expect(smallEntries.map((entry) => entry.receivedAt)).toEqual([
      T0,
      ...Array<number | undefined>(4).fill(bigEntry.answeredAt),
    ]);
    expect(events).toEqual([
      [
        'giveUp',
        {
          key: server.url,
          method: 'POST',
          url: `${server.url}${path}`,
          reason: 'over-limit',
          attempts: 1,
          status: 429,
        },
      ],
    ]);
    // The calls that come after go at the server's pace too: five more fit in what is left of the quota.
    const later = await settleSent(clock, rw, Promise.all([call(10), call(10), call(10), call(10), call(10)]));
    expect(later.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    expect(server.log().filter((entry) => !entry.admitted)).toHaveLength(1);
    expect(clock.pending()).toBe(0);
  },
);

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
