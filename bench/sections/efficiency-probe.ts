// Child process of the `efficiency` section: one server and one client, so that no other pair's work holds up this
// one's event loop. Started by runTogether() (bench/child.ts) with its input as JSON; prints its result as one JSON
// line.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { waitForGo } from '../child.js';
import { importRatewise, importRatewiseAxios, importRatewiseUndici } from '../build-imports.js';
import { efficiencyClients, efficiencyKinds, runEfficiencyPair } from './efficiency-cases.js';
import type { EfficiencyRun } from './efficiency-cases.js';

export interface EfficiencyInput {
  readonly server: string;
  readonly client: string;
  readonly quick: boolean;
  /** Where the parent's `compileRatewise()` wrote the tsc build. */
  readonly build: string;
}

export interface EfficiencyOutput extends EfficiencyRun {
  /** This process's event-loop delay during the run, in ms. */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
}

const input = JSON.parse(process.argv[2] ?? 'null') as EfficiencyInput;
const kind = efficiencyKinds.find((candidate) => candidate.id === input.server);
const client = efficiencyClients.find((candidate) => candidate.id === input.client);
if (kind === undefined || client === undefined) throw new Error(`Unknown pair ${input.server} / ${input.client}`);
const ratewise = {
  ...(await importRatewise(input.build)),
  ...(await importRatewiseAxios(input.build)),
  ...(await importRatewiseUndici(input.build)),
};
const delay = monitorEventLoopDelay({ resolution: 10 });
const result = await runEfficiencyPair(kind, client, kind.shape(input.quick), ratewise, async () => {
  await waitForGo();
  delay.enable();
});
delay.disable();
const output: EfficiencyOutput = {
  ...result,
  loopDelayP99Ms: delay.percentile(99) / 1e6,
  loopDelayMaxMs: delay.max / 1e6,
};
process.stdout.write(`${JSON.stringify(output)}\n`);
