// Section: what ratewise's scheduler adds to a task when nothing limits it, next to a bare Promise.all and the
// usual queue libraries; then with a concurrency cap.
import { runProbe } from '../child.js';
import { compileRatewise } from '../compiled.js';
import { formatInteger, formatRange, median, pairedRatio } from '../measure.js';
import type { RunContext, Section, SectionResult } from '../report.js';
import type { CaseId, CaseTimings, SchedulingInput, SchedulingOutput } from './scheduling-probe.js';

/** rw.schedule may cost at most this many times a bare Promise.all. */
const TARGET_VS_PROMISE_ALL = 1.5;
/** p-queue should cost at least this many times rw.schedule, with and without a concurrency cap. */
const TARGET_P_QUEUE_OVER_RATEWISE = 3;
/** rw.fetch may add at most this many µs per call to the no-op fetch (the batched cases). */
const TARGET_FETCH_EXTRA_MICROS = 3;

const LABELS: Readonly<Record<CaseId, string>> = {
  'promise-all': 'bare `Promise.all(tasks.map((t) => t()))`',
  'rw-schedule': 'ratewise `rw.schedule(t)` (tsc build)',
  'rw-schedule-new': 'ratewise `rw.schedule(t)` on a new client each run (tsc build)',
  'rw-schedule-tsx': 'ratewise `rw.schedule(t)`, src through tsx',
  'p-queue': 'p-queue `queue.add(t)`',
  'p-throttle': 'p-throttle `throttled(t)`',
  bottleneck: 'bottleneck `limiter.schedule(t)`',
  'fetch-bare': 'no-op fetch, all at once, one URL',
  'rw-fetch': 'ratewise `rw.fetch(url)` over the no-op fetch, all at once on a new client, one URL, no loop guard',
  'fetch-bare-batched': 'no-op fetch, 100 at a time, a URL each',
  'rw-fetch-batched': 'ratewise `rw.fetch(url)` over the no-op fetch, 100 at a time, a URL each, default options',
  'rw-schedule-c8': 'ratewise `rw.schedule(t)` (tsc build)',
  'p-queue-c8': 'p-queue `queue.add(t)`',
  'bottleneck-c8': 'bottleneck `limiter.schedule(t)`',
};

const met = (ok: boolean): string => (ok ? 'met' : 'not met');

async function run({ quick }: RunContext): Promise<SectionResult> {
  const compiled = compileRatewise();
  let output: SchedulingOutput;
  try {
    const input: SchedulingInput = { quick, build: compiled.dir };
    output = await runProbe<SchedulingOutput>(new URL('./scheduling-probe.ts', import.meta.url), input);
  } finally {
    compiled.dispose();
  }
  const byId = new Map(output.cases.map((c) => [c.id, c]));
  const get = (id: CaseId): CaseTimings => {
    const c = byId.get(id);
    if (c === undefined) throw new Error(`scheduling probe returned no ${id} case`);
    return c;
  };
  const base = get('promise-all').microsPerTask;
  const ratio = (id: CaseId, over: CaseId | readonly number[]): number =>
    pairedRatio(get(id).microsPerTask, typeof over === 'string' ? get(over).microsPerTask : over);

  const rows = output.cases.map((c) => [
    c.id.endsWith('-c8') ? String(output.concurrency) : c.id.endsWith('-batched') ? String(output.batch) : 'unlimited',
    LABELS[c.id],
    formatInteger(c.tasks),
    median(c.microsPerTask).toFixed(3),
    formatRange(c.microsPerTask, 3),
    ratio(c.id, base).toFixed(2),
  ]);

  const vsPromiseAll = ratio('rw-schedule', base);
  const pQueueOver = ratio('p-queue', 'rw-schedule');
  const pQueueOverCapped = ratio('p-queue-c8', 'rw-schedule-c8');
  /** The median over rounds of what `id` costs per call beyond `over` in the same round, in µs. */
  const extra = (id: CaseId, over: CaseId): number =>
    median(get(id).microsPerTask.map((micros, round) => micros - get(over).microsPerTask[round]!));
  const fetchExtra = extra('rw-fetch-batched', 'fetch-bare-batched');
  const fetchAtOnceExtra = extra('rw-fetch', 'fetch-bare');
  const tsxOverBuild = ratio('rw-schedule-tsx', 'rw-schedule');
  const newClient = ratio('rw-schedule-new', base);
  return {
    description:
      'N no-op async tasks started in one synchronous loop and awaited with `Promise.all`, through each runner: ' +
      "ratewise's `rw.schedule` with an unlimited `'*'` budget, `rw.fetch` over a no-op `fetch` " +
      '(`() => Promise.resolve(new Response(null))`), p-queue (`new PQueue()`), p-throttle (a limit no run reaches) ' +
      'and bottleneck (`new Bottleneck()`); then with a concurrency cap for the runners that have one. `rw.fetch` is ' +
      `timed twice: ${output.batch} calls at a time, each to its own URL with a query, on a client with default ` +
      'options already warmed up (its budget past its first rounds, its loop guard full); and all calls at once on one ' +
      'URL, on a new client. ' +
      'Each runner is made once, outside the timing, and serves every run of its case, as an application keeps ' +
      'its client or queue; the `rw.fetch` cases and the new-client row make one per run. Each run calls `gc()` ' +
      `and times the whole batch; ${output.rounds} rounds after ` +
      `${output.warmRounds} untimed ones (so that each runner is timed as its optimised code), every runner once per ` +
      'round, round-robin, in a child process. µs/task is the median over rounds; ' +
      '× Promise.all is the median of the per-round ratios to the bare `Promise.all` of the same round.',
    columns: ['Concurrency', 'Runner', 'Tasks per run', 'µs/task (median)', 'µs/task (min–max)', '× Promise.all'],
    rows,
    notes: [
      `Target: \`rw.schedule\` within ${TARGET_VS_PROMISE_ALL}× a bare \`Promise.all\`: ` +
        `${vsPromiseAll.toFixed(2)}× (${met(vsPromiseAll <= TARGET_VS_PROMISE_ALL)}).`,
      `Target: p-queue ÷ ratewise ≥ ${TARGET_P_QUEUE_OVER_RATEWISE}×: ${pQueueOver.toFixed(2)}× unlimited ` +
        `(${met(pQueueOver >= TARGET_P_QUEUE_OVER_RATEWISE)}), ${pQueueOverCapped.toFixed(2)}× with concurrency ` +
        `${output.concurrency} (${met(pQueueOverCapped >= TARGET_P_QUEUE_OVER_RATEWISE)}).`,
      `Target: \`rw.fetch\` adds at most ${TARGET_FETCH_EXTRA_MICROS} µs per call to the no-op fetch, ` +
        `${output.batch} at a time with default options: ${fetchExtra.toFixed(3)} µs ` +
        `(${met(fetchExtra <= TARGET_FETCH_EXTRA_MICROS)}; median of per-round differences).`,
      `All at once on a new client, \`rw.fetch\` adds ${fetchAtOnceExtra.toFixed(3)} µs per call: the budget's ` +
        'first round goes at once and the rest waits in its queue for the answers (a quota the server does not ' +
        'describe is discovered by rounds that double), so nearly every call takes the queued path. The loop guard ' +
        'is off there (it would not flag these concurrent calls).',
      `On a new client each run, \`rw.schedule\` costs ${newClient.toFixed(2)}× \`Promise.all\`: the \`gc()\` ` +
        'before a run collects the previous client, and with its last objects V8 drops their hidden classes and the ' +
        'code optimised for them, so each run starts in code not yet optimised for its new client.',
      `ratewise is timed as \`tsc\` emits it (bench/compiled.ts), each case with a copy of the build of its own, as ` +
        'an application making only those calls would run it (one build shared by every case made its hot functions ' +
        'polymorphic, each case timed with the others’ type feedback). Loaded from src through tsx, whose esbuild ' +
        `\`keepNames\` adds a \`__name()\` call and a property array to every closure made, it costs ` +
        `${tsxOverBuild.toFixed(2)}× as much.`,
      `bottleneck runs ${formatInteger(get('bottleneck').tasks)} tasks per run: its default mode waits on a timer ` +
        'for each job, so its cost per task is mostly latency, not CPU.',
    ],
  };
}

export const scheduling: Section = {
  id: 'scheduling',
  title: 'Scheduling overhead',
  peers: ['p-queue', 'p-throttle', 'bottleneck', 'tsx'],
  run,
};
