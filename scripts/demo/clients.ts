// The clients the demo compares, by name: what each is and how it is configured, in words.

/** Which client sends the burst. */
export type ClientKind = 'ky' | 'axios-retry' | 'loop' | 'ratewise';

/** How a client is named and configured, in words. */
export interface ClientInfo {
  /** A short name for the live progress line. */
  readonly name: string;
  /** Its package and options, for the table and the timeline. */
  readonly label: string;
  /** What it does on a 429, in a sentence. */
  readonly how: string;
}

export const CLIENTS: Readonly<Record<ClientKind, ClientInfo>> = {
  ky: {
    name: 'ky',
    label: 'ky, retry: { limit: 10 }',
    how:
      'ky.get(url, { retry: { limit: 10 } }): retries a GET on a 429 up to 10 times, waiting for Retry-After ' +
      '(or RateLimit-Reset, X-RateLimit-Reset), else backing off 0.3 s × 2ⁿ⁻¹',
  },
  'axios-retry': {
    name: 'axios-retry',
    label: 'axios + axios-retry, retries: 10, on 429',
    how:
      'axiosRetry(axios.create(), { retries: 10, retryDelay: exponentialDelay }), retrying network errors, ' +
      "an idempotent request's 5xx and 429: waits the larger of 0.1 s × 2ⁿ (+ up to 20 %) and Retry-After",
  },
  loop: {
    name: 'hand loop',
    label: 'fetch + hand-written retry loop',
    how: 'fetch, and on a 429 sleep a random share of Retry-After (1 s without one) and try again, 20 attempts at most',
  },
  ratewise: {
    name: 'ratewise',
    label: 'ratewise, rw.fetch, no options',
    how: 'createRatewise().fetch(url), nothing configured: it reads the answers and paces the rest',
  },
};

/** The order the demo runs them in: the peers people use, the hand-written loop, then ratewise. */
export const CLIENT_ORDER: readonly ClientKind[] = ['ky', 'axios-retry', 'loop', 'ratewise'];
