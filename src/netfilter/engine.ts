/**
 * The netfilter of one netns: the IPv4 hooks at the kernel's priorities (defrag −400, raw −300,
 * conntrack −200, mangle −150, nat dst −100, filter 0, nat src 100, confirm last), iptables
 * chain traversal with first-match semantics, jumps, gotos and RETURN, per-rule counters, and
 * NAT decided once per flow by conntrack. Matches and targets are the extension modules'
 * (registry.ts): each chain's rules are planned once with their modules' evaluate functions
 * bound, and a hook run hands them one hook state instead of its arguments.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { formatIpv4 } from '../wire/addr.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, Ipv4View } from '../wire/ipv4.js';
import { IcmpView } from '../wire/icmp.js';
import type { NetDevice } from '../net/device.js';
import type { Packet } from '../net/packet.js';
import type { NetNs } from '../net/netns.js';
import { NfHook } from '../net/stack.js';
import type { NetfilterHooks } from '../net/stack.js';
import { Reassembler } from '../net/frag.js';
import type { Rng } from '../sim/rng.js';
import type { Chain, PortRange, Rule, Ruleset, TableName } from './rules.js';
import { Counters, getChain } from './rules.js';
import { Conn, Conntrack, CtInfo, UNTRACKED, invertTuple } from './conntrack.js';
import type { Tuple } from './conntrack.js';
import { manipIcmpError, manipIpv4 } from './nat.js';
import { chainIndex, nextCandidate } from './chain-index.js';
import type { ChainIndex } from './chain-index.js';
import type { PerNetKey, RuleSite, TargetExtension } from './extension.js';
import { HookState, type EvalContext, type Traversal } from './hook-state.js';
import type { BodyOf, CtStateName, RuleRef } from '../events/hop.js';
import { tupleRef } from './conntrack.js';
import { matchKind, targetExtension, type ExtensionTarget, type Match, type Target } from './registry.js';
import { ruleComment } from './match/comment.js';
import { RECENT_LISTS, recentEntries } from './match/recent.js';

export { UNTRACKED } from './conntrack.js';

/** Where a chain traversal ended. */
type Outcome = 'accept' | 'drop' | 'stolen';

/** One way through a table's chains (for `podnet trace --all-paths`). */
export interface ExploredPath {
  /** Exact probability of this path (the product of the statistic decisions taken). */
  readonly probability: number;
  readonly verdict: string;
  /** DNAT/SNAT target chosen, if any. */
  readonly nat: Target | undefined;
  /** Rules that matched, in order. */
  readonly rules: readonly RuleRef[];
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

// ───────────────────────────── chain plans ─────────────────────────────

/** A match module's evaluate, bound into a plan. */
type MatchFn = (m: Match, ctx: EvalContext, site: RuleSite) => boolean;
/** A target module's evaluate, bound into a plan. */
type TargetFn = (t: Target, ctx: EvalContext, site: RuleSite) => void;

/** What the traversal does once a rule matched. */
const enum Step {
  /** No target: the rule only counts. */
  Count,
  /** A target that lets the traversal go on (MARK, LOG, …). */
  Continue,
  Accept,
  Drop,
  Return,
  Jump,
  Goto,
}

const STEP_OF_VERDICT = { continue: Step.Continue, accept: Step.Accept, drop: Step.Drop, return: Step.Return } as const;

/** One rule of a chain plan: its tests and target with their modules' functions bound (the rule's site for them). */
class PlannedRule implements RuleSite {
  /** The rule as events name it, made when first needed. */
  traced: RuleRef | undefined = undefined;
  private verdictTextValue: string | undefined = undefined;

  constructor(
    readonly chain: Chain,
    readonly index: number,
    readonly rule: Rule,
    /** The matches that can fail (comment and nfacct left out: kube-proxy comments most rules). */
    readonly tests: readonly MatchFn[],
    readonly testArgs: readonly Match[],
    readonly step: Step,
    readonly run: TargetFn | null,
    private readonly ext: TargetExtension<ExtensionTarget> | undefined,
  ) {}

  /** The verdict of an accept/drop target as traces print it after `⇒` (made once). */
  verdictText(): string {
    if (this.verdictTextValue === undefined) {
      const t = this.rule.target as ExtensionTarget;
      const ext = this.ext!;
      this.verdictTextValue = ext.verdictText !== undefined ? ext.verdictText(t) : ext.print(t).trim();
    }
    return this.verdictTextValue;
  }
}

/** What evaluating a chain needs, built once per (shared, immutable) Chain object. */
interface ChainPlan {
  readonly index: ChainIndex | null;
  readonly rules: readonly PlannedRule[];
}

const plans = new WeakMap<Chain, ChainPlan>();

function planRule(chain: Chain, index: number, rule: Rule): PlannedRule {
  const tests: MatchFn[] = [];
  const args: Match[] = [];
  for (const m of rule.matches) {
    const ext = matchKind(m.kind);
    if (ext.alwaysMatches === true) continue;
    tests.push(ext.evaluate);
    args.push(m);
  }
  const t = rule.target;
  if (t === undefined) return new PlannedRule(chain, index, rule, tests, args, Step.Count, null, undefined);
  if (t.kind === 'jump' || t.kind === 'goto') {
    return new PlannedRule(chain, index, rule, tests, args, t.kind === 'jump' ? Step.Jump : Step.Goto, null, undefined);
  }
  const ext = targetExtension(t.kind);
  if (ext === undefined) throw new Error(`no target extension for "${t.kind}"`);
  return new PlannedRule(chain, index, rule, tests, args, STEP_OF_VERDICT[ext.verdict], ext.evaluate as TargetFn, ext);
}

function planOf(chain: Chain): ChainPlan {
  let p = plans.get(chain);
  if (p === undefined) {
    p = { index: chainIndex(chain), rules: chain.rules.map((r, i) => planRule(chain, i, r)) };
    plans.set(chain, p);
  }
  return p;
}

/** A rule as events name it. */
function traceRule(pr: PlannedRule): RuleRef {
  const t = pr.rule.target;
  const chained = t !== undefined && (t.kind === 'jump' || t.kind === 'goto');
  return {
    chain: pr.chain.name,
    index: pr.index + 1,
    comment: ruleComment(pr.rule.matches),
    target: t === undefined ? undefined : chained ? t.chain : t.kind,
    jump: chained ? t.kind : undefined,
  };
}

const CT_STATE_NAMES: readonly CtStateName[] = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'];

/** The nat table's decision for a connection's first packet, while its target sets the binding up. */
interface NatDecision {
  readonly hook: string;
  readonly bridged: boolean;
  readonly rules: readonly RuleRef[];
}

const NO_RULES: readonly RuleRef[] = Object.freeze([]);

/** The NAT setup of a chosen target, if its module has one. */
function natSetupOf(t: Target | undefined): TargetExtension<ExtensionTarget>['nat'] {
  if (t === undefined || t.kind === 'jump' || t.kind === 'goto') return undefined;
  return targetExtension(t.kind)?.nat;
}

// ───────────────────────────── the netfilter of a netns ─────────────────────────────

/** Netfilter for one network namespace. */
export class Netfilter implements NetfilterHooks {
  readonly ct = new Conntrack();
  readonly counters = new Counters();
  /** The netns's netfilter RNG (statistic matches, NAT range and port choices). */
  readonly rng: Rng;
  private readonly defrag: Reassembler;
  private readonly perNetData = new Map<PerNetKey<unknown>, unknown>();
  /** One hook state per nesting level of hook runs, reused. */
  private readonly frames: HookState[] = [];
  private depth = 0;
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
    this.hookTables = HOOK_NAMES.map((_, h) =>
      HOOK_TABLES[h as NfHook].filter((t) => t !== 'raw' && (t === 'nat' || this.rulesetValue.tables[t] !== undefined)),
    );
    this.builtins = TABLE_INDEX.map((t) => {
      const table = this.rulesetValue.tables[t];
      return HOOK_NAMES.map((h) => (table === undefined ? undefined : getChain(table, h)));
    });
  }

  private builtin(table: TableName, hook: NfHook): Chain | undefined {
    return this.builtins[TABLE_INDEX.indexOf(table)]![hook];
  }

  /** True when trace text is wanted (hop events or capture comments). */
  get tracing(): boolean {
    return this.ns.world.tracer.active;
  }

  /** An extension's per-netns data (net_generic), made on first use. */
  perNet<T>(key: PerNetKey<T>): T {
    let v = this.perNetData.get(key as PerNetKey<unknown>) as T | undefined;
    if (v === undefined) {
      v = key.create();
      this.perNetData.set(key as PerNetKey<unknown>, v);
    }
    return v;
  }

  /** A netfilter or conntrack event of a packet (to hop sinks and the packet's capture notes). */
  event(pkt: Packet, body: BodyOf<'nf'> | BodyOf<'nat'>): void {
    this.ns.trace(body, pkt, undefined);
  }

  /** The nat decision being set up (between the nat table's verdict and its target's binding). */
  private decision: NatDecision | null = null;

  /** nf_hook_state_init: the hook state of a new (possibly nested) hook run. */
  private enter(
    hook: NfHook,
    inDev: NetDevice | null,
    outDev: NetDevice | null,
    bridged: boolean,
    physIn: string,
    physOut: string,
  ): HookState {
    let s = this.frames[this.depth];
    if (s === undefined) {
      s = new HookState(this);
      this.frames.push(s);
    }
    this.depth++;
    return s.init(hook, inDev, outDev, bridged, physIn, physOut);
  }

  /** NetfilterHooks: the IPv4 hook pipeline. */
  run(hook: NfHook, pkt: Packet, inDev: NetDevice | null, outDev: NetDevice | null): Packet | null {
    return this.runHook(hook, pkt, inDev, outDev, false);
  }

  /**
   * Runs `hook` for a packet; `bridged` marks br_netfilter calls (in/out are the bridge and
   * `-m physdev` sees the ports).
   */
  runHook(
    hook: NfHook,
    pkt: Packet,
    inDev: NetDevice | null,
    outDev: NetDevice | null,
    bridged: boolean,
    physIn = '',
    physOut = '',
  ): Packet | null {
    const state = this.enter(hook, inDev, outDev, bridged, physIn, physOut);
    try {
      return this.hookRun(state, pkt);
    } finally {
      this.depth--;
    }
  }

  private hookRun(state: HookState, pkt: Packet): Packet | null {
    const hook = state.hook;
    const now = this.ns.world.now;
    if (hook === NfHook.PreRouting || hook === NfHook.LocalOut) {
      // nf_defrag_ipv4 (−400): conntrack needs whole datagrams
      const ip = new Ipv4View(pkt.buf, pkt.l3);
      if (ip.isFragment) {
        const whole = this.defrag.add(pkt);
        if (whole === null) return null;
        if (this.tracing)
          this.event(whole, { kind: 'nf', what: 'defrag', len: whole.len - 14, largest: whole.fragMaxSize });
        pkt = whole;
      }
      if (pkt.ct === UNTRACKED) state.ctInfo = CtInfo.Untracked;
      else {
        // raw table first (it may NOTRACK), then nf_conntrack_in (−200)
        if (this.hasTable('raw')) {
          state.ctInfo = CtInfo.Untracked;
          const r = this.traverse(state, 'raw', pkt);
          if (r !== 'accept') return r === 'drop' ? this.dropped(pkt, 'raw', hook) : null;
        }
        if (pkt.ct === UNTRACKED) state.ctInfo = CtInfo.Untracked;
        else {
          state.ctInfo = this.ct.in(pkt, now);
          if (this.tracing) {
            const killed = this.ct.killed;
            if (killed !== null) this.event(pkt, { kind: 'nat', what: 'reopen', entry: killed.ref() });
            if (pkt.ct !== null) this.traceCt(pkt, state.ctInfo);
          }
        }
      }
    } else {
      state.ctInfo = this.currentCtInfo(pkt);
    }
    for (const table of this.hookTables[hook]!) {
      if (table === 'nat') {
        if (!this.natHook(state, pkt)) return this.dropped(pkt, 'nat', hook);
        continue;
      }
      const r = this.traverse(state, table, pkt);
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
          if (joined !== undefined)
            this.event(pkt, { kind: 'nat', what: 'confirm', entry: joined.ref(), clash: 'joined' });
          else
            this.event(pkt, {
              kind: 'nat',
              what: 'confirm',
              entry: c.ref(),
              clash: c.fixedTimeout ? 'reply-only' : undefined,
            });
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
    const created = info === CtInfo.New && !c.confirmed;
    this.event(pkt, {
      kind: 'nat',
      what: 'lookup',
      ctstate: CT_STATE_NAMES[info]!,
      created,
      reply: pkt.ctReply,
      entry: c.ref(),
    });
  }

  private dropped(pkt: Packet, table: string, hook: NfHook, clash = false): null {
    this.ns.stack.drop(
      pkt,
      clash ? { what: 'conntrack-clash' } : { what: 'netfilter', table, hook: HOOK_NAMES[hook]! },
    );
    return null;
  }

  private hasTable(t: TableName): boolean {
    return this.ruleset.tables[t] !== undefined;
  }

  // ───────────────────────────── NAT ─────────────────────────────

  /** nf_nat_inet_fn: decide the mapping on a flow's first packet, then apply it to this packet. */
  private natHook(state: HookState, pkt: Packet): boolean {
    const c = pkt.ct;
    if (!(c instanceof Conn)) return true;
    const hook = state.hook;
    const dstManip = hook === NfHook.PreRouting || hook === NfHook.LocalOut;
    if (!pkt.ctReply && !pkt.ctRelated && !c.confirmed) {
      const done = dstManip ? c.dstManipDone : c.srcManipDone;
      if (!done) {
        let chosen: Target | undefined;
        if (this.explorer !== null && dstManip && this.hasTable('nat')) {
          this.explorer(this.exploreAs(state, 'nat', pkt, 4096), HOOK_NAMES[hook]!, pkt);
        }
        // the rules behind a binding are kept for traces and for flows whose bindings are recorded
        const keep = this.tracing || this.ns.world.tracer.records(pkt.flow);
        let rules = NO_RULES;
        if (this.hasTable('nat')) {
          const ctx = state.traversal('nat', pkt);
          if (keep) ctx.path = [];
          const r = this.evalChain(ctx, HOOK_NAMES[hook]!);
          if (r === 'drop') return false;
          chosen = ctx.nat;
          if (ctx.path !== null) rules = ctx.path;
        }
        // the chosen target's module sets the binding up (nf_nat_setup_info) for its side only
        const setup = natSetupOf(chosen);
        this.decision = keep ? { hook: HOOK_NAMES[hook]!, bridged: state.bridged, rules } : null;
        if (dstManip) {
          c.dstManipDone = true;
          if (setup?.manip === 'dst') setup.setup(chosen as ExtensionTarget, c, pkt, state);
        } else {
          c.srcManipDone = true;
          if (setup?.manip === 'src') setup.setup(chosen as ExtensionTarget, c, pkt, state);
          else this.nullSrcBinding(c, pkt);
        }
        this.decision = null;
      }
    }
    this.applyNat(c, pkt, dstManip);
    return true;
  }

  /** Rewrites the packet according to the connection's bindings (both directions). */
  private applyNat(c: Conn, pkt: Packet, dstManip: boolean): void {
    const reply = pkt.ctReply;
    // the destination hooks rewrite the destination, the source hooks the source
    const side = dstManip ? 'dst' : 'src';
    let to: { addr: Ipv4Addr; port: number } | undefined;
    if (!reply) to = dstManip ? c.dnat : c.snat;
    // replies are un-SNATed on the way in (dst) and un-DNATed on the way out (src)
    else if (dstManip) to = c.snat && { addr: c.orig.src, port: c.orig.sport };
    else to = c.dnat && { addr: c.orig.dst, port: c.orig.dport };
    if (to === undefined) return;
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    if (pkt.ctRelated) {
      const before = this.tracing
        ? { src: formatIpv4(ip.src), dst: formatIpv4(ip.dst), sport: 0, dport: 0 }
        : undefined;
      manipIcmpError(pkt.buf, pkt.l3, side === 'src', to.addr, to.port, (b, l4, len) =>
        new IcmpView(b, l4).fillChecksum(len),
      );
      if (before !== undefined) {
        const after = { src: formatIpv4(ip.src), dst: formatIpv4(ip.dst), sport: 0, dport: 0 };
        this.event(pkt, { kind: 'nat', what: 'related', before, after });
      }
      return;
    }
    const oldAddr = side === 'src' ? ip.src : ip.dst;
    const oldPort = portOf(pkt, side);
    manipIpv4(pkt.buf, pkt.l3, side === 'src', to.addr, to.port);
    if (this.tracing) {
      const op = reply ? (side === 'dst' ? 'un-SNAT' : 'un-DNAT') : side === 'dst' ? 'DNAT' : 'SNAT';
      const from = oldPort >= 0 ? `${formatIpv4(oldAddr)}:${oldPort}` : formatIpv4(oldAddr);
      const toText = oldPort >= 0 ? `${formatIpv4(to.addr)}:${to.port}` : formatIpv4(to.addr);
      this.event(pkt, { kind: 'nat', what: 'rewrite', op, side, from, to: toText });
    }
  }

  /** nf_nat_setup_info for the destination (DNAT targets): the flow's destination becomes addr:port. */
  natBindDst(c: Conn, pkt: Packet, addr: Ipv4Addr, port: number): void {
    c.dnat = { addr, port };
    c.reply = invertTuple(this.mapped(c));
    const from = `${formatIpv4(c.orig.dst)}:${c.orig.dport}`;
    this.binding(pkt, c, 'DNAT', from, `${formatIpv4(addr)}:${port}`, undefined, false);
  }

  /**
   * nf_nat_setup_info for the source (SNAT targets): the flow's source becomes `addr` with a port
   * from `ports` that keeps the reply tuple unique; MASQUERADE names the device whose address it took.
   */
  natBindSrc(
    c: Conn,
    pkt: Packet,
    addr: Ipv4Addr,
    ports: PortRange | undefined,
    random: boolean,
    type: 'SNAT' | 'MASQUERADE',
    device: NetDevice | undefined,
    randomFully: boolean,
  ): void {
    const port = this.chooseSourcePort(c, addr, ports, random);
    c.snat = { addr, port };
    c.reply = invertTuple(this.mapped(c));
    const from = `${formatIpv4(c.orig.src)}:${c.orig.sport}`;
    this.binding(pkt, c, type, from, `${formatIpv4(addr)}:${port}`, device?.name, randomFully);
  }

  /**
   * Reports a binding: to traces, and to the flow's record when its bindings are kept (whether or not anyone traces).
   */
  private binding(
    pkt: Packet,
    c: Conn,
    type: 'DNAT' | 'SNAT' | 'MASQUERADE',
    from: string,
    to: string,
    device: string | undefined,
    randomFully: boolean,
  ): void {
    const d = this.decision;
    if (d === null) return;
    const tracer = this.ns.world.tracer;
    const reply = tupleRef(c.reply);
    const ev = {
      t: tracer.now,
      where: this.ns.label,
      dev: undefined,
      pkt: pkt.id,
      flow: pkt.flow,
      kind: 'nat',
      what: 'binding',
      type,
      from,
      to,
      reply,
      hook: d.hook,
      bridged: d.bridged,
      rules: d.rules,
      device,
      randomFully,
    } as const;
    if (tracer.active) this.ns.trace(ev, pkt, undefined);
    tracer.keep(ev);
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

  /** A source port keeping the mapped tuple unique (nf_nat_l4proto_unique_tuple). */
  private chooseSourcePort(
    c: Conn,
    addr: Ipv4Addr,
    range: { min: number; max: number } | undefined,
    random: boolean,
  ): number {
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
    if (this.tracing) this.event(pkt, { kind: 'nat', what: 'remap', from: c.orig.sport, to: port });
  }

  // ───────────────────────────── chains ─────────────────────────────

  private traverse(state: HookState, table: TableName, pkt: Packet): Outcome {
    const builtin = this.builtin(table, state.hook);
    if (builtin === undefined) return 'accept';
    if (builtin.rules.length === 0) {
      // an empty built-in chain: only its policy counts
      this.counters.hitPolicy(builtin, pkt.len - 14);
      if (builtin.policy === 'DROP') return 'drop';
      return 'accept';
    }
    const ctx = state.traversal(table, pkt);
    if (this.tracing) ctx.path = [];
    return this.evalChain(ctx, HOOK_NAMES[state.hook]!);
  }

  /** Walks a built-in chain and whatever it jumps to; first match wins. */
  private evalChain(ctx: Traversal, builtin: string): Outcome {
    const table = this.ruleset.tables[ctx.table];
    if (table === undefined) return 'accept';
    const start = this.builtin(ctx.table, ctx.state.hook);
    if (start === undefined) return 'accept';
    // allocated on the first jump: most traversals never leave the built-in chain
    let stack: Array<{ chain: Chain; index: number }> | null = null;
    let chain = start;
    let plan = planOf(chain);
    let idx = this.indexing ? plan.index : null;
    let i = 0;
    const bytes = ctx.pkt.len - 14;
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
          const next = nextCandidate(seg, i, ctx.dst, ctx.proto, ctx.fragOff === 0 ? ctx.dport : -1);
          if (next !== i) {
            i = next;
            continue;
          }
        }
      }
      const pr = plan.rules[i]!;
      const tests = pr.tests;
      const args = pr.testArgs;
      let k = 0;
      while (k < tests.length && tests[k]!(args[k]!, ctx, pr)) k++;
      if (k < tests.length) {
        i++;
        continue;
      }
      if (ctx.dry === null) this.counters.hit(chain, i, bytes);
      if (ctx.path !== null) ctx.path.push((pr.traced ??= traceRule(pr)));
      switch (pr.step) {
        case Step.Count:
          i++;
          continue;
        case Step.Continue:
          pr.run!(pr.rule.target!, ctx, pr);
          i++;
          continue;
        case Step.Accept:
        case Step.Drop:
          // the verdict text is only read by traces and dry runs: not made per packet otherwise
          if (ctx.path !== null || ctx.dry !== null)
            this.finish(ctx, builtin, pr.step === Step.Accept, false, pr.verdictText());
          pr.run!(pr.rule.target!, ctx, pr);
          return pr.step === Step.Accept ? 'accept' : 'drop';
        case Step.Return: {
          const frame = stack?.pop();
          if (frame === undefined) return this.policy(ctx, start, bytes);
          chain = frame.chain;
          plan = planOf(chain);
          idx = this.indexing ? plan.index : null;
          i = frame.index;
          continue;
        }
        case Step.Jump:
        case Step.Goto: {
          const name = (pr.rule.target as { readonly chain: string }).chain;
          const next = getChain(table, name);
          if (next === undefined) throw new Error(`iptables ${ctx.table}: rule jumps to missing chain ${name}`);
          if (pr.step === Step.Jump) (stack ??= []).push({ chain, index: i + 1 });
          chain = next;
          plan = planOf(chain);
          idx = this.indexing ? plan.index : null;
          i = 0;
          continue;
        }
      }
    }
  }

  private policy(ctx: Traversal, start: Chain, bytes: number): Outcome {
    if (ctx.dry === null) this.counters.hitPolicy(start, bytes);
    const p = start.policy ?? 'ACCEPT';
    if (ctx.path !== null && (ctx.path.length > 0 || p === 'DROP'))
      this.finish(ctx, start.name, p === 'ACCEPT', true, `policy ${p}`);
    return p === 'DROP' ? 'drop' : 'accept';
  }

  /** The end of a traversal: its verdict for explored paths, and the traversal event when someone traces. */
  private finish(ctx: Traversal, builtin: string, accept: boolean, policy: boolean, verdict: string): void {
    ctx.verdict = verdict;
    if (ctx.path === null || ctx.dry !== null || !this.tracing) return;
    const body = {
      kind: 'nf',
      what: 'traversal',
      table: ctx.table,
      hook: builtin,
      bridged: ctx.state.bridged,
      rules: ctx.path,
      verdict: accept ? 'ACCEPT' : 'DROP',
      policy,
      target: policy ? undefined : verdict,
    } as const;
    this.event(ctx.pkt, body);
  }

  /**
   * Every way a packet can go through `table` at `hook`, with exact probabilities: each
   * `-m statistic` match is taken both ways (probability p and 1 − p, p = stored / 2^31).
   * Nothing is counted or recorded. Used by `podnet trace --all-paths`.
   */
  explore(
    table: TableName,
    hook: NfHook,
    pkt: Packet,
    inDev: NetDevice | null,
    outDev: NetDevice | null,
    limit = 4096,
    bridged = false,
    physIn = '',
    physOut = '',
  ): ExploredPath[] {
    const state = this.enter(hook, inDev, outDev, bridged, physIn, physOut);
    try {
      state.ctInfo = this.currentCtInfo(pkt);
      return this.exploreFrom(state, table, pkt, limit);
    } finally {
      this.depth--;
    }
  }

  /** {@link explore} from inside a hook run, with a copy of its state (the run's own traversal is still in use). */
  private exploreAs(outer: HookState, table: TableName, pkt: Packet, limit: number): ExploredPath[] {
    const state = this.enter(outer.hook, outer.in, outer.out, outer.bridged, outer.physIn, outer.physOut);
    try {
      state.ctInfo = this.currentCtInfo(pkt);
      return this.exploreFrom(state, table, pkt, limit);
    } finally {
      this.depth--;
    }
  }

  private exploreFrom(state: HookState, table: TableName, pkt: Packet, limit: number): ExploredPath[] {
    const out: ExploredPath[] = [];
    const prefixes: boolean[][] = [[]];
    while (prefixes.length > 0 && out.length < limit) {
      const prefix = prefixes.pop()!;
      let depth = 0;
      let probability = 1;
      const taken: boolean[] = [];
      const ctx = state.traversal(table, pkt);
      const path: RuleRef[] = [];
      ctx.path = path;
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
      const verdict = this.evalChain(ctx, HOOK_NAMES[state.hook]!);
      if (probability > 0) {
        out.push({ probability, verdict: ctx.verdict ?? verdict.toUpperCase(), nat: ctx.nat, rules: path });
      }
    }
    return out;
  }

  /** The entries of a `-m recent` list (`/proc/net/xt_recent/NAME`). */
  recentList(name: string): Array<{ addr: Ipv4Addr; hits: number; last: number }> {
    return recentEntries(this.perNet(RECENT_LISTS), name);
  }

  /** Names of the `-m recent` lists that exist. */
  recentNames(): string[] {
    return [...this.perNet(RECENT_LISTS).keys()];
  }
}

function portOf(pkt: Packet, side: 'src' | 'dst'): number {
  const ip = new Ipv4View(pkt.buf, pkt.l3);
  const proto = ip.protocol;
  if ((proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) || ip.fragOffset !== 0) return -1;
  const o = ip.payloadOffset + (side === 'src' ? 0 : 2);
  return (pkt.buf[o]! << 8) | pkt.buf[o + 1]!;
}
