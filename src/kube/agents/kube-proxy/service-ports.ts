/**
 * kube-proxy's view of Services and endpoints, whatever its mode (pkg/proxy's ServicePort,
 * EndpointSliceCache and CategorizeEndpoints, as of v1.30): every service port with its
 * endpoints in kube-proxy's order, and what one node's kube-proxy decides for it (local
 * endpoints, which chains exist). The iptables writer turns this into rules; an nftables or IPVS
 * mode would start from the same view.
 */
import type { Cidr, ClusterModel, EndpointModel, ServiceModel, ServicePortModel } from '../../model.js';
import { PROTO_NUM, type Protocol } from '../rule-builders.js';
import { extChain, fwChain, sepChain, servicePortName, svcChain, svlChain } from './hash.js';

/** One endpoint of a service port, as kube-proxy sees it. */
export interface EndpointInfo {
  readonly ip: number;
  readonly port: number;
  /** `ip:port`, the string kube-proxy sorts and hashes. */
  readonly key: string;
  readonly nodeName: string | undefined;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly targetPod: string | undefined;
  /** The endpoint's KUBE-SEP chain. */
  readonly sepChain: string;
}

/** A service port with everything kube-proxy derives from it that does not depend on the node. */
export interface ServicePortInfo {
  readonly index: number;
  readonly namespace: string;
  readonly service: string;
  /** Port name; '' for an unnamed port. */
  readonly portName: string;
  /** `ns/svc[:port]`. */
  readonly name: string;
  readonly protocol: Protocol;
  readonly protoNum: number;
  readonly clusterIP: number;
  readonly port: number;
  /** 0 when the service has no NodePort. */
  readonly nodePort: number;
  readonly externalIPs: readonly number[];
  readonly loadBalancerIPs: readonly number[];
  readonly loadBalancerSourceRanges: readonly Cidr[];
  /** 0 unless a LoadBalancer with externalTrafficPolicy Local. */
  readonly healthCheckNodePort: number;
  readonly internalPolicyLocal: boolean;
  readonly externalPolicyLocal: boolean;
  readonly externallyAccessible: boolean;
  readonly usesClusterEndpoints: boolean;
  readonly usesLocalEndpoints: boolean;
  /** ClientIP affinity timeout in seconds, or undefined without affinity. */
  readonly affinitySeconds: number | undefined;
  readonly chains: { readonly svc: string; readonly svl: string; readonly ext: string; readonly fw: string };
  /** All endpoints, sorted by `ip:port` string (kube-proxy's order). */
  readonly endpoints: readonly EndpointInfo[];
  /** The Cluster-policy endpoints (ready, else serving+terminating), in the same order. */
  readonly clusterEndpoints: readonly EndpointInfo[];
  /** Whether the service port has usable endpoints anywhere in the cluster. */
  readonly hasEndpoints: boolean;
  readonly usesFirewallChain: boolean;
}

/** A service port as one node's kube-proxy programs it. */
export interface NodeServicePort {
  readonly info: ServicePortInfo;
  /** Local-policy endpoints on this node (empty when the port does not use Local policy). */
  readonly localEndpoints: readonly EndpointInfo[];
  /** Endpoints with a KUBE-SEP chain on this node (cluster ∪ local), sorted. */
  readonly reachableEndpoints: readonly EndpointInfo[];
  readonly hasInternalEndpoints: boolean;
  readonly hasExternalEndpoints: boolean;
  /** The chain ClusterIP traffic jumps to in nat KUBE-SERVICES; undefined if it is dropped/rejected in filter. */
  readonly internalChain: string | undefined;
  /** The chain NodePort/externalIP/LB traffic goes to (KUBE-EXT-…), if any. */
  readonly externalChain: string | undefined;
  /** KUBE-SVC-… exists on this node. */
  readonly usesClusterChain: boolean;
  /** KUBE-SVL-… exists on this node. */
  readonly usesLocalChain: boolean;
}

function ipStr(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** strcmp order (Go's string comparison). */
export function compareStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function serviceExternallyAccessible(svc: ServiceModel): boolean {
  return (
    svc.type === 'LoadBalancer' || svc.type === 'NodePort' || (svc.type === 'ClusterIP' && svc.externalIPs.length > 0)
  );
}

/** Every service port kube-proxy programs, sorted by name then protocol, with its endpoints. */
export function collectServicePorts(model: ClusterModel): ServicePortInfo[] {
  const slicesBySvc = new Map<string, ClusterModel['endpointSlices'][number][]>();
  for (const sl of model.endpointSlices) {
    const k = `${sl.namespace}/${sl.serviceName}`;
    let a = slicesBySvc.get(k);
    if (a === undefined) slicesBySvc.set(k, (a = []));
    a.push(sl);
  }
  const drafts: Omit<ServicePortInfo, 'index'>[] = [];
  for (const svc of model.services) {
    // proxyutil.ShouldSkipService: ExternalName and headless services get no rules.
    if (svc.type === 'ExternalName' || svc.headless || svc.clusterIPs.length === 0) continue;
    const clusterIP = svc.clusterIPs[0]!;
    const svcAccessible = serviceExternallyAccessible(svc);
    const externalPolicyLocal = svcAccessible && svc.externalTrafficPolicy === 'Local';
    const internalPolicyLocal = svc.internalTrafficPolicy === 'Local';
    for (const p of svc.ports) {
      drafts.push(
        makeServicePort(
          svc,
          p,
          clusterIP,
          externalPolicyLocal,
          internalPolicyLocal,
          slicesBySvc.get(`${svc.namespace}/${svc.name}`) ?? [],
        ),
      );
    }
  }
  drafts.sort((a, b) => compareStr(a.name, b.name) || compareStr(a.protocol, b.protocol));
  return drafts.map((d, index) => ({ ...d, index }));
}

function makeServicePort(
  svc: ServiceModel,
  p: ServicePortModel,
  clusterIP: number,
  externalPolicyLocal: boolean,
  internalPolicyLocal: boolean,
  slices: readonly ClusterModel['endpointSlices'][number][],
): Omit<ServicePortInfo, 'index'> {
  const protocol = p.protocol.toLowerCase() as Protocol;
  const portName = p.name ?? '';
  const name = servicePortName(svc.namespace, svc.name, portName);
  const nodePort = p.nodePort ?? 0;
  const externallyAccessible = nodePort !== 0 || svc.loadBalancerIPs.length > 0 || svc.externalIPs.length > 0;
  const usesClusterEndpoints = !internalPolicyLocal || externallyAccessible;
  const usesLocalEndpoints = internalPolicyLocal || (externalPolicyLocal && externallyAccessible);

  // EndpointSliceCache: one endpoint per ip:port across the service's slices, sorted by string.
  const byKey = new Map<string, EndpointInfo>();
  for (const sl of slices) {
    for (const sp of sl.ports) {
      if ((sp.name ?? '') !== portName || sp.protocol !== p.protocol || sp.port === 0) continue;
      for (const ep of sl.endpoints) addEndpoint(byKey, ep, sp.port, name, protocol);
    }
  }
  const endpoints = [...byKey.values()].sort((a, b) => compareStr(a.key, b.key));

  // CategorizeEndpoints (topology mode ""): the Cluster-policy endpoints and hasAnyEndpoints.
  let clusterEndpoints: EndpointInfo[] = [];
  let hasEndpoints = false;
  if (usesClusterEndpoints) {
    clusterEndpoints = endpoints.filter((e) => e.ready);
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter((e) => e.serving && e.terminating);
    hasEndpoints = clusterEndpoints.length > 0;
  }
  if (usesLocalEndpoints && endpoints.some((e) => e.ready || (e.serving && e.terminating))) hasEndpoints = true;

  return {
    namespace: svc.namespace,
    service: svc.name,
    portName,
    name,
    protocol,
    protoNum: PROTO_NUM[protocol],
    clusterIP,
    port: p.port,
    nodePort,
    externalIPs: svc.externalIPs,
    loadBalancerIPs: svc.loadBalancerIPs,
    loadBalancerSourceRanges: svc.loadBalancerSourceRanges,
    healthCheckNodePort: svc.type === 'LoadBalancer' && externalPolicyLocal ? (svc.healthCheckNodePort ?? 0) : 0,
    internalPolicyLocal,
    externalPolicyLocal,
    externallyAccessible,
    usesClusterEndpoints,
    usesLocalEndpoints,
    affinitySeconds: svc.sessionAffinity === 'ClientIP' ? svc.affinityTimeoutSeconds : undefined,
    chains: {
      svc: svcChain(name, protocol),
      svl: svlChain(name, protocol),
      ext: extChain(name, protocol),
      fw: fwChain(name, protocol),
    },
    endpoints,
    clusterEndpoints,
    hasEndpoints,
    usesFirewallChain: hasEndpoints && svc.loadBalancerIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0,
  };
}

function addEndpoint(
  byKey: Map<string, EndpointInfo>,
  ep: EndpointModel,
  port: number,
  spn: string,
  protocol: Protocol,
): void {
  const key = `${ipStr(ep.ip)}:${port}`;
  const old = byKey.get(key);
  if (old !== undefined && (old.ready || !ep.ready)) return;
  byKey.set(key, {
    ip: ep.ip,
    port,
    key,
    nodeName: ep.nodeName,
    ready: ep.ready,
    serving: ep.serving,
    terminating: ep.terminating,
    targetPod: ep.targetPod,
    sepChain: sepChain(spn, protocol, key),
  });
}

/** Local-policy endpoints of a service port on a node (ready, else serving+terminating). */
export function localEndpointsOf(sp: ServicePortInfo, local: readonly EndpointInfo[]): EndpointInfo[] {
  if (!sp.usesLocalEndpoints || local.length === 0) return [];
  const ready = local.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return local.filter((e) => e.serving && e.terminating);
}

/** The node-dependent decisions of syncProxyRules for a port, given whether the node has local endpoints. */
export function nodeFlags(
  sp: ServicePortInfo,
  hasLocal: boolean,
): { hasInternalEndpoints: boolean; hasExternalEndpoints: boolean; internalChain: string | undefined } {
  const hasInternalEndpoints = sp.hasEndpoints && (!sp.internalPolicyLocal || hasLocal);
  const hasExternalEndpoints = sp.hasEndpoints && (!sp.externalPolicyLocal || hasLocal);
  const internalChain = hasInternalEndpoints ? (sp.internalPolicyLocal ? sp.chains.svl : sp.chains.svc) : undefined;
  return { hasInternalEndpoints, hasExternalEndpoints, internalChain };
}

/** How a node's kube-proxy programs a service port, given the port's local endpoints there. */
export function nodeServicePortView(sp: ServicePortInfo, localEndpoints: readonly EndpointInfo[]): NodeServicePort {
  const hasLocal = localEndpoints.length > 0;
  const { hasInternalEndpoints, hasExternalEndpoints, internalChain } = nodeFlags(sp, hasLocal);
  const usesClusterChain = sp.clusterEndpoints.length > 0 && sp.usesClusterEndpoints;
  const usesLocalChain = hasLocal && sp.usesLocalEndpoints;
  let reachable: readonly EndpointInfo[] = sp.usesClusterEndpoints ? sp.clusterEndpoints : localEndpoints;
  if (sp.usesClusterEndpoints && hasLocal) {
    const keys = new Set(reachable.map((e) => e.key));
    const extra = localEndpoints.filter((e) => !keys.has(e.key));
    if (extra.length > 0) reachable = [...reachable, ...extra].sort((a, b) => compareStr(a.key, b.key));
  }
  return {
    info: sp,
    localEndpoints,
    reachableEndpoints: reachable,
    hasInternalEndpoints,
    hasExternalEndpoints,
    internalChain,
    externalChain: sp.hasEndpoints && sp.externallyAccessible ? sp.chains.ext : undefined,
    usesClusterChain,
    usesLocalChain,
  };
}
