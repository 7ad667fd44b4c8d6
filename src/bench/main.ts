/**
 * `npm run bench`: podnet's speed and scale figures next to their targets (issue 7). Run it on
 * a quiet machine: figures are wall-clock, single process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, closeSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bareEventLoop } from './baseline.js';
import { crossNodeClusterIp } from './workload.js';
import { Simulation } from '../simulation.js';
import { CaptureFiles } from '../trace/capture-sink.js';
import { TextHopSink } from '../trace/format.js';
import type { ProbeModel } from '../kube/model.js';

interface Figure {
  name: string;
  value: string;
  target: string;
  ok: boolean | undefined;
}

const figures: Figure[] = [];

function report(name: string, value: string, target: string, ok: boolean | undefined): void {
  figures.push({ name, value, target, ok });
  process.stdout.write(`${ok === undefined ? '  ' : ok ? 'ok' : '--'}  ${name.padEnd(58)} ${value.padStart(16)}   target ${target}\n`);
}

function hopsOf(sim: Simulation): number {
  let n = 0;
  for (const ns of sim.network.world.namespaces.values()) for (const d of ns.devices) n += d.txPackets;
  return n;
}

function tcpProbe(count: number): ProbeModel {
  return {
    name: 'bench',
    from: 'pod/default/client',
    to: '10.96.0.100:80',
    protocol: 'tcp',
    port: 80,
    sourcePort: undefined,
    count,
    size: 0,
    pmtudisc: 'want',
    // a new connection every 20 µs of virtual time: several in flight at once, as a busy client
    interval: 20_000,
    start: 0,
    timeout: 2e9,
    source: undefined,
  };
}

interface WorkloadRun {
  seconds: number;
  connections: number;
  hops: number;
  bytes?: number;
}

function runWorkload(connections: number, sinks: { capture?: CaptureFiles; text?: TextHopSink } = {}): WorkloadRun {
  const model = crossNodeClusterIp();
  const sim = new Simulation(model, { seed: 1, ...(sinks.capture ? { captureSinks: [sinks.capture] } : {}), ...(sinks.text ? { hopSinks: [sinks.text] } : {}) });
  // warm-up: JIT, ARP, FDB
  sim.runProbes([tcpProbe(300)]);
  const h0 = hopsOf(sim);
  const t0 = process.hrtime.bigint();
  const [r] = sim.runProbes([tcpProbe(connections)]);
  const t1 = process.hrtime.bigint();
  if (r!.replies !== connections) throw new Error(`bench workload: ${r!.replies}/${connections} connections answered`);
  return { seconds: Number(t1 - t0) / 1e9, connections, hops: hopsOf(sim) - h0 };
}

function main(): void {
  const quick = process.argv.includes('--quick');
  const conns = quick ? 5_000 : 30_000;
  process.stdout.write(`podnet bench (node ${process.version}, ${quick ? 'quick' : 'full'} run)\n\n`);

  // 1. hop throughput and its ratio to a bare event loop
  const bare = bareEventLoop(quick ? 2_000_000 : 10_000_000);
  const w = runWorkload(conns);
  const hps = w.hops / w.seconds;
  report('bare binary-heap event loop (98-byte buffer per hop)', `${(bare.hopsPerSec / 1e6).toFixed(2)} M hops/s`, '(reference)', undefined);
  report('1. packet-hops/s, cross-node ClusterIP TCP, trace+pcap off', `${(hps / 1e6).toFixed(3)} M hops/s`, '≥ 1.000 M hops/s', hps >= 1e6);
  report('1. ratio to the bare event loop', (hps / bare.hopsPerSec).toFixed(3), '≥ 0.30', hps / bare.hopsPerSec >= 0.3);
  // 2. connections per second
  const cps = w.connections / w.seconds;
  report('2. TCP connections completed per second', `${cps.toFixed(0)} /s`, '≥ 15000 /s (kernel ~5000 /s)', cps >= 15000);

  // 3. with pcapng capture of every interface, and with a text trace to /dev/null
  const dir = mkdtempSync(join(tmpdir(), 'podnet-bench-'));
  try {
    const cap = new CaptureFiles(dir, 'bench.pcapng', 'single');
    const wc = runWorkload(conns, { capture: cap });
    const files = cap.commit();
    const size = files.map((f) => Number(spawnSync('stat', ['-c', '%s', f], { encoding: 'utf8' }).stdout)).reduce((a, b) => a + b, 0);
    const mbps = size / 1e6 / wc.seconds;
    report('3. pcapng written with capture on', `${mbps.toFixed(0)} MB/s`, '≥ 200 MB/s', mbps >= 200);
    report('3. slowdown with capture on', `${(wc.seconds / w.seconds).toFixed(2)}×`, '≤ 2×', wc.seconds / w.seconds <= 2);
    const fd = openSync('/dev/null', 'w');
    const text = new TextHopSink((line) => writeSync(fd, line + '\n'));
    const wt = runWorkload(quick ? 1_000 : 5_000, { text });
    closeSync(fd);
    const slow = wt.seconds / wt.connections / (w.seconds / w.connections);
    report('3. slowdown with a text trace to /dev/null', `${slow.toFixed(2)}×`, '≤ 3×', slow <= 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const failed = figures.filter((f) => f.ok === false).length;
  process.stdout.write(`\n${figures.filter((f) => f.ok === true).length} targets met, ${failed} not met\n`);
}

main();
