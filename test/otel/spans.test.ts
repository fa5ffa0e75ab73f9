// ratewise/otel's spans: one per wait inside ratewise and one per retry, children of the caller's active span, read
// from the OpenTelemetry SDK's in-memory exporter. A real server on 127.0.0.1; the client waits on a fake clock.
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createRatewise, type Ratewise } from 'ratewise';
import { instrument } from 'ratewise/otel';
import { FakeClock, settle } from '../support/fake-clock.js';
import { AsyncLocalContextManager, tracerRig } from '../support/otel.js';
import { startScriptedServer, type TestServer } from '../support/servers.js';

const manager = new AsyncLocalContextManager();
beforeAll(() => {
  context.setGlobalContextManager(manager);
});
afterAll(() => {
  context.disable();
});

const servers: TestServer[] = [];
const clients: Ratewise[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((rw) => rw.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A server refusing its second request with `Retry-After: 2` and answering every other one. */
async function refusingSecond(): Promise<TestServer> {
  const server = await startScriptedServer(({ index }) =>
    index === 1 ? { status: 429, headers: { 'retry-after': '2' } } : { json: { ok: true } },
  );
  servers.push(server);
  return server;
}

/** A client on a fake clock sending one request per second at most, with its spans in memory. */
function rig() {
  const clock = new FakeClock(Date.now());
  const rw = createRatewise({ clock, random: () => 0, budgets: { '*': { rate: '1/s', burst: 1 } } });
  clients.push(rw);
  const { provider, exporter } = tracerRig();
  const detach = instrument(rw, { tracerProvider: provider });
  return { clock, rw, exporter, detach, tracer: provider.getTracer('app'), t0: clock.now() };
}

const ms = (span: ReadableSpan, which: 'startTime' | 'endTime'): number =>
  span[which][0] * 1000 + Math.round(span[which][1] / 1e6);

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

describe('spans', () => {
  test('a wait for a turn, then a retry and the wait before it, under the caller’s span', async () => {
    const server = await refusingSecond();
    const { clock, rw, exporter, tracer, t0 } = rig();
    await (await rw.fetch(`${server.url}/first`)).arrayBuffer();
    exporter.reset();

    const caller = tracer.startSpan('caller');
    const call = context.with(trace.setSpan(context.active(), caller), () =>
      rw.fetch(`${server.url}/second?key=s3cret`),
    );
    expect((await settle(clock, call)).status).toBe(200);
    caller.end();

    const spans = exporter.getFinishedSpans().filter((span) => span.name !== 'caller');
    const callerId = caller.spanContext().spanId;
    const retry = spans.find((span) => span.name === 'ratewise retry');
    const turn = spans.find((span) => span.name === 'ratewise wait' && parentOf(span) === callerId);
    const backoff = spans.find((span) => span.name === 'ratewise wait' && parentOf(span) !== callerId);
    expect(spans).toHaveLength(3);
    // The wait for the rate's next token: 1 s, then the refused attempt.
    expect(turn).toMatchObject({ name: 'ratewise wait', status: { code: SpanStatusCode.UNSET } });
    expect(parentOf(turn!)).toBe(callerId);
    expect([ms(turn!, 'startTime') - t0, ms(turn!, 'endTime') - t0]).toEqual([0, 1000]);
    // The retry spans its wait (the server's 2 s) and its own attempt, which the server answered at once.
    expect(retry).toMatchObject({
      name: 'ratewise retry',
      attributes: {
        'ratewise.budget.pattern': '*',
        'http.request.method': 'GET',
        'http.request.resend_count': 1,
        'http.response.status_code': 200,
        'ratewise.outcome': 'ok',
      },
    });
    expect(parentOf(retry!)).toBe(callerId);
    expect([ms(retry!, 'startTime') - t0, ms(retry!, 'endTime') - t0]).toEqual([1000, 3000]);
    expect(backoff).toMatchObject({ name: 'ratewise wait', attributes: { 'http.request.method': 'GET' } });
    expect(parentOf(backoff!)).toBe(retry!.spanContext().spanId);
    expect([ms(backoff!, 'startTime') - t0, ms(backoff!, 'endTime') - t0]).toEqual([1000, 3000]);
    for (const span of spans) {
      expect(span.spanContext().traceId).toBe(caller.spanContext().traceId);
      expect(JSON.stringify(span.attributes)).not.toMatch(/127\.0\.0\.1|second|s3cret/);
    }
  });

  test('a call that ends while it waits ends its spans in error, named by the error’s code', async () => {
    const server = await refusingSecond();
    const { clock, rw, exporter } = rig();
    await (await rw.fetch(`${server.url}/first`)).arrayBuffer();
    clock.advance(1000);
    const call = rw.fetch(`${server.url}/second`);
    call.catch(() => undefined);
    await expect.poll(() => rw.stats()[0]?.pausedUntil).toBeDefined();
    clock.advance(500);
    await rw.close();
    await expect(call).rejects.toMatchObject({ code: 'ERR_RATEWISE_CLOSED' });

    const spans = exporter.getFinishedSpans();
    const retry = spans.find((span) => span.name === 'ratewise retry');
    const wait = spans.find((span) => span.name === 'ratewise wait');
    const failed = { code: SpanStatusCode.ERROR, message: 'ERR_RATEWISE_CLOSED' };
    expect(retry).toMatchObject({ status: failed, attributes: { 'http.request.resend_count': 1 } });
    expect(wait).toMatchObject({ status: failed });
    expect(parentOf(wait!)).toBe(retry!.spanContext().spanId);
    // No caller span: the retry is a root.
    expect(parentOf(retry!)).toBeUndefined();
    expect(ms(wait!, 'endTime') - ms(wait!, 'startTime')).toBe(500);
  });

  test('none without a tracer provider or `spans: true`; none after detaching', async () => {
    const server = await refusingSecond();
    const { rw, exporter, detach } = rig();
    const { provider: global, exporter: globalExporter } = tracerRig();
    trace.setGlobalTracerProvider(global);
    try {
      instrument(rw);
      detach();
      await (await rw.fetch(`${server.url}/first`)).arrayBuffer();
      expect(exporter.getFinishedSpans()).toEqual([]);
      expect(globalExporter.getFinishedSpans()).toEqual([]);
    } finally {
      trace.disable();
    }
  });
});
