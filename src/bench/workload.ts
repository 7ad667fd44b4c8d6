/** Topologies the benchmarks run. */
import { loadTopologyText } from '../kube/load/index.js';
import type { ClusterModel } from '../kube/model.js';

/**
 * A cross-node ClusterIP workload: the client on node1, every backend on other nodes, behind
 * `web` (10.96.0.100:80). `services` > 1 adds that many more Services over the same backends
 * (ClusterIPs allocated by podnet), so every node's KUBE-SERVICES holds that many rules and the
 * workload's own Service is one of many.
 */
export function crossNodeClusterIp(backends = 4, nodes = 3, services = 1): ClusterModel {
  const items: object[] = [
    {
      apiVersion: 'podnet.dev/v1alpha1',
      kind: 'Cluster',
      metadata: { name: 'bench' },
      spec: { addons: 'none', nodes },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'client' },
      spec: { nodeName: 'node1', containers: [{ name: 'c' }] },
    },
  ];
  for (let i = 0; i < backends; i++) {
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `web-${i}`, labels: { app: 'web' } },
      spec: {
        nodeName: `node${2 + (i % (nodes - 1))}`,
        containers: [{ name: 'w', ports: [{ name: 'http', containerPort: 8080 }] }],
      },
    });
  }
  const port = { name: 'http', port: 80, targetPort: 'http' };
  items.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { clusterIP: '10.96.0.100', selector: { app: 'web' }, ports: [port] },
  });
  for (let s = 1; s < services; s++)
    items.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `other-${s}` },
      spec: { selector: { app: 'web' }, ports: [port] },
    });
  const r = loadTopologyText(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }), '<bench>');
  if (r.model === undefined) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.model;
}
