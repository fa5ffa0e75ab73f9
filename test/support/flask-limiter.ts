/**
 * Flask-Limiter, the Python limiter ratewise started from, as a real server on 127.0.0.1: Debian's
 * python3-flask-limiter (3.3, on Flask and werkzeug 2.2) run by `/usr/bin/python3` in a child process.
 *
 * The app (flask_limiter_app.py) sends Flask-Limiter's headers on every response: `X-RateLimit-Limit`,
 * `-Remaining`, `-Reset` in epoch seconds, and `Retry-After` in seconds, on 200s too. Its storage is in memory and
 * one limit covers every path and client.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HOST } from '../../scripts/lib/loopback.js';
import { hitCounts } from './servers.js';
import type { RecordedRequest, TestServer } from './servers.js';

/** The interpreter Debian's python3-flask-limiter is installed for. */
export const PYTHON = '/usr/bin/python3';

const APP = fileURLToPath(new URL('./flask_limiter_app.py', import.meta.url));

/** How long the app may take to say which port it listens on before the start counts as failed. */
const START_TIMEOUT_MS = 30_000;
/** How long a stopped app may take to exit before it is killed outright. */
const STOP_TIMEOUT_MS = 5_000;

/** Flask-Limiter's strategies that these tests and benchmarks use. */
export type FlaskLimiterStrategy = 'fixed-window' | 'moving-window';

/** Options of {@link startFlaskLimiterServer}. */
export interface FlaskLimiterOptions {
  /**
   * `fixed-window`: a window opens with the first request after the previous one expired. `moving-window`: a
   * request is admitted when fewer than the limit were admitted in the window before it.
   * @default 'fixed-window'
   */
  readonly strategy?: FlaskLimiterStrategy;
  /** A Flask-Limiter limit string. @default '50 per 2 seconds' */
  readonly limit?: string;
}

/** A running Flask-Limiter app. */
export interface FlaskLimiterServer extends TestServer {
  /** The Python process, leader of its own process group. */
  readonly pid: number;
}

/** The versions of Flask-Limiter and of the Python packages under it, such as `Flask-Limiter 3.3.0 (…)`. */
export function flaskLimiterVersions(): string {
  const script =
    'import flask, flask_limiter, limits, werkzeug, platform\n' +
    'print(f"Flask-Limiter {flask_limiter.__version__} (limits {limits.__version__}, Flask {flask.__version__}, ' +
    'werkzeug {werkzeug.__version__}, Python {platform.python_version()})")';
  return execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' }).trim();
}

type MutableRecord = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

interface LogLine {
  readonly port?: number;
  readonly id?: number;
  readonly receivedAt?: number;
  readonly status?: number;
  readonly answeredAt?: number;
}

/**
 * Starts the app on a free loopback port and resolves once it listens.
 *
 * The counts travel from Python through a pipe, so they may lag a response the client already has by a moment;
 * once `close()` has resolved they hold every request the app saw. `method` and `url` are not reported by the app
 * (every record says `GET /`).
 */
export async function startFlaskLimiterServer(options: FlaskLimiterOptions = {}): Promise<FlaskLimiterServer> {
  const strategy = options.strategy ?? 'fixed-window';
  const limit = options.limit ?? '50 per 2 seconds';
  // Its own process group, so that stopping it reaches anything it may start; its stdin is a pipe whose closing
  // (this process ending, however it ends) makes the app exit by itself.
  const child = spawn(PYTHON, [APP, '0', strategy, limit], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else
      child.once('exit', () => {
        resolve();
      });
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });

  // Indexed by the app's request id; a record may arrive out of order, leaving a hole for a moment.
  const log: (MutableRecord | undefined)[] = [];
  let answered = 0;
  let maxInFlight = 0;
  const record = (id: number): MutableRecord =>
    (log[id] ??= { method: 'GET', url: '/', receivedAt: NaN, status: undefined, answeredAt: undefined });

  const lines = createInterface({ input: child.stdout });
  const ended = once(lines, 'close');
  const port = await new Promise<number>((resolve, reject) => {
    const fail = (reason: string): void => {
      reject(new Error(`Flask-Limiter (${PYTHON} ${APP}) ${reason}${stderr === '' ? '' : `:\n${stderr}`}`));
    };
    const timer = setTimeout(() => {
      fail(`did not report its port within ${String(START_TIMEOUT_MS)} ms`);
    }, START_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(`could not start: ${error.message}`);
    });
    void exited.then(() => {
      clearTimeout(timer);
      fail(`exited with code ${String(child.exitCode)} before listening`);
    });
    lines.on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return; // Not the app's own record (a library printing to stdout).
      }
      if (line.port !== undefined) {
        clearTimeout(timer);
        resolve(line.port);
      } else if (line.id !== undefined && line.receivedAt !== undefined) {
        record(line.id).receivedAt = line.receivedAt;
        maxInFlight = Math.max(maxInFlight, log.length - answered);
      } else if (line.id !== undefined && line.status !== undefined) {
        const entry = record(line.id);
        entry.status = line.status;
        entry.answeredAt = line.answeredAt;
        answered++;
      }
    });
  }).catch(async (error: unknown) => {
    await stop(child, exited);
    throw error;
  });

  // A test that forgets close() must not keep its process alive: the app then goes with this process.
  setReferenced(child, false);
  let closing: Promise<void> | undefined;
  const requests = (): RecordedRequest[] =>
    log.filter((entry): entry is MutableRecord => entry !== undefined).map((entry) => ({ ...entry }));
  return {
    url: `http://${HOST}:${String(port)}`,
    port,
    pid: child.pid!,
    hits: () => {
      const all = requests();
      return hitCounts(all, all.filter((entry) => entry.status === undefined).length, maxInFlight);
    },
    requests,
    close: () =>
      (closing ??= (async () => {
        setReferenced(child, true);
        await stop(child, exited);
        // Every line written before the exit is read once the pipe ends.
        await ended;
      })()),
  };
}

/** Whether the child and its pipes keep this process alive. */
function setReferenced(child: ChildProcessWithoutNullStreams, referenced: boolean): void {
  for (const handle of [child, child.stdin, child.stdout, child.stderr] as (Socket | typeof child)[]) {
    if (referenced) handle.ref();
    else handle.unref();
  }
}

/** Stops the app's process group: SIGTERM, then SIGKILL if it is still there after {@link STOP_TIMEOUT_MS}. */
async function stop(child: ChildProcessWithoutNullStreams, exited: Promise<void>): Promise<void> {
  child.stdin.end();
  const pid = child.pid;
  if (pid === undefined) return;
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  signalGroup('SIGTERM');
  const timer = setTimeout(() => {
    signalGroup('SIGKILL');
  }, STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
