/**
 * `-m conntrack` (libxt_conntrack, xt_conntrack): the packet's conntrack state, tuples, status,
 * expiry and direction.
 */
import type { Ipv4Addr } from '../../wire/addr.js';
import { inPrefix, prefixMask } from '../../wire/addr.js';
import { Conn } from '../conntrack.js';
import {
  Fail,
  O1,
  O1I,
  addrLen,
  hostMask,
  inRange,
  inv,
  nameList,
  num,
  parseProto,
  portRange,
  portRangeColon,
  type ExtParser,
  type MatchExtension,
  type Tok,
} from '../extension.js';
import type { EvalContext } from '../hook-state.js';
import type { PortMatch } from '../rules.js';

/** Conntrack states as the conntrack/state matches print them (in print order). */
export const CT_STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'] as const;
/** A conntrack state name. */
export type CtState = (typeof CT_STATES)[number];

/** Conntrack status bits the conntrack match knows (in print order). */
export const CT_STATUSES = ['EXPECTED', 'SEEN_REPLY', 'ASSURED', 'CONFIRMED'] as const;
/** A conntrack status name. */
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

const STATE_BIT: Readonly<Record<CtState, number>> = {
  INVALID: 1,
  NEW: 2,
  RELATED: 4,
  ESTABLISHED: 8,
  UNTRACKED: 16,
  SNAT: 32,
  DNAT: 64,
};
/** The state bit of each CtInfo (New, Established, Related, Invalid, Untracked). */
const CTINFO_BIT: readonly number[] = [
  STATE_BIT.NEW,
  STATE_BIT.ESTABLISHED,
  STATE_BIT.RELATED,
  STATE_BIT.INVALID,
  STATE_BIT.UNTRACKED,
];
const stateMasks = new WeakMap<readonly CtState[], number>();

/** The bitmask of a (shared, immutable) state list, computed once. */
export function stateMaskOf(states: readonly CtState[]): number {
  let m = stateMasks.get(states);
  if (m === undefined) {
    m = 0;
    for (const st of states) m |= STATE_BIT[st];
    stateMasks.set(states, m);
  }
  return m;
}

/** The packet's conntrack states as a bitmask (computed once per traversal, kept in `ctx.ctMask`). */
export function packetStateMask(ctx: EvalContext): number {
  if (ctx.ctMask >= 0) return ctx.ctMask;
  let m = CTINFO_BIT[ctx.state.ctInfo]!;
  const c = ctx.pkt.ct;
  if (c instanceof Conn) {
    if (c.snat) m |= STATE_BIT.SNAT;
    if (c.dnat) m |= STATE_BIT.DNAT;
  }
  ctx.ctMask = m;
  return m;
}

const ORDER: readonly (keyof ConntrackMatch)[] = [
  'state',
  'proto',
  'origSrc',
  'origDst',
  'replSrc',
  'replDst',
  'origSrcPort',
  'origDstPort',
  'replSrcPort',
  'replDstPort',
  'status',
  'expire',
  'dir',
];

function parser(at: Tok): ExtParser<ConntrackMatch> {
  const m: { -readonly [K in keyof ConntrackMatch]?: ConntrackMatch[K] } = {};
  const addr = (t: Tok, invert: boolean): CtAddr => ({ ...hostMask(t, 'address'), invert });
  return {
    opts: {
      ctstate: O1I,
      ctproto: O1I,
      ctorigsrc: O1I,
      ctorigdst: O1I,
      ctreplsrc: O1I,
      ctrepldst: O1I,
      ctstatus: O1I,
      ctexpire: O1I,
      ctorigsrcport: O1I,
      ctorigdstport: O1I,
      ctreplsrcport: O1I,
      ctrepldstport: O1I,
      ctdir: O1,
    },
    apply(o, [t], invert) {
      switch (o) {
        case 'ctstate':
          m.state = { states: nameList<CtState>(t!, CT_STATES, 'ctstate'), invert };
          break;
        case 'ctproto': {
          const p = parseProto(t!);
          if (p === 0) throw new Fail(t!.col, 'conntrack: --ctproto all is not allowed (give a protocol)');
          m.proto = { proto: p, invert };
          break;
        }
        case 'ctorigsrc':
          m.origSrc = addr(t!, invert);
          break;
        case 'ctorigdst':
          m.origDst = addr(t!, invert);
          break;
        case 'ctreplsrc':
          m.replSrc = addr(t!, invert);
          break;
        case 'ctrepldst':
          m.replDst = addr(t!, invert);
          break;
        case 'ctstatus': {
          const up = t!.text.split(',').filter((x) => x.toUpperCase() !== 'NONE');
          const statuses =
            up.length === 0 ? [] : nameList<CtStatus>({ text: up.join(','), col: t!.col }, CT_STATUSES, 'ctstatus');
          m.status = { statuses, invert };
          break;
        }
        case 'ctexpire': {
          const parts = t!.text.split(':');
          const min = num({ text: parts[0] ?? '', col: t!.col }, 0xffff_ffff, '--ctexpire value');
          const max =
            parts.length > 1 ? num({ text: parts[1] ?? '', col: t!.col }, 0xffff_ffff, '--ctexpire value') : min;
          if (parts.length > 2 || min > max) throw new Fail(t!.col, `bad --ctexpire "${t!.text}"`);
          m.expire = { min, max, invert };
          break;
        }
        case 'ctorigsrcport':
          m.origSrcPort = { ...portRangeColon(t!), invert };
          break;
        case 'ctorigdstport':
          m.origDstPort = { ...portRangeColon(t!), invert };
          break;
        case 'ctreplsrcport':
          m.replSrcPort = { ...portRangeColon(t!), invert };
          break;
        case 'ctrepldstport':
          m.replDstPort = { ...portRangeColon(t!), invert };
          break;
        case 'ctdir': {
          const d = t!.text.toUpperCase();
          if (d !== 'ORIGINAL' && d !== 'REPLY') throw new Fail(t!.col, `bad --ctdir "${t!.text}" (ORIGINAL or REPLY)`);
          m.dir = d;
          break;
        }
      }
    },
    finish() {
      if (Object.keys(m).length === 0) throw new Fail(at.col, '-m conntrack needs at least one option');
      // Rebuild in a fixed key order so equal matches deep-equal whatever the option order.
      const out: Record<string, unknown> = { kind: 'conntrack' };
      for (const k of ORDER) if (m[k] !== undefined) out[k] = m[k];
      return out as unknown as ConntrackMatch;
    },
  };
}

function print(m: ConntrackMatch): string {
  let s = ' -m conntrack';
  if (m.state !== undefined) s += `${inv(m.state.invert)} --ctstate ${m.state.states.join(',')}`;
  if (m.proto !== undefined) s += `${inv(m.proto.invert)} --ctproto ${m.proto.proto}`;
  const addr = (name: string, a: CtAddr | undefined): void => {
    if (a !== undefined) s += `${inv(a.invert)} --${name} ${addrLen(a.addr, a.len)}`;
  };
  addr('ctorigsrc', m.origSrc);
  addr('ctorigdst', m.origDst);
  addr('ctreplsrc', m.replSrc);
  addr('ctrepldst', m.replDst);
  const port = (name: string, p: PortMatch | undefined): void => {
    if (p !== undefined) s += `${inv(p.invert)} --${name} ${portRange(p)}`;
  };
  port('ctorigsrcport', m.origSrcPort);
  port('ctorigdstport', m.origDstPort);
  port('ctreplsrcport', m.replSrcPort);
  port('ctrepldstport', m.replDstPort);
  if (m.status !== undefined) {
    s += `${inv(m.status.invert)} --ctstatus ${m.status.statuses.length === 0 ? 'NONE' : m.status.statuses.join(',')}`;
  }
  if (m.expire !== undefined) {
    const range = m.expire.min === m.expire.max ? `${m.expire.min}` : `${m.expire.min}:${m.expire.max}`;
    s += `${inv(m.expire.invert)} --ctexpire ${range}`;
  }
  if (m.dir !== undefined) s += ` --ctdir ${m.dir}`;
  return s;
}

function ctAddrMatches(a: CtAddr | undefined, v: Ipv4Addr): boolean {
  return a === undefined || inPrefix(v, (a.addr & prefixMask(a.len)) >>> 0, a.len) !== a.invert;
}

function ctPortMatches(r: PortMatch | undefined, v: number): boolean {
  return r === undefined || inRange(v, r) !== r.invert;
}

function evaluate(m: ConntrackMatch, ctx: EvalContext): boolean {
  const c = ctx.pkt.ct;
  if (m.state && ((packetStateMask(ctx) & stateMaskOf(m.state.states)) !== 0) === m.state.invert) return false;
  const needConn =
    m.proto ||
    m.origSrc ||
    m.origDst ||
    m.replSrc ||
    m.replDst ||
    m.origSrcPort ||
    m.origDstPort ||
    m.replSrcPort ||
    m.replDstPort ||
    m.status ||
    m.expire ||
    m.dir;
  if (!needConn) return true;
  if (!(c instanceof Conn)) return false;
  if (m.proto && (c.orig.proto === m.proto.proto) === m.proto.invert) return false;
  if (!ctAddrMatches(m.origSrc, c.orig.src) || !ctAddrMatches(m.origDst, c.orig.dst)) return false;
  if (!ctAddrMatches(m.replSrc, c.reply.src) || !ctAddrMatches(m.replDst, c.reply.dst)) return false;
  if (!ctPortMatches(m.origSrcPort, c.orig.sport) || !ctPortMatches(m.origDstPort, c.orig.dport)) return false;
  if (!ctPortMatches(m.replSrcPort, c.reply.sport) || !ctPortMatches(m.replDstPort, c.reply.dport)) return false;
  if (m.status) {
    const st: string[] = [];
    if (c.seenReply) st.push('SEEN_REPLY');
    if (c.assured) st.push('ASSURED');
    if (c.confirmed) st.push('CONFIRMED');
    const hit = m.status.statuses.length === 0 ? st.length === 0 : m.status.statuses.some((s) => st.includes(s));
    if (hit === m.status.invert) return false;
  }
  if (m.expire) {
    const left = Math.max(0, Math.floor((c.expires - ctx.state.nf.ns.world.now) / 1e9));
    if ((left >= m.expire.min && left <= m.expire.max) === m.expire.invert) return false;
  }
  if (m.dir && (m.dir === 'REPLY') !== ctx.pkt.ctReply) return false;
  return true;
}

/** The conntrack module. */
export const conntrack: MatchExtension<ConntrackMatch> = { name: 'conntrack', parser, print, evaluate };
