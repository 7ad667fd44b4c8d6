/**
 * kube-proxy in iptables mode, modelled on v1.30's pkg/proxy/iptables/proxier.go: the rules it
 * writes on every node.
 *
 * Almost all of them are identical on every node, so they are built once per cluster:
 * {@link KubeProxyIptables.shared} holds the chains that do not depend on the node, and
 * {@link KubeProxyIptables.nodeChains} adds only what differs on one node — its KUBE-SVL chains
 * (local endpoints) and the variants of KUBE-EXT/KUBE-FW/KUBE-SERVICES/KUBE-EXTERNAL-SERVICES that
 * depend on having local endpoints (cached by variant, so nodes in the same situation share them).
 *
 * What it writes: KUBE-PROXY-CANARY in mangle, nat and filter; its jump rules prepended in
 * iptablesJumpChains order (and kubelet's KUBE-FIREWALL jumps ensured); filter KUBE-SERVICES,
 * KUBE-EXTERNAL-SERVICES, KUBE-FORWARD, KUBE-NODEPORTS, KUBE-PROXY-FIREWALL (and its copy of
 * KUBE-FIREWALL when it opens NodePorts on localhost); nat KUBE-SERVICES, KUBE-NODEPORTS,
 * KUBE-POSTROUTING, KUBE-MARK-MASQ and the per-service chains.
 *
 * Deliberate differences from real kube-proxy:
 * - Service ports are processed in order of service port name (`ns/svc:port`, then protocol),
 *   not Go map order, so KUBE-SERVICES & co. are deterministic. The order has no effect on
 *   matching (each rule matches a distinct destination, the NodePort rule stays last).
 * - Topology hints (trafficDistribution / topology-aware routing) are not modelled (the cluster
 *   model has no zones or hints): CategorizeEndpoints runs with topology mode "".
 * - The local-traffic detector is the model's (Cluster `spec.kubeProxy`), ClusterCIDR on clusterCIDR by default;
 *   with NodeCIDR the KUBE-SVC chains and the Local-policy KUBE-EXT chains differ per node, so they are node
 *   chains rather than shared ones.
 * - Two endpoint entries with the same ip:port (across EndpointSlices) keep the first, unless
 *   only a later one is ready.
 * - The nfacct rules kube-proxy ≥1.29 adds when the kernel has nfnetlink_acct are left out unless
 *   `nfacct: true`.
 */
import type { Cidr, ClusterModel, LocalDetectorModel, NodeModel } from '../../model.js';
import { inPrefix } from '../../../wire/addr.js';
import { formatProbability, probabilityToStored } from '../../../netfilter/iptables-save.js';
import { userChain, type Chain, type Match, type Rule, type Target } from '../../../netfilter/rules.js';
import {
  ACCEPT,
  C,
  CT_INVALID,
  CT_NEW,
  CT_REL_EST,
  D,
  DROP,
  DST_LOCAL,
  J,
  KUBE_FIREWALL_JUMP,
  L4,
  LOOPBACK,
  P,
  R,
  REJECT,
  RETURN,
  S,
  SRC_LOCAL,
  blockLocalnetRule,
  host,
  masqueradeTarget,
} from '../rule-builders.js';
import type { NodeChainSink, RulesWriter, TablesPart } from '../writer.js';
import {
  collectServicePorts,
  localEndpointsOf,
  nodeFlags,
  nodeServicePortView,
  type EndpointInfo,
  type NodeServicePort,
  type ServicePortInfo,
} from './service-ports.js';

/** kube-proxy's settings (KubeProxyConfiguration and command-line flags). */
export interface KubeProxyIptablesOptions {
  /** `--masquerade-all`: SNAT all ClusterIP traffic (default false). */
  readonly masqueradeAll?: boolean;
  /** `iptables.localhostNodePorts` (default true): NodePorts answer on 127.0.0.0/8. */
  readonly localhostNodePorts?: boolean;
  /**
   * `--nodeport-addresses`: CIDRs of node addresses NodePorts listen on, or `primary` (the
   * node's InternalIP). Default: every local address (the `--dst-type LOCAL` rule).
   */
  readonly nodePortAddresses?: readonly Cidr[] | 'primary';
  /** iptables supports `--random-fully` (true for iptables ≥ 1.6.2; default true). */
  readonly randomFully?: boolean;
  /** `--iptables-masquerade-bit` (default 14 → mark 0x4000). */
  readonly masqueradeBit?: number;
  /** The node has net.netfilter.nf_conntrack_tcp_be_liberal=1 (no INVALID drop rule; default false). */
  readonly conntrackTCPLiberal?: boolean;
  /** The kernel has nfnetlink_acct, so kube-proxy ≥1.29 adds its `-m nfacct` counting rules (default false). */
  readonly nfacct?: boolean;
  /** `detectLocalMode` and its settings (default: ClusterCIDR on the model's clusterCIDR). */
  readonly detectLocal?: LocalDetectorModel;
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

interface Resolved {
  readonly masqueradeAll: boolean;
  readonly localhostNodePorts: boolean;
  readonly nodePortAddresses: readonly Cidr[] | 'primary' | undefined;
  readonly randomFully: boolean;
  readonly mark: number;
  readonly conntrackTCPLiberal: boolean;
  readonly nfacct: boolean;
  readonly detectLocal: LocalDetectorModel;
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

/** kube-proxy (iptables mode) as a writer of every node's rules; also its Service view for traces. */
export class KubeProxyIptables implements RulesWriter {
  readonly agent = 'kube-proxy';
  /** Service ports in processing order (sorted by name, then protocol). */
  readonly servicePorts: readonly ServicePortInfo[];
  /** More than 1000 endpoints: per-endpoint comments are left out, as kube-proxy does. */
  readonly largeClusterMode: boolean;
  private readonly sharedPart: TablesPart;
  /** The names of the shared nat chains (a node's own chain may replace only a variant of one). */
  private readonly sharedNat: ReadonlySet<string>;
  private readonly opt: Resolved;
  private readonly byName = new Map<string, ServicePortInfo>();
  private readonly nodes = new Map<string, NodeModel>();
  private readonly localIndex = new Map<string, { sp: number; ep: EndpointInfo }[]>();
  private readonly sepCache = new Map<string, Chain>();
  private readonly variantCache = new Map<string, Chain>();
  /** Top-level rules for a node with local endpoints (index) and without (base). */
  private readonly topWith = new Map<number, TopRules>();
  private readonly topBase: TopRules[] = [];
  /** Service ports whose rules depend on local endpoints: ITP=Local, or ETP=Local and externally reachable. */
  private readonly localDependent: number[] = [];
  /** Service ports with a KUBE-FW chain. */
  private readonly firewallPorts: number[] = [];
  private readonly sepIndex = new Map<string, { sp: ServicePortInfo; ep: EndpointInfo }>();
  private readonly sharedKeys: { natServices: string; filterServices: string; external: string };
  /** The detector depends on the node (NodeCIDR): KUBE-SVC and Local-policy KUBE-EXT chains are per node. */
  private readonly perNodeDetector: boolean;

  constructor(
    readonly model: ClusterModel,
    options: KubeProxyIptablesOptions,
  ) {
    const npa = options.nodePortAddresses;
    const containsLoopback =
      npa === undefined || (npa !== 'primary' && npa.some((c) => inPrefix(0x7f00_0001, c.addr, c.len)));
    this.opt = {
      masqueradeAll: options.masqueradeAll ?? false,
      localhostNodePorts: (options.localhostNodePorts ?? true) && containsLoopback,
      nodePortAddresses: npa,
      randomFully: options.randomFully ?? true,
      mark: (1 << (options.masqueradeBit ?? 14)) >>> 0,
      conntrackTCPLiberal: options.conntrackTCPLiberal ?? false,
      nfacct: options.nfacct ?? false,
      detectLocal: options.detectLocal ?? { mode: 'ClusterCIDR', cidr: model.clusterCIDR },
    };
    this.perNodeDetector = this.opt.detectLocal.mode === 'NodeCIDR';
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
    this.sharedPart = this.buildShared();
    this.sharedNat = new Set((this.sharedPart.nat?.chains ?? []).map((c) => c.name));
  }

  /** A service port by name (`ns/svc[:port]`) and protocol (`tcp`/`udp`/`sctp`). */
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

  /** How the node's kube-proxy programs one service port. */
  nodeServicePort(nodeName: string, sp: ServicePortInfo): NodeServicePort {
    const st = this.nodeState(nodeName);
    return nodeServicePortView(sp, st.local.get(sp.index) ?? []);
  }

  /** {@link nodeServicePort} for every service port, in processing order. */
  nodeServicePorts(nodeName: string): NodeServicePort[] {
    const st = this.nodeState(nodeName);
    return this.servicePorts.map((sp) => nodeServicePortView(sp, st.local.get(sp.index) ?? []));
  }

  /** The service port and endpoint a KUBE-SEP chain belongs to (for traces and forced replays). */
  endpointByChain(sepChainName: string): { readonly sp: ServicePortInfo; readonly ep: EndpointInfo } | undefined {
    return this.sepIndex.get(sepChainName);
  }

  // ------------------------------------------------------------------------------------------
  // Per-service-port chains
  // ------------------------------------------------------------------------------------------

  private comment(text: string): Match | undefined {
    return this.largeClusterMode ? undefined : C(text);
  }

  /**
   * The detector's test for traffic from the node's pods (`invert`: from elsewhere), as
   * pkg/proxy/util/localdetector.go writes it; undefined for no detector (NoOpLocalDetector).
   */
  private detector(node: NodeModel | undefined, invert: boolean): Match | undefined {
    const d = this.opt.detectLocal;
    switch (d.mode) {
      case 'ClusterCIDR':
        return S(d.cidr, invert);
      case 'NodeCIDR':
        if (node === undefined) throw new Error('internal: the NodeCIDR detector needs a node');
        return S(node.podCIDR, invert);
      case 'BridgeInterface':
        return { kind: 'in', invert, name: d.bridgeInterface, prefix: d.bridgeInterface, wildcard: false };
      case 'InterfaceNamePrefix':
        return {
          kind: 'in',
          invert,
          name: `${d.interfaceNamePrefix}+`,
          prefix: d.interfaceNamePrefix,
          wildcard: true,
        };
      case 'NoOp':
        return undefined;
    }
  }

  /**
   * The ClusterIP masquerade rule written at the top of the internal chain: every packet with
   * masqueradeAll, else those the detector says are not from a pod; none without a detector.
   */
  private internalMasq(sp: ServicePortInfo, node: NodeModel | undefined): Rule | undefined {
    const m = this.opt.masqueradeAll ? undefined : this.detector(node, true);
    if (!this.opt.masqueradeAll && m === undefined) return undefined;
    return R(
      [C(`${sp.name} cluster IP`), L4(sp.protocol, sp.port), P(sp.protoNum), D(host(sp.clusterIP)), m],
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

  private svcChainObj(sp: ServicePortInfo, node: NodeModel | undefined): Chain {
    const rules: Rule[] = [];
    const masq = !sp.internalPolicyLocal && sp.hasEndpoints ? this.internalMasq(sp, node) : undefined;
    if (masq !== undefined) rules.push(masq);
    rules.push(...this.endpointRules(sp, sp.clusterEndpoints));
    return userChain(sp.chains.svc, rules);
  }

  private svlChainObj(sp: ServicePortInfo, local: readonly EndpointInfo[], node: NodeModel): Chain {
    const rules: Rule[] = [];
    const masq = sp.internalPolicyLocal ? this.internalMasq(sp, node) : undefined;
    if (masq !== undefined) rules.push(masq);
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
          {
            kind: 'DNAT',
            range: { ips: { min: ep.ip, max: ep.ip }, ports: { min: ep.port, max: ep.port } },
            random: false,
            persistent: false,
          },
        ),
      ]);
      this.sepCache.set(k, c);
    }
    return c;
  }

  private extChainObj(sp: ServicePortInfo, hasExternalEndpoints: boolean, node: NodeModel | undefined): Chain {
    const perNode = this.perNodeDetector && sp.externalPolicyLocal;
    const key = `ext\0${sp.index}\0${hasExternalEndpoints}${perNode ? `\0${node?.name}` : ''}`;
    return this.cached(key, () => {
      const rules: Rule[] = [];
      const svc = sp.chains.svc;
      if (!sp.externalPolicyLocal) {
        rules.push(R([C(`masquerade traffic for ${sp.name} external destinations`)], J('KUBE-MARK-MASQ')));
      } else {
        // pod → external destination is sent on as if it had left the cluster and come back (only with a detector)
        const fromPod = this.detector(perNode ? node : undefined, false);
        if (fromPod !== undefined)
          rules.push(R([C(`pod traffic for ${sp.name} external destinations`), fromPod], J(svc)));
        rules.push(
          R([C(`masquerade LOCAL traffic for ${sp.name} external destinations`), SRC_LOCAL], J('KUBE-MARK-MASQ')),
        );
        rules.push(R([C(`route LOCAL traffic for ${sp.name} external destinations`), SRC_LOCAL], J(svc)));
      }
      if (hasExternalEndpoints) rules.push(R([], J(sp.externalPolicyLocal ? sp.chains.svl : svc)));
      return userChain(sp.chains.ext, rules);
    });
  }

  private fwChainObj(sp: ServicePortInfo, allowFromNode: boolean): Chain {
    return this.cached(`fw\0${sp.index}\0${allowFromNode}`, () => {
      const cm = C(`${sp.name} loadbalancer IP`);
      const rules: Rule[] = sp.loadBalancerSourceRanges.map((c) =>
        R([cm, S({ addr: c.addr, len: c.len })], J(sp.chains.ext)),
      );
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
    const v = nodeFlags(sp, hasLocal);
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
      if (sp.hasEndpoints)
        natExternal.push(R([C(`${sp.name} external IP`), dport, proto, D(host(eip))], J(extChainName)));
      if (extTarget !== undefined) filterExternal.push(R([C(extComment), dport, proto, D(host(eip))], extTarget));
    }
    for (const lb of sp.loadBalancerIPs) {
      if (sp.hasEndpoints)
        natExternal.push(R([C(`${sp.name} loadbalancer IP`), dport, proto, D(host(lb))], J(lbChain)));
      if (sp.usesFirewallChain) {
        proxyFirewall.push(
          R([C(`${sp.name} traffic not accepted by ${sp.chains.fw}`), dport, proto, D(host(lb))], DROP),
        );
      }
    }
    if (extTarget !== undefined) {
      for (const lb of sp.loadBalancerIPs)
        filterExternal.push(R([C(extComment), dport, proto, D(host(lb))], extTarget));
    }
    const natNodePorts: Rule[] = [];
    if (sp.nodePort !== 0) {
      const np = L4(sp.protocol, sp.nodePort);
      if (sp.hasEndpoints) {
        if (this.opt.localhostNodePorts && this.opt.nfacct) {
          natNodePorts.push(
            R([C(sp.name), np, proto, D(LOOPBACK), { kind: 'nfacct', name: NFACCT_LOCALHOST_NP }], J(extChainName)),
          );
        }
        natNodePorts.push(R([C(sp.name), np, proto], J(extChainName)));
      }
      if (extTarget !== undefined) filterExternal.push(R([C(extComment), DST_LOCAL, np, proto], extTarget));
    }
    const filterNodePorts: Rule[] = [];
    if (sp.healthCheckNodePort !== 0) {
      filterNodePorts.push(
        R([C(`${sp.name} health check node port`), L4('tcp', sp.healthCheckNodePort), P(6)], ACCEPT),
      );
    }
    return {
      natClusterIP: v.hasInternalEndpoints
        ? R([C(`${sp.name} cluster IP`), dport, proto, D(host(sp.clusterIP))], J(v.internalChain!))
        : undefined,
      natExternal,
      filterClusterIP:
        filterTarget !== undefined
          ? R([C(filterComment), dport, proto, D(host(sp.clusterIP))], filterTarget)
          : undefined,
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
    const ifAddrs = [0x7f00_0001, node.ip, ...(node.extraIPs ?? [])];
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

  /** kube-proxy's part of every node's tables that does not depend on the node. */
  shared(): TablesPart {
    return this.sharedPart;
  }

  private buildShared(): TablesPart {
    const o = this.opt;
    const mark = { kind: 'mark', invert: false, value: o.mark, mask: o.mark } as const;
    const none = new Set<number>();
    const proxyFw = R([CT_NEW, C('kubernetes load balancer firewall')], J('KUBE-PROXY-FIREWALL'));
    const extSvc = R([CT_NEW, C('kubernetes externally-visible service portals')], J('KUBE-EXTERNAL-SERVICES'));
    const svcPortals = R([CT_NEW, C('kubernetes service portals')], J('KUBE-SERVICES'));
    const portals = R([C('kubernetes service portals')], J('KUBE-SERVICES'));

    const filter: Chain[] = [
      this.filterServices(none),
      this.filterExternal(none),
      userChain('KUBE-FORWARD', [
        ...(o.conntrackTCPLiberal ? [] : [R([CT_INVALID, o.nfacct && { kind: 'nfacct', name: NFACCT_INVALID }], DROP)]),
        R([C('kubernetes forwarding rules'), mark], ACCEPT),
        R([C('kubernetes forwarding conntrack rule'), CT_REL_EST], ACCEPT),
      ]),
      userChain(
        'KUBE-NODEPORTS',
        this.topBase.flatMap((t) => t.filterNodePorts),
      ),
      userChain(
        'KUBE-PROXY-FIREWALL',
        this.topBase.flatMap((t) => t.proxyFirewall),
      ),
      userChain('KUBE-PROXY-CANARY', []),
    ];
    // NodePorts on localhost need route_localnet, whose hole this rule closes (kubelet writes the same rule)
    if (o.localhostNodePorts) filter.push(userChain('KUBE-FIREWALL', [blockLocalnetRule()]));

    const nat: Chain[] = [];
    if (o.nodePortAddresses === undefined) nat.push(this.natServices(none, undefined));
    nat.push(
      userChain(
        'KUBE-NODEPORTS',
        this.topBase.flatMap((t) => t.natNodePorts),
      ),
      userChain('KUBE-POSTROUTING', [
        R([{ kind: 'mark', invert: true, value: o.mark, mask: o.mark }], RETURN),
        R([], { kind: 'MARK', value: o.mark, mask: 0 }),
        R([C('kubernetes service traffic requiring SNAT')], masqueradeTarget(o.randomFully)),
      ]),
      userChain('KUBE-MARK-MASQ', [R([], { kind: 'MARK', value: o.mark, mask: o.mark })]),
      userChain('KUBE-PROXY-CANARY', []),
    );
    for (const sp of this.servicePorts) {
      if (!sp.hasEndpoints) continue;
      // with a per-node detector the KUBE-SVC and Local-policy KUBE-EXT chains are node chains (nodeChains)
      if (sp.clusterEndpoints.length > 0 && sp.usesClusterEndpoints && !this.perNodeDetector)
        nat.push(this.svcChainObj(sp, undefined));
      if (sp.usesClusterEndpoints) for (const ep of sp.clusterEndpoints) nat.push(this.sepChainObj(sp, ep));
      if (sp.externallyAccessible && !(this.perNodeDetector && sp.externalPolicyLocal))
        nat.push(this.extChainObj(sp, !sp.externalPolicyLocal, undefined));
      if (sp.usesFirewallChain) nat.push(this.fwChainObj(sp, false));
    }

    // Jumps are prepended in iptablesJumpChains order; kubelet's KUBE-FIREWALL jumps are ensured
    // after them (iptablesKubeletJumpChains), so they come first unless kubelet made them already.
    return {
      mangle: { chains: [userChain('KUBE-PROXY-CANARY', [])] },
      filter: {
        builtin: [
          {
            chain: 'INPUT',
            position: 'prepend',
            rules: [
              KUBE_FIREWALL_JUMP,
              proxyFw,
              R([C('kubernetes health check service ports')], J('KUBE-NODEPORTS')),
              extSvc,
            ],
          },
          {
            chain: 'FORWARD',
            position: 'prepend',
            rules: [proxyFw, R([C('kubernetes forwarding rules')], J('KUBE-FORWARD')), svcPortals, extSvc],
          },
          { chain: 'OUTPUT', position: 'prepend', rules: [KUBE_FIREWALL_JUMP, proxyFw, svcPortals] },
        ],
        chains: filter,
        ensured: ['KUBE-FIREWALL'],
      },
      nat: {
        builtin: [
          { chain: 'PREROUTING', position: 'prepend', rules: [portals] },
          { chain: 'OUTPUT', position: 'prepend', rules: [portals] },
          {
            chain: 'POSTROUTING',
            position: 'prepend',
            rules: [R([C('kubernetes postrouting rules')], J('KUBE-POSTROUTING'))],
          },
        ],
        chains: nat,
      },
    };
  }

  // ------------------------------------------------------------------------------------------
  // Per node
  // ------------------------------------------------------------------------------------------

  /** The node's own chains: local-endpoint chains and the variants of the top-level chains. */
  nodeChains(node: NodeModel, sink: NodeChainSink): void {
    const st = this.nodeState(node.name);
    const nat = (c: Chain): void => {
      const k = c.name;
      if (this.sharedNat.has(k) && k !== 'KUBE-SERVICES' && !k.startsWith('KUBE-EXT-') && !k.startsWith('KUBE-FW-')) {
        throw new Error(`internal: node chain ${k} shadows a shared chain`);
      }
      sink.add('nat', c);
    };

    // Local-endpoint dependent chains.
    const localItp = new Set<number>();
    const localAny = new Set<number>();
    for (const i of this.localDependent) {
      const sp = this.servicePorts[i]!;
      const local = st.local.get(i);
      if (local === undefined) continue;
      localAny.add(i);
      if (sp.internalPolicyLocal && sp.hasEndpoints) localItp.add(i);
      nat(this.svlChainObj(sp, local, node));
      const clusterKeys = sp.usesClusterEndpoints ? new Set(sp.clusterEndpoints.map((e) => e.key)) : new Set<string>();
      for (const ep of local) if (!clusterKeys.has(ep.key)) nat(this.sepChainObj(sp, ep));
      if (sp.externalPolicyLocal && sp.hasEndpoints && sp.externallyAccessible) nat(this.extChainObj(sp, true, node));
    }
    if (this.perNodeDetector) {
      for (const sp of this.servicePorts) {
        if (!sp.hasEndpoints) continue;
        if (sp.clusterEndpoints.length > 0 && sp.usesClusterEndpoints) nat(this.svcChainObj(sp, node));
        if (sp.externallyAccessible && sp.externalPolicyLocal && !localAny.has(sp.index))
          nat(this.extChainObj(sp, false, node));
      }
    }
    for (const i of this.firewallPorts) {
      const sp = this.servicePorts[i]!;
      if (this.allowFromNode(sp, node)) nat(this.fwChainObj(sp, true));
    }

    // Variants of the top-level chains (shared between nodes in the same situation).
    const itpKey = [...localItp].join(',');
    const npKey = this.opt.nodePortAddresses === undefined ? '' : this.nodePortIPs(node).join(',');
    if (itpKey !== this.sharedKeys.natServices || this.opt.nodePortAddresses !== undefined) {
      nat(this.cached(`natsvc\0${itpKey}\0${npKey}`, () => this.natServices(localItp, node)));
    }
    if (itpKey !== this.sharedKeys.filterServices) {
      sink.add(
        'filter',
        this.cached(`filtersvc\0${itpKey}`, () => this.filterServices(localItp)),
      );
    }
    const etpLocal = [...localAny].filter((i) => this.servicePorts[i]!.externalPolicyLocal);
    const etpKey = etpLocal.join(',');
    if (etpKey !== this.sharedKeys.external) {
      const set = new Set(etpLocal);
      sink.add(
        'filter',
        this.cached(`extsvc\0${etpKey}`, () => this.filterExternal(set)),
      );
    }
  }
}
