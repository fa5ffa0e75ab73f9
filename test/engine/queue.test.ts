// The waiters' priority queue against a plain model: highest priority first, FIFO within one, a front entry first
// of its priority; removal and extraction leave the others in order, and levels emptied and filled again keep it.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { PriorityQueue, type QueueEntry } from '../../src/engine/queue.js';

interface Entry extends QueueEntry {
  readonly id: number;
  priority: number;
  done: boolean;
}

type Op =
  | { readonly kind: 'add'; readonly priority: number; readonly front: boolean }
  | { readonly kind: 'shift' }
  | { readonly kind: 'peek' }
  | { readonly kind: 'remove'; readonly pick: number }
  | { readonly kind: 'extract'; readonly odd: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), priority: fc.integer({ min: -2, max: 2 }), front: fc.boolean() }),
  fc.record({ kind: fc.constant('shift' as const) }),
  fc.record({ kind: fc.constant('peek' as const) }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('extract' as const), odd: fc.boolean() }),
);

/** The model: live entries in the order they are served. */
function insert(model: Entry[], entry: Entry, front: boolean): void {
  // Before the first entry of a lower priority; a front entry also before those of its own.
  const at = model.findIndex((e) => e.priority < entry.priority || (front && e.priority === entry.priority));
  model.splice(at === -1 ? model.length : at, 0, entry);
}

describe('PriorityQueue', () => {
  test('serves entries as the model does, through adds, shifts, removals and extractions', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const queue = new PriorityQueue<Entry>();
        const model: Entry[] = [];
        let next = 0;
        for (const o of ops) {
          switch (o.kind) {
            case 'add': {
              const entry: Entry = { id: next++, priority: o.priority, done: false };
              queue.add(entry, o.front);
              insert(model, entry, o.front);
              break;
            }
            case 'shift': {
              const head = queue.shift();
              expect(head?.id).toBe(model.shift()?.id);
              if (head) expect(head.done).toBe(true);
              break;
            }
            case 'peek':
              expect(queue.peek()?.id).toBe(model[0]?.id);
              break;
            case 'remove': {
              if (model.length === 0) break;
              const [gone] = model.splice(o.pick % model.length, 1);
              queue.remove(gone!);
              break;
            }
            case 'extract': {
              const picked = queue.extract((e) => e.id % 2 === (o.odd ? 1 : 0));
              const expected = model.filter((e) => e.id % 2 === (o.odd ? 1 : 0));
              expect(picked.map((e) => e.id)).toEqual(expected.map((e) => e.id));
              // Extracted entries are out for good, not marked done: they may join another queue.
              expect(picked.every((e) => !e.done)).toBe(true);
              model.splice(0, model.length, ...model.filter((e) => !expected.includes(e)));
              break;
            }
          }
          expect(queue.size).toBe(model.length);
          expect([...queue.inOrder()].map((e) => e.id)).toEqual(model.map((e) => e.id));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a level emptied and used again comes back in its place among the others', () => {
    const queue = new PriorityQueue<Entry>();
    const entry = (id: number, priority: number): Entry => ({ id, priority, done: false });
    queue.add(entry(1, 0));
    queue.add(entry(2, 5));
    expect(queue.shift()?.id).toBe(2);
    expect(queue.shift()?.id).toBe(1);
    expect(queue.peek()).toBeUndefined();
    queue.add(entry(3, 0));
    queue.add(entry(4, 5));
    queue.add(entry(5, -1));
    queue.add(entry(6, 5), true);
    expect([...queue.inOrder()].map((e) => e.id)).toEqual([6, 4, 3, 5]);
  });
});
