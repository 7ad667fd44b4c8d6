/**
 * Kubernetes `DaemonSet` (apps/v1): spec.selector and spec.template (see workload.ts). The
 * DaemonSet controller (controllers/daemonset.ts) makes one pod per node that accepts it.
 */
import type { LabelSelector } from '../selector.js';
import type { KindReader } from '../state.js';
import { readSelector, readTemplate, readWorkload, type TemplateDraft, type WorkloadObject } from './workload.js';

/** What a valid DaemonSet asks for. */
export interface DaemonSetSpec {
  readonly selector: LabelSelector;
  readonly template: TemplateDraft;
}

/** A DaemonSet as read. */
export type DaemonSetDraft = WorkloadObject<'DaemonSet', DaemonSetSpec>;

/** Reads DaemonSet documents. */
export const daemonSetKind: KindReader = {
  kind: 'DaemonSet',
  apiVersions: ['apps/v1'],
  namespaced: true,
  read(obj, state) {
    readWorkload('DaemonSet', obj, state, (spec): DaemonSetSpec | undefined => {
      const template = readTemplate(spec.child('template'), 'DaemonSet');
      const selector = readSelector(spec, template);
      return template !== undefined && selector !== undefined ? { selector, template } : undefined;
    });
  },
};
