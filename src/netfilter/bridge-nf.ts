/**
 * br_netfilter (net/bridge/br_netfilter_hooks.c): IPv4 frames bridged on cni0 traverse iptables
 * PREROUTING, FORWARD and POSTROUTING (with conntrack) when bridge-nf-call-iptables=1. After a
 * DNAT in bridge PREROUTING, a destination reachable through the same bridge is *bridged*, not
 * routed: only the destination MAC is rewritten (no TTL decrement, source MAC kept) — the
 * bridged-DNAT path that makes same-node Service backends and hairpin work.
 */
import { formatIpv4, formatMac } from '../wire/addr.js';
import { EthernetView } from '../wire/ethernet.js';
import { Ipv4View } from '../wire/ipv4.js';
import type { BridgeDevice, BridgeNetfilter, BridgePort } from '../net/bridge.js';
import type { Packet } from '../net/packet.js';
import { PktType } from '../net/packet.js';
import { NfHook } from '../net/stack.js';
import { fragmentPacket } from '../net/frag.js';
import { NUD_CONNECTED, Nud, nudName } from '../net/neigh.js';
import type { Netfilter } from './engine.js';
import type { BodyOf } from '../events/hop.js';

/** The br_netfilter glue between a bridge and its host netns's netfilter. */
export class BrNetfilter implements BridgeNetfilter {
  constructor(private readonly nf: Netfilter) {}

  private note(pkt: Packet, br: BridgeDevice, body: BodyOf<'nf'>): void {
    br.ns.trace(body, pkt, br.name);
  }

  preRouting(br: BridgeDevice, inPort: BridgePort, pkt: Packet): Packet | null {
    if (!br.ns.sysctl.bridgeNfCallIptables) return pkt;
    const before = new Ipv4View(pkt.buf, pkt.l3).dst;
    const p = this.nf.runHook(NfHook.PreRouting, pkt, br, null, true, inPort.dev.name, '');
    if (p === null) return null;
    // the IP stack must not run PREROUTING again if this frame goes up to the host (ip_sabotage_in)
    p.brNfDone = true;
    const ip = new Ipv4View(p.buf, p.l3);
    const dst = ip.dst;
    if (dst === before) return p;
    const eth = new EthernetView(p.buf, p.off);
    const r = br.ns.fib.lookup(dst);
    const tracing = br.ns.world.tracer.active;
    if (r !== undefined && r.type === 'unicast' && r.dev === br) {
      const nexthop = r.gateway || dst;
      const n = br.ns.neigh.lookup(br, nexthop);
      // br_nf_pre_routing_finish_bridge: the fast path (copy the cached header's destination MAC,
      // bridge on) needs an entry that is NUD_CONNECTED and has a hardware-header cache, i.e. one
      // the host stack has already transmitted through
      if (n !== undefined && n.state & NUD_CONNECTED && n.hh) {
        if (tracing) {
          const body = {
            kind: 'nf',
            what: 'bridged-dnat',
            dst: formatIpv4(dst),
            bridge: br.name,
            mac: formatMac(n.mac),
            neighState: undefined,
            connected: true,
            inPort: inPort.dev.name,
          } as const;
          this.note(p, br, body);
        }
        eth.dst = n.mac;
        p.brNfDone = false;
        return p;
      }
      // otherwise the frame goes through neigh->output on the bridge device (neigh_resolve_output:
      // the neighbour state machine runs — ARP for an unknown entry, STALE → DELAY — and the frame
      // is sent on cni0 with cni0's MAC as source); br_dev_xmit then restores the saved source MAC
      // and bridges it on from the ingress port (br_nf_pre_routing_finish_bridge_slow)
      if (tracing) {
        const unknown = n === undefined || n.state === Nud.None || n.state === Nud.Failed || n.state === Nud.Incomplete;
        const neighState = unknown ? undefined : nudName(n.state);
        const connected = !unknown && (n.state & NUD_CONNECTED) !== 0;
        const body = {
          kind: 'nf',
          what: 'bridged-dnat',
          dst: formatIpv4(dst),
          bridge: br.name,
          mac: undefined,
          neighState,
          connected,
          inPort: inPort.dev.name,
        } as const;
        this.note(p, br, body);
      }
      p.bridgedDnat = true;
      p.brInPort = inPort;
      p.brSavedSrc = eth.src;
      p.brNfDone = false;
      br.ns.neigh.output(br, nexthop, p);
      return null;
    }
    // routed (or local): hand the frame to the host stack
    eth.dst = br.mac;
    p.pktType = PktType.Host;
    if (tracing) this.note(p, br, { kind: 'nf', what: 'dnat-routed', dst: formatIpv4(dst) });
    return p;
  }

  forward(br: BridgeDevice, inPort: BridgePort, outPort: BridgePort, pkt: Packet): Packet[] {
    if (!br.ns.sysctl.bridgeNfCallIptables) return [pkt];
    pkt.brNfDone = false;
    const f = this.nf.runHook(NfHook.Forward, pkt, br, br, true, inPort.dev.name, outPort.dev.name);
    if (f === null) return [];
    const p = this.nf.runHook(NfHook.PostRouting, f, null, br, true, '', outPort.dev.name);
    if (p === null) return [];
    // br_nf_dev_queue_xmit: a datagram conntrack reassembled leaves as fragments again
    if (p.fragMaxSize > 0) {
      const ip = new Ipv4View(p.buf, p.l3);
      const mtu = Math.min(outPort.dev.mtu, p.fragMaxSize);
      p.fragMaxSize = 0;
      if (ip.totalLength > mtu) return fragmentPacket(br.ns.world, p, mtu);
    }
    return [p];
  }
}
