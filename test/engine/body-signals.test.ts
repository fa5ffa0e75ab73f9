// Throttles that only a body tells of, through rw.fetch on the fake clock: GitHub's secondary rate limits, recognised
// out of the box, and a budget's own `classify` hook. The body is read from a copy: the caller still gets all of it.
import { describe, expect, it } from 'vitest';
import {
  isGraphQlRateLimited,
  isGraphQlRequest,
  isSecondaryRateLimit,
  isSpentCount,
  secondaryWaitMs,
} from '../../src/retry/body-signals.js';
import { advance, flush, ok, rig, T0, track, type FetchCall } from './support/harness.js';

const SECONDARY =
  '{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",' +
  '"documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}';

const json = (status: number, body: string, headers: Record<string, string> = {}): Response =>
  new Response(body, { status, headers: { 'content-type': 'application/json', ...headers } });

describe('isSecondaryRateLimit and secondaryWaitMs', () => {
  it("recognises GitHub's messages on a 403 or 429 only", () => {
    expect(isSecondaryRateLimit(403, SECONDARY)).toBe(true);
    expect(isSecondaryRateLimit(429, 'You have triggered an abuse detection mechanism.')).toBe(true);
    expect(isSecondaryRateLimit(200, SECONDARY)).toBe(false);
    expect(isSecondaryRateLimit(403, '{"message":"Resource not accessible by integration"}')).toBe(false);
    expect(isSecondaryRateLimit(403, undefined)).toBe(false);
  });

  it('waits a minute, twice as long for each throttle in a row before, at most 16 minutes', () => {
    expect([0, 1, 2, 3, 4, 5, 50, -1, Number.NaN].map(secondaryWaitMs)).toEqual([
      60_000, 120_000, 240_000, 480_000, 960_000, 960_000, 960_000, 60_000, 60_000,
    ]);
  });
});

describe("GitHub GraphQL's spent quota", () => {
  const API = 'https://api.github.com/graphql';

  it('reads the body of a POST to …/graphql only, and only when its remaining count is 0', () => {
    expect(isGraphQlRequest('POST', API)).toBe(true);
    expect(isGraphQlRequest('POST', 'https://github.example.com/api/graphql')).toBe(true);
    expect(isGraphQlRequest('GET', API)).toBe(false);
    expect(isGraphQlRequest('POST', 'https://api.github.com/repos/o/r/issues')).toBe(false);
    expect(['0', 0, ' 0 ', '1', '', undefined, null].map(isSpentCount)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });

  it('recognises an error of type RATE_LIMITED in a 200, however the JSON is spaced', () => {
    expect(isGraphQlRateLimited(200, '{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded"}]}')).toBe(
      true,
    );
    expect(isGraphQlRateLimited(200, '{ "errors": [ { "type" : "RATE_LIMITED" } ] }')).toBe(true);
    expect(isGraphQlRateLimited(200, '{"errors":[{"type":"NOT_FOUND"}]}')).toBe(false);
    expect(isGraphQlRateLimited(200, '{"data":{"note":"RATE_LIMITED"}}')).toBe(false);
    expect(isGraphQlRateLimited(403, '{"errors":[{"type":"RATE_LIMITED"}]}')).toBe(false);
    expect(isGraphQlRateLimited(200, undefined)).toBe(false);
  });
});

describe("GitHub's secondary rate limits", () => {
  it('pause the budget a minute when they name no time, then the call is sent again (was: failed with the 403)', async () => {
    const { rw, clock, server } = rig({}, (call) => (call.index === 0 ? json(403, SECONDARY) : ok()));
    const call = track(rw.fetch('https://api.github.test/repos/o/r/issues'), clock);
    await flush();
    await advance(clock, 59_999);
    expect(call.state).toBe('pending');
    await advance(clock, 1);
    expect(call.state).toBe('fulfilled');
    expect(server.sentAt.map((t) => t - T0)).toEqual([0, 60_000]);
  });

  it('wait twice as long the second time in a row', async () => {
    const { rw, clock, server } = rig({ retry: { maxRetryAfter: 300_000 } }, (call) =>
      call.index < 2 ? json(403, SECONDARY) : ok(),
    );
    const call = track(rw.fetch('https://api.github.test/search/code?q=x'), clock);
    await flush();
    await advance(clock, 180_000);
    expect(call.state).toBe('fulfilled');
    expect(server.sentAt.map((t) => t - T0)).toEqual([0, 60_000, 180_000]);
  });

  it('follow their own retry-after when they give one', async () => {
    const { rw, clock, server } = rig({}, (call) =>
      call.index === 0 ? json(403, SECONDARY, { 'retry-after': '5' }) : ok(),
    );
    const call = track(rw.fetch('https://api.github.test/x'), clock);
    await flush();
    await advance(clock, 5_000);
    expect(call.state).toBe('fulfilled');
    expect(server.sentAt.map((t) => t - T0)).toEqual([0, 5_000]);
  });

  it('leave any other 403 as it is, its body whole for the caller', async () => {
    const body = '{"message":"Resource not accessible by integration"}';
    const { rw, server } = rig({}, () => json(403, body));
    const response = await rw.fetch('https://api.github.test/x');
    expect(response.status).toBe(403);
    expect(await response.text()).toBe(body);
    expect(server.calls).toHaveLength(1);
  });

  it('give up reading a body that does not end within a second: the call settles with its answer', async () => {
    let stream!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        stream = controller;
        controller.enqueue(new TextEncoder().encode('{"message":"You have exceeded a sec'));
      },
    });
    const { rw, clock } = rig({}, () => new Response(body, { status: 403 }));
    const call = track(rw.fetch('https://api.github.test/x'), clock);
    await flush();
    expect(call.state).toBe('pending');
    await advance(clock, 1_000);
    expect(call.state).toBe('fulfilled');
    expect((call.value as Response).status).toBe(403);
    stream.close();
  });
});

describe("a budget's classify hook", () => {
  /** An exchange that answers 200 with a rate-limit error in JSON the first time. */
  const exchange = (call: FetchCall): Response =>
    call.index === 0 ? json(200, '{"code":-1003,"msg":"Too many requests; retry in 2000 ms"}') : ok();

  it('makes a 200 whose body says so a throttle: retried after the wait it names', async () => {
    const seen: (string | undefined)[] = [];
    const { rw, clock, server } = rig(
      {
        budgets: {
          'exchange.test': {
            classify: ({ status, bodyText }) => {
              seen.push(bodyText);
              const match = status === 200 ? /retry in (\d+) ms/.exec(bodyText ?? '') : null;
              return match ? { throttled: true, retryAfterMs: Number(match[1]) } : undefined;
            },
          },
        },
      },
      exchange,
    );
    const call = track(rw.fetch('https://exchange.test/api/v3/order'), clock);
    await flush();
    await advance(clock, 2_000);
    expect(call.state).toBe('fulfilled');
    expect(server.sentAt.map((t) => t - T0)).toEqual([0, 2_000]);
    expect(seen[0]).toContain('Too many requests');
    expect(await (call.value as Response).text()).toBe('ok');
  });

  it('that throws, or returns nonsense, leaves the answer as its headers read', async () => {
    for (const classify of [
      () => {
        throw new Error('hook bug');
      },
      () => ({ throttled: 'yes' }) as never,
    ]) {
      const { rw, server } = rig({ budgets: { 'exchange.test': { classify } } }, exchange);
      const response = await rw.fetch('https://exchange.test/api/v3/order');
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('Too many requests');
      expect(server.calls).toHaveLength(1);
    }
  });

  it('is a function or nothing', () => {
    expect(() => rig({ budgets: { '*': { classify: 'github' as never } } })).toThrow(TypeError);
  });
});

describe('with listeners on every attempt (as ratewise/otel adds)', () => {
  it("still recognises GitHub's secondary rate limits", async () => {
    const { rw, clock, server } = rig({}, (call) => (call.index === 0 ? json(403, SECONDARY) : ok()));
    const attempts: (number | undefined)[] = [];
    rw.on('attempt', (event) => attempts.push(event.status));
    const call = track(rw.fetch('https://api.github.test/x'), clock);
    await flush();
    await advance(clock, 60_000);
    expect(call.state).toBe('fulfilled');
    expect(server.sentAt.map((t) => t - T0)).toEqual([0, 60_000]);
    expect(attempts).toEqual([403, 200]);
  });
});
