import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checksum, pseudoHeaderSum, updateChecksum16, updateChecksum32 } from '../../src/wire/index.js';
import { writeU16, writeU32 } from '../../src/wire/addr.js';
import { finishChecksum, sum16 } from '../../src/wire/checksum.js';
import { RUNS, hex, ipv4Addr, u16, u32, u8 } from './arb.js';

// A deliberately naive reference: fold after every word, pad odd tails.
function reference(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) {
    s += (b[i]! << 8) | (i + 1 < b.length ? b[i + 1]! : 0);
    if (s > 0xffff) s -= 0xffff;
  }
  return ~s & 0xffff;
}

describe('internet checksum', () => {
  it('matches the RFC 1071 worked example (sum ddf2, checksum 220d)', () => {
    const b = hex('0001 f203 f4f5 f6f7');
    expect(finishChecksum(sum16(b, 0, b.length)) ^ 0xffff).toBe(0xddf2);
    expect(checksum(b, 0, b.length)).toBe(0x220d);
  });

  it('pads an odd trailing byte with zero', () => {
    const b = hex('1234 56');
    expect(sum16(b, 0, 3)).toBe(0x1234 + 0x5600);
  });

  it('agrees with a word-by-word folding reference on arbitrary bytes and offsets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 5 }), (b, off) => {
        const padded = new Uint8Array(off + b.length);
        padded.set(b, off);
        expect(checksum(padded, off, b.length)).toBe(reference(b));
      }),
      RUNS,
    );
  });

  it('can be accumulated in pieces split at even boundaries', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (b, cut) => {
        const mid = Math.min(b.length, cut) & ~1;
        const acc = sum16(b, mid, b.length - mid, sum16(b, 0, mid));
        expect(finishChecksum(acc)).toBe(checksum(b, 0, b.length));
      }),
      RUNS,
    );
  });

  it('stays exact when 64 KiB of 0xff is accumulated a thousand times over', () => {
    const b = new Uint8Array(65536).fill(0xff);
    let acc = 0;
    for (let i = 0; i < 1000; i++) acc = sum16(b, 0, b.length, acc);
    expect(Number.isSafeInteger(acc)).toBe(true);
    expect(acc).toBe(1000 * 32768 * 0xffff);
    expect(finishChecksum(acc)).toBe(0);
    const c = new Uint8Array(65535).fill(0x01);
    let acc2 = 0;
    for (let i = 0; i < 1000; i++) acc2 = sum16(c, 0, c.length, acc2);
    const once = sum16(c, 0, c.length);
    // Folding is congruent mod 0xffff, so 1000 copies fold like 1000 × (one copy).
    expect(finishChecksum(acc2)).toBe(finishChecksum(((once % 0xffff) * 1000) % 0xffff || 0xffff));
  });

  it('a region with its own checksum written into it sums to zero', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 200 }), fc.nat(), (b, at) => {
        const pos = (at % (b.length >> 1)) * 2;
        b[pos] = 0;
        b[pos + 1] = 0;
        writeU16(b, pos, checksum(b, 0, b.length));
        expect(checksum(b, 0, b.length)).toBe(0);
      }),
      RUNS,
    );
  });

  it('pseudo-header sum equals summing the 12-byte pseudo-header itself', () => {
    fc.assert(
      fc.property(ipv4Addr, ipv4Addr, u8, u16, (src, dst, proto, len) => {
        const ph = new Uint8Array(12);
        writeU32(ph, 0, src);
        writeU32(ph, 4, dst);
        ph[9] = proto;
        writeU16(ph, 10, len);
        expect(finishChecksum(pseudoHeaderSum(src, dst, proto, len))).toBe(checksum(ph, 0, 12));
      }),
      RUNS,
    );
  });

  it('RFC 1624 incremental updates of a 16- or 32-bit field equal a full recompute', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 60 }), u16, u32, (b, w, v) => {
        b[0] = 0x45; // never all-zero, as for any real header
        b[2] = 0;
        b[3] = 0;
        writeU16(b, 2, checksum(b, 0, b.length));
        const old16 = (b[4]! << 8) | b[5]!;
        writeU16(b, 4, w);
        const inc = updateChecksum16((b[2]! << 8) | b[3]!, old16, w);
        b[2] = 0;
        b[3] = 0;
        expect(inc).toBe(checksum(b, 0, b.length));
        writeU16(b, 2, inc);
        const old32 = ((b[8]! << 24) | (b[9]! << 16) | (b[10]! << 8) | b[11]!) >>> 0;
        writeU32(b, 8, v);
        const inc32 = updateChecksum32(inc, old32, v);
        b[2] = 0;
        b[3] = 0;
        expect(inc32).toBe(checksum(b, 0, b.length));
      }),
      RUNS,
    );
  });
});
