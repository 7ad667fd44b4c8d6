/** Hand-built ClusterModels for the kube-proxy tests (no loader involved). */
import type {
  Cidr,
  ClusterModel,
  EndpointModel,
  EndpointSliceModel,
  NodeModel,
  ServiceModel,
  ServicePortModel,
} from '../../../src/kube/model.js';
import { parseIpv4 } from '../../../src/wire/addr.js';

export function ip(s: string): number {
  const a = parseIpv4(s);
  if (a === undefined) throw new Error(`bad ip ${s}`);
  return a;
}

export function cidr(s: string): Cidr {
  const [a = '', l = '32'] = s.split('/');
  return { addr: ip(a), len: Number(l) };
}

export function node(name: string, index: number, nodeIp: string, podCIDR: string): NodeModel {
  return {
    name,
    index,
    ip: ip(nodeIp),
    podCIDR: cidr(podCIDR),
    labels: {},
    taints: [],
    schedulable: true,
    source: undefined,
  };
}

export interface SvcSpec {
  namespace?: string;
  name: string;
  type?: ServiceModel['type'];
  clusterIP?: string | undefined;
  headless?: boolean;
  ports: Array<Partial<ServicePortModel> & { port: number }>;
  externalIPs?: string[];
  loadBalancerIPs?: string[];
  loadBalancerSourceRanges?: string[];
  externalTrafficPolicy?: 'Cluster' | 'Local';
  internalTrafficPolicy?: 'Cluster' | 'Local';
  sessionAffinity?: 'None' | 'ClientIP';
  affinityTimeoutSeconds?: number;
  healthCheckNodePort?: number;
  externalName?: string;
}

export function service(s: SvcSpec): ServiceModel {
  return {
    namespace: s.namespace ?? 'default',
    name: s.name,
    type: s.type ?? 'ClusterIP',
    clusterIPs: s.clusterIP === undefined || s.headless === true ? [] : [ip(s.clusterIP)],
    headless: s.headless ?? false,
    ports: s.ports.map((p) => ({
      name: p.name,
      protocol: p.protocol ?? 'TCP',
      port: p.port,
      targetPort: p.targetPort ?? p.port,
      nodePort: p.nodePort,
    })),
    selector: undefined,
    externalIPs: (s.externalIPs ?? []).map(ip),
    loadBalancerIPs: (s.loadBalancerIPs ?? []).map(ip),
    loadBalancerSourceRanges: (s.loadBalancerSourceRanges ?? []).map(cidr),
    externalTrafficPolicy: s.externalTrafficPolicy ?? 'Cluster',
    internalTrafficPolicy: s.internalTrafficPolicy ?? 'Cluster',
    sessionAffinity: s.sessionAffinity ?? 'None',
    affinityTimeoutSeconds: s.affinityTimeoutSeconds ?? 10800,
    healthCheckNodePort: s.healthCheckNodePort,
    externalName: s.externalName,
    publishNotReadyAddresses: false,
    source: undefined,
  };
}

export interface EpSpec {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  pod?: string;
}

export function endpoint(e: EpSpec): EndpointModel {
  const ready = e.ready ?? true;
  return {
    ip: ip(e.ip),
    ready,
    serving: e.serving ?? ready,
    terminating: e.terminating ?? false,
    nodeName: e.node,
    hostname: undefined,
    targetPod: e.pod,
  };
}

export function slice(
  svc: string,
  ports: Array<{ name?: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }>,
  eps: EpSpec[],
  opts: { namespace?: string; name?: string } = {},
): EndpointSliceModel {
  return {
    namespace: opts.namespace ?? 'default',
    name: opts.name ?? `${svc}-abcde`,
    serviceName: svc,
    ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: eps.map(endpoint),
    source: undefined,
  };
}

export function cluster(parts: {
  clusterCIDR?: string;
  serviceCIDR?: string;
  nodes: NodeModel[];
  services: ServiceModel[];
  slices: EndpointSliceModel[];
  backend?: 'vxlan' | 'host-gw';
  ipMasq?: boolean;
}): ClusterModel {
  return {
    name: 'test',
    clusterCIDR: cidr(parts.clusterCIDR ?? '10.244.0.0/16'),
    serviceCIDR: cidr(parts.serviceCIDR ?? '10.96.0.0/12'),
    nodeCIDRMaskSize: 24,
    cni: {
      plugin: 'flannel',
      backend: parts.backend ?? 'vxlan',
      vni: 1,
      port: 8472,
      mtu: 1450,
      hairpinMode: true,
      ipMasq: parts.ipMasq ?? true,
    },
    underlay: { cidr: cidr('172.18.0.0/24'), mtu: 1500, gateway: ip('172.18.0.1') },
    links: { veth: 1000, underlay: 50_000 },
    nodes: parts.nodes,
    pods: [],
    externalHosts: [],
    services: parts.services,
    endpointSlices: parts.slices,
    scenario: undefined,
    files: [],
  };
}

/**
 * The kernel oracle's cluster (docs/kernel-findings.md §topology): three nodes, web-0/1/2 one
 * per node, and the services web (NodePort 30080), web-local (eTP=Local, web-0 only) and
 * web-sticky (ClientIP affinity).
 */
export function oracleCluster(): ClusterModel {
  const web = [
    { ip: '10.244.1.2', node: 'n1', pod: 'default/web-0' },
    { ip: '10.244.2.2', node: 'n2', pod: 'default/web-1' },
    { ip: '10.244.3.2', node: 'n3', pod: 'default/web-2' },
  ];
  const http = [{ name: 'http', port: 8080 }];
  return cluster({
    nodes: [
      node('n1', 0, '172.18.0.2', '10.244.1.0/24'),
      node('n2', 1, '172.18.0.3', '10.244.2.0/24'),
      node('n3', 2, '172.18.0.4', '10.244.3.0/24'),
    ],
    services: [
      service({
        name: 'web',
        type: 'NodePort',
        clusterIP: '10.96.0.100',
        ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080 }],
      }),
      service({
        name: 'web-local',
        type: 'NodePort',
        clusterIP: '10.96.0.101',
        externalTrafficPolicy: 'Local',
        ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30081 }],
      }),
      service({
        name: 'web-sticky',
        clusterIP: '10.96.0.102',
        sessionAffinity: 'ClientIP',
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      }),
    ],
    slices: [slice('web', http, web), slice('web-local', http, [web[0]!]), slice('web-sticky', http, web)],
  });
}
