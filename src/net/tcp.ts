/**
 * A TCP implementation close enough to Linux's to produce the same packets for short
 * connections: the SYN options Linux sends (MSS, SACK_PERM, timestamps, NOP, window scale),
 * its initial windows, IP ID rules (SYN-ACK and RST carry ID 0, sockets count from a random
 * value), quick ACKs for first data, delayed ACK once a FIN is seen, SYN retransmission with
 * exponential backoff and a fresh flow hash, RST for closed ports, and TIME_WAIT.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { formatIpv4 } from '../wire/addr.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { IPPROTO_TCP, IPV4_HLEN, emitIpv4Header } from '../wire/ipv4.js';
import type { Ipv4View } from '../wire/ipv4.js';
import {
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TcpView,
  emitTcpHeader,
  formatTcpFlags,
  parseTcpOptions,
  tcpHeaderLen,
} from '../wire/tcp.js';
import type { TcpOption } from '../wire/tcp.js';
import { isWireError } from '../wire/errors.js';
import type { Timer } from '../sim/scheduler.js';
import { ms, sec } from '../sim/time.js';
import type { NetDevice } from './device.js';
import type { Packet } from './packet.js';
import type { NetNs } from './netns.js';
import type { OutputRoute } from './stack.js';
import type { SocketError } from './sockets.js';
import { socketError } from './sockets.js';
import { QuadMap } from './tuple-map.js';
import type { BodyOf, SocketRef, TcpSocketDetail, TcpSocketWhat } from '../events/hop.js';
import { TraceTo } from '../events/tracer.js';

/** TCP states (as `ss` names them). */
export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'ESTABLISHED'
  | 'FIN_WAIT1'
  | 'FIN_WAIT2'
  | 'CLOSING'
  | 'TIME_WAIT'
  | 'CLOSE_WAIT'
  | 'LAST_ACK';

/** Receive-window scale Linux ≥ 6.13 advertises with its 32 MiB default tcp_rmem[2]. */
const RCV_WSCALE = 10;
/** Receive space used for the initial window (rounded down to whole MSS, capped at 65535). */
const INITIAL_RCV_SPACE = 65536;
const TCP_TIMEOUT_INIT = sec(1);
const TCP_RTO_MIN = ms(200);
const TCP_RTO_MAX = sec(120);
const TCP_DELACK_MIN = ms(40);
const TCP_TIMEWAIT_LEN = sec(60);
const TCP_SYNACK_RETRIES = 5;
const TCP_RETRIES2 = 15;
const TCP_MAX_QUICKACKS = 16;
const TCP_INIT_CWND = 10;

/**
 * tcp_model_timeout: how long `boundary` retransmissions take when the RTO doubles from `rtoBase`
 * and is capped at TCP_RTO_MAX (linear growth from there).
 */
export function modelTimeout(boundary: number, rtoBase: number): number {
  const thresh = Math.floor(Math.log2(TCP_RTO_MAX / rtoBase));
  if (boundary <= thresh) return (2 ** (boundary + 1) - 1) * rtoBase;
  return (2 ** (thresh + 1) - 1) * rtoBase + (boundary - thresh) * TCP_RTO_MAX;
}

const NO_OPTIONS: TcpOption[] = [];
const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0;
const seqAdd = (a: number, n: number): number => (a + n) >>> 0;

interface Segment {
  seq: number;
  flags: number;
  data: Uint8Array | null;
  /** Sequence space consumed (data + SYN + FIN). */
  span: number;
  sentAt: number;
  retransmitted: boolean;
}

/** Connection events for applications. */
export interface TcpCallbacks {
  onConnected?: (s: TcpSocket) => void;
  onData?: (s: TcpSocket, data: Uint8Array) => void;
  /** The peer closed its side (FIN received). */
  onEof?: (s: TcpSocket) => void;
  /** The connection is gone (closed normally, reset, or timed out). */
  onClosed?: (s: TcpSocket, err: SocketError | undefined) => void;
}

/** A listening socket. */
export class TcpListener {
  closed = false;
  constructor(
    readonly engine: TcpEngine,
    readonly localAddr: Ipv4Addr,
    readonly port: number,
    readonly onAccept: (s: TcpSocket) => void,
  ) {}

  /** Stops listening. */
  close(): void {
    this.closed = true;
    this.engine.unlisten(this);
  }
}

/** A TCP connection endpoint. */
export class TcpSocket {
  state: TcpState = 'CLOSED';
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  sndWnd = 0;
  irs = 0;
  rcvNxt = 0;
  /** Our advertised MSS and the effective MSS we send with (peer MSS minus timestamp option). */
  advmss = 536;
  mss = 536;
  sndWscale = 0;
  rcvWscale = RCV_WSCALE;
  rcvWnd = 0;
  tsOk = false;
  tsRecent = 0;
  tsOffset = 0;
  sackOk = false;
  wscaleOk = false;
  /** sk_txhash (redrawn on every retransmission timeout, which moves the VXLAN source port). */
  txhash = 0;
  inetId = 0;
  private unsent: Uint8Array[] = [];
  private finQueued = false;
  private rtx: Segment[] = [];
  private rto = TCP_TIMEOUT_INIT;
  private srtt = 0;
  private rttvar = 0;
  private retries = 0;
  /** tp->total_rto: retransmission timeouts over the socket's life. */
  private totalRto = 0;
  private rtxTimer: Timer | null = null;
  private delackTimer: Timer | null = null;
  private twTimer: Timer | null = null;
  private quickAcks = 0;
  private pingpong = false;
  /** TCP_NODELAY: no Nagle hold-back of small segments (Go, and so CoreDNS, sets it on every connection). */
  noDelay = false;
  private cwnd = TCP_INIT_CWND;
  /** A request socket (SYN_RECV under a listener): its SYN-ACK carries IP ID 0. */
  requestSock = false;
  listener: TcpListener | null = null;
  callbacks: TcpCallbacks = {};
  /** Why the connection ended, if it did abnormally. */
  error: SocketError | undefined;
  readonly createdAt: number;
  establishedAt = -1;
  /** IP TTL of the last segment received (what `ping`-style tools would report). */
  rxTtl: number | undefined;
  /** The source port was bound explicitly (bind() before connect()): connect() never picks it for others. */
  boundPort = false;
  /**
   * sk_dst_pending_confirm: an ACK made progress since the last segment went out, so the next
   * one carries skb->dst_pending_confirm and confirms the neighbour it leaves through (and, as
   * the bit stays on the skb, every neighbour it is routed through later on the same machine).
   */
  pendingConfirm = false;
  /** snd_wl1: sequence number of the segment that last updated the send window. */
  private sndWl1 = 0;

  constructor(
    readonly engine: TcpEngine,
    readonly localAddr: Ipv4Addr,
    readonly localPort: number,
    readonly remoteAddr: Ipv4Addr,
    readonly remotePort: number,
    public flow: number,
  ) {
    this.createdAt = engine.ns.world.now;
  }

  /** `addr:port → addr:port` for traces. */
  toString(): string {
    return `${formatIpv4(this.localAddr)}:${this.localPort} → ${formatIpv4(this.remoteAddr)}:${this.remotePort}`;
  }

  private get ns(): NetNs {
    return this.engine.ns;
  }

  private tsval(): number {
    return (Math.floor(this.ns.world.now / 1_000_000) + this.tsOffset) >>> 0;
  }

  /** Queues bytes for sending (send()). */
  write(data: Uint8Array): void {
    if (this.finQueued || this.state === 'CLOSED') return;
    if (data.length > 0) this.unsent.push(data);
    if (this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT') this.pushPending(true);
  }

  /** close(): send FIN after queued data. */
  close(): void {
    switch (this.state) {
      case 'SYN_SENT':
        this.destroy(undefined);
        return;
      case 'ESTABLISHED':
      case 'CLOSE_WAIT':
      case 'SYN_RECV':
        if (this.finQueued) return;
        this.finQueued = true;
        this.pushPending(true);
        return;
      default:
        return;
    }
  }

  /** Sends a RST and forgets the connection (SO_LINGER 0 / abort). */
  abort(): void {
    if (this.state === 'CLOSED' || this.state === 'TIME_WAIT') return;
    this.engine.sendRaw(this, TCP_RST | TCP_ACK, this.sndNxt, this.rcvNxt, null, [], 0);
    this.destroy(socketError('ECONNRESET', 'connection aborted'));
  }

  /** Starts an active open. */
  startConnect(): void {
    const rng = this.ns.rng;
    this.iss = rng.nextU32();
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.tsOffset = rng.nextU32();
    this.txhash = rng.nextU32() || 1;
    this.inetId = rng.nextU32() & 0xffff;
    this.state = 'SYN_SENT';
    this.trace('connect');
    this.sendSyn(false);
  }

  private initialWindow(mss: number): number {
    return Math.min(Math.floor(INITIAL_RCV_SPACE / mss) * mss, 65535);
  }

  private synOptions(tsecr: number): TcpOption[] {
    return [
      { kind: 'mss', value: this.advmss },
      { kind: 'sack-permitted' },
      { kind: 'timestamps', tsval: this.tsval(), tsecr },
      { kind: 'nop' },
      { kind: 'wscale', shift: this.rcvWscale },
    ];
  }

  private sendSyn(retransmit: boolean): void {
    const rt = this.engine.route(this);
    if (rt === undefined) return;
    this.advmss = rt.mtu - 40;
    if (!retransmit) {
      this.rcvWnd = this.initialWindow(this.advmss);
      this.rtx.push({
        seq: this.iss,
        flags: TCP_SYN,
        data: null,
        span: 1,
        sentAt: this.ns.world.now,
        retransmitted: false,
      });
      this.sndNxt = seqAdd(this.iss, 1);
    }
    this.engine.sendRaw(this, TCP_SYN, this.iss, 0, null, this.synOptions(0), this.initialWindow(this.advmss));
    this.armRtx();
  }

  private sendSynAck(): void {
    const rt = this.engine.route(this);
    if (rt === undefined) return;
    this.advmss = rt.mtu - 40;
    // the SYN-ACK window is rounded to the MSS less the timestamp option once both sides use it
    const win = this.initialWindow(this.advmss - (this.tsOk ? 12 : 0));
    this.rcvWnd = win;
    const opts: TcpOption[] = [{ kind: 'mss', value: this.advmss }];
    if (this.sackOk) opts.push({ kind: 'sack-permitted' });
    if (this.tsOk) opts.push({ kind: 'timestamps', tsval: this.tsval(), tsecr: this.tsRecent });
    if (this.wscaleOk) opts.push({ kind: 'nop' }, { kind: 'wscale', shift: this.rcvWscale });
    this.engine.sendRaw(this, TCP_SYN | TCP_ACK, this.iss, this.rcvNxt, null, opts, win);
  }

  // reused on every segment: NOP, NOP, timestamps (only the timestamp values change)
  private readonly tsOption = { kind: 'timestamps' as const, tsval: 0, tsecr: 0 };
  private readonly tsOptions: TcpOption[] = [{ kind: 'nop' }, { kind: 'nop' }, this.tsOption];

  private dataOptions(): TcpOption[] {
    if (!this.tsOk) return NO_OPTIONS;
    this.tsOption.tsval = this.tsval();
    this.tsOption.tsecr = this.tsRecent;
    return this.tsOptions;
  }

  private windowField(): number {
    const shift = this.wscaleOk ? this.rcvWscale : 0;
    // tcp_select_window rounds the advertised window up to the scale granularity
    return Math.min(Math.ceil(this.rcvWnd / (1 << shift)), 65535);
  }

  private sendAck(): void {
    this.cancelDelack();
    this.engine.sendRaw(this, TCP_ACK, this.sndNxt, this.rcvNxt, null, this.dataOptions(), this.windowField());
  }

  /** Sends queued data and a queued FIN as far as the windows allow. */
  private pushPending(fromApp: boolean): void {
    if (this.state !== 'ESTABLISHED' && this.state !== 'CLOSE_WAIT' && this.state !== 'SYN_RECV') {
      return;
    }
    if (this.state === 'SYN_RECV') return;
    const mss = this.mss;
    let sent = false;
    while (this.unsent.length > 0) {
      const inFlight = (this.sndNxt - this.sndUna) >>> 0;
      const wndLimit = Math.min(this.sndWnd, this.cwnd * mss) - inFlight;
      if (wndLimit <= 0) break;
      const total = this.unsent.reduce((n, b) => n + b.length, 0);
      const size = Math.min(mss, total, wndLimit);
      // Nagle: hold a small segment while earlier data is unacknowledged
      if (size < mss && inFlight > 0 && !this.finQueued && !this.noDelay) break;
      const chunk = this.takeUnsent(size);
      const last = this.unsent.length === 0;
      const seg: Segment = {
        seq: this.sndNxt,
        flags: TCP_ACK | (last ? TCP_PSH : 0),
        data: chunk,
        span: chunk.length,
        sentAt: this.ns.world.now,
        retransmitted: false,
      };
      this.rtx.push(seg);
      this.sndNxt = seqAdd(this.sndNxt, chunk.length);
      this.transmit(seg);
      sent = true;
    }
    if (this.finQueued && this.unsent.length === 0 && !this.rtx.some((s) => s.flags & TCP_FIN)) {
      const seg: Segment = {
        seq: this.sndNxt,
        flags: TCP_FIN | TCP_ACK,
        data: null,
        span: 1,
        sentAt: this.ns.world.now,
        retransmitted: false,
      };
      this.rtx.push(seg);
      this.sndNxt = seqAdd(this.sndNxt, 1);
      this.state = this.state === 'CLOSE_WAIT' ? 'LAST_ACK' : 'FIN_WAIT1';
      this.trace('close');
      this.transmit(seg);
      sent = true;
    }
    if (sent) this.armRtx();
    void fromApp;
  }

  private takeUnsent(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.unsent[0]!;
      const take = Math.min(head.length, n - filled);
      out.set(head.subarray(0, take), filled);
      filled += take;
      if (take === head.length) this.unsent.shift();
      else this.unsent[0] = head.subarray(take);
    }
    return out;
  }

  private transmit(seg: Segment): void {
    this.cancelDelack();
    this.engine.sendRaw(this, seg.flags, seg.seq, this.rcvNxt, seg.data, this.dataOptions(), this.windowField());
    this.noteDataSent();
  }

  /** tcp_event_data_sent: replying soon after receiving makes the exchange interactive (pingpong). */
  private lastRcv = -1;
  private noteDataSent(): void {
    if (this.lastRcv >= 0 && this.ns.world.now - this.lastRcv < TCP_DELACK_MIN) this.pingpong = true;
  }

  private armRtx(): void {
    if (this.rtx.length === 0) {
      this.cancelRtx();
      return;
    }
    if (this.rtxTimer !== null) return;
    this.rtxTimer = this.ns.world.sched.schedule(this.rto, (s: TcpSocket) => s.onRtxTimeout(), this);
  }

  private cancelRtx(): void {
    this.rtxTimer?.cancel();
    this.rtxTimer = null;
  }

  private cancelDelack(): void {
    this.delackTimer?.cancel();
    this.delackTimer = null;
  }

  private scheduleDelack(): void {
    if (this.delackTimer !== null) return;
    this.delackTimer = this.ns.world.sched.schedule(
      TCP_DELACK_MIN,
      (s: TcpSocket) => {
        s.delackTimer = null;
        if (s.state !== 'CLOSED') s.sendAck();
      },
      this,
    );
  }

  /**
   * tcp_write_timeout: whether the retransmissions so far are all the socket may make. SYN_SENT
   * (Linux ≥ 6.7): tcp_syn_retries plus tcp_syn_linear_timeouts retransmissions, or — whichever
   * comes first — the time those tcp_syn_retries would take with pure doubling from the initial
   * RTO (retransmits_timed_out → tcp_model_timeout: 127 s for 6), counted from the first SYN.
   */
  private writeTimedOut(): boolean {
    const sys = this.ns.sysctl;
    if (this.state === 'SYN_SENT') {
      if (this.retries >= sys.tcpSynRetries + sys.tcpSynLinearTimeouts) return true;
      return (
        this.retries > 0 && this.ns.world.now - this.createdAt >= modelTimeout(sys.tcpSynRetries, TCP_TIMEOUT_INIT)
      );
    }
    return this.retries >= (this.state === 'SYN_RECV' ? TCP_SYNACK_RETRIES : TCP_RETRIES2);
  }

  /** tcp_retransmit_timer. */
  private onRtxTimeout(): void {
    this.rtxTimer = null;
    if (this.rtx.length === 0 || this.state === 'CLOSED') return;
    if (this.writeTimedOut()) {
      this.trace('give-up', { retries: this.retries });
      this.destroy(socketError('ETIMEDOUT', 'Connection timed out', { local: true }));
      return;
    }
    // icsk_retransmits counts this burst (reset by an ACK that makes progress); total_rto never resets
    this.retries++;
    this.totalRto++;
    // sk_rethink_txhash: a new flow hash after a timeout (and so a new VXLAN source port)
    this.txhash = this.ns.rng.nextU32() || 1;
    // exponential backoff, except for a connecting socket's first tcp_syn_linear_timeouts
    // timeouts, which keep the initial RTO (SYNs at 0, 1, 2, 3, 4, 5 s, then 7, 11, …)
    if (this.state !== 'SYN_SENT' || this.totalRto > this.ns.sysctl.tcpSynLinearTimeouts)
      this.rto = Math.min(this.rto * 2, TCP_RTO_MAX);
    this.cwnd = 1;
    const seg = this.rtx[0]!;
    seg.retransmitted = true;
    if (this.ns.world.tracer.on)
      this.trace('retransmit', { flags: formatTcpFlags(seg.flags), retry: this.retries, rto: this.rto });
    if (seg.flags & TCP_SYN) {
      if (this.state === 'SYN_RECV') this.sendSynAck();
      else this.engine.sendRaw(this, TCP_SYN, this.iss, 0, null, this.synOptions(0), this.initialWindow(this.advmss));
    } else {
      this.engine.sendRaw(this, seg.flags, seg.seq, this.rcvNxt, seg.data, this.dataOptions(), this.windowField());
    }
    this.armRtx();
  }

  private rttSample(sentAt: number): void {
    const r = this.ns.world.now - sentAt;
    if (this.srtt === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    // Linux keeps rttvar at least tcp_rto_min, so RTO ≈ srtt + 200 ms on a quiet path
    this.rto = Math.min(Math.max(this.srtt + Math.max(this.rttvar * 4, TCP_RTO_MIN), TCP_RTO_MIN), TCP_RTO_MAX);
  }

  /** Processes an incoming segment for this connection (tcp_rcv_state_process). */
  segmentArrives(tcp: TcpView, ip: Ipv4View, pkt: Packet): void {
    this.rxTtl = ip.ttl;
    const flags = tcp.flags;
    const seq = tcp.seq;
    const ack = tcp.ack;
    const dataOff = tcp.payloadOffset;
    const dataLen = ip.payloadOffset + ip.payloadLength - dataOff;
    // the common segment carries exactly NOP NOP TS: read it without building option objects
    let opts: TcpOption[] = NO_OPTIONS;
    let ts: { tsval: number } | undefined;
    const o = tcp.optionsOffset;
    const b = pkt.buf;
    if (tcp.headerLen === 32 && b[o] === 1 && b[o + 1] === 1 && b[o + 2] === 8 && b[o + 3] === 10) {
      ts = { tsval: ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0 };
    } else if (tcp.headerLen > 20) {
      try {
        opts = parseTcpOptions(pkt.buf, tcp.optionsOffset, tcp.headerLen - 20);
      } catch (e) {
        if (!isWireError(e)) throw e;
      }
      ts = opts.find((x): x is Extract<TcpOption, { kind: 'timestamps' }> => x.kind === 'timestamps');
    }

    if (this.state === 'SYN_SENT') {
      if (flags & TCP_ACK && (seqLe(ack, this.iss) || seqLt(this.sndNxt, ack))) {
        if (!(flags & TCP_RST)) this.engine.sendReset(pkt, ip, tcp, this.flow);
        return;
      }
      if (flags & TCP_RST) {
        if (flags & TCP_ACK) {
          this.trace('refused');
          this.destroy(socketError('ECONNREFUSED', 'Connection refused', { local: false, from: ip.src }));
        }
        return;
      }
      if (!(flags & TCP_SYN)) return;
      this.irs = seq;
      this.rcvNxt = seqAdd(seq, 1);
      this.applySynOptions(opts);
      if (ts) this.tsRecent = ts.tsval;
      if (flags & TCP_ACK) {
        this.sndUna = ack;
        this.sndWnd = tcp.window; // not scaled in SYN-ACK
        this.sndWl1 = seq;
        // tcp_ack (from tcp_rcv_synsent_state_process) acknowledged our SYN: sk_dst_confirm
        this.pendingConfirm = true;
        const synSeg = this.rtx.shift();
        if (synSeg && !synSeg.retransmitted) this.rttSample(synSeg.sentAt);
        this.cancelRtx();
        this.retries = 0;
        this.state = 'ESTABLISHED';
        this.establishedAt = this.ns.world.now;
        this.rcvWnd = this.initialWindow(this.advmss);
        this.trace('established');
        this.sendAck();
        this.callbacks.onConnected?.(this);
        this.pushPending(false);
      }
      return;
    }

    // sequence acceptability (RFC 793 with zero-length segments allowed at rcvNxt)
    const segSpan = dataLen + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
    const acceptable =
      segSpan === 0
        ? seq === this.rcvNxt || (seqLe(this.rcvNxt, seq) && seqLt(seq, seqAdd(this.rcvNxt, Math.max(this.rcvWnd, 1))))
        : seqLt(seq, seqAdd(this.rcvNxt, this.rcvWnd)) && seqLt(this.rcvNxt, seqAdd(seq, segSpan));
    if (flags & TCP_RST) {
      if (seq === this.rcvNxt || (this.state === 'SYN_RECV' && acceptable)) {
        this.trace('reset');
        this.destroy(socketError('ECONNRESET', 'Connection reset by peer', { local: false, from: ip.src }));
      }
      return;
    }
    if (this.state === 'SYN_RECV' && flags & TCP_SYN && !(flags & TCP_ACK) && seq === this.irs) {
      // retransmitted SYN: answer with the SYN-ACK again
      this.sendSynAck();
      return;
    }
    if (!acceptable) {
      if (this.state === 'TIME_WAIT' && flags & TCP_FIN) {
        this.sendAck();
        return;
      }
      if (segSpan > 0 || !(flags & TCP_ACK)) this.sendAck();
      return;
    }
    if (!(flags & TCP_ACK)) return;
    if (ts) this.tsRecent = ts.tsval;
    let ackedNew = false;

    if (this.state === 'SYN_RECV') {
      if (seqLe(ack, this.sndUna) || seqLt(this.sndNxt, ack)) {
        this.engine.sendReset(pkt, ip, tcp, this.flow);
        return;
      }
      this.sndUna = ack;
      const synSeg = this.rtx.shift();
      if (synSeg && !synSeg.retransmitted) this.rttSample(synSeg.sentAt);
      this.cancelRtx();
      this.retries = 0;
      this.requestSock = false;
      // the child socket gets its own random IP ID counter (tcp_v4_syn_recv_sock)
      this.inetId = this.ns.rng.nextU32() & 0xffff;
      this.sndWnd = tcp.window << this.sndWscale;
      this.sndWl1 = seq;
      // tcp_ack acknowledged our SYN-ACK: forward progress, so sk_dst_confirm
      this.pendingConfirm = true;
      this.state = 'ESTABLISHED';
      this.establishedAt = this.ns.world.now;
      this.trace('accepted');
      this.listener?.onAccept(this);
    } else {
      // ACK processing
      const progress = seqLt(this.sndUna, ack) && seqLe(ack, this.sndNxt);
      if (this.state !== 'TIME_WAIT' && seqLe(this.sndUna, ack) && seqLe(ack, this.sndNxt)) {
        // tcp_ack: an ACK that makes forward progress (FLAG_FORWARD_PROGRESS), or a pure duplicate
        // (no data or FIN, no window update, nothing newly acked: !FLAG_NOT_DUP), confirms the
        // path (sk_dst_confirm); tcp_may_update_window decides what a window update is
        const nwin = tcp.window << this.sndWscale;
        const winUpdate =
          progress || seqLt(this.sndWl1, seq) || (seq === this.sndWl1 && (nwin > this.sndWnd || nwin === 0));
        if (winUpdate) this.sndWl1 = seq;
        if (progress || !(winUpdate || dataLen > 0 || (flags & TCP_FIN) !== 0)) this.pendingConfirm = true;
      }
      if (progress) {
        this.sndUna = ack;
        while (this.rtx.length > 0) {
          const s = this.rtx[0]!;
          if (seqLe(seqAdd(s.seq, s.span), ack)) {
            this.rtx.shift();
            if (!s.retransmitted) this.rttSample(s.sentAt);
            this.cwnd++;
          } else break;
        }
        this.retries = 0;
        this.cancelRtx();
        this.armRtx();
        ackedNew = true;
      }
      this.sndWnd = tcp.window << this.sndWscale;
      const finAcked =
        !this.rtx.some((s) => s.flags & TCP_FIN) && this.finQueued && this.unsent.length === 0 && ack === this.sndNxt;
      if (finAcked) {
        if (this.state === 'FIN_WAIT1') {
          this.state = 'FIN_WAIT2';
          this.trace('fin-acked');
        } else if (this.state === 'CLOSING') {
          this.enterTimeWait();
          return;
        } else if (this.state === 'LAST_ACK') {
          this.trace('closed');
          this.destroy(undefined);
          return;
        }
      }
    }

    // data
    if (
      dataLen > 0 &&
      seq === this.rcvNxt &&
      (this.state === 'ESTABLISHED' || this.state === 'FIN_WAIT1' || this.state === 'FIN_WAIT2')
    ) {
      this.rcvNxt = seqAdd(this.rcvNxt, dataLen);
      this.lastRcv = this.ns.world.now;
      const data = pkt.buf.slice(dataOff, dataOff + dataLen);
      if (this.quickAcks === 0 && this.srttFirstData) {
        // tcp_event_data_recv: the first data enters quick-ack mode
        this.quickAcks = TCP_MAX_QUICKACKS;
        this.srttFirstData = false;
      }
      this.callbacks.onData?.(this, data);
      if (!(flags & TCP_FIN)) {
        if (this.quickAcks > 0 && !this.pingpong) {
          this.quickAcks--;
          this.sendAck();
        } else this.scheduleDelack();
      }
    } else if (dataLen > 0) {
      // out of order or after shutdown: duplicate ACK
      this.sendAck();
      return;
    }

    if (flags & TCP_FIN && seqAdd(seq, dataLen) === this.rcvNxt) {
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      switch (this.state) {
        case 'ESTABLISHED':
          this.state = 'CLOSE_WAIT';
          // tcp_fin: entering pingpong mode delays the ACK, so the application's own FIN carries it
          this.pingpong = true;
          this.trace('close-wait');
          this.scheduleDelack();
          this.callbacks.onEof?.(this);
          break;
        case 'FIN_WAIT1':
          this.state = 'CLOSING';
          this.sendAck();
          this.callbacks.onEof?.(this);
          break;
        case 'FIN_WAIT2':
          this.sendAck();
          this.callbacks.onEof?.(this);
          this.enterTimeWait();
          break;
        default:
          break;
      }
    }
    // tcp_data_snd_check: an ACK that opened the window (or ended Nagle's wait) lets queued data go
    if (ackedNew && this.unsent.length > 0) this.pushPending(false);
  }

  private srttFirstData = true;

  private applySynOptions(opts: TcpOption[]): void {
    let peerMss = 536;
    this.tsOk = false;
    this.sackOk = false;
    this.wscaleOk = false;
    for (const o of opts) {
      if (o.kind === 'mss') peerMss = o.value;
      else if (o.kind === 'timestamps') this.tsOk = true;
      else if (o.kind === 'sack-permitted') this.sackOk = true;
      else if (o.kind === 'wscale') {
        this.wscaleOk = true;
        this.sndWscale = Math.min(o.shift, 14);
      }
    }
    if (!this.wscaleOk) {
      this.rcvWscale = 0;
      this.sndWscale = 0;
    }
    const rt = this.engine.route(this);
    const pmtuMss = rt ? rt.mtu - 40 : 1460;
    this.mss = Math.min(peerMss, pmtuMss) - (this.tsOk ? 12 : 0);
  }

  /** Initialises a passive open from a SYN (a request socket). */
  acceptSyn(tcp: TcpView, pkt: Packet): void {
    const rng = this.ns.rng;
    let opts: TcpOption[] = [];
    try {
      opts = parseTcpOptions(pkt.buf, tcp.optionsOffset, tcp.headerLen - 20);
    } catch (e) {
      if (!isWireError(e)) throw e;
    }
    this.irs = tcp.seq;
    this.rcvNxt = seqAdd(tcp.seq, 1);
    this.iss = rng.nextU32();
    this.sndUna = this.iss;
    this.sndNxt = seqAdd(this.iss, 1);
    this.tsOffset = rng.nextU32();
    this.applySynOptions(opts);
    const ts = opts.find((o): o is Extract<TcpOption, { kind: 'timestamps' }> => o.kind === 'timestamps');
    if (ts) this.tsRecent = ts.tsval;
    this.sndWnd = tcp.window;
    this.requestSock = true;
    this.state = 'SYN_RECV';
    this.trace('syn-received');
    this.rtx.push({
      seq: this.iss,
      flags: TCP_SYN | TCP_ACK,
      data: null,
      span: 1,
      sentAt: this.ns.world.now,
      retransmitted: false,
    });
    this.sendSynAck();
    this.armRtx();
  }

  private enterTimeWait(): void {
    this.state = 'TIME_WAIT';
    this.cancelRtx();
    this.cancelDelack();
    this.rtx = [];
    this.trace('time-wait', { duration: TCP_TIMEWAIT_LEN });
    this.twTimer = this.ns.world.sched.schedule(TCP_TIMEWAIT_LEN, (s: TcpSocket) => s.destroy(undefined, true), this);
    this.callbacks.onClosed?.(this, undefined);
    this.callbacks = {};
  }

  /** Releases the connection. */
  destroy(err: SocketError | undefined, silent = false): void {
    if (this.state === 'CLOSED') return;
    this.state = 'CLOSED';
    this.error = err;
    this.cancelRtx();
    this.cancelDelack();
    this.twTimer?.cancel();
    this.twTimer = null;
    this.rtx = [];
    this.unsent = [];
    this.engine.forget(this);
    if (!silent) this.callbacks.onClosed?.(this, err);
    this.callbacks = {};
  }

  /** An ICMP error about this connection (tcp_v4_err). */
  icmpError(err: SocketError): void {
    if (err.icmpType === 3 && err.icmpCode === 4 && err.mtu !== undefined) {
      // tcp_v4_mtu_reduced: shrink the MSS and retransmit at once
      const newMss = err.mtu - 40 - (this.tsOk ? 12 : 0);
      if (newMss < this.mss) {
        this.mss = newMss;
        this.trace('pmtu', { mtu: err.mtu ?? 0, mss: newMss });
        const first = this.rtx[0];
        if (first?.data && first.data.length > newMss) {
          const data = first.data;
          this.rtx.shift();
          this.sndNxt = first.seq;
          this.unsent.unshift(data);
          this.pushPending(false);
        }
      }
      return;
    }
    if (this.state === 'SYN_SENT' || this.state === 'SYN_RECV') {
      // hard errors abort a connection attempt (after the first retransmission in Linux; simplified)
      this.trace('error', { error: err.message });
      this.destroy(err);
    } else {
      this.error = err;
    }
  }

  private trace(what: TcpSocketWhat, detail: TcpSocketDetail = NO_DETAIL): void {
    if (this.ns.world.tracer.on)
      this.ns.trace(
        { kind: 'app', app: 'tcp', socket: this.ref(), what, state: this.state, detail },
        null,
        undefined,
        TraceTo.Hop,
        this.flow,
      );
  }

  private refValue: SocketRef | undefined;

  /** The connection's endpoints, as events name them. */
  ref(): SocketRef {
    return (this.refValue ??= {
      local: `${formatIpv4(this.localAddr)}:${this.localPort}`,
      remote: `${formatIpv4(this.remoteAddr)}:${this.remotePort}`,
    });
  }
}

const NO_DETAIL: TcpSocketDetail = Object.freeze({});

/** The TCP layer of one netns. */
export class TcpEngine {
  private listeners = new Map<number, TcpListener[]>();
  private conns = new QuadMap<TcpSocket>();
  /** Ports bound explicitly by connecting sockets (a pinned source port), with how many hold each. */
  private bound = new Map<number, number>();

  constructor(readonly ns: NetNs) {}

  /** Listens on addr:port (addr 0 = any). */
  listen(localAddr: Ipv4Addr, port: number, onAccept: (s: TcpSocket) => void): TcpListener | SocketError {
    const list = this.listeners.get(port) ?? [];
    if (list.some((l) => l.localAddr === 0 || localAddr === 0 || l.localAddr === localAddr)) {
      return socketError('EADDRINUSE', `TCP port ${port} already in use`);
    }
    const l = new TcpListener(this, localAddr, port, onAccept);
    list.push(l);
    this.listeners.set(port, list);
    return l;
  }

  /** @internal */
  unlisten(l: TcpListener): void {
    const list = this.listeners.get(l.port);
    if (!list) return;
    const i = list.indexOf(l);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(l.port);
  }

  /**
   * Active open to dst:dport, from srcPort (0 = the port __inet_hash_connect picks: see
   * SocketTable.connectPort). An ephemeral port is usable when no socket has the same 4-tuple
   * (a TIME_WAIT one included: tcp_tw_reuse=2 reuses only loopback ones, which podnet never
   * needs) and no socket bound the port itself (a listener, a pinned source port: their bind
   * buckets have fastreuse ≥ 0, which connect() never shares).
   */
  connect(
    dst: Ipv4Addr,
    dport: number,
    srcPort: number,
    flow: number,
    callbacks: TcpCallbacks,
  ): TcpSocket | SocketError {
    const rt = this.ns.stack.routeOutput(dst);
    if (typeof rt === 'string')
      return socketError(rt === 'EINVAL' ? 'EINVAL' : rt, `connect ${formatIpv4(dst)}:${dport}: ${rt}`);
    const src = rt.src;
    let port = srcPort;
    if (port === 0) {
      port = this.ns.sockets.connectPort(
        src,
        dst,
        dport,
        (p) => !this.conns.has(src, p, dst, dport) && !this.listeners.has(p) && !this.bound.has(p),
      );
      if (port === 0) return socketError('EADDRINUSE', 'no free ephemeral port (EADDRNOTAVAIL)');
    } else {
      const existing = this.conns.get(src, port, dst, dport);
      if (existing !== undefined) {
        if (existing.state !== 'TIME_WAIT')
          return socketError('EADDRINUSE', `${formatIpv4(src)}:${port} → ${formatIpv4(dst)}:${dport} in use`);
        existing.destroy(undefined, true);
      }
    }
    const s = new TcpSocket(this, src, port, dst, dport, flow);
    s.callbacks = callbacks;
    if (srcPort !== 0) {
      s.boundPort = true;
      this.bound.set(port, (this.bound.get(port) ?? 0) + 1);
    }
    this.conns.set(src, port, dst, dport, s);
    s.startConnect();
    return s;
  }

  /** @internal */
  forget(s: TcpSocket): void {
    if (this.conns.get(s.localAddr, s.localPort, s.remoteAddr, s.remotePort) === s)
      this.conns.delete(s.localAddr, s.localPort, s.remoteAddr, s.remotePort);
    if (s.boundPort) {
      s.boundPort = false;
      const n = (this.bound.get(s.localPort) ?? 1) - 1;
      if (n > 0) this.bound.set(s.localPort, n);
      else this.bound.delete(s.localPort);
    }
  }

  /** @internal The output route for a connection (undefined when unroutable). */
  route(s: TcpSocket): OutputRoute | undefined {
    const rt = this.ns.stack.routeOutput(s.remoteAddr, s.localAddr);
    return typeof rt === 'string' ? undefined : rt;
  }

  /** Number of connections in each state (for summaries). */
  stateCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.conns.values()) out[s.state] = (out[s.state] ?? 0) + 1;
    return out;
  }

  /** tcp_v4_rcv demux. */
  receive(dev: NetDevice, pkt: Packet, ip: Ipv4View, tcp: TcpView): void {
    const w = this.ns.world;
    const s = this.conns.get(ip.dst, tcp.dstPort, ip.src, tcp.srcPort);
    if (s !== undefined) {
      if (w.tracer.active) this.note(pkt, dev, { kind: 'deliver', what: 'tcp', socket: s.ref(), state: s.state });
      if (s.state === 'TIME_WAIT' && tcp.flags & TCP_SYN && !(tcp.flags & TCP_ACK)) {
        // a new connection reusing the 4-tuple (tcp_timewait_state_process): allow it
        s.destroy(undefined, true);
      } else {
        s.segmentArrives(tcp, ip, pkt);
        return;
      }
    }
    const list = this.listeners.get(tcp.dstPort);
    const l = list?.find((x) => !x.closed && (x.localAddr === 0 || x.localAddr === ip.dst));
    const flags = tcp.flags;
    if (l !== undefined && flags & TCP_SYN && !(flags & (TCP_ACK | TCP_RST))) {
      const child = new TcpSocket(this, ip.dst, tcp.dstPort, ip.src, tcp.srcPort, pkt.flow);
      child.listener = l;
      // the request socket draws its own tx hash (net_tx_rndhash); the child keeps it
      child.txhash = this.ns.rng.nextU32() || 1;
      this.conns.set(ip.dst, tcp.dstPort, ip.src, tcp.srcPort, child);
      if (w.tracer.active) this.note(pkt, dev, { kind: 'deliver', what: 'tcp-listener', port: tcp.dstPort });
      child.acceptSyn(tcp, pkt);
      return;
    }
    if (flags & TCP_RST) return;
    if (w.tracer.active) this.note(pkt, dev, { kind: 'deliver', what: 'tcp-no-socket', port: tcp.dstPort });
    this.sendReset(pkt, ip, tcp, pkt.flow);
  }

  private note(pkt: Packet, dev: NetDevice, body: BodyOf<'deliver'>): void {
    this.ns.trace(body, pkt, dev.name);
  }

  /** ICMP error for a connection (matched by the quoted 4-tuple). */
  icmpError(src: Ipv4Addr, sport: number, dst: Ipv4Addr, dport: number, err: SocketError): void {
    this.conns.get(src, sport, dst, dport)?.icmpError(err);
  }

  /** tcp_v4_send_reset: answer a segment that matches no socket. */
  sendReset(pkt: Packet, ip: Ipv4View, tcp: TcpView, flow: number): void {
    const flags = tcp.flags;
    const dataLen = ip.payloadOffset + ip.payloadLength - tcp.payloadOffset;
    let seq = 0;
    let ack = 0;
    let outFlags = TCP_RST;
    if (flags & TCP_ACK) seq = tcp.ack;
    else {
      ack = seqAdd(tcp.seq, dataLen + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0));
      outFlags |= TCP_ACK;
    }
    const rt = this.ns.stack.routeOutput(ip.src, ip.dst);
    if (typeof rt === 'string') return;
    this.emit(rt, ip.dst, tcp.dstPort, ip.src, tcp.srcPort, outFlags, seq, ack, null, [], 0, 0, true, pkt.hash, flow);
  }

  /** @internal Sends one segment of connection `s`. */
  sendRaw(
    s: TcpSocket,
    flags: number,
    seq: number,
    ack: number,
    data: Uint8Array | null,
    opts: TcpOption[],
    window: number,
  ): void {
    const rt = this.route(s);
    if (rt === undefined) return;
    let ident: number;
    let confirm = false;
    if (s.requestSock) ident = 0;
    else {
      ident = s.inetId;
      s.inetId = (s.inetId + 1) & 0xffff;
      // __tcp_transmit_skb copies the socket's pending confirm onto the skb; ip_finish_output2
      // (sock_confirm_neigh) clears the socket's once it confirmed a neighbour (not for lo)
      confirm = s.pendingConfirm;
      if (confirm && !rt.local) s.pendingConfirm = false;
    }
    this.emit(
      rt,
      s.localAddr,
      s.localPort,
      s.remoteAddr,
      s.remotePort,
      flags,
      seq,
      ack,
      data,
      opts,
      window,
      ident,
      true,
      s.txhash,
      s.flow,
      confirm,
    );
  }

  private emit(
    rt: OutputRoute,
    src: Ipv4Addr,
    sport: number,
    dst: Ipv4Addr,
    dport: number,
    flags: number,
    seq: number,
    ack: number,
    data: Uint8Array | null,
    opts: TcpOption[],
    window: number,
    ident: number,
    df: boolean,
    hash: number,
    flow: number,
    confirm = false,
  ): void {
    const ns = this.ns;
    const repr = { srcPort: sport, dstPort: dport, seq, ack, flags, window, urgent: 0, options: opts };
    const hlen = tcpHeaderLen(repr);
    const dlen = data?.length ?? 0;
    const pkt = ns.world.allocPacket(ETH_HLEN + IPV4_HLEN + hlen + dlen, flow);
    const l3 = pkt.off + ETH_HLEN;
    emitIpv4Header(
      {
        src,
        dst,
        protocol: IPPROTO_TCP,
        ttl: ns.sysctl.defaultTtl,
        ident,
        df,
        mf: false,
        fragOffset: 0,
        tos: 0,
        payloadLen: hlen + dlen,
      },
      pkt.buf,
      l3,
    );
    emitTcpHeader(repr, pkt.buf, l3 + IPV4_HLEN);
    if (data) pkt.buf.set(data, l3 + IPV4_HLEN + hlen);
    new TcpView(pkt.buf, l3 + IPV4_HLEN).fillChecksum(src, dst, hlen + dlen);
    pkt.hash = hash;
    pkt.dstPendingConfirm = confirm;
    ns.stack.localOut(pkt, rt);
  }
}
