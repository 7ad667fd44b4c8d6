import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  TcpView,
  WireError,
  emitTcpHeader,
  parseTcp,
  parseTcpOptions,
  tcpHeaderLen,
  type TcpRepr,
} from '../../src/wire/index.js';
import { formatTcpFlags, normalizeTcpOptions } from '../../src/wire/tcp.js';
import { RUNS, bytes, forEachBitFlip, hex, ipv4Addr, tcpRepr, toHex } from './arb.js';
import { ip } from './frames.js';

function segment(repr: TcpRepr, payload: Uint8Array, src: number, dst: number, off = 0): Uint8Array {
  const hlen = tcpHeaderLen(repr);
  const buf = new Uint8Array(off + hlen + payload.length);
  expect(emitTcpHeader(repr, buf, off)).toBe(hlen);
  buf.set(payload, off + hlen);
  new TcpView(buf, off).fillChecksum(src, dst, hlen + payload.length);
  return buf;
}

describe('tcp header', () => {
  it('emitted from any repr parses back to the same repr (options compared after normalising padding)', () => {
    fc.assert(
      fc.property(tcpRepr, fc.integer({ min: 0, max: 5 }), (repr, off) => {
        const buf = segment(repr, new Uint8Array(0), 1, 2, off);
        const v = TcpView.checked(buf, off);
        expect(parseTcp(v)).toEqual({ ...repr, options: normalizeTcpOptions(repr.options) });
        expect(v.headerLen % 4).toBe(0);
        expect(v.payloadOffset).toBe(off + v.headerLen);
        expect(v.optionsOffset).toBe(off + 20);
      }),
      RUNS,
    );
  });

  it('option lists that are already normal round-trip exactly, and re-emitting gives the same bytes', () => {
    fc.assert(
      fc.property(tcpRepr, (repr0) => {
        const repr = { ...repr0, options: normalizeTcpOptions(repr0.options) };
        const buf = segment(repr, new Uint8Array(0), 1, 2);
        const parsed = parseTcp(new TcpView(buf));
        expect(parsed).toEqual(repr);
        expect(toHex(segment(parsed, new Uint8Array(0), 1, 2))).toBe(toHex(buf));
      }),
      RUNS,
    );
  });

  it('emitted segments verify with the pseudo-header', () => {
    fc.assert(
      fc.property(tcpRepr, bytes(200), ipv4Addr, ipv4Addr, (repr, payload, src, dst) => {
        const buf = segment(repr, payload, src, dst);
        expect(new TcpView(buf).verifyChecksum(src, dst, buf.length)).toBe(true);
      }),
      RUNS,
    );
  });

  it('flipping any single bit of an emitted segment makes the checksum fail', () => {
    fc.assert(
      fc.property(tcpRepr, bytes(32), ipv4Addr, ipv4Addr, (repr, payload, src, dst) => {
        const buf = segment(repr, payload, src, dst);
        const undetected: number[] = [];
        forEachBitFlip(buf, 0, buf.length, (f, byte, bit) => {
          if (new TcpView(f).verifyChecksum(src, dst, f.length)) undetected.push(byte * 8 + bit);
        });
        expect(undetected).toEqual([]);
      }),
      RUNS,
    );
  });

  it("encodes Linux's SYN (MSS, SACK_PERM, TS, NOP, WS) byte for byte", () => {
    const repr: TcpRepr = {
      srcPort: 40001,
      dstPort: 80,
      seq: 12345,
      ack: 0,
      flags: TCP_SYN,
      window: 64860,
      urgent: 0,
      options: [
        { kind: 'mss', value: 1410 },
        { kind: 'sack-permitted' },
        { kind: 'timestamps', tsval: 1, tsecr: 0 },
        { kind: 'nop' },
        { kind: 'wscale', shift: 7 },
      ],
    };
    const buf = segment(repr, new Uint8Array(0), ip('10.244.1.3'), ip('10.96.0.100'));
    const fixed = '9c41 0050 00003039 00000000 a002 fd5c 674f 0000';
    const options = '020405 82 0402 080a 00000001 00000000 01 030307';
    expect(toHex(buf)).toBe((fixed + options).replace(/ /g, ''));
    const v = TcpView.checked(buf);
    expect([v.srcPort, v.dstPort, v.seq, v.ack, v.headerLen, v.flags, v.window, v.checksum, v.urgent]).toEqual([
      40001,
      80,
      12345,
      0,
      40,
      TCP_SYN,
      64860,
      0x674f,
      0,
    ]);
    expect(parseTcp(v)).toEqual(repr);
  });

  it('reads sequence and acknowledgement numbers as unsigned 32-bit', () => {
    const v = new TcpView(new Uint8Array(20));
    v.seq = 0xffff_fffe;
    v.ack = 0x8000_0000;
    expect(v.seq).toBe(0xffff_fffe);
    expect(v.ack).toBe(0x8000_0000);
    v.headerLen = 24;
    expect(v.headerLen).toBe(24);
  });

  it('checked() rejects short headers, data offset below 5 and options beyond the available bytes', () => {
    expect(() => TcpView.checked(new Uint8Array(19))).toThrow(WireError);
    const b = new Uint8Array(24);
    b[12] = 0x40;
    expect(() => TcpView.checked(b)).toThrow(WireError);
    b[12] = 0x70;
    expect(() => TcpView.checked(b)).toThrow(WireError);
    b[12] = 0x60;
    expect(TcpView.checked(b).headerLen).toBe(24);
  });
});

describe('tcp options', () => {
  it('parses every kind', () => {
    const b = hex('0101 020405b4 030307 0402 050a 00000001 00000002 080a 00000005 00000006 fe04 abcd 00');
    expect(parseTcpOptions(b, 0, b.length)).toEqual([
      { kind: 'nop' },
      { kind: 'nop' },
      { kind: 'mss', value: 1460 },
      { kind: 'wscale', shift: 7 },
      { kind: 'sack-permitted' },
      { kind: 'sack', blocks: [[1, 2]] },
      { kind: 'timestamps', tsval: 5, tsecr: 6 },
      { kind: 'unknown', type: 0xfe, data: hex('abcd') },
      { kind: 'eol' },
    ]);
  });

  it('stops at EOL and ignores whatever follows it', () => {
    const b = hex('01 00 02 ff ff');
    expect(parseTcpOptions(b, 0, b.length)).toEqual([{ kind: 'nop' }, { kind: 'eol' }]);
  });

  it.each([
    ['a length byte of 0', '02 00 0000'],
    ['a length byte of 1', 'fe 01 0000'],
    ['a missing length byte', '01 01 01 02'],
    ['an option overrunning the area', '08 0a 0000 0000'],
    ['MSS of length 3', '02 03 05 00'],
    ['window scale of length 4', '03 04 0700'],
    ['SACK_PERM of length 3', '04 03 00 00'],
    ['timestamps of length 8', '08 08 0000 0000 0000'],
    ['SACK of length 6', '05 06 0000 0000'],
    ['SACK of length 2', '05 02 0000'],
  ])('throws WireError on %s', (_name, h) => {
    const b = hex(h);
    expect(() => parseTcpOptions(b, 0, b.length)).toThrow(WireError);
  });

  it('pads options with zero bytes to a multiple of four', () => {
    const repr: TcpRepr = {
      srcPort: 0,
      dstPort: 0,
      seq: 0,
      ack: 0,
      flags: 0,
      window: 0,
      urgent: 0,
      options: [{ kind: 'wscale', shift: 14 }],
    };
    expect(tcpHeaderLen(repr)).toBe(24);
    const buf = new Uint8Array(24).fill(0xee);
    emitTcpHeader(repr, buf, 0);
    expect(toHex(buf.subarray(20))).toBe('03030e00');
    expect(parseTcp(new TcpView(buf)).options).toEqual([{ kind: 'wscale', shift: 14 }, { kind: 'eol' }]);
    expect(tcpHeaderLen({ ...repr, options: [] })).toBe(20);
  });

  it('refuses to emit more than 40 bytes of options or unencodable ones', () => {
    const base: TcpRepr = { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, urgent: 0, options: [] };
    const ts = { kind: 'timestamps', tsval: 0, tsecr: 0 } as const;
    expect(() => tcpHeaderLen({ ...base, options: [ts, ts, ts, ts, { kind: 'nop' }] })).toThrow(WireError);
    expect(tcpHeaderLen({ ...base, options: [ts, ts, ts, ts] })).toBe(60);
    expect(() => emitTcpHeader({ ...base, options: [{ kind: 'sack', blocks: [] }] }, new Uint8Array(60), 0)).toThrow(
      WireError,
    );
    expect(() =>
      emitTcpHeader(
        { ...base, options: [{ kind: 'unknown', type: 1, data: new Uint8Array(1) }] },
        new Uint8Array(60),
        0,
      ),
    ).toThrow(WireError);
  });
});

describe('tcp flags text', () => {
  it.each([
    [TCP_SYN, 'S'],
    [TCP_SYN | TCP_ACK, 'S.'],
    [TCP_ACK, '.'],
    [TCP_PSH | TCP_ACK, 'P.'],
    [TCP_FIN | TCP_ACK, 'F.'],
    [TCP_RST, 'R'],
    [TCP_RST | TCP_ACK, 'R.'],
    [TCP_SYN | TCP_ECE | TCP_CWR, 'SEW'],
    [TCP_URG | TCP_ACK, '.U'],
    [0, 'none'],
  ])('formats %i as %j like tcpdump', (flags, text) => {
    expect(formatTcpFlags(flags)).toBe(text);
  });
});
