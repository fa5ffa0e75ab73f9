// Child process of the `peers` section: one server and one client, so that no other pair's work holds up this one's
// event loop. Started as `node --import tsx peers-probe.ts <JSON input>`; once set up it prints `ready` and waits for
// a line on stdin, so that every pair of a server kind starts at once, none while another is still loading; then it
// prints its result as one JSON line.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { waitForGo } from '../child.js';
import { importRatewise, importRatewiseAxios } from '../build-imports.js';
import { clients, runPair, serverKinds, type PairResult, type Shape } from './peers-cases.js';

export interface PeersInput {
  readonly server: string;
  readonly client: string;
  readonly shape: Shape;
  /** Where the parent's `compileRatewise()` wrote the tsc build. */
  readonly build: string;
}

export interface PeersOutput extends PairResult {
  /** This process's event-loop delay during the run, in ms. */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
}

const input = JSON.parse(process.argv[2] ?? 'null') as PeersInput;
const kind = serverKinds.find((candidate) => candidate.id === input.server);
const client = clients.find((candidate) => candidate.id === input.client);
if (kind === undefined || client === undefined) throw new Error(`Unknown pair ${input.server} / ${input.client}`);
const ratewise = { ...(await importRatewise(input.build)), ...(await importRatewiseAxios(input.build)) };
const delay = monitorEventLoopDelay({ resolution: 10 });
const result = await runPair(kind, client, input.shape, ratewise, async () => {
  await waitForGo();
  delay.enable();
});
delay.disable();
const output: PeersOutput = {
  ...result,
  loopDelayP99Ms: delay.percentile(99) / 1e6,
  loopDelayMaxMs: delay.max / 1e6,
};
process.stdout.write(`${JSON.stringify(output)}\n`);
