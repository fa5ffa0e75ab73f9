// The demo's clients and a run of one burst: every call started at once through one client, progress sampled from
// the server's counts while they go, the server's own log and ratewise's pauses collected at the end.
import { setMaxListeners } from 'node:events';
import { isAxiosError } from 'axios';
import { HTTPError as KyHTTPError } from 'ky';
import { createAxiosRetry, kyGet } from '../lib/retrying-clients.js';
import { createRatewise } from '../../src/index.js';
import { CLIENTS, type ClientKind } from './clients.js';
import type { ProgressSink, ProgressSnapshot } from './progress.js';
import type { Arrival, DemoServer } from './server.js';

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
  /** ratewise's `paused` events, as reported (they may overlap); empty for the other clients. */
  readonly pauses: readonly Pause[];
  /** The rate-limit fields of the first 429 the server wrote, lower-case names. */
  readonly firstRejection: Readonly<Record<string, string>> | undefined;
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

/** One client set up for one run. */
interface Driver {
  /** Sends one call and reads its body: `'ok'` for a 2xx, `HTTP <status>` for another last answer; throws otherwise. */
  call(url: string): Promise<string>;
  close(): Promise<void>;
}

const OK = 'ok';

function createDriver(client: ClientKind, signal: AbortSignal, pauses: Pause[]): Driver {
  const nothing = (): Promise<void> => Promise.resolve();
  switch (client) {
    case 'ky':
      return {
        call: async (url) => {
          try {
            await kyGet(url, signal);
            return OK;
          } catch (error) {
            if (error instanceof KyHTTPError) return `HTTP ${error.response.status}`;
            throw error;
          }
        },
        close: nothing,
      };
    case 'axios-retry': {
      const instance = createAxiosRetry();
      return {
        call: async (url) => {
          try {
            await instance.get(url, { signal, responseType: 'arraybuffer' });
            return OK;
          } catch (error) {
            if (isAxiosError(error) && error.response !== undefined) return `HTTP ${error.response.status}`;
            throw error;
          }
        },
        close: nothing,
      };
    }
    case 'loop':
      return {
        call: async (url) => {
          const response = await naiveGet(url, { fetch, signal });
          await response.arrayBuffer();
          return response.ok ? OK : `HTTP ${response.status}`;
        },
        close: nothing,
      };
    case 'ratewise': {
      const rw = createRatewise();
      rw.on('paused', ({ until }) => pauses.push({ from: Date.now(), until }));
      return {
        call: async (url) => {
          const response = await rw.fetch(url, { signal });
          await response.arrayBuffer();
          return response.ok ? OK : `HTTP ${response.status}`;
        },
        close: () => rw.close(),
      };
    }
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
  const { name, label } = CLIENTS[client];
  const signal = AbortSignal.timeout(timeoutMs);
  // Every call listens to this one signal (fetch, axios, the retry sleeps, ratewise's queue): hundreds of listeners
  // by design.
  setMaxListeners(0, signal);
  const pauses: Pause[] = [];
  const driver = createDriver(client, signal, pauses);

  let done = 0;
  const startedAt = Date.now();
  const snapshot = (): ProgressSnapshot => {
    // The server's own counts, whichever client sends: attempts it holds, 429s it wrote.
    const { inFlight, rejected } = server.counts();
    return {
      label: name,
      requests,
      done,
      inFlight,
      waiting: Math.max(0, requests - done - inFlight),
      rejected,
      elapsedMs: Date.now() - startedAt,
    };
  };
  const ticker = setInterval(() => progress?.update(snapshot()), tickMs);
  let outcomes: string[];
  try {
    outcomes = await Promise.all(
      Array.from({ length: requests }, async (_, i) => {
        try {
          return await driver.call(`${server.url}/items/${i}`);
        } catch (error) {
          return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        } finally {
          done += 1;
        }
      }),
    );
  } finally {
    clearInterval(ticker);
    await driver.close();
  }
  const wallMs = Date.now() - startedAt;
  progress?.finish(snapshot());

  const tally = new Map<string, number>();
  for (const outcome of outcomes) tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
  const succeeded = tally.get(OK) ?? 0;
  tally.delete(OK);
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
    firstRejection: server.firstRejection(),
  };
}
