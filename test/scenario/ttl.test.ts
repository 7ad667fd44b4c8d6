import { describe, expect, test } from 'vitest';
import { sim, twoNodeCluster } from '../helpers.js';
import { parseIpv4 } from '../../src/wire/addr.js';

describe('TTLs as the kernel measured them (docs/kernel-findings.md §a, §b; docs/datapath.md §6)', () => {
  test('same-node ping reply has TTL 64', () => {
    const { sim: s } = sim(twoNodeCluster());
    const r = s.probe('client', 'pod/web-0', 'icmp', { count: 3, interval: 200e6 });
    expect(r.replies).toBe(3);
    expect(r.attempts.map((a) => a.ttl)).toEqual([64, 64, 64]);
  });

  test('cross-node ping reply has TTL 62', () => {
    const { sim: s } = sim(twoNodeCluster());
    const r = s.probe('client', 'pod/web-1', 'icmp', { count: 3, interval: 200e6 });
    expect(r.replies).toBe(3);
    expect(r.attempts.map((a) => a.ttl)).toEqual([62, 62, 62]);
  });

  test('cross-node TCP and UDP replies arrive with TTL 62, same-node with 64', () => {
    const { sim: s } = sim(twoNodeCluster());
    expect(s.probe('client', 'pod/web-1:8080', 'tcp').attempts[0]!.ttl).toBe(62);
    expect(s.probe('client', 'pod/web-0:8080', 'tcp').attempts[0]!.ttl).toBe(64);
    expect(s.probe('client', 'pod/web-1:5353', 'udp').attempts[0]!.ttl).toBe(62);
    expect(s.probe('client', 'pod/web-0:5353', 'udp').attempts[0]!.ttl).toBe(64);
  });

  test('a pod pinging its gateway or its own node gets TTL 64, another node 63', () => {
    const { sim: s } = sim(twoNodeCluster());
    expect(s.probe('client', '10.244.1.1', 'icmp').attempts[0]!.ttl).toBe(64);
    expect(s.probe('client', 'node/node1', 'icmp').attempts[0]!.ttl).toBe(64);
    expect(s.probe('client', 'node/node2', 'icmp').attempts[0]!.ttl).toBe(63);
  });

  test('the SYN reaches a cross-node backend with TTL 62 and a same-node one with TTL 64', () => {
    const { sim: s, cap } = sim(twoNodeCluster());
    s.probe('client', 'pod/web-1:8080', 'tcp');
    s.probe('client', 'pod/web-0:8080', 'tcp');
    const synTtl = (point: string): number[] =>
      cap
        .at(point)
        .map((f) => cap.dissect(f))
        .filter((d) => d.tcp && !('malformed' in d.tcp) && d.tcp.flags === 'S')
        .map((d) => (d.ip as { ttl: number }).ttl);
    expect(synTtl('pod:web-1/eth0')).toEqual([62]);
    expect(synTtl('pod:web-0/eth0')).toEqual([64]);
  });

  test('a packet whose TTL runs out in a node gets ICMP time exceeded from that node', () => {
    const { sim: s } = sim(twoNodeCluster());
    const client = s.resolveFrom('client').ns;
    const sock = client.sockets.openPing(4242, 99);
    sock.ttl = 1;
    const errors: string[] = [];
    sock.onError = (_seq, e) => errors.push(e.message);
    expect(sock.sendEcho(parseIpv4('10.244.2.2')!, 1, new Uint8Array(56))).toBeUndefined();
    s.network.world.sched.run(1e9);
    expect(errors).toEqual(['From 10.244.1.1: Time to live exceeded']);
  });
});
