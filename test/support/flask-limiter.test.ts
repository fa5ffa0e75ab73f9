// The Flask-Limiter helper: the Python app must answer as Flask-Limiter documents, log what it saw, and leave no
// process behind, whether it is closed or its parent simply ends.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { startFlaskLimiterServer } from './flask-limiter.js';
import type { FlaskLimiterStrategy } from './flask-limiter.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Whether a process (or, with a negative id, a process group) exists. */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly sentAt: number;
}

async function get(url: string): Promise<Answer> {
  const sentAt = Date.now();
  const response = await fetch(url);
  await response.arrayBuffer();
  const headers: Record<string, string> = {};
  for (const name of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after']) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { status: response.status, headers, sentAt };
}

describe('startFlaskLimiterServer', () => {
  test.for<FlaskLimiterStrategy>(['fixed-window', 'moving-window'])(
    '%s: 200s until the limit, then 429, with X-RateLimit-* and Retry-After on every answer',
    async (strategy) => {
      const server = await startFlaskLimiterServer({ strategy, limit: '2 per 30 seconds' });
      let answers: Answer[];
      try {
        answers = [await get(`${server.url}/items/1`), await get(`${server.url}/`), await get(`${server.url}/a/b`)];
      } finally {
        await server.close();
      }
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429]);
      expect(
        answers.map((answer) => [answer.headers['x-ratelimit-limit'], answer.headers['x-ratelimit-remaining']]),
      ).toEqual([
        ['2', '1'],
        ['2', '0'],
        ['2', '0'],
      ]);
      for (const { headers, sentAt } of answers) {
        // The reset is an instant in epoch seconds, within the 30 s window that opened with the first request.
        const reset = Number(headers['x-ratelimit-reset']);
        expect(Number.isInteger(reset)).toBe(true);
        expect(reset).toBeGreaterThanOrEqual(Math.floor(answers[0]!.sentAt / 1_000));
        expect(reset).toBeLessThanOrEqual(Math.ceil(sentAt / 1_000) + 31);
        // Retry-After is the seconds from now to that reset.
        expect(headers['retry-after']).toMatch(/^\d+$/);
        expect(Number(headers['retry-after'])).toBeLessThanOrEqual(31);
      }
      const log = server.requests();
      expect(log.map((request) => request.status)).toEqual([200, 200, 429]);
      for (const request of log) expect(request.answeredAt).toBeGreaterThanOrEqual(request.receivedAt);
      expect(server.hits()).toMatchObject({ total: 3, accepted: 2, rejected: 1, inFlight: 0 });
      expect(exists(server.pid)).toBe(false);
      expect(exists(-server.pid)).toBe(false);
    },
  );

  test('close() is idempotent and leaves neither the process nor its group', async () => {
    const server = await startFlaskLimiterServer();
    expect(exists(server.pid)).toBe(true);
    await Promise.all([server.close(), server.close()]);
    await server.close();
    expect(exists(server.pid)).toBe(false);
    expect(exists(-server.pid)).toBe(false);
  });

  test('a parent that ends without close() leaves no app behind', async () => {
    // A separate Node process starts the app, prints its pid and ends without stopping it.
    const script = [
      "import { startFlaskLimiterServer } from './test/support/flask-limiter.ts';",
      'const server = await startFlaskLimiterServer();',
      'console.log(server.pid);',
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
    });
    const pid = Number(stdout.trim());
    expect(pid).toBeGreaterThan(0);
    // The app sees its stdin close and exits; nothing here signals it.
    await expect.poll(() => exists(pid), { timeout: 10_000, interval: 50 }).toBe(false);
  });
});
