/**
 * Golden test against the kernel oracle's dumps (test/fixtures/oracle/iptables-save-nN.txt).
 *
 * The oracle's rules were written by a script in kube-proxy's style, not by kube-proxy. Where the
 * script and real kube-proxy v1.30 differ, podnet follows kube-proxy and this test says so:
 * 1. Service order in nat KUBE-SERVICES / KUBE-NODEPORTS: the script used its own order, real
 *    kube-proxy uses Go map order (random), podnet sorts by service port name. Compared as sets,
 *    with the "kubernetes service nodeports" rule last in both.
 * 2. The script left out kube-proxy's KUBE-PROXY-FIREWALL chain and its INPUT/FORWARD/OUTPUT
 *    jumps, kubelet's KUBE-FIREWALL chain and jumps, the canary chains (KUBE-PROXY-CANARY,
 *    KUBE-KUBELET-CANARY) and the mangle table's KUBE-IPTABLES-HINT. podnet has them; the
 *    built-in chains are compared with those jumps removed.
 * Every other KUBE-* and FLANNEL-* chain must match the oracle rule for rule, in order.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it, test } from 'vitest';
import { buildClusterRules } from '../../../src/kube/agents/node-rules.js';
import { formatParseError, formatRule, parseIptablesSave } from '../../../src/netfilter/iptables-save.js';
import { getChain, listChains, type Ruleset, type TableName } from '../../../src/netfilter/rules.js';
import { oracleCluster } from './cluster.js';

const DIR = 'test/fixtures/oracle';
const NODES = ['n1', 'n2', 'n3'] as const;
const have = NODES.every((n) => existsSync(`${DIR}/iptables-save-${n}.txt`));

function oracle(node: string): Ruleset {
  const f = `iptables-save-${node}.txt`;
  const r = parseIptablesSave(readFileSync(`${DIR}/${f}`, 'utf8'), f);
  if ('errors' in r) throw new Error(r.errors.map(formatParseError).join('\n'));
  return r.ruleset;
}

function lines(rs: Ruleset, table: TableName, chain: string): string[] {
  const c = getChain(rs.tables[table]!, chain);
  return c === undefined ? [] : c.rules.map((r) => formatRule(chain, r));
}

const PODNET_ONLY = /-j (KUBE-PROXY-FIREWALL|KUBE-FIREWALL)$/;
const UNORDERED = new Set(['nat/KUBE-SERVICES', 'nat/KUBE-NODEPORTS']);

describe('generated rules against the kernel oracle', () => {
  test('the oracle fixtures are present', () => {
    expect(have).toBe(true);
  });

  const cr = buildClusterRules(oracleCluster());

  it.each(NODES)('%s: every KUBE-*/FLANNEL-* chain of the oracle is generated rule for rule', (node) => {
    const want = oracle(node);
    const got = cr.rulesForNode(node);
    for (const table of ['filter', 'nat'] as const) {
      for (const c of listChains(want.tables[table]!)) {
        if (c.builtin) continue;
        const key = `${table}/${c.name}`;
        const w = lines(want, table, c.name);
        const g = lines(got, table, c.name);
        expect(getChain(got.tables[table]!, c.name), key).toBeDefined();
        if (UNORDERED.has(key)) {
          expect([...g].sort(), key).toEqual([...w].sort());
          if (c.name === 'KUBE-SERVICES') {
            expect(g.at(-1)).toBe(w.at(-1));
            expect(g.at(-1)).toContain('kubernetes service nodeports; NOTE: this must be the last rule in this chain');
          }
        } else expect(g, key).toEqual(w);
      }
    }
  });

  it.each(NODES)('%s: built-in chains match once the jumps the oracle script left out are removed', (node) => {
    const want = oracle(node);
    const got = cr.rulesForNode(node);
    for (const [table, chains] of [
      ['filter', ['INPUT', 'FORWARD', 'OUTPUT']],
      ['nat', ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']],
    ] as const) {
      for (const c of chains) {
        expect(
          lines(got, table, c).filter((l) => !PODNET_ONLY.test(l)),
          `${table}/${c}`,
        ).toEqual(lines(want, table, c));
      }
    }
  });

  it.each(NODES)('%s: podnet has exactly the chains of a real v1.30 kubeadm node on top of the oracle', (node) => {
    const want = oracle(node);
    const got = cr.rulesForNode(node);
    const extra = (t: TableName): string[] => {
      const w = new Set(
        listChains(want.tables[t] ?? { name: t, chains: new Map(), shared: undefined }).map((c) => c.name),
      );
      return listChains(got.tables[t]!)
        .map((c) => c.name)
        .filter((n) => !w.has(n));
    };
    expect(extra('filter')).toEqual([
      'KUBE-FIREWALL',
      'KUBE-KUBELET-CANARY',
      'KUBE-PROXY-CANARY',
      'KUBE-PROXY-FIREWALL',
    ]);
    expect(extra('nat')).toEqual(['KUBE-KUBELET-CANARY', 'KUBE-PROXY-CANARY']);
    expect(extra('mangle')).toEqual([
      'PREROUTING',
      'INPUT',
      'FORWARD',
      'OUTPUT',
      'POSTROUTING',
      'KUBE-IPTABLES-HINT',
      'KUBE-KUBELET-CANARY',
      'KUBE-PROXY-CANARY',
    ]);
  });

  it('n2 and n3 differ from n1 exactly where docs/kernel-findings.md §topology says they do', () => {
    const n1 = cr.rulesForNode('n1');
    const n2 = cr.rulesForNode('n2');
    expect(getChain(n1.tables.nat!, 'KUBE-SVL-V7ZMVOA2AOW6ATRL')).toBeDefined();
    expect(getChain(n2.tables.nat!, 'KUBE-SVL-V7ZMVOA2AOW6ATRL')).toBeUndefined();
    expect(lines(n1, 'nat', 'KUBE-EXT-V7ZMVOA2AOW6ATRL').at(-1)).toBe(
      '-A KUBE-EXT-V7ZMVOA2AOW6ATRL -j KUBE-SVL-V7ZMVOA2AOW6ATRL',
    );
    expect(lines(n2, 'nat', 'KUBE-EXT-V7ZMVOA2AOW6ATRL')).toHaveLength(3);
    expect(lines(n1, 'filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([]);
    expect(lines(n2, 'filter', 'KUBE-EXTERNAL-SERVICES')).toEqual([
      '-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment "default/web-local:http has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30081 -j DROP',
    ]);
  });
});
