/**
 * Route lookup (src/net/route.ts, the output/input routing of src/net/stack.ts): longest-prefix
 * match, the local table before main, source address selection (inet_select_addr), onlink and
 * gateway routes, and the blackhole/unreachable/prohibit types, as net/ipv4/fib_trie.c,
 * fib_semantics.c and route.c behave.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Fib, RouteTable, makeRoute } from '../../src/net/route.js';
import type { Route, RouteType } from '../../src/net/route.js';
import type { SocketError } from '../../src/net/sockets.js';
import { inPrefix, prefixMask } from '../../src/wire/addr.js';
import { ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, ICMP_NET_UNREACH, ICMP_ADMIN_PROHIBITED } from '../../src/wire/icmp.js';
import {
  arpFrame,
  arps,
  ethOf,
  icmpOf,
  ip,
  ipOf,
  lonelyHost,
  mac,
  netns,
  tapPair,
  udpFrame,
  udpSocket,
} from './harness.js';

/** The reference longest-prefix match: every route whose prefix covers `addr`, the longest one. */
function bruteForceLookup(routes: readonly Route[], addr: number): Route | undefined {
  let best: Route | undefined;
  for (const r of routes) if (inPrefix(addr, r.dst, r.len) && (best === undefined || r.len > best.len)) best = r;
  return best;
}

describe('RouteTable: longest-prefix match', () => {
  test('the most specific covering prefix wins; the default route catches the rest', () => {
    const t = new RouteTable();
    const dflt = makeRoute({ dst: 0, len: 0, gateway: ip('192.168.1.1') });
    const r8 = makeRoute({ dst: ip('10.0.0.0'), len: 8, gateway: ip('192.168.1.8') });
    const r16 = makeRoute({ dst: ip('10.1.0.0'), len: 16, gateway: ip('192.168.1.16') });
    const r24 = makeRoute({ dst: ip('10.1.2.0'), len: 24, gateway: ip('192.168.1.24') });
    const r32 = makeRoute({ dst: ip('10.1.2.3'), len: 32, gateway: ip('192.168.1.32') });
    for (const r of [r16, dflt, r32, r8, r24]) t.add(r);
    expect(t.lookup(ip('10.1.2.3'))).toBe(r32);
    expect(t.lookup(ip('10.1.2.4'))).toBe(r24);
    expect(t.lookup(ip('10.1.3.1'))).toBe(r16);
    expect(t.lookup(ip('10.200.0.1'))).toBe(r8);
    expect(t.lookup(ip('11.0.0.1'))).toBe(dflt);
    expect(t.lookup(ip('255.255.255.255'))).toBe(dflt);
    expect(t.size).toBe(5);
  });

  test('makeRoute masks the destination to its prefix (ip route add 10.1.2.3/16 stores 10.1.0.0/16)', () => {
    const r = makeRoute({ dst: ip('10.1.2.3'), len: 16 });
    expect(r.dst).toBe(ip('10.1.0.0'));
    const t = new RouteTable();
    t.add(r);
    expect(t.lookup(ip('10.1.255.255'))).toBe(r);
    expect(t.lookup(ip('10.2.0.0'))).toBeUndefined();
  });

  test('adding the same prefix again replaces it (ip route replace); remove takes it away', () => {
    const t = new RouteTable();
    const first = makeRoute({ dst: ip('10.0.0.0'), len: 8, gateway: ip('192.168.1.1') });
    const second = makeRoute({ dst: ip('10.0.0.0'), len: 8, gateway: ip('192.168.1.2') });
    t.add(first);
    t.add(second);
    expect(t.size).toBe(1);
    expect(t.lookup(ip('10.9.9.9'))).toBe(second);
    expect(t.remove(ip('10.0.0.0'), 8)).toBe(true);
    expect(t.remove(ip('10.0.0.0'), 8)).toBe(false);
    expect(t.lookup(ip('10.9.9.9'))).toBeUndefined();
  });

  test('property: lookup agrees with a brute-force longest match over random tables (seed pinned)', () => {
    // prefixes drawn near a few bases so that many of them nest and overlap
    const bases = [ip('10.0.0.0'), ip('10.244.0.0'), ip('192.168.0.0'), ip('0.0.0.0'), ip('255.255.255.0')];
    const base = fc.constantFrom(...bases);
    const prefix = fc.record({ base, noise: fc.nat(0xffff), len: fc.integer({ min: 0, max: 32 }) });
    const addr = fc.record({ base, noise: fc.nat(0xffffff) }).map((a) => (a.base ^ a.noise) >>> 0);
    const tables = fc.array(prefix, { maxLength: 40 });
    fc.assert(
      fc.property(tables, fc.array(addr, { minLength: 1, maxLength: 40 }), (prefixes, addrs) => {
        const t = new RouteTable();
        const stored = new Map<string, Route>();
        prefixes.forEach(({ base, noise, len }, i) => {
          const r = makeRoute({ dst: (base ^ noise) >>> 0, len, gateway: i + 1 });
          t.add(r);
          stored.set(`${r.dst}/${r.len}`, r);
        });
        const routes = [...stored.values()];
        for (const a of addrs) expect(t.lookup(a)).toBe(bruteForceLookup(routes, a));
      }),
      { seed: 0x5eed_0001, numRuns: 300 },
    );
  });
});

describe('Fib: the local table before main', () => {
  test('own addresses, the subnet broadcast and 127/8 are in local; they win over any main route', () => {
    const { host } = lonelyHost();
    const fib = host.ns.fib;
    // a (silly) main route that would send the host's own address elsewhere
    fib.main.add(makeRoute({ dst: ip('10.0.0.1'), len: 32, dev: host.dev, gateway: ip('10.0.0.254') }));
    const own = fib.lookup(ip('10.0.0.1'))!;
    expect([own.table, own.type, own.dev?.name]).toEqual(['local', 'local', 'eth0']);
    const bcast = fib.lookup(ip('10.0.0.255'))!;
    expect([bcast.table, bcast.type]).toEqual(['local', 'broadcast']);
    const loop = fib.lookup(ip('127.1.2.3'))!;
    expect([loop.table, loop.type, loop.dev?.name]).toEqual(['local', 'local', 'lo']);
    const connected = fib.lookup(ip('10.0.0.77'))!;
    expect([connected.table, connected.type, connected.scope, connected.proto, connected.prefsrc]).toEqual([
      'main',
      'unicast',
      'link',
      'kernel',
      ip('10.0.0.1'),
    ]);
    expect(fib.isLocal(ip('10.0.0.1'))).toBe(true);
    expect(fib.isLocal(ip('10.0.0.255'))).toBe(false);
    expect(fib.lookup(ip('8.8.8.8'))).toBeUndefined();
  });

  test('a /32 address adds no connected route and no broadcast', () => {
    const { host } = lonelyHost();
    host.ns.addAddress(host.dev, ip('10.244.0.0'), 32);
    expect(host.ns.fib.lookup(ip('10.244.0.0'))?.type).toBe('local');
    expect(host.ns.fib.lookup(ip('10.244.0.1'))).toBeUndefined();
  });

  // the Fib caches lookups per destination: every change must drop the cache
  test('property: lookups interleaved with changes to both tables agree with the reference', () => {
    type Change = { kind: 'add' | 'del'; table: 'local' | 'main'; dst: number; len: number };
    type Op = Change | { kind: 'lookup'; addr: number };
    const dst = fc.nat(0xff).map((n) => (ip('10.0.0.0') | (n << 8)) >>> 0);
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constantFrom('add' as const, 'del' as const),
        table: fc.constantFrom('local' as const, 'main' as const),
        dst,
        len: fc.integer({ min: 8, max: 32 }),
      }),
      fc.record({ kind: fc.constant('lookup' as const), addr: fc.nat(0xffff).map((n) => (ip('10.0.0.0') | n) >>> 0) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const fib = new Fib();
        const ref = { local: new Map<string, Route>(), main: new Map<string, Route>() };
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'lookup') {
            const local = bruteForceLookup([...ref.local.values()], o.addr);
            const expected = local ?? bruteForceLookup([...ref.main.values()], o.addr);
            expect(fib.lookup(o.addr)).toBe(expected);
            continue;
          }
          const r = makeRoute({ table: o.table, dst: o.dst, len: o.len, gateway: ++n });
          const key = `${r.dst}/${r.len}`;
          if (o.kind === 'add') {
            fib[o.table].add(r);
            ref[o.table].set(key, r);
          } else {
            fib[o.table].remove(r.dst, r.len);
            ref[o.table].delete(key);
          }
        }
      }),
      { seed: 0x5eed_0002, numRuns: 300 },
    );
  });
});

describe('output routes: device, next hop and source address (ip_route_output, inet_select_addr)', () => {
  test("connected destination: out eth0, next hop the destination, source the connected route's prefsrc", () => {
    const { host } = lonelyHost();
    const rt = host.ns.stack.routeOutput(ip('10.0.0.9'));
    if (typeof rt === 'string') throw new Error(rt);
    expect([rt.dev.name, rt.nexthop, rt.src, rt.mtu, rt.local, rt.broadcast]).toEqual([
      'eth0',
      ip('10.0.0.9'),
      ip('10.0.0.1'),
      1500,
      false,
      false,
    ]);
  });

  test("gateway route: the next hop is the gateway and the source is the address in the gateway's subnet", () => {
    const { host } = lonelyHost();
    // a second, unrelated subnet on the same device, added first would be the device's first address
    host.ns.addAddress(host.dev, ip('192.168.5.1'), 24);
    host.ns.fib.main.add(makeRoute({ dst: 0, len: 0, dev: host.dev, gateway: ip('192.168.5.254') }));
    const viaSecond = host.ns.stack.routeOutput(ip('8.8.8.8'));
    if (typeof viaSecond === 'string') throw new Error(viaSecond);
    expect([viaSecond.nexthop, viaSecond.src]).toEqual([ip('192.168.5.254'), ip('192.168.5.1')]);
    host.ns.fib.main.add(makeRoute({ dst: 0, len: 0, dev: host.dev, gateway: ip('10.0.0.254') }));
    const viaFirst = host.ns.stack.routeOutput(ip('8.8.8.8'));
    if (typeof viaFirst === 'string') throw new Error(viaFirst);
    expect([viaFirst.nexthop, viaFirst.src]).toEqual([ip('10.0.0.254'), ip('10.0.0.1')]);
  });

  test("a route's src (prefsrc) wins over selection; an explicit source must be local (EINVAL otherwise)", () => {
    const { host } = lonelyHost();
    host.ns.addAddress(host.dev, ip('192.168.5.1'), 24);
    const gateway = ip('10.0.0.254');
    const prefsrc = ip('192.168.5.1');
    host.ns.fib.main.add(makeRoute({ dst: ip('172.16.0.0'), len: 12, dev: host.dev, gateway, prefsrc }));
    const rt = host.ns.stack.routeOutput(ip('172.20.0.1'));
    if (typeof rt === 'string') throw new Error(rt);
    expect(rt.src).toBe(ip('192.168.5.1'));
    const pinned = host.ns.stack.routeOutput(ip('172.20.0.1'), ip('10.0.0.1'));
    if (typeof pinned === 'string') throw new Error(pinned);
    expect(pinned.src).toBe(ip('10.0.0.1'));
    expect(host.ns.stack.routeOutput(ip('172.20.0.1'), ip('10.0.0.99'))).toBe('EINVAL');
  });

  test('a local destination goes through lo with the destination as source; no route at all is ENETUNREACH', () => {
    const { host } = lonelyHost();
    const rt = host.ns.stack.routeOutput(ip('10.0.0.1'));
    if (typeof rt === 'string') throw new Error(rt);
    expect([rt.dev.name, rt.src, rt.local, rt.mtu]).toEqual(['lo', ip('10.0.0.1'), true, 65536]);
    expect(host.ns.stack.routeOutput(ip('8.8.8.8'))).toBe('ENETUNREACH');
  });

  test("onlink gateway outside every prefix (flannel): resolved on the route's device, source its /32", () => {
    const { world, host } = lonelyHost();
    const ns = host.ns;
    const other = netns(world, 'other');
    const [vtep] = tapPair(ns, 'flannel.1', mac('02:f1:00:00:00:01'), other, 'peer', mac('02:f1:00:00:00:02'));
    vtep.pass = () => false;
    ns.addAddress(vtep, ip('10.244.0.0'), 32);
    ns.fib.main.add(makeRoute({ dst: ip('10.244.1.0'), len: 24, dev: vtep, gateway: ip('10.244.1.0'), onlink: true }));
    const rt = ns.stack.routeOutput(ip('10.244.1.7'));
    if (typeof rt === 'string') throw new Error(rt);
    expect([rt.dev.name, rt.nexthop, rt.src]).toEqual(['flannel.1', ip('10.244.1.0'), ip('10.244.0.0')]);
    // sending resolves the gateway, not the destination, on flannel.1
    const sock = udpSocket(ns, 40000);
    expect(sock.sendTo(ip('10.244.1.7'), 53, new Uint8Array(4))).toBeUndefined();
    const req = arps(vtep.sent);
    expect(req.map((a) => [a.op, a.targetIp, a.senderIp])).toEqual([['request', ip('10.244.1.0'), ip('10.244.0.0')]]);
    expect(host.dev.sent).toHaveLength(0);
  });

  test('gateway route on the wire: ARP for the gateway, then the datagram to its MAC, far destination in IP', () => {
    const { world, host } = lonelyHost();
    host.ns.fib.main.add(makeRoute({ dst: 0, len: 0, dev: host.dev, gateway: ip('10.0.0.254') }));
    const sock = udpSocket(host.ns, 40000);
    sock.sendTo(ip('8.8.8.8'), 53, new Uint8Array([1, 2, 3]));
    const gwMac = mac('02:00:00:00:00:fe');
    expect(arps(host.dev.sent).map((a) => a.targetIp)).toEqual([ip('10.0.0.254')]);
    const gw = ip('10.0.0.254');
    const toHost = { targetIp: host.ip, targetMac: host.mac, ethDst: host.mac };
    host.dev.receive(arpFrame(world, { op: 'reply', senderMac: gwMac, senderIp: gw, ...toHost }));
    const out = host.dev.sent.filter((f) => ipOf(f.bytes) !== undefined);
    expect(out).toHaveLength(1);
    const frame = out[0]!.bytes;
    expect(ethOf(frame).dst).toBe(gwMac);
    expect([ipOf(frame)!.src, ipOf(frame)!.dst]).toEqual([ip('10.0.0.1'), ip('8.8.8.8')]);
  });
});

describe('blackhole, unreachable and prohibit routes', () => {
  const types: RouteType[] = ['blackhole', 'unreachable', 'prohibit'];

  /** A router (ip_forward on) with one such route for 192.0.2.0/24 and a permanent neighbour 10.0.0.9 sending to it. */
  function router(type: RouteType, forwarding = true) {
    const { world, host } = lonelyHost();
    host.ns.sysctl.ipForward = forwarding;
    host.ns.fib.main.add(makeRoute({ type, dst: ip('192.0.2.0'), len: 24 }));
    const senderMac = mac('02:00:00:00:00:09');
    host.ns.neigh.addPermanent(host.dev, ip('10.0.0.9'), senderMac);
    const send = (dst: number): void =>
      host.dev.receive(
        udpFrame(world, {
          ethSrc: senderMac,
          ethDst: host.mac,
          src: ip('10.0.0.9'),
          dst,
          sport: 1000,
          dport: 2000,
          data: new Uint8Array(8),
        }),
      );
    const icmps = () => host.dev.sent.map((f) => icmpOf(f.bytes)).filter((x) => x !== undefined);
    return { world, host, send, icmps };
  }

  test('forwarded into: blackhole drops, unreachable → host unreachable, prohibit → code 13 (ip_error)', () => {
    const got = types.map((type) => {
      const r = router(type);
      r.send(ip('192.0.2.1'));
      return r.icmps().map((i) => [i.type, i.code, i.to]);
    });
    const sender = ip('10.0.0.9');
    expect(got).toEqual([
      [],
      [[ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, sender]],
      [[ICMP_DEST_UNREACH, ICMP_ADMIN_PROHIBITED, sender]],
    ]);
  });

  test('forwarding with no route at all answers net unreachable', () => {
    const r = router('blackhole');
    r.send(ip('203.0.113.1'));
    expect(r.icmps().map((i) => [i.type, i.code])).toEqual([[ICMP_DEST_UNREACH, ICMP_NET_UNREACH]]);
  });

  test('locally generated traffic to an unreachable route fails with EHOSTUNREACH and sends nothing', () => {
    const r = router('unreachable');
    const sock = udpSocket(r.host.ns, 40000);
    const err: SocketError | undefined = sock.sendTo(ip('192.0.2.1'), 53, new Uint8Array(4));
    expect(err?.errno).toBe('EHOSTUNREACH');
    expect(r.host.dev.sent).toHaveLength(0);
  });

  // BUG: every reject type gives EHOSTUNREACH to a local sender. In Linux the errno is the
  // route type's fib_props[].error (net/ipv4/fib_semantics.c): RTN_BLACKHOLE -EINVAL,
  // RTN_UNREACHABLE -EHOSTUNREACH, RTN_PROHIBIT -EACCES, returned by fib_table_lookup through
  // ip_route_output_key_hash_rcu; so `ping` to a blackhole route says "connect: Invalid argument"
  // and to a prohibit route "Permission denied".
  test.fails('local traffic: a blackhole route gives EINVAL, a prohibit route EACCES (fib_props errors)', () => {
    expect(router('blackhole').host.ns.stack.routeOutput(ip('192.0.2.1'))).toBe('EINVAL');
    expect(router('prohibit').host.ns.stack.routeOutput(ip('192.0.2.1'))).toBe('EACCES');
  });

  // BUG: with ip_forward=0 a packet for an address that is not ours is answered with ICMP host
  // unreachable (stack.ts routeInput: "ip_route_input_slow with forwarding off: -EHOSTUNREACH →
  // ip_error"). Linux's ip_error (net/ipv4/route.c) starts with `if (!IN_DEV_FORWARD(in_dev)) {
  // …count INADDRERRORS/INNOROUTES…; goto out; }`: a host that does not forward drops such
  // packets silently, whether it has a route for them or not.
  test.fails('a host that does not forward drops packets for other addresses silently (ip_error sends nothing)', () => {
    const r = router('unreachable', false);
    r.host.ns.fib.main.add(makeRoute({ dst: 0, len: 0, dev: r.host.dev, gateway: ip('10.0.0.254') }));
    r.send(ip('203.0.113.1')); // routed by the default route, but forwarding is off
    r.send(ip('192.0.2.1')); // an unreachable route
    expect(r.icmps()).toEqual([]);
  });
});

test('prefixMask and inPrefix agree with the masked comparison the tables use', () => {
  fc.assert(
    fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.integer({ min: 0, max: 32 }), (a, b, len) => {
      expect(inPrefix(a, b, len)).toBe(((a & prefixMask(len)) | 0) === ((b & prefixMask(len)) | 0));
    }),
    { seed: 0x5eed_0003, numRuns: 500 },
  );
});
