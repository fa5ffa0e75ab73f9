// ratewise/otel's metrics, collected by the OpenTelemetry SDK's own reader, from clients talking to real servers on
// 127.0.0.1. The clients wait on a fake clock (the servers answer on the real one); each collection is a pull.
import { afterEach, describe, expect, test } from 'vitest';
import { createRatewise, type Ratewise, type RatewiseEvents } from 'ratewise';
import { instrument } from 'ratewise/otel';
import { FakeClock, settle } from '../support/fake-clock.js';
import { meterRig, pointsOf, total, type Collected } from '../support/otel.js';
import { startExpressServer, startScriptedServer, type TestServer } from '../support/servers.js';

const servers: TestServer[] = [];
const clients: Ratewise[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((rw) => rw.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve<T extends TestServer>(started: Promise<T>): Promise<T> {
  const server = await started;
  servers.push(server);
  return server;
}

function client(clock: FakeClock, options: Parameters<typeof createRatewise>[0] = {}): Ratewise {
  const rw = createRatewise({ clock, random: () => 0, loopGuard: false, ...options });
  clients.push(rw);
  return rw;
}

/** Every attribute value of every point, as text. */
function attributeValues(collected: Collected): string[] {
  return [...collected.values()].flatMap(({ points }) =>
    points.flatMap((point) => Object.values(point.attributes).map(String)),
  );
}

describe('against express-rate-limit (2 per minute)', () => {
  test('counts requests by status and outcome, retries and give-ups as the server and stats do', async () => {
    const server = await serve(startExpressServer({ limit: 2, windowMs: 60_000 }));
    const clock = new FakeClock(Date.now());
    const rw = client(clock, { retry: { rateLimitLimit: 2, maxRetryAfter: 120_000 } });
    const giveUps: RatewiseEvents['giveUp'][] = [];
    rw.on('giveUp', (event) => giveUps.push(event));
    const metrics = meterRig();
    instrument(rw, { meterProvider: metrics.provider });

    const statuses: number[] = [];
    // One route (calls of several routes would each go through a budget of their own once one is refused).
    for (const call of ['a', 'b', 'c']) {
      const response = await settle(clock, rw.fetch(`${server.url}/items?call=${call}&token=s3cret`));
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    // The third call waits out the server's window on the fake clock, while the server's own window goes on: it is
    // refused, retried and finally given up.
    expect(statuses).toEqual([200, 200, 429]);
    const hits = server.hits();
    const [budget] = rw.stats();
    const collected = await metrics.collect();

    expect(collected.get('ratewise.requests')?.unit).toBe('{request}');
    expect(total(collected, 'ratewise.requests')).toBe(hits.total);
    expect(total(collected, 'ratewise.requests', { 'http.response.status_code': 200, 'ratewise.outcome': 'ok' })).toBe(
      2,
    );
    expect(
      total(collected, 'ratewise.requests', { 'http.response.status_code': 429, 'ratewise.outcome': 'refused' }),
    ).toBe(hits.byStatus[429]);
    expect(pointsOf(collected, 'ratewise.requests').map((point) => Object.keys(point.attributes).sort())).toEqual(
      Array(2).fill(['http.response.status_code', 'ratewise.budget.pattern', 'ratewise.outcome']),
    );

    expect(budget?.counters.retries).toBeGreaterThan(0);
    expect(total(collected, 'ratewise.retries', { 'ratewise.budget.pattern': '*' })).toBe(budget?.counters.retries);
    expect(giveUps.map((event) => event.reason)).toEqual(['rate-limit-limit']);
    expect(pointsOf(collected, 'ratewise.give_ups')).toEqual([
      { attributes: { 'ratewise.budget.pattern': '*', 'ratewise.reason': 'rate-limit-limit' }, value: 1 },
    ]);

    // One wait per call; the third waited out the quota's reset and the Retry-After of its refusals (minutes).
    const [waits] = pointsOf(collected, 'ratewise.wait.duration');
    expect(collected.get('ratewise.wait.duration')?.unit).toBe('s');
    expect(waits?.value).toBe(3);
    expect(waits?.sum).toBeGreaterThan(60);
    // The refusal said nothing is left.
    expect(pointsOf(collected, 'ratewise.server.remaining')).toEqual([
      { attributes: { 'ratewise.budget.pattern': '*' }, value: 0 },
    ]);

    // Neither the URL nor any part of it: no scheme, host, port, path or query.
    const values = attributeValues(collected);
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) {
      expect(value).not.toMatch(/:\/\/|127\.0\.0\.1|\/[abc]|s3cret/);
      expect(value).not.toContain(String(server.port));
    }
  });
});

describe('queue, in flight and paused, read from the stats at each collection', () => {
  test('follow a held request, a queued one, and the pause a refusal orders', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = await serve(
      startScriptedServer(async ({ index }) => {
        if (index === 0) await held;
        if (index === 1) return { status: 429, headers: { 'retry-after': '30' } };
        // A quota described, plenty left: the budget paces by it rather than by what it learns from the refusal.
        return {
          headers: { 'ratelimit-limit': '100', 'ratelimit-remaining': '90', 'ratelimit-reset': '60' },
          json: {},
        };
      }),
    );
    const clock = new FakeClock(Date.now());
    const rw = client(clock, { budgets: { '127.0.0.1': { concurrency: 1 } } });
    const metrics = meterRig();
    instrument(rw, { meterProvider: metrics.provider });
    const gauges = async () => {
      const collected = await metrics.collect();
      const at = { 'ratewise.budget.pattern': '127.0.0.1' };
      return {
        queued: total(collected, 'ratewise.queue.size', at),
        inFlight: total(collected, 'ratewise.in_flight', at),
        paused: total(collected, 'ratewise.paused', at),
      };
    };

    const first = rw.fetch(`${server.url}/items?first`);
    const second = rw.fetch(`${server.url}/items?second`);
    await expect.poll(() => server.hits().total).toBe(1);
    expect(await gauges()).toEqual({ queued: 1, inFlight: 1, paused: 0 });

    release();
    await first;
    // The second is refused: its budget pauses for 30 s and the call waits in it, to be retried.
    await expect.poll(() => rw.stats()[0]?.pausedUntil).toBeDefined();
    expect(await gauges()).toEqual({ queued: 1, inFlight: 0, paused: 1 });

    expect((await settle(clock, second)).status).toBe(200);
    expect(await gauges()).toEqual({ queued: 0, inFlight: 0, paused: 0 });
    const collected = await metrics.collect();
    expect(collected.get('ratewise.queue.size')?.unit).toBe('{request}');
    expect(collected.get('ratewise.paused')?.unit).toBe('1');
  });
});

describe('opt-in attributes', () => {
  test('the budget key, the unit and the server’s bucket appear only when asked for', async () => {
    const server = await serve(
      startScriptedServer(() => ({
        headers: {
          // OpenAI's two quotas, and GitHub's name for the bucket a response counts against.
          'x-ratelimit-limit-requests': '500',
          'x-ratelimit-remaining-requests': '499',
          'x-ratelimit-reset-requests': '120ms',
          'x-ratelimit-limit-tokens': '30000',
          'x-ratelimit-remaining-tokens': '29000',
          'x-ratelimit-reset-tokens': '2s',
          'x-ratelimit-resource': 'core',
        },
        json: { ok: true },
      })),
    );
    const clock = new FakeClock(Date.now());
    const plain = meterRig();
    const detailed = meterRig();
    const rw = client(clock, { keyFn: () => 'tenant-42' });
    instrument(rw, { meterProvider: plain.provider });
    instrument(rw, {
      meterProvider: detailed.provider,
      attributes: ['ratewise.budget.key', 'ratewise.unit', 'ratewise.route.bucket'],
    });
    await (await rw.fetch(`${server.url}/x`)).arrayBuffer();

    const basic = await plain.collect();
    // The most restrictive quota, as parseRateLimit selects it.
    expect(pointsOf(basic, 'ratewise.server.remaining')).toEqual([
      { attributes: { 'ratewise.budget.pattern': '*' }, value: 499 },
    ]);
    expect(attributeValues(basic)).not.toContain('tenant-42');

    const full = await detailed.collect();
    const keyed = {
      'ratewise.budget.pattern': '*',
      'ratewise.budget.key': 'tenant-42',
      'ratewise.route.bucket': 'core',
    };
    expect(pointsOf(full, 'ratewise.server.remaining')).toEqual([
      { attributes: { ...keyed, 'ratewise.unit': 'requests' }, value: 499 },
      { attributes: { ...keyed, 'ratewise.unit': 'tokens' }, value: 29_000 },
    ]);
    expect(pointsOf(full, 'ratewise.requests')).toEqual([
      {
        attributes: {
          'ratewise.budget.pattern': '*',
          'ratewise.budget.key': 'tenant-42',
          'ratewise.outcome': 'ok',
          'http.response.status_code': 200,
        },
        value: 1,
      },
    ]);
  });

  test('an attribute it does not know is refused at once', () => {
    const rw = client(new FakeClock(Date.now()));
    expect(() => instrument(rw, { attributes: ['url.full' as never] })).toThrow(
      new TypeError(
        'ratewise/otel: attributes has "url.full"; the optional attributes are ratewise.budget.key, ratewise.unit, ratewise.route.bucket',
      ),
    );
    expect(() => instrument({} as Ratewise)).toThrow(TypeError);
  });
});

describe('detaching', () => {
  test('removes every listener and the stats callback it added; counting stops', async () => {
    const server = await serve(startScriptedServer(() => ({ json: { ok: true } })));
    const rw = client(new FakeClock(Date.now()));
    // The client as instrument() sees it, counting the listeners it holds and the stats it reads.
    let listeners = 0;
    let statsRead = 0;
    const watched: Ratewise = {
      ...rw,
      on(name, listener) {
        listeners++;
        const off = rw.on(name, listener);
        return () => {
          listeners--;
          off();
        };
      },
      stats() {
        statsRead++;
        return rw.stats();
      },
    };
    const metrics = meterRig();
    const detach = instrument(watched, { meterProvider: metrics.provider, spans: true });
    expect(listeners).toBeGreaterThan(0);
    await (await rw.fetch(`${server.url}/x`)).arrayBuffer();
    await metrics.collect();
    expect(statsRead).toBe(1);

    detach();
    detach();
    expect(listeners).toBe(0);
    await (await rw.fetch(`${server.url}/y`)).arrayBuffer();
    const after = await metrics.collect();
    expect(statsRead).toBe(1);
    expect(total(after, 'ratewise.requests')).toBe(1);
  });
});
