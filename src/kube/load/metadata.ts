/**
 * `metadata` of every object (ObjectMeta), read in one place for all kinds: `name` (checked by
 * the kind's rule), `namespace` (a DNS-1123 label; each one used is recorded, so undeclared
 * namespaces are created), `labels` (label keys and values), and, leniently (never reported, as
 * podnet only looks at a few of them), `annotations` and `ownerReferences`. Pod templates and Job
 * templates carry an ObjectMeta too: their labels and annotations are read here as well.
 */
import type { Field } from './field.js';
import { referenceNamespace } from './readers/namespace.js';
import type { LoadState, ObjectInput } from './state.js';
import { dnsLabel, labelKey, labelValue, type Check } from './values.js';

/** How a kind's `metadata.name` is read. */
export interface NameRule {
  /** Syntax check: the "expected …" phrase when a name is not acceptable. */
  readonly check: Check;
  /** What to call the name when it is missing or not a string; with it, the name is required. */
  readonly required?: { readonly expected: string };
}

/** Which parts of `metadata` a kind reads (each read part may report problems). */
export interface MetadataRules {
  readonly name?: NameRule;
  /** Read `metadata.namespace` (namespaced kinds). */
  readonly namespace?: boolean;
  /** Read `metadata.labels`. */
  readonly labels?: boolean;
}

/** An owner reference as written (fields that are not strings are undefined). */
export interface OwnerReference {
  readonly kind: string | undefined;
  readonly name: string | undefined;
  readonly controller: boolean;
}

/** An object's metadata as read. */
export interface ObjectMeta {
  /** `metadata` itself (for pointing at it). */
  readonly field: Field;
  /** `metadata.name` when it is a string, valid or not: an object with a bad name still exists for references. */
  readonly name: string | undefined;
  /** `metadata.name` when it passed the kind's check (or was absent and not required: undefined). */
  readonly validName: string | undefined;
  readonly nameField: Field;
  /** `metadata.namespace` as written when a string, else `default`. */
  readonly namespace: string;
  /** `metadata.namespace` when read and valid. */
  readonly validNamespace: string | undefined;
  readonly namespaceField: Field;
  /** `metadata.labels` when read and valid; undefined when absent, invalid (reported) or not read. */
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly labelsField: Field;
  /** No problem in the parts read: the name is valid, the namespace and labels valid or absent. */
  readonly valid: boolean;
  /** `metadata.ownerReferences`, read leniently. */
  readonly ownerReferences: readonly OwnerReference[];
  /** The annotation `key` when the annotations are a mapping holding it (the caller reads its value). */
  annotation(key: string): Field | undefined;
}

/** Reads the parts of `obj`'s metadata `rules` ask for, in the order name, namespace, labels. */
export function readMetadata(obj: ObjectInput, state: LoadState, rules: MetadataRules): ObjectMeta {
  const root = obj.root;
  const metadata = root.child('metadata');
  const nameField = metadata.child('name');
  const name = root.rawStr('metadata.name');
  let valid = true;
  let validName: string | undefined;
  if (rules.name !== undefined) {
    validName = readName(root, rules.name);
    if (validName === undefined && (rules.name.required !== undefined || nameField.present)) valid = false;
  }
  const namespaceField = metadata.child('namespace');
  let validNamespace: string | undefined;
  if (rules.namespace === true) {
    validNamespace = root.str('metadata.namespace', { check: dnsLabel });
    if (validNamespace !== undefined) referenceNamespace(state, validNamespace, obj.label, namespaceField);
    else if (namespaceField.present) valid = false;
  }
  const labelsField = metadata.child('labels');
  let labels: Record<string, string> | undefined;
  if (rules.labels === true) {
    labels = root.stringMap('metadata.labels', labelKey, labelValue);
    if (labels === undefined && labelsField.present) valid = false;
  }
  return {
    field: metadata,
    name,
    validName,
    nameField,
    namespace: root.rawStr('metadata.namespace') ?? 'default',
    validNamespace,
    namespaceField,
    labels,
    labelsField,
    valid,
    ownerReferences: ownerReferences(metadata),
    annotation: (key) => annotation(metadata, key),
  };
}

/**
 * `metadata.name` of the object at `root` checked by `rule`: undefined when invalid (reported),
 * or when absent (reported when required). Kinds with a default name (Cluster, Scenario) use it.
 */
export function readName(root: Field, rule: NameRule): string | undefined {
  const required = rule.required;
  return root.str(
    'metadata.name',
    required !== undefined ? { required: true, check: rule.check, expected: required.expected } : { check: rule.check },
  );
}

/** The metadata of a pod or Job template: labels (reported when invalid) and annotations. */
export interface TemplateMeta {
  /** undefined when invalid (reported); {} when absent. */
  readonly labels: Readonly<Record<string, string>> | undefined;
  annotation(key: string): Field | undefined;
}

/** Reads `metadata` of the template at `template` (a mapping). */
export function readTemplateMetadata(template: Field): TemplateMeta {
  const labels = template.stringMap('metadata.labels', labelKey, labelValue);
  const metadata = template.child('metadata');
  return {
    labels: labels ?? (template.at('metadata.labels').present ? undefined : {}),
    annotation: (key) => annotation(metadata, key),
  };
}

/** The controlling owner reference with a kind and a name (as the controllers look their pods up). */
export function controllerOf(meta: ObjectMeta): { readonly kind: string; readonly name: string } | undefined {
  for (const r of meta.ownerReferences) {
    if (r.controller && r.kind !== undefined && r.name !== undefined) return { kind: r.kind, name: r.name };
  }
  return undefined;
}

/** The controlling owner reference, or else the first one; undefined when the one picked lacks a kind or name. */
export function ownerOf(
  meta: ObjectMeta,
): { readonly kind: string; readonly name: string; readonly controller: boolean } | undefined {
  const controller = meta.ownerReferences.find((r) => r.controller);
  const pick = controller ?? meta.ownerReferences[0];
  const kind = pick?.kind;
  const name = pick?.name;
  return kind !== undefined && name !== undefined ? { kind, name, controller: controller !== undefined } : undefined;
}

/** The value of label `key` of the object at `root`, read leniently (undefined when absent or not a string). */
export function labelOf(root: Field, key: string): string | undefined {
  const metadata = root.child('metadata');
  if (!metadata.isMap) return undefined;
  const labels = metadata.child('labels');
  if (!labels.isMap) return undefined;
  return labels.child(key).rawStr();
}

function annotation(metadata: Field, key: string): Field | undefined {
  if (!metadata.isMap) return undefined;
  const annotations = metadata.child('annotations');
  if (!annotations.isMap) return undefined;
  const a = annotations.child(key);
  return a.present ? a : undefined;
}

function ownerReferences(metadata: Field): OwnerReference[] {
  if (!metadata.isMap) return [];
  const refs = metadata.child('ownerReferences');
  if (!refs.isList) return [];
  return (refs.list('') ?? []).map((r) => ({
    kind: r.rawStr('kind'),
    name: r.rawStr('name'),
    controller: r.raw('controller') === true,
  }));
}
