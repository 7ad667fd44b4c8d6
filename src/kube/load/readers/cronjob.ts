/**
 * Kubernetes `CronJob` (batch/v1): spec.schedule (see cron.ts; spec.timeZone other than UTC is
 * read as UTC, with a notice), spec.concurrencyPolicy (Allow, Forbid, Replace), spec.suspend,
 * spec.startingDeadlineSeconds and the history limits (checked, not modelled), and
 * spec.jobTemplate (its labels, and a Job spec read as a Job's, see job.ts). The CronJob
 * controller (controllers/cronjob.ts) makes its Jobs. A CronJob's name has at most 52 characters.
 */
import { parseCron, type CronSchedule } from '../cron.js';
import type { Field } from '../field.js';
import { readTemplateMetadata } from '../metadata.js';
import type { KindReader } from '../state.js';
import { quote } from '../values.js';
import { readJobSpec, type JobParams } from './job.js';
import { readTemplate, readWorkload, type TemplateDraft, type WorkloadObject } from './workload.js';

/** What a valid CronJob asks for. */
export interface CronJobSpec {
  readonly schedule: CronSchedule;
  readonly concurrency: 'Allow' | 'Forbid' | 'Replace';
  readonly suspend: boolean;
  /** The Job each run makes. */
  readonly job: JobParams;
  readonly jobLabels: Readonly<Record<string, string>>;
  readonly template: TemplateDraft;
}

/** A CronJob as read. */
export type CronJobDraft = WorkloadObject<'CronJob', CronJobSpec>;

/** Reads CronJob documents. */
export const cronJobKind: KindReader = {
  kind: 'CronJob',
  apiVersions: ['batch/v1'],
  namespaced: true,
  read(obj, state) {
    readWorkload('CronJob', obj, state, readCronJobSpec);
  },
};

function readCronJobSpec(spec: Field): CronJobSpec | undefined {
  const schedF = spec.child('schedule');
  const text = spec.str('schedule', { required: true, expected: 'a cron schedule such as "*/5 * * * *"' });
  let schedule: CronSchedule | undefined;
  if (text !== undefined) {
    const r = parseCron(text);
    if (r.ok) schedule = r.schedule;
    else schedF.error(`expected a cron schedule such as "*/5 * * * *": ${r.why}`);
  }
  const tzF = spec.child('timeZone');
  const tz = spec.str('timeZone');
  if (tz !== undefined && tz !== 'UTC' && tz !== 'Etc/UTC') {
    tzF.notice(`time zone ${quote(tz)} is read as UTC (podnet's scenario time 0 is 2024-01-01T00:00:00Z)`);
  }
  const concurrency = spec.oneOf('concurrencyPolicy', ['Allow', 'Forbid', 'Replace'] as const, { default: 'Allow' });
  const suspend = spec.bool('suspend', { default: false });
  spec.int('startingDeadlineSeconds', 0, 2 ** 53 - 1);
  spec.int('successfulJobsHistoryLimit', 0, 2 ** 31 - 1);
  spec.int('failedJobsHistoryLimit', 0, 2 ** 31 - 1);
  const jt = spec.child('jobTemplate');
  let template: TemplateDraft | undefined;
  let job: JobParams | undefined;
  let jobLabels: Readonly<Record<string, string>> | undefined = {};
  if (!jt.present) jt.missing('a Job template (a mapping with spec.template)');
  else if (!jt.isMap) jt.typeError('a Job template (a mapping with spec.template)');
  else {
    const jobMeta = readTemplateMetadata(jt);
    jobLabels = jobMeta.labels;
    const jspec = jt.map('spec', { required: true, expected: 'the Job spec (a mapping with template)' });
    if (jspec !== undefined) {
      template = readTemplate(jspec.child('template'), 'CronJob');
      job = readJobSpec(jspec, template, jobMeta);
    }
  }
  if (
    schedule === undefined ||
    concurrency === undefined ||
    suspend === undefined ||
    template === undefined ||
    job === undefined ||
    jobLabels === undefined
  )
    return undefined;
  return { schedule, concurrency, suspend, job, jobLabels, template };
}
