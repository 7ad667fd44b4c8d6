/**
 * Kernel captures: one tcpdump per capture point, inside its namespace, started with
 * `-p --immediate-mode -U` (promiscuous capture on a br_netfilter bridge changes what the
 * kernel does — docs/kernel-findings.md §pitfall-1 — and without immediate mode the last packets can be lost),
 * nanosecond timestamps, stopped with SIGINT, and checked for completeness: every packet the
 * filter received was captured and the kernel dropped none.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { CapturePointPlan } from './plan.js';
import type { Janitor } from './host.js';
import { sleep } from './host.js';

/** tcpdump's closing statistics. */
export interface CaptureStats {
  readonly captured: number | undefined;
  readonly received: number | undefined;
  readonly dropped: number | undefined;
  /** captured == received and nothing dropped. */
  readonly complete: boolean;
}

/** A running capture. */
export interface RunningCapture {
  readonly cp: CapturePointPlan;
  readonly file: string;
  readonly child: ChildProcess;
  stderr: string;
  /** The process exited and its stderr was read to the end (its closing statistics are in `stderr`). */
  exited: boolean;
}

/** A stopped capture. */
export interface FinishedCapture {
  readonly cp: CapturePointPlan;
  readonly file: string;
  readonly stats: CaptureStats;
  readonly stderr: string;
}

/** File name for a capture point (`pod:client/eth0` → `pod_client_eth0.pcap`). */
export function captureFileName(point: string): string {
  return `${point.replace(/[^A-Za-z0-9_.-]/g, '_')}.pcap`;
}

/** Parses tcpdump's "N packets captured / received by filter / dropped by kernel" lines. */
export function parseTcpdumpStats(stderr: string): CaptureStats {
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(stderr);
    return m ? Number(m[1]) : undefined;
  };
  const captured = num(/(\d+) packets? captured/);
  const received = num(/(\d+) packets? received by filter/);
  const dropped = num(/(\d+) packets? dropped by kernel/);
  return { captured, received, dropped, complete: captured !== undefined && captured === received && dropped === 0 };
}

/** The tcpdump command line for a capture point. */
export function tcpdumpArgv(cp: CapturePointPlan, file: string): string[] {
  return [
    'ip',
    'netns',
    'exec',
    cp.ns,
    'tcpdump',
    '-p',
    '--immediate-mode',
    '-U',
    '-n',
    '-i',
    cp.dev,
    '-B',
    '4096',
    '-Z',
    'root',
    '--time-stamp-precision=nano',
    '-w',
    file,
  ];
}

/** Starts tcpdump on every capture point and waits (up to `timeoutMs`) until each one listens. */
export async function startCaptures(
  janitor: Janitor,
  points: readonly CapturePointPlan[],
  dir: string,
  timeoutMs = 10_000,
): Promise<RunningCapture[]> {
  const running: RunningCapture[] = [];
  for (const cp of points) {
    const file = join(dir, captureFileName(cp.point));
    const child = janitor.spawn(tcpdumpArgv(cp, file), `tcpdump ${cp.point}`, { stdout: 'ignore' });
    const rc: RunningCapture = { cp, file, child, stderr: '', exited: false };
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      rc.stderr += d;
    });
    // 'close', not 'exit': the statistics tcpdump prints as it stops can still be in the pipe at 'exit'
    child.once('close', () => {
      rc.exited = true;
    });
    running.push(rc);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const notYet = running.filter((r) => !/listening on/.test(r.stderr));
    const dead = running.find((r) => r.exited);
    if (dead !== undefined) throw new Error(`tcpdump for ${dead.cp.point} exited: ${dead.stderr.trim()}`);
    if (notYet.length === 0) break;
    if (Date.now() > deadline)
      throw new Error(`tcpdump did not start within ${timeoutMs} ms on ${notYet.map((r) => r.cp.point).join(', ')}`);
    await sleep(20);
  }
  return running;
}

function waitExit(r: RunningCapture, ms: number): Promise<boolean> {
  if (r.exited) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    r.child.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Stops every capture with SIGINT (SIGKILL after `timeoutMs`) and reads their statistics. */
export async function stopCaptures(running: readonly RunningCapture[], timeoutMs = 5_000): Promise<FinishedCapture[]> {
  for (const r of running) if (!r.exited) r.child.kill('SIGINT');
  const ok = await Promise.all(running.map((r) => waitExit(r, timeoutMs)));
  running.forEach((r, i) => {
    if (!ok[i]) r.child.kill('SIGKILL');
  });
  await Promise.all(running.map((r) => waitExit(r, 2_000)));
  return running.map((r) => ({ cp: r.cp, file: r.file, stats: parseTcpdumpStats(r.stderr), stderr: r.stderr }));
}

/** Reads a capture file (empty when tcpdump wrote nothing). */
export function readCaptureBytes(file: string): Uint8Array {
  return new Uint8Array(readFileSync(file));
}
