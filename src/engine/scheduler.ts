// The queue of each budget and the one timer that wakes it. A request waits until its budget is ready (a
// concurrency slot, tokens, no pause, server pace), in priority order; aborts, deadlines and close end the wait.
import type { Budget, WaitReason } from './budget.js';
import { MAX_TIMER_DELAY_MS, type Clock, type TimerHandle } from '../clock.js';
import { PriorityQueue, type QueueEntry } from './queue.js';

/** One request waiting for its turn. */
export interface Waiter extends QueueEntry {
  readonly cost: number;
  /** Epoch ms past which the call must not wait (`maxWait`), Infinity without one. */
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  /** Epoch ms before which it does not join the queue (a retry backing off), 0 when none. */
  readonly notBefore: number;
  /** Whether it goes to the front of its priority (a retried request). */
  readonly front: boolean;
  /** Longest pause ordered by the server it will sit through, in ms (`maxRetryAfter`). */
  readonly maxPauseMs: number;
  /** Called once when its turn comes, with its number in its budget's send order: the budget counted it in flight. */
  readonly grant: (seq: number) => void;
  /** Called once when it will not get a turn. */
  readonly fail: (reason: Failure) => void;
  queued?: boolean;
}

/** Why a waiter failed. */
export type Failure =
  | { readonly kind: 'aborted'; readonly reason: unknown }
  | { readonly kind: 'deadline'; readonly retryAt: number }
  | { readonly kind: 'paused'; readonly retryAt: number }
  | { readonly kind: 'queueFull'; readonly maxQueue: number }
  | { readonly kind: 'closed' }
  | { readonly kind: 'store'; readonly store: string; readonly error: unknown };

/** Hooks the client gives the scheduler, for events. */
export interface SchedulerHooks {
  throttled?(lane: Lane, reason: WaitReason, until: number): void;
}

/** A budget with its queue, its backing-off retries and its single timer. */
export class Lane {
  readonly queue = new PriorityQueue<Waiter>();
  /** Retries backing off, in no order (few at a time). */
  readonly delayed = new Set<Waiter>();
  timer: TimerHandle | undefined;
  timerAt = Infinity;
  /** Waiters with a finite deadline, so that deadline scans run only when someone has one. */
  deadlines = 0;
  draining = false;
  again = false;
  /** What ends the turn of a `rw.schedule` task in this lane, made on first use (see tasks.ts). */
  taskHandlers: unknown;
  /** The pause the waiters were last checked against, so that a long pause is checked once, not at every drain. */
  checkedPause = 0;

  constructor(readonly budget: Budget) {}

  /** Nothing waits here. */
  get empty(): boolean {
    return this.queue.size === 0 && this.delayed.size === 0;
  }
}

/**
 * Whether a waiter cannot wait until `readyAt`: its deadline comes first (or has passed), or the server ordered a
 * pause longer than it accepts.
 */
function tooLate(
  waiter: Waiter,
  readyAt: number,
  reason: WaitReason | undefined,
  now: number,
  orderedAt: number,
): Failure | undefined {
  if (reason === 'paused' && Math.min(readyAt, orderedAt) - now > waiter.maxPauseMs) {
    return { kind: 'paused', retryAt: readyAt };
  }
  // The server's quota is spent until its reset (or paced that thin): as much a server-ordered wait as a pause.
  if (reason === 'server' && readyAt - now > waiter.maxPauseMs) return { kind: 'paused', retryAt: readyAt };
  if (waiter.deadline <= now || (readyAt !== Infinity && readyAt > waiter.deadline)) {
    return { kind: 'deadline', retryAt: readyAt === Infinity ? now : readyAt };
  }
  return undefined;
}

export class Scheduler {
  constructor(
    private readonly clock: Clock,
    private readonly hooks: SchedulerHooks = {},
  ) {}

  /** Takes a turn at once if the lane is empty and the budget ready: the fast path, with no waiter to allocate. */
  tryNow(lane: Lane, cost: number): number {
    if (!lane.empty) return 0;
    if (lane.budget.freeNow()) return lane.budget.takeFree();
    const now = this.clock.now();
    if (lane.budget.readyAt(cost, now) > now) return 0;
    return lane.budget.take(cost, now);
  }

  /**
   * Asks for a turn. Returns the request's send number when granted at once (the budget has counted it in flight and
   * `grant` was not called); otherwise 0, and `grant` or `fail` is called exactly once later.
   */
  enter(lane: Lane, waiter: Waiter): number {
    if (waiter.signal?.aborted) {
      waiter.done = true;
      waiter.fail({ kind: 'aborted', reason: waiter.signal.reason });
      return 0;
    }
    // Only the concurrency cap decides and this waiter has no time limit: no clock, no deadline check.
    const timeless = lane.budget.plain && waiter.notBefore === 0 && waiter.deadline === Infinity;
    if (timeless && lane.empty && lane.budget.freeNow()) {
      waiter.done = true;
      return lane.budget.takeFree();
    }
    const now = timeless ? 0 : this.clock.now();
    if (!timeless && waiter.notBefore <= now) {
      const ready = lane.budget.readiness(waiter.cost, now);
      if (ready.at <= now && lane.empty) {
        waiter.done = true;
        return lane.budget.take(waiter.cost, now);
      }
      // Whatever is queued ahead, it cannot go before the budget is ready: a wait already too long for this waiter
      // fails now. (The drain checks a pause against the queue only once, so it would not see a newcomer's limits.)
      const failure =
        ready.at > now ? tooLate(waiter, ready.at, ready.reason, now, lane.budget.orderedUntil) : undefined;
      if (failure) {
        waiter.done = true;
        waiter.fail(failure);
        return 0;
      }
    }
    // A retry was admitted already: only new requests count against the bound.
    if (!waiter.front && lane.queue.size + lane.delayed.size >= lane.budget.config.maxQueue) {
      waiter.done = true;
      waiter.fail({ kind: 'queueFull', maxQueue: lane.budget.config.maxQueue });
      return 0;
    }
    if (waiter.deadline !== Infinity) lane.deadlines++;
    if (waiter.signal) this.#watch(lane, waiter, waiter.signal);
    if (waiter.notBefore > 0 && waiter.notBefore > now) lane.delayed.add(waiter);
    else this.#queue(lane, waiter);
    // Behind others, with no deadline of its own, it changes nothing the lane waits for: skip the drain (a long
    // queue would otherwise pay one at every enqueue).
    if (waiter.front || !waiter.queued || waiter.deadline !== Infinity || lane.queue.peek() === waiter)
      this.drain(lane);
    return 0;
  }

  #queue(lane: Lane, waiter: Waiter): void {
    waiter.queued = true;
    lane.queue.add(waiter, waiter.front);
    lane.budget.counters.waited++;
  }

  /** Takes a waiter out of the lane, wherever it is, and lets go of its listener. */
  #drop(lane: Lane, waiter: Waiter): void {
    if (waiter.queued) lane.queue.remove(waiter);
    else lane.delayed.delete(waiter);
    waiter.done = true;
    if (waiter.deadline !== Infinity) lane.deadlines--;
    if (waiter.signal) this.#unwatch(waiter, waiter.signal);
    if (lane.empty) this.#disarm(lane);
  }

  /**
   * Fails `waiter` when `signal` aborts. One listener per signal, however many waiters share it (an app-wide
   * signal on thousands of requests): no listener-count warning, and leaving costs O(1), not a scan of the rest.
   */
  #watch(lane: Lane, waiter: Waiter, signal: AbortSignal): void {
    let group = this.#bySignal.get(signal);
    if (!group) {
      const waiters = new Map<Waiter, Lane>();
      const onAbort = (): void => {
        this.#bySignal.delete(signal);
        for (const [w, l] of waiters) {
          this.#drop(l, w);
          w.fail({ kind: 'aborted', reason: signal.reason });
        }
      };
      group = { waiters, onAbort };
      this.#bySignal.set(signal, group);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    group.waiters.set(waiter, lane);
  }

  #unwatch(waiter: Waiter, signal: AbortSignal): void {
    const group = this.#bySignal.get(signal);
    if (!group?.waiters.delete(waiter) || group.waiters.size > 0) return;
    this.#bySignal.delete(signal);
    signal.removeEventListener('abort', group.onAbort);
  }

  /** The waiters watching each signal, and the one listener that fails them. */
  readonly #bySignal = new WeakMap<AbortSignal, { waiters: Map<Waiter, Lane>; onAbort: () => void }>();

  /** Grants every turn the budget allows now, fails waits that can no longer meet their deadline, re-arms the timer. */
  drain(lane: Lane): void {
    // A grant may run a task that ends at once and releases its slot, which drains again: that inner drain only
    // marks the lane, and this loop goes round again, so the stack stays flat however long the queue.
    if (lane.draining) {
      lane.again = true;
      return;
    }
    lane.draining = true;
    try {
      for (let pass = true; pass;) {
        lane.again = false;
        this.#drainOnce(lane);
        pass = lane.again;
      }
    } finally {
      lane.draining = false;
    }
  }

  #drainOnce(lane: Lane): void {
    const { budget } = lane;
    if (budget.plain && lane.deadlines === 0 && lane.delayed.size === 0) {
      // Only the concurrency cap decides: grant while there is room, and no timer is ever needed.
      for (let head = lane.queue.peek(); head && budget.freeNow(); head = lane.queue.peek()) {
        this.#drop(lane, head);
        head.grant(budget.takeFree());
      }
      return;
    }
    const now = this.clock.now();
    let wakeAt = Infinity;
    for (const waiter of lane.delayed) {
      if (waiter.notBefore <= now) {
        lane.delayed.delete(waiter);
        this.#queue(lane, waiter);
      } else if (waiter.notBefore < wakeAt) {
        wakeAt = waiter.notBefore;
      }
    }
    for (let head = lane.queue.peek(); head; head = lane.queue.peek()) {
      const ready = lane.budget.readiness(head.cost, now);
      if (ready.at <= now) {
        this.#drop(lane, head);
        head.grant(lane.budget.take(head.cost, now));
        continue;
      }
      // A server pace is checked only when it already keeps the head past its cap: ordinary pacing never scans.
      const serverWait = ready.reason === 'server' && ready.at - now > head.maxPauseMs;
      const pauseToCheck = (ready.reason === 'paused' || serverWait) && lane.checkedPause !== ready.at;
      if (lane.deadlines > 0 || pauseToCheck) {
        lane.checkedPause = ready.reason === 'paused' || serverWait ? ready.at : 0;
        wakeAt = Math.min(wakeAt, this.#failLate(lane, ready.at, ready.reason, now));
      }
      if (head.done) continue; // the head itself could not wait that long
      if (ready.at !== Infinity) {
        wakeAt = Math.min(wakeAt, ready.at);
        this.hooks.throttled?.(lane, ready.reason ?? 'rate', ready.at);
      }
      break;
    }
    this.#arm(lane, wakeAt);
  }

  /**
   * Fails the queued waiters that cannot go before `readyAt` and whose deadline comes first: their known wait
   * already exceeds what they allow. Returns the earliest deadline still pending, when one must wake the lane.
   */
  #failLate(lane: Lane, readyAt: number, reason: WaitReason | undefined, now: number): number {
    let earliest = Infinity;
    for (const waiter of lane.queue.entries()) {
      const failure = tooLate(waiter, readyAt, reason, now, lane.budget.orderedUntil);
      if (failure) {
        this.#drop(lane, waiter);
        waiter.fail(failure);
      } else if (waiter.deadline < earliest) {
        earliest = waiter.deadline;
      }
    }
    return earliest;
  }

  #arm(lane: Lane, at: number): void {
    // `!(at < Infinity)`: a NaN instant never comes either, and a timer for it would fire at once, again and again.
    if (lane.empty || !(at < Infinity)) {
      this.#disarm(lane);
      return;
    }
    if (lane.timer !== undefined && lane.timerAt === at) return;
    this.#disarm(lane);
    lane.timerAt = at;
    // Capped: a host timer fires at once past its longest delay (Node's does), and a clock of the caller's may pass
    // the delay straight on. The drain re-arms for the rest.
    const delay = Math.min(at - this.clock.now(), MAX_TIMER_DELAY_MS);
    lane.timer = this.clock.setTimeout(() => {
      lane.timer = undefined;
      lane.timerAt = Infinity;
      this.drain(lane);
    }, delay);
  }

  #disarm(lane: Lane): void {
    if (lane.timer !== undefined) this.clock.clearTimeout(lane.timer);
    lane.timer = undefined;
    lane.timerAt = Infinity;
  }

  /** A request in flight ended: its slot is free for the next. */
  release(lane: Lane): void {
    const { budget } = lane;
    budget.release();
    if (!lane.empty) this.drain(lane);
    // Idle from now: the instant eviction measures from (a busy budget is never evicted).
    else if (budget.inFlight === 0) budget.lastUsedAt = this.clock.now();
  }

  /** Fails every waiter of the lane as closed and clears its timer. */
  close(lane: Lane): void {
    this.failAll(lane, { kind: 'closed' });
  }

  /** Fails every waiter of the lane with `failure` and clears its timer. */
  failAll(lane: Lane, failure: Failure): void {
    for (const waiter of [...lane.queue.entries(), ...lane.delayed]) {
      this.#drop(lane, waiter);
      waiter.fail(failure);
    }
    this.#disarm(lane);
  }
}
