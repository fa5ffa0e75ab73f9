import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isNetworkError } from '../../src/retry/network-error.js';

const coded = (code: string, message = `connect ${code}`): Error => Object.assign(new Error(message), { code });
const fetchFailed = (cause?: unknown): TypeError =>
  cause === undefined ? new TypeError('fetch failed') : new TypeError('fetch failed', { cause });

/** A loopback port that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('isNetworkError', () => {
  it.for([
    'ECONNRESET',
    'ECONNREFUSED',
    'EPIPE',
    'ETIMEDOUT',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
  ])("recognises undici's TypeError('fetch failed') caused by %s", (code) => {
    expect(isNetworkError(fetchFailed(coded(code)))).toBe(true);
  });

  it("recognises undici's TypeError('terminated') when the socket closes mid-body", () => {
    expect(isNetworkError(new TypeError('terminated', { cause: coded('UND_ERR_SOCKET', 'other side closed') }))).toBe(
      true,
    );
  });

  it('finds the code deeper in the cause chain and inside an AggregateError (Happy Eyeballs)', () => {
    expect(isNetworkError(fetchFailed(new Error('wrapped', { cause: coded('ECONNRESET') })))).toBe(true);
    const aggregate = new AggregateError([coded('ECONNREFUSED'), coded('ENETUNREACH')], 'all attempts failed');
    expect(isNetworkError(fetchFailed(aggregate))).toBe(true);
  });

  it("rejects undici's TypeError('fetch failed') whose cause is not a connection failure ('bad port')", () => {
    expect(isNetworkError(fetchFailed(new Error('bad port')))).toBe(false);
    expect(isNetworkError(fetchFailed(coded('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH')))).toBe(false);
    expect(isNetworkError(fetchFailed(coded('CERT_HAS_EXPIRED')))).toBe(false);
  });

  it("accepts undici's TypeError('fetch failed') without any cause: it cannot be told apart", () => {
    expect(isNetworkError(fetchFailed())).toBe(true);
  });

  it('survives a cyclic cause chain', () => {
    const a: { code: string; cause?: unknown } = { code: 'EWHATEVER' };
    a.cause = { code: 'ENOPE', cause: a };
    expect(isNetworkError(fetchFailed(a))).toBe(false);
  });

  it.for([
    'Failed to fetch',
    'network error',
    'NetworkError when attempting to fetch resource.',
    'The Internet connection appears to be offline.',
    'Network request failed',
  ])("recognises a browser fetch's TypeError(%j)", (message) => {
    expect(isNetworkError(new TypeError(message))).toBe(true);
  });

  it("recognises Safari's TypeError('Load failed') only without a stack, as Safari throws it", () => {
    const safari = new TypeError('Load failed');
    expect(isNetworkError(safari)).toBe(false);
    Object.defineProperty(safari, 'stack', { value: undefined });
    expect(isNetworkError(safari)).toBe(true);
  });

  it('recognises axios, got and node:http errors by their own code', () => {
    expect(isNetworkError({ isAxiosError: true, name: 'AxiosError', code: 'ECONNREFUSED', response: undefined })).toBe(
      true,
    );
    expect(isNetworkError({ isAxiosError: true, name: 'AxiosError', code: 'ERR_NETWORK' })).toBe(true);
    expect(isNetworkError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it('rejects axios cancels, timeouts and errors that carry a response', () => {
    expect(isNetworkError({ name: 'CanceledError', code: 'ERR_CANCELED' })).toBe(false);
    expect(isNetworkError({ name: 'AxiosError', code: 'ECONNABORTED', message: 'timeout of 10ms exceeded' })).toBe(
      false,
    );
    expect(isNetworkError({ name: 'AxiosError', code: 'ECONNRESET', response: { status: 502 } })).toBe(false);
  });

  it.for([
    ['an AbortError DOMException', new DOMException('This operation was aborted', 'AbortError')],
    ['a TimeoutError DOMException', new DOMException('The operation was aborted due to timeout', 'TimeoutError')],
    [
      'an AbortError even with a network cause',
      Object.assign(fetchFailed(coded('ECONNRESET')), { name: 'AbortError' }),
    ],
    ['a plain Error', new Error('fetch failed')],
    ['a RangeError', new RangeError('Maximum call stack size exceeded')],
    ['a TypeError from a bug', new TypeError("Cannot read properties of undefined (reading 'status')")],
    ['undefined', undefined],
    ['null', null],
    ['a string', 'ECONNRESET'],
  ] as const)('rejects %s', ([, error]) => {
    expect(isNetworkError(error)).toBe(false);
  });

  describe('with the real fetch', () => {
    it('recognises a refused connection', async () => {
      const error = await rejection(fetch(`http://127.0.0.1:${await closedPort()}/`));
      expect(isNetworkError(error)).toBe(true);
    });

    it('rejects a blocked port, which no retry can fix', async () => {
      expect(isNetworkError(await rejection(fetch('http://127.0.0.1:1/')))).toBe(false);
    });

    it('rejects an abort', async () => {
      const error = await rejection(fetch(`http://127.0.0.1:${await closedPort()}/`, { signal: AbortSignal.abort() }));
      expect(isNetworkError(error)).toBe(false);
    });
  });
});
