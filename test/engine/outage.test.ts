// A call that gives up on a 503 or a throttle (its retries spent) does not let the queue rush the server: the next
// request goes alone, as after a pause.
import { describe, expect, it } from 'vitest';
import type { Ratewise } from '../../src/client.js';
import { advance, fixedRandom, rig, status, track } from './support/harness.js';

describe('a call that gives up on a refusal', () => {
  it.for([503, 429])('after a %i that was not retried, the next request goes alone', async (code) => {
    const client: { rw?: Ratewise } = {};
    let maxInFlight = 0;
    const r = rig(
      {
        random: fixedRandom(0.5),
        budgets: { '*': { initialWindow: 1 } },
        retry: { limit: 1, rateLimitLimit: 1, backoff: { baseMs: 100 } },
      },
      () => {
        maxInFlight = Math.max(maxInFlight, client.rw?.stats()[0]?.inFlight ?? 0);
        return status(code);
      },
    );
    const rw = (client.rw = r.rw);
    const calls = [0, 1, 2, 3].map((i) => track(rw.fetch(`https://a.test/${i}`), r.clock));
    await advance(r.clock, 5000);
    expect(calls.map((c) => c.state)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(r.server.calls).toHaveLength(8);
    expect(maxInFlight).toBe(1);
  });
});
