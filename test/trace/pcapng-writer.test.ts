import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemorySink } from '../../src/trace/byte-sink.js';
import { LINKTYPE_ETHERNET, PcapngWriter, PcapWriter } from '../../src/trace/pcapng.js';
import { readCapture } from '../../src/trace/pcap-read.js';
import type { CapturedPacket } from '../../src/trace/pcap-read.js';

const U64_MAX = (1n << 64n) - 1n;

const interfaceArb = fc.record(
  {
    name: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('node1/cni0', 'pod:client/eth0', 'veth1234@if3', 'flannel.1', 'nœud/ブリッジ0'),
    ),
    description: fc.string({ unit: 'binary', maxLength: 60 }),
    linkType: fc.integer({ min: 0, max: 0xffff }),
    snapLen: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2100 })),
  },
  { requiredKeys: ['name'] },
);

const packetArb = fc.record(
  {
    ifPick: fc.nat(),
    ts: fc.oneof(
      fc.bigInt({ min: 0n, max: U64_MAX }),
      fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      fc.constantFrom(0, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER),
      fc.constantFrom(U64_MAX, 1n << 32n, (1n << 32n) - 1n),
    ),
    data: fc.uint8Array({ maxLength: 2000 }),
    extraOrig: fc.nat({ max: 100 }),
    comment: fc.string({ unit: 'binary', maxLength: 80 }),
    direction: fc.constantFrom<'in' | 'out'>('in', 'out'),
  },
  { requiredKeys: ['ifPick', 'ts', 'data'] },
);

type ArbValue<A> = A extends fc.Arbitrary<infer T> ? T : never;
type IfaceSpec = ArbValue<typeof interfaceArb>;
type Op = { kind: 'if'; v: IfaceSpec } | { kind: 'pkt'; v: ArbValue<typeof packetArb> };
const opsArb: fc.Arbitrary<Op[]> = fc
  .tuple(
    interfaceArb,
    fc.array(
      fc.oneof(
        { arbitrary: interfaceArb.map((v): Op => ({ kind: 'if', v })), weight: 1 },
        { arbitrary: packetArb.map((v): Op => ({ kind: 'pkt', v })), weight: 4 },
      ),
      { maxLength: 12 },
    ),
  )
  .map(([first, rest]) => [{ kind: 'if', v: first }, ...rest]);

/** Writes the ops and returns the bytes plus what a reader should see. */
function writeOps(ops: Op[]): { bytes: Uint8Array; expected: CapturedPacket[]; ifaces: IfaceSpec[] } {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { application: 'podnet-test' });
  const ifaces: IfaceSpec[] = [];
  const expected: CapturedPacket[] = [];
  for (const op of ops) {
    if (op.kind === 'if') {
      const id = w.addInterface(op.v);
      expect(id).toBe(ifaces.length);
      ifaces.push(op.v);
      continue;
    }
    const p = op.v;
    const ifId = p.ifPick % ifaces.length;
    const iface = ifaces[ifId]!;
    const opts: { comment?: string; direction?: 'in' | 'out'; origLen?: number } = {};
    if (p.comment !== undefined) opts.comment = p.comment;
    if (p.direction !== undefined) opts.direction = p.direction;
    if (p.extraOrig !== undefined) opts.origLen = p.data.length + p.extraOrig;
    w.writePacket(ifId, p.ts, p.data, opts);
    const snap = iface.snapLen ?? 262144;
    const pkt: CapturedPacket = {
      ifIndex: ifId,
      timestampNs: BigInt(p.ts),
      data: p.data.slice(0, snap === 0 ? p.data.length : snap),
      origLen: opts.origLen ?? p.data.length,
    };
    if (iface.name !== '') pkt.ifName = iface.name;
    if (p.comment !== undefined && p.comment !== '') pkt.comment = p.comment;
    if (p.direction !== undefined) pkt.direction = p.direction;
    expected.push(pkt);
  }
  const bytes = sink.bytes();
  expect(w.bytesWritten).toBe(bytes.length);
  return { bytes, expected, ifaces };
}

/** Every padding byte (after packet data and after option values) of a little-endian pcapng file. */
function paddingBytes(bytes: Uint8Array): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  const optionPadding = (p: number, end: number): void => {
    while (p + 4 <= end) {
      const code = v.getUint16(p, true);
      const len = v.getUint16(p + 2, true);
      for (let i = p + 4 + len; i < p + 4 + ((len + 3) & ~3); i++) out.push(bytes[i]!);
      if (code === 0) break;
      p += 4 + ((len + 3) & ~3);
    }
  };
  for (let off = 0; off < bytes.length; off += v.getUint32(off + 4, true)) {
    const type = v.getUint32(off, true);
    const end = off + v.getUint32(off + 4, true) - 4;
    if (type === 6) {
      const capLen = v.getUint32(off + 20, true);
      const dataEnd = off + 28 + capLen;
      for (let i = dataEnd; i < off + 28 + ((capLen + 3) & ~3); i++) out.push(bytes[i]!);
      optionPadding(off + 28 + ((capLen + 3) & ~3), end);
    } else if (type === 1) optionPadding(off + 16, end);
    else optionPadding(off + 24, end);
  }
  return out;
}

describe('PcapngWriter → readCapture round trip', () => {
  it('gives back interfaces, packets, 64-bit timestamps, comments and directions', () => {
    fc.assert(
      fc.property(opsArb, (ops) => {
        const { bytes, expected, ifaces } = writeOps(ops);
        expect(bytes.length % 4).toBe(0);
        expect(paddingBytes(bytes).every((b) => b === 0)).toBe(true);
        const cap = readCapture(bytes);
        expect(cap.format).toBe('pcapng');
        expect(cap.interfaces).toEqual(
          ifaces.map((i) => {
            const o: { name?: string; description?: string; linkType: number; tsResolNs: bigint } = {
              linkType: i.linkType ?? LINKTYPE_ETHERNET,
              tsResolNs: 1n,
            };
            if (i.name !== '') o.name = i.name;
            if (i.description !== undefined && i.description !== '') o.description = i.description;
            return o;
          }),
        );
        expect(cap.linkTypes).toEqual([...new Set(ifaces.map((i) => i.linkType ?? LINKTYPE_ETHERNET))]);
        expect(cap.packets).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('is deterministic: the same calls produce identical bytes', () => {
    fc.assert(
      fc.property(opsArb, (ops) => {
        expect(writeOps(ops).bytes).toEqual(writeOps(ops).bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('accepts a number and a bigint timestamp for the same instant identically', () => {
    const a = new MemorySink();
    const b = new MemorySink();
    for (const [sink, ts] of [
      [a, 9_007_199_254_740_991],
      [b, 9_007_199_254_740_991n],
    ] as const) {
      const w = new PcapngWriter(sink);
      w.addInterface({ name: 'x' });
      w.writePacket(0, ts, new Uint8Array([1, 2, 3]));
    }
    expect(a.bytes()).toEqual(b.bytes());
  });
});

describe('PcapngWriter byte layout', () => {
  it('matches a hand-assembled SHB + IDB + EPB from the pcapng spec, byte for byte', () => {
    // prettier-ignore
    const expected = Uint8Array.from([
      // Section Header Block: type, total length 28, byte-order magic, version 1.0, section length -1, length.
      0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0x00, 0x00, 0x00, 0x4d, 0x3c, 0x2b, 0x1a, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0x1c, 0x00, 0x00, 0x00,
      // Interface Description Block: type 1, total length 40, LINKTYPE_ETHERNET, reserved, snaplen 262144.
      0x01, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      // if_name (2) = "eth0"
      0x02, 0x00, 0x04, 0x00, 0x65, 0x74, 0x68, 0x30,
      // if_tsresol (9) = 9, padded to 4 bytes
      0x09, 0x00, 0x01, 0x00, 0x09, 0x00, 0x00, 0x00,
      // opt_endofopt, then the trailing total length
      0x00, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00,
      // Enhanced Packet Block: type 6, total length 60, interface 0.
      0x06, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      // timestamp 5_000_000_123 ns = 0x1_2A05F27B: high word 1, low word 0x2A05F27B
      0x01, 0x00, 0x00, 0x00, 0x7b, 0xf2, 0x05, 0x2a,
      // captured length 5, original length 5
      0x05, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
      // packet data and 3 bytes of padding
      0xde, 0xad, 0xbe, 0xef, 0x01, 0x00, 0x00, 0x00,
      // opt_comment (1) = "hi", padded
      0x01, 0x00, 0x02, 0x00, 0x68, 0x69, 0x00, 0x00,
      // epb_flags (2) = outbound (0b10)
      0x02, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00,
      // opt_endofopt, trailing total length
      0x00, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00,
    ]);
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    expect(w.addInterface({ name: 'eth0' })).toBe(0);
    w.writePacket(0, 5_000_000_123, Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x01]), {
      comment: 'hi',
      direction: 'out',
    });
    expect(Buffer.from(sink.bytes()).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
    expect(w.bytesWritten).toBe(expected.length);
  });

  it('writes section header options only when given, in a fixed order', () => {
    const bare = new MemorySink();
    new PcapngWriter(bare);
    expect(bare.bytes().length).toBe(28);

    const sink = new MemorySink();
    new PcapngWriter(sink, { application: 'podnet', os: 'Linux', hardware: 'virtual', comment: 'c' });
    const b = sink.bytes();
    const v = new DataView(b.buffer);
    const codes: number[] = [];
    for (let p = 24; p < b.length - 4; ) {
      const code = v.getUint16(p, true);
      const len = v.getUint16(p + 2, true);
      codes.push(code);
      if (code === 0) break;
      p += 4 + ((len + 3) & ~3);
    }
    // opt_comment, shb_hardware, shb_os, shb_userappl, opt_endofopt
    expect(codes).toEqual([1, 2, 3, 4, 0]);
    expect(v.getUint32(4, true)).toBe(b.length);
  });

  it('zeroes padding even after the reused block buffer held other data', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.addInterface({ name: 'x' });
    w.writePacket(0, 0, new Uint8Array(64).fill(0xff), { comment: '\u00ff'.repeat(40) });
    w.writePacket(0, 0, new Uint8Array(1).fill(0xff), { comment: 'é', direction: 'in' });
    w.addInterface({ name: 'abcde' });
    const pad = paddingBytes(sink.bytes());
    expect(pad.length).toBeGreaterThan(6);
    expect(pad.every((b) => b === 0)).toBe(true);
  });

  it('lets interface descriptions follow packets (interleaved IDBs)', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    const a = w.addInterface({ name: 'a' });
    w.writePacket(a, 1, new Uint8Array([1]));
    const b = w.addInterface({ name: 'b', description: 'second' });
    w.writePacket(b, 2, new Uint8Array([2]));
    w.writePacket(a, 3, new Uint8Array([3]));
    const cap = readCapture(sink.bytes());
    expect(cap.packets.map((p) => [p.ifIndex, p.ifName, p.timestampNs])).toEqual([
      [0, 'a', 1n],
      [1, 'b', 2n],
      [0, 'a', 3n],
    ]);
    expect(cap.interfaces[1]?.description).toBe('second');
  });

  it('cuts over-long comments at a UTF-8 code-point boundary within the 16-bit option length', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.addInterface({ name: 'x' });
    w.writePacket(0, 0, new Uint8Array(0), { comment: 'é'.repeat(40_000) });
    w.writePacket(0, 0, new Uint8Array(0), { comment: '€'.repeat(30_000) });
    const [p1, p2] = readCapture(sink.bytes()).packets;
    expect(p1?.comment).toBe('é'.repeat(32_767));
    expect(p2?.comment).toBe('€'.repeat(21_845));
  });

  it('rejects unknown interfaces, bad timestamps and inconsistent lengths with RangeError', () => {
    const w = new PcapngWriter(new MemorySink());
    const data = new Uint8Array(4);
    expect(() => w.writePacket(0, 0, data)).toThrow(RangeError);
    w.addInterface({ name: 'x' });
    expect(() => w.writePacket(1, 0, data)).toThrow(RangeError);
    expect(() => w.writePacket(0, -1, data)).toThrow(RangeError);
    expect(() => w.writePacket(0, 1.5, data)).toThrow(RangeError);
    expect(() => w.writePacket(0, 2 ** 60, data)).toThrow(RangeError);
    expect(() => w.writePacket(0, -1n, data)).toThrow(RangeError);
    expect(() => w.writePacket(0, 1n << 64n, data)).toThrow(RangeError);
    expect(() => w.writePacket(0, 0, data, { origLen: 3 })).toThrow(RangeError);
    expect(() => w.addInterface({ name: 'y', linkType: 0x10000 })).toThrow(RangeError);
    expect(() => w.addInterface({ name: 'y', snapLen: -1 })).toThrow(RangeError);
  });
});

const NS_PER_S = 1_000_000_000n;
const MAX_PCAP_NS = (1n << 32n) * NS_PER_S - 1n;

describe('PcapWriter → readCapture round trip', () => {
  it('gives back packets and nanosecond (or truncated microsecond) timestamps', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 1, max: 2100 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.array(
          fc.record({
            ts: fc.oneof(fc.bigInt({ min: 0n, max: MAX_PCAP_NS }), fc.nat({ max: Number.MAX_SAFE_INTEGER })),
            data: fc.uint8Array({ maxLength: 2000 }),
            extra: fc.option(fc.nat({ max: 9000 }), { nil: undefined }),
          }),
          { maxLength: 12 },
        ),
        (nanosecond, snapLen, linkType, pkts) => {
          const sink = new MemorySink();
          const w = new PcapWriter(sink, { nanosecond, snapLen, linkType });
          for (const p of pkts)
            w.writePacket(p.ts, p.data, p.extra === undefined ? undefined : p.data.length + p.extra);
          const bytes = sink.bytes();
          expect(w.bytesWritten).toBe(bytes.length);
          const cap = readCapture(bytes);
          expect(cap.format).toBe('pcap');
          expect(cap.linkTypes).toEqual([linkType]);
          expect(cap.interfaces).toEqual([{ linkType, tsResolNs: nanosecond ? 1n : 1000n }]);
          expect(cap.packets).toEqual(
            pkts.map((p) => {
              const ts = BigInt(p.ts);
              return {
                ifIndex: 0,
                timestampNs: nanosecond ? ts : ts - (ts % 1000n),
                data: p.data.slice(0, snapLen),
                origLen: p.data.length + (p.extra ?? 0),
              };
            }),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writes the 24-byte little-endian header with the nanosecond magic by default', () => {
    const sink = new MemorySink();
    new PcapWriter(sink);
    expect(Buffer.from(sink.bytes()).toString('hex')).toBe(
      // magic a1b23c4d, version 2.4, thiszone 0, sigfigs 0, snaplen 262144, LINKTYPE_ETHERNET
      '4d3cb2a1' + '0200' + '0400' + '00000000' + '00000000' + '00000400' + '01000000',
    );
    const us = new MemorySink();
    new PcapWriter(us, { nanosecond: false, snapLen: 65535 });
    expect(Buffer.from(us.bytes().subarray(0, 4)).toString('hex')).toBe('d4c3b2a1');
  });

  it('is deterministic and rejects timestamps beyond 32-bit seconds', () => {
    const make = (): Uint8Array => {
      const s = new MemorySink();
      const w = new PcapWriter(s);
      w.writePacket(4_294_967_297, new Uint8Array([1, 2, 3]));
      w.writePacket(MAX_PCAP_NS, new Uint8Array([4]));
      return s.bytes();
    };
    expect(make()).toEqual(make());
    const w = new PcapWriter(new MemorySink());
    expect(() => w.writePacket(MAX_PCAP_NS + 1n, new Uint8Array(1))).toThrow(RangeError);
    expect(() => w.writePacket(-1, new Uint8Array(1))).toThrow(RangeError);
    expect(() => new PcapWriter(new MemorySink(), { snapLen: 0 })).toThrow(RangeError);
  });
});
