/**
 * Properties of kube-proxy's Service data path over generated Services (1–50 endpoints, random
 * ports, named and numeric target ports, readiness, traffic policies, affinity), each run on a
 * freshly seeded simulation.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { layer, model } from '../helpers.js';
import { Simulation } from '../../src/api/simulation.js';
import { MemoryCapture } from '../../src/trace/memory-capture.js';
import { chiSquareUniformP } from './stats.js';

interface Gen {
  nodes: number;
  endpoints: Array<{ node: number; ready: boolean; port: number }>;
  svcPort: number;
  named: boolean;
  etp: 'Cluster' | 'Local';
  itp: 'Cluster' | 'Local';
  affinity: boolean;
  clientNode: number;
  seed: number;
}

const genArb: fc.Arbitrary<Gen> = fc
  .record({
    nodes: fc.integer({ min: 2, max: 3 }),
    n: fc.integer({ min: 1, max: 50 }),
    svcPort: fc.integer({ min: 1, max: 65535 }),
    named: fc.boolean(),
    etp: fc.constantFrom('Cluster' as const, 'Local' as const),
    itp: fc.constantFrom('Cluster' as const, 'Cluster' as const, 'Local' as const),
    affinity: fc.boolean(),
    seed: fc.integer({ min: 0, max: 0xffffffff }),
  })
  .chain((b) =>
    fc.record({
      nodes: fc.constant(b.nodes),
      endpoints: fc.array(
        fc.record({
          node: fc.integer({ min: 0, max: b.nodes - 1 }),
          ready: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x > 0.15),
          port: fc.integer({ min: 1024, max: 60000 }),
        }),
        {
          minLength: b.n,
          maxLength: b.n,
        },
      ),
      svcPort: fc.constant(b.svcPort),
      named: fc.constant(b.named),
      etp: fc.constant(b.etp),
      itp: fc.constant(b.itp),
      affinity: fc.constant(b.affinity),
      clientNode: fc.integer({ min: 0, max: b.nodes - 1 }),
      seed: fc.constant(b.seed),
    }),
  );

/**
 * A cluster with the generated endpoints as pods (each serving its own port, named `app`), a client pod and an external
 * host.
 */
function yaml(g: Gen): string {
  const docs: string[] = [
    `apiVersion: podnet.dev/v1alpha1
kind: Cluster
spec:
  nodes: ${g.nodes}
  externalHosts: [{ name: ext, ip: 172.18.0.100 }]`,
    `apiVersion: v1
kind: Pod
metadata: { name: client }
spec: { nodeName: node${g.clientNode + 1}, containers: [{ name: c }] }`,
  ];
  g.endpoints.forEach((e, i) => {
    docs.push(`apiVersion: v1
kind: Pod
metadata: { name: ep-${i}, labels: { app: svc } }
spec: { nodeName: node${e.node + 1}, containers: [{ name: c, ports: [{ name: app, containerPort: ${e.port} }] }] }
status: { conditions: [{ type: Ready, status: "${e.ready ? 'True' : 'False'}" }] }`);
  });
  docs.push(`apiVersion: v1
kind: Service
metadata: { name: svc }
spec:
  type: NodePort
  clusterIP: 10.96.7.7
  selector: { app: svc }
  externalTrafficPolicy: ${g.etp}
  internalTrafficPolicy: ${g.itp}
  sessionAffinity: ${g.affinity ? 'ClientIP' : 'None'}
  ports: [{ name: p, port: ${g.svcPort}, targetPort: ${g.named ? 'app' : 'PORTS_DIFFER'}, nodePort: 31000 }]`);
  let text = docs.join('\n---\n');
  // numeric targetPort only makes sense when every pod serves the same port
  if (!g.named) {
    const port = g.endpoints[0]!.port;
    text = text.replace('PORTS_DIFFER', String(port)).replace(/containerPort: \d+/g, `containerPort: ${port}`);
  }
  return text;
}

function portOf(g: Gen, i: number): number {
  return g.named ? g.endpoints[i]!.port : g.endpoints[0]!.port;
}

describe('Service properties', () => {
  test('every new connection to a Service with a ready endpoint reaches exactly one allowed endpoint, keeps its translation both ways, and answers from the dialled address', () => {
    fc.assert(
      fc.property(genArb, (g) => {
        const cap = new MemoryCapture();
        const s = new Simulation(model(yaml(g)), { seed: g.seed, captureSinks: [cap] });
        const ready = g.endpoints.map((e, i) => ({ ...e, i })).filter((e) => e.ready);
        const allowed = g.itp === 'Local' ? ready.filter((e) => e.node === g.clientNode) : ready;
        const r = s.probe('client', `10.96.7.7:${g.svcPort}`, 'tcp', { count: 4, interval: 10e6, timeout: 1.5e9 });
        if (allowed.length === 0) {
          // no endpoint usable from this client: refused (no endpoints at all) or silently dropped (none local)
          expect(r.replies).toBe(0);
          return;
        }
        expect(r.replies).toBe(4);
        expect(r.delivered).toBe(4);
        const names = new Set(allowed.map((e) => `ep-${e.i}`));
        for (const a of r.attempts) {
          expect(names.has(a.answeredBy!)).toBe(true);
          expect(a.replyFrom).toBe('10.96.7.7');
        }
        if (g.affinity) expect(new Set(r.attempts.map((a) => a.answeredBy)).size).toBe(1);
        // every packet the client received came from the VIP and port it dialled
        const clientIn = cap
          .at('pod:client/eth0')
          .filter((f) => f.dir === 'in')
          .map((f) => cap.dissect(f))
          .filter((d) => d.tcp);
        expect(clientIn.length).toBe(16);
        for (const d of clientIn) expect([layer(d.ip).src, layer(d.tcp).sport]).toEqual(['10.96.7.7', g.svcPort]);
        // at each backend, every packet of a flow carries the same addresses and ports
        for (const a of r.attempts) {
          const i = Number(a.answeredBy!.slice(3));
          const seen = cap
            .at(`pod:ep-${i}/eth0`)
            .map((f) => cap.dissect(f))
            .filter((d) => d.tcp && (layer(d.tcp).sport === portOf(g, i) || layer(d.tcp).dport === portOf(g, i)));
          const [peer, peerPort] = a.serverSaw!.split(':');
          const ofFlow = seen.filter(
            (d) => layer(d.tcp).dport === Number(peerPort) || layer(d.tcp).sport === Number(peerPort),
          );
          expect(ofFlow.length).toBe(8);
          for (const d of ofFlow) {
            const ip = layer(d.ip);
            const tcp = layer(d.tcp);
            const inbound = tcp.dport === portOf(g, i);
            expect(inbound ? [ip.src, tcp.sport] : [ip.dst, tcp.dport]).toEqual([peer, Number(peerPort)]);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  test('externalTrafficPolicy Local never masquerades an external client; Cluster always does', () => {
    fc.assert(
      fc.property(genArb, (g) => {
        const s = new Simulation(model(yaml(g)), { seed: g.seed });
        const ready = g.endpoints.filter((e) => e.ready);
        for (let n = 0; n < g.nodes; n++) {
          const localReady = ready.filter((e) => e.node === n).length;
          const r = s.probe('ext/ext', `172.18.0.${n + 2}:31000`, 'tcp', { count: 2, interval: 10e6, timeout: 1.5e9 });
          if (g.etp === 'Local') {
            expect(r.replies).toBe(localReady > 0 ? 2 : 0);
            for (const a of r.attempts.filter((x) => x.ok)) expect(a.serverSaw).toBe(`172.18.0.100:${a.sourcePort}`);
          } else if (ready.length > 0) {
            expect(r.replies).toBe(2);
            for (const a of r.attempts) expect(a.serverSaw!.startsWith('172.18.0.100:')).toBe(false);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  test('backends are chosen uniformly: chi-square over 1400 connections to 7 endpoints does not reject uniformity at α = 0.001', () => {
    const g: Gen = {
      nodes: 3,
      endpoints: Array.from({ length: 7 }, (_, i) => ({ node: i % 3, ready: true, port: 8080 })),
      svcPort: 80,
      named: false,
      etp: 'Cluster',
      itp: 'Cluster',
      affinity: false,
      clientNode: 0,
      seed: 12345,
    };
    const s = new Simulation(model(yaml(g)), { seed: g.seed });
    const r = s.probe('client', '10.96.7.7:80', 'tcp', { count: 1400, interval: 2e6 });
    expect(r.replies).toBe(1400);
    const counts = new Map<string, number>();
    for (const a of r.attempts) counts.set(a.answeredBy!, (counts.get(a.answeredBy!) ?? 0) + 1);
    expect(counts.size).toBe(7);
    expect(chiSquareUniformP([...counts.values()])).toBeGreaterThan(0.001);
  });

  test('the chi-square helper gives textbook p-values', () => {
    expect(chiSquareUniformP([100, 100, 100])).toBeCloseTo(1, 10);
    expect(chiSquareUniformP([90, 110])).toBeCloseTo(0.1573, 3);
    expect(chiSquareUniformP([80, 120])).toBeCloseTo(0.004678, 5);
    expect(chiSquareUniformP([10, 20, 30, 40])).toBeCloseTo(0.00016974, 7); // χ² = 20 with 3 degrees of freedom
  });
});
