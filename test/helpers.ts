/** Test helpers: build simulations from YAML text and read captured frames. */
import { expect } from 'vitest';
import { formatDiagnostic, loadTopologyText } from '../src/kube/load/index.js';
import type { ClusterModel } from '../src/kube/model.js';
import { Simulation } from '../src/api/simulation.js';
import type { SimulationOptions } from '../src/api/simulation.js';
import { MemoryCapture } from '../src/trace/memory-capture.js';
import { JsonHopSink } from '../src/trace/format.js';
import { isMalformed } from '../src/wire/dissect.js';
import type { MalformedLayer } from '../src/wire/dissect.js';

/** Loads YAML text into a model, failing the test with the diagnostics when it does not load. */
export function model(yaml: string, name = 'test.yaml'): ClusterModel {
  const r = loadTopologyText(yaml, name);
  if (r.model === undefined) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.model;
}

/** A simulation with an in-memory capture of every interface and a hop log. */
export function sim(
  yaml: string,
  opts: SimulationOptions = {},
): { sim: Simulation; cap: MemoryCapture; hops: JsonHopSink } {
  const cap = new MemoryCapture();
  const hops = new JsonHopSink();
  const s = new Simulation(model(yaml), {
    seed: 1,
    ...opts,
    captureSinks: [cap, ...(opts.captureSinks ?? [])],
    hopSinks: [hops, ...(opts.hopSinks ?? [])],
  });
  return { sim: s, cap, hops };
}

/** Unwraps a dissected layer, failing when it is missing or malformed. */
export function layer<T extends object>(l: T | MalformedLayer | undefined, what = 'layer'): T {
  expect(l, `${what} present`).toBeDefined();
  if (isMalformed(l)) throw new Error(`${what} malformed: ${l.malformed}`);
  return l as T;
}

/**
 * A two-node flannel cluster (node1: client, web-0; node2: web-1) plus an external host, like the
 * kernel oracle's: without the kubeadm/flannel addons (`addons: none`: no CoreDNS pods taking
 * addresses, no kubernetes or kube-dns Services), so client is 10.244.1.3 and the rules hold only
 * the test's own Services.
 */
export function twoNodeCluster(extra = '', clusterSpec = ''): string {
  return `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: test }
spec:
  underlay: { cidr: 172.18.0.0/24, mtu: 1500, gateway: 172.18.0.1 }
  addons: none
${clusterSpec}
  nodes:
    - { name: node1, ip: 172.18.0.2, podCIDR: 10.244.1.0/24 }
    - { name: node2, ip: 172.18.0.3, podCIDR: 10.244.2.0/24 }
  externalHosts:
    - { name: ext, ip: 172.18.0.100, mtu: 1500 }
---
apiVersion: v1
kind: Pod
metadata: { name: web-0, labels: { app: web } }
spec:
  nodeName: node1
  containers: [{ name: web, ports: [{ containerPort: 8080 }, { containerPort: 5353, protocol: UDP }] }]
---
apiVersion: v1
kind: Pod
metadata: { name: client }
spec:
  nodeName: node1
  containers: [{ name: c }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-1, labels: { app: web } }
spec:
  nodeName: node2
  containers: [{ name: web, ports: [{ containerPort: 8080 }, { containerPort: 5353, protocol: UDP }] }]
${extra}`;
}
