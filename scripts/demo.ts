// `npm run demo`: the same burst of requests against a rate-limited API on 127.0.0.1, first the way many clients
// do it (fire everything, retry on 429), then through ratewise with nothing tuned by hand. Prints a comparison and
// writes an HTML report with a timeline of both runs. `npm run demo -- --help` lists the flags.
import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { parseCli } from './demo/cli.js';
import { createProgress } from './demo/progress.js';
import { renderReport } from './demo/report.js';
import { runBurst, type ClientKind, type RunResult } from './demo/runs.js';
import { DEFAULT_LIMIT, describeServer, formatLimit, startDemoServer } from './demo/server.js';
import { allowedPerSecond, goodputFootnote, renderTable, summarize, verdict, wrap } from './demo/table.js';

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
// A safety net, not a target: three times what the server's rate needs, plus slack for the plain client's retries.
const timeoutMs = 30_000 + (3_000 * requests) / allowedPerSecond(limit);

console.log(`ratewise demo: ${requests} requests at once against an API that allows ${formatLimit(limit)}`);
console.log(`  server: ${describeServer(kind)}, on 127.0.0.1\n`);

const runs: RunResult[] = [];
for (const client of ['plain', 'ratewise'] as const satisfies readonly ClientKind[]) {
  // A fresh server per run, so that the second run does not inherit the first one's spent quota.
  const server = await startDemoServer(kind, limit);
  try {
    runs.push(await runBurst({ client, server, requests, progress: createProgress(process.stdout), timeoutMs }));
  } finally {
    await server.close();
  }
}

const summaries = runs.map((run) => summarize(run, limit));
console.log(`\n${renderTable(summaries)}\n`);
// `columns` is undefined when stdout is not a terminal, whatever its type says.
const columns = process.stdout.columns as number | undefined;
const width = Math.min(100, (columns ?? 100) - 1);
console.log(wrap(goodputFootnote(limit), width));
const [before, after] = summaries;
if (before && after) console.log(`\n${wrap(verdict(before, after), width)}`);

const rejection = runs[0]?.firstRejection;
if (rejection !== undefined) {
  const fields = Object.entries(rejection).map(([name, value]) => `\n  ${name}: ${value}`);
  console.log(`\nThe server's first 429 said:${fields.length > 0 ? fields.join('') : ' nothing about its limit'}`);
}

await writeFile(
  report,
  renderReport({ server: kind, limit, requests, runs, generatedAt: Date.now(), nodeVersion: process.versions.node }),
);
const shown = relative(process.cwd(), report);
console.log(`\nReport with a timeline of both runs: ${shown.startsWith('..') || shown === '' ? report : shown}`);

for (const run of runs) {
  if (run.failures.length === 0) continue;
  const failed = run.requests - run.succeeded;
  const reasons = run.failures.map((f) => `${f.count} × ${f.reason}`).join(', ');
  const line = `${run.label}: ${failed} ${failed === 1 ? 'call' : 'calls'} failed (${reasons})`;
  if (run.client === 'ratewise') console.error(`demo: ${line}`);
  else console.log(`${line}: the naive loop gives up after 20 attempts.`);
}
// The plain client may give up after its 20 attempts; ratewise failing a call is a bug worth a non-zero exit.
process.exitCode = runs.some((run) => run.client === 'ratewise' && run.failures.length > 0) ? 1 : 0;
