/**
 * Clusters at Kubernetes' published scale limits (5,000 nodes, 150,000 pods, 10,000 Services),
 * generated deterministically from a seed as the JSON a user would hand to podnet: one
 * `kind: List` the way `kubectl get … -o json` prints it (4-space indentation), holding the
 * podnet Cluster, the Namespaces, the Pods and the Services. Pods carry no node or address:
 * podnet schedules and allocates them, and derives the EndpointSlices.
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
export const K8S_LIMITS: ScaleSpec = {
  nodes: 5000,
  pods: 150_000,
  services: 10_000,
  minEndpoints: 3,
  maxEndpoints: 15,
};

/** The same shape scaled down by `factor` (for quick runs). */
export function scaledLimits(factor: number): ScaleSpec {
  return {
    ...K8S_LIMITS,
    nodes: Math.max(2, Math.round(K8S_LIMITS.nodes * factor)),
    pods: Math.round(K8S_LIMITS.pods * factor),
    services: Math.round(K8S_LIMITS.services * factor),
  };
}

const NAMESPACES = 100;

/** Service types in the mix: 70 % ClusterIP, 20 % NodePort, 5 % LoadBalancer (Local policy), 5 % headless. */
export type ScaleServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'Headless';

/**
 * The objects of a generated cluster: addresses for the size (underlay 172.16.0.0/16, pods
 * 10.0.0.0/8 with a /24 per node, Services 172.20.0.0/16); each Service selects its own group
 * of 3–15 pods by label; the pods left over are idle.
 */
export function generateScaleObjects(spec: ScaleSpec, seed = 1): object[] {
  const rng = new Rng(seed, 'scale');
  const items: object[] = [
    {
      apiVersion: 'podnet.dev/v1alpha1',
      kind: 'Cluster',
      metadata: { name: 'scale' },
      spec: {
        addons: 'none',
        clusterCIDR: '10.0.0.0/8',
        serviceCIDR: '172.20.0.0/16',
        nodeCIDRMaskSize: 24,
        underlay: { cidr: '172.16.0.0/16', mtu: 1500 },
        loadBalancerPool: '172.16.240.0/20',
        // 2,500 NodePort/LoadBalancer Services and their health-check ports outgrow the default 2,768 ports
        nodePortRange: '30000-39999',
        nodes: spec.nodes,
      },
    },
  ];
  for (let n = 0; n < NAMESPACES; n++)
    items.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns${n}` } });
  items.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'idle' } });
  // groups of consecutive pods back one Service each
  const groups: number[] = [];
  let podIndex = 0;
  for (let s = 0; s < spec.services && podIndex < spec.pods; s++) {
    const n = Math.min(
      spec.minEndpoints + rng.nextInt(spec.maxEndpoints - spec.minEndpoints + 1),
      spec.pods - podIndex,
    );
    groups.push(n);
    podIndex += n;
  }
  let p = 0;
  for (let g = 0; g < groups.length; g++) {
    for (let k = 0; k < groups[g]!; k++, p++) {
      items.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `app${g}-${k}`, namespace: `ns${g % NAMESPACES}`, labels: { app: `app${g}` } },
        spec: {
          containers: [
            {
              name: 'c',
              image: 'registry.k8s.io/e2e-test-images/agnhost:2.47',
              ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
            },
          ],
        },
      });
    }
  }
  for (; p < spec.pods; p++) {
    items.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `idle-${p}`, namespace: 'idle' },
      spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] },
    });
  }
  for (let g = 0; g < groups.length; g++) {
    const type = scaleServiceType(rng.nextInt(100));
    items.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc${g}`, namespace: `ns${g % NAMESPACES}` },
      spec: {
        ...(type === 'Headless' ? { clusterIP: 'None' } : { type }),
        ...(type === 'LoadBalancer' ? { externalTrafficPolicy: 'Local' } : {}),
        selector: { app: `app${g}` },
        ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
      },
    });
  }
  return items;
}

function scaleServiceType(r: number): ScaleServiceType {
  return r < 70 ? 'ClusterIP' : r < 90 ? 'NodePort' : r < 95 ? 'LoadBalancer' : 'Headless';
}

/** {@link generateScaleObjects} as `kubectl get -o json` prints a List. */
export function generateScaleJson(spec: ScaleSpec, seed = 1): string {
  return `${JSON.stringify(
    { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: generateScaleObjects(spec, seed) },
    null,
    4,
  )}\n`;
}
