/** The loopback device `lo`: frames sent on it are received by the same netns (zero MACs, MTU 65536). */
import { NetDevice, scheduleReceive } from './device.js';
import type { Packet } from './packet.js';
import type { NetNs } from './netns.js';

/** Loopback device. */
export class LoopbackDevice extends NetDevice {
  readonly kind = 'loopback' as const;

  constructor(ns: NetNs) {
    super(ns, 'lo', 0, 65536, 'loopback');
    this.noarp = true;
  }

  protected transmit(pkt: Packet): void {
    scheduleReceive(this, pkt, 0);
  }
}
