/**
 * Invariants of the pod network, each a function of a flow's result returning `{ ok: true }` or
 * `{ ok: false, explanation }` with a sentence a person can act on. What "should" happen is
 * derived from the model (the Service, its EndpointSlices, the traffic policies, where the client
 * and the endpoints run) following Kubernetes' documented semantics, never from the rules podnet
 * generated — so a broken rule shows up as a difference.
 */
import type { EndpointModel, ServiceModel, ServicePortModel } from '../kube/model.js';
import { podListeners } from '../kube/model.js';
import { formatIpv4 } from '../wire/addr.js';
import type { FlowResult, FlowDestination, AttemptResult, PacketRecord } from '../api/results.js';
import { innermostIp } from '../api/results.js';
import { isMalformed } from '../wire/dissect.js';

/** The outcome of an invariant. */
export type Verdict = { readonly ok: true } | { readonly ok: false; readonly explanation: string };

/** An invariant over one flow's result. */
export type Invariant = (flow: FlowResult) => Verdict;

const OK: Verdict = { ok: true };

function fail(title: string, text: string): Verdict {
  return { ok: false, explanation: `${title}: ${text}` };
}

/** An endpoint a flow may legitimately reach. */
export interface AllowedEndpoint {
  readonly ip: string;
  /** A pod's display name, an external host's name, or the address. */
  readonly name: string;
  readonly node: string | undefined;
}

/**
 * Which endpoints may answer a flow, and why; `applies: false` when podnet cannot say (the invariant then holds
 * vacuously).
 */
export type AllowedEndpoints =
  | { readonly applies: true; readonly endpoints: readonly AllowedEndpoint[]; readonly why: string }
  | { readonly applies: false; readonly why: string };

/** `default/web:http` style name of a Service port. */
export function servicePortLabel(svc: ServiceModel, sp: ServicePortModel | undefined): string {
  return `${svc.namespace}/${svc.name}${sp?.name ? `:${sp.name}` : sp ? `:${sp.port}` : ''}`;
}

/** The endpoints kube-proxy may use for a Service port: the ready ones, else serving-and-terminating ones. */
export function serviceEndpoints(flow: FlowResult, svc: ServiceModel, sp: ServicePortModel): EndpointModel[] {
  const eps: EndpointModel[] = [];
  const seen = new Set<number>();
  for (const sl of flow.model.endpointSlices) {
    if (sl.namespace !== svc.namespace || sl.serviceName !== svc.name) continue;
    if (!sl.ports.some((p) => (p.name ?? '') === (sp.name ?? '') && p.protocol === sp.protocol)) continue;
    for (const e of sl.endpoints) {
      if (seen.has(e.ip)) continue;
      seen.add(e.ip);
      eps.push(e);
    }
  }
  const ready = eps.filter((e) => e.ready);
  return ready.length > 0 ? ready : eps.filter((e) => e.serving && e.terminating);
}

function endpointRef(flow: FlowResult, e: EndpointModel): AllowedEndpoint {
  const pod = flow.model.pods.find((p) => p.ip === e.ip && !p.hostNetwork);
  const ext = flow.model.externalHosts.find((h) => h.ip === e.ip);
  const name =
    pod !== undefined
      ? pod.namespace === 'default'
        ? pod.name
        : `${pod.namespace}/${pod.name}`
      : (ext?.name ?? formatIpv4(e.ip));
  return { ip: formatIpv4(e.ip), name, node: e.nodeName ?? pod?.nodeName };
}

function describeEndpoints(eps: readonly AllowedEndpoint[]): string {
  return eps.length === 0 ? 'none' : eps.map((e) => `${e.name} ${e.ip}${e.node ? ` (${e.node})` : ''}`).join(', ');
}

function sourceNode(flow: FlowResult): string | undefined {
  return flow.source.kind === 'external' ? undefined : flow.source.node;
}

/** The endpoints a flow may reach, from the model (see the module comment). */
export function allowedEndpoints(flow: FlowResult): AllowedEndpoints {
  const d = flow.destination;
  const src = flow.source;
  const proto = flow.probe.protocol.toUpperCase();
  const all = (svc: ServiceModel, sp: ServicePortModel): AllowedEndpoint[] =>
    serviceEndpoints(flow, svc, sp).map((e) => endpointRef(flow, e));
  const serves = (ports: ReadonlyArray<{ port: number; protocol: string; address?: number | undefined }>): boolean =>
    flow.probe.protocol === 'icmp' ||
    ports.some((p) => p.port === d.port && p.protocol === proto && p.address === undefined);
  switch (d.kind) {
    case 'service': {
      const { service: svc, servicePort: sp } = d;
      const via =
        d.via === 'clusterIP'
          ? 'ClusterIP'
          : d.via === 'nodePort'
            ? `NodePort on ${d.entryNode}`
            : d.via === 'loadBalancer'
              ? 'load-balancer IP'
              : 'external IP';
      const label = `${servicePortLabel(svc, sp)} via its ${via} ${d.ip}${d.port !== undefined ? `:${d.port}` : ''}`;
      if (flow.probe.protocol === 'icmp')
        return { applies: false, why: `${label}: a ping to a Service address is not load-balanced` };
      if (sp === undefined) return { applies: true, endpoints: [], why: `${label}: the Service has no such port` };
      const eps = all(svc, sp);
      if (d.via === 'clusterIP') {
        if (src.kind === 'external') return { applies: false, why: `${label}: reached from outside the cluster` };
        if (svc.internalTrafficPolicy === 'Local') {
          const node = sourceNode(flow);
          return {
            applies: true,
            endpoints: eps.filter((e) => e.node === node),
            why: `${label}, internalTrafficPolicy Local: the ready endpoints on the client's node ${node}`,
          };
        }
        return { applies: true, endpoints: eps, why: `${label}: any ready endpoint` };
      }
      // NodePort, load-balancer IP, external IP
      if (src.kind === 'external') {
        if (svc.externalTrafficPolicy === 'Local') {
          if (d.entryNode === undefined)
            return {
              applies: false,
              why: `${label}, externalTrafficPolicy Local: the node the traffic enters by is not known`,
            };
          return {
            applies: true,
            endpoints: eps.filter((e) => e.node === d.entryNode),
            why: `${label}, externalTrafficPolicy Local: the ready endpoints on ${d.entryNode}, where the traffic enters`,
          };
        }
        return { applies: true, endpoints: eps, why: `${label}, externalTrafficPolicy Cluster: any ready endpoint` };
      }
      // from inside: kube-proxy short-circuits pod and node traffic to external addresses it handles locally
      if (d.via === 'nodePort' && d.entryNode !== src.node)
        return { applies: false, why: `${label}: a NodePort of another node dialled from inside the cluster` };
      return { applies: true, endpoints: eps, why: `${label} from inside the cluster: any ready endpoint` };
    }
    case 'pod': {
      if (d.nameService?.headless === true) {
        const sp = d.nameService.ports.find((p) => p.protocol === proto) ?? d.nameService.ports[0];
        if (sp !== undefined) {
          return {
            applies: true,
            endpoints: all(d.nameService, sp),
            why: `the headless Service ${servicePortLabel(d.nameService, sp)} by name: any ready endpoint, chosen by DNS`,
          };
        }
      }
      const p = d.pod;
      const ref: AllowedEndpoint = {
        ip: d.ip,
        name: p.namespace === 'default' ? p.name : `${p.namespace}/${p.name}`,
        node: p.nodeName,
      };
      const ok = serves(podListeners(p));
      return {
        applies: true,
        endpoints: ok ? [ref] : [],
        why: ok ? `pod ${ref.name} dialled directly` : `pod ${ref.name} serves nothing on ${proto} ${d.port}`,
      };
    }
    case 'external': {
      const ok = serves(d.host.ports.map((p) => ({ port: p.containerPort, protocol: p.protocol })));
      const ref: AllowedEndpoint = { ip: d.ip, name: d.host.name, node: undefined };
      return {
        applies: true,
        endpoints: ok ? [ref] : [],
        why: `external host ${d.host.name}${d.name ? ` (by name ${d.name})` : ''}${ok ? '' : ` serving nothing on ${proto} ${d.port}`}`,
      };
    }
    case 'unresolved': {
      const svc = d.nameService;
      if (svc === undefined) return { applies: true, endpoints: [], why: `"${d.name}" names no Service` };
      if (svc.type === 'ExternalName')
        return {
          applies: false,
          why: `"${d.name}" is the ExternalName ${svc.namespace}/${svc.name}: what it resolves to is outside the cluster`,
        };
      const sp = svc.ports.find((p) =>
        svc.headless ? p.protocol === proto : p.port === d.port && p.protocol === proto,
      );
      if (sp === undefined)
        return { applies: true, endpoints: [], why: `${svc.namespace}/${svc.name} has no ${proto} port ${d.port}` };
      const eps = all(svc, sp);
      if (!svc.headless)
        return {
          applies: true,
          endpoints: eps,
          why: `"${d.name}" is ${servicePortLabel(svc, sp)}, whose ClusterIP always resolves`,
        };
      return {
        applies: true,
        endpoints: eps,
        why: `"${d.name}" is the headless ${servicePortLabel(svc, sp)}: it resolves to its ready endpoints`,
      };
    }
    case 'node':
      return { applies: false, why: `node ${d.node.name} dialled: what answers there is the host's business` };
    case 'other':
      return { applies: true, endpoints: [], why: `${d.ip} is nobody's address in the cluster` };
  }
}

const NOUN: Record<string, string> = { tcp: 'connection', udp: 'datagram', icmp: 'echo request' };

/** `tcp client (10.244.0.4, node1) → 10.96.0.130:80` */
function flowLabel(flow: FlowResult): string {
  const s = flow.source;
  return `${flow.probe.protocol} ${s.name} (${s.ip}${s.kind !== 'external' ? `, ${s.node}` : ''}) → ${flow.probe.to}`;
}

function attemptLabel(flow: FlowResult, a: AttemptResult): string {
  return `${NOUN[flow.probe.protocol]} #${a.index + 1}${a.sourcePort !== undefined ? ` (source port ${a.sourcePort})` : ''}`;
}

const DELIVERED = 'delivered to exactly one ready endpoint';

/**
 * Every request of the flow reaches exactly one endpoint it may reach (a ready endpoint of the
 * Service allowed by its traffic policies, the pod or host dialled) and is answered; when there is
 * no such endpoint, nothing is delivered.
 */
export function deliveredToOneReadyEndpoint(flow: FlowResult): Verdict {
  const allowed = allowedEndpoints(flow);
  if (!allowed.applies) return OK;
  const label = flowLabel(flow);
  const ips = new Set(allowed.endpoints.map((e) => e.ip));
  const sent = flow.attempts.filter((a) => a.sent).length;
  if (allowed.endpoints.length === 0) {
    const reached = flow.attempts.filter((a) => a.backend !== undefined);
    if (flow.deliveredCount > 0 || reached.length > 0) {
      return fail(
        DELIVERED,
        `${label}: ${allowed.why}, so no endpoint may be reached, yet ${flow.deliveredCount} ` +
          `request${flow.deliveredCount === 1 ? '' : 's'} reached one` +
          (reached.length > 0
            ? ` (${reached.map((a) => `${attemptLabel(flow, a)} by ${a.backend!.name} ${a.backend!.ip}`).join(', ')})`
            : ''),
      );
    }
    return OK;
  }
  let refusedBySize = 0;
  for (const a of flow.attempts) {
    // refused by the client's own kernel before anything was sent (EMSGSIZE for a DF ping over the MTU): not the
    // network's doing
    if (!a.sent && (a.resolution === undefined || a.resolution.addresses.length > 0)) continue;
    // refused on the way by a router's "fragmentation needed" (a DF datagram larger than the path
    // MTU, e.g. the overlay's): path MTU discovery at work, not a delivery fault (noPacketExceedsMtu
    // checks the sizes); the kernel reports it to the socket as EMSGSIZE
    if (!a.ok && a.raw.errno === 'EMSGSIZE') {
      refusedBySize++;
      continue;
    }
    if (!a.ok) {
      return fail(
        DELIVERED,
        `${label}: ${attemptLabel(flow, a)} was not answered (${a.error ?? 'no reply'}); ${allowed.why}: ${describeEndpoints(allowed.endpoints)}`,
      );
    }
    if (a.backend === undefined) continue;
    if (!ips.has(a.backend.ip)) {
      return fail(
        DELIVERED,
        `${label}: ${attemptLabel(flow, a)} was answered by ${a.backend.name} ${a.backend.ip}` +
          `${a.backend.node ? ` (${a.backend.node})` : ''}, which it may not reach; ` +
          `${allowed.why}: ${describeEndpoints(allowed.endpoints)}`,
      );
    }
  }
  if (flow.deliveredCount !== sent - refusedBySize) {
    return fail(
      DELIVERED,
      `${label}: ${flow.deliveredCount} requests reached an endpoint for ${sent - refusedBySize} sent and not refused as too big (each must reach exactly one)`,
    );
  }
  return OK;
}

const UNNAT = 'reply un-NATed to the dialled address';

/** The address an attempt dialled: what its name resolved to that time, else the flow's destination. */
function dialledIp(flow: FlowResult, a: AttemptResult): string | undefined {
  if (a.resolution !== undefined) return a.resolution.addresses[0];
  const d = flow.destination;
  return d.kind === 'unresolved' ? undefined : d.ip;
}

/**
 * Everything the client receives on its connection comes from the address and port it dialled:
 * replies are un-NATed (un-DNATed from the endpoint, un-SNATed back to the client) on their way.
 * Checks every frame delivered into the client's network namespace for the flow's sockets (needs
 * tracing), and the reply address each answered attempt saw.
 */
export function replyFromDialledAddress(flow: FlowResult): Verdict {
  const label = flowLabel(flow);
  for (const a of flow.attempts) {
    const ip = dialledIp(flow, a);
    if (a.ok && a.replyFrom !== undefined && ip !== undefined && a.replyFrom !== ip) {
      return fail(UNNAT, `${label}: the reply to ${attemptLabel(flow, a)} came from ${a.replyFrom}, not ${ip}`);
    }
  }
  const port = flow.probe.port;
  if (flow.probe.protocol === 'icmp' || port === undefined) return OK;
  const clientIp = flow.source.ip;
  const ports = new Map<number, AttemptResult>();
  for (const a of flow.attempts) if (a.sourcePort !== undefined) ports.set(a.sourcePort, a);
  // DNS answers to the resolver's own sockets carry the same flow id: leave them out
  const dnsServers = new Set<string>();
  for (const a of flow.attempts) for (const q of a.resolution?.queries ?? []) dnsServers.add(q.server);
  for (const p of flow.packets) {
    if (p.dir !== 'rx' || p.where !== flow.source.label) continue;
    const ip = p.frame.ip;
    if (ip === undefined || isMalformed(ip) || ip.dst !== clientIp || ip.fragOffset !== 0) continue;
    const l4 = flow.probe.protocol === 'tcp' ? p.frame.tcp : p.frame.udp;
    if (l4 === undefined || isMalformed(l4)) continue;
    const a = ports.get(l4.dport);
    if (a === undefined) continue;
    if (l4.sport === 53 && dnsServers.has(ip.src)) continue;
    const to = dialledIp(flow, a);
    if (to === undefined) continue;
    if (ip.src !== to || l4.sport !== port) {
      return fail(
        UNNAT,
        `${label}: for ${attemptLabel(flow, a)} the client received ${describePacket(p)} on ${p.dev} at ${(p.t / 1e6).toFixed(3)} ms, from ${ip.src}:${l4.sport} instead of the dialled ${to}:${port}`,
      );
    }
  }
  return OK;
}

function describePacket(p: PacketRecord): string {
  const ip = p.frame.ip;
  const tcp = p.frame.tcp;
  const udp = p.frame.udp;
  if (ip === undefined || isMalformed(ip)) return 'a frame';
  if (tcp !== undefined && !isMalformed(tcp))
    return `tcp ${ip.src}:${tcp.sport} → ${ip.dst}:${tcp.dport} [${tcp.flags}]`;
  if (udp !== undefined && !isMalformed(udp)) return `udp ${ip.src}:${udp.sport} → ${ip.dst}:${udp.dport}`;
  return `ip ${ip.src} → ${ip.dst} proto ${ip.proto}`;
}

const PRESERVED = 'client IP preserved';

/**
 * The endpoint sees the client's own address where Kubernetes promises it: for traffic from
 * outside to a NodePort, load-balancer or external IP of a Service with externalTrafficPolicy
 * Local, and for a pod reaching a ClusterIP (pod-to-Service traffic is not masqueraded, except a
 * pod landing on itself, which must be).
 */
export function clientIpPreserved(flow: FlowResult): Verdict {
  const d = flow.destination;
  const s = flow.source;
  if (d.kind !== 'service' && !(d.kind === 'pod' && d.nameService !== undefined)) return OK;
  let why: string;
  if (
    d.kind === 'service' &&
    d.via !== 'clusterIP' &&
    s.kind === 'external' &&
    d.service.externalTrafficPolicy === 'Local'
  ) {
    why = `externalTrafficPolicy Local keeps the client address for ${servicePortLabel(d.service, d.servicePort)}`;
  } else if (d.kind === 'service' && d.via === 'clusterIP' && s.kind === 'pod' && !s.pod.hostNetwork) {
    why = `pod-to-ClusterIP traffic to ${servicePortLabel(d.service, d.servicePort)} is not masqueraded`;
  } else return OK;
  for (const a of flow.attempts) {
    if (!a.ok || a.serverSaw === undefined || a.backend === undefined) continue;
    // a pod reaching itself through its Service is masqueraded on purpose (the hairpin)
    if (s.kind === 'pod' && a.backend.ip === s.ip) continue;
    if (a.serverSaw.ip !== s.ip) {
      return fail(
        PRESERVED,
        `${flowLabel(flow)}: ${a.backend.name} saw ${attemptLabel(flow, a)} coming from ${a.serverSaw.ip}:${a.serverSaw.port}, not the client's ${s.ip}; ${why}`,
      );
    }
  }
  return OK;
}

const AFFINITY = 'session affinity stable';

/**
 * With sessionAffinity ClientIP, every connection of the flow (one client address) is answered by the same endpoint.
 */
export function affinityStable(flow: FlowResult): Verdict {
  const d = flow.destination;
  if (d.kind !== 'service' || d.service.sessionAffinity !== 'ClientIP') return OK;
  const answered = flow.attempts.filter((a) => a.ok && a.backend !== undefined);
  const first = answered[0];
  if (first === undefined) return OK;
  const other = answered.find((a) => a.backend!.ip !== first.backend!.ip);
  if (other === undefined) return OK;
  return fail(
    AFFINITY,
    `${flowLabel(flow)}: ${servicePortLabel(d.service, d.servicePort)} has sessionAffinity ClientIP ` +
      `(timeout ${d.service.affinityTimeoutSeconds}s), but ${attemptLabel(flow, first)} was answered by ` +
      `${first.backend!.name} and ${attemptLabel(flow, other)} by ${other.backend!.name}`,
  );
}

const MTU = 'no packet exceeds an MTU';

/**
 * No link sends an IPv4 packet longer than its MTU (needs tracing). Bridges are not links: with
 * br_netfilter, conntrack reassembles fragments and a bridge hands the whole datagram to its port,
 * which refragments it (br_nf_dev_queue_xmit), so a tap on cni0 sees it whole, as tcpdump does.
 */
export function noPacketExceedsMtu(flow: FlowResult): Verdict {
  for (const p of flow.packets) {
    if (p.dir !== 'tx' || p.mtu === undefined || p.deviceKind === 'bridge') continue;
    const ip = p.frame.ip;
    if (ip === undefined || isMalformed(ip)) continue;
    if (ip.len > p.mtu) {
      return fail(
        MTU,
        `${flowLabel(flow)}: ${p.where}/${p.dev} (MTU ${p.mtu}) sent ${describePacket(p)} of ${ip.len} bytes at ${(p.t / 1e6).toFixed(3)} ms (packet ${p.packet ?? '?'})`,
      );
    }
  }
  return OK;
}

const TTL = 'TTL never increases';

/** Along each packet's path (same packet id), the TTL of its innermost IPv4 header never goes up (needs tracing). */
export function ttlNeverIncreases(flow: FlowResult): Verdict {
  const last = new Map<number, { ttl: number; p: PacketRecord }>();
  for (const p of flow.packets) {
    if (p.packet === undefined) continue;
    const ip = innermostIp(p.frame);
    if (ip === undefined) continue;
    const prev = last.get(p.packet);
    if (prev !== undefined && ip.ttl > prev.ttl) {
      return fail(
        TTL,
        `${flowLabel(flow)}: packet ${p.packet} (${describePacket(p)}) had TTL ${prev.ttl} at ${prev.p.where}/${prev.p.dev} (${prev.p.dir}) and then TTL ${ip.ttl} at ${p.where}/${p.dev} (${p.dir})`,
      );
    }
    last.set(p.packet, { ttl: ip.ttl, p });
  }
  return OK;
}

/** The invariants shipped with podnet, in the order they are checked. */
export const standardInvariants: readonly Invariant[] = [
  deliveredToOneReadyEndpoint,
  replyFromDialledAddress,
  clientIpPreserved,
  affinityStable,
  noPacketExceedsMtu,
  ttlNeverIncreases,
];

/** Checks invariants in order; the verdict of the first that fails, or ok. */
export function checkInvariants(flow: FlowResult, invariants: readonly Invariant[] = standardInvariants): Verdict {
  for (const inv of invariants) {
    const v = inv(flow);
    if (!v.ok) return v;
  }
  return OK;
}

/** Throws an Error with the explanation when a verdict is a violation (for plain `expect`-style tests). */
export function assertVerdict(v: Verdict): void {
  if (!v.ok) throw new Error(v.explanation);
}

/** The Service a destination belongs to, if any (for classifying generated flows in statistics). */
export function destinationService(d: FlowDestination): ServiceModel | undefined {
  if (d.kind === 'service') return d.service;
  if (d.kind === 'pod' || d.kind === 'external' || d.kind === 'other' || d.kind === 'unresolved') return d.nameService;
  return undefined;
}
