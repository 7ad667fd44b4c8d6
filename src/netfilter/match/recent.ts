/**
 * `-m recent` (libxt_recent, xt_recent): per-netns lists of recently seen addresses, which
 * kube-proxy's ClientIP affinity uses.
 */
import type { Ipv4Addr } from '../../wire/addr.js';
import { formatIpv4, parseIpv4 } from '../../wire/addr.js';
import { Ipv4View } from '../../wire/ipv4.js';
import type { EvalContext } from '../hook-state.js';
import {
  Fail,
  O0,
  O1,
  inv,
  num,
  type ExtParser,
  type MatchExtension,
  type OptSpec,
  type PerNetKey,
  type Tok,
} from '../extension.js';

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

/** An entry of a `-m recent` list: the last seen times (newest last) and the TTL of the last packet. */
interface RecentEntry {
  times: number[];
  ttl: number;
}

const IP_PKT_LIST_TOT = 20;

/** The lists of one netns by name (`/proc/net/xt_recent/NAME`). */
export const RECENT_LISTS: PerNetKey<Map<string, Map<Ipv4Addr, RecentEntry>>> = {
  name: 'recent',
  create: () => new Map(),
};

/** The entries of a list as `/proc/net/xt_recent/NAME` shows them (hits kept, last seen). */
export function recentEntries(
  lists: ReadonlyMap<string, ReadonlyMap<Ipv4Addr, RecentEntry>>,
  name: string,
): Array<{ addr: Ipv4Addr; hits: number; last: number }> {
  const list = lists.get(name);
  if (list === undefined) return [];
  return [...list.entries()].map(([addr, e]) => ({
    addr,
    hits: e.times.length,
    last: e.times[e.times.length - 1] ?? 0,
  }));
}

const opSpec = (): OptSpec => ({ args: 0, invert: true, canon: 'op' });

/** The recent module. */
export const recent: MatchExtension<RecentMatch> = {
  name: 'recent',
  parser(at: Tok): ExtParser<RecentMatch> {
    let op: 'set' | 'rcheck' | 'update' | 'remove' | undefined;
    let invert = false;
    let seconds = 0;
    let reap = false;
    let hitcount = 0;
    let rttl = false;
    let name = 'DEFAULT';
    let mask = 0xffff_ffff;
    let side: 'source' | 'dest' = 'source';
    return {
      opts: {
        set: opSpec(),
        rcheck: opSpec(),
        update: opSpec(),
        remove: opSpec(),
        seconds: O1,
        reap: O0,
        hitcount: O1,
        rttl: O0,
        name: O1,
        rsource: { args: 0, invert: false, canon: 'side' },
        rdest: { args: 0, invert: false, canon: 'side' },
        mask: O1,
      },
      apply(o, [t], inverted, tok) {
        switch (o) {
          case 'set':
          case 'rcheck':
          case 'update':
          case 'remove':
            op = o;
            invert = inverted;
            break;
          case 'seconds':
            seconds = num(t!, 0xffff_ffff, '--seconds value', 1);
            break;
          case 'reap':
            reap = true;
            break;
          case 'hitcount':
            hitcount = num(t!, 0xffff_ffff, '--hitcount value');
            break;
          case 'rttl':
            rttl = true;
            break;
          case 'name':
            if (
              t!.text.length === 0 ||
              t!.text.length >= 200 ||
              /[\s/"'\\]/.test(t!.text) ||
              t!.text === '.' ||
              t!.text === '..'
            ) {
              throw new Fail(t!.col, `bad recent list name "${t!.text}"`);
            }
            name = t!.text;
            break;
          case 'rsource':
            side = 'source';
            break;
          case 'rdest':
            side = 'dest';
            break;
          case 'mask': {
            const m = parseIpv4(t!.text);
            if (m === undefined) throw new Fail(t!.col, `bad --mask "${t!.text}" (a dotted IPv4 netmask)`);
            mask = m;
            break;
          }
          default:
            throw new Fail(tok.col, `unexpected option ${tok.text}`);
        }
      },
      finish() {
        if (op === undefined)
          throw new Fail(at.col, "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'");
        if (reap && seconds === 0) throw new Fail(at.col, 'recent: --reap needs --seconds');
        if (rttl && (op === 'set' || op === 'remove'))
          throw new Fail(at.col, 'recent: --rttl cannot be used with --set or --remove');
        return { kind: 'recent', op, invert, seconds, reap, hitcount, rttl, name, mask, side };
      },
    };
  },
  print(m) {
    let s = ` -m recent${inv(m.invert)} --${m.op}`;
    if (m.seconds !== 0) s += ` --seconds ${m.seconds}`;
    if (m.reap) s += ' --reap';
    if (m.hitcount !== 0) s += ` --hitcount ${m.hitcount}`;
    if (m.rttl) s += ' --rttl';
    s += ` --name ${m.name} --mask ${formatIpv4(m.mask)} --${m.side === 'source' ? 'rsource' : 'rdest'}`;
    return s;
  },
  evaluate(m, ctx) {
    return recentMatch(m, ctx) !== m.invert;
  },
};

/** xt_recent's recent_mt, before the `!`. */
function recentMatch(m: RecentMatch, ctx: EvalContext): boolean {
  const nf = ctx.state.nf;
  const lists = nf.perNet(RECENT_LISTS);
  let list = lists.get(m.name);
  if (list === undefined) {
    list = new Map();
    lists.set(m.name, list);
  }
  const addr = ((m.side === 'source' ? ctx.src : ctx.dst) & m.mask) >>> 0;
  const now = nf.ns.world.now;
  const ttl = new Ipv4View(ctx.pkt.buf, ctx.pkt.l3).ttl;
  const e = list.get(addr);
  if (ctx.dry !== null) {
    // exploring: --set always matches; checks see the list as it is, without updating it
    if (m.op === 'set') return true;
    if (e === undefined) return false;
    const window = m.seconds > 0 ? m.seconds * 1e9 : Number.POSITIVE_INFINITY;
    return e.times.filter((t) => now - t <= window).length >= Math.max(1, m.hitcount);
  }
  if (m.op === 'set') {
    const entry = e ?? { times: [], ttl };
    entry.times.push(now);
    if (entry.times.length > IP_PKT_LIST_TOT) entry.times.shift();
    entry.ttl = ttl;
    list.set(addr, entry);
    if (ctx.tracing) ctx.event({ kind: 'nf', what: 'recent-set', list: m.name, addr: formatIpv4(addr) });
    return true;
  }
  if (e === undefined) return false;
  if (m.rttl && e.ttl !== ttl) return false;
  if (m.op === 'remove') {
    list.delete(addr);
    return true;
  }
  let hit = true;
  if (m.seconds > 0 || m.hitcount > 0) {
    const window = m.seconds > 0 ? m.seconds * 1e9 : Number.POSITIVE_INFINITY;
    const recentHits = e.times.filter((t) => now - t <= window).length;
    hit = recentHits >= Math.max(1, m.hitcount);
    if (m.reap && m.seconds > 0) e.times = e.times.filter((t) => now - t <= window);
  }
  if (hit && m.op === 'update') {
    e.times.push(now);
    if (e.times.length > IP_PKT_LIST_TOT) e.times.shift();
    e.ttl = ttl;
  }
  if (m.reap && e.times.length === 0) list.delete(addr);
  return hit;
}
