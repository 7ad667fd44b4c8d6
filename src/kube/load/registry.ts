/**
 * The kind registry: which reader reads which `kind`. Supporting a new kind means writing a
 * `KindReader` under readers/ and listing it here (replacing its deferred entry), and, when the
 * cluster derives state from it, a controller under controllers/ called from load.ts.
 */
import { clusterKind } from './readers/cluster.js';
import { cronJobKind } from './readers/cronjob.js';
import { daemonSetKind } from './readers/daemonset.js';
import { DEFERRED_KINDS, deferredKind } from './readers/deferred.js';
import { deploymentKind } from './readers/deployment.js';
import { endpointsKind } from './readers/endpoints.js';
import { endpointSliceKind } from './readers/endpointslice.js';
import { jobKind } from './readers/job.js';
import { configMapKind } from './readers/kube-proxy-config.js';
import { namespaceKind } from './readers/namespace.js';
import { nodeKind } from './readers/node.js';
import { podKind } from './readers/pod.js';
import { replicaSetKind } from './readers/replicaset.js';
import { replicationControllerKind } from './readers/replicationcontroller.js';
import { scenarioKind } from './readers/scenario.js';
import { serviceKind } from './readers/service.js';
import { statefulSetKind } from './readers/statefulset.js';
import type { KindReader } from './state.js';

const READ: readonly KindReader[] = [
  clusterKind,
  nodeKind,
  namespaceKind,
  podKind,
  deploymentKind,
  replicaSetKind,
  replicationControllerKind,
  statefulSetKind,
  daemonSetKind,
  jobKind,
  cronJobKind,
  endpointSliceKind,
  endpointsKind,
  serviceKind,
  scenarioKind,
  configMapKind,
];

/** The reader of each kind podnet reads (deferred kinds included). */
export const READERS: ReadonlyMap<string, KindReader> = new Map<string, KindReader>([
  ...DEFERRED_KINDS.map(([kind, namespaced]) => [kind, deferredKind(kind, namespaced)] as const),
  ...READ.map((h) => [h.kind, h] as const),
]);

/** Well-known cluster-scoped kinds, so ignored-object notices do not invent a namespace. */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  'APIService',
  'CSIDriver',
  'CSINode',
  'CertificateSigningRequest',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'IngressClass',
  'MutatingWebhookConfiguration',
  'PersistentVolume',
  'PriorityClass',
  'RuntimeClass',
  'StorageClass',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'ValidatingWebhookConfiguration',
  'VolumeAttachment',
]);

/**
 * Namespaced Kubernetes kinds podnet ignores (with a notice): with READERS and CLUSTER_SCOPED_KINDS, the kinds
 * a misspelt `kind:` is compared against for a "did you mean" suggestion.
 */
export const IGNORED_NAMESPACED_KINDS: ReadonlySet<string> = new Set([
  'Binding',
  'ConfigMap',
  'ControllerRevision',
  'CSIStorageCapacity',
  'Event',
  'HorizontalPodAutoscaler',
  'Ingress',
  'Lease',
  'LimitRange',
  'LocalSubjectAccessReview',
  'NetworkPolicy',
  'PersistentVolumeClaim',
  'PodDisruptionBudget',
  'PodTemplate',
  'ResourceQuota',
  'Role',
  'RoleBinding',
  'Secret',
  'ServiceAccount',
]);

/** Every kind name a misspelt `kind:` may be near: the kinds podnet reads and the Kubernetes kinds it ignores. */
export const KNOWN_KINDS: readonly string[] = [
  ...READERS.keys(),
  ...CLUSTER_SCOPED_KINDS,
  ...IGNORED_NAMESPACED_KINDS,
  'Namespace',
  'Node',
];
