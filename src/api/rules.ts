/**
 * A node's rules as text: what `podnet rules` prints (kube-proxy's and flannel's iptables-save),
 * parsing such a dump back, and mutations of it — the way to run a cluster with a deliberately
 * different rule (a kube-proxy variant, a hand edit, a real node's dump) and to replay it with
 * `podnet trace --iptables-save <file> --node <name>`.
 */
import type { ClusterModel } from '../kube/model.js';
import { buildClusterRules } from '../kube/proxy/generate.js';
import type { KubeProxyOptions } from '../kube/proxy/generate.js';
import { formatIptablesSave, formatParseError, parseIptablesSave } from '../netfilter/iptables-save.js';
import type { ParseError } from '../netfilter/iptables-save.js';
import type { Ruleset } from '../netfilter/rules.js';

/** Raised when an iptables-save dump does not parse; `errors` carry file:line:col. */
export class RulesError extends Error {
  override readonly name = 'RulesError';
  constructor(readonly errors: readonly ParseError[]) {
    super(`${errors.length} error${errors.length === 1 ? '' : 's'} in the rules:\n${errors.map((e) => `  ${formatParseError(e)}`).join('\n')}`);
  }
}

/** Parses an iptables-save dump (as `iptables-save` or `podnet rules` print it); throws {@link RulesError}. */
export function parseRules(text: string, fileName = '<rules>'): Ruleset {
  const r = parseIptablesSave(text, fileName);
  if ('errors' in r) throw new RulesError(r.errors);
  return r.ruleset;
}

/** Every node's generated rules as iptables-save text (what `podnet rules --node <name>` prints). */
export function clusterRulesText(model: ClusterModel, proxy: KubeProxyOptions = {}): Map<string, string> {
  const rules = buildClusterRules(model, proxy);
  return new Map(model.nodes.map((n) => [n.name, formatIptablesSave(rules.rulesForNode(n.name))]));
}

/** One node's generated rules as iptables-save text (what `podnet rules --node <name>` prints). */
export function nodeRules(model: ClusterModel, node: string, proxy: KubeProxyOptions = {}): string {
  if (!model.nodes.some((n) => n.name === node)) throw new Error(`no node named ${JSON.stringify(node)} (nodes: ${model.nodes.map((n) => n.name).join(', ')})`);
  return formatIptablesSave(buildClusterRules(model, proxy).rulesForNode(node));
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
  return { name, apply };
}

/**
 * Applies a mutation to the generated rules of some nodes (default: every node) and returns the
 * dumps that changed, by node, ready for `simulate(…, { rules })` and for writing next to a
 * replay command.
 */
export function mutateRules(model: ClusterModel, mutation: RuleMutation | ((dump: string, node: string) => string), opts: { readonly nodes?: readonly string[]; readonly proxy?: KubeProxyOptions } = {}): Record<string, string> {
  const apply = typeof mutation === 'function' ? mutation : (d: string, n: string): string => mutation.apply(d, n);
  const out: Record<string, string> = {};
  const texts = clusterRulesText(model, opts.proxy);
  for (const [node, text] of texts) {
    if (opts.nodes !== undefined && !opts.nodes.includes(node)) continue;
    const changed = apply(text, node);
    if (changed !== text) out[node] = changed;
  }
  return out;
}
