// Where the server names no quota, a refusal of one route pauses that route alone, and the host's next request (of
// another route) probes whether the limit is the whole host's: accepted, the other routes go on; refused too, the
// whole host waits for the longer of the two pauses, and the first route's calls wait with it. On the fake clock.
import { describe, expect, it } from 'vitest';
import { isRatewiseError } from '../../src/index.js';
import { advance, flush, ok, rig, T0, tooMany, track, type FetchCall } from './support/harness.js';

const path = (url: string): string => new URL(url).pathname;

describe('a refusal of one route, where the server names nothing', () => {
  it("pauses that route alone: another route is sent at once (was: failed unsent for the first route's wait)", async () => {
    const sent: string[] = [];
    const { rw, clock } = rig({ retry: { maxRetryAfter: 10_000 } }, (call: FetchCall) => {
      sent.push(`${path(call.url)}@${call.at - T0}`);
      return path(call.url) === '/slow' ? tooMany(30) : ok();
    });
    const slow = track(rw.fetch('https://api.test/slow'), clock);
    await flush();
    expect(slow.state).toBe('rejected');
    const other = await rw.fetch('https://api.test/things/2');
    expect(other.status).toBe(200);
    expect(sent).toEqual(['/slow@0', '/things/2@0']);
    // The slow route itself still waits out its 30 s: a new call of it fails unsent, naming its route's budget.
    const again = track(rw.fetch('https://api.test/slow'), clock);
    await flush();
    expect(again.state).toBe('rejected');
    expect(isRatewiseError(again.error) && again.error.code).toBe('ERR_RATEWISE_RATE_LIMITED');
    expect((again.error as Error).message).toContain('GET /slow');
    expect(sent).toHaveLength(2);
  });

  it("lets the other routes' waiting calls go once the probe is accepted, one first and then the rest", async () => {
    const sent: string[] = [];
    const { rw, clock } = rig({}, (call: FetchCall) => {
      sent.push(`${path(call.url)}@${call.at - T0}`);
      return path(call.url) === '/slow/1' && sent.filter((s) => s.startsWith('/slow')).length === 1
        ? tooMany(30)
        : ok();
    });
    const slow = track(rw.fetch('https://api.test/slow/1'), clock);
    await flush();
    const others = Array.from({ length: 8 }, (_, i) => track(rw.fetch(`https://api.test/fast/${i}`), clock));
    await advance(clock, 100);
    expect(others.every((c) => c.state === 'fulfilled')).toBe(true);
    expect(slow.state).toBe('pending');
    await advance(clock, 30_000);
    expect(slow.state).toBe('fulfilled');
    expect(sent.filter((s) => s.startsWith('/slow'))).toEqual(['/slow/1@0', '/slow/1@30000']);
  });

  it('when the probe of another route is refused too, the whole host waits for the longer pause: nothing else is sent', async () => {
    const sent: string[] = [];
    let refusing = true;
    const { rw, clock } = rig({}, (call: FetchCall) => {
      sent.push(`${path(call.url)}@${call.at - T0}`);
      if (!refusing) return ok();
      return path(call.url).startsWith('/slow') ? tooMany(30) : tooMany(10);
    });
    const slow = track(rw.fetch('https://api.test/slow/1'), clock);
    await flush();
    const others = Array.from({ length: 5 }, (_, i) => track(rw.fetch(`https://api.test/fast/${i}`), clock));
    await advance(clock, 100);
    // One probe of another route, refused: the rest of the host waits.
    expect(sent).toEqual(['/slow/1@0', '/fast/0@0']);
    refusing = false;
    await advance(clock, 29_000);
    expect(sent).toHaveLength(2);
    await advance(clock, 1_100);
    expect([slow, ...others].every((c) => c.state === 'fulfilled' && c.settledCount === 1)).toBe(true);
    expect(rw.stats().map((s) => s.key)).toContain('https://api.test');
    // Back in the host's lane: the slow route's call went with the rest at the end of the longer pause.
    expect(sent.find((s) => s.startsWith('/slow/1@3'))).toBe('/slow/1@30000');
  });
});
