// Estimates settled by what the answers report (`budgets[p].usage`), against an OpenAI-like server on 127.0.0.1:
// plain and streamed completions; after every call has settled, what the budget charged is the actual usage.
import { afterEach, describe, expect, it } from 'vitest';
import { createRatewise, type Ratewise, type RatewiseEvents, type UsageInput } from '../../src/index.js';
import { startOpenAiServer, type LlmServer } from '../support/llm-servers.js';

let server: LlmServer | undefined;
let rw: Ratewise | undefined;

afterEach(async () => {
  await rw?.close();
  await server?.close();
  rw = undefined;
  server = undefined;
});

/** OpenAI's `usage.total_tokens`, from a JSON body or the last chunk of a stream that includes usage. */
function openAiUsage({ bodyText }: UsageInput): Record<string, number> | undefined {
  if (bodyText === undefined) return undefined;
  const bodies = bodyText.trimStart().startsWith('{')
    ? [bodyText]
    : bodyText
        .split('\n')
        .filter((line) => line.startsWith('data: {'))
        .map((line) => line.slice('data: '.length));
  for (const body of bodies.reverse()) {
    const usage = (JSON.parse(body) as { usage?: { total_tokens: number } | null }).usage;
    if (usage) return { tokens: usage.total_tokens };
  }
  return undefined;
}

const MAX_TOKENS = 500;
/** What the server charges at admission: the prompt ("hi": 1 token) and max_tokens. */
const ESTIMATE = 1 + MAX_TOKENS;

async function complete(stream: boolean): Promise<void> {
  const response = await rw!.fetch(`${server!.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
    body: JSON.stringify({
      model: 'gpt-4o-mini',
      max_completion_tokens: MAX_TOKENS,
      messages: [{ role: 'user', content: 'hi' }],
      ...(stream && { stream: true, stream_options: { include_usage: true } }),
    }),
    ratewise: { cost: { tokens: ESTIMATE } },
  });
  await response.text();
}

describe('budgets[p].usage', () => {
  it('replaces each estimate by the usage its answer reports, streamed answers once their stream has ended', async () => {
    // Each answer uses 120 completion tokens of the 500 declared.
    server = await startOpenAiServer({ requests: 100, tokens: 100_000, completionTokens: () => 120 });
    rw = createRatewise({ budgets: { '*': { usage: openAiUsage, units: { tokens: { rate: '100000/s' } } } } });
    await Promise.all([
      ...Array.from({ length: 8 }, () => complete(false)),
      ...Array.from({ length: 4 }, () => complete(true)),
    ]);
    await server.idle();
    // The copies are read and the hooks run after the calls settle: wait for them on the stats.
    const charged = () => rw!.stats()[0]?.units?.tokens?.charged;
    await expect.poll(charged).toBe(12 * (1 + 120));
  });

  it('keeps the estimates, and says why, when the hook throws or returns nonsense', async () => {
    server = await startOpenAiServer({ requests: 100, tokens: 100_000, completionTokens: () => 120 });
    const answers: unknown[] = [new Error('bad JSON'), { tokens: -1 }, 'many', { tokens: Number.NaN }];
    let n = 0;
    rw = createRatewise({
      budgets: {
        '*': {
          usage: () => {
            const answer = answers[n++ % answers.length];
            if (answer instanceof Error) throw answer;
            return answer as Record<string, number>;
          },
        },
      },
    });
    const ignored: RatewiseEvents['usageIgnored'][] = [];
    rw.on('usageIgnored', (event) => ignored.push(event));
    for (let i = 0; i < 4; i++) await complete(false);
    await expect.poll(() => ignored.length).toBe(4);
    expect(ignored.map((event) => event.reason)).toEqual([
      'the hook threw Error: bad JSON',
      'the hook returned `-1` (number) for "tokens", not a finite amount >= 0',
      'the hook returned `"many"` (string), not a record of amounts per unit',
      'the hook returned `NaN` (number) for "tokens", not a finite amount >= 0',
    ]);
    expect(rw.stats()[0]?.units?.tokens?.charged).toBe(4 * ESTIMATE);
  });
});
