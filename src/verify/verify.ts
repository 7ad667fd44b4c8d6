/**
 * `verifyKernel`: the kernel conformance check of one topology's Scenario.
 *
 * 1. Run the Scenario in podnet with every interface captured (podnet-run.ts).
 * 2. Plan the same topology in the kernel from podnet's built network (plan.ts).
 * 3. Build it in namespaces `pnk<pid>-*`, start servers and tcpdump on every capture point,
 *    replay podnet's probe schedule, stop (kernel-run.ts); the Janitor deletes everything on
 *    every exit path, signals included (host.ts).
 * 4. Services (services.ts, service-check.ts): read the backend the kernel chose for every SYN
 *    to a Service address, check podnet lists it, replay the Scenario in podnet with those
 *    choices forced, and test the kernel's random choices against podnet's own unforced ones
 *    (chi-square test of homogeneity, α = 0.001); compare the nodes' affinity lists.
 * 5. Compare every capture point packet by packet (compare.ts) and every probe's outcome
 *    (probes.ts) — against the forced replay when there are Service probes; excuse only listed
 *    expected differences (expected.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterModel, ProbeModel } from '../kube/model.js';
import { podListeners } from '../kube/model.js';
import type { Simulation } from '../api/simulation.js';
import type { BuiltNode } from '../kube/network.js';
import type { HopJson } from '../trace/format.js';
import { readCapture } from '../trace/pcap-read.js';
import { formatIptablesSave } from '../netfilter/iptables-save.js';
import { dissectFrame } from '../wire/dissect.js';
import { summarizeFrame } from '../trace/frame-summary.js';
import { formatIpv4, readU32 } from '../wire/addr.js';
import type { Nanos } from '../sim/time.js';
import { NS_PER_JIFFY, toJiffies, wheelGranule } from '../sim/jiffies.js';
import { DEFAULT_NEIGH_PARAMS } from '../net/neigh.js';
import { formatPlanScript, namePrefix, planKernelTopology } from './plan.js';
import type { KernelPlan } from './plan.js';
import { Janitor, kernelUnavailable, precleanStale, precleanStaleEtc, staleRunNamespaces } from './host.js';
import type { ResolverSetup } from '../apps/resolver.js';
import type { CleanupSummary } from './host.js';
import { runKernel } from './kernel-run.js';
import type { KernelRun } from './kernel-run.js';
import { readCaptureBytes } from './capture.js';
import type { CaptureStats } from './capture.js';
import { podnetFrames } from './podnet-run.js';

import { scheduleFromPodnet } from './schedule.js';
import type { FrameInput, DecodeContext } from './records.js';
import { comparePoint } from './compare.js';
import type { CompareOptions, Mismatch, PointComparison, ToleratedSwap } from './compare.js';
import { compareProbes, kernelLocalPorts } from './probes.js';
import type { ProbeComparison } from './probes.js';
import {
  annotateForced,
  checkServices,
  connLabels,
  markProbeMismatches,
  runWatched,
  serviceProbesOf,
} from './service-check.js';
import type { ServiceCheck, ServiceSide } from './service-check.js';
import { parseDnatCounters, parseXtRecent } from './services.js';
import type { RecentEntry } from './services.js';
import { EXPECTED_DIFFERENCES, applyExpected } from './expected.js';
import type { ExpectedDifference } from './expected.js';

/** Re-exported: the comparer's input from a podnet run (tests and verify's callers import it here). */
export { podnetFrames };

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

/** A frame outside the comparison window. */
export interface OutsideFrame {
  readonly t: Nanos;
  readonly summary: string;
  readonly when: 'before' | 'after';
  /** Whose frame it is (default: the kernel's). */
  readonly side?: 'kernel' | 'podnet';
}

function isUnicastArp(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 14 &&
    bytes[12] === 0x08 &&
    bytes[13] === 0x06 &&
    !(
      bytes[0] === 0xff &&
      bytes[1] === 0xff &&
      bytes[2] === 0xff &&
      bytes[3] === 0xff &&
      bytes[4] === 0xff &&
      bytes[5] === 0xff
    )
  );
}

/**
 * The frames of delayed probe exchanges at one point: unicast ARP requests (an entry in PROBE),
 * and the replies to them — not the unicast replies to a first contact's broadcast request.
 */
function delayedProbeFrames(frames: readonly FrameInput[]): Set<FrameInput> {
  const out = new Set<FrameInput>();
  // the last request seen from each (sender, target) pair, and whether it was unicast
  const lastRequest = new Map<string, boolean>();
  for (const f of frames) {
    const b = f.bytes;
    if (b.length < 42 || b[12] !== 0x08 || b[13] !== 0x06) continue;
    const op = (b[20]! << 8) | b[21]!;
    const spa = readU32(b, 28);
    const tpa = readU32(b, 38);
    if (op === 1) {
      const unicast = isUnicastArp(b);
      lastRequest.set(`${spa}>${tpa}`, unicast);
      if (unicast) out.add(f);
    } else if (op === 2 && lastRequest.get(`${tpa}>${spa}`) === true) out.add(f);
  }
  return out;
}

/**
 * The most a delayed ARP probe fires after its 5 s: the timer wheel's granule for that distance
 * (256 ms at HZ=250). The two sides' probes of one entry may be that far apart.
 */
const DELAY_PROBE_SLACK: Nanos = wheelGranule(toJiffies(DEFAULT_NEIGH_PARAMS.delayFirstProbeTime)) * NS_PER_JIFFY;

/**
 * Delayed ARP probe exchanges (unicast requests 5 s after an entry's first use, and their unicast
 * replies) near the end of the runs. A timer placed them, and the two sides' runs end at
 * different times (a Service connection that needed another SYN retransmission on one side) and
 * their timers fire up to DELAY_PROBE_SLACK apart (the kernel's timer-wheel phase is not podnet's),
 * so one side's window may stop before its timer fired. At each point, the unicast ARP frames
 * that could have a counterpart cut off by the other side's end — the kernel's after podnet's end
 * less the slack, podnet's after the kernel's end less its lag and the slack — are listed, not
 * compared, when the two sides have different numbers of them (and always when they lie beyond
 * the other side's end). One classification serves both: a unicast request and the reply to it.
 */
export function splitLateTimerFrames(
  kFrames: Map<string, FrameInput[]>,
  pFrames: Map<string, FrameInput[]>,
  ends: { readonly podnet: Nanos; readonly kernel: Nanos; readonly lag: Nanos },
  vxlanPorts: readonly number[],
  outside: Map<string, OutsideFrame[]>,
): void {
  // nothing before 5 s can be a delayed probe (first contact's ARP replies are unicast too)
  const earliest = DEFAULT_NEIGH_PARAMS.delayFirstProbeTime;
  const kFrom = Math.max(earliest, ends.podnet - DELAY_PROBE_SLACK);
  const pFrom = Math.max(earliest, ends.kernel - ends.lag - DELAY_PROBE_SLACK);
  const list = (point: string, f: FrameInput, side: 'kernel' | 'podnet', why: string): void => {
    let l = outside.get(point);
    if (l === undefined) outside.set(point, (l = []));
    l.push({
      t: f.t,
      summary: `${side === 'podnet' ? 'podnet: ' : ''}${summarizeFrame(dissectFrame(f.bytes, { vxlanPorts }))} (${why})`,
      when: 'after',
      side,
    });
  };
  for (const point of new Set([...kFrames.keys(), ...pFrames.keys()])) {
    const ks = kFrames.get(point) ?? [];
    const ps = pFrames.get(point) ?? [];
    const kProbes = delayedProbeFrames(ks);
    const pProbes = delayedProbeFrames(ps);
    const kTail = ks.filter((f) => kProbes.has(f) && f.t > Math.min(kFrom, ends.podnet));
    const pTail = ps.filter((f) => pProbes.has(f) && f.t > Math.min(pFrom, ends.kernel));
    const uneven = kTail.length !== pTail.length;
    const split = (fs: FrameInput[], tail: FrameInput[], otherEnd: Nanos, side: 'kernel' | 'podnet'): FrameInput[] => {
      const out = new Set(tail.filter((f) => uneven || f.t > otherEnd));
      for (const f of out)
        list(
          point,
          f,
          side,
          f.t > otherEnd
            ? "a delayed ARP probe exchange after the other side's window"
            : "a delayed ARP probe exchange near the end of the windows, where the other side's may fall outside",
        );
      return out.size === 0 ? fs : fs.filter((f) => !out.has(f));
    };
    if (ks.length > 0) kFrames.set(point, split(ks, kTail, ends.podnet, 'kernel'));
    if (ps.length > 0) pFrames.set(point, split(ps, pTail, ends.kernel, 'podnet'));
  }
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
  /** Service probes: the backend choices, their replay and the distribution test (absent without Service probes). */
  readonly services?: ServiceCheck | undefined;
}

/** podnet's ruleset of a node as iptables-restore input, when podnet runs netfilter on it. */
export function podnetRulesOf(node: BuiltNode): string | undefined {
  if (node.ns.stack.nf === null) return undefined;
  return formatIptablesSave(node.nf.ruleset);
}

/** What the comparer must know about a model: which ports are fixed, the ephemeral range, VXLAN, NAT sources. */
export function decodeContextFor(model: ClusterModel): DecodeContext {
  // ports that belong to an address; a port with no known address is fixed on every address
  const endpoints = new Set<string>();
  const anywhere = new Set<number>();
  const at = (ips: readonly string[] | undefined, port: number): void => {
    if (ips === undefined || ips.length === 0) anywhere.add(port);
    else for (const ip of ips) endpoints.add(`${ip}:${port}`);
  };
  // addresses MASQUERADE/SNAT writes: each node's IP, cni0 (.1) and flannel.1 (.0) addresses
  const natSources = new Set<string>();
  const nodeAddrs = new Map<string, string[]>();
  for (const n of model.nodes) {
    const addrs = [formatIpv4(n.ip), formatIpv4((n.podCIDR.addr + 1) >>> 0)];
    if (model.cni.backend === 'vxlan') addrs.push(formatIpv4(n.podCIDR.addr >>> 0));
    for (const a of addrs) natSources.add(a);
    nodeAddrs.set(n.name, addrs);
  }
  const nodeIps = model.nodes.map((n) => formatIpv4(n.ip));
  // a loopback-only listener (a probe to 127.0.0.1) is no endpoint anyone outside the pod reaches
  for (const p of model.pods)
    for (const l of podListeners(p)) if (l.address === undefined) at([formatIpv4(p.ip)], l.port);
  for (const e of model.externalHosts) for (const port of e.ports) at([formatIpv4(e.ip)], port.containerPort);
  // the underlay gateway's resolver (the nodes' nameserver, where CoreDNS forwards)
  if (model.underlay.gateway !== undefined) at([formatIpv4(model.underlay.gateway)], 53);
  for (const svc of model.services) {
    const frontends = [...svc.clusterIPs, ...svc.externalIPs, ...svc.loadBalancerIPs].map(formatIpv4);
    for (const sp of svc.ports) {
      at(frontends, sp.port);
      // a node port answers on every local address (--dst-type LOCAL), but only the node IPs are
      // fixed here: on cni0's and flannel.1's addresses MASQUERADE --random-fully picks ports, and
      // once picked the node port itself (10.244.2.1:30080); a probe to another address names it below
      if (sp.nodePort !== undefined) at(nodeIps, sp.nodePort);
    }
  }
  // the endpoints kube-proxy DNATs to, as the EndpointSlices give them (target ports resolved)
  for (const sl of model.endpointSlices) {
    const ips = sl.endpoints.map((e) => formatIpv4(e.ip));
    if (ips.length > 0) for (const p of sl.ports) at(ips, p.port);
  }
  // as a destination a node is its IP (Simulation.resolveTo); as a source, any of its addresses
  const addrsOf = (ref: string, as: 'from' | 'to'): string[] | undefined => {
    const host = ref.replace(/:(\d+)$/, '');
    if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return [host];
    if (host.startsWith('node/'))
      return as === 'to' ? nodeAddrs.get(host.slice(5))?.slice(0, 1) : nodeAddrs.get(host.slice(5));
    if (host.startsWith('ext/')) {
      const e = model.externalHosts.find((x) => x.name === host.slice(4));
      return e === undefined ? undefined : [formatIpv4(e.ip)];
    }
    const name = host.startsWith('pod/') ? host.slice(4) : host;
    const pod = model.pods.find((p) => p.name === name || `${p.namespace}/${p.name}` === name);
    if (pod !== undefined) return [formatIpv4(pod.ip)];
    return undefined; // a DNS name: its address is known only once resolved
  };
  for (const p of model.scenario?.probes ?? []) {
    const m = /:(\d+)$/.exec(p.to);
    const dst = addrsOf(p.to, 'to');
    if (m) at(dst, Number(m[1]));
    if (p.port !== undefined) at(dst, p.port);
    if (p.sourcePort !== undefined) at(addrsOf(p.from, 'from'), p.sourcePort);
  }
  if (model.cni.backend === 'vxlan') anywhere.add(model.cni.port);
  return {
    fixedPorts: anywhere,
    fixedEndpoints: endpoints,
    ephemeralRange: [32768, 60999],
    vxlanPorts: model.cni.backend === 'vxlan' ? [model.cni.port] : [],
    natSources,
  };
}

/**
 * The probe sources that resolve a host name (by podnet namespace id), with what podnet's resolver reads there: glibc
 * is given the same.
 */
export function resolversOf(sim: Simulation, probes: readonly ProbeModel[]): Map<string, ResolverSetup> {
  const out = new Map<string, ResolverSetup>();
  for (const p of probes) {
    if (sim.resolveTo(p.to).name === undefined) continue;
    out.set(sim.resolveFrom(p.from).ns.name, sim.resolverSetup(p.from, 0));
  }
  return out;
}

/**
 * Notes for a nameserver that is a Service with several endpoints (kube-dns with kubeadm's two
 * CoreDNS pods): which backend answers each DNS query socket is the kernel's random choice, and
 * only probe connections' choices are replayed in podnet.
 */
export function dnsChoiceNotes(model: ClusterModel, resolvers: ReadonlyMap<string, ResolverSetup>): string[] {
  const notes: string[] = [];
  for (const ns of new Set([...resolvers.values()].flatMap((r) => r.conf.nameservers))) {
    const svc = model.services.find((x) => x.clusterIPs.includes(ns));
    if (svc === undefined) continue;
    const ready = new Set(
      model.endpointSlices
        .filter((sl) => sl.namespace === svc.namespace && sl.serviceName === svc.name)
        .flatMap((sl) => sl.endpoints.filter((e) => e.ready).map((e) => e.ip)),
    ).size;
    if (ready > 1) {
      notes.push(
        `${svc.namespace}/${svc.name} (${formatIpv4(ns)}), the nameserver names are resolved with, has ${ready} endpoints: each DNS query socket's backend is a random choice on both sides and is not replayed (only probe connections' choices are), so the CoreDNS pod that answers may differ; with one CoreDNS pod the comparison is exact`,
      );
    }
  }
  return notes;
}

/** Compares every capture point. */
export function compareAll(
  points: readonly string[],
  kernel: ReadonlyMap<string, readonly FrameInput[]>,
  podnet: ReadonlyMap<string, readonly FrameInput[]>,
  ctx: DecodeContext,
  opts: CompareOptions = {},
): PointComparison[] {
  return points.map((p) => comparePoint(p, kernel.get(p) ?? [], podnet.get(p) ?? [], ctx, opts));
}

/** Reads the kernel's captures into frames relative to the scenario start, splitting off those outside the window. */
export function kernelFrames(
  run: KernelRun,
  vxlanPorts: readonly number[],
): { frames: Map<string, FrameInput[]>; outside: Map<string, OutsideFrame[]> } {
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
        out.push({
          t,
          summary: summarizeFrame(dissectFrame(p.data, { vxlanPorts })),
          when: t < 0 ? 'before' : 'after',
        });
      } else inside.push(f);
    }
    frames.set(c.cp.point, inside);
    outside.set(c.cp.point, out);
  }
  return { frames, outside };
}

/** What the choice extraction reads from the kernel's run. */
export function kernelServiceSide(
  kernel: KernelRun,
  frames: ReadonlyMap<string, readonly FrameInput[]>,
  attempts: (probe: number) => number,
): ServiceSide {
  const counters = new Map<string, Map<string, number>>();
  const recent = new Map<string, Map<string, RecentEntry[]>>();
  for (const [node, st] of kernel.nodeState) {
    counters.set(node, parseDnatCounters(st.natSave));
    const lists = new Map<string, RecentEntry[]>();
    for (const [name, text] of st.recent) lists.set(name, parseXtRecent(text));
    recent.set(node, lists);
  }
  const starts = new Map<number, Nanos>();
  for (const o of kernel.outputs) {
    const t = starts.get(o.launch.probe);
    if (t === undefined || o.startedAt < t) starts.set(o.launch.probe, o.startedAt);
  }
  return {
    frames,
    localPort: kernelLocalPorts(kernel.outputs),
    attempts,
    counters,
    recent: kernel.nodeState.size > 0 ? recent : undefined,
    starts: (probe) => starts.get(probe),
  };
}

/** Runs the whole check. Throws KernelUnavailableError / StaleNamespacesError before touching anything. */
export async function verifyKernel(model: ClusterModel, opts: VerifyOptions): Promise<VerifyResult> {
  const scenario = model.scenario;
  if (scenario === undefined || scenario.probes.length === 0)
    throw new Error('the topology has no Scenario probes to verify');
  const log = opts.log ?? (() => undefined);
  const prefix = namePrefix(process.pid);
  const why = kernelUnavailable(`${prefix}preflight`);
  if (why !== undefined) throw new KernelUnavailableError(why);
  const stale = staleRunNamespaces(prefix);
  if (stale.length > 0) {
    if (!opts.preclean) {
      throw new StaleNamespacesError(
        `namespaces of another podnet verify run exist: ${stale.map((s) => s.name).join(', ')}; ${stale.some((s) => s.running) ? 'wait for that run to finish, or ' : ''}rerun with --preclean to remove those whose run is gone`,
      );
    }
    const r = precleanStale(prefix);
    if (r.removed.length > 0) log(`preclean: removed ${r.removed.join(', ')}`);
    const etc = precleanStaleEtc(prefix);
    if (etc.length > 0) log(`preclean: removed ${etc.join(', ')}`);
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
    const build = netfilter === 'off' ? { noNetfilter: true } : undefined;
    const buildOpt = build === undefined ? {} : { build };
    const sps = netfilter === 'off' ? [] : serviceProbesOf(model, opts.seed, build);
    const pcap = (name: string): { pcapDir?: string; pcapName?: string } =>
      opts.keepDir === undefined ? {} : { pcapDir: dir, pcapName: name };
    // podnet's own run: the kernel replays its schedule; with Service probes it is also podnet's unforced sample of
    // backend choices
    const watched = runWatched(model, opts.seed, sps, {
      ...pcap(sps.length > 0 ? 'podnet-unforced.pcapng' : 'podnet.pcapng'),
      ...buildOpt,
    });
    const pod = watched.run;
    const hook = opts.iptablesRestore ?? (netfilter === 'mirror' ? podnetRulesOf : undefined);
    const resolvers = resolversOf(pod.sim, scenario.probes);
    const plan: KernelPlan = planKernelTopology(pod.sim.network, {
      prefix,
      resolvers,
      seed: opts.seed,
      ...(hook === undefined ? {} : { iptablesRestore: hook }),
    });
    if (opts.keepDir !== undefined) writeFileSync(join(dir, 'kernel-topology.sh'), formatPlanScript(plan));
    const schedule = scheduleFromPodnet(pod.sim, scenario.probes, pod.reports, scenario.parallel);
    let kernel: KernelRun;
    let cleanup: CleanupSummary;
    try {
      log(`kernel: building ${plan.namespaces.length} namespaces (${prefix}*), ${plan.steps.length} commands`);
      kernel = await runKernel({
        plan,
        network: pod.sim.network,
        schedule,
        dir: join(dir, 'kernel'),
        end: pod.end,
        janitor,
        log: (l) => log(`kernel: ${l}`),
      });
    } finally {
      // captures are read below, so the scratch folder outlives this cleanup (removed at the end)
      cleanup = janitor.cleanup({ keepDirs: true });
      log(
        `cleanup: ${cleanup.processesStopped} processes stopped, ${cleanup.namespacesDeleted} namespaces deleted${cleanup.leftover.length ? `, LEFT: ${cleanup.leftover.join(', ')}` : ''}`,
      );
    }

    const ctx = decodeContextFor(model);
    const { frames: kFrames, outside } = kernelFrames(kernel, ctx.vxlanPorts);
    const points = plan.captures.map((c) => c.point);

    // Services: the kernel's backend choices, replayed in podnet (the run compared below)
    let services: ServiceCheck | undefined;
    let compared = pod;
    if (sps.length > 0) {
      const attempts = new Map(schedule.probes.map((g) => [g.probe, g.launches[0]?.attempts ?? 0]));
      const side = kernelServiceSide(kernel, kFrames, (probe) => attempts.get(probe) ?? 0);
      services = checkServices(model, opts.seed, watched, side, { ...pcap('podnet.pcapng'), ...buildOpt });
      compared = services.replay;
      const forcedCount = [...services.recorder.decisions.values()].filter((d) => d.forced !== undefined).length;
      log(
        `podnet: replayed the scenario with ${forcedCount} backend choice${forcedCount === 1 ? '' : 's'} forced as the kernel made them`,
      );
    }

    const pFrames = podnetFrames(compared);
    splitLateTimerFrames(
      kFrames,
      pFrames,
      { podnet: compared.end, kernel: kernel.windowEnd, lag: kernel.lag },
      ctx.vxlanPorts,
      outside,
    );
    let comparisons = compareAll(
      points,
      kFrames,
      pFrames,
      ctx,
      services === undefined
        ? { parallel: scenario.parallel }
        : { parallel: scenario.parallel, labels: connLabels(services) },
    );
    if (services !== undefined) {
      const svc = services;
      comparisons = comparisons.map((c) => ({
        ...c,
        mismatches: annotateForced(c.mismatches, comparisons, svc, compared.sim.network),
      }));
    }
    const pinned = (i: number): boolean => scenario.probes[i]?.sourcePort !== undefined;
    const probes = compareProbes(schedule.probes, compared.reports, kernel.outputs, pinned, ctx.natSources);

    const all: Mismatch[] = [...kernel.topology];
    for (const p of probes)
      all.push(...(services === undefined ? p.mismatches : markProbeMismatches(services, p.mismatches)));
    if (services !== undefined) all.push(...services.mismatches);
    for (const c of kernel.captures) {
      if (!c.stats.complete) {
        all.push({
          kind: 'capture',
          point: c.cp.point,
          kernel: `captured ${c.stats.captured ?? '?'}, received ${c.stats.received ?? '?'}, dropped ${c.stats.dropped ?? '?'}`,
          podnet: '-',
          note: 'tcpdump lost packets: this point is not trustworthy',
        });
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
    notes.push(...dnsChoiceNotes(model, resolvers));
    if (services !== undefined) {
      notes.push(
        `${services.probes.length} probe${services.probes.length === 1 ? '' : 's'} talk${services.probes.length === 1 ? 's' : ''} to a Service address: the packets are compared with podnet's replay of the scenario in which each SYN's backend was forced to the kernel's choice (its statistic rules made to pick that KUBE-SEP chain); podnet's own choices come from a separate unforced run with seed ${opts.seed}`,
      );
    }
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
      events: compared.sink.events,
      services,
    };
  } finally {
    janitor.cleanup();
    janitor.removeSignalHandlers();
    if (opts.keepDir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
