// Section: heap held per queued call and per idle budget, and whether `maxBudgets` bounds the budgets kept.
import { runProbe } from '../child.js';
import { compileRatewise } from '../compiled.js';
import { formatInteger } from '../measure.js';
import type { RunContext, Section, SectionResult } from '../report.js';
import type { EvictionRun, MemoryInput, MemoryOutput, QueuedCost } from './memory-probe.js';

/** Net heap per queued call, in bytes. */
const TARGET_NET_BYTES = 300;

const net = (q: QueuedCost): number => q.rawBytes - q.baselineBytes;
const bytes = (value: number): string => formatInteger(value);

function evictionRow(label: string, run: EvictionRun): string[] {
  return [
    `${label}, \`maxBudgets: ${formatInteger(run.maxBudgets)}\``,
    `${formatInteger(run.keys)} keys`,
    // Heap growth at the end over the budgets kept: about one idle budget each when the bound holds.
    run.end > 0 ? bytes(run.heapBytes / run.end) : '–',
    run.microsPerKey.toFixed(2),
    `${formatInteger(run.peak)} / ${formatInteger(run.end)}`,
  ];
}

async function run({ quick }: RunContext): Promise<SectionResult> {
  const compiled = compileRatewise();
  let output: MemoryOutput;
  try {
    const input: MemoryInput = { quick, build: compiled.dir };
    // A million queued calls take well over a GiB: room to spare above the default old space.
    output = await runProbe<MemoryOutput>(new URL('./memory-probe.ts', import.meta.url), input, [
      '--max-old-space-size=6144',
    ]);
  } finally {
    compiled.dispose();
  }
  const { queued, queuedFromSource, idle, evictionBatched, evictionBurst } = output;
  const over = (q: QueuedCost) => `${formatInteger(q.calls)} over ${formatInteger(q.keys)} keys`;
  const rows = [
    [
      'Queued `rw.schedule` call, raw heap growth',
      over(queued),
      bytes(queued.rawBytes),
      queued.microsPerCall.toFixed(2),
      '–',
    ],
    ["Caller's own pending promise (baseline)", formatInteger(queued.calls), bytes(queued.baselineBytes), '–', '–'],
    ['Queued call, net of the baseline', over(queued), bytes(net(queued)), '–', '–'],
    [
      'Queued call, net, src through tsx',
      over(queuedFromSource),
      bytes(net(queuedFromSource)),
      queuedFromSource.microsPerCall.toFixed(2),
      '–',
    ],
    ['Idle budget, no local rate', formatInteger(idle.budgets), bytes(idle.bytesNoRate), '–', '–'],
    ["Idle budget, `rate: '10/s'`", formatInteger(idle.budgets), bytes(idle.bytesWithRate), '–', '–'],
    evictionRow(`Distinct keys, ${formatInteger(evictionBatched.batch)} in flight at a time`, evictionBatched),
    evictionRow('Distinct keys, all in flight at once', evictionBurst),
  ];
  const netBytes = net(queued);
  return {
    description:
      `Heap held, measured as \`process.memoryUsage().heapUsed\` around \`gc()\` in a child process. Queued calls: ` +
      `${formatInteger(queued.calls)} \`rw.schedule(noop, { key })\` calls over ${formatInteger(queued.keys)} keys ` +
      "whose budgets cannot run (`budgets: { '*': { rate: '1/hour', burst: 1 } }`; each key first gets one call that " +
      'runs and one that queues, so the figure is the cost of one more queued call), the promises kept in an array ' +
      'allocated beforehand. Raw is heap growth ÷ calls; the baseline is the same loop storing a pending ' +
      '`new Promise()`, what any promise-returning API costs its caller; net is raw − baseline. Idle budgets: ' +
      'heap growth ÷ budgets after one call on each of that many new keys. Eviction: distinct keys touched under ' +
      '`maxBudgets`; bytes each is the heap growth at the end ÷ the budgets still listed.',
    columns: ['Measurement', 'Items', 'Bytes each', 'µs each', 'Budgets listed (peak / end)'],
    rows,
    notes: [
      `Target: ≤ ${TARGET_NET_BYTES} bytes net per queued call: ${bytes(netBytes)} ` +
        `(${netBytes <= TARGET_NET_BYTES ? 'met' : 'not met'}).`,
      `\`rw.close()\` settled ${formatInteger(queued.closed)} of the ${formatInteger(queued.waiting)} waiting ` +
        `calls with ClosedError${queued.closed === queued.waiting ? '' : ' (some calls settled otherwise)'}.`,
      `With ${formatInteger(evictionBatched.batch)} calls in flight at a time, \`rw.stats().length\` never went ` +
        `above ${formatInteger(evictionBatched.peak)} for a bound of ${formatInteger(evictionBatched.maxBudgets)}.`,
      evictionBurst.peak > evictionBurst.maxBudgets
        ? `All at once, every budget is busy and none may be evicted: \`rw.stats()\` listed ` +
          `${formatInteger(evictionBurst.peak)} budgets at the peak and ${formatInteger(evictionBurst.end)} once ` +
          'every call had settled (idle budgets over the bound go when the next new key arrives). Each new key past ' +
          'the bound scans every busy budget, hence the time per key: ' +
          `${evictionBurst.microsPerKey.toFixed(2)} µs against ${evictionBatched.microsPerKey.toFixed(2)} µs ` +
          'in batches.'
        : `All at once, \`rw.stats()\` listed ${formatInteger(evictionBurst.peak)} budgets at the peak for ` +
          `${formatInteger(evictionBurst.keys)} calls in flight, and ${formatInteger(evictionBurst.end)} at the end.`,
      'ratewise is measured as `tsc` emits it (bench/compiled.ts); the tsx row shows what esbuild `keepNames` adds ' +
        'to every closure when src is run directly.',
    ],
  };
}

export const memory: Section = {
  id: 'memory',
  title: 'Memory per queued call and per budget',
  peers: ['tsx'],
  run,
};
