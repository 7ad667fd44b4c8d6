/**
 * The match and target modules podnet knows, and the Match and Target unions made of their types.
 * Adding an extension (the `set` match for ipset, say) is one module under `match/` or `target/`
 * and one line in {@link MATCH_EXTENSIONS} or {@link TARGET_EXTENSIONS}; the grammar, the printer
 * and the evaluator find it here. {@link registerMatch}/{@link registerTarget} add one at run
 * time (tests, experiments); such an extension's type is not part of the unions.
 */
import type { MatchExtension, TargetExtension } from './extension.js';
import { HEADER_MATCHES, type HeaderMatch, type HeaderMatchKind } from './match/header.js';
import { addrtype } from './match/addrtype.js';
import { comment } from './match/comment.js';
import { conntrack } from './match/conntrack.js';
import { icmp } from './match/icmp.js';
import { mark } from './match/mark.js';
import { multiport } from './match/multiport.js';
import { nfacct } from './match/nfacct.js';
import { physdev } from './match/physdev.js';
import { recent } from './match/recent.js';
import { sctp } from './match/sctp.js';
import { state } from './match/state.js';
import { statistic } from './match/statistic.js';
import { tcp } from './match/tcp.js';
import { udp } from './match/udp.js';
import { connmark } from './target/connmark.js';
import { ct, notrack } from './target/ct.js';
import { dnat } from './target/dnat.js';
import { log } from './target/log.js';
import { markTarget } from './target/mark.js';
import { masquerade } from './target/masquerade.js';
import { reject } from './target/reject.js';
import { snat } from './target/snat.js';
import { accept, drop, ret } from './target/standard.js';

/** The built-in match modules (`-m NAME`). */
export const MATCH_EXTENSIONS = [
  addrtype,
  comment,
  conntrack,
  icmp,
  mark,
  multiport,
  nfacct,
  physdev,
  recent,
  sctp,
  state,
  statistic,
  tcp,
  udp,
] as const;

/** The built-in target modules (`-j NAME`). */
export const TARGET_EXTENSIONS = [
  accept,
  connmark,
  ct,
  dnat,
  drop,
  log,
  markTarget,
  masquerade,
  notrack,
  reject,
  ret,
  snat,
] as const;

/** The rule-data type of a descriptor. */
type DataOf<D> = D extends MatchExtension<infer M> ? M : D extends TargetExtension<infer T> ? T : never;

/** Extension matches (`-m NAME ...`): the union of the match modules' types. */
export type ExtensionMatch = DataOf<(typeof MATCH_EXTENSIONS)[number]>;

/**
 * One test of a rule. In a Rule's matches the header matches come first in the order
 * `src dst in out proto frag` (the kernel tests them first, and iptables-save prints them in that
 * order), then extension matches in the order they were given — the kernel's evaluation order.
 */
export type Match = HeaderMatch | ExtensionMatch;

/** `-j CHAIN`: call a user chain; RETURN or its end comes back here. */
export interface JumpTarget {
  readonly kind: 'jump';
  readonly chain: string;
}

/** `-g CHAIN`: continue in a user chain; its RETURN returns to this chain's caller. */
export interface GotoTarget {
  readonly kind: 'goto';
  readonly chain: string;
}

/** Targets of the target modules. */
export type ExtensionTarget = DataOf<(typeof TARGET_EXTENSIONS)[number]>;

/** A rule's target: a user chain to jump or go to, or a target module's. */
export type Target = JumpTarget | GotoTarget | ExtensionTarget;

/** What the evaluator and printer need of any match kind (a header field or a module). */
export type AnyMatchExtension = Pick<MatchExtension<Match>, 'print' | 'evaluate'> & {
  readonly alwaysMatches?: boolean;
};

const matchesByName = new Map<string, MatchExtension<Match>>();
const matchesByKind = new Map<string, AnyMatchExtension>();
const targetsByName = new Map<string, TargetExtension<ExtensionTarget>>();

for (const h of HEADER_MATCHES as readonly HeaderMatchKind<HeaderMatch>[])
  matchesByKind.set(h.kind, h as unknown as AnyMatchExtension);
for (const m of MATCH_EXTENSIONS) addMatch(m as unknown as MatchExtension<Match>);
for (const t of TARGET_EXTENSIONS) addTarget(t as unknown as TargetExtension<ExtensionTarget>);

function addMatch(m: MatchExtension<Match>): void {
  if (matchesByName.has(m.name) || matchesByKind.has(m.name)) throw new Error(`match "${m.name}" registered twice`);
  matchesByName.set(m.name, m);
  matchesByKind.set(m.name, m);
}

function addTarget(t: TargetExtension<ExtensionTarget>): void {
  const name: string = t.name;
  if (targetsByName.has(name) || name === 'jump' || name === 'goto')
    throw new Error(`target "${t.name}" registered twice`);
  targetsByName.set(t.name, t);
}

/** Adds a match module at run time (its `-m` name must be new). */
export function registerMatch<M extends { readonly kind: string }>(m: MatchExtension<M>): void {
  addMatch(m as unknown as MatchExtension<Match>);
}

/** Adds a target module at run time (its `-j` name must be new). */
export function registerTarget<T extends { readonly kind: string }>(t: TargetExtension<T>): void {
  addTarget(t as unknown as TargetExtension<ExtensionTarget>);
}

/** The match module for `-m NAME`. */
export function matchExtension(name: string): MatchExtension<Match> | undefined {
  return matchesByName.get(name);
}

/** The printer/evaluator of a match kind (header kinds included). */
export function matchKind(kind: string): AnyMatchExtension {
  const m = matchesByKind.get(kind);
  if (m === undefined) throw new Error(`no match extension for kind "${kind}"`);
  return m;
}

/** The target module for `-j NAME` (undefined for chain names). */
export function targetExtension(name: string): TargetExtension<ExtensionTarget> | undefined {
  return targetsByName.get(name);
}

/** The names of every registered match module, sorted (for error messages and tests). */
export function matchNames(): string[] {
  return [...matchesByName.keys()].sort();
}

/** The names of every registered target module, sorted (for error messages and tests). */
export function targetNames(): string[] {
  return [...targetsByName.keys()].sort();
}
