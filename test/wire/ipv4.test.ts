import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  IPPROTO_UDP,
  IPV4_HLEN,
  Ipv4View,
  WireError,
  checksum,
  emitIpv4Header,
  parseIpv4Header,
  type Ipv4Repr,
} from '../../src/wire/index.js';
import { writeU16 } from '../../src/wire/addr.js';
import { decrementTtlWithChecksum } from '../../src/wire/ipv4.js';
import { RUNS, forEachBitFlip, hex, ipv4Repr, toHex, u8 } from './arb.js';
import { ip } from './frames.js';

function emit(repr: Ipv4Repr, off = 0): Uint8Array {
  // Room for the payload so checked() accepts totalLength.
  const buf = new Uint8Array(off + IPV4_HLEN + repr.payloadLen);
  emitIpv4Header(repr, buf, off);
  return buf;
}

/**
 * An arbitrary valid header, options included: random bytes with version/IHL/length fixed up and a correct checksum.
 */
const rawHeader = fc
  .record({ ihl: fc.integer({ min: 5, max: 15 }), bytes: fc.uint8Array({ minLength: 60, maxLength: 60 }), ttl: u8 })
  .map(({ ihl, bytes, ttl }) => {
    const hlen = ihl * 4;
    const b = bytes.slice(0, hlen);
    b[0] = 0x40 | ihl;
    writeU16(b, 2, hlen);
    b[8] = ttl;
    const v = new Ipv4View(b);
    v.fillChecksum();
    return b;
  });

describe('ipv4 header', () => {
  it('emitted from any repr parses back to the same repr', () => {
    fc.assert(
      fc.property(ipv4Repr, fc.integer({ min: 0, max: 5 }), (repr, off) => {
        const buf = emit(repr, off);
        const v = Ipv4View.checked(buf, off, buf.length - off);
        expect(parseIpv4Header(v)).toEqual(repr);
        expect(v.headerLen).toBe(20);
        expect(v.totalLength).toBe(20 + repr.payloadLen);
        expect(v.payloadOffset).toBe(off + 20);
        expect(v.isFragment).toBe(repr.mf || repr.fragOffset > 0);
      }),
      RUNS,
    );
  });

  it('emitted headers carry a checksum that verifies', () => {
    fc.assert(
      fc.property(ipv4Repr, (repr) => {
        const v = new Ipv4View(emit(repr));
        expect(v.verifyChecksum()).toBe(true);
        expect(checksum(v.buf, 0, 20)).toBe(0);
      }),
      RUNS,
    );
  });

  it('flipping any single bit of an emitted header makes the checksum fail', () => {
    fc.assert(
      fc.property(
        ipv4Repr.map((r) => ({ ...r, payloadLen: r.payloadLen % 64 })),
        (repr) => {
          const pkt = emit(repr);
          const undetected: string[] = [];
          forEachBitFlip(pkt, 0, IPV4_HLEN, (flipped, byte, bit) => {
            // The sum over the original 20 bytes always changes: ±2^k is never 0 mod 0xffff.
            if (checksum(flipped, 0, IPV4_HLEN) === 0) undetected.push(`raw ${byte}.${bit}`);
            // Flipping IHL moves the region the view checks; that case is covered by the raw sum above.
            if (byte === 0 && bit < 4) return;
            if (new Ipv4View(flipped).verifyChecksum()) undetected.push(`view ${byte}.${bit}`);
          });
          expect(undetected).toEqual([]);
        },
      ),
      RUNS,
    );
  });

  it('matches the classic worked example 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7', () => {
    const buf = new Uint8Array(0x73);
    emitIpv4Header(
      {
        src: ip('192.168.0.1'),
        dst: ip('192.168.0.199'),
        protocol: IPPROTO_UDP,
        ttl: 64,
        ident: 0,
        df: true,
        mf: false,
        fragOffset: 0,
        tos: 0,
        payloadLen: 0x73 - 20,
      },
      buf,
      0,
    );
    expect(toHex(buf.subarray(0, 20))).toBe('450000730000400040110000c0a80001c0a800c7'.replace('40110000', '4011b861'));
    const v = Ipv4View.checked(buf);
    expect(v.checksum).toBe(0xb861);
    expect(v.verifyChecksum()).toBe(true);
  });

  it('reads flags and a fragment offset in bytes', () => {
    const b = hex('4500 05dc abcd 20b9 4001 0000 0a000001 0a000002');
    const v = new Ipv4View(b);
    expect(v.df).toBe(false);
    expect(v.mf).toBe(true);
    expect(v.fragOffset).toBe(0xb9 * 8);
    expect(v.isFragment).toBe(true);
    v.mf = false;
    v.df = true;
    v.fragOffset = 1480;
    expect(toHex(b.subarray(6, 8))).toBe('40b9');
    v.fragOffset = 0;
    expect(v.isFragment).toBe(false);
    expect(v.ident).toBe(0xabcd);
    expect(v.ttl).toBe(64);
    expect(v.protocol).toBe(1);
  });

  it('setters leave the checksum alone until fillChecksum', () => {
    const buf = emit({
      src: 1,
      dst: 2,
      protocol: 6,
      ttl: 64,
      ident: 7,
      df: false,
      mf: false,
      fragOffset: 0,
      tos: 0,
      payloadLen: 0,
    });
    const v = new Ipv4View(buf);
    const before = v.checksum;
    v.src = ip('10.244.1.3');
    v.dst = ip('10.96.0.10');
    v.ttl = 3;
    v.tos = 0x10;
    v.ident = 99;
    v.totalLength = 20;
    v.protocol = 17;
    v.df = true;
    expect(v.checksum).toBe(before);
    expect(v.verifyChecksum()).toBe(false);
    v.fillChecksum();
    expect(v.verifyChecksum()).toBe(true);
    expect(v.src).toBe(ip('10.244.1.3'));
    expect(v.dst).toBe(ip('10.96.0.10'));
  });

  it('incremental TTL decrement gives the same bytes as a full recompute for arbitrary headers', () => {
    fc.assert(
      fc.property(rawHeader, (b) => {
        const inc = b.slice();
        const full = b.slice();
        const ttl = b[8]!;
        const got = new Ipv4View(inc).decrementTtl();
        if (ttl === 0) {
          expect(got).toBe(0);
          expect(inc).toEqual(b);
          return;
        }
        expect(got).toBe(ttl - 1);
        const fv = new Ipv4View(full);
        fv.ttl = ttl - 1;
        fv.fillChecksum();
        expect(toHex(inc)).toBe(toHex(full));
        expect(new Ipv4View(inc).verifyChecksum()).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('incremental TTL decrement agrees with a full recompute when either checksum is 0x0000', () => {
    // Tune the ident word so the checksum before (or after) the decrement is exactly 0x0000,
    // the case where RFC 1141's update went wrong.
    fc.assert(
      fc.property(ipv4Repr, fc.integer({ min: 1, max: 255 }), fc.boolean(), (repr, ttl, zeroAfter) => {
        const b = emit({ ...repr, ttl, payloadLen: 0 });
        const v = new Ipv4View(b);
        v.ident = 0;
        if (zeroAfter) v.ttl = ttl - 1;
        v.checksum = 0;
        const s = checksum(b, 0, 20) ^ 0xffff; // folded sum with ident 0
        v.ident = (0xffff - s) & 0xffff; // makes the folded sum 0xffff, i.e. checksum 0
        v.fillChecksum();
        expect(v.checksum).toBe(0);
        if (zeroAfter) v.ttl = ttl;
        v.fillChecksum();
        const full = b.slice();
        decrementTtlWithChecksum(v);
        const fv = new Ipv4View(full);
        fv.ttl = ttl - 1;
        fv.fillChecksum();
        expect(toHex(b)).toBe(toHex(full));
        if (zeroAfter) expect(fv.checksum).toBe(0);
      }),
      RUNS,
    );
  });

  it.each([
    ['version 6', '6500 0014 0000 0000 4006 0000 00000000 00000000', 20],
    ['IHL 4', '4400 0014 0000 0000 4006 0000 00000000 00000000', 20],
    ['total length below header length', '4600 0014 0000 0000 4006 0000 00000000 00000000 00000000', 24],
    ['total length beyond the available bytes', '4500 0020 0000 0000 4006 0000 00000000 00000000', 20],
    ['fewer than 20 bytes', '4500 0013 0000 0000 4006 0000 00000000 000000', 19],
  ])('checked() rejects %s', (_name, h, len) => {
    const b = hex(h);
    expect(() => Ipv4View.checked(b, 0, len)).toThrow(WireError);
  });

  it('checked() accepts trailing bytes beyond totalLength (Ethernet padding) and does not verify the checksum', () => {
    const b = hex('4500 0014 0000 0000 4006 dead 00000000 00000000 000000000000');
    const v = Ipv4View.checked(b);
    expect(v.payloadLength).toBe(0);
    expect(v.verifyChecksum()).toBe(false);
  });

  it('emit refuses reprs that do not fit the header fields', () => {
    const r: Ipv4Repr = {
      src: 0,
      dst: 0,
      protocol: 0,
      ttl: 0,
      ident: 0,
      df: false,
      mf: false,
      fragOffset: 0,
      tos: 0,
      payloadLen: 0,
    };
    const buf = new Uint8Array(20);
    expect(() => emitIpv4Header({ ...r, payloadLen: 65516 }, buf, 0)).toThrow(WireError);
    expect(() => emitIpv4Header({ ...r, fragOffset: 12 }, buf, 0)).toThrow(WireError);
    expect(() => emitIpv4Header(r, new Uint8Array(19), 0)).toThrow(WireError);
  });
});
