/**
 * Builds the emulated data path of a cluster model the way kubelet, the bridge CNI plugin and
 * flanneld wire a real node (docs/datapath.md §4): per node a host netns with
 * eth0 on the underlay, cni0 (gateway .1/24), flannel.1 (.0/32, permanent neighbour and FDB
 * entries, `via .0 onlink` routes); per pod a netns with eth0 (MTU 1450) and a host-side veth on
 * cni0 with hairpin mode; an underlay switch joining nodes, external hosts and the gateway.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { formatIpv4, macFromIpv4, prefixMask as mask } from '../wire/addr.js';
import { hashString } from '../sim/rng.js';
import { World } from '../net/world.js';
import { NetNs } from '../net/netns.js';
import { BridgeDevice, arpFloodNeedless } from '../net/bridge.js';
import { VxlanDevice } from '../net/vxlan.js';
import { createVethPair } from '../net/veth.js';
import type { VethDevice } from '../net/veth.js';
import { makeRoute } from '../net/route.js';
import type { Route } from '../net/route.js';
import type { ClusterModel, ExternalHostModel, NodeModel, PodModel } from './model.js';
import { buildClusterRules } from './agents/node-rules.js';
import type { ClusterRules, KubeProxyOptions } from './agents/node-rules.js';
import { Netfilter } from '../netfilter/engine.js';
import { BrNetfilter } from '../netfilter/bridge-nf.js';
import type { Ruleset } from '../netfilter/rules.js';
import { MAC_PREFIX, podDisplayName } from './model.js';
import type { Packet } from '../net/packet.js';
import { ETH_HLEN, ETHERTYPE_ARP, EthernetView } from '../wire/ethernet.js';
import { ArpView } from '../wire/arp.js';

/** A node as built: its host netns and devices. */
export interface BuiltNode {
  readonly model: NodeModel;
  readonly ns: NetNs;
  readonly eth0: VethDevice;
  readonly cni0: BridgeDevice;
  /** flannel.1 (vxlan backend only). */
  readonly vtep: VxlanDevice | undefined;
  /** cni0's address (.1), the pods' gateway. */
  readonly gateway: Ipv4Addr;
  /** flannel.1's address (.0), or 0 without vxlan. */
  readonly vtepAddr: Ipv4Addr;
  /** The node's netfilter (kube-proxy and flannel rules, conntrack). */
  readonly nf: Netfilter;
}

/** A pod as built. */
export interface BuiltPod {
  readonly model: PodModel;
  /** The pod's own netns, or its node's for hostNetwork pods. */
  readonly ns: NetNs;
  readonly node: BuiltNode;
  /** eth0 and the host-side veth (undefined for hostNetwork pods). */
  readonly eth0: VethDevice | undefined;
  readonly hostVeth: VethDevice | undefined;
  /** Short name for traces: `client`, `shop/web-0`. */
  readonly display: string;
}

/** An external host (or the underlay gateway) as built. */
export interface BuiltExternal {
  readonly model: ExternalHostModel;
  readonly ns: NetNs;
  readonly eth0: VethDevice;
}

/** The emulated network of a cluster. */
export class Network {
  readonly nodes = new Map<string, BuiltNode>();
  readonly pods = new Map<string, BuiltPod>();
  readonly externals = new Map<string, BuiltExternal>();
  readonly podsByIp = new Map<Ipv4Addr, BuiltPod>();
  /** kube-proxy's rules for every node (shared chains, built once). */
  readonly rules: ClusterRules;
  /** The underlay L2 switch (its own netns with one bridge). */
  readonly underlay: { ns: NetNs; bridge: BridgeDevice };
  gateway: BuiltExternal | undefined;

  constructor(
    readonly world: World,
    readonly model: ClusterModel,
    proxy: KubeProxyOptions = {},
  ) {
    this.rules = buildClusterRules(model, proxy);
    const ns = new NetNs(world, 'switch/underlay', 'underlay', 'switch', 'underlay');
    const bridge = new BridgeDevice(
      ns,
      'br-underlay',
      macFromIpv4(MAC_PREFIX.wirePort, model.underlay.cidr.addr),
      model.underlay.mtu,
      'underlay switch',
    );
    bridge.hostStack = false;
    // an ARP broadcast is handed only to the namespaces it can change (untraced, uncaptured runs)
    bridge.floodSkip = arpFloodNeedless;
    this.underlay = { ns, bridge };
  }

  /** Replaces a node's rules (e.g. with a user's `iptables-save` dump); conntrack state is kept. */
  setNodeRules(node: string, ruleset: Ruleset): void {
    const n = this.nodes.get(node);
    if (n === undefined) throw new Error(`no node named ${node}`);
    n.nf.ruleset = ruleset;
  }

  /** Looks up a pod by `name` (default namespace) or `ns/name`, building it if it was deferred. */
  pod(ref: string): BuiltPod | undefined {
    const key = ref.includes('/') ? ref : `default/${ref}`;
    return this.pods.get(key) ?? this.buildDeferred(key);
  }

  /** The pod with address `ip`, building it if it was deferred (hostNetwork pods are their node). */
  podByIp(ip: Ipv4Addr): BuiltPod | undefined {
    const hit = this.podsByIp.get(ip);
    if (hit !== undefined) return hit;
    const key = this.deferredByIp.get(ip);
    return key === undefined ? undefined : this.buildDeferred(key);
  }

  /** Called with every pod built after the network itself (lazily built pods). */
  onPodBuilt: ((pod: BuiltPod) => void) | null = null;

  private readonly deferred = new Map<string, () => BuiltPod>();
  private readonly deferredByIp = new Map<Ipv4Addr, string>();

  /** Registers a pod to be built on first use. */
  deferPod(key: string, ip: Ipv4Addr, build: () => BuiltPod): void {
    this.deferred.set(key, build);
    this.deferredByIp.set(ip, key);
  }

  /** Pods not built yet. */
  get deferredCount(): number {
    return this.deferred.size;
  }

  private buildDeferred(key: string): BuiltPod | undefined {
    const build = this.deferred.get(key);
    if (build === undefined) return undefined;
    this.deferred.delete(key);
    const bp = build();
    this.deferredByIp.delete(bp.model.ip);
    this.onPodBuilt?.(bp);
    return bp;
  }

  /**
   * A node's cni0 is about to flood a frame: build the pod it is looking for, so the flood
   * reaches it as it would have had every pod been built (an ARP request names the address, a
   * unicast frame the pod's MAC).
   */
  buildForFrame(pkt: Packet): void {
    if (this.deferred.size === 0) return;
    const eth = new EthernetView(pkt.buf, pkt.off);
    if (eth.ethertype === ETHERTYPE_ARP && ArpView.isEthernetIpv4(pkt.buf, pkt.off + ETH_HLEN, pkt.len - ETH_HLEN)) {
      // ARP: the target protocol address
      this.podByIp(new ArpView(pkt.buf, pkt.off + ETH_HLEN).targetIp);
      return;
    }
    const dstMac = eth.dst;
    // pod MACs are 0a:58 + the pod's IPv4 (as the CNI bridge plugin assigns them)
    if (Math.floor(dstMac / 0x1_0000_0000) === MAC_PREFIX.pod) this.podByIp(dstMac % 0x1_0000_0000);
  }
}

/** Deterministic host-side veth name: `veth` + 8 hex digits (as the CNI plugin's random names look). */
export function hostVethName(pod: Pick<PodModel, 'namespace' | 'name'>, taken: Set<string>): string {
  let salt = 0;
  for (;;) {
    const h = hashString(`${pod.namespace}/${pod.name}${salt ? `#${salt}` : ''}`);
    const name = `veth${h.toString(16).padStart(8, '0')}`;
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
    salt++;
  }
}

/** Above this many pods, pods are built when first needed (see BuildOptions.lazyPods). */
export const LAZY_PODS_ABOVE = 1000;

/** Options of the network build. */
export interface BuildOptions {
  /**
   * Build each pod's netns, veth pair and bridge port only when something needs it: a probe
   * from or to it, or a frame its node's cni0 would flood toward it (an ARP request for its
   * address, unknown unicast to its MAC). Packets, traces and captures are the same as with
   * everything built up front, except that interfaces of pods never touched are not listed.
   * Default: on above {@link LAZY_PODS_ABOVE} pods, so a 150,000-pod cluster costs memory only
   * for the pods its traffic reaches.
   */
  readonly lazyPods?: boolean;
  /** kube-proxy settings for the generated rules. */
  readonly proxy?: KubeProxyOptions;
  /** Leave netfilter out entirely (no kube-proxy or flannel rules, no conntrack). */
  readonly noNetfilter?: boolean;
  /** One kernel plays every node, as in the kernel conformance harness (see World.sharedKernel). */
  readonly sharedKernel?: boolean;
}

/** Builds the emulated network for a cluster model in a fresh world seeded with `seed`. */
export function buildNetwork(model: ClusterModel, seed: number, opts: BuildOptions = {}): Network {
  const world = new World(seed);
  world.sharedKernel = opts.sharedKernel ?? false;
  world.vxlanPorts = model.cni.backend === 'vxlan' ? [model.cni.port] : [];
  const net = new Network(world, model, opts.proxy);
  const underlayDelay = Math.max(0, Math.round(model.links.underlay / 2));
  const underlayLen = model.underlay.cidr.len;

  const attachToUnderlay = (
    ns: NetNs,
    ip: Ipv4Addr,
    mac: number,
    mtu: number,
    portName: string,
    role: string,
  ): VethDevice => {
    const [eth0, port] = createVethPair(
      ns,
      'eth0',
      mac,
      net.underlay.ns,
      portName,
      macFromIpv4(MAC_PREFIX.wirePort, ip),
      mtu,
      underlayDelay,
      {
        a: role,
        b: `underlay switch port to ${ns.label}`,
      },
    );
    net.underlay.bridge.addPort(port, false);
    ns.addAddress(eth0, ip, underlayLen);
    return eth0;
  };

  // underlay gateway: forwards nothing anywhere useful (a black-holing upstream)
  let portIndex = 0;
  if (model.underlay.gateway !== undefined) {
    const gwIp = model.underlay.gateway;
    const ns = new NetNs(world, 'ext/gateway', 'gw', 'external', 'underlay');
    ns.sysctl.ipForward = true;
    const eth0 = attachToUnderlay(
      ns,
      gwIp,
      macFromIpv4(MAC_PREFIX.node, gwIp),
      model.underlay.mtu,
      `port${portIndex++}`,
      'underlay gateway',
    );
    ns.fib.main.add(makeRoute({ dst: 0, len: 0, type: 'blackhole', scope: 'universe' }));
    net.gateway = {
      model: { name: 'gateway', ip: gwIp, mtu: model.underlay.mtu, routes: [], ports: [], source: undefined },
      ns,
      eth0,
    };
  }

  const vxlan = model.cni.backend === 'vxlan';
  for (const n of model.nodes) {
    const ns = new NetNs(world, `node/${n.name}`, n.name, 'node', n.name);
    ns.sysctl.ipForward = true;
    ns.sysctl.bridgeNfCallIptables = true;
    const eth0 = attachToUnderlay(
      ns,
      n.ip,
      macFromIpv4(MAC_PREFIX.node, n.ip),
      model.underlay.mtu,
      `port${portIndex++}`,
      `${n.name} uplink`,
    );
    // the node's further addresses (Node status.addresses) are secondary addresses of its uplink;
    // one outside the underlay is a /32 (reachable only through a route to it)
    for (const extra of n.extraIPs ?? []) {
      const onUnderlay = ((extra ^ model.underlay.cidr.addr) & mask(underlayLen)) === 0;
      ns.addAddress(eth0, extra, onUnderlay ? underlayLen : 32);
    }
    if (model.underlay.gateway !== undefined) {
      ns.fib.main.add(makeRoute({ dst: 0, len: 0, gateway: model.underlay.gateway, dev: eth0 }));
    }
    const gateway = (n.podCIDR.addr + 1) >>> 0;
    const cni0 = new BridgeDevice(
      ns,
      'cni0',
      macFromIpv4(MAC_PREFIX.pod, gateway),
      model.cni.mtu,
      `${n.name} pod bridge (gateway ${formatIpv4(gateway)})`,
    );
    ns.addAddress(cni0, gateway, n.podCIDR.len);
    let vtep: VxlanDevice | undefined;
    const vtepAddr = vxlan ? n.podCIDR.addr : 0;
    if (vxlan) {
      vtep = new VxlanDevice(
        ns,
        `flannel.${model.cni.vni}`,
        macFromIpv4(MAC_PREFIX.vtep, vtepAddr),
        model.cni.mtu,
        model.cni.vni,
        model.cni.port,
        n.ip,
        `${n.name} VXLAN VTEP`,
      );
      ns.addAddress(vtep, vtepAddr, 32);
    }
    const nf = new Netfilter(ns, net.rules.rulesForNode(n.name));
    if (!opts.noNetfilter) {
      ns.stack.nf = nf;
      cni0.nf = new BrNetfilter(nf);
    }
    net.nodes.set(n.name, { model: n, ns, eth0, cni0, vtep, gateway, vtepAddr, nf });
  }

  // flannel's per-lease programming on every node for every other node: a permanent neighbour
  // entry and an FDB entry for the remote VTEP and a `via .0 onlink` route (host-gw: a route via
  // the node IP). Derived on demand from one shared lease index rather than stored N×N times.
  const leaseMask = mask(model.nodeCIDRMaskSize);
  const leases = new Map<number, BuiltNode>();
  const vtepByMac = new Map<number, BuiltNode>();
  const vtepByAddr = new Map<number, BuiltNode>();
  for (const n of net.nodes.values()) {
    leases.set(n.model.podCIDR.addr | 0, n);
    if (n.vtep) {
      vtepByMac.set(n.vtep.mac, n);
      vtepByAddr.set(n.vtepAddr | 0, n);
    }
  }
  for (const local of net.nodes.values()) {
    const routes = new Map<number, Route>();
    const routeTo = (remote: BuiltNode): Route => {
      let r = routes.get(remote.model.podCIDR.addr | 0);
      if (r === undefined) {
        const cidr = remote.model.podCIDR;
        r =
          vxlan && local.vtep
            ? makeRoute({ dst: cidr.addr, len: cidr.len, gateway: remote.vtepAddr, dev: local.vtep, onlink: true })
            : makeRoute({ dst: cidr.addr, len: cidr.len, gateway: remote.model.ip, dev: local.eth0 });
        routes.set(cidr.addr | 0, r);
      }
      return r;
    };
    const remotes = (): BuiltNode[] => [...net.nodes.values()].filter((n) => n !== local);
    local.ns.fib.main.provider = {
      lookup: (addr) => {
        const remote = leases.get(addr & leaseMask);
        return remote === undefined || remote === local ? undefined : routeTo(remote);
      },
      all: () => remotes().map(routeTo),
    };
    if (vxlan && local.vtep) {
      const vtep = local.vtep;
      local.ns.neigh.permanentProvider = (dev, ip) => {
        if (dev !== vtep) return undefined;
        const remote = vtepByAddr.get(ip | 0);
        return remote === undefined || remote === local ? undefined : remote.vtep!.mac;
      };
      local.ns.neigh.permanentList = () => remotes().map((r) => ({ dev: vtep, ip: r.vtepAddr, mac: r.vtep!.mac }));
      vtep.fdbProvider = {
        lookup: (mac) => {
          const remote = vtepByMac.get(mac);
          return remote === undefined || remote === local ? undefined : remote.model.ip;
        },
        all: () => remotes().map((r) => ({ mac: r.vtep!.mac, dst: r.model.ip })),
      };
    }
  }

  // pods: host-side veth names are chosen in model order whether or not a pod is built now
  const vethNames = new Map<string, Set<string>>();
  const lazy = opts.lazyPods === true || (opts.lazyPods !== false && model.pods.length > LAZY_PODS_ABOVE);
  for (const p of model.pods) {
    const node = net.nodes.get(p.nodeName);
    if (node === undefined) throw new Error(`pod ${p.namespace}/${p.name}: node ${p.nodeName} not in the model`);
    const display = podDisplayName(p);
    const key = `${p.namespace}/${p.name}`;
    if (p.hostNetwork) {
      const bp: BuiltPod = { model: p, ns: node.ns, node, eth0: undefined, hostVeth: undefined, display };
      net.pods.set(key, bp);
      continue;
    }
    let taken = vethNames.get(node.model.name);
    if (taken === undefined) vethNames.set(node.model.name, (taken = new Set<string>()));
    const vethName = hostVethName(p, taken);
    const build = (): BuiltPod => {
      const ns = new NetNs(world, `pod/${p.namespace}/${p.name}`, `pod:${display}`, 'pod', node.model.name);
      const [eth0, hostVeth] = createVethPair(
        ns,
        'eth0',
        macFromIpv4(MAC_PREFIX.pod, p.ip),
        node.ns,
        vethName,
        macFromIpv4(MAC_PREFIX.hostVeth, p.ip),
        model.cni.mtu,
        model.links.veth,
        { a: `${display} eth0`, b: `host side of ${display}'s veth` },
      );
      node.cni0.addPort(hostVeth, model.cni.hairpinMode);
      ns.addAddress(eth0, p.ip, node.model.podCIDR.len);
      ns.fib.main.add(makeRoute({ dst: 0, len: 0, gateway: node.gateway, dev: eth0 }));
      ns.fib.main.add(
        makeRoute({ dst: model.clusterCIDR.addr, len: model.clusterCIDR.len, gateway: node.gateway, dev: eth0 }),
      );
      const bp: BuiltPod = { model: p, ns, node, eth0, hostVeth, display };
      net.pods.set(key, bp);
      net.podsByIp.set(p.ip, bp);
      return bp;
    };
    if (lazy) net.deferPod(key, p.ip, build);
    else build();
  }
  if (lazy) {
    for (const n of net.nodes.values()) n.cni0.beforeFlood = (pkt) => net.buildForFrame(pkt);
  }

  // load-balancer IPs on the underlay are announced by one node, as MetalLB's L2 mode does:
  // the first node (in node order) with a ready local endpoint for Local policy, else the first node
  const readyNodes = new Map<string, Set<string>>();
  for (const sl of model.endpointSlices) {
    const key = `${sl.namespace}/${sl.serviceName}`;
    for (const e of sl.endpoints) {
      if (!e.ready || e.nodeName === undefined) continue;
      let set = readyNodes.get(key);
      if (set === undefined) readyNodes.set(key, (set = new Set()));
      set.add(e.nodeName);
    }
  }
  const nodeList = [...net.nodes.values()];
  for (const svc of model.services) {
    for (const lb of svc.loadBalancerIPs) {
      if ((lb & mask(model.underlay.cidr.len)) >>> 0 !== model.underlay.cidr.addr) continue;
      const local = readyNodes.get(`${svc.namespace}/${svc.name}`);
      const speaker =
        nodeList.find((n) => svc.externalTrafficPolicy !== 'Local' || local?.has(n.model.name) === true) ?? nodeList[0];
      speaker?.eth0.arpAnnounce.add(lb);
    }
  }

  // external hosts on the underlay
  for (const e of model.externalHosts) {
    const ns = new NetNs(world, `ext/${e.name}`, `ext:${e.name}`, 'external', 'underlay');
    const eth0 = attachToUnderlay(
      ns,
      e.ip,
      macFromIpv4(MAC_PREFIX.node, e.ip),
      e.mtu,
      `port${portIndex++}`,
      `external host ${e.name}`,
    );
    if (model.underlay.gateway !== undefined)
      ns.fib.main.add(makeRoute({ dst: 0, len: 0, gateway: model.underlay.gateway, dev: eth0 }));
    for (const r of e.routes)
      ns.fib.main.add(makeRoute({ dst: r.dst.addr, len: r.dst.len, gateway: r.via, dev: eth0 }));
    net.externals.set(e.name, { model: e, ns, eth0 });
  }
  return net;
}
