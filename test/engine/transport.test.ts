// `rw.request`: the seam adapters use. Any client's attempts go through the same budgets, pauses and retries.
import { describe, expect, it } from 'vitest';
import { createRatewise } from '../../src/index.js';
import type { Transport } from '../../src/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { advance, T0, track } from './support/harness.js';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A transport over scripted replies, recording when each attempt went and which replies were discarded. */
function scripted(clock: FakeClock, replies: readonly Reply[]) {
  const sentAt: number[] = [];
  const discarded: Reply[] = [];
  const transport: Transport<Reply> = {
    send: () => {
      sentAt.push(clock.now() - T0);
      const reply = replies[Math.min(sentAt.length - 1, replies.length - 1)]!;
      return Promise.resolve(reply);
    },
    status: (r) => r.status,
    headers: (r) => r.headers,
    discard: (r) => {
      discarded.push(r);
    },
  };
  return { transport, sentAt, discarded };
}

describe('rw.request (the adapter seam)', () => {
  it('paces, pauses and retries any transport like rw.fetch, and returns its own response type', async () => {
    const clock = new FakeClock(T0);
    const rw = createRatewise({ clock, random: () => 0, fetch: () => Promise.reject(new Error('unused')) });
    const throttled = { status: 429, headers: { 'retry-after': '2' }, body: 'slow down' };
    const fine = { status: 200, headers: {}, body: 'ok' };
    const { transport, sentAt, discarded } = scripted(clock, [throttled, fine]);
    let result: Reply | undefined;
    void rw.request({ method: 'get', url: 'https://api.test/x' }, transport).then((r) => (result = r));
    await advance(clock, 2000);
    expect(sentAt).toEqual([0, 2000]);
    expect(discarded).toEqual([throttled]);
    expect(result).toBe(fine);
    expect(rw.stats()[0]).toMatchObject({ key: 'https://api.test', counters: { sent: 2, rateLimited: 1, retries: 1 } });
  });

  it('never retries a request the adapter says cannot be sent again', async () => {
    const clock = new FakeClock(T0);
    const rw = createRatewise({ clock, fetch: () => Promise.reject(new Error('unused')) });
    const { transport, sentAt } = scripted(clock, [{ status: 503, headers: {}, body: '' }]);
    const reply = await rw.request({ method: 'PUT', url: 'https://api.test/x', replayable: false }, transport);
    expect(reply.status).toBe(503);
    expect(sentAt).toEqual([0]);
  });

  it('gives the slot back when an adapter throws reading its answer: the call rejects with its error, the next goes', async () => {
    const clock = new FakeClock(T0);
    const rw = createRatewise({
      clock,
      budgets: { '*': { concurrency: 1 } },
      fetch: () => Promise.reject(new Error('unused')),
    });
    const broken = new Error('headers of a closed response');
    for (const part of ['status', 'headers'] as const) {
      const { transport } = scripted(clock, [{ status: 200, headers: {}, body: 'ok' }]);
      const failing: Transport<Reply> = {
        ...transport,
        [part]: () => {
          throw broken;
        },
      };
      const first = rw.request({ method: 'GET', url: 'https://api.test/x' }, failing);
      await expect(first).rejects.toBe(broken);
      // With the slot still taken, this one would wait for ever (concurrency 1, nothing in flight to end).
      const { transport: fine } = scripted(clock, [{ status: 200, headers: {}, body: 'ok' }]);
      const next = track(rw.request({ method: 'GET', url: 'https://api.test/y' }, fine));
      await advance(clock, 10);
      expect(next.state).toBe('fulfilled');
    }
    expect(rw.stats()[0]).toMatchObject({ inFlight: 0, queued: 0 });
    await rw.close();
  });

  it.each([
    [{ method: 5, url: 'https://api.test/x' }, 'Expected `request.method` to be a non-empty string, got `5` (number)'],
    [{ url: 'https://api.test/x' }, 'Expected `request.method` to be a non-empty string, got `undefined` (undefined)'],
    [
      { method: '', url: 'https://api.test/x' },
      'Expected `request.method` to be a non-empty string, got `""` (string)',
    ],
    [null, 'Expected `request` to be an object, got `null` (null)'],
    [
      { method: 'GET', url: 'https://api.test/x', ratewise: { key: '' } },
      'Expected `ratewise.key` to be a non-empty string, got `""` (string)',
    ],
  ])('rejects %j with a TypeError naming it; nothing is sent', async (request, message) => {
    const clock = new FakeClock(T0);
    const rw = createRatewise({ clock, fetch: () => Promise.reject(new Error('unused')) });
    const { transport, sentAt } = scripted(clock, [{ status: 200, headers: {}, body: 'ok' }]);
    let call: Promise<Reply> | undefined;
    // Rejected, not thrown, as rw.fetch's bad options are.
    expect(() => (call = rw.request(request as never, transport))).not.toThrow();
    await expect(call).rejects.toThrow(new TypeError(message));
    expect(sentAt).toEqual([]);
    expect(rw.stats()).toEqual([]);
    await rw.close();
  });

  it('reads a request’s ratewise options once: the key checked is the budget used', async () => {
    const clock = new FakeClock(T0);
    const rw = createRatewise({ clock, fetch: () => Promise.reject(new Error('unused')) });
    const { transport } = scripted(clock, [{ status: 200, headers: {}, body: 'ok' }]);
    let reads = 0;
    const request = {
      method: 'GET',
      url: 'https://api.test/x',
      get ratewise() {
        reads++;
        return reads === 1 ? { key: 'tenant-a' } : { key: '' };
      },
    };
    await rw.request(request, transport);
    expect(reads).toBe(1);
    expect(rw.stats().map((budget) => budget.key)).toEqual(['tenant-a']);
    await rw.close();
  });
});
