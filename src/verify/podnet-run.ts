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
import type { CapturePoint, CaptureSink, HopSink, PacketNotes } from '../events/tracer.js';
import { captureComment } from '../trace/hop-text.js';
import { hopToJson } from '../trace/format.js';
import type { HopJson } from '../trace/format.js';
import { CaptureFiles } from '../trace/capture-sink.js';
import { NS_PER_MS } from '../sim/time.js';
import type { Nanos } from '../sim/time.js';

/** One frame podnet captured. */
export interface PodnetFrame {
  readonly point: string;
  readonly t: Nanos;
  readonly dir: 'in' | 'out';
  readonly bytes: Uint8Array;
  readonly comment: string;
  /** podnet's packet id (hop events with this id are the packet's trace); undefined if unknown. */
  readonly packetId: number | undefined;
  /** The probe (flow) the packet belongs to, 0 for none. */
  readonly flow: number;
}

/** Records frames with their packet ids, and hop events. */
export class VerifySink implements CaptureSink, HopSink {
  readonly frames: PodnetFrame[] = [];
  readonly events: HopJson[] = [];
  readonly points: string[] = [];

  hop(ev: HopEvent): void {
    this.events.push(hopToJson(ev));
  }

  addPoint(point: CapturePoint): number {
    this.points.push(point.name);
    return this.points.length - 1;
  }

  packet(
    handle: number,
    t: number,
    dir: 'in' | 'out',
    buf: Uint8Array,
    off: number,
    len: number,
    notes: PacketNotes,
  ): void {
    const point = this.points[handle]!;
    const comment = captureComment(notes);
    this.frames.push({
      point,
      t,
      dir,
      bytes: buf.slice(off, off + len),
      comment,
      packetId: notes.pkt,
      flow: notes.flow,
    });
  }

  /** Frames at one capture point, in order. */
  at(point: string): PodnetFrame[] {
    return this.frames.filter((f) => f.point === point);
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
