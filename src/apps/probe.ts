/**
 * Probe clients, modelled on the tools the kernel oracle used: `ping` (raw ICMP socket,
 * 16-byte timeval + pattern payload, PMTU discovery modes), a TCP client that connects, reads
 * the server's line and closes, and a UDP client that sends one datagram per socket and waits
 * for the answer. Each attempt records what came back: TTL, which endpoint answered, the
 * source address that endpoint saw, and errors exactly as the tools would print them.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { formatIpv4, parseIpv4 } from '../wire/addr.js';
import type { Nanos } from '../sim/time.js';
import type { Timer } from '../sim/scheduler.js';
import type { NetNs } from '../net/netns.js';
import type { PmtuDisc, SocketError } from '../net/sockets.js';
import type { TcpSocket } from '../net/tcp.js';
import type { ProbeProtocol } from '../kube/model.js';
import { parseBanner } from './servers.js';
import { Resolver, type Resolution, type ResolverSetup } from './resolver.js';
import type { AppDetail } from '../events/hop.js';
import { TraceTo } from '../events/tracer.js';

/**
 * A probe bound to the built network: its source netns, its destination address (or the name to
 * resolve first) and its flow id. Internal to the Simulation, which makes it from a ProbeModel.
 */
export interface ProbeSpec {
  readonly name: string;
  readonly flow: number;
  readonly fromNs: NetNs;
  readonly fromName: string;
  readonly dst: Ipv4Addr;
  /** The destination as the user wrote it. */
  readonly to: string;
  readonly port: number | undefined;
  readonly protocol: ProbeProtocol;
  readonly count: number;
  readonly size: number;
  readonly pmtudisc: PmtuDisc;
  readonly interval: Nanos;
  readonly start: Nanos;
  readonly timeout: Nanos;
  readonly sourcePort: number | undefined;
  /**
   * A destination given as a host name: resolved from the source with glibc's resolver (real
   * DNS packets) before each connection (once for ping); `dst` is then unused.
   */
  readonly resolve?: { readonly name: string; readonly setup: ResolverSetup } | undefined;
}

/** One attempt of a probe (one echo, one connection, one datagram). */
export interface ProbeAttempt {
  readonly index: number;
  /** Virtual time the attempt started (ns). */
  readonly t: Nanos;
  ok: boolean;
  /** Whether anything was put on the wire (false for local errors such as EMSGSIZE). */
  sent: boolean;
  rttNs: Nanos | undefined;
  ttl: number | undefined;
  /** Client source port (tcp/udp). */
  sourcePort: number | undefined;
  answeredBy: string | undefined;
  /** The source address:port the answering endpoint saw. */
  serverSaw: string | undefined;
  /** Who the reply came from (IP), e.g. the ClusterIP after un-DNAT. */
  replyFrom: string | undefined;
  error: string | undefined;
  /** The socket's errno when an error ended the attempt (`EMSGSIZE`, `ECONNREFUSED`, …). */
  errno?: string | undefined;
  /** For a destination given by name: what the resolver did (names tried, queries, answers). */
  resolved?: Resolution | undefined;
}

/**
 * What one probe got: a plain record that prints as JSON (`podnet trace --json` under `result`,
 * `podnet run --json` under `probes`). The probe fills in the attempts; the Simulation adds what
 * the servers saw (`delivered`, `serverSide`) when it ends.
 */
export interface ProbeReport {
  readonly name: string;
  readonly protocol: ProbeProtocol;
  readonly from: string;
  readonly to: string;
  /** The address probed (for a name, the first address it resolved to; empty when it did not resolve). */
  dst: string;
  readonly port: number | undefined;
  readonly flow: number;
  sent: number;
  replies: number;
  lost: number;
  localErrors: number;
  attempts: ProbeAttempt[];
  /** Requests that reached an endpoint (server accepts/datagrams, or kernel echo replies). */
  delivered: number;
  /** Server-side observations: which endpoint, which peer address. */
  serverSide: Array<{ server: string; peer: string; count: number }>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Runs one probe inside the emulated network; `done` fires once when every attempt has finished. */
export class ProbeRun {
  readonly result: ProbeReport;
  private pending: number;
  private finished = false;

  constructor(
    readonly spec: ProbeSpec,
    private readonly done: (r: ProbeReport) => void,
  ) {
    this.result = emptyReport(spec);
    this.pending = spec.count;
  }

  /** Schedules the probe's attempts on the scheduler. */
  schedule(): void {
    const sched = this.spec.fromNs.world.sched;
    if (this.spec.count === 0) {
      this.finish();
      return;
    }
    if (this.spec.protocol === 'icmp') {
      // ping resolves its destination once, before the first echo request
      sched.schedule(
        this.spec.start,
        () =>
          this.withAddress(undefined, (dst, res) =>
            dst === undefined ? this.failPing(res!) : this.startPing(dst, res),
          ),
        null,
      );
      return;
    }
    for (let i = 0; i < this.spec.count; i++) {
      sched.schedule(
        this.spec.start + i * this.spec.interval,
        (idx: number) => {
          // each connection resolves the name again, as every run of curl or nc would
          const t = this.spec.fromNs.world.now;
          this.withAddress(idx, (dst, res) => {
            if (dst === undefined) this.failResolve(idx, t, res!);
            else if (this.spec.protocol === 'tcp') this.startTcp(idx, dst, res, t);
            else this.startUdp(idx, dst, res, t);
          });
        },
        i,
      );
    }
  }

  /** The destination address: given, or resolved from the source first. */
  private withAddress(
    index: number | undefined,
    go: (dst: Ipv4Addr | undefined, res: Resolution | undefined) => void,
  ): void {
    const r = this.spec.resolve;
    if (r === undefined) {
      go(this.spec.dst, undefined);
      return;
    }
    const resolver = new Resolver(this.spec.fromNs, r.setup);
    resolver.getaddrinfo(r.name, (res) => {
      if (res.address !== undefined && (index === undefined || index === 0 || this.result.dst === ''))
        this.result.dst = res.address;
      const a = res.addresses[0];
      go(a === undefined ? undefined : parseIpv4(a), res);
    });
  }

  private resolveError(res: Resolution): string {
    const name = this.spec.resolve?.name ?? '?';
    return this.spec.protocol === 'icmp'
      ? `ping: ${name}: ${res.error ?? 'no address'}`
      : `Could not resolve host: ${name} (${res.error ?? 'no address'})`;
  }

  private failResolve(index: number, t: Nanos, res: Resolution): void {
    const a = this.newAttempt(index, t);
    a.resolved = res;
    a.error = this.resolveError(res);
    this.trace({
      app: 'probe',
      what: 'resolve-failed',
      protocol: this.spec.protocol,
      name: this.spec.resolve?.name ?? '?',
      error: res.error ?? 'no address',
      attempt: true,
    });
    this.settle(a);
  }

  private failPing(res: Resolution): void {
    for (let i = 0; i < this.spec.count; i++) {
      const a = this.newAttempt(i);
      a.resolved = res;
      a.error = this.resolveError(res);
      this.settle(a);
    }
    this.trace({
      app: 'probe',
      what: 'resolve-failed',
      protocol: this.spec.protocol,
      name: this.spec.resolve?.name ?? '?',
      error: res.error ?? 'no address',
      attempt: false,
    });
  }

  private newAttempt(index: number, t?: Nanos): ProbeAttempt {
    const a: ProbeAttempt = {
      index,
      t: t ?? this.spec.fromNs.world.now,
      ok: false,
      sent: false,
      rttNs: undefined,
      ttl: undefined,
      sourcePort: undefined,
      answeredBy: undefined,
      serverSaw: undefined,
      replyFrom: undefined,
      error: undefined,
    };
    this.result.attempts[index] = a;
    return a;
  }

  private settle(a: ProbeAttempt): void {
    if (a.ok) this.result.replies++;
    else if (a.sent) this.result.lost++;
    else this.result.localErrors++;
    if (a.sent) this.result.sent++;
    this.pending--;
    if (this.pending === 0) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.done(this.result);
  }

  private trace(detail: AppDetail): void {
    const ns = this.spec.fromNs;
    if (ns.world.tracer.on) ns.trace({ kind: 'app', ...detail }, null, undefined, TraceTo.Hop, this.spec.flow);
  }

  // ───────────── ping ─────────────

  private startPing(dst: Ipv4Addr, res: Resolution | undefined): void {
    const { fromNs: ns, spec } = { fromNs: this.spec.fromNs, spec: this.spec };
    const ident = 1000 + ns.rng.nextInt(31000);
    const sock = ns.sockets.openPing(ident, spec.flow);
    sock.pmtudisc = spec.pmtudisc;
    const attempts = new Map<number, { a: ProbeAttempt; settled: boolean }>();
    let remaining = spec.count;
    const settle = (seq: number): void => {
      const e = attempts.get(seq);
      if (e === undefined || e.settled) return;
      e.settled = true;
      this.settle(e.a);
      if (--remaining === 0) sock.close();
    };
    sock.onReply = (seq, _data, info) => {
      const e = attempts.get(seq);
      if (e === undefined || e.settled) return;
      e.a.ok = true;
      e.a.rttNs = ns.world.now - e.a.t;
      e.a.ttl = info.ttl;
      e.a.replyFrom = formatIpv4(info.from);
      e.a.answeredBy = formatIpv4(info.from);
      this.trace({
        app: 'ping',
        what: 'reply',
        bytes: spec.size + 8,
        from: formatIpv4(info.from),
        seq,
        ttl: info.ttl,
        rttNs: e.a.rttNs,
      });
      settle(seq);
    };
    sock.onError = (seq, err) => {
      const e = attempts.get(seq);
      if (e === undefined || e.settled) return;
      e.a.error = err.message;
      e.a.errno = err.errno;
      this.trace({ app: 'ping', what: 'error', error: err.message, seq });
      settle(seq);
    };
    const sched = ns.world.sched;
    for (let i = 0; i < spec.count; i++) {
      sched.schedule(
        i * spec.interval,
        (idx: number) => {
          const seq = idx + 1;
          const a = this.newAttempt(idx);
          if (idx === 0 && res !== undefined) a.resolved = res;
          attempts.set(seq, { a, settled: false });
          const err = sock.sendEcho(dst, seq, pingPayload(spec.size, ns.world.now));
          if (err !== undefined) {
            a.error = err.message;
            this.trace({ app: 'ping', what: 'error', error: err.message, seq: undefined });
            settle(seq);
            return;
          }
          a.sent = true;
          sched.schedule(
            spec.timeout,
            (s: number) => {
              const e = attempts.get(s);
              if (e !== undefined && !e.settled) {
                e.a.error ??= 'no reply';
                settle(s);
              }
            },
            seq,
          );
        },
        i,
      );
    }
  }

  // ───────────── tcp ─────────────

  private startTcp(index: number, dst: Ipv4Addr, res: Resolution | undefined, t: Nanos): void {
    const spec = this.spec;
    const ns = spec.fromNs;
    const a = this.newAttempt(index, t);
    if (res !== undefined) a.resolved = res;
    const t0 = ns.world.now;
    let received = '';
    let settled = false;
    let sock: TcpSocket | undefined;
    let timer: Timer | null = null;
    const finish = (err: string | undefined): void => {
      if (settled) return;
      settled = true;
      timer?.cancel();
      if (err !== undefined && !a.ok) a.error = err;
      this.settle(a);
    };
    const conn = ns.sockets.tcp.connect(dst, spec.port ?? 0, spec.sourcePort ?? 0, spec.flow, {
      onConnected: (s) => {
        a.rttNs = ns.world.now - t0;
        a.ttl = s.rxTtl;
      },
      onData: (_s, data) => {
        received += decoder.decode(data, { stream: true });
      },
      onEof: (s) => {
        const banner = parseBanner(received);
        if (banner !== undefined) {
          a.ok = true;
          a.answeredBy = banner.server;
          a.serverSaw = `${banner.peer}:${banner.peerPort}`;
        }
        a.replyFrom = formatIpv4(s.remoteAddr);
        this.trace({
          app: 'tcp-client',
          what: 'read',
          socket: s.ref(),
          received,
          answeredBy: a.answeredBy,
          serverSaw: a.serverSaw,
        });
        s.close();
      },
      onClosed: (_s, err) =>
        finish(err ? formatSocketError(err) : a.ok ? undefined : 'connection closed without a reply'),
    });
    if ('errno' in conn) {
      a.error = formatSocketError(conn);
      settled = true;
      this.settle(a);
      return;
    }
    sock = conn;
    a.sent = true;
    a.sourcePort = sock.localPort;
    // like the oracle's client: give up connecting after `timeout` (socat connect-timeout)
    timer = ns.world.sched.schedule(
      spec.timeout,
      () => {
        if (
          sock !== undefined &&
          (sock.state === 'SYN_SENT' || sock.state === 'ESTABLISHED' || sock.state === 'CLOSE_WAIT')
        ) {
          const wasConnecting = sock.state === 'SYN_SENT';
          this.trace({
            app: 'tcp-client',
            what: 'timeout',
            socket: sock.ref(),
            connecting: wasConnecting,
            timeout: spec.timeout,
          });
          sock.destroy(undefined, true);
          finish(wasConnecting ? 'Connection timed out' : 'timed out waiting for the reply');
        }
      },
      null,
    );
  }

  // ───────────── udp ─────────────

  private startUdp(index: number, dst: Ipv4Addr, res: Resolution | undefined, t: Nanos): void {
    const spec = this.spec;
    const ns = spec.fromNs;
    const a = this.newAttempt(index, t);
    if (res !== undefined) a.resolved = res;
    const sock = ns.sockets.openUdp(0, spec.sourcePort ?? 0, spec.flow);
    if ('errno' in sock) {
      a.error = formatSocketError(sock);
      this.settle(a);
      return;
    }
    sock.pmtudisc = spec.pmtudisc;
    sock.connect(dst, spec.port ?? 0);
    const t0 = ns.world.now;
    a.sourcePort = sock.localPort;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      sock.close();
      this.settle(a);
    };
    sock.onMessage = (data, info) => {
      const text = decoder.decode(data);
      const banner = parseBanner(text);
      a.ok = true;
      a.rttNs = ns.world.now - t0;
      a.ttl = info.ttl;
      a.replyFrom = formatIpv4(info.from);
      if (banner !== undefined) {
        a.answeredBy = banner.server;
        a.serverSaw = `${banner.peer}:${banner.peerPort}`;
      }
      const reply = {
        from: formatIpv4(info.from),
        fromPort: info.fromPort,
        received: text,
        answeredBy: a.answeredBy,
        serverSaw: a.serverSaw,
      };
      this.trace({ app: 'udp-client', what: 'reply', port: sock.localPort, ...reply });
      finish();
    };
    sock.onError = (err) => {
      a.error = formatSocketError(err);
      a.errno = err.errno;
      this.trace({ app: 'udp-client', what: 'error', port: sock.localPort, error: a.error });
      finish();
    };
    const err = sock.send(udpPayload(spec.size));
    if (err !== undefined) {
      a.error = formatSocketError(err);
      finish();
      return;
    }
    a.sent = true;
    ns.world.sched.schedule(
      spec.timeout,
      () => {
        if (!settled) {
          a.error = 'no reply';
          finish();
        }
      },
      null,
    );
  }
}

/** The report of a probe before any attempt: nothing sent, nothing answered. */
export function emptyReport(spec: ProbeSpec): ProbeReport {
  return {
    name: spec.name,
    protocol: spec.protocol,
    from: spec.fromName,
    to: spec.to,
    dst: spec.resolve === undefined ? formatIpv4(spec.dst) : '',
    port: spec.port,
    flow: spec.flow,
    sent: 0,
    replies: 0,
    lost: 0,
    localErrors: 0,
    attempts: [],
    delivered: 0,
    serverSide: [],
  };
}

/** iputils ping's payload: a 16-byte struct timeval (little-endian) then bytes 0x10, 0x11, ... */
export function pingPayload(size: number, now: Nanos): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = i & 0xff;
  if (size >= 16) {
    const secs = Math.floor(now / 1e9);
    const usec = Math.floor((now % 1e9) / 1e3);
    const v = new DataView(data.buffer);
    v.setUint32(0, secs >>> 0, true);
    v.setUint32(4, Math.floor(secs / 0x1_0000_0000), true);
    v.setUint32(8, usec, true);
    v.setUint32(12, 0, true);
  }
  return data;
}

/** The UDP probe payload: `probe\n` repeated or cut to `size` bytes. */
export function udpPayload(size: number): Uint8Array {
  const unit = encoder.encode('probe\n');
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = unit[i % unit.length]!;
  return out;
}

/** Formats a socket error as a tool would print it. */
export function formatSocketError(err: SocketError): string {
  // errors reported by an ICMP message read as ping prints them ("From x: Destination Port Unreachable")
  if (err.icmpType !== undefined) return err.message;
  switch (err.errno) {
    case 'ECONNREFUSED':
      return 'Connection refused';
    case 'ETIMEDOUT':
      return 'Connection timed out';
    case 'ECONNRESET':
      return 'Connection reset by peer';
    default:
      return err.message;
  }
}
