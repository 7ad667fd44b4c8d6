/**
 * IPv4 fragmentation and reassembly (src/net/frag.ts and the output/forwarding paths of
 * src/net/stack.ts) against net/ipv4/ip_output.c (ip_do_fragment), ip_forward.c and
 * ip_fragment.c / inet_fragment.c (ip_defrag): 8-byte aligned pieces, first fragment first, DF
 * and path MTU, reassembly in any order, duplicates and overlaps, the 30 s timeout.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Reassembler, fragmentPacket } from '../../src/net/frag.js';
import { makeRoute } from '../../src/net/route.js';
import type { Packet } from '../../src/net/packet.js';
import type { SocketError } from '../../src/net/sockets.js';
import { World } from '../../src/net/world.js';
import { sec } from '../../src/sim/time.js';
import { ETH_HLEN } from '../../src/wire/ethernet.js';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, ICMP_FRAG_REASM_EXCEEDED } from '../../src/wire/icmp.js';
import { ICMP_TIME_EXCEEDED } from '../../src/wire/icmp.js';
import { IPPROTO_UDP, IPV4_HLEN, Ipv4View } from '../../src/wire/ipv4.js';
import type { Host } from './harness.js';
import { icmpOf, ip, ipOf, lonelyHost, mac, netns, pattern, tapPair, udpFrame, udpSocket } from './harness.js';

/** A UDP datagram of `n` payload bytes from 10.0.0.9 to 10.0.0.1 (DF clear), as a frame. */
function datagram(world: World, n: number, opts: { id?: number; src?: number; salt?: number } = {}): Packet {
  return udpFrame(world, {
    ethSrc: mac('02:00:00:00:00:09'),
    ethDst: mac('02:00:00:00:00:01'),
    src: opts.src ?? ip('10.0.0.9'),
    dst: ip('10.0.0.1'),
    sport: 5000,
    dport: 6000,
    data: pattern(n, opts.salt ?? 0),
    id: opts.id ?? 0x4242,
  });
}

/** The IP header fields of a packet's frame. */
function hdr(pkt: Packet) {
  return ipOf(pkt.bytes())!;
}

describe('fragmentPacket (ip_do_fragment)', () => {
  test('1480 bytes after the header over MTU 1450: 1444 + 76 (the pod-MTU ping), first fragment first, one ID', () => {
    const w = new World(1);
    const pkt = datagram(w, 1472); // 1480 bytes after the IP header, as a 1472-byte ping
    const frags = fragmentPacket(w, pkt, 1450);
    expect(frags.map((f) => [hdr(f).totalLength, hdr(f).fragOffset, hdr(f).mf, hdr(f).df])).toEqual([
      [1444, 0, true, false],
      [76, 1424, false, false],
    ]);
    expect(new Set(frags.map((f) => hdr(f).id))).toEqual(new Set([0x4242]));
  });

  // offsets run contiguously from 0 and the payload is preserved
  test('property: pieces fit the MTU and all but the last carry the largest multiple of 8 bytes that fits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9000 }), fc.integer({ min: 68, max: 9000 }), (n, mtu) => {
        const w = new World(1);
        const pkt = datagram(w, n);
        const orig = hdr(pkt);
        fc.pre(orig.totalLength > mtu);
        const frags = fragmentPacket(w, pkt, mtu);
        const maxData = (mtu - IPV4_HLEN) & ~7;
        // checked in plain code and asserted once per case: thousands of expect() calls are slow
        const problems: string[] = [];
        const joined = new Uint8Array(orig.payload.length);
        let offset = 0;
        frags.forEach((f, i) => {
          const h = hdr(f);
          const last = i === frags.length - 1;
          if (h.totalLength > mtu) problems.push(`#${i} is ${h.totalLength} bytes`);
          if (h.fragOffset !== offset) problems.push(`#${i} at offset ${h.fragOffset}, expected ${offset}`);
          if (h.mf === last) problems.push(`#${i} MF ${h.mf}`);
          if (!last && h.payload.length !== maxData) problems.push(`#${i} carries ${h.payload.length}`);
          const sameAddrs = h.src === orig.src && h.dst === orig.dst;
          const same = sameAddrs && h.id === orig.id && h.proto === orig.proto && h.ttl === orig.ttl;
          if (!same || h.df || !h.checksumOk) problems.push(`#${i} header differs`);
          if (f.len !== ETH_HLEN + h.totalLength) problems.push(`#${i} frame length ${f.len}`);
          if (offset + h.payload.length <= joined.length) joined.set(h.payload, offset);
          offset += h.payload.length;
        });
        expect(problems).toEqual([]);
        expect(offset).toBe(orig.payload.length);
        expect(Buffer.compare(joined, orig.payload)).toBe(0);
      }),
      { seed: 0x5eed_0301, numRuns: 300 },
    );
  });

  test('refragmenting a middle fragment keeps its offset base and its MF on the last piece', () => {
    const w = new World(1);
    const [, middle] = fragmentPacket(w, datagram(w, 4000), 1500);
    expect(hdr(middle!).fragOffset).toBe(1480);
    const again = fragmentPacket(w, middle!, 600);
    expect(again.map((f) => [hdr(f).fragOffset, hdr(f).mf])).toEqual([
      [1480, true],
      [1480 + 576, true],
      [1480 + 1152, true],
    ]);
  });
});

describe('Reassembler (ip_defrag)', () => {
  /** Fragments of an `n`-byte datagram cut at `mtu`, and the original. */
  function pieces(world: World, n: number, mtu: number, opts: Parameters<typeof datagram>[2] = {}) {
    const whole = datagram(world, n, opts);
    return { whole, frags: fragmentPacket(world, world.clonePacket(whole), mtu) };
  }

  function expectSameDatagram(got: Packet, want: Packet): void {
    const g = hdr(got);
    const w = hdr(want);
    expect([g.src, g.dst, g.id, g.proto, g.totalLength]).toEqual([w.src, w.dst, w.id, w.proto, w.totalLength]);
    expect([g.mf, g.fragOffset, g.checksumOk]).toEqual([false, 0, true]);
    // Buffer.compare: a deep toEqual over thousands of bytes is slow inside properties
    expect(Buffer.compare(g.payload, w.payload)).toBe(0);
  }

  test('property: fragments reassemble to the original bytes in any delivery order, duplicates included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4000 }),
        fc.integer({ min: 68, max: 1500 }),
        fc.infiniteStream(fc.nat()),
        fc.array(fc.nat(), { maxLength: 3 }),
        (n, mtu, randoms, dupIdx) => {
          const { ns } = lonelyHost().host;
          const w = ns.world;
          const { whole, frags } = pieces(w, n, mtu);
          fc.pre(frags.length > 1);
          // a random permutation (Fisher-Yates over the stream), plus some exact duplicates
          const order = frags.map((_, i) => i);
          const it = randoms[Symbol.iterator]();
          for (let i = order.length - 1; i > 0; i--) {
            const j = it.next().value! % (i + 1);
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
          const seq = order.map((i) => frags[i]!);
          for (const d of dupIdx) seq.splice(d % (seq.length + 1), 0, w.clonePacket(frags[d % frags.length]!));
          const r = new Reassembler(ns);
          const results = seq.map((f) => r.add(f));
          // a copy arriving after completion starts a new queue (the old one is gone), which may
          // complete again from copies alone, as in Linux; every completion is the original
          const done = results.filter((x) => x !== null);
          expect(done.length).toBeGreaterThanOrEqual(1);
          for (const d of done) expectSameDatagram(d, whole);
          // complete exactly when the last missing piece (or a copy of it) arrived
          const seen = new Set<number>();
          const lastNeeded = seq.findIndex((f) => seen.add(hdr(f).fragOffset).size === frags.length);
          expect(results.findIndex((x) => x !== null)).toBe(lastNeeded);
        },
      ),
      { seed: 0x5eed_0302, numRuns: 200 },
    );
  });

  test('queues are keyed by source, destination, ID and protocol: interleaved same-ID datagrams stay apart', () => {
    const { ns } = lonelyHost().host;
    const w = ns.world;
    const one = pieces(w, 3000, 1000, { src: ip('10.0.0.9'), salt: 1 });
    const two = pieces(w, 3000, 1000, { src: ip('10.0.0.8'), salt: 2 });
    // the same ID and addresses but another protocol: rewrite the protocol byte of every fragment
    const three = pieces(w, 3000, 1000, { src: ip('10.0.0.9'), salt: 3 });
    for (const f of [three.whole, ...three.frags]) {
      const v = new Ipv4View(f.buf, f.l3);
      v.protocol = 253;
      v.fillChecksum();
    }
    const r = new Reassembler(ns);
    const out: Packet[] = [];
    for (let i = 0; i < one.frags.length; i++) {
      for (const d of [one, two, three]) {
        const x = r.add(d.frags[i]!);
        if (x !== null) out.push(x);
      }
    }
    expect(out).toHaveLength(3);
    expectSameDatagram(out[0]!, one.whole);
    expectSameDatagram(out[1]!, two.whole);
    expectSameDatagram(out[2]!, three.whole);
    expect(hdr(out[2]!).proto).toBe(253);
    expect(hdr(out[0]!).proto).toBe(IPPROTO_UDP);
  });

  test('an exact duplicate is dropped and the datagram still completes', () => {
    const { ns } = lonelyHost().host;
    const { whole, frags } = pieces(ns.world, 2000, 800);
    const r = new Reassembler(ns);
    expect(r.add(frags[0]!)).toBeNull();
    expect(r.add(ns.world.clonePacket(frags[0]!))).toBeNull();
    expect(r.add(frags[1]!)).toBeNull();
    const done = r.add(frags[2]!);
    expectSameDatagram(done!, whole);
  });

  /** A hand-made fragment of the 10.0.0.9 → 10.0.0.1 datagram with ID 0x4242: payload bytes [offset, offset + len). */
  function piece(world: World, offset: number, len: number, mf: boolean): Packet {
    const src = datagram(world, 2000);
    const f = world.allocPacket(ETH_HLEN + IPV4_HLEN + len);
    f.buf.set(src.bytes().subarray(0, ETH_HLEN + IPV4_HLEN), f.off);
    const at = ETH_HLEN + IPV4_HLEN;
    f.buf.set(src.bytes().subarray(at + offset, at + offset + len), f.off + at);
    const v = new Ipv4View(f.buf, f.off + ETH_HLEN);
    v.totalLength = IPV4_HLEN + len;
    v.fragOffset = offset;
    v.mf = mf;
    v.fillChecksum();
    return f;
  }

  // BUG: a fragment that partly overlaps a queued one is dropped on its own and the rest of the
  // datagram can still complete. Since Linux 4.19 (commit 7969e5c40dfd "ip: discard IPv4
  // datagrams with overlapping segments") inet_frag_queue_insert (net/ipv4/inet_fragment.c)
  // returns IPFRAG_OVERLAP and ip_frag_queue (net/ipv4/ip_fragment.c) goes to discard_qp:
  // inet_frag_kill drops the whole queue (RFC 5722); only exact/contained duplicates (IPFRAG_DUP)
  // are dropped alone.
  test.fails('a partially overlapping fragment discards the whole datagram (IPFRAG_OVERLAP → inet_frag_kill)', () => {
    const { ns } = lonelyHost().host;
    const w = ns.world;
    const r = new Reassembler(ns);
    expect(r.add(piece(w, 0, 800, true))).toBeNull();
    expect(r.add(piece(w, 400, 800, true))).toBeNull(); // overlaps 400–800
    expect(r.add(piece(w, 800, 800, true))).toBeNull();
    // the queue is gone: the datagram never completes
    expect(r.add(piece(w, 1600, 408, false))).toBeNull();
  });

  // BUG: a fragment lying beyond the end the last fragment set is queued, and when its length
  // makes the byte count match the total the reassembler copies it past the end of the new
  // buffer and throws a RangeError out of the stack. ip_frag_queue discards the queue instead:
  // a non-last fragment with `end > qp->q.len` while INET_FRAG_LAST_IN is set is "Some bits
  // beyond end -> corruption" → discard_qp; and completion needs FIRST_IN|LAST_IN with
  // meat == len over a hole-free queue.
  test.fails("a fragment beyond the datagram's end discards the queue instead of throwing", () => {
    const { ns } = lonelyHost().host;
    const w = ns.world;
    const r = new Reassembler(ns);
    expect(r.add(piece(w, 0, 16, true))).toBeNull();
    expect(r.add(piece(w, 24, 16, false))).toBeNull(); // total 40 bytes, 16–24 missing
    expect(() => r.add(piece(w, 48, 8, true))).not.toThrow(); // 8 bytes beyond the end: 16 + 16 + 8 = 40
  });
});

describe('through a host: reassembly on delivery and its 30 s timeout', () => {
  /** A host with a UDP socket on 6000 and a known neighbour 10.0.0.9 (the fragments' source). */
  function receiver(): { world: World; host: Host; got: Uint8Array[] } {
    const { world, host } = lonelyHost();
    host.ns.neigh.addPermanent(host.dev, ip('10.0.0.9'), mac('02:00:00:00:00:09'));
    const got: Uint8Array[] = [];
    udpSocket(host.ns, 6000).onMessage = (d) => got.push(d);
    return { world, host, got };
  }

  const timeExceeded = (h: Host) =>
    h.dev.sent
      .map((f) => icmpOf(f.bytes))
      .filter((i) => i !== undefined)
      .filter((i) => i.type === ICMP_TIME_EXCEEDED && i.code === ICMP_FRAG_REASM_EXCEEDED);

  test('fragments delivered out of order reach the socket as one datagram', () => {
    const { world, host, got } = receiver();
    const frags = fragmentPacket(world, datagram(world, 3000), 1000);
    for (const f of [frags[2]!, frags[0]!, frags[3]!, frags[1]!]) host.dev.receive(f);
    expect(got).toEqual([pattern(3000)]);
    expect(host.ns.stack.stats.reasmOks).toBe(1);
  });

  test('a queue still completes just before 30 s', () => {
    const { world, host, got } = receiver();
    const frags = fragmentPacket(world, datagram(world, 3000), 1000);
    for (const f of frags.slice(0, -1)) host.dev.receive(f);
    world.sched.run(sec(29.9));
    host.dev.receive(frags.at(-1)!);
    expect(got).toHaveLength(1);
    expect(timeExceeded(host)).toEqual([]);
  });

  // with the first fragment present; pieces arriving later start afresh
  test('an incomplete queue expires after 30 s with ICMP fragment reassembly time exceeded', () => {
    const { world, host, got } = receiver();
    const frags = fragmentPacket(world, datagram(world, 3000), 1000);
    for (const f of frags.slice(0, -1)) host.dev.receive(f);
    world.sched.run(sec(40));
    const icmps = timeExceeded(host);
    const [sender, receiverIp] = [ip('10.0.0.9'), ip('10.0.0.1')];
    expect(icmps.map((i) => [i.to, i.quotedSrc, i.quotedDst])).toEqual([[sender, sender, receiverIp]]);
    const sentAt = host.dev.sent.find((f) => icmpOf(f.bytes)?.type === ICMP_TIME_EXCEEDED)!.t;
    // ipfrag_time 30 s on the timer wheel: never early, at most one granule (512 jiffies) late
    expect(sentAt).toBeGreaterThanOrEqual(sec(30));
    expect(sentAt).toBeLessThanOrEqual(sec(32.048));
    host.dev.receive(frags.at(-1)!);
    expect(got).toEqual([]);
  });

  test('no ICMP when the first fragment never came (ip_expire needs INET_FRAG_FIRST_IN)', () => {
    const { world, host } = receiver();
    const frags = fragmentPacket(world, datagram(world, 3000), 1000);
    for (const f of frags.slice(1, -1)) host.dev.receive(f);
    world.sched.run(sec(40));
    expect(timeExceeded(host)).toEqual([]);
  });
});

describe('DF, local fragmentation and forwarding', () => {
  /** a (10.0.0.1) — r (10.0.0.254 | 10.0.1.254, forwarding) — b (10.0.1.2); the r–b link has MTU 1000. */
  function routed() {
    const world = new World(1);
    const a = netns(world, 'a');
    const r = netns(world, 'r');
    const b = netns(world, 'b');
    const [aEth, rEth0] = tapPair(a, 'eth0', mac('02:00:00:00:0a:01'), r, 'eth0', mac('02:00:00:00:0a:fe'), 1500);
    const [rEth1, bEth] = tapPair(r, 'eth1', mac('02:00:00:00:0b:fe'), b, 'eth0', mac('02:00:00:00:0b:02'), 1000);
    a.addAddress(aEth, ip('10.0.0.1'), 24);
    r.addAddress(rEth0, ip('10.0.0.254'), 24);
    r.addAddress(rEth1, ip('10.0.1.254'), 24);
    b.addAddress(bEth, ip('10.0.1.2'), 24);
    a.fib.main.add(makeRoute({ dst: 0, len: 0, dev: aEth, gateway: ip('10.0.0.254') }));
    b.fib.main.add(makeRoute({ dst: 0, len: 0, dev: bEth, gateway: ip('10.0.1.254') }));
    r.sysctl.ipForward = true;
    const got: Uint8Array[] = [];
    udpSocket(b, 7000).onMessage = (d) => got.push(d);
    return { world, a, r, b, aEth, rEth0, rEth1, bEth, got };
  }

  test('a local datagram over the MTU leaves in fragments (DF clear, first fragment first), arrives whole', () => {
    const n = routed();
    const s = udpSocket(n.a, 40000);
    s.pmtudisc = 'dont';
    expect(s.sendTo(ip('10.0.1.2'), 7000, pattern(3000))).toBeUndefined();
    n.world.sched.run(sec(1));
    const out = n.aEth.sent.map((f) => ipOf(f.bytes)).filter((x) => x !== undefined);
    expect(out.map((x) => [x.totalLength, x.fragOffset, x.mf, x.df])).toEqual([
      [1500, 0, true, false],
      [1500, 1480, true, false],
      [68, 2960, false, false],
    ]);
    expect(n.got).toEqual([pattern(3000)]);
  });

  test('IP_PMTUDISC_DO: a datagram over the MTU is refused locally with EMSGSIZE and nothing is sent', () => {
    const n = routed();
    const s = udpSocket(n.a, 40000);
    s.pmtudisc = 'do';
    const err = s.sendTo(ip('10.0.1.2'), 7000, pattern(1600));
    expect([err?.errno, err?.mtu]).toEqual(['EMSGSIZE', 1500]);
    expect(n.aEth.sent).toHaveLength(0);
  });

  test('forwarding DF into a smaller MTU: ICMP frag needed with the next-hop MTU; the sender learns the PMTU', () => {
    const n = routed();
    const s = udpSocket(n.a, 40000);
    s.pmtudisc = 'do';
    const errs: SocketError[] = [];
    s.onError = (e) => errs.push(e);
    expect(s.sendTo(ip('10.0.1.2'), 7000, pattern(1200))).toBeUndefined();
    n.world.sched.run(sec(1));
    expect(n.got).toEqual([]);
    expect(n.rEth1.sent.filter((f) => ipOf(f.bytes)?.proto === IPPROTO_UDP)).toHaveLength(0);
    const icmp = n.rEth0.sent.map((f) => icmpOf(f.bytes)).filter((x) => x !== undefined);
    expect(icmp.map((i) => [i.type, i.code, i.mtu, i.from, i.to, i.quotedDst])).toEqual([
      [ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1000, ip('10.0.0.254'), ip('10.0.0.1'), ip('10.0.1.2')],
    ]);
    // icmp_send: precedence 0xc0, the quoted header as it arrived (TTL not yet decremented), 576 bytes at most
    expect([icmp[0]!.tos, icmp[0]!.quotedTtl]).toEqual([0xc0, 64]);
    expect(icmp[0]!.len).toBe(576);
    expect(errs.map((e) => [e.errno, e.mtu])).toEqual([['EMSGSIZE', 1000]]);
    expect(n.a.stack.cachedPmtu(ip('10.0.1.2'))).toBe(1000);
    // the next DF send knows better and fails locally
    expect(s.sendTo(ip('10.0.1.2'), 7000, pattern(1200))?.mtu).toBe(1000);
  });

  test('forwarding a datagram without DF into a smaller MTU: the router fragments it (976-byte pieces)', () => {
    const n = routed();
    const s = udpSocket(n.a, 40000);
    s.pmtudisc = 'dont';
    s.sendTo(ip('10.0.1.2'), 7000, pattern(1200));
    n.world.sched.run(sec(1));
    const fwd = n.rEth1.sent
      .map((f) => ipOf(f.bytes))
      .filter((x) => x !== undefined)
      .filter((x) => x.proto === IPPROTO_UDP);
    expect(fwd.map((x) => [x.totalLength, x.fragOffset, x.mf, x.ttl])).toEqual([
      [996, 0, true, 63],
      [252, 976, false, 63],
    ]);
    expect(n.got).toEqual([pattern(1200)]);
  });

  test('IP_PMTUDISC_WANT over the MTU: sent without DF and fragmented locally', () => {
    const n = routed();
    const s = udpSocket(n.a, 40000);
    expect(s.pmtudisc).toBe('want');
    s.sendTo(ip('10.0.1.2'), 7000, pattern(1600));
    n.world.sched.run(sec(1));
    const out = n.aEth.sent.map((f) => ipOf(f.bytes)).filter((x) => x !== undefined);
    expect(out.map((x) => [x.totalLength, x.df])).toEqual([
      [1500, false],
      [148, false],
    ]);
    expect(n.got).toEqual([pattern(1600)]);
  });
});
