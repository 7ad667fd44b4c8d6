/**
 * Properties a platform team might keep about its Service data path, written only against
 * podnet's public exports. Each property runs a few hundred generated clusters; a failure is
 * reported as a small topology, the seed, the hops of the failing flow and the `podnet trace`
 * command that replays it.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { arbitraries, formatIpv4, loadTopology, simulate, type Manifest } from 'podnet';
import {
  assertScenarios,
  assertVerdict,
  checkInvariants,
  clientIpPreserved,
  deliveredToOneReadyEndpoint,
  runScenario,
  scenarioArb,
  standardInvariants,
} from 'podnet/testing';

describe('Services, for any shape', () => {
  test('for any Service shape and any client pod, a new connection reaches exactly one ready endpoint', () => {
    assertScenarios(scenarioArb({ flows: ['pod-to-service', 'pod-to-service-dns'] }), deliveredToOneReadyEndpoint, {
      numRuns: 200,
    });
  });

  test('from outside, NodePorts and load-balancer IPs reach one allowed endpoint, and Local policy keeps the client IP', () => {
    assertScenarios(
      scenarioArb({ flows: ['external-to-nodeport', 'external-to-loadbalancer'] }),
      [deliveredToOneReadyEndpoint, clientIpPreserved],
      { numRuns: 150 },
    );
  });

  test('every shipped invariant holds for every kind of flow (replies un-NATed, affinity, MTU, TTL, …)', () => {
    assertScenarios(scenarioArb(), standardInvariants, { numRuns: 200 });
  });

  test('the same, written with plain fc.assert', () => {
    fc.assert(
      fc.property(scenarioArb({ maxNodes: 2 }), (sc) => {
        assertVerdict(checkInvariants(runScenario(sc).flow));
      }),
      { numRuns: 50 },
    );
  });
});

describe('the main entry alone', () => {
  test('loadTopology, arbitraries and simulate: a connection to any Service reaches at most one pod, an endpoint of that Service', () => {
    fc.assert(
      fc.property(arbitraries.scenarioArb({ flows: ['pod-to-service'] }), (sc) => {
        const model = loadTopology(sc.topology, { seed: sc.seed });
        const f = simulate(model, { seed: sc.seed, flows: [{ ...sc.flow, count: 1 }] }).flows[0]!;
        // whatever the shape (unready pods, Local policies, UDP), one connection reaches at most one
        // pod, and only an endpoint of the dialled Service, at the address the EndpointSlices give it
        expect(f.backends.length).toBeLessThanOrEqual(1);
        if (f.destination.kind !== 'service' || f.backends.length === 0) return;
        const svc = f.destination.service;
        const ips = model.endpointSlices
          .filter((s) => s.namespace === svc.namespace && s.serviceName === svc.name)
          .flatMap((s) => s.endpoints.map((e) => formatIpv4(e.ip)));
        expect(ips).toContain(f.backends[0]!.ip);
      }),
      { numRuns: 60 },
    );
  });
});

describe('a cluster built in code', () => {
  const cluster: Manifest[] = [
    {
      apiVersion: 'podnet.dev/v1alpha1',
      kind: 'Cluster',
      spec: { nodes: 2, addons: 'none', externalHosts: [{ name: 'ext', ip: '172.18.0.100' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'client' },
      spec: { nodeName: 'node1', containers: [{ name: 'c' }] },
    },
    ...[1, 2].map(
      (n): Manifest => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `web-${n}`, labels: { app: 'web' } },
        spec: { nodeName: `node${n}`, containers: [{ name: 'web', ports: [{ name: 'http', containerPort: 8080 }] }] },
      }),
    ),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: {
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      },
    },
  ];

  test('a connection to the ClusterIP is DNATed once, to a backend, and answered from the ClusterIP', () => {
    const { flows } = simulate(cluster, {
      seed: 3,
      flows: [{ from: 'client', to: { service: 'web' }, count: 4, interval: '10ms' }],
    });
    const f = flows[0]!;
    expect(f.replied).toBe(true);
    expect(f.backends.map((b) => b.name).every((n) => n === 'web-1' || n === 'web-2')).toBe(true);
    const dnat = f.translations.filter((t) => t.kind === 'DNAT');
    expect(dnat).toHaveLength(4);
    expect(dnat.every((t) => t.rules.at(-1)?.chain.startsWith('KUBE-SEP-'))).toBe(true);
    expect(f.destination.kind).toBe('service');
    const clusterIP = f.probe.to.replace(/:\d+$/, '');
    expect(f.attempts.every((a) => a.replyFrom === clusterIP)).toBe(true);
  });

  test('externalTrafficPolicy Local: the NodePort of a node answers with the client IP kept', () => {
    const { flows } = simulate(cluster, {
      flows: [{ from: 'ext/ext', to: { service: 'web', via: 'nodePort', node: 'node2' } }],
    });
    const f = flows[0]!;
    expect(f.attempts[0]?.backend?.name).toBe('web-2');
    expect(f.attempts[0]?.serverSaw?.ip).toBe('172.18.0.100');
    expect(f.translations.some((t) => t.kind === 'MASQUERADE')).toBe(false);
  });
});
