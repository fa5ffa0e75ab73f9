// Costs in units other than requests (tokens), shared through a real redis-server by two clients: what one spends of
// a unit's rate, or learns of the server's quota in it, holds the other's calls as well.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createRatewise } from '../../src/index.js';
import type { Ratewise, RatewiseEvents } from '../../src/index.js';
import { skewedTokenCosts, startOpenAiServer, type LlmServer } from '../support/llm-servers.js';
import { REDIS_CLIENTS, type ConnectedRedisClient } from '../support/redis-clients.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { startCountingServer, type CountingServer } from './support/counting-server.js';
import { storeOf } from './support/store.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

const library = REDIS_CLIENTS[0]!;
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});

/** A client of the store under `prefix` with `options`, closed after the test (its connection too). */
async function client(prefix: string, options: Parameters<typeof createRatewise>[0]): Promise<Ratewise> {
  const connection: ConnectedRedisClient = await library.connect(redis.url);
  open.push(connection);
  const rw = createRatewise({ ...options, store: storeOf(connection, prefix) });
  open.push(rw);
  return rw;
}

describe('units shared through Redis', () => {
  let server: CountingServer;
  beforeAll(async () => {
    server = await startCountingServer();
  });
  afterAll(async () => {
    await server.close();
  });

  test("a unit's local rate is one budget for every client: what one spends, the other waits for", async () => {
    // 1,000 tokens an hour: once spent, a call waits minutes, beyond its maxWait, and fails unsent.
    const options = {
      budgets: { [server.host]: { units: { tokens: { rate: '1000/h', burst: 1000 } } } },
      maxWait: 1_000,
      retry: { limit: 0 },
    };
    const a = await client('units-rate:', options);
    const b = await client('units-rate:', options);
    const post = (rw: Ratewise, tokens: number, signal?: AbortSignal) =>
      rw.fetch(`${server.url}/v1/x`, {
        method: 'POST',
        body: 'x',
        signal: signal ?? null,
        ratewise: { cost: { tokens }, ...(signal && { maxWait: 3_600_000 }) },
      });
    expect((await post(a, 600)).status).toBe(200);
    await expect(post(b, 600)).rejects.toMatchObject({ code: 'ERR_RATEWISE_RATE_LIMITED' });
    // Allowed to wait, the call says what holds it: the shared rate of tokens.
    const waiting = new AbortController();
    const throttled = new Promise<RatewiseEvents['throttled']>((resolve) => b.on('throttled', resolve));
    const call = post(b, 600, waiting.signal);
    call.catch(() => undefined);
    expect(await throttled).toMatchObject({ reason: 'rate', unit: 'tokens' });
    waiting.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    // 400 are left for either of them.
    expect((await post(b, 300)).status).toBe(200);
    await expect(post(a, 300)).rejects.toMatchObject({ code: 'ERR_RATEWISE_RATE_LIMITED' });
    expect(server.arrivals()).toHaveLength(2);
  });

  test('usage beyond the estimate is taken from the shared rate, usage below it given back', async () => {
    const used: number[] = [];
    const options = {
      budgets: {
        [server.host]: {
          units: { tokens: { rate: '1000/h', burst: 1000 } },
          usage: () => ({ tokens: used.shift() ?? 0 }),
        },
      },
      maxWait: 1_000,
      retry: { limit: 0 },
    };
    const a = await client('units-usage:', options);
    const b = await client('units-usage:', options);
    const post = async (rw: Ratewise, tokens: number) => {
      const response = await rw.fetch(`${server.url}/v1/y`, { method: 'POST', ratewise: { cost: { tokens } } });
      await response.text();
      return response.status;
    };
    // Estimated 100, used 700: the other client finds 300 left, not 900.
    used.push(700);
    expect(await post(a, 100)).toBe(200);
    await a.close();
    await expect(post(b, 400)).rejects.toMatchObject({ code: 'ERR_RATEWISE_RATE_LIMITED' });
    // Estimated 300, used 0: given back, so 300 are still there afterwards.
    used.push(0);
    expect(await post(b, 300)).toBe(200);
    await b.close();
    const c = await client('units-usage:', options);
    expect(await post(c, 300)).toBe(200);
  });
});

describe("the server's token quota, learnt by one client, holds the other's calls", () => {
  let llm: LlmServer;
  beforeAll(async () => {
    llm = await startOpenAiServer({ requests: 60, tokens: 6_000, windowMs: 1_000 });
  });
  afterAll(async () => {
    await llm.close();
  });

  test('two clients, 40 calls each at once with skewed token costs: every call succeeds, none refused after the first answers', async () => {
    const a = await client('units-server:', { retry: { maxRetryAfter: 30_000 } });
    const b = await client('units-server:', { retry: { maxRetryAfter: 30_000 } });
    const costs = skewedTokenCosts(80, 11);
    const statuses = await Promise.all(
      costs.map(async (tokens, i) => {
        const response = await (i % 2 === 0 ? a : b).fetch(`${llm.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
          body: JSON.stringify({
            model: 'gpt-4o-mini',
            max_completion_tokens: tokens,
            messages: [{ role: 'user', content: 'hi' }],
          }),
          ratewise: { cost: { tokens: tokens + 1 } },
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    expect(statuses).toEqual(Array(80).fill(200));
    const log = llm.log();
    const answered = log.flatMap((entry) => (entry.answeredAt === undefined ? [] : [entry.answeredAt]));
    const firstAnswer = Math.min(...answered);
    expect(log.filter((entry) => !entry.admitted && entry.receivedAt > firstAnswer)).toEqual([]);
    expect(a.stats()[0]?.shared).toBe('store');
  });
});
