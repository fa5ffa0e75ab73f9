// `rw.schedule()`: arbitrary tasks under a budget. Built for the hot path: a task that may run now runs at once
// with two promises and no waiter; a task that must wait is one small object in the queue.
import { ClosedError, QueueFullError, RateLimitError } from './errors.js';
import type { Failure, Lane, Scheduler, Waiter } from './scheduler.js';

/** What a task needs from its client. */
export interface TaskHost {
  readonly scheduler: Scheduler;
  /** A call settled: the client counts what is pending, for `close()`. */
  settled(): void;
}

type Task<T> = () => T | PromiseLike<T>;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** What ends a task's turn, made once per lane: a task pays for no closure of its own. */
interface Handlers {
  readonly done: () => void;
  readonly fulfilled: (value: unknown) => unknown;
  readonly rejected: (error: unknown) => never;
}

function handlers(host: TaskHost, lane: Lane): Handlers {
  let h = lane.taskHandlers as Handlers | undefined;
  if (h === undefined) {
    const done = (): void => {
      host.scheduler.release(lane);
      host.settled();
    };
    h = {
      done,
      fulfilled: (value) => {
        done();
        return value;
      },
      rejected: (error) => {
        done();
        throw error;
      },
    };
    lane.taskHandlers = h;
  }
  return h;
}

/** Runs `task` on the turn the lane just gave it; the turn ends when the task's promise settles. */
export function runTask<T>(host: TaskHost, lane: Lane, task: Task<T>): Promise<T> {
  const { done, fulfilled, rejected } = handlers(host, lane);
  let result: T | PromiseLike<T>;
  try {
    result = task();
  } catch (error) {
    done();
    // The task's own throw, passed on unchanged.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(error);
  }
  if (!isThenable(result)) {
    done();
    return Promise.resolve(result);
  }
  return Promise.resolve(result).then(fulfilled, rejected) as Promise<T>;
}

/** A task waiting for its turn: the scheduler's waiter and the caller's promise in one object. */
export class TaskTurn<T> implements Waiter {
  done = false;
  queued = false;
  onAbort: (() => void) | undefined = undefined;
  resolve: (value: T | PromiseLike<T>) => void = noop;
  reject: (reason: unknown) => void = noop;

  constructor(
    readonly host: TaskHost,
    readonly lane: Lane,
    readonly task: Task<T>,
    readonly priority: number,
    readonly cost: number,
    /** Epoch ms past which it must not wait, Infinity without one. */
    readonly deadline: number,
    readonly maxWaitMs: number,
  ) {}

  // Fixed for every task: on the prototype, not in each of a million queued objects.
  get signal(): undefined {
    return undefined;
  }
  get notBefore(): number {
    return 0;
  }
  get front(): boolean {
    return false;
  }
  get maxPauseMs(): number {
    return Infinity;
  }

  grant(): void {
    // Runs inside the scheduler's drain, which is safe to re-enter: it takes its head afresh at every step, and a
    // task's own calls into ratewise only queue or take turns.
    this.resolve(runTask(this.host, this.lane, this.task));
  }

  fail(failure: Failure): void {
    this.host.settled();
    const { key } = this.lane.budget;
    const url = `task ${JSON.stringify(key)}`;
    if (failure.kind === 'closed') this.reject(new ClosedError({ method: 'TASK', url, when: 'pending' }));
    else if (failure.kind === 'queueFull') {
      this.reject(new QueueFullError({ key, maxQueue: failure.maxQueue, method: 'TASK', url }));
    } else if (failure.kind === 'aborted') this.reject(failure.reason);
    else {
      const { retryAt } = failure;
      const waitMs = Math.max(0, retryAt - (this.deadline - this.maxWaitMs));
      this.reject(
        new RateLimitError({ reason: 'maxWait', key, method: 'TASK', url, retryAt, waitMs, limitMs: this.maxWaitMs }),
      );
    }
  }
}

function noop(): void {
  // replaced by the promise's own functions as soon as it exists
}

/** Queues `turn`; its promise settles when the task ran, or when it cannot get a turn. */
export function queueTask<T>(turn: TaskTurn<T>): Promise<T> {
  const promise = new Promise<T>((resolve, reject) => {
    turn.resolve = resolve;
    turn.reject = reject;
  });
  const seq = turn.host.scheduler.enter(turn.lane, turn);
  if (seq > 0) turn.resolve(runTask(turn.host, turn.lane, turn.task));
  return promise;
}
