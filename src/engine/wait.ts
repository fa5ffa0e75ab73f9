// Waiting for a turn in a lane: the promise side of the scheduler, and the typed errors a refused wait becomes.
import { ClosedError, QueueFullError, RateLimitError, StoreUnavailableError, type RatewiseError } from '../errors.js';
import type { Failure, Lane, Scheduler, Waiter } from './scheduler.js';
import type { Clock } from '../clock.js';
import type { Emitter, RatewiseEvents } from '../events.js';

/** A refusal that is neither the caller's abort nor a wait too long: each is the same error for a request or a task. */
export type Refusal = Extract<Failure, { kind: 'closed' | 'queueFull' | 'store' }>;

/** The error a refused wait becomes; `url` is already sanitised (a task's is its key). */
export function refusalError(failure: Refusal, key: string, method: string, url: string): RatewiseError {
  switch (failure.kind) {
    case 'closed':
      return new ClosedError({ method, url, when: 'pending' });
    case 'queueFull':
      return new QueueFullError({ key, maxQueue: failure.maxQueue, method, url });
    case 'store':
      return new StoreUnavailableError({ store: failure.store, key, method, url, cause: failure.error });
  }
}

/** What waiting for a turn needs of its client. */
export interface WaitContext {
  readonly options: { readonly clock: Clock };
  readonly scheduler: Scheduler;
  readonly events: Emitter<RatewiseEvents>;
  readonly isClosed: () => boolean;
}

/** What a wait for a turn needs to know of its request. */
export interface TurnRequest {
  readonly lane: Lane;
  readonly method: string;
  readonly safeUrl: string;
  readonly signal: AbortSignal | undefined;
  readonly cost: number;
  readonly priority: number;
}

/** The per-attempt part of a wait: where it queues and how long it may wait. */
export interface Turn {
  front: boolean;
  notBefore: number;
  readonly deadline: number;
  readonly maxWaitMs: number;
  maxPauseMs: number;
}

/**
 * Waits for a turn in the lane; gives the request's number in its budget's send order once the budget counted it
 * in flight (at once when it may go now, without a promise).
 */
export function acquire(ctx: WaitContext, t: TurnRequest, waiter: Turn): Promise<number> | number {
  const { lane, method, safeUrl, signal, cost, priority } = t;
  if (ctx.isClosed()) {
    // A retry was under way when the client closed: the call was pending, not made after the close.
    return Promise.reject(new ClosedError({ method, url: safeUrl, when: waiter.front ? 'pending' : 'afterClose' }));
  }
  if (!waiter.front && waiter.notBefore === 0 && !signal?.aborted) {
    const seq = ctx.scheduler.tryNow(lane, cost);
    if (seq > 0) return seq;
  }
  return new Promise<number>((resolve, reject) => {
    const fail = (failure: Failure): void => {
      // An abort rejects with the caller's own `signal.reason`, whatever it is, so the caller recognises its own abort.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      if (failure.kind === 'aborted') reject(failure.reason);
      else if (failure.kind !== 'deadline' && failure.kind !== 'paused') {
        reject(refusalError(failure, lane.budget.key, method, safeUrl));
      } else {
        const now = ctx.options.clock.now();
        const paused = failure.kind === 'paused';
        reject(
          new RateLimitError({
            reason: paused ? 'max-retry-after' : 'max-wait',
            key: lane.budget.key,
            method,
            url: safeUrl,
            retryAt: failure.retryAt,
            waitMs: Math.max(0, failure.retryAt - now),
            limitMs: paused ? waiter.maxPauseMs : waiter.maxWaitMs,
          }),
        );
      }
    };
    const entry: Waiter = {
      priority,
      cost,
      deadline: waiter.deadline,
      signal,
      notBefore: waiter.notBefore,
      front: waiter.front,
      maxPauseMs: waiter.maxPauseMs,
      done: false,
      grant: resolve,
      fail,
    };
    const seq = ctx.scheduler.enter(lane, entry);
    if (seq > 0) resolve(seq);
    // Only a wait that began: not one refused at once (queue full, a wait already too long) or granted by the drain.
    else if (!entry.done && ctx.events.hasListeners('queued')) {
      ctx.events.emit('queued', {
        key: lane.budget.key,
        method,
        url: safeUrl,
        queued: lane.queue.size + lane.delayed.size,
        priority,
      });
    }
  });
}
