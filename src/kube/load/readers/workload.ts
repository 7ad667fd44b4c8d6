/**
 * What the workload readers share (Deployment, ReplicaSet, StatefulSet, DaemonSet in apps/v1; Job
 * and CronJob in batch/v1; ReplicationController in v1): each is read and validated like the
 * apiserver would, the pod template like a Pod, so errors point at
 * `spec.template.spec.containers[0].ports[1].containerPort` of `Deployment default/web`. What
 * their controllers make of them is in controllers/.
 *
 * Common fields: metadata.name/namespace/labels/ownerReferences; spec.selector (a LabelSelector:
 * matchLabels and matchExpressions with In, NotIn, Exists, DoesNotExist; required for the apps/v1
 * kinds, must not be empty and must select the template's labels); spec.template (metadata.labels,
 * the annotation `podnet.dev/run-time` for Jobs, and a pod spec read as a Pod's spec, see pod.ts);
 * spec.replicas (0–150,000, default 1). Unknown fields are ignored.
 */
import type { Nanos } from '../../../sim/time.js';
import type { ObjectOrigin, SourceRef } from '../../model.js';
import type { Field } from '../field.js';
import { controllerOf, readMetadata, readTemplateMetadata, type ObjectMeta, type TemplateMeta } from '../metadata.js';
import { parseLabelSelector, selectorIsEmpty, selectorMatches, selectorText, type LabelSelector } from '../selector.js';
import { StateKey, addUnique, type LoadState, type ObjectInput } from '../state.js';
import { dnsSubdomain } from '../values.js';
import { LISTEN_ANNOTATION } from './listen.js';
import { parsePodSpec, type PodSpecDraft } from './pod.js';

/** The workload kinds podnet expands into pods. */
export type WorkloadKind =
  | 'Deployment'
  | 'ReplicaSet'
  | 'ReplicationController'
  | 'StatefulSet'
  | 'DaemonSet'
  | 'Job'
  | 'CronJob';

/** Largest replicas / completions / parallelism: Kubernetes' published limit of 150,000 pods per cluster. */
export const MAX_REPLICAS = 150_000;

/** Annotation giving how long a Job's pods run. */
export const RUN_TIME_ANNOTATION = 'podnet.dev/run-time';

/** A pod template as read. */
export interface TemplateDraft {
  readonly field: Field;
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: PodSpecDraft;
  /** The template as plain data, for the pod-template-hash. */
  readonly raw: unknown;
  /** `podnet.dev/run-time` on the template. */
  readonly runTime: Nanos | undefined;
}

/** A workload object as read; `spec` is undefined when anything in it is invalid (reported). */
export interface WorkloadObject<K extends WorkloadKind, S> {
  readonly kind: K;
  readonly namespace: string;
  readonly name: string;
  /** `Deployment default/web`. */
  readonly label: string;
  /** Where problems of the workload and of its pods are reported. */
  readonly nameField: Field;
  readonly origin: ObjectOrigin;
  /** The workload's place in load order: its pods are placed there. */
  readonly seq: number;
  readonly source: SourceRef;
  readonly labels: Readonly<Record<string, string>>;
  /** The controller owner reference given in the input (a Deployment's ReplicaSet in an export). */
  readonly controllerRef: { readonly kind: string; readonly name: string } | undefined;
  readonly spec: S | undefined;
}

/** The workload objects of the input, in document order. */
const WORKLOADS = new StateKey<{
  readonly drafts: Array<WorkloadObject<WorkloadKind, unknown>>;
  readonly byKey: Map<string, WorkloadObject<WorkloadKind, unknown>>;
}>('workloads', () => ({ drafts: [], byKey: new Map() }));

/** Every workload object read (valid or not), in document order. */
export function workloadObjects(state: LoadState): ReadonlyArray<WorkloadObject<WorkloadKind, unknown>> {
  return state.get(WORKLOADS).drafts;
}

/**
 * Reads a workload object: its metadata, that its spec is a mapping, then what `readSpec` reads
 * of the spec (undefined when anything there is invalid, reported); keeps it unless another of
 * the same kind, namespace and name came first. Returns it for the kind's own list.
 */
export function readWorkload<K extends WorkloadKind, S>(
  kind: K,
  obj: ObjectInput,
  state: LoadState,
  readSpec: (spec: Field, meta: ObjectMeta) => S | undefined,
): WorkloadObject<K, S> | undefined {
  const root = obj.root;
  const nameCheck =
    kind === 'CronJob'
      ? (s: string): string | undefined =>
          s.length > 52 ? 'a CronJob name of at most 52 characters (its Jobs add 11)' : dnsSubdomain(s)
      : dnsSubdomain;
  const meta = readMetadata(obj, state, {
    name: { check: nameCheck, required: { expected: `the ${kind} name (a DNS-1123 subdomain)` } },
    namespace: true,
    labels: true,
  });
  let valid = meta.valid;

  let spec = root.child('spec');
  if (!spec.present) {
    spec.missing(`the ${kind} spec (a mapping)`);
    valid = false;
  } else if (!spec.isMap) {
    spec.typeError(`the ${kind} spec (a mapping)`);
    spec = spec.silenced();
    valid = false;
  }
  const read = readSpec(spec, meta);

  if (meta.name === undefined) return undefined;
  const w: WorkloadObject<K, S> = {
    kind,
    namespace: obj.effectiveNamespace ?? 'default',
    name: meta.name,
    label: obj.label,
    nameField: meta.nameField,
    origin: obj.origin,
    seq: obj.seq,
    source: obj.source,
    labels: meta.labels ?? {},
    controllerRef: controllerOf(meta),
    spec: valid ? read : undefined,
  };
  const s = state.get(WORKLOADS);
  addUnique(
    s.byKey,
    s.drafts,
    `${kind}/${w.namespace}/${w.name}`,
    w,
    `${kind} ${w.namespace}/${w.name}`,
    obj.source.file,
  );
  return w;
}

/** `spec.template` of a workload (`kind` names it in messages); undefined when invalid (reported). */
export function readTemplate(f: Field, kind: WorkloadKind): TemplateDraft | undefined {
  if (!f.present) {
    f.missing('a pod template (a mapping with metadata.labels and spec)');
    return undefined;
  }
  if (!f.isMap) return f.typeError('a pod template (a mapping with metadata.labels and spec)');
  const meta = readTemplateMetadata(f);
  const spec = f.map('spec', { required: true, expected: 'the pod spec (a mapping with containers)' });
  const podSpec = parsePodSpec(spec ?? f.child('spec'), spec, meta.annotation(LISTEN_ANNOTATION));
  const runTime = runTimeOf(meta);
  if (kind === 'Job' || kind === 'CronJob') {
    const rp = spec?.child('restartPolicy');
    if (spec !== undefined && rp !== undefined && !rp.present) {
      rp.missing('"Never" or "OnFailure" (a Job\'s pods must not restart for ever)');
    } else if (podSpec.restartPolicy === 'Always') {
      rp?.error('expected "Never" or "OnFailure" for a Job\'s pods, got "Always"');
    }
  }
  if (
    spec === undefined ||
    meta.labels === undefined ||
    podSpec.containers === undefined ||
    podSpec.affinity === undefined ||
    runTime === null
  )
    return undefined;
  return { field: f, labels: meta.labels, spec: podSpec, raw: f.toJS(), runTime };
}

/** `spec.selector` of an apps/v1 workload: required, not empty, selecting the template's labels. */
export function readSelector(spec: Field, template: TemplateDraft | undefined): LabelSelector | undefined {
  const selF = spec.child('selector');
  if (!selF.present) {
    selF.missing('a label selector (spec.selector.matchLabels) selecting the template labels');
    return undefined;
  }
  const selector = parseLabelSelector(selF);
  if (selector === undefined) return undefined;
  if (selectorIsEmpty(selector)) {
    selF.error('an empty selector selects every pod; select the template labels (spec.selector.matchLabels)');
    return undefined;
  }
  if (template !== undefined && !selectorMatches(selector, template.labels)) {
    selF.error(
      `selector ${selectorText(selector)} does not select the template's labels (${
        Object.entries(template.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || 'none'
      }): spec.template.metadata.labels must match it`,
    );
    return undefined;
  }
  return selector;
}

/** `spec.replicas` (default 1); undefined when invalid (reported). */
export function readReplicas(spec: Field): number | undefined {
  return spec.int('replicas', 0, MAX_REPLICAS, { default: 1 });
}

/** The spec every replicated workload has (Deployment, ReplicaSet, StatefulSet). */
export interface ReplicatedSpec {
  readonly selector: LabelSelector;
  readonly template: TemplateDraft;
  readonly replicas: number;
}

/**
 * spec.template, spec.selector and spec.replicas, read in that order (each one's problems are
 * reported); undefined when one of them is missing or wrong.
 */
export function readReplicated(spec: Field, kind: WorkloadKind): ReplicatedSpec | undefined {
  const template = readTemplate(spec.child('template'), kind);
  const selector = readSelector(spec, template);
  const replicas = readReplicas(spec);
  return template !== undefined && selector !== undefined && replicas !== undefined
    ? { selector, template, replicas }
    : undefined;
}

/** The `podnet.dev/run-time` annotation: a duration; undefined when absent, null when invalid (reported). */
export function runTimeOf(meta: TemplateMeta | ObjectMeta): Nanos | undefined | null {
  const a = meta.annotation(RUN_TIME_ANNOTATION);
  if (a === undefined) return undefined;
  return a.duration('', { positive: true }) ?? null;
}
