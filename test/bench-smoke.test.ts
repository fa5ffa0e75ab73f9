// `npm run bench:quick` as a user runs it, in its own process: it must exit 0 by itself and print every section's
// table. No figure is checked: timings depend on the machine.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'vitest';
import { efficiency } from '../bench/sections/efficiency.js';
import { goodput } from '../bench/sections/goodput.js';
import { headerParsing } from '../bench/sections/header-parsing.js';
import { memory } from '../bench/sections/memory.js';
import { peers } from '../bench/sections/peers.js';
import { redis } from '../bench/sections/redis.js';
import { redisFar } from '../bench/sections/redis-far.js';
import { routes } from '../bench/sections/routes.js';
import { llm } from '../bench/sections/llm.js';
import { scheduling } from '../bench/sections/scheduling.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

/** The sections in the order bench/index.ts runs them. */
const sections = [headerParsing, scheduling, memory, goodput, peers, redis, redisFar, efficiency, routes, llm];

test(
  'npx tsx bench/index.ts --quick exits 0 and prints every section with its table',
  { timeout: 420_000 },
  async ({ expect }) => {
    const { stdout } = await run('npx', ['tsx', 'bench/index.ts', '--quick'], {
      cwd: root,
      // Generous: a loaded 2-core machine took 156–185 s with every section (routes, llm and redis-far add about a
      // minute), a quiet one well under that.
      timeout: 400_000,
      // The child's own exit is the test: it must not need a signal to stop (execFile rejects on a non-zero exit).
      killSignal: 'SIGKILL',
      maxBuffer: 16 * 2 ** 20,
    });
    const lines = stdout.split('\n');
    expect(lines).toContain('# ratewise benchmarks');
    const bodies = new Map<string, string[]>();
    for (const [index, section] of sections.entries()) {
      const heading = lines.indexOf(`## ${String(index + 1)}. ${section.title}`);
      expect(heading, `heading of section ${section.id}`).toBeGreaterThanOrEqual(0);
      const next = lines.findIndex((line, at) => at > heading && line.startsWith('## '));
      const body = lines.slice(heading + 1, next === -1 ? undefined : next);
      // A table header: a row of column names, then the delimiter row.
      const header = body.findIndex(
        (line, at) => /^\| .+ \|$/.test(line) && /^\|( -{3,}:? \|)+$/.test(body[at + 1] ?? ''),
      );
      expect(header, `table header of section ${section.id}`).toBeGreaterThanOrEqual(0);
      bodies.set(section.id, body.slice(header));
    }
    expect(stdout).toMatch(/RESULTS\.md left unchanged/);

    // The efficiency table: its columns, a row for each ratewise front door against each server of the quick run
    // (figures not checked), and the targets of the issue, judged.
    const table = bodies.get(efficiency.id)!;
    const cells = (line: string) => line.slice(2, -2).split(' | ');
    const columns = cells(table[0]!);
    expect(columns).toEqual(expect.arrayContaining(['Server', 'Client', 'Wall s', 'Efficiency', 'Calls lost']));
    const rows = table
      .slice(
        2,
        table.findIndex((line) => !line.startsWith('|')),
      )
      .map(cells);
    for (const server of ['Flask-Limiter 3.3, fixed-window', 'bare 429', 'no limit']) {
      for (const client of ['`rw.fetch`', '`withRatewise(', '`installRatewise(rw)` + global `fetch`']) {
        expect(
          rows.some((row) => row[0]!.startsWith(server) && row[1]!.includes(client)),
          `${server} / ${client}`,
        ).toBe(true);
      }
    }
    expect(table.filter((line) => /^- Target: .* — target (not )?met \(/.test(line))).toHaveLength(3);
  },
);
