import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { HZ, NS_PER_JIFFY, jiffiesAt, wheelBucketExpiry, wheelFireTime } from '../../src/sim/jiffies.js';

describe('the kernel timer wheel (HZ=250)', () => {
  test('a 5 s timer lands on level 2 and fires on the next 64-jiffy boundary after its expiry', () => {
    expect(wheelBucketExpiry(1250, 0)).toBe(1280);
    expect(wheelBucketExpiry(1251, 1)).toBe(1280);
    // an expiry already on a boundary still moves one granule out (never early)
    expect(wheelBucketExpiry(1280, 30)).toBe(1344);
  });

  test('level boundaries: 62 jiffies is level 0 (one jiffy late), 63 is level 1 (granule 8), 504 is level 2, 4032 level 3', () => {
    expect(wheelBucketExpiry(62, 0)).toBe(63);
    expect(wheelBucketExpiry(63, 0)).toBe(64);
    expect(wheelBucketExpiry(250, 0)).toBe(256);
    expect(wheelBucketExpiry(503, 0)).toBe(504);
    expect(wheelBucketExpiry(504, 0)).toBe(512);
    expect(wheelBucketExpiry(4032, 0)).toBe(4096);
  });

  test('a timer never fires early and at most one granule (12.5 % of its distance, at least a jiffy) late', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: 200_000 }), (clk, delta) => {
        const fire = wheelBucketExpiry(clk + delta, clk);
        expect(fire).toBeGreaterThan(clk + delta);
        expect(fire - (clk + delta)).toBeLessThanOrEqual(Math.max(1, Math.ceil(delta / 7.875)));
      }),
      { numRuns: 2000 },
    );
  });

  test('fire times are whole jiffies after now, and jiffies count HZ per second from time 0', () => {
    expect(NS_PER_JIFFY * HZ).toBe(1e9);
    expect(jiffiesAt(0)).toBe(0);
    expect(jiffiesAt(3_999_999)).toBe(0);
    expect(jiffiesAt(4_000_000)).toBe(1);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: -10, max: 20_000 }), (now, d) => {
        const t = wheelFireTime(now, jiffiesAt(now) + d);
        expect(t).toBeGreaterThan(now);
        expect(t % NS_PER_JIFFY).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });
});
