/**
 * A real Redis for the store tests: Debian's `redis-server` (installed by .ci/run), on 127.0.0.1, on a free port,
 * without persistence. Never a shared or remote Redis.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { HOST } from '../../scripts/lib/loopback.js';

export const REDIS_SERVER = '/usr/bin/redis-server';

/** A running `redis-server` process, which the tests may kill and start again on the same port. */
export interface RedisServer {
  readonly port: number;
  /** Such as `redis://127.0.0.1:41234`. */
  readonly url: string;
  /** The process id of the running server; `undefined` once it was stopped or killed. */
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM); resolves once the process has exited. Does nothing when it is not running. */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL), as a crash would; resolves once the process has exited. */
  kill(): Promise<void>;
  /** Starts the server again on the same port with the same options (stopping it first if it runs); empty. */
  restart(): Promise<void>;
}

/** How many ports to try when the one picked was taken between finding it free and Redis binding it. */
const PORT_ATTEMPTS = 5;
/** The tail of the log kept for error messages; a running server's output is drained, never left in the pipe. */
const LOG_LIMIT = 16_384;

type RedisProcess = ChildProcessByStdio<null, Readable, Readable>;

class StartError extends Error {
  override readonly name = 'StartError';
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message);
  }
}

/** Starts a fresh, empty Redis on a free loopback port; resolves once it accepts connections. */
export async function startRedis(): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(
      `The Redis store tests need ${REDIS_SERVER}, which is not installed: install it with ` +
        '`apt-get install redis-server` (.ci/run does).',
    );
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const child = await spawnRedis(port);
      return handle(port, child);
    } catch (error) {
      if (!(error instanceof StartError && error.portTaken) || attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}

function handle(port: number, first: RedisProcess): RedisServer {
  let child: RedisProcess | undefined = first;
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const current = child;
    child = undefined;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    const exited = once(current, 'exit');
    current.kill(signal);
    await exited;
  };
  return {
    port,
    url: `redis://${HOST}:${port}`,
    get pid() {
      return child?.pid;
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    restart: async () => {
      await end('SIGTERM');
      child = await spawnRedis(port);
    },
  };
}

/** A port nothing listens on right now: Redis cannot be asked for port 0, so one is borrowed from the kernel. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Runs redis-server on `port`; resolves when its log says it is ready, rejects with the log if it exits first. */
async function spawnRedis(port: number): Promise<RedisProcess> {
  const args = [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
    '--daemonize',
    'no',
    '--dir',
    tmpdir(),
    '--logfile',
    '',
  ];
  const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Should the test process die before stopping it, the server dies with it rather than outliving the run.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => {
    process.off('exit', killOnExit);
  });

  let log = '';
  const append = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-LOG_LIMIT);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);

  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (!/Ready to accept connections/.test(log)) return;
      cleanup();
      resolve();
    };
    // 'close' rather than 'exit': by then the whole log has been read.
    const onClose = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      const portTaken = /Address already in use/.test(log);
      reject(
        new StartError(
          `redis-server on port ${port} exited (${signal ?? `code ${code}`}) before it was ready:\n${log}`,
          portTaken,
        ),
      );
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(new StartError(`redis-server could not be started: ${error.message}`, false));
    };
    const cleanup = (): void => {
      child.stdout.off('data', onData);
      child.off('close', onClose);
      child.off('error', onError);
    };
    child.stdout.on('data', onData);
    child.once('close', onClose);
    child.once('error', onError);
  });
  return child;
}
