/**
 * The OpenTelemetry SDK as the `ratewise/otel` tests use it: a meter provider whose metrics are collected on demand
 * (no export interval, no timer), a tracer provider that keeps finished spans in memory, and a context manager on
 * AsyncLocalStorage, so that a caller's active span follows its calls as it does under the Node SDK.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, type Attributes, type Context, type ContextManager } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** A reader that collects only when told: each `collect()` is one pull of every instrument, callbacks included. */
class ManualReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** One data point of a collected metric: its attributes and its value (a histogram's count and sum). */
export interface Point {
  readonly attributes: Attributes;
  readonly value: number;
  /** A histogram's sum; undefined for the other kinds. */
  readonly sum?: number;
}

/** One collection: every metric by name, with its unit and points. */
export type Collected = ReadonlyMap<string, { readonly unit: string; readonly points: readonly Point[] }>;

/** A meter provider with a reader collected on demand. */
export function meterRig(): { readonly provider: MeterProvider; collect(): Promise<Collected> } {
  const reader = new ManualReader();
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new AggregateError(errors, 'collecting metrics failed');
      return byName(resourceMetrics);
    },
  };
}

function byName(resourceMetrics: ResourceMetrics): Collected {
  const out = new Map<string, { unit: string; points: Point[] }>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      const points = metric.dataPoints.map((point): Point => {
        if (metric.dataPointType === DataPointType.HISTOGRAM) {
          const { count, sum } = point.value as { count: number; sum?: number };
          return sum === undefined
            ? { attributes: point.attributes, value: count }
            : { attributes: point.attributes, value: count, sum };
        }
        return { attributes: point.attributes, value: point.value as number };
      });
      out.set(metric.descriptor.name, { unit: metric.descriptor.unit, points });
    }
  }
  return out;
}

/** The sum of a metric's values over the points whose attributes include `match` (0 when there are none). */
export function total(collected: Collected, name: string, match: Attributes = {}): number {
  return pointsOf(collected, name, match).reduce((sum, point) => sum + point.value, 0);
}

/** A metric's points whose attributes include `match`. */
export function pointsOf(collected: Collected, name: string, match: Attributes = {}): readonly Point[] {
  const points = collected.get(name)?.points ?? [];
  return points.filter((point) => Object.entries(match).every(([k, v]) => point.attributes[k] === v));
}

/** A tracer provider whose finished spans stay in memory. */
export function tracerRig(): { readonly provider: BasicTracerProvider; readonly exporter: InMemorySpanExporter } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { provider, exporter };
}

/** The active context kept in AsyncLocalStorage: what the Node SDK's default context manager does. */
export class AsyncLocalContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.#storage.run(context, () => fn.call(thisArg, ...args));
  }

  bind<T>(_context: Context, target: T): T {
    return target;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#storage.disable();
    return this;
  }
}
