// The LLM stand-ins themselves: their limits hold, their answers have the vendors' shapes, and ratewise's own
// parseRateLimit reads their fields into the per-unit values they mean. Time is the servers' injected clock (`now`),
// so every remaining count and reset below is exact.
import { afterEach, describe, expect, test } from 'vitest';
import { parseRateLimit } from '../../src/headers/index.js';
import { countTokens, goDuration, promptTokens, rfc3339, UnitBucket } from './llm-limits.js';
import { startAnthropicServer, startOpenAiServer } from './llm-servers.js';
import type { LlmServer, LlmServerOptions } from './llm-servers.js';

/** A whole second, so that the `date` field (whole seconds) is the server's exact instant. */
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

let servers: LlmServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

/** A server whose clock stands still unless the test moves it. */
async function start(vendor: 'openai' | 'anthropic', options: LlmServerOptions = {}) {
  const clock = { t: T0 };
  const server = await (vendor === 'openai' ? startOpenAiServer : startAnthropicServer)({
    ...options,
    now: () => clock.t,
  });
  servers.push(server);
  return { server, clock };
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** A chat request with a prompt of `chars` characters and `maxTokens` declared. */
async function call(server: LlmServer, chars: number, maxTokens: number, extra: object = {}): Promise<Answer> {
  const path = server.vendor === 'openai' ? '/v1/chat/completions' : '/v1/messages';
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer test', 'x-api-key': 'test' },
    body: JSON.stringify({
      model: 'test-model',
      max_tokens: maxTokens,
      messages: [{ role: 'user', content: 'x'.repeat(chars) }],
      ...extra,
    }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** The data of every SSE event, in order (`[DONE]` kept as a string). */
function sseData(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const data = block
        .split('\n')
        .find((line) => line.startsWith('data: '))!
        .slice(6);
      return data === '[DONE]' ? data : (JSON.parse(data) as unknown);
    });
}

describe('UnitBucket', () => {
  test('starts full, refills continuously up to its limit, admits only a whole charge', () => {
    const bucket = new UnitBucket({ limit: 100, windowMs: 1_000 }, 0);
    expect(bucket.holds(100, 0)).toBe(true);
    bucket.take(80, 0);
    expect(bucket.remaining(0)).toBe(20);
    expect(bucket.holds(30, 0)).toBe(false);
    expect(bucket.msUntil(30, 0)).toBe(100);
    expect(bucket.holds(30, 100)).toBe(true);
    expect(bucket.msUntilFull(100)).toBe(700);
    expect(bucket.remaining(5_000)).toBe(100);
  });

  test('a credit never fills it past its limit; a charge above the limit never fits', () => {
    const bucket = new UnitBucket({ limit: 10, windowMs: 1_000 }, 0);
    bucket.take(4, 0);
    bucket.credit(9, 0);
    expect(bucket.level(0)).toBe(10);
    expect(bucket.msUntil(11, 0)).toBe(Infinity);
  });
});

describe('token counts and reset formats', () => {
  test('one token per 4 characters, rounded up, over every message text and Anthropic system prompt', () => {
    expect([0, 1, 4, 5].map((n) => countTokens('x'.repeat(n)))).toEqual([0, 1, 1, 2]);
    expect(
      promptTokens({
        system: [{ type: 'text', text: 'abcd' }],
        messages: [
          { role: 'user', content: 'abcd' },
          { role: 'assistant', content: [{ type: 'text', text: 'ab' }, { type: 'image' }] },
        ],
      }),
    ).toBe(3);
  });

  test("OpenAI's resets are Go durations, rounded up to the ms", () => {
    expect([0, 0.2, 120, 1_000, 8_640, 360_000, 3_723_500].map(goDuration)).toEqual([
      '0s',
      '1ms',
      '120ms',
      '1s',
      '8.64s',
      '6m0s',
      '1h2m3.5s',
    ]);
  });

  test("Anthropic's resets are RFC 3339 instants, in ms or rounded up to the whole second", () => {
    expect(rfc3339(T0 + 1_250.5, 'ms')).toBe('2026-01-01T12:00:01.251Z');
    expect(rfc3339(T0 + 1_250, 's')).toBe('2026-01-01T12:00:02Z');
  });
});

describe('OpenAI server', () => {
  test("the requests limit holds; a refusal is a 429 with OpenAI's body; parseRateLimit reads both units", async () => {
    const { server, clock } = await start('openai', { requests: 3, tokens: 100_000, windowMs: 3_000 });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await call(server, 40, 10));
    expect(answers.map(({ status }) => status)).toEqual([200, 200, 200, 429]);
    const refusal = answers[3]!;
    expect(JSON.parse(refusal.text)).toEqual({
      error: {
        message:
          'Rate limit reached for test-model in organization org-ratewise-test on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more.',
        type: 'requests',
        param: null,
        code: 'rate_limit_exceeded',
      },
    });
    expect(refusal.headers.has('retry-after')).toBe(false);
    // 3 requests per 3 s refill one per second; 3 x (10 + 10) tokens were charged.
    expect(parseRateLimit(refusal.headers, { now: T0, status: 429 })).toEqual({
      isRateLimited: true,
      limit: 3,
      remaining: 0,
      resetAt: T0 + 3_000,
      policies: [
        { source: 'openai', name: 'requests', unit: 'requests', limit: 3, remaining: 0, resetAt: T0 + 3_000 },
        { source: 'openai', name: 'tokens', unit: 'tokens', limit: 100_000, remaining: 99_940, resetAt: T0 + 2 },
      ],
    });
    expect(refusal.headers.get('x-ratelimit-reset-requests')).toBe('3s');
    expect(refusal.headers.get('x-ratelimit-reset-tokens')).toBe('2ms');
    clock.t += 1_000;
    expect((await call(server, 40, 10)).status).toBe(200);
    expect(server.log().map((entry) => [entry.admitted, entry.refusedBy, entry.charged])).toEqual([
      [true, undefined, { requests: 1, tokens: 20 }],
      [true, undefined, { requests: 1, tokens: 20 }],
      [true, undefined, { requests: 1, tokens: 20 }],
      [false, 'requests', {}],
      [true, undefined, { requests: 1, tokens: 20 }],
    ]);
  });

  test('the tokens limit holds at once: prompt tokens + max_tokens are charged at admission', async () => {
    const { server, clock } = await start('openai', {
      requests: 100,
      tokens: 1_000,
      windowMs: 2_000,
      retryAfter: true,
    });
    // 100 characters = 25 prompt tokens, + 300 declared = 325 a request.
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(server, 100, 300)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refusal = await call(server, 100, 300);
    expect(JSON.parse(refusal.text)).toMatchObject({
      error: {
        message: expect.stringContaining(
          'on tokens per min (TPM): Limit 1000, Used 975, Requested 325. Please try again in 600ms.',
        ) as string,
        type: 'tokens',
        code: 'rate_limit_exceeded',
      },
    });
    expect(refusal.headers.get('retry-after')).toBe('1');
    const info = parseRateLimit(refusal.headers, { now: T0, status: 429 });
    // No unit is exhausted, so the requests policy is the one selected, although tokens refused the request.
    expect({ limit: info.limit, remaining: info.remaining, resetAt: info.resetAt }).toEqual({
      limit: 100,
      remaining: 97,
      resetAt: T0 + 60,
    });
    expect(info.policies.find((policy) => policy.unit === 'tokens')).toEqual({
      source: 'openai',
      name: 'tokens',
      unit: 'tokens',
      limit: 1_000,
      remaining: 25,
      resetAt: T0 + 1_950,
    });
    clock.t += 599;
    expect((await call(server, 100, 300)).status).toBe(429);
    clock.t += 1;
    expect((await call(server, 100, 300)).status).toBe(200);
    expect(server.admitted('tokens')).toBe(1_300);
    expect(server.remaining()).toEqual({ requests: 99, tokens: 0 });
  });

  test('a request larger than the whole token limit is refused for good, with OpenAI\'s "Request too large"', async () => {
    const { server } = await start('openai', { tokens: 500 });
    const refusal = await call(server, 0, 501);
    expect(refusal.status).toBe(429);
    expect(JSON.parse(refusal.text)).toMatchObject({
      error: { message: expect.stringContaining('Request too large for test-model') as string, type: 'tokens' },
    });
  });

  test('a completion reports usage; actual completion tokens may differ from max_tokens', async () => {
    const { server } = await start('openai', { completionTokens: ({ maxTokens }) => maxTokens / 2 });
    const answer = await call(server, 8, 100);
    expect(answer.headers.get('content-type')).toBe('application/json');
    const body = JSON.parse(answer.text) as { choices: { message: { content: string }; finish_reason: string }[] };
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'test-model',
      usage: { prompt_tokens: 2, completion_tokens: 50, total_tokens: 52 },
    });
    expect(countTokens(body.choices[0]!.message.content)).toBe(50);
    expect(body.choices[0]!.finish_reason).toBe('stop');
    expect(server.log()[0]).toMatchObject({
      charged: { requests: 1, tokens: 102 },
      usage: { promptTokens: 2, completionTokens: 50 },
      credited: {},
      finishedAt: T0,
    });
  });

  test('a stream ends with a usage chunk only when stream_options.include_usage is set', async () => {
    const { server } = await start('openai', { streamChunks: 2 });
    const plain = await call(server, 4, 10, { stream: true });
    expect(plain.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const plainEvents = sseData(plain.text);
    expect(plainEvents.at(-1)).toBe('[DONE]');
    expect(plainEvents.slice(0, -1).every((chunk) => !Object.hasOwn(chunk as object, 'usage'))).toBe(true);

    const counted = sseData(
      (await call(server, 4, 10, { stream: true, stream_options: { include_usage: true } })).text,
    );
    expect(counted).toHaveLength(6); // the role, 2 pieces of text, the finish, the usage, [DONE]
    expect(counted.slice(0, -2).every((chunk) => (chunk as { usage: unknown }).usage === null)).toBe(true);
    expect(counted.at(-2)).toMatchObject({
      object: 'chat.completion.chunk',
      choices: [],
      usage: { prompt_tokens: 1, completion_tokens: 10, total_tokens: 11 },
    });
    const text = counted
      .slice(0, -2)
      .map((chunk) => (chunk as { choices: { delta: { content?: string } }[] }).choices[0]!.delta.content ?? '')
      .join('');
    expect(countTokens(text)).toBe(10);
  });

  test('bad requests get OpenAI-shaped 400, 401 and 404 answers and are charged nothing', async () => {
    const { server } = await start('openai');
    const noKey = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect([noKey.status, ((await noKey.json()) as { error: { type: string } }).error.type]).toEqual([
      401,
      'invalid_request_error',
    ]);
    const headers = { authorization: 'Bearer test' };
    const notJson = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers, body: 'x' });
    expect(notJson.status).toBe(400);
    await notJson.arrayBuffer();
    const elsewhere = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', headers, body: '{}' });
    expect(elsewhere.status).toBe(404);
    await elsewhere.arrayBuffer();
    expect(server.admitted('requests')).toBe(0);
    expect(server.hits()).toMatchObject({ total: 3, accepted: 0, rejected: 0, byStatus: { 400: 1, 401: 1, 404: 1 } });
  });
});

describe('Anthropic server', () => {
  test("every limited unit is charged and stated; a 429 carries retry-after and Anthropic's body", async () => {
    const { server, clock } = await start('anthropic', {
      requests: 10,
      tokens: 1_000,
      inputTokens: 600,
      outputTokens: 500,
      windowMs: 1_000,
    });
    // 200 characters = 50 input tokens; 200 output tokens declared: output tokens run out on the 3rd.
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await call(server, 200, 200));
    expect(answers.map(({ status }) => status)).toEqual([200, 200, 429]);
    const [, second, refusal] = answers;
    expect(second!.headers.get('anthropic-ratelimit-output-tokens-reset')).toBe('2026-01-01T12:00:00.800Z');
    expect(refusal!.headers.get('retry-after')).toBe('1');
    expect(JSON.parse(refusal!.text)).toEqual({
      type: 'error',
      error: {
        type: 'rate_limit_error',
        message:
          "This request would exceed your organization's rate limit of 500 output tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.",
      },
      request_id: expect.stringMatching(/^req_/) as string,
    });
    expect(parseRateLimit(refusal!.headers, { now: T0, status: 429 })).toEqual({
      isRateLimited: true,
      limit: 10,
      remaining: 8,
      resetAt: T0 + 200,
      retryAt: T0 + 1_000,
      policies: [
        { source: 'anthropic', name: 'requests', unit: 'requests', limit: 10, remaining: 8, resetAt: T0 + 200 },
        { source: 'anthropic', name: 'tokens', unit: 'tokens', limit: 1_000, remaining: 500, resetAt: T0 + 500 },
        {
          source: 'anthropic',
          name: 'input-tokens',
          unit: 'input-tokens',
          limit: 600,
          remaining: 500,
          resetAt: T0 + 167,
        },
        {
          source: 'anthropic',
          name: 'output-tokens',
          unit: 'output-tokens',
          limit: 500,
          remaining: 100,
          resetAt: T0 + 800,
        },
      ],
    });
    expect(server.log()[2]).toMatchObject({ admitted: false, refusedBy: 'output-tokens', charged: {} });
    clock.t += 200;
    expect((await call(server, 200, 200)).status).toBe(200);
  });

  test('an exhausted unit is the one parseRateLimit selects', async () => {
    const { server } = await start('anthropic', { requests: 2, windowMs: 1_000 });
    await call(server, 4, 10);
    const last = await call(server, 4, 10);
    const info = parseRateLimit(last.headers, { now: T0, status: last.status });
    expect([info.limit, info.remaining, info.resetAt]).toEqual([2, 0, T0 + 1_000]);
    expect(info.policies.map((policy) => policy.unit)).toEqual(['requests', 'tokens']);
  });

  test('whole-second resets as Anthropic sends them are rounded up', async () => {
    const { server } = await start('anthropic', { requests: 10, windowMs: 1_000, resetPrecision: 's' });
    const answer = await call(server, 4, 10);
    expect(answer.headers.get('anthropic-ratelimit-requests-reset')).toBe('2026-01-01T12:00:01Z');
  });

  test('max_tokens is required; the key goes in x-api-key', async () => {
    const { server } = await start('anthropic');
    const noKey = await fetch(`${server.url}/v1/messages`, { method: 'POST', body: '{}' });
    expect(await noKey.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const response = await fetch(`${server.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'test' },
      body: JSON.stringify({ model: 'm', messages: [] }),
    });
    expect([response.status, await response.json()]).toEqual([
      400,
      {
        type: 'error',
        error: { type: 'invalid_request_error', message: 'max_tokens: Field required' },
        request_id: expect.any(String) as string,
      },
    ]);
  });

  test('a stream runs message_start to message_stop, with usage in message_start and message_delta', async () => {
    const { server } = await start('anthropic', { streamChunks: 2, completionTokens: () => 6 });
    const answer = await call(server, 40, 10, { stream: true });
    expect(answer.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = sseData(answer.text) as { type: string }[];
    expect(events.map(({ type }) => type)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(answer.text.startsWith('event: message_start\ndata: ')).toBe(true);
    expect(events[0]).toMatchObject({ message: { usage: { input_tokens: 10, output_tokens: 1 } } });
    expect(events[6]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 6 },
    });
  });

  test('with settle, what a request was charged beyond its usage comes back when its answer ends', async () => {
    const { server } = await start('anthropic', {
      tokens: 1_000,
      outputTokens: 800,
      settle: true,
      completionTokens: () => 100,
    });
    await call(server, 400, 300);
    expect(server.log()[0]).toMatchObject({
      charged: { requests: 1, tokens: 400, 'output-tokens': 300 },
      usage: { promptTokens: 100, completionTokens: 100 },
      credited: { tokens: 200, 'output-tokens': 200 },
    });
    expect(server.remaining()).toEqual({ requests: 59, tokens: 800, 'output-tokens': 700 });
  });
});

describe('a stream the client leaves', () => {
  test.each(['openai', 'anthropic'] as const)(
    '%s: the request stays charged, reports no usage and is not settled',
    async (vendor) => {
      // An hour between two events: the stream is still running when the client goes.
      const { server } = await start(vendor, { streamIntervalMs: 3_600_000, settle: true, completionTokens: () => 1 });
      const path = vendor === 'openai' ? '/v1/chat/completions' : '/v1/messages';
      const controller = new AbortController();
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { authorization: 'Bearer test' },
        body: JSON.stringify({
          model: 'm',
          max_tokens: 100,
          stream: true,
          messages: [{ role: 'user', content: 'abcd' }],
        }),
        signal: controller.signal,
      });
      const first = await response.body!.getReader().read();
      expect(new TextDecoder().decode(first.value)).toMatch(vendor === 'openai' ? /^data: / : /^event: message_start/);
      controller.abort();
      await server.idle();
      expect(server.log()[0]).toMatchObject({
        status: 200,
        admitted: true,
        charged: { requests: 1, tokens: 101 },
        usage: undefined,
        credited: {},
        finishedAt: undefined,
      });
      expect(server.hits().inFlight).toBe(0);
    },
  );
});

describe('under a burst on the wall clock', () => {
  test.each(['openai', 'anthropic'] as const)(
    '%s: what is admitted never exceeds capacity + refill over the time the decisions took',
    async (vendor) => {
      const server = await (vendor === 'openai' ? startOpenAiServer : startAnthropicServer)({
        requests: 60,
        tokens: 20_000,
        windowMs: 2_000,
      });
      servers.push(server);
      const answers = await Promise.all(Array.from({ length: 120 }, (_, i) => call(server, 400, 100 + (i % 10) * 190)));
      const log = server.log();
      const first = Math.min(...log.map((entry) => entry.receivedAt));
      const last = Math.max(...log.map((entry) => entry.answeredAt!));
      for (const unit of ['requests', 'tokens'] as const) {
        const { limit, windowMs } = server.limits[unit]!;
        expect(server.admitted(unit)).toBeLessThanOrEqual(limit + (limit / windowMs) * (last - first));
      }
      expect(answers.filter(({ status }) => status === 429).length).toBe(server.hits().rejected);
      expect(server.hits().rejected).toBeGreaterThan(0);
    },
  );
});
