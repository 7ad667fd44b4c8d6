/**
 * Kubernetes `Deployment` (apps/v1): spec.selector, spec.template and spec.replicas (see
 * workload.ts). The Deployment controller (controllers/deployment.ts) makes its ReplicaSet.
 */
import type { KindReader } from '../state.js';
import { readReplicated, readWorkload, type ReplicatedSpec, type WorkloadObject } from './workload.js';

/** What a valid Deployment asks for. */
export type DeploymentSpec = ReplicatedSpec;

/** A Deployment as read. */
export type DeploymentDraft = WorkloadObject<'Deployment', DeploymentSpec>;

/** Reads Deployment documents. */
export const deploymentKind: KindReader = {
  kind: 'Deployment',
  apiVersions: ['apps/v1'],
  namespaced: true,
  read(obj, state) {
    readWorkload('Deployment', obj, state, (spec): DeploymentSpec | undefined => readReplicated(spec, 'Deployment'));
  },
};
