// The slots a sliding window's accepted requests hold: one window length after each answer.
import { describe, expect, it } from 'vitest';
import { SlidingLog } from '../../src/engine/sliding-log.js';

describe('SlidingLog', () => {
  it('paces nothing and holds nothing until the window is known to slide', () => {
    const log = new SlidingLog();
    log.accepted(0);
    log.accepted(10);
    expect(log.active).toBe(false);
    expect(log.readyAt(100, 20)).toBe(20);
    expect(log.holds(20)).toBe(false);
  });

  it('counts the answers heard before the window was known, and frees each slot one length after its answer', () => {
    const log = new SlidingLog();
    for (const at of [0, 10, 20]) log.accepted(at);
    log.slide(3, 2_000);
    expect(log.active).toBe(true);
    // Three slots held: the next frees at 0 + 2 000.
    expect(log.readyAt(0, 500)).toBe(2_000);
    // With one of them freed, one request may go; with one in flight, the next waits for the slot freed at 2 010.
    expect(log.readyAt(0, 2_000)).toBe(2_000);
    expect(log.readyAt(1, 2_000)).toBe(2_010);
    // Two held and two in flight, one more than the limit: two slots must free, the second at 2 020.
    expect(log.readyAt(2, 2_005)).toBe(2_020);
    // Three in flight: more than the held slots can free; only an answer can tell when the next may go.
    expect(log.readyAt(3, 2_005)).toBe(Infinity);
  });

  it('keeps only the latest `limit` answers: older ones hold no slot', () => {
    const log = new SlidingLog();
    log.slide(2, 1_000);
    for (const at of [0, 100, 200]) log.accepted(at);
    // The slot of the answer at 0 is not counted: the two latest free at 1 100 and 1 200.
    expect(log.readyAt(0, 300)).toBe(1_100);
    expect(log.holds(1_199)).toBe(true);
    expect(log.holds(1_200)).toBe(false);
  });

  it('stops pacing once the server refused where it said there was room', () => {
    const log = new SlidingLog();
    log.slide(1, 1_000);
    log.accepted(0);
    expect(log.readyAt(0, 10)).toBe(1_000);
    log.stop();
    expect(log.active).toBe(false);
    expect(log.readyAt(0, 10)).toBe(10);
    expect(log.holds(10)).toBe(false);
  });

  it('ignores a window it cannot use', () => {
    const log = new SlidingLog();
    log.slide(0, 1_000);
    log.slide(5, 0);
    expect(log.active).toBe(false);
  });
});
