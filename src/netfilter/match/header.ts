/**
 * The matches on the fixed part of a rule, `-s -d -i -o -p -f` (the kernel's ip_packet_match on
 * `struct ipt_ip`). iptables parses them in its generic option code (xshared.c), not in an
 * extension, and so does podnet's grammar; their types, printing and evaluation live here.
 */
import { formatIpv4, inPrefix } from '../../wire/addr.js';
import type { Cidr } from '../../wire/addr.js';
import { formatProto, inv } from '../extension.js';
import type { EvalContext } from '../hook-state.js';

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

/** Matches on the fixed IPv4 header part of a rule (`-s -d -i -o -p -f`). */
export type HeaderMatch = AddrMatch | IfaceMatch | ProtoMatch | FragMatch;

/** The kinds of header matches in the order the kernel tests them and iptables-save prints them. */
export const HEADER_ORDER: Readonly<Record<HeaderMatch['kind'], number>> = {
  src: 0,
  dst: 1,
  in: 2,
  out: 3,
  proto: 4,
  frag: 5,
};

/** True for `-s -d -i -o -p -f` matches. */
export function isHeaderMatch(m: { readonly kind: string }): m is HeaderMatch {
  return (
    m.kind === 'src' ||
    m.kind === 'dst' ||
    m.kind === 'in' ||
    m.kind === 'out' ||
    m.kind === 'proto' ||
    m.kind === 'frag'
  );
}

function ifaceMatches(name: string, prefix: string, wildcard: boolean): boolean {
  return wildcard ? name.startsWith(prefix) : name === prefix;
}

/** A header match as iptables-save prints it (leading space included). */
function printHeader(m: HeaderMatch): string {
  switch (m.kind) {
    case 'src':
    case 'dst':
      return `${inv(m.invert)} -${m.kind === 'src' ? 's' : 'd'} ${formatIpv4(m.cidr.addr)}/${m.cidr.len}`;
    case 'in':
    case 'out':
      return `${inv(m.invert)} -${m.kind === 'in' ? 'i' : 'o'} ${m.name}`;
    case 'proto':
      return `${inv(m.invert)} -p ${formatProto(m.proto)}`;
    case 'frag':
      return `${inv(m.invert)} -f`;
  }
}

/** Printing and evaluation of one kind of header match (ip_packet_match for one field). */
export interface HeaderMatchKind<M extends HeaderMatch> {
  readonly kind: M['kind'];
  print(m: M): string;
  evaluate(m: M, ctx: EvalContext): boolean;
}

/** The header matches, one evaluator per kind so that chain plans bind each rule's tests without a switch. */
export const HEADER_MATCHES: readonly HeaderMatchKind<HeaderMatch>[] = [
  {
    kind: 'src',
    print: printHeader,
    evaluate: (m: AddrMatch, ctx: EvalContext): boolean => inPrefix(ctx.src, m.cidr.addr, m.cidr.len) !== m.invert,
  } satisfies HeaderMatchKind<AddrMatch>,
  {
    kind: 'dst',
    print: printHeader,
    evaluate: (m: AddrMatch, ctx: EvalContext): boolean => inPrefix(ctx.dst, m.cidr.addr, m.cidr.len) !== m.invert,
  } satisfies HeaderMatchKind<AddrMatch>,
  {
    kind: 'in',
    print: printHeader,
    evaluate: (m: IfaceMatch, ctx: EvalContext): boolean =>
      ifaceMatches(ctx.state.inName, m.prefix, m.wildcard) !== m.invert,
  } satisfies HeaderMatchKind<IfaceMatch>,
  {
    kind: 'out',
    print: printHeader,
    evaluate: (m: IfaceMatch, ctx: EvalContext): boolean =>
      ifaceMatches(ctx.state.outName, m.prefix, m.wildcard) !== m.invert,
  } satisfies HeaderMatchKind<IfaceMatch>,
  {
    kind: 'proto',
    print: printHeader,
    evaluate: (m: ProtoMatch, ctx: EvalContext): boolean => (ctx.proto === m.proto) !== m.invert,
  } satisfies HeaderMatchKind<ProtoMatch>,
  {
    kind: 'frag',
    print: printHeader,
    evaluate: (m: FragMatch, ctx: EvalContext): boolean => (ctx.fragOff !== 0) !== m.invert,
  } satisfies HeaderMatchKind<FragMatch>,
] as readonly HeaderMatchKind<HeaderMatch>[];
