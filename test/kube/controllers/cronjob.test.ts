/** The CronJob controller, driven directly: a CronJob in, the Jobs of its runs out. */
import { describe, expect, test } from 'vitest';
import { cronJobRuns, MAX_CRON_RUNS, type CronJobToRun } from '../../../src/kube/load/controllers/cronjob.js';
import { parseCron } from '../../../src/kube/load/cron.js';
import type { JobParams } from '../../../src/kube/load/readers/job.js';
import { NS_PER_S } from '../../../src/sim/time.js';
import { fields, from, template } from './helpers.js';

const MIN = 60 * NS_PER_S;

function cron(
  schedule: string,
  over: { concurrency?: 'Allow' | 'Forbid' | 'Replace'; suspend?: boolean; runTime?: number } = {},
): CronJobToRun {
  const parsed = parseCron(schedule);
  if (!parsed.ok) throw new Error(parsed.why);
  const job: JobParams = {
    parallelism: 1,
    completions: undefined,
    deadline: undefined,
    indexed: false,
    suspend: false,
    runTime: over.runTime,
  };
  return {
    namespace: 'default',
    name: 'report',
    ...from(fields().field('CronJob default/report'), 6),
    spec: {
      schedule: parsed.schedule,
      concurrency: over.concurrency ?? 'Allow',
      suspend: over.suspend ?? false,
      job,
      jobLabels: {},
      template: template({ app: 'report' }),
    },
  };
}

/** `name start–cutoff` in minutes. */
function runs(
  c: CronJobToRun,
  untilMinutes: number,
  jobExists: (ns: string, name: string) => boolean = () => false,
): string[] {
  return cronJobRuns(c, untilMinutes * MIN, jobExists).map(
    (j) => `${j.name} ${j.start / MIN}${j.cutoff !== undefined ? `–${j.cutoff / MIN}` : ''}`,
  );
}

describe('the CronJob controller', () => {
  test('a Job <cronjob>-<Unix minutes> at each time of the schedule from time 0 (2024-01-01T00:00Z) until (not at) the end', () => {
    expect(runs(cron('*/5 * * * *'), 12)).toEqual(['report-28401120 0', 'report-28401125 5', 'report-28401130 10']);
    const c = cron('*/5 * * * *');
    expect(cronJobRuns(c, 0, () => false).map((j) => [j.namespace, j.from, j.template])).toEqual([
      ['default', c, c.spec.template],
    ]);
  });

  test('concurrencyPolicy: Allow overlaps runs, Forbid skips a run while one runs, Replace ends the previous run', () => {
    const every = (concurrency: 'Allow' | 'Forbid' | 'Replace'): string[] =>
      runs(cron('* * * * *', { concurrency, runTime: 150 * NS_PER_S }), 5);
    expect(every('Allow')).toEqual([
      'report-28401120 0',
      'report-28401121 1',
      'report-28401122 2',
      'report-28401123 3',
      'report-28401124 4',
    ]);
    expect(every('Forbid')).toEqual(['report-28401120 0', 'report-28401123 3']);
    expect(every('Replace')).toEqual([
      'report-28401120 0–1',
      'report-28401121 1–2',
      'report-28401122 2–3',
      'report-28401123 3–4',
      'report-28401124 4',
    ]);
    expect(runs(cron('* * * * *', { concurrency: 'Forbid' }), 3)).toEqual(['report-28401120 0']); // runs without end block the rest
  });

  test('suspended: no runs; a run whose Job is in the input: left to the Job controller', () => {
    expect(runs(cron('* * * * *', { suspend: true }), 5)).toEqual([]);
    expect(runs(cron('* * * * *'), 3, (ns, name) => ns === 'default' && name === 'report-28401121')).toEqual([
      'report-28401120 0',
      'report-28401122 2',
    ]);
  });

  test(`at most ${MAX_CRON_RUNS} runs`, () => {
    expect(runs(cron('* * * * *'), 10_000)).toHaveLength(MAX_CRON_RUNS);
  });
});
