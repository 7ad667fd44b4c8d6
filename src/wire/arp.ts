import { WireError, checkRoom, checkWindow } from './errors.js';
import { readMac, readU32, writeMac, writeU32, type Ipv4Addr, type MacAddr } from './addr.js';

/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_LEN = 28;
/** ARP opcode: request. */
export const ARPOP_REQUEST = 1;
/** ARP opcode: reply. */
export const ARPOP_REPLY = 2;

/** Zero-copy view of an Ethernet/IPv4 ARP packet at `buf[off]`. */
export class ArpView {
  /** Backing bytes. */
  buf: Uint8Array;
  /** Offset of the ARP packet inside {@link buf}. */
  off: number;

  /** Wraps without validation; use {@link ArpView.checked} for untrusted bytes. */
  constructor(buf: Uint8Array, off = 0) {
    this.buf = buf;
    this.off = off;
  }

  /**
   * Whether `len` bytes at `off` hold a whole Ethernet/IPv4 ARP packet (what {@link ArpView.checked} accepts), without
   * throwing.
   */
  static isEthernetIpv4(buf: Uint8Array, off: number, len: number): boolean {
    return (
      len >= ARP_LEN &&
      off + ARP_LEN <= buf.length &&
      buf[off] === 0 &&
      buf[off + 1] === 1 &&
      buf[off + 2] === 0x08 &&
      buf[off + 3] === 0 &&
      buf[off + 4] === 6 &&
      buf[off + 5] === 4
    );
  }

  /** Wraps after checking length and that the packet is Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6, plen 4). */
  static checked(buf: Uint8Array, off = 0, len = buf.length - off): ArpView {
    checkWindow('arp', buf, off, len, ARP_LEN);
    const htype = (buf[off]! << 8) | buf[off + 1]!;
    const ptype = (buf[off + 2]! << 8) | buf[off + 3]!;
    const hlen = buf[off + 4]!;
    const plen = buf[off + 5]!;
    if (htype !== 1 || ptype !== 0x0800 || hlen !== 6 || plen !== 4) {
      throw new WireError('arp', `unsupported htype ${htype} ptype 0x${ptype.toString(16)} hlen ${hlen} plen ${plen}`);
    }
    return new ArpView(buf, off);
  }

  /** Opcode (1 request, 2 reply). */
  get op(): number {
    return (this.buf[this.off + 6]! << 8) | this.buf[this.off + 7]!;
  }
  set op(v: number) {
    this.buf[this.off + 6] = v >>> 8;
    this.buf[this.off + 7] = v;
  }

  /** Sender hardware address. */
  get senderMac(): MacAddr {
    return readMac(this.buf, this.off + 8);
  }
  set senderMac(m: MacAddr) {
    writeMac(this.buf, this.off + 8, m);
  }

  /** Sender protocol address. */
  get senderIp(): Ipv4Addr {
    return readU32(this.buf, this.off + 14);
  }
  set senderIp(a: Ipv4Addr) {
    writeU32(this.buf, this.off + 14, a);
  }

  /** Target hardware address (zero in requests). */
  get targetMac(): MacAddr {
    return readMac(this.buf, this.off + 18);
  }
  set targetMac(m: MacAddr) {
    writeMac(this.buf, this.off + 18, m);
  }

  /** Target protocol address. */
  get targetIp(): Ipv4Addr {
    return readU32(this.buf, this.off + 24);
  }
  set targetIp(a: Ipv4Addr) {
    writeU32(this.buf, this.off + 24, a);
  }
}

/** Field values of an Ethernet/IPv4 ARP packet. */
export interface ArpRepr {
  op: number;
  senderMac: MacAddr;
  senderIp: Ipv4Addr;
  targetMac: MacAddr;
  targetIp: Ipv4Addr;
}

/** Reads the ARP fields out of a view. */
export function parseArp(view: ArpView): ArpRepr {
  return {
    op: view.op,
    senderMac: view.senderMac,
    senderIp: view.senderIp,
    targetMac: view.targetMac,
    targetIp: view.targetIp,
  };
}

/** Writes a 28-byte Ethernet/IPv4 ARP packet at `buf[off]`; returns the bytes written. */
export function emitArp(repr: ArpRepr, buf: Uint8Array, off: number): number {
  checkRoom('arp', buf, off, ARP_LEN);
  buf[off] = 0;
  buf[off + 1] = 1;
  buf[off + 2] = 0x08;
  buf[off + 3] = 0x00;
  buf[off + 4] = 6;
  buf[off + 5] = 4;
  buf[off + 6] = repr.op >>> 8;
  buf[off + 7] = repr.op;
  writeMac(buf, off + 8, repr.senderMac);
  writeU32(buf, off + 14, repr.senderIp);
  writeMac(buf, off + 18, repr.targetMac);
  writeU32(buf, off + 24, repr.targetIp);
  return ARP_LEN;
}
