import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { LoopDetectedError } from '../../src/errors.js';
import { createRatewise } from '../../src/client.js';
import { FakeClock } from '../support/fake-clock.js';
import { advance, flush, rig, ScriptedFetch, status, T0, tooMany, track } from './support/harness.js';

describe('loop guard', () => {
  let warn: MockInstance<typeof console.warn>;
  beforeEach(() => {
    warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    warn.mockRestore();
  });

  it('warns once per URL, emits `loop` once per window, and still sends the request', async () => {
    const { rw, clock, server, eventsOf } = rig({ loopGuard: { limit: 3, windowMs: 10_000 } });
    for (let i = 0; i < 6; i++) await rw.fetch('https://a.test/poll?token=SECRET');
    expect(server.calls).toHaveLength(6);
    expect(eventsOf('loop')).toEqual([
      { method: 'GET', url: 'https://a.test/poll?token=[REDACTED]', count: 4, windowMs: 10_000 },
    ]);
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]?.[0])).toContain('GET https://a.test/poll?token=[REDACTED]');
    expect(String(warn.mock.calls[0]?.[0])).not.toContain('SECRET');
    await advance(clock, 10_000);
    for (let i = 0; i < 4; i++) await rw.fetch('https://a.test/poll?token=SECRET');
    expect(eventsOf('loop')).toHaveLength(2); // a new window, a new report
    expect(warn).toHaveBeenCalledOnce(); // but one warning per URL
  });

  it('counts each method and URL apart', async () => {
    const { rw, eventsOf } = rig({ loopGuard: { limit: 2 } });
    for (let i = 0; i < 2; i++) {
      await rw.fetch('https://a.test/x');
      await rw.fetch('https://a.test/y');
      await rw.fetch('https://a.test/x', { method: 'PUT' });
    }
    expect(eventsOf('loop')).toEqual([]);
  });

  it("fails the call with LoopDetectedError in 'throw' mode, without sending it", async () => {
    const { rw, server, eventsOf } = rig({ loopGuard: { limit: 2, mode: 'throw' } });
    await rw.fetch('https://a.test/x');
    await rw.fetch('https://a.test/x');
    const error: unknown = await rw.fetch('https://a.test/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoopDetectedError);
    expect(error).toMatchObject({ method: 'GET', url: 'https://a.test/x', count: 3, windowMs: 10_000 });
    // Every call past the limit fails while the window lasts, not only the one that crossed it.
    const again: unknown = await rw.fetch('https://a.test/x').catch((e: unknown) => e);
    expect(again).toMatchObject({ name: 'LoopDetectedError', count: 4 });
    expect(server.calls).toHaveLength(2);
    expect(eventsOf('loop')).toHaveLength(1);
    expect(warn).not.toHaveBeenCalled();
  });

  it('never trips on ordinary polling: once a second for ten minutes, with the defaults', async () => {
    const { rw, clock, server, eventsOf } = rig({ loopGuard: {} });
    for (let i = 0; i < 600; i++) {
      await rw.fetch('https://a.test/status');
      await advance(clock, 1000);
    }
    expect(server.calls).toHaveLength(600);
    expect(clock.now() - T0).toBe(600_000);
    expect(eventsOf('loop')).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
  });

  it("does not count ratewise's own retries", async () => {
    const { rw, clock, server, eventsOf } = rig(
      { loopGuard: { limit: 1, mode: 'throw' }, retry: { limit: 3, rateLimitLimit: 3 } },
      (call) => (call.index % 2 === 0 ? status(503) : tooMany(1)),
    );
    const call = track(rw.fetch('https://a.test/'));
    await advance(clock, 60_000);
    expect(server.calls.length).toBeGreaterThan(3);
    expect(call.state).toBe('fulfilled');
    expect(eventsOf('loop')).toEqual([]);
  });

  it('is on by default (100 calls per 10 s)', async () => {
    const clock = new FakeClock(T0);
    const server = new ScriptedFetch(clock);
    const rw = createRatewise({ fetch: server.fetch, clock });
    const loops: unknown[] = [];
    rw.on('loop', (e) => loops.push(e));
    for (let i = 0; i < 101; i++) void rw.fetch('https://a.test/');
    await flush();
    expect(loops).toMatchObject([{ count: 101 }]);
    expect(warn).toHaveBeenCalledOnce();
  });
});
