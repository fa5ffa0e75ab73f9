// Section: what ratewise's scheduler adds to a task when nothing limits it, next to a bare Promise.all and the
// usual queue libraries; then with a concurrency cap.
import { runProbe } from '../child.js';
import { compileRatewise } from '../compiled.js';
import { formatInteger, formatRange, median, pairedRatio } from '../measure.js';
import type { RunContext, Section, SectionResult } from '../report.js';
import type { CaseId, CaseTimings, SchedulingInput, SchedulingOutput } from './scheduling-probe.js';

/** rw.schedule may cost at most this many times a bare Promise.all. */
const TARGET_VS_PROMISE_ALL = 2;
/** p-queue should cost at least this many times rw.schedule. */
const TARGET_P_QUEUE_OVER_RATEWISE = 3;

const LABELS: Readonly<Record<CaseId, string>> = {
  'promise-all': 'bare `Promise.all(tasks.map((t) => t()))`',
  'rw-schedule': 'ratewise `rw.schedule(t)` (tsc build)',
  'rw-schedule-tsx': 'ratewise `rw.schedule(t)`, src through tsx',
  'p-queue': 'p-queue `queue.add(t)`',
  'p-throttle': 'p-throttle `throttled(t)`',
  bottleneck: 'bottleneck `limiter.schedule(t)`',
  'fetch-bare': 'no-op fetch, bare `Promise.all`',
  'rw-fetch': 'ratewise `rw.fetch(url)` over the no-op fetch',
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
    c.id.endsWith('-c8') ? String(output.concurrency) : 'unlimited',
    LABELS[c.id],
    formatInteger(c.tasks),
    median(c.microsPerTask).toFixed(3),
    formatRange(c.microsPerTask, 3),
    ratio(c.id, base).toFixed(2),
  ]);

  const vsPromiseAll = ratio('rw-schedule', base);
  const pQueueOver = ratio('p-queue', 'rw-schedule');
  const pQueueOverCapped = ratio('p-queue-c8', 'rw-schedule-c8');
  const fetchExtra = median(
    get('rw-fetch').microsPerTask.map((micros, round) => micros - get('fetch-bare').microsPerTask[round]!),
  );
  const tsxOverBuild = ratio('rw-schedule-tsx', 'rw-schedule');
  return {
    description:
      'N no-op async tasks started in one synchronous loop and awaited with `Promise.all`, through each runner: ' +
      "ratewise's `rw.schedule` with an unlimited `'*'` budget, `rw.fetch` over a no-op `fetch` " +
      '(`() => Promise.resolve(new Response(null))`) on one URL, p-queue (`new PQueue()`), p-throttle (a limit no run reaches) ' +
      'and bottleneck (`new Bottleneck()`); then with a concurrency cap for the runners that have one. ' +
      `Each run builds a fresh runner, calls \`gc()\` and times the whole batch; ${output.rounds} rounds after a ` +
      'warm-up, every runner once per round, round-robin, in a child process. µs/task is the median over rounds; ' +
      '× Promise.all is the median of the per-round ratios to the bare `Promise.all` of the same round.',
    columns: ['Concurrency', 'Runner', 'Tasks per run', 'µs/task (median)', 'µs/task (min–max)', '× Promise.all'],
    rows,
    notes: [
      `Target: \`rw.schedule\` within ${TARGET_VS_PROMISE_ALL}× a bare \`Promise.all\`: ` +
        `${vsPromiseAll.toFixed(2)}× (${met(vsPromiseAll <= TARGET_VS_PROMISE_ALL)}).`,
      `Target: p-queue ÷ ratewise ≥ ${TARGET_P_QUEUE_OVER_RATEWISE}×: ${pQueueOver.toFixed(2)}× unlimited ` +
        `(${met(pQueueOver >= TARGET_P_QUEUE_OVER_RATEWISE)}), ${pQueueOverCapped.toFixed(2)}× with concurrency ` +
        `${output.concurrency} (${met(pQueueOverCapped >= TARGET_P_QUEUE_OVER_RATEWISE)}).`,
      `\`rw.fetch\` adds ${fetchExtra.toFixed(3)} µs per call to the no-op fetch (median of per-round ` +
        'differences). A new budget sends one request alone until the first answer, and the whole batch is issued ' +
        'before that answer comes, so nearly every call takes the queued path (with no rate-limit fields in the ' +
        'answers, the budget then grows by one request in flight per answer). The loop guard is off, so that the ' +
        'figure is the engine alone (it would not flag these calls: they are concurrent, not one after another).',
      `ratewise is timed as \`tsc\` emits it (bench/compiled.ts). Loaded from src through tsx, whose esbuild ` +
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
