// `cost`: a finite non-negative number, checked alike by every entry point. A cost above the burst is paid as debt,
// and however large that debt, the wait it causes is computed (a finite instant, armed in timer-sized steps), never
// searched for: no call's running time grows with the size of a number.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import axios, { type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { describe, expect, it, onTestFinished } from 'vitest';
import { withRatewise } from '../../src/adapters/axios.js';
import { installRatewise } from '../../src/adapters/undici.js';
import { MAX_TIMER_DELAY_MS } from '../../src/clock.js';
import { isRatewiseError, RateLimitError, type Ratewise } from '../../src/index.js';
import { startScriptedServer } from '../support/servers.js';
import { advance, flush, ok, rig, T0, tooMany, track } from './support/harness.js';

const BAD_COSTS: readonly (readonly [unknown, string])[] = [
  [Number.NaN, '`NaN` (number)'],
  [Infinity, '`Infinity` (number)'],
  [-Infinity, '`-Infinity` (number)'],
  [-1, '`-1` (number)'],
  ['1', '`"1"` (string)'],
  [null, '`null` (null)'],
];

/** An axios instance throttled by `rw` whose adapter answers 200 in-process. */
function axiosOf(rw: Ratewise) {
  return withRatewise(
    axios.create({
      adapter: (config: InternalAxiosRequestConfig): Promise<AxiosResponse> =>
        Promise.resolve({ data: 'ok', status: 200, statusText: 'OK', headers: {}, config }),
    }),
    rw,
  );
}

describe('a cost that is not a finite non-negative number', () => {
  it.each(BAD_COSTS)('rw.schedule rejects cost %s with a TypeError, and the task never runs', async (cost, shown) => {
    const { rw, clock } = rig({ budgets: { slow: { rate: '2/s', burst: 2 } } });
    let ran = 0;
    const call = rw.schedule(() => ran++, { key: 'slow', cost: cost as number });
    await expect(call).rejects.toThrow(
      new TypeError(`Expected \`options.cost\` to be a non-negative finite number, got ${shown}`),
    );
    expect(ran).toBe(0);
    // The budget is untouched: the next task runs at once.
    await expect(rw.schedule(() => 'next', { key: 'slow' })).resolves.toBe('next');
    expect(rw.stats()[0]?.bucketLevel).toBe(1);
    expect(clock.pending()).toBe(0);
  });

  it.each(BAD_COSTS)(
    'rw.fetch and axios reject cost %j with the same message, and send nothing',
    async (cost, shown) => {
      const { rw, server } = rig();
      const message = `to be a non-negative finite number, or a record of them per unit, got ${shown}`;
      await expect(rw.fetch('https://a.test/', { ratewise: { cost: cost as number } })).rejects.toThrow(
        new TypeError(`Expected \`ratewise.cost\` ${message}`),
      );
      await expect(axiosOf(rw).get('https://a.test/', { ratewise: { cost: cost as number } })).rejects.toThrow(
        `Expected \`ratewise.cost\` ${message}`,
      );
      expect(server.calls).toHaveLength(0);
      expect(rw.stats()).toEqual([]);
    },
  );
});

describe('a cost above the burst is paid as debt', () => {
  it('a task of cost 25 at 10/s goes at once, and the next waits 1.6 s for the debt to be repaid', async () => {
    const { rw, clock } = rig({ budgets: { jobs: { rate: '10/s' } } });
    const ranAt: number[] = [];
    await rw.schedule(() => ranAt.push(clock.now()), { key: 'jobs', cost: 25 });
    const next = track(
      rw.schedule(() => ranAt.push(clock.now()), { key: 'jobs' }),
      clock,
    );
    await advance(clock, 2000);
    expect(next.state).toBe('fulfilled');
    expect(ranAt.map((at) => at - T0)).toEqual([0, 1600]);
  });

  it('rw.fetch: after a cost of 1e16 at 10/s the next call is refused by maxWait at once, with the computed instant', async () => {
    const { rw, clock, server } = rig({ budgets: { 'a.test': { rate: '10/s' } } });
    await rw.fetch('https://a.test/', { ratewise: { cost: 1e16 } });
    expect(rw.stats()[0]?.bucketLevel).toBe(10 - 1e16);
    const refused = track(rw.fetch('https://a.test/', { ratewise: { maxWait: 5000 } }), clock);
    await flush();
    expect(refused.error).toBeInstanceOf(RateLimitError);
    // The debt over the rate: about 1e16 tokens at 10 per second.
    const { retryAt } = refused.error as RateLimitError;
    expect(retryAt).toBeGreaterThan(T0 + 0.99e18);
    expect(retryAt).toBeLessThan(T0 + 1.01e18);
    expect(server.calls).toHaveLength(1);
  });

  it('a call waiting out a huge debt waits on a timer of at most the longest host delay, re-armed as it fires', async () => {
    const { rw, clock, server } = rig({ budgets: { 'a.test': { rate: '10/s' } } });
    await rw.fetch('https://a.test/', { ratewise: { cost: 1e16 } });
    const waiting = track(rw.fetch('https://a.test/'), clock);
    await flush();
    expect(clock.scheduled).toEqual([MAX_TIMER_DELAY_MS]);
    await advance(clock, MAX_TIMER_DELAY_MS);
    expect(clock.scheduled).toEqual([MAX_TIMER_DELAY_MS, MAX_TIMER_DELAY_MS]);
    expect(waiting.state).toBe('pending');
    expect(server.calls).toHaveLength(1);
    await rw.close();
    expect(waiting.state).toBe('rejected');
    expect(clock.pending()).toBe(0);
  });

  it('rw.schedule: a cost of 1e300 runs once; the next task is refused by maxWait at once', async () => {
    const { rw, clock } = rig({ budgets: { slow: { rate: '2/s', burst: 2 } } });
    await expect(rw.schedule(() => 'paid', { key: 'slow', cost: 1e300 })).resolves.toBe('paid');
    const next = track(
      rw.schedule(() => 'never', { key: 'slow', maxWait: 1000 }),
      clock,
    );
    await flush();
    expect(next.error).toMatchObject({ name: 'RateLimitError', reason: 'max-wait', limitMs: 1000 });
    expect((next.error as RateLimitError).retryAt).toBeGreaterThan(T0 + 1e302);
    expect(Number.isFinite((next.error as RateLimitError).retryAt)).toBe(true);
    expect(clock.pending()).toBe(0);
  });

  it('axios: after a cost of 1e16 the next request is refused by maxWait at once', async () => {
    const { rw, clock } = rig({ budgets: { 'a.test': { rate: '10/s' } } });
    const api = axiosOf(rw);
    await expect(api.get('https://a.test/', { ratewise: { cost: 1e16 } })).resolves.toMatchObject({ status: 200 });
    const refused = track(api.get('https://a.test/', { ratewise: { maxWait: 5000 } }), clock);
    await flush();
    expect(refused.state).toBe('rejected');
    const error = refused.error as { cause?: unknown };
    const limited = isRatewiseError(error) ? error : error.cause;
    expect(isRatewiseError(limited, 'ERR_RATEWISE_RATE_LIMITED')).toBe(true);
    expect((limited as RateLimitError).retryAt).toBeGreaterThan(T0 + 0.99e18);
  });

  it('global fetch: after rw.fetch paid a cost of 1e16, a fetch to that origin is refused at once by maxWait', async () => {
    const server = await startScriptedServer(() => ({ body: 'ok' }));
    const { rw, clock, server: scripted } = rig({ maxWait: 5000, budgets: { '127.0.0.1': { rate: '10/s' } } });
    const uninstall = installRatewise(rw);
    try {
      await rw.fetch(`${server.url}/paid`, { ratewise: { cost: 1e16 } });
      const refused = track(fetch(`${server.url}/next`), clock);
      for (let i = 0; i < 20 && refused.state === 'pending'; i++) await flush();
      expect(refused.state).toBe('rejected');
      const cause = (refused.error as { cause?: unknown }).cause;
      expect(isRatewiseError(cause, 'ERR_RATEWISE_RATE_LIMITED')).toBe(true);
      expect((cause as RateLimitError).retryAt).toBeGreaterThan(T0 + 0.99e18);
      expect(scripted.calls).toHaveLength(1);
      expect(server.hits().total).toBe(0);
    } finally {
      uninstall();
      await rw.close();
      await server.close();
    }
  });

  it('a wait longer than a host timer can hold is armed in steps, and ends on its instant', async () => {
    const days30 = 30 * 86_400_000;
    const { rw, clock, server } = rig({ retry: { maxRetryAfter: Infinity } }, (call) =>
      call.index === 0 ? tooMany(days30 / 1000) : ok(),
    );
    const call = track(rw.fetch('https://a.test/'), clock);
    await advance(clock, days30);
    expect(call.state).toBe('fulfilled');
    expect(server.sentAt.map((at) => at - T0)).toEqual([0, days30]);
    expect(Math.max(...clock.scheduled)).toBe(MAX_TIMER_DELAY_MS);
  });
});

const BAD_COSTS_CHILD = fileURLToPath(new URL('children/bad-costs.ts', import.meta.url));

describe('the event loop', () => {
  it('keeps turning after NaN, Infinity, 1e16 and 1e300 costs, through rw.schedule, rw.fetch and axios', async () => {
    // The child prints once ten of its own timer turns have passed: a frozen loop never prints, and this test
    // times out instead.
    const child = spawn(process.execPath, ['--import', 'tsx', BAD_COSTS_CHILD], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Also when the test times out: a frozen child would spin for ever.
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout.trim())).toEqual({
      turns: 10,
      results: {
        scheduleNaN: 'TypeError',
        scheduleInfinity: 'TypeError',
        scheduleAfterInfinity: 'ok',
        schedule1e300: 'ok',
        scheduleAfter1e300: 'ERR_RATEWISE_RATE_LIMITED',
        fetch1e16: 'ok',
        fetchAfter1e16: 'ERR_RATEWISE_RATE_LIMITED',
        axios1e16: 'ok',
        axiosAfter1e16: 'ERR_RATEWISE_RATE_LIMITED',
      },
    });
  });
});
