/**
 * Label selectors (metav1.LabelSelector: matchLabels and matchExpressions with In, NotIn, Exists,
 * DoesNotExist), node selectors (`spec.nodeSelector`) and required node affinity
 * (`requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`, whose matchExpressions also
 * take Gt and Lt, and matchFields on metadata.name), validated as the apiserver does.
 */
import type { Field } from './field.js';
import { dnsSubdomain, labelKey, labelValue, quote } from './values.js';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

export interface Requirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/** A LabelSelector: every matchLabels pair and every expression must hold. */
export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly Requirement[];
}

/** One node selector term: its expressions (on labels) and fields (on metadata.name) all hold. */
export interface NodeSelectorTerm {
  readonly matchExpressions: readonly Requirement[];
  readonly matchFields: readonly Requirement[];
}

/** Whether `labels` satisfy one requirement. */
export function requirementMatches(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'In':
      return v !== undefined && r.values.includes(v);
    case 'NotIn':
      return v === undefined || !r.values.includes(v);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (v === undefined || !/^-?\d+$/.test(v)) return false;
      const bound = Number(r.values[0]);
      return r.operator === 'Gt' ? Number(v) > bound : Number(v) < bound;
    }
  }
}

export function selectorMatches(sel: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  return (
    Object.entries(sel.matchLabels).every(([k, v]) => labels[k] === v) &&
    sel.matchExpressions.every((r) => requirementMatches(r, labels))
  );
}

/** Whether a selector selects nothing-in-particular (no labels, no expressions): it matches everything. */
export function selectorIsEmpty(sel: LabelSelector): boolean {
  return Object.keys(sel.matchLabels).length === 0 && sel.matchExpressions.length === 0;
}

/** `k=v,k2 in (a,b),!k3` as kubectl prints selectors. */
export function selectorText(sel: LabelSelector): string {
  const parts = Object.entries(sel.matchLabels).map(([k, v]) => `${k}=${v}`);
  for (const r of sel.matchExpressions) {
    switch (r.operator) {
      case 'In':
        parts.push(`${r.key} in (${r.values.join(',')})`);
        break;
      case 'NotIn':
        parts.push(`${r.key} notin (${r.values.join(',')})`);
        break;
      case 'Exists':
        parts.push(r.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${r.key}`);
        break;
      default:
        parts.push(`${r.key} ${r.operator === 'Gt' ? '>' : '<'} ${r.values[0] ?? ''}`);
    }
  }
  return parts.join(',');
}

const LABEL_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
const NODE_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'] as const;

/** A list of requirements at `path` of `parent`; undefined when one is invalid (reported). */
function parseRequirements(
  parent: Field,
  path: string,
  operators: readonly SelectorOperator[],
  keyCheck: (s: string) => string | undefined,
  /** matchFields: each value a node name, exactly one for In and NotIn (validateNodeFieldSelectorRequirement). */
  nodeField = false,
): Requirement[] | undefined {
  const items = parent.list(path, { itemName: 'requirement' });
  if (items === undefined) return parent.child(path).present ? undefined : [];
  const out: Requirement[] = [];
  let ok = true;
  for (const item of items) {
    if (!item.isMap) {
      item.typeError('a mapping with key, operator and values');
      ok = false;
      continue;
    }
    const key = item.str('key', { required: true, check: keyCheck });
    const operator = item.oneOf('operator', operators, { required: true });
    const valuesF = item.child('values');
    const valueItems = item.list('values', { itemName: 'value' });
    const values: string[] = [];
    let itemOk = key !== undefined && operator !== undefined && !(valuesF.present && valueItems === undefined);
    for (const v of valueItems ?? []) {
      const raw = v.raw();
      const s = typeof raw === 'number' || typeof raw === 'boolean' ? undefined : raw;
      if (typeof s !== 'string') {
        v.typeError('a string (quote numbers and booleans)');
        itemOk = false;
        continue;
      }
      // The API server checks every value as a label value (node affinity too, since v1.30), and
      // a matchFields value as a node name.
      const bad = nodeField ? dnsSubdomain(s) : labelValue(s);
      if (bad !== undefined) {
        v.typeError(bad);
        itemOk = false;
        continue;
      }
      values.push(s);
    }
    if (operator !== undefined && itemOk) {
      if (nodeField && (operator === 'In' || operator === 'NotIn') && values.length !== 1) {
        (valuesF.present ? valuesF : item).error(
          `operator ${operator} on a node field needs exactly one value (a node name), got ${values.length}`,
        );
        itemOk = false;
      } else if ((operator === 'In' || operator === 'NotIn') && values.length === 0) {
        (valuesF.present ? valuesF : item).error(`operator ${operator} needs at least one value`);
        itemOk = false;
      } else if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) {
        valuesF.error(`operator ${operator} takes no values, got ${values.length}`);
        itemOk = false;
      } else if ((operator === 'Gt' || operator === 'Lt') && values.length !== 1) {
        (valuesF.present ? valuesF : item).error(
          `operator ${operator} needs exactly one integer value, got ${values.length === 0 ? 'none' : values.map((x) => quote(x)).join(', ')}`,
        );
        itemOk = false;
      } else if ((operator === 'Gt' || operator === 'Lt') && !/^\d+$/.test(values[0] ?? '')) {
        // The API server checks only that there is one value; the scheduler cannot parse it as an
        // integer, so the requirement holds on no node.
        valuesF.notice(
          `operator ${operator} compares integers; ${quote(values[0] ?? '')} is none, so this requirement matches no node ` +
            '(the API server accepts it; the scheduler cannot parse it)',
        );
      }
    }
    if (!itemOk || key === undefined || operator === undefined) {
      ok = false;
      continue;
    }
    out.push({ key, operator, values });
  }
  return ok ? out : undefined;
}

/** A LabelSelector at `f` (present); undefined when invalid (reported). */
export function parseLabelSelector(f: Field): LabelSelector | undefined {
  if (!f.isMap) return f.typeError('a label selector (a mapping with matchLabels and/or matchExpressions)');
  const labelsF = f.child('matchLabels');
  const matchLabels = f.stringMap('matchLabels', labelKey, labelValue);
  const matchExpressions = parseRequirements(f, 'matchExpressions', LABEL_OPERATORS, labelKey);
  if ((labelsF.present && matchLabels === undefined) || matchExpressions === undefined) return undefined;
  return { matchLabels: matchLabels ?? {}, matchExpressions };
}

/**
 * `spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution` of a pod spec; [] when absent (no
 * constraint).
 */
export function parseNodeAffinity(spec: Field): NodeSelectorTerm[] | undefined {
  const req = spec.at('affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution');
  if (!req.present) {
    // Touch the parents so a wrong type is reported.
    spec.map('affinity');
    spec.map('affinity.nodeAffinity');
    return [];
  }
  if (!req.isMap) return req.typeError('a node selector (a mapping with nodeSelectorTerms)');
  const terms = req.list('nodeSelectorTerms', { itemName: 'node selector term', required: true, nonEmpty: true });
  if (terms === undefined) return undefined;
  const out: NodeSelectorTerm[] = [];
  let ok = true;
  for (const t of terms) {
    if (!t.isMap) {
      t.typeError('a mapping with matchExpressions and/or matchFields');
      ok = false;
      continue;
    }
    const matchExpressions = parseRequirements(t, 'matchExpressions', NODE_OPERATORS, labelKey);
    const matchFields = parseRequirements(
      t,
      'matchFields',
      ['In', 'NotIn'],
      (k) => (k === 'metadata.name' ? undefined : '"metadata.name" (the only field nodes can be selected by)'),
      true,
    );
    if (matchExpressions === undefined || matchFields === undefined) {
      ok = false;
      continue;
    }
    out.push({ matchExpressions, matchFields });
  }
  return ok ? out : undefined;
}

/** Whether a node (its name and labels) satisfies the terms: any one term (none: no constraint). */
export function nodeAffinityMatches(
  terms: readonly NodeSelectorTerm[],
  name: string,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (terms.length === 0) return true;
  return terms.some(
    (t) =>
      (t.matchExpressions.length > 0 || t.matchFields.length > 0) &&
      t.matchExpressions.every((r) => requirementMatches(r, labels)) &&
      t.matchFields.every((r) => requirementMatches(r, { 'metadata.name': name })),
  );
}
