/**
 * A node's iptables tables as its agents leave them: kubelet, then kube-proxy (iptables mode),
 * then the CNI's daemon (flannel) each write their part, and this composer merges the parts in
 * the order real nodes show (`podnet rules`).
 *
 * Every node of a real cluster runs each agent; almost all they write is identical on every node,
 * so the parts that do not depend on the node are composed once per cluster into the shared layer
 * of each table ({@link ClusterRules.shared}), and a node's ruleset holds only its own chains on
 * top (5,000 nodes share the same chain objects).
 *
 * Merging follows iptables: a writer's rules in a built-in chain go before (`-I`) or after (`-A`)
 * what the earlier writers put there, skipping rules the chain already has (`-C` first, as
 * kube-proxy's and kubelet's EnsureRule do); a user chain a later writer writes replaces an
 * earlier one (iptables-restore); an ensured chain only makes sure it exists.
 */
import type { ClusterModel, NodeModel } from '../model.js';
import { formatRuleSpec } from '../../netfilter/iptables-save.js';
import {
  BUILTIN_CHAINS,
  TABLE_ORDER,
  builtinChain,
  userChain,
  type Chain,
  type Rule,
  type Ruleset,
  type Table,
  type TableName,
} from '../../netfilter/rules.js';
import { FlannelRules } from './flannel.js';
import { KubeletRules } from './kubelet.js';
import { KubeProxyIptables, type KubeProxyIptablesOptions } from './kube-proxy/iptables.js';
import type { EndpointInfo, NodeServicePort, ServicePortInfo } from './kube-proxy/service-ports.js';
import type { NodeChainSink, RulesWriter, TablesPart } from './writer.js';

/** The node agents' settings: kube-proxy's, and which agents write rules. */
export interface KubeProxyOptions extends KubeProxyIptablesOptions {
  /** Include kubelet's chains (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY, KUBE-FIREWALL; default true). */
  readonly kubelet?: boolean;
  /** Include flannel's FLANNEL-POSTRTG / FLANNEL-FWD (default: the model's CNI is flannel). */
  readonly flannel?: boolean;
}

/** Every node's rules of a cluster, composed from its agents' parts; see the module comment. */
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

const EMPTY_MAP: ReadonlyMap<string, Chain> = new Map();

/** Merges rules into a built-in chain's rules, skipping those it already has (EnsureRule). */
function ensureRules(existing: Rule[], rules: readonly Rule[], position: 'prepend' | 'append'): Rule[] {
  const have = new Set(existing.map(formatRuleSpec));
  const add = rules.filter((r) => !have.has(formatRuleSpec(r)));
  return position === 'prepend' ? [...add, ...existing] : [...existing, ...add];
}

/** The writers' shared parts merged into one chain map per table. */
function composeShared(parts: readonly TablesPart[]): { [T in TableName]?: ReadonlyMap<string, Chain> } {
  const out: { [T in TableName]?: ReadonlyMap<string, Chain> } = {};
  for (const t of TABLE_ORDER) {
    const tableParts = parts.map((p) => p[t]).filter((p) => p !== undefined);
    if (tableParts.length === 0) continue;
    const builtin = new Map<string, Rule[]>(BUILTIN_CHAINS[t].map((b) => [b, []]));
    const user = new Map<string, Chain>();
    for (const part of tableParts) {
      for (const b of part.builtin ?? []) {
        const rules = builtin.get(b.chain);
        if (rules === undefined) throw new Error(`${t} ${b.chain} is not a built-in chain`);
        builtin.set(b.chain, ensureRules(rules, b.rules, b.position));
      }
      for (const name of part.ensured ?? []) if (!user.has(name)) user.set(name, userChain(name, []));
      const own = new Set<string>();
      for (const c of part.chains ?? []) {
        if (own.has(c.name)) throw new Error(`chain ${c.name} built twice`);
        own.add(c.name);
        user.set(c.name, c);
      }
    }
    const chains = new Map<string, Chain>();
    for (const [name, rules] of builtin) chains.set(name, builtinChain(name, 'ACCEPT', rules));
    for (const [name, c] of user) chains.set(name, c);
    out[t] = chains;
  }
  return out;
}

class NodeRules implements ClusterRules {
  readonly shared: { readonly [T in TableName]?: ReadonlyMap<string, Chain> };
  private readonly writers: readonly RulesWriter[];
  private readonly nodes = new Map<string, NodeModel>();
  private readonly rulesetCache = new Map<string, Ruleset>();

  constructor(
    readonly model: ClusterModel,
    private readonly proxy: KubeProxyIptables,
    options: KubeProxyOptions,
  ) {
    const writers: RulesWriter[] = [];
    // in the order they start on a kubeadm node: kubelet, then kube-proxy, then flanneld
    if (options.kubelet ?? true) writers.push(new KubeletRules());
    writers.push(proxy);
    if (options.flannel ?? model.cni.plugin === 'flannel') {
      writers.push(new FlannelRules(model, model.cni.ipMasq, options.randomFully ?? true));
    }
    this.writers = writers;
    for (const n of model.nodes) this.nodes.set(n.name, n);
    this.shared = composeShared(writers.map((w) => w.shared()));
  }

  get servicePorts(): readonly ServicePortInfo[] {
    return this.proxy.servicePorts;
  }

  get largeClusterMode(): boolean {
    return this.proxy.largeClusterMode;
  }

  servicePort(name: string, protocol?: string): ServicePortInfo | undefined {
    return this.proxy.servicePort(name, protocol);
  }

  nodeServicePort(nodeName: string, sp: ServicePortInfo): NodeServicePort {
    return this.proxy.nodeServicePort(nodeName, sp);
  }

  nodeServicePorts(nodeName: string): NodeServicePort[] {
    return this.proxy.nodeServicePorts(nodeName);
  }

  endpointByChain(sepChainName: string): { readonly sp: ServicePortInfo; readonly ep: EndpointInfo } | undefined {
    return this.proxy.endpointByChain(sepChainName);
  }

  rulesForNode(nodeName: string): Ruleset {
    const hit = this.rulesetCache.get(nodeName);
    if (hit !== undefined) return hit;
    const node = this.nodes.get(nodeName);
    if (node === undefined) throw new Error(`unknown node "${nodeName}"`);
    const own: { [T in TableName]?: Map<string, Chain> } = {};
    const by = new Map<string, string>();
    for (const w of this.writers) {
      if (w.nodeChains === undefined) continue;
      const sink: NodeChainSink = {
        add(table: TableName, chain: Chain): void {
          const key = `${table}\0${chain.name}`;
          const other = by.get(key);
          if (other !== undefined && other !== w.agent)
            throw new Error(`${w.agent} and ${other} both write ${table} ${chain.name} on ${nodeName}`);
          by.set(key, w.agent);
          (own[table] ??= new Map()).set(chain.name, chain);
        },
      };
      w.nodeChains(node, sink);
    }
    const tables: { [T in TableName]?: Table } = {};
    for (const t of TABLE_ORDER) {
      const shared = this.shared[t];
      if (shared === undefined) continue;
      tables[t] = { name: t, chains: own[t] ?? EMPTY_MAP, shared };
    }
    const rs: Ruleset = { tables };
    this.rulesetCache.set(nodeName, rs);
    return rs;
  }
}

/** kube-proxy's options as the cluster's topology sets them (Cluster `spec.kubeProxy`), or {} without them. */
export function topologyProxyOptions(model: ClusterModel): KubeProxyOptions {
  const k = model.kubeProxy;
  if (k === undefined) return {};
  return {
    masqueradeAll: k.masqueradeAll,
    masqueradeBit: k.masqueradeBit,
    localhostNodePorts: k.localhostNodePorts,
    ...(k.nodePortAddresses !== undefined ? { nodePortAddresses: k.nodePortAddresses } : {}),
    detectLocal: k.detectLocal,
    conntrackTCPLiberal: k.conntrackTCPBeLiberal,
    randomFully: k.randomFully,
  };
}

/**
 * Builds every node's kubelet, kube-proxy and flannel rules of a cluster (composed on demand per node). The
 * topology's kube-proxy settings are the defaults; each option given in `opts` overrides its field.
 */
export function buildClusterRules(model: ClusterModel, opts: KubeProxyOptions = {}): ClusterRules {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as KubeProxyOptions;
  const merged: KubeProxyOptions = { ...topologyProxyOptions(model), ...given };
  return new NodeRules(model, new KubeProxyIptables(model, merged), merged);
}
