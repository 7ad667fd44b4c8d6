/**
 * The netfilter of one netns: the IPv4 hooks at the kernel's priorities (defrag −400, raw −300,
 * conntrack −200, mangle −150, nat dst −100, filter 0, nat src 100, confirm last), iptables
 * chain traversal with first-match semantics, jumps, gotos and RETURN, per-rule counters, every
 * match and target kube-proxy and flannel use, and NAT decided once per flow by conntrack.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { formatIpv4, inPrefix, prefixMask } from '../wire/addr.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, Ipv4View } from '../wire/ipv4.js';
import { IcmpView } from '../wire/icmp.js';
import type { NetDevice } from '../net/device.js';
import type { Packet } from '../net/packet.js';
import type { NetNs } from '../net/netns.js';
import { NfHook } from '../net/stack.js';
import type { NetfilterHooks } from '../net/stack.js';
import { Reassembler } from '../net/frag.js';
import type { Rng } from '../sim/rng.js';
import type { AddrType, Chain, ConntrackMatch, Match, Rule, Ruleset, TableName, Target, CtState } from './rules.js';
import { Counters, getChain } from './rules.js';
import { formatTarget } from './iptables-save.js';
import { Conn, Conntrack, CtInfo, invertTuple } from './conntrack.js';
import type { Tuple } from './conntrack.js';
import { manipIcmpError, manipIpv4 } from './nat.js';
import { chainIndex, nextCandidate } from './chain-index.js';
import type { ChainIndex } from './chain-index.js';

/** Where a chain traversal ended. */
type Outcome = 'accept' | 'drop' | 'stolen';

/** The fields of a packet that matches look at, read once per table traversal. */
interface PktInfo {
  src: Ipv4Addr;
  dst: Ipv4Addr;
  proto: number;
  sport: number;
  dport: number;
  tcpFlags: number;
  icmpType: number;
  icmpCode: number;
  fragOff: number;
  len: number;
  inName: string;
  outName: string;
  physIn: string;
  physOut: string;
  bridged: boolean;
}

/** Per-traversal context. */
interface EvalCtx {
  readonly hook: NfHook;
  readonly table: TableName;
  readonly pkt: Packet;
  readonly info: PktInfo;
  readonly inDev: NetDevice | null;
  readonly outDev: NetDevice | null;
  readonly ctInfo: CtInfo;
  /** Rules that matched, for the trace (only collected when tracing). */
  path: string[] | null;
  /** A NAT target chosen in the nat table. */
  nat: { kind: 'DNAT' | 'SNAT' | 'MASQUERADE'; target: Target } | undefined;
  /** Exploring paths: no counters, no list updates, statistic decisions from `decide`. */
  dry: { decide: (probability: number) => boolean } | null;
  /** The mark as the traversal changes it (applied to the packet only when not dry). */
  mark: number;
  /** How the traversal ended (for explored paths). */
  verdict?: string;
  /** Conntrack state bits, −1 until first needed. */
  ctMask: number;
}

/** One way through a table's chains (for `podnet trace --all-paths`). */
export interface ExploredPath {
  /** Exact probability of this path (the product of the statistic decisions taken). */
  readonly probability: number;
  readonly verdict: string;
  /** DNAT/SNAT target chosen, if any. */
  readonly nat: Target | undefined;
  /** Rules that matched, as `CHAIN#n "comment"`. */
  readonly rules: readonly string[];
}

/** Decides statistic matches; tests and replays can force outcomes (default: the seeded RNG). */
export type StatisticDecider = (chain: Chain, index: number, probability: number, pkt: Packet) => boolean | undefined;

const HOOK_NAMES = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'] as const;
const TABLE_INDEX: readonly TableName[] = ['raw', 'mangle', 'nat', 'filter'];

/** Tables registered at each hook, in priority order (mangle −150, nat dst −100, filter 0, nat src 100). */
const HOOK_TABLES: Readonly<Record<NfHook, readonly TableName[]>> = {
  [NfHook.PreRouting]: ['raw', 'mangle', 'nat'],
  [NfHook.LocalIn]: ['mangle', 'filter', 'nat'],
  [NfHook.Forward]: ['mangle', 'filter'],
  [NfHook.LocalOut]: ['raw', 'mangle', 'nat', 'filter'],
  [NfHook.PostRouting]: ['mangle', 'nat'],
};

/** An entry of a `-m recent` list: the last seen times (newest last) and the TTL of the last packet. */
interface RecentEntry {
  times: number[];
  ttl: number;
}

const IP_PKT_LIST_TOT = 20;

const STATE_BIT: Readonly<Record<CtState, number>> = { INVALID: 1, NEW: 2, RELATED: 4, ESTABLISHED: 8, UNTRACKED: 16, SNAT: 32, DNAT: 64 };
/** The state bit of each CtInfo (New, Established, Related, Invalid, Untracked). */
const CTINFO_BIT: readonly number[] = [STATE_BIT.NEW, STATE_BIT.ESTABLISHED, STATE_BIT.RELATED, STATE_BIT.INVALID, STATE_BIT.UNTRACKED];
const stateMasks = new WeakMap<readonly CtState[], number>();

/** The bitmask of a (shared, immutable) state list, computed once. */
function maskOf(states: readonly CtState[]): number {
  let m = stateMasks.get(states);
  if (m === undefined) {
    m = 0;
    for (const st of states) m |= STATE_BIT[st];
    stateMasks.set(states, m);
  }
  return m;
}

/** What evaluating a chain needs, built once per (shared, immutable) Chain object. */
interface ChainPlan {
  readonly index: ChainIndex | null;
  /** Each rule's matches without the ones that always match (comment, nfacct). */
  readonly tests: ReadonlyArray<readonly Match[]>;
  /** Each rule as traces name it (`CHAIN#n "comment" → target`), made when first needed. */
  readonly names: Array<string | undefined>;
}

const plans = new WeakMap<Chain, ChainPlan>();

function planOf(chain: Chain): ChainPlan {
  let p = plans.get(chain);
  if (p === undefined) {
    // kube-proxy puts a comment on most rules: skipping them saves a match call per rule tried
    p = { index: chainIndex(chain), tests: chain.rules.map((r) => r.matches.filter((m) => m.kind !== 'comment' && m.kind !== 'nfacct')), names: [] };
    plans.set(chain, p);
  }
  return p;
}

/** Netfilter for one network namespace. */
export class Netfilter implements NetfilterHooks {
  readonly ct = new Conntrack();
  readonly counters = new Counters();
  private readonly recent = new Map<string, Map<Ipv4Addr, RecentEntry>>();
  private readonly nth = new Map<Rule, number>();
  private readonly defrag: Reassembler;
  private readonly rng: Rng;
  /** Overrides for `-m statistic --mode random` (forced replays, `--all-paths` exploration). */
  statisticDecider: StatisticDecider | null = null;
  /** Use chain indexes (off only to check them against plain linear evaluation). */
  indexing = true;
  /** Called with every way through the nat table before a flow's destination NAT is decided (`--all-paths`). */
  explorer: ((paths: ExploredPath[], hook: string, pkt: Packet) => void) | null = null;

  private rulesetValue: Ruleset;
  // the built-in chain of each table at each hook, resolved once per ruleset
  private builtins: Array<Array<Chain | undefined>> = [];
  // the tables to traverse after conntrack at each hook, resolved once per ruleset
  private hookTables: Array<readonly TableName[]> = [];

  constructor(
    readonly ns: NetNs,
    ruleset: Ruleset,
  ) {
    this.defrag = new Reassembler(ns, false);
    this.rng = ns.rng.fork('netfilter');
    this.rulesetValue = ruleset;
    this.resolveBuiltins();
  }

  /** The rules (replaceable, e.g. with a user's iptables-save dump). */
  get ruleset(): Ruleset {
    return this.rulesetValue;
  }

  set ruleset(rs: Ruleset) {
    this.rulesetValue = rs;
    this.resolveBuiltins();
  }

  private resolveBuiltins(): void {
    // raw runs before conntrack (above); nat always runs (NAT bindings apply without a nat table)
    this.hookTables = HOOK_NAMES.map((_, h) => HOOK_TABLES[h as NfHook].filter((t) => t !== 'raw' && (t === 'nat' || this.rulesetValue.tables[t] !== undefined)));
    this.builtins = TABLE_INDEX.map((t) => {
      const table = this.rulesetValue.tables[t];
      return HOOK_NAMES.map((h) => (table === undefined ? undefined : getChain(table, h)));
    });
  }

  private builtin(table: TableName, hook: NfHook): Chain | undefined {
    return this.builtins[TABLE_INDEX.indexOf(table)]![hook];
  }

  private get tracing(): boolean {
    return this.ns.world.tracer.active;
  }

  private hop(pkt: Packet, text: string, kind: 'nf' | 'nat' = 'nf', data?: Record<string, string | number | boolean>): void {
    this.ns.trace({ kind, what: 'text', text, data }, pkt, undefined);
  }

  /** NetfilterHooks: the IPv4 hook pipeline. */
  run(hook: NfHook, pkt: Packet, inDev: NetDevice | null, outDev: NetDevice | null): Packet | null {
    return this.runHook(hook, pkt, inDev, outDev, false);
  }

  /**
   * Runs `hook` for a packet; `bridged` marks br_netfilter calls (in/out are the bridge and
   * `-m physdev` sees the ports).
   */
  runHook(hook: NfHook, pkt: Packet, inDev: NetDevice | null, outDev: NetDevice | null, bridged: boolean, physIn = '', physOut = ''): Packet | null {
    const now = this.ns.world.now;
    let ctInfo = CtInfo.Untracked;
    if (hook === NfHook.PreRouting || hook === NfHook.LocalOut) {
      // nf_defrag_ipv4 (−400): conntrack needs whole datagrams
      const ip = new Ipv4View(pkt.buf, pkt.l3);
      if (ip.isFragment) {
        const whole = this.defrag.add(pkt);
        if (whole === null) return null;
        if (this.tracing) this.hop(whole, `conntrack defrag: reassembled ${whole.len - 14} bytes (largest fragment ${whole.fragMaxSize})`);
        pkt = whole;
      }
      if (pkt.ct === UNTRACKED) ctInfo = CtInfo.Untracked;
      else {
        // raw table first (it may NOTRACK), then nf_conntrack_in (−200)
        if (this.hasTable('raw')) {
          const r = this.traverse('raw', hook, pkt, inDev, outDev, CtInfo.Untracked, bridged, physIn, physOut);
          if (r !== 'accept') return r === 'drop' ? this.dropped(pkt, 'raw', hook) : null;
        }
        if (pkt.ct === UNTRACKED) ctInfo = CtInfo.Untracked;
        else {
          ctInfo = this.ct.in(pkt, now);
          if (this.tracing) {
            const killed = this.ct.killed;
            if (killed !== null) this.hop(pkt, `conntrack: a SYN reopens a ${killed.tcpState === 'CLOSE' ? 'reset' : 'closed'} connection (${killed.tcpState}): its entry is killed and the packet looked up again (-NF_REPEAT), old NAT dropped: ${killed.describe()}`, 'nat');
            if (pkt.ct !== null) this.traceCt(pkt, ctInfo);
          }
        }
      }
    } else {
      ctInfo = this.currentCtInfo(pkt);
    }
    for (const table of this.hookTables[hook]!) {
      if (table === 'nat') {
        if (!this.natHook(hook, pkt, inDev, outDev, ctInfo, bridged, physIn, physOut)) return this.dropped(pkt, 'nat', hook);
        continue;
      }
      const r = this.traverse(table, hook, pkt, inDev, outDev, ctInfo, bridged, physIn, physOut);
      if (r === 'drop') return this.dropped(pkt, table, hook);
      if (r === 'stolen') return null;
    }
    if (hook === NfHook.PostRouting || hook === NfHook.LocalIn) {
      // __nf_conntrack_confirm (INT_MAX): the flow's first packet made it through
      const c = pkt.ct;
      if (c instanceof Conn && !c.confirmed) {
        if (!this.ct.confirm(pkt, now)) return this.dropped(pkt, 'conntrack', hook, true);
        if (this.tracing) {
          const joined = pkt.ct !== c && pkt.ct instanceof Conn ? pkt.ct : undefined;
          if (joined !== undefined) this.hop(pkt, `conntrack clash resolved: the same flow was confirmed meanwhile, the packet joins it: ${joined.describe()}`, 'nat');
          else if (c.fixedTimeout) this.hop(pkt, `conntrack clash resolved: inserted by its reply tuple only, for 1s: ${c.describe()}`, 'nat');
          else this.hop(pkt, `conntrack confirmed: ${c.describe()}`, 'nat');
        }
      }
    }
    return pkt;
  }

  private currentCtInfo(pkt: Packet): CtInfo {
    const c = pkt.ct;
    if (c === UNTRACKED || c === null) return c === null ? CtInfo.Invalid : CtInfo.Untracked;
    if (!(c instanceof Conn)) return CtInfo.Invalid;
    if (pkt.ctRelated) return CtInfo.Related;
    return pkt.ctReply || c.seenReply ? CtInfo.Established : CtInfo.New;
  }

  private traceCt(pkt: Packet, info: CtInfo): void {
    const c = pkt.ct as Conn;
    const st = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'][info]!;
    if (info === CtInfo.New && !c.confirmed) this.hop(pkt, `conntrack: new flow ${c.describe()}`, 'nat', { ctstate: st });
    else this.hop(pkt, `conntrack: ${st} ${pkt.ctReply ? 'reply' : 'original'} direction of ${c.describe()}`, 'nat', { ctstate: st });
  }

  private dropped(pkt: Packet, table: string, hook: NfHook, clash = false): null {
    this.ns.stack.drop(pkt, clash ? { what: 'conntrack-clash' } : { what: 'netfilter', table, hook: HOOK_NAMES[hook]! });
    return null;
  }

  private hasTable(t: TableName): boolean {
    return this.ruleset.tables[t] !== undefined;
  }

  // ───────────────────────────── NAT ─────────────────────────────

  /** nf_nat_inet_fn: decide the mapping on a flow's first packet, then apply it to this packet. */
  private natHook(hook: NfHook, pkt: Packet, inDev: NetDevice | null, outDev: NetDevice | null, ctInfo: CtInfo, bridged: boolean, physIn: string, physOut: string): boolean {
    const c = pkt.ct;
    if (!(c instanceof Conn)) return true;
    const dstManip = hook === NfHook.PreRouting || hook === NfHook.LocalOut;
    if (!pkt.ctReply && !pkt.ctRelated && !c.confirmed) {
      const done = dstManip ? c.dstManipDone : c.srcManipDone;
      if (!done) {
        let chosen: EvalCtx['nat'];
        if (this.explorer !== null && dstManip && this.hasTable('nat')) {
          this.explorer(this.explore('nat', hook, pkt, inDev, outDev, 4096, bridged, physIn, physOut), HOOK_NAMES[hook]!, pkt);
        }
        if (this.hasTable('nat')) {
          const ctx = this.makeCtx('nat', hook, pkt, inDev, outDev, ctInfo, bridged, physIn, physOut);
          const r = this.evalChain(ctx, HOOK_NAMES[hook]!);
          if (r === 'drop') return false;
          chosen = ctx.nat;
        }
        if (dstManip) {
          c.dstManipDone = true;
          if (chosen?.kind === 'DNAT') this.setupDnat(c, chosen.target, pkt);
        } else {
          c.srcManipDone = true;
          if (chosen !== undefined && chosen.kind !== 'DNAT') this.setupSnat(c, chosen.target, pkt, outDev);
          else this.nullSrcBinding(c, pkt);
        }
      }
    }
    this.applyNat(c, pkt, dstManip);
    return true;
  }

  /** Rewrites the packet according to the connection's bindings (both directions). */
  private applyNat(c: Conn, pkt: Packet, dstManip: boolean): void {
    const reply = pkt.ctReply;
    let side: 'src' | 'dst';
    let to: { addr: Ipv4Addr; port: number } | undefined;
    if (!reply) {
      if (dstManip && c.dnat) (side = 'dst'), (to = c.dnat);
      else if (!dstManip && c.snat) (side = 'src'), (to = c.snat);
      else return;
    } else {
      // replies are un-SNATed on the way in (dst) and un-DNATed on the way out (src)
      if (dstManip && c.snat) (side = 'dst'), (to = { addr: c.orig.src, port: c.orig.sport });
      else if (!dstManip && c.dnat) (side = 'src'), (to = { addr: c.orig.dst, port: c.orig.dport });
      else return;
    }
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    if (pkt.ctRelated) {
      const before = `${formatIpv4(ip.src)} → ${formatIpv4(ip.dst)}`;
      manipIcmpError(pkt.buf, pkt.l3, side === 'src', to.addr, to.port, (b, l4, len) => new IcmpView(b, l4).fillChecksum(len));
      if (this.tracing) this.hop(pkt, `NAT of a related ICMP error: ${before} becomes ${formatIpv4(ip.src)} → ${formatIpv4(ip.dst)} (quoted header translated too)`, 'nat');
      return;
    }
    const oldAddr = side === 'src' ? ip.src : ip.dst;
    const oldPort = portOf(pkt, side);
    manipIpv4(pkt.buf, pkt.l3, side === 'src', to.addr, to.port);
    if (this.tracing) {
      const what = reply ? (side === 'dst' ? 'un-SNAT' : 'un-DNAT') : side === 'dst' ? 'DNAT' : 'SNAT';
      this.hop(pkt, `${what}: ${side} ${formatIpv4(oldAddr)}${oldPort >= 0 ? `:${oldPort}` : ''} → ${formatIpv4(to.addr)}${oldPort >= 0 ? `:${to.port}` : ''}`, 'nat', {
        nat: what,
        from: `${formatIpv4(oldAddr)}${oldPort >= 0 ? `:${oldPort}` : ''}`,
        to: `${formatIpv4(to.addr)}${oldPort >= 0 ? `:${to.port}` : ''}`,
      });
    }
  }

  private setupDnat(c: Conn, t: Target, pkt: Packet): void {
    if (t.kind !== 'DNAT') return;
    const range = t.range;
    const addr = range.ips ? range.ips.min + (range.ips.max > range.ips.min ? this.rng.nextInt(range.ips.max - range.ips.min + 1) : 0) : c.orig.dst;
    let port = c.orig.dport;
    if (range.ports && c.orig.proto !== IPPROTO_ICMP) port = range.ports.min + (range.ports.max > range.ports.min ? this.rng.nextInt(range.ports.max - range.ports.min + 1) : 0);
    c.dnat = { addr, port };
    c.reply = invertTuple(this.mapped(c));
    if (this.tracing) this.hop(pkt, `conntrack DNAT binding: ${formatIpv4(c.orig.dst)}:${c.orig.dport} → ${formatIpv4(addr)}:${port}; replies will look like ${tupleText(c.reply)}`, 'nat');
  }

  /** The original tuple after the NAT decided so far. */
  private mapped(c: Conn): Tuple {
    return {
      src: c.snat?.addr ?? c.orig.src,
      sport: c.snat?.port ?? c.orig.sport,
      dst: c.dnat?.addr ?? c.orig.dst,
      dport: c.dnat?.port ?? c.orig.dport,
      proto: c.orig.proto,
    };
  }

  private setupSnat(c: Conn, t: Target, pkt: Packet, outDev: NetDevice | null): void {
    let addr: Ipv4Addr;
    let ports: { min: number; max: number } | undefined;
    let randomFully = false;
    let random = false;
    if (t.kind === 'MASQUERADE') {
      if (outDev === null) return;
      // nf_nat_masquerade_ipv4: the egress device's address toward the next hop
      const r = this.ns.fib.lookup(c.dnat?.addr ?? c.orig.dst);
      const nexthop = r?.gateway || (c.dnat?.addr ?? c.orig.dst);
      addr = this.ns.selectSourceAddress(outDev, nexthop, 'universe');
      if (addr === 0) return;
      ports = t.ports;
      randomFully = t.randomFully;
      random = t.random;
    } else if (t.kind === 'SNAT') {
      const range = t.range;
      addr = range.ips ? range.ips.min + (range.ips.max > range.ips.min ? this.rng.nextInt(range.ips.max - range.ips.min + 1) : 0) : c.orig.src;
      ports = range.ports;
      randomFully = t.randomFully;
      random = t.random;
    } else return;
    const port = this.chooseSourcePort(c, addr, ports, randomFully || random);
    c.snat = { addr, port };
    c.reply = invertTuple(this.mapped(c));
    if (this.tracing) {
      this.hop(
        pkt,
        `conntrack ${t.kind === 'MASQUERADE' ? 'MASQUERADE' : 'SNAT'} binding: source ${formatIpv4(c.orig.src)}:${c.orig.sport} → ${formatIpv4(addr)}:${port}${t.kind === 'MASQUERADE' ? ` (${outDev!.name}'s address${randomFully ? ', --random-fully port' : ''})` : ''}`,
        'nat',
      );
    }
  }

  /** A source port keeping the mapped tuple unique (nf_nat_l4proto_unique_tuple). */
  private chooseSourcePort(c: Conn, addr: Ipv4Addr, range: { min: number; max: number } | undefined, random: boolean): number {
    const orig = c.orig.sport;
    if (c.orig.proto !== IPPROTO_TCP && c.orig.proto !== IPPROTO_UDP && c.orig.proto !== IPPROTO_ICMP) return orig;
    const taken = (p: number): boolean => {
      const m = this.mapped(c);
      const candidate: Tuple = { ...m, src: addr, sport: p };
      return this.ct.tupleTaken(invertTuple(candidate), c, this.ns.world.now);
    };
    let min: number;
    let size: number;
    if (range !== undefined) {
      min = range.min;
      size = range.max - range.min + 1;
    } else if (c.orig.proto === IPPROTO_ICMP) {
      min = 0;
      size = 0x10000;
    } else if (orig < 1024) {
      min = orig < 512 ? 1 : 600;
      size = orig < 512 ? 511 : 424;
    } else {
      min = 1024;
      size = 65535 - 1024 + 1;
    }
    if (!random && orig >= min && orig < min + size && !taken(orig)) return orig;
    let off = random ? this.rng.nextInt(0x10000) : 0;
    for (let i = 0; i < size; i++, off++) {
      const p = min + (off % size);
      if (!taken(p)) return p;
    }
    return orig;
  }

  /** nf_nat_alloc_null_binding for the source: no rule matched, keep the tuple unless it clashes. */
  private nullSrcBinding(c: Conn, pkt: Packet): void {
    const m = this.mapped(c);
    if (!this.ct.tupleTaken(invertTuple(m), c, this.ns.world.now)) return;
    const port = this.chooseSourcePort(c, c.orig.src, undefined, false);
    c.snat = { addr: c.orig.src, port };
    c.reply = invertTuple(this.mapped(c));
    if (this.tracing) this.hop(pkt, `conntrack: reply tuple clashes with another flow, source port remapped ${c.orig.sport} → ${port}`, 'nat');
  }

  // ───────────────────────────── chains ─────────────────────────────

  private makeCtx(table: TableName, hook: NfHook, pkt: Packet, inDev: NetDevice | null, outDev: NetDevice | null, ctInfo: CtInfo, bridged: boolean, physIn: string, physOut: string): EvalCtx {
    return {
      hook,
      table,
      pkt,
      info: readInfo(pkt, inDev, outDev, bridged, physIn, physOut),
      inDev,
      outDev,
      ctInfo,
      path: this.tracing ? [] : null,
      nat: undefined,
      dry: null,
      mark: pkt.mark,
      ctMask: -1,
    };
  }

  private traverse(table: TableName, hook: NfHook, pkt: Packet, inDev: NetDevice | null, outDev: NetDevice | null, ctInfo: CtInfo, bridged: boolean, physIn: string, physOut: string): Outcome {
    const builtin = this.builtin(table, hook);
    if (builtin === undefined) return 'accept';
    if (builtin.rules.length === 0) {
      // an empty built-in chain: only its policy counts
      this.counters.hitPolicy(builtin, pkt.len - 14);
      if (builtin.policy === 'DROP') return 'drop';
      return 'accept';
    }
    const ctx = this.makeCtx(table, hook, pkt, inDev, outDev, ctInfo, bridged, physIn, physOut);
    return this.evalChain(ctx, HOOK_NAMES[hook]!);
  }

  /** Walks a built-in chain and whatever it jumps to; first match wins. */
  private evalChain(ctx: EvalCtx, builtin: string): Outcome {
    const table = this.ruleset.tables[ctx.table];
    if (table === undefined) return 'accept';
    const start = this.builtin(ctx.table, ctx.hook);
    if (start === undefined) return 'accept';
    // allocated on the first jump: most traversals never leave the built-in chain
    let stack: Array<{ chain: Chain; index: number }> | null = null;
    let chain = start;
    let plan = planOf(chain);
    let idx = this.indexing ? plan.index : null;
    let i = 0;
    const bytes = ctx.pkt.len - 14;
    const info = ctx.info;
    let guard = 0;
    for (;;) {
      if (++guard > 1_000_000) throw new Error(`iptables ${ctx.table}/${builtin}: rule loop`);
      if (i >= chain.rules.length) {
        const frame = stack?.pop();
        if (frame === undefined) return this.policy(ctx, start, bytes);
        chain = frame.chain;
        plan = planOf(chain);
        idx = this.indexing ? plan.index : null;
        i = frame.index;
        continue;
      }
      if (idx !== null) {
        const seg = idx.segmentOf[i];
        if (seg != null) {
          // an indexed run: go straight to the next rule that tests this packet's key
          const next = nextCandidate(seg, i, info.dst, info.proto, info.fragOff === 0 ? info.dport : -1);
          if (next !== i) {
            i = next;
            continue;
          }
        }
      }
      const rule = chain.rules[i]!;
      if (!this.matchesAll(plan.tests[i]!, rule, chain, i, ctx)) {
        i++;
        continue;
      }
      if (ctx.dry === null) this.counters.hit(chain, i, bytes);
      const t = rule.target;
      if (ctx.path !== null) ctx.path.push((plan.names[i] ??= describeRule(chain, i, rule)));
      if (t === undefined) {
        i++;
        continue;
      }
      switch (t.kind) {
        case 'ACCEPT':
          this.finish(ctx, builtin, 'ACCEPT');
          return 'accept';
        case 'DROP':
          this.finish(ctx, builtin, 'DROP');
          return 'drop';
        case 'REJECT':
          this.finish(ctx, builtin, `REJECT --reject-with ${t.with}`);
          if (ctx.dry === null) this.reject(ctx, t.with);
          return 'drop';
        case 'RETURN': {
          const frame = stack?.pop();
          if (frame === undefined) return this.policy(ctx, start, bytes);
          chain = frame.chain;
          plan = planOf(chain);
          idx = this.indexing ? plan.index : null;
          i = frame.index;
          continue;
        }
        case 'jump':
        case 'goto': {
          const next = getChain(table, t.chain);
          if (next === undefined) throw new Error(`iptables ${ctx.table}: rule jumps to missing chain ${t.chain}`);
          if (t.kind === 'jump') (stack ??= []).push({ chain, index: i + 1 });
          chain = next;
          plan = planOf(chain);
          idx = this.indexing ? plan.index : null;
          i = 0;
          continue;
        }
        case 'DNAT':
        case 'SNAT':
        case 'MASQUERADE':
          if (ctx.table === 'nat') ctx.nat = { kind: t.kind, target: t };
          // the verdict text is only read by traces and dry runs: not made per packet otherwise
          if (ctx.path !== null || ctx.dry !== null) this.finish(ctx, builtin, formatTarget(t).trim());
          return 'accept';
        case 'MARK':
          ctx.mark = ((ctx.mark & ~t.mask) ^ t.value) >>> 0;
          if (ctx.dry === null) ctx.pkt.mark = ctx.mark;
          i++;
          continue;
        case 'CONNMARK': {
          const c = ctx.pkt.ct;
          if (c instanceof Conn && ctx.dry === null) {
            if (t.mode === 'set') c.mark = ((c.mark & ~t.mask) ^ t.value) >>> 0;
            else if (t.mode === 'save') c.mark = ((c.mark & ~t.ctmask) | (ctx.pkt.mark & t.nfmask)) >>> 0;
            else ctx.pkt.mark = ((ctx.pkt.mark & ~t.nfmask) | (c.mark & t.ctmask)) >>> 0;
          }
          i++;
          continue;
        }
        case 'NOTRACK':
        case 'CT':
          if (ctx.dry === null) ctx.pkt.ct = UNTRACKED;
          i++;
          continue;
        case 'LOG':
          if (this.tracing) this.hop(ctx.pkt, `LOG ${JSON.stringify(t.prefix)} in ${ctx.table}/${chain.name}`);
          i++;
          continue;
      }
    }
  }

  private policy(ctx: EvalCtx, start: Chain, bytes: number): Outcome {
    if (ctx.dry === null) this.counters.hitPolicy(start, bytes);
    const p = start.policy ?? 'ACCEPT';
    if (ctx.path !== null && (ctx.path.length > 0 || p === 'DROP')) this.finish(ctx, start.name, `policy ${p}`);
    return p === 'DROP' ? 'drop' : 'accept';
  }

  private finish(ctx: EvalCtx, builtin: string, verdict: string): void {
    ctx.verdict = verdict;
    if (ctx.path === null || ctx.dry !== null) return;
    const path = ctx.path.join(' → ');
    this.hop(ctx.pkt, `iptables ${ctx.table}/${builtin}${ctx.info.bridged ? ' (bridged)' : ''}: ${path}${path ? ' ⇒ ' : ''}${verdict}`, 'nf', { table: ctx.table, chain: builtin, verdict });
  }

  private reject(ctx: EvalCtx, how: string): void {
    const stack = this.ns.stack;
    const codes: Record<string, number> = {
      'icmp-net-unreachable': 0,
      'icmp-host-unreachable': 1,
      'icmp-proto-unreachable': 2,
      'icmp-port-unreachable': 3,
      'icmp-net-prohibited': 9,
      'icmp-host-prohibited': 10,
      'icmp-admin-prohibited': 13,
    };
    if (how === 'tcp-reset') {
      stack.sendTcpReset(ctx.pkt);
      return;
    }
    stack.sendIcmpError(ctx.pkt, 3, codes[how] ?? 3, 0);
  }

  // ───────────────────────────── matches ─────────────────────────────

  private matchesAll(ms: readonly Match[], rule: Rule, chain: Chain, index: number, ctx: EvalCtx): boolean {
    for (let k = 0; k < ms.length; k++) if (!this.match(ms[k]!, rule, chain, index, ctx)) return false;
    return true;
  }

  private match(m: Match, rule: Rule, chain: Chain, index: number, ctx: EvalCtx): boolean {
    const p = ctx.info;
    switch (m.kind) {
      case 'src':
        return inPrefix(p.src, m.cidr.addr, m.cidr.len) !== m.invert;
      case 'dst':
        return inPrefix(p.dst, m.cidr.addr, m.cidr.len) !== m.invert;
      case 'in':
        return ifaceMatches(p.inName, m.prefix, m.wildcard) !== m.invert;
      case 'out':
        return ifaceMatches(p.outName, m.prefix, m.wildcard) !== m.invert;
      case 'proto':
        return (p.proto === m.proto) !== m.invert;
      case 'frag':
        return (p.fragOff !== 0) !== m.invert;
      case 'comment':
      case 'nfacct':
        return true;
      case 'tcp':
        if (p.proto !== IPPROTO_TCP || p.fragOff !== 0) return false;
        if (m.sport && inRange(p.sport, m.sport) === m.sport.invert) return false;
        if (m.dport && inRange(p.dport, m.dport) === m.dport.invert) return false;
        if (m.flags && ((p.tcpFlags & m.flags.mask) === m.flags.cmp) === m.flags.invert) return false;
        if (m.option) return tcpHasOption(ctx.pkt, m.option.option) !== m.option.invert;
        return true;
      case 'udp':
      case 'sctp':
        if (p.proto !== (m.kind === 'udp' ? IPPROTO_UDP : 132) || p.fragOff !== 0) return false;
        if (m.sport && inRange(p.sport, m.sport) === m.sport.invert) return false;
        if (m.dport && inRange(p.dport, m.dport) === m.dport.invert) return false;
        return true;
      case 'icmp':
        if (p.proto !== IPPROTO_ICMP || p.fragOff !== 0) return false;
        return (m.type === 255 || (p.icmpType === m.type && p.icmpCode >= m.codeMin && p.icmpCode <= m.codeMax)) !== m.invert;
      case 'multiport': {
        if (p.fragOff !== 0 || (p.proto !== IPPROTO_TCP && p.proto !== IPPROTO_UDP && p.proto !== 132)) return false;
        const hit = m.ports.some((r) => (m.dir !== 'dst' && inRange(p.sport, r)) || (m.dir !== 'src' && inRange(p.dport, r)));
        return hit !== m.invert;
      }
      case 'statistic':
        if (m.mode === 'random') {
          if (ctx.dry !== null) return ctx.dry.decide(m.probability) !== m.invert;
          const forced = this.statisticDecider?.(chain, index, m.probability, ctx.pkt);
          // xt_statistic: (get_random_u32() & 0x7fffffff) < stored probability
          const hit = forced ?? (this.rng.nextU32() & 0x7fffffff) < m.probability;
          return hit !== m.invert;
        } else {
          if (ctx.dry !== null) return ctx.dry.decide(Math.round(0x80000000 / m.every)) !== m.invert;
          const n = this.nth.get(rule) ?? 0;
          const hit = n === m.packet;
          this.nth.set(rule, (n + 1) % m.every);
          return hit !== m.invert;
        }
      case 'recent':
        return this.recentMatch(m, ctx) !== m.invert;
      case 'mark':
        return ((ctx.mark & m.mask) === m.value) !== m.invert;
      case 'addrtype':
        if (m.src && this.addrTypeIs(p.src, m.src.types, m.limitIfaceIn ? ctx.inDev : null) === m.src.invert) return false;
        if (m.dst && this.addrTypeIs(p.dst, m.dst.types, m.limitIfaceOut ? ctx.outDev : null) === m.dst.invert) return false;
        return true;
      case 'conntrack':
        return this.conntrackMatch(m, ctx);
      case 'state':
        return (this.ctMask(ctx) & maskOf(m.states)) !== 0 !== m.invert;
      case 'physdev': {
        if (m.isBridged && p.bridged === m.isBridged.invert) return false;
        if (m.isIn && (p.physIn !== '') === m.isIn.invert) return false;
        if (m.isOut && (p.physOut !== '') === m.isOut.invert) return false;
        if (m.in && physdevName(p.physIn, m.in.name) === m.in.invert) return false;
        if (m.out && physdevName(p.physOut, m.out.name) === m.out.invert) return false;
        return true;
      }
    }
  }

  private addrTypeIs(addr: Ipv4Addr, types: readonly AddrType[], dev: NetDevice | null): boolean {
    let type: AddrType;
    if ((addr >>> 28) === 0xe) type = 'MULTICAST';
    else if (addr === 0xffffffff) type = 'BROADCAST';
    else {
      const r = this.ns.fib.local.lookup(addr);
      if (r !== undefined && (dev === null || r.dev === dev || r.type !== 'local')) {
        type = r.type === 'local' ? 'LOCAL' : r.type === 'broadcast' ? 'BROADCAST' : 'UNICAST';
      } else {
        const m = this.ns.fib.main.lookup(addr);
        type = m === undefined ? 'UNREACHABLE' : m.type === 'blackhole' ? 'BLACKHOLE' : m.type === 'unreachable' ? 'UNREACHABLE' : m.type === 'prohibit' ? 'PROHIBIT' : 'UNICAST';
      }
    }
    return types.includes(type);
  }

  /** The packet's conntrack states as a bitmask (computed once per traversal). */
  private ctMask(ctx: EvalCtx): number {
    if (ctx.ctMask >= 0) return ctx.ctMask;
    let m = CTINFO_BIT[ctx.ctInfo]!;
    const c = ctx.pkt.ct;
    if (c instanceof Conn) {
      if (c.snat) m |= STATE_BIT.SNAT;
      if (c.dnat) m |= STATE_BIT.DNAT;
    }
    ctx.ctMask = m;
    return m;
  }

  private conntrackMatch(m: ConntrackMatch, ctx: EvalCtx): boolean {
    const c = ctx.pkt.ct;
    if (m.state && ((this.ctMask(ctx) & maskOf(m.state.states)) !== 0) === m.state.invert) return false;
    const needConn = m.proto || m.origSrc || m.origDst || m.replSrc || m.replDst || m.origSrcPort || m.origDstPort || m.replSrcPort || m.replDstPort || m.status || m.expire || m.dir;
    if (!needConn) return true;
    if (!(c instanceof Conn)) return false;
    if (m.proto && (c.orig.proto === m.proto.proto) === m.proto.invert) return false;
    const addr = (a: ConntrackMatch['origSrc'], v: Ipv4Addr): boolean => a === undefined || inPrefix(v, (a.addr & prefixMask(a.len)) >>> 0, a.len) !== a.invert;
    if (!addr(m.origSrc, c.orig.src) || !addr(m.origDst, c.orig.dst) || !addr(m.replSrc, c.reply.src) || !addr(m.replDst, c.reply.dst)) return false;
    const port = (r: ConntrackMatch['origSrcPort'], v: number): boolean => r === undefined || inRange(v, r) !== r.invert;
    if (!port(m.origSrcPort, c.orig.sport) || !port(m.origDstPort, c.orig.dport) || !port(m.replSrcPort, c.reply.sport) || !port(m.replDstPort, c.reply.dport)) return false;
    if (m.status) {
      const st: string[] = [];
      if (c.seenReply) st.push('SEEN_REPLY');
      if (c.assured) st.push('ASSURED');
      if (c.confirmed) st.push('CONFIRMED');
      const hit = m.status.statuses.length === 0 ? st.length === 0 : m.status.statuses.some((s) => st.includes(s));
      if (hit === m.status.invert) return false;
    }
    if (m.expire) {
      const left = Math.max(0, Math.floor((c.expires - this.ns.world.now) / 1e9));
      if ((left >= m.expire.min && left <= m.expire.max) === m.expire.invert) return false;
    }
    if (m.dir && (m.dir === 'REPLY') !== ctx.pkt.ctReply) return false;
    return true;
  }

  /** xt_recent. */
  private recentMatch(m: Extract<Match, { kind: 'recent' }>, ctx: EvalCtx): boolean {
    let list = this.recent.get(m.name);
    if (list === undefined) {
      list = new Map();
      this.recent.set(m.name, list);
    }
    const addr = ((m.side === 'source' ? ctx.info.src : ctx.info.dst) & m.mask) >>> 0;
    const now = this.ns.world.now;
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
      if (this.tracing) this.hop(ctx.pkt, `recent ${m.name}: set ${formatIpv4(addr)}`);
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

  /**
   * Every way a packet can go through `table` at `hook`, with exact probabilities: each
   * `-m statistic` match is taken both ways (probability p and 1 − p, p = stored / 2^31).
   * Nothing is counted or recorded. Used by `podnet trace --all-paths`.
   */
  explore(table: TableName, hook: NfHook, pkt: Packet, inDev: NetDevice | null, outDev: NetDevice | null, limit = 4096, bridged = false, physIn = '', physOut = ''): ExploredPath[] {
    const out: ExploredPath[] = [];
    const prefixes: boolean[][] = [[]];
    while (prefixes.length > 0 && out.length < limit) {
      const prefix = prefixes.pop()!;
      let depth = 0;
      let probability = 1;
      const taken: boolean[] = [];
      const ctx = this.makeCtx(table, hook, pkt, inDev, outDev, this.currentCtInfo(pkt), bridged, physIn, physOut);
      ctx.path = [];
      ctx.dry = {
        decide: (stored: number): boolean => {
          const p = stored / 0x80000000;
          let choice: boolean;
          if (depth < prefix.length) choice = prefix[depth]!;
          else {
            choice = true;
            prefixes.push([...taken, false]);
          }
          depth++;
          taken.push(choice);
          probability *= choice ? p : 1 - p;
          return choice;
        },
      };
      const verdict = this.evalChain(ctx, HOOK_NAMES[hook]!);
      if (probability > 0) out.push({ probability, verdict: ctx.verdict ?? verdict.toUpperCase(), nat: ctx.nat?.target, rules: ctx.path });
    }
    return out;
  }

  /** The entries of a `-m recent` list (`/proc/net/xt_recent/NAME`). */
  recentList(name: string): Array<{ addr: Ipv4Addr; hits: number; last: number }> {
    const list = this.recent.get(name);
    if (list === undefined) return [];
    return [...list.entries()].map(([addr, e]) => ({ addr, hits: e.times.length, last: e.times[e.times.length - 1] ?? 0 }));
  }

  /** Names of the `-m recent` lists that exist. */
  recentNames(): string[] {
    return [...this.recent.keys()];
  }
}

/** Marker for packets exempt from connection tracking (NOTRACK). */
export const UNTRACKED: unknown = Object.freeze({ untracked: true });

function portOf(pkt: Packet, side: 'src' | 'dst'): number {
  const ip = new Ipv4View(pkt.buf, pkt.l3);
  const proto = ip.protocol;
  if ((proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) || ip.fragOffset !== 0) return -1;
  const o = ip.payloadOffset + (side === 'src' ? 0 : 2);
  return (pkt.buf[o]! << 8) | pkt.buf[o + 1]!;
}

function tupleText(t: Tuple): string {
  return `${formatIpv4(t.src)}:${t.sport} → ${formatIpv4(t.dst)}:${t.dport}`;
}

function readInfo(pkt: Packet, inDev: NetDevice | null, outDev: NetDevice | null, bridged: boolean, physIn: string, physOut: string): PktInfo {
  const buf = pkt.buf;
  const ip = new Ipv4View(buf, pkt.l3);
  const proto = ip.protocol;
  const fragOff = ip.fragOffset;
  const l4 = ip.payloadOffset;
  let sport = 0;
  let dport = 0;
  let tcpFlags = 0;
  let icmpType = 0;
  let icmpCode = 0;
  if (fragOff === 0) {
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === 132) {
      sport = (buf[l4]! << 8) | buf[l4 + 1]!;
      dport = (buf[l4 + 2]! << 8) | buf[l4 + 3]!;
      if (proto === IPPROTO_TCP) tcpFlags = buf[l4 + 13]! & 0x3f;
    } else if (proto === IPPROTO_ICMP) {
      icmpType = buf[l4]!;
      icmpCode = buf[l4 + 1]!;
    }
  }
  return {
    src: ip.src,
    dst: ip.dst,
    proto,
    sport,
    dport,
    tcpFlags,
    icmpType,
    icmpCode,
    fragOff,
    len: ip.totalLength,
    inName: inDev?.name ?? '',
    outName: outDev?.name ?? '',
    physIn,
    physOut,
    bridged,
  };
}

/** `--physdev-in/out NAME`, where a trailing `+` is a wildcard. */
function physdevName(name: string, pattern: string): boolean {
  return pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

function ifaceMatches(name: string, prefix: string, wildcard: boolean): boolean {
  return wildcard ? name.startsWith(prefix) : name === prefix;
}

function inRange(v: number, r: { min: number; max: number }): boolean {
  return v >= r.min && v <= r.max;
}

function tcpHasOption(pkt: Packet, kind: number): boolean {
  const ip = new Ipv4View(pkt.buf, pkt.l3);
  const l4 = ip.payloadOffset;
  const hlen = (pkt.buf[l4 + 12]! >>> 4) * 4;
  for (let o = l4 + 20; o < l4 + hlen; ) {
    const k = pkt.buf[o]!;
    if (k === kind) return true;
    if (k === 0) break;
    if (k === 1) {
      o++;
      continue;
    }
    const len = pkt.buf[o + 1]!;
    if (len < 2) break;
    o += len;
  }
  return false;
}

/** `CHAIN#n "comment" → target` for traces. */
function describeRule(chain: Chain, index: number, rule: Rule): string {
  const comment = rule.matches.find((m): m is Extract<Match, { kind: 'comment' }> => m.kind === 'comment');
  const t = rule.target;
  const target = t === undefined ? '(no target)' : t.kind === 'jump' ? t.chain : t.kind === 'goto' ? `goto ${t.chain}` : t.kind;
  return `${chain.name}#${index + 1}${comment ? ` "${comment.text}"` : ''}${t && (t.kind === 'jump' || t.kind === 'goto') ? ` → ${target}` : ''}`;
}
