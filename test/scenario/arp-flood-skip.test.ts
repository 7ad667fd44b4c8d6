/**
 * The underlay switch hands an ARP broadcast only to the namespaces it can change when nothing is
 * traced or captured (bridge.ts arpFloodNeedless). Such a run must end exactly where a traced run
 * (every namespace gets every broadcast) ends: the same probe results and the same neighbour
 * tables everywhere, states and addresses included.
 */
import { describe, expect, test } from 'vitest';
import { model } from '../helpers.js';
import { Simulation } from '../../src/api/simulation.js';
import { MemoryCapture } from '../../src/trace/memory-capture.js';
import type { ProbeModel } from '../../src/kube/model.js';

const NODES = 6;
const docs = [
  `apiVersion: podnet.dev/v1alpha1
kind: Cluster
spec: { nodes: ${NODES}, addons: none, externalHosts: [ { name: ext, ip: 172.18.0.100 } ] }`,
  ...Array.from(
    { length: NODES },
    (_, i) => `apiVersion: v1
kind: Pod
metadata: { name: p${i}, labels: { app: web } }
spec: { nodeName: node${i + 1}, containers: [{ name: c, ports: [{ containerPort: 8080 }] }] }`,
  ),
  `apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  type: NodePort
  clusterIP: 10.96.0.100
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }]`,
];
const CLUSTER = docs.join('\n---\n');

function probe(name: string, from: string, to: string, count: number, start: number): ProbeModel {
  return {
    name,
    from,
    to,
    protocol: 'tcp',
    port: undefined,
    sourcePort: undefined,
    count,
    size: 0,
    pmtudisc: 'want',
    interval: 7e9,
    start,
    timeout: 2e9,
    source: undefined,
  };
}

function run(traced: boolean): { reports: string; neigh: string[] } {
  const s = new Simulation(model(CLUSTER), { seed: 3, ...(traced ? { captureSinks: [new MemoryCapture()] } : {}) });
  // connections spread over a minute of virtual time: entries go STALE, get probed, age
  const probes = [
    probe('svc', 'p0', '10.96.0.100:80', 8, 0),
    probe('svc2', 'p3', '10.96.0.100:80', 8, 3e9),
    probe('np', 'ext/ext', '172.18.0.4:30080', 6, 1e9),
    probe('direct', 'p5', 'pod/p1:8080', 4, 2e9),
  ];
  const reports = s.runProbes(probes);
  s.advance(20e9);
  const neigh: string[] = [];
  for (const ns of [...s.network.world.namespaces.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    for (const n of ns.neigh.all())
      neigh.push(`${ns.name} ${n.dev.name} ${n.ip} ${n.mac} ${n.state} ${n.updated} ${n.confirmed}`);
  }
  return { reports: JSON.stringify(reports), neigh: neigh.sort() };
}

describe('ARP broadcasts handed only where they change something', () => {
  test('an untraced run ends with the same results and neighbour tables as a traced one', () => {
    const quiet = run(false);
    const traced = run(true);
    expect(quiet.neigh.length).toBeGreaterThan(10);
    expect(quiet.neigh).toEqual(traced.neigh);
    expect(quiet.reports).toEqual(traced.reports);
  });
});
