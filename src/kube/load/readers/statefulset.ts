/**
 * Kubernetes `StatefulSet` (apps/v1): spec.selector, spec.template, spec.replicas (see
 * workload.ts), spec.serviceName (a DNS-1123 label, the headless Service giving the pods their DNS
 * names; "" is none) and spec.podManagementPolicy (checked, not modelled: pods exist from the
 * start). The StatefulSet controller (controllers/statefulset.ts) makes its pods.
 */
import type { Field } from '../field.js';
import type { KindReader } from '../state.js';
import { dnsLabel } from '../values.js';
import { readReplicated, readWorkload, type ReplicatedSpec, type WorkloadObject } from './workload.js';

/** What a valid StatefulSet asks for. */
export interface StatefulSetSpec extends ReplicatedSpec {
  /** spec.serviceName when given and valid. */
  readonly serviceName: string | undefined;
  readonly serviceNameField: Field;
}

/** A StatefulSet as read. */
export type StatefulSetDraft = WorkloadObject<'StatefulSet', StatefulSetSpec>;

/** Reads StatefulSet documents. */
export const statefulSetKind: KindReader = {
  kind: 'StatefulSet',
  apiVersions: ['apps/v1'],
  namespaced: true,
  read(obj, state) {
    readWorkload('StatefulSet', obj, state, (spec): StatefulSetSpec | undefined => {
      const replicated = readReplicated(spec, 'StatefulSet');
      let serviceName = spec.str('serviceName', { check: (s) => (s === '' ? undefined : dnsLabel(s)) });
      if (serviceName === '') serviceName = undefined;
      // (a name failing the check is reported, and left out, without spoiling the rest)
      const serviceNameOk = !spec.child('serviceName').present || spec.str('serviceName') !== undefined;
      spec.oneOf('podManagementPolicy', ['OrderedReady', 'Parallel'] as const);
      if (replicated === undefined || !serviceNameOk) return undefined;
      return { ...replicated, serviceName, serviceNameField: spec.child('serviceName') };
    });
  },
};
