/**
 * The netfilter ruleset as plain data: an AST of iptables rules, chains and tables.
 *
 * Design rules, because the emulator shares one ruleset structure between thousands of nodes:
 * - Every object here is immutable by convention (readonly types, never mutated after
 *   construction). Rule, Chain and Match objects may be referenced from many nodes' rulesets.
 * - Nothing per node lives inside them. Packet/byte counters live in a {@link Counters} side
 *   table keyed by (Chain object, rule index); each node owns its own Counters.
 * - A chain is referenced from rules by *name* (`jump`/`goto` targets), never by object, so the
 *   same KUBE-SERVICES rule can jump to a node-specific KUBE-EXT chain on each node. Names are
 *   resolved per node through {@link getChain}.
 * - A {@link Table} can be layered: node-specific chains in `chains`, chains common to all nodes
 *   in `shared`. A parsed or hand-built table has `shared === undefined`.
 *
 * Field values are kept exactly as the kernel stores them (masked addresses, the statistic
 * match's u32 probability, MARK's value/mask pair), so printing them back gives what
 * `iptables-save` prints and the evaluator can apply kernel semantics directly.
 */
import type { Cidr } from '../wire/addr.js';
import { HEADER_ORDER, isHeaderMatch } from './match/header.js';
import { MATCH_EXTENSIONS, TARGET_EXTENSIONS, targetExtension, type Match, type Target } from './registry.js';

export type { Cidr };

/** The IPv4 tables podnet models (security is not modelled). */
export type TableName = 'raw' | 'mangle' | 'nat' | 'filter';

/** Tables in the order `iptables-nft-save` prints them (its builtin table array order). */
export const TABLE_ORDER: readonly TableName[] = ['mangle', 'raw', 'filter', 'nat'];

/** Built-in chains per table, in the kernel's hook order (the order iptables-save lists them). */
export const BUILTIN_CHAINS: { readonly [T in TableName]: readonly string[] } = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** True if `name` is a built-in chain of `table`. */
export function isBuiltinChain(table: TableName, name: string): boolean {
  return BUILTIN_CHAINS[table].includes(name);
}

/** Policy of a built-in chain. */
export type Policy = 'ACCEPT' | 'DROP';

// ---------------------------------------------------------------------------------------------
// Matches and targets: their types live in the extension modules (match/*.ts, target/*.ts) and
// the unions in registry.ts; re-exported here so the model reads as one vocabulary.
// ---------------------------------------------------------------------------------------------

/** An inclusive port range; a single port has `min === max`. */
export interface PortRange {
  readonly min: number;
  readonly max: number;
}

/** A port range with its own `!`. */
export interface PortMatch extends PortRange {
  readonly invert: boolean;
}

export type { AddrMatch, FragMatch, HeaderMatch, IfaceMatch, ProtoMatch } from './match/header.js';
export type { AddrType, AddrTypeMatch, AddrTypeSel } from './match/addrtype.js';
export type { CommentMatch } from './match/comment.js';
export type { ConntrackMatch, CtAddr, CtState, CtStatus } from './match/conntrack.js';
export type { IcmpMatch } from './match/icmp.js';
export type { MarkMatch } from './match/mark.js';
export type { MultiportMatch } from './match/multiport.js';
export type { NfacctMatch } from './match/nfacct.js';
export type { PhysdevMatch } from './match/physdev.js';
export type { RecentMatch } from './match/recent.js';
export type { SctpMatch } from './match/sctp.js';
export type { StateMatch } from './match/state.js';
export type { StatisticMatch, StatisticNthMatch, StatisticRandomMatch } from './match/statistic.js';
export type { TcpMatch } from './match/tcp.js';
export type { UdpMatch } from './match/udp.js';
export type { NatRange } from './target/nat-range.js';
export type { RejectWith } from './target/reject.js';
export type { ExtensionMatch, ExtensionTarget, GotoTarget, JumpTarget, Match, Target } from './registry.js';
export { ADDR_TYPES } from './match/addrtype.js';
export { CT_STATES, CT_STATUSES } from './match/conntrack.js';
export { TCP_FLAG_BITS } from './match/tcp.js';
export { REJECT_WITH } from './target/reject.js';
export { isHeaderMatch } from './match/header.js';

/** The kind of a target (a module's name, or `jump`/`goto`). */
export type TargetKind = Target['kind'];

/** Extension match names podnet has built in (for error messages). */
export const SUPPORTED_MATCHES: readonly string[] = MATCH_EXTENSIONS.map((m) => m.name).sort();

/** Target names podnet has built in besides chain names (for error messages). */
export const SUPPORTED_TARGETS: readonly string[] = TARGET_EXTENSIONS.map((t) => t.name).sort();

/** True if the target ends the traversal of the current chain (a verdict or a NAT mapping). */
export function isTerminalTarget(t: Target): boolean {
  if (t.kind === 'jump' || t.kind === 'goto') return false;
  const v = targetExtension(t.kind)?.verdict;
  return v === 'accept' || v === 'drop';
}

// ---------------------------------------------------------------------------------------------
// Rules, chains, tables
// ---------------------------------------------------------------------------------------------

/** Where a parsed rule came from. */
export interface RuleSource {
  readonly file: string;
  readonly line: number;
  /** The line as written (without a trailing newline). */
  readonly text: string;
}

/** One rule: all matches must match; then the target applies. A rule without target only counts. */
export interface Rule {
  readonly matches: readonly Match[];
  readonly target: Target | undefined;
  readonly source?: RuleSource;
}

/** A chain. Built-in chains have a policy; user chains have none. */
export interface Chain {
  readonly name: string;
  readonly builtin: boolean;
  readonly policy: Policy | undefined;
  readonly rules: readonly Rule[];
}

/**
 * A table. Lookup goes to `chains` first, then to `shared` (chains common to many nodes).
 * Built-in chains are always present in one of the two.
 */
export interface Table {
  readonly name: TableName;
  readonly chains: ReadonlyMap<string, Chain>;
  readonly shared: ReadonlyMap<string, Chain> | undefined;
}

/** A node's (or a dump's) tables. Absent tables do not exist (iptables-save does not print them). */
export interface Ruleset {
  readonly tables: { readonly [T in TableName]?: Table };
}

/**
 * Builds a rule, putting header matches first in canonical order (stable for the extension
 * matches). Throws if a header match kind appears twice.
 */
export function rule(matches: readonly Match[], target: Target | undefined, source?: RuleSource): Rule {
  let sorted = true;
  let seenExt = false;
  let last = -1;
  for (const m of matches) {
    if (isHeaderMatch(m)) {
      const o = HEADER_ORDER[m.kind];
      if (seenExt || o <= last) sorted = false;
      last = Math.max(last, o);
    } else seenExt = true;
  }
  let ms = matches;
  if (!sorted) {
    const head = matches.filter(isHeaderMatch).sort((a, b) => HEADER_ORDER[a.kind] - HEADER_ORDER[b.kind]);
    for (let i = 1; i < head.length; i++) {
      if (head[i]!.kind === head[i - 1]!.kind) throw new Error(`rule has two "${head[i]!.kind}" matches`);
    }
    ms = [...head, ...matches.filter((m) => !isHeaderMatch(m))];
  }
  return source === undefined ? { matches: ms, target } : { matches: ms, target, source };
}

/** A user-defined chain. */
export function userChain(name: string, rules: readonly Rule[]): Chain {
  return { name, builtin: false, policy: undefined, rules };
}

/** A built-in chain. */
export function builtinChain(name: string, policy: Policy, rules: readonly Rule[]): Chain {
  return { name, builtin: true, policy, rules };
}

/**
 * Builds a table from its chains; missing built-in chains are added empty with policy ACCEPT
 * (unless `shared` provides them). Throws on duplicate names or a built-in flag that does not
 * match the kernel's list.
 */
export function makeTable(name: TableName, chains: Iterable<Chain>, shared?: ReadonlyMap<string, Chain>): Table {
  const map = new Map<string, Chain>();
  for (const c of chains) {
    if (map.has(c.name)) throw new Error(`table ${name}: chain ${c.name} defined twice`);
    if (c.builtin !== isBuiltinChain(name, c.name)) {
      throw new Error(`table ${name}: chain ${c.name} is ${c.builtin ? 'not ' : ''}a built-in chain`);
    }
    map.set(c.name, c);
  }
  for (const b of BUILTIN_CHAINS[name]) {
    if (!map.has(b) && shared?.get(b) === undefined) map.set(b, builtinChain(b, 'ACCEPT', []));
  }
  return { name, chains: map, shared };
}

/** Builds a ruleset from tables (each table name at most once). */
export function makeRuleset(tables: Iterable<Table>): Ruleset {
  const out: { [T in TableName]?: Table } = {};
  for (const t of tables) {
    if (out[t.name] !== undefined) throw new Error(`table ${t.name} given twice`);
    out[t.name] = t;
  }
  return { tables: out };
}

/** Looks a chain up by name in a table (node-specific layer first, then the shared layer). */
export function getChain(table: Table, name: string): Chain | undefined {
  return table.chains.get(name) ?? table.shared?.get(name);
}

/** Compares chain names as iptables-save sorts them (strcmp on ASCII names). */
export function compareChainNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** All chains of a table as iptables-save lists them: built-ins in kernel order, then user chains by name. */
export function listChains(table: Table): Chain[] {
  const out: Chain[] = [];
  for (const b of BUILTIN_CHAINS[table.name]) {
    const c = getChain(table, b);
    if (c !== undefined) out.push(c);
  }
  const names = new Set<string>();
  for (const n of table.chains.keys()) names.add(n);
  if (table.shared !== undefined) for (const n of table.shared.keys()) names.add(n);
  const users = [...names].filter((n) => !isBuiltinChain(table.name, n)).sort(compareChainNames);
  for (const n of users) out.push(getChain(table, n)!);
  return out;
}

/** A table with its layers merged into one map (for comparisons and serialisation). */
export function flattenTable(table: Table): Table {
  if (table.shared === undefined) return table;
  return { name: table.name, chains: new Map(listChains(table).map((c) => [c.name, c])), shared: undefined };
}

/** A ruleset with every table flattened. */
export function flattenRuleset(rs: Ruleset): Ruleset {
  const out: { [T in TableName]?: Table } = {};
  for (const t of TABLE_ORDER) {
    const tb = rs.tables[t];
    if (tb !== undefined) out[t] = flattenTable(tb);
  }
  return { tables: out };
}

// ---------------------------------------------------------------------------------------------
// Counters (per node, outside the shared rule objects)
// ---------------------------------------------------------------------------------------------

/** Packet and byte counts. */
export interface CounterValue {
  readonly packets: number;
  readonly bytes: number;
}

const ZERO: CounterValue = { packets: 0, bytes: 0 };

/**
 * Per-node packet/byte counters, keyed by Chain object and rule index, plus each built-in
 * chain's policy counter. Storage for a chain is allocated on its first hit, so a node that
 * touched a handful of chains costs a handful of small arrays however large the shared ruleset.
 * The same Chain object must not appear twice in one node's ruleset (the builders guarantee it).
 */
export class Counters {
  private readonly byChain = new Map<Chain, Float64Array>();

  private slots(chain: Chain): Float64Array {
    let a = this.byChain.get(chain);
    if (a === undefined) {
      // Two numbers per rule, then two for the policy.
      a = new Float64Array(2 * chain.rules.length + 2);
      this.byChain.set(chain, a);
    }
    return a;
  }

  /** Counts one packet of `bytes` bytes on rule `index` of `chain`. */
  hit(chain: Chain, index: number, bytes: number): void {
    const a = this.slots(chain);
    a[2 * index] = a[2 * index]! + 1;
    a[2 * index + 1] = a[2 * index + 1]! + bytes;
  }

  /** Counts one packet on the policy of a built-in chain. */
  hitPolicy(chain: Chain, bytes: number): void {
    const a = this.slots(chain);
    const i = 2 * chain.rules.length;
    a[i] = a[i]! + 1;
    a[i + 1] = a[i + 1]! + bytes;
  }

  /** Sets a rule's counters (e.g. from a dump's `[p:b]`). */
  set(chain: Chain, index: number, packets: number, bytes: number): void {
    const a = this.slots(chain);
    a[2 * index] = packets;
    a[2 * index + 1] = bytes;
  }

  /** Sets a built-in chain's policy counters. */
  setPolicy(chain: Chain, packets: number, bytes: number): void {
    const a = this.slots(chain);
    a[2 * chain.rules.length] = packets;
    a[2 * chain.rules.length + 1] = bytes;
  }

  /** A rule's counters (zero if never hit). */
  get(chain: Chain, index: number): CounterValue {
    const a = this.byChain.get(chain);
    if (a === undefined) return ZERO;
    return { packets: a[2 * index] ?? 0, bytes: a[2 * index + 1] ?? 0 };
  }

  /** A built-in chain's policy counters. */
  policy(chain: Chain): CounterValue {
    const a = this.byChain.get(chain);
    if (a === undefined) return ZERO;
    const i = 2 * chain.rules.length;
    return { packets: a[i] ?? 0, bytes: a[i + 1] ?? 0 };
  }

  /** Chains with any stored counters. */
  chains(): IterableIterator<Chain> {
    return this.byChain.keys();
  }

  /** Forgets every count. */
  clear(): void {
    this.byChain.clear();
  }
}
