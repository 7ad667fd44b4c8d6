/**
 * The smallest setups the net/ unit tests need, built from src/net directly (no topology loader):
 * a World, namespaces joined by veth pairs whose ends record what they put on the wire (and can
 * lose it), and builders and readers for the frames the tests inject and inspect.
 */
import { World } from '../../src/net/world.js';
import { NetNs } from '../../src/net/netns.js';
import { VethDevice } from '../../src/net/veth.js';
import type { Packet } from '../../src/net/packet.js';
import type { UdpSocket } from '../../src/net/sockets.js';
import type { Nanos } from '../../src/sim/time.js';
import { us } from '../../src/sim/time.js';
import type { Ipv4Addr, MacAddr } from '../../src/wire/addr.js';
import { MAC_ZERO, parseIpv4, parseMac } from '../../src/wire/addr.js';
import { ARPOP_REPLY, ARPOP_REQUEST, ARP_LEN, ArpView, emitArp } from '../../src/wire/arp.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETH_HLEN, EthernetView } from '../../src/wire/ethernet.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_HLEN, Ipv4View, emitIpv4Header } from '../../src/wire/ipv4.js';
import { IcmpView } from '../../src/wire/icmp.js';
import { UDP_HLEN, emitUdp } from '../../src/wire/udp.js';
import type { TcpOption } from '../../src/wire/tcp.js';
import { TcpView, emitTcpHeader, parseTcpOptions, tcpHeaderLen } from '../../src/wire/tcp.js';

/** An IPv4 address from dotted text (throws on a typo, so tests fail loudly). */
export function ip(text: string): Ipv4Addr {
  const a = parseIpv4(text);
  if (a === undefined) throw new Error(`bad IPv4 address ${text}`);
  return a;
}

/** A MAC address from colon text. */
export function mac(text: string): MacAddr {
  const m = parseMac(text);
  if (m === undefined) throw new Error(`bad MAC address ${text}`);
  return m;
}

/** A frame as it left a device: when, its bytes (copied at that moment) and the skb fields that matter. */
export interface WireFrame {
  readonly t: Nanos;
  readonly bytes: Uint8Array;
  /** skb->hash (sk_txhash for TCP): redrawn on every retransmission timeout. */
  readonly hash: number;
}

/** A veth end that records every frame it transmits and, through `pass`, can lose it on the wire. */
export class TapVeth extends VethDevice {
  readonly sent: WireFrame[] = [];
  /** Whether a frame reaches the peer (it is recorded either way, as tcpdump on this end would see it). */
  pass: (pkt: Packet) => boolean = () => true;

  protected override transmit(pkt: Packet): void {
    this.sent.push({ t: this.ns.world.now, bytes: pkt.bytes().slice(), hash: pkt.hash });
    if (this.pass(pkt)) super.transmit(pkt);
  }
}

/** A veth pair of TapVeth ends. */
export function tapPair(
  nsA: NetNs,
  nameA: string,
  macA: MacAddr,
  nsB: NetNs,
  nameB: string,
  macB: MacAddr,
  mtu = 1500,
  delay: Nanos = us(50),
): [TapVeth, TapVeth] {
  const a = new TapVeth(nsA, nameA, macA, mtu, delay);
  const b = new TapVeth(nsB, nameB, macB, mtu, delay);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** A namespace plus its one interface and address. */
export interface Host {
  readonly ns: NetNs;
  readonly dev: TapVeth;
  readonly ip: Ipv4Addr;
  readonly mac: MacAddr;
}

/** A bare namespace (lo only). */
export function netns(world: World, name: string): NetNs {
  return new NetNs(world, name, name, 'node', name);
}

/**
 * Two hosts on one link: a (10.0.0.1, 02:00:00:00:00:01) and b (10.0.0.2, 02:00:00:00:00:02),
 * both /24, joined by a veth pair with a 50 µs one-way delay.
 */
export function twoHosts(seed = 1, opts: { mtu?: number; delay?: Nanos } = {}): { world: World; a: Host; b: Host } {
  const world = new World(seed);
  const nsA = netns(world, 'a');
  const nsB = netns(world, 'b');
  const macA = mac('02:00:00:00:00:01');
  const macB = mac('02:00:00:00:00:02');
  const [devA, devB] = tapPair(nsA, 'eth0', macA, nsB, 'eth0', macB, opts.mtu ?? 1500, opts.delay ?? us(50));
  nsA.addAddress(devA, ip('10.0.0.1'), 24);
  nsB.addAddress(devB, ip('10.0.0.2'), 24);
  return {
    world,
    a: { ns: nsA, dev: devA, ip: ip('10.0.0.1'), mac: macA },
    b: { ns: nsB, dev: devB, ip: ip('10.0.0.2'), mac: macB },
  };
}

/**
 * One host (10.0.0.1/24 on eth0) whose link leads nowhere: the peer end sits in an empty
 * namespace and every frame is lost, so nothing ever answers. What the host sends is in `dev.sent`;
 * the test plays the rest of the network by handing frames to `dev.receive`.
 */
export function lonelyHost(seed = 1): { world: World; host: Host } {
  const world = new World(seed);
  const ns = netns(world, 'h');
  const void_ = netns(world, 'void');
  const macH = mac('02:00:00:00:00:01');
  const [dev] = tapPair(ns, 'eth0', macH, void_, 'eth0', mac('02:00:00:00:00:ff'));
  dev.pass = () => false;
  ns.addAddress(dev, ip('10.0.0.1'), 24);
  return { world, host: { ns, dev, ip: ip('10.0.0.1'), mac: macH } };
}

/**
 * Runs the world's events one at a time until `done()` holds (checked before each event), the
 * next event lies beyond `until`, or none is left; returns the time of the last event run (the
 * moment `done()` became true) or, when none ran, the current time.
 */
export function stepUntil(world: World, done: () => boolean, until: Nanos): Nanos {
  let t = world.now;
  while (!done()) {
    const next = world.sched.peekTime();
    if (next === undefined || next > until) break;
    // run(next, 1): one event, and the clock stays at its time even when the queue empties
    world.sched.run(next, 1);
    t = next;
  }
  return t;
}

/** A UDP socket bound to addr:port (0.0.0.0 by default), failing the test when the bind fails. */
export function udpSocket(ns: NetNs, port: number, addr: Ipv4Addr = 0): UdpSocket {
  const s = ns.sockets.openUdp(addr, port);
  if ('errno' in s) throw new Error(s.message);
  return s;
}

// ───────────────────────────── frame builders ─────────────────────────────

/** The fields of an ARP frame (the Ethernet source is the sender's MAC). */
export interface ArpFields {
  op: 'request' | 'reply';
  senderMac: MacAddr;
  senderIp: Ipv4Addr;
  targetIp: Ipv4Addr;
  /** Zero in requests unless given. */
  targetMac?: MacAddr;
  ethDst: MacAddr;
}

/** An ARP frame (Ethernet + 28-byte ARP) as a Packet of `world`. */
export function arpFrame(world: World, p: ArpFields): Packet {
  const pkt = world.allocPacket(ETH_HLEN + ARP_LEN);
  const eth = new EthernetView(pkt.buf, pkt.off);
  eth.dst = p.ethDst;
  eth.src = p.senderMac;
  eth.ethertype = ETHERTYPE_ARP;
  emitArp(
    {
      op: p.op === 'request' ? ARPOP_REQUEST : ARPOP_REPLY,
      senderMac: p.senderMac,
      senderIp: p.senderIp,
      targetMac: p.targetMac ?? MAC_ZERO,
      targetIp: p.targetIp,
    },
    pkt.buf,
    pkt.off + ETH_HLEN,
  );
  return pkt;
}

/** A TCP segment in an Ethernet frame, checksums filled. */
export function tcpFrame(
  world: World,
  p: {
    ethSrc: MacAddr;
    ethDst: MacAddr;
    src: Ipv4Addr;
    dst: Ipv4Addr;
    sport: number;
    dport: number;
    seq: number;
    ack?: number;
    flags: number;
    window?: number;
    options?: TcpOption[];
    data?: Uint8Array;
  },
): Packet {
  const repr = {
    srcPort: p.sport,
    dstPort: p.dport,
    seq: p.seq >>> 0,
    ack: (p.ack ?? 0) >>> 0,
    flags: p.flags,
    window: p.window ?? 65535,
    urgent: 0,
    options: p.options ?? [],
  };
  const hlen = tcpHeaderLen(repr);
  const dlen = p.data?.length ?? 0;
  const pkt = world.allocPacket(ETH_HLEN + IPV4_HLEN + hlen + dlen);
  const eth = new EthernetView(pkt.buf, pkt.off);
  eth.dst = p.ethDst;
  eth.src = p.ethSrc;
  eth.ethertype = ETHERTYPE_IPV4;
  const l3 = pkt.off + ETH_HLEN;
  const fixed = { protocol: IPPROTO_TCP, ttl: 64, ident: 0, df: true, mf: false, fragOffset: 0, tos: 0 };
  emitIpv4Header({ src: p.src, dst: p.dst, ...fixed, payloadLen: hlen + dlen }, pkt.buf, l3);
  emitTcpHeader(repr, pkt.buf, l3 + IPV4_HLEN);
  if (p.data) pkt.buf.set(p.data, l3 + IPV4_HLEN + hlen);
  new TcpView(pkt.buf, l3 + IPV4_HLEN).fillChecksum(p.src, p.dst, hlen + dlen);
  return pkt;
}

/** A UDP datagram in an Ethernet frame (DF clear unless asked, TTL 64 unless asked), checksums filled. */
export function udpFrame(
  world: World,
  p: {
    ethSrc: MacAddr;
    ethDst: MacAddr;
    src: Ipv4Addr;
    dst: Ipv4Addr;
    sport: number;
    dport: number;
    data: Uint8Array;
    ttl?: number;
    id?: number;
    df?: boolean;
  },
): Packet {
  const len = UDP_HLEN + p.data.length;
  const pkt = world.allocPacket(ETH_HLEN + IPV4_HLEN + len);
  const eth = new EthernetView(pkt.buf, pkt.off);
  eth.dst = p.ethDst;
  eth.src = p.ethSrc;
  eth.ethertype = ETHERTYPE_IPV4;
  const l3 = pkt.off + ETH_HLEN;
  emitIpv4Header(
    {
      src: p.src,
      dst: p.dst,
      protocol: IPPROTO_UDP,
      ttl: p.ttl ?? 64,
      ident: p.id ?? 0x1234,
      df: p.df ?? false,
      mf: false,
      fragOffset: 0,
      tos: 0,
      payloadLen: len,
    },
    pkt.buf,
    l3,
  );
  emitUdp({ srcPort: p.sport, dstPort: p.dport }, p.data, pkt.buf, l3 + IPV4_HLEN, p.src, p.dst);
  return pkt;
}

// ───────────────────────────── frame readers ─────────────────────────────

/** The Ethernet header fields of a frame. */
export function ethOf(bytes: Uint8Array): { dst: MacAddr; src: MacAddr; type: number } {
  const e = new EthernetView(bytes, 0);
  return { dst: e.dst, src: e.src, type: e.ethertype };
}

/** ARP fields, or undefined when the frame is not ARP. */
export function arpOf(bytes: Uint8Array): Required<ArpFields> | undefined {
  const e = new EthernetView(bytes, 0);
  if (e.ethertype !== ETHERTYPE_ARP) return undefined;
  const a = ArpView.checked(bytes, ETH_HLEN);
  return {
    op: a.op === ARPOP_REQUEST ? 'request' : 'reply',
    senderMac: a.senderMac,
    senderIp: a.senderIp,
    targetMac: a.targetMac,
    targetIp: a.targetIp,
    ethDst: e.dst,
  };
}

/** IPv4 header fields of a frame and the bytes after the header. */
export interface IpFields {
  src: Ipv4Addr;
  dst: Ipv4Addr;
  proto: number;
  id: number;
  df: boolean;
  mf: boolean;
  /** In bytes. */
  fragOffset: number;
  totalLength: number;
  ttl: number;
  checksumOk: boolean;
  payload: Uint8Array;
}

/** IPv4 header fields and payload, or undefined when the frame is not IPv4. */
export function ipOf(bytes: Uint8Array): IpFields | undefined {
  if (new EthernetView(bytes, 0).ethertype !== ETHERTYPE_IPV4) return undefined;
  const v = Ipv4View.checked(bytes, ETH_HLEN);
  return {
    src: v.src,
    dst: v.dst,
    proto: v.protocol,
    id: v.ident,
    df: v.df,
    mf: v.mf,
    fragOffset: v.fragOffset,
    totalLength: v.totalLength,
    ttl: v.ttl,
    checksumOk: v.verifyChecksum(),
    payload: bytes.slice(v.payloadOffset, v.payloadOffset + v.payloadLength),
  };
}

/** An ICMP message: its IP addresses, TOS and length, type, code, next-hop MTU and the quoted header's fields. */
export interface IcmpFields {
  type: number;
  code: number;
  mtu: number;
  from: Ipv4Addr;
  to: Ipv4Addr;
  tos: number;
  /** IP total length. */
  len: number;
  quotedSrc: Ipv4Addr;
  quotedDst: Ipv4Addr;
  quotedTtl: number;
}

/** The ICMP message in a frame, or undefined when the frame carries none. */
export function icmpOf(bytes: Uint8Array): IcmpFields | undefined {
  const i = ipOf(bytes);
  if (i === undefined || i.proto !== IPPROTO_ICMP) return undefined;
  const v = new IcmpView(bytes, ETH_HLEN + IPV4_HLEN);
  const q = new Ipv4View(bytes, v.payloadOffset);
  const quoted = i.payload.length >= 28;
  const tos = new Ipv4View(bytes, ETH_HLEN).tos;
  return {
    type: v.type,
    code: v.code,
    mtu: v.nextHopMtu,
    from: i.src,
    to: i.dst,
    tos,
    len: i.totalLength,
    quotedSrc: quoted ? q.src : 0,
    quotedDst: quoted ? q.dst : 0,
    quotedTtl: quoted ? q.ttl : 0,
  };
}

/** A decoded TCP segment (numeric flags, options as parsed, payload bytes). */
export interface Segment {
  readonly src: Ipv4Addr;
  readonly dst: Ipv4Addr;
  readonly ipId: number;
  readonly df: boolean;
  readonly sport: number;
  readonly dport: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  readonly window: number;
  readonly options: TcpOption[];
  readonly data: Uint8Array;
  readonly checksumOk: boolean;
}

/** The TCP segment in a frame, or undefined when it carries none. */
export function segOf(bytes: Uint8Array): Segment | undefined {
  const i = ipOf(bytes);
  if (i === undefined || i.proto !== IPPROTO_TCP) return undefined;
  const off = ETH_HLEN + IPV4_HLEN;
  const t = TcpView.checked(bytes, off);
  return {
    src: i.src,
    dst: i.dst,
    ipId: i.id,
    df: i.df,
    sport: t.srcPort,
    dport: t.dstPort,
    seq: t.seq,
    ack: t.ack,
    flags: t.flags,
    window: t.window,
    options: parseTcpOptions(bytes, t.optionsOffset, t.headerLen - 20),
    data: bytes.slice(t.payloadOffset, ETH_HLEN + i.totalLength),
    checksumOk: t.verifyChecksum(i.src, i.dst, i.totalLength - IPV4_HLEN),
  };
}

/** The TCP segments among recorded frames, with their times. */
export function segments(frames: readonly WireFrame[]): Array<Segment & { t: Nanos; hash: number }> {
  const out: Array<Segment & { t: Nanos; hash: number }> = [];
  for (const f of frames) {
    const s = segOf(f.bytes);
    if (s !== undefined) out.push({ ...s, t: f.t, hash: f.hash });
  }
  return out;
}

/** The ARP frames among recorded frames, with their times. */
export function arps(frames: readonly WireFrame[]): Array<Required<ArpFields> & { t: Nanos }> {
  const out: Array<Required<ArpFields> & { t: Nanos }> = [];
  for (const f of frames) {
    const a = arpOf(f.bytes);
    if (a !== undefined) out.push({ ...a, t: f.t });
  }
  return out;
}

/** Bytes 0, 1, 2, … n-1 (mod 251, so no period lines up with 8-byte fragment boundaries). */
export function pattern(n: number, salt = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + salt) % 251;
  return b;
}
