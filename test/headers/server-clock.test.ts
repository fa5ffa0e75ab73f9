// The server's clock as several `Date` fields tell it, and absolute instants placed by it in parseRateLimit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRateLimit, ServerClock } from '../../src/index.js';
import { NOW, NOW_SECONDS } from './support.js';

/** A `Date` field as servers write it (IMF-fixdate, whole seconds). */
const httpDate = (ms: number): string => new Date(ms).toUTCString();

describe('ServerClock', () => {
  it('knows nothing before a reading', () => {
    expect(new ServerClock().serverNow(NOW)).toBeUndefined();
    expect(new ServerClock().lastReading).toBeUndefined();
  });

  it('keeps the latest reading, also one that starts the estimate afresh, and not an unreadable one', () => {
    const clock = new ServerClock();
    clock.observe(NOW, NOW + 100);
    clock.observe(NOW + 1_000, NOW + 1_200);
    expect(clock.lastReading).toEqual({ dateMs: NOW + 1_000, at: NOW + 1_200 });
    clock.observe(NOW + 60_000, NOW + 1_300);
    expect(clock.lastReading).toEqual({ dateMs: NOW + 60_000, at: NOW + 1_300 });
    clock.observe(Number.NaN, NOW + 1_400);
    expect(clock.lastReading).toEqual({ dateMs: NOW + 60_000, at: NOW + 1_300 });
  });

  it('after one reading, places the server at its Date when the answer arrived', () => {
    const clock = new ServerClock();
    clock.observe(NOW, NOW + 100);
    expect(clock.serverNow(NOW + 100)).toBe(NOW);
    expect(clock.serverNow(NOW + 600)).toBe(NOW + 500);
  });

  it('intersects readings: each Date says the server was at least there, in whatever order they come', () => {
    // 100 ms after the local second the server still wrote that second; 1 020 ms after it, the next: the server's
    // clock is no earlier than the local clock less 20 ms.
    const a = new ServerClock();
    a.observe(NOW, NOW + 100);
    a.observe(NOW + 1_000, NOW + 1_020);
    expect(a.serverNow(NOW + 2_000)).toBe(NOW + 1_980);
    const b = new ServerClock();
    b.observe(NOW + 1_000, NOW + 1_020);
    b.observe(NOW, NOW + 100);
    expect(b.serverNow(NOW + 2_000)).toBe(NOW + 1_980);
    // A reading that allows an earlier server changes nothing.
    a.observe(NOW + 1_000, NOW + 1_900);
    expect(a.serverNow(NOW + 2_000)).toBe(NOW + 1_980);
  });

  it('starts afresh from a reading that contradicts the others (a clock was set)', () => {
    const clock = new ServerClock();
    clock.observe(NOW, NOW + 100);
    clock.observe(NOW + 1_000, NOW + 1_020);
    // The server jumped 4 s ahead.
    clock.observe(NOW + 5_000, NOW + 1_100);
    expect(clock.serverNow(NOW + 1_100)).toBe(NOW + 5_000);
    // And back 10 s: behind everything read so far.
    clock.observe(NOW - 5_000, NOW + 1_200);
    expect(clock.serverNow(NOW + 1_200)).toBe(NOW - 5_000);
  });

  it('takes in a reading just inside the bounds of the others, and starts afresh from one on their edge', () => {
    // One reading: the server's clock is at least the local clock less 100 ms, and less than the local clock plus
    // 1 150 ms (the second the Date truncates, plus 250 ms for the answer's way).
    const within = new ServerClock();
    within.observe(NOW, NOW + 100);
    within.observe(NOW + 2_000, NOW + 851);
    expect(within.serverNow(NOW + 851)).toBe(NOW + 2_000);
    within.observe(NOW, NOW + 100);
    expect(within.serverNow(NOW + 851)).toBe(NOW + 2_000);

    const past = new ServerClock();
    past.observe(NOW, NOW + 100);
    past.observe(NOW + 2_000, NOW + 850);
    // Restarted from the second reading alone: the first one, read again, now contradicts it.
    past.observe(NOW, NOW + 100);
    expect(past.serverNow(NOW + 100)).toBe(NOW);
  });

  it('ignores readings that are no instants', () => {
    const clock = new ServerClock();
    clock.observe(Number.NaN, NOW);
    clock.observe(NOW, Number.POSITIVE_INFINITY);
    expect(clock.serverNow(NOW)).toBeUndefined();
  });

  it('never places the server later than it is, and within a second and a quarter of it', () => {
    // A server `offset` ms ahead of the local clock writes the second it is in when it answers; the answer takes up
    // to 250 ms to arrive.
    const reading = fc.record({ gap: fc.nat(3_000), transit: fc.nat(250) });
    fc.assert(
      fc.property(
        fc.integer({ min: -1e7, max: 1e7 }),
        fc.array(reading, { minLength: 1, maxLength: 30 }),
        (offset, readings) => {
          const clock = new ServerClock();
          let arrival = NOW;
          let previous = -Infinity;
          for (const { gap, transit } of readings) {
            arrival += gap;
            const written = arrival - transit + offset;
            clock.observe(Math.floor(written / 1_000) * 1_000, arrival);
            const estimate = clock.serverNow(arrival)!;
            expect(estimate).toBeLessThanOrEqual(arrival + offset);
            expect(estimate).toBeGreaterThan(arrival + offset - 1_250);
            // Consistent readings only ever narrow the clock: the estimate of the offset never goes back.
            expect(estimate - arrival).toBeGreaterThanOrEqual(previous);
            previous = estimate - arrival;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('parseRateLimit with a serverClock', () => {
  // The reset, in epoch seconds, falls at NOW + 3 s on the server's clock.
  const quota = {
    'x-ratelimit-limit': '10',
    'x-ratelimit-remaining': '4',
    'x-ratelimit-reset': String(NOW_SECONDS + 3),
  };

  /** A clock that has read the two answers of the intersection example: the server at least 20 ms behind. */
  function narrowed(): ServerClock {
    const clock = new ServerClock();
    parseRateLimit({ date: httpDate(NOW) }, { now: NOW + 100, serverClock: clock });
    parseRateLimit({ date: httpDate(NOW + 1_000) }, { now: NOW + 1_020, serverClock: clock });
    return clock;
  }

  it('places an epoch-second reset by every Date read, not by the one of its own answer', () => {
    // This answer's Date (NOW + 1 s, arrived at NOW + 1.9 s) alone puts the reset 2 s after arrival: NOW + 3.9 s.
    const headers = { date: httpDate(NOW + 1_000), ...quota };
    expect(parseRateLimit(headers, { now: NOW + 1_900 }).resetAt).toBe(NOW + 3_900);
    // The clock knows the server is at most 20 ms behind: the reset comes by NOW + 3.02 s, and no earlier can be
    // ruled out.
    expect(parseRateLimit(headers, { now: NOW + 1_900, serverClock: narrowed() }).resetAt).toBe(NOW + 3_020);
  });

  it('places an absolute Retry-After the same way', () => {
    const headers = { date: httpDate(NOW + 1_000), 'retry-after': httpDate(NOW + 3_000) };
    expect(parseRateLimit(headers, { now: NOW + 1_900, status: 429 }).retryAt).toBe(NOW + 3_900);
    expect(parseRateLimit(headers, { now: NOW + 1_900, status: 429, serverClock: narrowed() }).retryAt).toBe(
      NOW + 3_020,
    );
  });

  it('uses the readings so far for an answer without a Date', () => {
    expect(parseRateLimit(quota, { now: NOW + 1_900, serverClock: narrowed() }).resetAt).toBe(NOW + 3_020);
  });

  it('reads the same as without a clock from a single answer', () => {
    const headers = { date: httpDate(NOW + 1_000), ...quota };
    const alone = parseRateLimit(headers, { now: NOW + 1_900 });
    expect(parseRateLimit(headers, { now: NOW + 1_900, serverClock: new ServerClock() })).toEqual(alone);
  });

  it('leaves relative resets alone', () => {
    const headers = {
      date: httpDate(NOW + 1_000),
      'ratelimit-limit': '10',
      'ratelimit-remaining': '4',
      'ratelimit-reset': '2',
    };
    expect(parseRateLimit(headers, { now: NOW + 1_900, serverClock: narrowed() }).resetAt).toBe(NOW + 3_900);
  });
});
