// The public options of ratewise, with their units and defaults. Validated once by `resolveOptions()`.
import type { Clock } from './clock.js';
import type { RatewiseStore } from './store/types.js';

/** A rate as an object: `limit` units per `interval` milliseconds. */
export interface RateObject {
  /** Units (requests, or cost units) allowed per interval. A positive finite number. */
  readonly limit: number;
  /** The interval, in ms. A positive finite number. */
  readonly interval: number;
}

/**
 * A rate, or several enforced at once (like flask-limiter's `default_limits=["200 per day", "50 per hour"]`).
 *
 * Strings: `"10/s"`, `"10/sec"`, `"5000/hour"`, `"100/5m"`, `"100/2.5s"`, `"200 per day"`, `"10 per 2 minutes"`.
 * Units, case-insensitive, singular or plural: `ms`/`msec`/`millisecond`, `s`/`sec`/`second`,
 * `m`/`min`/`minute`, `h`/`hr`/`hour`, `d`/`day`. One string may hold several rates separated by `;`, `,` or `|`.
 */
export type RateSpec = string | RateObject | readonly (string | RateObject)[];

/**
 * How a computed delay is spread (see the AWS Architecture Blog, "Exponential Backoff And Jitter"):
 * - `'none'`: exactly the exponential delay;
 * - `'full'`: uniform in [0, exponential];
 * - `'equal'`: uniform in [exponential / 2, exponential];
 * - `'decorrelated'`: uniform in [base, 3 × previous delay], capped; ignores the attempt number.
 */
export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';

/** How computed retry delays grow and spread (`retry.backoff`). */
export interface BackoffOptions {
  /**
   * The delay before the first retry, before jitter, in ms.
   * @default 500
   */
  readonly baseMs?: number;
  /**
   * Cap on every computed delay, in ms. Server-given waits are not computed here and have their own cap.
   * @default 30_000
   */
  readonly maxMs?: number;
  /**
   * How much the delay grows with each attempt.
   * @default 2
   */
  readonly factor?: number;
  /**
   * How the delay is randomised.
   * @default 'full'
   */
  readonly jitter?: Jitter;
}

/** The upward-only jitter added to a server-given wait (`retry.serverJitter`), so that many clients do not return at once. */
export interface JitterUpOptions {
  /**
   * Largest extra wait as a fraction of the server's wait (0.1 adds up to 10 %).
   * @default 0.1
   */
  readonly ratio?: number;
  /**
   * Largest extra wait, in ms, whatever the ratio gives.
   * @default 1000
   */
  readonly maxExtraMs?: number;
}

/** The local limits of one budget (one host, or one key). */
export interface BudgetOptions {
  /**
   * Local rate, enforced before anything is sent: `"10/s"`, `"5000/hour"`, `"200 per day"`, `{ limit, interval }`
   * (interval in ms), or a list of them, all enforced at once. Servers' headers can only lower it. Numbers may
   * use exponents (`"1e3/s"`).
   * @default undefined (no local rate: pace by what the server says)
   */
  readonly rate?: RateSpec;
  /**
   * How many cost units may go at once after an idle period (the token bucket's capacity). Only with a `rate`.
   * @default the `limit` of each rate
   */
  readonly burst?: number;
  /**
   * Most requests of this budget in flight at once.
   * @default Infinity
   */
  readonly concurrency?: number;
  /**
   * How a quota the server announces (`remaining` until `reset`) is used. `'burst'`: what fits in the remaining quota
   * goes at once (within `concurrency`), and the budget waits for the reset only once the quota is spent, so a batch
   * finishes as early as the server allows. `'spread'`: the remaining quota is spread evenly until the reset (10 % of
   * it may go at once), for smooth traffic at the cost of finishing a batch later.
   * @default 'burst'
   */
  readonly pacing?: 'burst' | 'spread';
  /**
   * Requests in flight at once to a server that has not yet said what its limits are: sent at once, then one more
   * per answer that shows no limit (the window doubles each round, as TCP's slow start does) until the server
   * describes a quota or refuses one. `Infinity` trusts the API from the start; `1` sends one request alone first.
   * Ignored by budgets with a local `rate`, which is trusted from the start.
   * @default 10
   */
  readonly initialWindow?: number;
  /**
   * Most requests waiting in this budget's queue; one more fails with `QueueFullError`.
   * @default Infinity
   */
  readonly maxQueue?: number;
  /**
   * Most requests of this budget in flight at once across every client sharing the `store`. Each request holds a
   * slot in the store, which ends when the request does or after `sharedSlotTtlMs`, whichever comes first (so
   * that a crashed process cannot hold slots for ever). Also caps this client's own requests in flight, with or
   * without a store.
   * @default undefined (`concurrency` is per client)
   */
  readonly sharedConcurrency?: number;
  /**
   * Longest a request holds a shared slot, in ms: make it longer than your slowest request.
   * @default 60_000
   */
  readonly sharedSlotTtlMs?: number;
  /**
   * Quotas the server keeps per route, for APIs that limit per route without naming their quotas: route patterns
   * and the bucket each counts against, e.g. `{ 'GET /search/**': 'search', '/users/*\/repos': 'repos' }`. `*`
   * matches one path segment, `**` at the end any number of them; the method is optional (`GET /path` or `/path`),
   * and the first pattern that matches wins (at most 256). A request that matches goes through its bucket: a budget
   * of its own (key `"<origin> <bucket>"`, with this budget's other options), paced and paused by the answers of its
   * route alone; a request that matches none goes through the budget itself. Not with `rate` or
   * `sharedConcurrency`, which apply to the whole host. A request's own `key` and a `keyFn`'s answer bypass it.
   * @default undefined (one budget for the whole host)
   */
  readonly routes?: Readonly<Record<string, string>>;
  /**
   * Most routes remembered per origin with the quota its server named for each (GitHub's `x-ratelimit-resource`,
   * Discord's `X-RateLimit-Bucket`): past it, the least recently used route is forgotten, and its calls go through
   * the origin's budget until an answer names its quota again. `0` learns none: one budget for the whole host.
   * @default 1000
   */
  readonly maxRoutes?: number;
  /**
   * Local limits in units other than requests, for calls whose `cost` names them: per unit, a `rate` (every form
   * `rate` takes, in that unit: `'30000/min'`) and a `burst` (the bucket's capacity, in that unit; default the rate's
   * limit). A call goes when every unit it names has room here as well as in the server's quota; a cost above the
   * burst is paid as debt, as for `rate`. At most 16 units; `requests` is `rate`'s.
   * @default undefined (units paced by the server's answers alone)
   */
  readonly units?: Readonly<Record<string, UnitLimit>>;
  /**
   * Recognises throttles a server tells only in the body (some APIs answer 200 or 400 with a rate-limit error in
   * JSON). Called with each answer of this budget sent by `rw.fetch`, with its body's text when that is at most
   * 16 KB and arrives within 1 s (read from a copy: the caller still gets the whole body), else `bodyText`
   * undefined. Return `{ throttled: true }`, with `retryAfterMs` when the body says how long to wait, and the answer
   * is a throttle: retried like a 429, and the budget pauses. Anything else, or a hook that throws, leaves the answer
   * as its headers read. Replaces the built-in recognition of GitHub's secondary rate limits for this budget.
   * @default undefined (GitHub's secondary rate limits are recognised: a 403 or 429 whose body says so)
   */
  readonly classify?: (answer: ClassifyInput) => ClassifyVerdict | undefined;
  /**
   * What a successful answer actually used, per unit, for calls whose `cost` is a record (an LLM API's `usage`):
   * called with the answer's status, headers and body text (read from a copy, at most 1 MB; a streamed answer's whole
   * text once its stream has ended), it returns the actual amounts, such as `{ tokens: usage.total_tokens }`. Each
   * amount replaces the call's estimate in the budget's local `units` buckets (what was charged beyond it is given
   * back, what was used beyond it is owed) and in `rw.stats()`'s `units[unit].charged`. A unit it does not name
   * keeps its estimate; a hook that throws or returns anything but finite amounts >= 0 leaves the estimates in place
   * (a `usageIgnored` event says why). The call itself has settled by then.
   * @default undefined (estimates stand; the server's answers correct its own view of each unit)
   */
  readonly usage?: (answer: UsageInput) => Readonly<Record<string, number>> | undefined;
}

/** What a budget's `classify` hook sees of an answer. */
export interface ClassifyInput {
  /** The answer's HTTP status. */
  readonly status: number;
  /** The answer's headers. */
  readonly headers: Headers;
  /** The body's text: undefined when longer than 16 KB, slower than 1 s, or not sent by `rw.fetch`. */
  readonly bodyText: string | undefined;
}

/** A local limit in one unit (`budgets[p].units`). */
export interface UnitLimit {
  /** The rate in that unit: every form `rate` takes (`'30000/min'`, `{ limit, interval }` in ms, a list). */
  readonly rate: RateSpec;
  /**
   * How much of the unit may go at once after an idle period (the bucket's capacity), in that unit.
   * @default the `limit` of each rate
   */
  readonly burst?: number;
}

/** What a budget's `usage` hook sees of a successful answer. */
export interface UsageInput {
  /** The answer's HTTP status. */
  readonly status: number;
  /** The answer's headers. */
  readonly headers: Headers;
  /** The body's text, or a streamed answer's whole text: undefined when longer than 1 MB or not readable. */
  readonly bodyText: string | undefined;
}

/** A `classify` hook's verdict on an answer. */
export interface ClassifyVerdict {
  /** The answer is a throttle. */
  readonly throttled: boolean;
  /** How long the body says to wait, in ms; without it the budget backs off as after a throttle without timing. */
  readonly retryAfterMs?: number;
}

/** Which requests are retried, how often and how long ratewise waits. */
export interface RetryOptions {
  /**
   * Retries per call after errors: a status in `statuses` that is not a throttle (by default 408, 500, 502, 504 and
   * a 503 without a retry time) and network failures. Only idempotent requests are retried after an error (see
   * `methods`).
   * @default 2
   */
  readonly limit?: number;
  /**
   * Retries per call after throttles, counted apart from `limit`: a 429, a 503 with a retry time, or a 403 with
   * rate-limit evidence, when its status is in `statuses`. A request that is not idempotent is retried only after a
   * 429 (or such a 403), which proves the server refused it before processing it.
   * @default 5
   */
  readonly rateLimitLimit?: number;
  /**
   * Longest server-ordered wait ratewise accepts, in ms. A longer `Retry-After` (or reset) fails the call with
   * `RateLimitError` carrying `retryAt`, instead of retrying early.
   * @default 60_000
   */
  readonly maxRetryAfter?: number;
  /**
   * The statuses retried at all, from 400 to 599: a status left out is never retried, a throttle (429, 503) included,
   * though its server-given wait still holds the whole budget. A 403 with rate-limit evidence counts as a 429 here.
   * Throttles spend `rateLimitLimit`, the other statuses `limit`.
   * @default [408, 429, 500, 502, 503, 504]
   */
  readonly statuses?: readonly number[];
  /**
   * Methods retried without an `Idempotency-Key` header after an error or a 503. Any other request is retried only
   * after a 429, or when it carries an `Idempotency-Key`.
   * @default ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']
   */
  readonly methods?: readonly string[];
  /** Computed waits (no server timing): exponential, capped, with jitter. Defaults: 500 ms base, 30 s cap, full jitter. */
  readonly backoff?: BackoffOptions;
  /** Extra wait added to server-given waits, so clients do not all return at once. Defaults: up to 10 %, at most 1 s. */
  readonly serverJitter?: JitterUpOptions;
  /**
   * The retry budget of each budget: over the last `windowMs`, retries may be at most `minPerSecond × windowMs/1000`
   * plus `ratio` of the requests sent. `false` turns it off.
   * @default { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 }
   */
  readonly budget?: RetryBudgetOptions | false;
}

/** A budget's allowance of retries (Finagle's and gRPC's retry budgets). */
export interface RetryBudgetOptions {
  /**
   * Retries allowed as a fraction of the requests sent in the window.
   * @default 0.2
   */
  readonly ratio?: number;
  /**
   * Retries always allowed per second, however few requests were sent.
   * @default 10
   */
  readonly minPerSecond?: number;
  /**
   * The sliding window, in ms.
   * @default 10_000
   */
  readonly windowMs?: number;
}

/** The guard against an application that requests the same thing over and over by accident. */
export interface LoopGuardOptions {
  /**
   * The same request started more than this many times within `windowMs`, each time after the previous one had
   * settled, is a loop. The same request: same method, URL and body, where a string or byte body is compared by a
   * fingerprint and any other body (a stream, `FormData`, a `Blob`) never makes two requests the same. Copies started
   * while one is in flight and retries made by ratewise do not count.
   * @default 100
   */
  readonly limit?: number;
  /**
   * The window, in ms.
   * @default 10_000
   */
  readonly windowMs?: number;
  /**
   * `'warn'`: a `loop` event and one console warning per URL; `'throw'`: the call fails with `LoopDetectedError`.
   * @default 'warn'
   */
  readonly mode?: 'warn' | 'throw';
}

/** What a `keyFn` sees of a request. */
export interface RequestDescriptor {
  /** The HTTP method, upper-case. */
  readonly method: string;
  /** The request URL, as sent: it may hold credentials, which must not become the key. */
  readonly url: URL;
  /** The request's headers; to key by a credential among them, return `rw.fingerprint()` of it. */
  readonly headers: Headers;
}

/** Options of `createRatewise`. */
export interface RatewiseOptions {
  /**
   * Local limits by host pattern: an exact host (`api.github.com`, or `host:port`), a wildcard (`*.example.com`,
   * which also matches `example.com`'s subdomains at any depth) or `*` for every other host.
   * @default { '*': {} } (no local rate, no concurrency cap)
   */
  readonly budgets?: Readonly<Record<string, BudgetOptions>>;
  /** Retry policy. */
  readonly retry?: RetryOptions;
  /**
   * Longest a call may wait inside ratewise (queue, pacing, pauses and retry waits), in ms. When the known wait
   * already exceeds it, the call fails at once with `RateLimitError`. With a `store`, the wait is known once the
   * store answers: its round trip is not held against `maxWait` (so `0` means "only if the store says now").
   * @default Infinity
   */
  readonly maxWait?: number;
  /**
   * How long a streamed answer (`text/event-stream`, through `rw.fetch`) may go without data before its concurrency
   * slot is given back, in ms. Such an answer holds its slot until its stream ends, fails or is cancelled, or until
   * it has been this long without a chunk: a `concurrency` cap then counts the streams still running, as an LLM
   * API's concurrent-request limit does.
   * @default 60_000
   */
  readonly streamIdleMs?: number;
  /**
   * The budget key of a request: a non-empty string, or `undefined` for the default, the request's origin. Any other
   * answer (`''`, `null`, a promise) rejects the call with a `TypeError`. The key must never be a raw secret: use
   * `fingerprint()` for credential-keyed budgets.
   * @default undefined (the origin)
   */
  readonly keyFn?: (request: RequestDescriptor) => string | undefined;
  /**
   * Most budgets kept; the idle ones used longest ago are evicted first.
   * @default 10_000
   */
  readonly maxBudgets?: number;
  /**
   * A budget with nothing queued, in flight or paused for this long is evicted, in ms.
   * @default 300_000
   */
  readonly budgetIdleMs?: number;
  /**
   * Fraction of the server's quota ratewise leaves unused when it paces by the server's headers.
   * @default 0.01
   */
  readonly serverReserve?: number;
  /**
   * Where budgets are shared with other processes and machines: `redisStore(client)` from `ratewise/redis`. Every
   * HTTP budget, and every `rw.schedule` budget with a rate, then shares its token bucket, its pauses and the
   * server's last remaining count through the store. Give every process the same `budgets`.
   * @default undefined (budgets are local to this client)
   */
  readonly store?: RatewiseStore;
  /**
   * What a budget does while the store fails or is too slow (it is asked again after 1 s, then up to every 5 s):
   * - `'share'`: each client spends its share of the budget, 1/N of its rate and burst (and of `sharedConcurrency`),
   *   N the live clients the store last counted on that budget (those that called it within the last minute), so
   *   that the fleet together keeps to the budget. A client that never reached the store counts itself alone. A
   *   budget without a rate goes by the server's answers.
   * - `'local'`: each client goes on with its whole local limits (the fleet may then spend N times the budget).
   * - `'fail'`: the calls waiting on the store fail with `StoreUnavailableError`.
   *
   * A `storeError` event says so when the store fails, and again at each check that finds it still failing.
   * @default 'share'
   */
  readonly storeFallback?: 'share' | 'local' | 'fail';
  /**
   * The least time one store call may take before it counts as a failure, in ms. Each call's timeout follows the
   * store's measured round trip, as TCP's retransmission timeout does: the smoothed round trip plus the larger of
   * `storeTimeout` and four times its mean deviation; before the first answer, 1 s (or `storeTimeout` when longer);
   * doubled after each timeout in a row until a call answers in time; at most 10 s (or `storeTimeout` when longer).
   * A store far away is then not taken for a failing one. `rw.stats()` shows the round trip and the timeout.
   * @default 250
   */
  readonly storeTimeout?: number;
  /** Request-loop guard; `false` turns it off. */
  readonly loopGuard?: LoopGuardOptions | false;
  /**
   * The fetch that sends requests.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof globalThis.fetch;
  /**
   * Time source and timers (tests inject a fake clock).
   * @default the system clock
   */
  readonly clock?: Clock;
  /**
   * Uniform random numbers in [0, 1), for the jitter of backoffs and server-given waits. A value outside [0, 1) is
   * clamped into it; a value that is not a finite number (`NaN`, `Infinity`, anything not a number) is replaced by a
   * draw of `Math.random()`, so that retries stay jittered.
   * @default Math.random
   */
  readonly random?: () => number;
}

/** Per-request options, in the `ratewise` field of the fetch init or axios config. */
export interface RequestOptions {
  /**
   * Higher goes first; FIFO within a priority.
   * @default 0
   */
  readonly priority?: number;
  /**
   * Cost units this request takes from its budget's rate: a finite number >= 0. Above the `burst` it is paid as
   * debt: the request goes when the bucket is full, and later requests wait until the rate has repaid it.
   *
   * Or its cost per unit, for servers that limit more than requests (LLM APIs limit tokens too):
   * `{ requests: 1, tokens: 1800 }` (`requests` is 1 unless given; each amount a finite number >= 0, at most 16
   * units). The request then also waits until the server's quota in each unit it names has room for its amount, as
   * the server's answers describe that quota (`x-ratelimit-remaining-tokens`, `anthropic-ratelimit-*-tokens-*`, an
   * IETF policy's `qu`), less what the requests in flight will take. A unit the server does not describe costs
   * nothing.
   * @default 1
   */
  readonly cost?: number | Readonly<Record<string, number>>;
  /**
   * Budget key, instead of `keyFn` or the origin: a non-empty string. Its options come from the `budgets` pattern the
   * key matches (an origin or URL by its host, any other key as a host name), not from the request's host.
   */
  readonly key?: string;
  /** Longest this call may wait inside ratewise, in ms. @default the client's `maxWait` */
  readonly maxWait?: number;
  /** Retry overrides for this request. */
  readonly retry?: Pick<RetryOptions, 'limit' | 'rateLimitLimit' | 'maxRetryAfter'>;
  /**
   * `true` retries a POST or PATCH too, adding an `Idempotency-Key` header (the same on every attempt) unless
   * the request has one; a string is used as that key.
   * @default false
   */
  readonly idempotencyKey?: boolean | string;
}
