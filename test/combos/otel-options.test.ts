// `ratewise/otel` given options a hurried user could write (null, a misspelt key, a provider that is not one, a
// provider that throws), and clients closed before or after `instrument`: a bad option is a TypeError naming it,
// a failed `instrument` leaves nothing attached, and a call's outcome never depends on the instruments.
import { afterEach, expect, test, vi } from 'vitest';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { createRatewise, type Ratewise } from '../../src/index.js';
import { instrument, type InstrumentOptions } from '../../src/otel/instrument.js';
import { meterRig, tracerRig } from '../support/otel.js';
import { startScriptedServer, type TestServer } from '../support/servers.js';

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((resource) => resource.close()));
});

async function setup(): Promise<{ rw: Ratewise; server: TestServer }> {
  const server = await startScriptedServer(() => ({ body: 'ok' }));
  const rw = createRatewise({ loopGuard: false });
  opened.push(server, rw);
  return { rw, server };
}

const requestsCounted = async (rig: ReturnType<typeof meterRig>): Promise<number> =>
  ((await rig.collect()).get('ratewise.requests')?.points ?? []).reduce((sum, point) => sum + point.value, 0);

test.each<[string, unknown, RegExp]>([
  ['null', null, /instrument\(\)'s options must be an object, got null/],
  ['a string', 'spans', /instrument\(\)'s options must be an object, got "spans"/],
  ['a misspelt key', { tracerprovider: {} }, /no option "tracerprovider"; its options are meterProvider, /],
  ['a meterProvider without getMeter', { meterProvider: {} }, /meterProvider must be an OpenTelemetry MeterProvider/],
  ['a meterProvider of null', { meterProvider: null }, /meterProvider must be .* got null/],
  ['a tracerProvider without getTracer', { tracerProvider: { getMeter() {} } }, /tracerProvider must be an/],
  ['spans as a string', { spans: 'yes' }, /spans must be true or false, got "yes"/],
  ['attributes as a string', { attributes: 'ratewise.budget.key' }, /attributes must be an array .* got "ratewise/],
  ['attributes as a number', { attributes: 5 }, /attributes must be an array of attribute names, got number/],
])('options that are %s: a TypeError naming them, and nothing attached', async (_, options, message) => {
  const { rw, server } = await setup();
  expect(() => instrument(rw, options as InstrumentOptions)).toThrow(TypeError);
  expect(() => instrument(rw, options as InstrumentOptions)).toThrow(message);
  // Nothing listens: the client's events go nowhere (the global meter provider is the no-op one).
  expect((await rw.fetch(server.url)).status).toBe(200);
});

test('a tracer provider that throws: instrument() throws its error and leaves no listener or callback behind', async () => {
  const { rw, server } = await setup();
  const rig = meterRig();
  const failing: TracerProvider = {
    getTracer() {
      throw new Error('no tracer today');
    },
  };
  expect(() => instrument(rw, { meterProvider: rig.provider, tracerProvider: failing })).toThrow('no tracer today');
  expect((await rw.fetch(server.url)).status).toBe(200);
  expect(await requestsCounted(rig)).toBe(0);
  // The stats callback is not registered either: no queue or in-flight points for the budget now there.
  expect((await rig.collect()).get('ratewise.in_flight')?.points ?? []).toEqual([]);
});

test('a meter whose batch callback cannot be added: the listeners added before it are removed', async () => {
  const { rw, server } = await setup();
  const rig = meterRig();
  const real = rig.provider.getMeter('ratewise');
  const meterProvider: MeterProvider = {
    getMeter: () =>
      new Proxy(real, {
        get: (target, name, receiver): unknown =>
          name === 'addBatchObservableCallback'
            ? () => {
                throw new Error('callbacks refused');
              }
            : Reflect.get(target, name, receiver),
      }),
  };
  expect(() => instrument(rw, { meterProvider })).toThrow('callbacks refused');
  expect((await rw.fetch(server.url)).status).toBe(200);
  expect(await requestsCounted(rig)).toBe(0);
});

test('instruments that throw on every record: each call settles once, as without them', async () => {
  const { rw, server } = await setup();
  const reported = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const rig = meterRig();
  const real = rig.provider.getMeter('ratewise');
  const broken = (): never => {
    throw new Error('exporter down');
  };
  const meterProvider: MeterProvider = {
    getMeter: () =>
      new Proxy(real, {
        get: (target, name, receiver): unknown =>
          typeof name === 'string' && /^create(Counter|Histogram|Gauge)$/.test(name)
            ? () => ({ add: broken, record: broken })
            : Reflect.get(target, name, receiver),
      }),
  };
  const detach = instrument(rw, { meterProvider });
  let settledCount = 0;
  const answers = await Promise.all(
    Array.from({ length: 5 }, (_, i) => rw.fetch(`${server.url}/${i}`).finally(() => settledCount++)),
  );
  expect(answers.map(({ status }) => status)).toEqual([200, 200, 200, 200, 200]);
  expect(settledCount).toBe(5);
  expect(reported).toHaveBeenCalled();
  detach();
  detach();
});

test('a client closed before or after instrument(): collections still work, and detach removes everything', async () => {
  const { rw, server } = await setup();
  const rig = meterRig();
  const detach = instrument(rw, { meterProvider: rig.provider });
  expect((await rw.fetch(server.url)).status).toBe(200);
  await rw.close();
  expect(await requestsCounted(rig)).toBe(1);
  detach();
  const late = meterRig();
  const detachLate = instrument(rw, { meterProvider: late.provider, spans: false, attributes: [] });
  await expect(rw.fetch(server.url)).rejects.toMatchObject({ code: 'ERR_RATEWISE_CLOSED' });
  expect(await requestsCounted(late)).toBe(0);
  detachLate();
});

test("each option is read once, and a provider's getMeter and getTracer too: the ones checked are the ones called", async () => {
  const { rw, server } = await setup();
  const rig = meterRig();
  const traces = tracerRig();
  const reads: Record<string, number> = {};
  /** `provider`'s `method`, bound to it, given once: a second read throws. */
  const once = <P extends object>(provider: P, method: keyof P & string): P =>
    new Proxy(provider, {
      get(target, key, receiver): unknown {
        if (key !== method) return Reflect.get(target, key, receiver);
        reads[method] = (reads[method] ?? 0) + 1;
        if (reads[method] > 1) throw new Error(`${method} read again`);
        // Called on the provider itself: an SDK's providers are classes whose methods use `this`.
        return Reflect.get(target, key, target);
      },
    });
  const options = new Proxy(
    { meterProvider: once(rig.provider, 'getMeter'), tracerProvider: once(traces.provider, 'getTracer') },
    {
      get(target, key, receiver): unknown {
        if (typeof key === 'string') reads[key] = (reads[key] ?? 0) + 1;
        return Reflect.get(target, key, receiver) as unknown;
      },
    },
  );
  const detach = instrument(rw, options);
  expect((await rw.fetch(`${server.url}/x`)).status).toBe(200);
  expect(await requestsCounted(rig)).toBe(1);
  expect(reads).toEqual({ meterProvider: 1, tracerProvider: 1, spans: 1, attributes: 1, getMeter: 1, getTracer: 1 });
  detach();
});
