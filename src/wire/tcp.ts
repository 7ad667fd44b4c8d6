import { WireError, checkRoom, checkWindow } from './errors.js';
import { readU32, writeU32, type Ipv4Addr } from './addr.js';
import { finishChecksum, pseudoHeaderSum, sum16 } from './checksum.js';
import { IPPROTO_TCP } from './ipv4.js';

/** TCP flag: FIN. */
export const TCP_FIN = 0x01;
/** TCP flag: SYN. */
export const TCP_SYN = 0x02;
/** TCP flag: RST. */
export const TCP_RST = 0x04;
/** TCP flag: PSH. */
export const TCP_PSH = 0x08;
/** TCP flag: ACK. */
export const TCP_ACK = 0x10;
/** TCP flag: URG. */
export const TCP_URG = 0x20;
/** TCP flag: ECE (ECN echo). */
export const TCP_ECE = 0x40;
/** TCP flag: CWR (congestion window reduced). */
export const TCP_CWR = 0x80;

/** Length of a TCP header without options. */
export const TCP_HLEN = 20;
/** Largest TCP header (data offset 15). */
export const TCP_MAX_HLEN = 60;

/** Option kind: end of option list (also what zero padding reads as). */
export const TCPOPT_EOL = 0;
/** Option kind: no-operation (padding between options). */
export const TCPOPT_NOP = 1;
/** Option kind: maximum segment size. */
export const TCPOPT_MSS = 2;
/** Option kind: window scale. */
export const TCPOPT_WSCALE = 3;
/** Option kind: SACK permitted. */
export const TCPOPT_SACK_PERM = 4;
/** Option kind: SACK blocks. */
export const TCPOPT_SACK = 5;
/** Option kind: timestamps. */
export const TCPOPT_TIMESTAMPS = 8;

/**
 * Zero-copy view of a TCP header at `buf[off]`; the segment length comes from IP and is passed to the checksum methods.
 */
export class TcpView {
  /** Backing bytes. */
  buf: Uint8Array;
  /** Offset of the header inside {@link buf}. */
  off: number;

  /** Wraps without validation; use {@link TcpView.checked} for untrusted bytes. */
  constructor(buf: Uint8Array, off = 0) {
    this.buf = buf;
    this.off = off;
  }

  /** Wraps after checking ≥ 20 bytes, data offset ≥ 5 and headerLen ≤ `len` (bytes available). */
  static checked(buf: Uint8Array, off = 0, len = buf.length - off): TcpView {
    checkWindow('tcp', buf, off, len, TCP_HLEN);
    const hlen = (buf[off + 12]! >> 4) * 4;
    if (hlen < TCP_HLEN) throw new WireError('tcp', `data offset gives header length ${hlen}, below 20`);
    if (hlen > len) throw new WireError('tcp', `header length ${hlen} exceeds ${len} available bytes`);
    return new TcpView(buf, off);
  }

  /** Source port. */
  get srcPort(): number {
    return (this.buf[this.off]! << 8) | this.buf[this.off + 1]!;
  }
  set srcPort(v: number) {
    this.buf[this.off] = v >>> 8;
    this.buf[this.off + 1] = v;
  }

  /** Destination port. */
  get dstPort(): number {
    return (this.buf[this.off + 2]! << 8) | this.buf[this.off + 3]!;
  }
  set dstPort(v: number) {
    this.buf[this.off + 2] = v >>> 8;
    this.buf[this.off + 3] = v;
  }

  /** Sequence number (u32). */
  get seq(): number {
    return readU32(this.buf, this.off + 4);
  }
  set seq(v: number) {
    writeU32(this.buf, this.off + 4, v);
  }

  /** Acknowledgement number (u32). */
  get ack(): number {
    return readU32(this.buf, this.off + 8);
  }
  set ack(v: number) {
    writeU32(this.buf, this.off + 8, v);
  }

  /** Header length in bytes (data offset × 4); the setter keeps the reserved/NS bits. */
  get headerLen(): number {
    return (this.buf[this.off + 12]! >> 4) << 2;
  }
  set headerLen(n: number) {
    this.buf[this.off + 12] = (((n >>> 2) & 0x0f) << 4) | (this.buf[this.off + 12]! & 0x0f);
  }

  /** The eight flag bits of byte 13 (CWR … FIN). */
  get flags(): number {
    return this.buf[this.off + 13]!;
  }
  set flags(v: number) {
    this.buf[this.off + 13] = v;
  }

  /** Receive window (unscaled). */
  get window(): number {
    return (this.buf[this.off + 14]! << 8) | this.buf[this.off + 15]!;
  }
  set window(v: number) {
    this.buf[this.off + 14] = v >>> 8;
    this.buf[this.off + 15] = v;
  }

  /** Checksum field as stored. */
  get checksum(): number {
    return (this.buf[this.off + 16]! << 8) | this.buf[this.off + 17]!;
  }
  set checksum(v: number) {
    this.buf[this.off + 16] = v >>> 8;
    this.buf[this.off + 17] = v;
  }

  /** Urgent pointer. */
  get urgent(): number {
    return (this.buf[this.off + 18]! << 8) | this.buf[this.off + 19]!;
  }
  set urgent(v: number) {
    this.buf[this.off + 18] = v >>> 8;
    this.buf[this.off + 19] = v;
  }

  /** Offset of the options area (right after the fixed header). */
  get optionsOffset(): number {
    return this.off + TCP_HLEN;
  }

  /** Offset of the payload (after the options). */
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }

  /** True if the checksum over `segmentLen` bytes (header + payload) with the IPv4 pseudo-header is valid. */
  verifyChecksum(src: Ipv4Addr, dst: Ipv4Addr, segmentLen: number): boolean {
    return (
      finishChecksum(sum16(this.buf, this.off, segmentLen, pseudoHeaderSum(src, dst, IPPROTO_TCP, segmentLen))) === 0
    );
  }

  /** Computes and stores the checksum over `segmentLen` bytes with the IPv4 pseudo-header. */
  fillChecksum(src: Ipv4Addr, dst: Ipv4Addr, segmentLen: number): void {
    this.buf[this.off + 16] = 0;
    this.buf[this.off + 17] = 0;
    const c = finishChecksum(sum16(this.buf, this.off, segmentLen, pseudoHeaderSum(src, dst, IPPROTO_TCP, segmentLen)));
    this.buf[this.off + 16] = c >>> 8;
    this.buf[this.off + 17] = c;
  }
}

/** A TCP option; 'unknown' is for kinds without a dedicated variant (its data is a copy). */
export type TcpOption =
  | { kind: 'eol' }
  | { kind: 'nop' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; shift: number }
  | { kind: 'sack-permitted' }
  | { kind: 'sack'; blocks: Array<[number, number]> }
  | { kind: 'timestamps'; tsval: number; tsecr: number }
  | { kind: 'unknown'; type: number; data: Uint8Array };

/** Parses `len` option bytes; an EOL (reported as {kind:'eol'}) ends parsing; bad lengths throw WireError. */
export function parseTcpOptions(buf: Uint8Array, off: number, len: number): TcpOption[] {
  const out: TcpOption[] = [];
  parseTcpOptionsInto(buf, off, len, out);
  return out;
}

/**
 * Like parseTcpOptions but appends to `out`, so options decoded before a WireError remain available (for dissectors).
 */
export function parseTcpOptionsInto(buf: Uint8Array, off: number, len: number, out: TcpOption[]): void {
  const end = off + len;
  if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || end > buf.length) {
    throw new WireError('tcp', `options window [${off}, +${len}) is outside the ${buf.length}-byte buffer`);
  }
  let i = off;
  while (i < end) {
    const kind = buf[i]!;
    if (kind === TCPOPT_EOL) {
      out.push({ kind: 'eol' });
      break;
    }
    if (kind === TCPOPT_NOP) {
      out.push({ kind: 'nop' });
      i++;
      continue;
    }
    if (i + 1 >= end) throw new WireError('tcp', `option ${kind} has no length byte`);
    const olen = buf[i + 1]!;
    if (olen < 2) throw new WireError('tcp', `option ${kind} has length ${olen}, below 2`);
    if (i + olen > end) throw new WireError('tcp', `option ${kind} of length ${olen} overruns the options area`);
    switch (kind) {
      case TCPOPT_MSS:
        expectLen(kind, olen, 4);
        out.push({ kind: 'mss', value: (buf[i + 2]! << 8) | buf[i + 3]! });
        break;
      case TCPOPT_WSCALE:
        expectLen(kind, olen, 3);
        out.push({ kind: 'wscale', shift: buf[i + 2]! });
        break;
      case TCPOPT_SACK_PERM:
        expectLen(kind, olen, 2);
        out.push({ kind: 'sack-permitted' });
        break;
      case TCPOPT_SACK: {
        if (olen < 10 || (olen - 2) % 8 !== 0)
          throw new WireError('tcp', `SACK option has length ${olen}, not 2 + 8n (n ≥ 1)`);
        const blocks: Array<[number, number]> = [];
        for (let b = i + 2; b < i + olen; b += 8) blocks.push([readU32(buf, b), readU32(buf, b + 4)]);
        out.push({ kind: 'sack', blocks });
        break;
      }
      case TCPOPT_TIMESTAMPS:
        expectLen(kind, olen, 10);
        out.push({ kind: 'timestamps', tsval: readU32(buf, i + 2), tsecr: readU32(buf, i + 6) });
        break;
      default:
        out.push({ kind: 'unknown', type: kind, data: buf.slice(i + 2, i + olen) });
    }
    i += olen;
  }
}

function expectLen(kind: number, olen: number, want: number): void {
  if (olen !== want) throw new WireError('tcp', `option ${kind} has length ${olen}, expected ${want}`);
}

/** Encoded length of one option. */
export function tcpOptionLen(o: TcpOption): number {
  switch (o.kind) {
    case 'eol':
    case 'nop':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sack-permitted':
      return 2;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'timestamps':
      return 10;
    case 'unknown':
      return 2 + o.data.length;
  }
}

/** Unpadded encoded length of an option list; nothing after the first EOL is encoded. */
export function tcpOptionsLen(options: readonly TcpOption[]): number {
  let n = 0;
  for (const o of options) {
    n += tcpOptionLen(o);
    if (o.kind === 'eol') break;
  }
  return n;
}

/**
 * What parseTcpOptions returns for the bytes emitTcpHeader writes: cut after the first EOL, and an EOL added when zero
 * padding follows.
 */
export function normalizeTcpOptions(options: readonly TcpOption[]): TcpOption[] {
  const out: TcpOption[] = [];
  for (const o of options) {
    out.push(o);
    if (o.kind === 'eol') return out;
  }
  // Padding is zero bytes, and a zero byte is an EOL, so padded lists read back with one.
  if (tcpOptionsLen(out) % 4 !== 0) out.push({ kind: 'eol' });
  return out;
}

/** Field values of a TCP header (checksum excluded: it depends on the payload and the IP addresses). */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  urgent: number;
  options: TcpOption[];
}

/** Header length for a repr: 20 plus options padded with zero bytes to a multiple of 4; throws WireError past 60. */
export function tcpHeaderLen(repr: TcpRepr): number {
  const n = TCP_HLEN + ((tcpOptionsLen(repr.options) + 3) & ~3);
  if (n > TCP_MAX_HLEN) throw new WireError('tcp', `options need ${n - TCP_HLEN} bytes, more than 40`);
  return n;
}

/** Reads the header and its options out of a view; throws WireError on malformed options. */
export function parseTcp(view: TcpView): TcpRepr {
  return {
    srcPort: view.srcPort,
    dstPort: view.dstPort,
    seq: view.seq,
    ack: view.ack,
    flags: view.flags,
    window: view.window,
    urgent: view.urgent,
    options: parseTcpOptions(view.buf, view.optionsOffset, view.headerLen - TCP_HLEN),
  };
}

/**
 * Writes header and options (zero-padded) with checksum 0; write the payload next, then call TcpView.fillChecksum.
 * Returns the header length.
 */
export function emitTcpHeader(repr: TcpRepr, buf: Uint8Array, off: number): number {
  const hlen = tcpHeaderLen(repr);
  checkRoom('tcp', buf, off, hlen);
  buf[off] = repr.srcPort >>> 8;
  buf[off + 1] = repr.srcPort;
  buf[off + 2] = repr.dstPort >>> 8;
  buf[off + 3] = repr.dstPort;
  writeU32(buf, off + 4, repr.seq);
  writeU32(buf, off + 8, repr.ack);
  buf[off + 12] = (hlen >>> 2) << 4;
  buf[off + 13] = repr.flags;
  buf[off + 14] = repr.window >>> 8;
  buf[off + 15] = repr.window;
  buf[off + 16] = 0;
  buf[off + 17] = 0;
  buf[off + 18] = repr.urgent >>> 8;
  buf[off + 19] = repr.urgent;
  let i = off + TCP_HLEN;
  for (const o of repr.options) {
    i = writeOption(o, buf, i);
    if (o.kind === 'eol') break;
  }
  buf.fill(0, i, off + hlen);
  return hlen;
}

function writeOption(o: TcpOption, buf: Uint8Array, i: number): number {
  switch (o.kind) {
    case 'eol':
      buf[i] = TCPOPT_EOL;
      return i + 1;
    case 'nop':
      buf[i] = TCPOPT_NOP;
      return i + 1;
    case 'mss':
      buf[i] = TCPOPT_MSS;
      buf[i + 1] = 4;
      buf[i + 2] = o.value >>> 8;
      buf[i + 3] = o.value;
      return i + 4;
    case 'wscale':
      buf[i] = TCPOPT_WSCALE;
      buf[i + 1] = 3;
      buf[i + 2] = o.shift;
      return i + 3;
    case 'sack-permitted':
      buf[i] = TCPOPT_SACK_PERM;
      buf[i + 1] = 2;
      return i + 2;
    case 'sack': {
      if (o.blocks.length === 0) throw new WireError('tcp', 'SACK option needs at least one block');
      buf[i] = TCPOPT_SACK;
      buf[i + 1] = 2 + 8 * o.blocks.length;
      let j = i + 2;
      for (const [left, right] of o.blocks) {
        writeU32(buf, j, left);
        writeU32(buf, j + 4, right);
        j += 8;
      }
      return j;
    }
    case 'timestamps':
      buf[i] = TCPOPT_TIMESTAMPS;
      buf[i + 1] = 10;
      writeU32(buf, i + 2, o.tsval);
      writeU32(buf, i + 6, o.tsecr);
      return i + 10;
    case 'unknown':
      // Kinds 0 and 1 are single bytes with no length field, so a TLV with that kind would misparse.
      if (o.type === TCPOPT_EOL || o.type === TCPOPT_NOP)
        throw new WireError('tcp', `option kind ${o.type} cannot carry data`);
      buf[i] = o.type;
      buf[i + 1] = 2 + o.data.length;
      buf.set(o.data, i + 2);
      return i + 2 + o.data.length;
  }
}

// tcpdump's order and letters (FIN first, ACK as '.'), so summaries read like its output.
const FLAG_LETTERS: ReadonlyArray<readonly [number, string]> = [
  [TCP_FIN, 'F'],
  [TCP_SYN, 'S'],
  [TCP_RST, 'R'],
  [TCP_PSH, 'P'],
  [TCP_ACK, '.'],
  [TCP_URG, 'U'],
  [TCP_ECE, 'E'],
  [TCP_CWR, 'W'],
];

/**
 * Formats flags the way tcpdump does inside `Flags [...]`: 'S', 'S.', '.', 'P.', 'F.', 'R', 'R.'; 'none' when empty.
 */
export function formatTcpFlags(flags: number): string {
  let s = '';
  for (const [bit, letter] of FLAG_LETTERS) if (flags & bit) s += letter;
  return s === '' ? 'none' : s;
}

/** Formats one option as tcpdump prints it inside `options [...]`, e.g. 'mss 1410', 'sackOK', 'TS val 1 ecr 0'. */
export function formatTcpOption(o: TcpOption): string {
  switch (o.kind) {
    case 'eol':
      return 'eol';
    case 'nop':
      return 'nop';
    case 'mss':
      return `mss ${o.value}`;
    case 'wscale':
      return `wscale ${o.shift}`;
    case 'sack-permitted':
      return 'sackOK';
    case 'sack':
      return `sack ${o.blocks.length} ${o.blocks.map(([l, r]) => `{${l}:${r}}`).join('')}`;
    case 'timestamps':
      return `TS val ${o.tsval} ecr ${o.tsecr}`;
    case 'unknown': {
      let hex = '';
      for (const b of o.data) hex += b.toString(16).padStart(2, '0');
      return hex === '' ? `opt-${o.type}` : `opt-${o.type}:${hex}`;
    }
  }
}
