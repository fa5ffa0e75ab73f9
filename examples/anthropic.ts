// The official Anthropic SDK over rw.fetch, against a local server that limits requests and tokens at once as
// Anthropic's does (20 requests and 4,000 tokens per second, `anthropic-ratelimit-*` headers, `retry-after` on a 429).
// Each call tells ratewise its tokens (the prompt, counted with a tokenizer that ships its encodings, and max_tokens),
// so ratewise paces the token quota as well as the request quota: nothing is refused.
// Run: npx tsx examples/anthropic.ts
import Anthropic from '@anthropic-ai/sdk';
import { encode } from 'gpt-tokenizer';
import { createRatewise } from 'ratewise';
import { startAnthropicServer } from './support/llm-api.js';

const server = await startAnthropicServer({ requests: 20, tokens: 4_000, windowMs: 1_000 });

const rw = createRatewise();
// ratewise retries; the SDK's own retries would stack on top of them.
const anthropic = new Anthropic({ apiKey: 'example', baseURL: server.url, fetch: rw.fetch, maxRetries: 0 });

const MAX_TOKENS = 600;
const prompts = Array.from({ length: 12 }, (_, i) => `Write a haiku about the number ${i}.`);
const answers = await Promise.all(
  prompts.map((prompt) =>
    anthropic.messages.create(
      { model: 'claude-sonnet-4-5', max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: prompt }] },
      // Anthropic counts with its own tokenizer; an estimate near it is enough, since every answer says what is left.
      { fetchOptions: { ratewise: { cost: { tokens: encode(prompt).length + MAX_TOKENS } } } as never },
    ),
  ),
);
console.log(`${answers.length} of ${prompts.length} messages`);
console.log(`refused: ${server.hits().rejected}`);
const tokens = rw.stats()[0]?.units?.tokens;
console.log(`token quota: limit ${tokens?.limit ?? '?'}`);
await rw.close();
await server.close();
