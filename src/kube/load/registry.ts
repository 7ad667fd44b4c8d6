/**
 * The kind registry: which module handles which `kind`. Supporting a new kind means writing a
 * `KindHandler` module under kinds/ and listing it here (replacing its deferred entry).
 */
import { clusterKind } from './kinds/cluster.js';
import { DEFERRED_KINDS, deferredKind } from './kinds/deferred.js';
import { endpointsKind } from './kinds/endpoints.js';
import { endpointSliceKind } from './kinds/endpointslice.js';
import { namespaceKind } from './kinds/namespace.js';
import { nodeKind } from './kinds/node.js';
import { podKind } from './kinds/pod.js';
import { scenarioKind } from './kinds/scenario.js';
import { serviceKind } from './kinds/service.js';
import { cronJobKind, daemonSetKind, deploymentKind, jobKind, replicaSetKind, statefulSetKind } from './kinds/workloads.js';
import type { KindHandler } from './state.js';

const HANDLED: readonly KindHandler[] = [
  clusterKind,
  nodeKind,
  namespaceKind,
  podKind,
  deploymentKind,
  replicaSetKind,
  statefulSetKind,
  daemonSetKind,
  jobKind,
  cronJobKind,
  endpointSliceKind,
  endpointsKind,
  serviceKind,
  scenarioKind,
];

export const HANDLERS: ReadonlyMap<string, KindHandler> = new Map<string, KindHandler>([
  ...DEFERRED_KINDS.map(([kind, namespaced]) => [kind, deferredKind(kind, namespaced)] as const),
  ...HANDLED.map((h) => [h.kind, h] as const),
]);

/** Resolve phases of all handlers, in order. */
export const PHASES: ReadonlyArray<NonNullable<KindHandler['resolve']>> = [...HANDLERS.values()]
  .map((h) => h.resolve)
  .filter((r): r is NonNullable<KindHandler['resolve']> => r !== undefined)
  .sort((a, b) => a.order - b.order);

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
