/** The Job controller, driven directly: a Job in, its pods and their lifetimes out. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { jobLength, runJob, type JobToRun } from '../../../src/kube/load/controllers/job.js';
import type { ExistingPod } from '../../../src/kube/load/controllers/workload-pods.js';
import type { JobParams } from '../../../src/kube/load/readers/job.js';
import { NS_PER_S } from '../../../src/sim/time.js';
import { fields, from, memoryStore, SUFFIX, template } from './helpers.js';

const S = NS_PER_S;

function params(over: Partial<JobParams> = {}): JobParams {
  return {
    parallelism: 1,
    completions: undefined,
    deadline: undefined,
    indexed: false,
    suspend: false,
    runTime: undefined,
    ...over,
  };
}

function job(p: Partial<JobParams> = {}, over: Partial<JobToRun> = {}): JobToRun {
  return {
    namespace: 'default',
    name: 'backup',
    params: params(p),
    template: template({ app: 'backup' }),
    start: 0,
    cutoff: undefined,
    from: from(fields().field('Job default/backup'), 5),
    ...over,
  };
}

/** `name [from, until)` of each pod, times in seconds. */
function run(j: JobToRun, existing: readonly ExistingPod[] = []): string[] {
  const store = memoryStore();
  runJob(j, existing, store, 1, 0);
  return store.pods.map(
    (p) =>
      `${p.name.replace(new RegExp(`-${SUFFIX}$`), '-*')} [${(p.activeFrom ?? 0) / S}, ${p.activeUntil !== undefined ? p.activeUntil / S : '∞'})`,
  );
}

describe('the Job controller', () => {
  test('without a run time: one pod per parallel slot, from the start to the end (or the deadline)', () => {
    expect(run(job({ parallelism: 2, completions: 5 }))).toEqual(['backup-* [0, ∞)', 'backup-* [0, ∞)']);
    expect(run(job({ deadline: 30 * S }))).toEqual(['backup-* [0, 30)']);
  });

  test('with a run time: waves of parallelism until completions; the deadline cuts and stops them', () => {
    expect(run(job({ parallelism: 2, completions: 5, runTime: 10 * S }))).toEqual([
      'backup-* [0, 10)',
      'backup-* [0, 10)',
      'backup-* [10, 20)',
      'backup-* [10, 20)',
      'backup-* [20, 30)',
    ]);
    expect(run(job({ parallelism: 1, completions: 5, runTime: 10 * S, deadline: 25 * S }))).toEqual([
      'backup-* [0, 10)',
      'backup-* [10, 20)',
      'backup-* [20, 25)',
    ]);
  });

  test('a CronJob run: from its start, cut at the next run (Replace)', () => {
    expect(run(job({ runTime: 100 * S }, { start: 60 * S, cutoff: 120 * S }))).toEqual(['backup-* [60, 120)']);
  });

  test('Indexed: <job>-<i>-<5 chars> with hostname <job>-<i> and the completion index label', () => {
    const store = memoryStore();
    runJob(job({ parallelism: 2, completions: 2, indexed: true }), [], store, 1, 0);
    expect(
      store.pods.map((p) => [p.name.slice(0, -6), p.hostname, p.labels['batch.kubernetes.io/job-completion-index']]),
    ).toEqual([
      ['backup-0', 'backup-0', '0'],
      ['backup-1', 'backup-1', '1'],
    ]);
    expect(store.pods[0]!.labels).toMatchObject({
      app: 'backup',
      'job-name': 'backup',
      'batch.kubernetes.io/job-name': 'backup',
    });
  });

  test('suspended, or with its pods in the input: none; ordinals continue from the one given', () => {
    expect(run(job({ suspend: true }))).toEqual([]);
    const mine: ExistingPod = {
      namespace: 'default',
      labels: {},
      origin: 'user',
      nodeName: undefined,
      controllerRef: { kind: 'Job', name: 'backup' },
    };
    expect(run(job(), [mine])).toEqual([]);
    const store = memoryStore();
    expect(runJob(job({ parallelism: 3 }), [], store, 1, 7)).toBe(10);
    expect(store.pods.map((p) => p.ordinal)).toEqual([7, 8, 9]);
  });

  test('jobLength: waves × run time, at most the deadline; unbounded without a run time or deadline; 0 when suspended', () => {
    expect(jobLength(params({ parallelism: 2, completions: 5, runTime: 10 * S }))).toBe(30 * S);
    expect(jobLength(params({ runTime: 10 * S, completions: 5, deadline: 25 * S }))).toBe(25 * S);
    expect(jobLength(params({ deadline: 7 * S }))).toBe(7 * S);
    expect(jobLength(params())).toBeUndefined();
    expect(jobLength(params({ suspend: true }))).toBe(0);
  });

  test('property: no pod outlives its run time or the deadline, and no more than completions are made', () => {
    fc.assert(
      fc.property(
        fc.record({
          parallelism: fc.integer({ min: 0, max: 5 }),
          completions: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
          runTime: fc.option(
            fc.integer({ min: 1, max: 50 }).map((x) => x * S),
            { nil: undefined },
          ),
          deadline: fc.option(
            fc.integer({ min: 1, max: 200 }).map((x) => x * S),
            { nil: undefined },
          ),
        }),
        (p) => {
          const store = memoryStore();
          runJob(job(p), [], store, 1, 0);
          expect(store.pods.length).toBeLessThanOrEqual(p.completions ?? p.parallelism);
          for (const pod of store.pods) {
            const from = pod.activeFrom ?? 0;
            if (p.runTime !== undefined) expect(pod.activeUntil! - from).toBeLessThanOrEqual(p.runTime);
            if (p.deadline !== undefined) expect(pod.activeUntil!).toBeLessThanOrEqual(p.deadline);
          }
        },
      ),
    );
  });
});
