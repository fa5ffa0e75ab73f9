// What the loop guard compares of a request body: a cheap fingerprint of a string or of bytes. Its cost is bounded
// whatever the body's size: both ends and the length are hashed, which tells apart the bodies that differ in
// practice (a GraphQL query and its variables, a chat prompt growing at its end), for a few microseconds per call.

/** Code units of a string, or bytes, hashed from each end of a body; a body up to twice as long is hashed whole. */
export const BODY_SAMPLE = 4096;

/**
 * The fingerprint of a request body, for the loop guard: `''` without a body (`undefined` or `null`); a short string
 * for a string, `URLSearchParams`, `ArrayBuffer`, typed array, `DataView` or Node `Buffer` (two bodies of one kind,
 * length, first and last {@link BODY_SAMPLE} units give the same fingerprint; a collision of the hash is about one
 * chance in 2^53); `undefined` for a body that cannot be read at no cost (a stream, an async iterable, `FormData`, a
 * `Blob`, anything else): such a request is never the same as another.
 */
export function bodyFingerprint(body: unknown): string | undefined {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return `s${hashString(body)}`;
  if (typeof URLSearchParams !== 'undefined' && body instanceof URLSearchParams) return `s${hashString(String(body))}`;
  if (body instanceof ArrayBuffer) return `b${hashBytes(new Uint8Array(body))}`;
  if (ArrayBuffer.isView(body)) return `b${hashBytes(new Uint8Array(body.buffer, body.byteOffset, body.byteLength))}`;
  return undefined;
}

// cyrb53 (public domain) over the first `head` units, then those from `tail` on, seeded with the length. One loop
// per kind of unit: a shared loop calling back for each unit ran at half the speed.
function hashString(text: string): string {
  const { length } = text;
  const [head, tail] = sample(length);
  let h1 = 0xdeadbeef ^ length;
  let h2 = 0x41c6ce57 ^ length;
  for (let i = 0; i < length; i = i + 1 === head ? tail : i + 1) {
    const unit = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ unit, 2654435761);
    h2 = Math.imul(h2 ^ unit, 1597334677);
  }
  return finish(h1, h2, length);
}

function hashBytes(bytes: Uint8Array): string {
  const { length } = bytes;
  const [head, tail] = sample(length);
  let h1 = 0xdeadbeef ^ length;
  let h2 = 0x41c6ce57 ^ length;
  for (let i = 0; i < length; i = i + 1 === head ? tail : i + 1) {
    const unit = bytes[i]!;
    h1 = Math.imul(h1 ^ unit, 2654435761);
    h2 = Math.imul(h2 ^ unit, 1597334677);
  }
  return finish(h1, h2, length);
}

/** The units hashed: `[0, head)` and `[tail, length)`. */
function sample(length: number): [head: number, tail: number] {
  const head = Math.min(length, BODY_SAMPLE);
  return [head, Math.max(head, length - BODY_SAMPLE)];
}

function finish(a: number, b: number, length: number): string {
  const h1 = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  const h2 = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `${length.toString(36)}.${(4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36)}`;
}
