// Benchmark runner: `npm run bench` (full) or `npm run bench:quick`; `--section <id>[,<id>]` (or `--only=<id>`) runs
// some sections, e.g. `npm run bench -- --section efficiency`.
// Prints each section as a Markdown table when it finishes; a full run also writes them, with the machine, to RESULTS.md.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeMachine, markdownTable, renderSection } from './report.js';
import type { RunContext, Section } from './report.js';
import { efficiency } from './sections/efficiency.js';
import { goodput } from './sections/goodput.js';
import { headerParsing } from './sections/header-parsing.js';
import { memory } from './sections/memory.js';
import { peers } from './sections/peers.js';
import { redis } from './sections/redis.js';
import { redisFar } from './sections/redis-far.js';
import { routes } from './sections/routes.js';
import { llm } from './sections/llm.js';
import { scheduling } from './sections/scheduling.js';

/** Every section, in the order they run and appear in RESULTS.md. New sections are appended here. */
const sections: readonly Section[] = [
  headerParsing,
  scheduling,
  memory,
  goodput,
  peers,
  redis,
  redisFar,
  efficiency,
  routes,
  llm,
];

/** Packages listed for every run, whatever the sections. */
const HARNESS = ['tinybench', 'typescript'];

const RESULTS = new URL('./RESULTS.md', import.meta.url);

function parseArgs(argv: readonly string[]): RunContext & { readonly only: ReadonlySet<string> | undefined } {
  let quick = false;
  let only: Set<string> | undefined;
  const select = (ids: string) => {
    only ??= new Set();
    for (const id of ids.split(',')) if (id !== '') only.add(id);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--section' || arg === '--only') {
      const ids = argv[++i];
      if (ids === undefined || ids.startsWith('--')) throw new TypeError(`${arg} needs a section id`);
      select(ids);
    } else if (arg.startsWith('--section=')) select(arg.slice('--section='.length));
    else if (arg.startsWith('--only=')) select(arg.slice('--only='.length));
    else throw new TypeError(`Unknown argument \`${arg}\`; expected --quick or --section <id>[,<id>]`);
  }
  const known = new Set(sections.map((section) => section.id));
  const unknown = [...(only ?? [])].filter((id) => !known.has(id));
  if (unknown.length > 0) throw new TypeError(`Unknown section ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  return { quick, only };
}

async function main(): Promise<void> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  const selected = sections.filter((section) => only === undefined || only.has(section.id));
  const machine = describeMachine([...HARNESS, ...selected.flatMap((section) => section.peers)], quick);
  const header = ['# ratewise benchmarks', '', markdownTable(['Machine', ''], machine)].join('\n');
  console.log(`${header}\n`);

  const rendered: string[] = [];
  for (const [index, section] of selected.entries()) {
    const startedAt = performance.now();
    const result = await section.run({ quick });
    const markdown = renderSection(index + 1, section, result);
    rendered.push(markdown);
    console.log(`${markdown}\n\n(${((performance.now() - startedAt) / 1_000).toFixed(1)} s)\n`);
  }

  // RESULTS.md is what the README quotes, so only a full run of every section may replace it.
  if (quick || selected.length < sections.length) {
    console.log(
      `${fileURLToPath(RESULTS)} left unchanged: only a full run of every section (npm run bench) writes it.`,
    );
    return;
  }
  const footer =
    'Produced by `npm run bench`. Figures depend on the machine above; compare runs on the same machine only.';
  writeFileSync(RESULTS, [header, ...rendered, footer].join('\n\n') + '\n');
  console.log(`Wrote ${fileURLToPath(RESULTS)}`);
}

await main();
