// Model-based test of the engine (fast-check `commands`): random sequences of enqueue, abort, answer (a status with
// random Retry-After and quota headers, or a broken connection), clock steps and close, run on a real client and on
// a small reference model (support/model.ts) that says, for each call, whether it waits, has an attempt in flight or
// has settled, and how it must settle once that is decided. Every attempt is held by the scripted fetch until a
// command answers it, so the commands, not the event loop, decide the order of everything.
//
// Checked at every step: each call settles exactly once, with what the model decided (its answer's response or
// error, its abort reason, ClosedError, a RateLimitError the retry policy gives) or, while waiting, only with a
// RateLimitError for a wait become too long (its maxWait, or a server pause beyond maxRetryAfter); nothing is sent
// after close, after its call's abort, for a call not waiting, during the server's pause, beyond the concurrency cap,
// beyond 1 + limit + rateLimitLimit attempts, or ahead of a call first in line; nothing waits with nothing to wake
// it; the engine's own queued and in-flight counts agree with the model's; after close no call waits and no timer is
// left. At the end: every call settled once (and, without close, settled by answers and time alone), no timer, no
// listener, close() resolved. Half the runs use a fetch that ignores its signal (an aborted attempt runs on).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  abortListeners,
  advance,
  flush,
  networkError,
  quota,
  rig,
  status,
  T0,
  track,
  type FetchCall,
  type Outcome,
} from './support/harness.js';
import type { FakeClock } from '../support/fake-clock.js';
import type { Ratewise } from '../../src/client.js';
import { Model, type Answer, type CallSpec, type ModelConfig, type Observed } from './support/model.js';

/** Fixed, so that CI runs the same sequences; MODEL_SEED and MODEL_RUNS explore others (MODEL_STATS prints coverage). */
const SEED = Number(process.env.MODEL_SEED ?? 20_261_127);
const RUNS = Number(process.env.MODEL_RUNS ?? 500);
const MAX_RETRY_AFTER = 8000;

/** What the runs must reach (see Model.seen). */
const SITUATIONS = [
  'abort while inFlight',
  'abort while inFlight, ignored by fetch',
  'answer to an aborted attempt',
  'abort while waiting',
  'answer: RateLimitError(max-retry-after)',
  'answer: RateLimitError(max-wait)',
  'answer: error',
  'answer: response',
  'close with attempts in flight',
  'error retry',
  'rateLimit retry',
  'retry after close',
  'retry sent',
  'sent as the pause ended',
  'sent while a call behind it waits',
  'waiting call failed: max-retry-after',
  'waiting call failed: max-wait',
];

interface Real {
  readonly rw: Ratewise;
  readonly clock: FakeClock;
  readonly outcomes: Outcome<Response>[];
  readonly controllers: (AbortController | undefined)[];
  /** Attempts handed to fetch, in send order, with their call. */
  readonly attempts: { readonly id: number; readonly call: FetchCall }[];
  closing: Outcome<void> | undefined;
}

type Cmd = fc.AsyncCommand<Model, Real>;

function setup(config: ModelConfig, seen = new Map<string, number>()): { model: Model; real: Real } {
  const model = new Model(config, T0, seen);
  const attempts: Real['attempts'] = [];
  const { rw, clock, server } = rig(
    {
      // One budget per host, as the model keeps: routes learnt apart are tested in route-buckets and route-probe.
      budgets: { '*': { concurrency: config.concurrency, maxRoutes: 0 } },
      retry: {
        limit: config.limit,
        rateLimitLimit: config.rateLimitLimit,
        maxRetryAfter: config.maxRetryAfter,
        budget: false,
      },
    },
    (call) => {
      const id = Number(new URL(call.url).pathname.slice(1));
      model.sent(id, call.at);
      attempts.push({ id, call });
      return 'hold';
    },
  );
  server.ignoreAbort = config.fetchIgnoresAbort;
  return { model, real: { rw, clock, outcomes: [], controllers: [], attempts, closing: undefined } };
}

function observed(o: Outcome<Response>): Observed {
  if (o.state === 'pending') return { state: 'pending' };
  const at = o.settledAt!;
  return o.state === 'fulfilled'
    ? { state: 'fulfilled', value: o.value, at }
    : { state: 'rejected', error: o.error, at };
}

/** Runs one step on both sides, lets every promise chain run, and checks the engine against the model. */
async function step(m: Model, r: Real, act: () => void | Promise<void>): Promise<void> {
  m.beginStep();
  await act();
  await flush();
  const stats = r.rw.stats();
  const engine = {
    queued: stats.reduce((n, b) => n + b.queued, 0),
    inFlight: stats.reduce((n, b) => n + b.inFlight, 0),
  };
  m.endStep((id) => observed(r.outcomes[id]!), r.clock.pending(), engine);
  expect(m.violations).toEqual([]);
}

/** The attempt in flight of each call the model says is in flight, oldest first. */
function inFlight(m: Model, r: Real): { readonly id: number; readonly call: FetchCall }[] {
  return r.attempts.filter((a) => !a.call.settled && m.calls[a.id]?.phase === 'inFlight');
}

function reply(answer: Answer): Response | Error {
  if (answer.kind === 'network') return networkError();
  const headers: Record<string, string> = {
    ...(answer.retryAfter !== undefined && { 'retry-after': String(answer.retryAfter) }),
    ...(answer.remaining !== undefined &&
      answer.resetSeconds !== undefined &&
      quota(5, answer.remaining, answer.resetSeconds)),
  };
  return status(answer.status, headers);
}

async function answerAttempt(m: Model, r: Real, target: { id: number; call: FetchCall }, a: Answer): Promise<void> {
  await step(m, r, () => {
    const value = reply(a);
    m.answer(target.id, a, r.clock.now(), value);
    if (value instanceof Response) target.call.respond(value);
    else target.call.fail(value);
  });
}

function showAnswer(a: Answer): string {
  if (a.kind === 'network') return 'network error';
  const parts = [String(a.status)];
  if (a.retryAfter !== undefined) parts.push(`retry-after ${a.retryAfter}`);
  if (a.remaining !== undefined) parts.push(`remaining ${a.remaining} reset ${a.resetSeconds}`);
  return parts.join(' ');
}

class Enqueue implements Cmd {
  constructor(readonly spec: CallSpec) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await step(m, r, () => {
      const { spec } = this;
      const controller = spec.signal === 'none' ? undefined : new AbortController();
      const reason = new Error(`aborted before call ${m.calls.length}`);
      if (spec.signal === 'aborted') controller?.abort(reason);
      const { id } = m.enqueue(spec, r.clock.now(), reason);
      const init: Parameters<Ratewise['fetch']>[1] = {
        method: spec.method,
        ...(spec.method === 'POST' && { body: 'x' }),
        ...(controller && { signal: controller.signal }),
        ratewise: {
          priority: spec.priority,
          ...(spec.maxWait !== undefined && { maxWait: spec.maxWait }),
          ...(spec.idempotencyKey && { idempotencyKey: true }),
        },
      };
      r.controllers.push(controller);
      r.outcomes.push(track(r.rw.fetch(`https://api.test/${id}`, init), r.clock));
    });
  }
  toString(): string {
    const { priority, method, idempotencyKey, maxWait, signal } = this.spec;
    const key = idempotencyKey ? '+key' : '';
    const wait = maxWait === undefined ? '' : ` maxWait ${maxWait}`;
    return `enqueue(${method}${key} p${priority}${wait} signal ${signal})`;
  }
}

class Abort implements Cmd {
  constructor(readonly pick: number) {}
  /** Calls whose signal may still be aborted, settled ones included (an abort after settling changes nothing). */
  static open(m: Readonly<Model>): number[] {
    return m.calls.filter((c) => c.spec.signal === 'live' && !c.aborted).map((c) => c.id);
  }
  check(m: Readonly<Model>): boolean {
    return Abort.open(m).length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const open = Abort.open(m);
    const id = open[this.pick % open.length]!;
    await step(m, r, () => {
      const reason = new Error(`abort ${id}`);
      m.abort(id, reason);
      r.controllers[id]!.abort(reason);
    });
  }
  toString(): string {
    return `abort(${this.pick})`;
  }
}

class Respond implements Cmd {
  constructor(
    readonly pick: 'oldest' | number,
    readonly answer: Answer,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.calls.some((c) => c.phase === 'inFlight');
  }
  async run(m: Model, r: Real): Promise<void> {
    const held = inFlight(m, r);
    const target = held[this.pick === 'oldest' ? 0 : this.pick % held.length]!;
    await answerAttempt(m, r, target, this.answer);
  }
  toString(): string {
    return `answer(${this.pick}, ${showAnswer(this.answer)})`;
  }
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await step(m, r, () => advance(r.clock, this.ms));
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

class Close implements Cmd {
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await step(m, r, () => {
      m.close();
      r.closing ??= track(r.rw.close());
    });
  }
  toString(): string {
    return 'close()';
  }
}

const callSpec: fc.Arbitrary<CallSpec> = fc.record({
  priority: fc.integer({ min: 0, max: 2 }),
  method: fc.constantFrom('GET' as const, 'POST' as const),
  idempotencyKey: fc.boolean(),
  maxWait: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 6000 }) },
  ),
  signal: fc.constantFrom('none' as const, 'live' as const, 'live' as const, 'aborted' as const),
});

const answer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'network' as const }) },
  {
    weight: 5,
    arbitrary: fc
      .record({
        status: fc.constantFrom(200 as const, 200 as const, 404 as const, 429 as const, 429 as const, 503 as const),
        retryAfter: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }), // beyond maxRetryAfter (8 s) sometimes
        quota: fc.option(fc.record({ remaining: fc.nat(3), resetSeconds: fc.integer({ min: 1, max: 6 }) }), {
          nil: undefined,
        }),
      })
      .map(({ status: s, retryAfter, quota: q }): Answer => ({
        kind: 'status',
        status: s,
        // Only refusals carry Retry-After here: the model's pause comes from those.
        retryAfter: s === 429 || s === 503 ? retryAfter : undefined,
        remaining: q?.remaining,
        resetSeconds: q?.resetSeconds,
      })),
  },
);

/** Weighted: close is rare (it ends what can happen next), answers and calls are common. */
const command: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 30, arbitrary: callSpec.map((spec) => new Enqueue(spec)) },
  { weight: 8, arbitrary: fc.nat().map((pick) => new Abort(pick)) },
  {
    weight: 40,
    arbitrary: fc
      .tuple(fc.oneof(fc.constant('oldest' as const), fc.nat()), answer)
      .map(([pick, a]) => new Respond(pick, a)),
  },
  {
    weight: 20,
    arbitrary: fc
      .oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 3000, max: 13_000 }))
      .map((ms) => new Advance(ms)),
  },
  { weight: 1, arbitrary: fc.constant(new Close()) },
);

const commands = fc.commands([command], { maxCommands: 60, size: 'max' });

const config: fc.Arbitrary<ModelConfig> = fc.record({
  concurrency: fc.integer({ min: 1, max: 3 }),
  limit: fc.integer({ min: 0, max: 2 }),
  rateLimitLimit: fc.integer({ min: 0, max: 3 }),
  maxRetryAfter: fc.constant(MAX_RETRY_AFTER),
  fetchIgnoresAbort: fc.boolean(),
  abortedAnswersPause: fc.constant(true),
});

const OK: Answer = {
  kind: 'status',
  status: 200,
  retryAfter: undefined,
  remaining: undefined,
  resetSeconds: undefined,
};

/**
 * Brings the run to rest: with `closeFirst`, close, then answer what is in flight; otherwise answer what is in flight
 * and let time run until every call has settled, then close. The answers are `answers` in turn, then 200 (retries are
 * bounded, so this ends). Each move is a step checked against the model.
 */
async function finish(m: Model, r: Real, closeFirst: boolean, answers: readonly Answer[]): Promise<void> {
  if (closeFirst) await new Close().run(m, r);
  for (let i = 0, answered = 0; i < 1000; i++) {
    const held = inFlight(m, r);
    if (held.length > 0) {
      await answerAttempt(m, r, held[0]!, answers[answered++] ?? OK);
      continue;
    }
    const next = r.clock.nextAt();
    if (m.inPhase('waiting').length === 0 || next === undefined) break;
    await step(m, r, () => advance(r.clock, next - r.clock.now()));
  }
  // Given answers and time, every call settles without close: nothing waits forever.
  if (!closeFirst) expect(m.calls.filter((c) => c.phase !== 'settled').map((c) => c.id)).toEqual([]);
  if (!m.closed) await new Close().run(m, r);
  for (const call of m.calls) expect(call.phase, `call ${call.id}`).toBe('settled');
  for (const [id, o] of r.outcomes.entries()) expect(o.settledCount, `call ${id} settled`).toBe(1);
  expect(r.clock.pending()).toBe(0);
  for (const s of r.rw.stats()) expect(s).toMatchObject({ queued: 0, inFlight: 0 });
  expect(r.closing?.state).toBe('fulfilled');
  for (const c of r.controllers) if (c) expect(abortListeners(c.signal)).toBe(0);
}

describe('engine against a reference model', () => {
  it('sends and settles what the model allows, in order, within pauses, caps and limits, and leaves nothing', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        config,
        commands,
        fc.boolean(),
        fc.array(answer, { maxLength: 8 }),
        async (cfg, cmds, closeFirst, last) => {
          const world = setup(cfg, seen);
          await fc.asyncModelRun(() => world, cmds);
          await finish(world.model, world.real, closeFirst, last);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    if (process.env.MODEL_STATS) console.log(Object.fromEntries([...seen].sort()));
    // The runs reached every situation the checks are about (a change that stops them would pass vacuously).
    for (const situation of SITUATIONS) expect(seen.get(situation) ?? 0, situation).toBeGreaterThan(0);
  });

  // Was a bug (src/send.ts): when the signal aborted while the attempt ran on (a fetch or transport that does not
  // listen to it, or one that answered just as the caller aborted), `send` rethrew the abort reason before reading
  // the answer, so a 429 or 503 with Retry-After paused nothing. Found by the property above; kept as its minimal
  // counterexample.
  it('a throttle answering an aborted attempt still pauses the budget', async () => {
    const world = setup({
      concurrency: 1,
      limit: 0,
      rateLimitLimit: 0,
      maxRetryAfter: MAX_RETRY_AFTER,
      fetchIgnoresAbort: true,
      abortedAnswersPause: true,
    });
    const get: CallSpec = { priority: 0, method: 'GET', idempotencyKey: false, maxWait: undefined, signal: 'none' };
    const throttle: Answer = {
      kind: 'status',
      status: 503,
      retryAfter: 1,
      remaining: undefined,
      resetSeconds: undefined,
    };
    await fc.asyncModelRun(
      () => world,
      [new Enqueue({ ...get, signal: 'live' }), new Abort(0), new Enqueue(get), new Respond('oldest', throttle)],
    );
    await finish(world.model, world.real, false, []);
  });
});
