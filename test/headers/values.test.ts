// Scalar values: the decimal scanner every count passes through, against the grammar it implements.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseCount } from '../../src/headers/values.js';

/** The grammar of a count: digits, optionally a point and more digits; nothing else, no sign, no exponent. */
const COUNT = /^\d+(?:\.\d+)?$/;

describe('parseCount', () => {
  test.each([
    ['40', 40],
    ['595.0', 595],
    ['0.25', 0.25],
    ['007', 7],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('reads %j as %j', (value, expected) => {
    expect(parseCount(value)).toBe(expected);
  });

  test.each([
    '',
    '.',
    '1.',
    '.5',
    '1.2.3',
    '+1',
    '-1',
    '1e3',
    ' 1',
    '1 ',
    '1\n',
    '0x10',
    '١٢',
    'Infinity',
    '9007199254740993',
  ])('refuses %j', (value) => {
    expect(parseCount(value)).toBeUndefined();
  });

  test('accepts exactly the strings of its grammar, and reads them as Number does (property)', () => {
    const digitsAndPoints = fc.string({ unit: fc.constantFrom(...Array.from('0123456789.')), maxLength: 12 });
    fc.assert(
      fc.property(fc.oneof(digitsAndPoints, fc.string({ maxLength: 6 })), (value) => {
        const expected = COUNT.test(value) && Number(value) <= Number.MAX_SAFE_INTEGER ? Number(value) : undefined;
        expect(parseCount(value)).toBe(expected);
      }),
      { numRuns: 5000 },
    );
  });
});
