// Section: LLM APIs that limit requests and tokens at once (issue 15). N chat calls at once with skewed token costs,
// through each vendor's official SDK, against local servers that answer as OpenAI's and Anthropic's documentation
// describes, paced by ratewise with each call's tokens as its cost, by ratewise with request budgets only, by the
// SDK's own retries, and by p-queue set to the request limit.
import { runTogether } from '../child.js';
import { compileRatewise } from '../compiled.js';
import { formatInteger, median } from '../measure.js';
import type { RunContext, Section, SectionResult } from '../report.js';
import type { LlmVendor } from '../../test/support/llm-servers.js';
import { CALLS, clientIds, clientLabels, REQUESTS, TOKENS, WINDOW_MS } from './llm-cases.js';
import type { ClientId, LlmRow } from './llm-cases.js';
import type { LlmInput } from './llm-probe.js';

const PROBE = new URL('./llm-probe.ts', import.meta.url);
const RUNS = 3;
const SEED = 15;
const LATENCY_MS = 50;
const vendors: readonly LlmVendor[] = ['openai', 'anthropic'];

interface Row {
  readonly vendor: LlmVendor;
  readonly client: ClientId;
  readonly runs: LlmRow[];
}

async function run({ quick }: RunContext): Promise<SectionResult> {
  const calls = quick ? 60 : CALLS;
  const compiled = compileRatewise();
  const rows: Row[] = vendors.flatMap((vendor) => clientIds.map((client) => ({ vendor, client, runs: [] })));
  try {
    // ratewise's pairs together, then the peers', so that the peers' retry storms do not share the cores with
    // ratewise's measurement.
    const ratewise = (client: ClientId) => client.startsWith('ratewise');
    const groups = [rows.filter((row) => ratewise(row.client)), rows.filter((row) => !ratewise(row.client))];
    const timed = quick ? 1 : RUNS;
    for (let round = 0; round < timed; round++) {
      for (const group of groups) {
        process.stderr.write(
          `llm: run ${String(round + 1)} of ${String(timed)}: ${group.map((r) => `${r.vendor}/${r.client}`).join(', ')}\n`,
        );
        const inputs = group.map((row): LlmInput => ({
          vendor: row.vendor,
          client: row.client,
          calls,
          seed: SEED,
          latencyMs: LATENCY_MS,
          build: compiled.dir,
        }));
        const outputs = await runTogether<LlmRow>(PROBE, inputs);
        for (const [index, row] of group.entries()) row.runs.push(outputs[index]!);
      }
    }
  } finally {
    compiled.dispose();
  }

  const figures = (row: Row) => ({
    ok: median(row.runs.map((r) => r.ok)),
    failed: row.runs.reduce((sum, r) => sum + r.failed, 0),
    refused: median(row.runs.map((r) => r.refused)),
    refusedAfter: Math.max(...row.runs.map((r) => r.refusedAfterFirstAnswer)),
    wallMs: median(row.runs.map((r) => r.wallMs)),
    tokensPerSecond: median(row.runs.map((r) => r.tokensPerSecond)),
    efficiency: median(row.runs.map((r) => r.tokenEfficiency)),
  });
  const table = rows.map((row) => {
    const f = figures(row);
    return [
      row.vendor === 'openai' ? 'OpenAI (`x-ratelimit-*-tokens`)' : 'Anthropic (`anthropic-ratelimit-*`)',
      clientLabels[row.client],
      formatInteger(f.ok),
      formatInteger(f.failed),
      formatInteger(f.refused),
      formatInteger(f.refusedAfter),
      (f.wallMs / 1_000).toFixed(1),
      formatInteger(Math.round(f.tokensPerSecond)),
      f.efficiency.toFixed(3),
    ];
  });
  const judged = rows.filter((row) => row.client === 'ratewise-tokens').map(figures);
  const worstRefused = Math.max(...judged.map((f) => f.refusedAfter));
  const lowest = Math.min(...judged.map((f) => f.efficiency));
  const failed = judged.reduce((sum, f) => sum + f.failed, 0);
  const met = worstRefused === 0 && lowest >= 0.95 && failed === 0;
  return {
    description:
      `${String(calls)} chat calls started at once, token costs (prompt + max_tokens) from 100 to 2,000 skewed ` +
      `towards the small (seed ${String(SEED)}), through each vendor's official SDK (openai, @anthropic-ai/sdk) ` +
      `against a local server on 127.0.0.1 that answers as that vendor documents: ${String(REQUESTS)} requests ` +
      `and ${formatInteger(TOKENS)} tokens per ${String(WINDOW_MS / 1_000)} s, both refilled continuously, a ` +
      `request charged its prompt and max_tokens at admission, answers after ${String(LATENCY_MS)} ms. ratewise ` +
      '(tsc build) as the SDK’s fetch with `maxRetries: 0`, with each call’s tokens passed as its cost ' +
      '(`fetchOptions: { ratewise: { cost: { tokens } } }`) and without; the SDK’s own retries; p-queue set to ' +
      'the request limit. Each pair in its own process against its own server; the ratewise pairs at the same ' +
      `time, then the others. ${quick ? 'Quick run: 60 calls, one run: indicative only.' : `Medians of ${String(RUNS)} runs.`}`,
    columns: [
      'Server',
      'Client',
      'Calls ok',
      'Failed',
      'Refused',
      'Refused after first answer',
      'Wall s',
      'Tokens/s',
      'Token efficiency',
    ],
    rows: table,
    notes: [
      'Target: with each call’s tokens as its cost, 0 refused after the first answer and token efficiency ≥ 0.95 ' +
        `against both servers — ${met ? 'target met' : 'target not met'} (at most ${String(worstRefused)} refused ` +
        `after the first answer, lowest token efficiency ${lowest.toFixed(3)}, ${String(failed)} calls failed).`,
      'Token efficiency = tokens admitted ÷ (token capacity + refill rate × wall time), the share of all the ' +
        'tokens the server could have admitted during the run that it did admit. Failed: calls that ended in an ' +
        'error, summed over the runs. Refused after first answer: refused requests that reached the server after ' +
        'it had written its first answer (server clock), the worst run.',
    ],
  };
}

export const llm: Section = {
  id: 'llm',
  title: 'LLM APIs: requests and tokens at once',
  peers: ['openai', '@anthropic-ai/sdk', 'p-queue'],
  run,
};
