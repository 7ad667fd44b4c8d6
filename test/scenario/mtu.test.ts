import { describe, expect, test } from 'vitest';
import { layer, sim, twoNodeCluster } from '../helpers.js';

const ext = `---
apiVersion: podnet.dev/v1alpha1
kind: Scenario
metadata: { name: none }
spec: { probes: [] }`;

describe('MTU and path MTU as the kernel measured them (docs/kernel-findings.md §i)', () => {
  test('a DF ping of 1472 or 1423 bytes fails locally with mtu=1450 and nothing leaves the pod', () => {
    const { sim: s, cap } = sim(twoNodeCluster());
    for (const size of [1472, 1423]) {
      const r = s.probe('client', 'pod/web-1', 'icmp', { size, pmtudisc: 'do' });
      expect(r.localErrors).toBe(1);
      expect(r.sent).toBe(0);
      expect(r.attempts[0]!.error).toBe('local error: message too long, mtu=1450');
    }
    expect(cap.at('pod:client/eth0')).toHaveLength(0);
  });

  test('a DF ping of 1422 bytes fills the underlay: 1464-byte inner frame, 1514-byte VXLAN frame', () => {
    const { sim: s, cap } = sim(twoNodeCluster());
    const r = s.probe('client', 'pod/web-1', 'icmp', { size: 1422, pmtudisc: 'do' });
    expect(r.replies).toBe(1);
    expect(r.attempts[0]!.ttl).toBe(62);
    const pod = cap
      .at('pod:client/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.icmp);
    expect(pod.map((d) => d.len)).toEqual([1464, 1464]);
    const req = layer(pod[0]!.ip);
    expect(req.df).toBe(true);
    expect(req.id).toBe(0); // pmtudisc do: DF without ignore_df gives IP ID 0
    const underlay = cap
      .at('node1/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.vxlan);
    expect(underlay.map((d) => d.len)).toEqual([1514, 1514]);
    expect(underlay.every((d) => layer(d.ip).df === false)).toBe(true);
  });

  test('without DF the pod fragments 1472 bytes into 1444 + 76, first fragment first, same ID', () => {
    const { sim: s, cap } = sim(twoNodeCluster());
    const r = s.probe('client', 'pod/web-1', 'icmp', { size: 1472, pmtudisc: 'dont' });
    expect(r.replies).toBe(1);
    const out = cap
      .at('pod:client/eth0')
      .filter((f) => f.dir === 'out' && cap.dissect(f).ip)
      .map((f) => layer(cap.dissect(f).ip));
    expect(out.map((ip) => [ip.len, ip.mf, ip.fragOffset, ip.df])).toEqual([
      [1444, true, 0, false],
      [76, false, 1424, false],
    ]);
    expect(out[0]!.id).toBe(out[1]!.id);
    // each fragment crosses the underlay in its own VXLAN frame
    const vx = cap
      .at('node1/eth0')
      .filter((f) => f.dir === 'out')
      .map((f) => cap.dissect(f))
      .filter((d) => d.vxlan);
    expect(vx.map((d) => d.len)).toEqual([1508, 140]);
    // the reply comes back fragmented the same way and is reassembled by the client
    const back = cap
      .at('pod:client/eth0')
      .filter((f) => f.dir === 'in' && cap.dissect(f).ip)
      .map((f) => layer(cap.dissect(f).ip));
    expect(back.map((ip) => ip.len)).toEqual([1444, 76]);
  });

  test('a 1500-MTU host routed through a node gets frag-needed with next-hop MTU 1450, then fails locally', () => {
    const yaml = twoNodeCluster(ext).replace(
      '- { name: ext, ip: 172.18.0.100, mtu: 1500 }',
      '- { name: ext, ip: 172.18.0.100, mtu: 1500, routes: [{ to: 10.244.2.0/24, via: 172.18.0.2 }] }',
    );
    const { sim: s, cap } = sim(yaml);
    const r = s.probe('ext/ext', 'pod/web-1', 'icmp', { size: 1472, pmtudisc: 'do', count: 3, interval: 200e6 });
    expect(r.attempts[0]!.error).toBe('From 172.18.0.2: Frag needed and DF set (mtu = 1450)');
    expect(r.attempts.slice(1).map((a) => a.error)).toEqual([
      'local error: message too long, mtu=1450',
      'local error: message too long, mtu=1450',
    ]);
    const errs = cap
      .at('ext:ext/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.icmp && layer(d.icmp).type === 3);
    expect(errs).toHaveLength(1);
    const e = errs[0]!;
    expect(e.len).toBe(590);
    const ip = layer(e.ip);
    expect([ip.src, ip.len, ip.ttl, ip.df, ip.tos]).toEqual(['172.18.0.2', 576, 64, false, 0xc0]);
    const icmp = layer(e.icmp);
    expect([icmp.code, icmp.mtu]).toEqual([4, 1450]);
    // the quote is the original header as it arrived (TTL 64, before any decrement)
    const q = layer(icmp.quote);
    expect([q.src, q.dst]).toEqual(['172.18.0.100', '10.244.2.2']);
    // nothing from the second and third ping left ext
    expect(cap.at('ext:ext/eth0').filter((f) => f.dir === 'out' && cap.dissect(f).icmp)).toHaveLength(1);
  });

  test('the path MTU learned from frag-needed lets a 1422-byte DF ping through', () => {
    const yaml = twoNodeCluster(ext).replace(
      '- { name: ext, ip: 172.18.0.100, mtu: 1500 }',
      '- { name: ext, ip: 172.18.0.100, mtu: 1500, routes: [{ to: 10.244.2.0/24, via: 172.18.0.2 }] }',
    );
    const { sim: s } = sim(yaml);
    s.probe('ext/ext', 'pod/web-1', 'icmp', { size: 1472, pmtudisc: 'do' });
    const r = s.probe('ext/ext', 'pod/web-1', 'icmp', { size: 1422, pmtudisc: 'do' });
    expect(r.attempts[0]!.error).toBeUndefined();
    expect(r.replies).toBe(1);
  });
});
