// What a benchmark section returns, the machine description, and the Markdown both are printed as.
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** How a run was asked for. */
export interface RunContext {
  /** `--quick`: smaller time budgets and batches, for a smoke run; figures are indicative only and not saved. */
  readonly quick: boolean;
}

/** What one section produced: a table plus free-text lines under it. */
export interface SectionResult {
  /** One paragraph saying what is measured and how. */
  readonly description: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Lines printed under the table (targets, caveats). */
  readonly notes: readonly string[];
}

/** One benchmark section. Sections run one after another, in the order of the runner's list. */
export interface Section {
  /** Short id for `--only=<id>`. */
  readonly id: string;
  readonly title: string;
  /** npm packages whose versions matter to this section's figures; they are listed in the machine table. */
  readonly peers: readonly string[];
  run(context: RunContext): Promise<SectionResult>;
}

/** The machine and software a run happened on, as label/value pairs. */
export function describeMachine(peers: readonly string[], quick: boolean): [string, string][] {
  const cpus = os.cpus();
  return [
    ['Date', new Date().toISOString()],
    [
      'CPU',
      `${cpus[0]?.model.trim() ?? 'unknown'} (${cpus.length} logical cores, ${os.availableParallelism()} available)`,
    ],
    ['Memory', `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`],
    // Other processes competing for the cores inflate every figure; the load says how much to trust them.
    [
      'Load average',
      `${os
        .loadavg()
        .map((load) => load.toFixed(2))
        .join(', ')} (1, 5, 15 min, at start)`,
    ],
    ['OS', `${os.type()} ${os.release()} ${os.arch()}`],
    ['Node', `${process.version} (V8 ${process.versions.v8})`],
    [
      'Packages',
      [...new Set(peers)]
        .sort()
        .map((name) => `${name} ${installedVersion(name)}`)
        .join(', '),
    ],
    ['Mode', quick ? 'quick (`--quick`: short budgets, indicative only)' : 'full'],
  ];
}

/** The version in `node_modules/<name>/package.json`, read directly since not every package exports that file. */
function installedVersion(name: string): string {
  try {
    const manifest: unknown = JSON.parse(
      readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8'),
    );
    const version = (manifest as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'not installed';
  }
}

/** A GitHub-flavoured Markdown table; columns whose cells are all numbers are right-aligned. */
export function markdownTable(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  const numeric = columns.map(
    (_, index) => rows.length > 0 && rows.every((row) => /^[\d,.±%<>~ -]+$/.test(row[index] ?? '')),
  );
  const lines = [
    `| ${columns.map(escape).join(' | ')} |`,
    `|${numeric.map((right) => (right ? ' ---: ' : ' --- ')).join('|')}|`,
    ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** One section as Markdown, numbered. */
export function renderSection(index: number, section: Section, result: SectionResult): string {
  return [
    `## ${index}. ${section.title}`,
    '',
    result.description,
    '',
    markdownTable(result.columns, result.rows),
    '',
    ...result.notes.map((note) => `- ${note}`),
  ].join('\n');
}
