// `npm run demo` as a newcomer runs it: a child process, its exit code, what it prints and the report it writes.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the demo's entry the way `npm run demo` does (tsx), with stdout a pipe, not a terminal. */
function demo(args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/demo.ts', ...args],
      { cwd: ROOT, timeout: 100_000, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      },
    );
  });
}

describe('npm run demo', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ratewise-demo-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs 40 requests both ways, prints the comparison and writes the report', { timeout: 120_000 }, async () => {
    const report = join(dir, 'report.html');
    const { code, stdout, stderr } = await demo(['--requests', '40', '--report', report]);
    expect(stderr).toBe('');
    expect(code).toBe(0);

    expect(stdout).toContain('ratewise demo: 40 requests at once against an API that allows 50 per 2 s');
    expect(stdout).toMatch(/^\| client +\| succeeded \| requests sent \| 429s received \| wall time \| goodput¹ \|$/m);
    const row = (label: string): string[] => {
      const line = stdout.split('\n').find((l) => l.startsWith(`| ${label} `));
      expect(line, `a table row for ${label}`).toBeDefined();
      return line!
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim());
    };
    const plain = row('plain fetch + retry on 429');
    const ratewise = row('ratewise');
    expect(plain[1]).toBe('40/40');
    expect(ratewise.slice(1, 4)).toEqual(['40/40', '40', '0']);
    expect(ratewise[4]).toMatch(/^\d+\.\d s$/);
    expect(ratewise[5]).toMatch(/^\d+ %$/);
    expect(stdout).toContain('¹ goodput = successful requests per second of wall time');

    // Not a terminal: a few plain progress lines per run, no carriage returns or escape codes.
    const progressLines = stdout.split('\n').filter((l) => / done · /.test(l));
    expect(progressLines.length).toBeGreaterThanOrEqual(2);
    expect(progressLines.length).toBeLessThanOrEqual(10);
    expect(stdout).not.toContain('\r');
    expect(stdout).not.toContain('\u001b');

    expect(stdout).toContain(`Report with a timeline of both runs: ${report}`);
    const html = await readFile(report, 'utf8');
    expect(html).toContain('<svg class="timeline"');
    expect(html.match(/<g class="panel"/g)).toHaveLength(2);
    expect(html).toContain('<td>ratewise</td><td>40/40</td><td>40</td><td>0</td>');
  });

  it('prints its flags with --help and exits 0', { timeout: 30_000 }, async () => {
    const { code, stdout } = await demo(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: npm run demo -- [options]');
    expect(stdout).toContain('--server KIND');
  });

  it('names a bad flag and exits non-zero without running', { timeout: 30_000 }, async () => {
    const unknown = await demo(['--fast']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("demo: Unknown option '--fast'");
    expect(unknown.stderr).toContain('npm run demo -- --help');
    expect(unknown.stdout).toBe('');

    const server = await demo(['--server', 'koa']);
    expect(server.code).toBe(2);
    expect(server.stderr).toContain('--server must be one of express, fastify, no-headers, got "koa"');
  });
});
