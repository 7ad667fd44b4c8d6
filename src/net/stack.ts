/**
 * The IPv4 stack of one netns (net/ipv4/ip_input.c, ip_forward.c, ip_output.c, icmp.c):
 * receive, route, forward with TTL decrement and MTU checks, fragment, deliver locally,
 * answer echo requests, and generate ICMP errors — with netfilter hooks at the kernel's points.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { MAC_BROADCAST, formatIpv4, isMulticastMac } from '../wire/addr.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETH_HLEN, EthernetView } from '../wire/ethernet.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_HLEN, Ipv4View, emitIpv4Header } from '../wire/ipv4.js';
import {
  ICMP_DEST_UNREACH as DEST_UNREACH,
  ICMP_ECHO_REPLY as ECHO_REPLY,
  ICMP_ECHO_REQUEST as ECHO_REQUEST,
  ICMP_FRAG_NEEDED as FRAG_NEEDED,
  ICMP_HOST_UNREACH as HOST_UNREACH,
  IcmpView,
  ICMP_NET_UNREACH as NET_UNREACH,
  ICMP_PROTO_UNREACH as PROTO_UNREACH,
  ICMP_TIME_EXCEEDED as TIME_EXCEEDED,
  ICMP_TTL_EXCEEDED as TTL_EXCEEDED,
} from '../wire/icmp.js';
import { isWireError } from '../wire/errors.js';
import { TcpView } from '../wire/tcp.js';
import { sec } from '../sim/time.js';
import type { NetDevice } from './device.js';
import { Packet, PktType } from './packet.js';
import type { NetNs } from './netns.js';
import type { Route } from './route.js';
import { formatRoute, routeRef } from './route.js';
import type { BodyOf, DropDetail } from '../events/hop.js';
import { Reassembler, fragmentPacket } from './frag.js';
import { jiffiesAt } from '../sim/jiffies.js';

/** Netfilter hook points (NF_INET_*). */
export const enum NfHook {
  PreRouting = 0,
  LocalIn = 1,
  Forward = 2,
  LocalOut = 3,
  PostRouting = 4,
}

/** Hook verdicts. */
export const enum Verdict {
  Drop = 0,
  Accept = 1,
  /** The hook consumed the packet (queued or already handled). */
  Stolen = 2,
}

/** What the stack needs from a netfilter implementation. */
export interface NetfilterHooks {
  /**
   * Runs every table registered at `hook` in priority order. Returns the packet to continue
   * with — the same one, possibly rewritten by NAT, or a reassembled datagram — or null when the
   * packet was dropped or is held (a fragment waiting for the rest of its datagram).
   */
  run(hook: NfHook, pkt: Packet, inDev: NetDevice | null, outDev: NetDevice | null): Packet | null;
}

/** A resolved output route. */
export interface OutputRoute {
  readonly route: Route;
  readonly dev: NetDevice;
  readonly src: Ipv4Addr;
  readonly nexthop: Ipv4Addr;
  readonly mtu: number;
  readonly local: boolean;
  readonly broadcast: boolean;
}

/** Error codes returned to sockets. */
export type RouteError = 'ENETUNREACH' | 'EHOSTUNREACH' | 'EINVAL';

/** A learned path-MTU exception (ip_rt_update_pmtu), 10 minutes by default. */
interface PmtuException {
  mtu: number;
  expires: number;
}

const PMTU_EXPIRES = sec(600);
const MIN_PMTU = 552;

/** The IPv4 stack. */
export class Ipv4Stack {
  /** The netns's netfilter, when one is installed (kube-proxy/flannel rules). */
  nf: NetfilterHooks | null = null;
  private pmtu = new Map<Ipv4Addr, PmtuException>();
  readonly reasm: Reassembler;
  /** Per-destination ICMP rate-limit token buckets (inet_peer_xrlim_allow). */
  private icmpTokens = new Map<Ipv4Addr, { tokens: number; last: number }>();
  /** ip_idents-like per-destination IP ID generators for non-DF packets. */
  private idents = new Map<number, { id: number; stamp: number }>();
  stats = { inReceives: 0, inDelivers: 0, forwarded: 0, outRequests: 0, fragCreates: 0, reasmOks: 0, dropped: 0 };

  constructor(private readonly ns: NetNs) {
    this.reasm = new Reassembler(ns);
  }

  private get tracing(): boolean {
    return this.ns.world.tracer.active;
  }

  private hop(
    body: BodyOf<'route' | 'forward' | 'deliver' | 'icmp' | 'frag'>,
    pkt: Packet | null,
    dev?: NetDevice,
  ): void {
    this.ns.trace(body, pkt, dev?.name);
  }

  /** Drops a packet inside the stack (reported to hop sinks, captures and the flow's record). */
  drop(pkt: Packet, detail: DropDetail, dev?: NetDevice): void {
    this.stats.dropped++;
    this.ns.traceDrop(pkt, detail, dev?.name, true);
  }

  // ───────────────────────────── receive ─────────────────────────────

  /** L2 demux of a frame that reached this stack on `dev` (netif_receive_skb → packet_type handlers). */
  netifReceive(dev: NetDevice, pkt: Packet): void {
    if (pkt.len < ETH_HLEN) {
      this.drop(pkt, { what: 'runt-frame' }, dev);
      return;
    }
    const eth = new EthernetView(pkt.buf, pkt.off);
    const dst = eth.dst;
    if (dev.kind === 'loopback' || dst === dev.mac) pkt.pktType = PktType.Host;
    else if (dst === MAC_BROADCAST) pkt.pktType = PktType.Broadcast;
    else if (isMulticastMac(dst)) pkt.pktType = PktType.Multicast;
    else pkt.pktType = PktType.OtherHost;
    const type = eth.ethertype;
    if (type === ETHERTYPE_ARP) {
      this.ns.neigh.arpReceive(dev, pkt);
      return;
    }
    if (type !== ETHERTYPE_IPV4) {
      this.drop(pkt, { what: 'unhandled-ethertype', ethertype: type }, dev);
      return;
    }
    if (pkt.pktType === PktType.OtherHost) {
      // ip_rcv_core drops PACKET_OTHERHOST frames silently
      this.drop(pkt, { what: 'other-host' }, dev);
      return;
    }
    this.ipRcv(dev, pkt);
  }

  /** ip_rcv: validate, PREROUTING, route input. */
  ipRcv(dev: NetDevice, pkt: Packet): void {
    this.stats.inReceives++;
    let ip: Ipv4View;
    try {
      ip = Ipv4View.checked(pkt.buf, pkt.l3, pkt.l3Len);
    } catch (e) {
      if (!isWireError(e)) throw e;
      this.drop(pkt, { what: 'malformed-ipv4', error: (e as Error).message }, dev);
      return;
    }
    if (!ip.verifyChecksum()) {
      this.drop(pkt, { what: 'bad-ip-checksum' }, dev);
      return;
    }
    // trim Ethernet padding beyond the IP total length
    pkt.len = ETH_HLEN + ip.totalLength;
    pkt.iif = dev.ifindex;
    const nf = this.nf;
    if (nf !== null) {
      if (pkt.brNfDone) {
        // ip_sabotage_in: the bridge already ran PREROUTING for this frame
        pkt.brNfDone = false;
      } else {
        const p = nf.run(NfHook.PreRouting, pkt, dev, null);
        if (p === null) return;
        pkt = p;
      }
    }
    this.routeInput(dev, pkt);
  }

  /** ip_route_input + dst_input: local delivery, forwarding, or an error. */
  private routeInput(dev: NetDevice, pkt: Packet): void {
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    const dst = ip.dst;
    const src = ip.src;
    if (src >>> 24 === 127 && dev.kind !== 'loopback') {
      this.drop(pkt, { what: 'martian-source', src: formatIpv4(src) }, dev);
      return;
    }
    if (dst === 0xffffffff) {
      this.localDeliver(dev, pkt);
      return;
    }
    const r = this.ns.fib.lookup(dst);
    if (r === undefined) {
      if (this.tracing) this.hop({ kind: 'route', what: 'input-unreachable', dst: formatIpv4(dst) }, pkt, dev);
      this.sendIcmpError(pkt, DEST_UNREACH, this.ns.sysctl.ipForward ? NET_UNREACH : HOST_UNREACH, 0);
      this.drop(pkt, { what: 'no-route' }, dev);
      return;
    }
    switch (r.type) {
      case 'local':
      case 'broadcast':
        if (this.tracing)
          this.hop({ kind: 'route', what: 'input-local', dst: formatIpv4(dst), type: r.type }, pkt, dev);
        this.localDeliver(dev, pkt);
        return;
      case 'blackhole':
        this.drop(pkt, { what: 'route-type', type: 'blackhole', route: formatRoute(r) }, dev);
        return;
      case 'unreachable':
      case 'prohibit':
        this.sendIcmpError(pkt, DEST_UNREACH, r.type === 'prohibit' ? 13 : HOST_UNREACH, 0);
        this.drop(pkt, { what: 'route-type', type: r.type, route: formatRoute(r) }, dev);
        return;
      case 'unicast':
        break;
    }
    if (!this.ns.sysctl.ipForward) {
      // ip_route_input_slow with forwarding off: -EHOSTUNREACH → ip_error
      this.sendIcmpError(pkt, DEST_UNREACH, HOST_UNREACH, 0);
      this.drop(pkt, { what: 'forwarding-off', host: this.ns.label }, dev);
      return;
    }
    if (pkt.pktType !== PktType.Host) {
      this.drop(pkt, { what: 'link-broadcast' }, dev);
      return;
    }
    this.ipForward(dev, pkt, r);
  }

  /** ip_forward: TTL check, MTU check, TTL decrement, FORWARD hook, output. */
  private ipForward(inDev: NetDevice, pkt: Packet, r: Route): void {
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    const out = r.dev;
    if (out === null) {
      this.drop(pkt, { what: 'route-without-device' }, inDev);
      return;
    }
    if (ip.ttl <= 1) {
      if (this.tracing) this.hop({ kind: 'forward', what: 'ttl-expired', ttl: ip.ttl }, pkt, inDev);
      this.sendIcmpError(pkt, TIME_EXCEEDED, TTL_EXCEEDED, 0);
      this.drop(pkt, { what: 'ttl-exceeded' }, inDev);
      return;
    }
    const mtu = this.pathMtu(r, ip.dst);
    // ip_exceeds_mtu: DF set and too big, or a conntrack-reassembled datagram whose largest fragment is
    if (ip.totalLength > mtu && ip.df && (pkt.fragMaxSize > mtu || !pkt.ignoreDf)) {
      if (this.tracing)
        this.hop({ kind: 'forward', what: 'frag-needed', len: ip.totalLength, out: out.name, mtu }, pkt, inDev);
      this.sendIcmpError(pkt, DEST_UNREACH, FRAG_NEEDED, mtu);
      this.drop(pkt, { what: 'too-big', out: out.name, mtu, df: false }, inDev);
      return;
    }
    const ttl = ip.ttl;
    ip.decrementTtl();
    this.stats.forwarded++;
    const nexthop = r.gateway !== 0 ? r.gateway : ip.dst;
    if (this.tracing) {
      const route = routeRef(r);
      this.hop(
        {
          kind: 'forward',
          what: 'forward',
          in: inDev.name,
          out: out.name,
          gateway: route.gateway,
          route,
          ttlBefore: ttl,
          ttlAfter: ttl - 1,
        },
        pkt,
        inDev,
      );
    }
    const nf = this.nf;
    if (nf !== null) {
      const p = nf.run(NfHook.Forward, pkt, inDev, out);
      if (p === null) return;
      pkt = p;
    }
    this.postRouting(pkt, out, nexthop, mtu, r);
  }

  /** NF POSTROUTING then ip_finish_output. */
  private postRouting(pkt: Packet, out: NetDevice, nexthop: Ipv4Addr, mtu: number, r: Route): void {
    const nf = this.nf;
    if (nf !== null) {
      const p = nf.run(NfHook.PostRouting, pkt, null, out);
      if (p === null) return;
      pkt = p;
    }
    this.finishOutput(pkt, out, nexthop, mtu, r);
  }

  /** ip_finish_output: fragment when needed, then hand to the neighbour layer. */
  private finishOutput(pkt: Packet, out: NetDevice, nexthop: Ipv4Addr, mtu: number, r: Route): void {
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    if (ip.totalLength > mtu || pkt.fragMaxSize > 0) {
      if (ip.totalLength > mtu && ip.df && !pkt.ignoreDf) {
        this.sendIcmpError(pkt, DEST_UNREACH, FRAG_NEEDED, mtu);
        this.drop(pkt, { what: 'too-big', out: out.name, mtu, df: true }, out);
        return;
      }
      // a datagram conntrack reassembled leaves in fragments no larger than the ones it came in
      const fragMtu = pkt.fragMaxSize > 0 ? Math.min(mtu, pkt.fragMaxSize) : mtu;
      if (ip.totalLength <= fragMtu) {
        pkt.fragMaxSize = 0;
        this.neighOutput(pkt, out, nexthop, r);
        return;
      }
      mtu = fragMtu;
      const frags = fragmentPacket(this.ns.world, pkt, mtu);
      this.stats.fragCreates += frags.length;
      if (this.tracing) {
        const sizes = frags.map((f) => f.len - ETH_HLEN);
        this.hop({ kind: 'frag', what: 'fragmented', len: ip.totalLength, out: out.name, mtu, sizes }, pkt, out);
      }
      for (const f of frags) this.neighOutput(f, out, nexthop, r);
      return;
    }
    this.neighOutput(pkt, out, nexthop, r);
  }

  private neighOutput(pkt: Packet, out: NetDevice, nexthop: Ipv4Addr, r: Route): void {
    const eth = new EthernetView(pkt.buf, pkt.off);
    eth.ethertype = ETHERTYPE_IPV4;
    if (out.kind === 'loopback') {
      eth.dst = 0;
      eth.src = 0;
      out.xmit(pkt);
      return;
    }
    if (r.type === 'broadcast' || nexthop === 0xffffffff) {
      eth.dst = MAC_BROADCAST;
      eth.src = out.mac;
      out.xmit(pkt);
      return;
    }
    // ip_finish_output2: sock_confirm_neigh, then neigh_output
    this.ns.neigh.output(out, nexthop, pkt, pkt.dstPendingConfirm);
  }

  // ───────────────────────────── local delivery ─────────────────────────────

  /** ip_local_deliver: reassemble, INPUT hook, protocol handlers. */
  private localDeliver(dev: NetDevice, pkt: Packet): void {
    let ip = new Ipv4View(pkt.buf, pkt.l3);
    if (ip.isFragment) {
      const whole = this.reasm.add(pkt);
      if (whole === null) return;
      pkt = whole;
      this.stats.reasmOks++;
      ip = new Ipv4View(pkt.buf, pkt.l3);
    }
    const nf = this.nf;
    if (nf !== null) {
      const p = nf.run(NfHook.LocalIn, pkt, dev, null);
      if (p === null) return;
      pkt = p;
      ip = new Ipv4View(pkt.buf, pkt.l3);
    }
    this.stats.inDelivers++;
    switch (ip.protocol) {
      case IPPROTO_ICMP:
        this.icmpRcv(dev, pkt);
        return;
      case IPPROTO_UDP:
        this.ns.sockets.udpRcv(dev, pkt);
        return;
      case IPPROTO_TCP:
        this.ns.sockets.tcpRcv(dev, pkt);
        return;
      default:
        this.sendIcmpError(pkt, DEST_UNREACH, PROTO_UNREACH, 0);
        this.drop(pkt, { what: 'protocol-unsupported', protocol: ip.protocol }, dev);
    }
  }

  /** icmp_rcv. */
  private icmpRcv(dev: NetDevice, pkt: Packet): void {
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    const off = ip.payloadOffset;
    const len = ip.payloadLength;
    let icmp: IcmpView;
    try {
      icmp = IcmpView.checked(pkt.buf, off, len);
    } catch (e) {
      if (!isWireError(e)) throw e;
      this.drop(pkt, { what: 'malformed-icmp' }, dev);
      return;
    }
    if (!icmp.verifyChecksum(len)) {
      this.drop(pkt, { what: 'bad-icmp-checksum' }, dev);
      return;
    }
    switch (icmp.type) {
      case ECHO_REQUEST:
        if (pkt.pktType !== PktType.Host && ip.dst !== this.ns.primaryAddress(dev)) {
          this.drop(pkt, { what: 'echo-to-broadcast' }, dev);
          return;
        }
        this.icmpEchoReply(pkt);
        return;
      case ECHO_REPLY:
        this.ns.sockets.pingRcv(dev, pkt);
        return;
      case DEST_UNREACH:
      case TIME_EXCEEDED:
        this.icmpErrorRcv(dev, pkt);
        return;
      default:
        if (this.tracing) this.hop({ kind: 'deliver', what: 'icmp-ignored', icmpType: icmp.type }, pkt, dev);
    }
  }

  /** icmp_unreach: learn path MTU, then report the error to the socket that sent the quoted packet. */
  private icmpErrorRcv(dev: NetDevice, pkt: Packet): void {
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    const icmp = new IcmpView(pkt.buf, ip.payloadOffset);
    const qOff = icmp.payloadOffset;
    const qLen = ip.payloadLength - 8;
    // the quote holds the original IP header and at least 8 bytes of what followed it
    const quoted = new Ipv4View(pkt.buf, qOff);
    if (qLen < IPV4_HLEN + 8 || quoted.version !== 4 || quoted.headerLen < IPV4_HLEN || qLen < quoted.headerLen + 8) {
      this.drop(pkt, { what: 'icmp-short-quote' }, dev);
      return;
    }
    if (icmp.type === DEST_UNREACH && icmp.code === FRAG_NEEDED) {
      const mtu = icmp.nextHopMtu;
      this.updatePmtu(quoted.dst, mtu, pkt);
    }
    this.ns.sockets.icmpErrorRcv(dev, pkt, icmp.type, icmp.code, icmp.nextHopMtu, quoted);
  }

  /** Records a smaller path MTU toward `dst` (ip_rt_update_pmtu; 10 min expiry; never below 552). */
  updatePmtu(dst: Ipv4Addr, mtu: number, pkt: Packet | null): void {
    const r = this.ns.fib.lookup(dst);
    const devMtu = r?.dev?.mtu ?? 1500;
    if (mtu <= 0 || mtu >= devMtu) return;
    const clamped = Math.max(mtu, MIN_PMTU);
    this.pmtu.set(dst, { mtu: clamped, expires: this.ns.world.now + PMTU_EXPIRES });
    if (this.tracing)
      this.hop({ kind: 'route', what: 'pmtu', dst: formatIpv4(dst), mtu: clamped, expires: PMTU_EXPIRES }, pkt);
  }

  /** Effective MTU of route `r` toward `dst` (PMTU exception, route MTU, or device MTU). */
  pathMtu(r: Route, dst: Ipv4Addr): number {
    const e = this.pmtu.get(dst);
    if (e !== undefined) {
      if (e.expires > this.ns.world.now) return e.mtu;
      this.pmtu.delete(dst);
    }
    return r.mtu || r.dev?.mtu || 1500;
  }

  /** The cached PMTU toward a destination, if any (for `ip route get`-style output and tests). */
  cachedPmtu(dst: Ipv4Addr): number | undefined {
    const e = this.pmtu.get(dst);
    return e !== undefined && e.expires > this.ns.world.now ? e.mtu : undefined;
  }

  /** icmp_echo: the kernel answers an echo request with the same id, sequence and data. */
  private icmpEchoReply(req: Packet): void {
    const ip = new Ipv4View(req.buf, req.l3);
    const icmpOff = ip.payloadOffset;
    const icmpLen = ip.payloadLength;
    const saddr = ip.dst;
    const daddr = ip.src;
    const rt = this.routeOutput(daddr, saddr);
    if (typeof rt === 'string') {
      this.drop(req, { what: 'no-route-for-echo-reply', dst: formatIpv4(daddr) });
      return;
    }
    const pkt = this.ns.world.allocPacket(ETH_HLEN + IPV4_HLEN + icmpLen, req.flow);
    const l3 = pkt.off + ETH_HLEN;
    emitIpv4Header(
      {
        src: saddr,
        dst: daddr,
        protocol: IPPROTO_ICMP,
        ttl: this.ns.sysctl.defaultTtl,
        ident: this.selectIdent(saddr, daddr, IPPROTO_ICMP),
        df: false,
        mf: false,
        fragOffset: 0,
        tos: ip.tos,
        payloadLen: icmpLen,
      },
      pkt.buf,
      l3,
    );
    pkt.buf.set(req.buf.subarray(icmpOff, icmpOff + icmpLen), l3 + IPV4_HLEN);
    const icmp = new IcmpView(pkt.buf, l3 + IPV4_HLEN);
    icmp.type = ECHO_REPLY;
    icmp.code = 0;
    icmp.fillChecksum(icmpLen);
    if (req.flow !== 0) this.ns.world.echoAnswered.set(req.flow, (this.ns.world.echoAnswered.get(req.flow) ?? 0) + 1);
    if (this.tracing)
      this.hop(
        {
          kind: 'icmp',
          what: 'echo-reply',
          src: formatIpv4(saddr),
          dst: formatIpv4(daddr),
          id: icmp.ident,
          seq: icmp.seq,
        },
        pkt,
      );
    this.localOut(pkt, rt);
  }

  /**
   * icmp_send: an ICMP error about `orig` back to its source, unless forbidden (errors about
   * errors, non-first fragments, broadcasts) or rate-limited.
   */
  sendIcmpError(orig: Packet, type: number, code: number, info: number): void {
    let ip: Ipv4View;
    try {
      ip = Ipv4View.checked(orig.buf, orig.l3, orig.l3Len);
    } catch (e) {
      if (!isWireError(e)) throw e;
      return;
    }
    if (ip.fragOffset !== 0) return;
    if (orig.pktType !== PktType.Host && orig.pktType !== PktType.Outgoing && orig.iif !== 0) return;
    const src = ip.src;
    if (src === 0 || src >>> 28 === 0xe || src === 0xffffffff) return;
    if (this.ns.fib.lookup(ip.dst)?.type === 'broadcast') return;
    if (ip.protocol === IPPROTO_ICMP && ip.payloadLength >= 1) {
      const t = orig.buf[ip.payloadOffset]!;
      // never an error about an error (only echo/timestamp/info types may be answered)
      if (
        t !== ECHO_REQUEST &&
        t !== ECHO_REPLY &&
        t !== 13 &&
        t !== 14 &&
        t !== 15 &&
        t !== 16 &&
        t !== 17 &&
        t !== 18
      )
        return;
    }
    if (!this.icmpRateAllow(src, type, code)) {
      if (this.tracing)
        this.hop({ kind: 'icmp', what: 'ratelimited', icmpType: type, code, dst: formatIpv4(src) }, orig);
      return;
    }
    // Source address: the original destination when it was ours, else chosen by the route back.
    const wasLocal = this.ns.fib.isLocal(ip.dst);
    const rt = this.routeOutput(src, wasLocal ? ip.dst : 0);
    if (typeof rt === 'string') return;
    const saddr = wasLocal ? ip.dst : rt.src;
    // room: at most 576 bytes in all, as RFC 1812 allows and Linux does
    let room = Math.min(rt.mtu, 576) - IPV4_HLEN - 8;
    const quoteLen = Math.min(ip.totalLength, room);
    room = quoteLen;
    const icmpLen = 8 + room;
    const pkt = this.ns.world.allocPacket(ETH_HLEN + IPV4_HLEN + icmpLen, orig.flow);
    const l3 = pkt.off + ETH_HLEN;
    emitIpv4Header(
      {
        src: saddr,
        dst: src,
        protocol: IPPROTO_ICMP,
        ttl: this.ns.sysctl.defaultTtl,
        ident: this.selectIdent(saddr, src, IPPROTO_ICMP),
        df: false,
        mf: false,
        fragOffset: 0,
        // errors carry precedence "internet control" (0xc0) plus the original TOS bits
        tos: (ip.tos & 0x1e) | 0xc0,
        payloadLen: icmpLen,
      },
      pkt.buf,
      l3,
    );
    const icmp = new IcmpView(pkt.buf, l3 + IPV4_HLEN);
    icmp.type = type;
    icmp.code = code;
    pkt.buf.fill(0, l3 + IPV4_HLEN + 4, l3 + IPV4_HLEN + 8);
    if (type === DEST_UNREACH && code === FRAG_NEEDED) icmp.nextHopMtu = info;
    pkt.buf.set(orig.buf.subarray(orig.l3, orig.l3 + quoteLen), l3 + IPV4_HLEN + 8);
    icmp.fillChecksum(icmpLen);
    if (orig.ct !== null) {
      // icmp_glue_bits → nf_ct_attach: the error joins the quoted packet's connection, RELATED in
      // the other direction, even when that entry is unconfirmed (a DNATed datagram refused in
      // ip_forward): the nat hooks then undo the DNAT in the quote, as the kernel's captures show
      pkt.ct = orig.ct;
      pkt.ctReply = !orig.ctReply;
      pkt.ctRelated = true;
    }
    if (this.tracing) {
      const mtu = type === DEST_UNREACH && code === FRAG_NEEDED ? info : undefined;
      this.hop(
        { kind: 'icmp', what: 'error', icmpType: type, code, src: formatIpv4(saddr), dst: formatIpv4(src), mtu },
        pkt,
      );
    }
    this.localOut(pkt, rt);
  }

  /** A TCP RST answering `pkt` (REJECT --reject-with tcp-reset). */
  sendTcpReset(pkt: Packet): void {
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    if (ip.protocol !== IPPROTO_TCP || ip.fragOffset !== 0) return;
    try {
      const tcp = TcpView.checked(pkt.buf, ip.payloadOffset, ip.payloadLength);
      this.ns.sockets.tcp.sendReset(pkt, ip, tcp, pkt.flow);
    } catch (e) {
      if (!isWireError(e)) throw e;
    }
  }

  /** Host unreachable for a packet whose next hop never answered ARP (arp_error_report). */
  icmpHostUnreachableForQueued(pkt: Packet): void {
    this.sendIcmpError(pkt, DEST_UNREACH, HOST_UNREACH, 0);
  }

  private icmpRateAllow(dst: Ipv4Addr, type: number, code: number): boolean {
    if (type > 31 || !(this.ns.sysctl.icmpRatemask & (1 << type))) return true;
    if (type === DEST_UNREACH && code === FRAG_NEEDED) return true;
    if (this.ns.fib.isLocal(dst)) return true;
    const timeout = this.ns.sysctl.icmpRatelimit;
    if (timeout === 0) return true;
    const now = this.ns.world.now;
    let b = this.icmpTokens.get(dst);
    if (b === undefined) {
      b = { tokens: 0, last: now - sec(60) };
      this.icmpTokens.set(dst, b);
    }
    let tokens = b.tokens + (now - b.last);
    b.last = now;
    if (tokens > 6 * timeout) tokens = 6 * timeout;
    let ok = false;
    if (tokens >= timeout) {
      tokens -= timeout;
      ok = true;
    }
    b.tokens = tokens;
    return ok;
  }

  // ───────────────────────────── output ─────────────────────────────

  /** ip_route_output: the route, device, source address, next hop and MTU toward `dst`. */
  routeOutput(dst: Ipv4Addr, src = 0, oif: NetDevice | null = null): OutputRoute | RouteError {
    const fib = this.ns.fib;
    if (src !== 0 && !fib.isLocal(src) && src !== 0xffffffff) return 'EINVAL';
    let r: Route | undefined;
    if (oif !== null && (dst === 0xffffffff || dst >>> 28 === 0xe)) {
      r = {
        table: 'main',
        type: 'broadcast',
        dst,
        len: 32,
        dev: oif,
        gateway: 0,
        onlink: false,
        scope: 'link',
        prefsrc: 0,
        proto: 'kernel',
        mtu: 0,
      };
    } else {
      r = fib.lookup(dst);
    }
    if (r === undefined) return 'ENETUNREACH';
    if (r.type === 'unreachable' || r.type === 'prohibit' || r.type === 'blackhole') return 'EHOSTUNREACH';
    if (r.type === 'local') {
      const lo = this.ns.lo;
      return { route: r, dev: lo, src: src || dst, nexthop: dst, mtu: lo.mtu, local: true, broadcast: false };
    }
    const dev = r.dev;
    if (dev === null) return 'ENETUNREACH';
    const chosen = src || r.prefsrc || this.ns.selectSourceAddress(dev, r.gateway || dst, r.gateway ? 'link' : r.scope);
    return {
      route: r,
      dev,
      src: chosen,
      nexthop: r.gateway !== 0 ? r.gateway : dst,
      mtu: this.pathMtu(r, dst),
      local: false,
      broadcast: r.type === 'broadcast',
    };
  }

  /** ip_local_out: OUTPUT hook (re-routing if NAT changed the destination), then POSTROUTING and output. */
  localOut(pkt: Packet, rt: OutputRoute): void {
    this.stats.outRequests++;
    pkt.iif = 0;
    pkt.pktType = PktType.Outgoing;
    let ip = new Ipv4View(pkt.buf, pkt.l3);
    const nf = this.nf;
    if (nf !== null) {
      const dstBefore = ip.dst;
      const p = nf.run(NfHook.LocalOut, pkt, null, rt.dev);
      if (p === null) return;
      pkt = p;
      ip = new Ipv4View(pkt.buf, pkt.l3);
      if (ip.dst !== dstBefore) {
        // ip_route_me_harder: a DNAT in OUTPUT re-routes the packet
        const again = this.routeOutput(ip.dst, 0);
        if (typeof again === 'string') {
          this.drop(pkt, { what: 'no-route-after-nat', dst: formatIpv4(ip.dst), error: again });
          return;
        }
        rt = again;
      }
    }
    if (this.tracing) {
      const body = {
        kind: 'route',
        what: 'output',
        dst: formatIpv4(ip.dst),
        src: formatIpv4(ip.src),
        out: rt.dev.name,
        local: rt.local,
        route: routeRef(rt.route),
      } as const;
      this.hop(body, pkt, rt.dev);
    }
    this.postRouting(pkt, rt.dev, rt.nexthop, rt.local ? rt.dev.mtu : rt.mtu, rt.route);
  }

  /**
   * __ip_select_ident: an IP ID from a hashed per-(src, dst, proto) bucket that advances by 1
   * plus a random amount below the jiffies (HZ=250) elapsed since the bucket was last used.
   */
  selectIdent(src: Ipv4Addr, dst: Ipv4Addr, proto: number): number {
    const key = ((src ^ Math.imul(dst, 0x9e3779b1) ^ (proto << 24)) >>> 0) % 2048;
    const jiffies = jiffiesAt(this.ns.world.now);
    let b = this.idents.get(key);
    if (b === undefined) {
      b = { id: this.ns.rng.nextU32() & 0xffff, stamp: jiffies };
      this.idents.set(key, b);
    }
    let delta = 1;
    if (jiffies !== b.stamp) {
      delta += this.ns.rng.nextInt(jiffies - b.stamp);
      b.stamp = jiffies;
    }
    b.id = (b.id + delta) & 0xffff;
    return b.id;
  }
}

export { Packet };
