// Typed events: a minimal synchronous emitter and the payloads a ratewise client emits. Every URL in a payload is
// already sanitised (credentials and query secrets stripped); every instant is epoch ms, every duration ms.
import type { RateLimitInfo } from './headers/types.js';
import type { GiveUpReason } from './retry/decision.js';

type Listener<T> = (event: T) => void;

/**
 * Where events go besides the listeners: in Node, a `diagnostics_channel` per event name. Published to only while it
 * has subscribers, so that a channel nobody listens to costs one property read.
 */
export interface EventChannel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
}

/** One registration; its identity lets each disposer remove exactly its own entry, even for a repeated listener. */
interface Entry<T> {
  readonly listener: Listener<T>;
}

/**
 * A synchronous emitter of typed events, one instance per client (no shared registry).
 *
 * - {@link emit} calls the listeners in registration order, synchronously. A listener that throws is reported to
 *   `onListenerError` (by default `console.error`) and neither the caller nor the other listeners see it.
 * - Listener lists are copied on write, so `emit` iterates without copying, and a listener added or removed during an
 *   `emit` takes effect from the next one.
 * - With no listener, `emit` is one map lookup (and a channel's `hasSubscribers`); {@link hasListeners} lets callers
 *   skip building the payload at all.
 * - With `channelOf`, each event is also published on its name's channel, after the listeners, while the channel has
 *   subscribers; {@link hasListeners} counts them as listeners.
 *
 * `E` maps event names to payload types, e.g. {@link RatewiseEvents}.
 */
export class Emitter<E extends object> {
  readonly #listeners = new Map<keyof E, readonly Entry<never>[]>();
  readonly #onListenerError: (error: unknown, name: keyof E) => void;
  readonly #channelOf: ((name: keyof E) => EventChannel) | undefined;
  /** The channels asked for so far, by event name: each is made on first use. */
  readonly #channels = new Map<keyof E, EventChannel>();

  /**
   * @param onListenerError Receives what a listener threw.
   *   @default logs `ratewise: a "<name>" listener threw` and the error with `console.error`
   * @param channelOf The channel each event is also published on, by event name; asked once per name.
   *   @default undefined (listeners only)
   */
  constructor(onListenerError?: (error: unknown, name: keyof E) => void, channelOf?: (name: keyof E) => EventChannel) {
    this.#channelOf = channelOf;
    this.#onListenerError =
      onListenerError ??
      ((error, name) => {
        console.error(`ratewise: a ${JSON.stringify(String(name))} listener threw`, error);
      });
  }

  /**
   * Calls `listener` with every `name` event until the returned disposer is called. Calling the disposer again, or
   * after {@link clear}, does nothing. Registering the same function twice makes two independent registrations.
   */
  on<K extends keyof E>(name: K, listener: (event: E[K]) => void): () => void {
    const entry: Entry<E[K]> = { listener };
    this.#listeners.set(name, [...this.#entries(name), entry]);
    return () => {
      const entries = this.#entries(name);
      const index = entries.indexOf(entry);
      if (index === -1) return;
      if (entries.length === 1) this.#listeners.delete(name);
      else this.#listeners.set(name, entries.toSpliced(index, 1));
    };
  }

  /** Calls every `name` listener with `event`, synchronously. Never throws what a listener throws. */
  emit<K extends keyof E>(name: K, event: E[K]): void {
    const entries = this.#listeners.get(name) as readonly Entry<E[K]>[] | undefined;
    if (entries !== undefined) {
      for (const { listener } of entries) {
        try {
          listener(event);
        } catch (error) {
          this.#report(error, name);
        }
      }
    }
    // A subscriber that throws is the channel's to report (Node rethrows it on the next tick), not the caller's.
    const channel = this.#channel(name);
    if (channel?.hasSubscribers === true) channel.publish(event);
  }

  /** Whether any listener (or channel subscriber) would hear a `name` event; check it before building a payload. */
  hasListeners(name: keyof E): boolean {
    if (this.#listeners.has(name)) return true;
    return this.#channel(name)?.hasSubscribers === true;
  }

  /** Removes every listener of every event (a channel's subscribers are the channel's). */
  clear(): void {
    this.#listeners.clear();
  }

  #channel(name: keyof E): EventChannel | undefined {
    const make = this.#channelOf;
    if (make === undefined) return undefined;
    let channel = this.#channels.get(name);
    if (channel === undefined) this.#channels.set(name, (channel = make(name)));
    return channel;
  }

  #entries<K extends keyof E>(name: K): readonly Entry<E[K]>[] {
    return (this.#listeners.get(name) ?? []) as readonly Entry<E[K]>[];
  }

  #report(error: unknown, name: keyof E): void {
    try {
      this.#onListenerError(error, name);
    } catch {
      // The error reporter itself failed (a broken console, a throwing hook): the emitter's caller must not see it.
    }
  }
}

/** Why a call stopped retrying: a {@link GiveUpReason}, or `'retry-budget'` when the retry budget refused the retry. */
export type GiveUpEventReason = GiveUpReason | 'retry-budget';

/** The events of a ratewise client, by name. */
export interface RatewiseEvents {
  /** A request entered its budget's queue because it could not be sent at once. */
  readonly queued: {
    /** The budget key. */
    readonly key: string;
    /** The request's method, upper-case. */
    readonly method: string;
    /** The request URL, sanitised. */
    readonly url: string;
    /** Requests waiting in this budget's queue, this one included. */
    readonly queued: number;
    /** The request's priority (higher goes first). */
    readonly priority: number;
  };
  /** The head of a budget's queue has to wait; emitted when the budget arms its wake-up timer. */
  readonly throttled: {
    /** The budget key. */
    readonly key: string;
    /**
     * What holds it back: `'paused'` a pause a refusal ordered (see `paused`), `'server-quota'` the server's quota,
     * which a successful response said is spent (`remaining: 0`), until its reset, `'rate'` the local rate,
     * `'server'` pacing to the server's remaining quota, `'concurrency'` every slot in use.
     */
    readonly reason: 'paused' | 'server-quota' | 'rate' | 'server' | 'concurrency';
    /** How long until the head may go, in ms (0 when only a free slot can release it). */
    readonly waitMs: number;
    /** Epoch ms when the head may go. */
    readonly until: number;
    /**
     * When a quota or rate in another unit than requests holds the head (its `cost` named that unit): the unit, such
     * as `'tokens'`. With `reason: 'server'`, the server's quota in that unit; with `reason: 'rate'`, the budget's
     * own rate in it (`units`, counted here or by a shared `store`).
     */
    readonly unit?: string;
  };
  /**
   * The whole budget stops sending until `until`, as a refusal ordered: a throttle or an outage (a 429, a 503), or
   * another client's through the store. A success that spends the quota is pacing, not a pause: see `throttled`.
   */
  readonly paused: {
    /** The budget key. */
    readonly key: string;
    /** Epoch ms when sending resumes. */
    readonly until: number;
    /**
     * `'retry-after'` the server named an instant (`Retry-After` or equivalent), `'remaining-zero'` the refusal said
     * the quota is spent until its reset, `'backoff'` a throttle or an outage without timing, backed off exponentially, `'shared'`
     * another client sharing the budget through the store was paused.
     */
    readonly reason: 'retry-after' | 'remaining-zero' | 'backoff' | 'shared';
    /** The status of the response that caused the pause, if a response did. */
    readonly status: number | undefined;
  };
  /**
   * An attempt of a call (`rw.fetch`, `rw.request`, the adapters) came back, with a response of any status or with
   * a network error: one event per request sent, retries included. Tasks of `rw.schedule` have none.
   */
  readonly attempt: {
    /** The budget key. */
    readonly key: string;
    /** The `budgets` pattern whose options apply (`*` for the fallback), as `rw.stats()` reports it. */
    readonly pattern: string;
    /** The request's method, upper-case. */
    readonly method: string;
    /** The request URL, sanitised. */
    readonly url: string;
    /** Which attempt of the call: 1 for the first, 2 for its first retry, and so on. */
    readonly attempt: number;
    /** The response's status, `undefined` when none came (a network error). */
    readonly status: number | undefined;
    /**
     * `'ok'` a status below 400; `'refused'` a throttle, as `parseRateLimit` reads one (`isRateLimited`: a 429, a 503
     * with a retry time, a 403 with a retry time or `remaining: 0`); `'error'` anything else: another status of 400
     * or more, or no response.
     */
    readonly outcome: 'ok' | 'refused' | 'error';
    /** Epoch ms the attempt was sent. */
    readonly sentAt: number;
    /**
     * How long the call waited inside ratewise before this attempt went, in ms: in its budget's queue, a pause, its
     * backoff; counted from the call's start for the first attempt, from the previous attempt's answer for a retry.
     */
    readonly waitedMs: number;
    /** From sending to the answer (the response's head, or the error), in ms. */
    readonly durationMs: number;
  };
  /** A request will be sent again after `delayMs`. */
  readonly retry: {
    /** The budget key. */
    readonly key: string;
    /** The request's method, upper-case. */
    readonly method: string;
    /** The request URL, sanitised. */
    readonly url: string;
    /** Which retry this is: 1 for the first (it is also the number of the attempt that failed). */
    readonly attempt: number;
    /** The wait before it, in ms. */
    readonly delayMs: number;
    /** `'server'` the wait is the server's (jittered only upward), `'backoff'` it was computed. */
    readonly source: 'server' | 'backoff';
    /** The status of the failed attempt, `undefined` after a network error. */
    readonly status: number | undefined;
    /** The network error of the failed attempt, `undefined` after a response. */
    readonly error: unknown;
  };
  /** A request failed for good: no more retries. */
  readonly giveUp: {
    /** The budget key. */
    readonly key: string;
    /** The request's method, upper-case. */
    readonly method: string;
    /** The request URL, sanitised. */
    readonly url: string;
    /** Why it stopped retrying. */
    readonly reason: GiveUpEventReason;
    /** Attempts made, the first one included. */
    readonly attempts: number;
    /** The status of the last attempt, `undefined` after a network error. */
    readonly status: number | undefined;
  };
  /**
   * A call (`rw.fetch`, `rw.request`, the adapters) ended, however it ended: one event per call, after its last
   * `attempt`. A redirect that `rw.fetch` follows is a call of its own.
   */
  readonly settled: {
    /** The budget key. */
    readonly key: string;
    /** The `budgets` pattern whose options apply (`*` for the fallback). */
    readonly pattern: string;
    /** The request's method, upper-case. */
    readonly method: string;
    /** The request URL, sanitised. */
    readonly url: string;
    /** Attempts sent; 0 when the call ended before its first could go. */
    readonly attempts: number;
    /** The status of the last attempt, `undefined` after a network error or without an attempt. */
    readonly status: number | undefined;
    /**
     * What the call rejected with: a ratewise error, the caller's abort reason, or the transport's error without the
     * request's headers, body or credentials. `undefined` when the call resolved.
     */
    readonly error: unknown;
    /** Epoch ms the call began. */
    readonly startedAt: number;
    /** From the call's start to its end, in ms. */
    readonly durationMs: number;
    /** Every ms the call spent waiting inside ratewise: the waits before its attempts and the one it ended in. */
    readonly waitedMs: number;
    /**
     * Of `waitedMs`, the wait the call ended in, with no attempt after it (it failed while it waited: `maxWait`, a
     * full queue, `close()`, its signal), in ms; 0 when an attempt's answer ended it.
     */
    readonly lastWaitMs: number;
  };
  /** A response carried rate-limit information. */
  readonly rateLimitInfo: {
    /** The budget key. */
    readonly key: string;
    /** The request URL, sanitised. */
    readonly url: string;
    /** The response's HTTP status. */
    readonly status: number;
    /** What the headers said, as `parseRateLimit` read them. */
    readonly info: RateLimitInfo;
  };
  /**
   * The shared store (Redis) failed or did not answer in time (see `storeTimeout`): when an outage begins (`downMs`
   * 0), and again at each check during it that finds the store still failing (asked again after 1 s, then up to
   * every 5 s, while requests need it). With `storeFallback: 'share'` each budget spends its share of the budget
   * until the store answers again, with `'local'` its local limits; with `'fail'` the calls waiting on it fail with
   * `StoreUnavailableError`.
   */
  readonly storeError: {
    /** The store's name, such as `"redis"`. */
    readonly store: string;
    /** What the store call failed with (the Redis client's error, or the timeout). */
    readonly error: unknown;
    /** The client's `storeFallback`: what the budgets do meanwhile. */
    readonly fallback: 'share' | 'local' | 'fail';
    /** How long the store has been failing, in ms: 0 when this failure begins the outage. */
    readonly downMs: number;
  };
  /**
   * A call's `cost` named a unit that neither the server's answers describe nor the budget's `units` limit: it costs
   * nothing. Once per budget and unit (a misspelt unit, such as `token` for `tokens`, shows here).
   */
  readonly unitUnlimited: {
    /** The budget key. */
    readonly key: string;
    /** The unit, as the cost named it. */
    readonly unit: string;
  };
  /**
   * A budget's `usage` hook threw, or returned something other than finite amounts >= 0 per unit: the call's
   * estimates stand.
   */
  readonly usageIgnored: {
    /** The budget key. */
    readonly key: string;
    /** The request URL, sanitised. */
    readonly url: string;
    /** What was wrong: the hook's error, or the value it returned. */
    readonly reason: string;
  };
  /** The shared store answered again after a `storeError`: budgets are shared again. */
  readonly storeRecovered: {
    /** The store's name, such as `"redis"`. */
    readonly store: string;
    /** How long it was unavailable, in ms. */
    readonly downMs: number;
  };
  /**
   * The application repeated the same request (method, URL and body), each time after the previous one had settled,
   * more often than the loop guard allows; once per window.
   */
  readonly loop: {
    /** The request's method, upper-case. */
    readonly method: string;
    /** The request URL, sanitised. */
    readonly url: string;
    /** Calls counted within the window, this one included (copies started while another was in flight are not). */
    readonly count: number;
    /** The loop guard's window, in ms. */
    readonly windowMs: number;
  };
}
