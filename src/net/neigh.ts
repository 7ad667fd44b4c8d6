/**
 * The IPv4 neighbour (ARP) table of one netns, following Linux's state machine
 * (net/core/neighbour.c, net/ipv4/arp.c): INCOMPLETE with broadcast solicitations,
 * REACHABLE for a random 15–45 s after confirmation, STALE, DELAY for 5 s on first use of a
 * stale entry, then unicast PROBEs; entries learned from received requests start STALE.
 */
import type { Ipv4Addr, MacAddr } from '../wire/addr.js';
import { MAC_BROADCAST, MAC_ZERO, formatIpv4, formatMac } from '../wire/addr.js';
import { ARPOP_REPLY, ARPOP_REQUEST, ARP_LEN, ArpView, emitArp } from '../wire/arp.js';
import { ETHERTYPE_ARP, ETH_HLEN, EthernetView } from '../wire/ethernet.js';
import { Ipv4View } from '../wire/ipv4.js';
import { isWireError } from '../wire/errors.js';
import type { Timer } from '../sim/scheduler.js';
import { sec } from '../sim/time.js';
import { HZ, jiffiesAt, toJiffies, wheelFireTime } from '../sim/jiffies.js';
import type { NetDevice } from './device.js';
import type { Packet } from './packet.js';
import { PktType } from './packet.js';
import type { NetNs } from './netns.js';
import type { NeighCause } from '../events/hop.js';
import { TraceTo } from '../events/tracer.js';

/** NUD states (bit values as in the kernel). */
export const enum Nud {
  None = 0x00,
  Incomplete = 0x01,
  Reachable = 0x02,
  Stale = 0x04,
  Delay = 0x08,
  Probe = 0x10,
  Failed = 0x20,
  Noarp = 0x40,
  Permanent = 0x80,
}

/** States in which an entry's address is trusted without a check (NUD_CONNECTED). */
export const NUD_CONNECTED = Nud.Permanent | Nud.Noarp | Nud.Reachable;
const NUD_VALID = Nud.Permanent | Nud.Noarp | Nud.Reachable | Nud.Probe | Nud.Stale | Nud.Delay;
const NUD_IN_TIMER = Nud.Incomplete | Nud.Reachable | Nud.Delay | Nud.Probe;

/** State names as `ip neigh` prints them. */
export function nudName(state: Nud): string {
  switch (state) {
    case Nud.None:
      return 'NONE';
    case Nud.Incomplete:
      return 'INCOMPLETE';
    case Nud.Reachable:
      return 'REACHABLE';
    case Nud.Stale:
      return 'STALE';
    case Nud.Delay:
      return 'DELAY';
    case Nud.Probe:
      return 'PROBE';
    case Nud.Failed:
      return 'FAILED';
    case Nud.Noarp:
      return 'NOARP';
    case Nud.Permanent:
      return 'PERMANENT';
    default:
      return `0x${(state as number).toString(16)}`;
  }
}

/** Tunables (net.ipv4.neigh.default.*), kernel defaults. */
export interface NeighParams {
  baseReachableTime: number;
  delayFirstProbeTime: number;
  retransTime: number;
  ucastProbes: number;
  mcastProbes: number;
  mcastReprobes: number;
  appProbes: number;
  /** ARP replies arriving within locktime of the last update do not override it. */
  locktime: number;
  /** Bytes of packets queued per unresolved entry (unres_qlen_bytes). */
  unresQlenBytes: number;
}

/** Linux defaults. */
export const DEFAULT_NEIGH_PARAMS: NeighParams = {
  baseReachableTime: sec(30),
  delayFirstProbeTime: sec(5),
  retransTime: sec(1),
  ucastProbes: 3,
  mcastProbes: 3,
  mcastReprobes: 0,
  appProbes: 0,
  locktime: sec(1),
  unresQlenBytes: 212992,
};

/** One neighbour entry. */
export class NeighEntry {
  state: Nud = Nud.None;
  mac: MacAddr = MAC_ZERO;
  probes = 0;
  confirmed: number;
  updated: number;
  used: number;
  timer: Timer | null = null;
  queue: Packet[] = [];
  queueBytes = 0;
  /**
   * neigh->hh.hh_len != 0: the hardware-header cache, filled (neigh_hh_init) the first time
   * neigh_resolve_output transmits through the entry. An entry only learned from a received ARP
   * request and never used for output has none — br_netfilter's bridged-DNAT fast path needs it.
   */
  hh = false;

  constructor(
    readonly dev: NetDevice,
    readonly ip: Ipv4Addr,
    now: number,
    baseReachable: number,
  ) {
    this.updated = now;
    this.used = now;
    this.confirmed = now - 2 * baseReachable;
  }
}

/** The neighbour table of one netns. */
export class NeighTable {
  readonly params: NeighParams;
  // per device (by ifindex), then by address as a signed int32 (fast Map keys)
  private entries = new Map<number, Map<number, NeighEntry>>();
  /** Randomised reachable time (base/2 .. 3·base/2), redrawn every 300 s as neigh_periodic_work does. */
  private reachableTime: number;
  private reachableDrawnAt = 0;

  constructor(
    private readonly ns: NetNs,
    params: Partial<NeighParams> = {},
  ) {
    this.params = { ...DEFAULT_NEIGH_PARAMS, ...params };
    this.reachableTime = this.randReachTime();
  }

  private randReachTime(): number {
    const base = this.params.baseReachableTime;
    // neigh_rand_reach_time: base/2 + random in [0, base)
    return Math.floor(base / 2) + Math.floor(this.ns.rng.nextFloat() * base);
  }

  private currentReachableTime(): number {
    const now = this.ns.world.now;
    if (now - this.reachableDrawnAt >= sec(300)) {
      this.reachableDrawnAt = now;
      this.reachableTime = this.randReachTime();
    }
    return this.reachableTime;
  }

  /**
   * Permanent entries derived on demand (flannel's remote VTEPs on large clusters): the MAC for
   * `ip` on `dev`, or undefined. An entry is created the first time one is needed.
   */
  permanentProvider: ((dev: NetDevice, ip: Ipv4Addr) => MacAddr | undefined) | null = null;
  /** Every provided entry (for listings). */
  permanentList: (() => Array<{ dev: NetDevice; ip: Ipv4Addr; mac: MacAddr }>) | null = null;

  /** Looks up an entry without creating it (provided permanent entries do appear). */
  lookup(dev: NetDevice, ip: Ipv4Addr): NeighEntry | undefined {
    const n = this.entries.get(dev.ifindex)?.get(ip | 0);
    if (n !== undefined || this.permanentProvider === null) return n;
    const mac = this.permanentProvider(dev, ip);
    if (mac === undefined) return undefined;
    this.addPermanent(dev, ip, mac);
    return this.entries.get(dev.ifindex)!.get(ip | 0);
  }

  private create(dev: NetDevice, ip: Ipv4Addr): NeighEntry {
    let m = this.entries.get(dev.ifindex);
    if (m === undefined) this.entries.set(dev.ifindex, (m = new Map()));
    let n = m.get(ip | 0);
    if (n === undefined) {
      n = new NeighEntry(dev, ip, this.ns.world.now, this.params.baseReachableTime);
      m.set(ip | 0, n);
      const mac = this.permanentProvider?.(dev, ip);
      if (mac !== undefined) {
        n.state = Nud.Permanent;
        n.mac = mac;
      }
    }
    return n;
  }

  /** Adds a permanent entry (`ip neigh add ... lladdr ... nud permanent`). */
  addPermanent(dev: NetDevice, ip: Ipv4Addr, mac: MacAddr): void {
    const n = this.create(dev, ip);
    this.cancelTimer(n);
    n.state = Nud.Permanent;
    n.mac = mac;
  }

  /** Removes non-permanent entries (`ip neigh flush all`). */
  flush(): void {
    for (const m of this.entries.values()) {
      for (const [k, n] of m) {
        if (n.state === Nud.Permanent) continue;
        this.cancelTimer(n);
        m.delete(k);
      }
    }
  }

  /** All entries (for `ip neigh show`-like dumps and tests). */
  all(): NeighEntry[] {
    if (this.permanentList !== null) for (const p of this.permanentList()) this.lookup(p.dev, p.ip);
    return [...this.entries.values()].flatMap((m) => [...m.values()]);
  }

  /**
   * Transmits an IPv4 packet to `nexthop` on `dev`, resolving its MAC first if needed
   * (neigh_output / neigh_resolve_output). `confirm`: the packet carries dst_pending_confirm, so
   * ip_finish_output2 confirms the entry first (sock_confirm_neigh → neigh_confirm); a confirmed
   * entry in DELAY goes back to REACHABLE at its timer instead of probing.
   */
  output(dev: NetDevice, nexthop: Ipv4Addr, pkt: Packet, confirm = false): void {
    if (dev.noarp) {
      this.sendWithMac(dev, pkt, MAC_ZERO);
      return;
    }
    const n = this.create(dev, nexthop);
    const now = this.ns.world.now;
    if (confirm) n.confirmed = now;
    n.used = now;
    const st = n.state;
    if (st & (NUD_CONNECTED | Nud.Delay | Nud.Probe)) {
      n.hh = true;
      this.sendWithMac(dev, pkt, n.mac);
      return;
    }
    if (st === Nud.Stale) {
      // __neigh_event_send: first use of a stale entry starts the DELAY timer
      this.setState(n, Nud.Delay, 'first-use-of-stale');
      n.updated = now;
      this.armTimer(n, jiffiesAt(now) + toJiffies(this.params.delayFirstProbeTime));
      n.hh = true;
      this.sendWithMac(dev, pkt, n.mac);
      return;
    }
    if (st === Nud.None || st === Nud.Failed) {
      n.probes = this.params.ucastProbes;
      this.setState(n, Nud.Incomplete, 'resolving');
      n.updated = now;
      this.enqueue(n, pkt);
      this.armTimer(n, jiffiesAt(now) + this.retransJiffies());
      this.solicit(n);
      n.probes++;
      return;
    }
    // INCOMPLETE: queue behind the pending resolution
    this.enqueue(n, pkt);
  }

  private enqueue(n: NeighEntry, pkt: Packet): void {
    n.queue.push(pkt);
    n.queueBytes += pkt.len;
    while (n.queueBytes > this.params.unresQlenBytes && n.queue.length > 1) {
      const old = n.queue.shift()!;
      n.queueBytes -= old.len;
      n.dev.drop(old, { what: 'neigh-queue-full', ip: formatIpv4(n.ip) });
    }
    if (this.ns.world.tracer.active)
      this.ns.trace({ kind: 'neigh', what: 'queued', ip: formatIpv4(n.ip) }, pkt, n.dev.name);
  }

  private sendWithMac(dev: NetDevice, pkt: Packet, mac: MacAddr): void {
    const eth = new EthernetView(pkt.buf, pkt.off);
    eth.dst = mac;
    eth.src = dev.mac;
    dev.xmit(pkt);
  }

  private setState(n: NeighEntry, state: Nud, cause: NeighCause, count?: number): void {
    const old = n.state;
    n.state = state;
    const w = this.ns.world;
    if (w.tracer.on && old !== state && this.ns.traced) {
      const lladdr = state & NUD_VALID ? formatMac(n.mac) : undefined;
      const body = {
        kind: 'neigh',
        what: 'state',
        ip: formatIpv4(n.ip),
        lladdr,
        from: nudName(old),
        to: nudName(state),
        cause,
        count,
      } as const;
      this.ns.trace(body, null, n.dev.name, TraceTo.Hop);
    }
  }

  private cancelTimer(n: NeighEntry): void {
    if (n.timer !== null) {
      n.timer.cancel();
      n.timer = null;
    }
  }

  /**
   * neigh_add_timer / mod_timer: the timer fires on the kernel's timer wheel, up to one level granule after `expires`
   * (jiffies).
   */
  private armTimer(n: NeighEntry, expires: number): void {
    this.cancelTimer(n);
    const now = this.ns.world.now;
    n.timer = this.ns.world.sched.schedule(
      wheelFireTime(now, expires) - now,
      (e: NeighEntry) => this.timerHandler(e),
      n,
    );
  }

  /** max(RETRANS_TIME, HZ/100) in jiffies, as neigh_event_send and neigh_timer_handler use it. */
  private retransJiffies(): number {
    return Math.max(toJiffies(this.params.retransTime), Math.floor(HZ / 100));
  }

  private maxProbes(n: NeighEntry): number {
    const p = this.params;
    return p.ucastProbes + p.appProbes + (n.state & Nud.Probe ? p.mcastReprobes : p.mcastProbes);
  }

  /** neigh_timer_handler, in jiffies as the kernel computes it. */
  private timerHandler(n: NeighEntry): void {
    n.timer = null;
    const p = this.params;
    let state = n.state;
    if (!(state & NUD_IN_TIMER)) return;
    const now = jiffiesAt(this.ns.world.now);
    const confirmed = jiffiesAt(n.confirmed);
    const delayProbe = toJiffies(p.delayFirstProbeTime);
    let next = now + HZ;
    const reach = toJiffies(this.currentReachableTime());
    if (state & Nud.Reachable) {
      if (now <= confirmed + reach) {
        next = confirmed + reach;
      } else if (now <= jiffiesAt(n.used) + delayProbe) {
        this.setState(n, Nud.Delay, 'reachable-expired-used');
        n.updated = this.ns.world.now;
        next = now + delayProbe;
      } else {
        this.setState(n, Nud.Stale, 'reachable-expired');
        n.updated = this.ns.world.now;
      }
    } else if (state & Nud.Delay) {
      if (now <= confirmed + delayProbe) {
        this.setState(n, Nud.Reachable, 'confirmed-during-delay');
        n.updated = this.ns.world.now;
        next = confirmed + reach;
      } else {
        this.setState(n, Nud.Probe, 'no-confirmation', p.delayFirstProbeTime);
        n.updated = this.ns.world.now;
        n.probes = 0;
        next = now + this.retransJiffies();
      }
    } else {
      next = now + this.retransJiffies();
    }
    state = n.state;
    if (state & (Nud.Incomplete | Nud.Probe) && n.probes >= this.maxProbes(n)) {
      this.setState(n, Nud.Failed, 'no-reply', n.probes);
      this.invalidate(n);
      return;
    }
    if (n.state & NUD_IN_TIMER) this.armTimer(n, Math.max(next, now + Math.floor(HZ / 100)));
    if (n.state & (Nud.Incomplete | Nud.Probe)) {
      this.solicit(n);
      n.probes++;
    }
  }

  /** neigh_invalidate: drop queued packets, reporting host unreachable for each (arp_error_report). */
  private invalidate(n: NeighEntry): void {
    const q = n.queue;
    n.queue = [];
    n.queueBytes = 0;
    for (const pkt of q) {
      n.dev.drop(pkt, { what: 'neigh-failed', ip: formatIpv4(n.ip) });
      this.ns.stack.icmpHostUnreachableForQueued(pkt);
    }
  }

  /** arp_solicit: broadcast while unresolved, unicast to the cached MAC while probing. */
  private solicit(n: NeighEntry): void {
    const dev = n.dev;
    let saddr = 0;
    const head = n.queue.length > 0 ? n.queue[n.queue.length - 1] : undefined;
    if (head !== undefined) {
      try {
        const ip = Ipv4View.checked(head.buf, head.l3, head.l3Len);
        // arp_announce=0: use the packet's source if it is one of ours
        if (this.ns.fib.isLocal(ip.src)) saddr = ip.src;
      } catch (e) {
        if (!isWireError(e)) throw e;
      }
    }
    if (!saddr) saddr = this.ns.selectSourceAddress(dev, n.ip, 'link');
    const unicast = n.probes - this.params.ucastProbes < 0;
    const dstMac = unicast ? n.mac : MAC_BROADCAST;
    const pkt = this.ns.world.allocPacket(ETH_HLEN + ARP_LEN, head?.flow ?? 0);
    const eth = new EthernetView(pkt.buf, pkt.off);
    eth.dst = dstMac;
    eth.src = dev.mac;
    eth.ethertype = ETHERTYPE_ARP;
    emitArp(
      { op: ARPOP_REQUEST, senderMac: dev.mac, senderIp: saddr, targetMac: MAC_ZERO, targetIp: n.ip },
      pkt.buf,
      pkt.off + ETH_HLEN,
    );
    if (this.ns.world.tracer.active) {
      const probe = unicast ? n.probes + 1 : n.probes - this.params.ucastProbes + 1;
      const body = {
        kind: 'arp',
        what: 'solicit',
        unicast,
        target: formatIpv4(n.ip),
        sender: formatIpv4(saddr),
        state: nudName(n.state),
        probe,
      } as const;
      this.ns.trace(body, pkt, dev.name);
    }
    dev.xmit(pkt);
  }

  /** arp_rcv/arp_process: answer requests for local addresses, learn and update entries. */
  arpReceive(dev: NetDevice, pkt: Packet): void {
    let arp: ArpView;
    try {
      arp = ArpView.checked(pkt.buf, pkt.l3, pkt.l3Len);
    } catch (e) {
      if (!isWireError(e)) throw e;
      dev.drop(pkt, { what: 'malformed-arp', error: (e as Error).message });
      return;
    }
    if (pkt.pktType === PktType.OtherHost) {
      dev.drop(pkt, { what: 'arp-other-host' });
      return;
    }
    const op = arp.op;
    const sip = arp.senderIp;
    const tip = arp.targetIp;
    const sha = arp.senderMac;
    const w = this.ns.world;
    if (sip === 0 || tip >>> 24 >= 224 || tip >>> 24 === 127) {
      dev.drop(pkt, { what: 'arp-invalid-address' });
      return;
    }
    if (op === ARPOP_REQUEST && (this.ns.fib.isLocal(tip) || dev.arpAnnounce.has(tip)) && sha !== dev.mac) {
      // arp_ignore=0: answer for any local address; learn the asker as STALE (neigh_event_ns)
      const n = this.create(dev, sip);
      this.update(n, sha, Nud.Stale, true, 'learned-from-request');
      if (w.tracer.on) {
        const announced = !this.ns.fib.isLocal(tip);
        const body = {
          kind: 'arp',
          what: 'answer',
          target: formatIpv4(tip),
          sender: formatIpv4(sip),
          mac: formatMac(dev.mac),
          announced,
        } as const;
        this.ns.trace(body, pkt, dev.name, TraceTo.Hop);
      }
      this.sendReply(dev, tip, sip, sha, pkt.flow);
      return;
    }
    const n = this.lookup(dev, sip);
    if (n === undefined) {
      if (w.tracer.on) {
        const body = {
          kind: 'arp',
          what: 'ignored',
          op: op === ARPOP_REQUEST ? 'request' : 'reply',
          target: formatIpv4(tip),
          sender: formatIpv4(sip),
          senderMac: formatMac(sha),
        } as const;
        this.ns.trace(body, pkt, dev.name, TraceTo.Hop);
      }
      return;
    }
    const override = w.now > n.updated + this.params.locktime;
    // Broadcast replies and requests do not assert reachability.
    const state = op === ARPOP_REPLY && pkt.pktType === PktType.Host ? Nud.Reachable : Nud.Stale;
    this.update(n, sha, state, override, op === ARPOP_REPLY ? 'arp-reply' : 'arp-request-seen');
  }

  /** neigh_update (subset): set lladdr and state, flush the queue when the entry becomes valid. */
  private update(n: NeighEntry, mac: MacAddr, state: Nud, override: boolean, why: NeighCause): void {
    if (n.state & (Nud.Noarp | Nud.Permanent)) return;
    const now = this.ns.world.now;
    const old = n.state;
    let newState = state;
    const lladdrChanged = !(old & NUD_VALID) || n.mac !== mac;
    if (old & NUD_VALID) {
      if (n.mac !== mac && !override) {
        // keep the old address; a conflicting reply within locktime is ignored
        if (old & NUD_CONNECTED) return;
        mac = n.mac;
        newState = Nud.Stale;
      }
      if (n.mac === mac && newState === Nud.Stale) newState = old;
    }
    if (newState & NUD_CONNECTED) n.confirmed = now;
    if (old !== newState || lladdrChanged) n.updated = now;
    n.mac = mac;
    if (newState !== old) {
      if (newState & NUD_IN_TIMER) {
        this.armTimer(n, jiffiesAt(now) + (newState & Nud.Reachable ? toJiffies(this.currentReachableTime()) : 0));
      } else this.cancelTimer(n);
      this.setState(n, newState, why);
    } else if (lladdrChanged) this.setState(n, newState, why);
    if (newState & NUD_VALID && n.queue.length > 0) {
      const q = n.queue;
      n.queue = [];
      n.queueBytes = 0;
      // the queue drains through n->output (neigh_resolve_output), which fills the header cache
      n.hh = true;
      for (const p of q) this.sendWithMac(n.dev, p, n.mac);
    }
  }

  /** Sends an ARP reply `sip is-at dev.mac` to `tha`. */
  private sendReply(dev: NetDevice, sip: Ipv4Addr, tip: Ipv4Addr, tha: MacAddr, flow: number): void {
    const pkt = this.ns.world.allocPacket(ETH_HLEN + ARP_LEN, flow);
    const eth = new EthernetView(pkt.buf, pkt.off);
    eth.dst = tha;
    eth.src = dev.mac;
    eth.ethertype = ETHERTYPE_ARP;
    emitArp(
      { op: ARPOP_REPLY, senderMac: dev.mac, senderIp: sip, targetMac: tha, targetIp: tip },
      pkt.buf,
      pkt.off + ETH_HLEN,
    );
    if (this.ns.world.tracer.active)
      this.ns.trace(
        { kind: 'arp', what: 'reply', sender: formatIpv4(sip), mac: formatMac(dev.mac) },
        pkt,
        dev.name,
        TraceTo.Note,
      );
    dev.xmit(pkt);
  }
}
