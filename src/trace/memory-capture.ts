/** A capture sink that keeps frames in memory, decoded on demand (for tests and library users). */
import type { CaptureSink, CapturePoint, PacketNotes } from '../events/tracer.js';
import { captureComment } from './hop-text.js';
import { dissectFrame } from '../wire/dissect.js';
import type { FrameDissection } from '../wire/dissect.js';

/** One captured frame. */
export interface CapturedFrame {
  readonly point: string;
  readonly t: number;
  readonly dir: 'in' | 'out';
  readonly bytes: Uint8Array;
  readonly comment: string;
  /** podnet's packet id (the hop events with this id are the packet's trace); undefined if unknown. */
  readonly packetId: number | undefined;
  /** The probe (flow) the packet belongs to, 0 for none. */
  readonly flow: number;
}

/** Keeps every captured frame (copying the bytes as they were at that hop). */
export class MemoryCapture implements CaptureSink {
  readonly frames: CapturedFrame[] = [];
  readonly points: CapturePoint[] = [];
  private names: string[] = [];

  constructor(private readonly vxlanPorts: readonly number[] = [8472, 4789]) {}

  addPoint(point: CapturePoint): number {
    this.points.push(point);
    this.names.push(point.name);
    return this.names.length - 1;
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
    this.frames.push({
      point: this.names[handle]!,
      t,
      dir,
      bytes: buf.slice(off, off + len),
      comment: captureComment(notes),
      packetId: notes.pkt,
      flow: notes.flow,
    });
  }

  /** The capture points' names, in the order they were added (a frame's handle indexes them). */
  get pointNames(): readonly string[] {
    return this.names;
  }

  /** Frames seen at one capture point, in order. */
  at(point: string): CapturedFrame[] {
    return this.frames.filter((f) => f.point === point);
  }

  /** Decodes a frame. */
  dissect(f: CapturedFrame): FrameDissection {
    return dissectFrame(f.bytes, { vxlanPorts: this.vxlanPorts });
  }
}
