/**
 * Clusters at Kubernetes' published scale limits (5,000 nodes, 150,000 pods, 10,000 Services),
 * generated as YAML the way a user would hand them to podnet (a `kind: List` of Nodes, Pods and
 * Services, as `kubectl get -o yaml` prints), deterministically from a seed.
 */
import { Rng } from '../sim/rng.js';

/** Sizes of a generated cluster. */
export interface ScaleSpec {
  readonly nodes: number;
  readonly pods: number;
  readonly services: number;
  /** Endpoints per Service (inclusive range). */
  readonly minEndpoints: number;
  readonly maxEndpoints: number;
}

/** Kubernetes' published limits. */
export const K8S_LIMITS: ScaleSpec = { nodes: 5000, pods: 150_000, services: 10_000, minEndpoints: 3, maxEndpoints: 15 };

function ip(a: number): string {
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/**
 * A topology as one YAML text: a Cluster document (addresses for the size: underlay
 * 172.16.0.0/16, pods 10.0.0.0/8 with /24 per node, Services 172.20.0.0/16), then Pods and
 * Services. Each Service selects its own group of pods by label; types are mixed (ClusterIP,
 * NodePort, LoadBalancer with Local policy, headless).
 */
export function generateScaleYaml(spec: ScaleSpec, seed = 1): string {
  const rng = new Rng(seed, 'scale');
  const out: string[] = [];
  out.push(`apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: scale }
spec:
  addons: none
  clusterCIDR: 10.0.0.0/8
  serviceCIDR: 172.20.0.0/16
  nodeCIDRMaskSize: 24
  underlay: { cidr: 172.16.0.0/16, mtu: 1500 }
  loadBalancerPool: 172.16.240.0/20
  nodes: ${spec.nodes}
---
apiVersion: v1
kind: List
items:`);
  // pods: spread over nodes by the scheduler; groups of consecutive pods back one Service
  const groups: number[] = [];
  let podIndex = 0;
  for (let s = 0; s < spec.services && podIndex < spec.pods; s++) {
    const n = Math.min(spec.minEndpoints + rng.nextInt(spec.maxEndpoints - spec.minEndpoints + 1), spec.pods - podIndex);
    groups.push(n);
    podIndex += n;
  }
  let p = 0;
  for (let g = 0; g < groups.length; g++) {
    for (let k = 0; k < groups[g]!; k++, p++) {
      out.push(`- apiVersion: v1
  kind: Pod
  metadata: { name: app${g}-${k}, namespace: ns${g % 100}, labels: { app: app${g} } }
  spec: { containers: [{ name: c, ports: [{ name: http, containerPort: 8080 }] }] }`);
    }
  }
  for (; p < spec.pods; p++) {
    out.push(`- apiVersion: v1
  kind: Pod
  metadata: { name: idle-${p}, namespace: idle }
  spec: { containers: [{ name: c }] }`);
  }
  for (let g = 0; g < groups.length; g++) {
    const r = rng.nextInt(100);
    const type = r < 70 ? 'ClusterIP' : r < 90 ? 'NodePort' : r < 95 ? 'LoadBalancer' : 'Headless';
    out.push(`- apiVersion: v1
  kind: Service
  metadata: { name: svc${g}, namespace: ns${g % 100} }
  spec:
    ${type === 'Headless' ? 'clusterIP: None' : `type: ${type}`}${type === 'LoadBalancer' ? '\n    externalTrafficPolicy: Local' : ''}
    selector: { app: app${g} }
    ports: [{ name: http, port: 80, targetPort: http }]`);
  }
  return out.join('\n') + '\n';
}

export { ip as formatScaleIp };
