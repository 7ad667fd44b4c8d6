/** Every example topology (a file, or a folder of files) loads, runs its Scenario, and every `expect:` in it holds. */
import { describe, expect, test } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatDiagnostic, loadTopologyPath } from '../src/kube/load/index.js';
import { Simulation } from '../src/api/simulation.js';
import { checkExpectation } from '../src/api/expect.js';

const entries = readdirSync('topologies').sort();
const files = entries.filter((f) => /\.ya?ml$/.test(f));
const folders = entries.filter((f) => statSync(join('topologies', f)).isDirectory());
/** What `podnet run` takes: each file, and each folder as one topology. */
const topologies = [...files, ...folders.map((f) => `${f}/`)];

describe('example topologies', () => {
  test('there are examples for every feature learners study', () => {
    for (const f of [
      'pod-to-pod',
      'clusterip',
      'nodeport',
      'loadbalancer',
      'externalips',
      'traffic-policy',
      'affinity',
      'hairpin',
      'services',
      'mtu',
      'k3s-style',
      'deployment',
      'statefulset',
      'externalname',
      'daemonset',
      'namespaces',
    ]) {
      expect(files).toContain(`${f}.yaml`);
    }
    expect(folders).toContain('shop');
    expect(readdirSync('topologies/shop').sort()).toEqual([
      'backend.yaml',
      'cluster.yaml',
      'frontend.yaml',
      'scenario.yaml',
    ]);
  });

  test.each(files)('%s opens with a comment header saying what to look at', (f) => {
    const text = readFileSync(join('topologies', f), 'utf8');
    expect(text.startsWith('# ')).toBe(true);
    expect(text).toMatch(/What to look at/i);
  });

  test.each(folders)('every file of the folder %s/ opens with a comment saying what to look at', (dir) => {
    for (const f of readdirSync(join('topologies', dir)).filter((x) => /\.ya?ml$/.test(x))) {
      const text = readFileSync(join('topologies', dir, f), 'utf8');
      expect(text.startsWith('# '), f).toBe(true);
      expect(text, f).toMatch(/What to look at/i);
    }
  });

  test.each(topologies)('%s runs and every expectation holds', (f) => {
    const r = loadTopologyPath(join('topologies', f));
    expect(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
    const model = r.model!;
    const sim = new Simulation(model, { seed: 1 });
    const reports = sim.runScenario();
    expect(reports.length).toBe(model.scenario?.probes.length ?? 0);
    const failures = model.scenario!.probes.flatMap((p, i) =>
      p.expect ? checkExpectation(reports[i]!, p.expect).map((x) => `${p.name}: ${x}`) : [],
    );
    expect(failures).toEqual([]);
  });

  test.each(['deployment.yaml', 'daemonset.yaml', 'shop/'])(
    '%s: every expectation also holds with another seed (other pod names)',
    (f) => {
      const model = loadTopologyPath(join('topologies', f), 7).model!;
      const sim = new Simulation(model, { seed: 7 });
      const reports = sim.runScenario();
      const failures = model.scenario!.probes.flatMap((p, i) =>
        p.expect ? checkExpectation(reports[i]!, p.expect).map((x) => `${p.name}: ${x}`) : [],
      );
      expect(failures).toEqual([]);
    },
  );

  test('externalname.yaml and statefulset.yaml: ExternalName and headless Services have no kube-proxy rules', async () => {
    const { buildClusterRules } = await import('../src/kube/agents/node-rules.js');
    const { formatIptablesSave } = await import('../src/netfilter/iptables-save.js');
    const rulesOf = (f: string): string => {
      const m = loadTopologyPath(join('topologies', f)).model!;
      return formatIptablesSave(buildClusterRules(m).rulesForNode('node2'));
    };
    const ext = rulesOf('externalname.yaml');
    expect(ext).not.toContain('legacy-db');
    expect(ext).not.toContain('payments-alias');
    expect(ext).toContain('"shop/payments cluster IP"');
    const sts = rulesOf('statefulset.yaml');
    expect(sts).not.toContain('default/nginx');
    expect(sts).toContain('"default/web:web cluster IP"');
  });
});
