/**
 * Delayed ARP probes near the end of the runs: the two sides' 5 s timers fire up to 256 ms apart
 * (the kernel's timer-wheel phase), so a probe one side sent just before its window closed may be
 * missing on the other for no other reason. Only then are they listed instead of compared.
 */
import { describe, expect, test } from 'vitest';
import { splitLateTimerFrames } from '../../src/verify/verify.js';
import type { OutsideFrame } from '../../src/verify/verify.js';
import type { FrameInput } from '../../src/verify/records.js';
import { asKernel, framesOf, scenario } from './helpers.js';

const { run, frames } = framesOf(scenario('r-tcp-once-delayed-probe'), 1);

/** An ARP frame not sent to the broadcast address. */
function isUnicastArpFrame(f: FrameInput): boolean {
  return f.bytes[12] === 0x08 && f.bytes[13] === 0x06 && f.bytes[0] !== 0xff;
}

/** A frame of a delayed probe exchange: unicast ARP (first contact's replies are unicast too, but come at once). */
function isUnicastArp(f: FrameInput): boolean {
  return f.t > 1e9 && isUnicastArpFrame(f);
}

/** podnet's frames without its delayed probe exchanges. */
function withoutProbes(m: Map<string, FrameInput[]>): Map<string, FrameInput[]> {
  return new Map([...m].map(([p, fs]) => [p, fs.filter((f) => !isUnicastArp(f))]));
}

function count(m: Map<string, FrameInput[]>): number {
  return [...m.values()].reduce((n, fs) => n + fs.filter(isUnicastArp).length, 0);
}

const probeTimes = [...frames.values()]
  .flat()
  .filter(isUnicastArp)
  .map((f) => f.t);

describe('delayed ARP probes at the end of the comparison windows', () => {
  test('the scenario has delayed probe exchanges 5.0–5.26 s in, well inside its 7 s', () => {
    // request and reply at 3 entries, seen at several points each
    expect(probeTimes.length).toBeGreaterThanOrEqual(6);
    for (const t of probeTimes) expect(t).toBeGreaterThan(5e9);
    for (const t of probeTimes) expect(t).toBeLessThan(5.3e9);
    expect(run.end).toBeGreaterThan(7e9);
  });

  test('both sides have them and end long after: all compared', () => {
    const k = asKernel(frames);
    const p = new Map(frames);
    const outside = new Map<string, OutsideFrame[]>();
    splitLateTimerFrames(k, p, { podnet: run.end, kernel: run.end, lag: 0 }, [8472], outside);
    expect(count(k)).toBe(probeTimes.length);
    expect(count(p)).toBe(probeTimes.length);
    expect(outside.size).toBe(0);
  });

  test("the kernel's probes came within 256 ms before podnet's window ended, podnet's timer had not fired yet: listed, not compared", () => {
    const k = asKernel(frames);
    const p = withoutProbes(frames);
    const podnetEnd = Math.max(...probeTimes) + 100e6;
    const outside = new Map<string, OutsideFrame[]>();
    splitLateTimerFrames(k, p, { podnet: podnetEnd, kernel: run.end, lag: 0 }, [8472], outside);
    expect(count(k)).toBe(0);
    const listed = [...outside.values()].flat();
    expect(listed).toHaveLength(probeTimes.length);
    for (const o of listed) expect(o.summary).toMatch(/near the end of the windows/);
  });

  test("podnet's probes near the kernel's window end (less its lag), the kernel's missing: listed too", () => {
    const k = withoutProbes(asKernel(frames));
    const p = new Map(frames);
    const lag = 30e6;
    const kernelEnd = Math.max(...probeTimes) + lag + 50e6;
    const outside = new Map<string, OutsideFrame[]>();
    splitLateTimerFrames(k, p, { podnet: run.end, kernel: kernelEnd, lag }, [8472], outside);
    expect(count(p)).toBe(0);
    expect([...outside.values()].flat().every((o) => o.side === 'podnet')).toBe(true);
  });

  test('a probe missing on one side while the other side ran on for more than 256 ms stays in the comparison', () => {
    const k = asKernel(frames);
    const p = withoutProbes(frames);
    const podnetEnd = Math.max(...probeTimes) + 300e6;
    const outside = new Map<string, OutsideFrame[]>();
    splitLateTimerFrames(k, p, { podnet: podnetEnd, kernel: run.end, lag: 0 }, [8472], outside);
    expect(count(k)).toBe(probeTimes.length);
    expect(outside.size).toBe(0);
  });

  test("frames after the other side's end are never compared", () => {
    const k = asKernel(frames);
    const p = new Map(frames);
    const outside = new Map<string, OutsideFrame[]>();
    splitLateTimerFrames(k, p, { podnet: 5e9, kernel: run.end, lag: 0 }, [8472], outside);
    expect(count(k)).toBe(0);
    expect(
      [...outside.values()]
        .flat()
        .filter((o) => o.side !== 'podnet')
        .every((o) => /after the other side's window/.test(o.summary)),
    ).toBe(true);
  });

  test("first contact's unicast ARP replies in a short run are always compared, however the ends fall", () => {
    const short = framesOf(scenario('k-udp-pinned'), 1);
    const k = asKernel(short.frames);
    const p = new Map(short.frames);
    const replies = (m: Map<string, FrameInput[]>): number => [...m.values()].flat().filter(isUnicastArpFrame).length;
    const before = replies(k);
    expect(before).toBeGreaterThan(0);
    // one side's reply missing at one point, and windows that end soon after
    const [point, fs] = [...p].find(([, fs]) => fs.some(isUnicastArpFrame))!;
    p.set(
      point,
      fs.filter((f) => !isUnicastArpFrame(f)),
    );
    const outside = new Map<string, OutsideFrame[]>();
    splitLateTimerFrames(k, p, { podnet: short.run.end, kernel: short.run.end + 200e6, lag: 150e6 }, [8472], outside);
    expect(replies(k)).toBe(before);
    expect(outside.size).toBe(0);
  });

  test('a first contact after 5 s (a broadcast request, a unicast reply) near the end is compared: its reply is no delayed probe', () => {
    // as in a CI run of h-hairpin-off whose last connection, the first to n3, came 5.3 s in
    const short = framesOf(scenario('k-udp-pinned'), 1);
    const shift = (m: Map<string, FrameInput[]>): Map<string, FrameInput[]> =>
      new Map([...m].map(([p, fs]) => [p, fs.map((f) => ({ ...f, t: f.t + 5.2e9 }))]));
    const k = shift(asKernel(short.frames));
    const p = shift(short.frames);
    const isReply = (f: FrameInput): boolean => isUnicastArpFrame(f) && f.bytes[21] === 2;
    const replies = (m: Map<string, FrameInput[]>): number => [...m.values()].flat().filter(isReply).length;
    const before = replies(k);
    expect(before).toBeGreaterThan(0);
    const end = short.run.end + 5.2e9;
    const outside = new Map<string, OutsideFrame[]>();
    // the kernel lagged: podnet's whole run is within the kernel's end less its lag and 256 ms
    splitLateTimerFrames(k, p, { podnet: end, kernel: end, lag: short.run.end }, [8472], outside);
    expect(replies(k)).toBe(before);
    expect(replies(p)).toBe(before);
    expect(outside.size).toBe(0);
  });
});
