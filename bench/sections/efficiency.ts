// Section: "as fast as the server allows" (issue 13). N calls at once against real servers that throttle in every
// way the issue lists, through ratewise's three front doors and the retrying clients users reach for, scored by
// efficiency: the fastest finish the server's policy allows ÷ the wall time.
import { runTogether } from '../child.js';
import { compileRatewise } from '../compiled.js';
import { fastestFinishMs } from '../efficiency.js';
import { formatInteger, median } from '../measure.js';
import type { RunContext, Section, SectionResult } from '../report.js';
import { flaskLimiterVersions } from '../../test/support/flask-limiter.js';
import { clientsOf, efficiencyKinds } from './efficiency-cases.js';
import type { EfficiencyClient, EfficiencyKind, EfficiencyShape, TargetGroup } from './efficiency-cases.js';
import type { EfficiencyInput, EfficiencyOutput } from './efficiency-probe.js';

const PROBE = new URL('./efficiency-probe.ts', import.meta.url);

/** Timed runs of each pair in a full run: the figures are their medians. */
const RUNS = 3;
/**
 * ratewise against the bare 429 runs this many times in all (issue 13 counts lost calls over 20 runs of 300): the
 * runs beyond the timed ones only add to the counts over all runs, and go {@link EXTRA_AT_ONCE} at a time to keep
 * the section short.
 */
const BARE_429_RATEWISE_RUNS = 20;
const EXTRA_AT_ONCE = 2;

function extraRunsOf(kind: EfficiencyKind, ratewise: boolean, quick: boolean): number {
  return !quick && kind.target === 'bare-429' && ratewise ? BARE_429_RATEWISE_RUNS - RUNS : 0;
}

/** One row: a server kind, a client, and every run of that pair. */
interface Row {
  readonly kind: EfficiencyKind;
  readonly shape: EfficiencyShape;
  readonly client: EfficiencyClient;
  /** The timed runs, each alone with its group. */
  readonly runs: EfficiencyOutput[];
  /** Further runs, counted for lost and cut-off calls and the worst window only. */
  readonly extraRuns: EfficiencyOutput[];
}

/** A row's figures: medians over its timed runs; lost and cut-off calls and the worst window over all its runs. */
interface Figures {
  readonly wallMs: number;
  readonly efficiency: number | undefined;
  readonly refused: number;
  readonly refusedAfterFirstAnswer: number;
  readonly refusedAfterFirstAnswerServer: number;
  /** Median over runs of refusals ÷ successes. */
  readonly refusedPerSuccess: number;
  readonly lost: number;
  readonly cutOff: number;
  readonly sent: number;
  /** The most refusals in one window from the third on, over every run; `undefined` if the server counts none. */
  readonly lateMaxRefused: number | undefined;
  /** Whether a timed run ended with calls lost or cut off: they end early, so the wall time flatters the client. */
  readonly incomplete: boolean;
}

function figuresOf({ shape, runs, extraRuns }: Row): Figures {
  const all = [...runs, ...extraRuns];
  const wallMs = median(runs.map((run) => run.wallMs));
  const fastest = shape.policy === undefined ? 0 : fastestFinishMs(shape.requests, shape.policy);
  const late = all.flatMap((run) => (run.lateWindows === undefined ? [] : [run.lateWindows.maxRefused]));
  return {
    wallMs,
    efficiency: fastest === 0 ? undefined : fastest / wallMs,
    refused: median(runs.map((run) => run.refused)),
    refusedAfterFirstAnswer: median(runs.map((run) => run.refusedAfterFirstAnswer)),
    refusedAfterFirstAnswerServer: median(runs.map((run) => run.refusedAfterFirstAnswerServer)),
    refusedPerSuccess: median(runs.map((run) => (run.successes === 0 ? Infinity : run.refused / run.successes))),
    lost: all.reduce((sum, run) => sum + run.lost, 0),
    cutOff: all.reduce((sum, run) => sum + run.cutOff, 0),
    sent: median(runs.map((run) => run.sent)),
    lateMaxRefused: late.length === 0 ? undefined : Math.max(...late),
    incomplete: runs.some((run) => run.lost > 0 || run.cutOff > 0),
  };
}

const seconds = (ms: number): string => (ms / 1_000).toFixed(2);
const ratio = (value: number | undefined): string => (value === undefined ? '–' : value.toFixed(2));
/** A median of whole counts may fall between two. */
const count = (value: number): string => (Number.isInteger(value) ? formatInteger(value) : value.toFixed(1));

/** One of issue 13's figures: its words, and whether the rows it covers meet it. */
interface Target {
  readonly group: TargetGroup;
  readonly text: string;
  judge(rows: readonly Row[], all: readonly Row[]): { readonly met: boolean; readonly figures: string };
}

function worst(rows: readonly Row[], pick: (figures: Figures) => number, lowest: boolean): number {
  const values = rows.map((row) => pick(figuresOf(row)));
  return lowest ? Math.min(...values) : Math.max(...values);
}

const lowestEfficiency = (rows: readonly Row[]) => worst(rows, (f) => f.efficiency ?? 0, true);
const mostRefusedLate = (rows: readonly Row[]) => worst(rows, (f) => f.refusedAfterFirstAnswer, false);
const mostLost = (rows: readonly Row[]) => worst(rows, (f) => f.lost, false);

function efficiencyAndLate(threshold: number) {
  return (rows: readonly Row[]) => {
    const efficiency = lowestEfficiency(rows);
    const late = mostRefusedLate(rows);
    return {
      met: efficiency >= threshold && late === 0,
      figures: `lowest efficiency ${efficiency.toFixed(2)}, at most ${count(late)} refused after the first answer`,
    };
  };
}

/** Issue 13's figures, in its words. Each is judged on the ratewise rows of its servers. */
const targets: readonly Target[] = [
  {
    group: 'headers',
    text:
      'express-rate-limit draft-6/7/8, @fastify/rate-limit: efficiency ≥ 0.95, 0 refused after the first answer, ' +
      'through `rw.fetch`, the axios adapter and global fetch',
    judge: efficiencyAndLate(0.95),
  },
  {
    group: 'flask',
    text: 'Flask-Limiter fixed and moving windows: ≥ 0.90, 0 refused after the first answer',
    judge: efficiencyAndLate(0.9),
  },
  {
    group: 'bare-429',
    text:
      'bare 429: ≥ 0.85, at most 0.1 refusals per success in all, at most one per window from the third window ' +
      'on, 0 calls lost in 20 runs of 300',
    judge: (rows) => {
      const efficiency = lowestEfficiency(rows);
      const perSuccess = worst(rows, (f) => f.refusedPerSuccess, false);
      const perWindow = worst(rows, (f) => f.lateMaxRefused ?? 0, false);
      const lost = mostLost(rows);
      const runs = Math.min(...rows.map((row) => row.runs.length + row.extraRuns.length));
      const calls = rows[0]?.shape.requests ?? 0;
      return {
        met: efficiency >= 0.85 && perSuccess <= 0.1 && perWindow <= 1 && lost === 0 && runs >= 20 && calls >= 300,
        figures:
          `lowest efficiency ${efficiency.toFixed(2)}, at most ${perSuccess.toFixed(3)} refusals per success, ` +
          `at most ${String(perWindow)} in a window from the third on, at most ${String(lost)} calls lost in ` +
          `${String(runs)} runs of ${String(calls)}`,
      };
    },
  },
  {
    group: '503',
    text: '503 + Retry-After (20 per 1 s): ≥ 0.95, 0 calls lost',
    judge: (rows) => {
      const efficiency = lowestEfficiency(rows);
      const lost = mostLost(rows);
      return {
        met: efficiency >= 0.95 && lost === 0,
        figures: `lowest efficiency ${efficiency.toFixed(2)}, at most ${String(lost)} calls lost`,
      };
    },
  },
  {
    group: 'no-limit',
    text:
      "no-limit server, 64 calls of 200 ms at once: wall time ≤ plain fetch's + two answer times (≤ 0.65 s " +
      'where plain fetch takes 0.22 s; today 2.3 s)',
    judge: (rows, all) => {
      const plain = all.find((row) => row.kind.target === 'no-limit' && row.client.id === 'fetch');
      const slowest = worst(rows, (f) => f.wallMs, false);
      if (plain === undefined) return { met: false, figures: 'plain fetch did not run' };
      const bound = figuresOf(plain).wallMs + 2 * plain.shape.answerMs;
      return {
        met: slowest <= bound,
        figures: `slowest ${seconds(slowest)} s, bound ${seconds(bound)} s (plain fetch ${seconds(figuresOf(plain).wallMs)} s)`,
      };
    },
  },
];

async function run({ quick }: RunContext): Promise<SectionResult> {
  const kinds = efficiencyKinds.filter((kind) => !quick || kind.quick);
  const python = flaskLimiterVersions();
  const compiled = compileRatewise();
  const rows: Row[] = [];
  let loopDelayP99Ms = 0;
  let loopDelayMaxMs = 0;
  try {
    for (const kind of kinds) {
      const shape = kind.shape(quick);
      const kindRows = clientsOf(kind, quick).map((client): Row => ({ kind, shape, client, runs: [], extraRuns: [] }));
      rows.push(...kindRows);
      // ratewise's pairs run together, then the peers' together, so that the peers' retry storms do not share the
      // cores with ratewise's measurement; a quick run runs all of a server's pairs at once, once.
      const groups = quick
        ? [kindRows]
        : [kindRows.filter((row) => row.client.ratewise), kindRows.filter((row) => !row.client.ratewise)];
      const batch = async (label: string, due: readonly Row[], copies: number): Promise<EfficiencyOutput[][]> => {
        // A full run takes minutes: say where it is, on stderr so that the tables on stdout stay clean.
        process.stderr.write(`efficiency: ${kind.id}, ${label}: ${due.map((row) => row.client.id).join(', ')}\n`);
        const inputs = due.flatMap((row) =>
          Array.from({ length: copies }, (): EfficiencyInput => ({
            server: kind.id,
            client: row.client.id,
            quick,
            build: compiled.dir,
          })),
        );
        const outputs = await runTogether<EfficiencyOutput>(PROBE, inputs);
        for (const output of outputs) {
          loopDelayP99Ms = Math.max(loopDelayP99Ms, output.loopDelayP99Ms);
          loopDelayMaxMs = Math.max(loopDelayMaxMs, output.loopDelayMaxMs);
        }
        return due.map((_, index) => outputs.slice(index * copies, (index + 1) * copies));
      };
      const timed = quick ? 1 : RUNS;
      for (let round = 0; round < timed; round++) {
        for (const group of groups) {
          const outputs = await batch(`run ${String(round + 1)} of ${String(timed)}`, group, 1);
          for (const [index, row] of group.entries()) row.runs.push(...outputs[index]!);
        }
      }
      for (const group of groups) {
        const extra = extraRunsOf(kind, group[0]?.client.ratewise ?? false, quick);
        for (let done = 0; done < extra; done += EXTRA_AT_ONCE) {
          const copies = Math.min(EXTRA_AT_ONCE, extra - done);
          const label = `further runs ${String(done + 1)}–${String(done + copies)} of ${String(extra)}`;
          const outputs = await batch(label, group, copies);
          for (const [index, row] of group.entries()) row.extraRuns.push(...outputs[index]!);
        }
      }
    }
  } finally {
    compiled.dispose();
  }

  const table = rows.map((row) => {
    const f = figuresOf(row);
    const causes = new Map<string, number>();
    for (const [cause, n] of [...row.runs, ...row.extraRuns].flatMap((r) => r.causes)) {
      causes.set(cause, (causes.get(cause) ?? 0) + n);
    }
    return [
      row.kind.label,
      row.client.label,
      formatInteger(row.shape.requests),
      row.extraRuns.length === 0
        ? String(row.runs.length)
        : `${String(row.runs.length)} + ${String(row.extraRuns.length)}`,
      seconds(f.wallMs),
      row.shape.policy === undefined ? '–' : seconds(fastestFinishMs(row.shape.requests, row.shape.policy)),
      f.incomplete && f.efficiency !== undefined ? `(${ratio(f.efficiency)})` : ratio(f.efficiency),
      count(f.refused),
      count(f.refusedAfterFirstAnswer),
      count(f.refusedAfterFirstAnswerServer),
      f.lateMaxRefused === undefined ? '–' : formatInteger(f.lateMaxRefused),
      causes.size === 0
        ? formatInteger(f.lost)
        : `${formatInteger(f.lost)} (${[...causes].map(([cause, n]) => `${cause}: ${formatInteger(n)}`).join(', ')})`,
      formatInteger(f.cutOff),
      count(f.sent),
    ];
  });

  const targetLines = targets.flatMap((target) => {
    const covered = rows.filter((row) => row.kind.target === target.group && row.client.ratewise);
    if (covered.length === 0) return [];
    const { met, figures } = target.judge(covered, rows);
    return [`Target: ${target.text} — ${met ? 'target met' : 'target not met'} (${figures}).`];
  });

  const deadlines = [...new Set(rows.map((row) => row.shape.deadlineMs / 1_000))].join(' or ');
  return {
    description:
      'N GET calls started at once, all of which must succeed, each response body read, against real servers ' +
      'on 127.0.0.1 that throttle in different ways: express-rate-limit and @fastify/rate-limit (headers), ' +
      'Flask-Limiter 3.3 run by Python (fixed and moving windows), a bare 429 with no headers at all, a 503 with ' +
      'only `Retry-After`, and a server that never limits but takes 200 ms per answer. The fixed windows open ' +
      'with the first request after the previous one ended. ratewise runs with no rate set (tsc build), through ' +
      '`rw.fetch`, the axios adapter and Node’s global fetch; ky, got and axios-retry with a retry limit of 10 ' +
      '(retrying 429), plain fetch only against the server that never limits. Each pair runs in its own process ' +
      "against its own fresh server; a server kind's ratewise pairs run at the same time, then its peers'. " +
      (quick
        ? 'Quick run: fewer servers and clients, smaller N, one run, every pair of a server at the same time: ' +
          'indicative only.'
        : `Figures are medians of ${String(RUNS)} timed runs. ratewise against the bare 429 runs ` +
          `${String(BARE_429_RATEWISE_RUNS - RUNS)} more times, ${String(EXTRA_AT_ONCE)} runs of each pair at a ` +
          'time (Runs: timed + further); those count only for calls lost and cut off and the worst window, which ' +
          'are over all runs. An efficiency in parentheses: a timed run lost calls or was cut off, which ends it ' +
          'early.'),
    columns: [
      'Server',
      'Client',
      'N',
      'Runs',
      'Wall s',
      'Fastest s',
      'Efficiency',
      'Refused',
      'Refused after first answer',
      'Refused after first answer, server clock',
      'Most refused per window, 3rd on',
      'Calls lost',
      'Cut off',
      'Requests sent',
    ],
    rows: table,
    notes: [
      ...targetLines,
      'Efficiency = the fastest finish the server allows ÷ the wall time from the first call to the last settled ' +
        'call. Fastest: (ceil(N / L) − 1) × W for a fixed window of L per W (10 s for 300 calls at 50 per 2 s, ' +
        '14 s for 300 at 20 per 1 s); (N − B) / r for a token or leaky bucket of capacity B refilled at r per ' +
        'second; none for a server that never limits.',
      'Refused: answers of 400 or more, as the server counted them. After first answer: the refused requests the ' +
        'client sent after it had received its first answer (of any status), the count the targets use; requests ' +
        "are seen as sent when the HTTP client creates them (undici's and node:http's diagnostics channels), which " +
        'for ratewise is when its pacing lets them go. Server clock: the refused requests that reached the server ' +
        'after it wrote its first answer, which also counts requests of the first burst that were sent at once but ' +
        "waited for the server's attention. Most refused per window: the bare-429 and 503 servers' own windows " +
        'from the third on, the worst of all runs.',
      'Calls lost: calls that failed before the deadline although the server only throttled (by the status of ' +
        'the last answer, or the error). Cut off: calls still going at the deadline ' +
        `(${deadlines} s after the start), aborted by the harness; a run cut off reads the deadline as its wall ` +
        'time. ky, got and axios-retry back off exponentially when no `Retry-After` says how long to wait.',
      `${python}, Debian’s python3-flask-limiter, on werkzeug’s threaded development server (listen backlog ` +
        'raised to 1,024 so that a burst of connections is not held up by the kernel); its `X-RateLimit-Reset` is ' +
        'in epoch seconds and it sends `Retry-After` on 200s too.',
      `Event-loop delay inside the pairs' processes: highest p99 ${loopDelayP99Ms.toFixed(1)} ms, highest max ` +
        `${loopDelayMaxMs.toFixed(1)} ms.`,
    ],
  };
}

export const efficiency: Section = {
  id: 'efficiency',
  title: 'As fast as the server allows: efficiency against real throttling servers',
  peers: ['axios', 'axios-retry', 'express', 'express-rate-limit', 'fastify', '@fastify/rate-limit', 'got', 'ky'],
  run,
};
