/* global Deno, Bun */
// Runs the conformance program in Node, Bun or Deno: the configuration (the parent's server URLs) is the one
// argument, as JSON; the result is printed as one line of JSON, prefixed so that the parent finds it among any other
// output. Nothing here ends the process: the parent checks that it exits by itself once the work is done.
import { runConformance } from './conformance.mjs';

const args = globalThis.Deno?.args ?? process.argv.slice(2);
const runtime = globalThis.Deno
  ? `Deno ${Deno.version.deno}`
  : globalThis.Bun
    ? `Bun ${Bun.version}`
    : `Node ${process.version}`;
const config = JSON.parse(args[0]);
const more =
  config.node === undefined
    ? undefined
    : async (checks) => (await import('./node-entries.mjs')).nodeEntries(config.node, checks);
const result = await runConformance(config, more);
console.log(`RATEWISE-CONFORMANCE ${JSON.stringify({ runtime, ...result })}`);
