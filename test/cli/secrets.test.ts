import { describe, expect, it } from 'vitest';
import { parseCli, type InspectOptions } from '../../src/cli/args.js';
import { prepareRequest } from '../../src/cli/request.js';
import { isSecretHeader, redactHeaders, scrub, secretsOf } from '../../src/cli/secrets.js';

function options(argv: readonly string[]): InspectOptions {
  const decision = parseCli(['inspect', ...argv]);
  if (decision.kind !== 'inspect') throw new Error(`expected options, got ${JSON.stringify(decision)}`);
  return decision.options;
}

describe('isSecretHeader', () => {
  it.each(['Authorization', 'proxy-authorization', 'Cookie', 'X-Api-Key', 'api_key', 'X-Auth-Token', 'Private-Token'])(
    '%s is secret by its name',
    (name) => {
      expect(isSecretHeader(name, 'anything')).toBe(true);
    },
  );

  it.each(['Bearer abc', 'Basic dXNlcjpwYXNz', 'token ghp_123', 'Bot MTk4NjIy', 'SSWS 00abc'])(
    'a value %j is secret by its scheme, whatever the header is called',
    (value) => {
      expect(isSecretHeader('X-Custom', value)).toBe(true);
    },
  );

  it.each([
    ['Accept', 'application/json'],
    ['User-Agent', 'curl/8'],
    ['X-Request-Id', 'abc'],
    ['Keys', 'a,b'],
  ])('%s: %s is not secret', (name, value) => {
    expect(isSecretHeader(name, value)).toBe(false);
  });

  it('redacts the values of secret headers only, keeping names and order', () => {
    expect(
      redactHeaders([
        ['Accept', 'text/plain'],
        ['Authorization', 'Bearer abc'],
        ['X-Api-Key', 'k'],
      ]),
    ).toEqual([
      ['Accept', 'text/plain'],
      ['Authorization', '[REDACTED]'],
      ['X-Api-Key', '[REDACTED]'],
    ]);
  });
});

describe('secretsOf and scrub', () => {
  it('collects header credentials, their long words, the URL password and secret parameter values', () => {
    const url = new URL('https://me:p%40ss@api.example/x?api_key=k%2B1&page=2#access_token=frag-token');
    const secrets = secretsOf(url, [
      ['Authorization', 'Bearer tok_0123456789'],
      ['Accept', 'application/json'],
    ]);
    expect(secrets).toEqual(
      expect.arrayContaining([
        'Bearer tok_0123456789',
        'tok_0123456789',
        'p%40ss',
        'p@ss',
        'k%2B1',
        'k+1',
        'frag-token',
      ]),
    );
    expect(secrets).not.toContain('application/json');
    expect(secrets).not.toContain('2');
    // Longest first, so a secret holding another is replaced whole.
    expect([...secrets].sort((a, b) => b.length - a.length)).toEqual(secrets);
  });

  it('replaces every occurrence', () => {
    expect(scrub('a tok_0123456789 b tok_0123456789', ['tok_0123456789'])).toBe('a [REDACTED] b [REDACTED]');
  });
});

describe('prepareRequest', () => {
  it('moves userinfo into an Authorization: Basic header, and prints neither', () => {
    const request = prepareRequest(options(['https://alice:s%C3%A9cret@api.example/v1?token=t0k3n&page=1']));
    expect(request.url).toBe('https://api.example/v1?token=t0k3n&page=1');
    expect(request.shownUrl).toBe('https://api.example/v1?token=[REDACTED]&page=1');
    expect(request.headers).toContainEqual(['Authorization', `Basic ${btoa('alice:s\u00c3\u00a9cret')}`]);
    expect(request.shownHeaders).toContainEqual(['Authorization', '[REDACTED]']);
    expect(request.secrets).toEqual(expect.arrayContaining(['s%C3%A9cret', 'sécret', 't0k3n']));
  });

  it('keeps an Authorization given with -H rather than the userinfo', () => {
    const request = prepareRequest(options(['https://alice:pw@api.example/', '-H', 'authorization: Bearer given']));
    expect(request.headers.filter(([name]) => name.toLowerCase() === 'authorization')).toEqual([
      ['authorization', 'Bearer given'],
    ]);
  });

  it('adds a User-Agent unless one is given, and the Origin of --origin', () => {
    expect(prepareRequest(options(['https://api.example/', '--origin', 'https://app.example'])).headers).toEqual([
      ['User-Agent', 'ratewise-inspect'],
      ['Origin', 'https://app.example'],
    ]);
    expect(prepareRequest(options(['https://api.example/', '-H', 'user-agent: mine'])).headers).toEqual([
      ['user-agent', 'mine'],
    ]);
  });
});
