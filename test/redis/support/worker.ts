// One process sharing a budget through Redis, for test/redis/workers.test.ts. Run with
// `node --import tsx worker.ts '<WorkerConfig as JSON>'` as a forked child (an IPC channel is required): it connects
// with the named client library, creates a ratewise client on the shared store, sends one warm-up request with plain
// fetch (to `${origin}/warm-up/w<id>`), says `ready`, waits for `go`, then sends every request at once through
// rw.fetch and reports each settled call and every store event. When all have settled it closes the client and the
// connection, says `done` and leaves: nothing may keep it alive after that.
import { createRatewise } from '../../../src/index.js';
import type { RateSpec } from '../../../src/index.js';
import { REDIS_CLIENTS } from '../../support/redis-clients.js';
import { storeOf } from './store.js';

export interface WorkerConfig {
  /** A `name` from REDIS_CLIENTS. */
  readonly library: string;
  readonly redisUrl: string;
  readonly prefix: string;
  /** The HTTP server's origin; requests go to `${origin}/w<id>/<index>`. */
  readonly origin: string;
  /** The budget pattern: the origin's `host:port`. */
  readonly host: string;
  readonly id: number;
  readonly requests: number;
  readonly rate: RateSpec;
  readonly burst: number;
}

/** What a worker reports, in order: `ready`, then `settled` and store events as they happen, then `done`. */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'settled'; readonly index: number; readonly status: number }
  | { readonly type: 'settled'; readonly index: number; readonly error: string }
  | { readonly type: 'storeError'; readonly fallback: string; readonly error: string }
  | { readonly type: 'storeRecovered'; readonly downMs: number }
  | { readonly type: 'done' };

const send = process.send?.bind(process);
if (send === undefined) throw new Error('worker.ts runs as a forked child, with an IPC channel');
const report = (message: WorkerMessage): Promise<void> =>
  new Promise((resolve, reject) => {
    send(message, undefined, undefined, (error) => {
      if (error) reject(error);
      else resolve();
    });
  });

const config = JSON.parse(process.argv[2] ?? '') as WorkerConfig;
const library = REDIS_CLIENTS.find(({ name }) => name === config.library);
if (library === undefined) throw new Error(`No client library named ${config.library}`);

const connection = await library.connect(config.redisUrl);
const rw = createRatewise({
  store: storeOf(connection, config.prefix),
  budgets: { [config.host]: { rate: config.rate, burst: config.burst } },
});
rw.on('storeError', ({ fallback, error }) => {
  void report({ type: 'storeError', fallback, error: String(error) });
});
rw.on('storeRecovered', ({ downMs }) => {
  void report({ type: 'storeRecovered', downMs });
});

// The first request of a process opens its connection and loads fetch's code: done here, outside ratewise and the
// measurement, so that the first measured arrivals are not late by that.
await (await fetch(`${config.origin}/warm-up/w${config.id}`)).arrayBuffer();

const go = new Promise<void>((resolve) => {
  process.once('message', () => {
    resolve();
  });
});
await report({ type: 'ready' });
await go;

await Promise.all(
  Array.from({ length: config.requests }, async (_, index) => {
    let message: WorkerMessage;
    try {
      const response = await rw.fetch(`${config.origin}/w${config.id}/${index}`);
      await response.arrayBuffer();
      message = { type: 'settled', index, status: response.status };
    } catch (error) {
      message = { type: 'settled', index, error: String(error) };
    }
    await report(message);
  }),
);
await rw.close();
await connection.close();
await report({ type: 'done' });
process.disconnect();
