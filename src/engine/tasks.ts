// `rw.schedule()`: arbitrary tasks under a budget. Built for the hot path: a task that may run now runs at once
// with two promises and no ticket; a task that must wait is one small object in the queue.
import { RateLimitError } from '../errors.js';
import type { PendingCalls } from './pending.js';
import type { Failure, Lane, Scheduler, TaskHandlers, Ticket } from './scheduler.js';
import { refusalError } from './wait.js';

/** What a task needs from its client. */
export interface TaskHost {
  readonly scheduler: Scheduler;
  /** The client's calls not yet settled, for `close()`. */
  readonly pending: PendingCalls;
}

type Task<T> = () => T | PromiseLike<T>;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * What ends the turns of a lane's tasks, made with the lane's first task. The work is in prototype methods, the same
 * functions for every client, and the closures the promises need only call them: optimised code that called a closure
 * of one client's lane held that closure, and was thrown away when that client was collected.
 */
class LaneTasks implements TaskHandlers {
  capturing: TaskHandlers['capturing'] = undefined;

  constructor(
    readonly host: TaskHost,
    readonly lane: Lane,
  ) {}

  settled(): void {
    this.host.pending.settled();
  }

  done(): void {
    this.host.scheduler.release(this.lane);
    this.host.pending.settled();
  }

  readonly fulfilled = (value: unknown): unknown => {
    this.done();
    return value;
  };

  readonly rejected = (error: unknown): never => {
    this.done();
    throw error;
  };

  readonly capture = (resolve: (value: never) => void, reject: (reason: unknown) => void): void => {
    const ticket = this.capturing!;
    ticket.resolve = resolve;
    ticket.reject = reject;
  };
}

/** The lane's handlers, made with `host` on first use (later calls may pass no host). */
function handlers(host: TaskHost | undefined, lane: Lane): TaskHandlers {
  let h = lane.taskHandlers;
  if (h === undefined) {
    if (host === undefined) throw new Error('ratewise: a task turn outlived its lane');
    lane.taskHandlers = h = new LaneTasks(host, lane);
  }
  return h;
}

/** Runs `task` on the turn the lane just gave it; the turn ends when the task's promise settles. */
export function runTask<T>(host: TaskHost, lane: Lane, task: Task<T>): Promise<T> {
  return run(handlers(host, lane), task);
}

function run<T>(h: TaskHandlers, task: Task<T>): Promise<T> {
  let result: T | PromiseLike<T>;
  try {
    result = task();
  } catch (error) {
    h.done();
    // The task's own throw, passed on unchanged.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(error);
  }
  if (!isThenable(result)) {
    h.done();
    return Promise.resolve(result);
  }
  return Promise.resolve(result).then(h.fulfilled, h.rejected) as Promise<T>;
}

/**
 * A task waiting for its turn: its ticket in the lane and the caller's promise in one object. A million may wait at
 * once, so it holds only what differs between tasks; what is the same for all is on the prototype, and what is the
 * same for a lane is on the lane.
 */
export class TaskTicket<T> implements Ticket {
  done = false;
  resolve: (value: T | PromiseLike<T>) => void = noop;
  reject: (reason: unknown) => void = noop;

  constructor(
    readonly lane: Lane,
    readonly task: Task<T>,
    readonly priority: number,
    readonly cost: number,
  ) {}

  get deadline(): number {
    return Infinity;
  }
  get maxWaitMs(): number {
    return Infinity;
  }
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
  // Tasks never back off: always in the queue proper.
  get queued(): boolean {
    return true;
  }
  set queued(_: boolean) {
    // always queued
  }

  grant(): void {
    // Runs inside the scheduler's drain, which is safe to re-enter: it takes its head afresh at every step, and a
    // task's own calls into ratewise only queue or take turns.
    settle(run(handlers(undefined, this.lane), this.task), this);
  }

  fail(failure: Failure): void {
    handlers(undefined, this.lane).settled();
    const { key } = this.lane.budget;
    const url = `task ${JSON.stringify(key)}`;
    if (failure.kind === 'aborted') this.reject(failure.reason);
    else if (failure.kind !== 'deadline' && failure.kind !== 'paused') {
      this.reject(refusalError(failure, key, 'TASK', url));
    } else {
      const { retryAt } = failure;
      const waitMs = Math.max(0, retryAt - (this.deadline - this.maxWaitMs));
      this.reject(
        new RateLimitError({ reason: 'max-wait', key, method: 'TASK', url, retryAt, waitMs, limitMs: this.maxWaitMs }),
      );
    }
  }
}

/** A task that may wait only so long (`maxWait`): the rarer kind, so the common one does not carry the fields. */
export class TimedTaskTicket<T> extends TaskTicket<T> {
  constructor(
    lane: Lane,
    task: Task<T>,
    priority: number,
    cost: number,
    /** Epoch ms past which it must not wait. */
    readonly until: number,
    readonly limitMs: number,
  ) {
    super(lane, task, priority, cost);
  }

  override get deadline(): number {
    return this.until;
  }
  override get maxWaitMs(): number {
    return this.limitMs;
  }
}

/**
 * Settles a waiting task's promise as `ran` settles. Not `resolve(ran)`: resolving with a promise costs a job, a
 * second reaction and two new resolving functions per task, a third of a queued task's cost.
 */
function settle<T>(ran: Promise<T>, ticket: TaskTicket<T>): void {
  void ran.then(ticket.resolve, ticket.reject);
}

function noop(): void {
  // replaced by the promise's own functions as soon as it exists
}

/** Queues a task in `lane`; its promise settles when the task ran, or when it cannot get a turn. */
export function queueTask<T>(
  host: TaskHost,
  lane: Lane,
  task: Task<T>,
  priority: number,
  cost: number,
  deadline: number,
  maxWaitMs: number,
): Promise<T> {
  const h = handlers(host, lane);
  const ticket =
    deadline === Infinity
      ? new TaskTicket(lane, task, priority, cost)
      : new TimedTaskTicket(lane, task, priority, cost, deadline, maxWaitMs);
  // The executor runs at once, inside the constructor: `capturing` names this ticket for exactly that long.
  h.capturing = ticket;
  const promise = new Promise<T>(h.capture);
  h.capturing = undefined;
  const seq = host.scheduler.enter(lane, ticket);
  if (seq > 0) settle(runTask(host, lane, task), ticket);
  return promise;
}
