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
// Matches
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

/** `-s` / `-d`: the address is stored masked (iptables masks it when parsing). */
export interface AddrMatch {
  readonly kind: 'src' | 'dst';
  readonly invert: boolean;
  readonly cidr: Cidr;
}

/** `-i` / `-o`. `name` is as written (`veth+`); `wildcard` is true when it ends in `+`. */
export interface IfaceMatch {
  readonly kind: 'in' | 'out';
  readonly invert: boolean;
  readonly name: string;
  /** The name without a trailing `+`. */
  readonly prefix: string;
  readonly wildcard: boolean;
}

/** `-p`: the IP protocol number (1..255; `-p all`/`-p 0` is stored as no match at all). */
export interface ProtoMatch {
  readonly kind: 'proto';
  readonly invert: boolean;
  readonly proto: number;
}

/** `-f`: second and later fragments. */
export interface FragMatch {
  readonly kind: 'frag';
  readonly invert: boolean;
}

/** `-m comment --comment TEXT` (always matches). */
export interface CommentMatch {
  readonly kind: 'comment';
  readonly text: string;
}

/** TCP flag bits as the tcp match uses them. */
export const TCP_FLAG_BITS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20 } as const;

/** `-m tcp`. Absent fields match anything. */
export interface TcpMatch {
  readonly kind: 'tcp';
  readonly sport?: PortMatch;
  readonly dport?: PortMatch;
  /** `--tcp-flags MASK COMP` (`--syn` is mask FIN,SYN,RST,ACK comp SYN). */
  readonly flags?: { readonly mask: number; readonly cmp: number; readonly invert: boolean };
  /** `--tcp-option N`. */
  readonly option?: { readonly option: number; readonly invert: boolean };
}

/** `-m udp`. */
export interface UdpMatch {
  readonly kind: 'udp';
  readonly sport?: PortMatch;
  readonly dport?: PortMatch;
}

/** `-m sctp` (ports only; `--chunk-types` is not supported). Unlike tcp/udp, a given range is always kept. */
export interface SctpMatch {
  readonly kind: 'sctp';
  readonly sport?: PortMatch;
  readonly dport?: PortMatch;
}

/** `-m icmp --icmp-type`; type 255 with codes 0..255 is `any`. */
export interface IcmpMatch {
  readonly kind: 'icmp';
  readonly invert: boolean;
  readonly type: number;
  readonly codeMin: number;
  readonly codeMax: number;
}

/** `-m multiport --sports|--dports|--ports`. */
export interface MultiportMatch {
  readonly kind: 'multiport';
  readonly invert: boolean;
  readonly dir: 'src' | 'dst' | 'both';
  readonly ports: readonly PortRange[];
}

/** `-m statistic --mode random --probability P`. */
export interface StatisticRandomMatch {
  readonly kind: 'statistic';
  readonly mode: 'random';
  readonly invert: boolean;
  /** The kernel's stored value, lround(P × 2^31); matches when (prandom_u32() & 0x7fffffff) < stored. */
  readonly probability: number;
  /** The probability as written in the input when it differs from the canonical `%.11f` text (e.g. kube-proxy's `0.3333333333`). */
  readonly written?: string;
}

/** `-m statistic --mode nth --every N --packet P`. */
export interface StatisticNthMatch {
  readonly kind: 'statistic';
  readonly mode: 'nth';
  readonly invert: boolean;
  readonly every: number;
  readonly packet: number;
}

export type StatisticMatch = StatisticRandomMatch | StatisticNthMatch;

/** `-m recent`. */
export interface RecentMatch {
  readonly kind: 'recent';
  readonly op: 'set' | 'rcheck' | 'update' | 'remove';
  readonly invert: boolean;
  /** `--seconds` (0 = not given). */
  readonly seconds: number;
  readonly reap: boolean;
  /** `--hitcount` (0 = not given). */
  readonly hitcount: number;
  readonly rttl: boolean;
  /** `--name` (default `DEFAULT`). */
  readonly name: string;
  /** `--mask` as a u32 (default 255.255.255.255). */
  readonly mask: number;
  /** `--rsource` (default) or `--rdest`. */
  readonly side: 'source' | 'dest';
}

/** `-m mark --mark value[/mask]`: matches when (skb->mark & mask) === value. */
export interface MarkMatch {
  readonly kind: 'mark';
  readonly invert: boolean;
  readonly value: number;
  readonly mask: number;
}

/** Route types of the addrtype match, in the kernel's RTN_* order. */
export const ADDR_TYPES = [
  'UNSPEC',
  'UNICAST',
  'LOCAL',
  'BROADCAST',
  'ANYCAST',
  'MULTICAST',
  'BLACKHOLE',
  'UNREACHABLE',
  'PROHIBIT',
  'THROW',
  'NAT',
  'XRESOLVE',
] as const;
export type AddrType = (typeof ADDR_TYPES)[number];

/** One side of an addrtype match: the types are kept in {@link ADDR_TYPES} order. */
export interface AddrTypeSel {
  readonly types: readonly AddrType[];
  readonly invert: boolean;
}

/** `-m addrtype`. */
export interface AddrTypeMatch {
  readonly kind: 'addrtype';
  readonly src?: AddrTypeSel;
  readonly dst?: AddrTypeSel;
  readonly limitIfaceIn: boolean;
  readonly limitIfaceOut: boolean;
}

/** Conntrack states as the conntrack/state matches print them (in print order). */
export const CT_STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'] as const;
export type CtState = (typeof CT_STATES)[number];

/** Conntrack status bits the conntrack match knows (in print order). */
export const CT_STATUSES = ['EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'] as const;
export type CtStatus = (typeof CT_STATUSES)[number];

/** An address/prefix test of the conntrack match (address not masked, as iptables stores it). */
export interface CtAddr {
  readonly addr: number;
  readonly len: number;
  readonly invert: boolean;
}

/** `-m conntrack`. Absent fields are not tested. */
export interface ConntrackMatch {
  readonly kind: 'conntrack';
  readonly state?: { readonly states: readonly CtState[]; readonly invert: boolean };
  readonly proto?: { readonly proto: number; readonly invert: boolean };
  readonly origSrc?: CtAddr;
  readonly origDst?: CtAddr;
  readonly replSrc?: CtAddr;
  readonly replDst?: CtAddr;
  readonly origSrcPort?: PortMatch;
  readonly origDstPort?: PortMatch;
  readonly replSrcPort?: PortMatch;
  readonly replDstPort?: PortMatch;
  /** `--ctstatus`; an empty list is `NONE`. */
  readonly status?: { readonly statuses: readonly CtStatus[]; readonly invert: boolean };
  readonly expire?: { readonly min: number; readonly max: number; readonly invert: boolean };
  readonly dir?: 'ORIGINAL' | 'REPLY';
}

/** `-m state --state` (the conntrack match's state alias; INVALID..UNTRACKED only). */
export interface StateMatch {
  readonly kind: 'state';
  readonly invert: boolean;
  readonly states: readonly CtState[];
}

/** `-m physdev`: bridge port tests (only meaningful with br_netfilter). */
export interface PhysdevMatch {
  readonly kind: 'physdev';
  readonly isIn?: { readonly invert: boolean };
  readonly in?: { readonly name: string; readonly invert: boolean };
  readonly isOut?: { readonly invert: boolean };
  readonly out?: { readonly name: string; readonly invert: boolean };
  readonly isBridged?: { readonly invert: boolean };
}

/** `-m nfacct --nfacct-name NAME`: always matches, counts into a named accounting object. */
export interface NfacctMatch {
  readonly kind: 'nfacct';
  readonly name: string;
}

/** Matches on the fixed IPv4 header part of a rule (`-s -d -i -o -p -f`). */
export type HeaderMatch = AddrMatch | IfaceMatch | ProtoMatch | FragMatch;

/** Extension matches (`-m NAME ...`). */
export type ExtensionMatch =
  | CommentMatch
  | TcpMatch
  | UdpMatch
  | SctpMatch
  | IcmpMatch
  | MultiportMatch
  | StatisticMatch
  | RecentMatch
  | MarkMatch
  | AddrTypeMatch
  | ConntrackMatch
  | StateMatch
  | PhysdevMatch
  | NfacctMatch;

/**
 * One test of a rule. In {@link Rule.matches} the header matches come first in the order
 * `src dst in out proto frag` (the kernel tests them first, and iptables-save prints them in that
 * order), then extension matches in the order they were given — the kernel's evaluation order.
 */
export type Match = HeaderMatch | ExtensionMatch;

/** Extension match names podnet understands (for error messages). */
export const SUPPORTED_MATCHES = [
  'addrtype',
  'comment',
  'conntrack',
  'icmp',
  'mark',
  'multiport',
  'nfacct',
  'physdev',
  'recent',
  'sctp',
  'state',
  'statistic',
  'tcp',
  'udp',
] as const;

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

/** REJECT's `--reject-with` values (the names iptables-save prints). */
export const REJECT_WITH = [
  'icmp-net-unreachable',
  'icmp-host-unreachable',
  'icmp-proto-unreachable',
  'icmp-port-unreachable',
  'icmp-net-prohibited',
  'icmp-host-prohibited',
  'tcp-reset',
  'icmp-admin-prohibited',
] as const;
export type RejectWith = (typeof REJECT_WITH)[number];

/** Address/port range of a NAT target (`--to-destination 10.0.0.1-10.0.0.3:80-90`). */
export interface NatRange {
  readonly ips?: { readonly min: number; readonly max: number };
  readonly ports?: PortRange;
}

export type Target =
  | { readonly kind: 'ACCEPT' }
  | { readonly kind: 'DROP' }
  | { readonly kind: 'RETURN' }
  /** `-j CHAIN`: call a user chain; RETURN or its end comes back here. */
  | { readonly kind: 'jump'; readonly chain: string }
  /** `-g CHAIN`: continue in a user chain; its RETURN returns to this chain's caller. */
  | { readonly kind: 'goto'; readonly chain: string }
  | { readonly kind: 'REJECT'; readonly with: RejectWith }
  | { readonly kind: 'DNAT'; readonly range: NatRange; readonly random: boolean; readonly persistent: boolean }
  | {
      readonly kind: 'SNAT';
      readonly range: NatRange;
      readonly random: boolean;
      readonly randomFully: boolean;
      readonly persistent: boolean;
    }
  | { readonly kind: 'MASQUERADE'; readonly ports?: PortRange; readonly random: boolean; readonly randomFully: boolean }
  /** MARK, normalised like iptables does: mark = (mark & ~mask) ^ value. */
  | { readonly kind: 'MARK'; readonly value: number; readonly mask: number }
  /** CONNMARK --set-xmark: ctmark = (ctmark & ~mask) ^ value. */
  | { readonly kind: 'CONNMARK'; readonly mode: 'set'; readonly value: number; readonly mask: number }
  /** CONNMARK --save-mark / --restore-mark with their masks. */
  | { readonly kind: 'CONNMARK'; readonly mode: 'save' | 'restore'; readonly nfmask: number; readonly ctmask: number }
  /** `-j NOTRACK` (raw table). */
  | { readonly kind: 'NOTRACK' }
  /** `-j CT --notrack` (raw table; the only CT form podnet supports). */
  | { readonly kind: 'CT'; readonly notrack: true }
  /** LOG: non-terminating; podnet records it in traces and otherwise ignores it. */
  | {
      readonly kind: 'LOG';
      readonly prefix: string;
      /** Syslog level 0..7 (default 4, warning). */
      readonly level: number;
      readonly tcpSequence: boolean;
      readonly tcpOptions: boolean;
      readonly ipOptions: boolean;
      readonly uid: boolean;
      readonly macDecode: boolean;
    };

export type TargetKind = Target['kind'];

/** Target names podnet understands besides chain names (for error messages). */
export const SUPPORTED_TARGETS = [
  'ACCEPT',
  'CONNMARK',
  'CT',
  'DNAT',
  'DROP',
  'LOG',
  'MARK',
  'MASQUERADE',
  'NOTRACK',
  'REJECT',
  'RETURN',
  'SNAT',
] as const;

/** True if the target ends the traversal of the current chain (a verdict or a NAT mapping). */
export function isTerminalTarget(t: Target): boolean {
  switch (t.kind) {
    case 'ACCEPT':
    case 'DROP':
    case 'REJECT':
    case 'DNAT':
    case 'SNAT':
    case 'MASQUERADE':
      return true;
    default:
      return false;
  }
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

const HEADER_ORDER: Readonly<Record<HeaderMatch['kind'], number>> = { src: 0, dst: 1, in: 2, out: 3, proto: 4, frag: 5 };

/** True for `-s -d -i -o -p -f` matches. */
export function isHeaderMatch(m: Match): m is HeaderMatch {
  return m.kind === 'src' || m.kind === 'dst' || m.kind === 'in' || m.kind === 'out' || m.kind === 'proto' || m.kind === 'frag';
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
