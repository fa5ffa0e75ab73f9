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

  it(
    'runs 60 requests through each client, prints the facts of each run and writes the report',
    { timeout: 120_000 },
    async () => {
      const report = join(dir, 'report.html');
      const { code, stdout, stderr } = await demo(['--requests', '60', '--report', report]);
      expect(stderr).toBe('');
      expect(code).toBe(0);

      expect(stdout).toContain('ratewise demo: 60 requests at once against an API that allows 50 per 2 s');
      expect(stdout).toMatch(
        /^\| client +\| succeeded \| failed \| requests sent \| 429s received \| wall time \| goodput¹ \|$/m,
      );
      const row = (label: string): string[] => {
        const line = stdout.split('\n').find((l) => l.startsWith(`| ${label} `));
        expect(line, `a table row for ${label}`).toBeDefined();
        return line!
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim());
      };
      for (const label of [
        'ky, retry: { limit: 10 }',
        'axios + axios-retry, retries: 10, on 429',
        'fetch + hand-written retry loop',
      ]) {
        const peer = row(label);
        expect(peer.slice(1, 3)).toEqual(['60/60', '0']);
        // 60 at once against 50 per window: the retrying clients are refused 10 times at least.
        expect(Number(peer[4])).toBeGreaterThanOrEqual(10);
        expect(stdout).toContain(`- Against ${label}: ratewise sent`);
      }
      const ratewise = row('ratewise, rw.fetch, no options');
      expect(ratewise.slice(1, 3)).toEqual(['60/60', '0']);
      expect(ratewise[5]).toMatch(/^\d+\.\d s$/);
      expect(ratewise[6]).toMatch(/^\d+ %$/);
      expect(stdout).toContain('¹ goodput = successful requests per second of wall time');
      expect(stdout).toContain('One run of each');

      // Not a terminal, so no width: a few whole progress lines per run, no carriage returns or escape codes, no
      // blank line among them, and prose wrapped to lines of many words.
      const lines = stdout.split('\n');
      const progress = lines.filter((l) => / done · /.test(l));
      expect(progress.length).toBeGreaterThanOrEqual(8);
      expect(progress.length).toBeLessThanOrEqual(20);
      for (const line of progress) expect(line).toMatch(/^ {2}(ky|axios-retry|hand loop|ratewise): \d+\/60 done · /);
      const first = lines.indexOf(progress[0]!);
      const last = lines.indexOf(progress.at(-1)!);
      expect(lines.slice(first, last + 1).every((l) => / done · /.test(l))).toBe(true);
      expect(stdout).not.toContain('\r');
      expect(stdout).not.toContain('\u001b');
      expect(stdout).not.toMatch(/\n\n\n/);
      const footnote = lines.slice(lines.findIndex((l) => l.startsWith('¹ goodput')));
      expect(footnote[0]!.length).toBeGreaterThan(80);
      expect(footnote[1]!.split(' ').length).toBeGreaterThan(5);

      expect(stdout).toContain(`Report with a timeline of every run: ${report}`);
      const html = await readFile(report, 'utf8');
      expect(html).toContain('<svg class="timeline"');
      expect(html.match(/<g class="panel"/g)).toHaveLength(4);
      expect(html).toContain('<td>ratewise, rw.fetch, no options</td><td>60/60</td><td>0</td>');
    },
  );

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
