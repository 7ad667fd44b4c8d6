/**
 * `verifyKernel`: the kernel conformance check of one topology's Scenario.
 *
 * 1. Run the Scenario in podnet with every interface captured (podnet-run.ts).
 * 2. Plan the same topology in the kernel from podnet's built network (plan.ts).
 * 3. Build it in namespaces `pnk<pid>-*`, start servers and tcpdump on every capture point,
 *    replay podnet's probe schedule, stop (kernel-run.ts); the Janitor deletes everything on
 *    every exit path, signals included (host.ts).
 * 4. Compare every capture point packet by packet (compare.ts) and every probe's outcome
 *    (probes.ts); excuse only listed expected differences (expected.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterModel } from '../kube/model.js';
import type { BuiltNode } from '../kube/network.js';
import type { HopJson } from '../trace/format.js';
import { readCapture } from '../trace/pcap-read.js';
import { formatIptablesSave } from '../netfilter/iptables-save.js';
import { dissectFrame, summarizeFrame } from '../wire/dissect.js';
import type { Nanos } from '../sim/time.js';
import { formatPlanScript, namePrefix, planKernelTopology } from './plan.js';
import type { KernelPlan } from './plan.js';
import { Janitor, kernelUnavailable, precleanStale, staleRunNamespaces } from './host.js';
import type { CleanupSummary } from './host.js';
import { runKernel } from './kernel-run.js';
import type { KernelRun } from './kernel-run.js';
import { readCaptureBytes } from './capture.js';
import type { CaptureStats } from './capture.js';
import { runPodnet } from './podnet-run.js';
import type { PodnetRun } from './podnet-run.js';
import { scheduleFromPodnet } from './schedule.js';
import type { FrameInput, DecodeContext } from './records.js';
import { comparePoint } from './compare.js';
import type { Mismatch, PointComparison, ToleratedSwap } from './compare.js';
import { compareProbes } from './probes.js';
import type { ProbeComparison } from './probes.js';
import { EXPECTED_DIFFERENCES, applyExpected } from './expected.js';
import type { ExpectedDifference } from './expected.js';

/** This machine cannot build network namespaces (exit 77). */
export class KernelUnavailableError extends Error {
  override readonly name = 'KernelUnavailableError';
}

/** Namespaces of an earlier run exist (exit 2; `--preclean` removes them). */
export class StaleNamespacesError extends Error {
  override readonly name = 'StaleNamespacesError';
}

/** Options of a verification. */
export interface VerifyOptions {
  readonly seed: number;
  /** Name of the topology for the report. */
  readonly topology: string;
  /** Keep the capture files, plan and reports in this folder (created if needed). */
  readonly keepDir?: string | undefined;
  /** Remove namespaces left by earlier runs whose process is gone. */
  readonly preclean?: boolean;
  /** Progress lines (stderr in the CLI). */
  readonly log?: (line: string) => void;
  /** Called when a signal arrives (before cleanup and exit). */
  readonly onSignal?: (sig: string) => void;
  /**
   * Netfilter on both sides. `mirror` (default): podnet runs as it always does, and every node
   * on which podnet installs netfilter gets podnet's own ruleset for that node (its
   * iptables-save text) through the plan's per-node iptables-restore hook. `off`: podnet is built
   * without netfilter and the kernel nodes get no rules.
   */
  readonly netfilter?: 'mirror' | 'off';
  /** Overrides the per-node iptables hook (the kernel side only). */
  readonly iptablesRestore?: (node: BuiltNode) => string | undefined;
  /** Expected differences (default: EXPECTED_DIFFERENCES). */
  readonly expected?: readonly ExpectedDifference[];
}

/** Per capture point summary. */
export interface PointSummary {
  readonly point: string;
  readonly kernel: number;
  readonly podnet: number;
  readonly paired: number;
  readonly mismatches: number;
  readonly capture: CaptureStats | undefined;
  /** Kernel frames outside the comparison window (not compared). */
  readonly outside: readonly OutsideFrame[];
}

/** A kernel frame outside the comparison window. */
export interface OutsideFrame {
  readonly t: Nanos;
  readonly summary: string;
  readonly when: 'before' | 'after';
}

/** The outcome of a verification. */
export interface VerifyResult {
  readonly topology: string;
  readonly scenario: string;
  readonly seed: number;
  readonly kernelRelease: string;
  readonly prefix: string;
  readonly namespaces: number;
  readonly windowEnd: Nanos;
  readonly lag: Nanos;
  readonly points: readonly PointSummary[];
  readonly comparisons: readonly PointComparison[];
  readonly probes: readonly ProbeComparison[];
  /** Real differences (the run fails when there is any). */
  readonly mismatches: readonly Mismatch[];
  readonly excused: ReadonlyArray<{ mismatch: Mismatch; by: ExpectedDifference }>;
  readonly expected: readonly ExpectedDifference[];
  readonly tolerated: readonly ToleratedSwap[];
  readonly notes: readonly string[];
  readonly cleanup: CleanupSummary;
  /** Folder holding the captures when kept. */
  readonly files: string | undefined;
  /** podnet's hop events (for the trace of a mismatched packet). */
  readonly events: readonly HopJson[];
}

/** podnet's ruleset of a node as iptables-restore input, when podnet runs netfilter on it. */
export function podnetRulesOf(node: BuiltNode): string | undefined {
  if (node.ns.stack.nf === null) return undefined;
  return formatIptablesSave(node.nf.ruleset);
}

/** What the comparer must know about a model: which ports are fixed, the ephemeral range, VXLAN. */
export function decodeContextFor(model: ClusterModel): DecodeContext {
  const fixed = new Set<number>();
  for (const p of model.pods) for (const c of p.containers) for (const port of c.ports) fixed.add(port.containerPort);
  for (const e of model.externalHosts) for (const port of e.ports) fixed.add(port.containerPort);
  for (const p of model.scenario?.probes ?? []) {
    if (p.port !== undefined) fixed.add(p.port);
    if (p.sourcePort !== undefined) fixed.add(p.sourcePort);
    const m = /:(\d+)$/.exec(p.to);
    if (m) fixed.add(Number(m[1]));
  }
  if (model.cni.backend === 'vxlan') fixed.add(model.cni.port);
  return { fixedPorts: fixed, ephemeralRange: [32768, 60999], vxlanPorts: model.cni.backend === 'vxlan' ? [model.cni.port] : [] };
}

/** podnet's frames per capture point. */
export function podnetFrames(run: PodnetRun): Map<string, FrameInput[]> {
  const m = new Map<string, FrameInput[]>();
  for (const p of run.sink.points) m.set(p, []);
  for (const f of run.sink.frames) m.get(f.point)?.push({ t: f.t, bytes: f.bytes, dir: f.dir, comment: f.comment, packetId: f.packetId, flow: f.flow });
  return m;
}

/** Compares every capture point. */
export function compareAll(points: readonly string[], kernel: ReadonlyMap<string, readonly FrameInput[]>, podnet: ReadonlyMap<string, readonly FrameInput[]>, ctx: DecodeContext, opts: { parallel?: boolean } = {}): PointComparison[] {
  return points.map((p) => comparePoint(p, kernel.get(p) ?? [], podnet.get(p) ?? [], ctx, opts));
}

/** Reads the kernel's captures into frames relative to the scenario start, splitting off those outside the window. */
export function kernelFrames(run: KernelRun, vxlanPorts: readonly number[]): { frames: Map<string, FrameInput[]>; outside: Map<string, OutsideFrame[]> } {
  const frames = new Map<string, FrameInput[]>();
  const outside = new Map<string, OutsideFrame[]>();
  for (const c of run.captures) {
    const inside: FrameInput[] = [];
    const out: OutsideFrame[] = [];
    const bytes = existsSync(c.file) ? readCaptureBytes(c.file) : new Uint8Array();
    const packets = bytes.length === 0 ? [] : readCapture(bytes).packets;
    for (const p of packets) {
      const t = Number(p.timestampNs - run.t0Ns);
      const f: FrameInput = { t, bytes: p.data };
      if (t < 0 || t > run.windowEnd) {
        out.push({ t, summary: summarizeFrame(dissectFrame(p.data, { vxlanPorts })), when: t < 0 ? 'before' : 'after' });
      } else inside.push(f);
    }
    frames.set(c.cp.point, inside);
    outside.set(c.cp.point, out);
  }
  return { frames, outside };
}


/** Runs the whole check. Throws KernelUnavailableError / StaleNamespacesError before touching anything. */
export async function verifyKernel(model: ClusterModel, opts: VerifyOptions): Promise<VerifyResult> {
  const scenario = model.scenario;
  if (scenario === undefined || scenario.probes.length === 0) throw new Error('the topology has no Scenario probes to verify');
  const log = opts.log ?? (() => undefined);
  const prefix = namePrefix(process.pid);
  const why = kernelUnavailable(`${prefix}preflight`);
  if (why !== undefined) throw new KernelUnavailableError(why);
  const stale = staleRunNamespaces(prefix);
  if (stale.length > 0) {
    if (!opts.preclean) {
      throw new StaleNamespacesError(`namespaces of another podnet verify run exist: ${stale.map((s) => s.name).join(', ')}; ${stale.some((s) => s.running) ? 'wait for that run to finish, or ' : ''}rerun with --preclean to remove those whose run is gone`);
    }
    const r = precleanStale(prefix);
    if (r.removed.length > 0) log(`preclean: removed ${r.removed.join(', ')}`);
    if (r.kept.length > 0) throw new StaleNamespacesError(`cannot preclean: ${r.kept.join('; ')}`);
  }

  // the Janitor owns everything from here on: namespaces, processes, the scratch folder
  const janitor = new Janitor(prefix);
  janitor.installSignalHandlers(opts.onSignal);
  const dir = opts.keepDir ?? mkdtempSync(join(tmpdir(), 'podnet-verify-'));
  if (opts.keepDir === undefined) janitor.removeDirOnCleanup(dir);
  mkdirSync(join(dir, 'kernel'), { recursive: true });
  try {
    log(`podnet: running scenario "${scenario.name}" (seed ${opts.seed})`);
    const netfilter = opts.netfilter ?? 'mirror';
    const pod = runPodnet(model, opts.seed, { ...(opts.keepDir === undefined ? {} : { pcapDir: dir }), ...(netfilter === 'off' ? { build: { noNetfilter: true } } : {}) });
    const hook = opts.iptablesRestore ?? (netfilter === 'mirror' ? podnetRulesOf : undefined);
    const plan: KernelPlan = planKernelTopology(pod.sim.network, hook === undefined ? { prefix } : { prefix, iptablesRestore: hook });
    if (opts.keepDir !== undefined) writeFileSync(join(dir, 'kernel-topology.sh'), formatPlanScript(plan));
    const schedule = scheduleFromPodnet(pod.sim, scenario.probes, pod.reports, scenario.parallel);
    let kernel: KernelRun;
    let cleanup: CleanupSummary;
    try {
      log(`kernel: building ${plan.namespaces.length} namespaces (${prefix}*), ${plan.steps.length} commands`);
      kernel = await runKernel({ plan, network: pod.sim.network, schedule, dir: join(dir, 'kernel'), end: pod.end, janitor, log: (l) => log(`kernel: ${l}`) });
    } finally {
      // captures are read below, so the scratch folder outlives this cleanup (removed at the end)
      cleanup = janitor.cleanup({ keepDirs: true });
      log(`cleanup: ${cleanup.processesStopped} processes stopped, ${cleanup.namespacesDeleted} namespaces deleted${cleanup.leftover.length ? `, LEFT: ${cleanup.leftover.join(', ')}` : ''}`);
    }

    const ctx = decodeContextFor(model);
    const { frames: kFrames, outside } = kernelFrames(kernel, ctx.vxlanPorts);
    const points = plan.captures.map((c) => c.point);
    const comparisons = compareAll(points, kFrames, podnetFrames(pod), ctx, { parallel: scenario.parallel });
    const pinned = (i: number): boolean => scenario.probes[i]?.sourcePort !== undefined;
    const probes = compareProbes(schedule.probes, pod.reports, kernel.outputs, pinned);

    const all: Mismatch[] = [...kernel.topology];
    for (const p of probes) all.push(...p.mismatches);
    for (const c of kernel.captures) {
      if (!c.stats.complete) {
        all.push({ kind: 'capture', point: c.cp.point, kernel: `captured ${c.stats.captured ?? '?'}, received ${c.stats.received ?? '?'}, dropped ${c.stats.dropped ?? '?'}`, podnet: '-', note: 'tcpdump lost packets: this point is not trustworthy' });
      }
    }
    for (const c of comparisons) all.push(...c.mismatches);
    const expected = opts.expected ?? EXPECTED_DIFFERENCES;
    const { real, excused } = applyExpected(all, scenario.name, expected);
    const pointSummaries: PointSummary[] = comparisons.map((c) => ({
      point: c.point,
      kernel: c.kernel.length,
      podnet: c.podnet.length,
      paired: c.pairs.length,
      mismatches: c.mismatches.length,
      capture: kernel.captures.find((x) => x.cp.point === c.point)?.stats,
      outside: outside.get(c.point) ?? [],
    }));
    const withRules = plan.steps.filter((s) => s.phase === 'iptables').length;
    const notes = [
      withRules > 0
        ? `${withRules} kernel node${withRules === 1 ? ' was' : 's were'} given podnet's own ruleset for that node (its iptables-save, through the per-node iptables-restore hook)`
        : netfilter === 'off'
          ? 'netfilter off on both sides: podnet built without it, kernel nodes without iptables rules'
          : 'kernel nodes run without iptables rules: podnet installs no netfilter on them',
      "TCP/UDP checksums in the kernel's captures are CHECKSUM_PARTIAL values from veth offload (tcpdump and podnet's decoder print them as [bad … cksum]): only podnet's are checked",
    ];
    return {
      topology: opts.topology,
      scenario: scenario.name,
      seed: opts.seed,
      kernelRelease: kernel.kernelRelease,
      prefix,
      namespaces: plan.namespaces.length,
      windowEnd: kernel.windowEnd,
      lag: kernel.lag,
      points: pointSummaries,
      comparisons,
      probes,
      mismatches: real,
      excused,
      expected,
      tolerated: comparisons.flatMap((c) => c.tolerated),
      notes,
      cleanup,
      files: opts.keepDir,
      events: pod.sink.events,
    };
  } finally {
    janitor.cleanup();
    janitor.removeSignalHandlers();
    if (opts.keepDir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
