import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRate } from '../../src/config/rate.js';
import type { RateSpec } from '../../src/options.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const EXPECTED = 'a rate such as "10/s", "5000/hour" or "200 per day"';

describe('parseRate', () => {
  describe('slash strings', () => {
    it.each([
      ['10/s', 10, SECOND],
      ['10/sec', 10, SECOND],
      ['10/second', 10, SECOND],
      ['1/second', 1, SECOND],
      ['10/seconds', 10, SECOND],
      ['5000/hour', 5000, HOUR],
      ['5000/h', 5000, HOUR],
      ['5000/hr', 5000, HOUR],
      ['5000/hrs', 5000, HOUR],
      ['60/min', 60, MINUTE],
      ['60/m', 60, MINUTE],
      ['100/5m', 100, 5 * MINUTE],
      ['100/2.5s', 100, 2500],
      ['100/.5s', 100, 500],
      ['3/250ms', 3, 250],
      ['3/1000msec', 3, 1000],
      ['3/10 milliseconds', 3, 10],
      ['200/d', 200, DAY],
      ['200/2 days', 200, 2 * DAY],
      ['0.5/s', 0.5, SECOND],
      ['1e3/s', 1000, SECOND],
      ['2.5E2/s', 250, SECOND],
      ['5e-1/s', 0.5, SECOND],
      ['10/1e3ms', 10, SECOND],
      ['1e+2 per 2e0 minutes', 100, 2 * MINUTE],
    ])('reads %j as %d per %d ms', (spec, limit, intervalMs) => {
      expect(parseRate(spec)).toEqual([{ limit, intervalMs }]);
    });
  });

  describe('flask-limiter strings', () => {
    it.each([
      ['200 per day', 200, DAY],
      ['50 per hour', 50, HOUR],
      ['10 per minute', 10, MINUTE],
      ['10 per 2 minutes', 10, 2 * MINUTE],
      ['1 per second', 1, SECOND],
      ['5 per 30 seconds', 5, 30 * SECOND],
      ['10 / minute', 10, MINUTE],
    ])('reads %j', (spec, limit, intervalMs) => {
      expect(parseRate(spec)).toEqual([{ limit, intervalMs }]);
    });

    it('reads several rates separated by ";", "," or "|", in order', () => {
      expect(parseRate('10 per second; 100/minute, 1000 per hour | 5000/day')).toEqual([
        { limit: 10, intervalMs: SECOND },
        { limit: 100, intervalMs: MINUTE },
        { limit: 1000, intervalMs: HOUR },
        { limit: 5000, intervalMs: DAY },
      ]);
    });
  });

  it('ignores case and surrounding spaces', () => {
    expect(parseRate('  200 PER Day ')).toEqual([{ limit: 200, intervalMs: DAY }]);
    expect(parseRate('10/S')).toEqual([{ limit: 10, intervalMs: SECOND }]);
    expect(parseRate('5 Per 2 Hours')).toEqual([{ limit: 5, intervalMs: 2 * HOUR }]);
  });

  it('takes { limit, interval } objects with the interval in ms', () => {
    expect(parseRate({ limit: 5, interval: 1500 })).toEqual([{ limit: 5, intervalMs: 1500 }]);
    expect(parseRate({ limit: 0.25, interval: 0.5 })).toEqual([{ limit: 0.25, intervalMs: 0.5 }]);
  });

  it('takes arrays of strings and objects, every rate enforced at once', () => {
    expect(parseRate(['200 per day', '50 per hour', { limit: 2, interval: 1000 }])).toEqual([
      { limit: 200, intervalMs: DAY },
      { limit: 50, intervalMs: HOUR },
      { limit: 2, intervalMs: SECOND },
    ]);
  });

  it('returns frozen rates in a fresh array', () => {
    const spec = ['10/s'] as const;
    const rates = parseRate(spec);
    expect(Object.isFrozen(rates[0])).toBe(true);
    expect(rates).not.toBe(spec);
  });

  describe('rejects invalid specs with a TypeError naming the option, the value and its type', () => {
    it.each([
      ['abc', '`"abc"` (string)'],
      ['', '`""` (string)'],
      ['10', '`"10"` (string)'],
      ['10/', '`"10/"` (string)'],
      ['/s', '`"/s"` (string)'],
      ['0/s', '`"0/s"` (string)'],
      ['10/0s', '`"10/0s"` (string)'],
      ['-1/s', '`"-1/s"` (string)'],
      ['10/fortnight', '`"10/fortnight"` (string)'],
      ['10/mss', '`"10/mss"` (string)'],
      ['10 per month', '`"10 per month"` (string)'],
      ['1e400/s', '`"1e400/s"` (string)'],
      ['1e/s', '`"1e/s"` (string)'],
      ['10/s;', '`"10/s;"` (string)'],
      ['10per minute', '`"10per minute"` (string)'],
      ['10/s;abc', '`"10/s;abc"` (string)'],
      [10, '`10` (number)'],
      [Number.NaN, '`NaN` (number)'],
      [null, '`null` (null)'],
      [undefined, '`undefined` (undefined)'],
      [true, '`true` (boolean)'],
    ])('%j', (spec, shown) => {
      expect(() => parseRate(spec as RateSpec)).toThrow(
        new TypeError(`Expected \`rate\` to be ${EXPECTED}, got ${shown}`),
      );
    });

    it('matches the documented message exactly', () => {
      expect(() => parseRate('abc')).toThrow(
        'Expected `rate` to be a rate such as "10/s", "5000/hour" or "200 per day", got `"abc"` (string)',
      );
    });

    it('uses the option name it is given', () => {
      expect(() => parseRate('abc', 'budgets["api.github.com"].rate')).toThrow(
        `Expected \`budgets["api.github.com"].rate\` to be ${EXPECTED}, got \`"abc"\` (string)`,
      );
    });

    it('names the index of a bad array item', () => {
      expect(() => parseRate(['10/s', 'abc'])).toThrow(
        `Expected \`rate[1]\` to be ${EXPECTED}, got \`"abc"\` (string)`,
      );
      expect(() => parseRate([['10/s']] as unknown as RateSpec)).toThrow(
        `Expected \`rate[0]\` to be ${EXPECTED}, got \`["10/s"]\` (array)`,
      );
    });

    it('rejects an empty array', () => {
      expect(() => parseRate([])).toThrow(
        `Expected \`rate\` to be ${EXPECTED}, or a non-empty array of them, got \`[]\` (array)`,
      );
    });

    it.each([
      [{ limit: 0, interval: 1000 }, 'rate.limit', 'a positive finite number', '`0` (number)'],
      [{ limit: -1, interval: 1000 }, 'rate.limit', 'a positive finite number', '`-1` (number)'],
      [{ limit: Infinity, interval: 1000 }, 'rate.limit', 'a positive finite number', '`Infinity` (number)'],
      [{ limit: '10', interval: 1000 }, 'rate.limit', 'a positive finite number', '`"10"` (string)'],
      [{ interval: 1000 }, 'rate.limit', 'a positive finite number', '`undefined` (undefined)'],
      [{ limit: 1, interval: 0 }, 'rate.interval', 'a positive finite number of milliseconds', '`0` (number)'],
      [{ limit: 1, interval: NaN }, 'rate.interval', 'a positive finite number of milliseconds', '`NaN` (number)'],
      [{ limit: 1 }, 'rate.interval', 'a positive finite number of milliseconds', '`undefined` (undefined)'],
    ])('rejects the object %j', (spec, name, expected, shown) => {
      expect(() => parseRate(spec as RateSpec)).toThrow(
        new TypeError(`Expected \`${name}\` to be ${expected}, got ${shown}`),
      );
    });

    it('rejects unknown keys in an object, so a misspelt `intervalMs` is not silently ignored', () => {
      expect(() => parseRate({ limit: 1, interval: 1000, burst: 5 } as RateSpec)).toThrow(
        new TypeError(
          'Expected `rate` to have only the keys `limit` and `interval`, got key `burst` in ' +
            '`{"limit":1,"interval":1000,"burst":5}` (object)',
        ),
      );
    });
  });

  it('reads any positive "<limit>/<count><unit>" string exactly', () => {
    const units = fc.constantFrom(
      ...([
        ['ms', 1],
        ['s', SECOND],
        ['minutes', MINUTE],
        ['hr', HOUR],
        ['days', DAY],
      ] as const),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e9 }),
        fc.integer({ min: 1, max: 1000 }),
        units,
        fc.boolean(),
        (limit, count, [unit, ms], per) => {
          const spec = per ? `${limit} per ${count} ${unit}` : `${limit}/${count}${unit}`;
          expect(parseRate(spec)).toEqual([{ limit, intervalMs: count * ms }]);
        },
      ),
    );
  });

  it('never returns a rate that is not positive and finite, and throws nothing but TypeError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (spec) => {
        try {
          for (const rate of parseRate(spec as RateSpec)) {
            expect(rate.limit > 0 && Number.isFinite(rate.limit)).toBe(true);
            expect(rate.intervalMs > 0 && Number.isFinite(rate.intervalMs)).toBe(true);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(TypeError);
        }
      }),
    );
  });
});
