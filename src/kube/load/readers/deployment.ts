/**
 * Kubernetes `Deployment` (apps/v1): spec.selector, spec.template and spec.replicas (see
 * workload.ts). The Deployment controller (controllers/deployment.ts) makes its ReplicaSet.
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

/** What a valid Deployment asks for. */
export interface DeploymentSpec {
  readonly selector: LabelSelector;
  readonly template: TemplateDraft;
  readonly replicas: number;
}

/** A Deployment as read. */
export type DeploymentDraft = WorkloadObject<'Deployment', DeploymentSpec>;

/** Reads Deployment documents. */
export const deploymentKind: KindReader = {
  kind: 'Deployment',
  apiVersions: ['apps/v1'],
  namespaced: true,
  read(obj, state) {
    readWorkload('Deployment', obj, state, (spec): DeploymentSpec | undefined => {
      const template = readTemplate(spec.child('template'), 'Deployment');
      const selector = readSelector(spec, template);
      const replicas = readReplicas(spec);
      return template !== undefined && selector !== undefined && replicas !== undefined
        ? { selector, template, replicas }
        : undefined;
    });
  },
};
