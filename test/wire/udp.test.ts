import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  UDP_HLEN,
  UdpView,
  WireError,
  checksum,
  emitUdp,
  emitUdpHeader,
  pseudoHeaderSum,
  IPPROTO_UDP,
  parseUdp,
} from '../../src/wire/index.js';
import { sum16, finishChecksum } from '../../src/wire/checksum.js';
import { RUNS, bytes, forEachBitFlip, ipv4Addr, toHex, u16, udpRepr } from './arb.js';
import { ip } from './frames.js';

describe('udp', () => {
  it('header emitted from any repr parses back to the same repr', () => {
    fc.assert(
      fc.property(udpRepr, fc.integer({ min: 0, max: 5 }), (repr, off) => {
        const buf = new Uint8Array(off + UDP_HLEN + repr.payloadLen);
        expect(emitUdpHeader(repr, buf, off)).toBe(UDP_HLEN);
        const v = UdpView.checked(buf, off);
        expect(parseUdp(v)).toEqual(repr);
        expect(v.checksum).toBe(0);
        expect(v.payloadOffset).toBe(off + 8);
      }),
      RUNS,
    );
  });

  it('datagrams emitted with a checksum verify against their pseudo-header, and never carry 0', () => {
    fc.assert(
      fc.property(u16, u16, bytes(200), ipv4Addr, ipv4Addr, (sp, dp, payload, src, dst) => {
        const buf = new Uint8Array(UDP_HLEN + payload.length);
        expect(emitUdp({ srcPort: sp, dstPort: dp }, payload, buf, 0, src, dst)).toBe(buf.length);
        const v = UdpView.checked(buf);
        expect(v.checksum).not.toBe(0);
        expect(v.verifyChecksum(src, dst)).toBe(true);
        expect(checksum(buf, 0, buf.length, pseudoHeaderSum(src, dst, IPPROTO_UDP, buf.length))).toBe(0);
        expect(toHex(buf.subarray(8))).toBe(toHex(payload));
      }),
      RUNS,
    );
  });

  it('flipping any single bit of an emitted datagram is detected, except where the flip turns the checksum field into 0 ("no checksum")', () => {
    fc.assert(
      fc.property(u16, u16, bytes(48), ipv4Addr, ipv4Addr, (sp, dp, payload, src, dst) => {
        const buf = new Uint8Array(UDP_HLEN + payload.length);
        emitUdp({ srcPort: sp, dstPort: dp }, payload, buf, 0, src, dst);
        const pseudo = pseudoHeaderSum(src, dst, IPPROTO_UDP, buf.length);
        const undetected: string[] = [];
        forEachBitFlip(buf, 0, buf.length, (f, byte, bit) => {
          // The internet checksum over the original region always notices one flipped bit.
          if (checksum(f, 0, f.length, pseudo) === 0) undetected.push(`raw ${byte}.${bit}`);
          const field = (f[6]! << 8) | f[7]!;
          // Honest exceptions: a checksum that is a power of two can be flipped to 0, which means
          // "not computed" and is accepted by design (RFC 768); flipping the length field changes
          // the region (and usually fails checked()), so only the raw sum above speaks for it.
          if (field === 0 || byte === 4 || byte === 5) return;
          const v = new UdpView(f);
          if (v.verifyChecksum(src, dst)) undetected.push(`view ${byte}.${bit}`);
        });
        expect(undetected).toEqual([]);
      }),
      RUNS,
    );
  });

  it('a checksum field flipped to zero is accepted as "no checksum"', () => {
    const buf = new Uint8Array(8 + 4);
    emitUdp({ srcPort: 1, dstPort: 2 }, new Uint8Array([1, 2, 3, 4]), buf, 0, 1, 2);
    const v = new UdpView(buf);
    v.checksum = 0;
    expect(v.verifyChecksum(1, 2)).toBe(true);
  });

  it('sends a computed checksum of 0 as 0xffff, which verifies', () => {
    fc.assert(
      fc.property(u16, u16, ipv4Addr, ipv4Addr, (sp, dp, src, dst) => {
        const buf = new Uint8Array(UDP_HLEN + 2);
        emitUdpHeader({ srcPort: sp, dstPort: dp, payloadLen: 2 }, buf, 0);
        // Choose the payload word so the folded sum is 0xffff, i.e. the computed checksum is 0.
        const folded =
          finishChecksum(sum16(buf, 0, buf.length, pseudoHeaderSum(src, dst, IPPROTO_UDP, buf.length))) ^ 0xffff;
        const w = 0xffff - folded;
        buf[8] = w >>> 8;
        buf[9] = w & 0xff;
        const v = new UdpView(buf);
        v.fillChecksum(src, dst);
        expect(v.checksum).toBe(0xffff);
        expect(v.verifyChecksum(src, dst)).toBe(true);
      }),
      RUNS,
    );
  });

  it('encodes a datagram with an odd payload byte for byte (checksum 0x092b)', () => {
    const buf = new Uint8Array(13);
    emitUdp(
      { srcPort: 40001, dstPort: 53 },
      new TextEncoder().encode('hello'),
      buf,
      0,
      ip('10.244.1.3'),
      ip('10.96.0.10'),
    );
    expect(toHex(buf)).toBe('9c410035000d092b' + '68656c6c6f');
  });

  it('omits the checksum when asked', () => {
    const buf = new Uint8Array(10);
    emitUdp({ srcPort: 1, dstPort: 2 }, new Uint8Array([9, 9]), buf, 0, 1, 2, false);
    expect(new UdpView(buf).checksum).toBe(0);
  });

  it('checked() rejects a length field below 8 or beyond the available bytes', () => {
    expect(() => UdpView.checked(new Uint8Array(7))).toThrow(WireError);
    const b = new Uint8Array(12);
    b[5] = 7;
    expect(() => UdpView.checked(b)).toThrow(WireError);
    b[5] = 13;
    expect(() => UdpView.checked(b)).toThrow(WireError);
    b[5] = 12;
    expect(UdpView.checked(b).payloadLength).toBe(4);
  });
});
