/**
 * The Job controller: a Job starts at its start time (0 for a Job of the input). spec.parallelism
 * pods run at once, spec.completions (default: parallelism) in all, named `<job>-<5 chars>`
 * (Indexed: `<job>-<i>-<5 chars>` with hostname `<job>-<i>`), labelled job-name and
 * batch.kubernetes.io/job-name (and batch.kubernetes.io/job-completion-index when Indexed). How
 * long a pod runs is the Job's run time (the annotation `podnet.dev/run-time`); without it the
 * pods run until spec.activeDeadlineSeconds, else to the end. A pod's lifetime is its model's
 * activeFrom/activeUntil; pods that would start after the deadline (or after a cutoff: a CronJob's
 * Replace policy ends a run when the next starts), or never (no run time and no free slot), are
 * not created. spec.suspend: true creates none, and so do pods of the Job in the input.
 */
import type { Nanos } from '../../../sim/time.js';
import type { JobParams } from '../readers/job.js';
import type { TemplateDraft } from '../readers/workload.js';
import { podNamer, type ExistingPod, type PodSource, type PodStore } from './workload-pods.js';

/** One Job to run: one of the input, or one a CronJob makes. */
export interface JobToRun {
  readonly namespace: string;
  readonly name: string;
  readonly params: JobParams;
  readonly template: TemplateDraft;
  /** When the Job starts (ns of scenario time). */
  readonly start: Nanos;
  /** When its pods are ended at the latest (a CronJob's Replace policy), if ever. */
  readonly cutoff: Nanos | undefined;
  /** The object in the input behind it (the CronJob, for a CronJob's Job). */
  readonly from: PodSource;
}

/** How long a Job runs (undefined: unbounded). */
export function jobLength(p: JobParams): Nanos | undefined {
  if (p.suspend) return 0;
  const total = p.completions ?? p.parallelism;
  if (p.runTime === undefined) return p.deadline;
  const waves = p.parallelism === 0 ? 0 : Math.ceil(total / p.parallelism);
  const length = waves * p.runTime;
  return p.deadline !== undefined ? Math.min(length, p.deadline) : length;
}

/** Makes the Job's pods, numbering them from `ordinal` (their order in load order); returns the next ordinal. */
export function runJob(
  j: JobToRun,
  existing: readonly ExistingPod[],
  store: PodStore,
  seed: number,
  ordinal: number,
): number {
  const { template, from } = j;
  if (j.params.suspend) return ordinal;
  if (
    existing.some(
      (p) => p.namespace === j.namespace && p.controllerRef?.kind === 'Job' && p.controllerRef.name === j.name,
    )
  )
    return ordinal;
  const { parallelism, completions, deadline, indexed, runTime } = j.params;
  const total = completions ?? parallelism;
  const deadlineAt = deadline !== undefined ? j.start + deadline : undefined;
  const count = runTime === undefined ? Math.min(total, parallelism) : parallelism === 0 ? 0 : total;
  const nextName = podNamer(store, j.namespace, j.name, seed);
  let next = ordinal;
  for (let i = 0; i < count; i++) {
    const start = runTime === undefined ? j.start : j.start + Math.floor(i / parallelism) * runTime;
    if (deadlineAt !== undefined && start >= deadlineAt) break;
    if (j.cutoff !== undefined && start >= j.cutoff) break;
    const ends = [runTime !== undefined ? start + runTime : undefined, deadlineAt, j.cutoff].filter(
      (x): x is Nanos => x !== undefined,
    );
    const until = ends.length > 0 ? Math.min(...ends) : undefined;
    const name = nextName(indexed ? `${j.name}-${i}` : j.name);
    const labels: Record<string, string> = {
      ...template.labels,
      'batch.kubernetes.io/job-name': j.name,
      'job-name': j.name,
    };
    if (indexed) labels['batch.kubernetes.io/job-completion-index'] = String(i);
    store.add({
      namespace: j.namespace,
      name,
      labels,
      spec: template.spec,
      nameField: from.nameField,
      ownerRef: `Job/${j.name}`,
      origin: from.origin,
      seq: from.seq,
      ordinal: next++,
      ...(indexed && template.spec.hostname === undefined ? { hostname: `${j.name}-${i}` } : {}),
      ...(start > 0 ? { activeFrom: start } : {}),
      ...(until !== undefined ? { activeUntil: until } : {}),
      source: from.source,
    });
  }
  return next;
}
