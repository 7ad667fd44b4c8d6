import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { AtomicFileSink } from '../../src/trace/byte-sink.js';
import { PcapngWriter, PcapWriter } from '../../src/trace/pcapng.js';
import { readCapture } from '../../src/trace/pcap-read.js';
import { icmpEchoFrame, toolAvailable } from './capture-helpers.js';

const requireTools = process.env['PODNET_REQUIRE_TOOLS'] === '1';
const haveTshark = toolAvailable('tshark');
const haveCapinfos = toolAvailable('capinfos', ['-h']);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podnet-tshark-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function needTool(ok: boolean, name: string, skip: (note?: string) => void): void {
  if (ok) return;
  if (requireTools) throw new Error(`${name} is required (PODNET_REQUIRE_TOOLS=1) but was not found on PATH`);
  skip(`${name} not found on PATH`);
}

interface RunResult {
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  // tshark warns about running as root; that is about this machine, not the file.
  const stderr = r.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/Running as user "root"/.test(l))
    .join('\n');
  expect({ cmd, status: r.status, stderr }).toEqual({ cmd, status: 0, stderr: '' });
  return { stdout: r.stdout, stderr };
}

/** frame.comment in Wireshark ≥ 3.6, pkt_comment before; asked of the installed tshark. */
function commentField(): string {
  const fields = spawnSync('tshark', ['-G', 'fields'], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 }).stdout;
  return /^F\t[^\t]*\tframe\.comment\t/m.test(fields) ? 'frame.comment' : 'pkt_comment';
}

const MAC_A = [0x02, 0x42, 0x0a, 0xf4, 0x01, 0x02];
const MAC_B = [0x02, 0x42, 0x0a, 0xf4, 0x02, 0x03];

function frames(): Uint8Array[] {
  const payload = Uint8Array.from({ length: 56 }, (_, i) => i);
  return [
    icmpEchoFrame({
      srcMac: MAC_A,
      dstMac: MAC_B,
      srcIp: [10, 244, 1, 2],
      dstIp: [10, 244, 2, 3],
      type: 8,
      id: 0x1234,
      seq: 1,
      payload,
      ipId: 1,
    }),
    icmpEchoFrame({
      srcMac: MAC_B,
      dstMac: MAC_A,
      srcIp: [10, 244, 2, 3],
      dstIp: [10, 244, 1, 2],
      type: 0,
      id: 0x1234,
      seq: 1,
      payload,
      ipId: 2,
    }),
    icmpEchoFrame({
      srcMac: MAC_A,
      dstMac: MAC_B,
      srcIp: [10, 244, 1, 2],
      dstIp: [10, 244, 2, 3],
      type: 8,
      id: 0x1234,
      seq: 2,
      payload: payload.subarray(0, 7),
      ipId: 3,
    }),
  ];
}

// Above 2^32 ns, and one with every nanosecond digit significant.
const TIMESTAMPS = [4_294_967_297n, 5_000_000_123n, 1_700_000_000_123_456_789n];
const EPOCHS = ['4.294967297', '5.000000123', '1700000000.123456789'];

describe('tshark reads what podnet writes', () => {
  it('pcapng: interface names, comments, ns timestamps and checksums survive', ({ skip }) => {
    needTool(haveTshark, 'tshark', skip);
    const sink = AtomicFileSink.open(dir, 'two-ifaces.pcapng');
    const w = new PcapngWriter(sink, { application: 'podnet test', os: 'virtual' });
    const cni = w.addInterface({ name: 'node1/cni0', description: 'cni0 bridge on node1' });
    const pod = w.addInterface({ name: 'pod:client/eth0' });
    const [req, rep, req2] = frames();
    w.writePacket(pod, TIMESTAMPS[0]!, req!, { comment: 'client → server: echo request', direction: 'out' });
    w.writePacket(cni, TIMESTAMPS[1]!, rep!, { comment: 'hop 2: bridge forward', direction: 'in' });
    w.writePacket(pod, TIMESTAMPS[2]!, req2!, { comment: 'ünïcødé comment' });
    const file = sink.commit();

    const comment = commentField();
    const out = run('tshark', [
      '-r',
      file,
      '-T',
      'fields',
      '-E',
      'separator=|',
      '-e',
      'frame.interface_name',
      '-e',
      comment,
      '-e',
      'frame.time_epoch',
      '-e',
      'ip.checksum.status',
      '-e',
      'icmp.checksum.status',
      '-e',
      'frame.packet_flags_direction',
      '-o',
      'ip.check_checksum:TRUE',
    ]).stdout;
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split('|'));
    // Checksum status 1 = "Good"; direction 0x1 inbound, 0x2 outbound, 0x0 unknown.
    expect(rows.map((r) => r.slice(0, 5))).toEqual([
      ['pod:client/eth0', 'client → server: echo request', EPOCHS[0], '1', '1'],
      ['node1/cni0', 'hop 2: bridge forward', EPOCHS[1], '1', '1'],
      ['pod:client/eth0', 'ünïcødé comment', EPOCHS[2], '1', '1'],
    ]);
    expect(rows.map((r) => Number(r[5]))).toEqual([2, 1, 0]);

    // Wireshark's expert system lists malformed packets, bad checksums and length mismatches as errors or warnings.
    const expert = run('tshark', ['-r', file, '-q', '-z', 'expert', '-o', 'ip.check_checksum:TRUE']).stdout;
    expect(expert).not.toMatch(/^(Errors|Warnings) \(/m);
    expect(expert).toMatch(/^Comments \(3\)/m);

    // And our own reader agrees with what we wrote.
    const cap = readCapture(new Uint8Array(fs.readFileSync(file)));
    expect(cap.packets.map((p) => p.timestampNs)).toEqual(TIMESTAMPS);
  });

  it('pcapng: capinfos reports no errors and counts every packet', ({ skip }) => {
    needTool(haveCapinfos, 'capinfos', skip);
    const sink = AtomicFileSink.open(dir, 'capinfos.pcapng');
    const w = new PcapngWriter(sink);
    const a = w.addInterface({ name: 'node1/cni0' });
    const f = frames();
    for (let i = 0; i < 30; i++) {
      if (i === 10) w.addInterface({ name: 'pod:client/eth0' });
      w.writePacket(i >= 10 && i % 2 === 0 ? 1 : a, 1n << 33n, f[i % 3]!, { comment: `packet ${i}` });
    }
    const info = run('capinfos', ['-M', sink.commit()]).stdout;
    expect(info).toMatch(/File type:\s+(Wireshark\/\.\.\. - )?pcapng/);
    expect(info).toMatch(/Number of packets:\s+30\b/);
    expect(info).toMatch(/Number of interfaces in file: 2/);
  });

  it('classic nanosecond pcap: timestamps and checksums survive', ({ skip }) => {
    needTool(haveTshark, 'tshark', skip);
    const sink = AtomicFileSink.open(dir, 'classic.pcap');
    const w = new PcapWriter(sink);
    for (const [i, f] of frames().entries()) w.writePacket(TIMESTAMPS[i]!, f);
    const file = sink.commit();
    const out = run('tshark', [
      '-r',
      file,
      '-T',
      'fields',
      '-E',
      'separator=|',
      '-e',
      'frame.time_epoch',
      '-e',
      'ip.checksum.status',
      '-e',
      'icmp.checksum.status',
      '-e',
      'frame.len',
      '-o',
      'ip.check_checksum:TRUE',
    ]).stdout;
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split('|'));
    expect(rows).toEqual(frames().map((f, i) => [EPOCHS[i], '1', '1', String(f.length)]));
    const expert = run('tshark', ['-r', file, '-q', '-z', 'expert', '-o', 'ip.check_checksum:TRUE']).stdout;
    expect(expert).not.toMatch(/^(Errors|Warnings) \(/m);
    if (haveCapinfos) {
      const info = run('capinfos', ['-M', file]).stdout;
      expect(info).toMatch(/nanoseconds \(9\)/);
      expect(info).toMatch(/Number of packets:\s+3\b/);
    }
  });
});
