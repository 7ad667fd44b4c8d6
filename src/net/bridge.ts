/**
 * The Linux bridge (net/bridge): ports, a learning FDB with 300 s ageing, flooding of
 * broadcast and unknown unicast, hairpin mode per port, and frames for the bridge's own MAC
 * passed up to the host stack (which, not the bridge, answers ARP for the gateway address).
 */
import type { MacAddr } from '../wire/addr.js';
import { MAC_BROADCAST, formatMac, isMulticastMac } from '../wire/addr.js';
import { ETH_HLEN, ETHERTYPE_ARP, EthernetView } from '../wire/ethernet.js';
import { ArpView } from '../wire/arp.js';
import { sec } from '../sim/time.js';
import { NetDevice } from './device.js';
import type { Packet } from './packet.js';
import type { NetNs } from './netns.js';
import type { BodyOf } from '../events/hop.js';

/** A bridge port (`bridge link`). */
export class BridgePort {
  /** hairpin_mode: frames may leave through the port they came in on. */
  hairpin: boolean;
  learning = true;
  flood = true;

  constructor(
    readonly bridge: BridgeDevice,
    readonly dev: NetDevice,
    hairpin: boolean,
  ) {
    this.hairpin = hairpin;
  }
}

/** An FDB entry (`bridge fdb`). */
export interface FdbEntry {
  readonly mac: MacAddr;
  port: BridgePort | null;
  /** Local entries belong to the bridge or a port's own MAC: frames to them go up to the host. */
  readonly local: boolean;
  readonly permanent: boolean;
  updated: number;
}

/**
 * br_netfilter: what a bridge asks netfilter about IPv4 frames it bridges when
 * net.bridge.bridge-nf-call-iptables=1 (implemented by the netfilter module).
 */
export interface BridgeNetfilter {
  /**
   * PREROUTING for a frame arriving on a port. Returns the frame to keep bridging (possibly
   * DNATed with its destination MAC rewritten — the bridged-DNAT path — or addressed to the
   * bridge so it goes up to be routed), or null when it was dropped or is held.
   */
  preRouting(br: BridgeDevice, inPort: BridgePort, pkt: Packet): Packet | null;
  /** FORWARD then POSTROUTING for a bridged frame leaving through `outPort`; the frames to send (none when dropped). */
  forward(br: BridgeDevice, inPort: BridgePort, outPort: BridgePort, pkt: Packet): Packet[];
}

/** A Linux bridge device such as cni0. */
export class BridgeDevice extends NetDevice {
  readonly kind = 'bridge' as const;
  readonly ports: BridgePort[] = [];
  private fdb = new Map<MacAddr, FdbEntry>();
  /** Ageing time for learned entries (BR_DEFAULT_AGEING_TIME = 300 s). */
  ageingTime = sec(300);
  /** False for a plain L2 switch with no host stack behind it (broadcasts are not passed up). */
  hostStack = true;
  /** Set when the host netns has bridge-nf-call-iptables=1 and a netfilter installed. */
  nf: BridgeNetfilter | null = null;
  /** Called before a frame is flooded (lets a lazily built network add the port it is meant for). */
  beforeFlood: ((pkt: Packet) => void) | null = null;
  /**
   * For a frame about to be flooded, the test of which ports it may skip because delivering it
   * could change nothing there (null: none; see `arpFloodNeedless`); only consulted while nothing
   * is traced or captured. The frame is read once per flood, not once per port.
   */
  floodSkip: ((pkt: Packet) => ((port: BridgePort) => boolean) | null) | null = null;

  constructor(ns: NetNs, name: string, mac: MacAddr, mtu: number, role = '') {
    super(ns, name, mac, mtu, role);
    this.fdb.set(mac, { mac, port: null, local: true, permanent: true, updated: 0 });
  }

  /** `ip link set dev master br`: enslaves a device; its own MAC becomes a local FDB entry. */
  addPort(dev: NetDevice, hairpin: boolean): BridgePort {
    if (dev.ns !== this.ns) throw new Error(`${dev.point.name} is not in ${this.ns.label}`);
    const port = new BridgePort(this, dev, hairpin);
    dev.master = this;
    dev.port = port;
    this.ports.push(port);
    this.fdb.set(dev.mac, { mac: dev.mac, port, local: true, permanent: true, updated: 0 });
    return port;
  }

  /** FDB entries that have not aged out (`bridge fdb show br cni0`). */
  fdbEntries(): FdbEntry[] {
    const now = this.ns.world.now;
    return [...this.fdb.values()].filter((e) => e.permanent || now - e.updated <= this.ageingTime);
  }

  /** Removes learned entries (`bridge fdb flush`). */
  flushFdb(): void {
    for (const [mac, e] of this.fdb) if (!e.permanent) this.fdb.delete(mac);
  }

  private trace(pkt: Packet, body: BodyOf<'bridge'> | BodyOf<'fdb'>): void {
    if (this.ns.traced) this.ns.trace(body, pkt, this.name);
  }

  /** br_fdb_find with ageing applied lazily (an expired entry is as good as gone). */
  private lookup(mac: MacAddr, pkt: Packet): FdbEntry | undefined {
    const e = this.fdb.get(mac);
    if (e === undefined || e.permanent) return e;
    if (this.ns.world.now - e.updated > this.ageingTime) {
      this.fdb.delete(mac);
      if (this.ns.world.tracer.active)
        this.trace(pkt, { kind: 'fdb', action: 'age-out', mac: formatMac(mac), ageingTime: this.ageingTime });
      return undefined;
    }
    return e;
  }

  /** br_fdb_update: learn the source MAC on the ingress port. */
  private learn(port: BridgePort, src: MacAddr, pkt: Packet): void {
    if (!port.learning) return;
    const now = this.ns.world.now;
    const e = this.fdb.get(src);
    if (e === undefined) {
      this.fdb.set(src, { mac: src, port, local: false, permanent: false, updated: now });
      if (this.ns.world.tracer.active)
        this.trace(pkt, { kind: 'fdb', action: 'learn', mac: formatMac(src), port: port.dev.name });
      return;
    }
    if (e.local) return; // "received packet with own address as source address"
    if (e.port !== port || now - e.updated > this.ageingTime) {
      e.port = port;
      if (this.ns.world.tracer.active)
        this.trace(pkt, { kind: 'fdb', action: 'learn', mac: formatMac(src), port: port.dev.name });
    }
    e.updated = now;
  }

  /** br_handle_frame: a frame arrived on a port. */
  handleFrame(port: BridgePort, pkt: Packet): void {
    if (pkt.len < 14) {
      port.dev.drop(pkt, { what: 'runt-frame' });
      return;
    }
    const eth = new EthernetView(pkt.buf, pkt.off);
    const src = eth.src;
    if (isMulticastMac(src) || src === 0) {
      port.dev.drop(pkt, { what: 'invalid-source-mac', mac: formatMac(src) });
      return;
    }
    this.learn(port, src, pkt);
    const nf = this.nf;
    if (nf !== null && eth.ethertype === 0x0800) {
      const p = nf.preRouting(this, port, pkt);
      if (p === null) return;
      pkt = p;
    }
    this.handleFrameFinish(port, pkt);
  }

  /** br_handle_frame_finish: deliver up, forward, or flood. */
  handleFrameFinish(inPort: BridgePort, pkt: Packet): void {
    const eth = new EthernetView(pkt.buf, pkt.off);
    const dst = eth.dst;
    const tracing = this.ns.world.tracer.active;
    if (dst === MAC_BROADCAST || isMulticastMac(dst)) {
      if (tracing) {
        const reason = dst === MAC_BROADCAST ? 'broadcast' : 'multicast';
        this.trace(pkt, {
          kind: 'bridge',
          action: 'flood',
          reason,
          inPort: inPort.dev.name,
          mac: formatMac(dst),
          up: this.hostStack,
        });
      }
      this.flood(pkt, inPort, this.hostStack);
      return;
    }
    const e = this.lookup(dst, pkt);
    if (e?.local) {
      if (tracing)
        this.trace(pkt, {
          kind: 'bridge',
          action: 'local',
          mac: formatMac(dst),
          owner: e.port === null ? this.name : e.port.dev.name,
        });
      this.receiveLocal(pkt);
      return;
    }
    if (e !== undefined && e.port !== null) {
      this.forwardTo(inPort, e.port, pkt, 'fdb');
      return;
    }
    if (tracing)
      this.trace(pkt, {
        kind: 'bridge',
        action: 'flood',
        reason: 'unknown-unicast',
        inPort: inPort.dev.name,
        mac: formatMac(dst),
        up: false,
      });
    this.flood(pkt, inPort, false);
  }

  /** Frame for the bridge device itself: appears on cni0 and enters the host stack. */
  private receiveLocal(pkt: Packet): void {
    super.receive(pkt);
  }

  /** The bridge device never has a master: what reaches `receive` is for the host stack. */
  override receive(pkt: Packet): void {
    super.receive(pkt);
  }

  private forwardTo(inPort: BridgePort | null, out: BridgePort, pkt: Packet, by: 'fdb' | 'flood'): void {
    if (out === inPort && !out.hairpin) {
      out.dev.drop(pkt, { what: 'hairpin-off', port: out.dev.name });
      return;
    }
    if (this.ns.world.tracer.active)
      this.trace(pkt, { kind: 'bridge', action: 'forward', port: out.dev.name, hairpin: out === inPort, by });
    const nf = this.nf;
    if (nf !== null && inPort !== null && new EthernetView(pkt.buf, pkt.off).ethertype === 0x0800) {
      for (const p of nf.forward(this, inPort, out, pkt)) out.dev.xmit(p);
      return;
    }
    out.dev.xmit(pkt);
  }

  /** br_flood: every port but the ingress (unless hairpin), plus the host when `up`. */
  private flood(pkt: Packet, inPort: BridgePort | null, up: boolean): void {
    this.beforeFlood?.(pkt);
    const targets: BridgePort[] = [];
    const skip = this.floodSkip !== null && !this.ns.world.tracer.active ? this.floodSkip(pkt) : null;
    for (const p of this.ports) {
      if (!p.flood || !p.dev.up) continue;
      if (p === inPort && !p.hairpin) continue;
      if (skip?.(p)) continue;
      targets.push(p);
    }
    const copies = targets.length + (up ? 1 : 0);
    let used = 0;
    for (const p of targets) {
      const copy = ++used === copies ? pkt : this.ns.world.clonePacket(pkt);
      this.forwardTo(inPort, p, copy, 'flood');
    }
    if (up) this.receiveLocal(used === copies - 1 ? pkt : this.ns.world.clonePacket(pkt));
  }

  /** br_dev_xmit: the host stack sends through the bridge device. */
  protected transmit(pkt: Packet): void {
    const eth = new EthernetView(pkt.buf, pkt.off);
    if (pkt.bridgedDnat && pkt.brInPort instanceof BridgePort) {
      // br_nf_pre_routing_finish_bridge_slow: the neighbour layer resolved the DNAT target's MAC;
      // put the original source MAC back and continue bridging from the ingress port
      const inPort = pkt.brInPort;
      pkt.bridgedDnat = false;
      pkt.brInPort = null;
      eth.src = pkt.brSavedSrc;
      this.handleFrameFinish(inPort, pkt);
      return;
    }
    const dst = eth.dst;
    if (dst === MAC_BROADCAST || isMulticastMac(dst)) {
      this.flood(pkt, null, false);
      return;
    }
    const e = this.lookup(dst, pkt);
    if (e !== undefined && e.port !== null && !e.local) {
      this.forwardTo(null, e.port, pkt, 'fdb');
      return;
    }
    if (e?.local) {
      this.drop(pkt, { what: 'own-mac-from-host' });
      return;
    }
    if (this.ns.world.tracer.active)
      this.trace(pkt, {
        kind: 'bridge',
        action: 'flood',
        reason: 'unknown-unicast',
        inPort: undefined,
        mac: formatMac(dst),
        up: false,
      });
    this.flood(pkt, null, false);
  }
}

/**
 * For a broadcast ARP frame, which ports' namespaces would ignore it (the port a veth whose peer
 * is that namespace's interface): not asking for one of its addresses or an address it
 * announces, and from a sender it has no neighbour entry for — arp_process then changes nothing
 * (no reply, no entry). Null for any other frame. At 5,000 nodes every first contact floods a
 * request to every node; skipping the ones that ignore it keeps a connection's cost independent
 * of the cluster's size.
 */
export function arpFloodNeedless(pkt: Packet): ((port: BridgePort) => boolean) | null {
  const b = pkt.buf;
  const o = pkt.off;
  // Ethernet/IPv4 ARP only; anything unusual is delivered and judged there
  if (
    pkt.len < ETH_HLEN ||
    new EthernetView(b, o).ethertype !== ETHERTYPE_ARP ||
    !ArpView.isEthernetIpv4(b, o + ETH_HLEN, pkt.len - ETH_HLEN)
  )
    return null;
  const arp = new ArpView(b, o + ETH_HLEN);
  const sip = arp.senderIp;
  const tip = arp.targetIp;
  return (port) => {
    const peer = (port.dev as NetDevice & { peer?: NetDevice }).peer;
    if (peer === undefined) return false;
    if (peer.ns.fib.isLocal(tip) || peer.arpAnnounce.has(tip)) return false;
    return peer.ns.neigh.lookup(peer, sip) === undefined;
  };
}
