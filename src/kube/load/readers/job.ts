/**
 * Kubernetes `Job` (batch/v1): spec.template (see workload.ts; restartPolicy must be Never or
 * OnFailure), spec.parallelism (default 1), spec.completions (default: parallelism; required for
 * completionMode Indexed), spec.activeDeadlineSeconds, spec.completionMode (NonIndexed, Indexed),
 * spec.suspend, spec.backoffLimit (checked, not modelled: pods do not fail), and how long its pods
 * run: the annotation `podnet.dev/run-time` on the template, else on the Job. The Job controller
 * (controllers/job.ts) makes its pods.
 */
import type { Nanos } from '../../../sim/time.js';
import { NS_PER_S } from '../../../sim/time.js';
import type { Field } from '../field.js';
import type { ObjectMeta, TemplateMeta } from '../metadata.js';
import type { KindReader } from '../state.js';
import {
  MAX_REPLICAS,
  readTemplate,
  readWorkload,
  runTimeOf,
  type TemplateDraft,
  type WorkloadObject,
} from './workload.js';

/** What a Job (or a CronJob's Job template) asks of its pods. */
export interface JobParams {
  readonly parallelism: number;
  readonly completions: number | undefined;
  /** spec.activeDeadlineSeconds, in ns. */
  readonly deadline: Nanos | undefined;
  readonly indexed: boolean;
  readonly suspend: boolean;
  /** How long each pod runs (undefined: until the deadline, or to the end). */
  readonly runTime: Nanos | undefined;
}

/** What a valid Job asks for. */
export interface JobSpec {
  readonly template: TemplateDraft;
  readonly job: JobParams;
}

/** A Job as read. */
export type JobDraft = WorkloadObject<'Job', JobSpec>;

/** Reads Job documents. */
export const jobKind: KindReader = {
  kind: 'Job',
  apiVersions: ['batch/v1'],
  namespaced: true,
  read(obj, state) {
    readWorkload('Job', obj, state, (spec, meta): JobSpec | undefined => {
      const template = readTemplate(spec.child('template'), 'Job');
      const job = readJobSpec(spec, template, meta);
      return template !== undefined && job !== undefined ? { template, job } : undefined;
    });
  },
};

/** The Job fields of `spec` (a Job's or a jobTemplate's); `jobMeta` holds the Job's run-time annotation. */
export function readJobSpec(
  spec: Field,
  template: TemplateDraft | undefined,
  jobMeta: ObjectMeta | TemplateMeta,
): JobParams | undefined {
  const parallelism = spec.int('parallelism', 0, MAX_REPLICAS, { default: 1 });
  const completionsF = spec.child('completions');
  const completions = completionsF.present ? spec.int('completions', 0, MAX_REPLICAS) : undefined;
  const deadlineS = spec.int('activeDeadlineSeconds', 1, 2 ** 31 - 1);
  const mode = spec.oneOf('completionMode', ['NonIndexed', 'Indexed'] as const, { default: 'NonIndexed' });
  const suspend = spec.bool('suspend', { default: false });
  spec.int('backoffLimit', 0, 2 ** 31 - 1);
  const jobRunTime = runTimeOf(jobMeta);
  if (mode === 'Indexed' && !completionsF.present) {
    completionsF.missing('the number of completions (required with completionMode Indexed)');
  }
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
