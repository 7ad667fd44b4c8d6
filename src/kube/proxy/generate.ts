/**
 * Emulated kube-proxy (iptables mode, modelled on v1.30's pkg/proxy/iptables/proxier.go) plus
 * the rules kubelet and flannel add on a kubeadm + flannel node.
 *
 * Every node of a real cluster runs its own kube-proxy, which writes every Service's chains.
 * Almost all of that is identical on every node, so {@link buildClusterRules} builds it once:
 * chains that do not depend on the node live in a shared map per table, and
 * {@link ClusterRules.rulesForNode} adds only what differs on one node — its KUBE-SVL chains
 * (local endpoints), the variants of KUBE-EXT/KUBE-FW/KUBE-SERVICES/KUBE-EXTERNAL-SERVICES that
 * depend on having local endpoints (cached by variant, so nodes in the same situation share
 * them), and flannel's FLANNEL-POSTRTG with the node's own pod subnet.
 *
 * What a node has, and in what order (sources: docs/datapath.md §1):
 * - kubelet (v1.28+, IPTablesOwnershipCleanup GA): mangle KUBE-IPTABLES-HINT; KUBE-KUBELET-CANARY
 *   in mangle, nat and filter; filter KUBE-FIREWALL with the "block incoming localnet
 *   connections" rule, jumped to from INPUT and OUTPUT. kubelet starts before kube-proxy, so its
 *   jumps end up after kube-proxy's prepended ones.
 * - kube-proxy: KUBE-PROXY-CANARY in mangle, nat and filter; its jump rules prepended in
 *   iptablesJumpChains order; filter KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-FORWARD,
 *   KUBE-NODEPORTS, KUBE-PROXY-FIREWALL (and its copy of KUBE-FIREWALL); nat KUBE-SERVICES,
 *   KUBE-NODEPORTS, KUBE-POSTROUTING, KUBE-MARK-MASQ and the per-service chains.
 * - flannel (--ip-masq): nat FLANNEL-POSTRTG and filter FLANNEL-FWD, jumps appended after
 *   kube-proxy's.
 *
 * Deliberate differences from real kube-proxy:
 * - Service ports are processed in order of service port name (`ns/svc:port`, then protocol),
 *   not Go map order, so KUBE-SERVICES & co. are deterministic. The order has no effect on
 *   matching (each rule matches a distinct destination, the NodePort rule stays last).
 * - Topology hints (trafficDistribution / topology-aware routing) are not modelled (the cluster
 *   model has no zones or hints): CategorizeEndpoints runs with topology mode "".
 * - The local-traffic detector is always ClusterCIDR (kubeadm's default), from the model.
 * - Two endpoint entries with the same ip:port (across EndpointSlices) keep the first, unless
 *   only a later one is ready.
 * - The nfacct rules kube-proxy ≥1.29 adds when the kernel has nfnetlink_acct are left out unless
 *   `nfacct: true`.
 */
import type { Cidr, ClusterModel, EndpointModel, NodeModel, ServiceModel, ServicePortModel } from '../model.js';
import { inPrefix } from '../../wire/addr.js';
import { formatProbability, probabilityToStored } from '../../netfilter/iptables-save.js';
import {
  builtinChain,
  rule,
  userChain,
  type Chain,
  type Match,
  type Policy,
  type Rule,
  type Ruleset,
  type Table,
  type TableName,
  type Target,
} from '../../netfilter/rules.js';
import { extChain, fwChain, sepChain, servicePortName, svcChain, svlChain } from './hash.js';

// =============================================================================================
// Options and metadata
// =============================================================================================

/** kube-proxy / node settings. */
export interface KubeProxyOptions {
  /** `--masquerade-all`: SNAT all ClusterIP traffic (default false). */
  readonly masqueradeAll?: boolean;
  /** `iptables.localhostNodePorts` (default true): NodePorts answer on 127.0.0.0/8. */
  readonly localhostNodePorts?: boolean;
  /**
   * `--nodeport-addresses`: CIDRs of node addresses NodePorts listen on, or `primary` (the
   * node's InternalIP). Default: every local address (the `--dst-type LOCAL` rule).
   */
  readonly nodePortAddresses?: readonly Cidr[] | 'primary';
  /** iptables supports `--random-fully` (true for iptables ≥ 1.6.2; default true). Also used by flannel. */
  readonly randomFully?: boolean;
  /** `--iptables-masquerade-bit` (default 14 → mark 0x4000). */
  readonly masqueradeBit?: number;
  /** The node has net.netfilter.nf_conntrack_tcp_be_liberal=1 (no INVALID drop rule; default false). */
  readonly conntrackTCPLiberal?: boolean;
  /** The kernel has nfnetlink_acct, so kube-proxy ≥1.29 adds its `-m nfacct` counting rules (default false). */
  readonly nfacct?: boolean;
  /** Include kubelet's chains (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY, KUBE-FIREWALL; default true). */
  readonly kubelet?: boolean;
  /** Include flannel's FLANNEL-POSTRTG / FLANNEL-FWD (default: the model's CNI is flannel). */
  readonly flannel?: boolean;
}

type Protocol = 'tcp' | 'udp' | 'sctp';

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

/** Shared, per-cluster kube-proxy rules; see the module comment. */
export interface ClusterRules {
  readonly model: ClusterModel;
  /** Service ports in processing order (sorted by name, then protocol). */
  readonly servicePorts: readonly ServicePortInfo[];
  /** More than 1000 endpoints: per-endpoint comments are left out, as kube-proxy does. */
  readonly largeClusterMode: boolean;
  /** The node-independent chains of each table (shared by every node's ruleset). */
  readonly shared: { readonly [T in TableName]?: ReadonlyMap<string, Chain> };
  /** A service port by name (`ns/svc[:port]`) and protocol (`tcp`/`udp`/`sctp`). */
  servicePort(name: string, protocol?: string): ServicePortInfo | undefined;
  /** The node's full ruleset (memoised: the same object on every call for a node). */
  rulesForNode(nodeName: string): Ruleset;
  /** How the node's kube-proxy programs one service port. */
  nodeServicePort(nodeName: string, sp: ServicePortInfo): NodeServicePort;
  /** {@link nodeServicePort} for every service port, in processing order. */
  nodeServicePorts(nodeName: string): NodeServicePort[];
  /** The service port and endpoint a KUBE-SEP chain belongs to (for traces and forced replays). */
  endpointByChain(sepChainName: string): { readonly sp: ServicePortInfo; readonly ep: EndpointInfo } | undefined;
}

// =============================================================================================
// Small builders (shared constant objects where the content is fixed)
// =============================================================================================

const PROTO_NUM: Readonly<Record<Protocol, number>> = { tcp: 6, udp: 17, sctp: 132 };

const protoMatches = new Map<number, Match>();
function P(proto: number): Match {
  let m = protoMatches.get(proto);
  if (m === undefined) {
    m = { kind: 'proto', invert: false, proto };
    protoMatches.set(proto, m);
  }
  return m;
}

const l4Bare = new Map<Protocol, Match>();
/** `-m tcp`/`-m udp`/`-m sctp`, with `--dport` when given. */
function L4(proto: Protocol, dport?: number): Match {
  if (dport === undefined) {
    const hit = l4Bare.get(proto);
    if (hit !== undefined) return hit;
    const m = { kind: proto } as Match;
    l4Bare.set(proto, m);
    return m;
  }
  return { kind: proto, dport: { min: dport, max: dport, invert: false } } as Match;
}

function C(text: string): Match {
  return { kind: 'comment', text };
}

function S(cidr: Cidr, invert = false): Match {
  return { kind: 'src', invert, cidr };
}

function D(cidr: Cidr, invert = false): Match {
  return { kind: 'dst', invert, cidr };
}

function host(ip: number): Cidr {
  return { addr: ip >>> 0, len: 32 };
}

const LOOPBACK: Cidr = { addr: 0x7f00_0000, len: 8 };
const MULTICAST: Cidr = { addr: 0xe000_0000, len: 4 };

const CT_NEW: Match = { kind: 'conntrack', state: { states: ['NEW'], invert: false } };
const CT_INVALID: Match = { kind: 'conntrack', state: { states: ['INVALID'], invert: false } };
const CT_REL_EST: Match = { kind: 'conntrack', state: { states: ['RELATED', 'ESTABLISHED'], invert: false } };
const CT_NOT_REL_EST_DNAT: Match = { kind: 'conntrack', state: { states: ['RELATED', 'ESTABLISHED', 'DNAT'], invert: true } };
const DST_LOCAL: Match = { kind: 'addrtype', dst: { types: ['LOCAL'], invert: false }, limitIfaceIn: false, limitIfaceOut: false };
const SRC_LOCAL: Match = { kind: 'addrtype', src: { types: ['LOCAL'], invert: false }, limitIfaceIn: false, limitIfaceOut: false };

const ACCEPT: Target = { kind: 'ACCEPT' };
const DROP: Target = { kind: 'DROP' };
const RETURN: Target = { kind: 'RETURN' };
const REJECT: Target = { kind: 'REJECT', with: 'icmp-port-unreachable' };

const jumps = new Map<string, Target>();
function J(chain: string): Target {
  let t = jumps.get(chain);
  if (t === undefined) {
    t = { kind: 'jump', chain };
    jumps.set(chain, t);
  }
  return t;
}

function R(parts: readonly (Match | undefined | false)[], target?: Target): Rule {
  return rule(
    parts.filter((p): p is Match => p !== undefined && p !== false),
    target,
  );
}

/**
 * Go's `fmt.Sprintf("%0.Nf", x)` for x ≥ 0: the exact binary value rounded half to even (JS
 * toFixed rounds exact ties up, e.g. 1/2048 to 10 digits).
 */
export function formatFixedExact(x: number, digits: number): string {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  const hi = dv.getUint32(0);
  const lo = dv.getUint32(4);
  const exp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xf_ffff) << 32n) | BigInt(lo);
  let e: number;
  if (exp === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = exp - 1075;
  }
  let num = mant * 10n ** BigInt(digits);
  let den = 1n;
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  let q = num / den;
  const r2 = 2n * (num % den);
  if (r2 > den || (r2 === den && q % 2n === 1n)) q += 1n;
  const s = q.toString().padStart(digits + 1, '0');
  return digits === 0 ? s : `${s.slice(0, -digits)}.${s.slice(-digits)}`;
}

/** kube-proxy's probability text for 1/n (`%0.10f`, proxier.go computeProbability). */
export function kubeProxyProbabilityText(n: number): string {
  return formatFixedExact(1 / n, 10);
}

const statCache = new Map<number, Match>();
/** The statistic match iptables stores for kube-proxy's `--probability` of 1/n. */
function STAT(n: number): Match {
  let m = statCache.get(n);
  if (m === undefined) {
    const stored = probabilityToStored(Number(kubeProxyProbabilityText(n)));
    m = { kind: 'statistic', mode: 'random', invert: false, probability: stored };
    statCache.set(n, m);
  }
  return m;
}

/** The stored statistic value and its iptables-save text for kube-proxy's 1/n. */
export function kubeProxyProbability(n: number): { readonly stored: number; readonly saved: string } {
  const stored = probabilityToStored(Number(kubeProxyProbabilityText(n)));
  return { stored, saved: formatProbability(stored) };
}

function ipStr(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

const EMPTY_MAP: ReadonlyMap<string, Chain> = new Map();

// =============================================================================================
// Service ports and endpoints
// =============================================================================================

function compareStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function serviceExternallyAccessible(svc: ServiceModel): boolean {
  return svc.type === 'LoadBalancer' || svc.type === 'NodePort' || (svc.type === 'ClusterIP' && svc.externalIPs.length > 0);
}

function collectServicePorts(model: ClusterModel): ServicePortInfo[] {
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
      drafts.push(makeServicePort(svc, p, clusterIP, externalPolicyLocal, internalPolicyLocal, slicesBySvc.get(`${svc.namespace}/${svc.name}`) ?? []));
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

function addEndpoint(byKey: Map<string, EndpointInfo>, ep: EndpointModel, port: number, spn: string, protocol: Protocol): void {
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
function localEndpointsOf(sp: ServicePortInfo, local: readonly EndpointInfo[]): EndpointInfo[] {
  if (!sp.usesLocalEndpoints || local.length === 0) return [];
  const ready = local.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return local.filter((e) => e.serving && e.terminating);
}

// =============================================================================================
// The generator
// =============================================================================================

interface Resolved {
  readonly masqueradeAll: boolean;
  readonly localhostNodePorts: boolean;
  readonly nodePortAddresses: readonly Cidr[] | 'primary' | undefined;
  readonly randomFully: boolean;
  readonly mark: number;
  readonly conntrackTCPLiberal: boolean;
  readonly nfacct: boolean;
  readonly kubelet: boolean;
  readonly flannel: boolean;
  readonly flannelMasq: boolean;
}

const NFACCT_INVALID = 'ct_state_invalid_dropped_pkts';
const NFACCT_LOCALHOST_NP = 'localhost_nps_accepted_pkts';
const LARGE_CLUSTER_ENDPOINTS = 1000;

/** Node-specific state of the service ports that depend on local endpoints. */
interface NodeState {
  readonly node: NodeModel;
  /** Local-policy endpoints per service port index (only ports that use them and have some). */
  readonly local: ReadonlyMap<number, readonly EndpointInfo[]>;
}

/** The per-service-port rules that go into the top-level chains, built once. */
interface TopRules {
  /** nat KUBE-SERVICES: ClusterIP → internal chain (when the node has internal endpoints). */
  readonly natClusterIP: Rule | undefined;
  /** nat KUBE-SERVICES: externalIPs and LB IPs (when the port has endpoints). */
  readonly natExternal: readonly Rule[];
  /** filter KUBE-SERVICES: ClusterIP REJECT (no endpoints) or DROP (ITP=Local, none on this node). */
  readonly filterClusterIP: Rule | undefined;
  /** filter KUBE-EXTERNAL-SERVICES: REJECT/DROP for externalIPs, LB IPs and the NodePort. */
  readonly filterExternal: readonly Rule[];
  readonly proxyFirewall: readonly Rule[];
  readonly natNodePorts: readonly Rule[];
  readonly filterNodePorts: readonly Rule[];
}

class ClusterRulesImpl implements ClusterRules {
  readonly servicePorts: readonly ServicePortInfo[];
  readonly largeClusterMode: boolean;
  readonly shared: { readonly [T in TableName]?: ReadonlyMap<string, Chain> };
  private readonly opt: Resolved;
  private readonly byName = new Map<string, ServicePortInfo>();
  private readonly nodes = new Map<string, NodeModel>();
  private readonly localIndex = new Map<string, { sp: number; ep: EndpointInfo }[]>();
  private readonly sepCache = new Map<string, Chain>();
  private readonly variantCache = new Map<string, Chain>();
  private readonly rulesetCache = new Map<string, Ruleset>();
  /** Top-level rules for a node with local endpoints (index) and without (base). */
  private readonly topWith = new Map<number, TopRules>();
  private readonly topBase: TopRules[] = [];
  /** Service ports whose rules depend on local endpoints: ITP=Local, or ETP=Local and externally reachable. */
  private readonly localDependent: number[] = [];
  /** Service ports with a KUBE-FW chain. */
  private readonly firewallPorts: number[] = [];
  private readonly sepIndex = new Map<string, { sp: ServicePortInfo; ep: EndpointInfo }>();
  private readonly sharedKeys: { natServices: string; filterServices: string; external: string };

  constructor(
    readonly model: ClusterModel,
    options: KubeProxyOptions,
  ) {
    const npa = options.nodePortAddresses;
    const containsLoopback = npa === undefined || (npa !== 'primary' && npa.some((c) => inPrefix(0x7f00_0001, c.addr, c.len)));
    this.opt = {
      masqueradeAll: options.masqueradeAll ?? false,
      localhostNodePorts: (options.localhostNodePorts ?? true) && containsLoopback,
      nodePortAddresses: npa,
      randomFully: options.randomFully ?? true,
      mark: (1 << (options.masqueradeBit ?? 14)) >>> 0,
      conntrackTCPLiberal: options.conntrackTCPLiberal ?? false,
      nfacct: options.nfacct ?? false,
      kubelet: options.kubelet ?? true,
      flannel: options.flannel ?? model.cni.plugin === 'flannel',
      flannelMasq: (options.flannel ?? model.cni.plugin === 'flannel') && model.cni.ipMasq,
    };
    for (const n of model.nodes) this.nodes.set(n.name, n);
    this.servicePorts = collectServicePorts(model);
    let total = 0;
    for (const sp of this.servicePorts) {
      this.byName.set(`${sp.name}\0${sp.protocol}`, sp);
      total += sp.endpoints.length;
      if (sp.usesLocalEndpoints) {
        this.localDependent.push(sp.index);
        for (const ep of sp.endpoints) {
          if (ep.nodeName === undefined) continue;
          let a = this.localIndex.get(ep.nodeName);
          if (a === undefined) this.localIndex.set(ep.nodeName, (a = []));
          a.push({ sp: sp.index, ep });
        }
      }
      if (sp.usesFirewallChain) this.firewallPorts.push(sp.index);
      for (const ep of sp.endpoints) this.sepIndex.set(ep.sepChain, { sp, ep });
      this.topBase.push(this.topRules(sp, false));
    }
    this.largeClusterMode = total > LARGE_CLUSTER_ENDPOINTS;
    this.sharedKeys = { natServices: '', filterServices: '', external: '' };
    this.shared = this.buildShared();
  }

  servicePort(name: string, protocol = 'tcp'): ServicePortInfo | undefined {
    return this.byName.get(`${name}\0${protocol.toLowerCase()}`);
  }

  private node(name: string): NodeModel {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`unknown node "${name}"`);
    return n;
  }

  private nodeState(name: string): NodeState {
    const node = this.node(name);
    const grouped = new Map<number, EndpointInfo[]>();
    for (const { sp, ep } of this.localIndex.get(name) ?? []) {
      let a = grouped.get(sp);
      if (a === undefined) grouped.set(sp, (a = []));
      a.push(ep);
    }
    const local = new Map<number, readonly EndpointInfo[]>();
    for (const [i, eps] of grouped) {
      const l = localEndpointsOf(this.servicePorts[i]!, eps);
      if (l.length > 0) local.set(i, l);
    }
    return { node, local };
  }

  nodeServicePort(nodeName: string, sp: ServicePortInfo): NodeServicePort {
    const st = this.nodeState(nodeName);
    return this.viewOf(sp, st.local.get(sp.index) ?? []);
  }

  nodeServicePorts(nodeName: string): NodeServicePort[] {
    const st = this.nodeState(nodeName);
    return this.servicePorts.map((sp) => this.viewOf(sp, st.local.get(sp.index) ?? []));
  }

  endpointByChain(sepChainName: string): { readonly sp: ServicePortInfo; readonly ep: EndpointInfo } | undefined {
    return this.sepIndex.get(sepChainName);
  }

  /** The node-dependent decisions of syncProxyRules for a port, given whether the node has local endpoints. */
  private flags(sp: ServicePortInfo, hasLocal: boolean): { hasInternalEndpoints: boolean; hasExternalEndpoints: boolean; internalChain: string | undefined } {
    const hasInternalEndpoints = sp.hasEndpoints && (!sp.internalPolicyLocal || hasLocal);
    const hasExternalEndpoints = sp.hasEndpoints && (!sp.externalPolicyLocal || hasLocal);
    const internalChain = hasInternalEndpoints ? (sp.internalPolicyLocal ? sp.chains.svl : sp.chains.svc) : undefined;
    return { hasInternalEndpoints, hasExternalEndpoints, internalChain };
  }

  private viewOf(sp: ServicePortInfo, localEndpoints: readonly EndpointInfo[]): NodeServicePort {
    const hasLocal = localEndpoints.length > 0;
    const { hasInternalEndpoints, hasExternalEndpoints, internalChain } = this.flags(sp, hasLocal);
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

  // ------------------------------------------------------------------------------------------
  // Per-service-port chains
  // ------------------------------------------------------------------------------------------

  private comment(text: string): Match | undefined {
    return this.largeClusterMode ? undefined : C(text);
  }

  /** The ClusterIP masquerade rule written at the top of the internal chain. */
  private internalMasq(sp: ServicePortInfo): Rule {
    return R(
      [
        C(`${sp.name} cluster IP`),
        L4(sp.protocol, sp.port),
        P(sp.protoNum),
        D(host(sp.clusterIP)),
        !this.opt.masqueradeAll && S(this.model.clusterCIDR, true),
      ],
      J('KUBE-MARK-MASQ'),
    );
  }

  /** writeServiceToEndpointRules: affinity checks, then the probability cascade. */
  private endpointRules(sp: ServicePortInfo, eps: readonly EndpointInfo[]): Rule[] {
    const out: Rule[] = [];
    if (sp.affinitySeconds !== undefined) {
      for (const ep of eps) {
        out.push(
          R(
            [
              this.comment(`${sp.name} -> ${ep.key}`),
              {
                kind: 'recent',
                op: 'rcheck',
                invert: false,
                seconds: sp.affinitySeconds,
                reap: true,
                hitcount: 0,
                rttl: false,
                name: ep.sepChain,
                mask: 0xffff_ffff,
                side: 'source',
              },
            ],
            J(ep.sepChain),
          ),
        );
      }
    }
    const n = eps.length;
    eps.forEach((ep, i) => {
      out.push(R([this.comment(`${sp.name} -> ${ep.key}`), i < n - 1 && STAT(n - i)], J(ep.sepChain)));
    });
    return out;
  }

  private svcChainObj(sp: ServicePortInfo): Chain {
    const rules: Rule[] = [];
    if (!sp.internalPolicyLocal && sp.hasEndpoints) rules.push(this.internalMasq(sp));
    rules.push(...this.endpointRules(sp, sp.clusterEndpoints));
    return userChain(sp.chains.svc, rules);
  }

  private svlChainObj(sp: ServicePortInfo, local: readonly EndpointInfo[]): Chain {
    const rules: Rule[] = [];
    if (sp.internalPolicyLocal) rules.push(this.internalMasq(sp));
    rules.push(...this.endpointRules(sp, local));
    return userChain(sp.chains.svl, rules);
  }

  private sepChainObj(sp: ServicePortInfo, ep: EndpointInfo): Chain {
    const k = `${sp.index}\0${ep.key}`;
    let c = this.sepCache.get(k);
    if (c === undefined) {
      const cm = this.comment(sp.name);
      c = userChain(ep.sepChain, [
        R([cm, S(host(ep.ip))], J('KUBE-MARK-MASQ')),
        R(
          [
            cm,
            sp.affinitySeconds !== undefined && {
              kind: 'recent',
              op: 'set',
              invert: false,
              seconds: 0,
              reap: false,
              hitcount: 0,
              rttl: false,
              name: ep.sepChain,
              mask: 0xffff_ffff,
              side: 'source',
            },
            L4(sp.protocol),
            P(sp.protoNum),
          ],
          { kind: 'DNAT', range: { ips: { min: ep.ip, max: ep.ip }, ports: { min: ep.port, max: ep.port } }, random: false, persistent: false },
        ),
      ]);
      this.sepCache.set(k, c);
    }
    return c;
  }

  private extChainObj(sp: ServicePortInfo, hasExternalEndpoints: boolean): Chain {
    const key = `ext\0${sp.index}\0${hasExternalEndpoints}`;
    return this.cached(key, () => {
      const rules: Rule[] = [];
      const svc = sp.chains.svc;
      if (!sp.externalPolicyLocal) {
        rules.push(R([C(`masquerade traffic for ${sp.name} external destinations`)], J('KUBE-MARK-MASQ')));
      } else {
        rules.push(R([C(`pod traffic for ${sp.name} external destinations`), S(this.model.clusterCIDR)], J(svc)));
        rules.push(R([C(`masquerade LOCAL traffic for ${sp.name} external destinations`), SRC_LOCAL], J('KUBE-MARK-MASQ')));
        rules.push(R([C(`route LOCAL traffic for ${sp.name} external destinations`), SRC_LOCAL], J(svc)));
      }
      if (hasExternalEndpoints) rules.push(R([], J(sp.externalPolicyLocal ? sp.chains.svl : svc)));
      return userChain(sp.chains.ext, rules);
    });
  }

  private fwChainObj(sp: ServicePortInfo, allowFromNode: boolean): Chain {
    return this.cached(`fw\0${sp.index}\0${allowFromNode}`, () => {
      const cm = C(`${sp.name} loadbalancer IP`);
      const rules: Rule[] = sp.loadBalancerSourceRanges.map((c) => R([cm, S({ addr: c.addr, len: c.len })], J(sp.chains.ext)));
      if (allowFromNode) for (const lb of sp.loadBalancerIPs) rules.push(R([cm, S(host(lb))], J(sp.chains.ext)));
      rules.push(R([C(`other traffic to ${sp.name} will be dropped by KUBE-PROXY-FIREWALL`)]));
      return userChain(sp.chains.fw, rules);
    });
  }

  private allowFromNode(sp: ServicePortInfo, node: NodeModel): boolean {
    return sp.loadBalancerSourceRanges.some((c) => inPrefix(node.ip, c.addr, c.len));
  }

  private cached(key: string, make: () => Chain): Chain {
    let c = this.variantCache.get(key);
    if (c === undefined) {
      c = make();
      this.variantCache.set(key, c);
    }
    return c;
  }

  /** The rules a service port contributes to the top-level chains, given local endpoints or not. */
  private topRules(sp: ServicePortInfo, hasLocal: boolean): TopRules {
    const v = this.flags(sp, hasLocal);
    const dport = L4(sp.protocol, sp.port);
    const proto = P(sp.protoNum);
    const extChainName = sp.chains.ext;
    const lbChain = sp.usesFirewallChain ? sp.chains.fw : extChainName;
    let filterTarget: Target | undefined;
    let filterComment = '';
    let extTarget: Target | undefined;
    let extComment = '';
    if (!sp.hasEndpoints) {
      filterTarget = extTarget = REJECT;
      filterComment = extComment = `${sp.name} has no endpoints`;
    } else {
      if (!v.hasInternalEndpoints) {
        filterTarget = DROP;
        filterComment = `${sp.name} has no local endpoints`;
      }
      if (!v.hasExternalEndpoints) {
        extTarget = DROP;
        extComment = `${sp.name} has no local endpoints`;
      }
    }
    const natExternal: Rule[] = [];
    const filterExternal: Rule[] = [];
    const proxyFirewall: Rule[] = [];
    for (const eip of sp.externalIPs) {
      if (sp.hasEndpoints) natExternal.push(R([C(`${sp.name} external IP`), dport, proto, D(host(eip))], J(extChainName)));
      if (extTarget !== undefined) filterExternal.push(R([C(extComment), dport, proto, D(host(eip))], extTarget));
    }
    for (const lb of sp.loadBalancerIPs) {
      if (sp.hasEndpoints) natExternal.push(R([C(`${sp.name} loadbalancer IP`), dport, proto, D(host(lb))], J(lbChain)));
      if (sp.usesFirewallChain) {
        proxyFirewall.push(R([C(`${sp.name} traffic not accepted by ${sp.chains.fw}`), dport, proto, D(host(lb))], DROP));
      }
    }
    if (extTarget !== undefined) {
      for (const lb of sp.loadBalancerIPs) filterExternal.push(R([C(extComment), dport, proto, D(host(lb))], extTarget));
    }
    const natNodePorts: Rule[] = [];
    if (sp.nodePort !== 0) {
      const np = L4(sp.protocol, sp.nodePort);
      if (sp.hasEndpoints) {
        if (this.opt.localhostNodePorts && this.opt.nfacct) {
          natNodePorts.push(R([C(sp.name), np, proto, D(LOOPBACK), { kind: 'nfacct', name: NFACCT_LOCALHOST_NP }], J(extChainName)));
        }
        natNodePorts.push(R([C(sp.name), np, proto], J(extChainName)));
      }
      if (extTarget !== undefined) filterExternal.push(R([C(extComment), DST_LOCAL, np, proto], extTarget));
    }
    const filterNodePorts: Rule[] = [];
    if (sp.healthCheckNodePort !== 0) {
      filterNodePorts.push(R([C(`${sp.name} health check node port`), L4('tcp', sp.healthCheckNodePort), P(6)], ACCEPT));
    }
    return {
      natClusterIP: v.hasInternalEndpoints ? R([C(`${sp.name} cluster IP`), dport, proto, D(host(sp.clusterIP))], J(v.internalChain!)) : undefined,
      natExternal,
      filterClusterIP: filterTarget !== undefined ? R([C(filterComment), dport, proto, D(host(sp.clusterIP))], filterTarget) : undefined,
      filterExternal,
      proxyFirewall,
      natNodePorts,
      filterNodePorts,
    };
  }

  /** Top rules for service port `i` on a node with (`true`) or without local endpoints. */
  private top(i: number, hasLocal: boolean): TopRules {
    if (!hasLocal) return this.topBase[i]!;
    let t = this.topWith.get(i);
    if (t === undefined) {
      t = this.topRules(this.servicePorts[i]!, true);
      this.topWith.set(i, t);
    }
    return t;
  }

  /** The "kubernetes service nodeports" rule(s) at the end of nat KUBE-SERVICES. */
  private nodePortsJump(node: NodeModel | undefined): Rule[] {
    const cm = C('kubernetes service nodeports; NOTE: this must be the last rule in this chain');
    const npa = this.opt.nodePortAddresses;
    if (npa === undefined) {
      return [R([cm, DST_LOCAL, !this.opt.localhostNodePorts && D(LOOPBACK, true)], J('KUBE-NODEPORTS'))];
    }
    if (node === undefined) return [];
    return this.nodePortIPs(node).map((ip) => R([cm, D(host(ip))], J('KUBE-NODEPORTS')));
  }

  /** Node addresses matching --nodeport-addresses, in interface order (lo, eth0, flannel.1, cni0). */
  private nodePortIPs(node: NodeModel): number[] {
    const npa = this.opt.nodePortAddresses;
    if (npa === 'primary') return [node.ip];
    const ifAddrs = [0x7f00_0001, node.ip];
    if (this.model.cni.backend === 'vxlan') ifAddrs.push(node.podCIDR.addr >>> 0);
    ifAddrs.push((node.podCIDR.addr + 1) >>> 0);
    const out: number[] = [];
    for (const a of ifAddrs) {
      if (npa?.some((c) => inPrefix(a, c.addr, c.len)) !== true) continue;
      if (a >>> 24 === 127 && !this.opt.localhostNodePorts) continue;
      if (!out.includes(a)) out.push(a);
    }
    return out;
  }

  private natServices(local: ReadonlySet<number>, node: NodeModel | undefined): Chain {
    const rules: Rule[] = [];
    for (let i = 0; i < this.servicePorts.length; i++) {
      const t = this.top(i, local.has(i));
      if (t.natClusterIP !== undefined) rules.push(t.natClusterIP);
      for (const r of t.natExternal) rules.push(r);
    }
    rules.push(...this.nodePortsJump(node));
    return userChain('KUBE-SERVICES', rules);
  }

  private filterServices(local: ReadonlySet<number>): Chain {
    const rules: Rule[] = [];
    for (let i = 0; i < this.servicePorts.length; i++) {
      const r = this.top(i, local.has(i)).filterClusterIP;
      if (r !== undefined) rules.push(r);
    }
    return userChain('KUBE-SERVICES', rules);
  }

  private filterExternal(local: ReadonlySet<number>): Chain {
    const rules: Rule[] = [];
    for (let i = 0; i < this.servicePorts.length; i++) rules.push(...this.top(i, local.has(i)).filterExternal);
    return userChain('KUBE-EXTERNAL-SERVICES', rules);
  }

  // ------------------------------------------------------------------------------------------
  // Shared chains
  // ------------------------------------------------------------------------------------------

  private buildShared(): { [T in TableName]?: ReadonlyMap<string, Chain> } {
    const o = this.opt;
    const mark = { kind: 'mark', invert: false, value: o.mark, mask: o.mark } as const;
    const none = new Set<number>();

    // ---- filter
    const filter = new Map<string, Chain>();
    const add = (m: Map<string, Chain>, c: Chain): void => {
      if (m.has(c.name)) throw new Error(`chain ${c.name} built twice`);
      m.set(c.name, c);
    };
    const proxyFw = R([CT_NEW, C('kubernetes load balancer firewall')], J('KUBE-PROXY-FIREWALL'));
    const extSvc = R([CT_NEW, C('kubernetes externally-visible service portals')], J('KUBE-EXTERNAL-SERVICES'));
    const svcPortals = R([CT_NEW, C('kubernetes service portals')], J('KUBE-SERVICES'));
    const kubeletFw = R([], J('KUBE-FIREWALL'));
    // kubelet prepends its KUBE-FIREWALL jumps before kube-proxy starts, so they end up last;
    // without kubelet, kube-proxy prepends them itself after its own (iptablesKubeletJumpChains), so first.
    const withFw = (rules: Rule[]): Rule[] => (o.kubelet ? [...rules, kubeletFw] : [kubeletFw, ...rules]);
    add(
      filter,
      builtinChain('INPUT', 'ACCEPT', withFw([proxyFw, R([C('kubernetes health check service ports')], J('KUBE-NODEPORTS')), extSvc])),
    );
    add(
      filter,
      builtinChain('FORWARD', 'ACCEPT', [
        proxyFw,
        R([C('kubernetes forwarding rules')], J('KUBE-FORWARD')),
        svcPortals,
        extSvc,
        ...(o.flannel ? [R([C('flanneld forward')], J('FLANNEL-FWD'))] : []),
      ]),
    );
    add(filter, builtinChain('OUTPUT', 'ACCEPT', withFw([proxyFw, svcPortals])));
    add(filter, this.filterServices(none));
    add(filter, this.filterExternal(none));
    add(
      filter,
      userChain('KUBE-FORWARD', [
        ...(o.conntrackTCPLiberal ? [] : [R([CT_INVALID, o.nfacct && { kind: 'nfacct', name: NFACCT_INVALID }], DROP)]),
        R([C('kubernetes forwarding rules'), mark], ACCEPT),
        R([C('kubernetes forwarding conntrack rule'), CT_REL_EST], ACCEPT),
      ]),
    );
    add(filter, userChain('KUBE-NODEPORTS', this.topBase.flatMap((t) => t.filterNodePorts)));
    add(filter, userChain('KUBE-PROXY-FIREWALL', this.topBase.flatMap((t) => t.proxyFirewall)));
    add(
      filter,
      userChain(
        'KUBE-FIREWALL',
        o.kubelet || o.localhostNodePorts
          ? [R([C('block incoming localnet connections'), D(LOOPBACK), S(LOOPBACK, true), CT_NOT_REL_EST_DNAT], DROP)]
          : [],
      ),
    );
    add(filter, userChain('KUBE-PROXY-CANARY', []));
    if (o.kubelet) add(filter, userChain('KUBE-KUBELET-CANARY', []));
    if (o.flannel) {
      const cc = this.model.clusterCIDR;
      const cm = C('flanneld forward');
      add(filter, userChain('FLANNEL-FWD', [R([cm, S(cc)], ACCEPT), R([cm, D(cc)], ACCEPT)]));
    }

    // ---- nat
    const nat = new Map<string, Chain>();
    const portals = R([C('kubernetes service portals')], J('KUBE-SERVICES'));
    add(nat, builtinChain('PREROUTING', 'ACCEPT', [portals]));
    add(nat, builtinChain('INPUT', 'ACCEPT', []));
    add(nat, builtinChain('OUTPUT', 'ACCEPT', [portals]));
    add(
      nat,
      builtinChain('POSTROUTING', 'ACCEPT', [
        R([C('kubernetes postrouting rules')], J('KUBE-POSTROUTING')),
        ...(o.flannelMasq ? [R([C('flanneld masq')], J('FLANNEL-POSTRTG'))] : []),
      ]),
    );
    if (o.nodePortAddresses === undefined) add(nat, this.natServices(none, undefined));
    add(nat, userChain('KUBE-NODEPORTS', this.topBase.flatMap((t) => t.natNodePorts)));
    add(
      nat,
      userChain('KUBE-POSTROUTING', [
        R([{ kind: 'mark', invert: true, value: o.mark, mask: o.mark }], RETURN),
        R([], { kind: 'MARK', value: o.mark, mask: 0 }),
        R([C('kubernetes service traffic requiring SNAT')], { kind: 'MASQUERADE', random: false, randomFully: o.randomFully }),
      ]),
    );
    add(nat, userChain('KUBE-MARK-MASQ', [R([], { kind: 'MARK', value: o.mark, mask: o.mark })]));
    add(nat, userChain('KUBE-PROXY-CANARY', []));
    if (o.kubelet) add(nat, userChain('KUBE-KUBELET-CANARY', []));
    for (const sp of this.servicePorts) {
      if (!sp.hasEndpoints) continue;
      if (sp.clusterEndpoints.length > 0 && sp.usesClusterEndpoints) add(nat, this.svcChainObj(sp));
      if (sp.usesClusterEndpoints) for (const ep of sp.clusterEndpoints) add(nat, this.sepChainObj(sp, ep));
      if (sp.externallyAccessible) add(nat, this.extChainObj(sp, !sp.externalPolicyLocal));
      if (sp.usesFirewallChain) add(nat, this.fwChainObj(sp, false));
    }

    // ---- mangle
    const mangle = new Map<string, Chain>();
    for (const b of ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']) add(mangle, builtinChain(b, 'ACCEPT' as Policy, []));
    if (o.kubelet) {
      add(mangle, userChain('KUBE-IPTABLES-HINT', []));
      add(mangle, userChain('KUBE-KUBELET-CANARY', []));
    }
    add(mangle, userChain('KUBE-PROXY-CANARY', []));

    return { mangle, filter, nat };
  }

  // ------------------------------------------------------------------------------------------
  // Per node
  // ------------------------------------------------------------------------------------------

  rulesForNode(nodeName: string): Ruleset {
    const hit = this.rulesetCache.get(nodeName);
    if (hit !== undefined) return hit;
    const st = this.nodeState(nodeName);
    const node = st.node;
    const nat = new Map<string, Chain>();
    const filter = new Map<string, Chain>();
    const sharedNat = this.shared.nat!;

    // Local-endpoint dependent chains.
    const localItp = new Set<number>();
    const localAny = new Set<number>();
    for (const i of this.localDependent) {
      const sp = this.servicePorts[i]!;
      const local = st.local.get(i);
      if (local === undefined) continue;
      localAny.add(i);
      if (sp.internalPolicyLocal && sp.hasEndpoints) localItp.add(i);
      nat.set(sp.chains.svl, this.svlChainObj(sp, local));
      const clusterKeys = sp.usesClusterEndpoints ? new Set(sp.clusterEndpoints.map((e) => e.key)) : new Set<string>();
      for (const ep of local) if (!clusterKeys.has(ep.key)) nat.set(ep.sepChain, this.sepChainObj(sp, ep));
      if (sp.externalPolicyLocal && sp.hasEndpoints && sp.externallyAccessible) nat.set(sp.chains.ext, this.extChainObj(sp, true));
    }
    for (const i of this.firewallPorts) {
      const sp = this.servicePorts[i]!;
      if (this.allowFromNode(sp, node)) nat.set(sp.chains.fw, this.fwChainObj(sp, true));
    }

    // Variants of the top-level chains (shared between nodes in the same situation).
    const itpKey = [...localItp].join(',');
    const npKey = this.opt.nodePortAddresses === undefined ? '' : this.nodePortIPs(node).join(',');
    if (itpKey !== this.sharedKeys.natServices || this.opt.nodePortAddresses !== undefined) {
      nat.set('KUBE-SERVICES', this.cached(`natsvc\0${itpKey}\0${npKey}`, () => this.natServices(localItp, node)));
    }
    if (itpKey !== this.sharedKeys.filterServices) {
      filter.set('KUBE-SERVICES', this.cached(`filtersvc\0${itpKey}`, () => this.filterServices(localItp)));
    }
    const etpLocal = [...localAny].filter((i) => this.servicePorts[i]!.externalPolicyLocal);
    const etpKey = etpLocal.join(',');
    if (etpKey !== this.sharedKeys.external) {
      const set = new Set(etpLocal);
      filter.set('KUBE-EXTERNAL-SERVICES', this.cached(`extsvc\0${etpKey}`, () => this.filterExternal(set)));
    }

    // flannel's masquerade rules name the node's own pod subnet.
    if (this.opt.flannelMasq) nat.set('FLANNEL-POSTRTG', this.flannelPostrouting(node));

    for (const k of nat.keys()) {
      if (sharedNat.has(k) && k !== 'KUBE-SERVICES' && !k.startsWith('KUBE-EXT-') && !k.startsWith('KUBE-FW-')) {
        throw new Error(`internal: node chain ${k} shadows a shared chain`);
      }
    }
    const tables: { [T in TableName]?: Table } = {
      mangle: { name: 'mangle', chains: EMPTY_MAP, shared: this.shared.mangle },
      filter: { name: 'filter', chains: filter.size === 0 ? EMPTY_MAP : filter, shared: this.shared.filter },
      nat: { name: 'nat', chains: nat, shared: sharedNat },
    };
    const rs: Ruleset = { tables };
    this.rulesetCache.set(nodeName, rs);
    return rs;
  }

  private flannelPostrouting(node: NodeModel): Chain {
    const cc = this.model.clusterCIDR;
    const pod: Cidr = { addr: node.podCIDR.addr, len: node.podCIDR.len };
    const f = this.flannelShared();
    return userChain('FLANNEL-POSTRTG', [
      f.markReturn,
      R([S(pod), D(cc), f.cm], RETURN),
      R([S(cc), D(pod), f.cm], RETURN),
      R([S(cc, true), D(pod), f.cm], RETURN),
      f.masqOut,
      f.masqIn,
    ]);
  }

  private flannelRules: { markReturn: Rule; masqOut: Rule; masqIn: Rule; cm: Match } | undefined;

  private flannelShared(): { markReturn: Rule; masqOut: Rule; masqIn: Rule; cm: Match } {
    if (this.flannelRules === undefined) {
      const cc = this.model.clusterCIDR;
      const cm = C('flanneld masq');
      const masq: Target = { kind: 'MASQUERADE', random: false, randomFully: this.opt.randomFully };
      this.flannelRules = {
        cm,
        // flannel's KubeProxyMark is the fixed string "0x4000/0x4000", whatever kube-proxy's bit.
        markReturn: R([{ kind: 'mark', invert: false, value: 0x4000, mask: 0x4000 }, cm], RETURN),
        masqOut: R([S(cc), D(MULTICAST, true), cm], masq),
        masqIn: R([S(cc, true), D(cc), cm], masq),
      };
    }
    return this.flannelRules;
  }
}

/** Builds the shared kube-proxy/kubelet/flannel rules of a cluster. */
export function buildClusterRules(model: ClusterModel, opts: KubeProxyOptions = {}): ClusterRules {
  return new ClusterRulesImpl(model, opts);
}
