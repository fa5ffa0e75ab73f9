// The HTTP server the Redis tests send to: on 127.0.0.1, it answers every request `200 ok` at once and records when
// each one arrived (performance.now(), on this process's monotonic clock), so that admissions can be checked against
// the shared budget.
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { closeServer, HOST, listen } from '../../../scripts/lib/loopback.js';

/** One request as the server saw it. */
export interface Arrival {
  /** Path and query, as sent. */
  readonly path: string;
  /** performance.now() when the request head arrived. */
  readonly at: number;
}

export interface CountingServer {
  /** Such as `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The budget pattern of this server: `127.0.0.1:41234`. */
  readonly host: string;
  /** Every request so far, in arrival order. */
  arrivals(): readonly Arrival[];
  /** Resolves once `count` requests in all have arrived. */
  reached(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCountingServer(): Promise<CountingServer> {
  const log: Arrival[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = createServer((req, res) => {
    log.push({ path: req.url ?? '/', at: performance.now() });
    for (const waiter of waiters.filter(({ count }) => log.length >= count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    res.end('ok');
  });
  const port = await listen(server);
  return {
    url: `http://${HOST}:${port}`,
    host: `${HOST}:${port}`,
    arrivals: () => [...log],
    reached: (count) =>
      log.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () => closeServer(server),
  };
}
