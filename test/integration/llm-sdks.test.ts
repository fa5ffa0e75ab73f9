// The official OpenAI and Anthropic SDKs against the local LLM servers, through plain fetch and through rw.fetch
// (request budgets only, as ratewise paces today): a completion and a streamed one each, and a 429 as each SDK
// reports it. The servers' clock stands still, so nothing here depends on timing.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterEach, describe, expect, test } from 'vitest';
import { createRatewise } from '../../src/index.js';
import type { Ratewise, RatewiseEvents, RatewiseOptions } from '../../src/index.js';
import { startAnthropicServer, startOpenAiServer } from '../support/llm-servers.js';
import type { LlmServer, LlmServerOptions } from '../support/llm-servers.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const PROMPT = 'Say something about rate limits.'; // 32 characters: 8 prompt tokens

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.map((close) => close()));
  cleanup = [];
});

async function server(vendor: 'openai' | 'anthropic', options: LlmServerOptions = {}): Promise<LlmServer> {
  const started = await (vendor === 'openai' ? startOpenAiServer : startAnthropicServer)({
    completionTokens: ({ maxTokens }) => maxTokens - 5,
    ...options,
    now: () => T0,
  });
  cleanup.push(() => started.close());
  return started;
}

interface Transport {
  readonly name: string;
  /** The fetch to hand the SDK, and the client behind it if any. */
  make(options?: RatewiseOptions): { fetch: typeof fetch; rw?: Ratewise };
}

const transports: readonly Transport[] = [
  { name: 'plain fetch', make: () => ({ fetch: globalThis.fetch }) },
  {
    name: 'rw.fetch',
    make: (options) => {
      const rw = createRatewise(options);
      cleanup.push(() => rw.close());
      return { fetch: rw.fetch, rw };
    },
  },
];

/** Every rate-limit reading the client made, by unit: what it would pace by. */
function readings(rw: Ratewise | undefined): RatewiseEvents['rateLimitInfo'][] {
  const seen: RatewiseEvents['rateLimitInfo'][] = [];
  rw?.on('rateLimitInfo', (event) => seen.push(event));
  return seen;
}

describe.each(transports)('openai SDK through $name', (transport) => {
  test('a chat completion, and a streamed one whose last chunk carries the usage', async () => {
    const api = await server('openai');
    const { fetch, rw } = transport.make();
    const seen = readings(rw);
    const client = new OpenAI({ apiKey: 'test', baseURL: `${api.url}/v1`, fetch, maxRetries: 0 });

    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      max_completion_tokens: 50,
      messages: [{ role: 'user', content: PROMPT }],
    });
    expect(completion.usage).toEqual({ prompt_tokens: 8, completion_tokens: 45, total_tokens: 53 });
    expect(completion.choices[0]!.finish_reason).toBe('stop');

    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      max_completion_tokens: 20,
      messages: [{ role: 'user', content: PROMPT }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(usage).toEqual({ prompt_tokens: 8, completion_tokens: 15, total_tokens: 23 });
    expect(text).toBe('tok '.repeat(15));

    expect(api.log().map(({ admitted, charged, finishedAt }) => ({ admitted, charged, finishedAt }))).toEqual([
      { admitted: true, charged: { requests: 1, tokens: 58 }, finishedAt: T0 },
      { admitted: true, charged: { requests: 1, tokens: 28 }, finishedAt: T0 },
    ]);
    if (rw) {
      expect(seen.map((event) => event.info.policies.map((p) => [p.unit, p.remaining]))).toEqual([
        [
          ['requests', 59],
          ['tokens', 19_942],
        ],
        [
          ['requests', 58],
          ['tokens', 19_914],
        ],
      ]);
      expect(rw.stats()[0]?.counters).toMatchObject({ sent: 2, retries: 0 });
    }
  });

  test("a 429 reaches the caller as the SDK's RateLimitError with OpenAI's body", async () => {
    const api = await server('openai', { tokens: 100 });
    // Without retries of its own, ratewise hands the 429 back as fetch would.
    const { fetch } = transport.make({ retry: { limit: 0, rateLimitLimit: 0 } });
    const client = new OpenAI({ apiKey: 'test', baseURL: `${api.url}/v1`, fetch, maxRetries: 0 });
    const call = client.chat.completions.create({
      model: 'gpt-4o-mini',
      max_completion_tokens: 200,
      messages: [{ role: 'user', content: PROMPT }],
    });
    await expect(call).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await expect(call).rejects.toMatchObject({ status: 429, type: 'tokens', code: 'rate_limit_exceeded' });
  });
});

describe.each(transports)('@anthropic-ai/sdk through $name', (transport) => {
  test('a message, and a streamed one whose message_delta carries the output tokens', async () => {
    const api = await server('anthropic');
    const { fetch, rw } = transport.make();
    const seen = readings(rw);
    const client = new Anthropic({ apiKey: 'test', baseURL: api.url, fetch, maxRetries: 0 });

    const message = await client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 50,
      messages: [{ role: 'user', content: PROMPT }],
    });
    expect(message.usage).toMatchObject({ input_tokens: 8, output_tokens: 45 });
    expect(message.stop_reason).toBe('end_turn');

    const stream = await client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 20,
      messages: [{ role: 'user', content: PROMPT }],
      stream: true,
    });
    const types: string[] = [];
    let outputTokens: number | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'message_delta') outputTokens = event.usage.output_tokens;
    }
    expect(types.at(0)).toBe('message_start');
    expect(types.at(-1)).toBe('message_stop');
    expect(outputTokens).toBe(15);

    // The SDK's own helper accumulates the same stream into the final message.
    const final = await client.messages
      .stream({ model: 'claude-sonnet-4-5', max_tokens: 12, messages: [{ role: 'user', content: PROMPT }] })
      .finalMessage();
    expect(final.usage).toMatchObject({ input_tokens: 8, output_tokens: 7 });
    expect(final.content).toMatchObject([{ type: 'text', text: 'tok '.repeat(7) }]);

    expect(api.log().map(({ charged }) => charged)).toEqual([
      { requests: 1, tokens: 58 },
      { requests: 1, tokens: 28 },
      { requests: 1, tokens: 20 },
    ]);
    if (rw) {
      expect(seen.map((event) => event.info.policies.map((p) => [p.unit, p.remaining]))).toEqual([
        [
          ['requests', 59],
          ['tokens', 19_942],
        ],
        [
          ['requests', 58],
          ['tokens', 19_914],
        ],
        [
          ['requests', 57],
          ['tokens', 19_894],
        ],
      ]);
    }
  });

  test("a 429 reaches the caller as the SDK's RateLimitError with Anthropic's body", async () => {
    // One request per 50 ms on a clock that stands still: the second is refused, however long a client waits.
    const api = await server('anthropic', { requests: 1, windowMs: 50 });
    const { fetch } = transport.make({ retry: { limit: 0, rateLimitLimit: 0 } });
    const client = new Anthropic({ apiKey: 'test', baseURL: api.url, fetch, maxRetries: 0 });
    const ask = () =>
      client.messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 10,
        messages: [{ role: 'user', content: PROMPT }],
      });
    await ask();
    const call = ask();
    await expect(call).rejects.toBeInstanceOf(Anthropic.RateLimitError);
    await expect(call).rejects.toMatchObject({
      status: 429,
      error: { type: 'error', error: { type: 'rate_limit_error' } },
    });
  });
});
