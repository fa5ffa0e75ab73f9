// The two clients of the demo and a run of one burst: every call started at once, progress sampled while they go,
// the server's own log and ratewise's pauses collected at the end.
import { setMaxListeners } from 'node:events';
import { createRatewise } from '../../src/index.js';
import type { ProgressSink, ProgressSnapshot } from './progress.js';
import type { Arrival, DemoServer } from './server.js';

/** Which client sends the burst. */
export type ClientKind = 'plain' | 'ratewise';

export const CLIENT_LABELS: Readonly<Record<ClientKind, string>> = {
  plain: 'plain fetch + retry on 429',
  ratewise: 'ratewise',
};

/** A span during which ratewise held every request to the host back. Epoch ms. */
export interface Pause {
  readonly from: number;
  readonly until: number;
}

/** What a run did. Instants are epoch ms. */
export interface RunResult {
  readonly client: ClientKind;
  readonly label: string;
  readonly requests: number;
  /** Calls that ended with a 2xx response. */
  readonly succeeded: number;
  /** Calls that ended otherwise: the last response's status, or the error's message, and how many. */
  readonly failures: readonly { readonly reason: string; readonly count: number }[];
  readonly startedAt: number;
  readonly wallMs: number;
  /** Every request the server received during the run, retries included. */
  readonly arrivals: readonly Arrival[];
  /** ratewise's `paused` events, as reported (they may overlap); empty for the plain client. */
  readonly pauses: readonly Pause[];
  /** The rate-limit fields of the first 429 the client received, lower-case names. */
  readonly firstRejection: Readonly<Record<string, string>> | undefined;
}

/** Live counts, updated by {@link instrumentFetch} and the run. */
export interface LiveCounts {
  done: number;
  inFlight: number;
  rejected: number;
  firstRejection: Record<string, string> | undefined;
}

const RATE_LIMIT_FIELD = /^(retry-after|ratelimit|x-ratelimit|x-rate-limit)/;

/** The rate-limit fields among `headers`. */
export function rateLimitFields(headers: Headers): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of headers) if (RATE_LIMIT_FIELD.test(name)) fields[name] = value;
  return fields;
}

/** A fetch that keeps `live.inFlight` and `live.rejected` up to date. Both clients send through one. */
export function instrumentFetch(live: LiveCounts, base: typeof fetch = globalThis.fetch): typeof fetch {
  return async (input, init) => {
    live.inFlight += 1;
    try {
      const response = await base(input, init);
      if (response.status === 429) {
        live.rejected += 1;
        live.firstRejection ??= rateLimitFields(response.headers);
      }
      return response;
    } finally {
      live.inFlight -= 1;
    }
  };
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Options of {@link naiveGet}. */
export interface NaiveOptions {
  readonly fetch: typeof fetch;
  readonly signal?: AbortSignal;
  /** Attempts at most, the first included. @default 20 */
  readonly maxAttempts?: number;
  /** @default Math.random */
  readonly random?: () => number;
}

/**
 * What many clients do: send at once, and on a 429 sleep a random share of the server's `Retry-After` (1 s when it
 * gives none) and try again, up to `maxAttempts` times.
 */
export async function naiveGet(url: string, options: NaiveOptions): Promise<Response> {
  const { maxAttempts = 20, random = Math.random, signal } = options;
  for (let attempt = 1; ; attempt++) {
    const response = await options.fetch(url, signal === undefined ? {} : { signal });
    if (response.status !== 429 || attempt >= maxAttempts) return response;
    await response.body?.cancel();
    const seconds = Number(response.headers.get('retry-after') ?? '1');
    await sleep((Number.isFinite(seconds) ? seconds : 1) * 1000 * random(), signal);
  }
}

/** Options of {@link runBurst}. */
export interface BurstOptions {
  readonly client: ClientKind;
  readonly server: DemoServer;
  readonly requests: number;
  readonly progress?: ProgressSink;
  /** How often progress is sampled, ms. @default 100 */
  readonly tickMs?: number;
  /** Calls still unsettled after this long are aborted, ms. @default 120_000 */
  readonly timeoutMs?: number;
}

/** Sends `requests` GETs to `server` at once through `client` and waits for every one of them to settle. */
export async function runBurst(options: BurstOptions): Promise<RunResult> {
  const { client, server, requests, progress, tickMs = 100, timeoutMs = 120_000 } = options;
  const label = CLIENT_LABELS[client];
  const live: LiveCounts = { done: 0, inFlight: 0, rejected: 0, firstRejection: undefined };
  const send = instrumentFetch(live);
  const signal = AbortSignal.timeout(timeoutMs);
  // Every call listens to this one signal (fetch, the retry sleep, ratewise's queue): hundreds of listeners by design.
  setMaxListeners(0, signal);
  const pauses: Pause[] = [];
  const rw = client === 'ratewise' ? createRatewise({ fetch: send }) : undefined;
  rw?.on('paused', ({ until }) => pauses.push({ from: Date.now(), until }));
  const get = (url: string): Promise<Response> =>
    rw === undefined ? naiveGet(url, { fetch: send, signal }) : rw.fetch(url, { signal });

  const startedAt = Date.now();
  const snapshot = (): ProgressSnapshot => ({
    label,
    requests,
    done: live.done,
    inFlight: live.inFlight,
    waiting: Math.max(0, requests - live.done - live.inFlight),
    rejected: live.rejected,
    elapsedMs: Date.now() - startedAt,
  });
  const ticker = setInterval(() => progress?.update(snapshot()), tickMs);
  let outcomes: string[];
  try {
    outcomes = await Promise.all(
      Array.from({ length: requests }, async (_, i) => {
        try {
          const response = await get(`${server.url}/items/${i}`);
          await response.arrayBuffer();
          return response.ok ? 'ok' : `HTTP ${response.status}`;
        } catch (error) {
          return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        } finally {
          live.done += 1;
        }
      }),
    );
  } finally {
    clearInterval(ticker);
    await rw?.close();
  }
  const wallMs = Date.now() - startedAt;
  progress?.finish(snapshot());

  const tally = new Map<string, number>();
  for (const outcome of outcomes) tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  const succeeded = tally.get('ok') ?? 0;
  tally.delete('ok');
  return {
    client,
    label,
    requests,
    succeeded,
    failures: [...tally].map(([reason, count]) => ({ reason, count })),
    startedAt,
    wallMs,
    arrivals: server.arrivals().filter((arrival) => arrival.receivedAt >= startedAt),
    pauses,
    firstRejection: live.firstRejection,
  };
}
