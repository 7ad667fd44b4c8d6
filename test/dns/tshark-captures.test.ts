/**
 * The captures of topologies/dns.yaml in tshark: every DNS packet decodes (UDP and TCP, with VXLAN inside), none
 * malformed, the same names and answers podnet saw.
 */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTopologyPath } from '../../src/kube/load/index.js';
import { Simulation } from '../../src/api/simulation.js';
import { CaptureFiles } from '../../src/trace/capture-sink.js';
import { MemoryCapture } from '../../src/trace/memory-capture.js';
import { missingTools } from '../tools.js';

const skip = missingTools('tshark');
if (skip) console.log(`dns capture suite skipped: ${skip}`);

function tshark(args: string[]): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`tshark ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

describe.skipIf(skip !== undefined)('DNS in the captures of topologies/dns.yaml', () => {
  test('tshark decodes every DNS packet podnet decodes, with the same question, status and answers, and none is malformed', () => {
    const model = loadTopologyPath(join('topologies', 'dns.yaml')).model!;
    const dir = mkdtempSync(join(tmpdir(), 'podnet-dns-ws-'));
    try {
      const files = new CaptureFiles(dir, 'dns.pcapng', 'single');
      const mem = new MemoryCapture();
      const sim = new Simulation(model, { seed: 3, captureSinks: [files, mem] });
      const reports = sim.runScenario();
      expect(reports.every((r) => r.replies === 1)).toBe(true);
      const [file] = files.commit();
      const bad = tshark([
        '-r',
        file!,
        '-o',
        'tcp.analyze_sequence_numbers:FALSE',
        '-o',
        'udp.check_checksum:TRUE',
        '-d',
        'udp.port==8472,vxlan',
        '-Y',
        '_ws.malformed || (_ws.expert.severity >= "Warning" && !dns.retransmission)',
        '-T',
        'fields',
        '-e',
        'frame.number',
        '-e',
        '_ws.expert.message',
      ]);
      expect(bad.trim()).toBe('');
      // frame by frame: the innermost DNS message as tshark reads it, against podnet's own dissection
      const rows = tshark([
        '-r',
        file!,
        '-d',
        'udp.port==8472,vxlan',
        '-T',
        'fields',
        '-E',
        'occurrence=l',
        '-e',
        'dns.qry.name',
        '-e',
        'dns.flags.rcode',
        '-e',
        'dns.count.answers',
      ]).split('\n');
      const ours = mem.frames.map((f) => {
        let d = mem.dissect(f);
        while (d.inner !== undefined) d = d.inner;
        return d.dns;
      });
      expect(rows.length - 1).toBe(ours.length);
      let dnsFrames = 0;
      ours.forEach((m, i) => {
        const [qname, rcode, count] = rows[i]!.split('\t');
        if (m === undefined) return;
        dnsFrames++;
        expect(qname, `frame ${i + 1}`).toBe(m.questions[0]!.name.replace(/\.$/, ''));
        expect(Number(rcode), `frame ${i + 1}`).toBe(['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN'].indexOf(m.rcode));
        expect(Number(count), `frame ${i + 1}`).toBe(m.answers.length);
      });
      expect(dnsFrames).toBeGreaterThan(100);
      // the forwarded queries reach the gateway, masqueraded to a node address
      const atGw = tshark([
        '-r',
        file!,
        '-Y',
        'frame.interface_name == "gw/eth0" && dns.flags.response == 0',
        '-T',
        'fields',
        '-e',
        'ip.src',
        '-e',
        'dns.qry.name',
      ])
        .trim()
        .split('\n');
      expect(atGw.length).toBeGreaterThan(0);
      for (const l of atGw) expect(l).toMatch(/^172\.18\.0\.[23]\tmy\.database\.example\.com$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
