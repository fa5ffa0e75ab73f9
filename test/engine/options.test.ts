import { describe, expect, it } from 'vitest';
import { createRatewise } from '../../src/client.js';
import type { RatewiseOptions } from '../../src/options.js';
import { FakeClock, settle } from '../support/fake-clock.js';
import { advance, flush, ok, rig, ScriptedFetch, status, T0, track } from './support/harness.js';

const create = (options: unknown) => () => createRatewise(options as RatewiseOptions);

describe('invalid options', () => {
  it.each([
    [
      { budgets: { x: { rate: 'abc' } } },
      'Expected `budgets["x"].rate` to be a rate such as "10/s", "5000/hour" or "200 per day", got `"abc"` (string)',
    ],
    [
      { budgets: { x: { rate: '0/s' } } },
      'Expected `budgets["x"].rate` to be a rate such as "10/s", "5000/hour" or "200 per day", got `"0/s"` (string)',
    ],
    [{ budgets: { x: { rate: { limit: 0, interval: 1000 } } } }, '`budgets["x"].rate'],
    [{ budgets: { x: { rate: ['1/s', 'x'] } } }, '`budgets["x"].rate[1]`'],
    [
      { budgets: { x: { burst: 0 } } },
      'Expected `budgets["x"].burst` to be a positive finite number, got `0` (number)',
    ],
    [
      { budgets: { x: { concurrency: 0 } } },
      'Expected `budgets["x"].concurrency` to be a positive integer or Infinity, got `0` (number)',
    ],
    [{ budgets: { x: { concurrency: 1.5 } } }, '`budgets["x"].concurrency`'],
    [
      { budgets: { x: { maxQueue: -1 } } },
      'Expected `budgets["x"].maxQueue` to be a positive integer or Infinity, got `-1` (number)',
    ],
    [{ budgets: { 'https://x.test': {} } }, 'Expected `budgets` to be keyed by host patterns'],
    [{ budgets: { '': {} } }, 'Expected `budgets` to be keyed by host patterns such as'],
    [{ budgets: [] }, 'Expected `budgets` to be an object mapping host patterns to budgets, got `[]` (array)'],
    [{ retry: { limit: -1 } }, 'Expected `retry.limit` to be a non-negative integer, got `-1` (number)'],
    [
      { retry: { maxRetryAfter: '60s' } },
      'Expected `retry.maxRetryAfter` to be a non-negative number of milliseconds, got `"60s"` (string)',
    ],
    [
      { retry: { backoff: { jitter: 'weird' } } },
      'Expected `retry.backoff.jitter` to be "none", "full", "equal" or "decorrelated", got `"weird"` (string)',
    ],
    [
      { retry: { statuses: [99] } },
      'Expected `retry.statuses` to be an array of HTTP error statuses (400 to 599), got `[99]` (array)',
    ],
    [
      { retry: { statuses: [429, 200] } },
      'Expected `retry.statuses` to be an array of HTTP error statuses (400 to 599), got `[429,200]` (array)',
    ],
    [
      { budgets: { x: { pacing: 'smooth' } } },
      'Expected `budgets["x"].pacing` to be "burst" or "spread", got `"smooth"` (string)',
    ],
    [
      { budgets: { x: { initialWindow: 0 } } },
      'Expected `budgets["x"].initialWindow` to be a positive integer or Infinity, got `0` (number)',
    ],
    [{ maxWait: -1 }, 'Expected `maxWait` to be a non-negative number of milliseconds, got `-1` (number)'],
    [{ maxWait: Number.NaN }, 'Expected `maxWait` to be a non-negative number of milliseconds, got `NaN` (number)'],
    [{ fetch: 'x' }, 'Expected `fetch` to be a function, got `"x"` (string)'],
    [{ clock: {} }, 'Expected `clock` to be an object with now(), setTimeout() and clearTimeout(), got `{}` (object)'],
    [{ random: 1 }, 'Expected `random` to be a function, got `1` (number)'],
    [{ keyFn: 'origin' }, 'Expected `keyFn` to be a function, got `"origin"` (string)'],
    [{ loopGuard: { mode: 'loud' } }, 'Expected `loopGuard.mode` to be "warn" or "throw", got `"loud"` (string)'],
    [{ serverReserve: 2 }, 'Expected `serverReserve` to be a number from 0 to 1, got `2` (number)'],
    [{ maxBudgets: 0 }, 'Expected `maxBudgets` to be a positive integer or Infinity, got `0` (number)'],
    [{ budgetIdleMs: -5 }, 'Expected `budgetIdleMs` to be a non-negative number of milliseconds, got `-5` (number)'],
    [null, 'Expected `options` to be an object, got `null` (null)'],
  ])('rejects %j at creation with a TypeError naming the option and value', (options, message) => {
    expect(create(options)).toThrow(TypeError);
    expect(create(options)).toThrow(message);
  });

  it.each([
    [{ nope: 1 }, 'Unknown option `nope`'],
    [{ budgets: { x: { nope: 1 } } }, 'Unknown option `budgets["x"].nope`'],
    [{ retry: { retries: 3 } }, 'Unknown option `retry.retries`'],
    [{ retry: { backoff: { base: 1 } } }, 'Unknown option `retry.backoff.base`'],
    [{ loopGuard: { max: 1 } }, 'Unknown option `loopGuard.max`'],
  ])('rejects the unknown key in %j', (options, message) => {
    expect(create(options)).toThrow(TypeError);
    expect(create(options)).toThrow(message);
  });

  it('accepts every documented option', () => {
    expect(
      create({
        budgets: {
          'api.test': { rate: ['10/s', '5000/hour'], burst: 5, concurrency: 2, maxQueue: 100, pacing: 'spread' },
          '*': { initialWindow: Infinity },
        },
        retry: {
          limit: 1,
          rateLimitLimit: 2,
          maxRetryAfter: 1000,
          statuses: [429],
          methods: ['GET'],
          backoff: { baseMs: 1, maxMs: 2, factor: 2, jitter: 'equal' },
          serverJitter: { ratio: 0, maxExtraMs: 0 },
          budget: false,
        },
        maxWait: 1000,
        keyFn: () => undefined,
        maxBudgets: 10,
        budgetIdleMs: 0,
        serverReserve: 0,
        loopGuard: false,
        fetch: () => Promise.resolve(new Response()),
        random: () => 0,
      }),
    ).not.toThrow();
  });
});

describe('invalid per-request options', () => {
  it.each([
    [{ priority: Number.NaN }, 'Expected `ratewise.priority` to be a finite number, got `NaN` (number)'],
    [
      { cost: -1 },
      'Expected `ratewise.cost` to be a non-negative finite number, or a record of them per unit, got `-1` (number)',
    ],
    [{ cost: { tokens: -5 } }, 'Expected `ratewise.cost.tokens` to be a non-negative finite number, got `-5` (number)'],
    [{ cost: { tokens: Number.POSITIVE_INFINITY } }, '`ratewise.cost.tokens`'],
    [{ cost: { requests: Number.NaN } }, '`ratewise.cost.requests`'],
    [{ cost: { '': 1 } }, 'Expected `ratewise.cost` to be unit names of 1 to 64 characters'],
    [{ cost: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`u${i}`, 1])) }, 'at most 16 units'],
    [{ cost: [1] }, '`ratewise.cost`'],
    [{ key: 1 }, 'Expected `ratewise.key` to be a non-empty string, got `1` (number)'],
    [{ key: '' }, 'Expected `ratewise.key` to be a non-empty string, got `""` (string)'],
    [{ maxWait: -1 }, 'Expected `ratewise.maxWait` to be a non-negative number of milliseconds, got `-1` (number)'],
    [{ retry: { limit: -1 } }, 'Expected `ratewise.retry.limit` to be a non-negative integer, got `-1` (number)'],
    [
      { retry: { limit: 'many' } },
      'Expected `ratewise.retry.limit` to be a non-negative integer, got `"many"` (string)',
    ],
    [{ retry: { maxRetryAfter: -1 } }, '`ratewise.retry.maxRetryAfter`'],
    [{ retry: { statuses: [500] } }, 'Unknown option `ratewise.retry.statuses`'],
    [
      { idempotencyKey: 1 },
      'Expected `ratewise.idempotencyKey` to be a boolean or a non-empty string, got `1` (number)',
    ],
    [{ nope: 1 }, 'Unknown option `ratewise.nope`'],
  ])('rejects ratewise: %j with a TypeError, and sends nothing', async (ratewise, message) => {
    const { rw, server } = rig();
    const call = rw.fetch('https://a.test/', { ratewise: ratewise as never });
    await expect(call).rejects.toThrow(TypeError);
    await expect(call).rejects.toThrow(message);
    expect(server.calls).toHaveLength(0);
  });

  it('names the options it knows when one is unknown', async () => {
    const { rw } = rig();
    await expect(rw.fetch('https://a.test/', { ratewise: { prio: 1 } as never })).rejects.toThrow(
      new TypeError(
        'Unknown option `ratewise.prio`; expected one of `priority`, `cost`, `key`, `maxWait`, `retry`, `idempotencyKey`',
      ),
    );
  });

  it('a retry override left undefined keeps the client value', async () => {
    const { rw, server } = rig({ retry: { limit: 1 } }, () => new Response(null, { status: 500 }));
    const response = await rw.fetch('https://a.test/', { ratewise: { retry: { limit: undefined } } as never });
    expect(response.status).toBe(500);
    expect(server.calls).toHaveLength(2);
  });

  it('rejects a URL fetch would refuse, as fetch does', async () => {
    const { rw } = rig();
    await expect(rw.fetch('not a url')).rejects.toThrow(TypeError);
  });
});

describe('invalid rw.schedule options', () => {
  // The checks and messages of rw.fetch's `ratewise` field, under the name of schedule's own parameter.
  it.each([
    [{ prio: 1 }, 'Unknown option `options.prio`; expected one of `priority`, `cost`, `key`, `maxWait`'],
    [{ retry: { limit: 0 } }, 'Unknown option `options.retry`'],
    [{ priority: Number.NaN }, 'Expected `options.priority` to be a finite number, got `NaN` (number)'],
    [{ priority: '1' }, 'Expected `options.priority` to be a finite number, got `"1"` (string)'],
    [{ cost: -1 }, 'Expected `options.cost` to be a non-negative finite number, got `-1` (number)'],
    [{ cost: { tokens: 1 } }, 'Expected `options.cost` to be a non-negative finite number, got'],
    [{ key: 1 }, 'Expected `options.key` to be a non-empty string, got `1` (number)'],
    [{ key: '' }, 'Expected `options.key` to be a non-empty string, got `""` (string)'],
    [{ maxWait: -5 }, 'Expected `options.maxWait` to be a non-negative number of milliseconds, got `-5` (number)'],
    [{ maxWait: Number.NaN }, 'Expected `options.maxWait` to be a non-negative number of milliseconds, got `NaN`'],
    [null, 'Expected `options` to be an object, got `null` (null)'],
    ['slow', 'Expected `options` to be an object, got `"slow"` (string)'],
  ])('rejects %j with a TypeError, and never runs the task', async (options, message) => {
    const { rw } = rig({ budgets: { slow: { rate: '1/s', burst: 1 } } });
    let ran = 0;
    const call = rw.schedule(() => ran++, options as never);
    await expect(call).rejects.toThrow(TypeError);
    await expect(call).rejects.toThrow(message);
    expect(ran).toBe(0);
    expect(rw.stats()).toEqual([]);
  });

  it('rejects rather than throws, as rw.fetch does', () => {
    const { rw } = rig();
    let call: Promise<unknown> | undefined;
    expect(() => (call = rw.schedule(() => 1, { prio: 1 } as never))).not.toThrow();
    return expect(call).rejects.toThrow(TypeError);
  });

  it('accepts every documented option, and undefined values', async () => {
    const { rw } = rig({ budgets: { slow: { rate: '1/s', burst: 1 } } });
    await expect(rw.schedule(() => 'a', { key: 'slow', priority: -3, cost: 0.5, maxWait: 0 })).resolves.toBe('a');
    await expect(rw.schedule(() => 'b', { key: undefined, cost: undefined } as never)).resolves.toBe('b');
    await expect(rw.schedule(() => 'c', undefined)).resolves.toBe('c');
  });

  it('runs tasks of equal priority in order and higher priority first: priorities are numbers', async () => {
    const { rw, clock } = rig({ budgets: { slow: { rate: '1/s', burst: 1 } } });
    const order: number[] = [];
    const calls = [1, 10, 5, 7].map((priority) =>
      rw.schedule(() => order.push(priority), { key: 'slow', priority }).catch(() => undefined),
    );
    const nan = rw.schedule(() => order.push(Number.NaN), { key: 'slow', priority: Number.NaN });
    await expect(nan).rejects.toThrow('`options.priority`');
    await advance(clock, 5000);
    await Promise.all(calls);
    expect(order).toEqual([1, 10, 7, 5]);
  });

  it('a maxWait the wait exceeds fails the task with RateLimitError naming its own limit', async () => {
    const { rw, clock } = rig({ budgets: { slow: { rate: '1/s', burst: 1 } } });
    await rw.schedule(() => 1, { key: 'slow' });
    const late = track(
      rw.schedule(() => 2, { key: 'slow', maxWait: 500 }),
      clock,
    );
    await flush();
    expect(late.error).toMatchObject({ name: 'RateLimitError', limitMs: 500, retryAt: T0 + 1000 });
  });
});

describe('options accepted only with a meaning', () => {
  it('a burst without a rate is a TypeError: the burst is the capacity of a rate’s bucket', () => {
    expect(create({ budgets: { x: { burst: 5 } } })).toThrow(
      new TypeError(
        'Expected `budgets["x"].burst` to come with a `budgets["x"].rate`: a burst is how much of a rate may go at once',
      ),
    );
    expect(create({ budgets: { '*': { burst: 5, concurrency: 2 } } })).toThrow('`budgets["*"].burst`');
    expect(create({ budgets: { x: { burst: 5, rate: '1/s' } } })).not.toThrow();
  });

  it('a rate in exponent notation ("1e3/s") is 1000 per second', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { rate: '1e3/s', burst: 1 } } });
    const calls = [1, 2, 3].map((i) => track(rw.fetch(`https://a.test/${i}`), clock));
    await advance(clock, 10);
    expect(calls.map((c) => c.state)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(server.sentAt.map((at) => at - T0)).toEqual([0, 1, 2]);
  });
});

/**
 * `target` behind a Proxy that counts the reads of each of its properties in `reads`, under `path` + the name: an
 * option read twice could be checked with one value and used with another.
 */
function counted<T extends object>(target: T, reads: Map<string, number>, path: string): T {
  return new Proxy(target, {
    get(object, name, receiver) {
      if (typeof name === 'string') reads.set(path + name, (reads.get(path + name) ?? 0) + 1);
      return Reflect.get(object, name, receiver) as unknown;
    },
  });
}

const readTwice = (reads: Map<string, number>) => [...reads].filter(([, count]) => count > 1).map(([name]) => name);

describe('options read once, as they were checked', () => {
  it('createRatewise reads each option once, nested ones included', async () => {
    const reads = new Map<string, number>();
    const server = new ScriptedFetch(new FakeClock(T0));
    const options = counted(
      {
        budgets: {
          'api.test': counted(
            {
              rate: '10/s',
              burst: 5,
              concurrency: 2,
              maxQueue: 100,
              pacing: 'spread',
              classify: () => undefined,
              usage: () => undefined,
              units: { tokens: counted({ rate: '1000/min' }, reads, 'budgets.api.test.units.tokens.') },
            },
            reads,
            'budgets.api.test.',
          ),
          '*': counted({ sharedConcurrency: 2, initialWindow: 4 }, reads, 'budgets.*.'),
        },
        retry: counted(
          {
            limit: 1,
            statuses: [429],
            methods: ['GET'],
            backoff: counted({ baseMs: 1, maxMs: 2, factor: 2, jitter: 'equal' }, reads, 'retry.backoff.'),
            serverJitter: counted({ ratio: 0, maxExtraMs: 0 }, reads, 'retry.serverJitter.'),
            budget: counted({ ratio: 0.5 }, reads, 'retry.budget.'),
          },
          reads,
          'retry.',
        ),
        loopGuard: counted({ limit: 5, mode: 'throw' }, reads, 'loopGuard.'),
        maxWait: 1000,
        keyFn: () => undefined,
        fetch: server.fetch,
        clock: new FakeClock(T0),
        random: () => 0,
      },
      reads,
      '',
    ) as RatewiseOptions;
    const rw = createRatewise(options);
    await rw.fetch('https://api.test/');
    expect(reads.get('keyFn')).toBe(1);
    expect(reads.get('budgets.api.test.classify')).toBe(1);
    expect(readTwice(reads)).toEqual([]);
  });

  it('a getter that answers differently once checked: the client keeps what was checked', async () => {
    const server = new ScriptedFetch(new FakeClock(T0));
    let reads = 0;
    const rw = createRatewise({
      fetch: server.fetch,
      get keyFn() {
        reads++;
        return reads === 1 ? () => 'tenant-a' : ('per-tenant' as never);
      },
    });
    await rw.fetch('https://a.test/');
    expect(rw.stats().map((budget) => budget.key)).toEqual(['tenant-a']);
  });

  it('rw.fetch reads each of a request’s ratewise options once, and uses the key it checked', async () => {
    const { rw, clock, server } = rig({ retry: { limit: 2 } }, (call) => (call.index === 0 ? status(500) : ok()));
    const reads = new Map<string, number>();
    let keyReads = 0;
    const ratewise = counted(
      {
        priority: 1,
        cost: counted({ requests: 1, tokens: 5 }, reads, 'cost.'),
        get key() {
          keyReads++;
          return keyReads === 1 ? 'tenant-a' : '';
        },
        maxWait: 1000,
        retry: counted({ limit: 1 }, reads, 'retry.'),
        idempotencyKey: true,
      },
      reads,
      '',
    );
    const response = await settle(clock, rw.fetch('https://a.test/', { method: 'POST', ratewise }));
    expect(response.status).toBe(200);
    expect(server.calls).toHaveLength(2);
    expect(reads.get('retry')).toBe(1);
    expect(readTwice(reads)).toEqual([]);
    expect(keyReads).toBe(1);
    expect(rw.stats().map((budget) => budget.key)).toEqual(['tenant-a']);
  });

  it('rw.schedule reads each of its options once, and uses the key it checked', async () => {
    const { rw } = rig();
    const reads = new Map<string, number>();
    let keyReads = 0;
    const options = counted(
      {
        priority: 1,
        cost: 1,
        maxWait: 1000,
        get key() {
          keyReads++;
          return keyReads === 1 ? 'jobs' : '';
        },
      },
      reads,
      '',
    );
    await expect(rw.schedule(() => 'done', options)).resolves.toBe('done');
    expect(readTwice(reads)).toEqual([]);
    expect(keyReads).toBe(1);
    expect(rw.stats().map((budget) => budget.key)).toEqual(['jobs']);
  });
});
