/**
 * Connection tracking (net/netfilter/nf_conntrack_*.c): one table per netns of connections
 * with an ORIGINAL and a REPLY tuple, per-protocol state and timeouts, NAT bindings decided on
 * a flow's first packet and applied to every later packet in both directions, and ICMP errors
 * recognised as RELATED to the connection they quote.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { formatIpv4 } from '../wire/addr.js';
import type { CtEntryRef, TupleRef } from '../events/hop.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, Ipv4View } from '../wire/ipv4.js';
import { sec } from '../sim/time.js';
import type { Packet } from '../net/packet.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../wire/tcp.js';

/** A 5-tuple; for ICMP `sport` is the echo identifier and `dport` the type (echo 8 / reply 0). */
export interface Tuple {
  src: Ipv4Addr;
  dst: Ipv4Addr;
  proto: number;
  sport: number;
  dport: number;
}

/** The packet's relation to its connection (ctinfo). */
export const enum CtInfo {
  New = 0,
  Established = 1,
  Related = 2,
  Invalid = 3,
  Untracked = 4,
}

/** TCP connection states (nf_conntrack_proto_tcp). */
export type TcpCtState =
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'ESTABLISHED'
  | 'FIN_WAIT'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'TIME_WAIT'
  | 'CLOSE';

/** Timeouts (ns): the kernel's defaults with kube-proxy's overrides (established 24 h, close_wait 1 h). */
export interface CtTimeouts {
  tcp: Record<TcpCtState, number>;
  udp: number;
  udpStream: number;
  icmp: number;
  generic: number;
}

/** Default conntrack timeouts (docs/datapath.md §3). */
export const DEFAULT_CT_TIMEOUTS: CtTimeouts = {
  tcp: {
    SYN_SENT: sec(120),
    SYN_RECV: sec(60),
    ESTABLISHED: sec(86400),
    FIN_WAIT: sec(120),
    CLOSE_WAIT: sec(3600),
    LAST_ACK: sec(30),
    TIME_WAIT: sec(120),
    CLOSE: sec(10),
  },
  udp: sec(30),
  udpStream: sec(120),
  icmp: sec(30),
  generic: sec(600),
};

/** A NAT mapping applied to one side of the original tuple. */
export interface NatBinding {
  readonly addr: Ipv4Addr;
  readonly port: number;
}

/** One tracked connection. */
export class Conn {
  /** The REPLY tuple is what replies look like (after NAT: the inverse of the mapped tuple). */
  reply: Tuple;
  tcpState: TcpCtState | undefined;
  seenReply = false;
  assured = false;
  confirmed = false;
  /** DNAT decided (original destination rewritten) / SNAT decided (original source rewritten). */
  dnat: NatBinding | undefined;
  snat: NatBinding | undefined;
  /** Whether the nat table has been consulted for each manip type (null bindings count). */
  dstManipDone = false;
  srcManipDone = false;
  mark = 0;
  expires = 0;
  /** IPS_FIXED_TIMEOUT: a UDP clash loser kept for one second whatever its packets do. */
  fixedTimeout = false;
  readonly created: number;
  /** Which directions have sent a FIN (tcp; the kernel's IP_CT_TCP_FLAG_CLOSE_INIT per direction). */
  finSeen = [false, false];
  /** Direction of the last tracked segment and whether it was an RST (ct->proto.tcp.last_dir / last_index). */
  lastReply = false;
  lastRst = false;

  constructor(
    readonly id: number,
    readonly orig: Tuple,
    now: number,
  ) {
    this.reply = invertTuple(orig);
    this.created = now;
  }

  // the entry as events name it: traces describe it on every packet, so it is remade only when
  // something it shows changed (the reply tuple after NAT, the TCP state, the status bits)
  private refValue: CtEntryRef | undefined;
  private origRef: TupleRef | undefined;
  private replyRefOf: Tuple | undefined;
  private replyRef: TupleRef | undefined;

  /** The entry as `conntrack -L` shows it, for events. */
  ref(): CtEntryRef {
    const r = this.refValue;
    if (
      r !== undefined &&
      this.replyRefOf === this.reply &&
      r.tcpState === this.tcpState &&
      r.seenReply === this.seenReply &&
      r.assured === this.assured
    )
      return r;
    this.origRef ??= tupleRef(this.orig);
    if (this.replyRefOf !== this.reply) {
      this.replyRef = tupleRef(this.reply);
      this.replyRefOf = this.reply;
    }
    const p = this.orig.proto;
    const proto = p === IPPROTO_TCP ? 'tcp' : p === IPPROTO_UDP ? 'udp' : p === IPPROTO_ICMP ? 'icmp' : String(p);
    const ref = {
      proto,
      tcpState: this.tcpState,
      orig: this.origRef,
      reply: this.replyRef!,
      seenReply: this.seenReply,
      assured: this.assured,
    };
    this.refValue = ref;
    return ref;
  }
}

/** A tuple as events name it. */
export function tupleRef(x: Tuple): TupleRef {
  return { src: formatIpv4(x.src), dst: formatIpv4(x.dst), sport: x.sport, dport: x.dport };
}

/** The inverse of a tuple (what the other direction looks like). */
export function invertTuple(t: Tuple): Tuple {
  if (t.proto === IPPROTO_ICMP)
    return {
      src: t.dst,
      dst: t.src,
      proto: t.proto,
      sport: t.sport,
      dport: t.dport === 8 ? 0 : t.dport === 0 ? 8 : t.dport,
    };
  return { src: t.dst, dst: t.src, proto: t.proto, sport: t.dport, dport: t.sport };
}

/** A map key for a tuple (for callers that want strings; the table itself hashes numerically). */
export function tupleKey(t: Tuple): string {
  return `${t.src}:${t.dst}:${t.proto}:${t.sport}:${t.dport}`;
}

/** A 32-bit hash of a tuple (murmur-style mixing of its fields). */
function tupleHash(t: Tuple): number {
  let h = Math.imul(t.src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ t.dst, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ ((t.sport << 16) | t.dport), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 15) ^ t.proto, 0x165667b1);
  // 30 bits: a small integer (Smi) as a Map key; a wider one is boxed, an allocation per lookup
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

function sameTuple(a: Tuple, b: Tuple): boolean {
  return a.src === b.src && a.dst === b.dst && a.sport === b.sport && a.dport === b.dport && a.proto === b.proto;
}

/**
 * Extracts the tuple of an IPv4 packet at `l3`; undefined when it cannot be tracked (malformed, non-first fragment).
 */
export function packetTuple(buf: Uint8Array, l3: number): Tuple | undefined {
  const t: Tuple = { src: 0, dst: 0, proto: 0, sport: 0, dport: 0 };
  return fillTuple(t, buf, l3) ? t : undefined;
}

/**
 * Fills `t` with the tuple of an IPv4 packet; false when it cannot be tracked (a non-first
 * fragment; ICMP other than echo, whose errors are handled as RELATED).
 */
function fillTuple(t: Tuple, buf: Uint8Array, l3: number): boolean {
  const ip = new Ipv4View(buf, l3);
  if (ip.fragOffset !== 0) return false;
  const proto = ip.protocol;
  const off = ip.payloadOffset;
  t.src = ip.src;
  t.dst = ip.dst;
  t.proto = proto;
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
    t.sport = (buf[off]! << 8) | buf[off + 1]!;
    t.dport = (buf[off + 2]! << 8) | buf[off + 3]!;
  } else if (proto === IPPROTO_ICMP) {
    const type = buf[off]!;
    if (type !== 8 && type !== 0) return false;
    t.sport = (buf[off + 4]! << 8) | buf[off + 5]!;
    t.dport = type;
  } else {
    t.sport = 0;
    t.dport = 0;
  }
  return true;
}

interface Slot {
  conn: Conn;
  reply: boolean;
  tuple: Tuple;
  /** Next slot with the same hash (collision chain). */
  next: Slot | null;
}

/** The conntrack table of one netns. */
export class Conntrack {
  // numeric hash → collision chain; strings as keys cost an allocation per lookup on the hot path
  private table = new Map<number, Slot>();
  // the tuple of the packet being looked up: every packet is looked up, few start a connection
  private readonly scratch: Tuple = { src: 0, dst: 0, proto: 0, sport: 0, dport: 0 };
  private count = 0;
  private nextId = 1;
  timeouts: CtTimeouts = DEFAULT_CT_TIMEOUTS;
  /** nf_conntrack_tcp_loose: pick up connections from mid-stream ACKs. */
  tcpLoose = true;
  /**
   * The entry the last `in()` call killed because a SYN reopened it after a close or abort
   * (null otherwise), for the trace.
   */
  killed: Conn | null = null;

  /** Number of confirmed connections. */
  get size(): number {
    return this.count / 2;
  }

  /** All live connections. */
  all(now: number): Conn[] {
    const out: Conn[] = [];
    for (let s of this.table.values()) {
      for (; s !== null; s = s.next!) if (!s.reply && s.conn.expires > now) out.push(s.conn);
    }
    return out;
  }

  /** Removes every entry (`conntrack -F`). */
  flush(): void {
    this.table.clear();
    this.count = 0;
  }

  private lookupSlot(t: Tuple): Slot | undefined {
    for (let s: Slot | null | undefined = this.table.get(tupleHash(t)); s; s = s.next)
      if (sameTuple(s.tuple, t)) return s;
    return undefined;
  }

  private insert(t: Tuple, conn: Conn, reply: boolean, now: number): void {
    const h = tupleHash(t);
    const head = this.table.get(h) ?? null;
    this.table.set(h, { conn, reply, tuple: t, next: head });
    this.count++;
    this.sweep(now);
  }

  // where the incremental expiry sweep stands in the table (a live Map iterator)
  private sweepAt: Iterator<Slot> | null = null;

  /**
   * gc_worker: expired entries no packet looks up again are evicted a few buckets at a time, so a
   * long run's table holds only live connections (a lookup already treats expired ones as gone).
   * Each insertion sweeps four buckets: more than the two it adds, so the sweep outpaces growth.
   */
  private sweep(now: number): void {
    for (let n = 0; n < 4; n++) {
      this.sweepAt ??= this.table.values();
      const r = this.sweepAt.next();
      if (r.done === true) {
        this.sweepAt = null;
        return;
      }
      for (let s: Slot | null = r.value; s !== null; s = s.next) if (s.conn.expires <= now) this.remove(s.conn);
    }
  }

  private unlink(t: Tuple, conn: Conn): void {
    const h = tupleHash(t);
    let prev: Slot | null = null;
    for (let s: Slot | null | undefined = this.table.get(h); s; prev = s, s = s.next) {
      if (s.conn === conn && sameTuple(s.tuple, t)) {
        if (prev === null) {
          if (s.next === null) this.table.delete(h);
          else this.table.set(h, s.next);
        } else prev.next = s.next;
        this.count--;
        return;
      }
    }
  }

  private find(t: Tuple, now: number): Slot | undefined {
    const s = this.lookupSlot(t);
    if (s === undefined) return undefined;
    if (s.conn.expires <= now) {
      this.remove(s.conn);
      return undefined;
    }
    return s;
  }

  /** Removes a connection. */
  remove(c: Conn): void {
    this.unlink(c.orig, c);
    this.unlink(c.reply, c);
  }

  /**
   * Whether some confirmed connection other than `self` already uses `t` as a tuple
   * (nf_nat_used_tuple → nf_conntrack_tuple_taken). One with the same original tuple does not
   * count: that is the same flow racing itself (a socket sending twice before its first packet
   * was confirmed, as glibc's A and AAAA queries do), which confirm's clash resolution sorts out.
   */
  tupleTaken(t: Tuple, self: Conn, now: number): boolean {
    const s = this.find(t, now);
    return s !== undefined && s.conn !== self && !sameTuple(s.conn.orig, self.orig);
  }

  /**
   * nf_conntrack_in: attaches the packet's connection (creating an unconfirmed one for a new
   * flow) and returns ctinfo. Sets pkt.ct / pkt.ctReply.
   */
  in(pkt: Packet, now: number): CtInfo {
    if (pkt.ct !== null) {
      // seen before in this netns (looped back through lo): keep what it has
      if (pkt.ctRelated) return CtInfo.Related;
      return pkt.ctReply || (pkt.ct as Conn).seenReply ? CtInfo.Established : CtInfo.New;
    }
    const l3 = pkt.l3;
    const ip = new Ipv4View(pkt.buf, l3);
    if (ip.protocol === IPPROTO_ICMP && ip.fragOffset === 0) {
      const type = pkt.buf[ip.payloadOffset]!;
      if (type === 3 || type === 11 || type === 12 || type === 4 || type === 5) return this.related(pkt, now);
    }
    const t = this.scratch;
    if (!fillTuple(t, pkt.buf, l3)) return CtInfo.Invalid;
    this.killed = null;
    const s = this.find(t, now);
    if (s !== undefined) {
      if (t.proto !== IPPROTO_TCP || !reopensClosed(s.conn, s.reply, pkt.buf[ip.payloadOffset + 13]!)) {
        pkt.ct = s.conn;
        pkt.ctReply = s.reply;
        return this.track(s.conn, s.reply, pkt, now, false);
      }
      // nf_conntrack_tcp_packet: a SYN reopening a connection that was closed (a FIN seen either
      // way) or aborted (this direction's last segment an RST) kills the old entry and returns
      // -NF_REPEAT, so nf_conntrack_in looks the packet up again and starts a NEW entry: the nat
      // table decides afresh (a new backend through the statistic rules), the old DNAT is gone
      this.remove(s.conn);
      this.killed = s.conn;
    }
    // a new flow: TCP must start with a SYN unless loose pickup applies
    if (t.proto === IPPROTO_TCP) {
      const flags = pkt.buf[ip.payloadOffset + 13]!;
      if (flags & TCP_RST) return CtInfo.Invalid;
      if (!(flags & TCP_SYN) && !(this.tcpLoose && flags & TCP_ACK)) return CtInfo.Invalid;
      if (flags & TCP_SYN && flags & TCP_ACK) return CtInfo.Invalid;
    }
    if (t.proto === IPPROTO_ICMP && t.dport !== 8) return CtInfo.Invalid;
    const c = new Conn(this.nextId++, { src: t.src, dst: t.dst, proto: t.proto, sport: t.sport, dport: t.dport }, now);
    pkt.ct = c;
    pkt.ctReply = false;
    this.track(c, false, pkt, now, true);
    return CtInfo.New;
  }

  /** An ICMP error quoting a tracked packet: RELATED to its connection. */
  private related(pkt: Packet, now: number): CtInfo {
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    const q = ip.payloadOffset + 8;
    if (ip.payloadLength < 8 + 20 + 8) return CtInfo.Invalid;
    const inner = packetTuple(pkt.buf, q);
    if (inner === undefined) return CtInfo.Invalid;
    // the quoted packet travelled the other way: its inverse is a tuple of this error's direction
    const s = this.find(invertTuple(inner), now);
    if (s === undefined) return CtInfo.Invalid;
    pkt.ct = s.conn;
    pkt.ctReply = s.reply;
    pkt.ctRelated = true;
    return CtInfo.Related;
  }

  /**
   * Inserts an unconfirmed connection once its first packet survived the hooks (__nf_conntrack_confirm).
   * A UDP clash with an entry inserted meanwhile is resolved as Linux ≥ 5.6 does
   * (nf_ct_resolve_clash): when the winner has no NAT or the very same tuples, the packet joins
   * the winner; when only the original tuple clashes, the loser goes in by its reply tuple alone
   * for one second (nf_ct_resolve_clash_harder), so its reply still finds it. Anything else is
   * dropped (insert_failed).
   */
  confirm(pkt: Packet, now: number): boolean {
    const c = pkt.ct as Conn | null;
    if (c === null || c.confirmed || pkt.ctReply) return true;
    const a = this.find(c.orig, now);
    const b = this.find(c.reply, now);
    if ((a !== undefined && a.conn !== c) || (b !== undefined && b.conn !== c)) {
      if (c.orig.proto !== IPPROTO_UDP) return false; // clash: insert_failed
      const winner = a !== undefined && a.conn !== c ? a.conn : undefined;
      if (
        winner !== undefined &&
        (!(winner.dstManipDone || winner.srcManipDone) ||
          (sameTuple(winner.orig, c.orig) && sameTuple(winner.reply, c.reply)))
      ) {
        pkt.ct = winner;
        pkt.ctReply = false;
        return true;
      }
      if (winner === undefined || b !== undefined) return false;
      c.confirmed = true;
      c.fixedTimeout = true;
      c.expires = now + sec(1);
      this.insert(c.reply, c, true, now);
      return true;
    }
    c.confirmed = true;
    this.insert(c.orig, c, false, now);
    this.insert(c.reply, c, true, now);
    return true;
  }

  /** Updates protocol state and timeout for a packet of `c`. */
  private track(c: Conn, reply: boolean, pkt: Packet, now: number, isNew: boolean): CtInfo {
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    const T = this.timeouts;
    if (reply && !c.seenReply) c.seenReply = true;
    if (c.fixedTimeout) return c.seenReply ? CtInfo.Established : CtInfo.New;
    switch (c.orig.proto) {
      case IPPROTO_TCP: {
        const flags = pkt.buf[ip.payloadOffset + 13]!;
        const st = tcpTransition(c, reply, flags, isNew);
        if (st === undefined) return CtInfo.Invalid;
        c.lastReply = reply;
        c.lastRst = (flags & TCP_RST) !== 0;
        c.tcpState = st;
        if (st === 'ESTABLISHED' && !c.assured) c.assured = true;
        c.expires = now + T.tcp[st];
        break;
      }
      case IPPROTO_UDP:
        if (c.seenReply && now - c.created > sec(2)) {
          c.assured = true;
          c.expires = now + T.udpStream;
        } else c.expires = now + T.udp;
        break;
      case IPPROTO_ICMP:
        c.expires = now + T.icmp;
        break;
      default:
        c.expires = now + T.generic;
    }
    return c.seenReply ? CtInfo.Established : CtInfo.New;
  }
}

/** A much-simplified nf_conntrack_proto_tcp state table (enough for opens, closes and resets). */
function tcpTransition(c: Conn, reply: boolean, flags: number, isNew: boolean): TcpCtState | undefined {
  const cur = c.tcpState;
  if (flags & TCP_RST) return 'CLOSE';
  const syn = (flags & TCP_SYN) !== 0;
  const ack = (flags & TCP_ACK) !== 0;
  const fin = (flags & TCP_FIN) !== 0;
  if (isNew || cur === undefined) {
    if (syn && !ack) return 'SYN_SENT';
    // loose pickup of an established flow
    return 'ESTABLISHED';
  }
  // tcp_conntracks: a SYN in the original direction reopens TIME_WAIT and CLOSE, in the reply
  // direction TIME_WAIT only (when neither a FIN nor this direction's RST ended it: see reopensClosed)
  if (syn && !ack) return cur === 'TIME_WAIT' || (cur === 'CLOSE' && !reply) ? 'SYN_SENT' : cur;
  if (syn && ack) return reply && (cur === 'SYN_SENT' || cur === 'SYN_RECV') ? 'SYN_RECV' : cur;
  if (fin) {
    c.finSeen[reply ? 1 : 0] = true;
    if (cur === 'ESTABLISHED' || cur === 'SYN_RECV') return 'FIN_WAIT';
    if (c.finSeen[0] && c.finSeen[1]) return 'LAST_ACK';
    return cur;
  }
  if (ack) {
    if (cur === 'SYN_RECV' && !reply) return 'ESTABLISHED';
    if (cur === 'FIN_WAIT') return c.finSeen[0] && c.finSeen[1] ? 'LAST_ACK' : 'CLOSE_WAIT';
    if (cur === 'LAST_ACK' && c.finSeen[0] && c.finSeen[1]) return 'TIME_WAIT';
    return cur;
  }
  return cur;
}

/**
 * nf_conntrack_tcp_packet, new state SYN_SENT from TIME_WAIT or CLOSE: when either direction saw a
 * FIN (IP_CT_TCP_FLAG_CLOSE_INIT) or this direction's last segment was an RST, the SYN opens a new
 * connection on the old 4-tuple, and the kernel kills the entry instead of reopening it in place.
 */
function reopensClosed(c: Conn, reply: boolean, flags: number): boolean {
  if ((flags & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN) return false;
  const st = c.tcpState;
  if (st !== 'TIME_WAIT' && !(st === 'CLOSE' && !reply)) return false;
  return c.finSeen[0] === true || c.finSeen[1] === true || (c.lastReply === reply && c.lastRst);
}

/** Marker for packets exempt from connection tracking (NOTRACK / CT --notrack), kept in `pkt.ct`. */
export const UNTRACKED: unknown = Object.freeze({ untracked: true });
