// The parent side of bench/redis/worker.ts: a few Node processes, started once and given one job each per run, so
// that every run starts them together (each prepared first, then all told to go at once).
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromWorker, Job, JobResult, ToWorker } from './worker.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** How long a worker may take to leave once told to; then it is killed. */
const EXIT_GRACE_MS = 5_000;

/** One worker process and the messages it sent that nobody has read yet. */
class Worker {
  readonly #child: ChildProcess;
  readonly #inbox: FromWorker[] = [];
  #waiting: ((message: FromWorker) => void) | undefined;
  #gone: Error | undefined;
  readonly exited: Promise<void>;

  constructor(build: string | undefined) {
    this.#child = fork(WORKER, build === undefined ? [] : [build], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (message: FromWorker) => {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (waiting) waiting(message);
      else this.#inbox.push(message);
    });
    const gone = (error: Error): void => {
      this.#gone ??= error;
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.({ type: 'failed', error: error.message });
    };
    // Could not be started, or its channel broke: every later wait fails rather than hangs.
    this.#child.on('error', gone);
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        gone(new Error(`bench/redis/worker.ts exited (${signal ?? `code ${code}`})`));
        resolve();
      });
    });
  }

  send(message: ToWorker): void {
    this.#child.send(message);
  }

  /** The next message, which must be of `type`; a `failed` message or the worker's exit rejects. */
  async next<T extends FromWorker['type']>(type: T): Promise<Extract<FromWorker, { type: T }>> {
    const message =
      this.#inbox.shift() ??
      (this.#gone
        ? { type: 'failed' as const, error: this.#gone.message }
        : await new Promise<FromWorker>((resolve) => (this.#waiting = resolve)));
    if (message.type === 'failed') throw new Error(`A Redis bench worker failed: ${message.error}`);
    if (message.type !== type) throw new Error(`A Redis bench worker said ${message.type}, expected ${type}`);
    return message as Extract<FromWorker, { type: T }>;
  }

  async close(): Promise<void> {
    const child = this.#child;
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) this.send({ type: 'exit' });
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Worker processes for the `redis` section, each loading the ratewise build in `build` (src when undefined). */
export class WorkerPool {
  readonly #workers: Worker[];

  constructor(size: number, build: string | undefined) {
    this.#workers = Array.from({ length: size }, () => new Worker(build));
  }

  /**
   * Gives `jobs[i]` to worker `i`; once every one is prepared, calls `beforeGo` (to read Redis's counters), then
   * starts them all and resolves with their results, in the order of `jobs`.
   */
  async run(jobs: readonly Job[], beforeGo: () => Promise<void>): Promise<JobResult[]> {
    if (jobs.length > this.#workers.length) throw new RangeError(`${jobs.length} jobs for ${this.#workers.length}`);
    const workers = this.#workers.slice(0, jobs.length);
    workers.forEach((worker, i) => {
      worker.send({ type: 'prepare', job: jobs[i]! });
    });
    await Promise.all(workers.map((worker) => worker.next('prepared')));
    await beforeGo();
    for (const worker of workers) worker.send({ type: 'go' });
    return Promise.all(workers.map(async (worker) => (await worker.next('result')).result));
  }

  /** Tells every worker to leave, and kills those that do not within a few seconds. */
  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.close()));
  }
}
