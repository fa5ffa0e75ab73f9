// Every example runs as a user would run it, in its own process: it must print what it promises and exit 0 by itself
// (servers and clients closed, no timer left behind). tsc type-checks the same files through tsconfig's `include`.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, test } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs `examples/<file>` with tsx; rejects (with stdout and stderr) on a non-zero exit or after `timeoutMs`. */
async function runExample(file: string, timeoutMs = 30_000): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${file}`], {
    cwd: root,
    timeout: timeoutMs,
    // The child's own exit is the test: it must not need a signal to stop.
    killSignal: 'SIGKILL',
  });
  return stdout.trimEnd().split('\n');
}

describe.concurrent('examples', () => {
  test(
    'basic-fetch.ts: every request succeeds through the rate-limited API',
    { timeout: 40_000 },
    async ({ expect }) => {
      const lines = await runExample('basic-fetch.ts');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toBe('12 of 12 requests succeeded');
      expect(lines[1]).toBe('items: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11');
      expect(lines[2]).toMatch(/^budget http:\/\/127\.0\.0\.1:\d+: sent \d+, refused \d+$/);
    },
  );

  test(
    'axios.ts: an axios instance paced through the rate-limited API, a 404 judged by validateStatus',
    { timeout: 40_000 },
    async ({ expect }) => {
      const lines = await runExample('axios.ts');
      expect(lines).toHaveLength(4);
      expect(lines[0]).toBe('12 of 12 requests succeeded');
      expect(lines[1]).toBe('items: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11');
      expect(lines[2]).toBe('missing item: ERR_BAD_REQUEST 404');
      expect(lines[3]).toMatch(/^budget http:\/\/127\.0\.0\.1:\d+: sent \d+, refused \d+$/);
    },
  );

  for (const [file, what] of [
    ['openai.ts', 'completions'],
    ['anthropic.ts', 'messages'],
  ] as const) {
    test(
      `${file}: the official SDK over rw.fetch, each call’s tokens as its cost: none refused`,
      { timeout: 40_000 },
      async ({ expect }) => {
        const lines = await runExample(file);
        expect(lines).toEqual([`12 of 12 ${what}`, 'refused: 0', 'token quota: limit 4000']);
      },
    );
  }

  test(
    'octokit.ts: Octokit over rw.fetch, search and core paced apart by the quotas the server names: none refused',
    { timeout: 40_000 },
    async ({ expect }) => {
      const lines = await runExample('octokit.ts');
      expect(lines).toEqual(['12 searches, 30 issues', 'refused: 0', 'budgets: origin, origin core, origin search']);
    },
  );

  test(
    'ky.ts: ky with its own retry off, paced through the rate-limited API by rw.fetch',
    { timeout: 40_000 },
    async ({ expect }) => {
      const lines = await runExample('ky.ts');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe('items: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11');
      expect(lines[1]).toMatch(/^budget http:\/\/127\.0\.0\.1:\d+: sent \d+, refused \d+$/);
    },
  );

  test(
    'per-host-budgets.ts: the exact host and the `*` fallback each keep their own limits',
    { timeout: 40_000 },
    async ({ expect }) => {
      const lines = await runExample('per-host-budgets.ts');
      expect(lines).toHaveLength(5);
      expect(lines[0]).toMatch(/^search \(127\.0\.0\.1:\d+\): 20 of 20 succeeded, at most 2 at once$/);
      expect(lines[1]).toMatch(/^other \(127\.0\.0\.1:\d+\): 20 of 20 succeeded, at most 4 at once$/);
      const search = /^search \((?<host>[^)]+)\)/.exec(lines[0] ?? '')?.groups?.host;
      const other = /^other \((?<host>[^)]+)\)/.exec(lines[1] ?? '')?.groups?.host;
      // stats() lists budgets in the order they were last used: either order is right.
      expect(lines.slice(2, 4).sort()).toEqual(
        [
          `budget http://${search ?? '?'} uses pattern '${search ?? '?'}': sent 20`,
          `budget http://${other ?? '?'} uses pattern '*': sent 20`,
        ].sort(),
      );
      expect(lines[4]).toMatch(/^done in \d+\.\d s/);
    },
  );

  test(
    'global-fetch.ts: Node’s global fetch goes through ratewise until it is uninstalled',
    { timeout: 40_000 },
    async ({ expect }) => {
      const lines = await runExample('global-fetch.ts');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe('12 of 12 global fetch calls succeeded');
      expect(lines[1]).toMatch(/^through ratewise: sent \d+, refused \d+$/);
    },
  );

  test(
    'redis-workers.ts: two worker processes share one budget through Redis and the API refuses none',
    { timeout: 70_000 },
    async ({ expect }) => {
      // Three Node processes and a redis-server (or the Redis at REDIS_URL): slower to start than the others.
      const lines = await runExample('redis-workers.ts', 60_000);
      expect(lines).toHaveLength(5);
      expect(lines[0]).toBe('budget: 10/s, burst 2, shared through Redis by 2 worker processes');
      expect(lines[1]).toBe('worker 1: 20 of 20 requests succeeded');
      expect(lines[2]).toBe('worker 2: 20 of 20 requests succeeded');
      expect(lines[3]).toBe('together: 40 requests, 0 refused by the API');
      expect(lines[4]).toMatch(/^the API saw them over \d+\.\d s: one budget of 10\/s for both workers$/);
    },
  );
});
