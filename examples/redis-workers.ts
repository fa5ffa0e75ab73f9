// Two workers, one budget: two processes (this file, started twice as a child) each have their own ratewise client,
// and share one budget of 10 requests per second through Redis, so that together they stay within what the API
// allows. Uses the Redis at REDIS_URL, or starts Debian's `redis-server` on 127.0.0.1 for the run.
// Run: npx tsx examples/redis-workers.ts
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import { createRatewise } from 'ratewise';
import { redisStore } from 'ratewise/redis';

const REQUESTS_PER_WORKER = 20;

if (process.argv[2] === 'worker') {
  // A worker: what every process of the application does. The same store prefix and the same budgets everywhere,
  // and the processes share one token bucket per API host: 10 requests per second, at most 2 at once after a lull.
  const [id = '', api = '', redisUrl = ''] = process.argv.slice(3);
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  const rw = createRatewise({
    store: redisStore(redis, { prefix: 'ratewise-example:' }),
    budgets: { [new URL(api).host]: { rate: '10/s', burst: 2 } },
  });
  // Should Redis fail or answer too slowly (250 ms), each worker goes on alone with the same local budget.
  rw.on('storeError', ({ error }) => {
    console.error(`worker ${id}: Redis unavailable, deciding locally: ${String(error)}`);
  });

  const responses = await Promise.all(
    Array.from({ length: REQUESTS_PER_WORKER }, (_, i) => rw.fetch(`${api}/items/${i}?worker=${id}`)),
  );
  await Promise.all(responses.map((response) => response.arrayBuffer()));
  const succeeded = responses.filter((response) => response.ok).length;
  console.log(`worker ${id}: ${succeeded} of ${REQUESTS_PER_WORKER} requests succeeded`);
  await rw.close();
  await redis.close();
} else {
  // The demo around the workers: a Redis, an API, and the two worker processes, started at once.
  const redis = await redisForTheExample();
  const api = await startApi();
  console.log('budget: 10/s, burst 2, shared through Redis by 2 worker processes');
  const run = promisify(execFile);
  const script = fileURLToPath(import.meta.url);
  const workers = await Promise.all(
    ['1', '2'].map((id) => run(process.execPath, [...process.execArgv, script, 'worker', id, api.origin, redis.url])),
  );
  for (const { stdout } of workers) process.stdout.write(stdout);
  console.log(`together: ${api.requests()} requests, ${api.refused()} refused by the API`);
  console.log(`the API saw them over ${(api.spanMs() / 1000).toFixed(1)} s: one budget of 10/s for both workers`);
  api.close();
  redis.stop();
}

interface Api {
  readonly origin: string;
  requests(): number;
  refused(): number;
  /** From the first request to the last. */
  spanMs(): number;
  close(): void;
}

/**
 * A stand-in API that allows 10 requests per second with bursts of up to 4 (a token bucket: two requests more than
 * the workers' budget, for arrival jitter: a busy machine may send a request up to 200 ms after the instant Redis
 * named for it, and the next one on time) and refuses anything beyond with 429.
 */
async function startApi(): Promise<Api> {
  let tokens = 4;
  let refilledAt = performance.now();
  let requests = 0;
  let refused = 0;
  let firstAt = 0;
  let lastAt = 0;
  const server = createServer((_req, res) => {
    const now = performance.now();
    tokens = Math.min(4, tokens + ((now - refilledAt) * 10) / 1000);
    refilledAt = now;
    if (requests++ === 0) firstAt = now;
    lastAt = now;
    if (tokens < 1) {
      refused++;
      res.writeHead(429, { 'retry-after': '1' }).end();
      return;
    }
    tokens--;
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    refused: () => refused,
    spanMs: () => lastAt - firstAt,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** The Redis at REDIS_URL, or a `redis-server` of our own on a free loopback port (stopped at the end). */
async function redisForTheExample(): Promise<{ url: string; stop(): void }> {
  const url = process.env.REDIS_URL;
  if (url) return { url, stop: () => undefined };
  // A port nothing listens on: redis-server cannot be asked for port 0.
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');

  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const server = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const stop = (): void => {
    server.kill();
  };
  process.once('exit', stop); // should the example fail, its Redis does not outlive it
  let log = '';
  // Read to the end (a full pipe would block it), keeping the tail for an error message.
  server.stdout.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4096)));
  try {
    await new Promise<void>((resolve, reject) => {
      const ready = (): void => {
        if (log.includes('Ready to accept connections')) resolve();
      };
      server.stdout.on('data', ready);
      server.once('error', reject);
      server.once('exit', () => {
        reject(new Error(`redis-server exited before it was ready: ${log.trim()}`));
      });
    });
  } catch (error) {
    console.error(`This example needs Redis: set REDIS_URL, or install redis-server (apt-get install redis-server).`);
    console.error(String(error));
    process.exit(1);
  }
  return { url: `redis://127.0.0.1:${port}`, stop };
}
