import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { LoopDetectedError } from '../../src/errors.js';
import { createRatewise } from '../../src/client.js';
import { FakeClock } from '../support/fake-clock.js';
import { advance, flush, networkError, rig, ScriptedFetch, status, T0, tooMany, track } from './support/harness.js';

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
    for (let i = 0; i < 101; i++) await rw.fetch('https://a.test/');
    expect(loops).toMatchObject([{ count: 101 }]);
    expect(warn).toHaveBeenCalledOnce();
    expect(String(warn.mock.calls[0]?.[0])).toContain('GET https://a.test/ was requested 101 times within 10000 ms');
  });

  it('200 concurrent calls to one URL are not a loop: no event, no warning, all sent', async () => {
    const clock = new FakeClock(T0);
    const server = new ScriptedFetch(clock);
    const rw = createRatewise({ fetch: server.fetch, clock });
    const loops: unknown[] = [];
    rw.on('loop', (e) => loops.push(e));
    const calls = Array.from({ length: 200 }, () => track(rw.fetch('https://a.test/items')));
    await flush(10);
    expect(calls.every((c) => c.state === 'fulfilled')).toBe(true);
    expect(server.calls).toHaveLength(200);
    expect(loops).toEqual([]);
    expect(warn).not.toHaveBeenCalled();
  });

  it("'throw' mode: 30 distinct GraphQL POSTs to one URL, one after another, all pass; the same POST repeated fails", async () => {
    const { rw, server, eventsOf } = rig({ loopGuard: { limit: 20, mode: 'throw' } });
    const query = (id: number): string =>
      JSON.stringify({ query: 'query($id: ID!) { item(id: $id) { name } }', variables: { id } });
    const post = (body: string): Promise<Response> =>
      rw.fetch('https://api.test/graphql', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    for (let i = 0; i < 30; i++) expect((await post(query(i))).status).toBe(200);
    expect(server.calls).toHaveLength(30);
    expect(eventsOf('loop')).toEqual([]);
    // The same body, each time after the previous one settled: a loop, at the 21st.
    for (let i = 0; i < 20; i++) await post(query(100));
    const error: unknown = await post(query(100)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoopDetectedError);
    expect(error).toMatchObject({
      code: 'ERR_RATEWISE_LOOP',
      method: 'POST',
      url: 'https://api.test/graphql',
      count: 21,
    });
    expect(server.calls).toHaveLength(50);
    // Another body still goes.
    expect((await post(query(101))).status).toBe(200);
  });

  it('copies started while the previous one is in flight do not count; one started after it settled does', async () => {
    const { rw, server, eventsOf } = rig({ loopGuard: { limit: 1, mode: 'throw' } }, () => 'hold');
    const first = track(rw.fetch('https://a.test/x'));
    const copies = Array.from({ length: 5 }, () => track(rw.fetch('https://a.test/x')));
    // Answered one round at a time (the budget's slow start sends a few at once).
    for (let round = 0; round < 6; round++) {
      await flush();
      for (const call of server.held()) call.respond(new Response('ok'));
    }
    await flush();
    expect(server.calls).toHaveLength(6);
    expect([first, ...copies].map((c) => c.state)).toEqual(Array<string>(6).fill('fulfilled'));
    const again: unknown = await rw.fetch('https://a.test/x').catch((e: unknown) => e);
    expect(again).toMatchObject({ name: 'LoopDetectedError', count: 2 });
    expect(eventsOf('loop')).toHaveLength(1);
  });

  it('a call that failed has settled: an application retrying its own failures in a loop is caught', async () => {
    const { rw, server } = rig({ loopGuard: { limit: 3, mode: 'throw' }, retry: { limit: 0 } }, () => ({
      throws: networkError(),
    }));
    const errors: unknown[] = [];
    for (let i = 0; i < 5; i++) errors.push(await rw.fetch('https://a.test/x').catch((e: unknown) => e));
    expect(errors.map((e) => (e as Error).name)).toEqual([
      'TypeError',
      'TypeError',
      'TypeError',
      'LoopDetectedError',
      'LoopDetectedError',
    ]);
    expect(server.calls).toHaveLength(3);
  });

  it('requests with a stream, FormData or Request body never count as the same, so never as a loop', async () => {
    const { rw, server, eventsOf } = rig({ loopGuard: { limit: 1, mode: 'throw' } });
    const form = new FormData();
    form.set('file', 'same');
    for (let i = 0; i < 5; i++) {
      await rw.fetch('https://a.test/upload', { method: 'POST', body: form });
      await rw.fetch('https://a.test/upload', {
        method: 'POST',
        body: new ReadableStream(),
        duplex: 'half',
      } as RequestInit);
      await rw.fetch(new Request('https://a.test/upload', { method: 'POST', body: 'same' }));
    }
    expect(server.calls).toHaveLength(15);
    expect(eventsOf('loop')).toEqual([]);
    // A string body is compared, Uint8Array and ArrayBuffer bodies by their bytes.
    await rw.fetch('https://a.test/upload', { method: 'POST', body: 'same' });
    await rw.fetch('https://a.test/upload', { method: 'POST', body: new TextEncoder().encode('same') });
    const error: unknown = await rw
      .fetch('https://a.test/upload', { method: 'POST', body: new TextEncoder().encode('same').buffer })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'LoopDetectedError', count: 2 });
  });
});
