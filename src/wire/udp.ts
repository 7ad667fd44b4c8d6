import { WireError, checkRoom, checkWindow } from './errors.js';
import type { Ipv4Addr } from './addr.js';
import { finishChecksum, pseudoHeaderSum, sum16 } from './checksum.js';
import { IPPROTO_UDP } from './ipv4.js';

/** Length of a UDP header. */
export const UDP_HLEN = 8;

/** Zero-copy view of a UDP datagram at `buf[off]`; its extent is the header's length field. */
export class UdpView {
  /** Backing bytes. */
  buf: Uint8Array;
  /** Offset of the header inside {@link buf}. */
  off: number;

  /** Wraps without validation; use {@link UdpView.checked} for untrusted bytes. */
  constructor(buf: Uint8Array, off = 0) {
    this.buf = buf;
    this.off = off;
  }

  /** Wraps after checking 8 ≤ length field ≤ `len` (bytes available). */
  static checked(buf: Uint8Array, off = 0, len = buf.length - off): UdpView {
    checkWindow('udp', buf, off, len, UDP_HLEN);
    const length = (buf[off + 4]! << 8) | buf[off + 5]!;
    if (length < UDP_HLEN) throw new WireError('udp', `length field ${length} is below 8`);
    if (length > len) throw new WireError('udp', `length field ${length} exceeds ${len} available bytes`);
    return new UdpView(buf, off);
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

  /** Length field (header plus payload). */
  get length(): number {
    return (this.buf[this.off + 4]! << 8) | this.buf[this.off + 5]!;
  }
  set length(v: number) {
    this.buf[this.off + 4] = v >>> 8;
    this.buf[this.off + 5] = v;
  }

  /** Checksum field as stored (0 = none). */
  get checksum(): number {
    return (this.buf[this.off + 6]! << 8) | this.buf[this.off + 7]!;
  }
  set checksum(v: number) {
    this.buf[this.off + 6] = v >>> 8;
    this.buf[this.off + 7] = v;
  }

  /** Offset of the payload in {@link buf}. */
  get payloadOffset(): number {
    return this.off + UDP_HLEN;
  }

  /** Payload length according to the length field. */
  get payloadLength(): number {
    return this.length - UDP_HLEN;
  }

  /** True if the checksum (with the IPv4 pseudo-header, over `length` bytes) is valid or absent (0). */
  verifyChecksum(src: Ipv4Addr, dst: Ipv4Addr): boolean {
    if (this.checksum === 0) return true;
    const len = this.length;
    return finishChecksum(sum16(this.buf, this.off, len, pseudoHeaderSum(src, dst, IPPROTO_UDP, len))) === 0;
  }

  /** Computes and stores the checksum over `length` bytes; a computed 0 is sent as 0xffff since 0 means "none". */
  fillChecksum(src: Ipv4Addr, dst: Ipv4Addr): void {
    this.buf[this.off + 6] = 0;
    this.buf[this.off + 7] = 0;
    const len = this.length;
    const c = finishChecksum(sum16(this.buf, this.off, len, pseudoHeaderSum(src, dst, IPPROTO_UDP, len))) || 0xffff;
    this.buf[this.off + 6] = c >>> 8;
    this.buf[this.off + 7] = c;
  }
}

/** Field values of a UDP header; `payloadLen` excludes the header. */
export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  payloadLen: number;
}

/** Reads the header fields out of a view. */
export function parseUdp(view: UdpView): UdpRepr {
  return { srcPort: view.srcPort, dstPort: view.dstPort, payloadLen: view.payloadLength };
}

/** Writes an 8-byte header with checksum 0; write the payload next, then call UdpView.fillChecksum. Returns 8. */
export function emitUdpHeader(repr: UdpRepr, buf: Uint8Array, off: number): number {
  writeHeader(repr.srcPort, repr.dstPort, repr.payloadLen, buf, off);
  return UDP_HLEN;
}

/**
 * Writes header and payload, with the pseudo-header checksum unless `withChecksum` is false; returns the bytes written.
 */
export function emitUdp(
  repr: { srcPort: number; dstPort: number },
  payload: Uint8Array,
  buf: Uint8Array,
  off: number,
  src: Ipv4Addr,
  dst: Ipv4Addr,
  withChecksum = true,
): number {
  const length = UDP_HLEN + payload.length;
  checkRoom('udp', buf, off, length);
  // Payload first so a payload already sitting in `buf` (encapsulation in place) is not clobbered.
  buf.set(payload, off + UDP_HLEN);
  writeHeader(repr.srcPort, repr.dstPort, payload.length, buf, off);
  if (withChecksum) {
    const c = finishChecksum(sum16(buf, off, length, pseudoHeaderSum(src, dst, IPPROTO_UDP, length))) || 0xffff;
    buf[off + 6] = c >>> 8;
    buf[off + 7] = c;
  }
  return length;
}

// Shared by both emitters without building a repr object, since encapsulation runs per packet.
function writeHeader(srcPort: number, dstPort: number, payloadLen: number, buf: Uint8Array, off: number): void {
  checkRoom('udp', buf, off, UDP_HLEN);
  const length = UDP_HLEN + payloadLen;
  if (!(payloadLen >= 0 && length <= 0xffff)) {
    throw new WireError('udp', `payload length ${payloadLen} does not fit in a datagram`);
  }
  buf[off] = srcPort >>> 8;
  buf[off + 1] = srcPort;
  buf[off + 2] = dstPort >>> 8;
  buf[off + 3] = dstPort;
  buf[off + 4] = length >>> 8;
  buf[off + 5] = length;
  buf[off + 6] = 0;
  buf[off + 7] = 0;
}
