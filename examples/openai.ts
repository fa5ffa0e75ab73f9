// The official OpenAI SDK over rw.fetch, against a local server that limits requests and tokens at once as OpenAI's
// does (20 requests and 4,000 tokens per second, a request charged its prompt and max_tokens when admitted). Each call
// tells ratewise its tokens, counted with a tokenizer that ships its encodings (no network), so ratewise paces the
// token quota the server describes as well as the request quota: nothing is refused.
// Run: npx tsx examples/openai.ts
import { encode } from 'gpt-tokenizer';
import OpenAI from 'openai';
import { createRatewise } from 'ratewise';
import { startOpenAiServer } from './support/llm-api.js';

const server = await startOpenAiServer({ requests: 20, tokens: 4_000, windowMs: 1_000 });

const rw = createRatewise();
// ratewise retries; the SDK's own retries would stack on top of them.
const openai = new OpenAI({ apiKey: 'example', baseURL: `${server.url}/v1`, fetch: rw.fetch, maxRetries: 0 });

const MAX_TOKENS = 600;
const prompts = Array.from({ length: 12 }, (_, i) => `Write a haiku about the number ${i}.`);
const answers = await Promise.all(
  prompts.map((prompt) =>
    openai.chat.completions.create(
      { model: 'gpt-4o-mini', max_completion_tokens: MAX_TOKENS, messages: [{ role: 'user', content: prompt }] },
      // What the server charges at admission: the prompt's tokens and max_tokens. The SDK's type does not know the
      // `ratewise` field; it passes it on to rw.fetch all the same.
      { fetchOptions: { ratewise: { cost: { tokens: encode(prompt).length + MAX_TOKENS } } } as never },
    ),
  ),
);
console.log(`${answers.length} of ${prompts.length} completions`);
console.log(`refused: ${server.hits().rejected}`);
const tokens = rw.stats()[0]?.units?.tokens;
console.log(`token quota: limit ${tokens?.limit ?? '?'}`);
await rw.close();
await server.close();
