/**
 * Small builders for the rules node agents write, with shared constant objects where the content
 * is fixed: at 5,000 nodes and 10,000 Services, kube-proxy's rules alone are a million objects.
 */
import type { Cidr } from '../model.js';
import { rule, type Match, type Rule, type Target } from '../../netfilter/rules.js';

/** The transport protocols of Service ports. */
export type Protocol = 'tcp' | 'udp' | 'sctp';

/** Their IP protocol numbers. */
export const PROTO_NUM: Readonly<Record<Protocol, number>> = { tcp: 6, udp: 17, sctp: 132 };

const protoMatches = new Map<number, Match>();
/** `-p PROTO`. */
export function P(proto: number): Match {
  let m = protoMatches.get(proto);
  if (m === undefined) {
    m = { kind: 'proto', invert: false, proto };
    protoMatches.set(proto, m);
  }
  return m;
}

const l4Bare = new Map<Protocol, Match>();
/** `-m tcp`/`-m udp`/`-m sctp`, with `--dport` when given. */
export function L4(proto: Protocol, dport?: number): Match {
  if (dport === undefined) {
    const hit = l4Bare.get(proto);
    if (hit !== undefined) return hit;
    const m = { kind: proto } as Match;
    l4Bare.set(proto, m);
    return m;
  }
  return { kind: proto, dport: { min: dport, max: dport, invert: false } } as Match;
}

/** `-m comment --comment TEXT`. */
export function C(text: string): Match {
  return { kind: 'comment', text };
}

/** `[!] -s CIDR`. */
export function S(cidr: Cidr, invert = false): Match {
  return { kind: 'src', invert, cidr };
}

/** `[!] -d CIDR`. */
export function D(cidr: Cidr, invert = false): Match {
  return { kind: 'dst', invert, cidr };
}

/** A host address as a /32. */
export function host(ip: number): Cidr {
  return { addr: ip >>> 0, len: 32 };
}

/** 127.0.0.0/8. */
export const LOOPBACK: Cidr = { addr: 0x7f00_0000, len: 8 };
/** 224.0.0.0/4. */
export const MULTICAST: Cidr = { addr: 0xe000_0000, len: 4 };

/** `-m conntrack --ctstate NEW`. */
export const CT_NEW: Match = { kind: 'conntrack', state: { states: ['NEW'], invert: false } };
/** `-m conntrack --ctstate INVALID`. */
export const CT_INVALID: Match = { kind: 'conntrack', state: { states: ['INVALID'], invert: false } };
/** `-m conntrack --ctstate RELATED,ESTABLISHED`. */
export const CT_REL_EST: Match = { kind: 'conntrack', state: { states: ['RELATED', 'ESTABLISHED'], invert: false } };
/** `-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT`. */
export const CT_NOT_REL_EST_DNAT: Match = {
  kind: 'conntrack',
  state: { states: ['RELATED', 'ESTABLISHED', 'DNAT'], invert: true },
};
/** `-m addrtype --dst-type LOCAL`. */
export const DST_LOCAL: Match = {
  kind: 'addrtype',
  dst: { types: ['LOCAL'], invert: false },
  limitIfaceIn: false,
  limitIfaceOut: false,
};
/** `-m addrtype --src-type LOCAL`. */
export const SRC_LOCAL: Match = {
  kind: 'addrtype',
  src: { types: ['LOCAL'], invert: false },
  limitIfaceIn: false,
  limitIfaceOut: false,
};

/** `-j ACCEPT`. */
export const ACCEPT: Target = { kind: 'ACCEPT' };
/** `-j DROP`. */
export const DROP: Target = { kind: 'DROP' };
/** `-j RETURN`. */
export const RETURN: Target = { kind: 'RETURN' };
/** `-j REJECT` (icmp-port-unreachable). */
export const REJECT: Target = { kind: 'REJECT', with: 'icmp-port-unreachable' };

const jumps = new Map<string, Target>();
/** `-j CHAIN`. */
export function J(chain: string): Target {
  let t = jumps.get(chain);
  if (t === undefined) {
    t = { kind: 'jump', chain };
    jumps.set(chain, t);
  }
  return t;
}

/** A rule of the given parts (undefined and false parts left out, so options can be written inline). */
export function R(parts: readonly (Match | undefined | false)[], target?: Target): Rule {
  return rule(
    parts.filter((p): p is Match => p !== undefined && p !== false),
    target,
  );
}

/** `-j MASQUERADE` with `--random-fully` or not. */
export function masqueradeTarget(randomFully: boolean): Target {
  return { kind: 'MASQUERADE', random: false, randomFully };
}

/** The "block incoming localnet connections" rule in KUBE-FIREWALL (kubelet and kube-proxy write identical copies). */
export function blockLocalnetRule(): Rule {
  return R([C('block incoming localnet connections'), D(LOOPBACK), S(LOOPBACK, true), CT_NOT_REL_EST_DNAT], DROP);
}

/** The jump to KUBE-FIREWALL from INPUT and OUTPUT (kubelet's, which kube-proxy also ensures). */
export const KUBE_FIREWALL_JUMP: Rule = R([], J('KUBE-FIREWALL'));
