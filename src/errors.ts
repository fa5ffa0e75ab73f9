/**
 * The library's own errors. Each has a literal `name` and a stable `code`; {@link isRatewiseError} recognises them
 * by a registered symbol, so it works across realms and across duplicate copies of the package, where `instanceof`
 * does not.
 *
 * Every `url` passed to these constructors must already be sanitised (see `redactUrl`): messages and fields are
 * written to logs as they are.
 */

const BRAND = Symbol.for('ratewise.error');

/** The stable machine-readable codes of {@link RatewiseError}s. */
export type RatewiseErrorCode =
  | 'ERR_RATEWISE_RATE_LIMITED'
  | 'ERR_RATEWISE_RETRY_BUDGET'
  | 'ERR_RATEWISE_QUEUE_FULL'
  | 'ERR_RATEWISE_LOOP'
  | 'ERR_RATEWISE_CLOSED'
  | 'ERR_RATEWISE_STORE'
  | 'ERR_RATEWISE_ALREADY_INSTALLED';

/** Base class of every error ratewise throws itself. Not constructed directly. */
export abstract class RatewiseError extends Error {
  /** Stable machine-readable code, one per class: test it (or use {@link isRatewiseError}), not the message. */
  abstract readonly code: RatewiseErrorCode;

  static {
    // On the prototype, non-enumerable: costs nothing per instance and stays out of logs and JSON.
    Object.defineProperty(this.prototype, BRAND, { value: true });
  }
}

/** Why a {@link RateLimitError} was thrown. */
export type RateLimitReason =
  /** Waiting locally (queue, pacing, or a pause the server ordered) would take longer than `maxWait`. */
  | 'max-wait'
  /** The server's `Retry-After` (or equivalent) asks for a wait longer than `retry.maxRetryAfter`. */
  | 'max-retry-after'
  /**
   * The server refused a call that costs more in one unit (`ratewise.cost`) than the server's whole limit in that
   * unit: no wait can make it fit (see {@link RateLimitError.overLimit}).
   */
  | 'over-limit';

/** A call's cost in one unit above the server's whole limit in that unit (see {@link RateLimitError.overLimit}). */
export interface OverLimit {
  /** The unit, as the call's `cost` and the server's fields name it (`tokens`, `input-tokens`, …). */
  readonly unit: string;
  /** What the call costs in it (its `cost` for that unit). */
  readonly cost: number;
  /** The server's limit in it: the most its quota ever holds. */
  readonly limit: number;
}

/** What a {@link RateLimitError} is made of; its message is written from these. */
export interface RateLimitErrorOptions {
  /** Which cap the wait exceeded. */
  readonly reason: RateLimitReason;
  /** The budget key the request counts against. */
  readonly key: string;
  /** The request's method, upper-case. */
  readonly method: string;
  /** The request URL, already sanitised. */
  readonly url: string;
  /** Epoch ms from which the request may be sent again, when known. */
  readonly retryAt?: number | undefined;
  /**
   * The wait that was refused, in ms, when known; `Infinity` for a wait that lasts until a request in flight is
   * answered (its length is not known: the error's `waitMs` and `retryAt` are then undefined).
   */
  readonly waitMs?: number | undefined;
  /** The cap it exceeded (`maxWait` or `maxRetryAfter`), in ms. */
  readonly limitMs?: number | undefined;
  /** The throttling response, when the refusal followed one. */
  readonly response?: Response | undefined;
  /** The error's `cause`: the last attempt's network error, when it failed without a response. */
  readonly cause?: unknown;
  /** Whether the call had been sent at least once. @default true */
  readonly sent?: boolean;
  /** The answer that paused the budget, when another request's answer did. */
  readonly pausedBy?: PauseCause | undefined;
  /** For `'over-limit'`: the unit, the call's cost in it and the server's limit. */
  readonly overLimit?: OverLimit | undefined;
  /** For `'over-limit'`: the refusal's HTTP status, for the message. */
  readonly status?: number | undefined;
}

/** The answer that paused a budget: the request it answered (method, sanitised URL) and its status. */
export interface PauseCause {
  /** The request's method, upper-case. */
  readonly method: string;
  /** The request URL, sanitised. */
  readonly url: string;
  /** The answer's HTTP status, when it had one. */
  readonly status: number | undefined;
}

/**
 * A request was refused because the wait it needs is longer than the caller allows, or because the server refused a
 * call that costs more than its whole limit (`'over-limit'`), which no wait can make fit.
 */
export class RateLimitError extends RatewiseError {
  /** Always `'RateLimitError'`. */
  override readonly name = 'RateLimitError' as const;
  /** Always `'ERR_RATEWISE_RATE_LIMITED'`. */
  readonly code = 'ERR_RATEWISE_RATE_LIMITED' as const;
  /**
   * Which cap the wait exceeded: `'max-wait'` (`maxWait`, the caller's limit on any wait) or `'max-retry-after'`
   * (`retry.maxRetryAfter`, the limit on a wait the server asked for); or `'over-limit'`: the server refused a call
   * whose cost in a unit is above its whole limit there ({@link overLimit}).
   */
  readonly reason: RateLimitReason;
  /** The budget key the request counts against. */
  readonly key: string;
  /** The request's method, upper-case; `'TASK'` for a task of `rw.schedule`. */
  readonly method: string;
  /**
   * The request URL, sanitised (no credentials, no secret query parameters); `task "<key>"` for a task of
   * `rw.schedule`.
   */
  readonly url: string;
  /**
   * Epoch ms from which the request may be sent again, when known: for `'max-wait'` the instant this call's own turn
   * would have come (behind the calls queued ahead of it), for `'max-retry-after'` the server's instant.
   */
  readonly retryAt: number | undefined;
  /**
   * The wait that was refused, in ms, when known: for `'max-wait'` from the call's start to `retryAt` (the span
   * `maxWait` bounds), for `'max-retry-after'` the server's wait from its answer.
   */
  readonly waitMs: number | undefined;
  /** The cap the wait exceeded, in ms, when known. */
  readonly limitMs: number | undefined;
  /** The throttling response, when there was one. Non-enumerable: its `url` is not sanitised. */
  declare readonly response: Response | undefined;
  /** Whether the call had been sent at least once: false when it failed before its first attempt went out. */
  readonly sent: boolean;
  /**
   * The answer that paused the budget, when the wait refused was a pause that another request's answer ordered (a
   * 429 to another route of the same quota, say): which request, and its status.
   */
  readonly pausedBy: PauseCause | undefined;
  /**
   * For `'over-limit'`: the unit whose limit the call's cost is above, that cost and the server's limit (undefined
   * for the other reasons).
   */
  readonly overLimit: OverLimit | undefined;

  constructor(options: RateLimitErrorOptions) {
    const { reason, key, method, url, limitMs, pausedBy, overLimit } = options;
    // Infinity: a wait that lasts until a request in flight is answered: neither its length nor its end is known.
    const unknown = options.waitMs === Infinity;
    const retryAt = unknown ? undefined : options.retryAt;
    const waitMs = unknown ? undefined : options.waitMs;
    const sent = options.sent ?? true;
    const wait = unknown
      ? 'wait until a request in flight is answered (how long is not known)'
      : waitMs === undefined
        ? 'wait'
        : `wait ${formatMs(waitMs)}`;
    // The message names the option the user sets, the reason keeps the kebab-case of every reason ratewise reports.
    const option = reason === 'max-wait' ? 'maxWait' : 'maxRetryAfter';
    const cap = limitMs === undefined ? option : `${option} (${formatMs(limitMs)})`;
    const by =
      pausedBy === undefined
        ? 'the server'
        : `the answer${pausedBy.status === undefined ? '' : ` ${pausedBy.status}`} to ${pausedBy.method} ${pausedBy.url}`;
    const why = reason === 'max-wait' ? `would ${wait}` : `was told by ${by} to ${wait}`;
    const unsent = sent ? '' : ' (not sent)';
    const at = retryAt === undefined ? '' : `, retry at ${formatInstant(retryAt)}`;
    super(
      overLimit === undefined
        ? `Rate limited: ${method} ${url}${unsent} ${why}, longer than ${cap}; budget ${JSON.stringify(key)}${at}`
        : `Rate limited: ${method} ${url} costs ${String(overLimit.cost)} ${overLimit.unit}, more than the server's ` +
            `limit of ${String(overLimit.limit)} ${overLimit.unit}, and the server refused it` +
            `${options.status === undefined ? '' : ` (${String(options.status)})`}: it can never be admitted; ` +
            `budget ${JSON.stringify(key)}`,
      causeOf(options),
    );
    this.sent = sent;
    this.pausedBy = pausedBy;
    this.overLimit = overLimit;
    this.reason = reason;
    this.key = key;
    this.method = method;
    this.url = url;
    this.retryAt = retryAt;
    this.waitMs = waitMs;
    this.limitMs = limitMs;
    hide(this, 'response', options.response);
  }
}

/** What a {@link RetryBudgetExceededError} is made of; its message is written from these. */
export interface RetryBudgetExceededErrorOptions {
  /** The budget key the request counts against. */
  readonly key: string;
  /** The request's method, upper-case. */
  readonly method: string;
  /** The request URL, already sanitised. */
  readonly url: string;
  /** Attempts made so far, the first one included. */
  readonly attempts: number;
  /** The last response, whose failure would have been retried. */
  readonly response?: Response | undefined;
  /** The error's `cause`: the last attempt's network error, when it failed without a response. */
  readonly cause?: unknown;
}

/** A retry was refused because the budget has spent its share of retries (a retry storm is being stopped). */
export class RetryBudgetExceededError extends RatewiseError {
  /** Always `'RetryBudgetExceededError'`. */
  override readonly name = 'RetryBudgetExceededError' as const;
  /** Always `'ERR_RATEWISE_RETRY_BUDGET'`. */
  readonly code = 'ERR_RATEWISE_RETRY_BUDGET' as const;
  /** The budget key the request counts against. */
  readonly key: string;
  /** The request's method, upper-case. */
  readonly method: string;
  /** The request URL, sanitised (no credentials, no secret query parameters). */
  readonly url: string;
  /** Attempts made, the first one included. */
  readonly attempts: number;
  /** The last response. Non-enumerable: its `url` is not sanitised. */
  declare readonly response: Response | undefined;

  constructor(options: RetryBudgetExceededErrorOptions) {
    const { key, method, url, attempts } = options;
    super(
      `Retry budget exceeded: ${method} ${url} was not retried after ${attempts} ${plural(attempts, 'attempt')}; ` +
        `budget ${JSON.stringify(key)} has spent its retries`,
      causeOf(options),
    );
    this.key = key;
    this.method = method;
    this.url = url;
    this.attempts = attempts;
    hide(this, 'response', options.response);
  }
}

/** What a {@link QueueFullError} is made of; its message is written from these. */
export interface QueueFullErrorOptions {
  /** The budget key whose queue is full. */
  readonly key: string;
  /** The budget's `maxQueue`: requests its queue holds at most. */
  readonly maxQueue: number;
  /** The request's method, upper-case. */
  readonly method: string;
  /** The request URL, already sanitised. */
  readonly url: string;
}

/** The budget's queue already holds `maxQueue` requests. */
export class QueueFullError extends RatewiseError {
  /** Always `'QueueFullError'`. */
  override readonly name = 'QueueFullError' as const;
  /** Always `'ERR_RATEWISE_QUEUE_FULL'`. */
  readonly code = 'ERR_RATEWISE_QUEUE_FULL' as const;
  /** The budget key whose queue is full. */
  readonly key: string;
  /** The budget's `maxQueue`: requests its queue holds at most. */
  readonly maxQueue: number;
  /** The refused request's method, upper-case; `'TASK'` for a task of `rw.schedule`. */
  readonly method: string;
  /**
   * The refused request's URL, sanitised (no credentials, no secret query parameters); `task "<key>"` for a task of
   * `rw.schedule`.
   */
  readonly url: string;

  constructor({ key, maxQueue, method, url }: QueueFullErrorOptions) {
    super(
      `Queue full: ${method} ${url} was rejected; budget ${JSON.stringify(key)} already has ` +
        `${maxQueue} ${plural(maxQueue, 'request')} queued (maxQueue)`,
    );
    this.key = key;
    this.maxQueue = maxQueue;
    this.method = method;
    this.url = url;
  }
}

/** What a {@link LoopDetectedError} is made of; its message is written from these. */
export interface LoopDetectedErrorOptions {
  /** The repeated request's method, upper-case. */
  readonly method: string;
  /** The repeated request's URL, already sanitised. */
  readonly url: string;
  /** How many times the same request was started within the window, each time after the previous one had settled. */
  readonly count: number;
  /** The loop guard's window, in ms. */
  readonly windowMs: number;
}

/** The same request was repeated more often than the loop guard allows. */
export class LoopDetectedError extends RatewiseError {
  /** Always `'LoopDetectedError'`. */
  override readonly name = 'LoopDetectedError' as const;
  /** Always `'ERR_RATEWISE_LOOP'`. */
  readonly code = 'ERR_RATEWISE_LOOP' as const;
  /** The repeated request's method, upper-case. */
  readonly method: string;
  /** The repeated request's URL, sanitised (no credentials, no secret query parameters). */
  readonly url: string;
  /** How many times the same request was seen within the window, this one included. */
  readonly count: number;
  /** The loop guard's window, in ms. */
  readonly windowMs: number;

  constructor({ method, url, count, windowMs }: LoopDetectedErrorOptions) {
    super(
      `Loop detected: ${method} ${url} was requested ${count} ${plural(count, 'time')} within ${formatMs(windowMs)}, ` +
        'each time after the same request had settled',
    );
    this.method = method;
    this.url = url;
    this.count = count;
    this.windowMs = windowMs;
  }
}

/** What a {@link ClosedError} is made of; its message is written from these. */
export interface ClosedErrorOptions {
  /** The request's method, upper-case. */
  readonly method: string;
  /** The request URL, already sanitised. */
  readonly url: string;
  /** `'pending'`: closed while the request waited; `'afterClose'`: called on a closed client. @default 'afterClose' */
  readonly when?: 'pending' | 'afterClose';
  /** Attempts of the call already sent. @default 0 */
  readonly attempts?: number;
  /** The status of the last attempt sent; undefined when none was sent or the last got no response. */
  readonly lastStatus?: number | undefined;
}

/** The client was closed while the request was waiting, or the request was made after `close()`. */
export class ClosedError extends RatewiseError {
  /** Always `'ClosedError'`. */
  override readonly name = 'ClosedError' as const;
  /** Always `'ERR_RATEWISE_CLOSED'`. */
  readonly code = 'ERR_RATEWISE_CLOSED' as const;
  /** The request's method, upper-case; `'TASK'` for a task of `rw.schedule`. */
  readonly method: string;
  /**
   * The request URL, sanitised (no credentials, no secret query parameters); `task "<key>"` for a task of
   * `rw.schedule`.
   */
  readonly url: string;
  /** `'pending'`: the client was closed while the request waited; `'afterClose'`: it was called on a closed client. */
  readonly when: 'pending' | 'afterClose';
  /** Attempts of the call sent before the close; 0 when it was not sent. */
  readonly attempts: number;
  /** The status of the last attempt sent; undefined when none was sent or the last got no response. */
  readonly lastStatus: number | undefined;

  constructor({ method, url, when = 'afterClose', attempts = 0, lastStatus }: ClosedErrorOptions) {
    const what = when === 'pending' ? 'the client was closed while it waited' : 'the client is closed';
    const last = lastStatus === undefined ? 'the last got no response' : `the last answered ${lastStatus}`;
    const sent =
      attempts === 0
        ? 'was not sent'
        : `was sent ${attempts} ${plural(attempts, 'time')} (${last}) and was waiting to retry`;
    super(`Client closed: ${method} ${url} ${sent}; ${what}`);
    this.method = method;
    this.url = url;
    this.when = when;
    this.attempts = attempts;
    this.lastStatus = lastStatus;
  }
}

/** What a {@link StoreUnavailableError} is made of; its message is written from these. */
export interface StoreUnavailableErrorOptions {
  /** The store's name, such as `"redis"`. */
  readonly store: string;
  /** The budget key the request counts against. */
  readonly key: string;
  /** The request's method, upper-case. */
  readonly method: string;
  /** The request URL, already sanitised. */
  readonly url: string;
  /** What the store call failed with (an error of the Redis client, or the store timeout). */
  readonly cause: unknown;
}

/**
 * The shared store (Redis) could not be reached in time and the client was created with `storeFallback: 'fail'`:
 * the request was not sent. `cause` holds the store's own error.
 */
export class StoreUnavailableError extends RatewiseError {
  /** Always `'StoreUnavailableError'`. */
  override readonly name = 'StoreUnavailableError' as const;
  /** Always `'ERR_RATEWISE_STORE'`. */
  readonly code = 'ERR_RATEWISE_STORE' as const;
  /** The store's name, such as `"redis"`. */
  readonly store: string;
  /** The budget key the request counts against. */
  readonly key: string;
  /** The request's method, upper-case; `'TASK'` for a task of `rw.schedule`. */
  readonly method: string;
  /**
   * The request URL, sanitised (no credentials, no secret query parameters); `task "<key>"` for a task of
   * `rw.schedule`.
   */
  readonly url: string;

  constructor({ store, key, method, url, cause }: StoreUnavailableErrorOptions) {
    super(`Store unavailable: ${method} ${url} was not sent; the ${store} store did not answer for budget ${key}`, {
      cause,
    });
    this.store = store;
    this.key = key;
    this.method = method;
    this.url = url;
  }
}

/**
 * `installRatewise()` was called while an earlier install was still in place: two installs would stack two
 * dispatchers, and uninstalling them out of order would bring back a stale one.
 */
export class AlreadyInstalledError extends RatewiseError {
  /** Always `'AlreadyInstalledError'`. */
  override readonly name = 'AlreadyInstalledError' as const;
  /** Always `'ERR_RATEWISE_ALREADY_INSTALLED'`. */
  readonly code = 'ERR_RATEWISE_ALREADY_INSTALLED' as const;

  constructor() {
    super(
      'Already installed: installRatewise() was called while an earlier install is in place; call the function ' +
        'that install returned first (one ratewise client throttles the global fetch at a time)',
    );
  }
}

/** The error class of each {@link RatewiseErrorCode}: what {@link isRatewiseError} narrows to when given a code. */
export interface RatewiseErrorByCode {
  /** A wait longer than `maxWait` or `maxRetryAfter`. */
  ERR_RATEWISE_RATE_LIMITED: RateLimitError;
  /** A retry refused by the retry budget. */
  ERR_RATEWISE_RETRY_BUDGET: RetryBudgetExceededError;
  /** A request refused by a full queue. */
  ERR_RATEWISE_QUEUE_FULL: QueueFullError;
  /** A request refused by the loop guard. */
  ERR_RATEWISE_LOOP: LoopDetectedError;
  /** A request on a closed client. */
  ERR_RATEWISE_CLOSED: ClosedError;
  /** A request not sent because the shared store did not answer (with `storeFallback: 'fail'`). */
  ERR_RATEWISE_STORE: StoreUnavailableError;
  /** `installRatewise()` while an earlier install is in place. */
  ERR_RATEWISE_ALREADY_INSTALLED: AlreadyInstalledError;
}

/** Marks another library's error that carries a ratewise error (see {@link CarriedRatewiseError}). */
const CARRIER = Symbol.for('ratewise.carrier');

/**
 * Another library's error that carries a ratewise error: the axios adapter rejects with an `AxiosError` of this shape.
 * Its `code` and fields (`reason`, `key`, `retryAt`, …) are the ratewise error's, which is its `cause`; its `name` and
 * `response` are the library's own (axios's `AxiosResponse`, when there was a response).
 */
export type CarriedRatewiseError<E extends RatewiseError = RatewiseError> = Omit<E, 'name' | 'response' | 'cause'> & {
  /** The carrying library's own name for its error, such as `'AxiosError'`. */
  readonly name: string;
  /** The ratewise error carried. */
  readonly cause: E;
  /** The last response, in the carrying library's own shape, when there was one. */
  readonly response?:
    | {
        /** The response's HTTP status. */
        readonly status: number;
        /** The response's status text. */
        readonly statusText: string;
        /** The response's headers, in the carrying library's own shape. */
        readonly headers: unknown;
      }
    | undefined;
};

/**
 * Whether `value` is a ratewise error (of the given `code`), from this copy of the library or any other, or an error
 * that carries one as its `cause` (the axios adapter's `AxiosError`: {@link CarriedRatewiseError}).
 */
export function isRatewiseError(value: unknown): value is RatewiseError | CarriedRatewiseError;
export function isRatewiseError<C extends RatewiseErrorCode>(
  value: unknown,
  code: C,
): value is RatewiseErrorByCode[C] | CarriedRatewiseError<RatewiseErrorByCode[C]>;
export function isRatewiseError(value: unknown, code?: RatewiseErrorCode): boolean {
  const error = isBranded(value) ? value : carriedBy(value);
  return error !== undefined && (code === undefined || error.code === code);
}

function isBranded(value: unknown): value is RatewiseError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

function carriedBy(value: unknown): RatewiseError | undefined {
  if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[CARRIER] !== true) {
    return undefined;
  }
  const { cause } = value as { cause?: unknown };
  return isBranded(cause) ? cause : undefined;
}

/**
 * Makes `carrier` (another library's error, such as an `AxiosError`) carry `error`: its code and fields, and itself
 * as the non-enumerable `cause`, as native errors hold theirs. The carrier keeps its own name and response.
 */
export function carryRatewiseError<T extends Error>(carrier: T, error: RatewiseError): T & CarriedRatewiseError {
  for (const [key, value] of Object.entries(error)) {
    if (key !== 'name')
      Object.defineProperty(carrier, key, { value, enumerable: true, writable: true, configurable: true });
  }
  Object.defineProperty(carrier, 'cause', { value: error, enumerable: false, writable: true, configurable: true });
  Object.defineProperty(carrier, CARRIER, { value: true });
  return carrier as T & CarriedRatewiseError;
}

/**
 * Formats a value for an option error: strings JSON-quoted, everything else as `String()` would, then its type:
 * `` `"abc"` (string) ``, `` `0` (number) ``, `` `{"limit":0}` (object) ``.
 */
export function formatValue(value: unknown): string {
  return `\`${truncate(describe(value))}\` (${kindOf(value)})`;
}

/** The kind of `value` as option errors name it: `null`, `array`, or its `typeof`. Never the value itself. */
export function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** The `TypeError` thrown for an invalid option: ``Expected `name` to be <expected>, got `value` (type)``. */
export function invalidOption(optionName: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Expected \`${optionName}\` to be ${expected}, got ${formatValue(value)}`);
}

function describe(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${String(value)}n`;
    case 'function':
      return value.name === '' ? '[Function]' : `[Function ${value.name}]`;
    case 'object':
      if (value === null) return 'null';
      try {
        const json = JSON.stringify(value) as string | undefined;
        if (json !== undefined) return json;
      } catch {
        // Circular or holding a bigint: fall through to the tag.
      }
      return Object.prototype.toString.call(value);
    default:
      return String(value);
  }
}

const MAX_SHOWN = 100;

function truncate(text: string): string {
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}

function formatMs(ms: number): string {
  return `${ms} ms`;
}

function formatInstant(at: number): string {
  return Number.isFinite(at) && Math.abs(at) <= 8.64e15 ? new Date(at).toISOString() : String(at);
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}

function causeOf(options: { readonly cause?: unknown }): ErrorOptions | undefined {
  return 'cause' in options ? { cause: options.cause } : undefined;
}

function hide(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: false, writable: false, configurable: true });
}
