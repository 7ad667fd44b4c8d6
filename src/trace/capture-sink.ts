/**
 * Capture sinks: write what the tracer's capture points see to pcapng (one file, or one per
 * node) or classic pcap (one file per capture point), atomically, into a folder the user chose.
 */
import type { CaptureSink, CapturePoint, PacketNotes } from '../events/tracer.js';
import { captureComment } from './hop-text.js';
import type { ByteSink } from './byte-sink.js';
import { AtomicFileSink, OutputPathError, safeOutputPath } from './byte-sink.js';
import { PcapWriter, PcapngWriter } from './pcapng.js';

/** Which capture points to keep: glob patterns on point names (`node1/*`, `pod:client/eth0`). */
export class PointFilter {
  private readonly regexes: RegExp[];

  constructor(readonly patterns: readonly string[]) {
    this.regexes = patterns.map((p) => new RegExp(`^${p.split('*').map(escapeRegex).join('.*')}$`));
  }

  /** True when no pattern was given or one matches. */
  accepts(name: string): boolean {
    return this.regexes.length === 0 || this.regexes.some((r) => r.test(name));
  }

  /** The patterns that match none of `names` (a typo in `--capture` selects nothing, silently, otherwise). */
  unmatched(names: readonly string[]): string[] {
    return this.patterns.filter((_, i) => !names.some((n) => this.regexes[i]!.test(n)));
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** The application string in pcapng section headers (no version/time: keeps files reproducible). */
export const PCAPNG_APPLICATION = 'podnet (Kubernetes pod network emulator)';

/** Writes every captured frame into one pcapng stream, one interface block per capture point. */
export class PcapngCaptureSink implements CaptureSink {
  private readonly writer: PcapngWriter;
  private readonly ids: number[] = [];
  packets = 0;

  constructor(
    sink: ByteSink,
    private readonly filter: PointFilter = new PointFilter([]),
    comment?: string,
  ) {
    this.writer = new PcapngWriter(
      sink,
      comment === undefined ? { application: PCAPNG_APPLICATION } : { application: PCAPNG_APPLICATION, comment },
    );
  }

  addPoint(point: CapturePoint): number {
    if (!this.filter.accepts(point.name)) return -1;
    const id = this.writer.addInterface({ name: point.name, description: point.description });
    this.ids.push(id);
    return id;
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
    if (handle >= 0) this.frame(handle, t, dir, buf.subarray(off, off + len), captureComment(notes));
  }

  /** Writes one frame with the comment given (replaying frames kept in memory). */
  frame(handle: number, t: number, dir: 'in' | 'out', bytes: Uint8Array, comment: string): void {
    if (handle < 0) return;
    this.packets++;
    this.writer.writePacket(handle, t, bytes, { comment, direction: dir });
  }

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.writer.bytesWritten;
  }
}

/** A set of capture files written atomically into one folder. */
export class CaptureFiles implements CaptureSink {
  private files = new Map<string, { sink: AtomicFileSink; capture: CaptureSink }>();
  private handles: Array<{ capture: CaptureSink; handle: number }> = [];
  private committed: string[] = [];
  // final path → the file name that claimed it: two names that sanitise or truncate alike must not share a file
  private readonly finalPaths = new Map<string, string>();
  private readonly offered: string[] = [];

  /**
   * @param dir output folder (created if missing)
   * @param naming how to split: `single` (one pcapng named `baseName`), `node` (one pcapng per
   *   node group, `<baseName>-<node>.pcapng`), `point` (classic pcap per capture point)
   */
  constructor(
    readonly dir: string,
    readonly baseName: string,
    readonly naming: 'single' | 'node' | 'point',
    private readonly filter: PointFilter = new PointFilter([]),
    private readonly comment?: string,
  ) {}

  private open(fileName: string, classic: boolean): { sink: AtomicFileSink; capture: CaptureSink } {
    let f = this.files.get(fileName);
    if (f === undefined) {
      const finalPath = safeOutputPath(this.dir, fileName);
      const other = this.finalPaths.get(finalPath);
      if (other !== undefined)
        throw new OutputPathError(
          `captures ${JSON.stringify(other)} and ${JSON.stringify(fileName)} would both be written to ${finalPath}`,
        );
      this.finalPaths.set(finalPath, fileName);
      let sink: AtomicFileSink;
      try {
        sink = AtomicFileSink.open(this.dir, fileName);
      } catch (e) {
        if (e instanceof OutputPathError && /\((EMFILE|ENFILE)\)$/.test(e.message))
          throw new OutputPathError(
            `${e.message} with ${this.files.size} capture files open: ` +
              'select fewer capture points, or write one pcapng file',
          );
        throw e;
      }
      const capture: CaptureSink = classic
        ? new ClassicPcapSink(sink)
        : new PcapngCaptureSink(sink, new PointFilter([]), this.comment);
      f = { sink, capture };
      this.files.set(fileName, f);
    }
    return f;
  }

  /** Every capture point offered so far, kept or not. */
  get points(): readonly string[] {
    return this.offered;
  }

  /** The filter's patterns that matched no capture point offered so far. */
  unmatchedPatterns(): string[] {
    return this.filter.unmatched(this.offered);
  }

  addPoint(point: CapturePoint): number {
    this.offered.push(point.name);
    if (!this.filter.accepts(point.name)) return -1;
    let fileName: string;
    if (this.naming === 'single') fileName = this.baseName;
    else if (this.naming === 'node') fileName = `${stripExt(this.baseName)}-${point.group}.pcapng`;
    else {
      fileName = `${stripExt(this.baseName)}-${point.name.replace(/\//g, '_')}.pcap`;
      // one classic pcap per point: a second point on the same name would mix into the first's file
      if (this.files.has(fileName))
        throw new OutputPathError(`capture points ${point.name} and another would both be written to ${fileName}`);
    }
    const f = this.open(fileName, this.naming === 'point');
    const handle = f.capture.addPoint(point);
    this.handles.push({ capture: f.capture, handle });
    return this.handles.length - 1;
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
    if (handle < 0) return;
    const h = this.handles[handle]!;
    h.capture.packet(h.handle, t, dir, buf, off, len, notes);
  }

  /** Renames every temp file into place; returns the final paths (sorted). */
  commit(): string[] {
    for (const f of this.files.values()) this.committed.push(f.sink.commit());
    this.files.clear();
    return [...this.committed].sort();
  }

  /** Deletes every temp file (on error or interruption). */
  abort(): void {
    for (const f of this.files.values()) f.sink.abort();
    this.files.clear();
  }
}

/** Classic pcap (nanosecond) for a single capture point. */
export class ClassicPcapSink implements CaptureSink {
  private readonly writer: PcapWriter;
  private points = 0;

  constructor(sink: ByteSink) {
    this.writer = new PcapWriter(sink, { nanosecond: true });
  }

  addPoint(): number {
    return this.points++;
  }

  packet(_handle: number, t: number, _dir: 'in' | 'out', buf: Uint8Array, off: number, len: number): void {
    this.writer.writePacket(t, buf.subarray(off, off + len));
  }
}

function stripExt(name: string): string {
  return name.replace(/\.(pcapng|pcap)$/i, '');
}
