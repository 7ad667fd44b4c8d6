/**
 * The Deployment controller: a Deployment (spec.replicas, default 1) makes the ReplicaSet
 * `<deploy>-<hash>`, the hash being the pod-template-hash (see generated-names.ts podTemplateHash);
 * the ReplicaSet and its pods carry the label pod-template-hash=<hash>, and its selector adds it.
 * When the input already holds the Deployment's state — a ReplicaSet it controls, pods of a
 * ReplicaSet named `<deploy>-…` that it selects, or a ReplicaSet of that very name — it makes
 * nothing, so `kubectl get all -o yaml` output loads as the cluster it came from.
 */
import type { DeploymentSpec } from '../readers/deployment.js';
import { selectorMatches, type LabelSelector } from '../selector.js';
import { podTemplateHash } from './generated-names.js';
import type { ReplicaSetToRun } from './replicaset.js';
import type { ExistingPod, PodSource } from './workload-pods.js';

/** A valid Deployment. */
export interface DeploymentToRun extends PodSource {
  readonly namespace: string;
  readonly name: string;
  readonly spec: DeploymentSpec;
}

/** A ReplicaSet of the input, as far as the Deployment controller looks at it. */
export interface ExistingReplicaSet {
  readonly namespace: string;
  readonly name: string;
  readonly controllerRef: { readonly kind: string; readonly name: string } | undefined;
}

/** The ReplicaSet the Deployment makes, for the ReplicaSet controller; undefined when the input holds it. */
export function deploymentReplicaSet(
  d: DeploymentToRun,
  replicaSets: readonly ExistingReplicaSet[],
  existing: readonly ExistingPod[],
): ReplicaSetToRun | undefined {
  const { selector, template, replicas } = d.spec;
  const ownRS = replicaSets.some(
    (rs) => rs.namespace === d.namespace && rs.controllerRef?.kind === 'Deployment' && rs.controllerRef.name === d.name,
  );
  const ownPods = existing.some(
    (p) =>
      p.namespace === d.namespace &&
      p.controllerRef?.kind === 'ReplicaSet' &&
      p.controllerRef.name.startsWith(`${d.name}-`) &&
      selectorMatches(selector, p.labels),
  );
  if (ownRS || ownPods) return undefined;
  const hash = podTemplateHash(template.raw);
  const name = `${d.name}-${hash}`;
  if (replicaSets.some((rs) => rs.namespace === d.namespace && rs.name === name)) return undefined;
  const rsSelector: LabelSelector = {
    matchLabels: { ...selector.matchLabels, 'pod-template-hash': hash },
    matchExpressions: selector.matchExpressions,
  };
  return {
    namespace: d.namespace,
    name,
    selector: rsSelector,
    labels: { ...template.labels, 'pod-template-hash': hash },
    replicas,
    spec: template.spec,
    from: d,
  };
}
