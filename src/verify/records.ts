/**
 * Frames as the comparer sees them: podnet's dissection (src/wire/dissect.ts) flattened into
 * named fields, each with a comparison rule, plus a flow key and signatures for aligning the
 * kernel's frames with podnet's at one capture point.
 *
 * Rules:
 * - exact: the values must be equal (MACs, addresses, TTLs, DF/MF/offsets, lengths, ports that
 *   are not ephemeral, ICMP type/code/seq/MTU, TCP flags/window/options, VXLAN VNI...);
 * - pattern: random in the kernel, so only "which earlier frame has the same value" is compared,
 *   within a scope where the kernel keeps them consistent (IP IDs within a connection
 *   direction, ports within a connection, ICMP echo ids within a flow, the VXLAN outer source
 *   port within the inner connection, both directions);
 * - connections: a TCP/UDP flow's frames are numbered by connection at each capture point (a
 *   new real 4-tuple, or a SYN with a new ISN, starts the next one), so many connections of one
 *   flow (300 to a ClusterIP) are aligned one by one and random values of different connections
 *   (IP IDs, VXLAN source ports, MASQUERADE ports) are never compared with each other;
 * - IP ID 0 vs non-zero is compared exactly when DF is set (`ip.id=0`: PMTUDISC_DO pings,
 *   SYN-ACKs and RSTs carry 0), except on segments of a connected socket's counter (other TCP
 *   segments, UDP), which start at random and may pass 0; without DF an ID of 0 is just a
 *   counter value;
 * - range: must lie in a range on both sides (ephemeral ports, VXLAN source ports; a port of a
 *   NAT source address — a node's IP, cni0 or flannel.1 address, which MASQUERADE
 *   --random-fully writes — anywhere in 1024–65535);
 * - podnet-only: TCP/UDP checksums in the kernel's captures are CHECKSUM_PARTIAL values (veth
 *   offload), so only podnet's are checked, and must be valid;
 * - TCP seq/ack are compared relative to the ISN of their direction; TCP timestamps are not
 *   compared (their option kind is).
 */
import { dissectFrame, isMalformed } from '../wire/dissect.js';
import { summarizeFrame } from '../trace/frame-summary.js';
import type {
  DnsDissection,
  FrameDissection,
  IcmpDissection,
  IpDissection,
  TcpDissection,
  UdpDissection,
} from '../wire/dissect.js';
import { readU16 } from '../wire/addr.js';
import type { Nanos } from '../sim/time.js';

/** A captured frame, from either side. */
export interface FrameInput {
  /** ns since the scenario start. */
  readonly t: Nanos;
  readonly bytes: Uint8Array;
  readonly dir?: 'in' | 'out' | undefined;
  /** podnet only: the pcapng comment and the packet id of the hop events. */
  readonly comment?: string | undefined;
  readonly packetId?: number | undefined;
  /** podnet only: the probe (flow) the packet belongs to, 0 for none. */
  readonly flow?: number | undefined;
}

/** A field value. */
export type Value = string | number | boolean;

/** A random field compared by equality pattern within `scope`. */
export interface PatternField {
  readonly field: string;
  readonly scope: string;
  readonly value: Value;
}

/** A field that must lie in [lo, hi]. */
export interface RangeField {
  readonly field: string;
  readonly value: number;
  readonly lo: number;
  readonly hi: number;
}

/** One frame at one capture point, ready to compare. */
export interface FrameRecord {
  /** 0-based position at the capture point (reports print it 1-based, as Wireshark numbers frames). */
  readonly index: number;
  readonly input: FrameInput;
  readonly d: FrameDissection;
  /** Exact-compare fields, in display order. */
  readonly fields: Map<string, Value>;
  readonly patterns: PatternField[];
  readonly ranges: RangeField[];
  /** podnet-only validity checks (field → ok). */
  readonly podnetOnly: Map<string, boolean>;
  /** Flow key: frames of one conversation (ephemeral values normalised). */
  flow: string;
  /**
   * Connection key: the flow plus the connection's number at this capture point (`#3`); the flow itself for ARP/ICMP.
   */
  conn: string;
  /**
   * The connection itself across NAT: its label (`@probe/attempt`) when one was given — the same
   * for its pre- and post-NAT frames, which are different flows — else `conn`.
   */
  connId: string;
  /** Direction within the flow (`10.244.1.3>10.244.2.2`). */
  dirKey: string;
  /** Fine signature: frames with equal signatures are the same event. */
  sig: string;
  /** Coarse signature: the same flow, direction and protocol (used to pair frames that differ). */
  coarse: string;
  /** tcpdump-like one-liner. */
  readonly summary: string;
  /**
   * A server's banner names the peer port it saw; a NAT-chosen port (1024–65535) may have 4 or
   * fewer digits where the other side's has 5, so lengths (and the TCP seq/ack after the banner)
   * are compared as if the port had 5 digits: this many bytes were added (0 almost always).
   */
  readonly lenAdjust: number;
}

/** What the decoder needs to know about the scenario. */
export interface DecodeContext {
  /** Ports that are not ephemeral on any address (a probe's port towards a DNS name, the VXLAN port). */
  readonly fixedPorts: ReadonlySet<number>;
  /**
   * `ip:port` endpoints that are not ephemeral: servers, Service and node ports, pinned client ports.
   * Bound to their address because a NAT-chosen port may take any value: MASQUERADE --random-fully
   * once gave cni0's address port 8080, which on a bare port number read as the server's port.
   */
  readonly fixedEndpoints?: ReadonlySet<string> | undefined;
  /** ip_local_port_range. */
  readonly ephemeralRange: readonly [number, number];
  /** UDP ports decoded as VXLAN. */
  readonly vxlanPorts: readonly number[];
  /** Addresses source NAT may write (node IPs, cni0 and flannel.1 addresses): their non-fixed ports are NAT-chosen. */
  readonly natSources?: ReadonlySet<string> | undefined;
}

/** Ports MASQUERADE/SNAT --random-fully may choose (nf_nat: 1024–65535 for an unprivileged source port). */
export const NAT_PORT_RANGE: readonly [number, number] = [1024, 65535];

/** The VXLAN outer source port range (udp_flow_src_port over ip_local_port_range). */
export const VXLAN_SPORT_RANGE: readonly [number, number] = [32768, 61000];

const PROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };

interface TcpNote {
  readonly prefix: string;
  readonly conn: string;
  readonly rev: string;
  readonly tcp: TcpDissection;
}

interface Level {
  flow: string;
  /** `flow` plus CONN_MARK where the connection number goes (TCP/UDP), or `flow`. */
  conn: string;
  dirKey: string;
  sig: string;
  coarse: string;
}

/** The connection a frame's innermost TCP/UDP header belongs to (numbered in decodeFrames). */
interface L4Conn {
  readonly flow: string;
  /** The real endpoints, both directions alike. */
  readonly real: string;
  readonly proto: 'tcp' | 'udp';
  /** A SYN without ACK: its ISN starts a connection. */
  readonly synIsn: number | undefined;
}

/** Stands in a pattern scope for the connection number until decodeFrames knows it. */
const CONN_MARK = '\u0001';

interface Builder {
  readonly ctx: DecodeContext;
  readonly bytes: Uint8Array;
  readonly fields: Map<string, Value>;
  readonly patterns: PatternField[];
  readonly ranges: RangeField[];
  readonly podnetOnly: Map<string, boolean>;
  readonly tcp: TcpNote[];
  l4: L4Conn | undefined;
  /** Bytes added to this frame's lengths so a banner's random peer port counts as 5 digits. */
  lenAdjust: number;
}

/** Digits a banner's random peer port is counted as (ephemeral ports always have 5). */
export const BANNER_PORT_DIGITS = 5;

const LENGTH_FIELD = /(^|\.)(frame\.len|ip\.len|udp\.len|tcp\.len|payloadLen)$/;

/** Whether a field is a length that a banner's random port changes (see FrameRecord.lenAdjust). */
export function isLengthField(name: string): boolean {
  return LENGTH_FIELD.test(name);
}

/** Whether `ip:port` is a fixed endpoint of the scenario (not a port a kernel or NAT chose). */
export function isFixedPort(ctx: DecodeContext, ip: string, port: number): boolean {
  return ctx.fixedPorts.has(port) || ctx.fixedEndpoints?.has(`${ip}:${port}`) === true;
}

function portLabel(b: Builder, port: number, ip: string): string {
  return isFixedPort(b.ctx, ip, port) ? String(port) : '*';
}

function sortedPair(a: string, c: string): string {
  return a <= c ? `${a}<>${c}` : `${c}<>${a}`;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** The banner line servers send: `<name> <ip> <port>\n`. */
const BANNER = /^(\S+) (\d+\.\d+\.\d+\.\d+) (\d+)\n$/;

function payloadFields(b: Builder, prefix: string, off: number, len: number, conn: string): void {
  if (len <= 0 || off + len > b.bytes.length) return;
  const data = b.bytes.subarray(off, off + len);
  const text = decoder.decode(data);
  const m = BANNER.exec(text);
  if (m) {
    b.fields.set(`${prefix}banner.server`, m[1]!);
    b.fields.set(`${prefix}banner.peer`, m[2]!);
    const port = Number(m[3]);
    if (isFixedPort(b.ctx, m[2]!, port)) b.fields.set(`${prefix}banner.peerPort`, port);
    else {
      b.patterns.push({ field: `${prefix}banner.peerPort`, scope: conn, value: port });
      b.lenAdjust = BANNER_PORT_DIGITS - m[3]!.length;
    }
    return;
  }
  b.fields.set(`${prefix}payload`, Buffer.from(data).toString('hex'));
}

/**
 * A DNS message's fields: header flags, rcode, the question, and each section's records as dig
 * prints them (name, TTL, class, type, data), compared as sets — CoreDNS's loadbalance shuffles
 * them at random. The id is random in glibc and CoreDNS's forward: only which earlier message of
 * the connection carries the same one is compared (an answer carries its query's).
 */
function dnsFields(b: Builder, prefix: string, m: DnsDissection, conn: string): string {
  const f = b.fields;
  f.set(`${prefix}dns.qr`, m.qr);
  f.set(`${prefix}dns.opcode`, m.opcode);
  f.set(`${prefix}dns.flags`, m.flags);
  f.set(`${prefix}dns.rcode`, m.rcode);
  const question = m.questions.map((q) => `${q.name} ${q.class} ${q.type}`).join('; ');
  f.set(`${prefix}dns.question`, question);
  f.set(`${prefix}dns.answers`, [...m.answers].sort().join('; '));
  f.set(`${prefix}dns.authority`, [...m.authority].sort().join('; '));
  f.set(`${prefix}dns.additional`, [...m.additional].sort().join('; '));
  b.patterns.push({ field: `${prefix}dns.id`, scope: conn, value: m.id });
  return ` dns ${m.qr ? 'response' : 'query'} ${question}`;
}

/** Reads the quoted IP header of an ICMP error (TTL, length, DF) from the raw bytes. */
function quoteFields(b: Builder, prefix: string, icmpOff: number, icmp: IcmpDissection): void {
  const q = icmpOff + 8;
  if (q + 20 > b.bytes.length) return;
  b.fields.set(`${prefix}icmp.quote.ttl`, b.bytes[q + 8]!);
  b.fields.set(`${prefix}icmp.quote.len`, readU16(b.bytes, q + 2));
  b.fields.set(`${prefix}icmp.quote.df`, (b.bytes[q + 6]! & 0x40) !== 0);
  void icmp;
}

/**
 * The two ports of a TCP/UDP header: fixed ones exactly; the others as a pattern within the
 * connection and a range — the ephemeral range, or, on a NAT source address, 1024–65535
 * (MASQUERADE --random-fully draws each connection's port afresh).
 */
function portFields(
  b: Builder,
  prefix: string,
  proto: 'tcp' | 'udp',
  src: readonly [number, string, string],
  dst: readonly [number, string, string],
  conn: string,
): void {
  for (const [name, [port, label, ip]] of [
    [`${proto}.sport`, src],
    [`${proto}.dport`, dst],
  ] as const) {
    if (label !== '*') {
      b.fields.set(`${prefix}${name}`, port);
      continue;
    }
    const nat = b.ctx.natSources?.has(ip) === true;
    const [lo, hi] = nat ? NAT_PORT_RANGE : b.ctx.ephemeralRange;
    // within the connection: whether a later connection gets an earlier one's port is chance on
    // both sides (the kernel's port walk comes back to one now and then, podnet picks at random)
    b.patterns.push({ field: `${prefix}${name}`, scope: conn, value: port });
    b.ranges.push({ field: `${prefix}${name}`, value: port, lo, hi });
  }
}

function describeIp(
  b: Builder,
  d: FrameDissection,
  ip: IpDissection,
  prefix: string,
  base: number,
  depth: number,
): Level {
  const f = b.fields;
  f.set(`${prefix}ip.src`, ip.src);
  f.set(`${prefix}ip.dst`, ip.dst);
  f.set(`${prefix}ip.ttl`, ip.ttl);
  f.set(`${prefix}ip.tos`, ip.tos);
  f.set(`${prefix}ip.df`, ip.df);
  f.set(`${prefix}ip.mf`, ip.mf);
  f.set(`${prefix}ip.fragOffset`, ip.fragOffset);
  f.set(`${prefix}ip.proto`, ip.proto);
  f.set(`${prefix}ip.len`, ip.len);
  f.set(`${prefix}ip.hlen`, ip.hlen);
  f.set(`${prefix}ip.checksumOk`, ip.checksumOk);
  // ID 0 is a deliberate choice only with DF set (PMTUDISC_DO sockets, SYN-ACKs, RSTs); without
  // DF the ID comes from a counter that may pass through 0 like any other value, and so does a
  // connected socket's counter (TCP segments other than SYN-ACK/RST, UDP), from a random start:
  // among 300 connections' thousands of IDs one is 0 every few runs
  const tcpFlags = d.tcp !== undefined && !isMalformed(d.tcp) && ip.fragOffset === 0 ? d.tcp.flags : undefined;
  const zeroByRule =
    tcpFlags !== undefined && ((tcpFlags.includes('S') && tcpFlags.includes('.')) || tcpFlags.includes('R'));
  const connectedCounter = (tcpFlags !== undefined && !zeroByRule) || (d.udp !== undefined && ip.proto === 17);
  if (ip.df && !connectedCounter) f.set(`${prefix}ip.id=0`, ip.id === 0);
  const proto = PROTO[ip.proto] ?? `proto${ip.proto}`;
  // a connection to itself (a hairpinned Service connection, half-translated on the bridge:
  // 10.244.1.2:c ↔ 10.244.1.2:8080) has one address pair both ways: its ports tell the directions
  const l4ports =
    ip.src === ip.dst && ip.fragOffset === 0
      ? d.tcp !== undefined && !isMalformed(d.tcp)
        ? d.tcp
        : d.udp !== undefined && !isMalformed(d.udp)
          ? d.udp
          : undefined
      : undefined;
  const dirKey =
    l4ports === undefined
      ? `${ip.src}>${ip.dst}`
      : `${ip.src}:${portLabel(b, l4ports.sport, ip.src)}>${ip.dst}:${portLabel(b, l4ports.dport, ip.dst)}`;
  const frag = ip.mf || ip.fragOffset > 0 ? ` frag${ip.fragOffset}${ip.mf ? '+' : ''}` : '';
  const l4 = base + 14 + ip.hlen;
  let flow = `${proto} ${sortedPair(ip.src, ip.dst)}`;
  let conn = '';
  let detail = '';

  if (ip.fragOffset > 0) {
    if (proto !== 'icmp') flow += ' fragments';
    f.set(`${prefix}payloadLen`, d.payloadLen ?? 0);
  } else if (d.icmp !== undefined && !isMalformed(d.icmp)) {
    const icmp = d.icmp;
    f.set(`${prefix}icmp.type`, icmp.type);
    f.set(`${prefix}icmp.code`, icmp.code);
    f.set(`${prefix}icmp.len`, icmp.len);
    f.set(`${prefix}icmp.checksumOk`, icmp.checksumOk);
    if (icmp.seq !== undefined) f.set(`${prefix}icmp.seq`, icmp.seq);
    if (icmp.mtu !== undefined) f.set(`${prefix}icmp.mtu`, icmp.mtu);
    if (icmp.type === 0 || icmp.type === 8) {
      if (icmp.id !== undefined) b.patterns.push({ field: `${prefix}icmp.id`, scope: flow, value: icmp.id });
      detail = `echo-${icmp.type === 8 ? 'request' : 'reply'} seq${icmp.seq ?? '?'}`;
      f.set(`${prefix}payloadLen`, d.payloadLen ?? 0);
    } else {
      detail = `icmp${icmp.type}/${icmp.code}`;
      const q = icmp.quote;
      if (q !== undefined && !isMalformed(q)) {
        f.set(`${prefix}icmp.quote.src`, q.src);
        f.set(`${prefix}icmp.quote.dst`, q.dst);
        f.set(`${prefix}icmp.quote.proto`, q.proto);
        const qproto = PROTO[q.proto] ?? `proto${q.proto}`;
        // an error belongs to the flow of the datagram it quotes
        if (q.sport !== undefined && q.dport !== undefined) {
          const sp = portLabel(b, q.sport, q.src);
          const dp = portLabel(b, q.dport, q.dst);
          flow = `${qproto} ${sortedPair(`${q.src}:${sp}`, `${q.dst}:${dp}`)}`;
          if (sp !== '*') f.set(`${prefix}icmp.quote.sport`, q.sport);
          else b.patterns.push({ field: `${prefix}icmp.quote.sport`, scope: flow, value: q.sport });
          if (dp !== '*') f.set(`${prefix}icmp.quote.dport`, q.dport);
          else b.patterns.push({ field: `${prefix}icmp.quote.dport`, scope: flow, value: q.dport });
        } else {
          flow = `${qproto} ${sortedPair(q.src, q.dst)}`;
        }
        if (q.id !== undefined) b.patterns.push({ field: `${prefix}icmp.id`, scope: flow, value: q.id });
        if (q.seq !== undefined && q.proto === 1) f.set(`${prefix}icmp.quote.seq`, q.seq);
        quoteFields(b, prefix, l4, icmp);
      }
    }
  } else if (d.udp !== undefined && !isMalformed(d.udp)) {
    const udp: UdpDissection = d.udp;
    const sp = portLabel(b, udp.sport, ip.src);
    const dp = portLabel(b, udp.dport, ip.dst);
    const isVxlan = d.vxlan !== undefined && b.ctx.vxlanPorts.includes(udp.dport);
    f.set(`${prefix}udp.len`, udp.len);
    if (!ip.mf) b.podnetOnly.set(`${prefix}udp.checksumOk`, udp.checksumOk);
    if (isVxlan) {
      f.set(`${prefix}udp.dport`, udp.dport);
      b.ranges.push({
        field: `${prefix}udp.sport`,
        value: udp.sport,
        lo: VXLAN_SPORT_RANGE[0],
        hi: VXLAN_SPORT_RANGE[1] - 1,
      });
      const vx = d.vxlan!;
      if (isMalformed(vx)) {
        f.set(`${prefix}vxlan`, `malformed: ${vx.malformed}`);
        const vf = `vxlan ${sortedPair(ip.src, ip.dst)}`;
        return { flow: vf, conn: vf, dirKey, sig: `vxlan ${dirKey} malformed`, coarse: `vxlan ${dirKey}` };
      }
      f.set(`${prefix}vxlan.vni`, vx.vni);
      f.set(`${prefix}vxlan.flags`, vx.flags);
      if (d.inner !== undefined && depth < 3) {
        const innerBase = l4 + 8 + 8;
        const inner = describeFrame(b, d.inner, `${prefix}inner.`, innerBase, depth + 1);
        const vflow = `vxlan[${inner.flow}]`;
        const vconn = `vxlan[${inner.conn}]`;
        b.patterns.push({ field: `${prefix}udp.sport`, scope: vconn, value: udp.sport });
        b.patterns.push({ field: `${prefix}ip.id`, scope: `${vconn} ${dirKey}`, value: ip.id });
        return {
          flow: vflow,
          conn: vconn,
          dirKey: `${dirKey} [${inner.dirKey}]`,
          sig: `vxlan ${dirKey} [${inner.sig}]`,
          coarse: `vxlan ${dirKey} [${inner.coarse}]`,
        };
      }
      const vf = `vxlan ${sortedPair(ip.src, ip.dst)}`;
      return { flow: vf, conn: vf, dirKey, sig: `vxlan ${dirKey}`, coarse: `vxlan ${dirKey}` };
    }
    flow = `udp ${sortedPair(`${ip.src}:${sp}`, `${ip.dst}:${dp}`)}`;
    conn = flow + CONN_MARK;
    b.l4 = {
      flow,
      real: sortedPair(`${ip.src}:${udp.sport}`, `${ip.dst}:${udp.dport}`),
      proto: 'udp',
      synIsn: undefined,
    };
    portFields(b, prefix, 'udp', [udp.sport, sp, ip.src], [udp.dport, dp, ip.dst], conn);
    f.set(`${prefix}payloadLen`, d.payloadLen ?? 0);
    const dns = !ip.mf && d.dns !== undefined ? dnsFields(b, prefix, d.dns, conn) : '';
    if (!ip.mf && dns === '') payloadFields(b, prefix, l4 + 8, d.payloadLen ?? 0, conn);
    detail = `udp len${udp.len + b.lenAdjust}${dns}`;
  } else if (d.tcp !== undefined && !isMalformed(d.tcp)) {
    const tcp = d.tcp;
    const sp = portLabel(b, tcp.sport, ip.src);
    const dp = portLabel(b, tcp.dport, ip.dst);
    flow = `tcp ${sortedPair(`${ip.src}:${sp}`, `${ip.dst}:${dp}`)}`;
    conn = flow + CONN_MARK;
    const syn = tcp.flags.includes('S') && !tcp.flags.includes('.');
    b.l4 = {
      flow,
      real: sortedPair(`${ip.src}:${tcp.sport}`, `${ip.dst}:${tcp.dport}`),
      proto: 'tcp',
      synIsn: syn ? tcp.seq : undefined,
    };
    portFields(b, prefix, 'tcp', [tcp.sport, sp, ip.src], [tcp.dport, dp, ip.dst], conn);
    f.set(`${prefix}tcp.flags`, tcp.flags);
    f.set(`${prefix}tcp.window`, tcp.window);
    f.set(`${prefix}tcp.len`, tcp.len);
    f.set(`${prefix}tcp.options`, tcp.options.map((o) => (o.startsWith('TS ') ? 'TS' : o)).join(','));
    if (!ip.mf) b.podnetOnly.set(`${prefix}tcp.checksumOk`, tcp.checksumOk);
    b.tcp.push({
      prefix,
      conn: `${ip.src}:${tcp.sport}>${ip.dst}:${tcp.dport}`,
      rev: `${ip.dst}:${tcp.dport}>${ip.src}:${tcp.sport}`,
      tcp,
    });
    const hlen = ip.len - ip.hlen - tcp.len;
    if (!ip.mf) payloadFields(b, prefix, l4 + hlen, tcp.len, conn);
    detail = `tcp ${tcp.flags} len${tcp.len + b.lenAdjust}`;
  } else {
    f.set(`${prefix}payloadLen`, d.payloadLen ?? 0);
  }
  if (conn === '') conn = flow;
  // a SYN-ACK's or RST's ID 0 is compared as a fact above, not as a value of the connection's counter
  if (!(ip.df && zeroByRule)) b.patterns.push({ field: `${prefix}ip.id`, scope: `${conn} ${dirKey}`, value: ip.id });
  return { flow, conn, dirKey, sig: `${flow} ${dirKey} ${detail}${frag}`, coarse: `${flow} ${dirKey} ${proto}` };
}

function describeFrame(b: Builder, d: FrameDissection, prefix: string, base: number, depth: number): Level {
  const f = b.fields;
  f.set(`${prefix}frame.len`, d.len);
  if (d.malformed !== undefined) f.set(`${prefix}malformed`, d.malformed);
  const eth = d.eth;
  if (eth === undefined || isMalformed(eth))
    return { flow: 'malformed', conn: 'malformed', dirKey: '', sig: `malformed ${d.len}`, coarse: 'malformed' };
  f.set(`${prefix}eth.src`, eth.src);
  f.set(`${prefix}eth.dst`, eth.dst);
  f.set(`${prefix}eth.type`, eth.type);
  if (d.arp !== undefined) {
    const a = d.arp;
    if (isMalformed(a)) return { flow: 'arp', conn: 'arp', dirKey: '', sig: `arp malformed`, coarse: 'arp' };
    f.set(`${prefix}arp.op`, a.op);
    f.set(`${prefix}arp.senderMac`, a.senderMac);
    f.set(`${prefix}arp.senderIp`, a.senderIp);
    f.set(`${prefix}arp.targetMac`, a.targetMac);
    f.set(`${prefix}arp.targetIp`, a.targetIp);
    const flow = `arp ${sortedPair(a.senderIp, a.targetIp)}`;
    const dirKey = `${a.senderIp}>${a.targetIp}`;
    const cast = eth.dst === 'ff:ff:ff:ff:ff:ff' ? 'broadcast' : 'unicast';
    return { flow, conn: flow, dirKey, sig: `${flow} ${dirKey} ${a.op} ${cast}`, coarse: `${flow} ${dirKey} arp` };
  }
  if (d.ip !== undefined) {
    if (isMalformed(d.ip)) return { flow: 'ip', conn: 'ip', dirKey: '', sig: `ip malformed`, coarse: 'ip' };
    return describeIp(b, d, d.ip, prefix, base, depth);
  }
  f.set(`${prefix}payloadLen`, d.payloadLen ?? 0);
  const type = `ethertype 0x${eth.type.toString(16).padStart(4, '0')}`;
  return {
    flow: type,
    conn: type,
    dirKey: `${eth.src}>${eth.dst}`,
    sig: `${type} ${eth.src}>${eth.dst} ${d.len}`,
    coarse: type,
  };
}

/**
 * Names the connection a TCP/UDP frame belongs to, from what is known outside the captures
 * (say, the probe attempt a Service connection was made for): `tuple` is the frame's real
 * endpoints (`10.244.1.3:40100<>10.96.0.100:80`, sorted), `t` its time. Frames it names are
 * grouped by that name instead of by their connection's number at the point, so a connection
 * one side lacks (a different backend chosen) does not shift the numbering of the others.
 */
export type ConnLabeller = (tuple: string, t: Nanos) => string | undefined;

/**
 * Decodes the frames of one capture point. TCP seq/ack become relative to the ISN of their
 * direction (reset at every SYN); everything else is per frame.
 */
export function decodeFrames(frames: readonly FrameInput[], ctx: DecodeContext, label?: ConnLabeller): FrameRecord[] {
  const isn = new Map<string, number>();
  /** Per connection direction: banner payloads whose port was counted as 5 digits (end of payload, bytes added). */
  const adjusts = new Map<string, Array<{ end: number; adj: number }>>();
  const conns = new Map<string, { count: number; byReal: Map<string, { n: number; isn: number | undefined }> }>();
  return frames.map((input, index) => {
    const d = dissectFrame(input.bytes, { vxlanPorts: ctx.vxlanPorts });
    const b: Builder = {
      ctx,
      bytes: input.bytes,
      fields: new Map(),
      patterns: [],
      ranges: [],
      podnetOnly: new Map(),
      tcp: [],
      l4: undefined,
      lenAdjust: 0,
    };
    const level = describeFrame(b, d, '', 0, 0);
    if (b.lenAdjust !== 0) {
      for (const [k, v] of b.fields)
        if (typeof v === 'number' && LENGTH_FIELD.test(k)) b.fields.set(k, v + b.lenAdjust);
    }
    // number the connection: a new real 4-tuple, or a SYN with a new ISN, is the flow's next one
    let tag = '';
    const c = b.l4;
    const named = c === undefined ? undefined : label?.(c.real, input.t);
    if (named !== undefined) tag = `@${named}`;
    else if (c !== undefined) {
      let f = conns.get(c.flow);
      if (f === undefined) conns.set(c.flow, (f = { count: 0, byReal: new Map() }));
      const known = f.byReal.get(c.real);
      let n = known?.n;
      if (known === undefined || (c.synIsn !== undefined && known.isn !== c.synIsn)) {
        n = ++f.count;
        f.byReal.set(c.real, { n, isn: c.synIsn });
      }
      tag = `#${n}`;
    }
    const conn = level.conn.replace(CONN_MARK, tag);
    for (let i = 0; i < b.patterns.length; i++) {
      const p = b.patterns[i]!;
      if (p.scope.includes(CONN_MARK)) b.patterns[i] = { ...p, scope: p.scope.replace(CONN_MARK, tag) };
    }
    let sig = level.sig;
    for (const n of b.tcp) {
      const t = n.tcp;
      if (t.flags.includes('S')) {
        isn.set(n.conn, t.seq);
        adjusts.delete(n.conn);
      }
      const mine = isn.get(n.conn);
      const theirs = isn.get(n.rev);
      // sequence space after a banner whose port was counted as 5 digits moves by the same bytes
      const shift = (dir: string, rel: number): number => {
        let s = 0;
        for (const a of adjusts.get(dir) ?? []) if (a.end <= rel) s += a.adj;
        return (rel + s) >>> 0;
      };
      const seq = mine === undefined ? undefined : shift(n.conn, (t.seq - mine) >>> 0);
      const ack = t.flags.includes('.') && theirs !== undefined ? shift(n.rev, (t.ack - theirs) >>> 0) : undefined;
      if (seq !== undefined) b.fields.set(`${n.prefix}tcp.seq`, seq);
      if (ack !== undefined) b.fields.set(`${n.prefix}tcp.ack`, ack);
      if (b.lenAdjust !== 0 && mine !== undefined && t.len > 0) {
        const end = ((t.seq - mine) >>> 0) + t.len;
        let l = adjusts.get(n.conn);
        if (l === undefined) adjusts.set(n.conn, (l = []));
        if (!l.some((a) => a.end === end)) l.push({ end, adj: b.lenAdjust });
      }
      sig += ` seq${seq ?? '?'} ack${t.flags.includes('.') ? (ack ?? '?') : '-'}`;
    }
    return {
      index,
      input,
      d,
      fields: b.fields,
      patterns: b.patterns,
      ranges: b.ranges,
      podnetOnly: b.podnetOnly,
      flow: level.flow,
      conn,
      connId: named === undefined ? conn : `@${named}`,
      dirKey: level.dirKey,
      sig,
      coarse: level.coarse,
      summary: summarizeFrame(d),
      lenAdjust: b.lenAdjust,
    };
  });
}
