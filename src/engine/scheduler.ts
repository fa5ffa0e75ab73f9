// The queue of each budget and the one timer that wakes it. A request waits until its budget is ready (a
// concurrency slot, tokens, no pause, server pace), in priority order; aborts, deadlines and close end the wait.
import type { UnitCosts } from './unit-quotas.js';
import type { CallRoute } from './route-shape.js';
import type { Budget, WaitReason } from './budget.js';
import { MAX_TIMER_DELAY_MS, type Clock, type TimerHandle } from '../clock.js';
import { PriorityQueue, type QueueEntry } from './queue.js';

/**
 * What a lane queues: one per call (a `rw.fetch` or adapter request, entered again by each of its attempts) or per
 * `rw.schedule` task. Each entry ends with exactly one `grant` or `fail`. A ticket enters again only after a grant:
 * the queue drops its granted head before anything else runs, so that a ticket is never in it twice.
 */
export interface Ticket extends QueueEntry {
  readonly cost: number;
  /** Its costs in other units than requests (tokens, …), when it has any. */
  readonly units?: UnitCosts | undefined;
  /** The call's route on its origin, when the budget may pace its routes apart (see `CallTicket.routing`). */
  readonly routing?: CallRoute | undefined;
  /** Epoch ms past which the call must not wait (`maxWait`), Infinity without one. */
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  /** Epoch ms before which it does not join the queue (a retry backing off), 0 when none. Fixed while it waits. */
  readonly notBefore: number;
  /** Whether it goes to the front of its priority (a retried request). Fixed while it waits. */
  readonly front: boolean;
  /** Longest pause ordered by the server it will sit through, in ms (`maxRetryAfter`). */
  readonly maxPauseMs: number;
  /** Called once when its turn comes, with its number in its budget's send order: the budget counted it in flight. */
  readonly grant: (seq: number) => void;
  /** Called once when it will not get a turn. */
  readonly fail: (reason: Failure) => void;
  /** Told that it now waits in another lane (see `Scheduler.move`), before it enters there. */
  moved?(to: Lane): void;
  /** Set by the scheduler: in the queue proper (true), or not (yet) there: backing off, or not entered. */
  queued: boolean;
}

/** Why a ticket failed. */
export type Failure =
  | { readonly kind: 'aborted'; readonly reason: unknown }
  | { readonly kind: 'deadline'; /** Infinity when the wait is not known. */ readonly retryAt: number }
  | { readonly kind: 'paused'; readonly retryAt: number }
  | { readonly kind: 'queueFull'; readonly maxQueue: number }
  | { readonly kind: 'closed' }
  | { readonly kind: 'store'; readonly store: string; readonly error: unknown };

/** Hooks the client gives the scheduler, for events. */
export interface SchedulerHooks {
  throttled?(lane: Lane, reason: WaitReason, until: number): void;
}

/** What ends the turn of a `rw.schedule` task in a lane: made once per lane, so that a task pays for no closure. */
export interface TaskHandlers {
  /** A task call settled (ran, or will not run): the client counts what is pending, for `close()`. */
  settled(): void;
  /** A task's turn is over: its slot goes back, and its call is settled. */
  done(): void;
  /** `done`, then the task's value. */
  readonly fulfilled: (value: unknown) => unknown;
  /** `done`, then the task's error, thrown again. */
  readonly rejected: (error: unknown) => never;
  /**
   * The executor of a waiting task's promise: hands the promise's resolving functions to {@link capturing}. One per
   * lane rather than a closure per task (a million may wait at once).
   */
  readonly capture: (resolve: (value: never) => void, reject: (reason: unknown) => void) => void;
  /** The task whose promise is being made, only while `capture` runs. */
  capturing: { resolve: (value: never) => void; reject: (reason: unknown) => void } | undefined;
}

/** Tickets behind a head held by its own route's policies that one drain looks at, to grant those that may go. */
const AROUND_AT_MOST = 64;

/** A budget with its queue, its backing-off retries and its single timer. */
export class Lane {
  readonly queue = new PriorityQueue<Ticket>();
  /** Retries backing off, in no order (few at a time). */
  readonly delayed = new Set<Ticket>();
  timer: TimerHandle | undefined;
  timerAt = Infinity;
  /** Tickets with a finite deadline, so that deadline scans run only when someone has one. */
  deadlines = 0;
  draining = false;
  again = false;
  /** While the budget is advanced for a ticket in the queue (so the queue's size is the demand, that one included). */
  queuedTurn = false;
  /** What ends the turn of a `rw.schedule` task in this lane, made on first use (see tasks.ts). */
  taskHandlers: TaskHandlers | undefined;
  /** The pause the tickets were last checked against, so that a long pause is checked once, not at every drain. */
  checkedPause = 0;

  constructor(readonly budget: Budget) {}

  /** Nothing waits here. */
  get empty(): boolean {
    return this.queue.size === 0 && this.delayed.size === 0;
  }
}

/**
 * Whether a ticket cannot wait until `readyAt`: its deadline comes first (or has passed), or the server ordered a
 * pause longer than it accepts.
 */
function tooLate(
  ticket: Ticket,
  readyAt: number,
  reason: WaitReason | undefined,
  now: number,
  orderedAt: number,
  askingStore: boolean,
): Failure | undefined {
  // A spent quota's reset is as much the server's order as a pause, and held against the same limit.
  if ((reason === 'paused' || reason === 'server-quota') && Math.min(readyAt, orderedAt) - now > ticket.maxPauseMs) {
    return { kind: 'paused', retryAt: readyAt };
  }
  // The server's quota is spent until its reset (or paced that thin): as much a server-ordered wait as a pause.
  if (reason === 'server' && readyAt - now > ticket.maxPauseMs) return { kind: 'paused', retryAt: readyAt };
  // Held for the store's answer: no wait is known yet, and the answer wakes the lane (a deadline that passed during
  // the round trip is judged then, against the wait the answer names).
  if (readyAt === Infinity && askingStore) return undefined;
  if (ticket.deadline <= now || (readyAt !== Infinity && readyAt > ticket.deadline)) {
    // Infinity: how long is not known (a request in flight must be answered first).
    return { kind: 'deadline', retryAt: readyAt };
  }
  return undefined;
}

export class Scheduler {
  constructor(
    private readonly clock: Clock,
    private readonly hooks: SchedulerHooks = {},
  ) {}

  /**
   * Takes a turn at once if the lane is empty and the budget ready: the fast path, without entering the queue. `now`:
   * the clock's reading, when the caller has just taken it.
   */
  tryNow(lane: Lane, cost: number, units?: UnitCosts, route?: CallRoute, now?: number): number {
    if (!lane.empty) return 0;
    if (units === undefined && lane.budget.freeNow()) return lane.budget.takeFree();
    now ??= this.clock.now();
    lane.budget.advance(cost, now, units, route);
    if (lane.budget.readyAt(cost, now, units, route) > now) return 0;
    return lane.budget.take(cost, now, units, route);
  }

  /**
   * Asks for a turn. Returns the request's send number when granted at once (the budget has counted it in flight and
   * `grant` was not called); otherwise 0, and `grant` or `fail` is called exactly once later.
   */
  enter(lane: Lane, ticket: Ticket): number {
    if (ticket.signal?.aborted) {
      ticket.done = true;
      ticket.fail({ kind: 'aborted', reason: ticket.signal.reason });
      return 0;
    }
    // Only the concurrency cap decides and this ticket has no time limit: no clock, no deadline check.
    const timeless = lane.budget.plain && ticket.notBefore === 0 && ticket.deadline === Infinity;
    if (timeless && lane.empty && lane.budget.freeNow()) {
      ticket.done = true;
      return lane.budget.takeFree();
    }
    const now = timeless ? 0 : this.clock.now();
    if (!timeless && ticket.notBefore <= now) {
      lane.budget.advance(ticket.cost, now, ticket.units, ticket.routing);
      const ready = lane.budget.readiness(ticket.cost, now, ticket.units, ticket.routing);
      if (ready.at <= now && lane.empty) {
        ticket.done = true;
        return lane.budget.take(ticket.cost, now, ticket.units, ticket.routing);
      }
      // Whatever is queued ahead, it cannot go before the budget is ready: a wait already too long for this ticket
      // fails now. (The drain checks a pause against the queue only once, so it would not see a newcomer's limits.)
      const failure =
        ready.at > now
          ? tooLate(ticket, ready.at, ready.reason, now, lane.budget.orderedUntil, lane.budget.askingStore)
          : undefined;
      if (failure) {
        ticket.done = true;
        ticket.fail(this.#ownInstant(lane, failure, ticket, this.#costAhead(lane, ticket), now));
        return 0;
      }
    }
    // A retry was admitted already: only new requests count against the bound.
    if (!ticket.front && lane.queue.size + lane.delayed.size >= lane.budget.config.maxQueue) {
      ticket.done = true;
      ticket.fail({ kind: 'queueFull', maxQueue: lane.budget.config.maxQueue });
      return 0;
    }
    if (ticket.deadline !== Infinity) lane.deadlines++;
    if (ticket.signal) this.#watch(lane, ticket, ticket.signal);
    if (ticket.notBefore > 0 && ticket.notBefore > now) lane.delayed.add(ticket);
    else this.#queue(lane, ticket);
    // Behind others, with no deadline of its own, it changes nothing the lane waits for: skip the drain (a long
    // queue would otherwise pay one at every enqueue).
    // Where routes count against policies of their own, a ticket behind a head its route holds may go at once.
    if (
      ticket.front ||
      !ticket.queued ||
      ticket.deadline !== Infinity ||
      lane.queue.peek() === ticket ||
      lane.budget.routesApart
    )
      this.drain(lane);
    return 0;
  }

  #queue(lane: Lane, ticket: Ticket): void {
    ticket.queued = true;
    lane.queue.add(ticket, ticket.front);
    // A ticket moved from another lane was counted there.
    if (!this.#moving) lane.budget.countWaited();
  }

  /** Set while `move` puts tickets into their new lane. */
  #moving = false;

  /** Takes a ticket out of the lane, wherever it is, and lets go of its listener. */
  #drop(lane: Lane, ticket: Ticket): void {
    if (ticket.queued) lane.queue.remove(ticket);
    else lane.delayed.delete(ticket);
    ticket.done = true;
    if (ticket.deadline !== Infinity) lane.deadlines--;
    if (ticket.signal) this.#unwatch(ticket, ticket.signal);
    if (lane.empty) this.#disarm(lane);
  }

  /**
   * Fails `ticket` when `signal` aborts. One listener per signal, however many tickets share it (an app-wide
   * signal on thousands of requests): no listener-count warning, and leaving costs O(1), not a scan of the rest.
   */
  #watch(lane: Lane, ticket: Ticket, signal: AbortSignal): void {
    let group = this.#bySignal.get(signal);
    if (!group) {
      const tickets = new Map<Ticket, Lane>();
      const onAbort = (): void => {
        this.#bySignal.delete(signal);
        for (const [w, l] of tickets) {
          this.#drop(l, w);
          w.fail({ kind: 'aborted', reason: signal.reason });
        }
      };
      group = { tickets, onAbort };
      this.#bySignal.set(signal, group);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    group.tickets.set(ticket, lane);
  }

  #unwatch(ticket: Ticket, signal: AbortSignal): void {
    const group = this.#bySignal.get(signal);
    if (!group?.tickets.delete(ticket) || group.tickets.size > 0) return;
    this.#bySignal.delete(signal);
    signal.removeEventListener('abort', group.onAbort);
  }

  /** The tickets waiting with each signal, and the one listener that fails them. */
  readonly #bySignal = new WeakMap<AbortSignal, { tickets: Map<Ticket, Lane>; onAbort: () => void }>();

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
      // Nothing delayed here: a head is queued, and dropping it is taking it off the queue (one with a deadline can
      // have come in while a grant ran).
      while (budget.freeNow()) {
        const head = lane.queue.shift();
        if (head === undefined) break;
        if (head.deadline !== Infinity) lane.deadlines--;
        if (head.signal) this.#unwatch(head, head.signal);
        head.grant(budget.takeFree());
      }
      if (lane.empty) this.#disarm(lane);
      return;
    }
    const now = this.clock.now();
    let wakeAt = Infinity;
    for (const ticket of lane.delayed) {
      if (ticket.notBefore <= now) {
        lane.delayed.delete(ticket);
        this.#queue(lane, ticket);
      } else if (ticket.notBefore < wakeAt) {
        wakeAt = ticket.notBefore;
      }
    }
    for (let head = lane.queue.peek(); head; head = lane.queue.peek()) {
      lane.queuedTurn = true;
      lane.budget.advance(head.cost, now, head.units, head.routing);
      lane.queuedTurn = false;
      const ready = lane.budget.readiness(head.cost, now, head.units, head.routing);
      if (ready.at <= now) {
        this.#drop(lane, head);
        head.grant(lane.budget.take(head.cost, now, head.units, head.routing));
        continue;
      }
      // Held by its own route's policies, the head does not hold requests of other routes: they go around it.
      const apart = lane.budget.routesApart && lane.budget.heldApart(head.cost, now, head.units, head.routing);
      if (apart) wakeAt = Math.min(wakeAt, this.#goAround(lane, head, now));
      // A server pace is checked only when it already keeps the head past its cap: ordinary pacing never scans.
      const serverWait = ready.reason === 'server' && ready.at - now > head.maxPauseMs;
      const paused = ready.reason === 'paused' || ready.reason === 'server-quota';
      const pauseToCheck = (paused || serverWait) && lane.checkedPause !== ready.at;
      if (lane.deadlines > 0 || pauseToCheck) {
        lane.checkedPause = paused || serverWait ? ready.at : 0;
        wakeAt = Math.min(wakeAt, this.#failLate(lane, ready.at, ready.reason, now, apart));
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
   * Grants the queued tickets behind a held head that may go now (their routes count against other policies), in
   * queue order, looking at most `AROUND_AT_MOST` of them; stops at one held by the budget as a whole (a slot, a
   * pause, the local rate), which holds every ticket behind it too. Returns the earliest instant one of those it
   * looked at may go.
   */
  #goAround(lane: Lane, head: Ticket, now: number): number {
    const { budget } = lane;
    const behind: Ticket[] = [];
    // Taken out of the queue's order first: a grant may run a task that queues more, while this loop goes on.
    for (const ticket of lane.queue.inOrder()) {
      if (ticket !== head) behind.push(ticket);
      if (behind.length >= AROUND_AT_MOST) break;
    }
    let earliest = Infinity;
    for (const ticket of behind) {
      if (ticket.done) continue;
      lane.queuedTurn = true;
      budget.advance(ticket.cost, now, ticket.units, ticket.routing);
      lane.queuedTurn = false;
      const ready = budget.readiness(ticket.cost, now, ticket.units, ticket.routing);
      if (ready.at <= now) {
        this.#drop(lane, ticket);
        ticket.grant(budget.take(ticket.cost, now, ticket.units, ticket.routing));
      } else if (budget.heldApart(ticket.cost, now, ticket.units, ticket.routing)) {
        earliest = Math.min(earliest, ready.at);
      } else break;
    }
    return earliest;
  }

  /**
   * Fails the queued tickets that cannot go before `readyAt` and whose deadline comes first: their known wait
   * already exceeds what they allow. With `own`, each ticket is judged by when it may go itself (a lane whose head
   * its own route holds). Returns the earliest deadline still pending, when one must wake the lane.
   */
  #failLate(lane: Lane, readyAt: number, reason: WaitReason | undefined, now: number, own = false): number {
    let earliest = Infinity;
    /** Cost units of the tickets ahead that stay: each failed one's own turn comes after theirs. */
    let costAhead = 0;
    const asking = lane.budget.askingStore;
    for (const ticket of lane.queue.inOrder()) {
      const ready = own ? lane.budget.readiness(ticket.cost, now, ticket.units, ticket.routing) : undefined;
      const failure = tooLate(
        ticket,
        ready ? ready.at : readyAt,
        ready ? ready.reason : reason,
        now,
        lane.budget.orderedUntil,
        asking,
      );
      if (failure) {
        this.#drop(lane, ticket);
        ticket.fail(this.#ownInstant(lane, failure, ticket, costAhead, now));
      } else {
        costAhead += ticket.cost;
        // A deadline passed while the store is asked wakes nothing: the answer does.
        if (ticket.deadline < earliest && ticket.deadline > now) earliest = ticket.deadline;
      }
    }
    return earliest;
  }

  /** Cost units queued ahead of a ticket about to join the lane: higher priorities, and its own unless it is a retry. */
  #costAhead(lane: Lane, ticket: Ticket): number {
    let cost = 0;
    for (const other of lane.queue.inOrder()) {
      if (other.priority < ticket.priority || (ticket.front && other.priority === ticket.priority)) break;
      cost += other.cost;
    }
    return cost;
  }

  /**
   * A wait refused for a ticket's deadline names the instant its own turn would have come, behind `costAhead` units
   * (when the budget can tell it), not the instant the budget is next ready.
   */
  #ownInstant(lane: Lane, failure: Failure, ticket: Ticket, costAhead: number, now: number): Failure {
    if (failure.kind !== 'deadline' || costAhead <= 0) return failure;
    const own = lane.budget.readyAfter(costAhead, ticket.cost, now);
    return own === Infinity || own <= failure.retryAt ? failure : { kind: 'deadline', retryAt: own };
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
    else if (budget.inFlight === 0) budget.markIdle(this.clock.now());
  }

  /**
   * Moves the tickets of `from` that `pick` chooses into `to`, as if they entered there now (a route's quota became
   * known while they waited): none is failed by the move itself, and each ends with one `grant` or `fail` as before.
   * Returns how many moved.
   */
  move(from: Lane, to: Lane, pick: (ticket: Ticket) => boolean): number {
    // Out of the queue for good (a removal only marks an entry, which would come back to life as it re-enters).
    const moving = from.queue.extract(pick);
    for (const ticket of from.delayed) {
      if (!pick(ticket)) continue;
      from.delayed.delete(ticket);
      moving.push(ticket);
    }
    for (const ticket of moving) {
      if (ticket.deadline !== Infinity) from.deadlines--;
      if (ticket.signal) this.#unwatch(ticket, ticket.signal);
      ticket.queued = false;
      ticket.moved?.(to);
      this.#moving = true;
      let seq: number;
      try {
        seq = this.enter(to, ticket);
      } finally {
        this.#moving = false;
      }
      if (seq > 0) ticket.grant(seq);
    }
    if (from.empty) this.#disarm(from);
    else if (moving.length > 0) this.drain(from);
    return moving.length;
  }

  /** Fails every ticket of the lane as closed and clears its timer. */
  close(lane: Lane): void {
    this.failAll(lane, { kind: 'closed' });
  }

  /** Fails every ticket of the lane with `failure` and clears its timer. */
  failAll(lane: Lane, failure: Failure): void {
    for (const ticket of [...lane.queue.entries(), ...lane.delayed]) {
      this.#drop(lane, ticket);
      ticket.fail(failure);
    }
    this.#disarm(lane);
  }
}
