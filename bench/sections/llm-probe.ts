// Child process of the `llm` section: one server and one client. Started by runTogether() (bench/child.ts) with its
// input as JSON; prints its result as one JSON line.
import { waitForGo } from '../child.js';
import { importRatewise } from '../build-imports.js';
import { skewedJobs } from '../llm-workload.js';
import type { LlmVendor } from '../../test/support/llm-servers.js';
import { runLlmPair } from './llm-cases.js';
import type { ClientId, LlmRow } from './llm-cases.js';

export interface LlmInput {
  readonly vendor: LlmVendor;
  readonly client: ClientId;
  readonly calls: number;
  readonly seed: number;
  readonly latencyMs: number;
  /** Where the parent's `compileRatewise()` wrote the tsc build. */
  readonly build: string;
}

const input = JSON.parse(process.argv[2] ?? 'null') as LlmInput;
const jobs = skewedJobs(input.calls, { seed: input.seed });
const row: LlmRow = await runLlmPair(
  input.vendor,
  input.client,
  jobs,
  await importRatewise(input.build),
  input.latencyMs,
  waitForGo,
);
process.stdout.write(`${JSON.stringify(row)}\n`);
