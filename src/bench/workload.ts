/** Topologies the benchmarks run. */
import { loadTopologyText } from '../kube/load/index.js';
import type { ClusterModel } from '../kube/model.js';

/** A cross-node ClusterIP workload: the client on node1, every backend on other nodes. */
export function crossNodeClusterIp(backends = 4, nodes = 3): ClusterModel {
  const docs = [
    `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: bench }
spec:
  addons: none
  nodes: ${nodes}`,
    `apiVersion: v1
kind: Pod
metadata: { name: client }
spec: { nodeName: node1, containers: [{ name: c }] }`,
  ];
  for (let i = 0; i < backends; i++) {
    docs.push(`apiVersion: v1
kind: Pod
metadata: { name: web-${i}, labels: { app: web } }
spec: { nodeName: node${2 + (i % (nodes - 1))}, containers: [{ name: w, ports: [{ name: http, containerPort: 8080 }] }] }`);
  }
  docs.push(`apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  clusterIP: 10.96.0.100
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]`);
  const r = loadTopologyText(docs.join('\n---\n'), '<bench>');
  if (r.model === undefined) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.model;
}
