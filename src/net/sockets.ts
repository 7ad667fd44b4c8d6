/**
 * Sockets of one netns: UDP (with PMTU discovery modes), ping (raw ICMP echo), TCP
 * (see tcp.ts), and UDP tunnel endpoints (VXLAN). Demultiplexes what the IPv4 stack delivers
 * locally and turns unmatched datagrams into ICMP port unreachable / TCP resets.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { formatIpv4 } from '../wire/addr.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_HLEN, Ipv4View, emitIpv4Header } from '../wire/ipv4.js';
import {
  ICMP_DEST_UNREACH as DEST_UNREACH,
  ICMP_ECHO_REQUEST as ECHO_REQUEST,
  ICMP_FRAG_NEEDED as FRAG_NEEDED,
  IcmpView,
  ICMP_PORT_UNREACH as PORT_UNREACH,
} from '../wire/icmp.js';
import { UDP_HLEN, UdpView } from '../wire/udp.js';
import { TcpView } from '../wire/tcp.js';
import { isWireError } from '../wire/errors.js';
import type { NetDevice } from './device.js';
import type { Packet } from './packet.js';
import { PktType } from './packet.js';
import type { NetNs } from './netns.js';
import { TcpEngine } from './tcp.js';
import type { Rng } from '../sim/rng.js';
import type { BodyOf } from '../events/hop.js';

/** IP_MTU_DISCOVER modes: `do` sets DF and refuses oversize sends, `want` sets DF when it fits, `dont` never. */
export type PmtuDisc = 'do' | 'want' | 'dont';

/** An error reported to a socket (errno plus, for ICMP errors, where it came from). */
export interface SocketError {
  readonly errno:
    | 'EMSGSIZE'
    | 'ECONNREFUSED'
    | 'EHOSTUNREACH'
    | 'ENETUNREACH'
    | 'ETIMEDOUT'
    | 'ECONNRESET'
    | 'EINVAL'
    | 'EADDRINUSE'
    | 'EPROTO';
  /** Local errors (EMSGSIZE before sending) vs. errors reported by an ICMP message. */
  readonly local: boolean;
  readonly mtu: number | undefined;
  readonly from: Ipv4Addr | undefined;
  readonly icmpType: number | undefined;
  readonly icmpCode: number | undefined;
  readonly message: string;
}

/** Builds a SocketError. */
export function socketError(
  errno: SocketError['errno'],
  message: string,
  extra: Partial<SocketError> = {},
): SocketError {
  return {
    errno,
    local: extra.local ?? true,
    mtu: extra.mtu,
    from: extra.from,
    icmpType: extra.icmpType,
    icmpCode: extra.icmpCode,
    message,
  };
}

/** Metadata of a received datagram. */
export interface RecvInfo {
  readonly from: Ipv4Addr;
  readonly fromPort: number;
  readonly to: Ipv4Addr;
  readonly ttl: number;
  readonly packetId: number;
  /** Flow id of the packet (replies inherit it). */
  readonly flow: number;
}

type EncapHandler = (pkt: Packet, ip: Ipv4View, udp: UdpView) => boolean;

/** A UDP socket. */
export class UdpSocket {
  remoteAddr = 0;
  remotePort = 0;
  pmtudisc: PmtuDisc = 'want';
  /** sk_txhash: set when connected (ip4_datagram_connect), else 0 (flow dissector hash). */
  txhash = 0;
  /** inet_id: per-socket IP ID counter for DF packets of connected sockets. */
  private inetId = 0;
  closed = false;
  onMessage: ((data: Uint8Array, info: RecvInfo) => void) | null = null;
  onError: ((err: SocketError) => void) | null = null;

  constructor(
    private readonly table: SocketTable,
    readonly localAddr: Ipv4Addr,
    readonly localPort: number,
    public flow: number,
  ) {}

  /** Fixes the peer (ip4_datagram_connect): draws sk_txhash and a random inet_id. */
  connect(addr: Ipv4Addr, port: number): void {
    this.remoteAddr = addr;
    this.remotePort = port;
    this.txhash = this.table.ns.rng.nextU32() || 1;
    this.inetId = this.table.ns.rng.nextU32() & 0xffff;
  }

  /** Sends to the connected peer. */
  send(data: Uint8Array): SocketError | undefined {
    return this.sendTo(this.remoteAddr, this.remotePort, data);
  }

  /** Sends a datagram; returns a local error (EMSGSIZE, ENETUNREACH) instead of sending when one applies. */
  sendTo(dst: Ipv4Addr, dport: number, data: Uint8Array): SocketError | undefined {
    const ns = this.table.ns;
    const stack = ns.stack;
    const rt = stack.routeOutput(dst, this.localAddr);
    if (typeof rt === 'string') return socketError(rt === 'EINVAL' ? 'EINVAL' : rt, `sendto ${formatIpv4(dst)}: ${rt}`);
    const ipLen = IPV4_HLEN + UDP_HLEN + data.length;
    const mtu = rt.local ? rt.dev.mtu : rt.mtu;
    if (ipLen > mtu && this.pmtudisc === 'do') {
      return socketError('EMSGSIZE', `message too long, mtu=${mtu}`, { mtu });
    }
    const df = this.pmtudisc === 'do' || (this.pmtudisc === 'want' && ipLen <= mtu);
    const pkt = ns.world.allocPacket(ETH_HLEN + ipLen, this.flow);
    const l3 = pkt.off + ETH_HLEN;
    const src = rt.src;
    emitIpv4Header(
      {
        src,
        dst,
        protocol: IPPROTO_UDP,
        ttl: ns.sysctl.defaultTtl,
        ident: this.ident(df, src, dst),
        df,
        mf: false,
        fragOffset: 0,
        tos: 0,
        payloadLen: UDP_HLEN + data.length,
      },
      pkt.buf,
      l3,
    );
    const udp = new UdpView(pkt.buf, l3 + IPV4_HLEN);
    udp.srcPort = this.localPort;
    udp.dstPort = dport;
    udp.length = UDP_HLEN + data.length;
    udp.checksum = 0;
    pkt.buf.set(data, l3 + IPV4_HLEN + UDP_HLEN);
    udp.fillChecksum(src, dst);
    pkt.hash = this.txhash;
    pkt.ignoreDf = this.pmtudisc !== 'do';
    stack.localOut(pkt, rt);
    return undefined;
  }

  private ident(df: boolean, src: Ipv4Addr, dst: Ipv4Addr): number {
    // ip_select_ident: connected sockets count from a random inet_id; unconnected ones send
    // ID 0 when DF is set without ignore_df (pmtudisc do), else use the hashed counter
    if (this.remoteAddr !== 0) {
      const id = this.inetId;
      this.inetId = (this.inetId + 1) & 0xffff;
      return id;
    }
    if (df && this.pmtudisc === 'do') return 0;
    return this.table.ns.stack.selectIdent(src, dst, IPPROTO_UDP);
  }

  /** Closes the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.table.unbindUdp(this);
  }
}

/** A raw ICMP socket as `ping` (run as root) uses: sends echo requests, receives replies and errors. */
export class PingSocket {
  pmtudisc: PmtuDisc = 'want';
  ttl: number;
  closed = false;
  onReply: ((seq: number, data: Uint8Array, info: RecvInfo) => void) | null = null;
  onError: ((seq: number, err: SocketError) => void) | null = null;

  constructor(
    private readonly table: SocketTable,
    readonly ident: number,
    public flow: number,
  ) {
    this.ttl = table.ns.sysctl.defaultTtl;
  }

  /** Sends an echo request with `data` as payload. */
  sendEcho(dst: Ipv4Addr, seq: number, data: Uint8Array): SocketError | undefined {
    const ns = this.table.ns;
    const stack = ns.stack;
    const rt = stack.routeOutput(dst);
    if (typeof rt === 'string')
      return socketError(rt === 'EINVAL' ? 'EINVAL' : rt, `connect: Network is unreachable (${rt})`);
    const icmpLen = 8 + data.length;
    const ipLen = IPV4_HLEN + icmpLen;
    const mtu = rt.local ? rt.dev.mtu : rt.mtu;
    if (ipLen > mtu && this.pmtudisc === 'do') {
      return socketError('EMSGSIZE', `local error: message too long, mtu=${mtu}`, { mtu });
    }
    const df = this.pmtudisc === 'do' || (this.pmtudisc === 'want' && ipLen <= mtu);
    const pkt = ns.world.allocPacket(ETH_HLEN + ipLen, this.flow);
    const l3 = pkt.off + ETH_HLEN;
    const src = rt.src;
    emitIpv4Header(
      {
        src,
        dst,
        protocol: IPPROTO_ICMP,
        ttl: this.ttl,
        // ip_select_ident on an unconnected socket: ID 0 only for DF without ignore_df (pmtudisc do)
        ident: df && this.pmtudisc === 'do' ? 0 : stack.selectIdent(src, dst, IPPROTO_ICMP),
        df,
        mf: false,
        fragOffset: 0,
        tos: 0,
        payloadLen: icmpLen,
      },
      pkt.buf,
      l3,
    );
    const icmp = new IcmpView(pkt.buf, l3 + IPV4_HLEN);
    icmp.type = ECHO_REQUEST;
    icmp.code = 0;
    icmp.ident = this.ident;
    icmp.seq = seq;
    pkt.buf.set(data, l3 + IPV4_HLEN + 8);
    icmp.fillChecksum(icmpLen);
    pkt.ignoreDf = this.pmtudisc !== 'do';
    stack.localOut(pkt, rt);
    return undefined;
  }

  /** Closes the socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.table.unbindPing(this);
  }
}

/** All sockets of a netns. */
export class SocketTable {
  private udp = new Map<number, UdpSocket[]>();
  private encap = new Map<number, EncapHandler>();
  private ping = new Map<number, PingSocket>();
  readonly tcp: TcpEngine;

  constructor(readonly ns: NetNs) {
    this.tcp = new TcpEngine(ns);
  }

  /** Registers a UDP tunnel endpoint (VXLAN) on a port; it sees datagrams before ordinary sockets. */
  bindEncap(port: number, handler: EncapHandler): void {
    this.encap.set(port, handler);
  }

  /** Opens a UDP socket bound to addr:port (port 0 = an ephemeral port). */
  openUdp(localAddr: Ipv4Addr, localPort: number, flow = 0): UdpSocket | SocketError {
    let port = localPort;
    if (port === 0) {
      port = this.ephemeralPort((p) => !this.udp.has(p) && !this.encap.has(p));
      if (port === 0) return socketError('EADDRINUSE', 'no free ephemeral UDP port');
    } else {
      const existing = this.udp.get(port) ?? [];
      if (
        this.encap.has(port) ||
        existing.some((s) => s.localAddr === 0 || localAddr === 0 || s.localAddr === localAddr)
      ) {
        return socketError('EADDRINUSE', `UDP port ${port} already in use`);
      }
    }
    const s = new UdpSocket(this, localAddr, port, flow);
    const list = this.udp.get(port);
    if (list) list.push(s);
    else this.udp.set(port, [s]);
    return s;
  }

  /** @internal */
  unbindUdp(s: UdpSocket): void {
    const list = this.udp.get(s.localPort);
    if (!list) return;
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.udp.delete(s.localPort);
  }

  /** Opens a ping socket with a given ICMP identifier. */
  openPing(ident: number, flow = 0): PingSocket {
    const s = new PingSocket(this, ident & 0xffff, flow);
    this.ping.set(s.ident, s);
    return s;
  }

  /** @internal */
  unbindPing(s: PingSocket): void {
    if (this.ping.get(s.ident) === s) this.ping.delete(s.ident);
  }

  // __inet_hash_connect state: net_secret (the key of secure_ipv4_port_ephemeral) and
  // table_perturb, drawn once per netns from a stream of their own (so other draws stay put)
  private connectKeys: Uint32Array | null = null;
  /** table_perturb entries that moved from their initial (random) value, by index. */
  private readonly perturb = new Map<number, number>();
  private connectRng: Rng | null = null;

  /**
   * The source port connect() binds when the socket has none (__inet_hash_connect, Linux ≥ 6.1):
   * a keyed hash of (saddr, daddr, dport) picks an entry of table_perturb (2^16 entries, random
   * at boot) and an offset into ip_local_port_range; ports of the range's low end's parity (even)
   * are walked upward from there in steps of 2, then the other parity, up to the first `usable`
   * one; then the entry advances by 2 plus the larger of the distance walked and a random 0–14
   * (even), so successive connections to one destination get ports 2–16 apart, rising. 0 when
   * no port is usable.
   */
  connectPort(saddr: Ipv4Addr, daddr: Ipv4Addr, dport: number, usable: (port: number) => boolean): number {
    let keys = this.connectKeys;
    if (keys === null) {
      const rng = (this.connectRng = this.ns.rng.fork('inet-hash-connect'));
      keys = this.connectKeys = new Uint32Array([rng.nextU32(), rng.nextU32(), rng.nextU32()]);
    }
    const [lo, hi] = this.ns.sysctl.localPortRange;
    const high = hi + 1;
    let remaining = high - lo;
    if (remaining > 1) remaining &= ~1;
    if (remaining <= 0) return 0;
    // port_offset: 64 bits from secure_ipv4_port_ephemeral; the low bits index table_perturb
    const offLo = mix3(keys[0]!, saddr, daddr, dport);
    const offHi = mix3(keys[1]!, daddr, saddr, dport ^ 0x5bd1e995);
    const index = offLo & 0xffff;
    const perturb = this.perturb.get(index) ?? mix3(keys[2]!, index, 0x9e3779b9, 0);
    let offset = ((perturb + offHi) >>> 0) % remaining;
    offset &= ~1;
    for (;;) {
      let port = lo + offset;
      for (let i = 0; i < remaining; i += 2, port += 2) {
        if (port >= high) port -= remaining;
        if (!usable(port)) continue;
        // i = max(i, get_random_u32_below(8) * step); table_perturb[index] += i + step
        const step = Math.max(i, this.connectRng!.nextInt(8) * 2);
        this.perturb.set(index, (perturb + step + 2) >>> 0);
        return port;
      }
      offset++;
      if ((offset & 1) === 0 || remaining <= 1) return 0;
    }
  }

  /** A random free port in ip_local_port_range (0 when none is free): udp_lib_get_port. */
  ephemeralPort(free: (port: number) => boolean): number {
    const [lo, hi] = this.ns.sysctl.localPortRange;
    const n = hi - lo + 1;
    const start = this.ns.rng.nextInt(n);
    for (let i = 0; i < n; i++) {
      const p = lo + ((start + i) % n);
      if (free(p)) return p;
    }
    return 0;
  }

  private findUdp(port: number, dst: Ipv4Addr, src: Ipv4Addr, sport: number): UdpSocket | undefined {
    const list = this.udp.get(port);
    if (!list) return undefined;
    let best: UdpSocket | undefined;
    let bestScore = -1;
    for (const s of list) {
      if (s.localAddr !== 0 && s.localAddr !== dst) continue;
      if (s.remoteAddr !== 0 && (s.remoteAddr !== src || s.remotePort !== sport)) continue;
      const score = (s.localAddr !== 0 ? 2 : 0) + (s.remoteAddr !== 0 ? 4 : 0);
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    return best;
  }

  /** udp_rcv. */
  udpRcv(dev: NetDevice, pkt: Packet): void {
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    let udp: UdpView;
    try {
      udp = UdpView.checked(pkt.buf, ip.payloadOffset, ip.payloadLength);
    } catch (e) {
      if (!isWireError(e)) throw e;
      this.ns.stack.drop(pkt, { what: 'malformed-udp' }, dev);
      return;
    }
    if (!udp.verifyChecksum(ip.src, ip.dst)) {
      this.ns.stack.drop(pkt, { what: 'bad-udp-checksum' }, dev);
      return;
    }
    const handler = this.encap.get(udp.dstPort);
    if (handler?.(pkt, ip, udp)) return;
    const s = this.findUdp(udp.dstPort, ip.dst, ip.src, udp.srcPort);
    const w = this.ns.world;
    if (s === undefined) {
      if (w.tracer.active) this.trace(pkt, dev, { kind: 'deliver', what: 'udp-no-socket', port: udp.dstPort });
      if (pkt.pktType === PktType.Host || pkt.pktType === PktType.Outgoing)
        this.ns.stack.sendIcmpError(pkt, DEST_UNREACH, PORT_UNREACH, 0);
      this.ns.stack.drop(pkt, { what: 'udp-port-unreachable', port: udp.dstPort }, dev);
      return;
    }
    if (w.tracer.active)
      this.trace(pkt, dev, { kind: 'deliver', what: 'udp', addr: formatIpv4(s.localAddr), port: s.localPort });
    const off = udp.payloadOffset;
    const data = pkt.buf.slice(off, off + udp.payloadLength);
    s.onMessage?.(data, {
      from: ip.src,
      fromPort: udp.srcPort,
      to: ip.dst,
      ttl: ip.ttl,
      packetId: pkt.id,
      flow: pkt.flow,
    });
  }

  /** Echo replies go to the ping socket with the matching identifier. */
  pingRcv(dev: NetDevice, pkt: Packet): void {
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    const icmp = new IcmpView(pkt.buf, ip.payloadOffset);
    const s = this.ping.get(icmp.ident);
    if (s === undefined) {
      if (this.ns.world.tracer.active)
        this.trace(pkt, dev, { kind: 'deliver', what: 'ping-no-socket', id: icmp.ident });
      return;
    }
    if (this.ns.world.tracer.active)
      this.trace(pkt, dev, { kind: 'deliver', what: 'ping', id: icmp.ident, seq: icmp.seq });
    const data = pkt.buf.slice(icmp.payloadOffset, ip.payloadOffset + ip.payloadLength);
    s.onReply?.(icmp.seq, data, {
      from: ip.src,
      fromPort: 0,
      to: ip.dst,
      ttl: ip.ttl,
      packetId: pkt.id,
      flow: pkt.flow,
    });
  }

  /** Hands an ICMP error to the socket that sent the quoted datagram (icmp_unreach → err_handler). */
  icmpErrorRcv(dev: NetDevice, pkt: Packet, type: number, code: number, mtu: number, quoted: Ipv4View): void {
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    const q = quoted.payloadOffset;
    const proto = quoted.protocol;
    const errno: SocketError['errno'] =
      type === DEST_UNREACH
        ? code === PORT_UNREACH
          ? 'ECONNREFUSED'
          : code === FRAG_NEEDED
            ? 'EMSGSIZE'
            : code === 0
              ? 'ENETUNREACH'
              : 'EHOSTUNREACH'
        : 'EHOSTUNREACH';
    const err = socketError(errno, icmpMessage(type, code, mtu, ip.src), {
      local: false,
      from: ip.src,
      mtu: code === FRAG_NEEDED ? mtu : undefined,
      icmpType: type,
      icmpCode: code,
    });
    const w = this.ns.world;
    if (proto === IPPROTO_ICMP) {
      const qi = new IcmpView(pkt.buf, q);
      if (qi.type !== ECHO_REQUEST) return;
      const s = this.ping.get(qi.ident);
      if (w.tracer.active) this.trace(pkt, dev, icmpErrorBody(err, s === undefined ? undefined : 'ping', undefined));
      s?.onError?.(qi.seq, err);
      return;
    }
    const sport = (pkt.buf[q]! << 8) | pkt.buf[q + 1]!;
    const dport = (pkt.buf[q + 2]! << 8) | pkt.buf[q + 3]!;
    if (proto === IPPROTO_UDP) {
      const list = this.udp.get(sport) ?? [];
      const s = list.find(
        (x) =>
          (x.localAddr === 0 || x.localAddr === quoted.src) &&
          (x.remoteAddr === 0 || (x.remoteAddr === quoted.dst && x.remotePort === dport)),
      );
      if (w.tracer.active) this.trace(pkt, dev, icmpErrorBody(err, s === undefined ? undefined : 'udp', sport));
      // unconnected sockets only hear about errors with IP_RECVERR; podnet's probes always listen
      s?.onError?.(err);
      return;
    }
    if (proto === IPPROTO_TCP) {
      if (w.tracer.active) this.trace(pkt, dev, icmpErrorBody(err, 'tcp', sport));
      this.tcp.icmpError(quoted.src, sport, quoted.dst, dport, err);
    }
  }

  /** tcp_v4_rcv. */
  tcpRcv(dev: NetDevice, pkt: Packet): void {
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    let tcp: TcpView;
    try {
      tcp = TcpView.checked(pkt.buf, ip.payloadOffset, ip.payloadLength);
    } catch (e) {
      if (!isWireError(e)) throw e;
      this.ns.stack.drop(pkt, { what: 'malformed-tcp' }, dev);
      return;
    }
    if (!tcp.verifyChecksum(ip.src, ip.dst, ip.payloadLength)) {
      this.ns.stack.drop(pkt, { what: 'bad-tcp-checksum' }, dev);
      return;
    }
    this.tcp.receive(dev, pkt, ip, tcp);
  }

  private trace(pkt: Packet, dev: NetDevice, body: BodyOf<'deliver'>): void {
    this.ns.trace(body, pkt, dev.name);
  }
}

function icmpErrorBody(
  err: SocketError,
  socket: 'ping' | 'udp' | 'tcp' | undefined,
  port: number | undefined,
): BodyOf<'deliver'> {
  const error = { errno: err.errno, message: err.message, icmpType: err.icmpType, icmpCode: err.icmpCode };
  return { kind: 'deliver', what: 'icmp-error', error, socket, port };
}

/** ping-style text for an ICMP error. */
export function icmpMessage(type: number, code: number, mtu: number, from: Ipv4Addr): string {
  const f = `From ${formatIpv4(from)}`;
  if (type === DEST_UNREACH) {
    switch (code) {
      case 0:
        return `${f}: Destination Net Unreachable`;
      case 1:
        return `${f}: Destination Host Unreachable`;
      case 2:
        return `${f}: Destination Protocol Unreachable`;
      case 3:
        return `${f}: Destination Port Unreachable`;
      case FRAG_NEEDED:
        return `${f}: Frag needed and DF set (mtu = ${mtu})`;
      case 13:
        return `${f}: Packet filtered`;
      default:
        return `${f}: Dest Unreachable, Bad Code: ${code}`;
    }
  }
  if (type === 11) return code === 0 ? `${f}: Time to live exceeded` : `${f}: Frag reassembly time exceeded`;
  return `${f}: ICMP type ${type} code ${code}`;
}

/** A keyed 32-bit hash of three words (murmur3's mixing), standing in for the kernel's siphash. */
function mix3(key: number, a: number, b: number, c: number): number {
  let h = mixWord(mixWord(mixWord(key | 0, a), b), c);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function mixWord(h: number, w: number): number {
  let k = Math.imul(w | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
