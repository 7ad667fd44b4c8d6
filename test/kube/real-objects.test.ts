/**
 * Objects a real cluster has (issue 14): ReplicationControllers make pods, nodes carry the labels
 * kubelet sets, an export's pod phases decide which pods have a network, and spec.hostAliases go
 * into the pod's /etc/hosts. Each from a fixture of this test's own.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { formatDiagnostic, loadTopologyPath, loadTopologyText } from '../../src/kube/load/index.js';
import { Simulation } from '../../src/api/simulation.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('nodes carry the labels kubelet sets', () => {
  const r = loadTopologyPath(fixture('sock-shop-like.yaml'));

  test('a Deployment selecting beta.kubernetes.io/os=linux (sock-shop) loads and schedules', () => {
    expect(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
    const pods = r.model!.pods.filter((p) => p.namespace === 'sock-shop');
    expect(pods.map((p) => p.ownerRef?.replace(/-[456789bcdf]{10}$/, ''))).toEqual([
      'ReplicaSet/front-end',
      'ReplicaSet/front-end',
      'ReplicaSet/carts',
    ]);
    // the control plane is tainted: the three pods share the two workers
    expect(new Set(pods.map((p) => p.nodeName))).toEqual(new Set(['node2', 'node3']));
    const s = new Simulation(r.model!, { seed: 1 });
    expect(s.probe('node/node1', '172.18.0.3:30001', 'tcp').replies).toBe(1);
  });

  test("every node has kubelet's hostname, os and arch labels, GA and beta", () => {
    for (const n of r.model!.nodes) {
      expect(n.labels).toMatchObject({
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
      });
    }
  });

  test('labels the input gives win over the ones kubelet would set', () => {
    const m = loadTopologyText(
      `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: arm }
spec:
  nodes:
    - { name: pi, labels: { kubernetes.io/arch: arm64, beta.kubernetes.io/arch: arm64 } }
---
apiVersion: v1
kind: Node
metadata: { name: box, labels: { kubernetes.io/hostname: box.example.com } }
`,
      'arm.yaml',
    ).model!;
    expect(m.nodes.map((n) => [n.name, n.labels['kubernetes.io/arch'], n.labels['kubernetes.io/hostname']])).toEqual([
      ['pi', 'arm64', 'pi'],
      ['box', 'amd64', 'box.example.com'],
    ]);
    expect(m.nodes[0]!.labels['beta.kubernetes.io/arch']).toBe('arm64');
  });
});
