/**
 * The cluster model: plain data describing nodes, pods, services and the scenario after
 * loading, scheduling and address allocation. No behaviour lives here; the network builder
 * turns it into emulated devices, and nothing downstream writes back into it.
 */
import type { Cidr, Ipv4Addr, MacAddr } from '../wire/addr.js';
import type { Nanos } from '../sim/time.js';

export type { Cidr };

/** Where in the input an object came from, for error messages and traces. */
export interface SourceRef {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** Pod network plugin settings (flannel is the only plugin modelled so far). */
export interface CniModel {
  readonly plugin: 'flannel';
  /** `vxlan` encapsulates between nodes; `host-gw` routes pod subnets via node IPs on the shared L2 underlay. */
  readonly backend: 'vxlan' | 'host-gw';
  /** VXLAN network identifier (flannel's default 1 → device `flannel.1`). */
  readonly vni: number;
  /** VXLAN UDP destination port (Linux's default 8472 when flannel leaves Port at 0). */
  readonly port: number;
  /** Pod and overlay MTU: underlay MTU − 50 for vxlan, the underlay MTU for host-gw. */
  readonly mtu: number;
  /** The bridge CNI's hairpinMode (flannel sets true). */
  readonly hairpinMode: boolean;
  /** flanneld --ip-masq (FLANNEL-POSTRTG rules). */
  readonly ipMasq: boolean;
}

/** Link delays in nanoseconds. */
export interface LinkDelays {
  /** One-way delay across a veth pair (pod ↔ node). */
  readonly veth: Nanos;
  /** One-way delay node ↔ node across the underlay segment. */
  readonly underlay: Nanos;
}

/** The shared L2 segment the nodes' eth0 sit on. */
export interface UnderlayModel {
  readonly cidr: Cidr;
  readonly mtu: number;
  /** A default gateway on the underlay (it black-holes what it would forward upstream), if any. */
  readonly gateway: Ipv4Addr | undefined;
}

/** A Kubernetes taint, as on `node.spec.taints`. */
export interface TaintModel {
  readonly key: string;
  readonly value: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/**
 * Where an object of the model came from: the input (`user`, also for pods a user's workload
 * created), or podnet's built-in kubeadm + flannel defaults (`addon`: the kubernetes and kube-dns
 * Services, CoreDNS, kube-proxy, flannel, the kube-apiserver static pods). Absent means `user`.
 */
export type ObjectOrigin = 'user' | 'addon';

/** One node: its underlay address and the pod subnet flannel serves from it. */
export interface NodeModel {
  readonly name: string;
  /** Index in registration order (0-based); decides the default podCIDR and MAC scheme. */
  readonly index: number;
  readonly ip: Ipv4Addr;
  /**
   * The node's other IPv4 addresses from `status.addresses` (further InternalIPs, ExternalIPs), in order, without
   * `ip`: secondary addresses on its uplink. Absent means none.
   */
  readonly extraIPs?: readonly Ipv4Addr[] | undefined;
  readonly podCIDR: Cidr;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly TaintModel[];
  readonly schedulable: boolean;
  /** A control-plane node (label node-role.kubernetes.io/control-plane); absent means false. */
  readonly controlPlane?: boolean | undefined;
  readonly source: SourceRef | undefined;
}

/** A container port as declared in a pod spec. */
export interface ContainerPortModel {
  readonly name: string | undefined;
  readonly containerPort: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
}

/** A container and the ports it declares (what listens is the pod's `listeners`). */
export interface ContainerModel {
  readonly name: string;
  readonly ports: readonly ContainerPortModel[];
}

/** The kubelet probes a container can have. */
export type ProbeKind = 'livenessProbe' | 'readinessProbe' | 'startupProbe';

/** Why podnet has a pod listen on a port (see src/kube/load/listeners.ts). */
export type ListenerReason =
  /** Declared in `spec.containers[].ports`. */
  | { readonly kind: 'containerPort'; readonly container: string }
  /** A kubelet probe of the container connects to it (`httpGet`, `tcpSocket` or `grpc`). */
  | {
      readonly kind: 'probe';
      readonly container: string;
      readonly probe: ProbeKind;
      readonly action: 'httpGet' | 'tcpSocket' | 'grpc';
    }
  /** The numeric `targetPort` of a Service (`namespace/name`) that selects the pod. */
  | { readonly kind: 'service'; readonly service: string }
  /** Listed in the pod's `podnet.dev/listen` annotation. */
  | { readonly kind: 'annotation' };

/** A port a pod serves (podnet runs its echo server there), with every reason it does. */
export interface ListenerModel {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  /**
   * The local address bound: undefined for every address (0.0.0.0); a loopback address when every
   * reason is a probe whose `host` is that address (kubeadm's controller-manager and scheduler
   * listen on 127.0.0.1 only, and their probes say so).
   */
  readonly address?: Ipv4Addr | undefined;
  readonly reasons: readonly ListenerReason[];
}

/** A pod with its node and address fixed. */
export interface PodModel {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
  readonly ip: Ipv4Addr;
  readonly labels: Readonly<Record<string, string>>;
  readonly containers: readonly ContainerModel[];
  /**
   * The ports its containers listen on: declared, probed by the kubelet, or a selecting Service's
   * numeric targetPort; or exactly what its `podnet.dev/listen` annotation lists. Always set by the
   * loader; absent in a hand-built model means the declared container ports (see podListeners).
   */
  readonly listeners?: readonly ListenerModel[] | undefined;
  readonly hostNetwork: boolean;
  readonly ready: boolean;
  /** `spec.hostname` (defaults to the pod name) and `spec.subdomain`, used by DNS. */
  readonly hostname: string;
  readonly subdomain: string | undefined;
  /**
   * Its controlling owner as `Kind/name`: the workload that created it (`ReplicaSet/web-5d78c9869d`,
   * `StatefulSet/db`, `DaemonSet/kube-proxy`, `Job/backup-28401120`), or what `metadata.ownerReferences`
   * says for a given Pod; undefined for a bare Pod.
   */
  readonly ownerRef: string | undefined;
  /**
   * When the pod exists, in virtual nanoseconds from the scenario start (time 0): from
   * `activeFrom` (inclusive) until `activeUntil` (exclusive). undefined: from the start / to the
   * end. Only Job and CronJob pods have them; every other pod exists all the time.
   */
  readonly activeFrom?: Nanos | undefined;
  readonly activeUntil?: Nanos | undefined;
  /** `addon` for podnet's built-in kubeadm/flannel pods; absent means `user`. */
  readonly origin?: ObjectOrigin | undefined;
  /** `spec.dnsPolicy` (absent: ClusterFirst, the API default); see src/apps/resolver.ts. */
  readonly dnsPolicy?: DnsPolicy | undefined;
  /** `spec.dnsConfig`, merged into what the policy gives (absent: none). */
  readonly dnsConfig?: PodDnsConfigModel | undefined;
  /** `spec.hostAliases`: lines kubelet appends to the pod's /etc/hosts (absent: none). */
  readonly hostAliases?: readonly HostAliasModel[] | undefined;
  readonly source: SourceRef | undefined;
}

/** One `spec.hostAliases` entry: an address and the names /etc/hosts gives it. */
export interface HostAliasModel {
  readonly ip: Ipv4Addr;
  readonly hostnames: readonly string[];
}

/** `spec.dnsPolicy` of a pod. */
export type DnsPolicy = 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';

/** `spec.dnsConfig` of a pod: nameservers (IPv4), search domains and resolver options (`ndots`, `timeout`, …). */
export interface PodDnsConfigModel {
  readonly nameservers: readonly Ipv4Addr[];
  readonly searches: readonly string[];
  readonly options: ReadonlyArray<{ readonly name: string; readonly value: string | undefined }>;
}

/** An entry of the upstream resolver's table: addresses (A records) or an alias (CNAME). */
export type UpstreamDnsEntry = { readonly addresses: readonly Ipv4Addr[] } | { readonly cname: string };

/** Cluster DNS settings (Cluster `spec.dns`). */
export interface ClusterDnsModel {
  /** kubelet's --cluster-domain and CoreDNS's kubernetes zone (default cluster.local). */
  readonly clusterDomain: string;
  /**
   * What the resolver on the underlay gateway (the nodes' /etc/resolv.conf nameserver, which
   * CoreDNS forwards to) answers, by lower-case name without the trailing dot; anything else is NXDOMAIN.
   */
  readonly upstream: Readonly<Record<string, UpstreamDnsEntry>>;
}

/** A host outside the cluster on the underlay segment (a client, a router, a database). */
export interface ExternalHostModel {
  readonly name: string;
  readonly ip: Ipv4Addr;
  readonly mtu: number;
  /** Extra static routes, e.g. a pod subnet via a node (`10.244.2.0/24 via 172.18.0.2`). */
  readonly routes: readonly RouteModel[];
  /** TCP/UDP ports on which it runs an echo server. */
  readonly ports: readonly ContainerPortModel[];
  readonly source: SourceRef | undefined;
}

/** A static IPv4 route. */
export interface RouteModel {
  readonly dst: Cidr;
  readonly via: Ipv4Addr;
}

/** A port of a Service (`spec.ports[]`). */
export interface ServicePortModel {
  /** Port name; kube-proxy appends it to the service name (`ns/svc:name`) when set. */
  readonly name: string | undefined;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
  /** A number, or a container port name resolved per pod. */
  readonly targetPort: number | string;
  /** Allocated for NodePort and LoadBalancer services. */
  readonly nodePort: number | undefined;
}

/** A Service after allocation (ClusterIP, NodePorts). */
export interface ServiceModel {
  readonly namespace: string;
  readonly name: string;
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** ClusterIPs; empty for headless (`clusterIP: None`) and ExternalName services. */
  readonly clusterIPs: readonly Ipv4Addr[];
  readonly headless: boolean;
  readonly ports: readonly ServicePortModel[];
  /** Label selector (undefined: selector-less, endpoints written by hand). */
  readonly selector: Readonly<Record<string, string>> | undefined;
  readonly externalIPs: readonly Ipv4Addr[];
  /** `status.loadBalancer.ingress[].ip`. */
  readonly loadBalancerIPs: readonly Ipv4Addr[];
  readonly loadBalancerSourceRanges: readonly Cidr[];
  readonly externalTrafficPolicy: 'Cluster' | 'Local';
  readonly internalTrafficPolicy: 'Cluster' | 'Local';
  readonly sessionAffinity: 'None' | 'ClientIP';
  /** sessionAffinityConfig.clientIP.timeoutSeconds (default 10800). */
  readonly affinityTimeoutSeconds: number;
  /** For LoadBalancer services with externalTrafficPolicy Local. */
  readonly healthCheckNodePort: number | undefined;
  readonly externalName: string | undefined;
  readonly publishNotReadyAddresses: boolean;
  readonly source: SourceRef | undefined;
  /** `metadata.labels` (always set by the loader; absent in hand-built models means none). */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  /** `addon` for the built-in kubernetes and kube-dns Services; absent means `user`. */
  readonly origin?: ObjectOrigin | undefined;
}

/** One endpoint of an EndpointSlice. */
export interface EndpointModel {
  readonly ip: Ipv4Addr;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName: string | undefined;
  readonly hostname: string | undefined;
  /** `ns/name` of the Pod when the endpoint is a pod (`targetRef` of kind Pod), e.g. `default/web-0`. */
  readonly targetPod: string | undefined;
}

/** An EndpointSlice (discovery.k8s.io/v1): endpoints sharing one set of ports. */
export interface EndpointSliceModel {
  readonly namespace: string;
  readonly name: string;
  readonly serviceName: string;
  readonly ports: ReadonlyArray<{
    readonly name: string | undefined;
    readonly port: number;
    readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  }>;
  readonly endpoints: readonly EndpointModel[];
  /** `addon` for the slices of the built-in Services; absent means `user`. */
  readonly origin?: ObjectOrigin | undefined;
  readonly source: SourceRef | undefined;
}

/** An inclusive range of ports, e.g. kube-apiserver's `--service-node-port-range` 30000-32767. */
export interface PortRangeModel {
  readonly min: number;
  readonly max: number;
}

/** Protocols a probe can use. */
export type ProbeProtocol = 'icmp' | 'tcp' | 'udp';

/** What a probe is expected to get back; `podnet run` checks it and exits 1 when it does not hold. */
export interface ProbeExpectation {
  /** Attempts answered. */
  readonly replies: number | undefined;
  /** Attempts sent and not answered. */
  readonly lost: number | undefined;
  /** The TTL every reply arrives with. */
  readonly ttl: number | undefined;
  /** Every answer comes from one of these endpoints (pod display names, or IPs for ping). */
  readonly answeredBy: readonly string[] | undefined;
  /** Every answering endpoint saw the client as one of these addresses. */
  readonly serverSaw: readonly string[] | undefined;
  /** Every failed attempt's error contains this text. */
  readonly error: string | undefined;
  /** All answers come from one and the same endpoint (session affinity). */
  readonly sameAnswer: boolean | undefined;
}

/** One traffic probe of a Scenario. */
export interface ProbeModel {
  readonly name: string;
  /** Endpoint reference: `pod/<ns>/<name>`-style resolved later by the network (see endpoints.ts). */
  readonly from: string;
  /** Destination as written: an IP, `ip:port`, `pod/<name>[:port]`, or later a DNS name. */
  readonly to: string;
  readonly protocol: ProbeProtocol;
  readonly port: number | undefined;
  /** Client source port to pin (random ephemeral port when undefined). */
  readonly sourcePort: number | undefined;
  readonly count: number;
  /** ICMP/UDP payload bytes (ping -s), or TCP request bytes. */
  readonly size: number;
  /** Don't-fragment: `do` (ping -M do), `dont`, or `want` (Linux's default). */
  readonly pmtudisc: 'do' | 'dont' | 'want';
  readonly interval: Nanos;
  /** When the probe starts, relative to the scenario start. */
  readonly start: Nanos;
  /** How long to wait for a reply before counting a loss. */
  readonly timeout: Nanos;
  /** Checked by `podnet run` (undefined: nothing expected). */
  readonly expect?: ProbeExpectation | undefined;
  readonly source: SourceRef | undefined;
}

/** The traffic to run. */
export interface ScenarioModel {
  readonly name: string;
  readonly probes: readonly ProbeModel[];
  /** Virtual time the run stops at (after the last probe's timeout when undefined). */
  readonly duration: Nanos | undefined;
  /**
   * false (default): probes run one after another in document order, `start` delaying a probe
   * after the previous one finished; true: all start together, each at its `start` offset.
   */
  readonly parallel: boolean;
}

/** Which of kubeadm's and flannel's default objects the cluster has (Cluster `spec.addons`). */
export interface AddonsModel {
  /**
   * `default/kubernetes` (the service CIDR's first address, :443 → the control-plane nodes' :6443) and the
   * kube-apiserver static pods.
   */
  readonly kubernetesService: boolean;
  /** `kube-system/kube-dns` (the tenth address) and the `kube-system/coredns` Deployment (2 replicas). */
  readonly coreDNS: boolean;
  /** The `kube-system/kube-proxy` DaemonSet (hostNetwork). */
  readonly kubeProxy: boolean;
  /** The `kube-flannel/kube-flannel-ds` DaemonSet (hostNetwork) and its namespace. */
  readonly flannel: boolean;
}

/**
 * kube-proxy's local-traffic detector (KubeProxyConfiguration `detectLocalMode`): how its rules tell
 * traffic from the node's pods. `NoOp` is no detector (ClusterCIDR mode with an empty clusterCIDR):
 * no rule tests the source.
 */
export type LocalDetectorModel =
  | { readonly mode: 'ClusterCIDR'; readonly cidr: Cidr }
  | { readonly mode: 'NodeCIDR' }
  | { readonly mode: 'BridgeInterface'; readonly bridgeInterface: string }
  | { readonly mode: 'InterfaceNamePrefix'; readonly interfaceNamePrefix: string }
  | { readonly mode: 'NoOp' };

/** kube-proxy's settings (Cluster `spec.kubeProxy`, a KubeProxyConfiguration, and the nodes' iptables). */
export interface KubeProxyModel {
  /** `iptables.masqueradeAll`: SNAT all ClusterIP traffic. */
  readonly masqueradeAll: boolean;
  /** `iptables.masqueradeBit` (the mark is 1 << bit). */
  readonly masqueradeBit: number;
  /** `iptables.localhostNodePorts`: NodePorts answer on 127.0.0.0/8. */
  readonly localhostNodePorts: boolean;
  /** `nodePortAddresses`: CIDRs, `primary`, or undefined for every local address. */
  readonly nodePortAddresses: readonly Cidr[] | 'primary' | undefined;
  readonly detectLocal: LocalDetectorModel;
  /** `conntrack.tcpBeLiberal`: nf_conntrack_tcp_be_liberal=1, so no INVALID drop rule. */
  readonly conntrackTCPBeLiberal: boolean;
  /** The nodes' iptables supports `--random-fully` (Cluster `spec.iptables.randomFully`). */
  readonly randomFully: boolean;
}

/** Everything a run needs, after loading and allocation. */
export interface ClusterModel {
  readonly name: string;
  readonly clusterCIDR: Cidr;
  readonly serviceCIDR: Cidr;
  readonly nodeCIDRMaskSize: number;
  readonly cni: CniModel;
  readonly underlay: UnderlayModel;
  readonly links: LinkDelays;
  readonly nodes: readonly NodeModel[];
  readonly pods: readonly PodModel[];
  readonly externalHosts: readonly ExternalHostModel[];
  readonly services: readonly ServiceModel[];
  readonly endpointSlices: readonly EndpointSliceModel[];
  /**
   * Namespaces that exist, sorted: the built-in ones, every declared Namespace (empty ones too) and those objects
   * live in without declaring. Always set by the loader; absent in a hand-built model means those its objects live in.
   */
  readonly namespaces?: readonly string[] | undefined;
  /**
   * NodePorts and health-check node ports come from this range (kube-apiserver
   * `--service-node-port-range`). Always set by the loader; absent in a hand-built model means
   * the default 30000–32767.
   */
  readonly nodePortRange?: PortRangeModel | undefined;
  /**
   * Addresses a load-balancer controller (MetalLB style) hands out to LoadBalancer services
   * without `status.loadBalancer.ingress`; undefined: none (their EXTERNAL-IP stays <pending>).
   */
  readonly loadBalancerPool?: Cidr | undefined;
  readonly scenario: ScenarioModel | undefined;
  /** The addons switched on (always set by the loader; absent in a hand-built model means none). */
  readonly addons?: AddonsModel | undefined;
  /** The seed pod-name suffixes and scheduling ties were drawn from (always set by the loader). */
  readonly seed?: number | undefined;
  /** Cluster DNS (Cluster `spec.dns`); absent means cluster.local and an empty upstream table. */
  readonly dns?: ClusterDnsModel | undefined;
  /**
   * kube-proxy's settings (Cluster `spec.kubeProxy`; always set by the loader). Absent in a hand-built model means
   * kubeadm's: no masquerade-all, localhost NodePorts, every local address, a ClusterCIDR detector on clusterCIDR.
   */
  readonly kubeProxy?: KubeProxyModel | undefined;
  /** Files the model was loaded from (empty for the built-in default). */
  readonly files: readonly string[];
}

/** Deterministic MAC scheme shared with the kernel conformance topology. */
export const MAC_PREFIX = {
  /** Pod eth0 and cni0: 0a:58 + IPv4, as the CNI bridge plugin assigns. */
  pod: 0x0a58,
  /** Host side of a pod's veth: 02:ee + pod IPv4. */
  hostVeth: 0x02ee,
  /** flannel.1 VTEP: 02:f1 + the device's 10.244.N.0 address. */
  vtep: 0x02f1,
  /** Node eth0: 02:42 + node IPv4 (Docker/kind style). */
  node: 0x0242,
  /** Underlay switch ports: 02:ff + peer IPv4. */
  wirePort: 0x02ff,
} as const;

/** Formats a Cidr as `a.b.c.d/len`. */
export function formatCidr(c: Cidr): string {
  return `${(c.addr >>> 24) & 255}.${(c.addr >>> 16) & 255}.${(c.addr >>> 8) & 255}.${c.addr & 255}/${c.len}`;
}

/** The ports a pod listens on: its `listeners`, or (a hand-built model without them) its declared container ports. */
export function podListeners(pod: Pick<PodModel, 'listeners' | 'containers'>): readonly ListenerModel[] {
  if (pod.listeners !== undefined) return pod.listeners;
  const out: ListenerModel[] = [];
  for (const c of pod.containers) {
    for (const p of c.ports) {
      if (out.some((l) => l.port === p.containerPort && l.protocol === p.protocol)) continue;
      out.push({
        port: p.containerPort,
        protocol: p.protocol,
        reasons: [{ kind: 'containerPort', container: c.name }],
      });
    }
  }
  return out;
}

/** A pod's display name: `name` in the default namespace, `ns/name` elsewhere. */
export function podDisplayName(pod: Pick<PodModel, 'namespace' | 'name'>): string {
  return pod.namespace === 'default' ? pod.name : `${pod.namespace}/${pod.name}`;
}

export type { Ipv4Addr, MacAddr };
