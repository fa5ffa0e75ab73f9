// Local limits per unit (`budgets[p].units`): calls whose cost names a unit wait for that unit's bucket as well as
// the budget's own; a bad `units` fails createRatewise with a TypeError naming it. On the fake clock.
import { describe, expect, it } from 'vitest';
import { createRatewise } from '../../src/index.js';
import { advance, flush, rig, T0, track } from './support/harness.js';

describe('budgets[p].units', () => {
  it('paces calls by their tokens: 1,000 per second, a burst of 1,000', async () => {
    const { rw, clock, server, eventsOf } = rig({ budgets: { '*': { units: { tokens: { rate: '1000/s' } } } } });
    const calls = Array.from({ length: 5 }, (_, i) =>
      track(rw.fetch(`https://api.test/v1/chat?${i}`, { method: 'POST', ratewise: { cost: { tokens: 400 } } }), clock),
    );
    await flush();
    await advance(clock, 2_000);
    expect(calls.every((c) => c.state === 'fulfilled')).toBe(true);
    // 400 + 400 at once, then each 400 as it refills (0.4 s each).
    expect(server.calls.map((c) => c.at - T0)).toEqual([0, 0, 200, 600, 1_000]);
    expect(eventsOf('throttled').some((e) => e.unit === 'tokens')).toBe(true);
  });

  it('leaves calls that name no unit to the budget’s own limits', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { units: { tokens: { rate: '100/s' } } } } });
    const calls = Array.from({ length: 3 }, (_, i) => track(rw.fetch(`https://api.test/?${i}`), clock));
    await flush();
    expect(calls.every((c) => c.state === 'fulfilled')).toBe(true);
    expect(server.calls).toHaveLength(3);
  });

  it('says once per unit when a cost names a unit nothing limits (a misspelt one): it costs nothing', async () => {
    const { rw, clock, server } = rig({ budgets: { '*': { units: { tokens: { rate: '100/s' } } } } });
    const unlimited: string[] = [];
    rw.on('unitUnlimited', (event) => unlimited.push(`${event.key} ${event.unit}`));
    for (let i = 0; i < 3; i++) {
      await rw.fetch(`https://api.test/?${i}`, { ratewise: { cost: { tokens: 10, toekns: 1e9 } } });
    }
    await advance(clock, 1_000);
    expect(server.calls).toHaveLength(3);
    expect(unlimited).toEqual(['https://api.test toekns']);
  });

  it.each([
    [{ tokens: 5 }, 'Expected `budgets["*"].units["tokens"]` to be an object'],
    [{ tokens: {} }, 'Expected `budgets["*"].units["tokens"].rate` to be a rate such as "30000/min"'],
    [{ tokens: { rate: 'fast' } }, '`budgets["*"].units["tokens"].rate`'],
    [{ tokens: { rate: '10/s', burst: -1 } }, '`budgets["*"].units["tokens"].burst`'],
    [{ requests: { rate: '10/s' } }, "the budget's own `rate` limits requests"],
    [[], 'Expected `budgets["*"].units` to be an object of { rate, burst } per unit'],
  ])('refuses units: %j with a TypeError', (units, message) => {
    expect(() => createRatewise({ budgets: { '*': { units: units as never } } })).toThrow(TypeError);
    expect(() => createRatewise({ budgets: { '*': { units: units as never } } })).toThrow(message);
  });
});
