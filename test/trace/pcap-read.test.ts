import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemorySink } from '../../src/trace/byte-sink.js';
import { PcapngWriter, PcapWriter } from '../../src/trace/pcapng.js';
import { CaptureFormatError, isCaptureFormatError, readCapture } from '../../src/trace/pcap-read.js';
import { BlockBuilder, concat, pcapToBigEndian, shb } from './capture-helpers.js';

function samplePcapng(): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { application: 'podnet', os: 'linux' });
  const a = w.addInterface({ name: 'node1/cni0', description: 'bridge' });
  w.writePacket(
    a,
    5_000_000_123n,
    Uint8Array.from({ length: 61 }, (_, i) => i),
    { comment: 'hop 1', direction: 'in' },
  );
  const b = w.addInterface({ name: 'pod:client/eth0', snapLen: 16 });
  w.writePacket(
    b,
    1n << 40n,
    Uint8Array.from({ length: 40 }, (_, i) => 255 - i),
    { direction: 'out' },
  );
  w.writePacket(a, 7, new Uint8Array(0));
  return sink.bytes();
}

function samplePcap(nanosecond: boolean): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { nanosecond, snapLen: 30 });
  w.writePacket(
    4_294_967_297_123n,
    Uint8Array.from({ length: 42 }, (_, i) => i),
  );
  w.writePacket(12, new Uint8Array([9, 9]));
  return sink.bytes();
}

function expectFormatErrorOrResult(bytes: Uint8Array): void {
  try {
    readCapture(bytes);
  } catch (e) {
    if (!isCaptureFormatError(e)) throw e;
    expect(e).toBeInstanceOf(CaptureFormatError);
    expect(e.name).toBe('CaptureFormatError');
  }
}

describe('readCapture on malformed input', () => {
  it('throws only CaptureFormatError for arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), expectFormatErrorOrResult), { numRuns: 2000 });
  });

  it('throws only CaptureFormatError for arbitrary bytes after a valid magic', () => {
    const magics = [
      [0x0a, 0x0d, 0x0d, 0x0a],
      [0xd4, 0xc3, 0xb2, 0xa1],
      [0xa1, 0xb2, 0xc3, 0xd4],
      [0x4d, 0x3c, 0xb2, 0xa1],
      [0xa1, 0xb2, 0x3c, 0x4d],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...magics), fc.uint8Array({ maxLength: 300 }), (m, rest) =>
        expectFormatErrorOrResult(concat(Uint8Array.from(m), rest)),
      ),
      { numRuns: 2000 },
    );
  });

  it('throws only CaptureFormatError for valid files with corrupted, inserted or truncated bytes', () => {
    const seeds = [samplePcapng(), samplePcap(true), samplePcap(false), pcapToBigEndian(samplePcap(true))];
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 0xffffffff }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 6 }), (seed, muts) => {
        let b: Uint8Array = seed.slice();
        for (const m of muts) {
          const at = b.length === 0 ? 0 : m.at % b.length;
          if (m.kind === 'set') b[at] = m.value;
          else if (m.kind === 'u32') {
            if (at + 4 <= b.length) new DataView(b.buffer).setUint32(at, m.value, m.value % 2 === 0);
          } else if (m.kind === 'cut') b = b.slice(0, at);
          else b = concat(b.subarray(0, at), Uint8Array.of(m.value), b.subarray(at));
        }
        expectFormatErrorOrResult(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('reports why and where for typical corruptions', () => {
    const good = samplePcapng();
    expect(() => readCapture(new Uint8Array(0))).toThrow(CaptureFormatError);
    expect(() => readCapture(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))).toThrow(/unknown magic/);
    expect(() => readCapture(good.subarray(0, good.length - 1))).toThrow(CaptureFormatError);
    const badTrailer = good.slice();
    const shbLen = new DataView(good.buffer).getUint32(4, true);
    badTrailer[shbLen - 1] = 0x7f;
    expect(() => readCapture(badTrailer)).toThrow(/trailing block length/);
    const badMagic = good.slice();
    badMagic[8] = 0;
    expect(() => readCapture(badMagic)).toThrow(/byte-order magic/);
    // A packet block before any IDB refers to an undeclared interface.
    const epb = new BlockBuilder(true).u32(0).u32(0).u32(0).u32(0).u32(0).block(6);
    try {
      readCapture(concat(shb(true), epb));
      expect.unreachable();
    } catch (e) {
      expect(isCaptureFormatError(e)).toBe(true);
      if (isCaptureFormatError(e)) expect(e.offset).toBe(36);
    }
    expect(() => readCapture(samplePcap(true).subarray(0, 30))).toThrow(/truncated pcap record/);
    expect(isCaptureFormatError(new Error('x'))).toBe(false);
  });
});

describe('readCapture on classic pcap', () => {
  it('reads big- and little-endian files, with µs and ns magic, identically', () => {
    for (const ns of [true, false]) {
      const le = samplePcap(ns);
      const be = pcapToBigEndian(le);
      expect(be.subarray(0, 4)).not.toEqual(le.subarray(0, 4));
      const a = readCapture(le);
      expect(readCapture(be)).toEqual(a);
      expect(a.packets.map((p) => p.timestampNs)).toEqual(ns ? [4_294_967_297_123n, 12n] : [4_294_967_297_000n, 0n]);
      expect(a.packets[0]?.data.length).toBe(30);
      expect(a.packets[0]?.origLen).toBe(42);
    }
  });

  it('takes the link type from the low 16 bits, ignoring FCS information', () => {
    const b = samplePcap(true);
    new DataView(b.buffer).setUint32(20, 0x1000_0000 | 1, true);
    expect(readCapture(b).linkTypes).toEqual([1]);
  });
});

describe('readCapture on hand-built pcapng', () => {
  it('reads a big-endian section with power-of-2 and microsecond resolutions, SPB and unknown blocks', () => {
    const be = false;
    // Snaplen 10 limits the Simple Packet Block, which always belongs to interface 0.
    const idb0 = new BlockBuilder(be)
      .u16(1)
      .u16(0)
      .u32(10)
      .stringOption(2, 'eth0')
      .stringOption(3, 'uplink')
      .option(9, [0x80 | 20])
      .u32(0)
      .block(1);
    // No if_tsresol: microseconds by default.
    const idb1 = new BlockBuilder(be).u16(228).u16(0).u32(0).block(1);
    const epbPow2 = new BlockBuilder(be)
      .u32(0)
      .u32(0)
      .u32(3 << 20) // 3 s in 2^-20 s units
      .u32(3)
      .u32(4)
      .raw([1, 2, 3])
      .pad()
      .stringOption(1, 'first')
      .stringOption(1, 'second')
      .option(2, [0, 0, 0, 1]) // epb_flags = 1 (inbound), big-endian
      .block(6);
    const epbUs = new BlockBuilder(be).u32(1).u32(1).u32(5).u32(0).u32(0).block(6);
    const spb = new BlockBuilder(be).u32(12).raw([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2]).block(3);
    const isb = new BlockBuilder(be).u32(0).u32(0).u32(0).block(5);
    const custom = new BlockBuilder(be).u32(32473).raw([1, 2, 3, 4]).block(0x40000bad);
    const opb = new BlockBuilder(be)
      .u16(0)
      .u16(0)
      .u32(0)
      .u32(1000)
      .u32(1)
      .u32(1)
      .raw([0xaa])
      .pad()
      .option(2, [0, 0, 0, 2])
      .block(2);
    const cap = readCapture(concat(shb(be), idb0, idb1, isb, epbPow2, custom, epbUs, spb, opb));
    expect(cap.format).toBe('pcapng');
    expect(cap.linkTypes).toEqual([1, 228]);
    expect(cap.interfaces).toEqual([
      { name: 'eth0', description: 'uplink', linkType: 1, tsResolNs: 953n },
      { linkType: 228, tsResolNs: 1000n },
    ]);
    expect(cap.packets).toEqual([
      {
        ifIndex: 0,
        ifName: 'eth0',
        timestampNs: 3_000_000_000n,
        data: Uint8Array.of(1, 2, 3),
        origLen: 4,
        comment: 'first',
        direction: 'in',
      },
      { ifIndex: 1, timestampNs: ((1n << 32n) + 5n) * 1000n, data: new Uint8Array(0), origLen: 0 },
      { ifIndex: 0, ifName: 'eth0', timestampNs: 0n, data: Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2, 1, 0), origLen: 12 },
      {
        ifIndex: 0,
        ifName: 'eth0',
        timestampNs: (1000n * 1_000_000_000n) / (1n << 20n),
        data: Uint8Array.of(0xaa),
        origLen: 1,
        direction: 'out',
      },
    ]);
  });

  it('applies if_tsoffset and sub-nanosecond resolutions, and restarts interface ids per section', () => {
    const le = true;
    const off = new BlockBuilder(le).u32(100).u32(0); // if_tsoffset = 100 s as a little-endian int64
    const idb = new BlockBuilder(le).u16(1).u16(0).u32(0).option(9, [12]).option(14, offsetBytes(off)).block(1);
    const epb = new BlockBuilder(le).u32(0).u32(0).u32(2_500_000).u32(0).u32(0).block(6);
    const idb2 = new BlockBuilder(false).u16(147).u16(0).u32(0).stringOption(2, 'second').block(1);
    const epb2 = new BlockBuilder(false).u32(0).u32(0).u32(42).u32(0).u32(0).block(6);
    const cap = readCapture(concat(shb(le), idb, epb, shb(false), idb2, epb2));
    expect(cap.interfaces.map((i) => i.tsResolNs)).toEqual([0n, 1000n]);
    expect(cap.packets.map((p) => [p.ifIndex, p.timestampNs])).toEqual([
      [0, 100_000_000_000n + 2_500n],
      [1, 42_000n],
    ]);
    expect(cap.packets[1]?.ifName).toBe('second');
  });

  it('rejects a pcapng file that does not start with a section header', () => {
    const idb = new BlockBuilder(true).u16(1).u16(0).u32(0).block(1);
    expect(() => readCapture(concat(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a), idb))).toThrow(CaptureFormatError);
    expect(() => readCapture(concat(shb(true), Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a)))).toThrow(CaptureFormatError);
  });
});

function offsetBytes(b: BlockBuilder): number[] {
  // BlockBuilder.block adds framing; strip it to get the raw 8 option bytes.
  const framed = b.block(0);
  return Array.from(framed.subarray(8, framed.length - 4));
}
