/**
 * Kubernetes `ReplicaSet` (apps/v1): spec.selector, spec.template and spec.replicas (see
 * workload.ts). The ReplicaSet controller (controllers/replicaset.ts) makes its pods, counting
 * the ones it owns or adopts.
 */
import type { KindReader } from '../state.js';
import { readReplicated, readWorkload, type ReplicatedSpec, type WorkloadObject } from './workload.js';

/** What a valid ReplicaSet asks for. */
export type ReplicaSetSpec = ReplicatedSpec;

/** A ReplicaSet as read. */
export type ReplicaSetDraft = WorkloadObject<'ReplicaSet', ReplicaSetSpec>;

/** Reads ReplicaSet documents. */
export const replicaSetKind: KindReader = {
  kind: 'ReplicaSet',
  apiVersions: ['apps/v1'],
  namespaced: true,
  read(obj, state) {
    readWorkload('ReplicaSet', obj, state, (spec): ReplicaSetSpec | undefined => readReplicated(spec, 'ReplicaSet'));
  },
};
