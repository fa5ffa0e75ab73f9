// Keyed fingerprints of credentials, so that a budget can be per API key without the key itself ever becoming a
// budget key, a stats entry or a log line.

const MASK32 = 0xffffffff;

/** A 53-bit string hash (cyrb53, public domain) mixed with a 32-bit key. */
function hash53(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * A fingerprint function keyed with fresh random bits: the same secret gives the same fingerprint within one
 * client, and nothing that can be looked up elsewhere. Not a cryptographic MAC: it keeps secrets out of keys and
 * logs, and two secrets that collide (about one chance in 2^100) would share a budget.
 */
export function createFingerprint(): (secret: string) => string {
  const key = new Uint32Array(2);
  globalThis.crypto.getRandomValues(key);
  const [a = 0, b = 0] = key;
  return (secret) =>
    `fp-${hash53(secret, a & MASK32)
      .toString(16)
      .padStart(14, '0')}${hash53(secret, b & MASK32)
      .toString(16)
      .padStart(14, '0')}`;
}
