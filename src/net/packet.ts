/**
 * A packet in flight: real frame bytes (starting at the Ethernet header) plus the few
 * simulation-only tags the kernel keeps in an skb (mark, conntrack, flow hash).
 */
import { ETH_HLEN } from '../wire/ethernet.js';
import type { HopEvent } from '../events/hop.js';

/** Bytes kept free in front of every frame so encapsulation can prepend headers without copying. */
export const HEADROOM = 64;

/** Linux skb->pkt_type: how the frame was addressed at L2 on reception. */
export const enum PktType {
  Host = 0,
  Broadcast = 1,
  Multicast = 2,
  OtherHost = 3,
  Outgoing = 4,
}

const NO_NOTES: readonly HopEvent[] = Object.freeze([]);

/** A frame plus skb-like metadata. */
export class Packet {
  /** Backing buffer; the frame occupies buf[off, off+len). */
  buf: Uint8Array;
  off: number;
  len: number;
  /** Unique id within a run, for traces. */
  readonly id: number;
  /** Probe/flow id (0 = none), inherited by replies, errors and ARP it triggers. */
  flow: number;
  /** skb->mark (netfilter MARK, kube-proxy 0x4000). */
  mark = 0;
  /** skb->hash: flow hash used for the VXLAN source port (0 = compute from headers). */
  hash = 0;
  /** How the frame was addressed on reception. */
  pktType: PktType = PktType.Host;
  /** Conntrack entry and direction (owned by the netfilter module). */
  ct: unknown = null;
  ctReply = false;
  /** An ICMP error RELATED to `ct` (its quoted packet belongs to that connection). */
  ctRelated = false;
  /** Ingress device ifindex of the current netns (0 when locally generated). */
  iif = 0;
  /** Next device to receive this packet when a link delivery event fires. */
  rxDev: unknown = null;
  /** Events of this packet since it was last captured (captures write them as its comment). */
  notes: HopEvent[] | null = null;
  /** DF requested but fragmentation allowed (skb->ignore_df), e.g. for pmtudisc=want overflow. */
  ignoreDf = false;
  /** Largest fragment of a datagram reassembled by conntrack defrag (IPCB frag_max_size; 0 = not reassembled). */
  fragMaxSize = 0;
  /**
   * skb->dst_pending_confirm: set on a TCP segment sent after an ACK made progress; each neighbour
   * the packet is output through (ip_finish_output2 → sock_confirm_neigh) is confirmed. It stays
   * on the skb across veth (skb_scrub_packet leaves it), forwarding and VXLAN encapsulation, so
   * it confirms every hop of its journey within one kernel; a physical wire does not carry it.
   */
  dstPendingConfirm = false;
  /** br_netfilter state: PREROUTING already ran on the bridge, so the IP stack skips it (ip_sabotage_in). */
  brNfDone = false;
  /** br_netfilter bridged-DNAT waiting for ARP: continue bridging from this port with this source MAC. */
  bridgedDnat = false;
  brInPort: unknown = null;
  brSavedSrc = 0;

  constructor(buf: Uint8Array, off: number, len: number, id: number, flow = 0) {
    this.buf = buf;
    this.off = off;
    this.len = len;
    this.id = id;
    this.flow = flow;
  }

  /** Allocates a zeroed frame of `len` bytes with HEADROOM bytes free in front. */
  static alloc(len: number, id: number, flow = 0): Packet {
    return new Packet(new Uint8Array(HEADROOM + len), HEADROOM, len, id, flow);
  }

  /** Offset of the L3 header (frames are always Ethernet). */
  get l3(): number {
    return this.off + ETH_HLEN;
  }

  /** Length of the L3 part. */
  get l3Len(): number {
    return this.len - ETH_HLEN;
  }

  /** A deep copy with a new id (bridge flooding, hairpin reflection, captures of clones). */
  clone(id: number): Packet {
    const buf = new Uint8Array(HEADROOM + this.len);
    buf.set(this.buf.subarray(this.off, this.off + this.len), HEADROOM);
    const p = new Packet(buf, HEADROOM, this.len, id, this.flow);
    p.mark = this.mark;
    p.hash = this.hash;
    p.pktType = this.pktType;
    p.ct = this.ct;
    p.ctReply = this.ctReply;
    p.ctRelated = this.ctRelated;
    p.iif = this.iif;
    p.ignoreDf = this.ignoreDf;
    p.fragMaxSize = this.fragMaxSize;
    p.brNfDone = this.brNfDone;
    p.dstPendingConfirm = this.dstPendingConfirm;
    return p;
  }

  /** Grows the frame at the front by `n` bytes (reallocating only when headroom is short). */
  push(n: number): void {
    if (this.off < n) {
      const buf = new Uint8Array(HEADROOM + n + this.len);
      buf.set(this.buf.subarray(this.off, this.off + this.len), HEADROOM + n);
      this.buf = buf;
      this.off = HEADROOM + n;
    }
    this.off -= n;
    this.len += n;
  }

  /** Drops `n` bytes from the front. */
  pull(n: number): void {
    this.off += n;
    this.len -= n;
  }

  /** The frame bytes (a view, not a copy). */
  bytes(): Uint8Array {
    return this.buf.subarray(this.off, this.off + this.len);
  }

  /** Adds an event to the packet's notes (only called when captures are on). */
  note(ev: HopEvent): void {
    (this.notes ??= []).push(ev);
  }

  /** Returns and clears the accumulated notes. */
  takeNotes(): readonly HopEvent[] {
    const n = this.notes;
    this.notes = null;
    return n ?? NO_NOTES;
  }
}
