import { describe, expect, test } from 'vitest';
import { loadDefaultTopology, loadTopologyPath } from '../src/kube/load/index.js';
import type { ClusterModel } from '../src/kube/model.js';
import { Simulation } from '../src/api/simulation.js';
import { MemorySink } from '../src/trace/byte-sink.js';
import { PcapngCaptureSink } from '../src/trace/capture-sink.js';
import { JsonHopSink } from '../src/trace/format.js';

function runOnce(model: ClusterModel, seed: number): { json: string; pcap: Uint8Array } {
  const mem = new MemorySink();
  const hops = new JsonHopSink();
  const sim = new Simulation(model, { seed, hopSinks: [hops], captureSinks: [new PcapngCaptureSink(mem)] });
  const results = sim.runScenario();
  return { json: JSON.stringify({ results, hops: hops.events }), pcap: mem.bytes() };
}

describe('determinism: same topology and seed, same bytes', () => {
  const models: Array<[string, ClusterModel]> = [
    ['default', loadDefaultTopology().model!],
    ['mtu', loadTopologyPath('topologies/mtu.yaml').model!],
    ['k3s-style', loadTopologyPath('topologies/k3s-style.yaml').model!],
  ];

  test.each(models)('%s: two runs with seed 42 give identical JSON and pcapng bytes', (_name, model) => {
    const a = runOnce(model, 42);
    const b = runOnce(model, 42);
    expect(a.json).toBe(b.json);
    expect(Buffer.from(a.pcap).equals(Buffer.from(b.pcap))).toBe(true);
    expect(a.pcap.length).toBeGreaterThan(1000);
  });

  test.each(models)('%s: a different seed changes the random fields (ports, ISNs, IP IDs)', (_name, model) => {
    const a = runOnce(model, 1);
    const b = runOnce(model, 2);
    expect(Buffer.from(a.pcap).equals(Buffer.from(b.pcap))).toBe(false);
  });

  test('interleaving two simulations does not change either one', () => {
    const model = loadDefaultTopology().model!;
    const alone = runOnce(model, 5);
    const memA = new MemorySink();
    const memB = new MemorySink();
    const a = new Simulation(model, { seed: 5, captureSinks: [new PcapngCaptureSink(memA)] });
    const b = new Simulation(model, { seed: 9, captureSinks: [new PcapngCaptureSink(memB)] });
    const probes = model.scenario!.probes;
    for (const p of probes) {
      a.runProbes([p]);
      b.runProbes([p]);
    }
    const sequential = new MemorySink();
    const c = new Simulation(model, { seed: 5, captureSinks: [new PcapngCaptureSink(sequential)] });
    for (const p of probes) c.runProbes([p]);
    expect(Buffer.from(memA.bytes()).equals(Buffer.from(sequential.bytes()))).toBe(true);
    expect(alone.pcap.length).toBeGreaterThan(0);
  });
});
