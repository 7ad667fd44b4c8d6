/**
 * The StatefulSet controller: pods `<sts>-0 … <sts>-N-1` with hostname = pod name and subdomain =
 * spec.serviceName, labelled statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index and
 * controller-revision-hash; ordinals whose pod is in the input are not created again. A notice
 * when spec.serviceName names no Service: the pods' DNS names need a headless Service of that name.
 */
import type { StatefulSetSpec } from '../readers/statefulset.js';
import { podTemplateHash } from './generated-names.js';
import type { PodSource, PodStore } from './workload-pods.js';

/** A valid StatefulSet. */
export interface StatefulSetToRun extends PodSource {
  readonly namespace: string;
  readonly name: string;
  readonly spec: StatefulSetSpec;
}

/** Makes the StatefulSet's pods; `serviceMayExist`: a Service is in the input (or may be, unread). */
export function runStatefulSet(
  s: StatefulSetToRun,
  store: PodStore,
  serviceMayExist: (namespace: string, name: string) => boolean,
): void {
  const { template, replicas, serviceName } = s.spec;
  if (serviceName !== undefined && !serviceMayExist(s.namespace, serviceName)) {
    s.spec.serviceNameField.notice(
      `no Service ${s.namespace}/${serviceName}: the pods' DNS names (${s.name}-0.${serviceName}.${s.namespace}.svc.cluster.local) need a headless Service of that name`,
    );
  }
  const hash = podTemplateHash(template.raw);
  for (let i = 0; i < replicas; i++) {
    const name = `${s.name}-${i}`;
    if (store.taken(s.namespace, name)) continue; // its pod is in the input
    store.add({
      namespace: s.namespace,
      name,
      labels: {
        ...template.labels,
        'apps.kubernetes.io/pod-index': String(i),
        'controller-revision-hash': `${s.name}-${hash}`,
        'statefulset.kubernetes.io/pod-name': name,
      },
      spec: template.spec,
      nameField: s.nameField,
      ownerRef: `StatefulSet/${s.name}`,
      origin: s.origin,
      seq: s.seq,
      ordinal: i,
      hostname: name,
      subdomain: serviceName,
      source: s.source,
    });
  }
}
