// One budget's view of each IETF policy its answers name, for a budget whose routes count against different sets of
// them (a route's own policy beside a host-wide one): a request of a route whose policies are known goes when every
// one of them allows it, the tightest deciding. Requests of routes not yet answered go by the budget's own view.
// No clock: the budget tells `now`. The maths of one policy is `server-pace.ts`'s; `policyReadyAt` adds what holds a
// policy whose window has turned.
import type { RateLimitInfo } from '../headers/types.js';
import { MAX_POLICY_NAMES } from './learned-routes.js';
import { live, noteCount, observe, readyAt, spend, type ServerPace } from './server-pace.js';

/** Policies one budget keeps a view of: a real server names one to three per route. */
export const MAX_POLICY_PACES = 32;

/** One policy's count in one answer. */
export interface PolicyCount {
  readonly name: string;
  readonly remaining: number;
  readonly resetAt: number;
  readonly limit: number | undefined;
}

/**
 * The IETF policies (drafts 08 and later, and Atlassian's `Beta-` copy) an answer named with a count of requests and a
 * reset, each name once: what a route's requests can be paced by.
 */
export function policyCounts(info: RateLimitInfo): PolicyCount[] {
  const counts: PolicyCount[] = [];
  for (const p of info.policies) {
    if ((p.source !== 'ietf' && p.source !== 'ietf-beta') || p.unit !== 'requests') continue;
    const { name, remaining, resetAt } = p;
    if (name === undefined || name === '' || remaining === undefined || resetAt === undefined) continue;
    if (counts.some((c) => c.name === name)) continue;
    counts.push({ name, remaining, resetAt, limit: p.limit });
    if (counts.length === MAX_POLICY_NAMES) break; // as many as `policyNames` takes
  }
  return counts;
}

/**
 * The earliest instant a request of `cost` may go as far as one policy is concerned, with `inFlight` requests that
 * may count against it unanswered. A policy whose window has turned (or whose view was forgotten) says nothing of the
 * new window: one request asks, and the rest wait for its answer (Infinity: when a request in flight ends).
 */
export function policyReadyAt(pace: ServerPace | undefined, inFlight: number, cost: number, now: number): number {
  const current = pace && live(pace, now);
  if (current === undefined) return inFlight > 0 ? Infinity : now;
  return readyAt(current, cost, now);
}

/** One IETF policy of a budget whose routes count against different ones, as `rw.stats()` shows it. */
export interface PolicyStats {
  /**
   * Requests the budget may still send against it before its reset, as it reckons them (the server's last count, less
   * what went since and its reserve); undefined while no live answer describes it (its window turned).
   */
  readonly remaining: number | undefined;
  /** Epoch ms its window resets, when a live answer described it. */
  readonly resetAt: number | undefined;
  /** Requests in flight charged to it. */
  readonly inFlight: number;
  /** The routes (method and path shape) whose answers named it. */
  readonly routes: readonly string[];
}

/** Whether two lists name the same policies. */
function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name) => b.includes(name));
}

interface PolicyView {
  pace: ServerPace | undefined;
  /** The request whose answer set the pace (send order). */
  seq: number;
  /** Requests in flight charged to this policy. */
  inFlight: number;
}

/** Pacing settings of the budget: what `observe` needs besides the answer. */
export interface PolicyPacing {
  readonly reserve: number;
  readonly spread: boolean;
}

/** Marks a request charged while its route was not known: it may count against any policy. */
const ANY: readonly string[] = [];

export class PolicyPaces {
  /** Policy name → its view, the least recently answered first. */
  readonly #views = new Map<string, PolicyView>();
  /** Route shape → the policies its latest accepted answer named, the least recently answered first. */
  readonly #routes = new Map<string, readonly string[]>();
  /** Request (send order) → the policies it was charged to when sent; `ANY` when its route was not known. */
  readonly #charged = new Map<number, readonly string[]>();
  /** Requests in flight charged with `ANY`. */
  #anyInFlight = 0;
  /** The policies of the first route learnt: another route naming others splits the budget. */
  #first: readonly string[] | undefined;
  #split = false;

  constructor(
    private readonly pacing: PolicyPacing,
    /** Routes remembered (the budget's `maxRoutes`). */
    private readonly maxRoutes: number,
  ) {}

  /**
   * Whether routes of the budget have named different policies: until then, the budget's own view paces every request
   * as well as this would (and better: it knows more of its one window).
   */
  get split(): boolean {
    return this.#split;
  }

  /** The policies a route counts against, when the budget is split and an answer of the route named them. */
  policiesOf(shape: string): readonly string[] | undefined {
    return this.#split ? this.#routes.get(shape) : undefined;
  }

  /**
   * The earliest instant a request of `cost` may go as far as these policies are concerned (the latest of theirs),
   * with `budgetInFlight` requests of the budget in flight.
   */
  readyAt(names: readonly string[], cost: number, budgetInFlight: number, now: number): number {
    let at = now;
    for (const name of names) {
      const view = this.#views.get(name);
      at = Math.max(at, policyReadyAt(view?.pace, this.#inFlightOf(view, budgetInFlight), cost, now));
      if (at === Infinity) break;
    }
    return at;
  }

  /**
   * Request `seq` of `cost` goes now, of the route `shape` (undefined: a request of no route). Its route's policies
   * are spent; a request of a route not yet known may count against any of them, and spends them all.
   */
  take(shape: string | undefined, seq: number, cost: number, now: number): void {
    const names = shape === undefined ? undefined : this.#routes.get(shape);
    this.#charge(seq, names ?? ANY);
    if (names === undefined) {
      for (const view of this.#views.values()) view.pace = spend(view.pace, cost, now);
    } else {
      for (const name of names) {
        const view = this.#views.get(name);
        if (view !== undefined) view.pace = spend(view.pace, cost, now);
      }
    }
  }

  /**
   * The answer to request `seq` of route `shape` counted against `counts` (none: it named no policy, or it was not
   * this budget's quota). `othersInFlight` requests of the budget besides it are in flight. A throttle updates the
   * views but does not teach the route: a refusal stops at the first limiter that refuses, and names only those
   * consulted before.
   */
  observe(
    seq: number,
    shape: string | undefined,
    counts: readonly PolicyCount[],
    othersInFlight: number,
    throttled: boolean,
    now: number,
  ): void {
    this.#end(seq);
    if (counts.length === 0) return;
    if (shape !== undefined && (!throttled || !this.#routes.has(shape))) {
      this.#learn(
        shape,
        counts.map((c) => c.name),
      );
    }
    for (const count of counts) {
      const view = this.#view(count.name);
      const inFlight = this.#inFlightOf(view, othersInFlight);
      // The latest request's answer sets the pace; an earlier one's count is one the window reported. With nothing
      // else of this policy in flight, the lowest count heard is exact whatever order the answers came in.
      if (seq >= view.seq || inFlight === 0) {
        view.seq = Math.max(view.seq, seq);
        view.pace = observe(view.pace, { ...count, inFlight, ...this.pacing, route: shape }, now);
      } else {
        view.pace = noteCount(view.pace, count.remaining, count.resetAt, now);
      }
    }
  }

  /**
   * An answer to a request another budget sent (before the server named this budget's quota): as if
   * `othersInFlight` requests of unknown routes were in flight besides the `budgetInFlight` of this budget.
   */
  observeForeign(
    shape: string,
    counts: readonly PolicyCount[],
    budgetInFlight: number,
    othersInFlight: number,
    now: number,
  ): void {
    if (counts.length === 0) return;
    this.#learn(
      shape,
      counts.map((c) => c.name),
    );
    for (const count of counts) {
      const view = this.#view(count.name);
      const inFlight = this.#inFlightOf(view, budgetInFlight) + othersInFlight;
      view.pace = observe(view.pace, { ...count, inFlight, ...this.pacing, route: shape }, now);
    }
  }

  /** Request `seq` ended without an answer. */
  failed(seq: number): void {
    this.#end(seq);
  }

  /** Nothing of the budget is in flight: every charge is over (one left behind by a request never answered too). */
  idle(): void {
    if (this.#charged.size === 0) return;
    this.#charged.clear();
    this.#anyInFlight = 0;
    for (const view of this.#views.values()) view.inFlight = 0;
  }

  /**
   * Each policy's view at `now` for `rw.stats()`, once the budget is split: the server's last count less what went
   * since (`remaining`), when it comes back whole (`resetAt`), the requests in flight charged to it, and the routes
   * counted against it. Undefined before the split.
   */
  view(now: number): Readonly<Record<string, PolicyStats>> | undefined {
    if (!this.#split) return undefined;
    const views: Record<string, PolicyStats> = {};
    for (const [name, view] of this.#views) {
      const pace = view.pace && live(view.pace, now);
      const routes: string[] = [];
      for (const [shape, names] of this.#routes) if (names.includes(name)) routes.push(shape);
      views[name] = {
        remaining: pace === undefined ? undefined : Math.max(0, Math.floor(pace.allowance)),
        resetAt: pace?.resetAt,
        inFlight: view.inFlight,
        routes,
      };
    }
    return views;
  }

  /** Whether no policy holds a request back at `now` (a spent one would be forgotten with the budget). */
  free(now: number): boolean {
    for (const view of this.#views.values()) if (readyAt(view.pace, 1, now) > now) return false;
    return true;
  }

  /** The view of a policy, made (and the least recently answered forgotten past the bound) when new. */
  #view(name: string): PolicyView {
    const views = this.#views;
    let view = views.get(name);
    if (view !== undefined) {
      views.delete(name);
    } else {
      view = { pace: undefined, seq: 0, inFlight: 0 };
      for (const names of this.#charged.values()) if (names.includes(name)) view.inFlight++;
      if (views.size >= MAX_POLICY_PACES) {
        const oldest = views.keys().next();
        if (!oldest.done) views.delete(oldest.value);
      }
    }
    views.set(name, view);
    return view;
  }

  #learn(shape: string, names: readonly string[]): void {
    const routes = this.#routes;
    const known = routes.get(shape);
    routes.delete(shape);
    routes.set(shape, known !== undefined && sameNames(known, names) ? known : names);
    if (routes.size > this.maxRoutes) {
      const oldest = routes.keys().next();
      if (!oldest.done) routes.delete(oldest.value);
    }
    if (this.#first === undefined) this.#first = names;
    else if (!this.#split && !sameNames(this.#first, names)) this.#split = true;
  }

  /**
   * Requests in flight that may count against a policy, at most `budgetInFlight`: those charged to it, those of routes
   * not known when sent, and those the budget sent before it kept charges (not in `#charged`: any policy too).
   */
  #inFlightOf(view: PolicyView | undefined, budgetInFlight: number): number {
    const untracked = budgetInFlight === Infinity ? 0 : Math.max(0, budgetInFlight - this.#charged.size);
    return Math.min(budgetInFlight, (view?.inFlight ?? 0) + this.#anyInFlight + untracked);
  }

  #charge(seq: number, names: readonly string[]): void {
    const charged = this.#charged;
    // Requests that ended without the budget hearing of it are cleared when the budget is idle; a bound besides.
    if (charged.size >= 4_096) this.idle();
    charged.set(seq, names);
    if (names === ANY) this.#anyInFlight++;
    for (const name of names) {
      const view = this.#views.get(name);
      if (view !== undefined) view.inFlight++;
    }
  }

  #end(seq: number): void {
    const names = this.#charged.get(seq);
    if (names === undefined) return;
    this.#charged.delete(seq);
    if (names === ANY) this.#anyInFlight--;
    for (const name of names) {
      const view = this.#views.get(name);
      if (view !== undefined && view.inFlight > 0) view.inFlight--;
    }
  }
}
