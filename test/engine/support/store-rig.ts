// A client on the fake clock sharing its budgets through a ScriptedStore (which holds every call unless its script
// says otherwise), and a steady sender for the tests of grants and leases.
import { expect } from 'vitest';
import type { RatewiseOptions } from '../../../src/options.js';
import { advance, flush, rig, T0, track } from './harness.js';
import { ScriptedStore } from './scripted-store.js';

/** `rig` with a ScriptedStore as its `store`, timed by the rig's clock. */
export function storeRig(
  options: Omit<RatewiseOptions, 'fetch' | 'clock' | 'store'> = {},
  script?: Parameters<typeof rig>[1],
) {
  const box: { now: () => number } = { now: () => T0 };
  const store = new ScriptedStore(
    () => box.now(),
    () => 'hold',
  );
  const r = rig({ store, ...options }, script);
  box.now = () => r.clock.now();
  return { ...r, store };
}

/** Sends `count` requests to `url`, one at a time, each `gapMs` after the last was answered; resolves with each one's wait. */
export async function steady(r: ReturnType<typeof rig>, url: string, count: number, gapMs: number): Promise<number[]> {
  const waits: number[] = [];
  for (let i = 0; i < count; i++) {
    const madeAt = r.clock.now();
    const sent = r.server.calls.length;
    const call = track(r.rw.fetch(url), r.clock);
    await flush();
    await advance(r.clock, 0);
    expect(call.state).toBe('fulfilled');
    waits.push(r.server.sentAt[sent]! - madeAt);
    await advance(r.clock, gapMs);
  }
  return waits;
}
