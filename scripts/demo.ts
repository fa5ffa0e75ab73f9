// `npm run demo`: the same burst of requests against a rate-limited API on 127.0.0.1, sent through the retrying
// clients people use (ky, axios with axios-retry), a hand-written retry loop, then ratewise with nothing tuned by
// hand, each against a fresh server. Prints the facts of each run and writes an HTML report with a timeline of all
// of them. `npm run demo -- --help` lists the flags.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { CLIENT_ORDER, CLIENTS } from './demo/clients.js';
import { parseCli } from './demo/cli.js';
import { createProgress } from './demo/progress.js';
import { renderReport } from './demo/report.js';
import { runBurst, type RunResult } from './demo/runs.js';
import { DEFAULT_LIMIT, describeServer, formatLimit, startDemoServer } from './demo/server.js';
import {
  allowedPerSecond,
  bullet,
  comparisons,
  goodputFootnote,
  ONE_RUN_NOTE,
  renderTable,
  summarize,
  wrap,
} from './demo/table.js';
import { textWidth } from './demo/terminal.js';

/** The installed version of each package, where its package.json can be read. */
function packageVersions(names: readonly string[]): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const name of names) {
    try {
      const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
      const { version } = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
      if (typeof version === 'string') versions[name] = version;
    } catch {
      // Installed elsewhere (a hoisting of another layout): the report just does not name its version.
    }
  }
  return versions;
}

const decision = parseCli(process.argv.slice(2), process.cwd());
if (decision.kind === 'help') {
  console.log(decision.text);
  process.exit(0);
}
if (decision.kind === 'error') {
  console.error(`demo: ${decision.message}\nRun \`npm run demo -- --help\` for the options.`);
  process.exit(2);
}
const { requests, server: kind, report } = decision.options;
const limit = DEFAULT_LIMIT;
// A safety net, not a target: three times what the server's rate needs, plus slack for the retrying clients' backoff.
const timeoutMs = 30_000 + (3_000 * requests) / allowedPerSecond(limit);
// `columns` is undefined when stdout is not a terminal, whatever its type says, and 0 on a terminal with no size.
const width = textWidth(process.stdout.columns);
const versions = packageVersions(['ky', 'axios', 'axios-retry']);

console.log(`ratewise demo: ${requests} requests at once against an API that allows ${formatLimit(limit)}`);
console.log(`  server: ${describeServer(kind)}, on 127.0.0.1`);
const named = Object.entries(versions).map(([name, version]) => `${name} ${version}`);
console.log(
  `  clients, one after another, each against a fresh server${named.length > 0 ? ` (${named.join(', ')})` : ''}:`,
);
for (const client of CLIENT_ORDER) console.log(`    ${CLIENTS[client].label}`);
console.log('');

const runs: RunResult[] = [];
for (const client of CLIENT_ORDER) {
  // A fresh server per run, so that no run inherits another's spent quota.
  const server = await startDemoServer(kind, limit);
  try {
    runs.push(await runBurst({ client, server, requests, progress: createProgress(process.stdout), timeoutMs }));
  } finally {
    await server.close();
  }
}

const summaries = runs.map((run) => summarize(run, limit));
console.log(`\n${renderTable(summaries)}\n`);
console.log(wrap(goodputFootnote(limit), width));
console.log('');
for (const fact of comparisons(summaries)) console.log(bullet(fact, width));
console.log(`\n${wrap(ONE_RUN_NOTE, width)}`);

const rejection = runs.find((run) => run.firstRejection !== undefined)?.firstRejection;
if (rejection !== undefined) {
  const fields = Object.entries(rejection).map(([name, value]) => `\n  ${name}: ${value}`);
  console.log(`\nThe server's first 429 said:${fields.length > 0 ? fields.join('') : ' nothing about its limit'}`);
}

await writeFile(
  report,
  renderReport({
    server: kind,
    limit,
    requests,
    runs,
    generatedAt: Date.now(),
    nodeVersion: process.versions.node,
    versions,
  }),
);
const shown = relative(process.cwd(), report);
console.log(`\nReport with a timeline of every run: ${shown.startsWith('..') || shown === '' ? report : shown}`);

for (const run of runs) {
  if (run.failures.length === 0) continue;
  const failed = run.requests - run.succeeded;
  const reasons = run.failures.map((f) => `${f.count} × ${f.reason}`).join(', ');
  const line = `${run.label}: ${failed} ${failed === 1 ? 'call' : 'calls'} failed (${reasons})`;
  if (run.client === 'ratewise') console.error(`demo: ${line}`);
  else console.log(line);
}
// A peer may run out of retries, which the table reports; ratewise failing a call is a bug worth a non-zero exit.
process.exitCode = runs.some((run) => run.client === 'ratewise' && run.failures.length > 0) ? 1 : 0;
