import { describe, expect, it } from 'vitest';
import { ClosedError } from '../../src/errors.js';
import { advance, flush, networkError, ok, rig, status, tooMany, track } from './support/harness.js';

describe('close()', () => {
  it('settles every waiting call with ClosedError, sends none of them, and leaves no timer', async () => {
    const { rw, clock, server } = rig(
      {
        budgets: { slow: { rate: '1/min', burst: 1 }, '*': { initialWindow: 1 } },
        retry: { backoff: { jitter: 'none' } },
      },
      (call) => {
        if (call.url.includes('/paused')) return tooMany(30);
        if (call.url.includes('/backoff')) return status(500);
        return 'hold';
      },
    );
    const inFlight = track(rw.fetch('https://a.test/in-flight'));
    const queued = track(rw.fetch('https://a.test/queued'));
    const paused = track(rw.fetch('https://b.test/paused'));
    const backingOff = track(rw.fetch('https://c.test/backoff'));
    void rw.schedule(() => 'first', { key: 'slow' });
    const task = track(rw.schedule(() => 'second', { key: 'slow' }));
    await flush();
    expect(clock.pending()).toBeGreaterThan(0);
    const sent = server.calls.length;

    const closed = track(rw.close());
    await flush();
    for (const call of [queued, paused, backingOff, task]) {
      expect(call.state).toBe('rejected');
      expect(call.error).toBeInstanceOf(ClosedError);
      expect(call.error).toMatchObject({ when: 'pending' });
    }
    expect(clock.pending()).toBe(0);
    // close() waits for the call in flight, which settles with its own answer.
    expect(closed.state).toBe('pending');
    expect(inFlight.state).toBe('pending');
    server.held()[0]!.respond(ok());
    await flush();
    expect(inFlight.value?.status).toBe(200);
    expect(closed.state).toBe('fulfilled');
    await advance(clock, 600_000);
    expect(server.calls).toHaveLength(sent);
    expect(clock.pending()).toBe(0);
  });

  it('a call in flight that wants a retry after close() settles with ClosedError', async () => {
    const { rw, server } = rig({}, () => 'hold');
    const call = track(rw.fetch('https://a.test/'));
    await flush();
    const closed = rw.close();
    server.calls[0]!.respond(tooMany(1));
    await closed;
    expect(call.error).toBeInstanceOf(ClosedError);
    expect(server.calls).toHaveLength(1);
  });

  it('rejects calls made after close() with ClosedError', async () => {
    const { rw, server } = rig();
    await rw.close();
    await expect(rw.fetch('https://a.test/x?token=SECRET')).rejects.toMatchObject({
      name: 'ClosedError',
      when: 'afterClose',
      url: 'https://a.test/x?token=[REDACTED]',
    });
    await expect(rw.schedule(() => 1)).rejects.toBeInstanceOf(ClosedError);
    expect(server.calls).toHaveLength(0);
  });

  it('resolves at once when nothing is pending', async () => {
    const { rw } = rig();
    await rw.fetch('https://a.test/');
    const closed = track(rw.close());
    await flush();
    expect(closed.state).toBe('fulfilled');
  });

  it('every close() call resolves, however many there are', async () => {
    const { rw, server } = rig({}, () => 'hold');
    void rw.fetch('https://a.test/');
    await flush();
    const first = track(rw.close());
    const second = track(rw.close());
    server.calls[0]!.respond(ok());
    await flush();
    expect([first.state, second.state]).toEqual(['fulfilled', 'fulfilled']);
  });

  it('leaves no timer behind in normal operation once nothing is pending', async () => {
    const { rw, clock } = rig({ budgets: { '*': { rate: '2/s', burst: 1 } } }, (call) =>
      call.index % 3 === 1 ? tooMany(1) : ok(),
    );
    const calls = Array.from({ length: 10 }, (_, i) => track(rw.fetch(`https://a.test/${i}`)));
    await advance(clock, 60_000);
    expect(calls.every((c) => c.state === 'fulfilled')).toBe(true);
    expect(clock.pending()).toBe(0);
  });

  it("fails a retry that was under way when the client closed with ClosedError when: 'pending'", async () => {
    const { rw, server } = rig({ retry: { backoff: { baseMs: 0 } } }, () => 'hold');
    const call = track(rw.fetch('https://a.test/'));
    await flush();
    const closed = track(rw.close());
    server.calls[0]!.respond(status(503));
    await flush();
    expect(call.error).toMatchObject({ name: 'ClosedError', when: 'pending' });
    expect(closed.state).toBe('fulfilled');
  });

  it('a call closed while it waited to retry says how many attempts were sent and the last status', async () => {
    const { rw, clock, server } = rig({ retry: { backoff: { jitter: 'none' } } }, (call) => {
      if (call.url.includes('/throttled')) return tooMany(30);
      if (call.url.includes('/reset')) return { throws: networkError() };
      return status(500);
    });
    const throttled = track(rw.fetch('https://a.test/throttled'));
    const failing = track(rw.fetch('https://b.test/failing'));
    const reset = track(rw.fetch('https://c.test/reset'));
    // The 500 is retried after 500 ms, and fails again; each call now waits to retry.
    await advance(clock, 500);
    expect(server.calls).toHaveLength(5);
    await rw.close();
    expect(throttled.error).toBeInstanceOf(ClosedError);
    expect(throttled.error).toMatchObject({ when: 'pending', attempts: 1, lastStatus: 429 });
    expect((throttled.error as ClosedError).message).toBe(
      'Client closed: GET https://a.test/throttled was sent 1 time (the last answered 429) and was waiting to ' +
        'retry; the client was closed while it waited',
    );
    expect(failing.error).toMatchObject({ name: 'ClosedError', when: 'pending', attempts: 2, lastStatus: 500 });
    expect((failing.error as ClosedError).message).toContain('was sent 2 times (the last answered 500)');
    expect(reset.error).toMatchObject({ name: 'ClosedError', attempts: 2, lastStatus: undefined });
    expect((reset.error as ClosedError).message).toContain('was sent 2 times (the last got no response)');
  });

  it('a call whose attempt was in flight at close() says what that attempt got', async () => {
    const { rw, server } = rig({}, () => 'hold');
    const call = track(rw.fetch('https://a.test/'));
    await flush();
    const closed = rw.close();
    server.calls[0]!.respond(tooMany(1));
    await closed;
    expect(call.error).toMatchObject({ name: 'ClosedError', when: 'pending', attempts: 1, lastStatus: 429 });
  });

  it('a call closed before its first attempt still says it was not sent', async () => {
    const { rw } = rig({ budgets: { '*': { concurrency: 1 } } }, () => 'hold');
    void rw.fetch('https://a.test/first');
    const queued = track(rw.fetch('https://a.test/queued'));
    await flush();
    void rw.close();
    await flush();
    expect(queued.error).toMatchObject({ name: 'ClosedError', when: 'pending', attempts: 0, lastStatus: undefined });
    expect((queued.error as ClosedError).message).toBe(
      'Client closed: GET https://a.test/queued was not sent; the client was closed while it waited',
    );
  });
});
