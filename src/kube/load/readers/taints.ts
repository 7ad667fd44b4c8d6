/**
 * Taints and tolerations, shared by the Cluster's nodes, Node objects, Pods and pod templates:
 * parsing, and the toleration check kube-scheduler and the DaemonSet controller apply
 * (k8s.io/api/core/v1 Toleration.ToleratesTaint).
 */
import type { TaintModel } from '../../model.js';
import type { Field } from '../field.js';
import { labelKey, labelValue } from '../values.js';

/** A toleration of a pod spec. */
export interface Toleration {
  readonly key: string;
  readonly operator: 'Exists' | 'Equal';
  readonly value: string;
  readonly effect: TaintModel['effect'] | '';
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

/** `taints` of a node (Cluster node entry or Node spec): key, value, effect. */
export function parseTaints(node: Field): TaintModel[] {
  const items = node.list('taints') ?? [];
  const out: TaintModel[] = [];
  for (const t of items) {
    if (!t.isMap) {
      t.typeError('a mapping with key, value and effect');
      continue;
    }
    const key = t.str('key', { required: true, check: labelKey });
    const value = t.str('value', { default: '', check: labelValue });
    const effect = t.oneOf('effect', TAINT_EFFECTS, { required: true });
    if (key !== undefined && value !== undefined && effect !== undefined) out.push({ key, value, effect });
  }
  return out;
}

/** `tolerations` of a pod spec. */
export function parseTolerations(spec: Field): Toleration[] {
  const items = spec.list('tolerations') ?? [];
  const out: Toleration[] = [];
  for (const t of items) {
    if (!t.isMap) {
      t.typeError('a mapping with key, operator, value and effect');
      continue;
    }
    const key = t.str('key', { default: '' });
    const operator = t.oneOf('operator', ['Exists', 'Equal'] as const, { default: 'Equal' });
    const value = t.str('value', { default: '' });
    const effect = t.oneOf('effect', TAINT_EFFECTS);
    if (
      key === undefined ||
      operator === undefined ||
      value === undefined ||
      (t.child('effect').present && effect === undefined)
    )
      continue;
    out.push({ key, operator, value, effect: effect ?? '' });
  }
  return out;
}

/** Whether one of `tolerations` tolerates `taint`. */
export function tolerates(tolerations: readonly Toleration[], taint: TaintModel): boolean {
  return tolerations.some(
    (t) =>
      (t.effect === '' || t.effect === taint.effect) &&
      (t.operator === 'Exists' ? t.key === '' || t.key === taint.key : t.key === taint.key && t.value === taint.value),
  );
}

/** `key[=value]:Effect`, as kubectl prints a taint. */
export function taintText(t: TaintModel): string {
  return `${t.key}${t.value !== '' ? `=${t.value}` : ''}:${t.effect}`;
}

/** The label marking control-plane nodes (kubeadm). */
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';
/** The control-plane label before v1.24. */
export const LEGACY_MASTER_LABEL = 'node-role.kubernetes.io/master';

/** kubeadm's taint on control-plane nodes. */
export const CONTROL_PLANE_TAINT: TaintModel = { key: CONTROL_PLANE_LABEL, value: '', effect: 'NoSchedule' };
