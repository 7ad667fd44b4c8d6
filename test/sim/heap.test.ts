/** The generic binary heap: pops in `before` order whatever comes between; `retain` keeps the order. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { BinaryHeap } from '../../src/sim/heap.js';

interface Item {
  readonly key: number;
  readonly seq: number;
}

const before = (a: Item, b: Item): boolean => a.key < b.key || (a.key === b.key && a.seq < b.seq);
const order = (a: Item, b: Item): number => a.key - b.key || a.seq - b.seq;

describe('BinaryHeap', () => {
  test('empty: size 0, peek and pop undefined', () => {
    const h = new BinaryHeap<number>((a, b) => a < b);
    expect(h.length).toBe(0);
    expect(h.peek()).toBeUndefined();
    expect(h.pop()).toBeUndefined();
  });

  test('pops smallest first; peek leaves the item in place', () => {
    const h = new BinaryHeap<number>((a, b) => a < b);
    for (const x of [5, 1, 4, 1, 3]) h.push(x);
    expect(h.peek()).toBe(1);
    expect(h.length).toBe(5);
    expect([h.pop(), h.pop(), h.pop(), h.pop(), h.pop(), h.pop()]).toEqual([1, 1, 3, 4, 5, undefined]);
  });

  test('property: any interleaving of pushes and pops pops what a sorted list would', () => {
    const op = fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 20 }) }), fc.constant({ pop: true as const }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const h = new BinaryHeap<Item>(before);
        const reference: Item[] = [];
        let seq = 0;
        for (const o of ops) {
          if ('push' in o) {
            const item = { key: o.push, seq: seq++ };
            h.push(item);
            reference.push(item);
            reference.sort(order);
          } else {
            expect(h.pop()).toBe(reference.shift());
          }
          expect(h.length).toBe(reference.length);
          expect(h.peek()).toBe(reference[0]);
        }
      }),
    );
  });

  test('property: retain drops what it rejects, sees each item once, and the rest still pops in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 5 }),
        (keys, mod) => {
          const h = new BinaryHeap<Item>(before);
          const items = keys.map((key, seq) => ({ key, seq }));
          for (const it of items) h.push(it);
          const seen: Item[] = [];
          h.retain((it) => {
            seen.push(it);
            return it.seq % mod !== 0;
          });
          expect(seen.length).toBe(items.length);
          const kept = items.filter((it) => it.seq % mod !== 0).sort(order);
          const popped: Item[] = [];
          for (let it = h.pop(); it !== undefined; it = h.pop()) popped.push(it);
          expect(popped).toEqual(kept);
        },
      ),
    );
  });
});
