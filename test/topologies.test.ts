/** Every example topology loads, runs its Scenario, and every `expect:` in it holds. */
import { describe, expect, test } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDiagnostic, loadTopologyPath } from '../src/kube/load/index.js';
import { Simulation } from '../src/simulation.js';
import { checkExpectation } from '../src/trace/report.js';

const files = readdirSync('topologies')
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

describe('example topologies', () => {
  test('there are examples for every feature learners study', () => {
    for (const f of ['pod-to-pod', 'clusterip', 'nodeport', 'loadbalancer', 'externalips', 'traffic-policy', 'affinity', 'hairpin', 'services', 'mtu', 'k3s-style']) {
      expect(files).toContain(`${f}.yaml`);
    }
  });

  test.each(files)('%s opens with a comment header saying what to look at', (f) => {
    const text = readFileSync(join('topologies', f), 'utf8');
    expect(text.startsWith('# ')).toBe(true);
    expect(text).toMatch(/What to look at/i);
  });

  test.each(files)('%s runs and every expectation holds', (f) => {
    const r = loadTopologyPath(join('topologies', f));
    expect(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
    const model = r.model!;
    const sim = new Simulation(model, { seed: 1 });
    const reports = sim.runScenario();
    expect(reports.length).toBe(model.scenario?.probes.length ?? 0);
    const failures = model.scenario!.probes.flatMap((p, i) => (p.expect ? checkExpectation(reports[i]!, p.expect).map((x) => `${p.name}: ${x}`) : []));
    expect(failures).toEqual([]);
  });
});
