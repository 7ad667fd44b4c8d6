/**
 * IPv4 fragmentation (ip_do_fragment: 8-byte aligned pieces, first fragment first, same ID)
 * and reassembly (ip_defrag: queues keyed by src, dst, ID and protocol; 30 s timeout).
 */
import { ETH_HLEN } from '../wire/ethernet.js';
import { Ipv4View } from '../wire/ipv4.js';
import { formatIpv4 } from '../wire/addr.js';
import { ICMP_TIME_EXCEEDED as TIME_EXCEEDED, ICMP_FRAG_REASM_EXCEEDED as FRAG_REASM_EXCEEDED } from '../wire/icmp.js';
import type { Timer } from '../sim/scheduler.js';
import { sec } from '../sim/time.js';
import type { Packet } from './packet.js';
import type { NetNs } from './netns.js';
import { TraceTo } from '../events/tracer.js';
import type { World } from './world.js';

/** Splits an IPv4 packet (frame) into fragments that fit `mtu`; options are not copied (podnet emits none). */
export function fragmentPacket(world: World, pkt: Packet, mtu: number): Packet[] {
  const ip = new Ipv4View(pkt.buf, pkt.l3);
  const hlen = ip.headerLen;
  const total = ip.totalLength;
  const payload = total - hlen;
  const baseOffset = ip.fragOffset;
  const origMf = ip.mf;
  const maxData = (mtu - hlen) & ~7;
  const out: Packet[] = [];
  for (let done = 0; done < payload; ) {
    const isLast = payload - done <= maxData;
    const dataLen = isLast ? payload - done : maxData;
    const f = world.allocPacket(ETH_HLEN + hlen + dataLen, pkt.flow);
    // copy Ethernet + IP header, then this piece of payload
    f.buf.set(pkt.buf.subarray(pkt.off, pkt.off + ETH_HLEN + hlen), f.off);
    f.buf.set(pkt.buf.subarray(pkt.l3 + hlen + done, pkt.l3 + hlen + done + dataLen), f.off + ETH_HLEN + hlen);
    const fv = new Ipv4View(f.buf, f.off + ETH_HLEN);
    fv.totalLength = hlen + dataLen;
    fv.fragOffset = baseOffset + done;
    fv.mf = isLast ? origMf : true;
    fv.fillChecksum();
    f.mark = pkt.mark;
    f.hash = pkt.hash;
    f.ct = pkt.ct;
    f.ctReply = pkt.ctReply;
    f.iif = pkt.iif;
    f.pktType = pkt.pktType;
    out.push(f);
    done += dataLen;
  }
  return out;
}

interface FragQueue {
  key: string;
  frags: Array<{ offset: number; end: number; pkt: Packet }>;
  totalLen: number; // payload length once the last fragment is seen, else -1
  firstSeen: boolean;
  timer: Timer;
  meat: number;
}

const IPFRAG_TIME = sec(30);

/** Per-netns reassembly queues. */
export class Reassembler {
  private queues = new Map<string, FragQueue>();

  /**
   * @param icmpOnTimeout end hosts send "fragment reassembly time exceeded"; conntrack's defrag
   *   queues for forwarded packets do not (RFC 792, ip_expire)
   */
  constructor(
    private readonly ns: NetNs,
    private readonly icmpOnTimeout = true,
  ) {}

  /** Adds a fragment; returns the reassembled packet when complete, else null. */
  add(pkt: Packet): Packet | null {
    const ip = new Ipv4View(pkt.buf, pkt.l3);
    const key = `${ip.src}|${ip.dst}|${ip.ident}|${ip.protocol}`;
    let q = this.queues.get(key);
    if (q === undefined) {
      const timer = this.ns.world.sched.schedule(IPFRAG_TIME, (k: string) => this.expire(k), key);
      q = { key, frags: [], totalLen: -1, firstSeen: false, timer, meat: 0 };
      this.queues.set(key, q);
    }
    const offset = ip.fragOffset;
    const end = offset + ip.payloadLength;
    if (!ip.mf) q.totalLen = end;
    if (offset === 0) q.firstSeen = true;
    // ignore exact duplicates; overlapping fragments are dropped like the kernel (RFC 5722 spirit)
    for (const f of q.frags) {
      if (offset < f.end && end > f.offset) {
        this.ns.stack.drop(pkt, { what: 'frag-overlap' });
        return null;
      }
    }
    q.frags.push({ offset, end, pkt });
    q.meat += end - offset;
    const w = this.ns.world;
    if (w.tracer.on) {
      const total = q.totalLen < 0 ? undefined : q.totalLen;
      this.ns.trace({ kind: 'frag', what: 'queued', id: ip.ident, offset, end, total }, pkt, undefined, TraceTo.Hop);
    }
    if (q.totalLen < 0 || q.meat !== q.totalLen) return null;
    q.timer.cancel();
    this.queues.delete(key);
    q.frags.sort((a, b) => a.offset - b.offset);
    const first = q.frags[0]!.pkt;
    const fv = new Ipv4View(first.buf, first.l3);
    const hlen = fv.headerLen;
    const whole = w.allocPacket(ETH_HLEN + hlen + q.totalLen, first.flow);
    whole.buf.set(first.buf.subarray(first.off, first.off + ETH_HLEN + hlen), whole.off);
    for (const f of q.frags) {
      const v = new Ipv4View(f.pkt.buf, f.pkt.l3);
      whole.buf.set(
        f.pkt.buf.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength),
        whole.off + ETH_HLEN + hlen + f.offset,
      );
    }
    const wv = new Ipv4View(whole.buf, whole.off + ETH_HLEN);
    wv.totalLength = hlen + q.totalLen;
    wv.mf = false;
    wv.fragOffset = 0;
    wv.fillChecksum();
    whole.iif = first.iif;
    whole.pktType = first.pktType;
    whole.mark = first.mark;
    whole.hash = first.hash;
    whole.ct = first.ct;
    whole.ctReply = first.ctReply;
    whole.fragMaxSize = Math.max(...q.frags.map((f) => new Ipv4View(f.pkt.buf, f.pkt.l3).totalLength));
    whole.brNfDone = first.brNfDone;
    if (w.tracer.on) {
      const body = {
        kind: 'frag',
        what: 'reassembled',
        fragments: q.frags.length,
        id: wv.ident,
        src: formatIpv4(wv.src),
        len: hlen + q.totalLen,
      } as const;
      this.ns.trace(body, whole, undefined, TraceTo.Hop);
    }
    return whole;
  }

  private expire(key: string): void {
    const q = this.queues.get(key);
    if (q === undefined) return;
    this.queues.delete(key);
    const first = q.frags.find((f) => f.offset === 0);
    if (first !== undefined && this.icmpOnTimeout)
      this.ns.stack.sendIcmpError(first.pkt, TIME_EXCEEDED, FRAG_REASM_EXCEEDED, 0);
    for (const f of q.frags) this.ns.stack.drop(f.pkt, { what: 'frag-timeout' });
  }
}
