/**
 * Structured results of a flow, read from what the simulation recorded: the probe's report, the
 * hop events of the flow (NAT bindings with the rules that chose them, drops with reasons, every
 * frame sent or received with its device's MTU), and the model (what the dialled address is:
 * a Service's ClusterIP, a NodePort, a pod…; who answered).
 */
import type {
  ClusterModel,
  ExternalHostModel,
  NodeModel,
  PodModel,
  ServiceModel,
  ServicePortModel,
} from '../kube/model.js';
import type { ProbeModel } from '../kube/model.js';
import type { Network } from '../kube/network.js';
import type { NetNs } from '../net/netns.js';
import type { ProbeAttempt, ProbeReport } from '../apps/probe.js';
import type { Resolution } from '../apps/resolver.js';
import type { DropDetail, DropEvent, DropReason, HopEvent, RuleRef, TupleRef } from '../events/hop.js';
import type { FlowRecord, RecordedBinding } from '../events/tracer.js';
import { dropText } from '../trace/hop-text.js';
import type { FrameDissection, IpDissection } from '../wire/dissect.js';
import { isMalformed } from '../wire/dissect.js';
import { formatIpv4, parseIpv4 } from '../wire/addr.js';
import type { Ipv4Addr } from '../wire/addr.js';
import type { ServiceTarget } from './flow.js';

/** Where a flow starts. */
export type FlowSource =
  | {
      readonly kind: 'pod';
      readonly name: string;
      readonly ip: string;
      readonly node: string;
      readonly pod: PodModel;
      readonly label: string;
    }
  | { readonly kind: 'node'; readonly name: string; readonly ip: string; readonly node: string; readonly label: string }
  | {
      readonly kind: 'external';
      readonly name: string;
      readonly ip: string;
      readonly host: ExternalHostModel;
      readonly label: string;
    };

/** How a Service was reached by address. */
export type ServiceAddressKind = 'clusterIP' | 'nodePort' | 'loadBalancer' | 'externalIP';

/** What the dialled address (after name resolution) is in the model. */
export type FlowDestination =
  | {
      readonly kind: 'service';
      readonly ip: string;
      readonly port: number | undefined;
      readonly via: ServiceAddressKind;
      readonly service: ServiceModel;
      readonly servicePort: ServicePortModel | undefined;
      /** For NodePort, load-balancer and external IPs: the node the traffic enters the cluster at, when known. */
      readonly entryNode: string | undefined;
      /** The host name dialled, if the flow gave one. */
      readonly name: string | undefined;
    }
  | {
      readonly kind: 'pod';
      readonly ip: string;
      readonly port: number | undefined;
      readonly pod: PodModel;
      readonly name: string | undefined;
      readonly nameService: ServiceModel | undefined;
    }
  | {
      readonly kind: 'node';
      readonly ip: string;
      readonly port: number | undefined;
      readonly node: NodeModel;
      readonly name: string | undefined;
    }
  | {
      readonly kind: 'external';
      readonly ip: string;
      readonly port: number | undefined;
      readonly host: ExternalHostModel;
      readonly name: string | undefined;
      readonly nameService: ServiceModel | undefined;
    }
  | {
      readonly kind: 'other';
      readonly ip: string;
      readonly port: number | undefined;
      readonly name: string | undefined;
      readonly nameService: ServiceModel | undefined;
    }
  | {
      readonly kind: 'unresolved';
      readonly name: string;
      readonly port: number | undefined;
      readonly nameService: ServiceModel | undefined;
    };

/** The endpoint that answered an attempt. */
export interface Backend {
  readonly kind: 'pod' | 'node' | 'external' | 'address';
  /** Pod display name (`web-0`, `shop/web-0`), node, external host, or the address for ping. */
  readonly name: string;
  readonly ip: string;
  /** The node it runs on (pods, nodes). */
  readonly node: string | undefined;
  readonly pod: PodModel | undefined;
}

/** One attempt (echo, connection, datagram) with its answering endpoint resolved. */
export interface AttemptResult {
  readonly index: number;
  /** Virtual start time (ns). */
  readonly t: number;
  /** A reply came back. */
  readonly ok: boolean;
  /** Something was put on the wire (false for a local error such as EMSGSIZE or a failed lookup). */
  readonly sent: boolean;
  readonly error: string | undefined;
  readonly sourcePort: number | undefined;
  readonly backend: Backend | undefined;
  /** The client address and port the endpoint saw (`10.244.0.4:43292`). */
  readonly serverSaw: { readonly ip: string; readonly port: number } | undefined;
  /** The address the reply came from, as the client's socket saw it. */
  readonly replyFrom: string | undefined;
  readonly ttl: number | undefined;
  readonly rttNs: number | undefined;
  /** For a host name: what the resolver did. */
  readonly resolution: Resolution | undefined;
  /** The probe's own record. */
  readonly raw: ProbeAttempt;
}

/** A NAT decision a node's conntrack took for a connection of the flow. */
export interface Translation {
  readonly t: number;
  /** The node (trace name). */
  readonly where: string;
  readonly packet: number | undefined;
  readonly kind: 'DNAT' | 'SNAT' | 'MASQUERADE';
  /** `ip:port` before and after. */
  readonly from: string;
  readonly to: string;
  /** The nat hook that decided it (`nat/PREROUTING`, `nat/OUTPUT`, `nat/POSTROUTING`). */
  readonly hook: string;
  /** The rules the packet matched in the nat table on the way, the deciding one last. */
  readonly rules: readonly RuleRef[];
  /** Decided for a bridged frame (br_netfilter). */
  readonly bridged: boolean;
  /** MASQUERADE: the device whose address the source took. */
  readonly device: string | undefined;
  /** What replies look like once the binding is in place. */
  readonly reply: TupleRef;
}

/** A packet of the flow that was dropped. */
export interface Drop {
  readonly t: number;
  readonly where: string;
  readonly dev: string | undefined;
  readonly packet: number | undefined;
  /** Linux's `SKB_DROP_REASON_*` name where one fits. */
  readonly reason: DropReason;
  /** The particulars (which route, which MTU, which rule table…). */
  readonly detail: DropDetail;
  /** The particulars in words, as the trace prints them after `drop:`. */
  readonly description: string;
}

/** A frame of the flow as a device sent or received it, decoded, with the device's MTU. */
export interface PacketRecord {
  readonly t: number;
  readonly where: string;
  readonly dev: string;
  readonly dir: 'tx' | 'rx';
  readonly packet: number | undefined;
  readonly frame: FrameDissection;
  /** The device's MTU, when the device is known. */
  readonly mtu: number | undefined;
  /** The device's kind (`veth`, `bridge`, `vxlan`, `loopback`), when known. */
  readonly deviceKind: string | undefined;
}

/** One way a nat chain could go for a packet: the rules it matches, its verdict and NAT target, how likely it is. */
export interface NatPath {
  /** Exact probability of this path (the product of the `-m statistic` decisions on it). */
  readonly probability: number;
  readonly verdict: string;
  /** The DNAT/SNAT target as iptables-save writes it (`-j DNAT --to-destination 10.244.1.2:8080`), if any. */
  readonly nat: string | undefined;
  /** Rules that matched, in order. */
  readonly rules: readonly RuleRef[];
}

/** A decision of the nat chains (`allPaths`): a NAT target or a random choice, with every way it could have gone. */
export interface NatChoice {
  /** The node whose chains decided. */
  readonly node: string;
  /** The nat hook (`PREROUTING`, `OUTPUT`, `POSTROUTING`). */
  readonly hook: string;
  /** The flow id of the packet (0: none). */
  readonly flow: number;
  /** The packet, as tcpdump summarises it (`10.244.0.4.43292 > 10.96.0.100.80: Flags [S], …`). */
  readonly packet: string;
  readonly paths: readonly NatPath[];
}

/** Everything podnet knows about one flow after it ran. */
export interface FlowResult {
  /** Position in the flows given to simulate. */
  readonly index: number;
  /** The flow id its packets and hop events carry. */
  readonly id: number;
  /** The probe the flow ran as: every default applied, a Service target written out as an address. */
  readonly probe: ProbeModel;
  /** The Service port the flow was given as (`to: { service, … }`), if it was. */
  readonly target: ServiceTarget | undefined;
  readonly source: FlowSource;
  readonly destination: FlowDestination;
  readonly attempts: readonly AttemptResult[];
  /** Every attempt was answered. */
  readonly replied: boolean;
  /** Requests that reached an endpoint (server accepts or datagrams, or echo requests a kernel answered). */
  readonly deliveredCount: number;
  /** Every attempt that was sent reached an endpoint, at least one was sent, and nothing reached one twice. */
  readonly delivered: boolean;
  /** The distinct endpoints that answered, in order of first answer. */
  readonly backends: readonly Backend[];
  /** NAT bindings made for the flow's connections (recorded whether or not the run was traced). */
  readonly translations: readonly Translation[];
  /** Packets of the flow that were dropped (recorded whether or not the run was traced). */
  readonly drops: readonly Drop[];
  /** The flow's hop events, in order (empty without tracing). */
  readonly hops: readonly HopEvent[];
  /** Frames of the flow sent and received by devices (empty without tracing). */
  readonly packets: readonly PacketRecord[];
  /** Whether hop events were recorded (trace on): `hops` and `packets` depend on it. */
  readonly traced: boolean;
  /** The nat chains' decisions for the flow's packets, each with every way it could go (`allPaths`; else empty). */
  readonly allPaths: readonly NatChoice[];
  /** The probe report, as `podnet trace --json` prints it under `result`. */
  readonly report: ProbeReport;
  /** The model the flow ran in. */
  readonly model: ClusterModel;
}

/** Lookups over a built network, made once per simulation. */
export class NetworkIndex {
  private readonly byLabel = new Map<string, NetNs>();
  private readonly clusterIps = new Map<Ipv4Addr, ServiceModel[]>();
  private readonly lbIps = new Map<Ipv4Addr, ServiceModel[]>();
  private readonly extIps = new Map<Ipv4Addr, ServiceModel[]>();
  private readonly nodesByIp = new Map<Ipv4Addr, NodeModel>();
  private readonly externalsByIp = new Map<Ipv4Addr, ExternalHostModel>();
  private readonly devices = new Map<string, { mtu: number; kind: string } | undefined>();

  constructor(readonly network: Network) {
    for (const ns of network.world.namespaces.values()) this.byLabel.set(ns.label, ns);
    const add = (m: Map<Ipv4Addr, ServiceModel[]>, ip: Ipv4Addr, s: ServiceModel): void => {
      const l = m.get(ip);
      if (l === undefined) m.set(ip, [s]);
      else l.push(s);
    };
    for (const s of network.model.services) {
      for (const ip of s.clusterIPs) add(this.clusterIps, ip, s);
      for (const ip of s.loadBalancerIPs) add(this.lbIps, ip, s);
      for (const ip of s.externalIPs) add(this.extIps, ip, s);
    }
    for (const n of network.model.nodes) this.nodesByIp.set(n.ip, n);
    for (const e of network.model.externalHosts) this.externalsByIp.set(e.ip, e);
  }

  /** The MTU and kind of a device by trace location (`node1`, `cni0`). */
  device(where: string, dev: string): { readonly mtu: number; readonly kind: string } | undefined {
    const key = `${where}\u0000${dev}`;
    if (this.devices.has(key)) return this.devices.get(key);
    const d = this.byLabel.get(where)?.device(dev);
    const info = d === undefined ? undefined : { mtu: d.mtu, kind: d.kind };
    this.devices.set(key, info);
    return info;
  }

  /** The source of a flow, from the netns its probe ran in. */
  source(ns: NetNs, name: string): FlowSource {
    const net = this.network;
    for (const p of net.pods.values()) {
      if (p.ns === ns && p.display === name)
        return {
          kind: 'pod',
          name,
          ip: formatIpv4(p.model.ip),
          node: p.node.model.name,
          pod: p.model,
          label: ns.label,
        };
    }
    for (const n of net.nodes.values()) {
      if (n.ns === ns)
        return { kind: 'node', name: n.model.name, ip: formatIpv4(n.model.ip), node: n.model.name, label: ns.label };
    }
    for (const e of net.externals.values()) {
      if (e.ns === ns)
        return { kind: 'external', name: e.model.name, ip: formatIpv4(e.model.ip), host: e.model, label: ns.label };
    }
    throw new Error(`internal: flow source ${name} (${ns.label}) is not a pod, node or external host`);
  }

  /** The Service a cluster DNS name denotes from a namespace (`web`, `web.shop`, `web.shop.svc.cluster.local`). */
  serviceByName(name: string, fromNamespace: string): ServiceModel | undefined {
    const domain = this.network.model.dns?.clusterDomain ?? 'cluster.local';
    let n = name.toLowerCase().replace(/\.$/, '');
    const suffix = `.svc.${domain}`;
    if (n.endsWith(suffix)) n = n.slice(0, -suffix.length);
    else if (n.endsWith('.svc')) n = n.slice(0, -4);
    const parts = n.split('.');
    const [svc, ns] =
      parts.length === 1
        ? [parts[0]!, fromNamespace]
        : parts.length === 2
          ? [parts[0]!, parts[1]!]
          : [undefined, undefined];
    if (svc === undefined) return undefined;
    return this.network.model.services.find((s) => s.namespace === ns && s.name === svc);
  }

  /** Classifies a dialled address and port. */
  destination(
    ip: Ipv4Addr,
    port: number | undefined,
    protocol: string,
    name: string | undefined,
    nameService: ServiceModel | undefined,
  ): FlowDestination {
    const ipText = formatIpv4(ip);
    const proto = protocol.toUpperCase();
    const portOf = (s: ServiceModel, match: (p: ServicePortModel) => boolean): ServicePortModel | undefined =>
      s.ports.find((p) => p.protocol === proto && match(p));
    const service = (
      list: ServiceModel[] | undefined,
      via: ServiceAddressKind,
      entryNode: string | undefined,
    ): FlowDestination | undefined => {
      for (const s of list ?? []) {
        const sp = port === undefined ? undefined : portOf(s, (p) => p.port === port);
        if (sp !== undefined || port === undefined)
          return { kind: 'service', ip: ipText, port, via, service: s, servicePort: sp, entryNode, name };
      }
      return undefined;
    };
    const hit =
      service(this.clusterIps.get(ip), 'clusterIP', undefined) ??
      service(this.lbIps.get(ip), 'loadBalancer', this.announcer(ip)) ??
      service(this.extIps.get(ip), 'externalIP', undefined);
    if (hit !== undefined) return hit;
    const node = this.nodesByIp.get(ip);
    if (node !== undefined && port !== undefined) {
      for (const s of this.network.model.services) {
        const sp = portOf(s, (p) => p.nodePort === port);
        if (sp !== undefined)
          return {
            kind: 'service',
            ip: ipText,
            port,
            via: 'nodePort',
            service: s,
            servicePort: sp,
            entryNode: node.name,
            name,
          };
      }
    }
    const pod = this.network.podsByIp.get(ip);
    if (pod !== undefined && !pod.model.hostNetwork)
      return { kind: 'pod', ip: ipText, port, pod: pod.model, name, nameService };
    if (node !== undefined) return { kind: 'node', ip: ipText, port, node, name };
    const ext = this.externalsByIp.get(ip);
    if (ext !== undefined) return { kind: 'external', ip: ipText, port, host: ext, name, nameService };
    return { kind: 'other', ip: ipText, port, name, nameService };
  }

  /** The node that answers ARP for a load-balancer IP (MetalLB's speaker), if one does. */
  private announcer(ip: Ipv4Addr): string | undefined {
    for (const n of this.network.nodes.values()) if (n.eth0.arpAnnounce.has(ip)) return n.model.name;
    return undefined;
  }

  /** The endpoint behind an `answeredBy` (a pod's display name, an external host's name, or an address). */
  backend(answeredBy: string): Backend {
    const net = this.network;
    const pod = net.pod(answeredBy);
    if (pod !== undefined)
      return {
        kind: 'pod',
        name: pod.display,
        ip: formatIpv4(pod.model.ip),
        node: pod.node.model.name,
        pod: pod.model,
      };
    const ext = net.externals.get(answeredBy);
    if (ext !== undefined)
      return { kind: 'external', name: ext.model.name, ip: formatIpv4(ext.model.ip), node: undefined, pod: undefined };
    const ip = parseIpv4(answeredBy);
    if (ip !== undefined) {
      const p = net.podsByIp.get(ip);
      if (p !== undefined && !p.model.hostNetwork)
        return { kind: 'pod', name: p.display, ip: answeredBy, node: p.node.model.name, pod: p.model };
      const n = this.nodesByIp.get(ip);
      if (n !== undefined) return { kind: 'node', name: n.name, ip: answeredBy, node: n.name, pod: undefined };
      const e = this.externalsByIp.get(ip);
      if (e !== undefined) return { kind: 'external', name: e.name, ip: answeredBy, node: undefined, pod: undefined };
    }
    return { kind: 'address', name: answeredBy, ip: answeredBy, node: undefined, pod: undefined };
  }
}

/** A NAT binding of a recorded flow (or found among hop events) as a result. */
function translationOf(b: RecordedBinding): Translation {
  return {
    t: b.t,
    where: b.where,
    packet: b.pkt,
    kind: b.type,
    from: b.from,
    to: b.to,
    hook: `nat/${b.hook}`,
    rules: b.rules,
    bridged: b.bridged,
    device: b.device,
    reply: b.reply,
  };
}

/** The NAT bindings among hop events (a flow's result has them whether or not it was traced). */
export function translationsOf(events: readonly HopEvent[]): Translation[] {
  const out: Translation[] = [];
  for (const e of events) if (e.kind === 'nat' && e.what === 'binding') out.push(translationOf(e));
  return out;
}

/** A dropped packet as a result. */
function dropOf(d: DropEvent): Drop {
  return {
    t: d.t,
    where: d.where,
    dev: d.dev,
    packet: d.pkt,
    reason: d.reason,
    detail: d.detail,
    description: dropText(d.detail),
  };
}

/** The drops among hop events (a flow's result has them whether or not it was traced). */
export function dropsOf(events: readonly HopEvent[]): Drop[] {
  const out: Drop[] = [];
  for (const e of events) if (e.kind === 'drop') out.push(dropOf(e));
  return out;
}

/** The innermost IPv4 header of a frame (inside VXLAN when encapsulated). */
export function innermostIp(f: FrameDissection): IpDissection | undefined {
  let cur: FrameDissection | undefined = f;
  let ip: IpDissection | undefined;
  while (cur !== undefined) {
    if (cur.ip !== undefined && !isMalformed(cur.ip)) ip = cur.ip;
    cur = cur.inner;
  }
  return ip;
}

/** Builds the structured result of one flow. */
export function flowResult(args: {
  readonly index: number;
  readonly probe: ProbeModel;
  readonly target: ServiceTarget | undefined;
  readonly report: ProbeReport;
  readonly sourceNs: NetNs;
  readonly hops: readonly HopEvent[] | undefined;
  /** The flow's NAT bindings and drops, recorded while it ran. */
  readonly record: FlowRecord;
  readonly allPaths?: readonly NatChoice[] | undefined;
  readonly net: NetworkIndex;
}): FlowResult {
  const { report, probe: flow } = args;
  const idx = args.net;
  const model = idx.network.model;
  const source = idx.source(args.sourceNs, report.from);
  const hops = args.hops ?? [];
  const attempts: AttemptResult[] = report.attempts.map((a) => {
    const saw = a.serverSaw === undefined ? undefined : /^(.*):(\d+)$/.exec(a.serverSaw);
    return {
      index: a.index,
      t: a.t,
      ok: a.ok,
      sent: a.sent,
      error: a.error,
      sourcePort: a.sourcePort,
      backend: a.answeredBy === undefined ? undefined : idx.backend(a.answeredBy),
      serverSaw: saw === null || saw === undefined ? undefined : { ip: saw[1]!, port: Number(saw[2]) },
      replyFrom: a.replyFrom,
      ttl: a.ttl,
      rttNs: a.rttNs,
      resolution: a.resolved,
      raw: a,
    };
  });
  const backends: Backend[] = [];
  for (const a of attempts)
    if (a.backend !== undefined && !backends.some((b) => b.name === a.backend!.name)) backends.push(a.backend);
  // the dialled host: the name's first address for a name, else the address given
  const host = /^(.*?)(?::\d+)?$/.exec(flow.to)![1]!;
  const port = flow.port;
  let destination: FlowDestination;
  const asIp = parseIpv4(host);
  const ref = resolvedRef(host, model, idx);
  const fromNs = source.kind === 'pod' ? source.pod.namespace : 'default';
  if (ref !== undefined) destination = idx.destination(ref, port, flow.protocol, undefined, undefined);
  else if (asIp !== undefined) destination = idx.destination(asIp, port, flow.protocol, undefined, undefined);
  else {
    const nameService = idx.serviceByName(host, fromNs);
    const dst = report.dst === '' ? undefined : parseIpv4(report.dst);
    destination =
      dst === undefined
        ? { kind: 'unresolved', name: host, port, nameService }
        : idx.destination(dst, port, flow.protocol, host, nameService);
  }
  const sent = attempts.filter((a) => a.sent).length;
  const packets: PacketRecord[] = [];
  for (const h of hops) {
    if ((h.kind === 'tx' || h.kind === 'rx') && h.frame !== undefined && h.dev !== undefined) {
      const d = idx.device(h.where, h.dev);
      packets.push({
        t: h.t,
        where: h.where,
        dev: h.dev,
        dir: h.kind,
        packet: h.pkt,
        frame: h.frame,
        mtu: d?.mtu,
        deviceKind: d?.kind,
      });
    }
  }
  return {
    index: args.index,
    id: report.flow,
    probe: flow,
    target: args.target,
    source,
    destination,
    attempts,
    replied: attempts.length > 0 && attempts.every((a) => a.ok),
    deliveredCount: report.delivered,
    delivered: sent > 0 && report.delivered === sent,
    backends,
    translations: args.record.bindings.map(translationOf),
    drops: args.record.drops.map(dropOf),
    hops,
    packets,
    traced: args.hops !== undefined,
    allPaths: args.allPaths ?? [],
    report,
    model,
  };
}

/** The address of a `pod/…`, `node/…` or `ext/…` destination reference. */
function resolvedRef(host: string, model: ClusterModel, idx: NetworkIndex): Ipv4Addr | undefined {
  if (host.startsWith('pod/')) return idx.network.pod(host.slice(4))?.model.ip;
  if (host.startsWith('node/')) return model.nodes.find((n) => n.name === host.slice(5))?.ip;
  if (host.startsWith('ext/')) return model.externalHosts.find((e) => e.name === host.slice(4))?.ip;
  return undefined;
}
