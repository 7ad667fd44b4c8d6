/**
 * fast-check arbitraries for property tests of the pod network: clusters (node count, address
 * plan, flannel backend), a workload (bare pods with readiness and placement, a Deployment or a
 * StatefulSet), a Service of any type and policy selecting it, and one flow (pod → Service by
 * address or by name, external host → NodePort or load-balancer IP, pod → pod, pod → an
 * ExternalName). Everything is generated as a small shape and built into manifests, so:
 *
 * - every generated topology loads (validity by construction: references are indices taken
 *   modulo what exists, names and addresses come from fixed plans);
 * - shrinking works on the shape, and every part shrinks toward the simplest reading: one node,
 *   kubeadm's default CIDRs, VXLAN, bare ready pods, one TCP port 80 → 8080, a ClusterIP, the
 *   client pod dialling it once, seed 1.
 */
import fc from 'fast-check';
import { checkConstraints } from './check.js';
import type { Manifest } from '../api/topology.js';
import type { FlowSpec, ServiceVia } from '../api/flow.js';
import { scenario } from './scenario.js';
import type { Scenario } from './scenario.js';

/**
 * An address plan: kubeadm's defaults, k3s's (10.42/16, 10.43/16, VXLAN on 4789), or a custom one (/26 pod subnets,
 * jumbo-frame underlay).
 */
export type AddressPlan = 'kubeadm' | 'k3s' | 'custom';

/** The cluster part of a scenario. */
export interface ClusterShape {
  /** Number of nodes (`node1` … `nodeN`). */
  readonly nodes: number;
  readonly plan: AddressPlan;
  readonly backend: 'vxlan' | 'host-gw';
}

/** One backend pod: which node it runs on (an index, taken modulo the node count) and its readiness. */
export interface BackendPodShape {
  readonly node: number;
  readonly ready: boolean;
}

/**
 * How the backends are made: bare Pods (placement and readiness given), a Deployment or a StatefulSet (placed by the
 * scheduler, ready).
 */
export type WorkloadKind = 'pods' | 'deployment' | 'statefulset';

/** The backends behind the Service. */
export interface WorkloadShape {
  readonly kind: WorkloadKind;
  readonly namespace: 'default' | 'shop';
  /** The pods (for a Deployment or StatefulSet only their number counts: the replicas). */
  readonly pods: readonly BackendPodShape[];
  /** Container ports (distinct numbers), named `tcp-0`, `udp-1`, …. */
  readonly ports: ReadonlyArray<{ readonly containerPort: number; readonly protocol: 'TCP' | 'UDP' }>;
}

/** Service types, with headless ClusterIP Services as their own kind. */
export type ServiceKind = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'Headless' | 'ExternalName';

/** The Service in front of the workload (its type comes from the flow; see {@link FLOW_SERVICE_KINDS}). */
export interface ServiceShape {
  /** Index into the service kinds the flow allows (taken modulo their number). */
  readonly kind: number;
  /** The first Service port; further ones count up from it. */
  readonly port: number;
  /** How many of the workload's ports the Service exposes (at least 1). */
  readonly portCount: number;
  readonly namedTargetPort: boolean;
  readonly externalTrafficPolicy: 'Cluster' | 'Local';
  readonly internalTrafficPolicy: 'Cluster' | 'Local';
  readonly sessionAffinity: 'None' | 'ClientIP';
  readonly publishNotReadyAddresses: boolean;
  /** A second ClusterIP Service over the same pods (more chains for the rules to keep apart). */
  readonly extraService: boolean;
}

/** Kinds of flows. */
export type FlowKind =
  | 'pod-to-service'
  | 'pod-to-service-dns'
  | 'external-to-nodeport'
  | 'external-to-loadbalancer'
  | 'pod-to-pod'
  | 'pod-to-externalname';

/** Every flow kind, simplest first. */
export const FLOW_KINDS: readonly FlowKind[] = [
  'pod-to-service',
  'pod-to-service-dns',
  'external-to-nodeport',
  'external-to-loadbalancer',
  'pod-to-pod',
  'pod-to-externalname',
];

/** Every service kind, simplest first. */
export const SERVICE_KINDS: readonly ServiceKind[] = [
  'ClusterIP',
  'NodePort',
  'LoadBalancer',
  'Headless',
  'ExternalName',
];

/** The Service kinds a flow kind can exercise, simplest first. */
export const FLOW_SERVICE_KINDS: Readonly<Record<FlowKind, readonly ServiceKind[]>> = {
  'pod-to-service': ['ClusterIP', 'NodePort', 'LoadBalancer'],
  'pod-to-service-dns': ['ClusterIP', 'Headless', 'NodePort', 'LoadBalancer'],
  'external-to-nodeport': ['NodePort', 'LoadBalancer'],
  'external-to-loadbalancer': ['LoadBalancer'],
  'pod-to-pod': ['ClusterIP', 'Headless', 'NodePort'],
  'pod-to-externalname': ['ExternalName'],
};

/** The flow part of a scenario; indices are taken modulo what exists. */
export interface FlowShape {
  readonly kind: FlowKind;
  /** Pod flows: 0 is the `client` pod, i > 0 the i-th backend pod (a pod reaching its own Service: the hairpin). */
  readonly source: number;
  /** The Service port (pod → Service), the node dialled (NodePort), or the pod dialled (pod → pod). */
  readonly target: number;
  readonly port: number;
  /** Connections, datagrams or echo requests (10 ms apart). */
  readonly count: number;
  /** pod → pod only: ping instead of the port's protocol. */
  readonly icmp: boolean;
  /** Payload size for ping and UDP (undefined: the default). */
  readonly size: number | undefined;
  readonly pmtudisc: 'want' | 'do' | 'dont';
}

/** Everything a scenario is generated from. */
export interface ScenarioShape {
  readonly cluster: ClusterShape;
  readonly workload: WorkloadShape;
  readonly service: ServiceShape;
  readonly flow: FlowShape;
  /** The node of the `client` pod (index, modulo the node count). */
  readonly clientNode: number;
  readonly seed: number;
}

/** Restrictions for {@link scenarioArb} and the part arbitraries. */
export interface ScenarioConstraints {
  /** At most this many nodes (default 3; at least 1). */
  readonly maxNodes?: number;
  /** At most this many backend pods (default 4). */
  readonly maxPods?: number;
  readonly plans?: readonly AddressPlan[];
  readonly backends?: ReadonlyArray<'vxlan' | 'host-gw'>;
  readonly workloads?: readonly WorkloadKind[];
  /** Flow kinds to generate (default all); each needs one of {@link FLOW_SERVICE_KINDS}. */
  readonly flows?: readonly FlowKind[];
  /** Service kinds to generate (default all). */
  readonly serviceKinds?: readonly ServiceKind[];
  readonly protocols?: ReadonlyArray<'TCP' | 'UDP'>;
  /** At most this many attempts per flow (default 3). */
  readonly maxCount?: number;
}

function pick<T>(values: readonly T[], what: string): fc.Arbitrary<T> {
  if (values.length === 0) throw new Error(`podnet/testing: no ${what} left to generate`);
  return fc.constantFrom(...values);
}

/** Cluster shapes: 1–maxNodes nodes, an address plan, VXLAN or host-gw (shrinking to 1 node, kubeadm, VXLAN). */
export function clusterShapeArb(c: ScenarioConstraints = {}): fc.Arbitrary<ClusterShape> {
  return fc.record({
    nodes: fc.integer({ min: 1, max: Math.max(1, c.maxNodes ?? 3) }),
    plan: pick(c.plans ?? ['kubeadm', 'k3s', 'custom'], 'address plans'),
    backend: pick(c.backends ?? ['vxlan', 'host-gw'], 'flannel backends'),
  });
}

// Ports as one integer mapped so that it shrinks to the most familiar value (0 → 8080) while
// fast-check's bias toward small integers still makes the common ports the usual draw.
const COMMON_CONTAINER_PORTS = [8080, 5000, 9090] as const;
const containerPortArb = fc
  .integer({ min: 0, max: 65535 - 1024 + COMMON_CONTAINER_PORTS.length - 1 })
  .map((i) => COMMON_CONTAINER_PORTS[i] ?? 1024 + i - COMMON_CONTAINER_PORTS.length);
const COMMON_SERVICE_PORTS = [80, 443, 53] as const;
const servicePortArb = fc.integer({ min: 0, max: 65000 }).map((i) => COMMON_SERVICE_PORTS[i] ?? i);

/** Workload shapes: 0–maxPods backends (mostly ready), one or two container ports. */
export function workloadShapeArb(c: ScenarioConstraints = {}): fc.Arbitrary<WorkloadShape> {
  const protocols = c.protocols ?? ['TCP', 'UDP'];
  return fc.record({
    kind: pick(c.workloads ?? ['pods', 'deployment', 'statefulset'], 'workload kinds'),
    namespace: fc.constantFrom('default' as const, 'shop' as const),
    pods: fc.array(
      fc.record({
        node: fc.nat({ max: 7 }),
        ready: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      }),
      { minLength: 0, maxLength: Math.max(0, c.maxPods ?? 4) },
    ),
    ports: fc.uniqueArray(fc.record({ containerPort: containerPortArb, protocol: pick(protocols, 'protocols') }), {
      minLength: 1,
      maxLength: 2,
      selector: (p) => p.containerPort,
    }),
  });
}

/**
 * Service shapes: every type (chosen with the flow), port 80 upward, both traffic policies, affinity,
 * publishNotReadyAddresses.
 */
export function serviceShapeArb(): fc.Arbitrary<ServiceShape> {
  return fc.record({
    kind: fc.nat({ max: 4 }),
    port: servicePortArb,
    portCount: fc.integer({ min: 1, max: 2 }),
    namedTargetPort: fc.boolean(),
    externalTrafficPolicy: fc.constantFrom('Cluster' as const, 'Local' as const),
    internalTrafficPolicy: fc.oneof(
      { weight: 3, arbitrary: fc.constant('Cluster' as const) },
      { weight: 1, arbitrary: fc.constant('Local' as const) },
    ),
    sessionAffinity: fc.constantFrom('None' as const, 'ClientIP' as const),
    publishNotReadyAddresses: fc.oneof(
      { weight: 4, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
    extraService: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  });
}

/** Flow kinds allowed by the constraints (those with a Service kind left to exercise). */
export function allowedFlowKinds(c: ScenarioConstraints = {}): FlowKind[] {
  const kinds = c.serviceKinds ?? SERVICE_KINDS;
  return (c.flows ?? FLOW_KINDS).filter((f) => FLOW_SERVICE_KINDS[f].some((k) => kinds.includes(k)));
}

/** Flow shapes: mostly from the client, sometimes from a backend (the hairpin), 1–maxCount attempts. */
export function flowShapeArb(c: ScenarioConstraints = {}): fc.Arbitrary<FlowShape> {
  return fc.record({
    kind: pick(allowedFlowKinds(c), 'flow kinds'),
    source: fc.oneof(
      { weight: 2, arbitrary: fc.constant(0) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) },
    ),
    target: fc.nat({ max: 7 }),
    port: fc.nat({ max: 3 }),
    count: fc.integer({ min: 1, max: Math.max(1, c.maxCount ?? 3) }),
    icmp: fc.boolean(),
    size: fc.option(fc.oneof(fc.integer({ min: 0, max: 1600 }), fc.integer({ min: 1400, max: 4000 })), {
      nil: undefined,
      freq: 3,
    }),
    pmtudisc: fc.constantFrom('want' as const, 'do' as const, 'dont' as const),
  });
}

/** Scenario shapes (see {@link scenarioArb}). */
export function scenarioShapeArb(c: ScenarioConstraints = {}): fc.Arbitrary<ScenarioShape> {
  return fc.record({
    cluster: clusterShapeArb(c),
    workload: workloadShapeArb(c),
    service: serviceShapeArb(),
    flow: flowShapeArb(c),
    clientNode: fc.nat({ max: 7 }),
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
  });
}

const CONSTRAINT_CHOICES: Readonly<Record<string, readonly string[]>> = {
  plans: ['kubeadm', 'k3s', 'custom'],
  backends: ['vxlan', 'host-gw'],
  workloads: ['pods', 'deployment', 'statefulset'],
  flows: FLOW_KINDS,
  serviceKinds: SERVICE_KINDS,
  protocols: ['TCP', 'UDP'],
};

/** Scenarios: valid topologies with one flow each, shrinking toward small readable ones. */
export function scenarioArb(c: ScenarioConstraints = {}): fc.Arbitrary<Scenario> {
  checkConstraints(c, 'constraints', CONSTRAINT_CHOICES);
  return scenarioShapeArb(c).map((s) => buildScenario(s, c));
}

// ─────────────────────────── building manifests from a shape ───────────────────────────

interface Plan {
  readonly cluster: Readonly<Record<string, unknown>>;
  readonly ext: string;
  readonly pool: string;
}

const PLANS: Readonly<Record<AddressPlan, Plan>> = {
  kubeadm: { cluster: {}, ext: '172.18.0.100', pool: '172.18.0.240/29' },
  k3s: {
    cluster: { clusterCIDR: '10.42.0.0/16', serviceCIDR: '10.43.0.0/16', underlay: { cidr: '192.168.122.0/24' } },
    ext: '192.168.122.100',
    pool: '192.168.122.240/29',
  },
  custom: {
    cluster: {
      clusterCIDR: '10.100.0.0/16',
      nodeCIDRMaskSize: 26,
      serviceCIDR: '10.200.0.0/22',
      underlay: { cidr: '10.0.0.0/24', mtu: 9000 },
    },
    ext: '10.0.0.100',
    pool: '10.0.0.240/29',
  },
};

/** The name of the external host generated scenarios use. */
export const EXTERNAL_HOST = 'ext';
/**
 * The DNS name an ExternalName Service points at (the underlay gateway's resolver answers it with the external host).
 */
export const EXTERNAL_NAME = 'db.example.com';

function portName(protocol: 'TCP' | 'UDP', i: number): string {
  return `${protocol.toLowerCase()}-${i}`;
}

/** Builds the scenario a shape describes (the constraints only narrow the Service kind). */
export function buildScenario(s: ScenarioShape, c: ScenarioConstraints = {}): Scenario {
  const nodes = s.cluster.nodes;
  const nodeName = (i: number): string => `node${(i % nodes) + 1}`;
  const plan = PLANS[s.cluster.plan];
  const w = s.workload;
  const kinds = FLOW_SERVICE_KINDS[s.flow.kind].filter((k) => (c.serviceKinds ?? SERVICE_KINDS).includes(k));
  const svcKind = kinds[s.service.kind % kinds.length] ?? FLOW_SERVICE_KINDS[s.flow.kind][0]!;
  const needsDns = s.flow.kind === 'pod-to-service-dns' || s.flow.kind === 'pod-to-externalname';
  const needsExt =
    s.flow.kind === 'external-to-nodeport' || s.flow.kind === 'external-to-loadbalancer' || svcKind === 'ExternalName';
  const ns = w.namespace;
  const app = 'web';
  const ports = w.ports.map((p, i) => ({
    name: portName(p.protocol, i),
    containerPort: p.containerPort,
    protocol: p.protocol,
  }));
  const svcPorts = ports.slice(0, Math.min(ports.length, Math.max(1, s.service.portCount)));

  // ── the Cluster ──
  const cni: Record<string, unknown> = {};
  if (s.cluster.backend !== 'vxlan') cni.backend = s.cluster.backend;
  if (s.cluster.plan === 'k3s' && s.cluster.backend === 'vxlan') cni.port = 4789;
  const spec: Record<string, unknown> = { ...plan.cluster, nodes };
  if (Object.keys(cni).length > 0) spec.cni = cni;
  // only what the flow needs: CoreDNS for names, nothing else (each addon costs load and build time)
  spec.addons = needsDns ? { kubernetesService: false, coreDNS: true, kubeProxy: false, flannel: false } : 'none';
  if (svcKind === 'LoadBalancer') spec.loadBalancerPool = plan.pool;
  if (needsExt) {
    const ext: Record<string, unknown> = { name: EXTERNAL_HOST, ip: plan.ext };
    if (svcKind === 'ExternalName')
      ext.ports = svcPorts.map((p) =>
        p.protocol === 'TCP'
          ? { containerPort: p.containerPort }
          : { containerPort: p.containerPort, protocol: p.protocol },
      );
    spec.externalHosts = [ext];
  }
  if (svcKind === 'ExternalName') spec.dns = { upstream: { [EXTERNAL_NAME]: plan.ext } };
  const docs: Manifest[] = [
    { apiVersion: 'podnet.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'generated' }, spec },
  ];
  if (ns !== 'default') docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });

  // ── the client and the backends ──
  docs.push({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'client' },
    spec: { nodeName: nodeName(s.clientNode), containers: [{ name: 'client' }] },
  });
  const containerPorts = ports.map((p) =>
    p.protocol === 'TCP'
      ? { name: p.name, containerPort: p.containerPort }
      : { name: p.name, containerPort: p.containerPort, protocol: p.protocol },
  );
  const meta = (name: string, labels?: Record<string, string>): Record<string, unknown> => ({
    name,
    ...(ns !== 'default' ? { namespace: ns } : {}),
    ...(labels ? { labels } : {}),
  });
  const template = { metadata: { labels: { app } }, spec: { containers: [{ name: app, ports: containerPorts }] } };
  const backendNames: string[] = [];
  const svcName = svcKind === 'ExternalName' ? 'db' : app;
  if (w.kind === 'pods') {
    w.pods.forEach((p, i) => {
      const name = `${app}-${i}`;
      backendNames.push(name);
      const pod: Record<string, unknown> = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: meta(name, { app }),
        spec: { nodeName: nodeName(p.node), containers: [{ name: app, ports: containerPorts }] },
      };
      if (!p.ready) pod.status = { conditions: [{ type: 'Ready', status: 'False' }] };
      docs.push(pod as Manifest);
    });
  } else if (w.kind === 'deployment') {
    docs.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(app),
      spec: { replicas: w.pods.length, selector: { matchLabels: { app } }, template },
    });
  } else {
    // StatefulSet pods are web-0 … web-N-1, so they can be flow sources like bare pods
    for (let i = 0; i < w.pods.length; i++) backendNames.push(`${app}-${i}`);
    docs.push({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta(app),
      spec: { serviceName: svcName, replicas: w.pods.length, selector: { matchLabels: { app } }, template },
    });
  }

  // ── the Service ──
  const sv = s.service;
  const svcSpec: Record<string, unknown> = {};
  if (svcKind === 'NodePort' || svcKind === 'LoadBalancer' || svcKind === 'ExternalName') svcSpec.type = svcKind;
  if (svcKind === 'Headless') svcSpec.clusterIP = 'None';
  if (svcKind === 'ExternalName') svcSpec.externalName = EXTERNAL_NAME;
  else svcSpec.selector = { app };
  if ((svcKind === 'NodePort' || svcKind === 'LoadBalancer') && sv.externalTrafficPolicy === 'Local')
    svcSpec.externalTrafficPolicy = 'Local';
  if (svcKind !== 'ExternalName' && sv.internalTrafficPolicy === 'Local') svcSpec.internalTrafficPolicy = 'Local';
  if (svcKind !== 'ExternalName' && svcKind !== 'Headless' && sv.sessionAffinity === 'ClientIP')
    svcSpec.sessionAffinity = 'ClientIP';
  if (svcKind !== 'ExternalName' && sv.publishNotReadyAddresses) svcSpec.publishNotReadyAddresses = true;
  svcSpec.ports = svcPorts.map((p, i) => {
    // a headless Service is dialled at the pods' own port, so make the Service port that port (as StatefulSet examples
    // do)
    const port =
      svcKind === 'Headless' || svcKind === 'ExternalName' ? p.containerPort : ((sv.port + i - 1) % 65535) + 1;
    const out: Record<string, unknown> = { name: p.name, port };
    if (svcKind !== 'ExternalName' && !(svcKind === 'Headless' && !sv.namedTargetPort))
      out.targetPort = sv.namedTargetPort ? p.name : p.containerPort;
    if (p.protocol !== 'TCP') out.protocol = p.protocol;
    return out;
  });
  docs.push({ apiVersion: 'v1', kind: 'Service', metadata: meta(svcName), spec: svcSpec });
  if (sv.extraService && svcKind !== 'ExternalName') {
    const first = ports[0]!;
    docs.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(`${app}-extra`),
      spec: {
        selector: { app },
        ports: [
          {
            name: first.name,
            port: 9999,
            targetPort: first.containerPort,
            ...(first.protocol !== 'TCP' ? { protocol: first.protocol } : {}),
          },
        ],
      },
    });
  }

  // ── the flow ──
  const f = s.flow;
  const podSources = ['client', ...backendNames.map((n) => (ns === 'default' ? n : `${ns}/${n}`))];
  const from = podSources[f.source % podSources.length]!;
  const svcRef = ns === 'default' ? svcName : `${ns}/${svcName}`;
  const sp = svcPorts[f.port % svcPorts.length]!;
  const common = { count: f.count, interval: '10ms' } as const;
  let flow: FlowSpec;
  const sized = (protocol: 'udp' | 'icmp'): Partial<Pick<FlowSpec, 'size' | 'pmtudisc'>> => ({
    ...(f.size !== undefined ? { size: protocol === 'udp' ? Math.max(1, f.size) : f.size } : {}),
    ...(f.pmtudisc !== 'want' ? { pmtudisc: f.pmtudisc } : {}),
  });
  const serviceFlow = (via: ServiceVia, source: string, node?: string): FlowSpec => ({
    from: source,
    to: {
      service: svcRef,
      port: sp.name,
      ...(via !== 'clusterIP' ? { via } : {}),
      ...(node !== undefined ? { node } : {}),
    },
    ...common,
    ...(sp.protocol === 'UDP' ? sized('udp') : {}),
  });
  switch (f.kind) {
    case 'pod-to-service':
      flow = serviceFlow('clusterIP', from);
      break;
    case 'pod-to-service-dns':
    case 'pod-to-externalname':
      flow = serviceFlow('dns', from);
      break;
    case 'external-to-nodeport':
      flow = serviceFlow('nodePort', `ext/${EXTERNAL_HOST}`, nodeName(f.target));
      break;
    case 'external-to-loadbalancer':
      flow = serviceFlow('loadBalancer', `ext/${EXTERNAL_HOST}`);
      break;
    case 'pod-to-pod': {
      const targets = backendNames.length > 0 ? backendNames : ['client'];
      const target = targets[f.target % targets.length]!;
      const targetRef = `pod/${ns !== 'default' && target !== 'client' ? `${ns}/` : ''}${target}`;
      const p = ports[f.port % ports.length]!;
      flow =
        f.icmp || backendNames.length === 0
          ? { from, to: targetRef, protocol: 'icmp', ...common, ...sized('icmp') }
          : {
              from,
              to: `${targetRef}:${p.containerPort}`,
              protocol: p.protocol === 'UDP' ? 'udp' : 'tcp',
              ...common,
              ...(p.protocol === 'UDP' ? sized('udp') : {}),
            };
      break;
    }
  }
  return scenario(docs, flow, s.seed);
}
