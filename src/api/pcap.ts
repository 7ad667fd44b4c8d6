/**
 * Captured frames (a MemoryCapture) as pcapng: bytes in memory, or a file written atomically
 * (a temporary name renamed into place), one interface per capture point, as `podnet trace --pcap`
 * writes them.
 */
import { basename, dirname } from 'node:path';
import { MemoryCapture } from '../trace/memory-capture.js';
import { PcapngCaptureSink } from '../trace/capture-sink.js';
import type { ByteSink } from '../trace/byte-sink.js';
import { AtomicFileSink, MemorySink } from '../trace/byte-sink.js';
import { checkOptString, checkString, fail } from './check.js';

function checkCapture(capture: unknown, comment: unknown): void {
  if (!(capture instanceof MemoryCapture))
    fail('capture', 'a MemoryCapture (simulate with { capture: true })', capture);
  checkOptString(comment, 'comment');
}

function replay(capture: MemoryCapture, sink: ByteSink, comment: string | undefined): void {
  const out = new PcapngCaptureSink(sink, undefined, comment);
  const handles = new Map<string, number>();
  for (const p of capture.points) handles.set(p.name, out.addPoint(p));
  for (const f of capture.frames) {
    const h = handles.get(f.point);
    if (h !== undefined) out.frame(h, f.t, f.dir, f.bytes, f.comment);
  }
}

/** The frames of a MemoryCapture as a pcapng file's bytes. */
export function pcapngBytes(capture: MemoryCapture, comment?: string): Uint8Array {
  checkCapture(capture, comment);
  const sink = new MemorySink();
  replay(capture, sink, comment);
  return sink.bytes();
}

/** Writes the frames of a MemoryCapture to a pcapng file (atomically); returns the path written. */
export function writePcapng(capture: MemoryCapture, path: string, comment?: string): string {
  checkCapture(capture, comment);
  checkString(path, 'path');
  const sink = AtomicFileSink.open(dirname(path), basename(path));
  try {
    replay(capture, sink, comment);
    return sink.commit();
  } catch (e) {
    sink.abort();
    throw e;
  }
}
