/**
 * Network devices. A device belongs to one netns; frames leave through `xmit` (dev_queue_xmit)
 * and arrive through `receive` (netif_receive_skb), which hands them to the bridge the device is
 * enslaved to, or to its netns's stack. Links deliver frames only through the scheduler.
 */
import type { MacAddr } from '../wire/addr.js';
import { formatMac } from '../wire/addr.js';
import type { Nanos } from '../sim/time.js';
import type { CapturePoint } from '../events/tracer.js';
import type { DropDetail } from '../events/hop.js';
import { TraceTo } from '../events/tracer.js';
import type { Packet } from './packet.js';
import type { NetNs } from './netns.js';
import type { BridgeDevice, BridgePort } from './bridge.js';
import { dissectFrame } from '../wire/dissect.js';

/** Kinds of device, as `ip -d link` would name them. */
export type DeviceKind = 'veth' | 'bridge' | 'vxlan' | 'loopback';

const DEVICE_DOWN: DropDetail = { what: 'device-down' };

/** Base class of every emulated device. */
export abstract class NetDevice {
  abstract readonly kind: DeviceKind;
  readonly ifindex: number;
  /** Interface is administratively up. */
  up = true;
  /** IFF_NOARP: neighbour resolution is not needed (loopback). */
  noarp = false;
  /** The bridge this device is a port of (cni0), if any. */
  master: BridgeDevice | null = null;
  port: BridgePort | null = null;
  /** Capture point, when captures are on. */
  readonly point: CapturePoint;
  /** Free-text role shown in traces (`client's veth`). */
  role: string;
  /**
   * Addresses this device answers ARP for without owning them (a load-balancer IP a node announces, MetalLB L2 style).
   */
  readonly arpAnnounce = new Set<number>();
  rxPackets = 0;
  txPackets = 0;
  rxBytes = 0;
  txBytes = 0;
  drops = 0;

  constructor(
    readonly ns: NetNs,
    readonly name: string,
    public mac: MacAddr,
    public mtu: number,
    role = '',
  ) {
    this.ifindex = ns.nextIfindex();
    this.role = role;
    this.point = { name: `${ns.label}/${name}`, description: role || `${name} in ${ns.label}`, role, group: ns.group };
    ns.attach(this);
  }

  /** Device-specific transmission of a frame already counted and captured. */
  protected abstract transmit(pkt: Packet): void;

  /** Sends a frame out of this device (dev_queue_xmit): capture, count, transmit. */
  xmit(pkt: Packet): void {
    if (!this.up) {
      this.drop(pkt, DEVICE_DOWN);
      return;
    }
    this.txPackets++;
    this.txBytes += pkt.len;
    const w = this.ns.world;
    if (w.tracer.active && this.ns.traced) this.traceFrame(pkt, 'out');
    this.transmit(pkt);
  }

  /** A frame arrives on this device from its link (netif_receive_skb). */
  receive(pkt: Packet): void {
    if (!this.up) {
      this.drop(pkt, DEVICE_DOWN);
      return;
    }
    this.rxPackets++;
    this.rxBytes += pkt.len;
    const w = this.ns.world;
    if (w.tracer.active && this.ns.traced) this.traceFrame(pkt, 'in');
    if (this.master !== null && this.port !== null) this.master.handleFrame(this.port, pkt);
    else this.ns.stack.netifReceive(this, pkt);
  }

  /** Drops a frame (reported to hop sinks and the flow's record). */
  drop(pkt: Packet, detail: DropDetail): void {
    this.drops++;
    this.ns.traceDrop(pkt, detail, this.name, false);
  }

  /** Emits the rx/tx hop event and the capture record for a frame. */
  protected traceFrame(pkt: Packet, dir: 'in' | 'out'): void {
    const w = this.ns.world;
    if (w.tracer.on) {
      // dissected only for hop events: a capture alone stores the bytes as they are
      const frame = dissectFrame(pkt.buf.subarray(pkt.off, pkt.off + pkt.len), { vxlanPorts: w.vxlanPorts });
      this.ns.trace({ kind: dir === 'out' ? 'tx' : 'rx', len: pkt.len, frame }, pkt, this.name, TraceTo.Hop);
    }
    if (w.tracer.capturing)
      w.tracer.capture(this.point, dir, pkt.id, pkt.flow, pkt.buf, pkt.off, pkt.len, pkt.takeNotes());
  }

  /** `name (mac)` for traces. */
  toString(): string {
    return `${this.ns.label}/${this.name} (${formatMac(this.mac)})`;
  }
}

/** Delivers a packet to the device stored in `pkt.rxDev` (link delivery event, no closure per hop). */
export function deliverToRxDev(pkt: Packet): void {
  const dev = pkt.rxDev as NetDevice;
  pkt.rxDev = null;
  dev.receive(pkt);
}

/** Schedules `dev.receive(pkt)` after `delay`. */
export function scheduleReceive(dev: NetDevice, pkt: Packet, delay: Nanos): void {
  pkt.rxDev = dev;
  dev.ns.world.sched.schedule(delay, deliverToRxDev, pkt);
}
