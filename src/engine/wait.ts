// Waiting for a turn in a lane: a call's ticket, the promise side of the scheduler, and the typed errors a refused
// wait becomes.
import { ClosedError, QueueFullError, RateLimitError, StoreUnavailableError, type RatewiseError } from '../errors.js';
import type { Failure, Lane, Scheduler, Ticket } from './scheduler.js';
import type { CallRoute } from './route-shape.js';
import type { UnitCosts } from './unit-quotas.js';
import { splitCost } from '../config/request-options.js';
import type { Clock } from '../clock.js';
import type { Emitter, RatewiseEvents } from '../events.js';
import type { RequestOptions } from '../options.js';
import type { RetryPolicy } from '../retry/decision.js';

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
  readonly options: { readonly clock: Clock; readonly retry: RetryPolicy; readonly maxWait: number };
  readonly scheduler: Scheduler;
  readonly events: Emitter<RatewiseEvents>;
  readonly isClosed: () => boolean;
}

/** What the engine needs to know of a request besides how to send it. */
export interface RequestShape {
  /** Upper-case. */
  readonly method: string;
  /** Whether the body can be sent again. */
  readonly replayable: boolean;
  /** Whether the request carries an `Idempotency-Key`. */
  readonly hasIdempotencyKey: boolean;
}

/** The client's retry policy with a request's own overrides applied. */
function retryPolicy(base: RetryPolicy, perRequest: RequestOptions): RetryPolicy {
  const o = perRequest.retry;
  if (o === undefined) return base;
  // A key present with an undefined value (`{ limit: opts.retries }`) leaves the client's value in place.
  const set = Object.entries(o as Readonly<Record<string, number | undefined>>).filter(([, v]) => v !== undefined);
  return { ...base, ...Object.fromEntries(set) };
}

function noop(): void {
  // replaced by the promise's own functions when a wait begins
}

/**
 * One logical request (`rw.fetch`, `rw.request`) as it waits for its turns: built once per call, entered in its lane
 * again by each attempt. What stays the same for every attempt (request, lane, cost, priority, deadline, limits) is
 * fixed here; between two attempts the call sets where the next one queues (`front`) and when (`notBefore`).
 */
export class CallTicket implements Ticket {
  done = false;
  queued = false;
  /** A retry: it goes back to the front of its priority. */
  front = false;
  /** Epoch ms before which the next attempt does not queue (its own backoff), 0 when none. */
  notBefore = 0;
  /** Attempts sent so far, and the status of the last (undefined when it got no response): what a close reports. */
  attempts = 0;
  lastStatus: number | undefined = undefined;
  /** The retry policy of this call: the client's, with the request's own overrides. */
  readonly retry: RetryPolicy;
  readonly cost: number;
  /** Its costs in other units than requests (`cost` as a record), undefined when none. */
  readonly units: UnitCosts | undefined;
  readonly priority: number;
  /** Epoch ms the call began. */
  readonly startedAt: number;
  /**
   * Epoch ms `maxWait` counts from: `startedAt`, or for a later hop of a redirect chain the instant the chain began
   * (one call, one `maxWait`).
   */
  readonly waitSince: number;
  /** Longest the call may wait inside ratewise, in ms (`maxWait`). */
  readonly maxWaitMs: number;
  readonly deadline: number;
  readonly #ctx: WaitContext;
  /** Whether no attempt has asked for a turn yet: the first asks at `startedAt`, read an instant before. */
  #first = true;
  #resolve: (seq: number) => void = noop;
  #reject: (error: unknown) => void = noop;

  /**
   * The call's route on its origin, when its budget is the origin's own (no key of its own, no `keyFn`, no
   * configured route): what the server's naming of a quota is learnt for.
   */
  routing: CallRoute | undefined;

  constructor(
    ctx: WaitContext,
    /** The lane the call's next attempt waits in: its route's bucket once the server has named it. */
    public lane: Lane,
    readonly request: RequestShape,
    /** The URL for errors and events, with credentials and secrets removed. */
    readonly safeUrl: string,
    readonly signal: AbortSignal | undefined,
    perRequest: RequestOptions,
    /** Epoch ms the call began, when the caller has just read the clock. */
    startedAt?: number,
    /** Epoch ms `maxWait` counts from, when earlier than `startedAt` (see `waitSince`). */
    waitSince?: number,
  ) {
    this.#ctx = ctx;
    this.retry = retryPolicy(ctx.options.retry, perRequest);
    [this.cost, this.units] = splitCost(perRequest.cost);
    this.priority = perRequest.priority ?? 0;
    this.startedAt = startedAt ?? ctx.options.clock.now();
    this.waitSince = waitSince ?? this.startedAt;
    this.maxWaitMs = perRequest.maxWait ?? ctx.options.maxWait;
    this.deadline = this.waitSince + this.maxWaitMs;
  }

  /** Longest server-ordered pause the call sits through, in ms (`retry.maxRetryAfter`). */
  get maxPauseMs(): number {
    return this.retry.maxRetryAfter;
  }

  /**
   * Waits for a turn in the lane; gives the attempt's number in its budget's send order once the budget counted it
   * in flight (at once when it may go now, without a promise).
   */
  acquire(): Promise<number> | number {
    const ctx = this.#ctx;
    const { lane, signal } = this;
    if (ctx.isClosed()) {
      // A retry was under way when the client closed: the call was pending, not made after the close.
      return Promise.reject(this.#closed(this.front ? 'pending' : 'afterClose'));
    }
    // The first attempt asks in the same step the call began in: the clock is not read again.
    const now = this.#first ? this.startedAt : undefined;
    this.#first = false;
    if (!this.front && this.notBefore === 0 && !signal?.aborted) {
      const seq = ctx.scheduler.tryNow(lane, this.cost, this.units, this.routing, now);
      if (seq > 0) return seq;
    }
    return new Promise<number>((resolve, reject) => {
      this.#begin(resolve, reject);
      const seq = ctx.scheduler.enter(lane, this);
      if (seq > 0) resolve(seq);
      // Only a wait that began: not one refused at once (queue full, a wait already too long) or granted by the drain.
      else if (!this.done && ctx.events.hasListeners('queued')) {
        ctx.events.emit('queued', {
          key: lane.budget.key,
          method: this.request.method,
          url: this.safeUrl,
          queued: lane.queue.size + lane.delayed.size,
          priority: this.priority,
        });
      }
    });
  }

  /** The error of a call the client's close ended, with what its attempts got. */
  #closed(when: 'pending' | 'afterClose'): ClosedError {
    const { attempts, lastStatus } = this;
    return new ClosedError({ method: this.request.method, url: this.safeUrl, when, attempts, lastStatus });
  }

  /** A wait begins: settled by `resolve` or `reject`, and nothing left of what the scheduler set in the last one. */
  #begin(resolve: (seq: number) => void, reject: (error: unknown) => void): void {
    this.#resolve = resolve;
    this.#reject = reject;
    this.done = false;
    this.queued = false;
  }

  moved(to: Lane): void {
    this.lane = to;
  }

  grant(seq: number): void {
    this.#resolve(seq);
  }

  fail(failure: Failure): void {
    const { key } = this.lane.budget;
    const { method } = this.request;
    const url = this.safeUrl;
    // Abort means the caller's own reason, whatever it is.
    if (failure.kind === 'aborted') this.#reject(failure.reason);
    else if (failure.kind === 'closed') this.#reject(this.#closed('pending'));
    else if (failure.kind !== 'deadline' && failure.kind !== 'paused') {
      this.#reject(refusalError(failure, key, method, url));
    } else {
      const paused = failure.kind === 'paused';
      const { retryAt } = failure;
      const pausedBy = paused ? this.lane.budget.pausedBy : undefined;
      this.#reject(
        new RateLimitError({
          reason: paused ? 'max-retry-after' : 'max-wait',
          key,
          method,
          url,
          sent: this.attempts > 0,
          pausedBy,
          retryAt,
          // The server's pause is held against maxRetryAfter from now; the call's own wait against maxWait from
          // its start, the clock maxWait runs on.
          waitMs: Math.max(0, retryAt - (paused ? this.#ctx.options.clock.now() : this.waitSince)),
          limitMs: paused ? this.maxPauseMs : this.maxWaitMs,
        }),
      );
    }
  }
}
