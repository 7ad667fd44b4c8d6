/** Helpers for the comparer tests: podnet runs of the kernel scenarios, and frame surgery. */
import { loadTopologyPath } from '../../src/kube/load/index.js';
import type { ClusterModel } from '../../src/kube/model.js';
import { runPodnet } from '../../src/verify/podnet-run.js';
import type { PodnetRun } from '../../src/verify/podnet-run.js';
import { compareAll, decodeContextFor, podnetFrames } from '../../src/verify/verify.js';
import type { FrameInput } from '../../src/verify/records.js';
import type { Mismatch } from '../../src/verify/compare.js';
import { applyExpected } from '../../src/verify/expected.js';
import {
  annotateForced,
  checkServices,
  connLabels,
  podnetSide,
  runWatched,
  serviceProbesOf,
} from '../../src/verify/service-check.js';
import type { ServiceCheck } from '../../src/verify/service-check.js';

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
  for (const [p, fs] of frames)
    m.set(
      p,
      fs.map((f) => ({ t: f.t, bytes: f.bytes.slice() })),
    );
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

/** What `replayAgainst` found. */
export interface StandInReplay {
  readonly check: ServiceCheck;
  readonly real: Mismatch[];
  readonly excused: Array<{ mismatch: Mismatch; by: { id: string } }>;
}

/**
 * The Service pipeline without root: podnet with another seed stands in for the kernel (its
 * captures as a pcap holds them, its DNAT counters and recent lists); its backend choices are
 * read from those captures, replayed in podnet (seed `seed`) and everything compared as
 * verifyKernel does. Expected differences are applied as in a real run.
 */
export function replayAgainst(name: string, standIn: number, seed = 1): StandInReplay {
  const model = scenario(name);
  const sps = serviceProbesOf(model, seed);
  const kernelRun = runWatched(model, standIn, sps);
  const side = podnetSide(kernelRun.run);
  const kernelSide = { ...side, frames: asKernel(new Map([...side.frames].map(([p, fs]) => [p, [...fs]]))) };
  const check = checkServices(model, seed, runWatched(model, seed, sps), kernelSide);
  const frames = podnetFrames(check.replay);
  const cmp = compareAll([...frames.keys()], kernelSide.frames, frames, decodeContextFor(model), {
    labels: connLabels(check),
  });
  const all = [
    ...check.mismatches,
    ...cmp.flatMap((c) => annotateForced(c.mismatches, cmp, check, check.replay.sim.network)),
  ];
  return { check, ...applyExpected(all, name) };
}

/** A mismatch as one line (for readable test failures). */
export function line(m: Mismatch): string {
  return `${m.point} #${(m.kernelIndex ?? -1) + 1} ${m.kind} ${m.field ?? ''}: ${m.kernel} / ${m.podnet}${m.forced === undefined ? '' : ` [${m.forced}]`}`;
}
