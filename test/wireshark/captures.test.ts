/**
 * The Wireshark suite: every capture podnet writes for the example topologies opens in tshark
 * with no malformed packets and no checksum errors, VXLAN decodes with VNI 1 and the inner
 * frame, and interfaces carry their `node/iface` names and packets their comments.
 */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDefaultTopology, loadTopologyPath } from '../../src/kube/load/index.js';
import type { ClusterModel } from '../../src/kube/model.js';
import { Simulation } from '../../src/api/simulation.js';
import { CaptureFiles } from '../../src/trace/capture-sink.js';
import { missingTools } from '../tools.js';

const skip = missingTools('tshark', 'capinfos');
if (skip) console.log(`wireshark suite skipped: ${skip}`);

function tshark(args: string[]): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`tshark ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

// TCP sequence analysis is off: one pcapng holds every capture point, so each segment appears
// several times (and NATed along the way), which tshark's per-stream analysis would read as
// retransmissions or reordering. Malformed packets and checksums are what this suite checks.
// The same holds for DNS: a query seen at every hop is flagged as a "retransmission", so those are let through.
const CHECKS = [
  '-o',
  'ip.check_checksum:TRUE',
  '-o',
  'udp.check_checksum:TRUE',
  '-o',
  'tcp.check_checksum:TRUE',
  '-o',
  'tcp.analyze_sequence_numbers:FALSE',
];

function topologies(): Array<[string, ClusterModel]> {
  const out: Array<[string, ClusterModel]> = [['<built-in default>', loadDefaultTopology().model!]];
  for (const f of readdirSync('topologies')
    .filter((x) => /\.ya?ml$/.test(x))
    .sort()) {
    const r = loadTopologyPath(join('topologies', f));
    if (r.model === undefined) throw new Error(`topologies/${f} does not load`);
    out.push([f, r.model]);
  }
  return out;
}

describe.skipIf(skip !== undefined)('captures open cleanly in tshark', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-ws-'));
  const files: Array<{ topology: string; file: string; vxlanPort: number; model: ClusterModel }> = [];
  // Every topology is checked as one pcapng; classic pcap (one file per capture point) carries the
  // same frames, so two topologies — one same-node, one cross-node with Services — cover its writer.
  const classicPcap = new Set(['<built-in default>', 'services.yaml']);
  for (const [name, model] of topologies()) {
    for (const format of classicPcap.has(name) ? (['pcapng', 'pcap'] as const) : (['pcapng'] as const)) {
      const cap = new CaptureFiles(
        dir,
        `${name.replace(/[^a-z0-9-]/gi, '_')}.${format}`,
        format === 'pcap' ? 'point' : 'single',
      );
      const sim = new Simulation(model, { seed: 7, captureSinks: [cap] });
      sim.runScenario();
      for (const f of cap.commit()) files.push({ topology: name, file: f, vxlanPort: model.cni.port, model });
    }
  }

  test('the example topologies produced capture files', () => {
    expect(files.length).toBeGreaterThan(8);
  });

  test.each(files.map((f) => [f.file.slice(dir.length + 1), f] as const))(
    '%s: no malformed packets, no checksum or other expert errors',
    (_n, f) => {
      const flagged = tshark([
        '-r',
        f.file,
        ...CHECKS,
        '-d',
        `udp.port==${f.vxlanPort},vxlan`,
        '-Y',
        '_ws.malformed || (_ws.expert.severity >= "Warning" && !dns.retransmission)',
        '-T',
        'fields',
        '-e',
        'frame.number',
        '-e',
        '_ws.expert.message',
      ]);
      expect(flagged.trim()).toBe('');
      // every checksum tshark can verify was verified good
      const statuses = tshark([
        '-r',
        f.file,
        ...CHECKS,
        '-d',
        `udp.port==${f.vxlanPort},vxlan`,
        '-T',
        'fields',
        '-E',
        'occurrence=a',
        '-e',
        'ip.checksum.status',
        '-e',
        'udp.checksum.status',
        '-e',
        'tcp.checksum.status',
        '-e',
        'icmp.checksum.status',
      ]);
      const values = statuses.split(/[\s,]+/).filter((x) => x !== '');
      expect(values.filter((v) => v !== '1' && v !== '2')).toEqual([]);
    },
  );

  test.each(files.filter((f) => f.file.endsWith('.pcapng')).map((f) => [f.topology, f] as const))(
    '%s: interfaces are named node/iface and packets carry comments',
    (_n, f) => {
      const lines = tshark([
        '-r',
        f.file,
        '-T',
        'fields',
        '-E',
        'separator=|',
        '-e',
        'frame.interface_name',
        '-e',
        'frame.comment',
      ])
        .trim()
        .split('\n');
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) {
        const [iface, comment] = l.split('|');
        expect(iface).toMatch(/^(node\d*|[a-z0-9-]+|pod:[\w./-]+|ext:[\w-]+|gw)\/[\w.-]+$/);
        expect(comment ?? '').toMatch(/^(sent|received) by /);
      }
    },
  );

  let vxlanFrames = 0;
  test.each(
    files
      .filter((f) => f.file.endsWith('.pcapng') && f.model.cni.backend === 'vxlan')
      .map((f) => [f.topology, f] as const),
  )('%s: every VXLAN frame decodes with the VNI and an inner Ethernet/IPv4 frame', (_n, f) => {
    const out = tshark([
      '-r',
      f.file,
      '-d',
      `udp.port==${f.vxlanPort},vxlan`,
      '-Y',
      'vxlan',
      '-T',
      'fields',
      '-E',
      'occurrence=a',
      '-e',
      'vxlan.vni',
      '-e',
      'eth.type',
      '-e',
      'ip.src',
    ]).trim();
    // every frame to the VXLAN port must have been decoded as VXLAN
    const toPort = tshark([
      '-r',
      f.file,
      '-Y',
      `udp.dstport==${f.vxlanPort}`,
      '-T',
      'fields',
      '-e',
      'frame.number',
    ]).trim();
    expect(out.split('\n').filter(Boolean).length).toBe(toPort.split('\n').filter(Boolean).length);
    if (out === '') return;
    vxlanFrames += out.split('\n').length;
    for (const l of out.split('\n')) {
      const [vni, ethTypes, srcs] = l.split('\t');
      expect(vni).toBe(String(f.model.cni.vni));
      expect(ethTypes!.split(',')).toHaveLength(2); // outer and inner Ethernet
      expect(srcs!.split(',')).toHaveLength(2); // outer and inner IPv4
    }
  });

  test('the cross-node topologies did put VXLAN frames in their captures', () => {
    expect(vxlanFrames).toBeGreaterThan(20);
  });

  test('capinfos reads nanosecond timestamps and the files were written atomically (no temp files left)', () => {
    const left = readdirSync(dir).filter((x) => x.startsWith('.'));
    expect(left).toEqual([]);
    const info = spawnSync('capinfos', ['-M', files[0]!.file], { encoding: 'utf8' }).stdout;
    expect(info).toMatch(/nanoseconds/);
    rmSync(dir, { recursive: true, force: true });
  });
});
