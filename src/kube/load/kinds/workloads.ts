/**
 * Workloads and their controllers: Deployment, ReplicaSet, StatefulSet, DaemonSet (apps/v1), Job
 * and CronJob (batch/v1). Each is read and validated like the apiserver would (the pod template
 * like a Pod, so errors point at `spec.template.spec.containers[0].ports[1].containerPort` of
 * `Deployment default/web`), then expanded into pods deterministically, as the controllers would
 * create them (resolve order 25, after the nodes are known and before pods are placed).
 *
 * Common fields: metadata.name/namespace/labels/ownerReferences; spec.selector (a LabelSelector:
 * matchLabels and matchExpressions with In, NotIn, Exists, DoesNotExist; required for the apps/v1
 * kinds and must select the template's labels); spec.template (metadata.labels and a pod spec,
 * read as a Pod's spec, see pod.ts). Unknown fields are ignored.
 *
 * Controllers (pod names use the alphabet "bcdfghjklmnpqrstvwxz2456789", suffixes drawn from the
 * load's seed, so the same seed gives the same names):
 *   - Deployment (spec.replicas, default 1) → ReplicaSet `<deploy>-<hash>` (the pod-template-hash,
 *     see alloc.ts podTemplateHash) → its pods. The ReplicaSet and its pods carry the label
 *     pod-template-hash=<hash>.
 *   - ReplicaSet (spec.replicas, default 1): pods `<rs>-<5 chars>`. Pods of the input that it
 *     controls (ownerReferences) or that have no controller and match its selector (it adopts
 *     them, as the tutorial with bare pods shows) count toward its replicas.
 *   - StatefulSet (spec.replicas, default 1; spec.serviceName): pods `<sts>-0 … <sts>-N-1` with
 *     hostname = pod name and subdomain = serviceName, labels statefulset.kubernetes.io/pod-name and
 *     apps.kubernetes.io/pod-index; ordinals whose pod is in the input are not created again.
 *   - DaemonSet: one pod `<ds>-<5 chars>` on every node it may run on: the template's nodeSelector
 *     and required node affinity, and its taints tolerated by the template's tolerations plus the
 *     ones the DaemonSet controller adds (node.kubernetes.io/not-ready, unreachable, disk-pressure,
 *     memory-pressure, pid-pressure, unschedulable, and network-unavailable for hostNetwork);
 *     cordoned nodes included, as the controller does. Nodes that already run one of its pods in
 *     the input are skipped. hostNetwork DaemonSet pods have their node's address.
 *   - Job: starts at time 0. spec.parallelism (default 1) pods run at once, spec.completions
 *     (default: parallelism) pods in all, named `<job>-<5 chars>` (Indexed: `<job>-<i>-<5 chars>`),
 *     labelled job-name and batch.kubernetes.io/job-name. How long a pod runs is the annotation
 *     `podnet.dev/run-time` (a duration such as 30s) on the pod template or the Job; without it the
 *     pods run until spec.activeDeadlineSeconds, else to the end. A pod's lifetime is its model's
 *     activeFrom/activeUntil; pods that would start after the deadline, or never (no run time and
 *     no free slot), are not created. spec.suspend: true creates none.
 *   - CronJob: spec.schedule (see cron.ts; spec.timeZone other than UTC is read as UTC, with a
 *     notice) fires from time 0 until the scenario's end (scenario.ts scenarioEnd), at most 100
 *     runs; each run is a Job `<cronjob>-<Unix minutes>` from spec.jobTemplate starting at its
 *     time. concurrencyPolicy Allow runs them all, Forbid skips a run while the previous one still
 *     runs, Replace ends the previous run's pods when the next starts. spec.suspend: true: none.
 *   When the input already holds a workload's state — a Deployment's ReplicaSet (or pods of a
 *   ReplicaSet named `<deploy>-…` that it selects), a Job's pods, a CronJob's Jobs of the same
 *   name — the controller creates nothing more for it, so `kubectl get all -o yaml` output loads as
 *   the cluster it came from.
 */
import type { Nanos } from '../../../sim/time.js';
import { NS_PER_S } from '../../../sim/time.js';
import type { ObjectOrigin, SourceRef } from '../../model.js';
import { podTemplateHash, seededName } from '../alloc.js';
import { cronJobName, cronTimes, parseCron } from '../cron.js';
import type { Field } from '../field.js';
import { parseLabelSelector, selectorIsEmpty, selectorMatches, selectorText, type LabelSelector } from '../selector.js';
import { StateKey, addUnique, type KindHandler, type LoadState, type ObjectInput } from '../state.js';
import { dnsLabel, dnsSubdomain, labelKey, labelValue, quote } from '../values.js';
import { clusterDraft } from './cluster.js';
import { referenceNamespace } from './namespace.js';
import { addGeneratedPod, nodeRefusal, parsePodSpec, podDrafts, podNameTaken, type PodDraft, type PodSpecDraft } from './pod.js';
import { scenarioEnd } from './scenario.js';
import { daemonSetTolerations } from './taints.js';

type WorkloadKind = 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

/** Largest spec.replicas / completions / parallelism podnet models: Kubernetes' published limit of 150,000 pods per cluster. */
export const MAX_REPLICAS = 150_000;
/** CronJob runs modelled at most. */
export const MAX_CRON_RUNS = 100;

/** Annotation giving how long a Job's pods run. */
export const RUN_TIME_ANNOTATION = 'podnet.dev/run-time';

interface TemplateDraft {
  readonly field: Field;
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: PodSpecDraft;
  /** The template as plain data, for the pod-template-hash. */
  readonly raw: unknown;
  readonly runTime: Nanos | undefined;
}

interface JobParams {
  readonly parallelism: number;
  readonly completions: number | undefined;
  readonly deadline: Nanos | undefined;
  readonly indexed: boolean;
  readonly suspend: boolean;
  readonly runTime: Nanos | undefined;
}

interface CronParams {
  readonly schedule: ReturnType<typeof parseCron> & { ok: true };
  readonly concurrency: 'Allow' | 'Forbid' | 'Replace';
  readonly suspend: boolean;
  readonly job: JobParams;
  readonly jobLabels: Readonly<Record<string, string>>;
}

interface WorkloadDraft {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  readonly label: string;
  readonly nameField: Field;
  readonly origin: ObjectOrigin;
  readonly seq: number;
  readonly source: SourceRef;
  readonly labels: Readonly<Record<string, string>>;
  readonly controllerRef: { readonly kind: string; readonly name: string } | undefined;
  readonly valid: boolean;
  readonly selector: LabelSelector | undefined;
  readonly template: TemplateDraft | undefined;
  readonly replicas: number;
  readonly serviceName: string | undefined;
  readonly serviceNameField: Field | undefined;
  readonly job: JobParams | undefined;
  readonly cron: CronParams | undefined;
}

interface WorkloadState {
  readonly drafts: WorkloadDraft[];
  readonly byKey: Map<string, WorkloadDraft>;
}

const WORKLOADS = new StateKey<WorkloadState>('workloads', () => ({ drafts: [], byKey: new Map() }));

const APPS = ['apps/v1'];
const BATCH = ['batch/v1'];

function handler(kind: WorkloadKind, apiVersions: readonly string[], withResolve: boolean): KindHandler {
  return {
    kind,
    apiVersions,
    namespaced: true,
    collect(obj, state) {
      const d = parseWorkload(kind, obj, state);
      if (d === undefined) return;
      const s = state.get(WORKLOADS);
      addUnique(s.byKey, s.drafts, `${kind}/${d.namespace}/${d.name}`, d, `${kind} ${d.namespace}/${d.name}`, obj.source.file);
    },
    ...(withResolve ? { resolve: { order: 25, run: expandWorkloads } } : {}),
  };
}

export const deploymentKind = handler('Deployment', APPS, true);
export const replicaSetKind = handler('ReplicaSet', APPS, false);
export const statefulSetKind = handler('StatefulSet', APPS, false);
export const daemonSetKind = handler('DaemonSet', APPS, false);
export const jobKind = handler('Job', BATCH, false);
export const cronJobKind = handler('CronJob', BATCH, false);

// ------------------------------------------------------------------------------------ parsing

function parseWorkload(kind: WorkloadKind, obj: ObjectInput, state: LoadState): WorkloadDraft | undefined {
  const root = obj.root;
  const nameField = root.child('metadata').child('name');
  const rawName = root.rawStr('metadata.name');
  const nameCheck = kind === 'CronJob' ? (s: string): string | undefined => (s.length > 52 ? 'a CronJob name of at most 52 characters (its Jobs add 11)' : dnsSubdomain(s)) : dnsSubdomain;
  const name = root.str('metadata.name', { required: true, check: nameCheck, expected: `the ${kind} name (a DNS-1123 subdomain)` });
  const nsField = root.child('metadata').child('namespace');
  const ns = root.str('metadata.namespace', { check: dnsLabel });
  if (ns !== undefined) referenceNamespace(state, ns, obj.label, nsField);
  const labelsF = root.child('metadata').child('labels');
  const labels = root.stringMap('metadata.labels', labelKey, labelValue);
  let valid = name !== undefined && (ns !== undefined || !nsField.present) && (labels !== undefined || !labelsF.present);

  let spec = root.child('spec');
  if (!spec.present) {
    spec.missing(`the ${kind} spec (a mapping)`);
    valid = false;
  } else if (!spec.isMap) {
    spec.typeError(`the ${kind} spec (a mapping)`);
    spec = spec.silenced();
    valid = false;
  }

  let selector: LabelSelector | undefined;
  let template: TemplateDraft | undefined;
  let replicas = 1;
  let serviceName: string | undefined;
  let job: JobParams | undefined;
  let cron: CronParams | undefined;

  if (kind === 'CronJob') {
    const c = parseCronJob(spec);
    if (c === undefined) valid = false;
    else {
      cron = c.cron;
      template = c.template;
    }
  } else {
    template = parseTemplate(spec.child('template'), kind);
    if (template === undefined) valid = false;
    if (kind !== 'Job') {
      const selF = spec.child('selector');
      if (!selF.present) {
        selF.missing('a label selector (spec.selector.matchLabels) selecting the template labels');
        valid = false;
      } else {
        selector = parseLabelSelector(selF);
        if (selector === undefined) valid = false;
        else if (selectorIsEmpty(selector)) {
          selF.error('an empty selector selects every pod; select the template labels (spec.selector.matchLabels)');
          valid = false;
        } else if (template !== undefined && !selectorMatches(selector, template.labels)) {
          selF.error(`selector ${selectorText(selector)} does not select the template's labels (${Object.entries(template.labels).map(([k, v]) => `${k}=${v}`).join(',') || 'none'}): spec.template.metadata.labels must match it`);
          valid = false;
        }
      }
    }
    if (kind === 'Deployment' || kind === 'ReplicaSet' || kind === 'StatefulSet') {
      const r = spec.int('replicas', 0, MAX_REPLICAS, { default: 1 });
      if (r === undefined) valid = false;
      else replicas = r;
    }
    if (kind === 'StatefulSet') {
      serviceName = spec.str('serviceName', { check: (s) => (s === '' ? undefined : dnsLabel(s)) });
      if (serviceName === '') serviceName = undefined;
      if (spec.child('serviceName').present && spec.str('serviceName') === undefined) valid = false;
      spec.oneOf('podManagementPolicy', ['OrderedReady', 'Parallel'] as const);
    }
    if (kind === 'Job') {
      const j = parseJobSpec(spec, template, root);
      if (j === undefined) valid = false;
      else job = j;
    }
  }

  if (rawName === undefined) return undefined;
  const owner = controllerOf(root);
  return {
    kind,
    namespace: obj.effectiveNamespace ?? 'default',
    name: rawName,
    label: obj.label,
    nameField,
    origin: obj.origin,
    seq: obj.seq,
    source: obj.source,
    labels: labels ?? {},
    controllerRef: owner,
    valid,
    selector,
    template,
    replicas,
    serviceName,
    serviceNameField: kind === 'StatefulSet' ? spec.child('serviceName') : undefined,
    job,
    cron,
  };
}

function controllerOf(root: Field): { kind: string; name: string } | undefined {
  const refs = root.child('metadata').child('ownerReferences');
  if (!refs.isList) return undefined;
  for (const r of root.list('metadata.ownerReferences') ?? []) {
    if (r.raw('controller') !== true) continue;
    const kind = r.rawStr('kind');
    const name = r.rawStr('name');
    if (kind !== undefined && name !== undefined) return { kind, name };
  }
  return undefined;
}

function parseTemplate(f: Field, kind: string): TemplateDraft | undefined {
  if (!f.present) {
    f.missing('a pod template (a mapping with metadata.labels and spec)');
    return undefined;
  }
  if (!f.isMap) return f.typeError('a pod template (a mapping with metadata.labels and spec)');
  const labels = f.stringMap('metadata.labels', labelKey, labelValue);
  const labelsBad = f.at('metadata.labels').present && labels === undefined;
  const spec = f.map('spec', { required: true, expected: 'the pod spec (a mapping with containers)' });
  const podSpec = parsePodSpec(spec ?? f.child('spec'), spec);
  const runTime = runTimeOf(f);
  if (kind === 'Job' || kind === 'CronJob') {
    const rp = spec?.child('restartPolicy');
    if (spec !== undefined && rp !== undefined && !rp.present) rp.missing('"Never" or "OnFailure" (a Job\'s pods must not restart for ever)');
    else if (podSpec.restartPolicy === 'Always') rp?.error('expected "Never" or "OnFailure" for a Job\'s pods, got "Always"');
  }
  if (spec === undefined || labelsBad || podSpec.containers === undefined || podSpec.affinity === undefined || runTime === null) return undefined;
  return { field: f, labels: labels ?? {}, spec: podSpec, raw: f.toJS(), runTime };
}

/** `podnet.dev/run-time` on an object's metadata.annotations: a duration, undefined when absent, null when invalid (reported). */
function runTimeOf(f: Field): Nanos | undefined | null {
  const annotations = f.child('metadata').child('annotations');
  if (!annotations.isMap) return undefined;
  const a = annotations.child(RUN_TIME_ANNOTATION);
  if (!a.present) return undefined;
  return a.duration('', { positive: true }) ?? null;
}

function parseJobSpec(spec: Field, template: TemplateDraft | undefined, jobRoot: Field): JobParams | undefined {
  const parallelism = spec.int('parallelism', 0, MAX_REPLICAS, { default: 1 });
  const completionsF = spec.child('completions');
  const completions = completionsF.present ? spec.int('completions', 0, MAX_REPLICAS) : undefined;
  const deadlineS = spec.int('activeDeadlineSeconds', 1, 2 ** 31 - 1);
  const mode = spec.oneOf('completionMode', ['NonIndexed', 'Indexed'] as const, { default: 'NonIndexed' });
  const suspend = spec.bool('suspend', { default: false });
  spec.int('backoffLimit', 0, 2 ** 31 - 1);
  const jobRunTime = runTimeOf(jobRoot);
  if (mode === 'Indexed' && !completionsF.present) completionsF.missing('the number of completions (required with completionMode Indexed)');
  if (
    parallelism === undefined ||
    (completionsF.present && completions === undefined) ||
    (spec.child('activeDeadlineSeconds').present && deadlineS === undefined) ||
    mode === undefined ||
    (mode === 'Indexed' && !completionsF.present) ||
    suspend === undefined ||
    jobRunTime === null
  ) {
    return undefined;
  }
  return {
    parallelism,
    completions,
    deadline: deadlineS !== undefined ? deadlineS * NS_PER_S : undefined,
    indexed: mode === 'Indexed',
    suspend,
    runTime: template?.runTime ?? jobRunTime,
  };
}

function parseCronJob(spec: Field): { cron: CronParams; template: TemplateDraft } | undefined {
  const schedF = spec.child('schedule');
  const text = spec.str('schedule', { required: true, expected: 'a cron schedule such as "*/5 * * * *"' });
  let schedule: CronParams['schedule'] | undefined;
  if (text !== undefined) {
    const r = parseCron(text);
    if (r.ok) schedule = r;
    else schedF.error(`expected a cron schedule such as "*/5 * * * *": ${r.why}`);
  }
  const tzF = spec.child('timeZone');
  const tz = spec.str('timeZone');
  if (tz !== undefined && tz !== 'UTC' && tz !== 'Etc/UTC') tzF.notice(`time zone ${quote(tz)} is read as UTC (podnet's scenario time 0 is 2024-01-01T00:00:00Z)`);
  const concurrency = spec.oneOf('concurrencyPolicy', ['Allow', 'Forbid', 'Replace'] as const, { default: 'Allow' });
  const suspend = spec.bool('suspend', { default: false });
  spec.int('startingDeadlineSeconds', 0, 2 ** 53 - 1);
  spec.int('successfulJobsHistoryLimit', 0, 2 ** 31 - 1);
  spec.int('failedJobsHistoryLimit', 0, 2 ** 31 - 1);
  const jt = spec.child('jobTemplate');
  let template: TemplateDraft | undefined;
  let job: JobParams | undefined;
  let jobLabels: Record<string, string> | undefined = {};
  if (!jt.present) jt.missing('a Job template (a mapping with spec.template)');
  else if (!jt.isMap) jt.typeError('a Job template (a mapping with spec.template)');
  else {
    jobLabels = jt.stringMap('metadata.labels', labelKey, labelValue) ?? (jt.at('metadata.labels').present ? undefined : {});
    const jspec = jt.map('spec', { required: true, expected: 'the Job spec (a mapping with template)' });
    if (jspec !== undefined) {
      template = parseTemplate(jspec.child('template'), 'CronJob');
      job = parseJobSpec(jspec, template, jt);
    }
  }
  if (schedule === undefined || concurrency === undefined || suspend === undefined || template === undefined || job === undefined || jobLabels === undefined) return undefined;
  return { cron: { schedule, concurrency, suspend, job, jobLabels }, template };
}

// ---------------------------------------------------------------------------------- expansion

/** A ReplicaSet or Job to expand, given in the input or made by a Deployment or CronJob. */
interface Expansion {
  readonly w: WorkloadDraft;
  readonly name: string;
  readonly selector: LabelSelector | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly replicas: number;
  readonly job?: { readonly params: JobParams; readonly start: Nanos; readonly cutoff: Nanos | undefined } | undefined;
}

function expandWorkloads(state: LoadState): void {
  const s = state.get(WORKLOADS);
  const cluster = clusterDraft(state);
  const drafts = s.drafts.filter((d) => d.valid && d.template !== undefined);
  const userRS = s.drafts.filter((d) => d.kind === 'ReplicaSet');
  const userJobs = s.drafts.filter((d) => d.kind === 'Job');
  // Pods given in the input, by namespace (workloads' pods are added below).
  const givenPods = podDrafts(state).slice();
  const adopted = new Set<PodDraft>();

  for (const w of drafts) {
    const template = w.template as TemplateDraft;
    switch (w.kind) {
      case 'Deployment': {
        const selector = w.selector as LabelSelector;
        const ownRS = userRS.some((rs) => rs.namespace === w.namespace && rs.controllerRef?.kind === 'Deployment' && rs.controllerRef.name === w.name);
        const ownPods = givenPods.some(
          (p) => p.namespace === w.namespace && p.controllerRef?.kind === 'ReplicaSet' && p.controllerRef.name.startsWith(`${w.name}-`) && selectorMatches(selector, p.labels),
        );
        if (ownRS || ownPods) break;
        const hash = podTemplateHash(template.raw);
        const name = `${w.name}-${hash}`;
        if (userRS.some((rs) => rs.namespace === w.namespace && rs.name === name)) break;
        const labels = { ...template.labels, 'pod-template-hash': hash };
        const rsSelector: LabelSelector = { matchLabels: { ...selector.matchLabels, 'pod-template-hash': hash }, matchExpressions: selector.matchExpressions };
        expandReplicaSet(state, { w, name, selector: rsSelector, labels, replicas: w.replicas }, givenPods, adopted);
        break;
      }
      case 'ReplicaSet':
        expandReplicaSet(state, { w, name: w.name, selector: w.selector, labels: template.labels, replicas: w.replicas }, givenPods, adopted);
        break;
      case 'StatefulSet': {
        checkServiceName(state, w);
        const hash = podTemplateHash(template.raw);
        for (let i = 0; i < w.replicas; i++) {
          const name = `${w.name}-${i}`;
          if (podNameTaken(state, w.namespace, name)) continue; // its pod is in the input
          addGeneratedPod(state, {
            namespace: w.namespace,
            name,
            labels: { ...template.labels, 'apps.kubernetes.io/pod-index': String(i), 'controller-revision-hash': `${w.name}-${hash}`, 'statefulset.kubernetes.io/pod-name': name },
            spec: template.spec,
            nameField: w.nameField,
            ownerRef: `StatefulSet/${w.name}`,
            origin: w.origin,
            seq: w.seq,
            ordinal: i,
            hostname: name,
            subdomain: w.serviceName,
            source: w.source,
          });
        }
        break;
      }
      case 'DaemonSet': {
        if (cluster === undefined || !cluster.nodesKnown) break;
        const tolerations = [...template.spec.tolerations, ...daemonSetTolerations(template.spec.hostNetwork)];
        const hash = podTemplateHash(template.raw);
        let counter = 0;
        cluster.nodes.forEach((node, i) => {
          if (nodeRefusal(template.spec, node, tolerations, true) !== undefined) return;
          const has = givenPods.some(
            (p) => p.namespace === w.namespace && p.controllerRef?.kind === 'DaemonSet' && p.controllerRef.name === w.name && (p.nodeName === node.name || p.nodeName === undefined),
          );
          if (has) return;
          let name: string;
          do name = seededName(w.name, state.seed, `${w.namespace}/${w.name}#${counter++}`);
          while (podNameTaken(state, w.namespace, name));
          addGeneratedPod(state, {
            namespace: w.namespace,
            name,
            labels: { ...template.labels, 'controller-revision-hash': hash, 'pod-template-generation': '1' },
            spec: template.spec,
            nameField: w.nameField,
            ownerRef: `DaemonSet/${w.name}`,
            origin: w.origin,
            seq: w.seq,
            ordinal: i,
            nodeName: node.name,
            source: w.source,
          });
        });
        break;
      }
      case 'Job':
        expandJob(state, { w, name: w.name, selector: undefined, labels: template.labels, replicas: 0, job: { params: w.job as JobParams, start: 0, cutoff: undefined } }, givenPods, 0);
        break;
      case 'CronJob': {
        const c = w.cron as CronParams;
        if (c.suspend) break;
        const times = cronTimes(c.schedule.schedule, scenarioEnd(state), MAX_CRON_RUNS);
        const length = jobLength(c.job);
        // When the last run that started ends (Forbid skips runs before it); 'never' for unbounded runs.
        let busyUntil: Nanos | 'never' = 0;
        const runs: Array<{ t: Nanos; cutoff: Nanos | undefined }> = [];
        for (const t of times) {
          if (c.concurrency === 'Forbid' && runs.length > 0 && (busyUntil === 'never' || busyUntil > t)) continue;
          const last = runs[runs.length - 1];
          if (c.concurrency === 'Replace' && last !== undefined) last.cutoff = t;
          runs.push({ t, cutoff: undefined });
          busyUntil = length === undefined ? 'never' : t + length;
        }
        let ordinal = 0;
        for (const run of runs) {
          const name = cronJobName(w.name, run.t);
          if (userJobs.some((j) => j.namespace === w.namespace && j.name === name)) continue;
          ordinal = expandJob(
            state,
            { w, name, selector: undefined, labels: template.labels, replicas: 0, job: { params: c.job, start: run.t, cutoff: run.cutoff } },
            givenPods,
            ordinal,
          );
        }
        break;
      }
    }
  }
}

/** How long a Job runs (undefined: unbounded). */
function jobLength(p: JobParams): Nanos | undefined {
  if (p.suspend) return 0;
  const total = p.completions ?? p.parallelism;
  if (p.runTime === undefined) return p.deadline;
  const waves = p.parallelism === 0 ? 0 : Math.ceil(total / p.parallelism);
  const length = waves * p.runTime;
  return p.deadline !== undefined ? Math.min(length, p.deadline) : length;
}

function expandReplicaSet(state: LoadState, e: Expansion, givenPods: readonly PodDraft[], adopted: Set<PodDraft>): void {
  const { w } = e;
  const template = w.template as TemplateDraft;
  let have = 0;
  for (const p of givenPods) {
    if (p.namespace !== w.namespace) continue;
    if (p.controllerRef?.kind === 'ReplicaSet' && p.controllerRef.name === e.name) have++;
    else if (p.controllerRef === undefined && p.origin === w.origin && e.selector !== undefined && selectorMatches(e.selector, p.labels) && !adopted.has(p)) {
      adopted.add(p); // an orphan matching the selector is adopted
      have++;
    }
  }
  let counter = 0;
  for (let i = 0; i < e.replicas - have; i++) {
    let name: string;
    do name = seededName(e.name, state.seed, `${w.namespace}/${e.name}#${counter++}`);
    while (podNameTaken(state, w.namespace, name));
    addGeneratedPod(state, {
      namespace: w.namespace,
      name,
      labels: e.labels,
      spec: template.spec,
      nameField: w.nameField,
      ownerRef: `ReplicaSet/${e.name}`,
      origin: w.origin,
      seq: w.seq,
      ordinal: i,
      source: w.source,
    });
  }
}

/** Creates a Job's pods; returns the next ordinal. */
function expandJob(state: LoadState, e: Expansion, givenPods: readonly PodDraft[], ordinal: number): number {
  const { w } = e;
  const template = w.template as TemplateDraft;
  const j = e.job;
  if (j === undefined || j.params.suspend) return ordinal;
  if (givenPods.some((p) => p.namespace === w.namespace && p.controllerRef?.kind === 'Job' && p.controllerRef.name === e.name)) return ordinal;
  const { parallelism, completions, deadline, indexed, runTime } = j.params;
  const total = completions ?? parallelism;
  const deadlineAt = deadline !== undefined ? j.start + deadline : undefined;
  const count = runTime === undefined ? Math.min(total, parallelism) : parallelism === 0 ? 0 : total;
  let counter = 0;
  let next = ordinal;
  for (let i = 0; i < count; i++) {
    const start = runTime === undefined ? j.start : j.start + Math.floor(i / parallelism) * runTime;
    if (deadlineAt !== undefined && start >= deadlineAt) break;
    if (j.cutoff !== undefined && start >= j.cutoff) break;
    const ends = [runTime !== undefined ? start + runTime : undefined, deadlineAt, j.cutoff].filter((x): x is Nanos => x !== undefined);
    const until = ends.length > 0 ? Math.min(...ends) : undefined;
    const base = indexed ? `${e.name}-${i}` : e.name;
    let name: string;
    do name = seededName(base, state.seed, `${w.namespace}/${e.name}#${counter++}`);
    while (podNameTaken(state, w.namespace, name));
    const labels: Record<string, string> = { ...template.labels, 'batch.kubernetes.io/job-name': e.name, 'job-name': e.name };
    if (indexed) labels['batch.kubernetes.io/job-completion-index'] = String(i);
    addGeneratedPod(state, {
      namespace: w.namespace,
      name,
      labels,
      spec: template.spec,
      nameField: w.nameField,
      ownerRef: `Job/${e.name}`,
      origin: w.origin,
      seq: w.seq,
      ordinal: next++,
      ...(indexed && template.spec.hostname === undefined ? { hostname: `${e.name}-${i}` } : {}),
      ...(start > 0 ? { activeFrom: start } : {}),
      ...(until !== undefined ? { activeUntil: until } : {}),
      source: w.source,
    });
  }
  return next;
}

/** A notice when a StatefulSet's serviceName names no Service in its namespace. */
function checkServiceName(state: LoadState, w: WorkloadDraft): void {
  const svc = w.serviceName;
  if (svc === undefined || w.serviceNameField === undefined) return;
  const exists = state.objects.some((o) => o.kind === 'Service' && o.effectiveNamespace === w.namespace && o.name === svc);
  if (!exists && !state.mayExistInBroken('Service', w.namespace, svc)) {
    w.serviceNameField.notice(`no Service ${w.namespace}/${svc}: the pods' DNS names (${w.name}-0.${svc}.${w.namespace}.svc.cluster.local) need a headless Service of that name`);
  }
}
