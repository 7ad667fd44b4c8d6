/**
 * The Service part of a verification (see services.ts for the method): the kernel's backend
 * choices, podnet's forced replay of them, the slot-by-slot comparison, the distribution test
 * against podnet's own unforced choices, and the affinity state (`-m recent` lists) of every
 * node. Shared by `verifyKernel` and the comparer's unit tests (which stand a podnet run with
 * another seed in for the kernel).
 */
import type { ClusterModel } from '../kube/model.js';
import type { Network } from '../kube/network.js';
import { Simulation } from '../api/simulation.js';
import type { BuildOptions } from '../kube/network.js';
import { isMalformed } from '../wire/dissect.js';
import type { FrameDissection } from '../wire/dissect.js';
import { podnetFrames, runPodnet } from './podnet-run.js';
import type { PodnetRun, PodnetRunOptions } from './podnet-run.js';
import type { ConnLabeller, FrameInput, FrameRecord } from './records.js';
import type { Nanos } from '../sim/time.js';
import type { Mismatch, PointComparison, ServiceMark } from './compare.js';
import {
  ChoiceRecorder,
  compareChoices,
  compareRecent,
  endpointName,
  extractChoices,
  podnetDnatCounters,
  podnetRecentLists,
  serviceProbes,
  slotKey,
} from './services.js';
import type { Choice, Choices, DnatCounters, RecentEntry, ServiceProbe, SlotReport } from './services.js';
import { DISTRIBUTION_ALPHA, chiSquareHomogeneity } from './stats.js';
import type { HomogeneityTest } from './stats.js';

/** What one side saw of a Scenario, as the choice extraction reads it. */
export interface ServiceSide {
  readonly frames: ReadonlyMap<string, readonly FrameInput[]>;
  readonly localPort: (probe: number, attempt: number) => number | undefined;
  readonly attempts: (probe: number) => number;
  readonly counters: DnatCounters;
  /** Recent lists per node (undefined: not read). */
  readonly recent: ReadonlyMap<string, ReadonlyMap<string, readonly RecentEntry[]>> | undefined;
  /** When each probe actually started (ns after the scenario start), to run the replay on the same timeline. */
  readonly starts?: ((probe: number) => Nanos | undefined) | undefined;
}

/**
 * The model the replay runs: a sequential Scenario starts each probe when the previous one
 * ended, and the kernel's probes end at other times than podnet's own run's (another backend,
 * another retransmission), so the replay starts every probe when the other side started it —
 * its timers (delayed ARP probes, neighbour states) then fire at the same moments.
 */
export function replayModel(
  model: ClusterModel,
  starts: ((probe: number) => Nanos | undefined) | undefined,
): ClusterModel {
  const sc = model.scenario;
  if (starts === undefined || sc === undefined || sc.parallel) return model;
  const at = sc.probes.map((_, i) => starts(i));
  if (at.some((t) => t === undefined)) return model;
  return {
    ...model,
    scenario: {
      ...sc,
      parallel: true,
      probes: sc.probes.map((p, i) => ({ ...p, start: Math.max(0, Math.round(at[i]!)) })),
    },
  };
}

/** The distribution test of one scenario. */
export interface DistributionReport extends HomogeneityTest {
  readonly alpha: number;
  /** Whether it passed: not applicable, or p ≥ alpha. */
  readonly ok: boolean;
}

/** The Service part of a verification. */
export interface ServiceCheck {
  readonly probes: readonly ServiceProbe[];
  /** The kernel's choices, podnet's in the forced replay, podnet's own unforced ones. */
  readonly kernel: Choices;
  readonly podnet: Choices;
  readonly unforced: Choices;
  readonly slots: readonly SlotReport[];
  readonly distribution: DistributionReport;
  /** Non-empty recent lists on either side, one line each. */
  readonly recent: readonly string[];
  /** choice, distribution and state mismatches. */
  readonly mismatches: readonly Mismatch[];
  /** The forced replay: the run compared packet by packet. */
  readonly replay: PodnetRun;
  readonly recorder: ChoiceRecorder;
  /**
   * Attempts (`probe/attempt`) for which podnet's client, in the replay, picked an ephemeral
   * port it had already used towards the same Service address (the kernel's Linux never does
   * within a few thousand connections).
   */
  readonly podnetPortReused: ReadonlySet<string>;
  /**
   * Attempts (`probe/attempt`) whose SYN retransmissions differ between the kernel and the replay:
   * how many SYNs went out before the attempt ended, or the time between them (the kernel's
   * tcp_syn_linear_timeouts keeps its first 4 retransmissions 1 s apart; podnet doubles at once).
   */
  readonly synRetransmitsDiffer: ReadonlySet<string>;
}

/** A podnet run with its Service probes' choices watched (not forced). */
export interface WatchedRun {
  readonly run: PodnetRun;
  readonly probes: readonly ServiceProbe[];
  readonly recorder: ChoiceRecorder | undefined;
}

/** The Scenario's Service probes (from a throwaway network of the model). */
export function serviceProbesOf(model: ClusterModel, seed: number, build?: BuildOptions): ServiceProbe[] {
  const scenario = model.scenario;
  if (scenario === undefined) return [];
  const sim = new Simulation(model, build === undefined ? { seed } : { seed, build });
  return serviceProbes(sim, scenario.probes);
}

function checkFlows(run: PodnetRun): void {
  run.reports.forEach((r, i) => {
    if (r.flow !== i + 1)
      throw new Error(
        `internal: probe ${i} ran as flow ${r.flow}, not ${i + 1} (the choice recorder tells probes apart by flow)`,
      );
  });
}

/** Runs podnet's Scenario, watching (not forcing) the backend choices of its Service probes. */
export function runWatched(
  model: ClusterModel,
  seed: number,
  probes: readonly ServiceProbe[],
  opts: PodnetRunOptions = {},
): WatchedRun {
  const recorder = probes.length > 0 ? new ChoiceRecorder(probes, undefined) : undefined;
  const run = runPodnet(
    model,
    seed,
    recorder === undefined ? opts : { ...opts, prepare: (sim) => recorder.install(sim.network) },
  );
  if (recorder !== undefined) checkFlows(run);
  return { run, probes, recorder };
}

/** What the choice extraction reads from a podnet run. */
export function podnetSide(run: PodnetRun): ServiceSide {
  const net = run.sim.network;
  const recent = new Map<string, Map<string, RecentEntry[]>>();
  for (const name of net.nodes.keys()) recent.set(name, podnetRecentLists(net, name));
  return {
    frames: podnetFrames(run),
    localPort: (probe, attempt) => run.reports[probe]?.attempts[attempt]?.sourcePort,
    starts: (probe) => run.reports[probe]?.attempts[0]?.t,
    attempts: (probe) => run.reports[probe]?.attempts.length ?? 0,
    counters: podnetDnatCounters(net),
    recent,
  };
}

function vxlanPortsOf(model: ClusterModel): number[] {
  return model.cni.backend === 'vxlan' ? [model.cni.port] : [];
}

function asMismatches(where: string, problems: readonly string[]): Mismatch[] {
  return problems.map((p) => ({
    kind: 'choice' as const,
    point: 'backend choices',
    field: 'cannot tell',
    kernel: where === 'kernel' ? p : '-',
    podnet: where === 'podnet' ? p : '-',
    note: `which backend ${where === 'kernel' ? 'the kernel' : 'podnet'} chose could not be read from the captures and DNAT counters`,
  }));
}

/**
 * Given the kernel's side of a run and podnet's watched unforced run: reads the kernel's
 * choices, replays the Scenario in podnet with them forced, compares choice by choice, tests
 * the distribution and compares the recent lists.
 */
export function checkServices(
  model: ClusterModel,
  seed: number,
  watched: WatchedRun,
  kernel: ServiceSide,
  opts: PodnetRunOptions = {},
): ServiceCheck {
  const probes = watched.probes;
  const vx = vxlanPortsOf(model);
  const kChoices = extractChoices(probes, kernel.frames, kernel.localPort, kernel.attempts, kernel.counters, vx);
  const forced = new Map<string, string>();
  for (const c of kChoices.slots)
    if (c.endpoint !== undefined) forced.set(slotKey(c.probe, c.attempt, c.ordinal), c.endpoint);
  const recorder = new ChoiceRecorder(probes, forced);
  const replay = runPodnet(replayModel(model, kernel.starts), seed, {
    ...opts,
    prepare: (sim) => recorder.install(sim.network),
  });
  checkFlows(replay);
  const rSide = podnetSide(replay);
  const pChoices = extractChoices(probes, rSide.frames, rSide.localPort, rSide.attempts, rSide.counters, vx);
  const uSide = podnetSide(watched.run);
  const uChoices = extractChoices(probes, uSide.frames, uSide.localPort, uSide.attempts, uSide.counters, vx);
  const net = replay.sim.network;
  const podnetPortReused = portReuse(probes, replay);
  const synRetransmitsDiffer = retransmitsDiffer(kChoices, pChoices);
  const { slots, mismatches: choiceMismatches } = compareChoices(probes, kChoices, pChoices, recorder, net);
  const mismatches: Mismatch[] = choiceMismatches.map((m) => {
    const slot = slotOfField(probes, m);
    return slot === undefined
      ? m
      : {
          ...m,
          service: markOf(
            slot.probe,
            `${slot.index}/${slot.attempt}`,
            slot.attempt,
            podnetPortReused,
            synRetransmitsDiffer,
          ),
        };
  });
  mismatches.unshift(...asMismatches('kernel', kChoices.problems), ...asMismatches('podnet', pChoices.problems));

  // the distribution: the kernel's random choices against podnet's own (unforced) ones
  // a choice is random when podnet's rules offered more than one backend for that SYN (no
  // decision recorded — podnet never reached one — falls back to the static listing, unless affinity)
  const randomIn = (c: Choice, rec: ChoiceRecorder | undefined): boolean => {
    const d = rec?.decisions.get(slotKey(c.probe, c.attempt, c.ordinal));
    if (d !== undefined) return d.random;
    const sp = probes.find((p) => p.probe === c.probe);
    return sp !== undefined && !sp.affinity && sp.listed.length > 1;
  };
  const kSample = kChoices.slots
    .filter((c) => c.endpoint !== undefined && randomIn(c, recorder))
    .map((c) => endpointName(net, c.endpoint));
  const uSample = uChoices.slots
    .filter((c) => c.endpoint !== undefined && randomIn(c, watched.recorder))
    .map((c) => endpointName(watched.run.sim.network, c.endpoint));
  const categories = [...new Set([...kSample, ...uSample])].sort();
  const count = (xs: readonly string[]): number[] => categories.map((c) => xs.filter((x) => x === c).length);
  const test = chiSquareHomogeneity(categories, count(kSample), count(uSample));
  const distribution: DistributionReport = {
    ...test,
    alpha: DISTRIBUTION_ALPHA,
    ok: !test.applicable || (test.p ?? 1) >= DISTRIBUTION_ALPHA,
  };
  if (!distribution.ok) {
    mismatches.push({
      kind: 'distribution',
      point: 'backend choices',
      field: 'chi-square test of homogeneity',
      kernel: categories.map((c, i) => `${c} ${distribution.a[i]}`).join(', '),
      podnet: categories.map((c, i) => `${c} ${distribution.b[i]}`).join(', '),
      note: `χ² = ${distribution.chi2?.toFixed(2)}, df ${distribution.df}, p = ${distribution.p?.toExponential(2)} < α = ${DISTRIBUTION_ALPHA}: the kernel's random backend choices and podnet's own (unforced, seed ${seed}) differ significantly`,
    });
  }

  // affinity state: every node's recent lists
  let recent: string[] = [];
  if (kernel.recent !== undefined && rSide.recent !== undefined) {
    const r = compareRecent(kernel.recent, rSide.recent);
    recent = r.lines;
    mismatches.push(...r.mismatches);
  }
  return {
    probes,
    kernel: kChoices,
    podnet: pChoices,
    unforced: uChoices,
    slots,
    distribution,
    recent,
    mismatches,
    replay,
    recorder,
    podnetPortReused,
    synRetransmitsDiffer,
  };
}

function markOf(
  probe: string,
  key: string,
  attempt: number,
  reused: ReadonlySet<string>,
  rtx: ReadonlySet<string>,
): ServiceMark {
  return { probe, attempt, podnetPortReused: reused.has(key), synRetransmitsDiffer: rtx.has(key) };
}

/**
 * Attempts whose SYNs (count, or the time between retransmissions, by more than 0.5 s) differ between the two sides.
 */
function retransmitsDiffer(kernel: Choices, podnet: Choices): Set<string> {
  const times = (c: Choices): Map<string, number[]> => {
    const m = new Map<string, number[]>();
    for (const s of c.slots) {
      const k = `${s.probe}/${s.attempt}`;
      let l = m.get(k);
      if (l === undefined) m.set(k, (l = []));
      l[s.ordinal] = s.syn.t;
    }
    return m;
  };
  const k = times(kernel);
  const p = times(podnet);
  const out = new Set<string>();
  for (const key of new Set([...k.keys(), ...p.keys()])) {
    const a = k.get(key) ?? [];
    const b = p.get(key) ?? [];
    if (a.length !== b.length) {
      out.add(key);
      continue;
    }
    for (let i = 1; i < a.length; i++) {
      if (Math.abs(a[i]! - a[i - 1]! - (b[i]! - b[i - 1]!)) > 500_000_000) out.add(key);
    }
  }
  return out;
}

/**
 * Attempts whose ephemeral client port an earlier attempt (to the same client → Service address) already used, in
 * podnet's run.
 */
function portReuse(probes: readonly ServiceProbe[], run: PodnetRun): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  const all: Array<{ t: number; key: string; slot: string }> = [];
  for (const sp of probes) {
    if (run.sim.model.scenario?.probes[sp.probe]?.sourcePort !== undefined) continue;
    run.reports[sp.probe]?.attempts.forEach((a, j) => {
      if (a.sourcePort !== undefined)
        all.push({
          t: a.t,
          key: `${sp.clientIp}:${a.sourcePort}>${sp.dst}:${sp.dport}/${sp.protocol}`,
          slot: `${sp.probe}/${j}`,
        });
    });
  }
  all.sort((x, y) => x.t - y.t);
  for (const x of all) {
    if (seen.has(x.key)) out.add(x.slot);
    seen.set(x.key, x.t);
  }
  return out;
}

/** The probe attempt a choice or probe mismatch names (`probe <name>`, `backend of attempt N…` / `attempt N`). */
function slotOfField(
  probes: readonly ServiceProbe[],
  m: Mismatch,
): { index: number; probe: string; attempt: number } | undefined {
  if (!m.point.startsWith('probe ')) return undefined;
  const sp = probes.find((p) => `probe ${p.name}` === m.point);
  const a = /attempt (\d+)/.exec(m.field ?? '');
  if (sp === undefined || a === null) return undefined;
  return { index: sp.probe, probe: sp.name, attempt: Number(a[1]) - 1 };
}

/** Marks probe-outcome mismatches of Service probes with their attempt (see ServiceCheck.podnetPortReused). */
export function markProbeMismatches(check: ServiceCheck, mismatches: readonly Mismatch[]): Mismatch[] {
  return mismatches.map((m) => {
    const slot = slotOfField(check.probes, m);
    return slot === undefined
      ? m
      : {
          ...m,
          service: markOf(
            slot.probe,
            `${slot.index}/${slot.attempt}`,
            slot.attempt,
            check.podnetPortReused,
            check.synRetransmitsDiffer,
          ),
        };
  });
}

function sortedTuple(a: string, b: string): string {
  return a <= b ? `${a}<>${b}` : `${b}<>${a}`;
}

/**
 * Names every Service connection by its probe attempt (`probe/attempt`) on each side. Its
 * frames carry, wherever they are captured, a pair of the addresses its SYNs had somewhere:
 * before NAT, after DNAT (and MASQUERADE), or half-translated (a bridge capture between the
 * two) — so every such pair names the connection, the latest one to use it when a port is reused.
 */
export function connLabels(check: ServiceCheck): {
  kernel: (point: string) => ConnLabeller | undefined;
  podnet: (point: string) => ConnLabeller | undefined;
} {
  const build = (choices: Choices): ConnLabeller => {
    const byTuple = new Map<string, Array<{ t: Nanos; label: string }>>();
    for (const c of choices.slots) {
      const label = `${c.probe}/${c.attempt}`;
      const srcs = new Set<string>();
      const dsts = new Set<string>();
      for (const cp of c.copies) {
        const [a, b] = cp.tuple.split('>') as [string, string];
        srcs.add(a);
        dsts.add(b);
      }
      for (const a of srcs) {
        for (const b of dsts) {
          if (a === b) continue;
          const key = sortedTuple(a, b);
          let l = byTuple.get(key);
          if (l === undefined) byTuple.set(key, (l = []));
          if (!l.some((x) => x.label === label)) l.push({ t: c.syn.t, label });
        }
      }
    }
    for (const l of byTuple.values()) l.sort((x, y) => x.t - y.t);
    // the latest connection with this tuple that had started (a reused port names a later one)
    return (tuple, t) => {
      const l = byTuple.get(tuple);
      if (l === undefined) return undefined;
      let best = l[0]!.label;
      for (const x of l) if (x.t <= t + 1_000_000) best = x.label;
      return best;
    };
  };
  const k = build(check.kernel);
  const p = build(check.podnet);
  return { kernel: () => k, podnet: () => p };
}

function innerTuple(d: FrameDissection): string | undefined {
  let x = d;
  for (let i = 0; i < 4 && x.inner !== undefined; i++) x = x.inner;
  const ip = x.ip;
  if (ip === undefined || isMalformed(ip)) return undefined;
  const l4 =
    x.tcp !== undefined && !isMalformed(x.tcp) ? x.tcp : x.udp !== undefined && !isMalformed(x.udp) ? x.udp : undefined;
  if (l4 === undefined) return undefined;
  const a = `${ip.src}:${l4.sport}`;
  const b = `${ip.dst}:${l4.dport}`;
  return a <= b ? `${a}<>${b}` : `${b}<>${a}`;
}

/**
 * Adds to each frame mismatch of a Service connection which backends podnet was made to take
 * for it ("replayed with backend web-1 forced, as the kernel chose") and which probe attempt
 * it belongs to.
 */
export function annotateForced(
  mismatches: readonly Mismatch[],
  comparisons: readonly PointComparison[],
  check: ServiceCheck,
  net: Network,
): Mismatch[] {
  const labels = connLabels(check);
  const byPoint = new Map(comparisons.map((c) => [c.point, c]));
  return mismatches.map((m) => {
    let rec: FrameRecord | undefined = m.podnetFrame;
    let label = labels.podnet(m.point);
    if (rec === undefined) {
      rec = m.kernelFrame ?? (m.kernelIndex === undefined ? undefined : byPoint.get(m.point)?.kernel[m.kernelIndex]);
      label = labels.kernel(m.point);
    }
    if (rec === undefined || label === undefined) return m;
    const t = innerTuple(rec.d);
    const l = t === undefined ? undefined : label(t, rec.input.t);
    if (l === undefined) return m;
    const [probe, attempt] = l.split('/').map(Number) as [number, number];
    const sp = check.probes.find((p) => p.probe === probe);
    const syns = check.kernel.slots
      .filter((c) => c.probe === probe && c.attempt === attempt)
      .sort((a, b) => a.ordinal - b.ordinal);
    const decisions = syns.map((c) => check.recorder.decisions.get(slotKey(c.probe, c.attempt, c.ordinal)));
    const names = syns.map((c) => endpointName(net, c.endpoint));
    const where = `probe ${sp?.name ?? probe} attempt ${attempt + 1}`;
    const service = markOf(
      sp?.name ?? String(probe),
      `${probe}/${attempt}`,
      attempt,
      check.podnetPortReused,
      check.synRetransmitsDiffer,
    );
    const anyForced = decisions.some((d) => d?.forced !== undefined);
    const text =
      syns.length === 0
        ? `${where}: the kernel made no backend choice for it`
        : !anyForced
          ? `${where}: nothing forced (the kernel chose ${names.join(', ')}; podnet's rules left ${decisions.map((d) => d?.listed.map((x) => x.pod).join('/') ?? 'no decision').join(', ')})`
          : syns.length === 1
            ? `replayed with backend ${names[0]} forced, as the kernel chose (${where})`
            : `replayed with backends ${names.join(', ')} forced for its ${syns.length} SYNs in order, as the kernel chose (${where})`;
    return { ...m, forced: text, service };
  });
}
