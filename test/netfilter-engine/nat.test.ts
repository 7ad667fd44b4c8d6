/** The netfilter engine on hand-written rules: DNAT per flow, un-NAT of replies, bridged DNAT, masquerade. */
import { describe, expect, test } from 'vitest';
import { layer, sim, twoNodeCluster } from '../helpers.js';
import { parseIptablesSave } from '../../src/netfilter/iptables-save.js';
import { Netfilter } from '../../src/netfilter/engine.js';
import { BrNetfilter } from '../../src/netfilter/bridge-nf.js';
import type { Simulation } from '../../src/api/simulation.js';

function install(s: Simulation, node: string, text: string): Netfilter {
  const r = parseIptablesSave(text, `${node}.rules`);
  if ('errors' in r) throw new Error(r.errors.map((e) => e.message).join('\n'));
  const n = s.network.nodes.get(node)!;
  const nf = new Netfilter(n.ns, r.ruleset);
  n.ns.stack.nf = nf;
  n.cni0.nf = new BrNetfilter(nf);
  return nf;
}

const VIP_TO = (backends: string[]): string => {
  const lines = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':SVC - [0:0]',
    '-A PREROUTING -d 10.96.0.100/32 -p tcp -m tcp --dport 80 -j SVC',
    '-A OUTPUT -d 10.96.0.100/32 -p tcp -m tcp --dport 80 -j SVC',
  ];
  backends.forEach((b, i) => {
    const left = backends.length - i;
    const prob = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(10)}` : '';
    lines.push(`-A SVC -p tcp${prob} -j DNAT --to-destination ${b}`);
  });
  lines.push('COMMIT', '');
  return lines.join('\n');
};

describe('netfilter NAT', () => {
  test('a ClusterIP connection is DNATed to a remote pod once per flow and the reply is un-DNATed', () => {
    const { sim: s, cap, hops } = sim(twoNodeCluster());
    install(s, 'node1', VIP_TO(['10.244.2.2:8080']));
    const r = s.probe('client', '10.96.0.100:80', 'tcp');
    expect(r.replies).toBe(1);
    expect(r.attempts[0]!.answeredBy).toBe('web-1');
    // the backend saw the client's own address (no SNAT for pod-to-service traffic)
    expect(r.attempts[0]!.serverSaw).toBe(`10.244.1.3:${r.attempts[0]!.sourcePort}`);
    expect(r.attempts[0]!.ttl).toBe(62);
    // at the client every reply comes from the VIP
    const back = cap
      .at('pod:client/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.tcp && d.ip && layer(d.ip).dst === '10.244.1.3');
    expect(back.length).toBe(4);
    expect(back.every((d) => layer(d.ip).src === '10.96.0.100' && layer(d.tcp).sport === 80)).toBe(true);
    // on node1's cni0 the SYN is already DNATed (captured after bridge PREROUTING)
    const syn = cap
      .at('node1/cni0')
      .map((f) => cap.dissect(f))
      .find((d) => d.tcp && layer(d.tcp).flags === 'S');
    expect(layer(syn!.ip).dst).toBe('10.244.2.2');
    expect(hops.events.some((e) => e.kind === 'nat' && e.text.startsWith('DNAT'))).toBe(true);
  });

  test('a same-node backend is reached by bridged DNAT: TTL 64, client MAC kept, only the destination MAC rewritten', () => {
    const { sim: s, cap } = sim(twoNodeCluster());
    install(s, 'node1', VIP_TO(['10.244.1.2:8080']));
    // warm the node's neighbour entry for web-0, as the oracle's earlier scenarios had
    s.probe('node/node1', 'pod/web-0', 'icmp', { count: 1 });
    const r = s.probe('client', '10.96.0.100:80', 'tcp');
    expect(r.attempts[0]!.answeredBy).toBe('web-0');
    expect(r.attempts[0]!.ttl).toBe(64);
    const synAtWeb = cap
      .at('pod:web-0/eth0')
      .map((f) => cap.dissect(f))
      .find((d) => d.tcp && layer(d.tcp).flags === 'S')!;
    expect([layer(synAtWeb.eth).src, layer(synAtWeb.eth).dst, layer(synAtWeb.ip).ttl, layer(synAtWeb.ip).dst]).toEqual([
      '0a:58:0a:f4:01:03',
      '0a:58:0a:f4:01:02',
      64,
      '10.244.1.2',
    ]);
    // nothing of the connection is seen on cni0: it was bridged port to port
    expect(cap.at('node1/cni0').filter((f) => cap.dissect(f).tcp)).toHaveLength(0);
    // replies reach the client from web-0's MAC, translated back to the VIP
    const synack = cap
      .at('pod:client/eth0')
      .map((f) => cap.dissect(f))
      .find((d) => d.tcp && layer(d.tcp).flags === 'S.')!;
    expect([layer(synack.eth).src, layer(synack.ip).src, layer(synack.ip).ttl]).toEqual([
      '0a:58:0a:f4:01:02',
      '10.96.0.100',
      64,
    ]);
  });

  test('bridged DNAT to a backend whose MAC the node does not know: cni0 ARPs first, the SYN shows once on cni0 with its MAC', () => {
    const { sim: s, cap } = sim(twoNodeCluster());
    install(s, 'node1', VIP_TO(['10.244.1.2:8080']));
    const r = s.probe('client', '10.96.0.100:80', 'tcp');
    expect(r.attempts[0]!.answeredBy).toBe('web-0');
    const cni0 = cap.at('node1/cni0').map((f) => cap.dissect(f));
    const arp = cni0.filter((d) => d.arp && layer(d.arp).op === 'request' && layer(d.arp).targetIp === '10.244.1.2');
    expect(arp.map((d) => layer(d.arp).senderIp)).toEqual(['10.244.1.1']);
    const syns = cni0.filter((d) => d.tcp);
    expect(syns.map((d) => `${layer(d.eth).src}>${layer(d.eth).dst} ${layer(d.tcp).flags}`)).toEqual([
      '0a:58:0a:f4:01:01>0a:58:0a:f4:01:02 S',
    ]);
    const synAtWeb = cap
      .at('pod:web-0/eth0')
      .map((f) => cap.dissect(f))
      .find((d) => d.tcp)!;
    expect(layer(synAtWeb.eth).src).toBe('0a:58:0a:f4:01:03');
  });

  test('load balancing is per flow: every packet of a connection keeps its backend', () => {
    const { sim: s } = sim(twoNodeCluster());
    install(s, 'node1', VIP_TO(['10.244.1.2:8080', '10.244.2.2:8080']));
    const r = s.probe('client', '10.96.0.100:80', 'tcp', { count: 40, interval: 10e6 });
    expect(r.replies).toBe(40);
    const by = new Map<string, number>();
    for (const a of r.attempts) by.set(a.answeredBy!, (by.get(a.answeredBy!) ?? 0) + 1);
    expect([...by.keys()].sort()).toEqual(['web-0', 'web-1']);
  });

  test('MASQUERADE takes the address of the egress interface (flannel.1 toward a remote pod)', () => {
    const { sim: s } = sim(twoNodeCluster());
    install(
      s,
      'node1',
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        '-A POSTROUTING -d 10.244.2.0/24 -j MASQUERADE --random-fully',
        'COMMIT',
        '',
      ].join('\n'),
    );
    const r = s.probe('client', 'pod/web-1:8080', 'tcp');
    expect(r.attempts[0]!.serverSaw).toMatch(/^10\.244\.1\.0:\d+$/);
  });
});
