/** Node rulesets share one immutable copy of everything that does not depend on the node. */
import { describe, expect, it } from 'vitest';
import { buildClusterRules } from '../../../src/kube/agents/node-rules.js';
import { getChain, listChains, type Chain, type Ruleset } from '../../../src/netfilter/rules.js';
import { cluster, node, oracleCluster, service, slice } from './cluster.js';

function own(rs: Ruleset, t: 'nat' | 'filter' | 'mangle'): string[] {
  return [...rs.tables[t]!.chains.keys()].sort();
}

describe('sharing between nodes', () => {
  const cr = buildClusterRules(oracleCluster());
  const [n1, n2, n3] = (['n1', 'n2', 'n3'] as const).map((n) => cr.rulesForNode(n)) as [Ruleset, Ruleset, Ruleset];

  it('every node looks through to the same shared chain maps', () => {
    for (const t of ['mangle', 'filter', 'nat'] as const) {
      expect(n1.tables[t]!.shared).toBe(cr.shared[t]);
      expect(n2.tables[t]!.shared).toBe(cr.shared[t]);
    }
    expect(getChain(n1.tables.nat!, 'KUBE-SVC-CDGGSHYLG3RE2FKL')).toBe(
      getChain(n3.tables.nat!, 'KUBE-SVC-CDGGSHYLG3RE2FKL'),
    );
    expect(getChain(n1.tables.nat!, 'KUBE-SERVICES')).toBe(getChain(n2.tables.nat!, 'KUBE-SERVICES'));
  });

  it('a node without local endpoints owns only FLANNEL-POSTRTG, and half of its rules are shared too', () => {
    expect(own(n2, 'nat')).toEqual(['FLANNEL-POSTRTG']);
    expect(own(n2, 'filter')).toEqual([]);
    expect(own(n2, 'mangle')).toEqual([]);
    const f2 = getChain(n2.tables.nat!, 'FLANNEL-POSTRTG')!;
    const f3 = getChain(n3.tables.nat!, 'FLANNEL-POSTRTG')!;
    expect(f2).not.toBe(f3);
    const sharedRules = f2.rules.filter((r, i) => r === f3.rules[i]);
    expect(sharedRules).toHaveLength(3);
  });

  it("the node with web-local's endpoint owns its SVL chain and the EXT/KUBE-EXTERNAL-SERVICES variants", () => {
    expect(own(n1, 'nat')).toEqual(['FLANNEL-POSTRTG', 'KUBE-EXT-V7ZMVOA2AOW6ATRL', 'KUBE-SVL-V7ZMVOA2AOW6ATRL']);
    expect(own(n1, 'filter')).toEqual(['KUBE-EXTERNAL-SERVICES']);
    // Nodes in the same situation get the very same variant object.
    expect(getChain(n2.tables.filter!, 'KUBE-EXTERNAL-SERVICES')).toBe(
      getChain(n3.tables.filter!, 'KUBE-EXTERNAL-SERVICES'),
    );
  });

  it('memoises node rulesets, so per-node counters keyed by chain stay valid', () => {
    expect(cr.rulesForNode('n1')).toBe(n1);
    expect(() => cr.rulesForNode('nope')).toThrow(/unknown node "nope"/);
  });

  it('never puts one chain object twice into a node ruleset', () => {
    for (const rs of [n1, n2, n3]) {
      const seen = new Set<Chain>();
      for (const t of ['mangle', 'filter', 'nat'] as const) {
        for (const c of listChains(rs.tables[t]!)) {
          expect(seen.has(c)).toBe(false);
          seen.add(c);
        }
      }
    }
  });

  it('nodes of a DaemonSet-backed eTP=Local service share their variants', () => {
    const nodes = Array.from({ length: 4 }, (_, i) => node(`w${i}`, i, `172.18.0.${10 + i}`, `10.244.${i}.0/24`));
    const ds = buildClusterRules(
      cluster({
        nodes,
        services: [
          service({
            name: 'ingress',
            type: 'NodePort',
            clusterIP: '10.96.1.1',
            externalTrafficPolicy: 'Local',
            ports: [{ name: 'http', port: 80, nodePort: 30000 }],
          }),
        ],
        slices: [
          slice(
            'ingress',
            [{ name: 'http', port: 80 }],
            nodes.map((n, i) => ({ ip: `10.244.${i}.2`, node: n.name })),
          ),
        ],
      }),
    );
    const ext = nodes.map((n) =>
      getChain(ds.rulesForNode(n.name).tables.nat!, `KUBE-EXT-${ds.servicePorts[0]!.chains.ext.slice(9)}`),
    );
    expect(new Set(ext).size).toBe(1);
    const svl = nodes.map((n) => getChain(ds.rulesForNode(n.name).tables.nat!, ds.servicePorts[0]!.chains.svl));
    expect(new Set(svl).size).toBe(4);
  });
});

describe('per-node metadata for the evaluator', () => {
  const cr = buildClusterRules(oracleCluster());
  const webLocal = cr.servicePort('default/web-local:http')!;

  it('lists each service port with its chains and endpoints (sorted, with KUBE-SEP names)', () => {
    const web = cr.servicePort('default/web:http', 'TCP')!;
    expect(web.chains).toEqual({
      svc: 'KUBE-SVC-CDGGSHYLG3RE2FKL',
      svl: 'KUBE-SVL-CDGGSHYLG3RE2FKL',
      ext: 'KUBE-EXT-CDGGSHYLG3RE2FKL',
      fw: 'KUBE-FW-CDGGSHYLG3RE2FKL',
    });
    expect(web.endpoints.map((e) => [e.key, e.sepChain, e.nodeName])).toEqual([
      ['10.244.1.2:8080', 'KUBE-SEP-UIQK3OSOSTRHRPBX', 'n1'],
      ['10.244.2.2:8080', 'KUBE-SEP-4EX2N4PG4ASNZOBF', 'n2'],
      ['10.244.3.2:8080', 'KUBE-SEP-UTFLDO4GY7FI2SFB', 'n3'],
    ]);
    expect(cr.endpointByChain('KUBE-SEP-4EX2N4PG4ASNZOBF')).toEqual({ sp: web, ep: web.endpoints[1] });
  });

  it('tells how one node programs a service port', () => {
    const onN1 = cr.nodeServicePort('n1', webLocal);
    expect(onN1.localEndpoints.map((e) => e.key)).toEqual(['10.244.1.2:8080']);
    expect(onN1).toMatchObject({
      hasInternalEndpoints: true,
      hasExternalEndpoints: true,
      internalChain: 'KUBE-SVC-V7ZMVOA2AOW6ATRL',
      externalChain: 'KUBE-EXT-V7ZMVOA2AOW6ATRL',
      usesClusterChain: true,
      usesLocalChain: true,
    });
    const onN2 = cr.nodeServicePort('n2', webLocal);
    expect(onN2).toMatchObject({ hasExternalEndpoints: false, usesLocalChain: false, localEndpoints: [] });
    expect(onN2.reachableEndpoints.map((e) => e.sepChain)).toEqual(['KUBE-SEP-FEMFP27ZXWECPQLF']);
    expect(cr.nodeServicePorts('n3').map((v) => v.info.name)).toEqual([
      'default/web-local:http',
      'default/web-sticky:http',
      'default/web:http',
    ]);
  });
});

describe('scale', () => {
  it('builds 100 nodes × 2000 services sharing all service chains; each extra node adds one chain', () => {
    const nodes = Array.from({ length: 100 }, (_, i) =>
      node(`node${i}`, i, `172.18.${i >> 8}.${(i & 255) + 1}`, `10.244.${i}.0/24`),
    );
    const services = [];
    const slices = [];
    for (let s = 0; s < 2000; s++) {
      services.push(
        service({ name: `svc${s}`, clusterIP: `10.96.${s >> 8}.${s & 255}`, ports: [{ name: 'http', port: 80 }] }),
      );
      slices.push(
        slice(
          `svc${s}`,
          [{ name: 'http', port: 8080 }],
          [
            { ip: `10.244.${s % 100}.${2 + (s % 200)}`, node: `node${s % 100}` },
            { ip: `10.244.${(s + 1) % 100}.${2 + (s % 200)}`, node: `node${(s + 1) % 100}` },
          ],
        ),
      );
    }
    const t0 = performance.now();
    const cr = buildClusterRules(cluster({ nodes, services, slices }));
    const rulesets = nodes.map((n) => cr.rulesForNode(n.name));
    const ms = performance.now() - t0;
    expect(cr.shared.nat!.size).toBeGreaterThan(6000);
    for (const rs of rulesets) {
      expect(rs.tables.nat!.shared).toBe(cr.shared.nat);
      expect([...rs.tables.nat!.chains.keys()]).toEqual(['FLANNEL-POSTRTG']);
      expect(rs.tables.filter!.chains.size).toBe(0);
    }
    expect(ms).toBeLessThan(20_000);
  });
});
