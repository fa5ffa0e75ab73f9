#!/usr/bin/env node
// The `ratewise` command (package.json `bin`): the process's arguments, streams, fetch and clock, handed to runCli.
import { runCli } from './main.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  fetch: globalThis.fetch,
  now: () => Date.now(),
});
