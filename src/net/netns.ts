/**
 * A network namespace: its devices, addresses, FIB, neighbour table, sysctls, sockets and
 * IPv4 stack. A pod's containers share one; every node's host network is one.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { formatIpv4, inPrefix, prefixMask } from '../wire/addr.js';
import type { Rng } from '../sim/rng.js';
import type { NetDevice } from './device.js';
import { LoopbackDevice } from './loopback.js';
import { Fib, makeRoute } from './route.js';
import type { RouteScope } from './route.js';
import { NeighTable } from './neigh.js';
import { Ipv4Stack } from './stack.js';
import { SocketTable } from './sockets.js';
import type { World } from './world.js';
import type { Packet } from './packet.js';
import type { DropDetail, DropEvent, HopBase, HopBody, HopEvent } from '../events/hop.js';
import { DROP_REASON } from '../events/hop.js';
import { TraceTo } from '../events/tracer.js';

/** What a namespace stands for. */
export type NetNsKind = 'node' | 'pod' | 'external' | 'switch';

/** An address on an interface (`ip addr`). */
export interface IfAddr {
  readonly dev: NetDevice;
  readonly addr: Ipv4Addr;
  readonly len: number;
  readonly scope: RouteScope;
  readonly broadcast: Ipv4Addr;
}

/** Per-namespace sysctls that change behaviour. */
export interface NetNsSysctls {
  /** net.ipv4.ip_forward */
  ipForward: boolean;
  /** net.ipv4.ip_default_ttl */
  defaultTtl: number;
  /** net.ipv4.ip_local_port_range */
  localPortRange: [number, number];
  /** net.bridge.bridge-nf-call-iptables (bridges in this netns pass IPv4 frames through netfilter) */
  bridgeNfCallIptables: boolean;
  /** net.ipv4.icmp_ratelimit (ns) and icmp_ratemask */
  icmpRatelimit: number;
  icmpRatemask: number;
  /** net.ipv4.tcp_syn_retries: SYN retransmissions before connect() gives up (plus the linear ones below). */
  tcpSynRetries: number;
  /**
   * net.ipv4.tcp_syn_linear_timeouts (Linux ≥ 6.7, default 4): that many SYN retransmissions keep
   * the initial RTO (1 s) before exponential backoff starts, on top of tcp_syn_retries.
   */
  tcpSynLinearTimeouts: number;
}

/** A network namespace. */
export class NetNs {
  readonly devices: NetDevice[] = [];
  private byName = new Map<string, NetDevice>();
  readonly addrs: IfAddr[] = [];
  readonly fib = new Fib();
  readonly neigh: NeighTable;
  readonly stack: Ipv4Stack;
  readonly sockets: SocketTable;
  readonly rng: Rng;
  readonly lo: LoopbackDevice;
  readonly sysctl: NetNsSysctls = {
    ipForward: false,
    defaultTtl: 64,
    localPortRange: [32768, 60999],
    bridgeNfCallIptables: false,
    icmpRatelimit: 1_000_000_000,
    icmpRatemask: 0x1818,
    tcpSynRetries: 6,
    tcpSynLinearTimeouts: 4,
  };
  private ifindexes = 1;
  /** Whether this namespace reports hops and captures (the underlay switch does not). */
  readonly traced: boolean;

  /**
   * @param name unique id (`node/node1`, `pod/default/client`)
   * @param label short name for traces and capture points (`node1`, `pod:client`)
   * @param group node this namespace lives on (for per-node capture files)
   */
  constructor(
    readonly world: World,
    readonly name: string,
    readonly label: string,
    readonly kind: NetNsKind,
    readonly group: string,
  ) {
    this.rng = world.netnsRngBase.fork(`netns:${name}`);
    this.traced = kind !== 'switch';
    world.addNamespace(this);
    this.neigh = new NeighTable(this);
    this.stack = new Ipv4Stack(this);
    this.sockets = new SocketTable(this);
    this.lo = new LoopbackDevice(this);
    this.addAddress(this.lo, 0x7f000001, 8, 'host');
  }

  /** Next ifindex in this namespace (lo is 1). */
  nextIfindex(): number {
    return this.ifindexes++;
  }

  /** Called by the NetDevice constructor. */
  attach(dev: NetDevice): void {
    if (this.byName.has(dev.name)) throw new Error(`${this.label}: duplicate device name ${dev.name}`);
    this.devices.push(dev);
    this.byName.set(dev.name, dev);
  }

  /** A device by name. */
  device(name: string): NetDevice | undefined {
    return this.byName.get(name);
  }

  /** `ip addr add addr/len dev dev`: adds the address, its local route and (unless /32) the connected route. */
  addAddress(dev: NetDevice, addr: Ipv4Addr, len: number, scope: RouteScope = 'universe'): void {
    const mask = prefixMask(len);
    const broadcast = len >= 31 ? 0 : ((addr & mask) | ~mask) >>> 0;
    // a second address in a prefix the device already has is secondary: only its local route is
    // added (fib_add_ifaddr), the prefix and broadcast routes keep the primary's prefsrc
    const secondary = this.addrs.some((a) => a.dev === dev && a.len === len && ((a.addr ^ addr) & mask) === 0);
    this.addrs.push({ dev, addr, len, scope, broadcast });
    this.fib.local.add(
      makeRoute({
        table: 'local',
        type: 'local',
        dst: addr,
        len: 32,
        dev,
        scope: 'host',
        prefsrc: addr,
        proto: 'kernel',
      }),
    );
    if (dev.kind === 'loopback') {
      // 127.0.0.0/8 is local as a whole on lo
      this.fib.local.add(
        makeRoute({
          table: 'local',
          type: 'local',
          dst: addr & mask,
          len,
          dev,
          scope: 'host',
          prefsrc: addr,
          proto: 'kernel',
        }),
      );
      return;
    }
    if (secondary) return;
    if (broadcast) {
      this.fib.local.add(
        makeRoute({
          table: 'local',
          type: 'broadcast',
          dst: broadcast,
          len: 32,
          dev,
          scope: 'link',
          prefsrc: addr,
          proto: 'kernel',
        }),
      );
    }
    if (len < 32) {
      this.fib.main.add(makeRoute({ dst: addr & mask, len, dev, scope: 'link', prefsrc: addr, proto: 'kernel' }));
    }
  }

  /** Primary addresses on a device, in the order added. */
  addressesOf(dev: NetDevice): IfAddr[] {
    return this.addrs.filter((a) => a.dev === dev);
  }

  /** The first address of a device (0 when it has none). */
  primaryAddress(dev: NetDevice): Ipv4Addr {
    for (const a of this.addrs) if (a.dev === dev) return a.addr;
    return 0;
  }

  /**
   * inet_select_addr: an address on `dev` in the same subnet as `dst` (else its first one) with
   * scope no wider than `scope`; failing that, the first universe-scope address of any device.
   */
  selectSourceAddress(dev: NetDevice | null, dst: Ipv4Addr, scope: RouteScope): Ipv4Addr {
    const rank = (s: RouteScope): number => (s === 'universe' ? 0 : s === 'link' ? 1 : 2);
    const maxRank = rank(scope);
    let first = 0;
    if (dev !== null) {
      for (const a of this.addrs) {
        if (a.dev !== dev || rank(a.scope) > maxRank) continue;
        if (dst !== 0 && inPrefix(dst, a.addr & prefixMask(a.len), a.len)) return a.addr;
        if (!first) first = a.addr;
      }
      if (first) return first;
    }
    for (const a of this.addrs) {
      if (a.scope !== 'link' && rank(a.scope) <= maxRank && a.dev.kind !== 'loopback') return a.addr;
    }
    for (const a of this.addrs) if (rank(a.scope) <= maxRank) return a.addr;
    return 0;
  }

  /**
   * Builds an event at this namespace (time, place, packet) and hands it on: to hop sinks when
   * someone traces, and to the packet's notes when captures are on (the capture's comment says
   * what happened to the packet since it was last seen). Call only when `world.tracer.active`.
   */
  trace(
    body: HopBody,
    pkt: Packet | null,
    dev: string | undefined,
    to: TraceTo = TraceTo.Both,
    flow = pkt?.flow ?? 0,
  ): void {
    const tracer = this.world.tracer;
    // the body is a fresh literal at every call site: it becomes the event (no copy)
    const ev = body as HopBody & { -readonly [K in keyof HopBase]: HopBase[K] };
    ev.t = tracer.now;
    ev.where = this.label;
    ev.dev = dev;
    ev.pkt = pkt?.id;
    ev.flow = flow;
    if (to & TraceTo.Note && pkt !== null && tracer.capturing) pkt.note(ev as HopEvent);
    if (to & TraceTo.Hop && tracer.on) tracer.hop(ev as HopEvent);
  }

  /**
   * Reports a dropped packet: a hop event when someone traces, and the flow's record when its
   * drops are kept (the library's results list them whether or not anyone traces).
   */
  traceDrop(pkt: Packet, detail: DropDetail, dev: string | undefined, note: boolean): void {
    const tracer = this.world.tracer;
    const hop = tracer.on && this.traced;
    const keep = tracer.records(pkt.flow);
    if (!hop && !keep && !(note && tracer.capturing)) return;
    const ev: DropEvent = {
      t: tracer.now,
      where: this.label,
      dev,
      pkt: pkt.id,
      flow: pkt.flow,
      kind: 'drop',
      reason: DROP_REASON[detail.what],
      detail,
    };
    if (note && tracer.capturing) pkt.note(ev);
    if (hop) tracer.hop(ev);
    if (keep) tracer.keep(ev);
  }

  /** Human description of the addresses (`ip -br addr`-like). */
  describeAddresses(): string[] {
    return this.addrs.map((a) => `${a.dev.name} ${formatIpv4(a.addr)}/${a.len}`);
  }
}
