// The soak run, in its own process so that it can run with --expose-gc: `calls` rw.fetch calls through an in-process
// fetch (a 200, or now and then a 429 with retry-after: 0), in batches, all sharing one long-lived AbortSignal.
// Prints one JSON line with the heap before and after, the signal's abort listeners and what rw.stats() shows.
import { getEventListeners } from 'node:events';
import { createRatewise } from '../../../src/index.js';

const calls = Number(process.argv[2] ?? 1_000_000);
const batch = Number(process.argv[3] ?? 250);
const gc = (globalThis as { gc?: () => void }).gc;

let answered = 0;
const rw = createRatewise({
  loopGuard: false,
  // Fewer slots than a batch: requests wait in the queue, each with its listener on the shared signal.
  budgets: { '*': { concurrency: 100 } },
  fetch: () => {
    answered++;
    const response =
      answered % 1000 === 0
        ? new Response(null, { status: 429, headers: { 'retry-after': '0' } })
        : new Response(null, { status: 200 });
    return Promise.resolve(response);
  },
});
let queued = 0;
rw.on('queued', () => {
  queued++;
});
const controller = new AbortController();
const { signal } = controller;

let settled = 0;
let failed = 0;
async function runBatch(offset: number, size: number): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let i = 0; i < size; i++) {
    pending.push(
      rw.fetch(`http://soak.invalid/item/${(offset + i) % 1000}`, { signal }).then(
        () => {
          settled++;
        },
        () => {
          settled++;
          failed++;
        },
      ),
    );
  }
  await Promise.all(pending);
}

function heap(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

const started = Date.now();
await runBatch(0, batch); // warm-up: code paths compiled, the budget made
const heapBefore = heap();
for (let done = batch; done < calls; done += batch) await runBatch(done, Math.min(batch, calls - done));
const heapAfter = heap();
const stats = rw.stats();
await rw.close();
console.log(
  JSON.stringify({
    calls,
    settled,
    failed,
    answered,
    ms: Date.now() - started,
    gc: gc !== undefined,
    heapBefore,
    heapAfter,
    batch,
    /** Calls that waited in the queue, each with a listener on the shared signal while it waited. */
    queuedEvents: queued,
    listeners: getEventListeners(signal, 'abort').length,
    queued: stats.reduce((n, s) => n + s.queued, 0),
    inFlight: stats.reduce((n, s) => n + s.inFlight, 0),
    budgets: stats.length,
  }),
);
