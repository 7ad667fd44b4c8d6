/** One packet from a capture file, with its timestamp converted to nanoseconds. */
export interface CapturedPacket {
  /** Index into CaptureFile.interfaces (across all pcapng sections). */
  ifIndex: number;
  ifName?: string;
  /** Nanoseconds since the epoch (or since simulation start for podnet captures); 0n for Simple Packet Blocks. */
  timestampNs: bigint;
  data: Uint8Array;
  origLen: number;
  comment?: string;
  direction?: 'in' | 'out';
}

/** One capture interface: a pcapng IDB, or the single implicit interface of a classic pcap. */
export interface CaptureInterface {
  name?: string;
  description?: string;
  linkType: number;
  /** Nanoseconds per timestamp unit, rounded down (0n for resolutions finer than 1 ns). */
  tsResolNs: bigint;
}

/** A parsed pcap or pcapng file. */
export interface CaptureFile {
  format: 'pcap' | 'pcapng';
  /** Distinct link types, in order of first appearance. */
  linkTypes: number[];
  interfaces: CaptureInterface[];
  packets: CapturedPacket[];
}

/** The only error readCapture throws: the bytes are not a well-formed pcap or pcapng file. */
export class CaptureFormatError extends Error {
  /** Byte offset in the input where the problem was found. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = 'CaptureFormatError';
    this.offset = offset;
  }
}

/** True when `e` is a CaptureFormatError. */
export function isCaptureFormatError(e: unknown): e is CaptureFormatError {
  return e instanceof CaptureFormatError;
}

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_OPB = 0x00000002;
const BT_SPB = 0x00000003;
const BT_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const EPB_FLAGS = 2;

const NS_PER_S = 1_000_000_000n;
const decoder = new TextDecoder('utf-8', { fatal: false });

/** Parses a classic pcap (either byte order, µs or ns) or pcapng file; throws only CaptureFormatError. */
export function readCapture(bytes: Uint8Array): CaptureFile {
  if (bytes.length < 4) throw new CaptureFormatError('file too short for a capture header', 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicBE = view.getUint32(0, false);
  if (magicBE === BT_SHB) return readPcapng(bytes, view);
  switch (magicBE) {
    case 0xa1b2c3d4:
      return readPcap(bytes, view, false, false);
    case 0xd4c3b2a1:
      return readPcap(bytes, view, true, false);
    case 0xa1b23c4d:
      return readPcap(bytes, view, false, true);
    case 0x4d3cb2a1:
      return readPcap(bytes, view, true, true);
    default:
      throw new CaptureFormatError(`unknown magic number 0x${magicBE.toString(16).padStart(8, '0')}`, 0);
  }
}

function readPcap(bytes: Uint8Array, view: DataView, le: boolean, nanosecond: boolean): CaptureFile {
  if (bytes.length < 24) throw new CaptureFormatError('truncated pcap file header', 0);
  const major = view.getUint16(4, le);
  if (major !== 2) throw new CaptureFormatError(`unsupported pcap major version ${major}`, 4);
  // Upper 16 bits carry FCS information, not the link type.
  const linkType = view.getUint32(20, le) & 0xffff;
  const unit = nanosecond ? 1n : 1000n;
  const packets: CapturedPacket[] = [];
  let off = 24;
  while (off < bytes.length) {
    if (bytes.length - off < 16) throw new CaptureFormatError('truncated pcap record header', off);
    const secs = view.getUint32(off, le);
    const frac = view.getUint32(off + 4, le);
    const inclLen = view.getUint32(off + 8, le);
    const origLen = view.getUint32(off + 12, le);
    const dataOff = off + 16;
    if (inclLen > bytes.length - dataOff)
      throw new CaptureFormatError(`pcap record of ${inclLen} bytes runs past end of file`, off);
    packets.push({
      ifIndex: 0,
      timestampNs: BigInt(secs) * NS_PER_S + BigInt(frac) * unit,
      data: bytes.slice(dataOff, dataOff + inclLen),
      origLen,
    });
    off = dataOff + inclLen;
  }
  return { format: 'pcap', linkTypes: [linkType], interfaces: [{ linkType, tsResolNs: unit }], packets };
}

interface IfaceState {
  /** Index into CaptureFile.interfaces. */
  index: number;
  name: string | undefined;
  snapLen: number;
  /** Exact conversion from timestamp units to ns: ns = ticks * mul / div (+ offset). */
  mul: bigint;
  div: bigint;
  offsetNs: bigint;
}

interface RawOption {
  code: number;
  start: number;
  len: number;
}

function readPcapng(bytes: Uint8Array, view: DataView): CaptureFile {
  const interfaces: CaptureInterface[] = [];
  const linkTypes: number[] = [];
  const packets: CapturedPacket[] = [];
  // Interface ids are per section; a new SHB starts a fresh list.
  let section: IfaceState[] = [];
  let le = true;
  let off = 0;

  const u16 = (at: number): number => view.getUint16(at, le);
  const u32 = (at: number): number => view.getUint32(at, le);

  /** Options in [start, end); stops at opt_endofopt or the end of the block. */
  const options = (start: number, end: number): RawOption[] => {
    const out: RawOption[] = [];
    let p = start;
    while (p < end) {
      if (end - p < 4) throw new CaptureFormatError('truncated option header', p);
      const code = u16(p);
      const len = u16(p + 2);
      if (code === OPT_ENDOFOPT) break;
      const valueEnd = p + 4 + len;
      if (valueEnd > end) throw new CaptureFormatError(`option ${code} of ${len} bytes runs past end of block`, p);
      out.push({ code, start: p + 4, len });
      p = p + 4 + ((len + 3) & ~3);
    }
    return out;
  };
  const text = (o: RawOption): string => decoder.decode(bytes.subarray(o.start, o.start + o.len));

  const packetOptions = (pkt: CapturedPacket, start: number, end: number, flagsCode: number): void => {
    for (const o of options(start, end)) {
      if (o.code === OPT_COMMENT && pkt.comment === undefined) {
        pkt.comment = text(o);
      } else if (o.code === flagsCode && o.len === 4) {
        const dir = u32(o.start) & 3;
        if (dir === 1) pkt.direction = 'in';
        else if (dir === 2) pkt.direction = 'out';
      }
    }
  };

  const iface = (id: number, at: number): IfaceState => {
    const st = section[id];
    if (st === undefined) throw new CaptureFormatError(`packet refers to undeclared interface ${id}`, at);
    return st;
  };

  while (off < bytes.length) {
    if (bytes.length - off < 12) throw new CaptureFormatError('truncated block header', off);
    const typeBE = view.getUint32(off, false);
    if (typeBE === BT_SHB) {
      if (bytes.length - off < 28) throw new CaptureFormatError('truncated section header block', off);
      const magicLE = view.getUint32(off + 8, true);
      if (magicLE === BYTE_ORDER_MAGIC) le = true;
      else if (view.getUint32(off + 8, false) === BYTE_ORDER_MAGIC) le = false;
      else throw new CaptureFormatError('bad byte-order magic in section header block', off + 8);
      section = [];
    } else if (off === 0) {
      throw new CaptureFormatError('pcapng file does not start with a section header block', off);
    }
    const type = u32(off);
    const total = u32(off + 4);
    if (total < 12 || total % 4 !== 0) throw new CaptureFormatError(`bad block length ${total}`, off + 4);
    if (total > bytes.length - off)
      throw new CaptureFormatError(`block of ${total} bytes runs past end of file`, off + 4);
    const end = off + total - 4;
    if (u32(end) !== total) throw new CaptureFormatError('trailing block length differs from leading one', end);
    const body = off + 8;

    switch (type) {
      case BT_SHB: {
        if (total < 28) throw new CaptureFormatError('section header block too short', off);
        const major = u16(body + 4);
        if (major !== 1) throw new CaptureFormatError(`unsupported pcapng major version ${major}`, body + 4);
        options(body + 16, end);
        break;
      }
      case BT_IDB: {
        if (total < 20) throw new CaptureFormatError('interface description block too short', off);
        const linkType = u16(body);
        const snapLen = u32(body + 4);
        const info: CaptureInterface = { linkType, tsResolNs: 0n };
        // Default resolution is microseconds.
        let mul = 1000n;
        let div = 1n;
        let offsetNs = 0n;
        for (const o of options(body + 8, end)) {
          if (o.code === IF_NAME && info.name === undefined) info.name = text(o);
          else if (o.code === IF_DESCRIPTION && info.description === undefined) info.description = text(o);
          else if (o.code === IF_TSRESOL && o.len >= 1) {
            const r = bytes[o.start] ?? 0;
            const exp = BigInt(r & 0x7f);
            const unitsPerSecond = r & 0x80 ? 1n << exp : 10n ** exp;
            mul = NS_PER_S;
            div = unitsPerSecond;
          } else if (o.code === IF_TSOFFSET && o.len === 8) {
            const lo = BigInt(u32(o.start));
            const hi = BigInt(u32(o.start + 4));
            const raw = le ? (hi << 32n) | lo : (lo << 32n) | hi;
            offsetNs = BigInt.asIntN(64, raw) * NS_PER_S;
          }
        }
        const g = gcd(mul, div);
        mul /= g;
        div /= g;
        info.tsResolNs = mul / div;
        const index = interfaces.length;
        interfaces.push(info);
        if (!linkTypes.includes(linkType)) linkTypes.push(linkType);
        section.push({ index, name: info.name, snapLen, mul, div, offsetNs });
        break;
      }
      case BT_EPB:
      case BT_OPB: {
        if (total < 32) throw new CaptureFormatError('packet block too short', off);
        const st = type === BT_EPB ? iface(u32(body), body) : iface(u16(body), body);
        const capLen = u32(body + 12);
        const origLen = u32(body + 16);
        const dataOff = body + 20;
        if (capLen > end - dataOff)
          throw new CaptureFormatError(`packet data of ${capLen} bytes runs past end of block`, body + 12);
        const ticks = (BigInt(u32(body + 4)) << 32n) | BigInt(u32(body + 8));
        const pkt: CapturedPacket = {
          ifIndex: st.index,
          timestampNs: (ticks * st.mul) / st.div + st.offsetNs,
          data: bytes.slice(dataOff, dataOff + capLen),
          origLen,
        };
        if (st.name !== undefined) pkt.ifName = st.name;
        const optStart = dataOff + ((capLen + 3) & ~3);
        if (optStart < end) packetOptions(pkt, optStart, end, EPB_FLAGS);
        packets.push(pkt);
        break;
      }
      case BT_SPB: {
        if (total < 16) throw new CaptureFormatError('simple packet block too short', off);
        const st = iface(0, body);
        const origLen = u32(body);
        const room = end - (body + 4);
        let capLen = Math.min(origLen, room);
        if (st.snapLen !== 0) capLen = Math.min(capLen, st.snapLen);
        const pkt: CapturedPacket = {
          ifIndex: st.index,
          timestampNs: 0n,
          data: bytes.slice(body + 4, body + 4 + capLen),
          origLen,
        };
        if (st.name !== undefined) pkt.ifName = st.name;
        packets.push(pkt);
        break;
      }
      default:
        // Statistics, name resolution, decryption secrets, custom blocks: not needed here.
        break;
    }
    off += total;
  }
  return { format: 'pcapng', linkTypes, interfaces, packets };
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}
