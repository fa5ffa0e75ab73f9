// The pairs of the `efficiency` section: real servers that throttle in every way issue 13 lists, and the clients
// that send "N calls at once, all must succeed" to them. One pair runs in one child process (efficiency-probe.ts).
import { setMaxListeners } from 'node:events';
import type * as RatewiseUndici from '../../src/adapters/undici.js';
import { startFlaskLimiterServer } from '../../test/support/flask-limiter.js';
import type { FlaskLimiterStrategy } from '../../test/support/flask-limiter.js';
import { isRefused, refusedAfterFirstAnswer } from '../../test/support/request-log.js';
import type { TestServer } from '../../test/support/servers.js';
import {
  startBare429Server,
  startRetryAfter503Server,
  startSlowServer,
} from '../../test/support/throttling-servers.js';
import type { WindowTally } from '../../test/support/throttling-servers.js';
import { watchClientRequests } from '../client-requests.js';
import type { Policy } from '../efficiency.js';
import {
  clients as peerClients,
  errorKind,
  plainFetch,
  serverKinds as peerKinds,
  statusOf,
  type Client,
  type RatewiseModule,
  type Shape,
} from './peers-cases.js';

/** The workload of one server kind and the policy its fastest finish is computed from. */
export interface EfficiencyShape extends Shape {
  /** The server's policy; `undefined` for a server that never limits. */
  readonly policy: Policy | undefined;
  /** How long the server takes to answer each request, ms (0: as fast as it can). */
  readonly answerMs: number;
}

/** A running server, with the windows it counted when it counts its own. */
type ServerUnderTest = TestServer & { windows?(): WindowTally[] };

/** Which of issue 13's targets a server kind is judged by. */
export type TargetGroup = 'headers' | 'flask' | 'bare-429' | '503' | 'no-limit';

export interface EfficiencyKind {
  readonly id: string;
  readonly label: string;
  readonly target: TargetGroup;
  /** Whether `--quick` runs it too. */
  readonly quick: boolean;
  shape(quick: boolean): EfficiencyShape;
  start(shape: EfficiencyShape): Promise<ServerUnderTest>;
}

/** 300 calls at 50 per 2 s (10 s at best); a quick run sends 60 at 20 per 1 s (2 s at best). */
function windowShape(quick: boolean): EfficiencyShape {
  const [limit, windowMs, requests] = quick ? [20, 1_000, 60] : [50, 2_000, 300];
  return {
    limit,
    windowMs,
    requests,
    deadlineMs: quick ? 10_000 : 30_000,
    policy: { kind: 'fixed-window', limit, windowMs },
    answerMs: 0,
  };
}

function peerKind(id: string): (typeof peerKinds)[number] {
  const kind = peerKinds.find((candidate) => candidate.id === id);
  if (kind === undefined) throw new Error(`No server kind ${id} in peers-cases.ts`);
  return kind;
}

function headersKind(id: string, quick: boolean): EfficiencyKind {
  const kind = peerKind(id);
  return { id, label: kind.label, target: 'headers', quick, shape: windowShape, start: (shape) => kind.start(shape) };
}

function flaskKind(strategy: FlaskLimiterStrategy, quick: boolean): EfficiencyKind {
  return {
    id: `flask-${strategy}`,
    label: `Flask-Limiter 3.3, ${strategy} (\`X-RateLimit-*\` with epoch-second reset, \`Retry-After\` on every answer)`,
    target: 'flask',
    quick,
    shape: windowShape,
    start: ({ limit, windowMs }) =>
      startFlaskLimiterServer({ strategy, limit: `${String(limit)} per ${String(windowMs / 1_000)} seconds` }),
  };
}

/** The slow server's answer time: 64 calls at once take one answer time through plain fetch. */
const ANSWER_MS = 200;

export const efficiencyKinds: readonly EfficiencyKind[] = [
  headersKind('erl-draft-6', false),
  headersKind('erl-draft-7', false),
  headersKind('erl-draft-8', false),
  headersKind('fastify', false),
  flaskKind('fixed-window', true),
  flaskKind('moving-window', false),
  {
    id: 'bare-429',
    label: 'bare 429, no headers at all',
    target: 'bare-429',
    quick: true,
    shape: windowShape,
    start: ({ limit, windowMs }) => startBare429Server({ limit, windowMs }),
  },
  {
    id: '503',
    label: '503 with `Retry-After`, no other headers',
    target: '503',
    quick: false,
    shape: (quick) => ({
      limit: 20,
      windowMs: 1_000,
      requests: quick ? 60 : 300,
      deadlineMs: quick ? 10_000 : 30_000,
      policy: { kind: 'fixed-window', limit: 20, windowMs: 1_000 },
      answerMs: 0,
    }),
    start: ({ limit, windowMs }) => startRetryAfter503Server({ limit, windowMs }),
  },
  {
    id: 'no-limit',
    label: `no limit, ${String(ANSWER_MS)} ms per answer`,
    target: 'no-limit',
    quick: true,
    // limit and windowMs only matter to the limiter clients, which do not run here.
    shape: () => ({
      limit: 64,
      windowMs: 1_000,
      requests: 64,
      deadlineMs: 30_000,
      policy: undefined,
      answerMs: ANSWER_MS,
    }),
    start: () => startSlowServer({ delayMs: ANSWER_MS }),
  },
];

/** The ratewise build the probe loaded: the public entry and both adapters. */
export type EfficiencyRatewise = RatewiseModule & typeof RatewiseUndici;

/** A client of this section, with its place: ratewise's own, or a peer measured beside it. */
export interface EfficiencyClient {
  readonly id: string;
  readonly label: string;
  readonly ratewise: boolean;
  /** Whether `--quick` runs it too. */
  readonly quick: boolean;
  /** Whether it only runs against the server that never limits (it has no retry). */
  readonly noLimitOnly: boolean;
  readonly create: (shape: Shape, signal: AbortSignal, ratewise: EfficiencyRatewise) => ReturnType<Client['create']>;
}

function peerClient(id: string, ratewise: boolean, quick: boolean): EfficiencyClient {
  const client = peerClients.find((candidate) => candidate.id === id);
  if (client === undefined) throw new Error(`No client ${id} in peers-cases.ts`);
  return {
    id,
    label: client.label,
    ratewise,
    quick,
    noLimitOnly: false,
    create: (shape, signal, module) => client.create(shape, signal, module),
  };
}

export const efficiencyClients: readonly EfficiencyClient[] = [
  peerClient('ratewise', true, true),
  peerClient('ratewise-axios', true, true),
  {
    id: 'ratewise-global-fetch',
    label: 'ratewise `installRatewise(rw)` + global `fetch` (no rate set)',
    ratewise: true,
    quick: true,
    noLimitOnly: false,
    create: (_shape, signal, { createRatewise, installRatewise }) => {
      const rw = createRatewise();
      const uninstall = installRatewise(rw);
      return {
        call: (url) => plainFetch(url, signal),
        close: async () => {
          uninstall();
          await rw.close();
        },
      };
    },
  },
  peerClient('ky', false, true),
  peerClient('got', false, false),
  peerClient('axios-retry', false, false),
  {
    id: 'fetch',
    label: 'plain `fetch` (no retry)',
    ratewise: false,
    quick: true,
    noLimitOnly: true,
    create: (_shape, signal) => ({ call: (url) => plainFetch(url, signal), close: () => Promise.resolve() }),
  },
];

/** The clients that run against `kind`, in a full or a quick run. */
export function clientsOf(kind: EfficiencyKind, quick: boolean): EfficiencyClient[] {
  return efficiencyClients.filter(
    (client) => (!client.noLimitOnly || kind.target === 'no-limit') && (!quick || client.quick),
  );
}

/** Refusals counted per window of the server's, from the third window on (servers that count windows only). */
export interface LateWindows {
  /** Windows from the third on. */
  readonly windows: number;
  /** The most refusals in one of them. */
  readonly maxRefused: number;
  /** How many of them refused more than one request. */
  readonly overOne: number;
}

/** One run of one pair, as JSON. */
export interface EfficiencyRun {
  /** From the first call to the last settled call, ms. */
  readonly wallMs: number;
  readonly successes: number;
  /** Calls that failed before the deadline: the servers only throttle, so each is a call lost. */
  readonly lost: number;
  /** Calls still unsettled at the deadline, aborted by the harness. */
  readonly cutOff: number;
  /** Lost calls by cause: the last status, or the error's name and code. */
  readonly causes: readonly (readonly [cause: string, count: number])[];
  /** Requests the server received. */
  readonly sent: number;
  /** Requests the server refused (any status of 400 or more). */
  readonly refused: number;
  /** Of those, the ones the client sent after it had received its first answer. */
  readonly refusedAfterFirstAnswer: number;
  /** Of those, the ones that reached the server after it wrote its first answer (server instants). */
  readonly refusedAfterFirstAnswerServer: number;
  readonly lateWindows: LateWindows | undefined;
  /** Every window the server counted (servers that count windows only). */
  readonly windows?: readonly WindowTally[];
}

function lateWindows(windows: readonly WindowTally[]): LateWindows {
  const late = windows.slice(2);
  return {
    windows: late.length,
    maxRefused: Math.max(0, ...late.map((window) => window.refused)),
    overOne: late.filter((window) => window.refused > 1).length,
  };
}

/** Starts a fresh server of `kind`, waits for `ready`, then sends it the shape's calls at once through `client`. */
export async function runEfficiencyPair(
  kind: EfficiencyKind,
  client: EfficiencyClient,
  shape: EfficiencyShape,
  ratewise: EfficiencyRatewise,
  /** Awaited once the server and client are set up, before the clock starts. */
  ready: () => Promise<void>,
): Promise<EfficiencyRun> {
  const server = await kind.start(shape);
  const controller = new AbortController();
  // One signal on every call of the run: got and axios add a listener per request to it, which is no leak here.
  setMaxListeners(Infinity, controller.signal);
  const runner = client.create(shape, controller.signal, ratewise);
  let closed = false;
  let deadline: NodeJS.Timeout | undefined;
  try {
    await ready();
    deadline = setTimeout(() => {
      controller.abort(new Error('deadline'));
    }, shape.deadlineMs);
    let successes = 0;
    let cutOff = 0;
    const causes = new Map<string, number>();
    const watch = watchClientRequests();
    const startedAt = performance.now();
    await Promise.all(
      Array.from({ length: shape.requests }, (_, i) =>
        runner.call(`${server.url}/item/${String(i)}`).then(
          () => {
            successes++;
          },
          (error: unknown) => {
            // A call that fails once the deadline has passed was cut off by the harness, not lost.
            if (controller.signal.aborted) {
              cutOff++;
              return;
            }
            const status = statusOf(error);
            const cause = status !== undefined ? String(status) : errorKind(error);
            causes.set(cause, (causes.get(cause) ?? 0) + 1);
          },
        ),
      ),
    );
    const wallMs = performance.now() - startedAt;
    watch.stop();
    await runner.close();
    // Closed before reading: the Flask app's log is complete only once its process has exited.
    await server.close();
    closed = true;
    const log = server.requests();
    return {
      wallMs,
      successes,
      lost: shape.requests - successes - cutOff,
      cutOff,
      causes: [...causes],
      sent: log.length,
      refused: log.filter(isRefused).length,
      refusedAfterFirstAnswer: watch.refusedAfterFirstAnswer(),
      refusedAfterFirstAnswerServer: refusedAfterFirstAnswer(log).length,
      lateWindows: server.windows === undefined ? undefined : lateWindows(server.windows()),
      ...(server.windows !== undefined && { windows: server.windows() }),
    };
  } finally {
    clearTimeout(deadline);
    if (!closed) {
      controller.abort(new Error('run failed'));
      await runner.close();
      await server.close();
    }
  }
}
