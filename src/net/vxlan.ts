/**
 * A VXLAN device (drivers/net/vxlan) as flannel creates it: `vxlan id 1 local <node IP>
 * dstport 8472 nolearning`, static FDB entries `<VTEP MAC> dst <node IP>`, outer TTL 64,
 * DF clear, UDP checksum on, outer source port from the inner flow hash (udp_flow_src_port).
 */
import type { Ipv4Addr, MacAddr } from '../wire/addr.js';
import { formatIpv4, formatMac } from '../wire/addr.js';
import { ETHERTYPE_IPV4, ETH_HLEN, EthernetView } from '../wire/ethernet.js';
import { IPPROTO_UDP, IPV4_HLEN, emitIpv4Header } from '../wire/ipv4.js';
import type { Ipv4View } from '../wire/ipv4.js';
import { UDP_HLEN, UdpView } from '../wire/udp.js';
import { VXLAN_HLEN, VxlanView, emitVxlan } from '../wire/vxlan.js';
import { NetDevice } from './device.js';
import type { Packet } from './packet.js';
import type { NetNs } from './netns.js';
import { flowHash } from './flowhash.js';

/** Bytes VXLAN adds in front of the inner frame: outer Ethernet + IPv4 + UDP + VXLAN. */
export const VXLAN_OVERHEAD = ETH_HLEN + IPV4_HLEN + UDP_HLEN + VXLAN_HLEN;

/** A VXLAN FDB entry (`bridge fdb append <mac> dev flannel.1 dst <ip> self permanent`). */
export interface VxlanFdbEntry {
  readonly mac: MacAddr;
  readonly dst: Ipv4Addr;
}

/** The VXLAN device (flannel.1). */
export class VxlanDevice extends NetDevice {
  readonly kind = 'vxlan' as const;
  private fdb = new Map<MacAddr, VxlanFdbEntry>();
  /** FDB entries derived on demand (remote VTEP MAC → node IP), for large clusters. */
  fdbProvider: { lookup(mac: MacAddr): Ipv4Addr | undefined; all(): VxlanFdbEntry[] } | null = null;
  /** Source port range for the outer UDP header (ip_local_port_range: [min, max]). */
  portMin = 32768;
  portMax = 61000;

  constructor(
    ns: NetNs,
    name: string,
    mac: MacAddr,
    mtu: number,
    readonly vni: number,
    readonly dstPort: number,
    readonly localIp: Ipv4Addr,
    role = '',
  ) {
    super(ns, name, mac, mtu, role);
    // receive side: the node's UDP stack hands datagrams for dstPort to us (udp_tunnel encap_rcv)
    ns.sockets.bindEncap(dstPort, (pkt, ip, udp) => this.encapRcv(pkt, ip, udp));
  }

  /** Adds a static FDB entry pointing a remote VTEP MAC at its node IP. */
  addFdb(mac: MacAddr, dst: Ipv4Addr): void {
    this.fdb.set(mac, { mac, dst });
  }

  /** The FDB (`bridge fdb show dev flannel.1`). */
  fdbEntries(): VxlanFdbEntry[] {
    return [...this.fdb.values(), ...(this.fdbProvider?.all() ?? [])];
  }

  /** vxlan_xmit: look up the remote VTEP, encapsulate, and send through the host's IP stack. */
  protected transmit(pkt: Packet): void {
    const w = this.ns.world;
    const innerEth = new EthernetView(pkt.buf, pkt.off);
    const dstMac = innerEth.dst;
    let entry = this.fdb.get(dstMac);
    if (entry === undefined && this.fdbProvider !== null) {
      const dst = this.fdbProvider.lookup(dstMac);
      if (dst !== undefined) entry = { mac: dstMac, dst };
    }
    entry ??= this.fdb.get(0);
    if (entry === undefined) {
      this.drop(pkt, { what: 'vxlan-no-fdb', mac: formatMac(dstMac) });
      return;
    }
    const stack = this.ns.stack;
    const rt = stack.routeOutput(entry.dst, this.localIp);
    if (typeof rt === 'string' || rt.dev === this) {
      this.drop(pkt, { what: 'vxlan-no-underlay-route', remote: formatIpv4(entry.dst) });
      return;
    }
    const hash = pkt.hash !== 0 ? pkt.hash : flowHash(w.flowHashSeed, pkt.buf, pkt.off, pkt.len);
    // udp_flow_src_port: h ^= h << 16; port = ((u64)h * (max - min)) >> 32 + min
    const h = (hash ^ (hash << 16)) >>> 0;
    const sport = Math.floor((h * (this.portMax - this.portMin)) / 0x1_0000_0000) + this.portMin;
    const innerLen = pkt.len;
    // iptunnel_xmit → skb_scrub_packet: the outer packet is a new flow for conntrack
    pkt.ct = null;
    pkt.ctReply = false;
    pkt.ctRelated = false;
    pkt.fragMaxSize = 0;
    const ecn =
      innerEth.ethertype === ETHERTYPE_IPV4 && innerLen >= ETH_HLEN + IPV4_HLEN
        ? pkt.buf[pkt.off + ETH_HLEN + 1]! & 0x03
        : 0;
    pkt.push(VXLAN_OVERHEAD);
    const o = pkt.off;
    const l3 = o + ETH_HLEN;
    const udpOff = l3 + IPV4_HLEN;
    emitVxlan({ vni: this.vni }, pkt.buf, udpOff + UDP_HLEN);
    const udpLen = UDP_HLEN + VXLAN_HLEN + innerLen;
    const udp = new UdpView(pkt.buf, udpOff);
    udp.srcPort = sport;
    udp.dstPort = this.dstPort;
    udp.length = udpLen;
    udp.checksum = 0;
    emitIpv4Header(
      {
        src: this.localIp,
        dst: entry.dst,
        protocol: IPPROTO_UDP,
        ttl: this.ns.sysctl.defaultTtl,
        ident: stack.selectIdent(this.localIp, entry.dst, IPPROTO_UDP),
        df: false,
        mf: false,
        fragOffset: 0,
        tos: ecn,
        payloadLen: udpLen,
      },
      pkt.buf,
      l3,
    );
    udp.fillChecksum(this.localIp, entry.dst);
    new EthernetView(pkt.buf, o).ethertype = ETHERTYPE_IPV4;
    pkt.hash = hash;
    if (w.tracer.active) {
      this.ns.trace(
        {
          kind: 'encap',
          tunnel: 'vxlan',
          innerMac: formatMac(dstMac),
          remote: formatIpv4(entry.dst),
          local: formatIpv4(this.localIp),
          vni: this.vni,
          sport,
          dport: this.dstPort,
          ttl: this.ns.sysctl.defaultTtl,
        },
        pkt,
        this.name,
      );
    }
    stack.localOut(pkt, rt);
  }

  /** vxlan_rcv: strip the outer headers and receive the inner frame on this device. */
  private encapRcv(pkt: Packet, ip: Ipv4View, udp: UdpView): boolean {
    const w = this.ns.world;
    const vxOff = udp.payloadOffset;
    if (udp.payloadLength < VXLAN_HLEN + ETH_HLEN) {
      this.drop(pkt, { what: 'vxlan-short' });
      return true;
    }
    const vx = new VxlanView(pkt.buf, vxOff);
    if ((vx.flags & 0x08) === 0 || vx.vni !== this.vni) {
      this.drop(pkt, { what: 'vxlan-vni-mismatch', vni: vx.vni, device: this.name, deviceVni: this.vni });
      return true;
    }
    const innerOff = vxOff + VXLAN_HLEN;
    const innerLen = udp.payloadLength - VXLAN_HLEN;
    if (w.tracer.active)
      this.ns.trace(
        { kind: 'decap', tunnel: 'vxlan', vni: vx.vni, remote: formatIpv4(ip.src), sport: udp.srcPort },
        pkt,
        this.name,
      );
    pkt.pull(innerOff - pkt.off);
    pkt.len = innerLen;
    pkt.mark = 0;
    pkt.ct = null;
    pkt.ctReply = false;
    pkt.ctRelated = false;
    pkt.brNfDone = false;
    this.receive(pkt);
    return true;
  }
}
