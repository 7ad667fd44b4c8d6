/** Random clusters: the generated node rulesets are valid iptables-save text that parses back to themselves. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildClusterRules, type KubeProxyOptions } from '../../../src/kube/agents/node-rules.js';
import { formatIptablesSave, formatParseError, parseIptablesSave } from '../../../src/netfilter/iptables-save.js';
import { getChain, listChains, type Ruleset } from '../../../src/netfilter/rules.js';
import type { ClusterModel, EndpointSliceModel, ServiceModel } from '../../../src/kube/model.js';
import { withoutSources } from '../../netfilter/compare.js';
import { REQUIRE_TOOLS, iptablesRestoreTest, iptablesRestoreUnavailable } from '../../netfilter/tools.js';
import { cidr, cluster, node, service, slice, type EpSpec } from './cluster.js';

const proto = fc.constantFrom<'TCP' | 'UDP' | 'SCTP'>('TCP', 'TCP', 'UDP', 'SCTP');

const clusterArb: fc.Arbitrary<{ model: ClusterModel; opts: KubeProxyOptions }> = fc
  .record({
    second: fc.constantFrom(244, 42, 100),
    nodes: fc.integer({ min: 1, max: 4 }),
    services: fc.array(
      fc.record({
        ns: fc.constantFrom('default', 'kube-system'),
        type: fc.constantFrom<ServiceModel['type']>(
          'ClusterIP',
          'ClusterIP',
          'NodePort',
          'LoadBalancer',
          'ExternalName',
        ),
        ports: fc.array(fc.record({ proto, port: fc.integer({ min: 1, max: 65535 }) }), { minLength: 1, maxLength: 3 }),
        unnamed: fc.boolean(),
        externalIPs: fc.integer({ min: 0, max: 2 }),
        lbIPs: fc.integer({ min: 0, max: 2 }),
        ranges: fc.subarray(['203.0.113.0/24', '172.18.0.0/24', '172.18.0.3/32']),
        etp: fc.constantFrom<'Cluster' | 'Local'>('Cluster', 'Local'),
        itp: fc.constantFrom<'Cluster' | 'Local'>('Cluster', 'Local'),
        affinity: fc.boolean(),
        eps: fc.array(
          fc.record({
            host: fc.integer({ min: 2, max: 250 }),
            node: fc.integer({ min: -1, max: 3 }),
            ready: fc.boolean(),
            serving: fc.boolean(),
            terminating: fc.boolean(),
          }),
          { maxLength: 5 },
        ),
        split: fc.boolean(),
      }),
      { maxLength: 6 },
    ),
    opts: fc.record({
      masqueradeAll: fc.boolean(),
      localhostNodePorts: fc.boolean(),
      npa: fc.constantFrom<'all' | 'cidr' | 'primary'>('all', 'all', 'cidr', 'primary'),
      randomFully: fc.boolean(),
      conntrackTCPLiberal: fc.boolean(),
      nfacct: fc.boolean(),
      kubelet: fc.boolean(),
      masqueradeBit: fc.integer({ min: 0, max: 31 }),
    }),
    ipMasq: fc.boolean(),
  })
  .map((g) => {
    const nodes = Array.from({ length: g.nodes }, (_, i) =>
      node(`n${i}`, i, `172.18.0.${2 + i}`, `10.${g.second}.${i}.0/24`),
    );
    const services: ServiceModel[] = [];
    const slices: EndpointSliceModel[] = [];
    g.services.forEach((s, si) => {
      const name = `svc${si}`;
      const ports = s.ports.map((p, pi) => ({
        name: s.ports.length === 1 && s.unnamed ? undefined : `p${pi}`,
        protocol: p.proto,
        port: p.port,
        nodePort: s.type === 'NodePort' || s.type === 'LoadBalancer' ? 30000 + si * 3 + pi : undefined,
      }));
      services.push(
        service({
          namespace: s.ns,
          name,
          type: s.type,
          clusterIP: s.type === 'ExternalName' ? undefined : `10.96.0.${10 + si}`,
          ports,
          externalIPs: Array.from({ length: s.externalIPs }, (_, k) => `192.168.56.${10 + si * 2 + k}`),
          loadBalancerIPs:
            s.type === 'LoadBalancer' ? Array.from({ length: s.lbIPs }, (_, k) => `192.168.57.${10 + si * 2 + k}`) : [],
          loadBalancerSourceRanges: s.type === 'LoadBalancer' ? s.ranges : [],
          externalTrafficPolicy: s.etp,
          internalTrafficPolicy: s.itp,
          sessionAffinity: s.affinity ? 'ClientIP' : 'None',
          ...(s.type === 'LoadBalancer' && s.etp === 'Local' ? { healthCheckNodePort: 32000 + si } : {}),
          ...(s.type === 'ExternalName' ? { externalName: 'example.com' } : {}),
        }),
      );
      const eps: EpSpec[] = s.eps.map((e) => ({
        ip: `10.${g.second}.${Math.max(0, Math.min(e.node, g.nodes - 1))}.${e.host}`,
        ...(e.node >= 0 && e.node < g.nodes ? { node: `n${e.node}` } : {}),
        ready: e.ready,
        serving: e.ready || e.serving,
        terminating: e.terminating,
      }));
      const sp = ports.map((p) => ({
        ...(p.name !== undefined ? { name: p.name } : {}),
        port: 8000 + (p.port % 1000),
        protocol: p.protocol,
      }));
      const half = Math.ceil(eps.length / 2);
      if (s.split) {
        slices.push(slice(name, sp, eps.slice(0, half), { namespace: s.ns, name: `${name}-a` }));
        slices.push(slice(name, sp, eps.slice(half), { namespace: s.ns, name: `${name}-b` }));
      } else slices.push(slice(name, sp, eps, { namespace: s.ns }));
    });
    const o = g.opts;
    const opts: KubeProxyOptions = {
      masqueradeAll: o.masqueradeAll,
      localhostNodePorts: o.localhostNodePorts,
      randomFully: o.randomFully,
      conntrackTCPLiberal: o.conntrackTCPLiberal,
      nfacct: o.nfacct,
      kubelet: o.kubelet,
      masqueradeBit: o.masqueradeBit,
      ...(o.npa === 'cidr'
        ? { nodePortAddresses: [cidr('172.18.0.0/24'), cidr('127.0.0.0/8')] }
        : o.npa === 'primary'
          ? { nodePortAddresses: 'primary' as const }
          : {}),
    };
    return {
      model: cluster({ clusterCIDR: `10.${g.second}.0.0/16`, nodes, services, slices, ipMasq: g.ipMasq }),
      opts,
    };
  });

/** Every jump/goto names a chain of the same table; KUBE-SERVICES ends with the NodePort jump(s). */
function checkStructure(rs: Ruleset): void {
  for (const t of ['filter', 'nat', 'mangle'] as const) {
    const table = rs.tables[t]!;
    for (const c of listChains(table)) {
      for (const r of c.rules) {
        if (r.target?.kind === 'jump' || r.target?.kind === 'goto') {
          expect(getChain(table, r.target.chain), `${t}/${c.name} -> ${r.target.chain}`).toBeDefined();
        }
      }
    }
  }
  const svc = getChain(rs.tables.nat!, 'KUBE-SERVICES')!;
  const last = svc.rules.at(-1);
  if (last !== undefined && last.target?.kind === 'jump' && last.target.chain === 'KUBE-NODEPORTS') {
    const firstNp = svc.rules.findIndex((r) => r.target?.kind === 'jump' && r.target.chain === 'KUBE-NODEPORTS');
    expect(
      svc.rules.slice(firstNp).every((r) => r.target?.kind === 'jump' && r.target.chain === 'KUBE-NODEPORTS'),
    ).toBe(true);
  }
}

describe('random clusters', () => {
  it('every node ruleset parses back to itself and prints the same, and every jump resolves', () => {
    fc.assert(
      fc.property(clusterArb, ({ model, opts }) => {
        const cr = buildClusterRules(model, opts);
        for (const n of model.nodes) {
          const rs = cr.rulesForNode(n.name);
          checkStructure(rs);
          const text = formatIptablesSave(rs);
          const r = parseIptablesSave(text, `${n.name}.rules`);
          if ('errors' in r) throw new Error(`${r.errors.map(formatParseError).join('\n')}\n${text}`);
          expect(withoutSources(r.ruleset)).toEqual(withoutSources(rs));
          expect(formatIptablesSave(r.ruleset)).toBe(text);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('iptables-restore --test accepts every node ruleset', (ctx) => {
    const why = iptablesRestoreUnavailable();
    if (why !== undefined) {
      if (REQUIRE_TOOLS) throw new Error(why);
      ctx.skip(why);
    }
    fc.assert(
      fc.property(clusterArb, ({ model, opts }) => {
        const cr = buildClusterRules(model, opts);
        for (const n of model.nodes) {
          const text = formatIptablesSave(cr.rulesForNode(n.name));
          const r = iptablesRestoreTest(text);
          if (!r.ok) throw new Error(`${r.stderr}\n${text}`);
        }
      }),
      { numRuns: 40 },
    );
  });
});
