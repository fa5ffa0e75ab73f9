// Costs in tokens as well as requests, against servers that limit both as OpenAI and Anthropic do (test servers on
// 127.0.0.1, real clock): each call says what admission will charge it, and ratewise paces every unit the server
// describes, so nothing is refused once the first answers are in.
import { afterEach, describe, expect, it } from 'vitest';
import { createRatewise, type Ratewise } from '../../src/index.js';
import { skewedTokenCosts, startAnthropicServer, startOpenAiServer, type LlmServer } from '../support/llm-servers.js';

let server: LlmServer | undefined;
let rw: Ratewise | undefined;

afterEach(async () => {
  await rw?.close();
  await server?.close();
  rw = undefined;
  server = undefined;
});

const openAiBody = (tokens: number) =>
  JSON.stringify({ model: 'gpt-4o-mini', max_completion_tokens: tokens, messages: [{ role: 'user', content: 'hi' }] });
const anthropicBody = (tokens: number) =>
  JSON.stringify({ model: 'claude-x', max_tokens: tokens, messages: [{ role: 'user', content: 'hi' }] });

describe.each([
  ['OpenAI', startOpenAiServer, '/v1/chat/completions', openAiBody, { authorization: 'Bearer k' }],
  ['Anthropic', startAnthropicServer, '/v1/messages', anthropicBody, { 'x-api-key': 'k', 'anthropic-version': '1' }],
] as const)('%s: 60 requests and 6,000 tokens per 1 s, 80 calls at once', (_vendor, start, path, body, headers) => {
  it('with each call’s tokens as its cost: every call succeeds, none refused after the first answers', async () => {
    server = await start({ requests: 60, tokens: 6_000, windowMs: 1_000 });
    rw = createRatewise({ retry: { maxRetryAfter: 30_000 } });
    const tokens = skewedTokenCosts(80, 7);
    const held: string[] = [];
    rw.on('throttled', (event) => {
      if (event.unit !== undefined) held.push(event.unit);
    });
    const statuses = await Promise.all(
      tokens.map(async (t) => {
        // The server charges the prompt ("hi": 1 token) and max_tokens at admission.
        const response = await rw!.fetch(`${server!.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: body(t),
          ratewise: { cost: { tokens: t + 1 } },
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    expect(statuses).toEqual(Array(80).fill(200));
    const log = server.log();
    const firstAnswer = Math.min(...log.flatMap((entry) => (entry.answeredAt === undefined ? [] : [entry.answeredAt])));
    expect(log.filter((entry) => !entry.admitted && entry.receivedAt > firstAnswer)).toEqual([]);
    // The token quota held calls back, and said so.
    expect(held).toContain('tokens');
    const [budget] = rw.stats();
    expect(budget?.units?.tokens).toMatchObject({ limit: 6_000 });
  });
});
