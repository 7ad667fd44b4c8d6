/** Helpers for the comparer tests: podnet runs of the kernel scenarios, and frame surgery. */
import { loadTopologyPath } from '../../src/kube/load/index.js';
import type { ClusterModel } from '../../src/kube/model.js';
import { runPodnet } from '../../src/verify/podnet-run.js';
import type { PodnetRun } from '../../src/verify/podnet-run.js';
import { podnetFrames } from '../../src/verify/verify.js';
import type { FrameInput } from '../../src/verify/records.js';

/** Loads a scenario file of test/kernel/scenarios. */
export function scenario(name: string): ClusterModel {
  const r = loadTopologyPath(`test/kernel/scenarios/${name}.yaml`);
  if (r.model === undefined) throw new Error(`${name} does not load`);
  return r.model;
}

/** podnet's frames per capture point for a scenario and seed. */
export function framesOf(model: ClusterModel, seed: number): { run: PodnetRun; frames: Map<string, FrameInput[]> } {
  const run = runPodnet(model, seed);
  return { run, frames: podnetFrames(run) };
}

/** As the kernel's pcaps would hold them: bytes and times only. */
export function asKernel(frames: Map<string, FrameInput[]>): Map<string, FrameInput[]> {
  const m = new Map<string, FrameInput[]>();
  for (const [p, fs] of frames) m.set(p, fs.map((f) => ({ t: f.t, bytes: f.bytes.slice() })));
  return m;
}

/** Recomputes the IPv4 header checksum at `l3`. */
export function fixIpChecksum(b: Uint8Array, l3: number): void {
  const hlen = (b[l3]! & 0x0f) * 4;
  b[l3 + 10] = 0;
  b[l3 + 11] = 0;
  let sum = 0;
  for (let i = 0; i < hlen; i += 2) sum += (b[l3 + i]! << 8) | b[l3 + i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  b[l3 + 10] = c >> 8;
  b[l3 + 11] = c & 0xff;
}

/** Index of the first frame at a point whose Ethernet type is IPv4 and that matches `pred`. */
export function findFrame(frames: readonly FrameInput[], pred: (b: Uint8Array) => boolean): number {
  return frames.findIndex((f) => f.bytes[12] === 0x08 && f.bytes[13] === 0x00 && pred(f.bytes));
}
