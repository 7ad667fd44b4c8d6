import type { ByteSink } from './byte-sink.js';

/** Link-layer header type for Ethernet II frames (LINKTYPE_ETHERNET). */
export const LINKTYPE_ETHERNET = 1;

/** libpcap's MAXIMUM_SNAPLEN: large enough for any frame podnet builds, including GSO super-frames. */
const DEFAULT_SNAPLEN = 262_144;

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const SHB_HARDWARE = 2;
const SHB_OS = 3;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;

/** Option values carry a 16-bit length, so longer strings are cut at a code-point boundary. */
const MAX_OPTION_VALUE = 0xffff;
const TWO_POW_32 = 0x1_0000_0000;
const U64_LIMIT = 1n << 64n;

/** Options for the Section Header Block; only non-empty strings are written, in a fixed order. */
export interface PcapngWriterOptions {
  application?: string;
  hardware?: string;
  os?: string;
  comment?: string;
}

/** One capture interface (an IDB); an empty name or description is left out of the file. */
export interface PcapngInterfaceOptions {
  name: string;
  description?: string;
  linkType?: number;
  /** Maximum bytes kept per packet; 0 means no limit. Default 262144. */
  snapLen?: number;
}

/** Per-packet extras for an Enhanced Packet Block; an empty comment is left out. */
export interface PcapngPacketOptions {
  comment?: string;
  direction?: 'in' | 'out';
  /** Length of the packet on the wire when `data` is already truncated; defaults to data.length. */
  origLen?: number;
}

const encoder = new TextEncoder();

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function checkU32(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new RangeError(`${what} must be an integer in [0, 2^32): ${v}`);
}

function checkU16(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff)
    throw new RangeError(`${what} must be an integer in [0, 65536): ${v}`);
}

/**
 * Reusable little-endian block builder. One instance per writer keeps the hot path free of
 * allocations: the buffer only grows, and sinks copy what they keep.
 */
class Scratch {
  buf = new Uint8Array(4096);
  view = new DataView(this.buf.buffer);
  pos = 0;

  /** Makes room for `n` more bytes after pos. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u16(v: number): void {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number): void {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  bytes(data: Uint8Array, len: number): void {
    this.buf.set(len === data.length ? data : data.subarray(0, len), this.pos);
    this.pos += len;
  }

  /** Zero-fills up to the next 32-bit boundary; the buffer is reused, so padding must be written. */
  pad(): void {
    while (this.pos & 3) this.buf[this.pos++] = 0;
  }

  /** Writes a UTF-8 string option (code, length, value, padding), truncated to MAX_OPTION_VALUE bytes. */
  stringOption(code: number, value: string): void {
    // Worst case 3 UTF-8 bytes per UTF-16 unit, plus header and padding.
    const maxBytes = Math.min(value.length * 3, MAX_OPTION_VALUE);
    this.ensure(4 + maxBytes + 3);
    const start = this.pos + 4;
    // encodeInto stops before a character that does not fit, which is exactly the truncation we want.
    const { written } = encoder.encodeInto(value, this.buf.subarray(start, start + maxBytes));
    this.view.setUint16(this.pos, code, true);
    this.view.setUint16(this.pos + 2, written, true);
    this.pos = start + written;
    this.pad();
  }

  u32Option(code: number, value: number): void {
    this.ensure(8);
    this.u16(code);
    this.u16(4);
    this.u32(value);
  }

  u8Option(code: number, value: number): void {
    this.ensure(8);
    this.u16(code);
    this.u16(1);
    this.buf[this.pos] = value;
    this.buf[this.pos + 1] = 0;
    this.buf[this.pos + 2] = 0;
    this.buf[this.pos + 3] = 0;
    this.pos += 4;
  }

  endOfOptions(): void {
    this.ensure(4);
    this.u32(OPT_ENDOFOPT);
  }

  /** Appends the trailing length and patches the leading one; returns the finished block. */
  finishBlock(): Uint8Array {
    this.ensure(4);
    const total = this.pos + 4;
    this.view.setUint32(4, total, true);
    this.u32(total);
    return this.buf.subarray(0, total);
  }
}

/** Streams a single-section little-endian pcapng file (draft-ietf-opsawg-pcapng) to a ByteSink. */
export class PcapngWriter {
  private readonly sink: ByteSink;
  private readonly scratch = new Scratch();
  private readonly snapLens: number[] = [];
  private written = 0;

  /** Writes the Section Header Block immediately. */
  constructor(sink: ByteSink, opts: PcapngWriterOptions = {}) {
    this.sink = sink;
    const s = this.scratch;
    s.pos = 0;
    s.ensure(28);
    s.u32(BT_SHB);
    s.u32(0);
    s.u32(BYTE_ORDER_MAGIC);
    s.u16(1);
    s.u16(0);
    // Section length -1: unknown, because we stream and never seek back.
    s.u32(0xffffffff);
    s.u32(0xffffffff);
    let hasOptions = false;
    const str = (code: number, v: string | undefined): void => {
      if (v === undefined || v.length === 0) return;
      s.stringOption(code, v);
      hasOptions = true;
    };
    str(OPT_COMMENT, opts.comment);
    str(SHB_HARDWARE, opts.hardware);
    str(SHB_OS, opts.os);
    str(SHB_USERAPPL, opts.application);
    if (hasOptions) s.endOfOptions();
    this.emit(s.finishBlock());
  }

  /** Total bytes handed to the sink so far. */
  get bytesWritten(): number {
    return this.written;
  }

  /** Number of interfaces described so far. */
  get interfaceCount(): number {
    return this.snapLens.length;
  }

  /** Writes an Interface Description Block (nanosecond timestamps) and returns its interface id. */
  addInterface(opts: PcapngInterfaceOptions): number {
    const linkType = opts.linkType ?? LINKTYPE_ETHERNET;
    const snapLen = opts.snapLen ?? DEFAULT_SNAPLEN;
    checkU16('linkType', linkType);
    checkU32('snapLen', snapLen);
    const s = this.scratch;
    s.pos = 0;
    s.ensure(16);
    s.u32(BT_IDB);
    s.u32(0);
    s.u16(linkType);
    s.u16(0);
    s.u32(snapLen);
    if (opts.name.length > 0) s.stringOption(IF_NAME, opts.name);
    if (opts.description !== undefined && opts.description.length > 0) s.stringOption(IF_DESCRIPTION, opts.description);
    s.u8Option(IF_TSRESOL, 9);
    s.endOfOptions();
    this.emit(s.finishBlock());
    this.snapLens.push(snapLen);
    return this.snapLens.length - 1;
  }

  /** Writes an Enhanced Packet Block; `timestampNs` is virtual time in ns (up to 2^64 - 1). */
  writePacket(ifId: number, timestampNs: number | bigint, data: Uint8Array, opts?: PcapngPacketOptions): void {
    const snapLen = this.snapLens[ifId];
    if (snapLen === undefined) throw new RangeError(`PcapngWriter: unknown interface id ${ifId}`);
    let hi: number;
    let lo: number;
    if (typeof timestampNs === 'number') {
      if (!Number.isSafeInteger(timestampNs) || timestampNs < 0) {
        throw new RangeError(`PcapngWriter: timestamp must be a non-negative safe integer: ${timestampNs}`);
      }
      // Exact: both halves stay below 2^53.
      hi = Math.floor(timestampNs / TWO_POW_32);
      lo = timestampNs - hi * TWO_POW_32;
    } else {
      if (timestampNs < 0n || timestampNs >= U64_LIMIT) {
        throw new RangeError(`PcapngWriter: timestamp out of 64-bit range: ${timestampNs}`);
      }
      hi = Number(timestampNs >> 32n);
      lo = Number(timestampNs & 0xffffffffn);
    }
    const capLen = snapLen === 0 ? data.length : Math.min(data.length, snapLen);
    let origLen = data.length;
    if (opts?.origLen !== undefined) {
      origLen = opts.origLen;
      checkU32('origLen', origLen);
      if (origLen < data.length) throw new RangeError(`PcapngWriter: origLen ${origLen} < data length ${data.length}`);
    }
    checkU32('packet length', capLen);

    const s = this.scratch;
    s.pos = 0;
    s.ensure(28 + pad4(capLen) + 12);
    s.u32(BT_EPB);
    s.u32(0);
    s.u32(ifId);
    s.u32(hi);
    s.u32(lo);
    s.u32(capLen);
    s.u32(origLen);
    s.bytes(data, capLen);
    s.pad();
    let hasOptions = false;
    if (opts !== undefined) {
      if (opts.comment !== undefined && opts.comment.length > 0) {
        s.stringOption(OPT_COMMENT, opts.comment);
        hasOptions = true;
      }
      if (opts.direction !== undefined) {
        // epb_flags bits 0-1: 01 inbound, 10 outbound.
        s.u32Option(EPB_FLAGS, opts.direction === 'in' ? 1 : 2);
        hasOptions = true;
      }
    }
    if (hasOptions) s.endOfOptions();
    this.emit(s.finishBlock());
  }

  private emit(block: Uint8Array): void {
    this.sink.write(block);
    this.written += block.length;
  }
}

/** Options for a classic libpcap file. */
export interface PcapWriterOptions {
  /** Maximum bytes kept per packet (≥ 1). Default 262144. */
  snapLen?: number;
  /** Link-layer header type for every packet. Default LINKTYPE_ETHERNET. */
  linkType?: number;
  /** Nanosecond timestamps (magic 0xa1b23c4d); false gives microseconds (0xa1b2c3d4). Default true. */
  nanosecond?: boolean;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const NS_PER_S = 1_000_000_000;

/** Streams a classic little-endian libpcap file (one link type, no comments) to a ByteSink. */
export class PcapWriter {
  private readonly sink: ByteSink;
  private readonly snapLen: number;
  private readonly nanosecond: boolean;
  private readonly scratch = new Scratch();
  private written = 0;

  /** Writes the 24-byte file header immediately. */
  constructor(sink: ByteSink, opts: PcapWriterOptions = {}) {
    this.sink = sink;
    this.snapLen = opts.snapLen ?? DEFAULT_SNAPLEN;
    this.nanosecond = opts.nanosecond ?? true;
    const linkType = opts.linkType ?? LINKTYPE_ETHERNET;
    checkU32('snapLen', this.snapLen);
    if (this.snapLen === 0) throw new RangeError('PcapWriter: snapLen must be at least 1');
    checkU16('linkType', linkType);
    const s = this.scratch;
    s.pos = 0;
    s.ensure(24);
    s.u32(this.nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
    s.u16(2);
    s.u16(4);
    s.u32(0);
    s.u32(0);
    s.u32(this.snapLen);
    s.u32(linkType);
    this.emit(s.buf.subarray(0, s.pos));
  }

  /** Total bytes handed to the sink so far. */
  get bytesWritten(): number {
    return this.written;
  }

  /** Writes one record; microsecond files truncate the sub-microsecond part, as libpcap does. */
  writePacket(timestampNs: number | bigint, data: Uint8Array, origLen?: number): void {
    let secs: number;
    let fracNs: number;
    if (typeof timestampNs === 'number') {
      if (!Number.isSafeInteger(timestampNs) || timestampNs < 0) {
        throw new RangeError(`PcapWriter: timestamp must be a non-negative safe integer: ${timestampNs}`);
      }
      secs = Math.floor(timestampNs / NS_PER_S);
      fracNs = timestampNs - secs * NS_PER_S;
    } else {
      if (timestampNs < 0n) throw new RangeError(`PcapWriter: negative timestamp: ${timestampNs}`);
      const big = timestampNs / 1_000_000_000n;
      if (big > 0xffffffffn) throw new RangeError(`PcapWriter: timestamp beyond 32-bit seconds: ${timestampNs}`);
      secs = Number(big);
      fracNs = Number(timestampNs - big * 1_000_000_000n);
    }
    if (secs > 0xffffffff) throw new RangeError(`PcapWriter: timestamp beyond 32-bit seconds: ${timestampNs}`);
    const capLen = Math.min(data.length, this.snapLen);
    const orig = origLen ?? data.length;
    checkU32('origLen', orig);
    if (orig < data.length) throw new RangeError(`PcapWriter: origLen ${orig} < data length ${data.length}`);
    const s = this.scratch;
    s.pos = 0;
    s.ensure(16 + capLen);
    s.u32(secs);
    s.u32(this.nanosecond ? fracNs : Math.floor(fracNs / 1000));
    s.u32(capLen);
    s.u32(orig);
    s.bytes(data, capLen);
    this.emit(s.buf.subarray(0, s.pos));
  }

  private emit(chunk: Uint8Array): void {
    this.sink.write(chunk);
    this.written += chunk.length;
  }
}
