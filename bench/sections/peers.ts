// Section: the workload "N requests at once, all must succeed" against real rate-limited servers, sent through
// ratewise and through the retry and limiter libraries users reach for, each configured as its users would.
import { runTogether } from '../child.js';
import { compileRatewise } from '../compiled.js';
import { formatInteger } from '../measure.js';
import type { RunContext, Section, SectionResult } from '../report.js';
import { clients, serverKinds, type Shape } from './peers-cases.js';
import type { PeersInput, PeersOutput } from './peers-probe.js';

const PROBE = new URL('./peers-probe.ts', import.meta.url);

/** Runs one pair per input, each in its own process, all started together; results in input order. */
function runPairs(inputs: readonly PeersInput[]): Promise<PeersOutput[]> {
  return runTogether<PeersOutput>(PROBE, inputs);
}

const percent = (fraction: number | null): string =>
  fraction === null || Number.isNaN(fraction) ? '–' : `${(fraction * 100).toFixed(1)}%`;

async function run({ quick }: RunContext): Promise<SectionResult> {
  const shape: Shape = quick
    ? { limit: 20, windowMs: 1_000, requests: 60, deadlineMs: 8_000 }
    : { limit: 50, windowMs: 2_000, requests: 300, deadlineMs: 60_000 };
  const kinds = serverKinds.filter((kind) => !quick || kind.quick);
  const compiled = compileRatewise();
  const rows: string[][] = [];
  const clean = new Set<string>();
  let pairs = 0;
  let cleanPairs = 0;
  let loopDelayP99Ms = 0;
  let loopDelayMaxMs = 0;
  try {
    // The pairs of one batch run at the same time, each in its own process against its own server, started
    // together once all are loaded: one batch per server kind, or a single batch in a quick run.
    const batches = quick ? [kinds] : kinds.map((kind) => [kind]);
    for (const batch of batches) {
      const pairsOfBatch = batch.flatMap((kind) => clients.map((client) => ({ kind, client })));
      const outputs = await runPairs(
        pairsOfBatch.map(({ kind, client }) => ({ server: kind.id, client: client.id, shape, build: compiled.dir })),
      );
      for (const [index, r] of outputs.entries()) {
        const { kind, client } = pairsOfBatch[index]!;
        pairs++;
        if (r.successes === shape.requests && r.rejected === 0) {
          cleanPairs++;
          clean.add(client.label);
        }
        loopDelayP99Ms = Math.max(loopDelayP99Ms, r.loopDelayP99Ms);
        loopDelayMaxMs = Math.max(loopDelayMaxMs, r.loopDelayMaxMs);
        rows.push([
          kind.label,
          client.label,
          r.cutOff ? `> ${(shape.deadlineMs / 1_000).toFixed(2)}` : (r.wallMs / 1_000).toFixed(2),
          formatInteger(r.successes),
          formatInteger(shape.requests - r.successes),
          r.failures.length === 0
            ? '–'
            : r.failures.map(([cause, count]) => `${cause}: ${formatInteger(count)}`).join(', '),
          formatInteger(r.rejected),
          formatInteger(r.sent),
          // JSON turns NaN into null.
          percent(r.goodput),
        ]);
      }
    }
  } finally {
    compiled.dispose();
  }
  const allowed = `${formatInteger(shape.limit)} requests per ${String(shape.windowMs / 1_000)} s`;
  const deadline = `${String(shape.deadlineMs / 1_000)} s`;
  return {
    description:
      `${formatInteger(shape.requests)} GET requests started at once, all of which must succeed, each response body ` +
      `read, against a real rate-limited server on 127.0.0.1 allowing ${allowed}. Each pair of server and client ` +
      'runs once, in its own child process with its own fresh server. Each client is configured as its users ' +
      'would: ratewise with no rate set (tsc build), the retrying clients with their retry option and a limit of 10, ' +
      "the limiters by hand from the server's documented rate, over plain `fetch` (no retry). 429s and requests " +
      "sent are the server's counts.",
    columns: [
      'Server',
      'Client',
      'Wall s',
      'Successes',
      'Failed calls',
      'Failures by cause',
      '429s',
      'Requests sent',
      'Goodput (full windows)',
    ],
    rows,
    notes: [
      `Pairs with every call a success and no 429: ${String(cleanPairs)} of ` +
        `${String(pairs)} (clients: ${[...clean].join('; ') || 'none'}).`,
      'Failed calls: calls that did not end in a 2xx response. By cause: the status of the last response (a ' +
        'retrying client that spent its 10 retries, or a limiter over plain fetch that let a request through too ' +
        `early), or "cut off" when the run was still going ${deadline} after it started: its calls are then ` +
        'aborted and the wall time reads "> deadline". Exponential backoff with no Retry-After to go by waits ' +
        'minutes by its 10th retry.',
      'Goodput (full windows) = requests accepted before the last window opened ÷ (allowed rate × time from the ' +
        "first window's opening to the last's), the goodput section's formula: 100% for a client that fills each " +
        "window as it opens. Windows are the server's, rebuilt from its request log (both express-rate-limit's " +
        "memory store and @fastify/rate-limit's local store open a window at the first request after the previous " +
        'one ended). A client cut off at the deadline, or whose calls failed, is scored on what it got through.',
      'ky, axios-retry and got honour `Retry-After` on a 429 (ky also reads `RateLimit-Reset` and ' +
        '`X-RateLimit-Reset`); with no headers they fall back to exponential backoff (n the retry number: ky ' +
        '0.3 s × 2ⁿ⁻¹, axios-retry 0.1 s × 2ⁿ + up to 20%, got 1 s × 2ⁿ⁻¹ + up to 0.1 s). express-rate-limit sends ' +
        '`Retry-After` only when it sends other rate-limit headers too.',
      'bottleneck and p-queue know the rate but not the window: their intervals start at the client, the ' +
        "server's at the first request it receives, so a refill can land a few ms before the server's window ends.",
      (quick
        ? `All ${String(pairs)} pairs run at the same time, `
        : `The ${String(clients.length)} clients of one server kind run at the same time (server kinds one after ` +
          'another), ') +
        'each in its own process, started together once all are loaded: the processes share the cores, but no ' +
        "pair's work holds up another's event loop. Event-loop delay inside the pairs' processes: " +
        `highest p99 ${loopDelayP99Ms.toFixed(1)} ms, highest max ${loopDelayMaxMs.toFixed(1)} ms.`,
      'ky 1.x and got 14.x are the last majors that run on Node 20 (ky 2 and got 15+ need Node 22).',
    ],
  };
}

export const peers: Section = {
  id: 'peers',
  title: 'All requests must succeed: ratewise and the retry/limiter libraries against real servers',
  peers: [
    'axios',
    'axios-retry',
    'bottleneck',
    'express',
    'express-rate-limit',
    'fastify',
    '@fastify/rate-limit',
    'got',
    'ky',
    'p-queue',
  ],
  run,
};
