/**
 * The DaemonSet controller: one pod `<ds>-<5 chars>` on every node it may run on, in node order:
 * the template's nodeSelector and required node affinity, and the node's taints tolerated by the
 * template's tolerations plus the ones the DaemonSet controller adds (node.kubernetes.io/not-ready,
 * unreachable, disk-pressure, memory-pressure, pid-pressure, unschedulable, and
 * network-unavailable for hostNetwork); cordoned nodes included, as the controller does. Each pod
 * is pinned to its node (spec.nodeName). Nodes that already run one of its pods in the input (or
 * when such a pod has no node yet) are skipped; a Succeeded or Failed pod of the input does not
 * count (the controller deletes it and makes a new one, podsShouldBeOnNode).
 */
import type { TaintModel } from '../../model.js';
import type { DaemonSetSpec } from '../readers/daemonset.js';
import type { Toleration } from '../readers/taints.js';
import { podTemplateHash } from './generated-names.js';
import { nodeRefusal, type SchedulingNode } from './scheduler.js';
import { isActive, podNamer, type ExistingPod, type PodSource, type PodStore } from './workload-pods.js';

/**
 * Tolerations the DaemonSet controller adds to every DaemonSet pod
 * (pkg/controller/daemon/util AddOrUpdateDaemonPodTolerations); network-unavailable only for
 * hostNetwork pods.
 */
export function daemonSetTolerations(hostNetwork: boolean): Toleration[] {
  const t = (key: string, effect: TaintModel['effect']): Toleration => ({
    key: `node.kubernetes.io/${key}`,
    operator: 'Exists',
    value: '',
    effect,
  });
  return [
    t('not-ready', 'NoExecute'),
    t('unreachable', 'NoExecute'),
    t('disk-pressure', 'NoSchedule'),
    t('memory-pressure', 'NoSchedule'),
    t('pid-pressure', 'NoSchedule'),
    t('unschedulable', 'NoSchedule'),
    ...(hostNetwork ? [t('network-unavailable', 'NoSchedule')] : []),
  ];
}

/** A valid DaemonSet. */
export interface DaemonSetToRun extends PodSource {
  readonly namespace: string;
  readonly name: string;
  readonly spec: DaemonSetSpec;
}

/** Makes the DaemonSet's pods on `nodes` (in node order); `existing` are the input's pods. */
export function runDaemonSet(
  ds: DaemonSetToRun,
  nodes: readonly SchedulingNode[],
  existing: readonly ExistingPod[],
  store: PodStore,
  seed: number,
): void {
  const { template } = ds.spec;
  const tolerations = [...template.spec.tolerations, ...daemonSetTolerations(template.spec.hostNetwork)];
  const hash = podTemplateHash(template.raw);
  const nextName = podNamer(store, ds.namespace, ds.name, seed);
  nodes.forEach((node, i) => {
    if (nodeRefusal(template.spec, node, tolerations, true) !== undefined) return;
    const has = existing.some(
      (p) =>
        p.namespace === ds.namespace &&
        p.controllerRef?.kind === 'DaemonSet' &&
        p.controllerRef.name === ds.name &&
        isActive(p) &&
        (p.nodeName === node.name || p.nodeName === undefined),
    );
    if (has) return;
    store.add({
      namespace: ds.namespace,
      name: nextName(ds.name),
      labels: { ...template.labels, 'controller-revision-hash': hash, 'pod-template-generation': '1' },
      spec: template.spec,
      nameField: ds.nameField,
      ownerRef: `DaemonSet/${ds.name}`,
      origin: ds.origin,
      seq: ds.seq,
      ordinal: i,
      nodeName: node.name,
      source: ds.source,
    });
  });
}
