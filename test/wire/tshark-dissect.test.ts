import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arpReply, arpRequest, echoRequest, icmpFrame, linuxSyn, tcpFrame, udpFrame, vxlanFrame } from './frames.js';

const haveTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
const requireTools = process.env['PODNET_REQUIRE_TOOLS'] === '1';

/** A classic libpcap file (magic 0xa1b2c3d4, little-endian, linktype 1 = Ethernet), one record per frame. */
function pcap(frames: readonly Uint8Array[]): Uint8Array {
  const size = 24 + frames.reduce((n, f) => n + 16 + f.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setInt32(8, 0, true);
  dv.setUint32(12, 0, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 1, true);
  let off = 24;
  frames.forEach((f, i) => {
    dv.setUint32(off, 1_700_000_000 + i, true);
    dv.setUint32(off + 4, 0, true);
    dv.setUint32(off + 8, f.length, true);
    dv.setUint32(off + 12, f.length, true);
    out.set(f, off + 16);
    off += 16 + f.length;
  });
  return out;
}

const pods = { src: '10.244.1.3', dst: '10.244.2.2' };
const nodes = { src: '172.18.0.2', dst: '172.18.0.3' };

function frames(): Uint8Array[] {
  const big = echoRequest({ src: '10.244.2.2', dst: '10.244.1.3' }, 1, 1, 1472);
  return [
    arpRequest('10.244.1.3', '10.244.1.1'),
    arpReply('10.244.1.1', '10.244.1.3'),
    echoRequest(pods),
    udpFrame(pods, 40001, 40002, new TextEncoder().encode('hello podnet')),
    linuxSyn({ src: '10.244.1.3', dst: '10.96.0.100' }),
    tcpFrame(
      { src: '10.96.0.100', dst: '10.244.1.3' },
      {
        srcPort: 80,
        dstPort: 40001,
        seq: 999,
        ack: 12346,
        flags: 0x12,
        window: 65160,
        urgent: 0,
        options: [{ kind: 'mss', value: 1410 }, { kind: 'nop' }, { kind: 'wscale', shift: 7 }],
      },
    ),
    icmpFrame(
      { src: '10.244.2.1', dst: '10.244.2.2' },
      { kind: 'dest-unreachable', code: 4, nextHopMtu: 1450, quote: big.slice(14, 14 + 28) },
    ),
    vxlanFrame(nodes, echoRequest(pods)),
  ];
}

const title =
  haveTshark || requireTools
    ? 'tshark agrees with our encoder'
    : 'tshark agrees with our encoder — skipped: tshark is not installed (PODNET_REQUIRE_TOOLS=1 makes this fail)';

describe.skipIf(!haveTshark && !requireTools)(title, () => {
  it('decodes emitted ARP, ICMP, UDP, TCP and VXLAN frames with good checksums and no malformed or error expert info', () => {
    expect(haveTshark, 'PODNET_REQUIRE_TOOLS=1 but tshark is not on PATH').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'podnet-wire-'));
    try {
      const file = join(dir, 'frames.pcap');
      const fs = frames();
      writeFileSync(file, pcap(fs));
      const fields = [
        'frame.number',
        'frame.protocols',
        '_ws.expert.message',
        '_ws.expert.severity',
        '_ws.malformed',
        'ip.checksum.status',
        'icmp.checksum.status',
        'udp.checksum.status',
        'tcp.checksum.status',
        'vxlan.vni',
      ];
      const out = execFileSync(
        'tshark',
        [
          '-r',
          file,
          '-o',
          'ip.check_checksum:TRUE',
          '-o',
          'udp.check_checksum:TRUE',
          '-o',
          'tcp.check_checksum:TRUE',
          '-d',
          'udp.port==8472,vxlan',
          '-T',
          'fields',
          '-E',
          'separator=\t',
          '-E',
          'occurrence=a',
          '-E',
          'aggregator=;',
          ...fields.flatMap((f) => ['-e', f]),
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const rows = out
        .trimEnd()
        .split('\n')
        .map((line) => Object.fromEntries(line.split('\t').map((v, i) => [fields[i], v])) as Record<string, string>);
      expect(rows).toHaveLength(fs.length);
      const ERROR_SEVERITY = 0x80_0000; // PI_ERROR in Wireshark's expert levels
      const WARN_SEVERITY = 0x60_0000;
      for (const r of rows) {
        const ctx = JSON.stringify(r);
        expect(r['_ws.malformed'], ctx).toBe('');
        expect(r['_ws.expert.message'] ?? '', ctx).not.toMatch(/malformed|bad checksum|incorrect|invalid|bogus/i);
        const severities = (r['_ws.expert.severity'] ?? '').split(';').filter(Boolean).map(Number);
        expect(
          severities.filter((s) => s >= WARN_SEVERITY),
          ctx,
        ).toEqual([]);
        expect(
          severities.every((s) => s < ERROR_SEVERITY),
          ctx,
        ).toBe(true);
        // Status 1 = good, 0 = bad, 2 = unverified. Nested headers (VXLAN inner frame, the packet an
        // ICMP error quotes) add values; a truncated quote is legitimately unverified, never bad.
        for (const f of ['ip.checksum.status', 'icmp.checksum.status', 'udp.checksum.status', 'tcp.checksum.status']) {
          const statuses = (r[f] ?? '').split(';').filter(Boolean);
          if (statuses.length === 0) continue;
          expect(statuses[0], `${f} ${ctx}`).toBe('1');
          expect(statuses, `${f} ${ctx}`).not.toContain('0');
        }
      }
      const protos = rows.map((r) => r['frame.protocols']);
      expect(protos[0]).toMatch(/:arp$/);
      expect(protos[2]).toMatch(/:ip:icmp/);
      expect(protos[3]).toMatch(/:ip:udp/);
      expect(protos[4]).toMatch(/:ip:tcp$/);
      expect(protos[7]).toMatch(/:ip:udp:vxlan:eth:ethertype:ip:icmp/);
      expect(rows[7]!['vxlan.vni']).toBe('1');
      expect(rows[7]!['udp.checksum.status']).toBe('1');
      expect(rows[2]!['icmp.checksum.status']).toBe('1');
      expect(rows[4]!['tcp.checksum.status']).toBe('1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
