/**
 * The progress bar of long runs: on a terminal only (stderr is a TTY), never with --json or a text
 * trace, and only once a run has taken half a second, so short runs print nothing extra. It
 * follows virtual time against the scenario's planned length and is erased when the run ends.
 */
import cliProgress from 'cli-progress';
import type { Scheduler } from '../sim/scheduler.js';
import type { ScenarioModel } from '../kube/model.js';
import type { Nanos } from '../sim/time.js';

/** Virtual time a scenario is planned to take: its probes' attempts, one after another or side by side. */
export function plannedLength(sc: ScenarioModel): Nanos {
  const each = sc.probes.map((p) => p.start + p.count * p.interval);
  const planned = sc.parallel ? Math.max(0, ...each) : each.reduce((a, b) => a + b, 0);
  return Math.max(planned, sc.duration ?? 0, 1);
}

/** Whether to show a bar: a terminal, and no other output streaming to it. */
export function wantsProgress(
  opts: { json: boolean; trace: boolean },
  stream: NodeJS.WriteStream = process.stderr,
): boolean {
  return stream.isTTY === true && !opts.json && !opts.trace && process.env['CI'] === undefined;
}

/** Attaches a bar to the scheduler; returns the function that detaches and erases it (call it when the run ends). */
export function startProgress(sched: Scheduler, total: Nanos, label: string): () => void {
  const started = Date.now(); // the CLI's edge: wall time only decides when to show the bar
  const t0 = sched.now;
  let bar: cliProgress.SingleBar | undefined;
  sched.onProgress = (now) => {
    if (bar === undefined) {
      if (Date.now() - started < 500) return;
      bar = new cliProgress.SingleBar(
        {
          format: `${label} [{bar}] {percentage}% | {virtual} of {planned} virtual | {duration_formatted}`,
          stream: process.stderr,
          clearOnComplete: true,
          hideCursor: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(1000, 0, { virtual: '0 s', planned: seconds(total) });
    }
    // past the plan (retransmissions, timeouts) the bar waits at 99 %
    bar.update(Math.min(990, Math.floor(((now - t0) / total) * 1000)), { virtual: seconds(now - t0) });
  };
  return () => {
    sched.onProgress = undefined;
    bar?.stop();
  };
}

function seconds(ns: Nanos): string {
  return `${(ns / 1e9).toFixed(ns < 10e9 ? 2 : 0)} s`;
}
