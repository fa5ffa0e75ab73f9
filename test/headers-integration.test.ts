// What parseRateLimit reads from the headers real rate limiters send on 127.0.0.1, before and at the limit and on
// the 429 that follows. Reset instants are checked against logical bounds of the server's window, never against
// elapsed wall time: the window opens no earlier than the first request was sent, so a parsed reset can be no
// earlier than `firstSentAt + windowMs`, and no later than `now + windowMs` plus the precision of the field
// (whole seconds counted down from the server's clock, or whole epoch seconds read against a whole-second `Date`).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseRateLimit } from '../src/headers/index.js';
import type { RateLimitInfo, RateLimitSource } from '../src/headers/index.js';
import { startExpressServer, startFastifyServer, startScriptedServer } from './support/servers.js';
import type { TestServer } from './support/servers.js';

const LIMIT = 5;
const WINDOW_MS = 60_000;
/** Extra lateness of an epoch-seconds reset read against `Date`: the reset is rounded up, `Date` truncated. */
const EPOCH_SECONDS_SLACK_MS = 2_000;

interface Exchange {
  readonly status: number;
  readonly headers: Headers;
  /** `Date.now()` just before the request was sent. */
  readonly sentAt: number;
  /** `Date.now()` when the response head arrived: the `now` given to the parser. */
  readonly now: number;
  readonly info: RateLimitInfo;
}

async function send(server: TestServer): Promise<Exchange> {
  const sentAt = Date.now();
  const response = await fetch(`${server.url}/resource`);
  const now = Date.now();
  await response.arrayBuffer();
  const info = parseRateLimit(response.headers, { now, status: response.status });
  return { status: response.status, headers: response.headers, sentAt, now, info };
}

interface Peer {
  readonly name: string;
  readonly start: () => Promise<TestServer>;
  /** The fields as the peer really sends them on the first response (limit 5, 60 s window). */
  readonly firstResponse: Readonly<Record<string, RegExp>>;
  /** The header families parseRateLimit should report. */
  readonly sources: readonly RateLimitSource[];
  /** What the selected quota's window should be: only where a field states it. */
  readonly windowMs: number | undefined;
  /** How much later than `now + windowMs` the parsed reset may fall, given the fields' precision. */
  readonly resetSlackMs: number;
}

const peers: readonly Peer[] = [
  {
    name: 'express-rate-limit draft-6 with legacy headers',
    start: () =>
      startExpressServer({ limit: LIMIT, windowMs: WINDOW_MS, standardHeaders: 'draft-6', legacyHeaders: true }),
    firstResponse: {
      'ratelimit-policy': /^5;w=60$/,
      'ratelimit-limit': /^5$/,
      'ratelimit-remaining': /^4$/,
      'ratelimit-reset': /^\d+$/,
      'x-ratelimit-limit': /^5$/,
      'x-ratelimit-remaining': /^4$/,
      'x-ratelimit-reset': /^\d{10}$/,
      date: /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/,
    },
    sources: ['ietf-draft6', 'x-ratelimit'],
    windowMs: WINDOW_MS,
    resetSlackMs: EPOCH_SECONDS_SLACK_MS,
  },
  {
    name: 'express-rate-limit draft-7',
    start: () =>
      startExpressServer({ limit: LIMIT, windowMs: WINDOW_MS, standardHeaders: 'draft-7', legacyHeaders: false }),
    firstResponse: {
      'ratelimit-policy': /^5;w=60$/,
      ratelimit: /^limit=5, remaining=4, reset=\d+$/,
    },
    sources: ['ietf-draft7'],
    windowMs: WINDOW_MS,
    resetSlackMs: 0,
  },
  {
    name: 'express-rate-limit draft-8',
    start: () =>
      startExpressServer({ limit: LIMIT, windowMs: WINDOW_MS, standardHeaders: 'draft-8', legacyHeaders: false }),
    firstResponse: {
      'ratelimit-policy': /^"5-in-1min"; q=5; w=60; pk=:[A-Za-z0-9+/]+=*:$/,
      ratelimit: /^"5-in-1min"; r=4; t=\d+$/,
    },
    sources: ['ietf'],
    windowMs: WINDOW_MS,
    resetSlackMs: 0,
  },
  {
    name: '@fastify/rate-limit (X-RateLimit-Reset in delta seconds)',
    start: () => startFastifyServer({ max: LIMIT, timeWindow: WINDOW_MS }),
    firstResponse: {
      'x-ratelimit-limit': /^5$/,
      'x-ratelimit-remaining': /^4$/,
      'x-ratelimit-reset': /^\d{1,2}$/,
    },
    sources: ['x-ratelimit'],
    windowMs: undefined,
    resetSlackMs: 0,
  },
  {
    name: '@fastify/rate-limit with enableDraftSpec',
    start: () => startFastifyServer({ max: LIMIT, timeWindow: WINDOW_MS, enableDraftSpec: true }),
    firstResponse: {
      'ratelimit-limit': /^5$/,
      'ratelimit-remaining': /^4$/,
      'ratelimit-reset': /^\d{1,2}$/,
    },
    sources: ['ietf-draft6'],
    windowMs: undefined,
    resetSlackMs: 0,
  },
];

describe.for(peers)('$name', (peer) => {
  let server: TestServer;
  /** LIMIT accepted exchanges, then one rejected. */
  const exchanges: Exchange[] = [];

  beforeAll(async () => {
    server = await peer.start();
    for (let i = 0; i <= LIMIT; i++) exchanges.push(await send(server));
    if (process.env['PRINT_HEADERS']) {
      for (const { status, headers } of [exchanges[0]!, exchanges[LIMIT]!]) {
        console.log(`${peer.name}: ${status}\n${[...headers].map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
      }
    }
  });
  afterAll(async () => {
    await server.close();
  });

  const first = () => exchanges[0]!;
  const last = () => exchanges[LIMIT - 1]!;
  const rejected = () => exchanges[LIMIT]!;

  /** The bounds a reset or retry instant must fall in, as explained at the top of this file. */
  function expectInsideWindow(instant: number | undefined, exchange: Exchange): void {
    expect(instant).toBeDefined();
    expect(instant).toBeGreaterThanOrEqual(first().sentAt + WINDOW_MS);
    expect(instant).toBeLessThanOrEqual(exchange.now + WINDOW_MS + peer.resetSlackMs);
  }

  test('the server lets LIMIT requests through and rejects the next with 429', () => {
    expect(exchanges.map((exchange) => exchange.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(server.hits()).toMatchObject({ total: LIMIT + 1, accepted: LIMIT, rejected: 1, inFlight: 0 });
  });

  test('sends the fields this test was written against', () => {
    for (const [name, pattern] of Object.entries(peer.firstResponse)) {
      expect(first().headers.get(name), name).toMatch(pattern);
    }
  });

  test('reads limit, remaining and a reset inside the window from the first response', () => {
    const { info } = first();
    expect(info).toMatchObject({ limit: LIMIT, remaining: LIMIT - 1, isRateLimited: false });
    expect(info.windowMs).toBe(peer.windowMs);
    expect(info.retryAt).toBeUndefined();
    expectInsideWindow(info.resetAt, first());
    expect(new Set(info.policies.map((policy) => policy.source))).toEqual(new Set(peer.sources));
    for (const policy of info.policies) {
      expect(policy).toMatchObject({ unit: 'requests', limit: LIMIT, remaining: LIMIT - 1 });
    }
  });

  test('counts remaining down by one per request', () => {
    expect(exchanges.slice(0, LIMIT).map((exchange) => exchange.info.remaining)).toEqual([4, 3, 2, 1, 0]);
  });

  test('a 200 with remaining 0 is not a throttle and carries no retry instant', () => {
    expect(last().info).toMatchObject({ limit: LIMIT, remaining: 0, isRateLimited: false });
    expect(last().info.retryAt).toBeUndefined();
    expectInsideWindow(last().info.resetAt, last());
  });

  test('the 429 is rate limited, with retryAt from Retry-After inside the window', () => {
    const { info, headers } = rejected();
    expect(headers.get('retry-after')).toMatch(/^\d+$/);
    expect(info).toMatchObject({ limit: LIMIT, remaining: 0, isRateLimited: true });
    expectInsideWindow(info.retryAt, rejected());
    expectInsideWindow(info.resetAt, rejected());
    // Retry-After is delta seconds counted from the same server instant as the reset, never later than it.
    expect(info.retryAt).toBeLessThanOrEqual(info.resetAt!);
  });
});

describe('express-rate-limit draft-8 specifics', () => {
  test('the policy keeps its name and partition key, and the window comes from w', async () => {
    const server = await startExpressServer({
      limit: LIMIT,
      windowMs: WINDOW_MS,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
    });
    try {
      const { info, headers } = await send(server);
      const partitionKey = /pk=:([^:]+):/.exec(headers.get('ratelimit-policy') ?? '')?.[1];
      expect(partitionKey).toBeDefined();
      expect(info.policies).toEqual([
        expect.objectContaining({
          source: 'ietf',
          name: '5-in-1min',
          limit: 5,
          remaining: 4,
          windowMs: 60_000,
          partitionKey,
        }),
      ]);
    } finally {
      await server.close();
    }
  });

  test('a custom identifier names the policy', async () => {
    const server = await startExpressServer({ standardHeaders: 'draft-8', legacyHeaders: false, identifier: 'per-ip' });
    try {
      const { info, headers } = await send(server);
      expect(headers.get('ratelimit')).toMatch(/^"per-ip"; r=4; t=\d+$/);
      expect(info.policies.map((policy) => policy.name)).toEqual(['per-ip']);
    } finally {
      await server.close();
    }
  });
});

describe('a server whose clock runs ahead of ours (scripted node:http)', () => {
  // express-rate-limit sends Date beside the epoch reset "to help avoid issues with incorrect clocks"; the parser
  // must measure absolute instants against that Date, not against the local clock (docs/headers.md, "Time base and
  // the Date header").
  const SKEW_MS = 3_600_000;

  test('reads an epoch-seconds reset and an HTTP-date Retry-After relative to the Date header', async () => {
    const server = await startScriptedServer(() => {
      const serverNowMs = Math.floor((Date.now() + SKEW_MS) / 1000) * 1000;
      return {
        status: 429,
        headers: {
          date: new Date(serverNowMs).toUTCString(),
          'x-ratelimit-limit': '5',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(serverNowMs / 1000 + 30),
          'retry-after': new Date(serverNowMs + 45_000).toUTCString(),
        },
      };
    });
    try {
      const { info, now } = await send(server);
      expect(info).toMatchObject({
        limit: 5,
        remaining: 0,
        isRateLimited: true,
        resetAt: now + 30_000,
        retryAt: now + 45_000,
      });
      expect(server.hits()).toMatchObject({ total: 1, rejected: 1 });
    } finally {
      await server.close();
    }
  });
});
