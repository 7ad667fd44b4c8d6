/**
 * The Linux bridge of src/net/bridge.ts against net/bridge (br_input.c, br_fdb.c,
 * br_forward.c): FDB learning and 300 s ageing, flooding of unknown unicast and broadcast, hairpin
 * mode, frames for the bridge's own addresses passed up, invalid source addresses dropped.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { BridgeDevice } from '../../src/net/bridge.js';
import type { BridgePort } from '../../src/net/bridge.js';
import type { Packet } from '../../src/net/packet.js';
import { World } from '../../src/net/world.js';
import { sec } from '../../src/sim/time.js';
import type { MacAddr } from '../../src/wire/addr.js';
import { MAC_BROADCAST } from '../../src/wire/addr.js';
import { ETH_HLEN, EthernetView } from '../../src/wire/ethernet.js';
import type { TapVeth } from './harness.js';
import { mac, netns, tapPair } from './harness.js';

/** An ethertype nobody handles (IEEE local experimental): the host stack drops what goes up. */
const ETHERTYPE_EXPERIMENTAL = 0x88b5;
const A = mac('02:00:00:00:00:0a');
const B = mac('02:00:00:00:00:0b');
const C = mac('02:00:00:00:00:0c');
const UNKNOWN = mac('02:00:00:00:00:99');
const MULTICAST = mac('01:00:5e:00:00:01');

interface Lab {
  world: World;
  br: BridgeDevice;
  /** The port devices (veth ends enslaved to br0), index 0..n-1. */
  devs: TapVeth[];
  ports: BridgePort[];
  /** Injects a frame arriving on port i from the wire. */
  inject(i: number, src: MacAddr, dst: MacAddr): void;
  /** Which ports (indices) sent a frame since the last call, and whether one went up to the host. */
  take(): { out: number[]; up: boolean };
}

/** A bridge br0 in its own namespace with `n` veth ports whose peers never receive anything. */
function lab(n = 3, hairpin: boolean[] = []): Lab {
  const world = new World(7);
  const host = netns(world, 'host');
  const br = new BridgeDevice(host, 'br0', mac('02:bb:00:00:00:01'), 1500);
  const devs: TapVeth[] = [];
  const ports: BridgePort[] = [];
  for (let i = 0; i < n; i++) {
    const end = netns(world, `end${i}`);
    const [dev] = tapPair(host, `veth${i}`, mac(`02:ee:00:00:00:0${i}`), end, 'eth0', mac(`02:aa:00:00:00:0${i}`));
    dev.pass = () => false;
    devs.push(dev);
    ports.push(br.addPort(dev, hairpin[i] ?? false));
  }
  const seen = devs.map(() => 0);
  let upSeen = 0;
  return {
    world,
    br,
    devs,
    ports,
    inject(i, src, dst) {
      devs[i]!.receive(frame(world, src, dst));
    },
    take() {
      const out: number[] = [];
      devs.forEach((d, i) => {
        if (d.sent.length > seen[i]!) out.push(i);
        seen[i] = d.sent.length;
      });
      const up = br.rxPackets > upSeen;
      upSeen = br.rxPackets;
      return { out, up };
    },
  };
}

function frame(world: World, src: MacAddr, dst: MacAddr): Packet {
  const pkt = world.allocPacket(ETH_HLEN + 46);
  const e = new EthernetView(pkt.buf, pkt.off);
  e.src = src;
  e.dst = dst;
  e.ethertype = ETHERTYPE_EXPERIMENTAL;
  return pkt;
}

/** The learned (non-local) FDB entries as [mac, port index]. */
function learned(l: Lab): Array<[MacAddr, number]> {
  return l.br
    .fdbEntries()
    .filter((e) => !e.local)
    .map((e): [MacAddr, number] => [e.mac, l.ports.indexOf(e.port!)])
    .sort((x, y) => x[0] - y[0]);
}

describe('learning and forwarding', () => {
  test('the source MAC is learned on the ingress port; unknown unicast floods every other port, not up', () => {
    const l = lab();
    l.inject(0, A, UNKNOWN);
    expect(learned(l)).toEqual([[A, 0]]);
    expect(l.take()).toEqual({ out: [1, 2], up: false });
  });

  test('a learned destination gets the frame on its port only', () => {
    const l = lab();
    l.inject(0, A, UNKNOWN);
    l.inject(1, B, A);
    l.take();
    l.inject(2, C, B);
    expect(l.take()).toEqual({ out: [1], up: false });
    l.inject(1, B, A);
    expect(l.take()).toEqual({ out: [0], up: false });
    expect(learned(l)).toEqual([
      [A, 0],
      [B, 1],
      [C, 2],
    ]);
  });

  test('a station that moves is relearned on its new port', () => {
    const l = lab();
    l.inject(0, A, UNKNOWN);
    l.inject(2, A, UNKNOWN);
    expect(learned(l)).toEqual([[A, 2]]);
    l.take();
    l.inject(1, B, A);
    expect(l.take().out).toEqual([2]);
  });

  test('broadcast and multicast are flooded to every other port and a copy goes up to the host', () => {
    const l = lab();
    l.inject(1, A, MAC_BROADCAST);
    expect(l.take()).toEqual({ out: [0, 2], up: true });
    l.inject(1, A, MULTICAST);
    expect(l.take()).toEqual({ out: [0, 2], up: true });
  });

  test("frames for the bridge's own MAC, or a port's own MAC, go up to the host and nowhere else", () => {
    const l = lab();
    l.inject(0, A, l.br.mac);
    expect(l.take()).toEqual({ out: [], up: true });
    l.inject(0, A, l.devs[2]!.mac);
    expect(l.take()).toEqual({ out: [], up: true });
    const local = l.br.fdbEntries().filter((e) => e.local);
    const byValue = (x: number, y: number) => x - y;
    expect(local.map((e) => e.mac).sort(byValue)).toEqual([l.br.mac, ...l.devs.map((d) => d.mac)].sort(byValue));
    expect(local.every((e) => e.permanent)).toBe(true);
  });

  test('an invalid source MAC (multicast, zero) is dropped: not learned, not forwarded (is_valid_ether_addr)', () => {
    const l = lab();
    l.inject(0, MULTICAST, MAC_BROADCAST);
    l.inject(0, 0, UNKNOWN);
    expect(l.take()).toEqual({ out: [], up: false });
    expect(learned(l)).toEqual([]);
    expect(l.devs[0]!.drops).toBe(2);
  });

  test("a frame with the bridge's own MAC as source does not move the local entry", () => {
    const l = lab();
    l.inject(1, l.br.mac, UNKNOWN);
    expect(l.take().out).toEqual([0, 2]);
    const own = l.br.fdbEntries().find((e) => e.mac === l.br.mac)!;
    expect([own.local, own.port]).toEqual([true, null]);
  });

  test('frames the host sends through the bridge device follow the FDB, else are flooded to every port', () => {
    const l = lab();
    l.inject(1, B, UNKNOWN);
    l.take();
    l.br.xmit(frame(l.world, l.br.mac, B));
    expect(l.take().out).toEqual([1]);
    l.br.xmit(frame(l.world, l.br.mac, UNKNOWN));
    expect(l.take().out).toEqual([0, 1, 2]);
    l.br.xmit(frame(l.world, l.br.mac, MAC_BROADCAST));
    expect(l.take()).toEqual({ out: [0, 1, 2], up: false });
  });
});

describe('hairpin mode', () => {
  test('off: a frame for a station behind its own ingress port is dropped; a broadcast is not reflected', () => {
    const l = lab(3, [false, false, false]);
    l.inject(0, A, UNKNOWN);
    l.inject(0, B, UNKNOWN);
    l.take();
    l.inject(0, A, B);
    expect(l.take()).toEqual({ out: [], up: false });
    expect(l.devs[0]!.drops).toBe(1);
    l.inject(0, A, MAC_BROADCAST);
    expect(l.take().out).toEqual([1, 2]);
  });

  test('on: the frame goes back out of the ingress port, and broadcasts are reflected too', () => {
    const l = lab(3, [true, false, false]);
    l.inject(0, A, UNKNOWN);
    l.inject(0, B, UNKNOWN);
    l.take();
    l.inject(0, A, B);
    expect(l.take().out).toEqual([0]);
    l.inject(0, A, MAC_BROADCAST);
    expect(l.take()).toEqual({ out: [0, 1, 2], up: true });
    l.inject(0, A, UNKNOWN);
    expect(l.take().out).toEqual([0, 1, 2]);
  });
});

describe('ageing (BR_DEFAULT_AGEING_TIME 300 s)', () => {
  test('an entry is used until 300 s after the station last sent, and forgotten after (flooding resumes)', () => {
    const l = lab();
    expect(l.br.ageingTime).toBe(sec(300));
    l.inject(0, A, UNKNOWN);
    l.take();
    l.world.sched.run(sec(299));
    l.inject(1, B, A);
    expect(l.take().out).toEqual([0]);
    expect(learned(l).map((e) => e[0])).toContain(A);
    // Linux deletes expired entries from br_fdb_cleanup, a delayed work re-armed for the next
    // expiry (up to one wheel granule late, 16 s at this distance): gone well before 320 s
    l.world.sched.run(sec(320));
    expect(learned(l).map((e) => e[0])).not.toContain(A);
    l.inject(1, B, A);
    expect(l.take().out).toEqual([0, 2]);
  });

  test('traffic from the station refreshes its entry; traffic to it does not', () => {
    const l = lab();
    l.inject(0, A, UNKNOWN);
    l.world.sched.run(sec(200));
    l.inject(0, A, UNKNOWN); // refresh
    l.inject(1, B, A); // B learned at 200 s, A looked up
    l.take();
    l.world.sched.run(sec(450));
    l.inject(2, C, B); // B (heard at 200 s) is looked up at 450 s: a lookup is no refresh
    expect(l.take().out).toEqual([1]);
    l.world.sched.run(sec(499));
    l.inject(2, C, A);
    expect(l.take().out).toEqual([0]);
    l.world.sched.run(sec(521));
    l.inject(2, C, A);
    l.inject(2, C, B);
    // both last sent at 200 s: gone 321 s later, so both frames are flooded
    expect(l.take().out).toEqual([0, 1]);
    expect(learned(l)).toEqual([[C, 2]]);
  });
});

describe('properties', () => {
  test('the FDB forwards as a reference learning switch, never to the ingress port unless hairpin', () => {
    const macs = [A, B, C, mac('02:00:00:00:00:0d'), mac('02:00:00:00:00:0e')];
    type Ev = { kind: 'frame'; port: number; src: number; dst: number } | { kind: 'wait'; ms: number };
    const ev: fc.Arbitrary<Ev> = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({
          kind: fc.constant('frame' as const),
          port: fc.nat(3),
          src: fc.nat(macs.length),
          dst: fc.nat(macs.length + 3),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.nat(200_000) }) },
    );
    const fourPorts = fc.array(fc.boolean(), { minLength: 4, maxLength: 4 });
    fc.assert(
      fc.property(fourPorts, fc.array(ev, { maxLength: 80 }), (hairpin, evs) => {
        const l = lab(4, hairpin);
        // reference: mac → { port, time last heard }
        const ref = new Map<MacAddr, { port: number; at: number }>();
        for (const e of evs) {
          if (e.kind === 'wait') {
            // steps of 1_000_003 ns never add up to exactly 300 s, so no age sits on the boundary
            l.world.sched.run(l.world.now + e.ms * 1_000_003);
            continue;
          }
          // src index macs.length is an invalid (multicast) source
          const src = e.src < macs.length ? macs[e.src]! : MULTICAST;
          const special = [MAC_BROADCAST, UNKNOWN, l.br.mac, l.devs[0]!.mac];
          const dst = e.dst < macs.length ? macs[e.dst]! : special[e.dst - macs.length]!;
          l.inject(e.port, src, dst);
          const got = l.take();
          const everyOther = [0, 1, 2, 3].filter((p) => p !== e.port || hairpin[e.port]);
          let expected: { out: number[]; up: boolean };
          if (src === MULTICAST) expected = { out: [], up: false };
          else {
            ref.set(src, { port: e.port, at: l.world.now });
            const known = ref.get(dst);
            if (dst === MAC_BROADCAST) expected = { out: everyOther, up: true };
            else if (dst === l.br.mac || dst === l.devs[0]!.mac) expected = { out: [], up: true };
            else if (known !== undefined && l.world.now - known.at < sec(300)) {
              expected = { out: known.port !== e.port || hairpin[e.port] ? [known.port] : [], up: false };
            } else expected = { out: everyOther, up: false };
          }
          expect(got).toEqual(expected);
          if (!hairpin[e.port]) expect(got.out).not.toContain(e.port);
        }
      }),
      { seed: 0x5eed_0201, numRuns: 200 },
    );
  });
});
