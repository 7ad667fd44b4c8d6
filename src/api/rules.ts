/**
 * A node's rules as text: what `podnet rules` prints (kube-proxy's and flannel's iptables-save),
 * parsing such a dump back, and mutations of it — the way to run a cluster with a deliberately
 * different rule (a kube-proxy variant, a hand edit, a real node's dump) and to replay it with
 * `podnet trace --iptables-save <file> --node <name>`.
 */
import type { ClusterModel, LocalDetectorModel } from '../kube/model.js';
import { buildClusterRules } from '../kube/agents/node-rules.js';
import type { KubeProxyOptions } from '../kube/agents/node-rules.js';
import { formatIptablesSave, formatParseError, parseIptablesSave } from '../netfilter/iptables-save.js';
import type { ParseError } from '../netfilter/iptables-save.js';
import type { Ruleset } from '../netfilter/rules.js';
import type { Cidr } from '../wire/addr.js';
import {
  checkArray,
  checkCidr,
  checkOptBoolean,
  checkOptInteger,
  checkOptChoice,
  checkOptions,
  checkRecord,
  checkString,
  fail,
  isRecord,
} from './check.js';
import { isClusterModel } from './topology.js';

/**
 * kube-proxy's settings for the generated rules (iptables mode), as a caller gives them: the
 * NodePort addresses as CIDR text (`'172.18.0.0/24'`) or `{ addr, len }`.
 */
export interface KubeProxySettings extends Omit<KubeProxyOptions, 'nodePortAddresses' | 'detectLocal'> {
  /**
   * `--nodeport-addresses`: CIDRs of node addresses NodePorts listen on (`['172.18.0.0/24']`),
   * or `primary` (the node's InternalIP). Default: the topology's (Cluster `spec.kubeProxy`), else every local address.
   */
  readonly nodePortAddresses?: readonly (string | Cidr)[] | 'primary';
  /**
   * The local-traffic detector (`--detect-local-mode`): `{ mode: 'ClusterCIDR', cidr: '10.244.0.0/16' }`,
   * `{ mode: 'NodeCIDR' }`, `{ mode: 'BridgeInterface', bridgeInterface: 'cni0' }`,
   * `{ mode: 'InterfaceNamePrefix', interfaceNamePrefix: 'veth' }` or `{ mode: 'NoOp' }` (no detector).
   * Default: the topology's.
   */
  readonly detectLocal?:
    | Exclude<LocalDetectorModel, { readonly mode: 'ClusterCIDR' }>
    | { readonly mode: 'ClusterCIDR'; readonly cidr: string | Cidr };
}

const DETECT_MODES = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix', 'NoOp'] as const;

/** Checks a detector setting, writing a CIDR text out as `{ addr, len }`. */
function checkDetectLocal(v: unknown, argument: string): LocalDetectorModel {
  const o = checkRecord(v, argument, `an object with mode (${DETECT_MODES.join(', ')})`);
  const mode = checkOptChoice(o['mode'], `${argument}.mode`, DETECT_MODES);
  const name = (key: string): string => {
    const n = checkString(o[key], `${argument}.${key}`);
    if (n === '' || n.length > 15) fail(`${argument}.${key}`, 'an interface name of 1–15 characters', n);
    return n;
  };
  switch (mode) {
    case 'ClusterCIDR':
      return { mode, cidr: checkCidr(o['cidr'], `${argument}.cidr`) };
    case 'BridgeInterface':
      return { mode, bridgeInterface: name('bridgeInterface') };
    case 'InterfaceNamePrefix':
      return { mode, interfaceNamePrefix: name('interfaceNamePrefix') };
    case 'NodeCIDR':
    case 'NoOp':
      return { mode };
    case undefined:
      return fail(`${argument}.mode`, DETECT_MODES.map((m) => JSON.stringify(m)).join(', '), undefined);
  }
}

const PROXY_FLAGS = [
  'masqueradeAll',
  'localhostNodePorts',
  'randomFully',
  'conntrackTCPLiberal',
  'nfacct',
  'kubelet',
  'flannel',
] as const;

/**
 * Checks kube-proxy settings and writes CIDR text out as `{ addr, len }`; throws an
 * ArgumentError naming the field (`opts.kubeProxy.nodePortAddresses[0]`).
 */
export function checkKubeProxy(v: unknown, argument: string): KubeProxyOptions {
  const o = checkOptions(v, argument);
  for (const f of PROXY_FLAGS) checkOptBoolean(o[f], `${argument}.${f}`);
  checkOptInteger(o['masqueradeBit'], `${argument}.masqueradeBit`, 0, 31);
  const detect =
    o['detectLocal'] === undefined
      ? {}
      : { detectLocal: checkDetectLocal(o['detectLocal'], `${argument}.detectLocal`) };
  const npa = o['nodePortAddresses'];
  if (npa === undefined || npa === 'primary') return { ...(o as KubeProxyOptions), ...detect };
  const what = 'an array of CIDRs ("172.18.0.0/24" or { addr, len }) or "primary"';
  const cidrs = checkArray(npa, `${argument}.nodePortAddresses`, what).map((c, i) =>
    checkCidr(c, `${argument}.nodePortAddresses[${i}]`),
  );
  return { ...(o as KubeProxyOptions), ...detect, nodePortAddresses: cidrs };
}

/** A loaded cluster model. */
function checkModel(v: unknown, argument: string): ClusterModel {
  if (!isClusterModel(v)) fail(argument, 'a cluster model (see loadTopology)', v);
  return v;
}

/** Raised when an iptables-save dump does not parse; `errors` carry file:line:col. */
export class RulesError extends Error {
  override readonly name = 'RulesError';
  constructor(readonly errors: readonly ParseError[]) {
    super(
      `${errors.length} error${errors.length === 1 ? '' : 's'} in the rules:\n${errors.map((e) => `  ${formatParseError(e)}`).join('\n')}`,
    );
  }
}

/** Parses an iptables-save dump (as `iptables-save` or `podnet rules` print it); throws {@link RulesError}. */
export function parseRules(text: string, fileName = '<rules>'): Ruleset {
  checkString(text, 'text');
  checkString(fileName, 'fileName');
  const r = parseIptablesSave(text, fileName);
  if ('errors' in r) throw new RulesError(r.errors);
  return r.ruleset;
}

/** Every node's generated rules as iptables-save text (what `podnet rules --node <name>` prints). */
export function clusterRulesText(model: ClusterModel, proxy: KubeProxySettings = {}): Map<string, string> {
  checkModel(model, 'model');
  const rules = buildClusterRules(model, checkKubeProxy(proxy, 'proxy'));
  return new Map(model.nodes.map((n) => [n.name, formatIptablesSave(rules.rulesForNode(n.name))]));
}

/** One node's generated rules as iptables-save text (what `podnet rules --node <name>` prints). */
export function nodeRules(model: ClusterModel, node: string, proxy: KubeProxySettings = {}): string {
  checkModel(model, 'model');
  checkString(node, 'node');
  const options = checkKubeProxy(proxy, 'proxy');
  if (!model.nodes.some((n) => n.name === node))
    throw new Error(`no node named ${JSON.stringify(node)} (nodes: ${model.nodes.map((n) => n.name).join(', ')})`);
  return formatIptablesSave(buildClusterRules(model, options).rulesForNode(node));
}

/**
 * A deliberate change to a node's rules: a function of the node's iptables-save text, as `sed`
 * would edit a dump. Returning the text unchanged leaves the node alone.
 */
export interface RuleMutation {
  /** What it does, for reports (`forget the hairpin masquerade`). */
  readonly name: string;
  /** The mutated dump for a node. */
  apply(dump: string, node: string): string;
}

/** Makes a {@link RuleMutation} from a name and a text edit. */
export function ruleMutation(name: string, apply: (dump: string, node: string) => string): RuleMutation {
  checkString(name, 'name');
  if (typeof apply !== 'function') fail('apply', 'a function (dump, node) => dump', apply);
  return { name, apply };
}

/**
 * Applies a mutation to the generated rules of some nodes (default: every node) and returns the
 * dumps that changed, by node, ready for `simulate(…, { rules })` and for writing next to a
 * replay command.
 */
export function mutateRules(
  model: ClusterModel,
  mutation: RuleMutation | ((dump: string, node: string) => string),
  opts: { readonly nodes?: readonly string[]; readonly proxy?: KubeProxySettings } = {},
): Record<string, string> {
  checkModel(model, 'model');
  if (typeof mutation !== 'function' && !(isRecord(mutation) && typeof mutation['apply'] === 'function'))
    fail('mutation', 'a RuleMutation (see ruleMutation) or a function (dump, node) => dump', mutation);
  const o = checkOptions(opts, 'opts');
  if (o['nodes'] !== undefined)
    for (const [i, n] of checkArray(o['nodes'], 'opts.nodes').entries()) checkString(n, `opts.nodes[${i}]`);
  const apply = typeof mutation === 'function' ? mutation : (d: string, n: string): string => mutation.apply(d, n);
  const out: Record<string, string> = {};
  const texts = clusterRulesText(model, checkKubeProxy(o['proxy'], 'opts.proxy'));
  for (const [node, text] of texts) {
    if (opts.nodes !== undefined && !opts.nodes.includes(node)) continue;
    const changed = apply(text, node);
    if (changed !== text) out[node] = changed;
  }
  return out;
}
