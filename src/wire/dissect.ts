import { isWireError } from './errors.js';
import { formatIpv4, formatMac, readU16, readU32 } from './addr.js';
import { ETH_HLEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, EthernetView } from './ethernet.js';
import { ARPOP_REPLY, ARPOP_REQUEST, ArpView } from './arp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_HLEN, Ipv4View } from './ipv4.js';
import { DEST_UNREACH, ECHO_REPLY, ECHO_REQUEST, FRAG_NEEDED, ICMP_HLEN, IcmpView } from './icmp.js';
import { UDP_HLEN, UdpView } from './udp.js';
import { TCP_HLEN, TcpView, formatTcpFlags, formatTcpOption, parseTcpOptionsInto, type TcpOption } from './tcp.js';
import { VXLAN_HLEN, VXLAN_PORT_IANA, VXLAN_PORT_LINUX, VxlanView } from './vxlan.js';
import {
  DNS_PORT,
  dnsClassName,
  dnsRcodeName,
  dnsTypeName,
  formatDnsFlags,
  formatRData,
  fqdn,
  parseDns,
  parseDnsTcpStream,
  recordType,
} from './dns.js';
import type { DnsMessage, DnsRecord } from './dns.js';

/** Options for {@link dissectFrame}. */
export interface DissectOptions {
  /** UDP destination ports decoded as VXLAN (default [8472, 4789]). */
  vxlanPorts?: readonly number[];
}

/** Stands in for a layer whose bytes could not be decoded. */
export interface MalformedLayer {
  malformed: string;
}

/** Decoded Ethernet header. */
export interface EthDissection {
  src: string;
  dst: string;
  type: number;
}

/** Decoded ARP packet. */
export interface ArpDissection {
  op: 'request' | 'reply' | number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** Decoded IPv4 header; `len` is totalLength, `hlen` the header length, `fragOffset` in bytes. */
export interface IpDissection {
  src: string;
  dst: string;
  ttl: number;
  df: boolean;
  mf: boolean;
  id: number;
  proto: number;
  len: number;
  hlen: number;
  fragOffset: number;
  tos: number;
  checksumOk: boolean;
}

/** The quoted IP header plus first 8 bytes inside an ICMP error. */
export interface IcmpQuoteDissection {
  src: string;
  dst: string;
  proto: number;
  sport?: number;
  dport?: number;
  id?: number;
  seq?: number;
}

/** Decoded ICMP message; `len` is the ICMP message length; checksumOk is false when unverifiable (first fragment). */
export interface IcmpDissection {
  type: number;
  code: number;
  len: number;
  checksumOk: boolean;
  id?: number;
  seq?: number;
  mtu?: number;
  quote?: IcmpQuoteDissection | MalformedLayer;
}

/**
 * Decoded UDP header; `len` is the length field; checksumOk is true for checksum 0 (none), false when unverifiable
 * (first fragment).
 */
export interface UdpDissection {
  sport: number;
  dport: number;
  len: number;
  checksumOk: boolean;
}

/** Decoded TCP header; `len` is the payload length, options are tcpdump-style strings. */
export interface TcpDissection {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: string;
  window: number;
  len: number;
  options: string[];
  checksumOk: boolean;
}

/** Decoded VXLAN header. */
export interface VxlanDissection {
  vni: number;
  flags: number;
}

/** Decoded DNS message (UDP or TCP port 53); records read as dig prints them, on one line. */
export interface DnsDissection {
  id: number;
  qr: boolean;
  opcode: number;
  /** Header flags as dig lists them: `qr aa rd`. */
  flags: string;
  rcode: string;
  questions: Array<{ name: string; type: string; class: string }>;
  answers: string[];
  authority: string[];
  additional: string[];
}

/**
 * JSON-friendly decode of one Ethernet frame; a layer that failed to decode holds `{ malformed }`, as does the frame.
 */
export interface FrameDissection {
  len: number;
  eth?: EthDissection | MalformedLayer;
  arp?: ArpDissection | MalformedLayer;
  ip?: IpDissection | MalformedLayer;
  icmp?: IcmpDissection | MalformedLayer;
  udp?: UdpDissection | MalformedLayer;
  tcp?: TcpDissection | MalformedLayer;
  vxlan?: VxlanDissection | MalformedLayer;
  /** A DNS message carried over UDP or TCP port 53 (only when the payload parses as one with a question). */
  dns?: DnsDissection;
  /** Further DNS messages in the same TCP segment (glibc writes its A and AAAA queries together). */
  dnsMore?: DnsDissection[];
  inner?: FrameDissection;
  payloadLen?: number;
  malformed?: string;
}

/** True if a dissected layer is the malformed stand-in. */
export function isMalformed<T extends object>(layer: T | MalformedLayer | undefined): layer is MalformedLayer {
  return layer !== undefined && 'malformed' in layer;
}

const DEFAULT_VXLAN_PORTS: readonly number[] = [VXLAN_PORT_LINUX, VXLAN_PORT_IANA];
// VXLAN-in-VXLAN is legal but never needed here; the cap keeps a crafted frame from recursing deeply.
const MAX_DEPTH = 4;

/** Decodes a whole Ethernet frame layer by layer; never throws (bad layers become `{ malformed }`). */
export function dissectFrame(buf: Uint8Array, opts?: DissectOptions): FrameDissection {
  try {
    return dissectEthernet(buf, opts?.vxlanPorts ?? DEFAULT_VXLAN_PORTS, 0);
  } catch (e) {
    // Only a bug can land here; reporting it beats breaking a trace or a capture.
    return { len: buf.length, malformed: `internal error: ${e instanceof Error ? e.message : 'unknown'}` };
  }
}

function reason(e: unknown): string {
  if (isWireError(e)) return e.message;
  throw e;
}

function markMalformed(d: FrameDissection, why: string): MalformedLayer {
  d.malformed ??= why;
  return { malformed: why };
}

function dissectEthernet(buf: Uint8Array, ports: readonly number[], depth: number): FrameDissection {
  const d: FrameDissection = { len: buf.length };
  if (buf.length < ETH_HLEN) {
    d.eth = markMalformed(d, `ethernet: truncated: ${buf.length} bytes, need at least ${ETH_HLEN}`);
    return d;
  }
  const eth = new EthernetView(buf, 0);
  const type = eth.ethertype;
  d.eth = { src: formatMac(eth.src), dst: formatMac(eth.dst), type };
  const avail = buf.length - ETH_HLEN;
  if (type === ETHERTYPE_ARP) dissectArp(buf, ETH_HLEN, avail, d);
  else if (type === ETHERTYPE_IPV4) dissectIpv4(buf, ETH_HLEN, avail, d, ports, depth);
  else d.payloadLen = avail;
  return d;
}

function dissectArp(buf: Uint8Array, off: number, len: number, d: FrameDissection): void {
  let a: ArpView;
  try {
    a = ArpView.checked(buf, off, len);
  } catch (e) {
    d.arp = markMalformed(d, reason(e));
    return;
  }
  const op = a.op;
  d.arp = {
    op: op === ARPOP_REQUEST ? 'request' : op === ARPOP_REPLY ? 'reply' : op,
    senderMac: formatMac(a.senderMac),
    senderIp: formatIpv4(a.senderIp),
    targetMac: formatMac(a.targetMac),
    targetIp: formatIpv4(a.targetIp),
  };
}

function dissectIpv4(
  buf: Uint8Array,
  off: number,
  len: number,
  d: FrameDissection,
  ports: readonly number[],
  depth: number,
): void {
  let ip: Ipv4View;
  try {
    ip = Ipv4View.checked(buf, off, len);
  } catch (e) {
    d.ip = markMalformed(d, reason(e));
    return;
  }
  d.ip = {
    src: formatIpv4(ip.src),
    dst: formatIpv4(ip.dst),
    ttl: ip.ttl,
    df: ip.df,
    mf: ip.mf,
    id: ip.ident,
    proto: ip.protocol,
    len: ip.totalLength,
    hlen: ip.headerLen,
    fragOffset: ip.fragOffset,
    tos: ip.tos,
    checksumOk: ip.verifyChecksum(),
  };
  const poff = ip.payloadOffset;
  const plen = ip.payloadLength;
  // Later fragments carry no L4 header; the first carries one whose checksum covers bytes we lack.
  if (ip.fragOffset > 0) {
    d.payloadLen = plen;
    return;
  }
  const partial = ip.mf;
  switch (ip.protocol) {
    case IPPROTO_ICMP:
      dissectIcmp(buf, poff, plen, d, partial);
      break;
    case IPPROTO_UDP:
      dissectUdp(buf, poff, plen, d, partial, ip.src, ip.dst, ports, depth);
      break;
    case IPPROTO_TCP:
      dissectTcp(buf, poff, plen, d, partial, ip.src, ip.dst);
      break;
    default:
      d.payloadLen = plen;
  }
}

function dissectIcmp(buf: Uint8Array, off: number, len: number, d: FrameDissection, partial: boolean): void {
  let v: IcmpView;
  try {
    v = IcmpView.checked(buf, off, len);
  } catch (e) {
    d.icmp = markMalformed(d, reason(e));
    return;
  }
  const type = v.type;
  const code = v.code;
  const icmp: IcmpDissection = { type, code, len, checksumOk: !partial && v.verifyChecksum(len) };
  d.icmp = icmp;
  const body = len - ICMP_HLEN;
  if (type === ECHO_REQUEST || type === ECHO_REPLY) {
    icmp.id = v.ident;
    icmp.seq = v.seq;
    d.payloadLen = body;
  } else if (isIcmpError(type)) {
    if (type === DEST_UNREACH && code === FRAG_NEEDED) icmp.mtu = v.nextHopMtu;
    icmp.quote = dissectQuote(buf, off + ICMP_HLEN, body);
  } else {
    d.payloadLen = body;
  }
}

// Types whose body quotes the offending datagram (RFC 792): unreachable, source quench, redirect, time exceeded,
// parameter problem.
function isIcmpError(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

// The quote is usually truncated, so totalLength is not checked against it (unlike Ipv4View.checked).
function dissectQuote(buf: Uint8Array, off: number, len: number): IcmpQuoteDissection | MalformedLayer {
  if (len < IPV4_HLEN) return { malformed: `icmp quote: ${len} bytes, too short for an IPv4 header` };
  const vihl = buf[off]!;
  if (vihl >> 4 !== 4) return { malformed: `icmp quote: version ${vihl >> 4} is not 4` };
  const hlen = (vihl & 0x0f) * 4;
  if (hlen < IPV4_HLEN || hlen > len) return { malformed: `icmp quote: bad header length ${hlen}` };
  const proto = buf[off + 9]!;
  const q: IcmpQuoteDissection = {
    src: formatIpv4(readU32(buf, off + 12)),
    dst: formatIpv4(readU32(buf, off + 16)),
    proto,
  };
  const fragOffset = readU16(buf, off + 6) & 0x1fff;
  const l4 = off + hlen;
  const l4len = len - hlen;
  if (fragOffset !== 0) return q;
  if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP) && l4len >= 4) {
    q.sport = readU16(buf, l4);
    q.dport = readU16(buf, l4 + 2);
    if (proto === IPPROTO_TCP && l4len >= 8) q.seq = readU32(buf, l4 + 4);
  } else if (proto === IPPROTO_ICMP && l4len >= 8) {
    const t = buf[l4]!;
    if (t === ECHO_REQUEST || t === ECHO_REPLY) {
      q.id = readU16(buf, l4 + 4);
      q.seq = readU16(buf, l4 + 6);
    }
  }
  return q;
}

function dissectUdp(
  buf: Uint8Array,
  off: number,
  len: number,
  d: FrameDissection,
  partial: boolean,
  src: number,
  dst: number,
  ports: readonly number[],
  depth: number,
): void {
  if (partial) {
    // A first fragment's checksum covers bytes not in this packet: unverifiable unless absent (0).
    if (len < UDP_HLEN) {
      d.udp = markMalformed(d, `udp: truncated: ${len} bytes, need at least ${UDP_HLEN}`);
      return;
    }
    d.udp = {
      sport: readU16(buf, off),
      dport: readU16(buf, off + 2),
      len: readU16(buf, off + 4),
      checksumOk: readU16(buf, off + 6) === 0,
    };
    d.payloadLen = len - UDP_HLEN;
    return;
  }
  let u: UdpView;
  try {
    u = UdpView.checked(buf, off, len);
  } catch (e) {
    d.udp = markMalformed(d, reason(e));
    return;
  }
  const dport = u.dstPort;
  d.udp = { sport: u.srcPort, dport, len: u.length, checksumOk: u.verifyChecksum(src, dst) };
  const poff = u.payloadOffset;
  const plen = u.payloadLength;
  if (!ports.includes(dport)) {
    d.payloadLen = plen;
    if (dport === DNS_PORT || u.srcPort === DNS_PORT) {
      const m = tryDns(() => parseDns(buf, poff, plen));
      if (m !== undefined) d.dns = dnsDissection(m);
    }
    return;
  }
  let x: VxlanView;
  try {
    x = VxlanView.checked(buf, poff, plen);
  } catch (e) {
    d.vxlan = markMalformed(d, reason(e));
    return;
  }
  d.vxlan = { vni: x.vni, flags: x.flags };
  const inner = buf.subarray(poff + VXLAN_HLEN, poff + plen);
  if (depth + 1 >= MAX_DEPTH) {
    d.inner = { len: inner.length, malformed: 'vxlan: encapsulation nested too deeply' };
    return;
  }
  d.inner = dissectEthernet(inner, ports, depth + 1);
}

function dissectTcp(
  buf: Uint8Array,
  off: number,
  len: number,
  d: FrameDissection,
  partial: boolean,
  src: number,
  dst: number,
): void {
  let t: TcpView;
  try {
    t = TcpView.checked(buf, off, len);
  } catch (e) {
    d.tcp = markMalformed(d, reason(e));
    return;
  }
  const hlen = t.headerLen;
  const opts: TcpOption[] = [];
  let badOpt = false;
  try {
    parseTcpOptionsInto(buf, t.optionsOffset, hlen - TCP_HLEN, opts);
  } catch (e) {
    if (!isWireError(e)) throw e;
    badOpt = true;
  }
  const options = opts.map(formatTcpOption);
  // tcpdump's marker; the options before the bad one are still worth showing.
  if (badOpt) options.push('[bad opt]');
  d.tcp = {
    sport: t.srcPort,
    dport: t.dstPort,
    seq: t.seq,
    ack: t.ack,
    flags: formatTcpFlags(t.flags),
    window: t.window,
    len: len - hlen,
    options,
    checksumOk: !partial && t.verifyChecksum(src, dst, len),
  };
  d.payloadLen = len - hlen;
  if (!partial && len > hlen && (t.srcPort === DNS_PORT || t.dstPort === DNS_PORT)) {
    const s = tryDns(() => parseDnsTcpStream(buf, off + hlen, len - hlen));
    if (s !== undefined && s.rest === 0 && s.messages.length > 0 && s.messages.every((m) => m.questions.length > 0)) {
      const [first, ...more] = s.messages.map(dnsDissection);
      d.dns = first!;
      if (more.length > 0) d.dnsMore = more;
    }
  }
}

// A port-53 payload that is not a DNS message with a question stays opaque payload (not malformed).
function tryDns<T extends { questions: unknown[] } | { messages: unknown[] }>(f: () => T): T | undefined {
  try {
    const r = f();
    if ('questions' in r && r.questions.length === 0) return undefined;
    return r;
  } catch (e) {
    if (isWireError(e)) return undefined;
    throw e;
  }
}

function recordLine(r: DnsRecord): string {
  return `${fqdn(r.name)} ${r.ttl} ${dnsClassName(r.class)} ${dnsTypeName(recordType(r))} ${formatRData(r.data)}`;
}

function dnsDissection(m: DnsMessage): DnsDissection {
  return {
    id: m.header.id,
    qr: m.header.qr,
    opcode: m.header.opcode,
    flags: formatDnsFlags(m.header),
    rcode: dnsRcodeName(m.header.rcode),
    questions: m.questions.map((q) => ({
      name: fqdn(q.name),
      type: dnsTypeName(q.type),
      class: dnsClassName(q.class),
    })),
    answers: m.answers.map(recordLine),
    authority: m.authorities.map(recordLine),
    additional: m.additionals.filter((r) => !(r.data.type === 'RAW' && r.data.code === 41)).map(recordLine),
  };
}
