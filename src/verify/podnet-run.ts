/**
 * The podnet side of a comparison: run the topology's Scenario with every interface captured,
 * keeping for each captured frame its capture point, virtual time, direction, bytes, pcapng
 * comment and podnet packet id (from the tx/rx hop event emitted just before the capture), plus
 * every hop event, so a mismatch can show the podnet trace of exactly that packet.
 */
import type { ClusterModel } from '../kube/model.js';
import { Simulation } from '../api/simulation.js';
import type { BuildOptions } from '../kube/network.js';
import type { ProbeReport } from '../apps/probe.js';
import type { HopEvent } from '../events/hop.js';
import type { CaptureSink, HopSink } from '../events/tracer.js';
import { MemoryCapture, type CapturedFrame } from '../trace/memory-capture.js';
import type { FrameInput } from './records.js';
import { hopToJson } from '../trace/format.js';
import type { HopJson } from '../trace/format.js';
import { CaptureFiles } from '../trace/capture-sink.js';
import { NS_PER_MS } from '../sim/time.js';
import type { Nanos } from '../sim/time.js';

/** One frame podnet captured (with its packet id and flow). */
export type PodnetFrame = CapturedFrame;

/** Records frames with their packet ids (a MemoryCapture), and hop events. */
export class VerifySink extends MemoryCapture implements HopSink {
  readonly events: HopJson[] = [];

  hop(ev: HopEvent): void {
    this.events.push(hopToJson(ev));
  }
}

/** What podnet did for a scenario. */
export interface PodnetRun {
  readonly sim: Simulation;
  readonly reports: readonly ProbeReport[];
  readonly sink: VerifySink;
  /** Virtual time the comparison window ends (after the scenario plus a settle period). */
  readonly end: Nanos;
  /** The pcapng written, if any. */
  readonly pcapng: string | undefined;
}

/** Time podnet keeps running after the scenario, so packets in flight reach every capture point. */
export const SETTLE_NS = 300 * NS_PER_MS;

/** Options of a podnet run. */
export interface PodnetRunOptions {
  /** Write the capture as pcapng into this folder. */
  readonly pcapDir?: string;
  /** The pcapng's file name (default podnet.pcapng) and what its header says the run was. */
  readonly pcapName?: string;
  readonly pcapNote?: string;
  readonly build?: BuildOptions;
  /** Called once the network is built, before the Scenario runs (e.g. to install a backend-choice recorder). */
  readonly prepare?: (sim: Simulation) => void;
}

/** Runs the model's Scenario in podnet with every interface captured. */
export function runPodnet(model: ClusterModel, seed: number, opts: PodnetRunOptions = {}): PodnetRun {
  const sink = new VerifySink();
  const note = `podnet verify: scenario ${model.scenario?.name ?? '-'}, seed ${seed}${opts.pcapNote === undefined ? '' : `, ${opts.pcapNote}`}`;
  const files =
    opts.pcapDir === undefined
      ? undefined
      : new CaptureFiles(opts.pcapDir, opts.pcapName ?? 'podnet.pcapng', 'single', undefined, note);
  const captureSinks: CaptureSink[] = files === undefined ? [sink] : [sink, files];
  const sim = new Simulation(
    model,
    opts.build === undefined
      ? { seed, hopSinks: [sink], captureSinks }
      : { seed, hopSinks: [sink], captureSinks, build: opts.build },
  );
  // the kernel side is one kernel playing every node over a veth + bridge underlay: per-skb state
  // such as TCP's pending neighbour confirmation crosses between its nodes (World.sharedKernel)
  sim.network.world.sharedKernel = true;
  try {
    opts.prepare?.(sim);
    const reports = sim.runScenario();
    sim.advance(SETTLE_NS);
    const written = files?.commit() ?? [];
    return { sim, reports, sink, end: sim.now, pcapng: written[0] };
  } catch (e) {
    files?.abort();
    throw e;
  }
}

/** podnet's frames per capture point (every point, framed or not), as the comparer takes them. */
export function podnetFrames(run: PodnetRun): Map<string, FrameInput[]> {
  const m = new Map<string, FrameInput[]>();
  for (const p of run.sink.pointNames) m.set(p, []);
  for (const f of run.sink.frames) m.get(f.point)?.push(f);
  return m;
}
