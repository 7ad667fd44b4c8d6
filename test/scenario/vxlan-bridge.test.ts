import { describe, expect, test } from 'vitest';
import { layer, sim, twoNodeCluster } from '../helpers.js';

describe('flannel VXLAN encapsulation (docs/kernel-findings.md §b, §vxlan-sport)', () => {
  test('outer headers: node IPs, TTL 64, DF clear, UDP 8472 with a checksum, VNI 1, VTEP MACs inside, +50 bytes', () => {
    const { sim: s, cap } = sim(twoNodeCluster());
    s.probe('client', 'pod/web-1', 'icmp', { count: 2, interval: 200e6 });
    const vx = cap
      .at('node1/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.vxlan);
    expect(vx).toHaveLength(4);
    for (const d of vx) {
      const ip = layer(d.ip);
      const udp = layer(d.udp);
      expect(ip.ttl).toBe(64);
      expect(ip.df).toBe(false);
      expect(udp.dport).toBe(8472);
      expect(udp.checksumOk).toBe(true);
      expect(udp.sport).toBeGreaterThanOrEqual(32768);
      expect(udp.sport).toBeLessThanOrEqual(60998);
      expect(layer(d.vxlan)).toEqual({ vni: 1, flags: 0x08 });
      expect(d.len).toBe(d.inner!.len + 50);
      const inner = layer(d.inner!.eth);
      expect([inner.src, inner.dst].sort()).toEqual(['02:f1:0a:f4:01:00', '02:f1:0a:f4:02:00']);
      expect(layer(d.inner!.ip).ttl).toBe(63);
    }
    // an ICMP flow hashes to the same outer source port in both directions
    expect(new Set(vx.map((d) => layer(d.udp).sport)).size).toBe(1);
  });

  test('a TCP connection uses one outer source port per direction', () => {
    const { sim: s, cap } = sim(twoNodeCluster());
    s.probe('client', 'pod/web-1:8080', 'tcp');
    const vx = cap
      .at('node1/eth0')
      .map((f) => ({ f, d: cap.dissect(f) }))
      .filter(({ d }) => d.vxlan);
    const out = new Set(vx.filter(({ f }) => f.dir === 'out').map(({ d }) => layer(d.udp).sport));
    const back = new Set(vx.filter(({ f }) => f.dir === 'in').map(({ d }) => layer(d.udp).sport));
    expect(out.size).toBe(1);
    expect(back.size).toBe(1);
    expect([...out][0]).not.toBe([...back][0]);
  });

  test('a k3s-style cluster uses its own CIDRs and VXLAN port', () => {
    const { sim: s, cap } = sim(
      twoNodeCluster('', '  clusterCIDR: 10.42.0.0/16\n  serviceCIDR: 10.43.0.0/16\n  cni: { port: 4789 }')
        .replace(/10\.244\.1\.0\/24/, '10.42.1.0/24')
        .replace(/10\.244\.2\.0\/24/, '10.42.2.0/24'),
    );
    const r = s.probe('client', 'pod/web-1', 'icmp');
    expect(r.dst).toBe('10.42.2.2');
    expect(r.attempts[0]!.ttl).toBe(62);
    const vx = cap
      .at('node1/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.vxlan);
    expect(vx.length).toBeGreaterThan(0);
    expect(vx.every((d) => layer(d.udp).dport === 4789)).toBe(true);
  });
});

describe('the cni0 bridge', () => {
  test('same-node pod traffic is bridged port to port: never seen by cni0, TTL untouched, pod MACs end to end', () => {
    const { sim: s, cap } = sim(twoNodeCluster());
    s.probe('client', 'pod/web-0', 'icmp');
    expect(cap.at('node1/cni0').filter((f) => cap.dissect(f).icmp)).toHaveLength(0);
    const atWeb = cap
      .at('pod:web-0/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.icmp);
    expect(atWeb.map((d) => `${layer(d.eth).src}>${layer(d.eth).dst} ttl ${layer(d.ip).ttl}`)).toEqual([
      '0a:58:0a:f4:01:03>0a:58:0a:f4:01:02 ttl 64',
      '0a:58:0a:f4:01:02>0a:58:0a:f4:01:03 ttl 64',
    ]);
  });

  test('learned FDB entries age out after 300 s, after which unicast frames are flooded again', () => {
    const { sim: s, cap, hops } = sim(twoNodeCluster());
    s.probe('client', 'pod/web-0', 'icmp');
    const cni0 = s.network.nodes.get('node1')!.cni0;
    const learned = cni0
      .fdbEntries()
      .filter((e) => !e.local)
      .map((e) => e.port!.dev.name)
      .sort();
    expect(learned).toHaveLength(2);
    // 299 s later the entries still hold: no flooding of the echo request
    s.advance(299e9);
    hops.events.length = 0;
    s.probe('client', 'pod/web-0', 'icmp');
    expect(hops.events.filter((e) => e.kind === 'bridge' && e.text.startsWith('unknown unicast'))).toHaveLength(0);
    // more than 300 s without traffic (the ARP probes that follow the ping refresh them for a few seconds)
    s.advance(310e9);
    expect(cni0.fdbEntries().filter((e) => !e.local)).toHaveLength(0);
    hops.events.length = 0;
    const before = cap.frames.length;
    s.probe('client', 'pod/web-0', 'icmp');
    expect(hops.events.some((e) => e.kind === 'fdb' && e.text.includes('aged out'))).toBe(true);
    // the echo request was flooded: it also went out of the client's own port (hairpin) and was seen at web-0
    const req = cap.frames
      .slice(before)
      .filter((f) => f.dir === 'out' && f.point.startsWith('node1/veth') && cap.dissect(f).icmp);
    expect(req.length).toBeGreaterThanOrEqual(2);
  });
});
