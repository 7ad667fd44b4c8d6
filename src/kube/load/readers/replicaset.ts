/**
 * Kubernetes `ReplicaSet` (apps/v1): spec.selector, spec.template and spec.replicas (see
 * workload.ts). The ReplicaSet controller (controllers/replicaset.ts) makes its pods, counting
 * the ones it owns or adopts.
 */
import type { LabelSelector } from '../selector.js';
import type { KindReader } from '../state.js';
import {
  readReplicas,
  readSelector,
  readTemplate,
  readWorkload,
  type TemplateDraft,
  type WorkloadObject,
} from './workload.js';

/** What a valid ReplicaSet asks for. */
export interface ReplicaSetSpec {
  readonly selector: LabelSelector;
  readonly template: TemplateDraft;
  readonly replicas: number;
}

/** A ReplicaSet as read. */
export type ReplicaSetDraft = WorkloadObject<'ReplicaSet', ReplicaSetSpec>;

/** Reads ReplicaSet documents. */
export const replicaSetKind: KindReader = {
  kind: 'ReplicaSet',
  apiVersions: ['apps/v1'],
  namespaced: true,
  read(obj, state) {
    readWorkload('ReplicaSet', obj, state, (spec): ReplicaSetSpec | undefined => {
      const template = readTemplate(spec.child('template'), 'ReplicaSet');
      const selector = readSelector(spec, template);
      const replicas = readReplicas(spec);
      return template !== undefined && selector !== undefined && replicas !== undefined
        ? { selector, template, replicas }
        : undefined;
    });
  },
};
