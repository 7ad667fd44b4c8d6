/**
 * Packet rewriting for NAT (nf_nat_manip_pkt, nf_nat_icmp_reply_translation): change an IPv4
 * source or destination address and the TCP/UDP port (or ICMP echo identifier), updating the
 * IP, TCP, UDP and ICMP checksums incrementally as the kernel does.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { updateChecksum16, updateChecksum32 } from '../wire/checksum.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, Ipv4View } from '../wire/ipv4.js';

function rd16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}
function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

/**
 * Rewrites one side of the IPv4 packet at `l3`: the source (`src` true) or destination address
 * and port. `port` is ignored for protocols without ports; for ICMP echo it is the identifier,
 * which follows the source side for requests and the destination side for replies as conntrack
 * keys it. `l4Complete` is false for a truncated quote inside an ICMP error (no L4 checksum fix).
 */
export function manipIpv4(
  buf: Uint8Array,
  l3: number,
  src: boolean,
  addr: Ipv4Addr,
  port: number,
  l4Complete = true,
): void {
  const ip = new Ipv4View(buf, l3);
  const old = src ? ip.src : ip.dst;
  const proto = ip.protocol;
  const l4 = ip.payloadOffset;
  const first = ip.fragOffset === 0;
  if (old !== addr) {
    ip.checksum = updateChecksum32(ip.checksum, old, addr);
    if (src) ip.src = addr;
    else ip.dst = addr;
  }
  if (!first) return;
  if (proto === IPPROTO_TCP) {
    const csOff = l4 + 16;
    let cs = rd16(buf, csOff);
    if (old !== addr) cs = updateChecksum32(cs, old, addr);
    const pOff = l4 + (src ? 0 : 2);
    const oldPort = rd16(buf, pOff);
    if (oldPort !== port) {
      cs = updateChecksum16(cs, oldPort, port);
      wr16(buf, pOff, port);
    }
    if (l4Complete) wr16(buf, csOff, cs);
  } else if (proto === IPPROTO_UDP) {
    const csOff = l4 + 6;
    let cs = rd16(buf, csOff);
    const pOff = l4 + (src ? 0 : 2);
    const oldPort = rd16(buf, pOff);
    if (cs !== 0) {
      if (old !== addr) cs = updateChecksum32(cs, old, addr);
      if (oldPort !== port) cs = updateChecksum16(cs, oldPort, port);
      // a computed zero is sent as all ones (zero means "no checksum")
      if (l4Complete) wr16(buf, csOff, cs === 0 ? 0xffff : cs);
    }
    if (oldPort !== port) wr16(buf, pOff, port);
  } else if (proto === IPPROTO_ICMP) {
    const type = buf[l4]!;
    // echo request ids travel with the source side, echo reply ids with the destination side
    const idFollows = (type === 8 && src) || (type === 0 && !src);
    if (idFollows) {
      const oldId = rd16(buf, l4 + 4);
      if (oldId !== port) {
        if (l4Complete) wr16(buf, l4 + 2, updateChecksum16(rd16(buf, l4 + 2), oldId, port));
        wr16(buf, l4 + 4, port);
      }
    }
  }
}

/**
 * Translates an ICMP error so that both the outer header and the quoted packet match what the
 * receiver expects after NAT: the quote is rewritten on the opposite side (it travelled the
 * other way), then the ICMP checksum is recomputed over the whole message.
 */
export function manipIcmpError(
  buf: Uint8Array,
  l3: number,
  outerSrc: boolean,
  addr: Ipv4Addr,
  port: number,
  recompute: (buf: Uint8Array, l4: number, len: number) => void,
): void {
  const ip = new Ipv4View(buf, l3);
  const l4 = ip.payloadOffset;
  const q = l4 + 8;
  // the quoted packet's destination is the outer source and vice versa
  manipIpv4(buf, q, !outerSrc, addr, port, false);
  recompute(buf, l4, ip.payloadLength);
  const old = outerSrc ? ip.src : ip.dst;
  if (old !== addr) {
    ip.checksum = updateChecksum32(ip.checksum, old, addr);
    if (outerSrc) ip.src = addr;
    else ip.dst = addr;
  }
}
