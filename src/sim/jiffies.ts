/**
 * The kernel's tick clock and its timer wheel (kernel/time/timer.c), for timers whose exact
 * firing time changes what happens. A wheel timer never fires early but may fire late: the
 * expiry is rounded up to the granularity of the wheel level its distance falls in (8^level
 * jiffies). At HZ=250 a 1 s timer fires up to 32 ms late and a 5 s one up to 256 ms late — the
 * kernel's delayed ARP probes come 5.0–5.26 s after first use, and a neighbour confirmed a few
 * milliseconds after its DELAY began is still probed when the timer fires more than those few
 * milliseconds late.
 */
import type { Nanos } from './time.js';
import { NS_PER_S } from './time.js';

/** CONFIG_HZ of the kernels podnet models (Debian's default; the kernel check's delayed probes fit it). */
export const HZ = 250;
/** One jiffy in nanoseconds. */
export const NS_PER_JIFFY: Nanos = NS_PER_S / HZ;

/** jiffies at virtual time `t`; podnet's jiffies count from 0 at the start of a simulation. */
export function jiffiesAt(t: Nanos): number {
  return Math.floor(t / NS_PER_JIFFY);
}

/** A duration in whole jiffies, as the kernel stores its tunables (rounded down). */
export function toJiffies(d: Nanos): number {
  return Math.floor(d / NS_PER_JIFFY);
}

const LVL_CLK_SHIFT = 3;
const LVL_SIZE = 64;
const LVL_DEPTH = 9;

/** LVL_START(n): the first distance (jiffies) that lands on level n. */
function lvlStart(n: number): number {
  return (LVL_SIZE - 1) * 2 ** ((n - 1) * LVL_CLK_SHIFT);
}

/**
 * The jiffy at which a timer armed at jiffy `clk` to expire at jiffy `expires` fires
 * (calc_wheel_index + calc_index): the expiry plus one granule of its level, rounded down to
 * the granule. Even a level-0 timer fires one jiffy after its expiry.
 */
export function wheelBucketExpiry(expires: number, clk: number): number {
  const gran = wheelGranule(expires - clk);
  return Math.floor((expires + gran) / gran) * gran;
}

/** The granularity (jiffies) of the wheel level a timer `delta` jiffies away is queued on: the most it fires late. */
export function wheelGranule(delta: number): number {
  let lvl = 0;
  while (lvl < LVL_DEPTH - 1 && delta >= lvlStart(lvl + 1)) lvl++;
  return 2 ** (lvl * LVL_CLK_SHIFT);
}

/**
 * When a timer armed at `now` with `mod_timer(timer, expires)` fires, `expires` being given in
 * jiffies. Always later than `now`.
 */
export function wheelFireTime(now: Nanos, expires: number): Nanos {
  const clk = jiffiesAt(now);
  return wheelBucketExpiry(Math.max(expires, clk), clk) * NS_PER_JIFFY;
}
