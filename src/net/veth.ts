/** veth pairs: whatever one end transmits, the other end receives after the link delay. */
import type { MacAddr } from '../wire/addr.js';
import type { Nanos } from '../sim/time.js';
import { NetDevice, scheduleReceive } from './device.js';
import type { Packet } from './packet.js';
import type { NetNs } from './netns.js';

/** One end of a veth pair. */
export class VethDevice extends NetDevice {
  readonly kind = 'veth' as const;
  peer!: VethDevice;

  constructor(
    ns: NetNs,
    name: string,
    mac: MacAddr,
    mtu: number,
    public delay: Nanos,
    role = '',
  ) {
    super(ns, name, mac, mtu, role);
  }

  protected transmit(pkt: Packet): void {
    const peer = this.peer;
    // veth_xmit → is_skb_forwardable: the peer drops frames longer than MTU + Ethernet + VLAN header
    if (pkt.len > peer.mtu + 18) {
      this.drop(pkt, { what: 'exceeds-peer-mtu', len: pkt.len, peer: peer.point.name, mtu: peer.mtu });
      return;
    }
    if (!peer.up) {
      this.drop(pkt, { what: 'peer-down', peer: peer.point.name });
      return;
    }
    // skb_scrub_packet (on every veth crossing): a local socket's leave to fragment a DF datagram
    // (ignore_df, IP_PMTUDISC_WANT) stays behind, so a router further on answers frag-needed
    pkt.ignoreDf = false;
    if (peer.ns !== this.ns) {
      // skb_scrub_packet crossing namespaces: conntrack, mark and bridge state stay behind
      pkt.ct = null;
      pkt.ctReply = false;
      pkt.ctRelated = false;
      pkt.mark = 0;
      pkt.brNfDone = false;
      pkt.fragMaxSize = 0;
    }
    if (
      pkt.dstPendingConfirm &&
      (peer.ns.kind === 'switch' || this.ns.kind === 'switch') &&
      !this.ns.world.sharedKernel
    ) {
      // the underlay is a wire between machines: the skb (and its pending neighbour confirmation)
      // ends at the sending NIC. In the kernel harness one kernel plays every node and the
      // underlay is veth + bridge, so there the bit does cross (World.sharedKernel)
      pkt.dstPendingConfirm = false;
    }
    scheduleReceive(peer, pkt, this.delay);
  }
}

/** Creates a veth pair `a` (in nsA) ↔ `b` (in nsB) with the same MTU and one-way delay. */
export function createVethPair(
  nsA: NetNs,
  nameA: string,
  macA: MacAddr,
  nsB: NetNs,
  nameB: string,
  macB: MacAddr,
  mtu: number,
  delay: Nanos,
  roles: { a?: string; b?: string } = {},
): [VethDevice, VethDevice] {
  const a = new VethDevice(nsA, nameA, macA, mtu, delay, roles.a ?? '');
  const b = new VethDevice(nsB, nameB, macB, mtu, delay, roles.b ?? '');
  a.peer = b;
  b.peer = a;
  return [a, b];
}
