// The fast List reader must agree with `structured-headers` on every input: the same members and parameters,
// or a throw where the full parser throws.
import fc from 'fast-check';
import { parseList, Token } from 'structured-headers';
import { describe, expect, it } from 'vitest';
import { readList } from '../../src/headers/sf-list.js';

/** A comparable picture of a parse: values tagged by type, parameters in order, or the fact that it threw. */
function picture(parse: () => unknown): unknown {
  let list: unknown;
  try {
    list = parse();
  } catch {
    return 'throws';
  }
  const bare = (v: unknown): unknown => {
    if (v instanceof Token) return { token: v.toString() };
    if (v instanceof ArrayBuffer) return { bytes: [...new Uint8Array(v)] };
    if (typeof v === 'object' && v !== null) return { other: Object.prototype.toString.call(v) };
    return { [typeof v]: v };
  };
  return (list as [unknown, Map<string, unknown>][]).map(([value, params]) => [
    Array.isArray(value) ? { inner: value.length } : bare(value),
    [...params].map(([k, v]) => [k, bare(v)]),
  ]);
}

const agree = (value: string): void => {
  expect(picture(() => readList(value))).toEqual(picture(() => parseList(value)));
};

const token = fc.stringMatching(/^[a-zA-Z*][a-zA-Z0-9!#$%&'*+\-.^_`|~:/]{0,6}$/);
const key = fc.stringMatching(/^[a-z*][a-z0-9_\-.*]{0,4}$/);
const sfString = fc.stringMatching(/^"[ !#-[\]-~]{0,8}"$/);
const integer = fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }).map(String);
const bytes = fc.uint8Array({ maxLength: 9 }).map((b) => `:${Buffer.from(b).toString('base64')}:`);
const bareItem = fc.oneof(token, sfString, integer, bytes);
const param = fc
  .tuple(fc.constantFrom(';', '; ', ';  '), key, fc.option(bareItem, { nil: undefined }))
  .map(([sep, k, v]) => `${sep}${k}${v === undefined ? '' : `=${v}`}`);
const member = fc.tuple(bareItem, fc.array(param, { maxLength: 4 })).map(([v, ps]) => v + ps.join(''));
const wellFormed = fc
  .tuple(fc.array(member, { minLength: 1, maxLength: 4 }), fc.constantFrom(',', ', ', ' ,', '\t,  '))
  .map(([ms, sep]) => ms.join(sep));

describe('readList', () => {
  it.each([
    '"permin";q=50;w=60,"perhr";q=1000;w=3600',
    '"5-in-1min"; r=4; t=60, "1-in-5sec"; r=0; t=5',
    '"peruser";q=65535;qu="content-bytes";w=10;pk=:sdfjLJUOUH==:',
    'quota;t=1',
    '10, 10;w=1, 50;w=60',
    'limit=100, remaining=50, reset=5',
    '"a";r=1.5',
    '"a\\"b";r=1',
    '"a";R=10',
    '"a" ;r=1',
    '"a";r=1,',
    '"a";r=1234567890123456',
    '(1 2);w=3',
    '"a";t=@1748779230',
    '"a";f',
    '"a";pk=:not base64:',
    '',
    ' "a"',
  ])('agrees with structured-headers on %j', (value) => {
    agree(value);
  });

  it('agrees with structured-headers on well-formed lists of the common shape (property)', () => {
    fc.assert(fc.property(wellFormed, agree), { numRuns: 2000 });
  });

  it('agrees with structured-headers on arbitrary text made of the characters these fields use (property)', () => {
    const text = fc.stringMatching(/^[a-zA-Z0-9"';=,:*.\-+/ \t()?@%\\]{0,40}$/);
    fc.assert(fc.property(text, agree), { numRuns: 3000 });
  });

  it('agrees on near misses: a well-formed list with one character changed (property)', () => {
    const mutated = fc
      .tuple(wellFormed, fc.nat(), fc.constantFrom('"', ';', ',', ' ', '.', '\\', '=', ':', '(', 'A', '?', '-'))
      .map(([s, i, c]) => {
        const at = i % (s.length + 1);
        return s.slice(0, at) + c + s.slice(at + 1);
      });
    fc.assert(fc.property(mutated, agree), { numRuns: 3000 });
  });
});
