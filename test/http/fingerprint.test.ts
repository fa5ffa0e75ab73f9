import { describe, expect, it } from 'vitest';
import { createFingerprint } from '../../src/http/fingerprint.js';
import { createRatewise } from '../../src/index.js';

describe('fingerprint', () => {
  it('gives the same fingerprint for the same secret within one client', () => {
    const fingerprint = createFingerprint();
    expect(fingerprint('ghp_secret')).toBe(fingerprint('ghp_secret'));
  });

  it('gives different fingerprints for different secrets', () => {
    const fingerprint = createFingerprint();
    const seen = new Set(Array.from({ length: 10_000 }, (_, i) => fingerprint(`token-${String(i)}`)));
    expect(seen.size).toBe(10_000);
  });

  it('is keyed per client: another client fingerprints the same secret differently', () => {
    expect(createFingerprint()('ghp_secret')).not.toBe(createFingerprint()('ghp_secret'));
  });

  it('never contains the secret', () => {
    const value = createRatewise({ fetch: () => Promise.resolve(new Response()) }).fingerprint('sk-live-abcdef');
    expect(value).toMatch(/^fp-[0-9a-f]{28}$/);
    expect(value).not.toContain('abcdef');
  });
});
