import { describe, expect, it } from 'vitest';
import { budgetEffects, decideRetry, type EffectContext } from '../../src/retry/decision.js';
import { context, networkError, NOW, response, scripted, SECOND, throttle } from '../support/retry-context.js';

/** The effects of an attempt at NOW whose decision is decideRetry's for a GET with that outcome, unless given. */
function effects(overrides: Partial<EffectContext> & Pick<EffectContext, 'outcome'>, random = scripted(0)) {
  const decision =
    'decision' in overrides ? overrides.decision : decideRetry(context({ outcome: overrides.outcome, random }));
  return budgetEffects({
    now: NOW,
    retryRefused: false,
    sentInPause: false,
    serverResetAt: undefined,
    ...overrides,
    decision,
  });
}

describe('budgetEffects: what an attempt does to its whole budget', () => {
  it('a 429 with Retry-After pauses the budget until the server instant plus jitter, held against the instant', () => {
    const outcome = throttle({ retryAt: NOW + 5 * SECOND });
    expect(effects({ outcome }, scripted(1))).toEqual([
      { kind: 'pause', until: NOW + 5500, ordered: NOW + 5 * SECOND, reason: 'retry-after' },
    ]);
  });

  it('a 429 without timing backs the budget off, unless the request went out before a pause that still holds', () => {
    const outcome = throttle();
    expect(effects({ outcome }, scripted(1))).toEqual([
      { kind: 'pause', until: NOW + 500, ordered: NOW + 500, reason: 'backoff' },
    ]);
    expect(effects({ outcome, sentInPause: true })).toEqual([]);
  });

  it("the refusal of a call above the server's whole limit holds nobody else, unless the server ordered a wait", () => {
    const bare = throttle();
    expect(effects({ outcome: bare, decision: decideRetry(context({ outcome: bare, overLimit: true })) })).toEqual([]);
    const timed = throttle({ retryAt: NOW + 5 * SECOND });
    expect(effects({ outcome: timed, decision: decideRetry(context({ outcome: timed, overLimit: true })) })).toEqual([
      { kind: 'pause', until: NOW + 5 * SECOND, ordered: NOW + 5 * SECOND, reason: 'retry-after' },
    ]);
  });

  it('a success that spent the quota waits for the reset (its earliest reading): pacing, not a pause', () => {
    const outcome = response(200, { remaining: 0, resetAt: NOW + 3 * SECOND });
    const quota = { kind: 'quota', until: NOW + 2 * SECOND };
    expect(effects({ outcome, serverResetAt: NOW + 2 * SECOND })).toEqual([quota]);
    expect(effects({ outcome, serverResetAt: NOW + 2 * SECOND, decision: undefined })).toEqual([quota]);
  });

  it('an aborted call does not retry, but its 429 still pauses the budget until the server instant', () => {
    const outcome = throttle({ retryAt: NOW + 5 * SECOND });
    expect(effects({ outcome, decision: undefined })).toEqual([
      { kind: 'pause', until: NOW + 5 * SECOND, ordered: NOW + 5 * SECOND, reason: 'retry-after' },
    ]);
    expect(effects({ outcome: networkError(), decision: undefined })).toEqual([]);
  });

  it('a retry the retry budget refused still leaves its pause to the budget', () => {
    const outcome = throttle({ retryAt: NOW + 5 * SECOND });
    expect(effects({ outcome, retryRefused: true })).toEqual([
      { kind: 'pause', until: NOW + 5 * SECOND, ordered: NOW + 5 * SECOND, reason: 'retry-after' },
    ]);
  });

  it('a server wait the call will not sit through still holds for the budget', () => {
    const outcome = throttle({ retryAt: NOW + 90 * SECOND });
    expect(effects({ outcome })).toEqual([
      { kind: 'pause', until: NOW + 90 * SECOND, ordered: NOW + 90 * SECOND, reason: 'retry-after' },
    ]);
  });

  it('a throttle or an outage whose retries are spent makes the next request a probe', () => {
    const spent = decideRetry(context({ outcome: throttle(), rateLimitRetries: 5 }));
    expect(effects({ outcome: throttle(), decision: spent })).toEqual([{ kind: 'probe' }]);
    const decision = decideRetry(context({ outcome: response(503), errorRetries: 2 }));
    expect(effects({ outcome: response(503), decision })).toEqual([{ kind: 'probe' }]);
    expect(effects({ outcome: response(500), decision: decideRetry(context({ errorRetries: 2 })) })).toEqual([]);
  });

  it('an error retried on its own backoff leaves the budget alone', () => {
    expect(effects({ outcome: response(500) })).toEqual([]);
    expect(effects({ outcome: networkError() })).toEqual([]);
  });
});
