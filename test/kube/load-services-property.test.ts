/**
 * Property: for random sets of Services and Pods, allocated ClusterIPs are unique host addresses
 * of the serviceCIDR, NodePorts are unique (a port number of one Service may share one) and
 * inside the nodePortRange, and every derived endpoint is a pod of the Service's namespace whose
 * labels match the selector — each matching pod exactly once.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { formatDiagnostic, loadTopologyText } from '../../src/kube/load/index.js';
import type { Cidr } from '../../src/kube/model.js';

interface PodSpec {
  readonly ns: string;
  readonly labels: Record<string, string>;
  readonly httpPort: number | undefined;
  readonly ready: boolean;
}

interface SvcSpec {
  readonly ns: string;
  readonly kind: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'headless';
  readonly selector: Record<string, string> | undefined;
  readonly ports: ReadonlyArray<{ port: number; protocol: 'TCP' | 'UDP'; target: 'http' | number }>;
  readonly local: boolean;
}

const labels = fc.record(
  { app: fc.constantFrom('a', 'b', 'c'), tier: fc.constantFrom('x', 'y') },
  { requiredKeys: [] },
);
const ns = fc.constantFrom('default', 'shop');

const podSpec: fc.Arbitrary<PodSpec> = fc.record({
  ns,
  labels,
  httpPort: fc.option(fc.constantFrom(8080, 9090), { nil: undefined }),
  ready: fc.boolean(),
});

const svcSpec: fc.Arbitrary<SvcSpec> = fc.record({
  ns,
  kind: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'headless'),
  selector: fc.option(labels, { nil: undefined }),
  ports: fc.uniqueArray(
    fc.record({
      port: fc.integer({ min: 1, max: 200 }),
      protocol: fc.constantFrom('TCP', 'UDP'),
      target: fc.oneof(fc.constant('http' as const), fc.integer({ min: 1, max: 65535 })),
    }),
    { minLength: 1, maxLength: 3, selector: (p) => `${p.port}/${p.protocol}` },
  ),
  local: fc.boolean(),
});

const plan = fc.record({
  serviceCIDR: fc.constantFrom('10.96.0.0/12', '10.43.0.0/16', '10.100.0.0/24'),
  nodePortRange: fc.constantFrom('30000-32767', '20000-20300', '40000-40999'),
  pods: fc.array(podSpec, { maxLength: 10 }),
  services: fc.array(svcSpec, { maxLength: 12 }),
});

function yamlMap(m: Record<string, string>): string {
  return `{ ${Object.entries(m)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')} }`;
}

function render(p: {
  readonly serviceCIDR: string;
  readonly nodePortRange: string;
  readonly pods: readonly PodSpec[];
  readonly services: readonly SvcSpec[];
}): string {
  // addons none: the services and pods are exactly the generated ones
  const docs = [
    `apiVersion: podnet.dev/v1alpha1\nkind: Cluster\nspec:\n  serviceCIDR: ${p.serviceCIDR}\n  nodePortRange: ${p.nodePortRange}\n  nodes: 3\n  addons: none\n`,
  ];
  p.pods.forEach((pod, i) => {
    const ports = pod.httpPort !== undefined ? `[{ name: http, containerPort: ${pod.httpPort} }]` : '[]';
    docs.push(
      `apiVersion: v1\nkind: Pod\nmetadata: { name: p${i}, namespace: ${pod.ns}, labels: ${yamlMap(pod.labels)} }\nspec:\n  containers: [{ name: c, ports: ${ports} }]\n` +
        (pod.ready ? '' : 'status: { conditions: [{ type: Ready, status: "False" }] }\n'),
    );
  });
  p.services.forEach((s, i) => {
    const type = s.kind === 'headless' ? 'ClusterIP' : s.kind;
    const lines = [`type: ${type}`];
    if (s.kind === 'headless') lines.push('clusterIP: None');
    if (s.kind === 'LoadBalancer' && s.local) lines.push('externalTrafficPolicy: Local');
    if (s.selector !== undefined) lines.push(`selector: ${yamlMap(s.selector)}`);
    lines.push('ports:');
    for (const [j, port] of s.ports.entries()) {
      lines.push(`  - { name: p${j}, port: ${port.port}, protocol: ${port.protocol}, targetPort: ${port.target} }`);
    }
    docs.push(
      `apiVersion: v1\nkind: Service\nmetadata: { name: s${i}, namespace: ${s.ns} }\nspec:\n${lines.map((l) => `  ${l}`).join('\n')}\n`,
    );
  });
  return docs.join('---\n');
}

function inCidr(c: Cidr, ip: number): boolean {
  const mask = c.len === 0 ? 0 : (0xffffffff << (32 - c.len)) >>> 0;
  return (ip & mask) >>> 0 === c.addr;
}

describe('random services and pods', () => {
  test('allocations are unique and in range; derived endpoints are exactly the matching pods', () => {
    fc.assert(
      fc.property(plan, (p) => {
        const r = loadTopologyText(render(p), 'prop.yaml');
        const m = r.model;
        expect(m, r.diagnostics.map(formatDiagnostic).join('\n')).toBeDefined();
        if (m === undefined) return;
        const cidr = m.serviceCIDR;
        const broadcast = (cidr.addr | ~((0xffffffff << (32 - cidr.len)) >>> 0)) >>> 0;

        // ClusterIPs
        const ips = m.services.flatMap((s) => s.clusterIPs);
        expect(new Set(ips).size).toBe(ips.length);
        for (const ip of ips) {
          expect(inCidr(cidr, ip)).toBe(true);
          expect(ip).not.toBe(cidr.addr);
          expect(ip).not.toBe(broadcast);
        }
        for (const [i, s] of m.services.entries())
          expect(s.clusterIPs.length).toBe(p.services[i]?.kind === 'headless' ? 0 : 1);

        // NodePorts: one owner (service + port number) per number, inside the range
        const range = m.nodePortRange!;
        const owner = new Map<number, string>();
        for (const s of m.services) {
          const claims: Array<[number | undefined, string]> = s.ports.map((port) => [
            port.nodePort,
            `${s.namespace}/${s.name}:${port.port}`,
          ]);
          claims.push([s.healthCheckNodePort, `${s.namespace}/${s.name}:health`]);
          for (const [np, who] of claims) {
            if (np === undefined) continue;
            expect(np).toBeGreaterThanOrEqual(range.min);
            expect(np).toBeLessThanOrEqual(range.max);
            const prev = owner.get(np);
            if (prev !== undefined) expect(prev).toBe(who);
            owner.set(np, who);
          }
          const wants = s.type === 'NodePort' || s.type === 'LoadBalancer';
          for (const port of s.ports) expect(port.nodePort !== undefined).toBe(wants);
          expect(s.healthCheckNodePort !== undefined).toBe(
            s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local',
          );
        }

        // Derived endpoints
        const pods = new Map<string, (typeof m.pods)[number]>(
          m.pods.map((pod) => [`${pod.namespace}/${pod.name}`, pod]),
        );
        for (const s of m.services) {
          const slices = m.endpointSlices.filter((sl) => sl.namespace === s.namespace && sl.serviceName === s.name);
          if (s.selector === undefined) {
            expect(slices).toEqual([]);
            continue;
          }
          const selector = s.selector;
          const seen: string[] = [];
          for (const sl of slices) {
            for (const e of sl.endpoints) {
              const pod = pods.get(e.targetPod ?? '');
              expect(pod).toBeDefined();
              if (pod === undefined) continue;
              expect(pod.namespace).toBe(s.namespace);
              for (const [k, v] of Object.entries(selector)) expect(pod.labels[k]).toBe(v);
              expect(e.ip).toBe(pod.ip);
              expect(e.ready).toBe(pod.ready);
              expect(e.nodeName).toBe(pod.nodeName);
              seen.push(e.targetPod ?? '');
            }
            // every slice port is a service port resolved for all of the slice's pods
            for (const sp of sl.ports)
              expect(s.ports.some((port) => port.name === sp.name && port.protocol === sp.protocol)).toBe(true);
          }
          const matching = m.pods.filter(
            (pod) => pod.namespace === s.namespace && Object.entries(selector).every(([k, v]) => pod.labels[k] === v),
          );
          expect(seen.sort()).toEqual(matching.map((pod) => `${pod.namespace}/${pod.name}`).sort());
        }
        const names = m.endpointSlices.map((sl) => `${sl.namespace}/${sl.name}`);
        expect(new Set(names).size).toBe(names.length);
      }),
      { numRuns: 150 },
    );
  });
});
