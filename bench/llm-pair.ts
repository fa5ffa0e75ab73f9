// Dev tool, the `llm` section of `npm run bench` by hand: issue 15's measurement. 300 chat calls at once, token costs from a
// seeded skewed distribution (100 to 2,000), against each LLM test server (60 requests and 20,000 tokens per 2 s,
// charged prompt + max_tokens at admission), through the vendor's official SDK, paced four ways:
//   ratewise  the SDK with `fetch: rw.fetch` and `maxRetries: 0`, request budgets only;
//   ratewise-tokens  the same, each call's token cost (prompt + max_tokens) passed as `ratewise.cost.tokens` through
//             the SDK's per-request `fetchOptions`;
//   sdk       the SDK's own retries, `maxRetries: 10`, over plain fetch;
//   p-queue   p-queue set by hand to the request limit (60 per 2 s), the SDK's default retries (2).
// `npx tsx bench/llm-pair.ts [openai|anthropic|all] [ratewise|ratewise-tokens|sdk|p-queue|all] [runs] [--seed N]
// [--latency MS]`
import * as ratewise from '../src/index.js';
import type { LlmVendor } from '../test/support/llm-servers.js';
import { skewedJobs } from './llm-workload.js';
import { CALLS, clientIds as allClients, REQUESTS, runLlmPair, TOKENS, WINDOW_MS } from './sections/llm-cases.js';
import type { ClientId, LlmRow } from './sections/llm-cases.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  return at < 0 ? fallback : Number(args.splice(at, 2)[1]);
};
const seed = flag('--seed', 15);
const latencyMs = flag('--latency', 50);
const [vendorArg = 'all', clientArg = 'all', runsArg = '1'] = args;

const vendors: readonly LlmVendor[] = vendorArg === 'all' ? ['openai', 'anthropic'] : [vendorArg as LlmVendor];
const clientIds: readonly ClientId[] = clientArg === 'all' ? allClients : [clientArg as ClientId];

const jobs = skewedJobs(CALLS, { seed });
const total = jobs.reduce((sum, job) => sum + job.promptTokens + job.maxTokens, 0);
const fastestMs = (Math.max(0, total - TOKENS) / TOKENS) * WINDOW_MS;
console.log(
  `${CALLS} calls, seed ${seed}, ${total} tokens in all (fastest finish the token limit allows: ${(fastestMs / 1_000).toFixed(1)} s); ` +
    `${REQUESTS} requests and ${TOKENS} tokens per ${WINDOW_MS} ms; answers after ${latencyMs} ms`,
);
const rows: LlmRow[] = [];
for (let i = 0; i < Number(runsArg); i++) {
  for (const vendor of vendors) {
    for (const client of clientIds) {
      const row = await runLlmPair(vendor, client, jobs, ratewise, latencyMs);
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
