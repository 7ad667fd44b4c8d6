/**
 * `simulate`: the library's one-call entry point. Builds the network of a model (or loads a
 * topology first, with the same seed, as the CLI does), optionally replaces nodes' rules, runs
 * flows one after another exactly as `podnet trace` / `podnet run` run probes, and returns
 * structured per-flow results, the hop events and, on request, the captured frames.
 */
import type { ClusterModel } from '../kube/model.js';
import type { KubeProxyOptions } from '../kube/proxy/generate.js';
import type { Ruleset } from '../netfilter/rules.js';
import { Simulation } from './simulation.js';
import type { ProbeReport } from './simulation.js';
import type { HopEvent } from '../events/hop.js';
import type { CapturePoint, CaptureSink, FlowRecord, HopSink, PacketNotes } from '../events/tracer.js';
import { MemoryCapture } from '../trace/memory-capture.js';
import { PointFilter } from '../trace/capture-sink.js';
import { isClusterModel, loadTopology } from './topology.js';
import type { TopologyInput } from './topology.js';
import { probeModel, resolveFlow } from './flow.js';
import type { FlowSpec, ResolvedFlow } from './flow.js';
import { parseRules } from './rules.js';
import { flowResult, NetworkIndex } from './results.js';
import type { FlowResult } from './results.js';
import { pcapngBytes, writePcapng } from './pcap.js';

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /**
   * RNG seed (default: the seed the model was loaded with, else 1). Topology input is loaded
   * with this seed too, so `podnet trace --seed <seed>` replays the run.
   */
  readonly seed?: number;
  /** The flows, run one after another (each starts when the previous one finished), as `podnet run` runs a Scenario. */
  readonly flows: readonly FlowSpec[];
  /** Record hop events (default true): translations, drops, hops and packets of each flow need them. */
  readonly trace?: boolean;
  /** Keep captured frames in memory (`true`: every interface; or globs such as `node1/*`, `pod:client/eth0`). */
  readonly capture?: boolean | readonly string[];
  /**
   * Rules to use instead of the generated ones, by node: iptables-save text (what `podnet rules`
   * prints, possibly edited; see `mutateRules`) or a parsed ruleset.
   */
  readonly rules?: Readonly<Record<string, string | Ruleset>>;
  /** kube-proxy settings for the generated rules (masqueradeAll, nodePortAddresses, …). */
  readonly kubeProxy?: KubeProxyOptions;
  /** More sinks (for example `CaptureFiles` writing pcapng as the run goes, or a `TextHopSink`). */
  readonly hopSinks?: readonly HopSink[];
  readonly captureSinks?: readonly CaptureSink[];
}

/** What {@link simulate} returns. */
export interface SimulationResult {
  readonly seed: number;
  readonly model: ClusterModel;
  /** One result per flow, in the order given. */
  readonly flows: readonly FlowResult[];
  /** Every hop event of the run, flows and background (ARP, neighbour timers) alike; empty without tracing. */
  readonly hops: readonly HopEvent[];
  /** Captured frames, when `capture` was asked for. */
  readonly capture: MemoryCapture | undefined;
  /** The simulation itself, to run more traffic or inspect the network (devices, FDBs, conntrack). */
  readonly simulation: Simulation;
  /** The captured frames as pcapng bytes (needs `capture`). */
  pcapng(comment?: string): Uint8Array;
  /** Writes the captured frames as pcapng, atomically; returns the path written (needs `capture`). */
  writePcapng(path: string, comment?: string): string;
}

/** Collects hop events in an array. */
class HopLog implements HopSink {
  readonly events: HopEvent[] = [];
  hop(e: HopEvent): void {
    this.events.push(e);
  }
}

/** Keeps only some capture points (glob patterns), in memory. */
class FilteredMemoryCapture extends MemoryCapture {
  constructor(
    vxlanPorts: readonly number[],
    private readonly filter: PointFilter,
  ) {
    super(vxlanPorts);
  }

  override addPoint(point: CapturePoint): number {
    return this.filter.accepts(point.name) ? super.addPoint(point) : -1;
  }

  override packet(handle: number, t: number, dir: 'in' | 'out', buf: Uint8Array, off: number, len: number, notes: PacketNotes): void {
    if (handle >= 0) super.packet(handle, t, dir, buf, off, len, notes);
  }
}

/**
 * Runs flows through the emulated network of a model or topology and returns what happened to
 * each: delivered or not, who answered, the NAT applied, every hop, drops with reasons, and
 * optionally every captured frame. The same machinery as `podnet trace` and `podnet run`: the
 * same seed gives the same packets.
 */
export function simulate(input: ClusterModel | TopologyInput, opts: SimulateOptions): SimulationResult {
  const given = isClusterModel(input) ? input : undefined;
  const seed = opts.seed ?? given?.seed ?? 1;
  const model = given ?? loadTopology(input as TopologyInput, { seed });
  const log = opts.trace === false ? undefined : new HopLog();
  let capture: MemoryCapture | undefined;
  if (opts.capture !== undefined && opts.capture !== false) {
    const ports = model.cni.backend === 'vxlan' ? [model.cni.port] : [];
    capture = opts.capture === true ? new MemoryCapture(ports) : new FilteredMemoryCapture(ports, new PointFilter(opts.capture));
  }
  const simulation = new Simulation(model, {
    seed,
    hopSinks: [...(log ? [log] : []), ...(opts.hopSinks ?? [])],
    captureSinks: [...(capture ? [capture] : []), ...(opts.captureSinks ?? [])],
    ...(opts.kubeProxy !== undefined ? { build: { proxy: opts.kubeProxy } } : {}),
  });
  for (const [node, rules] of Object.entries(opts.rules ?? {})) {
    simulation.network.setNodeRules(node, typeof rules === 'string' ? parseRules(rules, `<rules of ${node}>`) : rules);
  }
  const resolved: ResolvedFlow[] = opts.flows.map((f) => resolveFlow(model, f));
  // as podnet run runs a Scenario: every probe is resolved first (flow ids in order), then each runs after the previous
  const specs = resolved.map((f) => simulation.specFor(probeModel(f)));
  const records: FlowRecord[] = [];
  const reports: ProbeReport[] = specs.map((spec) => {
    const report = simulation.runSpecs([spec])[0]!;
    records.push(simulation.flowRecord(spec.flow));
    return report;
  });
  const net = new NetworkIndex(simulation.network);
  const events = log?.events ?? [];
  const byFlow = new Map<number, HopEvent[]>();
  if (log !== undefined) {
    for (const e of events) {
      if (e.flow === 0) continue;
      let l = byFlow.get(e.flow);
      if (l === undefined) byFlow.set(e.flow, (l = []));
      l.push(e);
    }
  }
  const flows = reports.map((report, index) =>
    flowResult({ index, flow: resolved[index]!, report, sourceNs: specs[index]!.fromNs, hops: log === undefined ? undefined : (byFlow.get(report.flow) ?? []), record: records[index]!, net }),
  );
  const needCapture = (): MemoryCapture => {
    if (capture === undefined) throw new Error('no frames were captured: simulate with { capture: true }');
    return capture;
  };
  return {
    seed,
    model,
    flows,
    hops: events,
    capture,
    simulation,
    pcapng: (comment) => pcapngBytes(needCapture(), comment),
    writePcapng: (path, comment) => writePcapng(needCapture(), path, comment),
  };
}
