/**
 * What the kernel did with Services (docs/kernel-findings.md §c–§h), reproduced on
 * the oracle's own cluster (test/fixtures/oracle-cluster.yaml).
 */
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { layer, sim } from '../helpers.js';
import type { MemoryCapture } from '../../src/trace/memory-capture.js';
import type { FrameDissection } from '../../src/wire/dissect.js';
import { chiSquareUniformP } from './stats.js';

const ORACLE = readFileSync('test/fixtures/oracle-cluster.yaml', 'utf8');

function frames(
  cap: MemoryCapture,
  point: string,
  pred: (d: FrameDissection) => boolean = () => true,
): FrameDissection[] {
  return cap
    .at(point)
    .map((f) => cap.dissect(f))
    .filter(pred);
}

const isTcp = (d: FrameDissection): boolean => d.tcp !== undefined && !('malformed' in d.tcp);

describe('docs/kernel-findings.md §c: a ping to a ClusterIP is never DNATed', () => {
  test('0 replies, no ICMP error; the echo leaves by the default route masqueraded to the node IP and dies at the gateway', () => {
    const { sim: s, cap } = sim(ORACLE);
    const r = s.probe('client', '10.96.0.100', 'icmp', { count: 3, interval: 200e6 });
    expect(r.replies).toBe(0);
    expect(r.lost).toBe(3);
    expect(r.attempts.every((a) => a.error === 'no reply')).toBe(true);
    const atGw = frames(cap, 'gw/eth0', (d) => d.icmp !== undefined);
    expect(atGw).toHaveLength(3);
    for (const d of atGw)
      expect([layer(d.ip).src, layer(d.ip).dst, layer(d.ip).ttl]).toEqual(['172.18.0.2', '10.96.0.100', 63]);
    // nothing came back to the client, not even an ICMP error
    expect(
      frames(cap, 'pod:client/eth0', (d) => d.icmp !== undefined && layer(d.ip).dst === '10.244.1.3'),
    ).toHaveLength(0);
    // it never reached a web pod
    for (const p of ['pod:web-0/eth0', 'pod:web-1/eth0', 'pod:web-2/eth0'])
      expect(frames(cap, p, (d) => d.icmp !== undefined)).toHaveLength(0);
  });
});

describe('docs/kernel-findings.md §d: TCP to a ClusterIP', () => {
  test('300 connections all succeed, spread over the three backends, every backend sees the client pod IP', () => {
    const { sim: s } = sim(ORACLE);
    const r = s.probe('client', '10.96.0.100:80', 'tcp', { count: 300, interval: 5e6 });
    expect(r.replies).toBe(300);
    const by: Record<string, number> = {};
    for (const a of r.attempts) by[a.answeredBy!] = (by[a.answeredBy!] ?? 0) + 1;
    expect(Object.keys(by).sort()).toEqual(['web-0', 'web-1', 'web-2']);
    // uniform at significance level 0.001: the kernel's own run (95/105/100) passes this test too
    expect(chiSquareUniformP(Object.values(by))).toBeGreaterThan(0.001);
    expect(chiSquareUniformP([95, 105, 100])).toBeGreaterThan(0.001);
    expect(new Set(r.attempts.map((a) => a.serverSaw!.split(':')[0]))).toEqual(new Set(['10.244.1.3']));
  });

  test('a remote backend gets the SYN with TTL 62 from its node cni0 MAC; the same-node backend by bridged DNAT with TTL 64 and the client MAC', () => {
    const { sim: s, cap } = sim(ORACLE);
    // enough connections to hit all three backends
    s.probe('client', '10.96.0.100:80', 'tcp', { count: 30, interval: 5e6 });
    const syn = (point: string): FrameDissection[] => frames(cap, point, (d) => isTcp(d) && layer(d.tcp).flags === 'S');
    for (const [point, mac] of [
      ['pod:web-1/eth0', '0a:58:0a:f4:02:01'],
      ['pod:web-2/eth0', '0a:58:0a:f4:03:01'],
    ] as const) {
      const ss = syn(point);
      expect(ss.length).toBeGreaterThan(0);
      for (const d of ss) expect([layer(d.eth).src, layer(d.ip).ttl, layer(d.ip).src]).toEqual([mac, 62, '10.244.1.3']);
    }
    const local = syn('pod:web-0/eth0');
    expect(local.length).toBeGreaterThan(0);
    for (const d of local)
      expect([layer(d.eth).src, layer(d.eth).dst, layer(d.ip).ttl]).toEqual([
        '0a:58:0a:f4:01:03',
        '0a:58:0a:f4:01:02',
        64,
      ]);
    // web-0 answers the client directly (its own MAC), un-DNATed to the ClusterIP on the way
    const fromWeb0 = frames(cap, 'pod:client/eth0', (d) => isTcp(d) && layer(d.eth).src === '0a:58:0a:f4:01:02');
    expect(fromWeb0.length).toBeGreaterThan(0);
    expect(
      fromWeb0.every((d) => layer(d.ip).src === '10.96.0.100' && layer(d.tcp).sport === 80 && layer(d.ip).ttl === 64),
    ).toBe(true);
  });
});

describe('docs/kernel-findings.md §e: NodePort with externalTrafficPolicy Cluster', () => {
  test('the backend sees the address of the interface the connection leaves the entry node by, never the node IP', () => {
    const { sim: s } = sim(ORACLE);
    const r = s.probe('ext/ext', '172.18.0.3:30080', 'tcp', { count: 60, interval: 5e6 });
    expect(r.replies).toBe(60);
    const saw = new Map<string, Set<string>>();
    for (const a of r.attempts) {
      const set = saw.get(a.answeredBy!) ?? new Set<string>();
      set.add(a.serverSaw!.split(':')[0]!);
      saw.set(a.answeredBy!, set);
    }
    expect([...saw.get('web-0')!]).toEqual(['10.244.2.0']); // via n2's flannel.1
    expect([...saw.get('web-2')!]).toEqual(['10.244.2.0']);
    expect([...saw.get('web-1')!]).toEqual(['10.244.2.1']); // via n2's cni0
    // MASQUERADE --random-fully: ports drawn across the whole range, not the client's
    const ports = r.attempts.map((a) => Number(a.serverSaw!.split(':')[1]));
    expect(new Set(ports).size).toBeGreaterThan(50);
    expect(Math.min(...ports)).toBeGreaterThanOrEqual(1024);
    expect(r.attempts.every((a, i) => ports[i] !== a.sourcePort)).toBe(true);
    // the reply reaches ext from the node IP and NodePort; TTL 62 from remote backends, 63 from the local one
    const ttl = new Map(r.attempts.map((a) => [a.answeredBy!, a.ttl]));
    expect([ttl.get('web-0'), ttl.get('web-1'), ttl.get('web-2')]).toEqual([62, 63, 62]);
  });
});

describe('docs/kernel-findings.md §f: NodePort with externalTrafficPolicy Local', () => {
  test('on a node with the endpoint: the real client IP, no SNAT', () => {
    const { sim: s } = sim(ORACLE);
    const r = s.probe('ext/ext', '172.18.0.2:30081', 'tcp', { count: 5, interval: 5e6 });
    expect(r.replies).toBe(5);
    expect(r.attempts.every((a) => a.answeredBy === 'web-0' && a.serverSaw === `172.18.0.100:${a.sourcePort}`)).toBe(
      true,
    );
  });

  test('on a node without one: the SYN and its retransmission are dropped silently (no RST), and the connection times out', () => {
    const { sim: s, cap } = sim(ORACLE);
    const r = s.probe('ext/ext', '172.18.0.3:30081', 'tcp', { count: 3, interval: 3e9 });
    expect(r.replies).toBe(0);
    expect(r.attempts.map((a) => a.error)).toEqual([
      'Connection timed out',
      'Connection timed out',
      'Connection timed out',
    ]);
    const atExt = frames(cap, 'ext:ext/eth0', isTcp);
    // SYN + one retransmit per attempt, nothing back
    expect(atExt.map((d) => layer(d.tcp).flags)).toEqual(['S', 'S', 'S', 'S', 'S', 'S']);
    // the drop rule in filter KUBE-EXTERNAL-SERVICES counted all six
    const n2 = s.network.nodes.get('n2')!;
    const table = n2.nf.ruleset.tables.filter!;
    const chain = table.chains.get('KUBE-EXTERNAL-SERVICES') ?? table.shared!.get('KUBE-EXTERNAL-SERVICES')!;
    const idx = chain.rules.findIndex((rl) => rl.target?.kind === 'DROP');
    expect(idx).toBeGreaterThanOrEqual(0);
    expect(n2.nf.counters.get(chain, idx).packets).toBe(6);
    // never reached a pod
    for (const p of ['pod:web-0/eth0', 'pod:web-1/eth0', 'pod:web-2/eth0'])
      expect(frames(cap, p, isTcp)).toHaveLength(0);
  });
});

describe('docs/kernel-findings.md §g: session affinity', () => {
  test('20 connections land on one backend; the recent list lives on the client node only', () => {
    const { sim: s } = sim(ORACLE);
    const r = s.probe('client', '10.96.0.102:80', 'tcp', { count: 20, interval: 5e6 });
    expect(r.replies).toBe(20);
    expect(new Set(r.attempts.map((a) => a.answeredBy)).size).toBe(1);
    const lists = (node: string): Array<{ addr: number; hits: number }> =>
      s.network.nodes
        .get(node)!
        .nf.recentNames()
        .flatMap((n) => s.network.nodes.get(node)!.nf.recentList(n));
    const n1 = lists('n1');
    expect(n1).toHaveLength(1);
    expect(n1[0]!.addr).toBe(0x0af40103);
    expect(n1[0]!.hits).toBe(20);
    expect(lists('n2')).toEqual([]);
    expect(lists('n3')).toEqual([]);
  });
});

describe('docs/kernel-findings.md §h: hairpin', () => {
  test('with hairpin mode a pod reaches itself through its Service, sees cni0 as its peer, and gets frames with its own MAC as source and destination', () => {
    const { sim: s, cap } = sim(ORACLE);
    let self: ReturnType<typeof s.probe> | undefined;
    for (let i = 0; i < 60 && self === undefined; i++) {
      const r = s.probe('web-0', '10.96.0.100:80', 'tcp');
      expect(r.replies).toBe(1);
      if (r.attempts[0]!.answeredBy === 'web-0') self = r;
      else expect(r.attempts[0]!.serverSaw!.split(':')[0]).toBe('10.244.1.2');
    }
    expect(self).toBeDefined();
    expect(self!.attempts[0]!.serverSaw!.split(':')[0]).toBe('10.244.1.1');
    const back = frames(cap, 'pod:web-0/eth0', (d) => isTcp(d) && layer(d.ip).src === '10.244.1.1');
    expect(back.length).toBeGreaterThan(0);
    for (const d of back)
      expect([layer(d.eth).src, layer(d.eth).dst, layer(d.ip).ttl]).toEqual([
        '0a:58:0a:f4:01:02',
        '0a:58:0a:f4:01:02',
        64,
      ]);
  });

  test('without hairpin mode the self-landing SYN dies in the bridge before conntrack confirms it, so the retransmission chooses afresh', () => {
    const { sim: s, hops } = sim(ORACLE.replace('underlay: {', 'cni: { hairpinMode: false }\n  underlay: {'));
    let retried = 0;
    for (let i = 0; i < 40; i++) {
      hops.events.length = 0;
      const r = s.probe('web-0', '10.96.0.100:80', 'tcp', { timeout: 4e9 });
      // it never lands on itself: a SYN DNATed to web-0 is dropped inside the bridge
      if (r.replies === 1) expect(r.attempts[0]!.answeredBy).not.toBe('web-0');
      const drops = hops.events.filter((e) => e.kind === 'drop' && e.text.includes('hairpin mode is off'));
      if (drops.length > 0) {
        retried++;
        // no conntrack entry survived: the retransmitted SYN made a fresh DNAT decision
        const bindings = hops.events.filter((e) => e.kind === 'nat' && e.text.startsWith('conntrack DNAT binding'));
        expect(bindings.length).toBe(drops.length + (r.replies === 1 ? 1 : 0));
      }
    }
    expect(retried).toBeGreaterThan(0);
  });
});
