// Scenario 6: long runs. One million rw.fetch calls through an in-process fetch, in batches sharing one long-lived
// AbortSignal, in a child process run with --expose-gc: the heap does not grow, the signal keeps no listeners, every
// call settles and nothing stays queued. And a process that makes one request and then does nothing exits by itself,
// while one still waiting on a call does not.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { sequence, startScriptedServer } from '../support/servers.js';

const SOAK = fileURLToPath(new URL('children/soak.ts', import.meta.url));
const ONE_REQUEST = fileURLToPath(new URL('children/one-request.ts', import.meta.url));
const MB = 1024 * 1024;

/** Runs a TypeScript file in a fresh Node process; resolves with its exit code and output. */
async function run(
  file: string,
  args: readonly string[],
  nodeFlags: readonly string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', file, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

interface SoakReport {
  readonly calls: number;
  readonly settled: number;
  readonly failed: number;
  readonly answered: number;
  readonly ms: number;
  readonly gc: boolean;
  readonly heapBefore: number;
  readonly heapAfter: number;
  readonly queuedEvents: number;
  readonly listeners: number;
  readonly queued: number;
  readonly inFlight: number;
}

describe('long runs', () => {
  test('one million calls (a 429 with retry-after: 0 every thousandth) settle, the heap stays flat and the shared signal keeps no listener', async () => {
    const { code, stdout, stderr } = await run(SOAK, ['1000000', '250'], ['--expose-gc']);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout.trim()) as SoakReport;
    console.info(
      `[hostile] soak: ${report.calls} calls in ${report.ms} ms, ${report.answered} attempts, ` +
        `${report.queuedEvents} waited in the queue; heap ${(report.heapBefore / MB).toFixed(1)} MB -> ` +
        `${(report.heapAfter / MB).toFixed(1)} MB; abort listeners left ${report.listeners}`,
    );
    expect(report).toMatchObject({ calls: 1_000_000, settled: 1_000_000, failed: 0, gc: true });
    expect(report).toMatchObject({ listeners: 0, queued: 0, inFlight: 0 });
    // About each thousandth answer is a 429, retried once: no more attempts than that (no tight loop).
    expect(report.answered).toBeLessThanOrEqual(1_000_000 * 1.002);
    // Requests did wait in the queue (with a listener on the shared signal each), so the listener check means something.
    expect(report.queuedEvents).toBeGreaterThan(10_000);
    expect(report.heapAfter - report.heapBefore).toBeLessThan(5 * MB);
  }, 60_000);

  test('a process that makes one request and then does nothing exits by itself, with code 0', async () => {
    // The answer leaves the budget paused for 30 s (quota spent until the reset): nothing may keep the process up.
    const server = await startScriptedServer(() => ({
      headers: { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '30' },
    }));
    try {
      const { code, stdout, stderr } = await run(ONE_REQUEST, [`${server.url}/once`]);
      expect(code, stderr).toBe(0);
      expect(JSON.parse(stdout.trim())).toEqual({ status: 200, stats: [true] });
    } finally {
      await server.close();
    }
  }, 20_000);

  // Was a bug: systemClock unref'd every timer, so a process whose only work was a call waiting out a Retry-After
  // exited in the middle of it (code 13, "unsettled top-level await"). A wait a pending call depends on keeps the
  // process up; an idle client arms no timer at all (the test above).
  test('a process awaiting a call in a Retry-After pause stays up until the call settles', async () => {
    const server = await startScriptedServer(
      sequence({ status: 429, headers: { 'retry-after': '1' }, body: 'slow down' }, { body: 'fine' }),
    );
    try {
      const { code, stdout, stderr } = await run(ONE_REQUEST, [`${server.url}/once`]);
      expect(code, stderr).toBe(0);
      expect(JSON.parse(stdout.trim())).toMatchObject({ status: 200 });
      expect(server.hits().total).toBe(2);
    } finally {
      await server.close();
    }
  }, 20_000);
});
