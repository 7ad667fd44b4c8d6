/**
 * What matches and targets see of a packet's way through netfilter, after the kernel's
 * `struct nf_hook_state` (one per hook run: hook, devices, the netns's netfilter) and
 * `struct xt_action_param` (one per table traversal: the packet's header fields, read once, and
 * what the traversal has decided so far).
 *
 * The engine keeps one {@link HookState} per nesting level and reuses it (a REJECT's ICMP error
 * runs OUTPUT inside the FORWARD traversal that rejected it, so hook runs nest), and each hook
 * state reuses one {@link Traversal}: the per-packet path allocates neither.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, Ipv4View } from '../wire/ipv4.js';
import type { NetDevice } from '../net/device.js';
import type { Packet } from '../net/packet.js';
import { NfHook } from '../net/stack.js';
import { CtInfo } from './conntrack.js';
import type { Netfilter } from './engine.js';
import type { TableName, Target } from './rules.js';
import type { BodyOf, RuleRef } from '../events/hop.js';

/** The kernel's nf_hook_state: set once per hook run and passed down to every table, chain and rule. */
export interface NfHookState {
  /** The netns's netfilter (its conntrack, RNG, extension data and trace). */
  readonly nf: Netfilter;
  readonly hook: NfHook;
  readonly in: NetDevice | null;
  readonly out: NetDevice | null;
  /** `in?.name ?? ''`, as `-i` compares it. */
  readonly inName: string;
  /** `out?.name ?? ''`, as `-o` compares it. */
  readonly outName: string;
  /** A br_netfilter run: `in`/`out` are the bridge, `physIn`/`physOut` its ports. */
  readonly bridged: boolean;
  /** The bridge port the frame came in on ('' when none). */
  readonly physIn: string;
  /** The bridge port the frame goes out on ('' when none or not yet known). */
  readonly physOut: string;
  /** The packet's relation to its connection (ctinfo), as conntrack left it for the tables. */
  readonly ctInfo: CtInfo;
}

/** An exploration in progress (`--all-paths`): statistic matches ask it instead of drawing. */
export interface DryRun {
  /** Takes a branch for a stored 31-bit probability; the explorer tries both over its runs. */
  decide(probability: number): boolean;
}

/**
 * The kernel's xt_action_param for one table traversal: the hook state, the packet's header
 * fields (read once), and what the rules decided so far. Matches and targets receive it.
 */
export interface EvalContext {
  readonly state: NfHookState;
  readonly table: TableName;
  readonly pkt: Packet;
  readonly src: Ipv4Addr;
  readonly dst: Ipv4Addr;
  readonly proto: number;
  /** Transport ports (TCP, UDP, SCTP; 0 otherwise or for later fragments). */
  readonly sport: number;
  readonly dport: number;
  /** The TCP flag bits FIN..URG. */
  readonly tcpFlags: number;
  readonly icmpType: number;
  readonly icmpCode: number;
  /** The fragment offset (non-zero for second and later fragments). */
  readonly fragOff: number;
  /** The IPv4 total length. */
  readonly len: number;
  /** Exploring paths: no counters, no list updates, statistic decisions from `decide`. */
  readonly dry: DryRun | null;
  /** The mark as the traversal changes it (MARK writes it to the packet too unless dry). */
  mark: number;
  /** The NAT target the nat table chose, if any. */
  nat: Target | undefined;
  /** The packet's conntrack state bits for the conntrack/state matches, −1 until first needed. */
  ctMask: number;
  /** True when someone listens to events (hop sinks or captures). */
  readonly tracing: boolean;
  /**
   * Emits an extension's event for this packet (LOG, `recent --set`): the one place
   * extension-specific events leave the evaluator. Call it only when {@link tracing}.
   */
  event(body: BodyOf<'nf'>): void;
  /** Emits what an extension registered from outside podnet says, in its own words (when {@link tracing}). */
  trace(message: string): void;
}

/** The engine's hook state: mutable, reused for every hook run at its nesting level. */
export class HookState implements NfHookState {
  hook: NfHook = NfHook.PreRouting;
  in: NetDevice | null = null;
  out: NetDevice | null = null;
  inName = '';
  outName = '';
  bridged = false;
  physIn = '';
  physOut = '';
  ctInfo: CtInfo = CtInfo.Untracked;
  private traversalValue: Traversal | null = null;

  constructor(readonly nf: Netfilter) {}

  /** Starts a hook run (nf_hook_state_init). */
  init(
    hook: NfHook,
    inDev: NetDevice | null,
    outDev: NetDevice | null,
    bridged: boolean,
    physIn: string,
    physOut: string,
  ): this {
    this.hook = hook;
    this.in = inDev;
    this.out = outDev;
    this.inName = inDev?.name ?? '';
    this.outName = outDev?.name ?? '';
    this.bridged = bridged;
    this.physIn = physIn;
    this.physOut = physOut;
    this.ctInfo = CtInfo.Untracked;
    return this;
  }

  /** The traversal context for one table, reset for `pkt` (one object per hook state, reused). */
  traversal(table: TableName, pkt: Packet): Traversal {
    const t = this.traversalValue;
    if (t === null) return (this.traversalValue = new Traversal(this, table, pkt));
    t.reset(table, pkt);
    return t;
  }
}

/** The engine's {@link EvalContext}. */
export class Traversal implements EvalContext {
  table: TableName;
  pkt: Packet;
  src = 0;
  dst = 0;
  proto = 0;
  sport = 0;
  dport = 0;
  tcpFlags = 0;
  icmpType = 0;
  icmpCode = 0;
  fragOff = 0;
  len = 0;
  dry: DryRun | null = null;
  mark = 0;
  nat: Target | undefined = undefined;
  ctMask = -1;
  /** Rules that matched, for the trace (only collected when tracing, recording a NAT decision or exploring). */
  path: RuleRef[] | null = null;
  /** How the traversal ended (for explored paths). */
  verdict: string | undefined = undefined;

  constructor(
    readonly state: HookState,
    table: TableName,
    pkt: Packet,
  ) {
    this.table = table;
    this.pkt = pkt;
    this.read();
  }

  /** Starts a traversal of `table` for `pkt`. */
  reset(table: TableName, pkt: Packet): void {
    this.table = table;
    this.pkt = pkt;
    this.dry = null;
    this.nat = undefined;
    this.ctMask = -1;
    this.path = null;
    this.verdict = undefined;
    this.read();
  }

  /** Reads the header fields matches look at, and the packet's mark. */
  private read(): void {
    const pkt = this.pkt;
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
    this.src = ip.src;
    this.dst = ip.dst;
    this.proto = proto;
    this.sport = sport;
    this.dport = dport;
    this.tcpFlags = tcpFlags;
    this.icmpType = icmpType;
    this.icmpCode = icmpCode;
    this.fragOff = fragOff;
    this.len = ip.totalLength;
    this.mark = pkt.mark;
  }

  get tracing(): boolean {
    return this.state.nf.tracing;
  }

  event(body: BodyOf<'nf'>): void {
    this.state.nf.event(this.pkt, body);
  }

  trace(message: string): void {
    this.state.nf.event(this.pkt, { kind: 'nf', what: 'extension', message });
  }
}
