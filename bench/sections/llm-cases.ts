// The pairs of the `llm` section (issue 15): a local server that limits requests and tokens at once as OpenAI's or
// Anthropic's does, and a client that sends N chat calls at once through the vendor's official SDK, paced one of four
// ways. One pair runs in a child process (llm-probe.ts); bench/llm-pair.ts runs them by hand.
import { setMaxListeners } from 'node:events';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import PQueue from 'p-queue';
import type * as Ratewise from '../../src/index.js';
import { startAnthropicServer, startOpenAiServer } from '../../test/support/llm-servers.js';
import type { LlmServer, LlmVendor } from '../../test/support/llm-servers.js';
import { refusedAfterFirstAnswer } from '../../test/support/request-log.js';
import { tokenEfficiency } from '../llm-workload.js';
import type { LlmJob } from '../llm-workload.js';

export const CALLS = 300;
export const REQUESTS = 60;
export const TOKENS = 20_000;
export const WINDOW_MS = 2_000;
/** A run still going after this long is cut off: its unsettled calls count as failed. */
const DEADLINE_MS = 180_000;

/**
 * ratewise-tokens: the SDK over `rw.fetch` (`maxRetries: 0`), each call's token cost (prompt + max_tokens) passed as
 * `ratewise.cost.tokens` through the SDK's per-request `fetchOptions`; ratewise: the same with request budgets only;
 * sdk: the SDK's own retries (`maxRetries: 10`) over plain fetch; p-queue: p-queue set by hand to the request limit,
 * the SDK's default retries (2).
 */
export type ClientId = 'ratewise' | 'ratewise-tokens' | 'sdk' | 'p-queue';
export const clientIds: readonly ClientId[] = ['ratewise-tokens', 'ratewise', 'sdk', 'p-queue'];
export const clientLabels: Readonly<Record<ClientId, string>> = {
  'ratewise-tokens': 'ratewise, tokens as each call’s cost',
  ratewise: 'ratewise, request budgets only',
  sdk: 'the SDK’s own retries (`maxRetries: 10`)',
  'p-queue': 'p-queue at the request limit',
};

/** One chat call through the vendor's SDK; resolves when the answer has been read. */
type Call = (job: LlmJob, signal: AbortSignal) => Promise<unknown>;

function sdkCall(
  vendor: LlmVendor,
  url: string,
  fetch: typeof globalThis.fetch,
  maxRetries: number,
  tokens = false,
): Call {
  // With `tokens`, each call tells ratewise what the server will charge it at admission: the prompt and max_tokens.
  const init = (job: LlmJob): RequestInit =>
    tokens ? ({ ratewise: { cost: { tokens: job.promptTokens + job.maxTokens } } } as RequestInit) : {};
  // The servers count one token per 4 characters: this prompt costs exactly `promptTokens`.
  const content = (job: LlmJob) => 'x'.repeat(job.promptTokens * 4);
  if (vendor === 'openai') {
    const client = new OpenAI({ apiKey: 'bench', baseURL: `${url}/v1`, fetch, maxRetries });
    return (job, signal) =>
      client.chat.completions.create(
        {
          model: 'gpt-4o-mini',
          max_completion_tokens: job.maxTokens,
          messages: [{ role: 'user', content: content(job) }],
        },
        { signal, fetchOptions: init(job) as never },
      );
  }
  const client = new Anthropic({ apiKey: 'bench', baseURL: url, fetch, maxRetries });
  return (job, signal) =>
    client.messages.create(
      { model: 'claude-sonnet-4-5', max_tokens: job.maxTokens, messages: [{ role: 'user', content: content(job) }] },
      { signal, fetchOptions: init(job) as never },
    );
}

interface Pacer {
  readonly call: Call;
  /** Loop-guard reports (ratewise only). */
  loops(): number;
  close(): Promise<void>;
}

function pacer(id: ClientId, vendor: LlmVendor, url: string, { createRatewise }: typeof Ratewise): Pacer {
  if (id === 'ratewise' || id === 'ratewise-tokens') {
    const rw = createRatewise();
    let loops = 0;
    rw.on('loop', () => loops++);
    const call = sdkCall(vendor, url, rw.fetch, 0, id === 'ratewise-tokens');
    return { call, loops: () => loops, close: () => rw.close() };
  }
  if (id === 'sdk') return { call: sdkCall(vendor, url, fetch, 10), loops: () => 0, close: () => Promise.resolve() };
  const queue = new PQueue({ intervalCap: REQUESTS, interval: WINDOW_MS });
  const call = sdkCall(vendor, url, fetch, 2);
  return {
    call: (job, signal) => queue.add(() => call(job, signal), { signal }),
    loops: () => 0,
    close: () => {
      queue.clear();
      return Promise.resolve();
    },
  };
}

export interface LlmRow {
  readonly vendor: LlmVendor;
  readonly client: ClientId;
  readonly ok: number;
  readonly failed: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly sent: number;
  readonly refused: number;
  readonly refusedAfterFirstAnswer: number;
  readonly wallMs: number;
  readonly tokensAdmitted: number;
  readonly tokensPerSecond: number;
  readonly tokenEfficiency: number;
  readonly loops: number;
}

function errorName(error: unknown): string {
  if (error instanceof Error) {
    const status = (error as { status?: unknown }).status;
    // The SDKs' error classes keep `name` "Error": the class says what happened.
    const name = error.constructor.name;
    return typeof status === 'number' ? `${name} ${status}` : name;
  }
  return typeof error;
}

export async function runLlmPair(
  vendor: LlmVendor,
  client: ClientId,
  jobs: readonly LlmJob[],
  ratewise: typeof Ratewise,
  latencyMs: number,
  ready: () => Promise<void> = () => Promise.resolve(),
): Promise<LlmRow> {
  const start = vendor === 'openai' ? startOpenAiServer : startAnthropicServer;
  const server: LlmServer = await start({ requests: REQUESTS, tokens: TOKENS, windowMs: WINDOW_MS, latencyMs });
  const paced = pacer(client, vendor, server.url, ratewise);
  await ready();
  const signal = AbortSignal.timeout(DEADLINE_MS);
  // Every call listens to the one deadline.
  setMaxListeners(Infinity, signal);
  const errors: Record<string, number> = {};
  let ok = 0;
  const startedAt = performance.now();
  await Promise.all(
    jobs.map(async (job) => {
      try {
        await paced.call(job, signal);
        ok++;
      } catch (error) {
        const name = errorName(error);
        errors[name] = (errors[name] ?? 0) + 1;
      }
    }),
  );
  const wallMs = performance.now() - startedAt;
  await paced.close();
  await server.close();
  const { limit, windowMs } = server.limits.tokens!;
  const tokensAdmitted = server.admitted('tokens');
  const hits = server.hits();
  return {
    vendor,
    client,
    ok,
    failed: jobs.length - ok,
    errors,
    sent: hits.total,
    refused: hits.rejected,
    refusedAfterFirstAnswer: refusedAfterFirstAnswer(server.requests()).length,
    wallMs,
    tokensAdmitted,
    tokensPerSecond: tokensAdmitted / (wallMs / 1_000),
    tokenEfficiency: tokenEfficiency(tokensAdmitted, { capacity: limit, refillPerMs: limit / windowMs }, wallMs),
    loops: paced.loops(),
  };
}
