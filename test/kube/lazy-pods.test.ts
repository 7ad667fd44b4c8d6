/**
 * Pods built on first use (BuildOptions.lazyPods) behave like pods built up front: the same
 * probe results and the same unicast frames at every capture point. What differs is only what
 * a pod does nothing with: broadcasts (ARP requests for other addresses) flooded toward pods
 * not built yet are not delivered to them, so those copies — and the packet ids they would
 * have taken — are missing.
 */
import { describe, expect, test } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadTopologyPath } from '../../src/kube/load/index.js';
import type { ClusterModel } from '../../src/kube/model.js';
import { Simulation } from '../../src/api/simulation.js';
import { MemoryCapture } from '../../src/trace/memory-capture.js';

const entries = readdirSync('topologies').sort();
const topologies = [
  ...entries.filter((f) => /\.ya?ml$/.test(f)),
  ...entries.filter((f) => statSync(join('topologies', f)).isDirectory()).map((f) => `${f}/`),
];

function run(
  model: ClusterModel,
  lazyPods: boolean,
): { reports: string; frames: Map<string, string[]>; built: number; deferred: number } {
  const capture = new MemoryCapture();
  const sim = new Simulation(model, { seed: 3, build: { lazyPods }, captureSinks: [capture] });
  const reports = sim.runScenario();
  const frames = new Map<string, string[]>();
  for (const f of capture.frames) {
    let l = frames.get(f.point);
    if (l === undefined) frames.set(f.point, (l = []));
    l.push(`${f.t} ${f.dir} ${Buffer.from(f.bytes).toString('hex')} ${f.comment}`);
  }
  return {
    reports: JSON.stringify(reports),
    frames,
    built: sim.network.pods.size,
    deferred: sim.network.deferredCount,
  };
}

/** Whether a captured frame line (`t dir hex comment`) is addressed to ff:ff:ff:ff:ff:ff. */
function isBroadcast(line: string): boolean {
  return line.split(' ')[2]!.startsWith('ffffffffffff');
}

describe('lazily built pods', () => {
  test.each(topologies)('%s: same results and unicast frames as building every pod up front', (f) => {
    const model = loadTopologyPath(join('topologies', f)).model!;
    const eager = run(model, false);
    const lazy = run(model, true);
    expect(lazy.reports).toBe(eager.reports);
    const unicast = (frames: readonly string[] | undefined): string[] => (frames ?? []).filter((f) => !isBroadcast(f));
    for (const [point, frames] of eager.frames) expect(unicast(lazy.frames.get(point)), point).toEqual(unicast(frames));
    for (const [point, frames] of lazy.frames) {
      // the broadcasts a lazily built point saw are ones the eager run delivered there too
      const seen = new Set(eager.frames.get(point) ?? []);
      for (const f of frames) expect(seen.has(f), `${point}: ${f}`).toBe(true);
    }
    expect(eager.deferred).toBe(0);
    expect(lazy.built + lazy.deferred).toBe(eager.built);
  });

  test('a pod no traffic reaches is never built', () => {
    const model = loadTopologyPath('topologies/services.yaml').model!;
    const lazy = run(model, true);
    expect(lazy.deferred).toBeGreaterThan(0);
  });
});
