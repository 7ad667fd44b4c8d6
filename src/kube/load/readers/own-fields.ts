/**
 * The fields of podnet's own kinds (podnet.dev/v1alpha1 Cluster and Scenario), checked strictly: a key the
 * reader does not read is an error with the nearest known key as a suggestion (`clusterCIRD` → clusterCIDR,
 * `answerdBy` → answeredBy), since a misspelt field would otherwise be ignored and a check pass unchecked.
 * The Cluster's `spec.kubeProxy` is not checked here: it is a KubeProxyConfiguration, which kube-proxy
 * decodes leniently (unknown fields there are notices, see kube-proxy-config.ts).
 */
import type { Field } from '../field.js';

/** ObjectMeta's fields (k8s.io/apimachinery/pkg/apis/meta/v1), accepted in the metadata of podnet's kinds. */
const OBJECT_META = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
] as const;

const ROOT = ['apiVersion', 'kind', 'metadata', 'spec'] as const;

const CLUSTER_SPEC = [
  'clusterCIDR',
  'serviceCIDR',
  'nodeCIDRMaskSize',
  'underlay',
  'cni',
  'links',
  'nodes',
  'externalHosts',
  'nodePortRange',
  'loadBalancerPool',
  'dns',
  'kubeProxy',
  'iptables',
  'addons',
] as const;

/** Each item of the list at `path` that is a mapping (the reader reports the others). */
function items(f: Field, path: string): Field[] {
  const l = f.child(path);
  return l.isList ? (f.list(path) ?? []) : [];
}

function checkRoot(root: Field, spec: readonly string[]): Field {
  root.knownKeys(ROOT);
  root.child('metadata').knownKeys(OBJECT_META);
  const s = root.child('spec');
  s.knownKeys(spec);
  return s;
}

/** Reports unknown fields of a Cluster document. */
export function checkClusterFields(root: Field): void {
  const spec = checkRoot(root, CLUSTER_SPEC);
  spec.child('underlay').knownKeys(['cidr', 'mtu', 'gateway']);
  spec.child('cni').knownKeys(['plugin', 'backend', 'vni', 'port', 'hairpinMode', 'ipMasq', 'mtu']);
  spec.child('links').knownKeys(['veth', 'underlay']);
  for (const n of items(spec, 'nodes')) {
    n.knownKeys(['name', 'ip', 'podCIDR', 'labels', 'taints', 'schedulable']);
    // A Kubernetes Taint (core/v1): timeAdded is part of it, though only the API server sets it.
    for (const t of items(n, 'taints')) t.knownKeys(['key', 'value', 'effect', 'timeAdded']);
  }
  for (const h of items(spec, 'externalHosts')) {
    h.knownKeys(['name', 'ip', 'mtu', 'routes', 'ports']);
    for (const r of items(h, 'routes')) r.knownKeys(['to', 'via']);
    for (const p of items(h, 'ports')) p.knownKeys(['name', 'containerPort', 'protocol']);
  }
  spec.child('dns').knownKeys(['clusterDomain', 'upstream']);
  spec.child('iptables').knownKeys(['randomFully']);
  spec.child('addons').knownKeys(['kubernetesService', 'coreDNS', 'kubeProxy', 'flannel']);
}

/** The fields of a Scenario probe. */
const PROBE = [
  'name',
  'from',
  'to',
  'protocol',
  'port',
  'sourcePort',
  'count',
  'size',
  'df',
  'pmtudisc',
  'interval',
  'start',
  'timeout',
  'expect',
] as const;

/** The fields of a probe's `expect:`. */
export const EXPECT_FIELDS = ['replies', 'lost', 'ttl', 'answeredBy', 'serverSaw', 'error', 'sameAnswer'] as const;

/** Reports unknown fields of a Scenario document. */
export function checkScenarioFields(root: Field): void {
  const spec = checkRoot(root, ['duration', 'parallel', 'probes']);
  for (const p of items(spec, 'probes')) {
    p.knownKeys(PROBE);
    p.child('expect').knownKeys(EXPECT_FIELDS);
  }
}
