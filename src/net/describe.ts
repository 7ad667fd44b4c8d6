/** One-line, tcpdump-like descriptions of frames for traces and capture comments. */
import { dissectFrame, summarizeFrame } from '../wire/dissect.js';

/** Summarises the frame in buf[off, off+len). */
export function describeFrame(buf: Uint8Array, off: number, len: number, vxlanPorts: readonly number[]): string {
  return summarizeFrame(dissectFrame(buf.subarray(off, off + len), { vxlanPorts }));
}
