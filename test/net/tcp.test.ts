/**
 * TCP of src/net/tcp.ts between two namespaces on one veth link, against net/ipv4/tcp_input.c,
 * tcp_output.c, tcp_timer.c, tcp_minisocks.c and inet_hashtables.c: the state machine through
 * connect, accept, data, FIN from either side, simultaneous close and RST; TIME_WAIT; SYN and
 * data retransmission; delayed ACKs; SYN options and windows; ephemeral ports.
 */
import { describe, expect, test } from 'vitest';
import { nudName } from '../../src/net/neigh.js';
import type { TcpSocket, TcpState } from '../../src/net/tcp.js';
import type { SocketError } from '../../src/net/sockets.js';
import type { Packet } from '../../src/net/packet.js';
import type { World } from '../../src/net/world.js';
import { wheelGranule } from '../../src/sim/jiffies.js';
import { NS_PER_JIFFY } from '../../src/sim/jiffies.js';
import { ms, sec, us } from '../../src/sim/time.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
import type { TcpOption } from '../../src/wire/tcp.js';
import type { Host, Segment } from './harness.js';
import { arps, pattern, segOf, segments, stepUntil, tcpFrame, twoHosts } from './harness.js';

const PORT = 80;

/** Flags as tcpdump prints them (S, S., ., P., F., R, R.). */
function flagText(f: number): string {
  let s = '';
  if (f & TCP_SYN) s += 'S';
  if (f & TCP_FIN) s += 'F';
  if (f & TCP_RST) s += 'R';
  if (f & TCP_PSH) s += 'P';
  if (f & TCP_ACK) s += '.';
  return s;
}

/** `flags len` for each segment. */
function shape(segs: readonly Segment[]): string[] {
  return segs.map((s) => `${flagText(s.flags)} ${s.data.length}`);
}

/** The option kinds in order. */
function kinds(opts: readonly TcpOption[]): string[] {
  return opts.map((o) => o.kind);
}

interface Pair {
  world: World;
  a: Host;
  b: Host;
  client: TcpSocket;
  /** The server side of the connection once accepted. */
  server: () => TcpSocket;
  clientEvents: string[];
  serverEvents: string[];
  clientData: () => Uint8Array;
  serverData: () => Uint8Array;
}

/** Records a socket's callbacks as strings and its received bytes. */
function recorder(events: string[], chunks: Uint8Array[]) {
  return {
    onConnected: () => events.push('connected'),
    onData: (_s: TcpSocket, d: Uint8Array) => {
      chunks.push(d);
      events.push(`data ${d.length}`);
    },
    onEof: () => events.push('eof'),
    onClosed: (_s: TcpSocket, err: SocketError | undefined) => events.push(`closed ${err?.errno ?? 'ok'}`),
  };
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** a (10.0.0.1) connects to b (10.0.0.2) port 80, where a listener accepts; nothing has run yet. */
interface PairOptions {
  seed?: number;
  mtu?: number;
  onAccept?: (s: TcpSocket) => void;
  /** Whether b listens on port 80 (default true). */
  listen?: boolean;
  /** Permanent neighbour entries both ways: no ARP before the SYN. */
  knownPeer?: boolean;
  /** Everything a sends is lost, from the first SYN on. */
  loseAll?: boolean;
}

function pair(opts: PairOptions = {}): Pair {
  const { world, a, b } = twoHosts(opts.seed ?? 1, opts.mtu === undefined ? {} : { mtu: opts.mtu });
  if (opts.knownPeer === true) {
    // no ARP before the SYN
    a.ns.neigh.addPermanent(a.dev, b.ip, b.mac);
    b.ns.neigh.addPermanent(b.dev, a.ip, a.mac);
  }
  // nothing a sends arrives (from the first SYN on)
  if (opts.loseAll === true) a.dev.pass = () => false;
  const clientEvents: string[] = [];
  const serverEvents: string[] = [];
  const clientChunks: Uint8Array[] = [];
  const serverChunks: Uint8Array[] = [];
  let server: TcpSocket | undefined;
  if (opts.listen !== false) {
    const l = b.ns.sockets.tcp.listen(0, PORT, (s) => {
      server = s;
      serverEvents.push('accepted');
      s.callbacks = recorder(serverEvents, serverChunks);
      opts.onAccept?.(s);
    });
    if ('errno' in l) throw new Error(l.message);
  }
  const c = a.ns.sockets.tcp.connect(b.ip, PORT, 0, 0, recorder(clientEvents, clientChunks));
  if ('errno' in c) throw new Error(c.message);
  return {
    world,
    a,
    b,
    client: c,
    server: () => {
      if (server === undefined) throw new Error('not accepted');
      return server;
    },
    clientEvents,
    serverEvents,
    clientData: () => concat(clientChunks),
    serverData: () => concat(serverChunks),
  };
}

/** An established pair, with time advanced past the handshake (and its ARP). */
function established(opts: Parameters<typeof pair>[0] = {}): Pair {
  const p = pair(opts);
  p.world.sched.run(p.world.now + ms(5));
  expect(p.client.state).toBe('ESTABLISHED');
  return p;
}

/** TCP segments a sent (client → server) and b sent. */
function fromA(p: Pair): Array<Segment & { t: number; hash: number }> {
  return segments(p.a.dev.sent);
}
function fromB(p: Pair): Array<Segment & { t: number; hash: number }> {
  return segments(p.b.dev.sent);
}

/** A copy of recorded frame bytes as a new packet (to replay a segment). */
function replay(world: World, bytes: Uint8Array): Packet {
  const pkt = world.allocPacket(bytes.length);
  pkt.buf.set(bytes, pkt.off);
  return pkt;
}

/** Injects a segment into a as if b had sent it on this connection. */
function fromServerSide(p: Pair, fields: SegmentFields): void {
  const ends = { ethSrc: p.b.mac, ethDst: p.a.mac, src: p.b.ip, dst: p.a.ip, sport: PORT, dport: p.client.localPort };
  p.a.dev.receive(tcpFrame(p.world, { ...ends, ...fields }));
}

/** Injects a segment into b as if a had sent it from `sport` (a crafted client on a's address). */
function toServer(p: { world: World; a: Host; b: Host }, sport: number, dport: number, fields: SegmentFields): void {
  const ends = { ethSrc: p.a.mac, ethDst: p.b.mac, src: p.a.ip, dst: p.b.ip, sport, dport };
  p.b.dev.receive(tcpFrame(p.world, { ...ends, ...fields }));
}

type SegmentFields = { seq: number; ack?: number; flags: number; window?: number; data?: Uint8Array };

function isPureAck(pkt: Packet): boolean {
  const s = segOf(pkt.bytes());
  return s !== undefined && s.flags === TCP_ACK && s.data.length === 0;
}

describe('handshake, SYN options and windows', () => {
  test('connect → SYN_SENT; the SYN makes a request socket in SYN_RECV; SYN-ACK and ACK make both ESTABLISHED', () => {
    const p = pair();
    expect(p.client.state).toBe('SYN_SENT');
    const counts = () => p.b.ns.sockets.tcp.stateCounts();
    stepUntil(p.world, () => counts()['SYN_RECV'] === 1, ms(5));
    expect(counts()).toEqual({ SYN_RECV: 1 });
    p.world.sched.run(ms(5));
    expect([p.client.state, p.server().state]).toEqual(['ESTABLISHED', 'ESTABLISHED']);
    expect(p.clientEvents).toEqual(['connected']);
    expect(p.serverEvents).toEqual(['accepted']);
    const [syn, ack] = fromA(p);
    const [synAck] = fromB(p);
    expect(shape([syn!, synAck!, ack!])).toEqual(['S 0', 'S. 0', '. 0']);
    expect(synAck!.ack).toBe((syn!.seq + 1) >>> 0);
    expect([ack!.seq, ack!.ack]).toEqual([(syn!.seq + 1) >>> 0, (synAck!.seq + 1) >>> 0]);
    const ends = [p.client.localAddr, p.client.remoteAddr, p.server().localPort, p.server().remotePort];
    expect(ends).toEqual([p.a.ip, p.b.ip, PORT, p.client.localPort]);
  });

  for (const [mtu, mss, synWin, synAckWin] of [
    [1500, 1460, 44 * 1460, 45 * 1448],
    [1450, 1410, 46 * 1410, 46 * 1398],
  ] as const) {
    test(`MTU ${mtu}: Linux's SYN options in its order, windows ${synWin}/${synAckWin}, then scaled by 2^10`, () => {
      const p = established({ mtu });
      const [syn, ack] = fromA(p);
      const [synAck, ...rest] = fromB(p);
      // MSS, SACK_PERM, TS, NOP, WS (tcp_options_write with timestamps and SACK on)
      expect(kinds(syn!.options)).toEqual(['mss', 'sack-permitted', 'timestamps', 'nop', 'wscale']);
      expect(kinds(synAck!.options)).toEqual(['mss', 'sack-permitted', 'timestamps', 'nop', 'wscale']);
      expect(syn!.options[0]).toEqual({ kind: 'mss', value: mss });
      expect(synAck!.options[0]).toEqual({ kind: 'mss', value: mss });
      expect(syn!.options[4]).toEqual({ kind: 'wscale', shift: 10 });
      const synTs = syn!.options[2] as Extract<TcpOption, { kind: 'timestamps' }>;
      const synAckTs = synAck!.options[2] as Extract<TcpOption, { kind: 'timestamps' }>;
      expect(synTs.tsecr).toBe(0);
      expect(synAckTs.tsecr).toBe(synTs.tsval);
      // initial windows: 64 KiB rounded down to whole MSS (the SYN-ACK's MSS less the 12-byte timestamp option)
      expect([syn!.window, synAck!.window]).toEqual([synWin, synAckWin]);
      // later segments carry NOP NOP TS and the window scaled by 1024 (rounded up)
      expect(kinds(ack!.options)).toEqual(['nop', 'nop', 'timestamps']);
      expect(ack!.window).toBe(Math.ceil(synWin / 1024));
      expect(rest).toEqual([]);
      expect(p.server().sndWnd).toBe(Math.ceil(synWin / 1024) * 1024);
      expect(p.client.sndWnd).toBe(synAckWin);
      // DF everywhere; the SYN-ACK (request socket) has IP ID 0; the client's IDs count up by one
      expect([syn!.df, synAck!.df, ack!.df]).toEqual([true, true, true]);
      expect(synAck!.ipId).toBe(0);
      expect((ack!.ipId - syn!.ipId) & 0xffff).toBe(1);
    });
  }

  test('a SYN without options gets a SYN-ACK with only MSS and an unscaled window', () => {
    const p = pair();
    p.world.sched.run(ms(5));
    // a crafted client on a's address: keep b's answers off the wire so a's stack does not RST them
    p.b.dev.pass = (pkt) => segOf(pkt.bytes()) === undefined;
    toServer(p, 5555, PORT, { seq: 1000, flags: TCP_SYN, window: 8192 });
    const synAck = fromB(p).filter((s) => s.dport === 5555);
    expect(shape(synAck)).toEqual(['S. 0']);
    expect(synAck[0]!.options).toEqual([{ kind: 'mss', value: 1460 }]);
    expect([synAck[0]!.ack, synAck[0]!.window]).toEqual([1001, 44 * 1460]);
    toServer(p, 5555, PORT, { seq: 1001, ack: synAck[0]!.seq + 1, flags: TCP_ACK, window: 8192 });
    const child = p.server();
    // no MSS option: the peer gets the RFC 1122 default of 536 (TCP_MSS_DEFAULT)
    expect([child.state, child.sndWnd, child.mss]).toEqual(['ESTABLISHED', 8192, 536]);
    expect([child.tsOk, child.sackOk, child.wscaleOk]).toEqual([false, false, false]);
  });
});

describe('data, ACKs and retransmission', () => {
  // MSS less the timestamp option; each segment ACKed at once (quick-ack mode)
  test('3000 bytes leave as 1448 + 1448 + 104 with PSH on the last, each ACKed at once', () => {
    const p = established();
    const data = pattern(3000);
    const t = p.world.now;
    p.client.write(data);
    p.world.sched.run(t + ms(5));
    const segs = fromA(p).filter((s) => s.data.length > 0);
    expect(shape(segs)).toEqual(['. 1448', '. 1448', 'P. 104']);
    expect(segs.map((s) => s.seq - segs[0]!.seq)).toEqual([0, 1448, 2896]);
    expect(p.serverData()).toEqual(data);
    const acks = fromB(p).filter((s) => s.t >= t);
    expect(acks.map((s) => [flagText(s.flags), (s.ack - segs[0]!.seq) >>> 0])).toEqual([
      ['.', 1448],
      ['.', 2896],
      ['.', 3000],
    ]);
    // each ACK leaves when its segment arrives (one 50 µs link delay after it was sent)
    expect(acks.map((s, i) => s.t - segs[i]!.t)).toEqual([us(50), us(50), us(50)]);
  });

  test('after 16 quick ACKs the receiver delays its ACK by 40 ms (TCP_DELACK_MIN)', () => {
    const p = established();
    for (let i = 0; i < 20; i++) {
      p.world.sched.run(p.world.now + ms(100));
      p.client.write(new Uint8Array([i]));
    }
    p.world.sched.run(p.world.now + ms(100));
    const data = fromA(p).filter((s) => s.data.length > 0);
    const acks = fromB(p).filter((s) => s.flags === TCP_ACK && s.t > data[0]!.t);
    expect(acks).toHaveLength(20);
    const delays = acks.map((a, i) => a.t - data[i]!.t - us(50));
    expect(delays.slice(0, 16)).toEqual(Array(16).fill(0));
    for (const d of delays.slice(16)) {
      expect(d).toBeGreaterThanOrEqual(ms(40));
      expect(d).toBeLessThanOrEqual(ms(40) + NS_PER_JIFFY);
    }
  });

  test('Nagle: a second small write waits for the ACK of the first; with TCP_NODELAY it goes at once', () => {
    for (const noDelay of [false, true]) {
      const p = established();
      p.client.noDelay = noDelay;
      const t = p.world.now;
      p.client.write(new Uint8Array(10));
      p.client.write(new Uint8Array(10));
      p.world.sched.run(t + ms(5));
      const sent = fromA(p).filter((s) => s.data.length > 0);
      expect(sent.map((s) => s.t - t)).toEqual(noDelay ? [0, 0] : [0, us(100)]);
    }
  });

  // same bytes, a new flow hash (sk_rethink_txhash); lost again, the wait doubles
  test('a lost segment is retransmitted after the RTO (~200 ms on a fast path)', () => {
    const p = established();
    let dataSeen = 0;
    p.a.dev.pass = (pkt) => !((segOf(pkt.bytes())?.data.length ?? 0) > 0 && ++dataSeen <= 2);
    const payload = pattern(100, 3);
    const t0 = p.world.now;
    p.client.write(payload);
    p.world.sched.run(t0 + sec(2));
    const tx = fromA(p).filter((s) => s.data.length > 0);
    expect(tx).toHaveLength(3);
    expect(tx.every((s) => s.seq === tx[0]!.seq && s.flags === (TCP_ACK | TCP_PSH))).toBe(true);
    expect(tx.map((s) => s.data)).toEqual([payload, payload, payload]);
    const rto = tx[1]!.t - tx[0]!.t;
    expect(rto).toBeGreaterThanOrEqual(ms(200));
    expect(rto).toBeLessThanOrEqual(ms(210));
    // icsk_rto doubles (tcp_retransmit_timer); allow the timer wheel a granule either way
    expect(Math.abs(tx[2]!.t - tx[1]!.t - 2 * rto)).toBeLessThanOrEqual(8 * NS_PER_JIFFY);
    expect(new Set(tx.map((s) => s.hash)).size).toBe(3);
    expect(p.serverData()).toEqual(payload);
    expect(p.client.state).toBe('ESTABLISHED');
  });

  test('unacknowledged data is retransmitted 15 times (tcp_retries2), then times out (~925 s at RTO 200 ms)', () => {
    const p = established();
    p.a.dev.pass = (pkt) => (segOf(pkt.bytes())?.data.length ?? 0) === 0;
    const t0 = p.world.now;
    p.client.write(new Uint8Array(10));
    const closedAt = stepUntil(p.world, () => p.client.state === 'CLOSED', t0 + sec(2000));
    const tx = fromA(p).filter((s) => s.data.length > 0);
    expect(tx).toHaveLength(16);
    expect(p.clientEvents.at(-1)).toBe('closed ETIMEDOUT');
    expect(closedAt - t0).toBeGreaterThan(sec(900));
    expect(closedAt - t0).toBeLessThan(sec(950));
    // backoff capped at TCP_RTO_MAX (120 s), the last five waits at the cap
    const gaps = tx.slice(1).map((s, i) => s.t - tx[i]!.t);
    for (const g of gaps.slice(-5)) {
      expect(g).toBeGreaterThanOrEqual(sec(120));
      expect(g).toBeLessThanOrEqual(sec(120) + wheelGranule(sec(120) / NS_PER_JIFFY) * NS_PER_JIFFY);
    }
  });
});

describe('SYN retransmission and giving up', () => {
  /** A connect whose SYNs are all lost (b's MAC is known, so no ARP stands in the way). */
  function unanswered(linear: number): { p: Pair; syns: ReturnType<typeof fromA>; closedAt: number } {
    const p = pair({ listen: false, knownPeer: true, loseAll: true });
    p.a.ns.sysctl.tcpSynLinearTimeouts = linear;
    const closedAt = stepUntil(p.world, () => p.client.state === 'CLOSED', sec(300));
    return { p, syns: fromA(p), closedAt };
  }

  /** Each gap is its nominal value, never less and at most one timer-wheel granule more. */
  function expectGaps(times: readonly number[], nominal: readonly number[]): void {
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps).toHaveLength(nominal.length);
    gaps.forEach((g, i) => {
      const n = sec(nominal[i]!);
      expect(g).toBeGreaterThanOrEqual(n);
      expect(g).toBeLessThanOrEqual(n + wheelGranule(n / NS_PER_JIFFY) * NS_PER_JIFFY);
    });
  }

  test('tcp_syn_linear_timeouts=0 (Linux < 6.7): SYNs at 0, 1, 3, 7, 15, 31, 63 s, ETIMEDOUT at 127 s', () => {
    const { p, syns, closedAt } = unanswered(0);
    expect(syns.every((s) => s.flags === TCP_SYN && s.seq === syns[0]!.seq)).toBe(true);
    expectGaps([...syns.map((s) => s.t), closedAt], [1, 2, 4, 8, 16, 32, 64]);
    expect(p.clientEvents).toEqual(['closed ETIMEDOUT']);
  });

  test('default (4 linear timeouts, Linux ≥ 6.7): SYNs at 0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s, end at 131 s', () => {
    const { p, syns, closedAt } = unanswered(4);
    expectGaps([...syns.map((s) => s.t), closedAt], [1, 1, 1, 1, 1, 2, 4, 8, 16, 32, 64]);
    expect(p.clientEvents).toEqual(['closed ETIMEDOUT']);
  });

  test('each retransmitted SYN: same ISN and options, a later timestamp, the next IP ID, a new flow hash', () => {
    const { syns } = unanswered(4);
    expect(new Set(syns.map((s) => JSON.stringify(kinds(s.options)))).size).toBe(1);
    const ts = syns.map((s) => (s.options[2] as Extract<TcpOption, { kind: 'timestamps' }>).tsval);
    expect(ts.slice(1).every((v, i) => v > ts[i]!)).toBe(true);
    expect(syns.slice(1).every((s, i) => ((s.ipId - syns[i]!.ipId) & 0xffff) === 1)).toBe(true);
    expect(new Set(syns.map((s) => s.hash)).size).toBe(syns.length);
  });
});

describe('closing', () => {
  test('client closes first: FIN_WAIT1 → FIN_WAIT2 → TIME_WAIT for 60 s; server CLOSE_WAIT → LAST_ACK → CLOSED', () => {
    const p = established();
    const server = p.server();
    const states: Array<[TcpState, TcpState]> = [];
    const note = () => {
      const s: [TcpState, TcpState] = [p.client.state, server.state];
      const last = states.at(-1);
      if (last === undefined || last[0] !== s[0] || last[1] !== s[1]) states.push(s);
    };
    // the server closes 100 ms after it sees the client's FIN
    const onEof = server.callbacks.onEof;
    server.callbacks.onEof = (s) => {
      onEof?.(s);
      p.world.sched.schedule(ms(100), () => server.close(), null);
    };
    p.client.close();
    note();
    const twAt = stepUntil(
      p.world,
      () => {
        note();
        return p.client.state === 'TIME_WAIT';
      },
      sec(1),
    );
    p.world.sched.run(twAt + ms(1));
    note();
    expect(states).toEqual([
      ['FIN_WAIT1', 'ESTABLISHED'],
      ['FIN_WAIT1', 'CLOSE_WAIT'],
      ['FIN_WAIT2', 'CLOSE_WAIT'],
      ['FIN_WAIT2', 'LAST_ACK'],
      ['TIME_WAIT', 'LAST_ACK'],
      ['TIME_WAIT', 'CLOSED'],
    ]);
    // the server's ACK of the FIN is delayed 40 ms (pingpong after tcp_fin); its own FIN comes later
    expect(shape(fromB(p).slice(-2))).toEqual(['. 0', 'F. 0']);
    expect(p.serverEvents).toEqual(['accepted', 'eof', 'closed ok']);
    p.world.sched.run(twAt + sec(60) - 1);
    expect(p.client.state).toBe('TIME_WAIT');
    // inet_twsk_schedule: a 60 s wheel timer, at most one granule (512 jiffies) late
    p.world.sched.run(twAt + sec(60) + 512 * NS_PER_JIFFY);
    expect(p.client.state).toBe('CLOSED');
    expect(p.a.ns.sockets.tcp.stateCounts()).toEqual({});
  });

  // as a banner server does; the client's FIN carries its ACK, so there is no separate ACK
  test('server closes first: three segments close the connection and the server keeps TIME_WAIT', () => {
    const p = pair({ onAccept: (s) => s.close() });
    p.client.callbacks.onEof = (s) => s.close();
    p.world.sched.run(ms(10));
    expect([p.client.state, p.server().state]).toEqual(['CLOSED', 'TIME_WAIT']);
    expect(shape(fromB(p))).toEqual(['S. 0', 'F. 0', '. 0']);
    expect(shape(fromA(p))).toEqual(['S 0', '. 0', 'F. 0']);
  });

  // tcp_fin enters pingpong mode, so the ACK is delayed (after data the delayed-ACK timeout is 40 ms)
  test('a FIN left unanswered after data: the ACK goes out 40 ms after it arrives', () => {
    const p = established();
    p.client.write(new Uint8Array(10)); // the server's delayed-ACK engine starts with the first data (ato 40 ms)
    p.world.sched.run(p.world.now + ms(100));
    const t = p.world.now;
    p.client.close();
    p.world.sched.run(t + ms(100));
    expect([p.client.state, p.server().state]).toEqual(['FIN_WAIT2', 'CLOSE_WAIT']);
    const ack = fromB(p).filter((s) => s.t >= t);
    expect(shape(ack)).toEqual(['. 0']);
    const delay = ack[0]!.t - t - us(50);
    expect(delay).toBeGreaterThanOrEqual(ms(40));
    expect(delay).toBeLessThanOrEqual(ms(40) + NS_PER_JIFFY);
  });

  test('simultaneous close: both FIN_WAIT1 → CLOSING → TIME_WAIT', () => {
    const p = established();
    const server = p.server();
    p.client.close();
    server.close();
    expect([p.client.state, server.state]).toEqual(['FIN_WAIT1', 'FIN_WAIT1']);
    stepUntil(p.world, () => p.client.state !== 'FIN_WAIT1' && server.state !== 'FIN_WAIT1', sec(1));
    expect([p.client.state, server.state]).toEqual(['CLOSING', 'CLOSING']);
    p.world.sched.run(p.world.now + ms(1));
    expect([p.client.state, server.state]).toEqual(['TIME_WAIT', 'TIME_WAIT']);
    expect(shape(fromA(p).slice(2))).toEqual(['F. 0', '. 0']);
    expect(shape(fromB(p).slice(1))).toEqual(['F. 0', '. 0']);
  });

  /** Client in TIME_WAIT after a client-first close; returns when it entered it and the server's FIN bytes. */
  function timeWait(): { p: Pair; twAt: number; serverFin: Uint8Array } {
    const p = established();
    p.server().callbacks.onEof = (s) => s.close();
    p.client.close();
    const twAt = stepUntil(p.world, () => p.client.state === 'TIME_WAIT', sec(1));
    const fin = p.b.dev.sent.filter((f) => (segOf(f.bytes)?.flags ?? 0) & TCP_FIN);
    return { p, twAt, serverFin: fin[0]!.bytes };
  }

  test('TIME_WAIT answers a retransmitted FIN with an ACK', () => {
    const { p, twAt, serverFin } = timeWait();
    p.world.sched.run(twAt + sec(30));
    const before = fromA(p).length;
    p.a.dev.receive(replay(p.world, serverFin));
    const answer = fromA(p).slice(before);
    expect(shape(answer)).toEqual(['. 0']);
    expect(answer[0]!.ack).toBe(p.client.rcvNxt);
    expect(p.client.state).toBe('TIME_WAIT');
  });

  // BUG: a retransmitted FIN (or any out-of-window ACK) in TIME_WAIT is ACKed but the 60 s timer
  // is not restarted (tcp.ts segmentArrives: `if (this.state === 'TIME_WAIT' && flags & TCP_FIN)
  // { this.sendAck(); return; }`). Linux's tcp_timewait_state_process (net/ipv4/tcp_minisocks.c)
  // does `if (paws_reject || th->ack) inet_twsk_reschedule(tw, TCP_TIMEWAIT_LEN);` before
  // answering TCP_TW_ACK ("In this case we must reset the TIMEWAIT timer"), as RFC 793 asks:
  // "Acknowledge it, and restart the 2 MSL timeout".
  test.fails('a retransmitted FIN restarts the TIME_WAIT timer (inet_twsk_reschedule)', () => {
    const { p, twAt, serverFin } = timeWait();
    p.world.sched.run(twAt + sec(30));
    p.a.dev.receive(replay(p.world, serverFin));
    p.world.sched.run(twAt + sec(61));
    expect(p.client.state).toBe('TIME_WAIT');
  });

  test('close() before the handshake completes just forgets the connection', () => {
    const p = pair({ listen: false });
    p.client.close();
    expect(p.client.state).toBe('CLOSED');
    expect(p.clientEvents).toEqual(['closed ok']);
  });
});

describe('RST', () => {
  test('a SYN to a closed port is refused: RST|ACK, seq 0, ack ISN+1, IP ID 0 → ECONNREFUSED', () => {
    const p = pair({ listen: false });
    p.world.sched.run(ms(5));
    const [syn] = fromA(p);
    const rst = fromB(p);
    expect(shape(rst)).toEqual(['R. 0']);
    expect([rst[0]!.seq, rst[0]!.ack, rst[0]!.ipId, rst[0]!.window]).toEqual([0, (syn!.seq + 1) >>> 0, 0, 0]);
    expect(p.client.state).toBe('CLOSED');
    expect(p.clientEvents).toEqual(['closed ECONNREFUSED']);
  });

  test('tcp_v4_send_reset: a segment with ACK to a closed port gets a bare RST at its ack; a RST gets nothing', () => {
    const { world, a, b } = twoHosts();
    a.ns.neigh.addPermanent(a.dev, b.ip, b.mac);
    b.ns.neigh.addPermanent(b.dev, a.ip, a.mac);
    const inject = (flags: number, data?: Uint8Array) =>
      toServer({ world, a, b }, 4000, 81, { seq: 500, ack: 7777, flags, ...(data ? { data } : {}) });
    inject(TCP_ACK | TCP_PSH, new Uint8Array(20));
    inject(TCP_RST);
    inject(TCP_RST | TCP_ACK);
    inject(TCP_FIN);
    const out = segments(b.dev.sent);
    expect(out.map((s) => [flagText(s.flags), s.seq, s.ack])).toEqual([
      ['R', 7777, 0],
      ['R.', 0, 501],
    ]);
  });

  test('SYN_SENT: a RST without ACK or with an unacceptable ACK is ignored; RST|ACK of the SYN refuses', () => {
    const p = pair({ listen: false, knownPeer: true, loseAll: true });
    p.world.sched.run(ms(1));
    const iss = p.client.iss;
    fromServerSide(p, { seq: 0, flags: TCP_RST });
    fromServerSide(p, { seq: 0, ack: iss + 7, flags: TCP_RST | TCP_ACK });
    expect(p.client.state).toBe('SYN_SENT');
    fromServerSide(p, { seq: 0, ack: iss + 1, flags: TCP_RST | TCP_ACK });
    expect(p.client.state).toBe('CLOSED');
    expect(p.clientEvents).toEqual(['closed ECONNREFUSED']);
  });

  test('SYN_RECV: a RST in window kills the request socket; the listener goes on accepting', () => {
    const p = pair();
    p.world.sched.run(ms(5));
    p.b.dev.pass = (pkt) => segOf(pkt.bytes()) === undefined;
    const syn = (sport: number) => toServer(p, sport, PORT, { seq: 1000, flags: TCP_SYN });
    syn(6000);
    expect(p.b.ns.sockets.tcp.stateCounts()).toEqual({ ESTABLISHED: 1, SYN_RECV: 1 });
    toServer(p, 6000, PORT, { seq: 1001, flags: TCP_RST });
    expect(p.b.ns.sockets.tcp.stateCounts()).toEqual({ ESTABLISHED: 1 });
    syn(6002);
    expect(p.b.ns.sockets.tcp.stateCounts()).toEqual({ ESTABLISHED: 1, SYN_RECV: 1 });
  });

  /** Puts the client into `state` (all reachable with the other side's help or with losses). */
  function clientIn(state: TcpState): Pair {
    const p = established();
    const server = p.server();
    switch (state) {
      case 'ESTABLISHED':
        break;
      case 'FIN_WAIT1':
        p.a.dev.pass = () => false;
        p.client.close();
        break;
      case 'FIN_WAIT2':
        p.client.close();
        p.world.sched.run(p.world.now + ms(100));
        break;
      case 'CLOSE_WAIT':
        server.close();
        p.world.sched.run(p.world.now + ms(1));
        break;
      case 'LAST_ACK':
        server.close();
        p.world.sched.run(p.world.now + ms(1));
        p.a.dev.pass = () => false;
        p.client.close();
        break;
      case 'CLOSING':
        p.a.dev.pass = (pkt) => !isPureAck(pkt);
        p.b.dev.pass = (pkt) => !isPureAck(pkt);
        p.client.close();
        server.close();
        p.world.sched.run(p.world.now + ms(1));
        break;
      case 'TIME_WAIT':
        server.callbacks.onEof = (s) => s.close();
        p.client.close();
        p.world.sched.run(p.world.now + ms(100));
        break;
      default:
        throw new Error(state);
    }
    p.world.sched.run(p.world.now + ms(1));
    expect(p.client.state).toBe(state);
    return p;
  }

  const synchronized: TcpState[] = ['ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSING'];
  for (const st of [...synchronized, 'TIME_WAIT' as const]) {
    const how = st === 'TIME_WAIT' ? '(TIME_WAIT assassination, tcp_rfc1337=0)' : 'with ECONNRESET';
    test(`${st}: a RST at rcv_nxt closes the connection ${how}`, () => {
      const p = clientIn(st);
      const sent = fromA(p).length;
      fromServerSide(p, { seq: p.client.rcvNxt, flags: TCP_RST });
      expect(p.client.state).toBe('CLOSED');
      if (st === 'TIME_WAIT') expect(p.clientEvents).toEqual(['connected', 'eof', 'closed ok']);
      else {
        expect(p.client.error?.errno).toBe('ECONNRESET');
        expect(p.clientEvents.at(-1)).toBe('closed ECONNRESET');
      }
      expect(fromA(p).length).toBe(sent);
      expect(p.a.ns.sockets.tcp.stateCounts()).toEqual({});
    });
  }

  test('ESTABLISHED: a RST outside the window is ignored silently', () => {
    const p = clientIn('ESTABLISHED');
    const sent = fromA(p).length;
    fromServerSide(p, { seq: p.client.rcvNxt + 10_000_000, flags: TCP_RST });
    fromServerSide(p, { seq: p.client.rcvNxt - 1, flags: TCP_RST });
    expect(p.client.state).toBe('ESTABLISHED');
    expect(fromA(p).length).toBe(sent);
  });

  test('ESTABLISHED: a RST inside the window but not at rcv_nxt does not reset (RFC 5961 3.2)', () => {
    const p = clientIn('ESTABLISHED');
    fromServerSide(p, { seq: p.client.rcvNxt + 100, flags: TCP_RST });
    expect(p.client.state).toBe('ESTABLISHED');
  });

  // BUG: an in-window RST whose sequence is not exactly rcv_nxt is dropped silently. Linux's
  // tcp_validate_incoming (net/ipv4/tcp_input.c) answers it with a challenge ACK
  // (tcp_send_challenge_ack, RFC 5961 3.2: "If the RST bit is set and the sequence number … is
  // within the current receive window … TCP MUST send an acknowledgment"), so a pure ACK at
  // snd_nxt/rcv_nxt goes on the wire.
  test.fails('ESTABLISHED: an in-window RST not at rcv_nxt draws a challenge ACK (tcp_send_challenge_ack)', () => {
    const p = clientIn('ESTABLISHED');
    const sent = fromA(p).length;
    fromServerSide(p, { seq: p.client.rcvNxt + 100, flags: TCP_RST });
    const answer = fromA(p).slice(sent);
    expect(answer.map((s) => [flagText(s.flags), s.seq, s.ack])).toEqual([['.', p.client.sndNxt, p.client.rcvNxt]]);
  });

  // BUG: after the peer's FIN, a RST carrying rcv_nxt - 1 (the FIN's own sequence number) is
  // ignored. Linux resets on it in CLOSE_WAIT, LAST_ACK and CLOSING: tcp_validate_incoming accepts
  // `TCP_SKB_CB(skb)->seq == tp->rcv_nxt || tcp_reset_check(sk, skb)`, and tcp_reset_check
  // (net/ipv4/tcp_input.c) is `seq == rcv_nxt - 1 && (1 << sk_state) & (TCPF_CLOSE_WAIT |
  // TCPF_LAST_ACK | TCPF_CLOSING)` (peers that do not count the FIN in their RST).
  test.fails('CLOSE_WAIT: a RST at rcv_nxt - 1 resets the connection (tcp_reset_check)', () => {
    const p = clientIn('CLOSE_WAIT');
    fromServerSide(p, { seq: p.client.rcvNxt - 1, flags: TCP_RST });
    expect(p.client.state).toBe('CLOSED');
  });

  test('abort() sends RST|ACK at snd_nxt and the peer is reset', () => {
    const p = established();
    p.client.abort();
    p.world.sched.run(p.world.now + ms(1));
    const last = fromA(p).at(-1)!;
    expect([flagText(last.flags), last.seq]).toEqual(['R.', p.client.sndNxt]);
    expect(p.server().state).toBe('CLOSED');
    expect(p.serverEvents.at(-1)).toBe('closed ECONNRESET');
  });
});

describe('TCP confirms the neighbour it sends through (dst_pending_confirm)', () => {
  /** b learned a from a's ARP request (STALE); its SYN-ACK starts DELAY; the DELAY timer fires at 5.12 s. */
  function serverProbes(serverWritesAt: number | undefined): { probes: number; state: string } {
    const p = pair();
    if (serverWritesAt !== undefined) {
      p.world.sched.schedule(serverWritesAt, () => p.server().write(new Uint8Array(5)), null);
    }
    p.world.sched.run(sec(7));
    const n = p.b.ns.neigh.lookup(p.b.dev, p.a.ip)!;
    const probes = arps(p.b.dev.sent).filter((a) => a.op === 'request' && a.ethDst === p.a.mac).length;
    return { probes, state: nudName(n.state) };
  }

  test('a segment sent after an ACK made progress confirms the entry: DELAY ends in REACHABLE, no probe', () => {
    expect(serverProbes(sec(1))).toEqual({ probes: 0, state: 'REACHABLE' });
  });

  test('with nothing sent after the handshake the entry is probed (unicast), and the answer makes it REACHABLE', () => {
    expect(serverProbes(undefined)).toEqual({ probes: 1, state: 'REACHABLE' });
  });
});

describe('ephemeral ports (__inet_hash_connect)', () => {
  test('connect() picks even ports in ip_local_port_range, 2–16 apart and rising for one destination', () => {
    const p = established();
    const ports = [p.client.localPort];
    for (let i = 0; i < 30; i++) {
      const c = p.a.ns.sockets.tcp.connect(p.b.ip, PORT, 0, 0, {});
      if ('errno' in c) throw new Error(c.message);
      ports.push(c.localPort);
    }
    const [lo, hi] = p.a.ns.sysctl.localPortRange;
    expect([lo, hi]).toEqual([32768, 60999]);
    for (const port of ports) {
      expect(port % 2).toBe(0);
      expect(port).toBeGreaterThanOrEqual(lo);
      expect(port).toBeLessThanOrEqual(hi);
    }
    expect(new Set(ports).size).toBe(ports.length);
    const remaining = hi + 1 - lo;
    for (let i = 1; i < ports.length; i++) {
      const step = (ports[i]! - ports[i - 1]! + remaining) % remaining;
      expect(step % 2).toBe(0);
      expect(step).toBeGreaterThanOrEqual(2);
      expect(step).toBeLessThanOrEqual(16);
    }
  });

  test('when every even port is taken the odd ones are used; then connect() fails', () => {
    const p = pair({ listen: false });
    p.a.ns.sysctl.localPortRange = [40000, 40005];
    const ports: number[] = [];
    let err: SocketError | undefined;
    for (let i = 0; i < 7 && err === undefined; i++) {
      const c = p.a.ns.sockets.tcp.connect(p.b.ip, 443, 0, 0, {});
      if ('errno' in c) err = c;
      else ports.push(c.localPort);
    }
    expect(ports.slice(0, 3).sort()).toEqual([40000, 40002, 40004]);
    expect(ports.slice(3).sort()).toEqual([40001, 40003, 40005]);
    expect(err).toBeDefined();
  });

  // BUG: running out of ephemeral ports reports errno EADDRINUSE (with "EADDRNOTAVAIL" only in the
  // message; SocketError has no EADDRNOTAVAIL). Linux's __inet_hash_connect
  // (net/ipv4/inet_hashtables.c) returns -EADDRNOTAVAIL, which connect() passes on
  // ("Cannot assign requested address").
  test.fails('running out of ephemeral ports is EADDRNOTAVAIL', () => {
    const p = pair({ listen: false });
    p.a.ns.sysctl.localPortRange = [40000, 40001];
    const errs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = p.a.ns.sockets.tcp.connect(p.b.ip, 443, 0, 0, {});
      if ('errno' in c) errs.push(c.errno);
    }
    expect(errs).toEqual(['EADDRNOTAVAIL']);
  });

  test('a port a listener holds or a socket bound explicitly is never picked', () => {
    const p = pair({ listen: false });
    p.a.ns.sysctl.localPortRange = [40000, 40003];
    const l = p.a.ns.sockets.tcp.listen(0, 40000, () => {});
    expect('errno' in l).toBe(false);
    const pinned = p.a.ns.sockets.tcp.connect(p.b.ip, 443, 40002, 0, {});
    expect('errno' in pinned).toBe(false);
    const picked: number[] = [];
    for (let i = 0; i < 2; i++) {
      const c = p.a.ns.sockets.tcp.connect(p.b.ip, 443, 0, 0, {});
      if (!('errno' in c)) picked.push(c.localPort);
    }
    expect(picked.sort()).toEqual([40001, 40003]);
  });
});
