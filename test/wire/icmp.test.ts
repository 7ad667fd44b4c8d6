import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ICMP_DEST_UNREACH,
  ICMP_FRAG_NEEDED,
  ICMP_FRAG_REASM_EXCEEDED,
  ICMP_TIME_EXCEEDED,
  IcmpView,
  WireError,
  emitIcmp,
  icmpLen,
  parseIcmp,
  type IcmpRepr,
} from '../../src/wire/index.js';
import {
  ADMIN_PROHIBITED,
  DEST_UNREACH,
  ECHO_REPLY,
  ECHO_REQUEST,
  FRAG_NEEDED,
  FRAG_REASM_EXCEEDED,
  HOST_UNREACH,
  NET_UNREACH,
  PORT_UNREACH,
  PROTO_UNREACH,
  TIME_EXCEEDED,
  TTL_EXCEEDED,
} from '../../src/wire/icmp.js';
import { RUNS, forEachBitFlip, hex, icmpRepr, toHex } from './arb.js';

function emit(repr: IcmpRepr, off = 0): Uint8Array {
  const buf = new Uint8Array(off + icmpLen(repr));
  expect(emitIcmp(repr, buf, off)).toBe(icmpLen(repr));
  return buf;
}

describe('icmp constants', () => {
  it('have the RFC 792/1191/1812 values under both spellings', () => {
    expect([ECHO_REPLY, DEST_UNREACH, ECHO_REQUEST, TIME_EXCEEDED]).toEqual([0, 3, 8, 11]);
    expect([NET_UNREACH, HOST_UNREACH, PROTO_UNREACH, PORT_UNREACH, FRAG_NEEDED, ADMIN_PROHIBITED]).toEqual([
      0, 1, 2, 3, 4, 13,
    ]);
    expect([TTL_EXCEEDED, FRAG_REASM_EXCEEDED]).toEqual([0, 1]);
    expect([ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, ICMP_TIME_EXCEEDED, ICMP_FRAG_REASM_EXCEEDED]).toEqual([3, 4, 11, 1]);
  });
});

describe('icmp', () => {
  it('message emitted from any repr parses back to the same repr', () => {
    fc.assert(
      fc.property(icmpRepr, fc.integer({ min: 0, max: 5 }), (repr, off) => {
        const buf = emit(repr, off);
        expect(parseIcmp(buf, off, buf.length - off)).toEqual(repr);
      }),
      RUNS,
    );
  });

  it('any 8+ byte message re-emits byte for byte from its parsed repr (unknown or non-canonical ones as "other")', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 80 }), (b) => {
        new IcmpView(b).fillChecksum(b.length);
        const again = emit(parseIcmp(b, 0, b.length));
        expect(toHex(again)).toBe(toHex(b));
      }),
      RUNS,
    );
  });

  it('emitted messages carry a checksum over the whole message that verifies', () => {
    fc.assert(
      fc.property(icmpRepr, (repr) => {
        const buf = emit(repr);
        expect(new IcmpView(buf).verifyChecksum(buf.length)).toBe(true);
      }),
      RUNS,
    );
  });

  it('flipping any single bit of an emitted message makes the checksum fail', () => {
    fc.assert(
      fc.property(icmpRepr, (repr) => {
        const buf = emit(repr);
        const undetected: number[] = [];
        forEachBitFlip(buf, 0, buf.length, (f, byte, bit) => {
          if (new IcmpView(f).verifyChecksum(f.length)) undetected.push(byte * 8 + bit);
        });
        expect(undetected).toEqual([]);
      }),
      RUNS,
    );
  });

  it('encodes an echo request byte for byte (checksum 0x00eb)', () => {
    const data = Uint8Array.from({ length: 56 }, (_, i) => i);
    const buf = emit({ kind: 'echo-request', ident: 1, seq: 1, data });
    expect(toHex(buf.subarray(0, 8))).toBe('080000eb00010001');
    const v = IcmpView.checked(buf);
    expect([v.type, v.code, v.ident, v.seq, v.payloadOffset]).toEqual([8, 0, 1, 1, 8]);
  });

  it('encodes frag-needed with the next-hop MTU in bytes 6-7 and zero elsewhere', () => {
    const quote = hex('4500 05dc 0001 4000 4001 0000 0af40103 0af40202 0800 0000 0001 0001');
    const buf = emit({ kind: 'dest-unreachable', code: FRAG_NEEDED, nextHopMtu: 1450, quote });
    expect(toHex(buf.subarray(0, 8)).replace(/^(....)..../, '$1----')).toBe('0304----000005aa');
    expect(new IcmpView(buf).nextHopMtu).toBe(1450);
    const r = parseIcmp(buf, 0, buf.length);
    expect(r).toEqual({ kind: 'dest-unreachable', code: 4, nextHopMtu: 1450, quote });
  });

  it('reports nextHopMtu 0 for other unreachable codes and writes none', () => {
    const buf = emit({ kind: 'dest-unreachable', code: 3, nextHopMtu: 1450, quote: new Uint8Array(28) });
    expect(toHex(buf.subarray(4, 8))).toBe('00000000');
    expect(parseIcmp(buf, 0, buf.length)).toMatchObject({ kind: 'dest-unreachable', code: 3, nextHopMtu: 0 });
  });

  it('parses unknown types and non-zero unused fields as "other" so nothing is lost', () => {
    const ts = hex('0d00 0000 1234 0001 00000000 00000000 00000000');
    expect(parseIcmp(ts, 0, ts.length)).toMatchObject({ kind: 'other', type: 13, code: 0, rest: 0x12340001 });
    const odd = hex('0300 0000 0000 0001');
    expect(parseIcmp(odd, 0, odd.length)).toMatchObject({ kind: 'other', type: DEST_UNREACH, code: 0, rest: 1 });
    const echoCode1 = hex('0801 0000 0000 0001');
    expect(parseIcmp(echoCode1, 0, 8)).toMatchObject({ kind: 'other', type: 8, code: 1 });
  });

  it('rejects messages shorter than 8 bytes', () => {
    expect(() => parseIcmp(new Uint8Array(7), 0, 7)).toThrow(WireError);
    expect(() => IcmpView.checked(new Uint8Array(10), 3)).toThrow(WireError);
    expect(() => parseIcmp(new Uint8Array(8), 0, 9)).toThrow(WireError);
  });
});
