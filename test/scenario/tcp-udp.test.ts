import { describe, expect, test } from 'vitest';
import { layer, sim, twoNodeCluster } from '../helpers.js';

describe('TCP and UDP exchanges look like the kernel oracle captured them (docs/kernel-findings.md §tcp, §k)', () => {
  test('a TCP probe is 8 packets: S, S., ., P. banner, ., F. (server first), F., .', () => {
    const { sim: s, cap } = sim(twoNodeCluster());
    const r = s.probe('client', 'pod/web-1:8080', 'tcp');
    expect(r.replies).toBe(1);
    const sport = r.attempts[0]!.sourcePort!;
    expect(r.attempts[0]!.serverSaw).toBe(`10.244.1.3:${sport}`);
    const segs = cap
      .at('pod:client/eth0')
      .map((f) => ({ f, d: cap.dissect(f) }))
      .filter(({ d }) => d.tcp);
    const banner = `web-1 10.244.1.3 ${sport}\n`.length;
    expect(segs.map(({ f, d }) => `${f.dir} ${layer(d.tcp).flags} ${layer(d.tcp).len}`)).toEqual([
      'out S 0',
      'in S. 0',
      'out . 0',
      `in P. ${banner}`,
      'out . 0',
      'in F. 0',
      'out F. 0',
      'in . 0',
    ]);
    const tcp = segs.map(({ d }) => layer(d.tcp));
    const ip = segs.map(({ d }) => layer(d.ip));
    // SYN and SYN-ACK options in Linux's order; later segments carry NOP NOP TS
    expect(tcp[0]!.options.map((o) => o.split(' ')[0])).toEqual(['mss', 'sackOK', 'TS', 'nop', 'wscale']);
    expect(tcp[0]!.options).toContain('mss 1410');
    expect(tcp[0]!.options).toContain('wscale 10');
    expect(tcp[1]!.options.map((o) => o.split(' ')[0])).toEqual(['mss', 'sackOK', 'TS', 'nop', 'wscale']);
    expect(tcp[2]!.options.map((o) => o.split(' ')[0])).toEqual(['nop', 'nop', 'TS']);
    // windows: SYN 46×1410, SYN-ACK 46×1398, then scaled by 1024
    expect(tcp.map((t) => t.window)).toEqual([64860, 64308, 64, 63, 64, 63, 64, 63]);
    // DF on every segment; client IP IDs count up by one from a random start; the SYN-ACK has ID 0
    expect(ip.every((x) => x.df)).toBe(true);
    const cli = ip.filter((_, i) => segs[i]!.f.dir === 'out').map((x) => x.id);
    expect(cli.slice(1).map((id, i) => (id - cli[i]! + 0x10000) % 0x10000)).toEqual([1, 1, 1]);
    const srv = ip.filter((_, i) => segs[i]!.f.dir === 'in').map((x) => x.id);
    expect(srv[0]).toBe(0);
    expect(srv.slice(2).map((id, i) => (id - srv[i + 1]! + 0x10000) % 0x10000)).toEqual([1, 1]);
    // Linux prefers even ephemeral ports for connect()
    expect(sport % 2).toBe(0);
    expect(sport).toBeGreaterThanOrEqual(32768);
    expect(sport).toBeLessThanOrEqual(60999);
  });

  test('a connection to a port nobody listens on is refused with a RST', () => {
    const { sim: s, cap } = sim(twoNodeCluster());
    const r = s.probe('client', 'pod/web-1:9999', 'tcp');
    expect(r.attempts[0]!.error).toBe('Connection refused');
    const rst = cap
      .at('pod:client/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.tcp && layer(d.tcp).flags.startsWith('R'));
    expect(rst).toHaveLength(1);
    expect(layer(rst[0]!.ip).id).toBe(0);
  });

  test('a UDP datagram to a closed port draws ICMP port unreachable', () => {
    const { sim: s } = sim(twoNodeCluster());
    const r = s.probe('client', 'pod/web-1:9999', 'udp');
    expect(r.attempts[0]!.error).toBe('From 10.244.2.2: Destination Port Unreachable');
  });

  test('UDP from a pinned source port: DF set both ways, 48- and 65-byte frames, the server sees the pod IP', () => {
    const { sim: s, cap } = sim(twoNodeCluster());
    const r = s.probe('client', 'pod/web-0:5353', 'udp', { sourcePort: 40001 });
    expect(r.attempts[0]!.serverSaw).toBe('10.244.1.3:40001');
    const udp = cap
      .at('pod:client/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.udp);
    expect(udp.map((d) => d.len)).toEqual([48, 65]);
    expect(udp.every((d) => layer(d.ip).df && layer(d.udp).checksumOk)).toBe(true);
  });

  test('containers of one pod reach each other on 127.0.0.1', () => {
    const { sim: s } = sim(twoNodeCluster());
    const r = s.probe('web-0', '127.0.0.1:8080', 'tcp');
    expect(r.replies).toBe(1);
    expect(r.attempts[0]!.answeredBy).toBe('web-0');
    expect(r.attempts[0]!.serverSaw).toMatch(/^127\.0\.0\.1:/);
  });
});
