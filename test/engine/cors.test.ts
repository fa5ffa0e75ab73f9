// A browser hides a cross-origin response's headers unless the server exposes them. ratewise says so once per
// origin, with the fix, and backs off as it would for any 429 without timing.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRatewise } from '../../src/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { advance, T0 } from './support/harness.js';

/** A 429 as a browser shows it cross-origin: type "cors", and only the safelisted headers readable. */
function hiddenThrottle(url: string): Response {
  const response = new Response(null, { status: 429 });
  Object.defineProperty(response, 'type', { value: 'cors' });
  Object.defineProperty(response, 'url', { value: url });
  return response;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a cross-origin 429 whose headers the browser hid', () => {
  it('warns once per origin, naming Access-Control-Expose-Headers, and backs off', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const clock = new FakeClock(T0);
    let calls = 0;
    const rw = createRatewise({
      clock,
      random: () => 0.5,
      fetch: (input) => {
        calls++;
        const url = input instanceof URL ? input.href : typeof input === 'string' ? input : input.url;
        return Promise.resolve(calls <= 2 ? hiddenThrottle(url) : new Response('ok'));
      },
    });
    const paused: string[] = [];
    rw.on('paused', (e) => paused.push(e.reason));
    const done = rw.fetch('https://api.test/a');
    await advance(clock, 60_000);
    expect((await done).status).toBe(200);
    expect(paused).toEqual(['backoff', 'backoff']);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('Access-Control-Expose-Headers');
    expect(String(warn.mock.calls[0]?.[0])).toContain('https://api.test');
  });

  it('says nothing for a same-origin 429 without timing', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const clock = new FakeClock(T0);
    let calls = 0;
    const rw = createRatewise({
      clock,
      fetch: () => Promise.resolve(++calls === 1 ? new Response(null, { status: 429 }) : new Response('ok')),
    });
    const done = rw.fetch('https://api.test/a');
    await advance(clock, 60_000);
    expect((await done).status).toBe(200);
    expect(warn).not.toHaveBeenCalled();
  });
});
