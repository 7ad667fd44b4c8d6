import { WireError, checkRoom, checkWindow } from './errors.js';
import { readU32, writeU32, type Ipv4Addr } from './addr.js';
import { finishChecksum, sum16 } from './checksum.js';

/** IP protocol number of ICMP. */
export const IPPROTO_ICMP = 1;
/** IP protocol number of TCP. */
export const IPPROTO_TCP = 6;
/** IP protocol number of UDP. */
export const IPPROTO_UDP = 17;
/** Length of an IPv4 header without options. */
export const IPV4_HLEN = 20;

/** Largest fragment offset in bytes (13-bit field in units of 8). */
export const IPV4_MAX_FRAG_OFFSET = 0x1fff * 8;

/**
 * Zero-copy view of an IPv4 header at `buf[off]`; setters never touch the checksum, so call fillChecksum after editing.
 */
export class Ipv4View {
  /** Backing bytes. */
  buf: Uint8Array;
  /** Offset of the header inside {@link buf}. */
  off: number;

  /** Wraps without validation; use {@link Ipv4View.checked} for untrusted bytes. */
  constructor(buf: Uint8Array, off = 0) {
    this.buf = buf;
    this.off = off;
  }

  /**
   * Wraps after checking version 4, IHL ≥ 5 and headerLen ≤ totalLength ≤ `len` (bytes available); the checksum is not
   * verified.
   */
  static checked(buf: Uint8Array, off = 0, len = buf.length - off): Ipv4View {
    checkWindow('ipv4', buf, off, len, IPV4_HLEN);
    const vihl = buf[off]!;
    if (vihl >> 4 !== 4) throw new WireError('ipv4', `version ${vihl >> 4} is not 4`);
    const hlen = (vihl & 0x0f) * 4;
    if (hlen < IPV4_HLEN) throw new WireError('ipv4', `header length ${hlen} is below 20`);
    const total = (buf[off + 2]! << 8) | buf[off + 3]!;
    if (total < hlen) throw new WireError('ipv4', `total length ${total} is below header length ${hlen}`);
    if (total > len) throw new WireError('ipv4', `total length ${total} exceeds ${len} available bytes`);
    return new Ipv4View(buf, off);
  }

  /** IP version (4 for anything that passed checked()). */
  get version(): number {
    return this.buf[this.off]! >> 4;
  }
  set version(v: number) {
    this.buf[this.off] = ((v & 0x0f) << 4) | (this.buf[this.off]! & 0x0f);
  }

  /** Header length in bytes (IHL × 4); the setter takes bytes and keeps only multiples of 4 up to 60. */
  get headerLen(): number {
    return (this.buf[this.off]! & 0x0f) << 2;
  }
  set headerLen(n: number) {
    this.buf[this.off] = (this.buf[this.off]! & 0xf0) | ((n >>> 2) & 0x0f);
  }

  /** Type-of-service byte (DSCP and ECN). */
  get tos(): number {
    return this.buf[this.off + 1]!;
  }
  set tos(v: number) {
    this.buf[this.off + 1] = v;
  }

  /** Total datagram length (header plus payload). */
  get totalLength(): number {
    return (this.buf[this.off + 2]! << 8) | this.buf[this.off + 3]!;
  }
  set totalLength(v: number) {
    this.buf[this.off + 2] = v >>> 8;
    this.buf[this.off + 3] = v;
  }

  /** Identification field used to group fragments. */
  get ident(): number {
    return (this.buf[this.off + 4]! << 8) | this.buf[this.off + 5]!;
  }
  set ident(v: number) {
    this.buf[this.off + 4] = v >>> 8;
    this.buf[this.off + 5] = v;
  }

  /** Don't Fragment flag. */
  get df(): boolean {
    return (this.buf[this.off + 6]! & 0x40) !== 0;
  }
  set df(b: boolean) {
    const i = this.off + 6;
    this.buf[i] = b ? this.buf[i]! | 0x40 : this.buf[i]! & ~0x40;
  }

  /** More Fragments flag. */
  get mf(): boolean {
    return (this.buf[this.off + 6]! & 0x20) !== 0;
  }
  set mf(b: boolean) {
    const i = this.off + 6;
    this.buf[i] = b ? this.buf[i]! | 0x20 : this.buf[i]! & ~0x20;
  }

  /** Fragment offset in bytes (the 13-bit field × 8); the setter drops the low 3 bits. */
  get fragOffset(): number {
    return (((this.buf[this.off + 6]! & 0x1f) << 8) | this.buf[this.off + 7]!) << 3;
  }
  set fragOffset(bytes: number) {
    const units = (bytes >>> 3) & 0x1fff;
    this.buf[this.off + 6] = (this.buf[this.off + 6]! & 0xe0) | (units >>> 8);
    this.buf[this.off + 7] = units;
  }

  /** Time to live. */
  get ttl(): number {
    return this.buf[this.off + 8]!;
  }
  set ttl(v: number) {
    this.buf[this.off + 8] = v;
  }

  /** Payload protocol number. */
  get protocol(): number {
    return this.buf[this.off + 9]!;
  }
  set protocol(v: number) {
    this.buf[this.off + 9] = v;
  }

  /** Header checksum field as stored. */
  get checksum(): number {
    return (this.buf[this.off + 10]! << 8) | this.buf[this.off + 11]!;
  }
  set checksum(v: number) {
    this.buf[this.off + 10] = v >>> 8;
    this.buf[this.off + 11] = v;
  }

  /** Source address. */
  get src(): Ipv4Addr {
    return readU32(this.buf, this.off + 12);
  }
  set src(a: Ipv4Addr) {
    writeU32(this.buf, this.off + 12, a);
  }

  /** Destination address. */
  get dst(): Ipv4Addr {
    return readU32(this.buf, this.off + 16);
  }
  set dst(a: Ipv4Addr) {
    writeU32(this.buf, this.off + 16, a);
  }

  /** Offset of the payload (after any options) in {@link buf}. */
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }

  /** Payload length according to the header (totalLength − headerLen). */
  get payloadLength(): number {
    return this.totalLength - this.headerLen;
  }

  /** True if this datagram is a fragment (MF set or a non-zero offset). */
  get isFragment(): boolean {
    return (this.buf[this.off + 6]! & 0x3f) !== 0 || this.buf[this.off + 7]! !== 0;
  }

  /** True if the header checksum (over headerLen bytes, options included) is valid. */
  verifyChecksum(): boolean {
    return finishChecksum(sum16(this.buf, this.off, this.headerLen)) === 0;
  }

  /** Recomputes and stores the header checksum. */
  fillChecksum(): void {
    this.buf[this.off + 10] = 0;
    this.buf[this.off + 11] = 0;
    const c = finishChecksum(sum16(this.buf, this.off, this.headerLen));
    this.buf[this.off + 10] = c >>> 8;
    this.buf[this.off + 11] = c;
  }

  /**
   * Decrements TTL and patches the checksum incrementally (RFC 1624); returns the new TTL, and leaves a TTL of 0 alone
   * (returns 0).
   */
  decrementTtl(): number {
    const o = this.off;
    const ttl = this.buf[o + 8]!;
    if (ttl === 0) return 0;
    this.buf[o + 8] = ttl - 1;
    // TTL is the high byte of word 4, so the word drops by 0x0100; in ones' complement that is
    // adding ~0x0100 = 0xfeff to ~HC (RFC 1624 eqn. 3, which agrees with a full recompute).
    let s = (~((this.buf[o + 10]! << 8) | this.buf[o + 11]!) & 0xffff) + 0xfeff;
    s = (s & 0xffff) + (s >>> 16);
    const c = ~s & 0xffff;
    this.buf[o + 10] = c >>> 8;
    this.buf[o + 11] = c;
    return ttl - 1;
  }
}

/** Decrements the TTL of `view` with an incremental checksum update; see {@link Ipv4View.decrementTtl}. */
export function decrementTtlWithChecksum(view: Ipv4View): number {
  return view.decrementTtl();
}

/** Field values of an option-less IPv4 header; `fragOffset` is in bytes and `payloadLen` excludes the header. */
export interface Ipv4Repr {
  src: Ipv4Addr;
  dst: Ipv4Addr;
  protocol: number;
  ttl: number;
  ident: number;
  df: boolean;
  mf: boolean;
  fragOffset: number;
  tos: number;
  payloadLen: number;
}

/** Reads header fields out of a view (options, if any, are skipped: payloadLen is totalLength − headerLen). */
export function parseIpv4Header(view: Ipv4View): Ipv4Repr {
  return {
    src: view.src,
    dst: view.dst,
    protocol: view.protocol,
    ttl: view.ttl,
    ident: view.ident,
    df: view.df,
    mf: view.mf,
    fragOffset: view.fragOffset,
    tos: view.tos,
    payloadLen: view.payloadLength,
  };
}

/** Writes a 20-byte header with a valid checksum and totalLength = 20 + payloadLen; returns 20. */
export function emitIpv4Header(repr: Ipv4Repr, buf: Uint8Array, off: number): number {
  checkRoom('ipv4', buf, off, IPV4_HLEN);
  const total = IPV4_HLEN + repr.payloadLen;
  if (!(repr.payloadLen >= 0 && total <= 0xffff)) {
    throw new WireError('ipv4', `payload length ${repr.payloadLen} does not fit in a datagram`);
  }
  if (!(repr.fragOffset >= 0 && repr.fragOffset <= IPV4_MAX_FRAG_OFFSET && (repr.fragOffset & 7) === 0)) {
    throw new WireError(
      'ipv4',
      `fragment offset ${repr.fragOffset} is not a multiple of 8 in 0..${IPV4_MAX_FRAG_OFFSET}`,
    );
  }
  const units = repr.fragOffset >>> 3;
  buf[off] = 0x45;
  buf[off + 1] = repr.tos;
  buf[off + 2] = total >>> 8;
  buf[off + 3] = total;
  buf[off + 4] = repr.ident >>> 8;
  buf[off + 5] = repr.ident;
  buf[off + 6] = (repr.df ? 0x40 : 0) | (repr.mf ? 0x20 : 0) | (units >>> 8);
  buf[off + 7] = units;
  buf[off + 8] = repr.ttl;
  buf[off + 9] = repr.protocol;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  writeU32(buf, off + 12, repr.src);
  writeU32(buf, off + 16, repr.dst);
  const c = finishChecksum(sum16(buf, off, IPV4_HLEN));
  buf[off + 10] = c >>> 8;
  buf[off + 11] = c;
  return IPV4_HLEN;
}
