// Builders for whole Ethernet frames, shared by the dissector and tshark tests.
import {
  ARPOP_REPLY,
  ARPOP_REQUEST,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETH_HLEN,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_HLEN,
  TcpView,
  UDP_HLEN,
  VXLAN_HLEN,
  emitArp,
  emitEthernet,
  emitIcmp,
  emitIpv4Header,
  emitTcpHeader,
  emitUdp,
  emitVxlan,
  icmpLen,
  parseIpv4,
  tcpHeaderLen,
  type IcmpRepr,
  type Ipv4Addr,
  type TcpRepr,
} from '../../src/wire/index.js';
import { macFromIpv4 } from '../../src/wire/addr.js';

export function ip(s: string): Ipv4Addr {
  const a = parseIpv4(s);
  if (a === undefined) throw new Error(`bad address ${s}`);
  return a;
}

export const podMac = (s: string): number => macFromIpv4(0x0a58, ip(s));

export interface IpOpts {
  src: string;
  dst: string;
  ttl?: number;
  ident?: number;
  df?: boolean;
  mf?: boolean;
  fragOffset?: number;
}

function ipRepr(o: IpOpts, protocol: number, payloadLen: number) {
  return {
    src: ip(o.src),
    dst: ip(o.dst),
    protocol,
    ttl: o.ttl ?? 64,
    ident: o.ident ?? 0x1234,
    df: o.df ?? true,
    mf: o.mf ?? false,
    fragOffset: o.fragOffset ?? 0,
    tos: 0,
    payloadLen,
  };
}

/** Ethernet + IPv4 around an L4 payload written by `writeL4` at the given offset. */
function ipFrame(
  o: IpOpts,
  protocol: number,
  l4Len: number,
  writeL4: (buf: Uint8Array, off: number) => void,
): Uint8Array {
  const buf = new Uint8Array(ETH_HLEN + IPV4_HLEN + l4Len);
  emitEthernet({ dst: podMac(o.dst), src: podMac(o.src), ethertype: ETHERTYPE_IPV4 }, buf, 0);
  emitIpv4Header(ipRepr(o, protocol, l4Len), buf, ETH_HLEN);
  writeL4(buf, ETH_HLEN + IPV4_HLEN);
  return buf;
}

export function arpRequest(sender: string, target: string): Uint8Array {
  const buf = new Uint8Array(ETH_HLEN + 28);
  emitEthernet({ dst: 0xffff_ffff_ffff, src: podMac(sender), ethertype: ETHERTYPE_ARP }, buf, 0);
  emitArp(
    { op: ARPOP_REQUEST, senderMac: podMac(sender), senderIp: ip(sender), targetMac: 0, targetIp: ip(target) },
    buf,
    ETH_HLEN,
  );
  return buf;
}

export function arpReply(sender: string, target: string): Uint8Array {
  const buf = new Uint8Array(ETH_HLEN + 28);
  emitEthernet({ dst: podMac(target), src: podMac(sender), ethertype: ETHERTYPE_ARP }, buf, 0);
  emitArp(
    {
      op: ARPOP_REPLY,
      senderMac: podMac(sender),
      senderIp: ip(sender),
      targetMac: podMac(target),
      targetIp: ip(target),
    },
    buf,
    ETH_HLEN,
  );
  return buf;
}

export function icmpFrame(o: IpOpts, repr: IcmpRepr): Uint8Array {
  return ipFrame(o, IPPROTO_ICMP, icmpLen(repr), (buf, off) => emitIcmp(repr, buf, off));
}

export function echoRequest(o: IpOpts, ident = 1, seq = 1, dataLen = 56): Uint8Array {
  const data = Uint8Array.from({ length: dataLen }, (_, i) => i);
  return icmpFrame(o, { kind: 'echo-request', ident, seq, data });
}

export function udpFrame(
  o: IpOpts,
  sport: number,
  dport: number,
  payload: Uint8Array,
  withChecksum = true,
): Uint8Array {
  return ipFrame(o, IPPROTO_UDP, UDP_HLEN + payload.length, (buf, off) =>
    emitUdp({ srcPort: sport, dstPort: dport }, payload, buf, off, ip(o.src), ip(o.dst), withChecksum),
  );
}

export function tcpFrame(o: IpOpts, repr: TcpRepr, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const hlen = tcpHeaderLen(repr);
  return ipFrame(o, IPPROTO_TCP, hlen + payload.length, (buf, off) => {
    emitTcpHeader(repr, buf, off);
    buf.set(payload, off + hlen);
    new TcpView(buf, off).fillChecksum(ip(o.src), ip(o.dst), hlen + payload.length);
  });
}

/** The SYN Linux sends by default: MSS, SACK_PERM, TS, NOP, WS. */
export function linuxSyn(o: IpOpts, sport = 40001, dport = 80): Uint8Array {
  return tcpFrame(o, {
    srcPort: sport,
    dstPort: dport,
    seq: 12345,
    ack: 0,
    flags: 0x02,
    window: 64860,
    urgent: 0,
    options: [
      { kind: 'mss', value: 1410 },
      { kind: 'sack-permitted' },
      { kind: 'timestamps', tsval: 1, tsecr: 0 },
      { kind: 'nop' },
      { kind: 'wscale', shift: 7 },
    ],
  });
}

/** Wraps an inner Ethernet frame in Ethernet/IPv4/UDP/VXLAN between two nodes, as flannel does. */
export function vxlanFrame(
  o: IpOpts,
  inner: Uint8Array,
  vni = 1,
  sport = 40548,
  dport = 8472,
  withChecksum = true,
): Uint8Array {
  const payload = new Uint8Array(VXLAN_HLEN + inner.length);
  emitVxlan({ vni }, payload, 0);
  payload.set(inner, VXLAN_HLEN);
  const buf = udpFrame({ ...o, df: o.df ?? false }, sport, dport, payload, withChecksum);
  // Node MACs are arbitrary but fixed so captures read the same every run.
  buf.set([0x02, 0x42, 0xac, 0x12, 0x00, 0x03, 0x02, 0x42, 0xac, 0x12, 0x00, 0x02], 0);
  return buf;
}
