/**
 * Frames as the comparer sees them: podnet's dissection (src/wire/dissect.ts) flattened into
 * named fields, each with a comparison rule, plus a flow key and signatures for aligning the
 * kernel's frames with podnet's at one capture point.
 *
 * Rules:
 * - exact: the values must be equal (MACs, addresses, TTLs, DF/MF/offsets, lengths, ports that
 *   are not ephemeral, ICMP type/code/seq/MTU, TCP flags/window/options, VXLAN VNI...);
 * - pattern: random in the kernel, so only "which earlier frame has the same value" is compared,
 *   within a scope where the kernel keeps them consistent (IP IDs within a flow direction,
 *   ephemeral ports and ICMP echo ids within a flow, the VXLAN outer source port within the
 *   inner flow, both directions);
 * - IP ID 0 vs non-zero is compared exactly when DF is set (`ip.id=0`: PMTUDISC_DO pings,
 *   SYN-ACKs and RSTs carry 0); without DF an ID of 0 is just a counter value;
 * - range: must lie in a range on both sides (ephemeral ports, VXLAN source ports);
 * - podnet-only: TCP/UDP checksums in the kernel's captures are CHECKSUM_PARTIAL values (veth
 *   offload), so only podnet's are checked, and must be valid;
 * - TCP seq/ack are compared relative to the ISN of their direction; TCP timestamps are not
 *   compared (their option kind is).
 */
import { dissectFrame, isMalformed, summarizeFrame } from '../wire/dissect.js';
import type { FrameDissection, IcmpDissection, IpDissection, TcpDissection, UdpDissection } from '../wire/dissect.js';
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
  /** Direction within the flow (`10.244.1.3>10.244.2.2`). */
  dirKey: string;
  /** Fine signature: frames with equal signatures are the same event. */
  sig: string;
  /** Coarse signature: the same flow, direction and protocol (used to pair frames that differ). */
  coarse: string;
  /** tcpdump-like one-liner. */
  readonly summary: string;
}

/** What the decoder needs to know about the scenario. */
export interface DecodeContext {
  /** Ports that are not ephemeral: server ports, pinned client ports, the VXLAN port. */
  readonly fixedPorts: ReadonlySet<number>;
  /** ip_local_port_range. */
  readonly ephemeralRange: readonly [number, number];
  /** UDP ports decoded as VXLAN. */
  readonly vxlanPorts: readonly number[];
}

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
  dirKey: string;
  sig: string;
  coarse: string;
}

interface Builder {
  readonly ctx: DecodeContext;
  readonly bytes: Uint8Array;
  readonly fields: Map<string, Value>;
  readonly patterns: PatternField[];
  readonly ranges: RangeField[];
  readonly podnetOnly: Map<string, boolean>;
  readonly tcp: TcpNote[];
}

function portLabel(b: Builder, port: number): string {
  return b.ctx.fixedPorts.has(port) ? String(port) : '*';
}

function sortedPair(a: string, c: string): string {
  return a <= c ? `${a}<>${c}` : `${c}<>${a}`;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** The banner line servers send: `<name> <ip> <port>\n`. */
const BANNER = /^(\S+) (\d+\.\d+\.\d+\.\d+) (\d+)\n$/;

function payloadFields(b: Builder, prefix: string, off: number, len: number, flow: string): void {
  if (len <= 0 || off + len > b.bytes.length) return;
  const data = b.bytes.subarray(off, off + len);
  const text = decoder.decode(data);
  const m = BANNER.exec(text);
  if (m) {
    b.fields.set(`${prefix}banner.server`, m[1]!);
    b.fields.set(`${prefix}banner.peer`, m[2]!);
    const port = Number(m[3]);
    if (b.ctx.fixedPorts.has(port)) b.fields.set(`${prefix}banner.peerPort`, port);
    else b.patterns.push({ field: `${prefix}banner.peerPort`, scope: flow, value: port });
    return;
  }
  b.fields.set(`${prefix}payload`, Buffer.from(data).toString('hex'));
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

function describeIp(b: Builder, d: FrameDissection, ip: IpDissection, prefix: string, base: number, depth: number): Level {
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
  // DF the ID comes from a counter that may pass through 0 like any other value
  if (ip.df) f.set(`${prefix}ip.id=0`, ip.id === 0);
  const proto = PROTO[ip.proto] ?? `proto${ip.proto}`;
  const dirKey = `${ip.src}>${ip.dst}`;
  const frag = ip.mf || ip.fragOffset > 0 ? ` frag${ip.fragOffset}${ip.mf ? '+' : ''}` : '';
  const l4 = base + 14 + ip.hlen;
  let flow = `${proto} ${sortedPair(ip.src, ip.dst)}`;
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
          const sp = portLabel(b, q.sport);
          const dp = portLabel(b, q.dport);
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
    const sp = portLabel(b, udp.sport);
    const dp = portLabel(b, udp.dport);
    const isVxlan = d.vxlan !== undefined && b.ctx.vxlanPorts.includes(udp.dport);
    f.set(`${prefix}udp.len`, udp.len);
    if (!ip.mf) b.podnetOnly.set(`${prefix}udp.checksumOk`, udp.checksumOk);
    if (isVxlan) {
      f.set(`${prefix}udp.dport`, udp.dport);
      b.ranges.push({ field: `${prefix}udp.sport`, value: udp.sport, lo: VXLAN_SPORT_RANGE[0], hi: VXLAN_SPORT_RANGE[1] - 1 });
      const vx = d.vxlan!;
      if (isMalformed(vx)) {
        f.set(`${prefix}vxlan`, `malformed: ${vx.malformed}`);
        return { flow: `vxlan ${sortedPair(ip.src, ip.dst)}`, dirKey, sig: `vxlan ${dirKey} malformed`, coarse: `vxlan ${dirKey}` };
      }
      f.set(`${prefix}vxlan.vni`, vx.vni);
      f.set(`${prefix}vxlan.flags`, vx.flags);
      if (d.inner !== undefined && depth < 3) {
        const innerBase = l4 + 8 + 8;
        const inner = describeFrame(b, d.inner, `${prefix}inner.`, innerBase, depth + 1);
        const vflow = `vxlan[${inner.flow}]`;
        b.patterns.push({ field: `${prefix}udp.sport`, scope: vflow, value: udp.sport });
        b.patterns.push({ field: `${prefix}ip.id`, scope: `${vflow} ${dirKey}`, value: ip.id });
        return { flow: vflow, dirKey: `${dirKey} [${inner.dirKey}]`, sig: `vxlan ${dirKey} [${inner.sig}]`, coarse: `vxlan ${dirKey} [${inner.coarse}]` };
      }
      return { flow: `vxlan ${sortedPair(ip.src, ip.dst)}`, dirKey, sig: `vxlan ${dirKey}`, coarse: `vxlan ${dirKey}` };
    }
    flow = `udp ${sortedPair(`${ip.src}:${sp}`, `${ip.dst}:${dp}`)}`;
    for (const [name, port, label] of [
      ['udp.sport', udp.sport, sp],
      ['udp.dport', udp.dport, dp],
    ] as const) {
      if (label !== '*') f.set(`${prefix}${name}`, port);
      else {
        b.patterns.push({ field: `${prefix}${name}`, scope: flow, value: port });
        b.ranges.push({ field: `${prefix}${name}`, value: port, lo: b.ctx.ephemeralRange[0], hi: b.ctx.ephemeralRange[1] });
      }
    }
    f.set(`${prefix}payloadLen`, d.payloadLen ?? 0);
    if (!ip.mf) payloadFields(b, prefix, l4 + 8, d.payloadLen ?? 0, flow);
    detail = `udp len${udp.len}`;
  } else if (d.tcp !== undefined && !isMalformed(d.tcp)) {
    const tcp = d.tcp;
    const sp = portLabel(b, tcp.sport);
    const dp = portLabel(b, tcp.dport);
    flow = `tcp ${sortedPair(`${ip.src}:${sp}`, `${ip.dst}:${dp}`)}`;
    for (const [name, port, label] of [
      ['tcp.sport', tcp.sport, sp],
      ['tcp.dport', tcp.dport, dp],
    ] as const) {
      if (label !== '*') f.set(`${prefix}${name}`, port);
      else {
        b.patterns.push({ field: `${prefix}${name}`, scope: flow, value: port });
        b.ranges.push({ field: `${prefix}${name}`, value: port, lo: b.ctx.ephemeralRange[0], hi: b.ctx.ephemeralRange[1] });
      }
    }
    f.set(`${prefix}tcp.flags`, tcp.flags);
    f.set(`${prefix}tcp.window`, tcp.window);
    f.set(`${prefix}tcp.len`, tcp.len);
    f.set(`${prefix}tcp.options`, tcp.options.map((o) => (o.startsWith('TS ') ? 'TS' : o)).join(','));
    if (!ip.mf) b.podnetOnly.set(`${prefix}tcp.checksumOk`, tcp.checksumOk);
    b.tcp.push({ prefix, conn: `${ip.src}:${tcp.sport}>${ip.dst}:${tcp.dport}`, rev: `${ip.dst}:${tcp.dport}>${ip.src}:${tcp.sport}`, tcp });
    const hlen = ip.len - ip.hlen - tcp.len;
    if (!ip.mf) payloadFields(b, prefix, l4 + hlen, tcp.len, flow);
    detail = `tcp ${tcp.flags} len${tcp.len}`;
  } else {
    f.set(`${prefix}payloadLen`, d.payloadLen ?? 0);
  }
  b.patterns.push({ field: `${prefix}ip.id`, scope: `${flow} ${dirKey}`, value: ip.id });
  return { flow, dirKey, sig: `${flow} ${dirKey} ${detail}${frag}`, coarse: `${flow} ${dirKey} ${proto}` };
}

function describeFrame(b: Builder, d: FrameDissection, prefix: string, base: number, depth: number): Level {
  const f = b.fields;
  f.set(`${prefix}frame.len`, d.len);
  if (d.malformed !== undefined) f.set(`${prefix}malformed`, d.malformed);
  const eth = d.eth;
  if (eth === undefined || isMalformed(eth)) return { flow: 'malformed', dirKey: '', sig: `malformed ${d.len}`, coarse: 'malformed' };
  f.set(`${prefix}eth.src`, eth.src);
  f.set(`${prefix}eth.dst`, eth.dst);
  f.set(`${prefix}eth.type`, eth.type);
  if (d.arp !== undefined) {
    const a = d.arp;
    if (isMalformed(a)) return { flow: 'arp', dirKey: '', sig: `arp malformed`, coarse: 'arp' };
    f.set(`${prefix}arp.op`, a.op);
    f.set(`${prefix}arp.senderMac`, a.senderMac);
    f.set(`${prefix}arp.senderIp`, a.senderIp);
    f.set(`${prefix}arp.targetMac`, a.targetMac);
    f.set(`${prefix}arp.targetIp`, a.targetIp);
    const flow = `arp ${sortedPair(a.senderIp, a.targetIp)}`;
    const dirKey = `${a.senderIp}>${a.targetIp}`;
    const cast = eth.dst === 'ff:ff:ff:ff:ff:ff' ? 'broadcast' : 'unicast';
    return { flow, dirKey, sig: `${flow} ${dirKey} ${a.op} ${cast}`, coarse: `${flow} ${dirKey} arp` };
  }
  if (d.ip !== undefined) {
    if (isMalformed(d.ip)) return { flow: 'ip', dirKey: '', sig: `ip malformed`, coarse: 'ip' };
    return describeIp(b, d, d.ip, prefix, base, depth);
  }
  f.set(`${prefix}payloadLen`, d.payloadLen ?? 0);
  const type = `ethertype 0x${eth.type.toString(16).padStart(4, '0')}`;
  return { flow: type, dirKey: `${eth.src}>${eth.dst}`, sig: `${type} ${eth.src}>${eth.dst} ${d.len}`, coarse: type };
}

/**
 * Decodes the frames of one capture point. TCP seq/ack become relative to the ISN of their
 * direction (reset at every SYN); everything else is per frame.
 */
export function decodeFrames(frames: readonly FrameInput[], ctx: DecodeContext): FrameRecord[] {
  const isn = new Map<string, number>();
  return frames.map((input, index) => {
    const d = dissectFrame(input.bytes, { vxlanPorts: ctx.vxlanPorts });
    const b: Builder = { ctx, bytes: input.bytes, fields: new Map(), patterns: [], ranges: [], podnetOnly: new Map(), tcp: [] };
    const level = describeFrame(b, d, '', 0, 0);
    let sig = level.sig;
    for (const n of b.tcp) {
      const t = n.tcp;
      if (t.flags.includes('S')) isn.set(n.conn, t.seq);
      const mine = isn.get(n.conn);
      const theirs = isn.get(n.rev);
      if (mine !== undefined) b.fields.set(`${n.prefix}tcp.seq`, (t.seq - mine) >>> 0);
      if (t.flags.includes('.') && theirs !== undefined) b.fields.set(`${n.prefix}tcp.ack`, (t.ack - theirs) >>> 0);
      sig += ` seq${mine === undefined ? '?' : (t.seq - mine) >>> 0} ack${t.flags.includes('.') ? (theirs === undefined ? '?' : (t.ack - theirs) >>> 0) : '-'}`;
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
      dirKey: level.dirKey,
      sig,
      coarse: level.coarse,
      summary: summarizeFrame(d),
    };
  });
}
