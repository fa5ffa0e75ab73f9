// Sections that need a fresh heap and `global.gc()`, or a process of their own, run their measurements in child Node
// processes: the parent spawns a probe script and reads one JSON line back from its stdout.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Node flags every probe runs with: the TypeScript loader, and a callable `gc()`. */
const NODE_FLAGS = ['--expose-gc', '--import', 'tsx'];

/**
 * Runs `probe` (a module URL) as `node --expose-gc --import tsx <probe> <JSON input>` from the repository root and
 * resolves with the JSON value on the last line of its stdout. The child's stderr is passed through.
 */
export async function runProbe<T>(probe: URL, input: unknown, extraFlags: readonly string[] = []): Promise<T> {
  const child = spawn(process.execPath, [...NODE_FLAGS, ...extraFlags, fileURLToPath(probe), JSON.stringify(input)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const lines = Buffer.concat(chunks).toString('utf8').trim().split('\n');
  if (code !== 0) throw new Error(`${fileURLToPath(probe)} exited with code ${code}`);
  return JSON.parse(lines.at(-1) ?? '') as T;
}

/** The probe side: the input its parent passed (parsed JSON, typed by the probe that reads it). */
export function probeInput(): unknown {
  if ((globalThis as { gc?: () => void }).gc === undefined) {
    throw new Error('Run this probe through runProbe() (bench/child.ts): it needs node --expose-gc');
  }
  return JSON.parse(process.argv[2] ?? 'null');
}

/** The probe side: writes its result as the one JSON line the parent reads. */
export function probeOutput(output: unknown): void {
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

/** `global.gc()`, run twice so that objects freed by finalizers or weak references are collected too. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('global.gc is not exposed (node --expose-gc)');
  gc();
  gc();
}

/**
 * Runs `probe` once per input, each as `node --import tsx <probe> <JSON input>` from the repository root, started
 * together: each child prints `ready` once set up and waits (see {@link waitForGo}); once every one is ready, all are
 * told to go at the same moment, so that none runs while another is still loading. Resolves with the JSON value on
 * the last line of each child's stdout, in input order.
 */
export async function runTogether<O>(probe: URL, inputs: readonly unknown[]): Promise<O[]> {
  const path = fileURLToPath(probe);
  let go!: () => void;
  const allReady = new Promise<void>((resolve) => (go = resolve));
  let waiting = inputs.length;
  const results = inputs.map(async (input) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path, JSON.stringify(input)], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    const arrived = () => {
      if (--waiting === 0) go();
    };
    let ready = false;
    let last = '';
    for await (const line of createInterface({ input: child.stdout })) {
      if (line === 'ready' && !ready) {
        ready = true;
        arrived();
        void allReady.then(() => child.stdin.end('go\n'));
      } else if (line.trim() !== '') last = line;
    }
    // A child that failed while loading must not keep the others waiting.
    if (!ready) arrived();
    const code = await exited;
    if (code !== 0) throw new Error(`${path} ${JSON.stringify(input)} exited with code ${String(code)}`);
    return JSON.parse(last) as O;
  });
  return Promise.all(results);
}

/** The probe side of {@link runTogether}: says `ready`, then resolves when the parent says go. */
export async function waitForGo(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  process.stdout.write('ready\n');
  await once(lines, 'line');
  lines.close();
}
