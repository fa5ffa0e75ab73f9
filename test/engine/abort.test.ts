// Abort means now, in every state a call can wait in: it rejects with `signal.reason` unchanged and leaves no
// listener behind.
import { describe, expect, it } from 'vitest';
import { abortListeners, advance, flush, ok, rig, status, T0, tooMany, track } from './support/harness.js';

const reason = new Error('caller gave up');

describe('abort', () => {
  it('while queued: rejects with the reason at once, never reaches fetch, removes its listener', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { initialWindow: 1 } } }, () => 'hold');
    void rw.fetch('https://a.test/first'); // the probe: everything else queues behind it
    const controller = new AbortController();
    const call = track(rw.fetch('https://a.test/queued', { signal: controller.signal }));
    await flush();
    expect(abortListeners(controller.signal)).toBe(1);
    expect(rw.stats()[0]).toMatchObject({ queued: 1 });
    controller.abort(reason);
    await flush();
    expect(call.error).toBe(reason);
    expect(abortListeners(controller.signal)).toBe(0);
    expect(rw.stats()[0]).toMatchObject({ queued: 0, inFlight: 1 });
    server.calls[0]!.respond(ok());
    await advance(clock, 60_000);
    expect(server.calls.map((c) => c.url)).toEqual(['https://a.test/first']);
    expect(clock.pending()).toBe(0);
  });

  it('while the budget is paused: rejects with the reason, never reaches fetch', async () => {
    const { rw, clock, server } = rig({}, (c) => (c.index === 0 ? tooMany(30) : ok()));
    const refused = track(rw.fetch('https://a.test/refused'));
    await flush();
    expect(rw.stats()[0]?.pausedUntil).toBe(T0 + 30_000);
    const controller = new AbortController();
    const call = track(rw.fetch('https://a.test/refused?waits', { signal: controller.signal }), clock);
    await advance(clock, 10_000);
    expect(abortListeners(controller.signal)).toBe(1);
    controller.abort(reason);
    await flush();
    expect(call.error).toBe(reason);
    expect(call.settledAt).toBe(T0 + 10_000);
    expect(abortListeners(controller.signal)).toBe(0);
    expect(rw.stats()[0]).toMatchObject({ queued: 1 }); // the refused request, waiting for the instant
    await advance(clock, 60_000);
    expect(server.calls.map((c) => new URL(c.url).pathname)).toEqual(['/refused', '/refused']);
    expect(refused.state).toBe('fulfilled');
    expect(clock.pending()).toBe(0);
  });

  it('while the budget is paused and nothing else waits: clears the wake-up timer', async () => {
    const { rw, clock } = rig({}, () => tooMany(30));
    void rw.fetch('https://a.test/refused', { ratewise: { maxWait: 0 } }).catch(() => undefined);
    await flush();
    expect(clock.pending()).toBe(0);
    const controller = new AbortController();
    const call = track(rw.fetch('https://a.test/refused?waits', { signal: controller.signal }));
    await flush();
    expect(clock.pending()).toBe(1);
    controller.abort(reason);
    await flush();
    expect(call.error).toBe(reason);
    expect(clock.pending()).toBe(0);
  });

  it('while a retry backs off: rejects with the reason, sends no retry, clears the timer', async () => {
    const { rw, clock, server } = rig({ retry: { backoff: { jitter: 'none', baseMs: 1000 } } }, () => status(500));
    const controller = new AbortController();
    const call = track(rw.fetch('https://a.test/', { signal: controller.signal }), clock);
    await advance(clock, 400);
    expect(call.state).toBe('pending');
    expect(rw.stats()[0]).toMatchObject({ queued: 1, inFlight: 0 });
    expect(abortListeners(controller.signal)).toBe(1);
    controller.abort(reason);
    await flush();
    expect(call.error).toBe(reason);
    expect(call.settledAt).toBe(T0 + 400);
    expect(abortListeners(controller.signal)).toBe(0);
    expect(clock.pending()).toBe(0);
    await advance(clock, 60_000);
    expect(server.calls).toHaveLength(1);
  });

  it('while its own retry waits out a server pause: rejects with the reason', async () => {
    const { rw, clock, server } = rig({}, () => tooMany(10));
    const controller = new AbortController();
    const call = track(rw.fetch('https://a.test/', { signal: controller.signal }));
    await advance(clock, 5000);
    controller.abort(reason);
    await flush();
    expect(call.error).toBe(reason);
    expect(abortListeners(controller.signal)).toBe(0);
    await advance(clock, 60_000);
    expect(server.calls).toHaveLength(1);
  });

  it('in flight: rejects with the reason (fetch got the same signal) and frees the slot', async () => {
    const { rw, clock, server } = rig({}, () => 'hold');
    const controller = new AbortController();
    const call = track(rw.fetch('https://a.test/slow', { signal: controller.signal }));
    const next = track(rw.fetch('https://a.test/next'));
    await flush();
    expect(server.calls[0]!.signal).toBe(controller.signal);
    controller.abort(reason);
    await flush();
    expect(call.error).toBe(reason);
    expect(abortListeners(controller.signal)).toBe(0);
    // The slot went to the next request.
    expect(server.calls.map((c) => c.url)).toEqual(['https://a.test/slow', 'https://a.test/next']);
    server.calls[1]!.respond(ok());
    await flush();
    expect(next.state).toBe('fulfilled');
    expect(rw.stats()[0]).toMatchObject({ inFlight: 0, queued: 0 });
    expect(clock.pending()).toBe(0);
  });

  it('in flight, with a fetch that ignores the signal and answers later: rejects with the reason then', async () => {
    const { rw, server } = rig({}, () => 'hold');
    server.ignoreAbort = true;
    const controller = new AbortController();
    const call = track(rw.fetch('https://a.test/', { signal: controller.signal }));
    await flush();
    controller.abort(reason);
    await flush();
    expect(call.state).toBe('pending'); // nothing to cut short: the engine waits for its fetch
    server.calls[0]!.respond(tooMany(1)); // a 429 that would have been retried
    await flush();
    expect(call.error).toBe(reason);
    expect(server.calls).toHaveLength(1);
    expect(rw.stats()[0]).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('rejects with the default AbortError reason, unchanged, when abort() is given none', async () => {
    const { rw } = rig({}, () => 'hold');
    void rw.fetch('https://a.test/first');
    const controller = new AbortController();
    const call = track(rw.fetch('https://a.test/', { signal: controller.signal }));
    controller.abort();
    await flush();
    expect(call.error).toBe(controller.signal.reason);
    expect((call.error as DOMException).name).toBe('AbortError');
  });

  it('an already aborted signal rejects at once and sends nothing', async () => {
    const { rw, server } = rig();
    const call = track(rw.fetch('https://a.test/', { signal: AbortSignal.abort(reason) }));
    await flush();
    expect(call.error).toBe(reason);
    expect(server.calls).toHaveLength(0);
  });

  it('reads the signal of a Request input', async () => {
    const { rw, server } = rig({ budgets: { '*': { initialWindow: 1 } } }, () => 'hold');
    void rw.fetch('https://a.test/first');
    const controller = new AbortController();
    const call = track(rw.fetch(new Request('https://a.test/', { signal: controller.signal })));
    await flush();
    controller.abort(reason);
    await flush();
    expect(call.error).toBe(reason);
    expect(server.calls).toHaveLength(1);
  });

  it('leaves no listener on a long-lived signal shared by many requests, whatever their fate', async () => {
    const { rw, clock, server } = rig(
      { budgets: { '*': { rate: '5/s', burst: 2 } } },
      (call) => [ok(), status(503), tooMany(1), ok()][call.index % 4]!,
    );
    const shared = new AbortController().signal;
    const calls = Array.from({ length: 200 }, (_, i) => track(rw.fetch(`https://a.test/${i}`, { signal: shared })));
    await flush();
    // One listener for every waiter on the signal, not one each (Node warns past ten).
    expect(abortListeners(shared)).toBe(1);
    await advance(clock, 600_000);
    expect(calls.every((c) => c.state !== 'pending')).toBe(true);
    expect(server.calls.length).toBeGreaterThanOrEqual(200);
    expect(abortListeners(shared)).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('fails every waiter on a shared signal when it aborts, with its reason', async () => {
    const { rw, server } = rig({ budgets: { '*': { concurrency: 1 } } }, () => 'hold');
    const controller = new AbortController();
    const calls = Array.from({ length: 50 }, (_, i) =>
      track(rw.fetch(`https://a.test/${i}`, { signal: controller.signal })),
    );
    await flush();
    expect(server.calls).toHaveLength(1);
    const reason = new Error('stop');
    controller.abort(reason);
    await flush();
    expect(calls.every((c) => c.error === reason)).toBe(true);
    expect(server.calls).toHaveLength(1);
    expect(abortListeners(controller.signal)).toBe(0);
  });
});
