// Per-host budgets: one API gets its own local rate and concurrency cap by exact host and port, every other host
// falls back to `*`. Two small APIs on 127.0.0.1 stand in for the real ones. Run: npx tsx examples/per-host-budgets.ts
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRatewise } from 'ratewise';

/** A stand-in API: answers every request after 20 ms and remembers how many it held at once. */
async function startApi(): Promise<{ host: string; origin: string; peak: () => number; close: () => void }> {
  let inFlight = 0;
  let peak = 0;
  const server = createServer((_req, res) => {
    peak = Math.max(peak, ++inFlight);
    setTimeout(() => {
      inFlight--;
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    }, 20);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    origin: `http://${host}`,
    peak: () => peak,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const search = await startApi();
const other = await startApi();

const rw = createRatewise({
  budgets: {
    // An exact host, port included: 10 requests per second (a burst of 10, then one every 100 ms), 2 at a time.
    [search.host]: { rate: '10/s', concurrency: 2 },
    // Every other host: no local rate, at most 4 at a time.
    '*': { concurrency: 4 },
  },
});

/** Sends `count` GETs to `origin` at once and waits for every body. */
async function send(origin: string, count: number): Promise<number> {
  const responses = await Promise.all(Array.from({ length: count }, (_, i) => rw.fetch(`${origin}/items/${i}`)));
  await Promise.all(responses.map((response) => response.arrayBuffer()));
  return responses.filter((response) => response.ok).length;
}

const startedAt = Date.now();
const [searchOk, otherOk] = await Promise.all([send(search.origin, 20), send(other.origin, 20)]);
const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);

console.log(`search (${search.host}): ${searchOk} of 20 succeeded, at most ${search.peak()} at once`);
console.log(`other (${other.host}): ${otherOk} of 20 succeeded, at most ${other.peak()} at once`);
for (const budget of rw.stats()) {
  console.log(`budget ${budget.key} uses pattern '${budget.pattern}': sent ${budget.counters.sent}`);
}
console.log(`done in ${seconds} s (the 10/s rate of search sets the pace)`);

await rw.close();
search.close();
other.close();
