// Dev tool (not part of `npm run bench` yet): issue 15's measurement. 300 chat calls at once, token costs from a
// seeded skewed distribution (100 to 2,000), against each LLM test server (60 requests and 20,000 tokens per 2 s,
// charged prompt + max_tokens at admission), through the vendor's official SDK, paced three ways:
//   ratewise  the SDK with `fetch: rw.fetch` and `maxRetries: 0`, ratewise as it is today (request budgets only);
//   sdk       the SDK's own retries, `maxRetries: 10`, over plain fetch;
//   p-queue   p-queue set by hand to the request limit (60 per 2 s), the SDK's default retries (2).
// `npx tsx bench/llm-pair.ts [openai|anthropic|all] [ratewise|sdk|p-queue|all] [runs] [--seed N] [--latency MS]`
import { setMaxListeners } from 'node:events';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import PQueue from 'p-queue';
import { createRatewise } from '../src/index.js';
import { startAnthropicServer, startOpenAiServer } from '../test/support/llm-servers.js';
import type { LlmServer, LlmVendor } from '../test/support/llm-servers.js';
import { refusedAfterFirstAnswer } from '../test/support/request-log.js';
import { skewedJobs, tokenEfficiency } from './llm-workload.js';
import type { LlmJob } from './llm-workload.js';

const CALLS = 300;
const REQUESTS = 60;
const TOKENS = 20_000;
const WINDOW_MS = 2_000;
/** A run still going after this long is cut off: its unsettled calls count as failed. */
const DEADLINE_MS = 180_000;

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  return at < 0 ? fallback : Number(args.splice(at, 2)[1]);
};
const seed = flag('--seed', 15);
const latencyMs = flag('--latency', 50);
const [vendorArg = 'all', clientArg = 'all', runsArg = '1'] = args;

type ClientId = 'ratewise' | 'sdk' | 'p-queue';
const vendors: readonly LlmVendor[] = vendorArg === 'all' ? ['openai', 'anthropic'] : [vendorArg as LlmVendor];
const clientIds: readonly ClientId[] = clientArg === 'all' ? ['ratewise', 'sdk', 'p-queue'] : [clientArg as ClientId];

/** One chat call through the vendor's SDK; resolves when the answer has been read. */
type Call = (job: LlmJob, signal: AbortSignal) => Promise<unknown>;

function sdkCall(vendor: LlmVendor, url: string, fetch: typeof globalThis.fetch, maxRetries: number): Call {
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
        { signal },
      );
  }
  const client = new Anthropic({ apiKey: 'bench', baseURL: url, fetch, maxRetries });
  return (job, signal) =>
    client.messages.create(
      { model: 'claude-sonnet-4-5', max_tokens: job.maxTokens, messages: [{ role: 'user', content: content(job) }] },
      { signal },
    );
}

interface Pacer {
  readonly call: Call;
  /** Loop-guard reports (ratewise only). */
  loops(): number;
  close(): Promise<void>;
}

function pacer(id: ClientId, vendor: LlmVendor, url: string): Pacer {
  if (id === 'ratewise') {
    const rw = createRatewise();
    let loops = 0;
    rw.on('loop', () => loops++);
    return { call: sdkCall(vendor, url, rw.fetch, 0), loops: () => loops, close: () => rw.close() };
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

interface Row {
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

async function run(vendor: LlmVendor, client: ClientId, jobs: readonly LlmJob[]): Promise<Row> {
  const start = vendor === 'openai' ? startOpenAiServer : startAnthropicServer;
  const server: LlmServer = await start({ requests: REQUESTS, tokens: TOKENS, windowMs: WINDOW_MS, latencyMs });
  const paced = pacer(client, vendor, server.url);
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

const jobs = skewedJobs(CALLS, { seed });
const total = jobs.reduce((sum, job) => sum + job.promptTokens + job.maxTokens, 0);
const fastestMs = (Math.max(0, total - TOKENS) / TOKENS) * WINDOW_MS;
console.log(
  `${CALLS} calls, seed ${seed}, ${total} tokens in all (fastest finish the token limit allows: ${(fastestMs / 1_000).toFixed(1)} s); ` +
    `${REQUESTS} requests and ${TOKENS} tokens per ${WINDOW_MS} ms; answers after ${latencyMs} ms`,
);
const rows: Row[] = [];
for (let i = 0; i < Number(runsArg); i++) {
  for (const vendor of vendors) {
    for (const client of clientIds) {
      const row = await run(vendor, client, jobs);
      rows.push(row);
      console.log(
        JSON.stringify({
          ...row,
          wallMs: Math.round(row.wallMs),
          tokensPerSecond: Math.round(row.tokensPerSecond),
          tokenEfficiency: +row.tokenEfficiency.toFixed(3),
        }),
      );
    }
  }
}
console.log(
  '\n| server | client | ok | failed | sent | refused (after 1st answer) | wall | tokens/s | token efficiency |',
);
console.log('| --- | --- | --: | --: | --: | --: | --: | --: | --: |');
for (const row of rows) {
  console.log(
    `| ${row.vendor} | ${row.client} | ${row.ok} | ${row.failed} | ${row.sent} | ${row.refused} (${row.refusedAfterFirstAnswer}) | ` +
      `${(row.wallMs / 1_000).toFixed(1)} s | ${Math.round(row.tokensPerSecond)} | ${row.tokenEfficiency.toFixed(3)} |`,
  );
}
