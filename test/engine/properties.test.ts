// Properties of the engine under random interleavings of responses (2xx, 429/503 with random headers, network
// errors), aborts, clock steps and close(). Every attempt is held by the scripted fetch until an action answers it,
// so the test, not the event loop, decides the order of everything.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRatewiseError } from '../../src/errors.js';
import {
  abortListeners,
  advance,
  flush,
  networkError,
  ok,
  quota,
  rig,
  status,
  T0,
  type FetchCall,
  type Outcome,
  track,
} from './support/harness.js';

/** Host `a` has a local rate; host `b` has none (it paces by the server) and a concurrency cap. */
interface Config {
  readonly rate: { readonly limit: number; readonly interval: number };
  readonly burst: number;
  readonly concurrencyB: number;
  /** maxQueue of both hosts, Infinity for none. */
  readonly maxQueue: number;
  /** Retries per 10 s window the retry budget allows, or false for no retry budget. */
  readonly retryBudget: number | false;
  readonly random: number;
}

const config: fc.Arbitrary<Config> = fc.record({
  rate: fc.record({ limit: fc.integer({ min: 1, max: 5 }), interval: fc.integer({ min: 100, max: 2000 }) }),
  burst: fc.integer({ min: 2, max: 5 }),
  concurrencyB: fc.integer({ min: 1, max: 3 }),
  maxQueue: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 6 })),
  retryBudget: fc.oneof(fc.constant(false as const), fc.integer({ min: 0, max: 5 })),
  random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
});

type Answer =
  | { readonly kind: 'ok' }
  | { readonly kind: 'quota'; readonly remaining: number; readonly resetSeconds: number }
  | { readonly kind: 'retryAfter'; readonly status: 429 | 503; readonly seconds: number }
  | { readonly kind: 'bare'; readonly status: 429 | 503 | 500 }
  | { readonly kind: 'spent'; readonly resetSeconds: number }
  | { readonly kind: 'network' };

type Action =
  | {
      readonly type: 'call';
      readonly host: 'a' | 'b';
      readonly priority: number;
      readonly cost: 1 | 2;
      readonly maxWait: number | undefined;
      readonly signal: boolean;
      readonly post: boolean;
    }
  | { readonly type: 'answer'; readonly pick: number; readonly answer: Answer }
  | { readonly type: 'abort'; readonly pick: number }
  | { readonly type: 'advance'; readonly ms: number }
  | { readonly type: 'close' };

const answer: fc.Arbitrary<Answer> = fc.oneof(
  fc.constant({ kind: 'ok' as const }),
  fc.record({
    kind: fc.constant('quota' as const),
    remaining: fc.nat(20),
    resetSeconds: fc.integer({ min: 1, max: 20 }),
  }),
  fc.record({
    kind: fc.constant('retryAfter' as const),
    status: fc.constantFrom(429 as const, 503 as const),
    seconds: fc.integer({ min: 0, max: 15 }), // beyond maxRetryAfter (10 s) sometimes
  }),
  fc.record({ kind: fc.constant('bare' as const), status: fc.constantFrom(429 as const, 503 as const, 500 as const) }),
  fc.record({ kind: fc.constant('spent' as const), resetSeconds: fc.integer({ min: 1, max: 12 }) }),
  fc.constant({ kind: 'network' as const }),
);

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 30,
    arbitrary: fc.record({
      type: fc.constant('call' as const),
      host: fc.constantFrom('a' as const, 'b' as const),
      priority: fc.integer({ min: 0, max: 2 }),
      cost: fc.constantFrom(1 as const, 2 as const),
      maxWait: fc.option(fc.integer({ min: 0, max: 8000 }), { nil: undefined }),
      signal: fc.boolean(),
      post: fc.boolean(),
    }),
  },
  { weight: 40, arbitrary: fc.record({ type: fc.constant('answer' as const), pick: fc.nat(), answer }) },
  { weight: 10, arbitrary: fc.record({ type: fc.constant('abort' as const), pick: fc.nat() }) },
  {
    weight: 20,
    arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'close' as const }) },
);

function reply(a: Answer, thrown: Set<unknown>): { response?: Response; error?: unknown } {
  switch (a.kind) {
    case 'ok':
      return { response: ok() };
    case 'quota':
      return { response: ok(quota(20, a.remaining, a.resetSeconds)) };
    case 'retryAfter':
      return { response: status(a.status, { 'retry-after': String(a.seconds) }) };
    case 'bare':
      return { response: status(a.status) };
    case 'spent':
      return { response: status(429, quota(20, 0, a.resetSeconds)) };
    case 'network': {
      const error = networkError();
      thrown.add(error);
      return { error };
    }
  }
}

interface CallRecord {
  readonly id: number;
  readonly host: 'a' | 'b';
  readonly cost: number;
  readonly controller: AbortController | undefined;
  readonly outcome: Outcome<Response>;
  /** The reason it was aborted with, if the abort came before it settled. */
  abortedWith: unknown;
}

/** One entry of the run's log, in the order things happened. */
type LogEntry =
  | { readonly kind: 'send'; readonly at: number; readonly host: string; readonly id: number; readonly call: FetchCall }
  | { readonly kind: 'paused'; readonly at: number; readonly host: string; readonly until: number };

async function run(cfg: Config, actions: readonly Action[], closeAtEnd: boolean): Promise<void> {
  const log: LogEntry[] = [];
  const calls: CallRecord[] = [];
  const thrown = new Set<unknown>();
  let mostOpenB = 0;
  let closing: Outcome<void> | undefined;
  const { rw, clock, server } = rig(
    {
      budgets: {
        'a.test': { rate: cfg.rate, burst: cfg.burst, maxQueue: cfg.maxQueue },
        // One budget per host: routes learnt apart are tested in route-buckets and route-probe.
        '*': { concurrency: cfg.concurrencyB, maxQueue: cfg.maxQueue, maxRoutes: 0 },
      },
      retry: {
        maxRetryAfter: 10_000,
        backoff: { baseMs: 200, maxMs: 4000 },
        budget: cfg.retryBudget !== false && { ratio: 0, minPerSecond: cfg.retryBudget / 10, windowMs: 10_000 },
      },
      random: () => cfg.random,
    },
    (call) => {
      const url = new URL(call.url);
      log.push({ kind: 'send', at: call.at, host: url.host, id: Number(url.pathname.slice(1)), call });
      // Attempts of b.test open at the fetch (this one included): never more than the cap.
      if (url.host === 'b.test') {
        const open = server.held().filter((c) => new URL(c.url).host === 'b.test').length;
        mostOpenB = Math.max(mostOpenB, open);
      }
      return 'hold';
    },
  );
  rw.on('paused', (e) => log.push({ kind: 'paused', at: clock.now(), host: new URL(e.key).host, until: e.until }));

  const answerHeld = (pick: number, a: Answer): void => {
    const held = server.held();
    if (held.length === 0) return;
    const target = held[pick % held.length]!;
    const r = reply(a, thrown);
    if (r.response) target.respond(r.response);
    else target.fail(r.error);
  };

  for (const act of actions) {
    switch (act.type) {
      case 'call': {
        const id = calls.length;
        const controller = act.signal ? new AbortController() : undefined;
        const init: Parameters<typeof rw.fetch>[1] = {
          method: act.post ? 'POST' : 'GET',
          ...(act.post && { body: 'x' }),
          ...(controller && { signal: controller.signal }),
          ratewise: {
            priority: act.priority,
            cost: act.cost,
            ...(act.maxWait !== undefined && { maxWait: act.maxWait }),
          },
        };
        const outcome = track(rw.fetch(`https://${act.host}.test/${id}`, init), clock);
        calls.push({ id, host: act.host, cost: act.cost, controller, outcome, abortedWith: undefined });
        break;
      }
      case 'answer':
        answerHeld(act.pick, act.answer);
        break;
      case 'abort': {
        const open = calls.filter((c) => c.controller && c.outcome.state === 'pending' && !c.controller.signal.aborted);
        const target = open[act.pick % Math.max(1, open.length)];
        if (target?.controller) {
          const reason = new Error(`abort ${target.id}`);
          target.abortedWith = reason;
          target.controller.abort(reason);
        }
        break;
      }
      case 'advance':
        await advance(clock, act.ms);
        break;
      case 'close':
        closing ??= track(rw.close());
        break;
    }
    await flush(1);
  }

  if (closeAtEnd) closing ??= track(rw.close());
  // Quiesce: answer everything 200 and let time run until every call has settled and nothing is left.
  for (let i = 0; i < 500 && (calls.some((c) => c.outcome.state === 'pending') || clock.pending() > 0); i++) {
    for (const held of server.held()) held.respond(ok());
    await flush();
    if (clock.pending() > 0) await advance(clock, clock.nextAt()! - clock.now());
  }
  await flush();

  // Every call settled exactly once, with something the contract allows.
  for (const c of calls) {
    expect(c.outcome.settledCount, `call ${c.id} settled`).toBe(1);
    if (c.outcome.state === 'fulfilled') {
      expect(c.outcome.value).toBeInstanceOf(Response);
      continue;
    }
    const error = c.outcome.error;
    const allowed = error === c.abortedWith || isRatewiseError(error) || thrown.has(error);
    expect(allowed, `call ${c.id} rejected with ${String(error)}`).toBe(true);
    if (isRatewiseError(error, 'ERR_RATEWISE_CLOSED')) expect(closing).toBeDefined();
    if (isRatewiseError(error, 'ERR_RATEWISE_QUEUE_FULL')) expect(cfg.maxQueue).toBeLessThan(Infinity);
    if (isRatewiseError(error, 'ERR_RATEWISE_RETRY_BUDGET')) expect(cfg.retryBudget).not.toBe(false);
  }
  // An abort before settling rejects with that very reason, whatever state the call was in.
  for (const c of calls) {
    if (c.abortedWith !== undefined) expect(c.outcome.error, `call ${c.id} aborted`).toBe(c.abortedWith);
  }
  // Nothing left behind: no timer, no waiter, nothing in flight, no listener.
  expect(clock.pending()).toBe(0);
  for (const s of rw.stats()) expect(s).toMatchObject({ queued: 0, inFlight: 0 });
  for (const c of calls) if (c.controller) expect(abortListeners(c.controller.signal)).toBe(0);
  if (closing) expect(closing.state).toBe('fulfilled');

  const sends = log.filter((e): e is Extract<LogEntry, { kind: 'send' }> => e.kind === 'send');
  // The local budget never admits more than burst + rate × t in any window of length t.
  const sendsA = sends.filter((s) => s.host === 'a.test');
  const costOf = (id: number): number => calls[id]!.cost;
  for (let i = 0; i < sendsA.length; i++) {
    let spent = 0;
    for (let j = i; j < sendsA.length; j++) {
      spent += costOf(sendsA[j]!.id);
      const window = sendsA[j]!.at - sendsA[i]!.at;
      expect(spent, `sends ${i}..${j} of a.test within ${window} ms`).toBeLessThanOrEqual(
        cfg.burst + (cfg.rate.limit * window) / cfg.rate.interval + 1e-9,
      );
    }
  }
  // Nothing is sent to a paused budget before its instant.
  log.forEach((entry, index) => {
    if (entry.kind !== 'paused') return;
    for (const later of log.slice(index + 1)) {
      if (later.kind === 'send' && later.host === entry.host) {
        expect(
          later.at,
          `send of ${later.host}/${later.id} during a pause until ${entry.until - T0}`,
        ).toBeGreaterThanOrEqual(entry.until);
      }
    }
  });
  // The concurrency cap of b.test holds.
  expect(mostOpenB).toBeLessThanOrEqual(cfg.concurrencyB);
}

describe('engine properties', () => {
  it('every call settles exactly once; local rate, pauses and concurrency hold; nothing is left behind', async () => {
    await fc.assert(
      fc.asyncProperty(
        config,
        fc.array(action, { minLength: 10, maxLength: 80, size: 'max' }),
        fc.boolean(),
        async (cfg, actions, closeAtEnd) => {
          await run(cfg, actions, closeAtEnd);
        },
      ),
      { numRuns: 200 },
    );
  });
});
