// workerd (Cloudflare Workers' runtime) runs the conformance program as a Worker. As wrangler would, esbuild bundles
// it with the packed package from the consumer project (conditions `workerd`, `worker`, `browser`); workerd serves it
// on a free loopback port, with a global outbound network that allows 127.0.0.1 only (workerd blocks non-public
// addresses by default), and the configuration is POSTed to it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { build } from 'esbuild';

/** Longest the Worker may take to start and answer. */
const TIMEOUT_MS = 90_000;

const CONFIG = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .conformance),
    (name = "loopback", network = (allow = ["127.0.0.1/32"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);
const conformance :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.bundle.mjs")],
  compatibilityDate = "2026-11-01",
  globalOutbound = "loopback",
);
`;

/** Reads workerd's `--control-fd` stream until it names the port of the socket `http`. */
async function portOf(control: Readable): Promise<number> {
  let buffered = '';
  for await (const chunk of control) {
    buffered += (chunk as Buffer).toString('utf8');
    for (const line of buffered.split('\n')) {
      if (!line.trim().startsWith('{')) continue;
      const message = JSON.parse(line) as { event?: string; socket?: string; port?: number };
      if (message.event === 'listen' && message.socket === 'http' && message.port !== undefined) return message.port;
    }
  }
  throw new Error('workerd exited before it listened');
}

/** Bundles and serves the Worker, sends it `config`, and resolves with the program's result. */
export async function runWorkerd(bin: string, consumer: string, config: unknown): Promise<unknown> {
  await build({
    entryPoints: [join(consumer, 'worker.mjs')],
    outfile: join(consumer, 'worker.bundle.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    logLevel: 'warning',
  });
  await writeFile(join(consumer, 'workerd.capnp'), CONFIG);
  const child = spawn(bin, ['serve', 'workerd.capnp', '--control-fd=3'], {
    cwd: consumer,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = once(child, 'exit');
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  try {
    const port = await portOf(child.stdio[3] as Readable);
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      body: JSON.stringify(config),
      signal: timeout,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`the Worker answered ${response.status}: ${text}\n${output}`);
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`workerd: ${String(error)}\n${output.slice(-4_000)}`);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}
