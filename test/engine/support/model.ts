// A reference model of one budget driven through the engine rig, for model-based tests (test/engine/model.test.ts).
// For each call: waiting for a turn, an attempt in flight, or settled, and how it must settle once that is decided;
// and the pause the server ordered. It mirrors the documented retry policy under `random: () => 0` (server waits
// exact, computed backoff 0) with no retry budget, and checks what the engine did against it: violations are
// collected as sentences, so that a send observed inside the scripted fetch does not throw into the engine.
import { isRatewiseError } from '../../../src/errors.js';

export interface ModelConfig {
  /** The budget's concurrency cap. */
  readonly concurrency: number;
  /** `retry.limit`: error retries per call. */
  readonly limit: number;
  /** `retry.rateLimitLimit`: throttle retries per call. */
  readonly rateLimitLimit: number;
  /** `retry.maxRetryAfter`, in ms. */
  readonly maxRetryAfter: number;
  /** Whether the fetch ignores its signal: an aborted attempt runs on until it is answered. */
  readonly fetchIgnoresAbort: boolean;
  /**
   * Whether the model claims the pause a throttle orders when it answers an aborted attempt (the server's wait holds
   * for the budget, whoever asked). True everywhere since the engine reads such an answer; kept as a switch to show
   * what the property checks.
   */
  readonly abortedAnswersPause: boolean;
}

/** One call as the test enqueues it. */
export interface CallSpec {
  readonly priority: number;
  readonly method: 'GET' | 'POST';
  /** Whether it carries an `Idempotency-Key` (makes a POST retryable after errors and 503s). */
  readonly idempotencyKey: boolean;
  /** Its `maxWait` in ms, none when undefined. */
  readonly maxWait: number | undefined;
  /** No signal, one the test may abort later, or one aborted before the call. */
  readonly signal: 'none' | 'live' | 'aborted';
}

/** What the server answers an attempt with: a status with optional timing headers, or a broken connection. */
export type Answer =
  | { readonly kind: 'network' }
  | {
      readonly kind: 'status';
      readonly status: 200 | 404 | 429 | 503;
      /** `Retry-After` in seconds. */
      readonly retryAfter: number | undefined;
      /** `RateLimit-Remaining`, sent with `resetSeconds`. */
      readonly remaining: number | undefined;
      /** `RateLimit-Reset` in seconds, sent with `remaining`. */
      readonly resetSeconds: number | undefined;
    };

/** How a call must end, once the model knows. */
export type Settlement =
  | { readonly how: 'response'; readonly response: Response }
  | { readonly how: 'error'; readonly error: unknown }
  | { readonly how: 'rateLimited'; readonly reason: 'max-wait' | 'max-retry-after' }
  | { readonly how: 'closed' }
  | { readonly how: 'aborted'; readonly reason: unknown };

/** What the client saw of a call's promise at the end of a step. */
export type Observed =
  | { readonly state: 'pending' }
  | { readonly state: 'fulfilled'; readonly value: unknown; readonly at: number }
  | { readonly state: 'rejected'; readonly error: unknown; readonly at: number };

/** `ending`: its settlement is decided and due by the end of the step. */
export type Phase = 'waiting' | 'inFlight' | 'ending' | 'settled';

export interface ModelCall {
  readonly id: number;
  readonly spec: CallSpec;
  /** Epoch ms past which it may not wait (`maxWait`), Infinity without one. */
  readonly deadline: number;
  phase: Phase;
  attempts: number;
  errorRetries: number;
  rateLimitRetries: number;
  aborted: boolean;
  /** The reason it was aborted with, while its attempt runs on (a fetch that ignores the signal). */
  abortReason: unknown;
  /** How it must settle (set while `ending`, kept once settled). */
  must: Settlement | undefined;
  /**
   * While `ending` after a throttle that found its `rateLimitLimit` spent: whether the engine may retry it instead.
   * The budget had an answer accepted lately, so the throttle may be ratewise's own discovery (a request sent in a
   * slow start or as a probe) or another call's pause, which spends no retry; this model does not follow which.
   */
  mayRetry: boolean;
  /** What the engine does instead when it takes that throttle as exempt: retry, or a wait too long. */
  alternative: Settlement | 'rateLimit' | undefined;
  /** Throttle retries the engine made beyond `rateLimitLimit` under that rule. */
  exemptRetries: number;
  /**
   * Of `rateLimitRetries`, those made while the budget had an answer accepted lately: the engine may not have counted
   * them (the same rule), so its own count may be lower by up to this many.
   */
  exemptible: number;
}

/** How long after an accepted answer the budget takes refusals for throttling (the engine's `THROTTLING_MS`). */
const THROTTLING_MS = 30_000;

interface Send {
  readonly id: number;
  readonly firstAttempt: boolean;
}

function show(s: Settlement): string {
  switch (s.how) {
    case 'response':
      return `the ${s.response.status} response`;
    case 'error':
      return 'the network error';
    case 'rateLimited':
      return `RateLimitError(${s.reason})`;
    case 'closed':
      return 'ClosedError';
    case 'aborted':
      return 'its abort reason';
  }
}

function showObserved(o: Observed): string {
  if (o.state === 'pending') return 'pending';
  if (o.state === 'fulfilled') return o.value instanceof Response ? `a ${o.value.status} response` : 'a value';
  const e = o.error;
  if (isRatewiseError(e, 'ERR_RATEWISE_RATE_LIMITED')) return `RateLimitError(${e.reason})`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function matches(o: Observed, s: Settlement): boolean {
  if (o.state === 'pending') return false;
  switch (s.how) {
    case 'response':
      return o.state === 'fulfilled' && o.value === s.response;
    case 'error':
      return o.state === 'rejected' && o.error === s.error;
    case 'rateLimited':
      return (
        o.state === 'rejected' && isRatewiseError(o.error, 'ERR_RATEWISE_RATE_LIMITED') && o.error.reason === s.reason
      );
    case 'closed':
      return o.state === 'rejected' && isRatewiseError(o.error, 'ERR_RATEWISE_CLOSED');
    case 'aborted':
      return o.state === 'rejected' && o.error === s.reason;
  }
}

export class Model {
  readonly calls: ModelCall[] = [];
  /** Epoch ms before which nothing may be sent: the latest end of a wait a throttle ordered (see `answer`). */
  pauseUntil = 0;
  /** When an answer that was neither a throttle nor a server error last came. */
  #lastAcceptedAt = -Infinity;
  closed = false;
  readonly violations: string[] = [];
  /** How often each situation came up, to show what a run covered. */
  readonly seen: Map<string, number>;
  #waitingAtStart = new Set<number>();
  #sends: Send[] = [];

  constructor(
    readonly config: ModelConfig,
    /** Epoch ms the run starts at, to print instants relative to it. */
    readonly start: number,
    seen = new Map<string, number>(),
  ) {
    this.seen = seen;
  }

  #note(situation: string): void {
    this.seen.set(situation, (this.seen.get(situation) ?? 0) + 1);
  }

  #at(ms: number): string {
    return `+${ms - this.start}`;
  }

  #violate(message: string): void {
    this.violations.push(message);
  }

  /** Calls in a phase. */
  inPhase(phase: Phase): ModelCall[] {
    return this.calls.filter((c) => c.phase === phase);
  }

  /** Starts a step (one command): what waits now, to check the order of what is sent during it. */
  beginStep(): void {
    this.#waitingAtStart = new Set(this.inPhase('waiting').map((c) => c.id));
    this.#sends = [];
  }

  enqueue(spec: CallSpec, now: number, abortReason: unknown): ModelCall {
    const call: ModelCall = {
      id: this.calls.length,
      spec,
      deadline: spec.maxWait === undefined ? Infinity : now + spec.maxWait,
      phase: 'waiting',
      attempts: 0,
      errorRetries: 0,
      rateLimitRetries: 0,
      mayRetry: false,
      alternative: undefined,
      exemptRetries: 0,
      exemptible: 0,
      aborted: spec.signal === 'aborted',
      abortReason: undefined,
      must: undefined,
    };
    this.calls.push(call);
    // The client checks close before anything else; an aborted signal fails the wait before any send.
    if (this.closed) this.#end(call, { how: 'closed' });
    else if (spec.signal === 'aborted') this.#end(call, { how: 'aborted', reason: abortReason });
    return call;
  }

  /** The engine took a throttle for its own discovery's, and retries the call the model would have ended. */
  #exemptRetry(call: ModelCall): void {
    call.mayRetry = false;
    call.must = undefined;
    call.exemptRetries++;
    call.phase = 'waiting';
    this.#note('exempt throttle retry');
  }

  #end(call: ModelCall, must: Settlement): void {
    call.mayRetry = false;
    call.phase = 'ending';
    call.must = must;
  }

  /** The engine handed an attempt of `id` to fetch at `now`. */
  sent(id: number, now: number): void {
    const call = this.calls[id];
    if (call === undefined) {
      this.#violate(`an attempt was sent for unknown call ${id}`);
      return;
    }
    const { limit, rateLimitLimit, concurrency } = this.config;
    if (call.phase === 'ending' && call.mayRetry && call.alternative === 'rateLimit') this.#exemptRetry(call);
    const attempt = call.attempts + 1;
    const what = `attempt ${attempt} of call ${id} sent at ${this.#at(now)}`;
    if (this.closed) this.#violate(`${what}, after close`);
    if (call.aborted) this.#violate(`${what}, after its abort`);
    else if (call.phase !== 'waiting') this.#violate(`${what} while ${call.phase}`);
    if (now < this.pauseUntil) this.#violate(`${what}, during the pause until ${this.#at(this.pauseUntil)}`);
    const open = this.inPhase('inFlight').length + 1;
    if (open > concurrency) this.#violate(`${what} with ${open} in flight (concurrency ${concurrency})`);
    const exempt = call.exemptRetries + call.exemptible;
    if (attempt > 1 + limit + rateLimitLimit + exempt) {
      this.#violate(`${what}: more than 1 + ${limit} + ${rateLimitLimit} (+ ${exempt} exempt)`);
    }
    this.#sends.push({ id, firstAttempt: call.attempts === 0 });
    if (call.attempts > 0) this.#note('retry sent');
    if (now === this.pauseUntil) this.#note('sent as the pause ended');
    call.attempts = attempt;
    if (call.phase === 'waiting') call.phase = 'inFlight';
  }

  /**
   * The test answers the attempt of `id` in flight at `now` with `answer`, whose response or error is `value`:
   * the model decides how the call goes on, and what the answer does to the budget's pause.
   */
  answer(id: number, answer: Answer, now: number, value: unknown): void {
    const call = this.calls[id]!;
    const status = answer.kind === 'status' ? answer.status : undefined;
    // The server's own wait: Retry-After, else the reset of a spent quota.
    const waitSeconds =
      answer.kind === 'status'
        ? (answer.retryAfter ?? (answer.remaining === 0 ? answer.resetSeconds : undefined))
        : undefined;
    const waitMs = waitSeconds === undefined ? undefined : waitSeconds * 1000;
    // A throttle's server wait holds for the whole budget, whatever this call does (retry, give up, fail): a
    // Retry-After on a 429 or 503, or the reset of a 429 with nothing remaining. A quota reading on any other status
    // pauses too, but only until the earliest reset heard for that window (servers round the time left up), which
    // this model does not follow: it claims no pause for those.
    const throttle =
      answer.kind === 'status' && (status === 429 || (status === 503 && answer.retryAfter !== undefined));
    if (throttle && waitMs !== undefined && (!call.aborted || this.config.abortedAnswersPause)) {
      this.pauseUntil = Math.max(this.pauseUntil, now + waitMs);
    }
    const accepting = now - this.#lastAcceptedAt <= THROTTLING_MS;
    if (answer.kind === 'status' && status !== undefined && status < 500 && status !== 429) this.#lastAcceptedAt = now;
    if (call.aborted) {
      // Aborted while its fetch ran on: the answer ends it with the abort reason, and nothing else.
      this.#note('answer to an aborted attempt');
      this.#end(call, { how: 'aborted', reason: call.abortReason });
      return;
    }
    call.alternative = undefined;
    const decision = this.#decide(call, answer, now, waitMs, value, accepting);
    if (decision === 'rateLimit' || decision === 'error') {
      if (decision === 'rateLimit') {
        call.rateLimitRetries++;
        if (accepting && this.config.rateLimitLimit > 0) call.exemptible++;
      } else call.errorRetries++;
      // A retry after close is refused before it waits.
      this.#note(this.closed ? 'retry after close' : `${decision} retry`);
      if (this.closed) this.#end(call, { how: 'closed' });
      else call.phase = 'waiting';
    } else {
      this.#note(
        decision.how === 'rateLimited' ? `answer: RateLimitError(${decision.reason})` : `answer: ${decision.how}`,
      );
      this.#end(call, decision);
      // A throttle with its retries spent, while the server accepts others: the engine may retry it, exempt.
      call.mayRetry =
        (accepting || call.rateLimitRetries - call.exemptible < this.config.rateLimitLimit) &&
        this.config.rateLimitLimit > 0 &&
        decision.how === 'response' &&
        (status === 429 || status === 503) &&
        call.rateLimitRetries >= this.config.rateLimitLimit &&
        (status === 429 || idempotentSpec(call.spec));
    }
  }

  /** Retry (`'rateLimit'` or `'error'`, the counter it spends) or how the call ends. */
  #decide(
    call: ModelCall,
    answer: Answer,
    now: number,
    waitMs: number | undefined,
    value: unknown,
    accepting: boolean,
  ): Settlement | 'rateLimit' | 'error' {
    const { limit, rateLimitLimit, maxRetryAfter } = this.config;
    const end: Settlement =
      answer.kind === 'network' ? { how: 'error', error: value } : { how: 'response', response: value as Response };
    const idempotent = call.spec.method === 'GET' || call.spec.idempotencyKey;
    if (answer.kind === 'status') {
      const { status } = answer;
      // A 503 without timing while the server accepts other requests is throttling too (for an idempotent call).
      if (status === 429 || (status === 503 && (answer.retryAfter !== undefined || (accepting && idempotent)))) {
        // A throttle: within rateLimitLimit, never before the server's instant; a request that is not idempotent
        // only after a 429 (a 503 does not prove it was not processed).
        if (status === 503 && !idempotent) return end;
        const within: Settlement | 'rateLimit' =
          waitMs !== undefined && waitMs > maxRetryAfter
            ? { how: 'rateLimited', reason: 'max-retry-after' }
            : now + (waitMs ?? 0) > call.deadline
              ? { how: 'rateLimited', reason: 'max-wait' }
              : 'rateLimit';
        if (call.rateLimitRetries >= rateLimitLimit) {
          call.alternative = within;
          return end;
        }
        return within;
      }
      if (status !== 503) return end; // 200 and 404 are answers, not failures
    }
    // A 503 without Retry-After or a network error: retried only when idempotent, within limit.
    if (!idempotent || call.errorRetries >= limit) return end;
    if (waitMs !== undefined && waitMs > maxRetryAfter) return { how: 'rateLimited', reason: 'max-retry-after' };
    if (now + (waitMs ?? 0) > call.deadline) return end;
    return 'error';
  }

  /** The test aborted the signal of `id` with `reason`. */
  abort(id: number, reason: unknown): void {
    const call = this.calls[id]!;
    if (call.phase === 'settled' || call.phase === 'ending') return;
    call.aborted = true;
    call.abortReason = reason;
    if (call.phase === 'inFlight' && this.config.fetchIgnoresAbort) {
      this.#note('abort while inFlight, ignored by fetch');
      return;
    }
    this.#note(`abort while ${call.phase}`);
    this.#end(call, { how: 'aborted', reason });
  }

  /** The test closed the client: every call waiting for a turn fails; attempts in flight run on. */
  close(): void {
    this.closed = true;
    for (const call of this.inPhase('waiting')) this.#end(call, { how: 'closed' });
    if (this.inPhase('inFlight').length > 0) this.#note('close with attempts in flight');
  }

  /**
   * Ends a step: every call's promise (`observe`) against the model, the order of what was sent, the engine's own
   * counts (`engine`, from `rw.stats()`), and that nothing waits with nothing to wake it (`timers`: the clock's live
   * timers).
   */
  endStep(
    observe: (id: number) => Observed,
    timers: number,
    engine: { readonly queued: number; readonly inFlight: number },
  ): void {
    const { maxRetryAfter } = this.config;
    for (const call of this.calls) {
      const o = observe(call.id);
      if (call.phase === 'settled') continue;
      if (call.phase === 'ending' && call.mayRetry) {
        const alternative = call.alternative;
        if (o.state === 'pending' && alternative === 'rateLimit') {
          this.#exemptRetry(call);
          continue;
        }
        if (alternative !== undefined && alternative !== 'rateLimit' && matches(o, alternative)) {
          call.must = alternative;
          call.phase = 'settled';
          continue;
        }
        // Retried, then closed while it waited to go again.
        if (this.closed && matches(o, { how: 'closed' })) {
          call.must = { how: 'closed' };
          call.phase = 'settled';
          continue;
        }
      }
      if (call.phase === 'ending') {
        const must = call.must!;
        if (!matches(o, must)) {
          this.#violate(`call ${call.id} should have settled with ${show(must)}, but is ${showObserved(o)}`);
        }
        call.phase = 'settled';
        continue;
      }
      if (o.state === 'pending') continue;
      const before = call.phase;
      call.phase = 'settled';
      const how = showObserved(o);
      // Nothing decided this call's end in the step: only a wait that became too long may have ended it, while it
      // waited (an attempt in flight ends by its answer or its abort).
      if (before === 'inFlight') {
        this.#violate(`call ${call.id} settled (${how}) with an attempt in flight and unanswered`);
        continue;
      }
      if (o.state !== 'rejected' || !isRatewiseError(o.error, 'ERR_RATEWISE_RATE_LIMITED')) {
        this.#violate(`call ${call.id} settled with ${how}, though nothing in the step could settle it so`);
        continue;
      }
      const { reason } = o.error;
      this.#note(`waiting call failed: ${reason}`);
      if (reason === 'max-wait' && !(call.deadline < Infinity && o.at <= call.deadline)) {
        this.#violate(`call ${call.id} failed for maxWait at ${this.#at(o.at)}, deadline ${this.#at(call.deadline)}`);
      }
      if (reason === 'max-retry-after' && !(this.pauseUntil - o.at > maxRetryAfter)) {
        this.#violate(
          `call ${call.id} failed for maxRetryAfter at ${this.#at(o.at)}, pause until ${this.#at(this.pauseUntil)}`,
        );
      }
    }
    this.#checkOrder();
    const waiting = this.inPhase('waiting').length;
    const inFlight = this.inPhase('inFlight').length;
    if (engine.queued !== waiting || engine.inFlight !== inFlight) {
      this.#violate(
        `the engine counts ${engine.queued} queued and ${engine.inFlight} in flight, the model ${waiting} and ${inFlight}`,
      );
    }
    if (this.closed && (waiting > 0 || timers > 0)) {
      this.#violate(`after close, ${waiting} calls wait and ${timers} timers are live`);
    }
    if (waiting > 0 && inFlight === 0 && timers === 0) {
      this.#violate(`${waiting} calls wait with nothing in flight and no timer to wake them`);
    }
  }

  /**
   * Grants go to the head of the queue: highest priority first; within a priority, retries at the front (in an order
   * this model does not follow), then first attempts in the order they came. A call sent in this step must not have
   * passed one that waited through the whole step ahead of it.
   */
  #checkOrder(): void {
    for (const send of this.#sends) {
      const sent = this.calls[send.id]!;
      for (const id of this.#waitingAtStart) {
        const other = this.calls[id]!;
        if (id === send.id || other.phase !== 'waiting') continue;
        const ahead =
          other.spec.priority > sent.spec.priority ||
          (other.spec.priority === sent.spec.priority && send.firstAttempt && (other.attempts > 0 || id < send.id));
        if (!ahead) this.#note('sent while a call behind it waits');
        else this.#violate(`call ${send.id} was sent while call ${id}, ahead of it, kept waiting`);
      }
    }
  }
}

function idempotentSpec(spec: CallSpec): boolean {
  return spec.method === 'GET' || spec.idempotencyKey;
}
