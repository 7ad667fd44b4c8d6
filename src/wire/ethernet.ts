import { checkRoom, checkWindow } from './errors.js';
import { readMac, writeMac, type MacAddr } from './addr.js';

/** Length of an Ethernet II header (no 802.1Q tag). */
export const ETH_HLEN = 14;
/** EtherType for IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** EtherType for ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** EtherType for IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;

/**
 * Zero-copy view of an Ethernet II header at `buf[off]`; `buf`/`off` are mutable so one view can be re-pointed per
 * packet.
 */
export class EthernetView {
  /** Backing bytes. */
  buf: Uint8Array;
  /** Offset of the header inside {@link buf}. */
  off: number;

  /** Wraps without validation; use {@link EthernetView.checked} for untrusted bytes. */
  constructor(buf: Uint8Array, off = 0) {
    this.buf = buf;
    this.off = off;
  }

  /** Wraps after checking that `len` bytes at `off` hold a full header; throws WireError otherwise. */
  static checked(buf: Uint8Array, off = 0, len = buf.length - off): EthernetView {
    checkWindow('ethernet', buf, off, len, ETH_HLEN);
    return new EthernetView(buf, off);
  }

  /** Destination MAC. */
  get dst(): MacAddr {
    return readMac(this.buf, this.off);
  }
  set dst(m: MacAddr) {
    writeMac(this.buf, this.off, m);
  }

  /** Source MAC. */
  get src(): MacAddr {
    return readMac(this.buf, this.off + 6);
  }
  set src(m: MacAddr) {
    writeMac(this.buf, this.off + 6, m);
  }

  /** EtherType of the payload. */
  get ethertype(): number {
    return (this.buf[this.off + 12]! << 8) | this.buf[this.off + 13]!;
  }
  set ethertype(t: number) {
    this.buf[this.off + 12] = t >>> 8;
    this.buf[this.off + 13] = t;
  }

  /** Offset of the payload in {@link buf}. */
  get payloadOffset(): number {
    return this.off + ETH_HLEN;
  }
}

/** Field values of an Ethernet II header. */
export interface EthernetRepr {
  dst: MacAddr;
  src: MacAddr;
  ethertype: number;
}

/** Reads the header fields out of a view. */
export function parseEthernet(view: EthernetView): EthernetRepr {
  return { dst: view.dst, src: view.src, ethertype: view.ethertype };
}

/** Writes a 14-byte Ethernet header at `buf[off]`; returns the bytes written. */
export function emitEthernet(repr: EthernetRepr, buf: Uint8Array, off: number): number {
  checkRoom('ethernet', buf, off, ETH_HLEN);
  writeMac(buf, off, repr.dst);
  writeMac(buf, off + 6, repr.src);
  buf[off + 12] = repr.ethertype >>> 8;
  buf[off + 13] = repr.ethertype;
  return ETH_HLEN;
}
