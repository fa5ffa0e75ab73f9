// `createRatewise()`: one client instance owns its budgets, their queues and timers, its events and its options.
import { Budget, type BudgetCounters, type ServerView } from './engine/budget.js';
import type { UnitView } from './engine/unit-quotas.js';
import type { PolicyStats } from './engine/policy-paces.js';
import { ClosedError, formatValue, invalidOption, LoopDetectedError } from './errors.js';
import { bodyFingerprint } from './http/body-fingerprint.js';
import { createFingerprint } from './http/fingerprint.js';
import { diagnosticsChannels } from './diagnostics.js';
import { Emitter, type RatewiseEvents } from './events.js';
import { LoopGuard, type Recorded } from './http/loop-guard.js';
import type { RatewiseOptions, RequestOptions } from './options.js';
import { createUrlRedactor, redactUrl, scrubUserinfo } from './http/redact.js';
import { originOf, prepareRequest, type PreparedRequest, type RatewiseRequestInit } from './http/request.js';
import { inBrowser, isRedirectStatus, MAX_REDIRECTS } from './http/redirect.js';
import { budgetFor, resolveOptions, type BudgetConfig, type ResolvedOptions } from './config/resolve.js';
import { matchRoute } from './config/routes.js';
import { RetryBudget } from './retry/retry-budget.js';
import { Lane, Scheduler, type Ticket } from './engine/scheduler.js';
import { LearnedRoutes, policyNames } from './engine/learned-routes.js';
import { shapeOf, type CallRoute } from './engine/route-shape.js';
import type { RateLimitInfo } from './headers/index.js';
import { fetchTransport } from './http/fetch-transport.js';
import { checkRequestOptions, checkScheduleOptions } from './config/request-options.js';
import type { RouteRefusal, SendContext, Transport } from './engine/send.js';
import { sendCall, type TicketArgs } from './http/call-events.js';
import { CallTicket } from './engine/wait.js';
import type { BudgetStoreLink, StoreLink, StoreLinks } from './engine/store-link.js';
import { STORE_LINK, type StoreRoutes } from './store/types.js';
import { PendingCalls } from './engine/pending.js';
import { queueTask, runTask, type TaskHost } from './engine/tasks.js';

/** One budget as `rw.stats()` reports it. */
export interface BudgetStats {
  /** The budget key: the request's `ratewise.key`, else what `keyFn` returned, else the request's origin. */
  readonly key: string;
  /** The `budgets` pattern whose options apply (`*` for the fallback). */
  readonly pattern: string;
  /** Requests waiting for a turn, retries backing off included. */
  readonly queued: number;
  /** Requests sent and not yet answered (tasks of `rw.schedule` still running included). */
  readonly inFlight: number;
  /**
   * The local token bucket's level now, in cost units (the emptiest bucket's, when `rate` names several): what may go
   * at once before the local rate holds requests back. Negative while a cost above the burst is paid off; undefined
   * without a local rate.
   */
  readonly bucketLevel: number | undefined;
  /** Epoch ms the budget is paused until, undefined when not paused. */
  readonly pausedUntil: number | undefined;
  /** What the server said last, undefined before it said anything. */
  readonly server: ServerView | undefined;
  /**
   * The server's quotas in units other than requests (`tokens`, `input-tokens`, …), as the budget reckons them now:
   * per unit, what is left (the server's last count, less what went since, plus its refill), the limit and the
   * reset. Undefined until the server describes one.
   */
  readonly units: Readonly<Record<string, UnitView>> | undefined;
  /**
   * The IETF policies (`RateLimit-Policy` names) the budget's routes count against, once its routes name different
   * ones (a route's own policy beside a host-wide one): per policy, what the budget may still send against it, its
   * reset, the requests in flight charged to it and the routes that count against it. Undefined otherwise.
   */
  readonly policies: Readonly<Record<string, PolicyStats>> | undefined;
  /** What the budget has done since it was created. */
  readonly counters: Readonly<BudgetCounters>;
  /**
   * With a `store`: `'store'` while the budget is shared through it; while the store fails, `'share'` while this
   * client spends its share of the budget, `'local'` while it runs on its local limits. Undefined for a budget that
   * is not shared.
   */
  readonly shared: 'store' | 'share' | 'local' | undefined;
  /** With a `store`: the link to it as this client measures it; undefined without a store. */
  readonly store: StoreStats | undefined;
}

/** A client's link to its `store`, in `rw.stats()`. */
export interface StoreStats {
  /** The smoothed round trip of the store calls answered in time, in ms; undefined before the first answer. */
  readonly rttMs: number | undefined;
  /** How long the next store call may take before it counts as failed, in ms (see `storeTimeout`). */
  readonly timeoutMs: number;
  /**
   * The live clients of this budget the store last counted, this one included (N: with `storeFallback: 'share'`,
   * each spends 1/N of the budget while the store fails); undefined before it answered.
   */
  readonly clients: number | undefined;
  /**
   * The grant this client holds on the budget: cost units the store reserved for it ahead of demand, which its next
   * requests spend without a store call (topped up while it sends, given back when left unused); 0 when none.
   */
  readonly grant: number;
  /**
   * The rate lease this client holds on the budget, in cost units per second: a part of the budget's rate it spends
   * alone, with no store call, while it sends steadily and lightly (with a store that pushes pauses); 0 when none.
   */
  readonly lease: number;
}

/** What `rw.request` needs to know of a request an adapter sends. */
export interface AdapterRequest {
  /** The HTTP method, a non-empty string in any case (ratewise upper-cases it). */
  readonly method: string;
  /** Absolute URL. */
  readonly url: string | URL;
  /** The request's headers, for `keyFn`. */
  readonly headers?: HeadersInit;
  /**
   * Ends the call with the signal's reason while it waits for a turn or backs off before a retry. Aborting the
   * attempt on the wire is the transport's part: pass the same signal to what it sends.
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * Whether the body can be sent again.
   * @default true
   */
  readonly replayable?: boolean;
  /**
   * Whether the request carries an `Idempotency-Key` (makes a POST or PATCH retryable).
   * @default false
   */
  readonly hasIdempotencyKey?: boolean;
  /**
   * The body as it will be sent, for the loop guard, which tells requests apart by a fingerprint of a string or byte
   * body (`ArrayBuffer`, typed array, `Buffer`, `URLSearchParams`); a request whose body is anything else (a stream,
   * `FormData`) is never counted as a repeat. Never read, consumed or kept.
   * @default undefined (no body)
   */
  readonly body?: unknown;
  /** Per-request options, as in `rw.fetch`'s init. */
  readonly ratewise?: RequestOptions | undefined;
  /**
   * For an adapter that follows redirects itself: one object (any, made per call) passed with every request of the
   * call's redirect chain, so that `maxWait` bounds the whole chain, counted from its first request, as in `rw.fetch`.
   * @default undefined (the request is a call of its own)
   */
  readonly chain?: object | undefined;
}

/** Options of `rw.schedule()`. */
export type ScheduleOptions = Pick<RequestOptions, 'priority' | 'maxWait'> & {
  /**
   * Cost units the task takes from its budget's rate: a finite number >= 0 (tasks have no server to describe other
   * units).
   * @default 1
   */
  readonly cost?: number;
  /**
   * The budget the task counts against, a non-empty string; its options come from the `budgets` pattern that matches
   * the key, as for a request's key (`https://api.test` shares the budget and options of requests to that origin).
   * @default '*'
   */
  readonly key?: string;
};

/**
 * A ratewise client, as {@link createRatewise} returns it: its budgets, queues and timers are its own, shared with
 * no other client (except through a `store`).
 */
export interface Ratewise {
  /** A drop-in `fetch`: same arguments and results, throttled and retried. Per-request options go in `init.ratewise`. */
  readonly fetch: (input: RequestInfo | URL, init?: RatewiseRequestInit) => Promise<Response>;
  /**
   * For adapters (axios, undici, your own client): runs one logical request through the engine, which calls
   * `transport.send()` for each attempt and reads each answer through the transport. Same budgets, pacing, pauses
   * and retries as `rw.fetch`.
   */
  readonly request: <R>(request: AdapterRequest, transport: Transport<R>) => Promise<R>;
  /** Runs `task` when the budget `key` allows (no retries: it is not HTTP). */
  schedule<T>(task: () => T | PromiseLike<T>, options?: ScheduleOptions): Promise<T>;
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof RatewiseEvents>(name: K, listener: (event: RatewiseEvents[K]) => void): () => void;
  /** A snapshot of every live budget. */
  stats(): BudgetStats[];
  /**
   * A keyed fingerprint of a secret (an API key, a token), stable within this client: use it in `keyFn` for one
   * budget per credential without the credential becoming a key, a stats entry or a log line.
   */
  fingerprint(secret: string): string;
  /**
   * Fails every waiting call with `ClosedError`, clears every timer, and resolves when every call has settled and,
   * with a `store`, when the units its budgets held ahead of demand have gone back to the store (close the store's
   * client after this).
   */
  close(): Promise<void>;
}

class Client implements Ratewise {
  readonly #options: ResolvedOptions;
  // In Node, every event is also published on its diagnostics channel (`ratewise:<name>`) while it has subscribers.
  readonly #events = new Emitter<RatewiseEvents>(undefined, diagnosticsChannels());
  readonly #scheduler: Scheduler;
  readonly #lanes = new Map<string, Lane>();
  #lastLane: Lane | undefined;
  readonly #loopGuard: LoopGuard | undefined;
  readonly #storeLink: StoreLink | undefined;
  /** Each shared budget's side of the store link, for `stats()`. */
  readonly #storeSides = new WeakMap<Budget, BudgetStoreLink>();
  readonly #ctx: SendContext;
  readonly fingerprint = createFingerprint();
  #closed = false;
  /** Calls not yet settled, requests and tasks alike, for `close()`. */
  readonly #pending = new PendingCalls();
  #closing: Promise<void> | undefined;

  constructor(options: RatewiseOptions) {
    this.#options = resolveOptions(options);
    const guard = this.#options.loopGuard;
    this.#loopGuard = guard && new LoopGuard({ limit: guard.limit, windowMs: guard.windowMs });
    this.#scheduler = new Scheduler(this.#options.clock, {
      throttled: (lane, reason, until) => {
        if (!this.#events.hasListeners('throttled')) return;
        const waitMs = until - this.#options.clock.now();
        const unit = reason === 'server' || reason === 'rate' ? lane.budget.heldByUnit : undefined;
        this.#events.emit('throttled', {
          key: lane.budget.key,
          reason,
          waitMs,
          until,
          ...(unit !== undefined && { unit }),
        });
      },
    });
    const { store, storeFallback: fallback } = this.#options;
    // The store brings the engine's side of sharing (resolveOptions checked that it has it).
    const links = store?.[STORE_LINK] as StoreLinks | undefined;
    this.#storeLink =
      store &&
      links &&
      new links.StoreLink(store, this.#options.clock, this.#options.storeTimeout, fallback, {
        down: (error, downMs) => {
          this.#events.emit('storeError', { store: store.name, error, fallback, downMs });
        },
        up: (downMs) => {
          this.#events.emit('storeRecovered', { store: store.name, downMs });
        },
      });
    this.#taskHost = { scheduler: this.#scheduler, pending: this.#pending };
    this.#ctx = {
      options: this.#options,
      scheduler: this.#scheduler,
      events: this.#events,
      isClosed: () => this.#closed,
      routeAnswer: (call, info, now) => this.#routeAnswer(call, info, now),
      routeRefused: (call, until, ordered, now) => this.#routeRefused(call, until, ordered, now),
      pauseOrigin: (call, until, ordered) => {
        this.#pauseOrigin(call, until, ordered);
      },
    };
  }

  readonly fetch = (input: RequestInfo | URL, init?: RatewiseRequestInit): Promise<Response> =>
    this.#track(this.#fetch(input, init));

  /**
   * Async so that, like fetch, a bad argument rejects rather than throws. Every hop of a redirect chain is sent from
   * this one async frame: a call pays for each frame it makes.
   */
  async #fetch(input: RequestInfo | URL, init: RatewiseRequestInit | undefined): Promise<Response> {
    // As fetch: an init that is no object (a number, a string) is refused, not read as none.
    if (init != null && typeof init !== 'object' && typeof init !== 'function') {
      throw invalidOption('init', 'an object, null or undefined', init);
    }
    const { ratewise, ...fetchInit } = init ?? {};
    const perRequest = ratewise === undefined ? NO_OPTIONS : checkRequestOptions(ratewise);
    let request = prepareRequest(input, fetchInit, perRequest.idempotencyKey);
    const given = input instanceof Request ? input : undefined;
    const signal = fetchInit.signal ?? given?.signal;
    const mode = fetchInit.redirect ?? given?.redirect ?? 'follow';
    // Followed here, hop by hop, so that each hop waits for, is counted by and informs its own host's budget.
    const follow = mode === 'follow' && this.#hopsVisible;
    let options = perRequest;
    // When the call began: `maxWait` bounds the whole chain, each hop's wait counting from here.
    let since: number | undefined;
    for (let hops = 0; ; hops++) {
      // One request of the chain (or the only one), through the budget of its own key.
      const safeUrl = this.#redact(request.url);
      if (this.#closed) throw new ClosedError({ method: request.method, url: safeUrl });
      const key = this.#keyOf(options, request.method, request.url, request);
      const routing = this.#routing;
      // Read once for the hop: the loop guard counts the call, and its ticket begins and asks for a turn, at this instant.
      const now = this.#options.clock.now();
      since ??= now;
      const loop = this.#checkLoop(request.method, safeUrl, request.body, now);
      let response: Response;
      try {
        const onOpaqueRedirect = follow ? this.#onOpaqueRedirect : undefined;
        const transport = fetchTransport(this.#options.fetch, request, this.#onHiddenThrottle, onOpaqueRedirect);
        const args: TicketArgs = [this.#lane(key), request, safeUrl, signal, options, now, since];
        response = await sendCall(this.#ctx, args, transport, routing);
      } catch (error) {
        // A fetch that refuses credentials in URLs (Node's does) names the whole URL in its error: not the password.
        scrubUserinfo(error, request.url);
        throw error;
      } finally {
        if (loop !== undefined) this.#loopGuard?.settle(loop);
      }
      const next = follow ? this.#nextHop(request, response, hops) : undefined;
      if (next === undefined) return response;
      request = next;
      // The caller's `key` names the budget of the call they made, not of wherever it is redirected.
      if (hops === 0) options = withoutKey(perRequest);
    }
  }

  /**
   * The request a hop's answer redirects to, when fetch would follow it (that answer's body is then let go);
   * undefined for any other answer: the call's own. Throws fetch's `TypeError` for a redirect it would refuse, and
   * past `MAX_REDIRECTS`.
   */
  #nextHop(request: PreparedRequest, response: Response, hops: number): PreparedRequest | undefined {
    const { status } = response;
    // Most answers are no redirect: their `Location` is not even looked up.
    if (!isRedirectStatus(status)) return undefined;
    let next: PreparedRequest | undefined;
    try {
      next = request.redirect(status, response.headers.get('location'));
      if (next !== undefined && hops === MAX_REDIRECTS) {
        throw new TypeError(
          `${request.method} ${redactUrl(request.url)} was redirected more than ${MAX_REDIRECTS} times`,
        );
      }
    } catch (error) {
      response.body?.cancel().catch(() => undefined);
      throw error;
    }
    if (next !== undefined) response.body?.cancel().catch(() => undefined);
    return next;
  }

  /** Whether `fetch` shows redirect responses to a `redirect: 'manual'` request (not a browser's opaque ones). */
  #hopsVisible = !inBrowser();

  /** This fetch hides redirects (a browser): from now on it follows them itself, and the first host pays. */
  readonly #onOpaqueRedirect = (): void => {
    this.#hopsVisible = false;
  };

  readonly #onHiddenThrottle = (response: Response): void => {
    this.#warnHiddenHeaders(response);
  };

  /** `redactUrl` for this client's requests, which remembers what it judged of each parameter name. */
  readonly #redact = createUrlRedactor();

  /**
   * A browser hides a cross-origin response's headers unless the server exposes them: ratewise then sees a 429
   * with no timing and can only back off. Said once per origin, with the fix.
   */
  #warnHiddenHeaders(response: Response): void {
    const origin = URL.canParse(response.url) ? new URL(response.url).origin : 'unknown origin';
    if (this.#corsWarned.has(origin) || this.#corsWarned.size >= 1000) return;
    this.#corsWarned.add(origin);
    console.warn(
      `ratewise: a 429 from ${origin} came without readable Retry-After or RateLimit headers: the browser hides them ` +
        'on cross-origin responses unless the server sends `Access-Control-Expose-Headers: Retry-After, RateLimit, ' +
        'RateLimit-Policy` (and any X-RateLimit-* it uses). Backing off without them.',
    );
  }

  readonly #corsWarned = new Set<string>();

  readonly request = <R>(request: AdapterRequest, transport: Transport<R>): Promise<R> =>
    this.#track(this.#request(request, transport));

  async #request<R>(input: AdapterRequest, transport: Transport<R>): Promise<R> {
    // Checked here, for an adapter of the user's own: a plain TypeError from deeper in would name nothing.
    const given: unknown = input;
    if (typeof given !== 'object' || given === null) throw invalidOption('request', 'an object', given);
    const { ratewise } = input;
    const perRequest = ratewise === undefined ? NO_OPTIONS : checkRequestOptions(ratewise);
    const url = new URL(input.url);
    const named: unknown = input.method;
    if (typeof named !== 'string' || named === '') throw invalidOption('request.method', 'a non-empty string', named);
    const method = named.toUpperCase();
    const safeUrl = this.#redact(url);
    if (this.#closed) throw new ClosedError({ method, url: safeUrl });
    const key = this.#keyOf(perRequest, method, url, { headers: () => new Headers(input.headers) });
    const now = this.#options.clock.now();
    const { chain } = input;
    const since = chain === undefined ? undefined : this.#chainStart(chain, now);
    const loop = this.#checkLoop(method, safeUrl, input.body, now);
    try {
      const request = {
        method,
        replayable: input.replayable ?? true,
        hasIdempotencyKey: input.hasIdempotencyKey ?? false,
      };
      const routing = this.#routing;
      return await sendCall(
        this.#ctx,
        [this.#lane(key), request, safeUrl, input.signal, perRequest, now, since],
        transport,
        routing,
      );
    } finally {
      if (loop !== undefined) this.#loopGuard?.settle(loop);
    }
  }

  /** When each redirect chain an adapter follows began (see `AdapterRequest.chain`), by its chain object. */
  readonly #chains = new WeakMap<object, number>();

  #chainStart(chain: object, now: number): number {
    const since = this.#chains.get(chain);
    if (since !== undefined) return since;
    this.#chains.set(chain, now);
    return now;
  }

  /**
   * The budget key: the request's own `ratewise.key`, else `keyFn`'s answer, else the origin; or the origin and the
   * bucket its route counts against, when the origin's budget names it in `routes` or the server has named it.
   * Leaves in `#routing` the call's route when the origin keys it (undefined otherwise), for the call made next.
   * The request's headers are copied only for a `keyFn`.
   */
  #keyOf(perRequest: RequestOptions, method: string, url: URL, fields: { headers(): Headers }): string {
    this.#routing = undefined;
    if (perRequest.key !== undefined) return perRequest.key;
    const keyFn = this.#options.keyFn;
    const own: unknown = keyFn && keyFn({ method, url, headers: fields.headers() });
    if (typeof own === 'string' && own !== '') return own;
    // A null (`headers.get()` of a missing field), a promise (an async keyFn) or an empty string (a header given
    // empty) names no budget: said, not guessed.
    if (own !== undefined)
      throw new TypeError(`Expected \`keyFn\` to return a non-empty string or undefined, got ${formatValue(own)}`);
    const origin = this.#originOf(url);
    const routes = this.#routesOf(origin);
    if (routes.configured) {
      // Matched or not, the call belongs to the origin: a 503 on any of its budgets pauses them all.
      this.#routing = { origin, method, pathname: url.pathname, learn: false };
      const bucket = matchRoute(routes.config.routes, method, url.pathname);
      return bucket === undefined ? origin : this.#bucketKey(origin, bucket, routes.config);
    }
    const { learned } = routes;
    if (learned === undefined) return origin;
    const route: CallRoute = { origin, method, pathname: url.pathname, learn: true };
    this.#routing = route;
    const bucket = learned.size > 0 ? learned.bucketOf(shapeOf(route)) : undefined;
    const held = routes.held;
    if (bucket === undefined && held !== undefined) {
      // Over once its pause is: the origin's calls no longer need their shape worked out for it.
      if (!(held.until > this.#options.clock.now())) routes.held = undefined;
      else if (held.shape !== shapeOf(route)) this.#isolateHeld(routes, origin, this.#options.clock.now());
    }
    return bucket === undefined ? origin : this.#bucketKey(origin, bucket, routes.config);
  }

  /** The route of the call being made: set by `#keyOf`, read at once by the caller (see there). */
  #routing: CallRoute | undefined;

  /** `"<origin> <bucket>"`, with the origin's options remembered for the budget of that key. */
  #bucketKey(origin: string, bucket: string, config: BudgetConfig): string {
    const key = `${origin} ${bucket}`;
    const configs = this.#routeConfigs;
    if (!configs.has(key)) {
      // Only a cache (the origin gives the same options again): bounded, not evicted with the lanes.
      if (configs.size >= ROUTE_CONFIGS_MAX) configs.clear();
      configs.set(key, config);
    }
    return key;
  }

  /** The origin the last request's key was made from: the next request to the same origin reuses it. */
  #lastOrigin: string | undefined;

  /**
   * `originOf(url)`, without making the string again for a URL whose text begins with the previous origin and a `/`:
   * with no `@` before that `/`, it has no userinfo, so its scheme, host and port are the previous origin's.
   * (`lastIndexOf` from 0 compares at the start alone, and costs less than `startsWith`.)
   */
  #originOf(url: URL): string {
    const { href } = url;
    const last = this.#lastOrigin;
    if (last !== undefined && href.charCodeAt(last.length) === SLASH && href.lastIndexOf(last, 0) === 0) return last;
    return (this.#lastOrigin = originOf(url));
  }

  /** What an origin's budget says of routes, and what its server has named, per origin (least recent first). */
  #routesOf(origin: string): OriginRoutes {
    const origins = this.#origins;
    let routes = origins.get(origin);
    if (routes !== undefined) return routes;
    const config = budgetFor(this.#options.budgets, origin);
    // A local rate or a shared cap is the whole host's: a bucket per route would apply it per route.
    const learns =
      config.maxRoutes > 0 &&
      config.routes.length === 0 &&
      config.limits.length === 0 &&
      config.unitLimits.size === 0 &&
      config.sharedConcurrency === undefined;
    routes = {
      config,
      configured: config.routes.length > 0,
      learned: learns ? new LearnedRoutes(config.maxRoutes) : undefined,
    };
    if (origins.size >= ORIGINS_MAX) {
      const oldest = origins.keys().next();
      if (!oldest.done) origins.delete(oldest.value);
    }
    origins.set(origin, routes);
    // What other clients of the store learnt of this origin's routes: its next calls go where theirs do.
    this.#shareRoutes(origin, routes, undefined);
    return routes;
  }

  /**
   * Tells the store what was learnt of the route `shape` (nothing when undefined) and takes in what the other clients
   * learnt of the origin's routes, when the store keeps them. Never waited for, never failing a call: the store is
   * only a head start, each client learns from its own answers anyway.
   */
  #shareRoutes(origin: string, routes: OriginRoutes, shape: string | undefined): void {
    const store = this.#options.store;
    const learned = routes.learned;
    if (store?.routes === undefined || learned === undefined || this.#closed) return;
    const mine = shape === undefined ? { groups: [], routes: [] } : learned.sharedOf(shape);
    let reply: Promise<StoreRoutes>;
    try {
      reply = Promise.resolve(store.routes(origin, mine, routes.config.maxRoutes));
    } catch {
      return;
    }
    reply.then(
      (shared: unknown) => {
        const { groups, routes: kept } = (shared ?? {}) as Partial<StoreRoutes>;
        if (Array.isArray(groups) && Array.isArray(kept)) learned.adopt(shared as StoreRoutes);
      },
      () => undefined,
    );
  }

  readonly #origins = new Map<string, OriginRoutes>();

  /**
   * An answer to `call` named the quota its route counts against: the route is learnt, and the call, with the calls
   * of its route still waiting where it was sent from, moves to that quota's lane, whose budget reads the answer.
   */
  #routeAnswer(call: CallTicket, info: RateLimitInfo, now: number): boolean {
    const route = call.routing;
    if (route === undefined || !route.learn) return false;
    const routes = this.#routesOf(route.origin);
    const { learned } = routes;
    if (learned === undefined) return false;
    if (!info.isRateLimited) routes.accepted = route;
    const named = info.bucket;
    if (named === undefined && info.policies.length === 0) return false;
    const shape = shapeOf(route);
    const before = learned.rawOf(shape);
    let key: string;
    if (named !== undefined) {
      if (named === '' || named.length > 200) return false;
      learned.learn(shape, named);
      key = this.#bucketKey(route.origin, named, routes.config);
    } else {
      const names = policyNames(info);
      if (names.length === 0) return false;
      // The first policies named are the origin's own budget's (a host-wide policy, most often): only routes that
      // name others get budgets of their own. Most answers name what the route's earlier ones did: nothing to learn
      // again (`bucketOf` keeps the route recent, as learning it would).
      const group = learned.samePolicies(shape, names) ? learned.bucketOf(shape) : learned.learnPolicies(shape, names);
      key = group === undefined ? route.origin : this.#bucketKey(route.origin, group, routes.config);
    }
    if (learned.rawOf(shape) !== before) this.#shareRoutes(route.origin, routes, shape);
    const from = call.lane;
    if (from.budget.key === key) return false;
    const to = this.#lane(key);
    // What the sending budget still has in flight may be of this quota: counted as spent.
    to.budget.observeForeign(info, now, Math.max(0, from.budget.inFlight - 1), shape);
    call.lane = to;
    this.#scheduler.move(from, to, this.#sameRoute(route.origin, shape));
    return true;
  }

  /**
   * The server refused `call` on its origin's own lane and named no quota of its route (see
   * `SendContext.routeRefused`). The first such refusal puts the route in a lane of its own, named by its shape,
   * which pauses in the origin's place while the origin's next request probes. A refusal of another route while it
   * waits shows the limit is the whole host's: the route goes back to the origin's lane, which pauses for the longer
   * of the two.
   */
  #routeRefused(call: CallTicket, until: number, ordered: number, now: number): RouteRefusal | undefined {
    const route = call.routing;
    if (route === undefined || !route.learn || call.lane.budget.key !== route.origin) return undefined;
    const routes = this.#routesOf(route.origin);
    const { learned } = routes;
    if (learned === undefined) return undefined;
    const shape = shapeOf(route);
    // Its answers name the policies it counts against, those of the origin's own budget: no probe needed, and a lane
    // of its own would pace it without the host-wide policy it counts against too.
    if (learned.namesPolicies(shape)) return undefined;
    const host = call.lane;
    const alone = routes.alone;
    routes.held = undefined;
    // A probe has shown this host's limit is the whole host's: no more probes.
    if (routes.hostWide === true) return undefined;
    if (alone === undefined && !this.#otherRoutes(routes, host, shape)) {
      // The only route seen: its lane keeps what it learnt. Should a call of another route come while the pause
      // holds, the route moves to a lane of its own then (`#keyOf`).
      routes.held = { shape, until, ordered };
      return undefined;
    }
    if (alone !== undefined && alone.until > now && alone.shape !== shape) {
      routes.alone = undefined;
      routes.hostWide = true;
      if (learned.bucketOf(alone.shape) === alone.shape) learned.forget(alone.shape);
      const lane = this.#lanes.get(alone.key);
      return {
        lane: host,
        until: Math.max(until, alone.until),
        ordered: Math.max(ordered, alone.ordered),
        then: lane && (() => this.#scheduler.move(lane, host, () => true)),
      };
    }
    learned.learn(shape, shape);
    const key = this.#bucketKey(route.origin, shape, routes.config);
    const to = this.#lane(key);
    call.lane = to;
    routes.alone = {
      shape,
      key,
      until: Math.max(until, alone?.until ?? 0),
      ordered: Math.max(ordered, alone?.ordered ?? 0),
    };
    return {
      lane: to,
      until,
      ordered,
      then: () => this.#scheduler.move(host, to, this.#sameRoute(route.origin, shape)),
    };
  }

  /** Whether the origin's lane has lately served (or holds waiting) calls of routes other than `shape`. */
  #otherRoutes(routes: OriginRoutes, host: Lane, shape: string): boolean {
    const accepted = routes.accepted;
    if (accepted !== undefined && shapeOf(accepted) !== shape) return true;
    for (const ticket of [...host.queue.entries(), ...host.delayed]) {
      if (ticket instanceof CallTicket && ticket.routing !== undefined && shapeOf(ticket.routing) !== shape)
        return true;
    }
    return false;
  }

  /**
   * A call of another route came while the origin's lane waits out a refusal of one route (`OriginRoutes.held`):
   * that route moves to a lane of its own, paused in its place, and the origin's lane resumes with one request.
   */
  #isolateHeld(routes: OriginRoutes, origin: string, now: number): void {
    const held = routes.held;
    routes.held = undefined;
    const host = this.#lanes.get(origin);
    if (held === undefined || !(held.until > now) || host === undefined || !(host.budget.pausedUntil > now)) return;
    routes.learned?.learn(held.shape, held.shape);
    const key = this.#bucketKey(origin, held.shape, routes.config);
    const to = this.#lane(key);
    const cause = host.budget.pausedBy;
    to.budget.pause(held.until, held.ordered, false, cause);
    this.#scheduler.move(host, to, this.#sameRoute(origin, held.shape));
    host.budget.resume();
    routes.alone = { ...held, key };
    this.#events.emit('paused', { key, until: held.until, reason: 'retry-after', status: cause?.status });
  }

  /** Whether a ticket is a call of this route shape on this origin. */
  #sameRoute(origin: string, shape: string): (ticket: Ticket) => boolean {
    return (ticket) =>
      ticket instanceof CallTicket &&
      ticket.routing !== undefined &&
      ticket.routing.origin === origin &&
      shapeOf(ticket.routing) === shape;
  }

  /** A pause of the whole origin (a 503, a global limit): every lane of the call's origin pauses with it. */
  #pauseOrigin(call: CallTicket, until: number, ordered: number): void {
    const origin = call.routing?.origin;
    if (origin === undefined) return;
    for (const lane of this.#lanes.values()) {
      const { key } = lane.budget;
      if (lane === call.lane || (key !== origin && !key.startsWith(`${origin} `))) continue;
      lane.budget.pause(until, ordered);
      if (!lane.empty) this.#scheduler.drain(lane);
    }
  }

  /** The options of each route bucket's budget: its origin's, which its key does not parse as. */
  readonly #routeConfigs = new Map<string, BudgetConfig>();

  /**
   * The options of a route bucket's key (`"<origin> <bucket>"`) that no request has made yet (a task scheduled with
   * it first): its origin's, when that origin's budget has a route of that bucket. Undefined for any other key.
   */
  #routeBucketConfig(key: string): BudgetConfig | undefined {
    const space = key.indexOf(' ');
    if (space < 0) return undefined;
    const config = budgetFor(this.#options.budgets, key.slice(0, space));
    const bucket = key.slice(space + 1);
    return config.routes.some((rule) => rule.bucket === bucket) ? config : undefined;
  }

  /**
   * Records an application call with the loop guard (its retries are not calls); returns what the guard is given
   * back once the call has settled, or undefined when it does not track the call. Throws `LoopDetectedError` in
   * 'throw' mode.
   */
  #checkLoop(method: string, safeUrl: string, body: unknown, now: number): Recorded | undefined {
    const guard = this.#loopGuard;
    if (!guard) return undefined;
    const fingerprint = bodyFingerprint(body);
    // A body that cannot be compared (a stream, FormData) never makes two requests the same.
    if (fingerprint === undefined) return undefined;
    // A GET without a body (most calls) is keyed by its URL alone, with no string to build: that text holds no space
    // (an href has none; `[invalid URL]` is no other key's whole text), and every other key does.
    const key =
      fingerprint !== '' ? `${method} ${safeUrl} ${fingerprint}` : method === 'GET' ? safeUrl : `${method} ${safeUrl}`;
    const recorded = guard.record(key, now);
    if (recorded === undefined) return undefined;
    const { count, first } = recorded;
    const { windowMs } = guard;
    if (first) this.#events.emit('loop', { method, url: safeUrl, count, windowMs });
    if (this.#options.loopGuard?.mode === 'throw') {
      // Every counted call past the limit fails while the window lasts, not only the one that crossed it.
      if (count > guard.limit) {
        guard.settle(recorded);
        throw new LoopDetectedError({ method, url: safeUrl, count, windowMs });
      }
    } else if (first && guard.warnOnce(`${method} ${safeUrl}`)) {
      // One warning per method and URL, whatever the bodies.
      console.warn(
        `ratewise: ${method} ${safeUrl} was requested ${count} times within ${windowMs} ms, each time after the ` +
          'same request had settled: a request loop?',
      );
    }
    return recorded;
  }

  schedule<T>(task: () => T | PromiseLike<T>, options?: ScheduleOptions): Promise<T> {
    if (typeof task !== 'function') return Promise.reject(invalidOption('task', 'a function', task));
    let checked: ScheduleOptions;
    try {
      // No options (the usual call): nothing to check, and no object made for it.
      checked = options === undefined ? NO_OPTIONS : checkScheduleOptions(options);
    } catch (error) {
      // A TypeError of the check: rejected, not thrown, as for rw.fetch.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return Promise.reject(error);
    }
    const key = checked.key ?? '*';
    const lane = this.#lane(key, false);
    const cost = checked.cost ?? 1;
    if (this.#closed) return Promise.reject(new ClosedError({ method: 'TASK', url: `task ${JSON.stringify(key)}` }));
    this.#pending.add();
    if (this.#scheduler.tryNow(lane, cost) > 0) return runTask(this.#taskHost, lane, task);
    const maxWaitMs = checked.maxWait ?? this.#options.maxWait;
    const deadline = maxWaitMs === Infinity ? Infinity : this.#options.clock.now() + maxWaitMs;
    return queueTask(this.#taskHost, lane, task, checked.priority ?? 0, cost, deadline, maxWaitMs);
  }

  readonly #taskHost: TaskHost;

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#pending.add();
    promise.then(this.#onCallSettled, this.#onCallSettled);
    return promise;
  }

  readonly #onCallSettled = (): void => {
    this.#pending.settled();
  };

  /** The lane of `key`, made on first use; evicts idle lanes beyond the bounds. */
  #lane(key: string, adaptive = true): Lane {
    // The most recent lane again (a burst to one host): it is last in recency order already.
    const last = this.#lastLane;
    if (last !== undefined && last.budget.key === key) {
      if (adaptive && !last.budget.adaptive) this.#adapt(last);
      return last;
    }
    const lanes = this.#lanes;
    let lane = lanes.get(key);
    if (lane) {
      if (adaptive && !lane.budget.adaptive) this.#adapt(lane);
      this.#lastLane = lane;
      // Map order is recency order: the least recently used lanes come first, for eviction.
      lanes.delete(key);
      lanes.set(key, lane);
      return lane;
    }
    const o = this.#options;
    const now = o.clock.now();
    // Tasks are never retried: their budgets need no retry budget.
    const retryBudget = adaptive ? this.#retryBudget() : undefined;
    lane = new Lane(
      new Budget(
        key,
        this.#routeConfigs.get(key) ?? this.#routeBucketConfig(key) ?? budgetFor(o.budgets, key),
        now,
        o.serverReserve,
        retryBudget,
        adaptive,
        o.retry.backoff.maxMs,
      ),
    );
    // Only budgets with something to share: tasks without a rate have nothing but a local concurrency cap.
    const { limits, sharedConcurrency, unitLimits } = lane.budget.config;
    if (this.#storeLink && (adaptive || limits.length > 0 || sharedConcurrency !== undefined || unitLimits.size > 0)) {
      this.#share(lane, this.#storeLink);
    }
    // Before the new lane joins: it is idle until its request takes it, and evicting it would leave that request in
    // a lane of its own, apart from the next request of the same key.
    this.#evict(now);
    lanes.set(key, lane);
    this.#lastLane = lane;
    return lane;
  }

  #retryBudget(): RetryBudget | undefined {
    const { budget } = this.#options.retry;
    return budget ? new RetryBudget(budget) : undefined;
  }

  /**
   * A request's key names a budget a task made (a task keyed by an origin, scheduled before the first request to it):
   * it becomes what the request would have made, shared through the store too when it was not.
   */
  #adapt(lane: Lane): void {
    lane.budget.adapt(this.#retryBudget());
    if (this.#storeLink && !this.#storeSides.has(lane.budget)) this.#share(lane, this.#storeLink);
  }

  #share(lane: Lane, link: StoreLink): void {
    const { budget } = lane;
    const side = link.budgetSide(budget.key, budget.config, {
      wake: () => {
        this.#scheduler.drain(lane);
      },
      pause: (until, ordered) => {
        // The same pause heard again comes a few ms later by the round trip: not a new one (the store's own
        // answer still holds this client until it ends).
        if (until <= budget.pausedUntil + SAME_PAUSE_MS) return;
        budget.pause(until, ordered, false);
        this.#events.emit('paused', { key: budget.key, until, reason: 'shared', status: undefined });
      },
      fail: (error) => {
        this.#scheduler.failAll(lane, { kind: 'store', store: link.store.name, error });
      },
      // The ticket being advanced, when it is not in the queue yet, and those queued.
      demand: () => lane.queue.size + (lane.queuedTurn ? 0 : 1),
    });
    this.#storeSides.set(budget, side);
    budget.share(side);
  }

  #evict(now: number): void {
    const { maxBudgets, budgetIdleMs } = this.#options;
    let examined = 0;
    for (const [key, lane] of this.#lanes) {
      const over = this.#lanes.size >= maxBudgets; // room for the lane about to join
      // Without pressure, look at a few of the oldest only: eviction stays O(1) per new budget.
      if (!over && examined++ >= 8) break;
      const idle = lane.empty && lane.budget.isIdle(now);
      if (idle && (over || now - lane.budget.lastUsedAt >= budgetIdleMs)) {
        this.#lanes.delete(key);
        lane.budget.dispose();
        if (lane === this.#lastLane) this.#lastLane = undefined;
      } else if (!over) break;
    }
  }

  on<K extends keyof RatewiseEvents>(name: K, listener: (event: RatewiseEvents[K]) => void): () => void {
    return this.#events.on(name, listener);
  }

  stats(): BudgetStats[] {
    const now = this.#options.clock.now();
    const link = this.#storeLink;
    return [...this.#lanes.values()].map(({ budget, queue, delayed }) => ({
      key: budget.key,
      pattern: budget.config.pattern,
      queued: queue.size + delayed.size,
      inFlight: budget.inFlight,
      bucketLevel: budget.bucketLevel(now),
      pausedUntil: budget.pausedUntil > now ? budget.pausedUntil : undefined,
      server: budget.server,
      units: budget.unitViews(now),
      policies: budget.policyViews(now),
      counters: { ...budget.counters },
      shared: budget.storeMode,
      store: link && {
        rttMs: link.rttMs,
        timeoutMs: link.timeoutMs,
        clients: this.#storeSides.get(budget)?.clients,
        grant: this.#storeSides.get(budget)?.grantAt(now) ?? 0,
        lease: this.#storeSides.get(budget)?.leaseAt(now) ?? 0,
      },
    }));
  }

  close(): Promise<void> {
    // Every caller gets the one promise: a second `idle` would replace the first, which would never resolve.
    if (this.#closing) return this.#closing;
    this.#closed = true;
    const sides: BudgetStoreLink[] = [];
    for (const lane of this.#lanes.values()) {
      this.#scheduler.close(lane);
      const side = this.#storeSides.get(lane.budget);
      if (side !== undefined) sides.push(side);
    }
    const settled: Promise<void> =
      this.#pending.count === 0
        ? Promise.resolve()
        : new Promise((resolve) => {
            this.#pending.idle = resolve;
          });
    // Then the grants held go back to the other clients, and close() resolves once the store has them (or failed).
    this.#closing =
      sides.length === 0
        ? settled
        : settled.then(async () => {
            for (const side of sides) side.dispose();
            await Promise.all(sides.map((side) => side.idle()));
          });
    return this.#closing;
  }
}

const SLASH = 0x2f;

/** What a call without options (`init.ratewise`, `rw.schedule`'s) reads: nothing to check, no object to make. */
const NO_OPTIONS: RequestOptions & ScheduleOptions = Object.freeze({});

/** A request's options for the hops after the first of a redirect chain: the caller's `key` is not theirs. */
function withoutKey(perRequest: RequestOptions): RequestOptions {
  const options: { -readonly [K in keyof RequestOptions]: RequestOptions[K] } = { ...perRequest };
  delete options.key;
  return options;
}

/** A shared pause ending within this many ms of the one in force is that one, heard again. */
const SAME_PAUSE_MS = 100;

/** Creates a ratewise client. Throws `TypeError` at once for invalid options. */
export function createRatewise(options: RatewiseOptions = {}): Ratewise {
  return new Client(options);
}

/** Route buckets whose options are kept at once (a cache: cleared when full, refilled from the budgets' patterns). */
const ROUTE_CONFIGS_MAX = 4_096;

/** Origins whose routes are remembered at once: past it, the least recently made is forgotten. */
const ORIGINS_MAX = 4_096;

/** An origin's routes: configured ones, or those its server has named (when its budget may split by route). */
interface OriginRoutes {
  readonly config: BudgetConfig;
  readonly configured: boolean;
  readonly learned: LearnedRoutes | undefined;
  /**
   * The route a refusal put in a lane of its own, while its pause holds and the origin's next request probes whether
   * the limit is the whole host's (see `#routeRefused`).
   */
  alone?:
    { readonly shape: string; readonly key: string; readonly until: number; readonly ordered: number } | undefined;
  /**
   * A refusal of the only route seen paused the origin's lane: the first call of another route during that pause
   * moves the route to a lane of its own (see `#isolateHeld`).
   */
  held?: { readonly shape: string; readonly until: number; readonly ordered: number } | undefined;
  /** The route of the last call the server accepted on this origin. */
  accepted?: CallRoute | undefined;
  /** A probe found the limit of one route's refusal to be the whole host's: refusals pause the host from then on. */
  hostWide?: boolean;
}
