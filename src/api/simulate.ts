/**
 * `simulate`: the library's one-call entry point, and what `podnet trace` and `podnet run` call.
 * Builds the network of a model (or loads a topology first, with the same seed, as the CLI does),
 * optionally replaces nodes' rules, runs flows one after another exactly as `podnet trace` runs a
 * probe (or the model's own Scenario, as `podnet run` does), and returns structured per-flow
 * results, the hop events and, on request, the captured frames and the nat chains' choices.
 */
import type { ClusterModel, ProbeModel } from '../kube/model.js';
import type { Ruleset } from '../netfilter/rules.js';
import { formatTarget } from '../netfilter/iptables-save.js';
import { Simulation } from './simulation.js';
import type { ProbeReport } from '../apps/probe.js';
import type { HopEvent } from '../events/hop.js';
import type { CapturePoint, CaptureSink, HopSink, PacketNotes } from '../events/tracer.js';
import { MemoryCapture } from '../trace/memory-capture.js';
import { PointFilter } from '../trace/capture-sink.js';
import { summarizeFrame } from '../trace/frame-summary.js';
import { dissectFrame } from '../wire/dissect.js';
import { checkTopologyInput, isClusterModel, loadTopology } from './topology.js';
import type { TopologyInput } from './topology.js';
import { checkFlowSpec, resolveFlow } from './flow.js';
import type { FlowSpec, ServiceTarget } from './flow.js';
import { checkKubeProxy, parseRules } from './rules.js';
import type { KubeProxySettings } from './rules.js';
import { flowResult, NetworkIndex } from './results.js';
import type { FlowResult, NatChoice } from './results.js';
import { pcapngBytes, writePcapng } from './pcap.js';
import { FlowError } from './errors.js';
import {
  checkArray,
  checkOptBoolean,
  checkOptFunction,
  checkOptInteger,
  checkOptions,
  checkOptSinks,
  checkString,
  fail,
  isRecord,
} from './check.js';

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /**
   * RNG seed (default: the seed the model was loaded with, else 1). Topology input is loaded
   * with this seed too, so `podnet trace --seed <seed>` replays the run.
   */
  readonly seed?: number | undefined;
  /**
   * The flows, run one after another (each starts when the previous one finished), as `podnet
   * run` runs a Scenario; or `'scenario'`: the model's own Scenario, exactly as `podnet run` runs
   * it (side by side when it says `parallel`, and on to its `duration`).
   */
  readonly flows: readonly FlowSpec[] | 'scenario';
  /** Record hop events (default true): translations, drops, hops and packets of each flow need them. */
  readonly trace?: boolean | undefined;
  /** Keep captured frames in memory (`true`: every interface; or globs such as `node1/*`, `pod:client/eth0`). */
  readonly capture?: boolean | readonly string[] | undefined;
  /**
   * Rules to use instead of the generated ones, by node: iptables-save text (what `podnet rules`
   * prints, possibly edited; see `mutateRules`) or a parsed ruleset (see `parseRules`).
   */
  readonly rules?: Readonly<Record<string, string | Ruleset>> | undefined;
  /** kube-proxy settings for the generated rules (masqueradeAll, nodePortAddresses, …). */
  readonly kubeProxy?: KubeProxySettings | undefined;
  /**
   * Record every decision of the nat chains (a NAT target or a random choice) with every way it
   * could have gone and its exact probability, as `podnet trace --all-paths` prints them.
   */
  readonly allPaths?: boolean | undefined;
  /** More sinks (for example `CaptureFiles` writing pcapng as the run goes, or a `TextHopSink`). */
  readonly hopSinks?: readonly HopSink[] | undefined;
  /** More capture sinks (for example `CaptureFiles`), given every frame as devices send and receive it. */
  readonly captureSinks?: readonly CaptureSink[] | undefined;
  /**
   * Called once the network is built and every flow resolved (so a {@link FlowError} comes
   * first), before anything runs: the place to print a header or attach a progress display. A
   * function it returns is called when the run ends, also when it throws.
   */
  readonly onReady?: ((ready: SimulationReady) => (() => void) | undefined) | undefined;
}

/** What {@link SimulateOptions.onReady} is given: the built network and the probes about to run. */
export interface SimulationReady {
  readonly seed: number;
  readonly model: ClusterModel;
  readonly simulation: Simulation;
  /** The probes, in order: each flow resolved, or the Scenario's probes. */
  readonly probes: readonly ProbeModel[];
}

/** What {@link simulate} returns. */
export interface SimulationResult {
  readonly seed: number;
  readonly model: ClusterModel;
  /** One result per flow (or Scenario probe), in the order given. */
  readonly flows: readonly FlowResult[];
  /** Every hop event of the run, flows and background (ARP, neighbour timers) alike; empty without tracing. */
  readonly hops: readonly HopEvent[];
  /** Every decision of the nat chains, in order, with `allPaths` (else empty); each flow has its own too. */
  readonly allPaths: readonly NatChoice[];
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

  override packet(
    handle: number,
    t: number,
    dir: 'in' | 'out',
    buf: Uint8Array,
    off: number,
    len: number,
    notes: PacketNotes,
  ): void {
    if (handle >= 0) super.packet(handle, t, dir, buf, off, len, notes);
  }
}

/** Checks simulate's options (types only); throws an ArgumentError naming the option. */
function checkSimulateOptions(opts: unknown): SimulateOptions {
  const o = checkOptions(opts, 'opts');
  if (opts === undefined) fail('opts', 'an object with flows', opts);
  const flows = o['flows'];
  if (flows !== 'scenario')
    for (const [i, f] of checkArray(flows, 'opts.flows', 'an array of flows or "scenario"').entries()) {
      checkFlowSpec(f, `opts.flows[${i}]`);
    }
  checkOptInteger(o['seed'], 'opts.seed');
  checkOptBoolean(o['trace'], 'opts.trace');
  const capture = o['capture'];
  if (capture !== undefined && typeof capture !== 'boolean') {
    for (const [i, g] of checkArray(capture, 'opts.capture', 'true, false or an array of interface globs').entries()) {
      checkString(g, `opts.capture[${i}]`);
    }
  }
  const rules = o['rules'];
  if (rules !== undefined) {
    for (const [node, r] of Object.entries(checkOptions(rules, 'opts.rules'))) {
      if (typeof r !== 'string' && !(isRecord(r) && isRecord(r['tables'])))
        fail(`opts.rules.${node}`, 'iptables-save text or a ruleset (see parseRules)', r);
    }
  }
  checkOptBoolean(o['allPaths'], 'opts.allPaths');
  checkOptSinks(o['hopSinks'], 'opts.hopSinks', ['hop']);
  checkOptSinks(o['captureSinks'], 'opts.captureSinks', ['addPoint', 'packet']);
  checkOptFunction(o['onReady'], 'opts.onReady');
  return o as unknown as SimulateOptions;
}

/**
 * Runs flows through the emulated network of a model or topology and returns what happened to
 * each: delivered or not, who answered, the NAT applied, every hop, drops with reasons, and
 * optionally every captured frame. The same machinery as `podnet trace` and `podnet run`: the
 * same seed gives the same packets. Throws an ArgumentError for an option of the wrong type, a
 * FlowError for a flow that cannot run (before anything runs), a TopologyError for topology
 * input that does not load, a RulesError for rules text that does not parse.
 */
export function simulate(input: ClusterModel | TopologyInput, opts: SimulateOptions): SimulationResult {
  const given = isClusterModel(input) ? input : undefined;
  if (given === undefined) checkTopologyInput(input, 'input');
  checkSimulateOptions(opts);
  const kubeProxy = opts.kubeProxy === undefined ? undefined : checkKubeProxy(opts.kubeProxy, 'opts.kubeProxy');
  const seed = opts.seed ?? given?.seed ?? 1;
  const model = given ?? loadTopology(input as TopologyInput, { seed });
  let probes: readonly ProbeModel[];
  let targets: ReadonlyArray<ServiceTarget | undefined>;
  if (opts.flows === 'scenario') {
    if (model.scenario === undefined || model.scenario.probes.length === 0)
      throw new FlowError('the topology has no Scenario probes to run');
    probes = model.scenario.probes;
    targets = probes.map(() => undefined);
  } else {
    probes = opts.flows.map((f) => resolveFlow(model, f));
    targets = opts.flows.map((f) => (typeof f.to === 'string' ? undefined : f.to));
  }
  const rules = Object.entries(opts.rules ?? {}).map(
    ([node, r]) => [node, typeof r === 'string' ? parseRules(r, `<rules of ${node}>`) : r] as const,
  );
  const log = opts.trace === false ? undefined : new HopLog();
  let capture: MemoryCapture | undefined;
  if (opts.capture !== undefined && opts.capture !== false) {
    const ports = model.cni.backend === 'vxlan' ? [model.cni.port] : [];
    capture =
      opts.capture === true
        ? new MemoryCapture(ports)
        : new FilteredMemoryCapture(ports, new PointFilter(opts.capture));
  }
  const simulation = new Simulation(model, {
    seed,
    hopSinks: [...(log ? [log] : []), ...(opts.hopSinks ?? [])],
    captureSinks: [...(capture ? [capture] : []), ...(opts.captureSinks ?? [])],
    ...(kubeProxy !== undefined ? { build: { proxy: kubeProxy } } : {}),
  });
  for (const [node, r] of rules) simulation.network.setNodeRules(node, r);
  const allPaths: NatChoice[] = [];
  if (opts.allPaths === true) {
    for (const n of simulation.network.nodes.values()) {
      // only decisions that matter: a NAT target or a probabilistic choice
      n.nf.explorer = (paths, hook, pkt) => {
        if (paths.length > 1 || paths.some((p) => p.nat !== undefined)) {
          const packet = summarizeFrame(dissectFrame(pkt.bytes())).replace(/, ttl \d+$/, '');
          allPaths.push({
            node: n.model.name,
            hook,
            flow: pkt.flow,
            packet,
            paths: paths.map((p) => ({ ...p, nat: p.nat === undefined ? undefined : formatTarget(p.nat).trim() })),
          });
        }
      };
    }
  }
  const sc = opts.flows === 'scenario' ? model.scenario : undefined;
  const onReady = opts.onReady;
  const reports: ProbeReport[] = simulation.run(probes, {
    parallel: sc?.parallel ?? false,
    duration: sc?.duration,
    ...(onReady !== undefined ? { ready: () => onReady({ seed, model, simulation, probes }) } : {}),
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
    flowResult({
      index,
      probe: probes[index]!,
      target: targets[index],
      report,
      sourceNs: simulation.resolveFrom(probes[index]!.from).ns,
      hops: log === undefined ? undefined : (byFlow.get(report.flow) ?? []),
      allPaths: allPaths.filter((a) => a.flow === report.flow),
      record: simulation.flowRecord(report.flow),
      net,
    }),
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
    allPaths,
    capture,
    simulation,
    pcapng: (comment) => pcapngBytes(needCapture(), comment),
    writePcapng: (path, comment) => writePcapng(needCapture(), path, comment),
  };
}
