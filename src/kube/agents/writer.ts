/**
 * What a node agent writes into the node's iptables tables. A real node's tables are the sum of
 * what several agents write (kubelet, kube-proxy, the CNI's daemon); each agent here is a writer
 * that turns the cluster model into its part, and `node-rules.ts` composes the parts as the
 * kernel ends up holding them.
 */
import type { NodeModel } from '../model.js';
import type { Chain, Rule, TableName } from '../../netfilter/rules.js';

/** Rules an agent puts into one built-in chain: `-I` (before what is there) or `-A` (after it). */
export interface BuiltinRules {
  readonly chain: string;
  readonly position: 'prepend' | 'append';
  /**
   * In chain order. Like `iptables -C` before `-I`/`-A` (EnsureRule), a rule the chain already
   * holds (the same rule text) is not added again.
   */
  readonly rules: readonly Rule[];
}

/** One agent's part of one table that is the same on every node. */
export interface TablePart {
  /** Its rules in built-in chains. */
  readonly builtin?: readonly BuiltinRules[];
  /** User chains it writes (iptables-restore: a chain of the same name is replaced). */
  readonly chains?: readonly Chain[];
  /** User chains it only makes sure exist (EnsureChain: a chain that exists keeps its rules). */
  readonly ensured?: readonly string[];
}

/** One agent's part of every table, the same on every node. */
export type TablesPart = { readonly [T in TableName]?: TablePart };

/** Where a writer puts a node's own chains (they are layered over the shared ones). */
export interface NodeChainSink {
  add(table: TableName, chain: Chain): void;
}

/** An agent that writes iptables rules on every node. */
export interface RulesWriter {
  /** The agent, for errors (`kubelet`, `kube-proxy`, `flannel`). */
  readonly agent: string;
  /** Its part that does not depend on the node (built once per cluster). */
  shared(): TablesPart;
  /** Its chains that depend on the node. Chains that nodes in the same situation have should be the same objects. */
  nodeChains?(node: NodeModel, sink: NodeChainSink): void;
}
