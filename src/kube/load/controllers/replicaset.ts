/**
 * The ReplicaSet controller, and the ReplicationController's (kube-controller-manager runs the
 * same code for both, pkg/controller/replication): pods `<rs>-<5 chars>` (suffixes drawn from
 * the load's seed), as many as spec.replicas less the pods it has already: pods of the input it
 * controls (ownerReferences naming its kind and name) or that have no controller and match its
 * selector (it adopts them, as the ReplicaSet tutorial with bare pods shows; a pod is adopted
 * once, by the first ReplicaSet in load order, and only among objects of the same origin, so an
 * addon's ReplicaSet never adopts the input's pods). Succeeded and Failed pods neither count nor
 * get adopted.
 */
import type { LabelSelector } from '../selector.js';
import type { PodSpecDraft } from '../readers/pod.js';
import { selectorMatches } from '../selector.js';
import { isActive, podNamer, type ExistingPod, type PodSource, type PodStore } from './workload-pods.js';

/** A ReplicaSet to run: one of the input, the one a Deployment makes, or a ReplicationController. */
export interface ReplicaSetToRun {
  /** The owner kind of its pods (default ReplicaSet). */
  readonly kind?: 'ReplicaSet' | 'ReplicationController' | undefined;
  readonly namespace: string;
  readonly name: string;
  readonly selector: LabelSelector;
  /** The labels of its pods. */
  readonly labels: Readonly<Record<string, string>>;
  readonly replicas: number;
  readonly spec: PodSpecDraft;
  /** The object in the input behind it (the Deployment, for a Deployment's ReplicaSet). */
  readonly from: PodSource;
}

/**
 * Makes the pods `rs` still lacks. `existing` are the input's pods; `adopted` is shared by every
 * ReplicaSet of the load, so that a pod counts toward one only.
 */
export function runReplicaSet<E extends ExistingPod>(
  rs: ReplicaSetToRun,
  existing: readonly E[],
  adopted: Set<E>,
  store: PodStore,
  seed: number,
): void {
  const kind = rs.kind ?? 'ReplicaSet';
  let have = 0;
  for (const p of existing) {
    // Finished pods neither count nor get adopted (the controller filters active pods first).
    if (p.namespace !== rs.namespace || !isActive(p)) continue;
    if (p.controllerRef?.kind === kind && p.controllerRef.name === rs.name) have++;
    else if (
      p.controllerRef === undefined &&
      p.origin === rs.from.origin &&
      selectorMatches(rs.selector, p.labels) &&
      !adopted.has(p)
    ) {
      adopted.add(p); // an orphan matching the selector is adopted
      have++;
    }
  }
  const nextName = podNamer(store, rs.namespace, rs.name, seed);
  for (let i = 0; i < rs.replicas - have; i++) {
    store.add({
      namespace: rs.namespace,
      name: nextName(rs.name),
      labels: rs.labels,
      spec: rs.spec,
      nameField: rs.from.nameField,
      ownerRef: `${kind}/${rs.name}`,
      origin: rs.from.origin,
      seq: rs.from.seq,
      ordinal: i,
      source: rs.from.source,
    });
  }
}
