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
    if (key === undefined || value === undefined || effect === undefined) continue;
    // as the API server requires (validateNodeTaints)
    if (out.some((o) => o.key === key && o.effect === effect)) {
      t.error(`taints must be unique by key and effect pair: ${key}:${effect} is there twice`);
      continue;
    }
    out.push({ key, value, effect });
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
    // As the API server checks them (ValidateTolerations): a key is a label key; an empty key
    // needs Exists (match every taint); Exists takes no value, Equal a label value;
    // tolerationSeconds only with NoExecute.
    const key = t.str('key', { default: '', check: (k) => (k === '' ? undefined : labelKey(k)) });
    const operator = t.oneOf('operator', ['Exists', 'Equal'] as const, { default: 'Equal' });
    const value = t.str('value', { default: '', check: (v) => (operator === 'Exists' ? undefined : labelValue(v)) });
    const effect = t.oneOf('effect', TAINT_EFFECTS);
    let ok = true;
    if (key === '' && operator === 'Equal') {
      (t.child('operator').present ? t.child('operator') : t).error(
        'operator must be Exists when `key` is empty, which means "match all values and all keys"',
      );
      ok = false;
    }
    if (operator === 'Exists' && value !== undefined && value !== '') {
      t.child('value').error("value must be empty when `operator` is 'Exists'");
      ok = false;
    }
    if (t.child('tolerationSeconds').present && effect !== 'NoExecute') {
      t.child('tolerationSeconds').error("effect must be 'NoExecute' when `tolerationSeconds` is set");
      ok = false;
    }
    if (
      !ok ||
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
