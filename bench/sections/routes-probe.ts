// Child process of the `routes` section: one server and one client. Started by runTogether() (bench/child.ts) with
// its input as JSON; prints its result as one JSON line.
import { waitForGo } from '../child.js';
import { importRatewise } from '../build-imports.js';
import { routesClients, routesShape, runRoutesPair } from './routes-cases.js';
import type { RoutesRun } from './routes-cases.js';

export interface RoutesInput {
  readonly client: string;
  readonly quick: boolean;
  /** Where the parent's `compileRatewise()` wrote the tsc build. */
  readonly build: string;
}

const input = JSON.parse(process.argv[2] ?? 'null') as RoutesInput;
const client = routesClients.find((candidate) => candidate.id === input.client);
if (client === undefined) throw new Error(`Unknown client ${input.client}`);
const result: RoutesRun = await runRoutesPair(
  client,
  routesShape(input.quick),
  await importRatewise(input.build),
  waitForGo,
);
process.stdout.write(`${JSON.stringify(result)}\n`);
