/**
 * OpenTelemetry metrics and spans of a ratewise client: {@link instrument}. Needs `@opentelemetry/api` (an optional
 * peer dependency of ratewise) and, to see anything, an OpenTelemetry SDK set up by the application.
 * @module ratewise/otel
 */
// A client's events and stats as OpenTelemetry instruments and spans. It only listens: the client works the same
// with it or without it. OpenTelemetry has no conventions for rate limiting, so the names are ratewise's own; the
// HTTP attributes are OpenTelemetry's. Attributes are bounded by default (a budget's pattern comes from the
// options); what may be unbounded or per tenant (budget keys, units and buckets the servers name) is opt-in. No
// attribute ever holds a URL or a credential.
import {
  context,
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
  ValueType,
  type Attributes,
  type BatchObservableCallback,
  type Context,
  type Meter,
  type MeterProvider,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { Ratewise, RatewiseEvents } from '../index.js';

/** The attributes a user may add to the default `ratewise.budget.pattern`; each may take many values. */
export type OptionalAttribute =
  /** The budget key (an origin, or what `keyFn` or `ratewise.key` named: per tenant, per credential fingerprint). */
  | 'ratewise.budget.key'
  /** On `ratewise.server.remaining`: one value per quota unit the server names (`requests`, `tokens`, …). */
  | 'ratewise.unit'
  /** On `ratewise.server.remaining`: the server's own quota bucket (GitHub `x-ratelimit-resource`, Discord bucket). */
  | 'ratewise.route.bucket';

const OPTIONAL_ATTRIBUTES: readonly OptionalAttribute[] = [
  'ratewise.budget.key',
  'ratewise.unit',
  'ratewise.route.bucket',
];

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /**
   * Where the metrics go.
   * @default the global meter provider (`metrics.getMeterProvider()`, a no-op until an SDK registers one)
   */
  readonly meterProvider?: MeterProvider;
  /**
   * Where the spans go. Giving one turns spans on.
   * @default the global tracer provider, used only with `spans: true`
   */
  readonly tracerProvider?: TracerProvider;
  /**
   * Whether to record spans: one per wait inside ratewise (`ratewise wait`) and one per retry (`ratewise retry`),
   * children of the caller's active span.
   * @default true with a `tracerProvider`, false without
   */
  readonly spans?: boolean;
  /**
   * Attributes added to `ratewise.budget.pattern`, which is always there. Each can take as many values as there are
   * budget keys or as servers name, so each is opt-in.
   * @default [] (the pattern only)
   */
  readonly attributes?: readonly OptionalAttribute[];
}

/** The instrumentation scope's name, for meters and tracers. */
const SCOPE = 'ratewise';

/** Upper bounds of the wait histogram's buckets, in seconds: from a brief wait for a turn to a long pause. */
const WAIT_BUCKETS_S = [0, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Budget keys whose patterns are remembered from the `attempt` events, at most. */
const PATTERNS_KEPT = 1000;

/**
 * Records what `rw` does as OpenTelemetry metrics (and spans, when asked), until the returned function is called:
 * it removes every listener and callback this call added. Instrumenting a client twice counts everything twice.
 *
 * Metrics (attributes: `ratewise.budget.pattern`, plus the opted-in ones):
 * - `ratewise.requests` counter `{request}`: attempts sent, retries included, with `ratewise.outcome` (`ok`,
 *   `refused`, `error`) and `http.response.status_code` when a response came;
 * - `ratewise.retries` counter `{retry}`; `ratewise.give_ups` counter `{call}`, with `ratewise.reason`;
 * - `ratewise.wait.duration` histogram `s`: how long each call waited inside ratewise (queue, pauses, backoffs);
 * - `ratewise.queue.size` and `ratewise.in_flight` up-down counters `{request}`, `ratewise.paused` gauge (1 while
 *   a budget sends nothing until an instant: `pausedUntil` in `rw.stats()`), read from the stats at each collection;
 * - `ratewise.server.remaining` gauge `{unit}`: what the server last said is left, per unit with `ratewise.unit`.
 *
 * Throws `TypeError`, naming the option, for options that are not an object, an option it does not know, or one of
 * the wrong kind (a provider without `getMeter` or `getTracer`, `spans` not a boolean, `attributes` not an array);
 * nothing is attached then. A provider that throws while `instrument` sets up leaves nothing attached either.
 */
export function instrument(rw: Ratewise, options: InstrumentOptions = {}): () => void {
  const given = rw as Partial<Ratewise> | null;
  if (
    typeof given !== 'object' ||
    given === null ||
    typeof given.on !== 'function' ||
    typeof given.stats !== 'function'
  ) {
    throw new TypeError(`ratewise/otel: instrument() expects a ratewise client, got ${describe(rw)}`);
  }
  const { getMeter, getTracer, spans, attributes } = checkOptions(options);
  const optional = new Set<unknown>(attributes);
  for (const name of optional) {
    if (!(OPTIONAL_ATTRIBUTES as readonly unknown[]).includes(name)) {
      throw new TypeError(
        `ratewise/otel: attributes has ${describe(name)}; the optional attributes are ${OPTIONAL_ATTRIBUTES.join(', ')}`,
      );
    }
  }
  const withKey = optional.has('ratewise.budget.key');
  const attributesOf = (key: string, pattern: string): Attributes =>
    withKey
      ? { 'ratewise.budget.pattern': pattern, 'ratewise.budget.key': key }
      : { 'ratewise.budget.pattern': pattern };

  // The engine's events name a budget by its key; its pattern comes with each attempt, which precedes the retry,
  // give-up and rate-limit information it leads to. Without it (a call begun before `instrument`), the stats say.
  const patterns = new Map<string, string>();
  const remember = (key: string, pattern: string): void => {
    if (patterns.get(key) === pattern) return;
    if (patterns.size >= PATTERNS_KEPT) patterns.clear();
    patterns.set(key, pattern);
  };
  const patternOf = (key: string): string => {
    const known = patterns.get(key);
    if (known !== undefined) return known;
    const budget = rw.stats().find((b) => b.key === key);
    if (budget !== undefined) remember(key, budget.pattern);
    return budget?.pattern ?? '*';
  };

  const offs: (() => void)[] = [];
  const on = <K extends keyof RatewiseEvents>(name: K, listener: (event: RatewiseEvents[K]) => void): void => {
    offs.push(rw.on(name, listener));
  };

  // Everything a provider may throw from comes before the first listener: a failed call leaves nothing attached.
  let tracer: Tracer | undefined;
  if (spans ?? getTracer !== undefined) {
    tracer = getTracer !== undefined ? getTracer(SCOPE) : trace.getTracerProvider().getTracer(SCOPE);
  }
  const meter = getMeter !== undefined ? getMeter(SCOPE) : metrics.getMeterProvider().getMeter(SCOPE);
  const requests = meter.createCounter('ratewise.requests', {
    unit: '{request}',
    description: 'Requests sent by ratewise, retries included',
    valueType: ValueType.INT,
  });
  const retries = meter.createCounter('ratewise.retries', {
    unit: '{retry}',
    description: 'Retries ratewise decided on',
    valueType: ValueType.INT,
  });
  const giveUps = meter.createCounter('ratewise.give_ups', {
    unit: '{call}',
    description: 'Calls that failed for good without a retry they wanted',
    valueType: ValueType.INT,
  });
  const waits = meter.createHistogram('ratewise.wait.duration', {
    unit: 's',
    description: 'Time a call spent waiting inside ratewise: in its queue, in pauses, in backoffs',
    advice: { explicitBucketBoundaries: WAIT_BUCKETS_S },
  });
  const remaining = meter.createGauge('ratewise.server.remaining', {
    unit: '{unit}',
    description: 'Quota the server last said is left',
  });
  const queued = meter.createObservableUpDownCounter('ratewise.queue.size', {
    unit: '{request}',
    description: 'Requests waiting for a turn, retries backing off included',
    valueType: ValueType.INT,
  });
  const inFlight = meter.createObservableUpDownCounter('ratewise.in_flight', {
    unit: '{request}',
    description: 'Requests sent and not yet answered',
    valueType: ValueType.INT,
  });
  const paused = meter.createObservableGauge('ratewise.paused', {
    unit: '1',
    description: "1 while a budget sends nothing until an instant (a refusal's pause, a spent quota's reset), else 0",
    valueType: ValueType.INT,
  });

  let attached = true;
  let observing = false;
  const detach = (): void => {
    if (!attached) return;
    attached = false;
    for (const off of offs) off();
    if (observing) meter.removeBatchObservableCallback(observe, observables);
  };

  on('attempt', ({ key, pattern, status, outcome }) => {
    remember(key, pattern);
    const attributes = attributesOf(key, pattern);
    attributes['ratewise.outcome'] = outcome;
    if (status !== undefined) attributes['http.response.status_code'] = status;
    requests.add(1, attributes);
  });
  on('retry', ({ key }) => {
    retries.add(1, attributesOf(key, patternOf(key)));
  });
  on('giveUp', ({ key, reason }) => {
    const attributes = attributesOf(key, patternOf(key));
    attributes['ratewise.reason'] = reason;
    giveUps.add(1, attributes);
  });
  on('settled', ({ key, pattern, waitedMs }) => {
    waits.record(waitedMs / 1000, attributesOf(key, pattern));
  });
  const withUnit = optional.has('ratewise.unit');
  const withBucket = optional.has('ratewise.route.bucket');
  on('rateLimitInfo', ({ key, info }) => {
    const attributes = attributesOf(key, patternOf(key));
    if (withBucket && info.bucket !== undefined) attributes['ratewise.route.bucket'] = info.bucket;
    if (!withUnit) {
      if (info.remaining !== undefined) remaining.record(info.remaining, attributes);
      return;
    }
    // Several policies may count the same unit (per second, per hour): the least left is what holds requests back.
    const least = new Map<string, number>();
    for (const { unit, remaining: left } of info.policies) {
      if (left !== undefined) least.set(unit, Math.min(least.get(unit) ?? Infinity, left));
    }
    for (const [unit, left] of least) remaining.record(left, { ...attributes, 'ratewise.unit': unit });
  });

  const observe: BatchObservableCallback = (result) => {
    const groups = new Map<string, { attributes: Attributes; queued: number; inFlight: number; paused: number }>();
    for (const budget of rw.stats()) {
      const id = withKey ? budget.key : budget.pattern;
      let group = groups.get(id);
      if (group === undefined) {
        group = { attributes: attributesOf(budget.key, budget.pattern), queued: 0, inFlight: 0, paused: 0 };
        groups.set(id, group);
      }
      group.queued += budget.queued;
      group.inFlight += budget.inFlight;
      // Over several budgets of one pattern: 1 while any of them is paused.
      if (budget.pausedUntil !== undefined) group.paused = 1;
    }
    for (const group of groups.values()) {
      result.observe(queued, group.queued, group.attributes);
      result.observe(inFlight, group.inFlight, group.attributes);
      result.observe(paused, group.paused, group.attributes);
    }
  };
  const observables = [queued, inFlight, paused];
  try {
    meter.addBatchObservableCallback(observe, observables);
    observing = true;
  } catch (error) {
    detach();
    throw error;
  }

  if (tracer !== undefined) {
    on('attempt', ({ key, pattern, method, attempt, status, outcome, sentAt, waitedMs, durationMs }) => {
      const attributes = attributesOf(key, pattern);
      attributes['http.request.method'] = method;
      const waitFrom = sentAt - waitedMs;
      let parent = context.active();
      if (attempt > 1) {
        const retry = attributesOf(key, pattern);
        retry['http.request.method'] = method;
        retry['http.request.resend_count'] = attempt - 1;
        retry['ratewise.outcome'] = outcome;
        if (status !== undefined) retry['http.response.status_code'] = status;
        // From the answer that led to the retry to the retry's own answer: its wait, then its attempt.
        parent = span(tracer, parent, 'ratewise retry', retry, waitFrom, sentAt + durationMs, outcome === 'error');
      }
      if (waitedMs > 0) span(tracer, parent, 'ratewise wait', attributes, waitFrom, sentAt, undefined);
    });
    on('settled', ({ key, pattern, method, attempts, error, startedAt, durationMs, lastWaitMs }) => {
      if (lastWaitMs <= 0) return;
      // The call ended while it waited (before its first attempt, or before a retry): those spans end in failure.
      const end = startedAt + durationMs;
      const from = end - lastWaitMs;
      const failure = errorName(error);
      const attributes = attributesOf(key, pattern);
      attributes['http.request.method'] = method;
      let parent = context.active();
      if (attempts > 0) {
        const retry = { ...attributes, 'http.request.resend_count': attempts };
        parent = span(tracer, parent, 'ratewise retry', retry, from, end, failure);
      }
      span(tracer, parent, 'ratewise wait', attributes, from, end, failure);
    });
  }

  return detach;
}

const OPTION_NAMES: readonly string[] = ['meterProvider', 'tracerProvider', 'spans', 'attributes'];

/**
 * The options as read, each once: a provider's `getMeter` or `getTracer` is the function checked, called on the
 * provider (a getter read again could answer something else, or throw).
 */
function checkOptions(options: unknown): {
  getMeter: ((scope: string) => Meter) | undefined;
  getTracer: ((scope: string) => Tracer) | undefined;
  spans: boolean | undefined;
  attributes: readonly unknown[];
} {
  if (options === undefined) return { getMeter: undefined, getTracer: undefined, spans: undefined, attributes: [] };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`ratewise/otel: instrument()'s options must be an object, got ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.includes(name)) {
      throw new TypeError(
        `ratewise/otel: instrument() has no option ${describe(name)}; its options are ${OPTION_NAMES.join(', ')}`,
      );
    }
  }
  const { meterProvider, tracerProvider, spans, attributes } = options as Record<string, unknown>;
  const provider = (value: unknown, name: string, method: string): ((scope: string) => unknown) | undefined => {
    if (value === undefined) return undefined;
    const found = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[method] : undefined;
    if (typeof found !== 'function') {
      throw new TypeError(
        `ratewise/otel: ${name} must be an OpenTelemetry ${name === 'meterProvider' ? 'MeterProvider' : 'TracerProvider'} (with ${method}()), got ${describe(value)}`,
      );
    }
    return (scope) => (found as (this: unknown, scope: string) => unknown).call(value, scope);
  };
  const getMeter = provider(meterProvider, 'meterProvider', 'getMeter') as ((scope: string) => Meter) | undefined;
  const getTracer = provider(tracerProvider, 'tracerProvider', 'getTracer') as ((scope: string) => Tracer) | undefined;
  if (spans !== undefined && typeof spans !== 'boolean') {
    throw new TypeError(`ratewise/otel: spans must be true or false, got ${describe(spans)}`);
  }
  if (attributes !== undefined && !Array.isArray(attributes)) {
    throw new TypeError(`ratewise/otel: attributes must be an array of attribute names, got ${describe(attributes)}`);
  }
  return { getMeter, getTracer, spans, attributes: attributes ?? [] };
}

/**
 * Records one span from `from` to `to` (epoch ms, ratewise's clock), a child of `parent`; returns the context it is
 * the active span of. `failed`: the span ends in error, described by a name or code, never by a message (which
 * could quote a URL).
 */
function span(
  tracer: Tracer,
  parent: Context,
  name: string,
  attributes: Attributes,
  from: number,
  to: number,
  failed: boolean | string | undefined,
): Context {
  const started = tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: new Date(from), attributes }, parent);
  if (failed !== undefined && failed !== false) {
    started.setStatus(
      typeof failed === 'string' ? { code: SpanStatusCode.ERROR, message: failed } : { code: SpanStatusCode.ERROR },
    );
  }
  started.end(new Date(to));
  return trace.setSpan(parent, started);
}

/** What ended a call, for a span's status: a ratewise error's code, or an error's name; never its message. */
function errorName(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { code, name } = error as { code?: unknown; name?: unknown };
    if (typeof code === 'string') return code;
    if (typeof name === 'string') return name;
  }
  return 'error';
}

/** A value as an error message shows it: its type, or a short string's text. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value;
}
