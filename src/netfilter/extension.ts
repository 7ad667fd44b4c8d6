/**
 * The extension API: what one match or target module provides — iptables' `extensions/libxt_*.c`
 * (options, parse, print) and the kernel's `net/netfilter/xt_*.c` (the match or target function)
 * in one place — and the helpers their iptables-save parsers and printers share.
 *
 * A module exports its rule-data type(s) and one descriptor; `registry.ts` lists the descriptors
 * and assembles the Match and Target unions from them. The framework (ruleset model,
 * iptables-save grammar, evaluator) reaches an extension only through its descriptor.
 */
import { formatIpv4, parseIpv4, prefixMask } from '../wire/addr.js';
import type { Packet } from '../net/packet.js';
import type { Conn } from './conntrack.js';
import type { EvalContext, NfHookState } from './hook-state.js';
import type { Chain, PortRange, Rule, TableName } from './rules.js';

// =============================================================================================
// Descriptors
// =============================================================================================

/** A word of a rule line and the column (1-based) where it starts. */
export interface Tok {
  readonly text: string;
  readonly col: number;
}

/** A parse error at a column of the current line; the grammar adds the file and line. */
export class Fail {
  constructor(
    readonly col: number,
    readonly message: string,
  ) {}
}

/** What an extension's option takes: 0..2 argument words, and whether `!` may precede it. */
export interface OptSpec {
  readonly args: 0 | 1 | 2;
  readonly invert: boolean;
  /** Canonical option name (for aliases and duplicate detection). */
  readonly canon?: string;
}

/** An option without argument. */
export const O0: OptSpec = { args: 0, invert: false };
/** An option without argument that takes `!`. */
export const O0I: OptSpec = { args: 0, invert: true };
/** An option with one argument. */
export const O1: OptSpec = { args: 1, invert: false };
/** An option with one argument that takes `!`. */
export const O1I: OptSpec = { args: 1, invert: true };

/** The rule around an extension, for the checks that depend on it (iptables' `-p` and table checks). */
export interface ParseContext {
  readonly table: TableName;
  readonly chain: string;
  /** `chain` is one of the table's built-in chains. */
  readonly builtinChain: boolean;
  /** The `-p` protocol (0 when none). */
  readonly proto: number;
  readonly protoInvert: boolean;
}

/** One extension's option parser for one rule: each option is applied in order, then `finish` builds the value. */
export interface ExtParser<T> {
  readonly opts: Readonly<Record<string, OptSpec>>;
  /** One option (`opt` without its dashes) with its argument words; `at` is the option word. */
  apply(opt: string, args: readonly Tok[], invert: boolean, at: Tok): void;
  finish(ctx: ParseContext): T;
}

/**
 * A rule's place in its chain, bound once per rule when the chain is planned (the kernel's
 * `par->match`/`matchinfo` side).
 */
export interface RuleSite {
  readonly chain: Chain;
  /** 0-based. */
  readonly index: number;
  readonly rule: Rule;
}

/** A match module's descriptor (`-m NAME`). */
export interface MatchExtension<M extends { readonly kind: string }> {
  /** The `-m` name, which is also the `kind` of the module's rule data. */
  readonly name: M['kind'];
  /** True when the match never fails (comment, nfacct): chain plans leave it out. */
  readonly alwaysMatches?: boolean;
  /** A fresh option parser for one `-m NAME` (`at` is the `-m` word, for errors without a better place). */
  parser(at: Tok): ExtParser<M>;
  /** The match as iptables-save prints it, leading space included. */
  print(m: M): string;
  /** The kernel's match function: does the packet in `ctx` match? */
  evaluate(m: M, ctx: EvalContext, site: RuleSite): boolean;
}

/**
 * What the traversal does after a target ran: go on with the next rule, end with a verdict, or
 * return from the chain. Static per target, as the kernel's targets return one verdict each.
 */
export type TargetVerdict = 'continue' | 'accept' | 'drop' | 'return';

/** A target module's descriptor (`-j NAME`). */
export interface TargetExtension<T extends { readonly kind: string }> {
  /** The `-j` name, which is also the `kind` of the module's rule data. */
  readonly name: T['kind'];
  readonly verdict: TargetVerdict;
  /** A fresh option parser for one `-j NAME` (`at` is the target name word). */
  parser(at: Tok): ExtParser<T>;
  /** The target as iptables-save prints it, leading space included. */
  print(t: T): string;
  /** For targets ending with accept or drop: the verdict as traces print it after `⇒`. */
  verdictText?(t: T): string;
  /**
   * The kernel's target function. For accept/drop targets it runs after the traversal recorded
   * its verdict (so a REJECT's ICMP error follows the trace line that rejected it).
   */
  evaluate(t: T, ctx: EvalContext, site: RuleSite): void;
  /** For NAT targets: how the flow's binding is set up once the nat table chose this target. */
  readonly nat?: NatSetup<T>;
}

/** The nf_nat_setup_info side of a NAT target. */
export interface NatSetup<T> {
  /** Which side the target rewrites (`dst` runs at PREROUTING/OUTPUT, `src` at POSTROUTING/INPUT). */
  readonly manip: 'src' | 'dst';
  /** Chooses the mapping for a flow's first packet and binds it through `state.nf` (natBindDst/natBindSrc). */
  setup(t: T, conn: Conn, pkt: Packet, state: NfHookState): void;
}

/**
 * A per-netns data slot of an extension (the kernel's net_generic): `create` makes it on first
 * use in each netns's netfilter (`recent` lists, `statistic --mode nth` counters).
 */
export interface PerNetKey<T> {
  readonly name: string;
  create(): T;
}

// =============================================================================================
// Parsing helpers
// =============================================================================================

const DEC = /^(?:0|[1-9][0-9]*)$/;
const HEX = /^0[xX][0-9a-fA-F]+$/;
const OCT = /^0[0-7]+$/;

/** strtoul(s, NULL, 0) with a strict end, as xtables_strtoui does; undefined if malformed or > max. */
export function parseNum(s: string, max: number): number | undefined {
  let n: number;
  if (DEC.test(s)) n = Number(s);
  else if (HEX.test(s)) n = Number.parseInt(s.slice(2), 16);
  else if (OCT.test(s)) n = Number.parseInt(s.slice(1), 8);
  else return undefined;
  return n <= max ? n : undefined;
}

/** A number option value in min..max, or a Fail naming `what`. */
export function num(t: Tok, max: number, what: string, min = 0): number {
  const n = parseNum(t.text, max);
  if (n === undefined || n < min) throw new Fail(t.col, `bad ${what} "${t.text}" (expected a number ${min}..${max})`);
  return n;
}

/** A port number (`s` is part of the word `t`). */
export function port(s: string, t: Tok): number {
  const n = parseNum(s, 65535);
  if (n === undefined)
    throw new Fail(t.col, `bad port "${s}" in "${t.text}" (podnet takes port numbers 0..65535, not service names)`);
  return n;
}

/** `a`, `a:b`, `:b`, `a:` (the tcp/udp/conntrack port range syntax). */
export function portRangeColon(t: Tok): PortRange {
  const s = t.text;
  const i = s.indexOf(':');
  if (i < 0) {
    const p = port(s, t);
    return { min: p, max: p };
  }
  const min = i === 0 ? 0 : port(s.slice(0, i), t);
  const max = i === s.length - 1 ? 65535 : port(s.slice(i + 1), t);
  if (min > max) throw new Fail(t.col, `invalid port range "${s}" (min > max)`);
  return { min, max };
}

/** Prefix length of a contiguous netmask, or -1. */
function maskToLen(mask: number): number {
  for (let len = 0; len <= 32; len++) if (prefixMask(len) === mask >>> 0) return len;
  return -1;
}

/** An address with optional /len or /dotted-mask; returns address and prefix length. */
export function hostMask(t: Tok, what: string): { addr: number; len: number } {
  const s = t.text;
  const slash = s.indexOf('/');
  const a = parseIpv4(slash < 0 ? s : s.slice(0, slash));
  if (a === undefined)
    throw new Fail(
      t.col,
      `bad ${what} "${s}" (podnet takes a dotted IPv4 address, optionally /len; no host names or lists)`,
    );
  if (slash < 0) return { addr: a, len: 32 };
  const m = s.slice(slash + 1);
  let len: number;
  if (DEC.test(m)) {
    len = Number(m);
    if (len > 32) throw new Fail(t.col, `bad prefix length in ${what} "${s}"`);
  } else {
    const mask = parseIpv4(m);
    len = mask === undefined ? -1 : maskToLen(mask);
    if (len < 0) throw new Fail(t.col, `bad mask in ${what} "${s}" (only contiguous masks are supported)`);
  }
  return { addr: a, len };
}

const PROTO_NAMES: ReadonlyMap<number, string> = new Map([
  // xtables_chain_protos order: the first name of a number is the one printed.
  [6, 'tcp'],
  [132, 'sctp'],
  [17, 'udp'],
  [136, 'udplite'],
  [1, 'icmp'],
  [58, 'ipv6-icmp'],
  [50, 'esp'],
  [51, 'ah'],
  [135, 'mobility-header'],
  [33, 'dccp'],
  [108, 'ipcomp'],
]);

/** Protocol names accepted by `-p` (xtables_chain_protos plus common /etc/protocols names). */
const PROTO_BY_NAME: ReadonlyMap<string, number> = new Map([
  ['tcp', 6],
  ['sctp', 132],
  ['udp', 17],
  ['udplite', 136],
  ['icmp', 1],
  ['ipv6-icmp', 58],
  ['icmpv6', 58],
  ['esp', 50],
  ['ah', 51],
  ['mobility-header', 135],
  ['ipv6-mh', 135],
  ['mh', 135],
  ['dccp', 33],
  ['ipcomp', 108],
  ['igmp', 2],
  ['ipencap', 4],
  ['gre', 47],
  ['ospf', 89],
  ['pim', 103],
  ['vrrp', 112],
]);

/** `-p` value as iptables-save prints it. */
export function formatProto(proto: number): string {
  return PROTO_NAMES.get(proto) ?? String(proto);
}

/** The name iptables loads a protocol's match by after `-p` (`tcp`, `udp`, …), if the number has one. */
export function protoName(proto: number): string | undefined {
  return PROTO_NAMES.get(proto);
}

/** A protocol number or name as `-p` and `--ctproto` take it (`all` is 0). */
export function parseProto(t: Tok): number {
  const n = parseNum(t.text, 255);
  if (n !== undefined) return n;
  if (t.text === 'all') return 0;
  const p = PROTO_BY_NAME.get(t.text.toLowerCase());
  if (p === undefined) throw new Fail(t.col, `unknown protocol "${t.text}"`);
  return p;
}

/** Fails unless the rule has `-p` with one of `protos` (iptables' per-extension protocol checks). */
export function needProto(ctx: ParseContext, at: Tok, what: string, protos: readonly number[]): void {
  if (!protos.includes(ctx.proto) || ctx.protoInvert) {
    throw new Fail(at.col, `${what} needs ${protos.map((p) => `-p ${formatProto(p)}`).join(' or ')} (without "!")`);
  }
}

/** Case-insensitive comma list of names, as the conntrack/state/addrtype parsers take them; result in `names` order. */
export function nameList<N extends string>(
  t: Tok,
  names: readonly N[],
  what: string,
  allowed: readonly N[] = names,
): N[] {
  const seen = new Set<N>();
  for (const part of t.text.split(',')) {
    const n = names.find((x) => x.toLowerCase() === part.toLowerCase());
    if (n === undefined || !allowed.includes(n))
      throw new Fail(t.col, `bad ${what} "${part}" in "${t.text}" (expected ${allowed.join(', ')})`);
    seen.add(n);
  }
  return names.filter((n) => seen.has(n));
}

const IFNAMSIZ = 16;

/** An interface name as `-i`/`-o`/`--physdev-in` take it (a trailing `+` is a wildcard). */
export function iface(t: Tok): { name: string; prefix: string; wildcard: boolean } {
  const s = t.text;
  if (s.length === 0 || s.length >= IFNAMSIZ) throw new Fail(t.col, `bad interface name "${s}" (1..15 characters)`);
  const wildcard = s.endsWith('+');
  return { name: s, prefix: wildcard ? s.slice(0, -1) : s, wildcard };
}

/** `value[/mask]` as the mark match and MARK/CONNMARK take it. */
export function markValue(t: Tok): { value: number; mask: number } {
  const s = t.text;
  const slash = s.indexOf('/');
  const v = parseNum(slash < 0 ? s : s.slice(0, slash), 0xffff_ffff);
  const m = slash < 0 ? 0xffff_ffff : parseNum(s.slice(slash + 1), 0xffff_ffff);
  if (v === undefined || m === undefined)
    throw new Fail(t.col, `bad mark value "${s}" (value[/mask], numbers up to 0xffffffff)`);
  return { value: v, mask: m };
}

/** A parser for an extension without options that always builds `value`. */
export function noOptions<T>(value: T): ExtParser<T> {
  return {
    opts: {},
    apply() {},
    finish() {
      return value;
    },
  };
}

// =============================================================================================
// Printing helpers
// =============================================================================================

const NO_QUOTE = /^[-_0-9a-zA-Z]+$/;

/** A string option value as xtables_save_string prints it (leading space included). */
export function saveString(s: string): string {
  if (NO_QUOTE.test(s)) return ` ${s}`;
  return ` "${s.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

/** ` !` before an inverted option, else nothing. */
export function inv(b: boolean): string {
  return b ? ' !' : '';
}

/** A u32 as `0x…` (xtables prints marks this way). */
export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** ` value` or ` value/mask` as xtables_print_val_mask prints it. */
export function markMask(value: number, mask: number): string {
  return mask >>> 0 === 0xffff_ffff ? ` ${hex(value)}` : ` ${hex(value)}/${hex(mask)}`;
}

/** `a` or `a<sep>b`. */
export function portRange(p: PortRange, sep = ':'): string {
  return p.min === p.max ? String(p.min) : `${p.min}${sep}${p.max}`;
}

/** An address, with `/len` unless it is a host address. */
export function addrLen(addr: number, len: number): string {
  return len === 32 ? formatIpv4(addr) : `${formatIpv4(addr)}/${len}`;
}

// =============================================================================================
// Evaluation helpers
// =============================================================================================

/** True if `v` is in the inclusive range. */
export function inRange(v: number, r: PortRange): boolean {
  return v >= r.min && v <= r.max;
}
