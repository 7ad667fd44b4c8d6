import { WireError, checkRoom, checkWindow } from './errors.js';
import { readU32, writeU32 } from './addr.js';
import { finishChecksum, sum16 } from './checksum.js';

/** ICMP type: echo reply. */
export const ECHO_REPLY = 0;
/** ICMP type: destination unreachable. */
export const DEST_UNREACH = 3;
/** ICMP type: echo request. */
export const ECHO_REQUEST = 8;
/** ICMP type: time exceeded. */
export const TIME_EXCEEDED = 11;

/** Destination-unreachable code: network unreachable. */
export const NET_UNREACH = 0;
/** Destination-unreachable code: host unreachable. */
export const HOST_UNREACH = 1;
/** Destination-unreachable code: protocol unreachable. */
export const PROTO_UNREACH = 2;
/** Destination-unreachable code: port unreachable. */
export const PORT_UNREACH = 3;
/** Destination-unreachable code: fragmentation needed and DF set (carries the next-hop MTU). */
export const FRAG_NEEDED = 4;
/** Destination-unreachable code: communication administratively prohibited. */
export const ADMIN_PROHIBITED = 13;
/** Time-exceeded code: TTL exceeded in transit. */
export const TTL_EXCEEDED = 0;
/** Time-exceeded code: fragment reassembly time exceeded. */
export const FRAG_REASM_EXCEEDED = 1;

// ICMP_-prefixed aliases: some callers already import these spellings, and the bare names
// (TTL_EXCEEDED, NET_UNREACH, ...) read ambiguously once re-exported from the package root.
/** Alias of {@link ECHO_REPLY}. */
export const ICMP_ECHO_REPLY = ECHO_REPLY;
/** Alias of {@link DEST_UNREACH}. */
export const ICMP_DEST_UNREACH = DEST_UNREACH;
/** Alias of {@link ECHO_REQUEST}. */
export const ICMP_ECHO_REQUEST = ECHO_REQUEST;
/** Alias of {@link TIME_EXCEEDED}. */
export const ICMP_TIME_EXCEEDED = TIME_EXCEEDED;
/** Alias of {@link NET_UNREACH}. */
export const ICMP_NET_UNREACH = NET_UNREACH;
/** Alias of {@link HOST_UNREACH}. */
export const ICMP_HOST_UNREACH = HOST_UNREACH;
/** Alias of {@link PROTO_UNREACH}. */
export const ICMP_PROTO_UNREACH = PROTO_UNREACH;
/** Alias of {@link PORT_UNREACH}. */
export const ICMP_PORT_UNREACH = PORT_UNREACH;
/** Alias of {@link FRAG_NEEDED}. */
export const ICMP_FRAG_NEEDED = FRAG_NEEDED;
/** Alias of {@link ADMIN_PROHIBITED}. */
export const ICMP_ADMIN_PROHIBITED = ADMIN_PROHIBITED;
/** Alias of {@link TTL_EXCEEDED}. */
export const ICMP_TTL_EXCEEDED = TTL_EXCEEDED;
/** Alias of {@link FRAG_REASM_EXCEEDED}. */
export const ICMP_FRAG_REASM_EXCEEDED = FRAG_REASM_EXCEEDED;

/** Length of the fixed ICMP header (type, code, checksum, 4 type-specific bytes). */
export const ICMP_HLEN = 8;

/** Zero-copy view of an ICMP message at `buf[off]`; the message length is passed to the checksum methods. */
export class IcmpView {
  /** Backing bytes. */
  buf: Uint8Array;
  /** Offset of the message inside {@link buf}. */
  off: number;

  /** Wraps without validation; use {@link IcmpView.checked} for untrusted bytes. */
  constructor(buf: Uint8Array, off = 0) {
    this.buf = buf;
    this.off = off;
  }

  /** Wraps after checking that at least the 8-byte header is present. */
  static checked(buf: Uint8Array, off = 0, len = buf.length - off): IcmpView {
    checkWindow('icmp', buf, off, len, ICMP_HLEN);
    return new IcmpView(buf, off);
  }

  /** Message type. */
  get type(): number {
    return this.buf[this.off]!;
  }
  set type(v: number) {
    this.buf[this.off] = v;
  }

  /** Message code. */
  get code(): number {
    return this.buf[this.off + 1]!;
  }
  set code(v: number) {
    this.buf[this.off + 1] = v;
  }

  /** Checksum field as stored. */
  get checksum(): number {
    return (this.buf[this.off + 2]! << 8) | this.buf[this.off + 3]!;
  }
  set checksum(v: number) {
    this.buf[this.off + 2] = v >>> 8;
    this.buf[this.off + 3] = v;
  }

  /** Echo identifier (bytes 4–5). */
  get ident(): number {
    return (this.buf[this.off + 4]! << 8) | this.buf[this.off + 5]!;
  }
  set ident(v: number) {
    this.buf[this.off + 4] = v >>> 8;
    this.buf[this.off + 5] = v;
  }

  /** Echo sequence number (bytes 6–7). */
  get seq(): number {
    return (this.buf[this.off + 6]! << 8) | this.buf[this.off + 7]!;
  }
  set seq(v: number) {
    this.buf[this.off + 6] = v >>> 8;
    this.buf[this.off + 7] = v;
  }

  /** Next-hop MTU (bytes 6–7), meaningful for type 3 code 4 (RFC 1191). */
  get nextHopMtu(): number {
    return (this.buf[this.off + 6]! << 8) | this.buf[this.off + 7]!;
  }
  set nextHopMtu(v: number) {
    this.buf[this.off + 6] = v >>> 8;
    this.buf[this.off + 7] = v;
  }

  /** The four type-specific bytes 4–7 as a u32. */
  get rest(): number {
    return readU32(this.buf, this.off + 4);
  }
  set rest(v: number) {
    writeU32(this.buf, this.off + 4, v);
  }

  /** Offset of the data after the 8-byte header. */
  get payloadOffset(): number {
    return this.off + ICMP_HLEN;
  }

  /** True if the checksum over the `len`-byte message is valid. */
  verifyChecksum(len: number): boolean {
    return finishChecksum(sum16(this.buf, this.off, len)) === 0;
  }

  /** Recomputes and stores the checksum over the `len`-byte message. */
  fillChecksum(len: number): void {
    this.buf[this.off + 2] = 0;
    this.buf[this.off + 3] = 0;
    const c = finishChecksum(sum16(this.buf, this.off, len));
    this.buf[this.off + 2] = c >>> 8;
    this.buf[this.off + 3] = c;
  }
}

/**
 * An ICMP message; parse gives a specific kind only when it re-encodes exactly (else 'other'), so emit∘parse is
 * lossless.
 */
export type IcmpRepr =
  | { kind: 'echo-request' | 'echo-reply'; ident: number; seq: number; data: Uint8Array }
  | { kind: 'dest-unreachable'; code: number; nextHopMtu: number; quote: Uint8Array }
  | { kind: 'time-exceeded'; code: number; quote: Uint8Array }
  | { kind: 'other'; type: number; code: number; rest: number; data: Uint8Array };

/**
 * Parses the `len`-byte ICMP message at `buf[off]` (data/quote alias `buf`); throws WireError if shorter than 8 bytes.
 */
export function parseIcmp(buf: Uint8Array, off: number, len: number): IcmpRepr {
  const v = IcmpView.checked(buf, off, len);
  const type = v.type;
  const code = v.code;
  const body = buf.subarray(off + ICMP_HLEN, off + len);
  switch (type) {
    case ECHO_REQUEST:
    case ECHO_REPLY:
      if (code === 0) {
        const kind = type === ECHO_REQUEST ? 'echo-request' : 'echo-reply';
        return { kind, ident: v.ident, seq: v.seq, data: body };
      }
      break;
    case DEST_UNREACH: {
      const unused = code === FRAG_NEEDED ? v.ident : v.rest;
      if (unused === 0) {
        return { kind: 'dest-unreachable', code, nextHopMtu: code === FRAG_NEEDED ? v.nextHopMtu : 0, quote: body };
      }
      break;
    }
    case TIME_EXCEEDED:
      if (v.rest === 0) return { kind: 'time-exceeded', code, quote: body };
      break;
  }
  return { kind: 'other', type, code, rest: v.rest, data: body };
}

/** Total encoded length of a repr (8 + data/quote). */
export function icmpLen(repr: IcmpRepr): number {
  switch (repr.kind) {
    case 'dest-unreachable':
    case 'time-exceeded':
      return ICMP_HLEN + repr.quote.length;
    default:
      return ICMP_HLEN + repr.data.length;
  }
}

/**
 * Writes the message with its checksum at `buf[off]`; returns the bytes written. nextHopMtu is written only for code 4.
 */
export function emitIcmp(repr: IcmpRepr, buf: Uint8Array, off: number): number {
  const len = icmpLen(repr);
  checkRoom('icmp', buf, off, len);
  let type: number;
  let code: number;
  let rest: number;
  let body: Uint8Array;
  switch (repr.kind) {
    case 'echo-request':
    case 'echo-reply':
      type = repr.kind === 'echo-request' ? ECHO_REQUEST : ECHO_REPLY;
      code = 0;
      rest = (((repr.ident & 0xffff) << 16) | (repr.seq & 0xffff)) >>> 0;
      body = repr.data;
      break;
    case 'dest-unreachable':
      type = DEST_UNREACH;
      code = repr.code;
      rest = code === FRAG_NEEDED ? repr.nextHopMtu & 0xffff : 0;
      body = repr.quote;
      break;
    case 'time-exceeded':
      type = TIME_EXCEEDED;
      code = repr.code;
      rest = 0;
      body = repr.quote;
      break;
    case 'other':
      type = repr.type;
      code = repr.code;
      rest = repr.rest;
      body = repr.data;
      break;
    default: {
      const never: never = repr;
      throw new WireError('icmp', `unknown repr ${JSON.stringify(never)}`);
    }
  }
  // Body first: a quote sliced from this same buffer (e.g. the offending packet being turned
  // into an error in place) must be read before the header bytes overwrite it; set() itself
  // copes with overlapping source and destination.
  buf.set(body, off + ICMP_HLEN);
  buf[off] = type;
  buf[off + 1] = code;
  buf[off + 2] = 0;
  buf[off + 3] = 0;
  writeU32(buf, off + 4, rest);
  const c = finishChecksum(sum16(buf, off, len));
  buf[off + 2] = c >>> 8;
  buf[off + 3] = c;
  return len;
}
