/**
 * The discrete-event scheduler: events run in (time, insertion) order, cancelled ones never run,
 * and dropping cancelled events from the heap (compaction) changes nothing about the order.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Scheduler } from '../../src/sim/scheduler.js';
import type { Timer } from '../../src/sim/scheduler.js';

describe('Scheduler', () => {
  test('same-instant events run first-in first-out, earlier times first', () => {
    const s = new Scheduler();
    const ran: string[] = [];
    s.schedule(5, (x: string) => ran.push(x), 'b1');
    s.schedule(1, (x: string) => ran.push(x), 'a');
    s.schedule(5, (x: string) => ran.push(x), 'b2');
    s.schedule(0, (x: string) => ran.push(x), 'z');
    s.run();
    expect(ran).toEqual(['z', 'a', 'b1', 'b2']);
    expect(s.now).toBe(5);
  });

  test('a cancelled timer never runs and no longer counts as pending', () => {
    const s = new Scheduler();
    const ran: number[] = [];
    const t = s.schedule(10, (x: number) => ran.push(x), 1);
    s.schedule(20, (x: number) => ran.push(x), 2);
    expect(s.pending).toBe(2);
    t.cancel();
    t.cancel();
    expect(s.pending).toBe(1);
    s.run();
    expect(ran).toEqual([2]);
    expect(s.pending).toBe(0);
  });

  test('a heap of dead timers is compacted: 10,000 re-armed timers leave few entries behind', () => {
    const s = new Scheduler();
    let timer: Timer | null = null;
    let fired = 0;
    let maxHeap = 0;
    // a TCP-like pattern: every packet event re-arms a long timer
    const packet = (k: number): void => {
      maxHeap = Math.max(maxHeap, (s as unknown as { heap: unknown[] }).heap.length);
      timer?.cancel();
      timer = s.schedule(1_000_000, () => fired++, null);
      if (k < 10_000) s.schedule(10, packet, k + 1);
    };
    s.schedule(0, packet, 0);
    s.run();
    expect(fired).toBe(1);
    expect(maxHeap).toBeGreaterThanOrEqual(1024);
    expect(maxHeap).toBeLessThan(2 * 1024 + 4);
  });

  test('property: any mix of schedules, cancels and compactions runs the live events in (time, sequence) order', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), delay: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 6000 }), fc.integer({ min: 0, max: 3 }), (ops, reentrant) => {
        const s = new Scheduler();
        const timers: Array<{ t: Timer; id: number; at: number; live: boolean }> = [];
        const ran: number[] = [];
        let id = 0;
        const run = (x: number): void => {
          ran.push(x);
          // events that schedule more events at their own instant must still run after the ones queued before
          if (reentrant > 0 && x % 97 === 0) {
            const at = s.now;
            const nid = id++;
            timers.push({ t: s.schedule(0, run, nid), id: nid, at, live: true });
          }
        };
        for (const o of ops) {
          if (o.kind === 'add') {
            const nid = id++;
            timers.push({ t: s.schedule(o.delay, run, nid), id: nid, at: o.delay, live: true });
          } else if (timers.length > 0) {
            const e = timers[o.pick % timers.length]!;
            e.t.cancel();
            e.live = false;
          }
        }
        s.run();
        // the reference: live timers by time, then by the order they were scheduled (their id)
        const expected = timers
          .filter((e) => e.live)
          .sort((a, b) => a.at - b.at || a.id - b.id)
          .map((e) => e.id);
        expect(ran).toEqual(expected);
        expect(s.pending).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
