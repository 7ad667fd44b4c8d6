/**
 * "Done means": a typical tutorial's manifests (Deployment and a Service of each type, StatefulSet
 * and headless Service, DaemonSet, Job, CronJob), pasted under a two-line Cluster document, load and
 * run (test/kube/fixtures/tutorial.yaml).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { formatDiagnostic, loadTopologyPath } from '../../src/kube/load/index.js';
import { Simulation } from '../../src/api/simulation.js';
import { checkExpectation } from '../../src/api/expect.js';

const FILE = fileURLToPath(new URL('./fixtures/tutorial.yaml', import.meta.url));

describe('tutorial manifests under a two-line Cluster document', () => {
  const r = loadTopologyPath(FILE);

  test('load with one notice (the LoadBalancer stays pending without a pool) and no error', () => {
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      `${FILE}:59:9: notice: Service default/my-lb: LoadBalancer has no ingress IP (no loadBalancerPool in the Cluster; EXTERNAL-IP <pending>)`,
    ]);
  });

  test('every workload made its pods', () => {
    const owners = r
      .model!.pods.filter((p) => p.origin !== 'addon')
      .map((p) => (p.ownerRef ?? '').replace(/-[456789bcdf]{10}$/, '-<hash>'));
    expect(owners).toEqual([
      'ReplicaSet/nginx-deployment-<hash>',
      'ReplicaSet/nginx-deployment-<hash>',
      'ReplicaSet/nginx-deployment-<hash>',
      'StatefulSet/web',
      'StatefulSet/web',
      'DaemonSet/fluentd-elasticsearch',
      'DaemonSet/fluentd-elasticsearch',
      'Job/pi',
      'Job/hello-28401120',
      'Job/hello-28401121',
      'Job/hello-28401122',
    ]);
  });

  test('runs, and every expectation holds', () => {
    const m = r.model!;
    const reports = new Simulation(m, { seed: 1 }).runScenario();
    const failures = m.scenario!.probes.flatMap((p, i) =>
      p.expect ? checkExpectation(reports[i]!, p.expect).map((x) => `${p.name}: ${x}`) : [],
    );
    expect(failures).toEqual([]);
  });
});
