import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BODY_SAMPLE, bodyFingerprint } from '../../src/http/body-fingerprint.js';

describe('bodyFingerprint', () => {
  it("is '' without a body", () => {
    expect(bodyFingerprint(undefined)).toBe('');
    expect(bodyFingerprint(null)).toBe('');
  });

  it('is the same for equal strings and bytes, in every byte container', () => {
    const text = '{"query":"{ items { id } }","variables":{"page":2}}';
    expect(bodyFingerprint(text)).toBe(bodyFingerprint(text.split('').join('')));
    const bytes = new TextEncoder().encode(text);
    const fingerprint = bodyFingerprint(bytes);
    expect(bodyFingerprint(Buffer.from(text))).toBe(fingerprint);
    expect(bodyFingerprint(bytes.slice().buffer)).toBe(fingerprint);
    expect(bodyFingerprint(new DataView(bytes.slice().buffer))).toBe(fingerprint);
    // A view of part of a larger buffer: only its own bytes.
    const padded = new Uint8Array(bytes.length + 8);
    padded.set(bytes, 4);
    expect(bodyFingerprint(padded.subarray(4, 4 + bytes.length))).toBe(fingerprint);
    expect(bodyFingerprint(new URLSearchParams({ a: '1', b: 'x y' }))).toBe(bodyFingerprint('a=1&b=x+y'));
  });

  it('tells apart GraphQL bodies that differ in one variable', () => {
    const body = (id: number): string =>
      JSON.stringify({ query: 'query($id: ID!) { item(id: $id) { name } }', variables: { id } });
    const fingerprints = new Set(Array.from({ length: 1000 }, (_, i) => bodyFingerprint(body(i))));
    expect(fingerprints.size).toBe(1000);
  });

  it('tells apart different bodies (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        fc.pre(a !== b);
        expect(bodyFingerprint(a)).not.toBe(bodyFingerprint(b));
      }),
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3 * BODY_SAMPLE }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, at, delta) => {
          fc.pre(bytes.length > 0);
          const changed = bytes.slice();
          const i = at % bytes.length;
          changed[i] = (changed[i]! + delta) % 256;
          const sampled = i < BODY_SAMPLE || i >= bytes.length - BODY_SAMPLE;
          expect(bodyFingerprint(changed) !== bodyFingerprint(bytes)).toBe(sampled);
        },
      ),
    );
  });

  it('hashes a long body at both ends and by its length only, so its cost is bounded', () => {
    const head = 'h'.repeat(BODY_SAMPLE);
    const tail = 't'.repeat(BODY_SAMPLE);
    expect(bodyFingerprint(`${head}${'a'.repeat(100_000)}${tail}`)).toBe(
      bodyFingerprint(`${head}${'b'.repeat(100_000)}${tail}`),
    );
    expect(bodyFingerprint(`${head}${'a'.repeat(100_000)}${tail}`)).not.toBe(
      bodyFingerprint(`${head}${'a'.repeat(100_001)}${tail}`),
    );
    expect(bodyFingerprint(`x${head}${tail}`)).not.toBe(bodyFingerprint(`y${head}${tail}`));
    expect(bodyFingerprint(`${head}${tail}x`)).not.toBe(bodyFingerprint(`${head}${tail}y`));
  });

  it('is undefined for a body that cannot be read at no cost: streams, async iterables, FormData, Blob', () => {
    const form = new FormData();
    form.set('a', '1');
    const iterable: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }),
    };
    for (const body of [new ReadableStream(), Readable.from(['x']), iterable, form, new Blob(['x']), { a: 1 }, 42]) {
      expect(bodyFingerprint(body)).toBeUndefined();
    }
  });
});
