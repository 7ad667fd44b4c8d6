/**
 * The CronJob controller: spec.schedule fires from time 0 until the scenario's end (see
 * readers/scenario.ts scenarioEnd), at most 100 runs; each run is a Job `<cronjob>-<Unix minutes>`
 * from spec.jobTemplate starting at its time. concurrencyPolicy Allow runs them all, Forbid skips
 * a run while the previous one still runs, Replace ends the previous run's pods when the next
 * starts. spec.suspend: true runs none. A run whose Job is in the input (same name) makes nothing
 * more: the Job controller runs that one.
 */
import type { Nanos } from '../../../sim/time.js';
import { cronJobName, cronTimes } from '../cron.js';
import type { CronJobSpec } from '../readers/cronjob.js';
import { jobLength, type JobToRun } from './job.js';
import type { PodSource } from './workload-pods.js';

/** CronJob runs modelled at most. */
export const MAX_CRON_RUNS = 100;

/** A valid CronJob. */
export interface CronJobToRun extends PodSource {
  readonly namespace: string;
  readonly name: string;
  readonly spec: CronJobSpec;
}

/** The Jobs the CronJob makes before `until` (ns), for the Job controller; `jobExists`: those in the input. */
export function cronJobRuns(
  c: CronJobToRun,
  until: Nanos,
  jobExists: (namespace: string, name: string) => boolean,
): JobToRun[] {
  const spec = c.spec;
  if (spec.suspend) return [];
  const times = cronTimes(spec.schedule, until, MAX_CRON_RUNS);
  const length = jobLength(spec.job);
  // When the last run that started ends (Forbid skips runs before it); 'never' for unbounded runs.
  let busyUntil: Nanos | 'never' = 0;
  const runs: Array<{ t: Nanos; cutoff: Nanos | undefined }> = [];
  for (const t of times) {
    if (spec.concurrency === 'Forbid' && runs.length > 0 && (busyUntil === 'never' || busyUntil > t)) continue;
    const last = runs[runs.length - 1];
    if (spec.concurrency === 'Replace' && last !== undefined) last.cutoff = t;
    runs.push({ t, cutoff: undefined });
    busyUntil = length === undefined ? 'never' : t + length;
  }
  const jobs: JobToRun[] = [];
  for (const run of runs) {
    const name = cronJobName(c.name, run.t);
    if (jobExists(c.namespace, name)) continue;
    jobs.push({
      namespace: c.namespace,
      name,
      params: spec.job,
      template: spec.template,
      start: run.t,
      cutoff: run.cutoff,
      from: c,
    });
  }
  return jobs;
}
