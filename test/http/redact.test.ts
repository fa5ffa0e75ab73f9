import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createUrlRedactor, INVALID_URL, isSecretParam, redactUrl } from '../../src/http/redact.js';

describe('redactUrl', () => {
  it('leaves a URL without secrets as it is', () => {
    expect(redactUrl('https://api.github.com/repos/a/b/issues?page=2&per_page=100')).toBe(
      'https://api.github.com/repos/a/b/issues?page=2&per_page=100',
    );
  });

  it('strips userinfo', () => {
    expect(redactUrl('https://alice:s3cret@example.com/x')).toBe('https://example.com/x');
    expect(redactUrl('https://token@example.com/')).toBe('https://example.com/');
    expect(redactUrl('redis://:pw@cache.local:6379/0')).toBe('redis://cache.local:6379/0');
  });

  it.each([
    'api_key',
    'apikey',
    'api-key',
    'apiKey',
    'key',
    'token',
    'access_token',
    'refresh_token',
    'id_token',
    'client_secret',
    'secret',
    'password',
    'passwd',
    'pwd',
    'signature',
    'sig',
    'X-Amz-Signature',
    'X-Amz-Credential',
    'X-Amz-Security-Token',
    'auth',
    'authorization',
    'session',
    'code',
    'oauth_token',
    'github_token',
    'DB_PASSWORD',
    'x-goog-signature',
    'subscription-key',
    'jsessionid',
    'user[password]',
  ])('replaces the value of %j with [REDACTED]', (name) => {
    const encoded = encodeURIComponent(name);
    expect(redactUrl(`https://example.com/p?a=1&${encoded}=hunter2&b=2`)).toBe(
      `https://example.com/p?a=1&${encoded}=[REDACTED]&b=2`,
    );
  });

  it('matches names case-insensitively and after percent-decoding', () => {
    expect(redactUrl('https://example.com/?ACCESS_TOKEN=abc')).toBe('https://example.com/?ACCESS_TOKEN=[REDACTED]');
    expect(redactUrl('https://example.com/?%74oken=abc')).toBe('https://example.com/?%74oken=[REDACTED]');
  });

  it.each(['page', 'per_page', 'q', 'author', 'monkey', 'state', 'sort'])('keeps the harmless parameter %j', (name) => {
    expect(redactUrl(`https://example.com/?${name}=v`)).toBe(`https://example.com/?${name}=v`);
  });

  it('redacts every occurrence of a repeated secret, and keeps valueless and empty parameters', () => {
    expect(redactUrl('https://example.com/?token=a&token=b&flag&x=&token=')).toBe(
      'https://example.com/?token=[REDACTED]&token=[REDACTED]&flag&x=&token=[REDACTED]',
    );
  });

  it('redacts tokens in the fragment, where OAuth implicit flows put them', () => {
    expect(redactUrl('https://app.example.com/cb#access_token=abc&state=xyz')).toBe(
      'https://app.example.com/cb#access_token=[REDACTED]&state=xyz',
    );
    expect(redactUrl('https://app.example.com/#section-2')).toBe('https://app.example.com/#section-2');
  });

  it.each(['jsessionid', 'JSESSIONID', 'JSessionId', 'sid', 'phpsessid', 'PHPSESSID', 'token'])(
    'replaces the value of a ;%s= path parameter, in any segment, before the query',
    (name) => {
      expect(redactUrl(`https://shop.example.com/cart;${name}=ABC123?x=1`)).toBe(
        `https://shop.example.com/cart;${name}=[REDACTED]?x=1`,
      );
      expect(redactUrl(`https://shop.example.com/a;v=2;${name}=ABC123/b;${name}=DEF456`)).toBe(
        `https://shop.example.com/a;v=2;${name}=[REDACTED]/b;${name}=[REDACTED]`,
      );
    },
  );

  it('keeps harmless path parameters, and a semicolon without a name', () => {
    for (const url of ['https://example.com/a;v=2/b;lang=en?page=1', 'https://example.com/a;b;c=/d;=x']) {
      expect(redactUrl(url)).toBe(url);
    }
  });

  it('accepts URL objects', () => {
    expect(redactUrl(new URL('https://u:p@example.com/a?sig=1'))).toBe('https://example.com/a?sig=[REDACTED]');
  });

  it('returns a placeholder, never the input, for what is not an absolute URL', () => {
    for (const input of ['not a url', '/relative?token=abc', 'user:pass@host/path', 'mailto:a@b.c', '', 'http://']) {
      expect(redactUrl(input)).toBe(INVALID_URL);
    }
  });

  it('never throws, and redacts its own output to the same string', () => {
    const urls = fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string());
    fc.assert(
      fc.property(urls, (url) => {
        const once = redactUrl(url);
        expect(redactUrl(once) === once || once === INVALID_URL).toBe(true);
      }),
    );
  });

  it('never lets a secret value through', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{12,24}$/);
    const name = fc.constantFrom('token', 'api_key', 'password', 'X-Amz-Signature', 'client_secret');
    fc.assert(
      fc.property(secret, name, fc.webUrl(), (value, param, base) => {
        const url = new URL(base);
        url.username = 'someone';
        url.password = value;
        url.searchParams.append(param, value);
        url.pathname = `${url.pathname};${param}=${value}`;
        expect(redactUrl(url)).not.toContain(value);
      }),
    );
  });
});

describe('createUrlRedactor', () => {
  /** Each `name=value` pair judged on its own, by its percent-decoded name: what both redactors must agree with. */
  function reference(url: URL): string {
    const judged = (pair: string) => {
      const eq = pair.indexOf('=');
      if (eq === -1) return pair;
      let name = pair.slice(0, eq);
      try {
        name = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // kept as written
      }
      return isSecretParam(name) ? `${pair.slice(0, eq)}=[REDACTED]` : pair;
    };
    const params = (text: string) => text.split('&').map(judged).join('&');
    const path = url.pathname
      .split('/')
      .map((segment) =>
        segment
          .split(';')
          .map((part, i) => (i === 0 ? part : judged(part)))
          .join(';'),
      )
      .join('/');
    const query = url.search === '' ? '' : `?${params(url.search.slice(1))}`;
    const fragment = url.hash === '' ? '' : `#${params(url.hash.slice(1))}`;
    return `${url.protocol}//${url.host}${path}${query}${fragment}`;
  }

  it('redacts as redactUrl does, one redactor for many URLs whose parameter names repeat (property)', () => {
    const redact = createUrlRedactor();
    const name = fc.constantFrom('page', 'token', 'api_key', 'Api%2DKey', '%zz', 'a+b', 'x%74oken', 'q', '', 'sig');
    const pair = fc.oneof(
      fc.tuple(name, fc.stringMatching(/^[A-Za-z0-9]{0,6}$/)).map(([n, v]) => `${n}=${v}`),
      name,
    );
    const params = (separator: string) => fc.array(pair, { maxLength: 5 }).map((pairs) => pairs.join(separator));
    fc.assert(
      fc.property(
        fc.webUrl(),
        params('&'),
        params('&'),
        params(';'),
        fc.boolean(),
        (base, query, fragment, pathParams, user) => {
          const url = new URL(base);
          if (user) url.username = 'someone';
          if (pathParams !== '') url.pathname = `${url.pathname};${pathParams}`;
          url.search = query;
          url.hash = fragment;
          const safe = redact(url);
          expect(safe).toBe(redactUrl(url));
          expect(safe).toBe(redactUrl(url.href));
          expect(safe).toBe(reference(url));
        },
      ),
    );
  });
  it('redacts a http(s) URL as the same URL of another special scheme, whatever its text (property)', () => {
    const redact = createUrlRedactor();
    // ws and wss are read as http and https are (same default ports), by the general path of the redactor.
    const piece = fc.constantFrom(
      ...['a', 'page', 'token', 'api_key', 'Api%2DKey', '=', '&', '?', '#', ';', '/', '@', ':', 'x%74oken', '+', '%zz'],
      ...['sig=1', 'q=2', '', '%40', ':pw', '[', "'", ' '],
    );
    const text = fc
      .tuple(
        fc.constantFrom('', 'https'),
        fc.constantFrom('api.test', 'user:pw@api.test', 'api.test:8080', '127.0.0.1', 'u@h'),
        fc.array(piece, { maxLength: 12 }),
      )
      .map(([secure, host, rest]) => [`http${secure === '' ? '' : 's'}://${host}/${rest.join('')}`, secure] as const);
    fc.assert(
      fc.property(text, ([http, secure]) => {
        const ws = `ws${secure === '' ? '' : 's'}${http.slice(secure === '' ? 4 : 5)}`;
        if (!URL.canParse(http)) return;
        const expected = redactUrl(ws).replace(/^wss?/, secure === '' ? 'http' : 'https');
        expect(redact(new URL(http))).toBe(expected);
        expect(redactUrl(http)).toBe(expected);
      }),
      { numRuns: 5_000 },
    );
  });

  it('drops an empty query or fragment mark, as a URL built from its parts has none', () => {
    const redact = createUrlRedactor();
    expect(redact(new URL('https://api.test/x?'))).toBe('https://api.test/x');
    expect(redact(new URL('https://api.test/x?a=1#'))).toBe('https://api.test/x?a=1');
    expect(redact(new URL('https://api.test/x?#a'))).toBe('https://api.test/x#a');
  });
});

describe('isSecretParam', () => {
  it('ignores case and the separators -, _ and .', () => {
    expect(isSecretParam('Api.Key')).toBe(true);
    expect(isSecretParam('CLIENT-SECRET')).toBe(true);
    expect(isSecretParam('keys')).toBe(false);
  });
});

describe('scrubUserinfo', () => {
  it("removes a URL's password from an error that quotes the URL, keeping the error itself", async () => {
    const { createRatewise } = await import('../../src/index.js');
    const rw = createRatewise();
    const error: unknown = await rw.fetch('http://alice:hunter2@127.0.0.1:9/x').then(
      () => undefined,
      (e: unknown) => e,
    );
    await rw.close();
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).not.toContain('hunter2');
    expect(String((error as Error).stack)).not.toContain('hunter2');
  });
});
