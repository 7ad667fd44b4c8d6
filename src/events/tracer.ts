/**
 * Trace sources. Devices, stacks and applications hand typed hop events to a Tracer; sinks
 * (text, JSON, pcapng, in `src/trace/`) subscribe. Nothing is built when nobody listens: hot paths
 * test `tracer.on` (hop events), `tracer.capturing` (packet bytes and their notes) and
 * `tracer.records(flow)` (a flow whose NAT bindings and drops are kept) before making an event.
 */
import type { Nanos } from '../sim/time.js';
import type { DropEvent, HopEvent, NatBinding, NatEvent } from './hop.js';

/** Where an event goes: to hop sinks, to the packet's notes for its next capture, or both. */
export const enum TraceTo {
  Hop = 1,
  Note = 2,
  Both = 3,
}

/** Receives hop events. */
export interface HopSink {
  hop(event: HopEvent): void;
}

/** A capture point: one device as tcpdump would see it. */
export interface CapturePoint {
  /** `node1/cni0`, `pod:client/eth0`, ... */
  readonly name: string;
  /** Free text for the pcapng interface description. */
  readonly description: string;
  /** The device's role (`node1 uplink`), empty when it has none. */
  readonly role: string;
  /** Node the device belongs to (for per-node capture files), or the netns name. */
  readonly group: string;
}

/** Receives packet bytes seen at capture points. */
export interface CaptureSink {
  /** Called once per capture point before its first packet; returns an opaque interface handle. */
  addPoint(point: CapturePoint): number;
  /**
   * A frame a device sent (`out`) or received (`in`), with what happened to the packet since it
   * was last captured (the events sinks write as the packet's comment).
   */
  packet(
    handle: number,
    t: Nanos,
    dir: 'in' | 'out',
    buf: Uint8Array,
    off: number,
    len: number,
    notes: PacketNotes,
  ): void;
}

/** What a capture sink is told about a captured frame besides its bytes. */
export interface PacketNotes {
  readonly point: CapturePoint;
  readonly dir: 'in' | 'out';
  /** The packet's id (its hop events carry it too) and flow. */
  readonly pkt: number;
  readonly flow: number;
  /** Events of the packet since its previous capture, oldest first. */
  readonly events: readonly HopEvent[];
}

/** A NAT binding as a flow's record keeps it: the event with its time and place. */
export type RecordedBinding = NatEvent & NatBinding;

/** What was recorded for one flow while it ran: its NAT bindings and its drops. */
export interface FlowRecord {
  readonly bindings: RecordedBinding[];
  readonly drops: DropEvent[];
}

/** Fans trace events out to sinks; cheap no-op when nobody listens. */
export class Tracer {
  /** True when at least one hop sink listens. */
  on = false;
  /** True when at least one capture sink listens: packets then collect their events as notes. */
  capturing = false;
  /** True when anyone listens to hop events or captures. */
  active = false;
  private hopSinks: HopSink[] = [];
  private captureSinks: CaptureSink[] = [];
  private pointHandles = new Map<string, number[]>();
  private readonly clock: () => Nanos;
  private readonly recorded = new Map<number, FlowRecord>();

  constructor(clock: () => Nanos) {
    this.clock = clock;
  }

  /** Virtual time now (ns), for events being built. */
  get now(): Nanos {
    return this.clock();
  }

  /** Subscribes a hop sink. */
  addHopSink(sink: HopSink): void {
    this.hopSinks.push(sink);
    this.on = true;
    this.active = true;
  }

  /** Subscribes a capture sink. */
  addCaptureSink(sink: CaptureSink): void {
    this.captureSinks.push(sink);
    this.capturing = true;
    this.active = true;
  }

  /** Hands a hop event to every hop sink (callers check `on` first: events are built only for listeners). */
  hop(ev: HopEvent): void {
    for (const s of this.hopSinks) s.hop(ev);
  }

  /** Starts keeping the NAT bindings and drops of a flow, whether or not anyone traces. */
  record(flow: number): void {
    if (flow !== 0 && !this.recorded.has(flow)) this.recorded.set(flow, { bindings: [], drops: [] });
  }

  /** True when the flow's bindings and drops are being kept. */
  records(flow: number): boolean {
    return this.recorded.size !== 0 && this.recorded.has(flow);
  }

  /** Stops keeping every flow's bindings and drops (those nobody took are dropped). */
  forgetRecords(): void {
    this.recorded.clear();
  }

  /** Stops keeping a flow's bindings and drops and returns them. */
  takeRecord(flow: number): FlowRecord {
    const r = this.recorded.get(flow) ?? { bindings: [], drops: [] };
    this.recorded.delete(flow);
    return r;
  }

  /** Keeps a binding or a drop of a recorded flow (a no-op for other flows). */
  keep(ev: RecordedBinding | DropEvent): void {
    const r = this.recorded.get(ev.flow);
    if (r === undefined) return;
    if (ev.kind === 'drop') r.drops.push(ev);
    else r.bindings.push(ev);
  }

  /** Registers a capture point with every capture sink (idempotent). */
  registerPoint(point: CapturePoint): void {
    if (this.pointHandles.has(point.name)) return;
    this.pointHandles.set(
      point.name,
      this.captureSinks.map((s) => s.addPoint(point)),
    );
  }

  /** Hands a frame seen at a capture point to every capture sink. */
  capture(
    point: CapturePoint,
    dir: 'in' | 'out',
    pkt: number,
    flow: number,
    buf: Uint8Array,
    off: number,
    len: number,
    events: readonly HopEvent[],
  ): void {
    let handles = this.pointHandles.get(point.name);
    if (handles === undefined) {
      this.registerPoint(point);
      handles = this.pointHandles.get(point.name)!;
    }
    const t = this.clock();
    const notes: PacketNotes = { point, dir, pkt, flow, events };
    for (let i = 0; i < this.captureSinks.length; i++)
      this.captureSinks[i]!.packet(handles[i]!, t, dir, buf, off, len, notes);
  }
}
