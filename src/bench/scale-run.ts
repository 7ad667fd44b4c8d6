/**
 * Child process of `npm run bench` for figure 4 (scale): loads a generated cluster from a JSON
 * file, builds every node's network and kube-proxy rules, traces probes through it, and prints
 * one JSON line of timings and its own peak RSS (a process of its own, so the peak is this
 * cluster's alone). Usage: `node dist/bench/scale-run.js <cluster.json> [probes]`.
 */
import { loadTopologyPath } from '../kube/load/index.js';
import { Simulation } from '../api/simulation.js';
import { formatIpv4 } from '../wire/addr.js';
import { podDisplayName } from '../kube/model.js';
import type { ClusterModel } from '../kube/model.js';

/** What the child reports. */
export interface ScaleRunResult {
  readonly nodes: number;
  readonly pods: number;
  readonly services: number;
  readonly loadSeconds: number;
  readonly buildSeconds: number;
  /** The very first connection (JIT, lazily built pods, first ARP). */
  readonly coldProbeMs: number;
  /** Later first contacts between two pods (ARP broadcast across the underlay). */
  readonly firstContactMs: number;
  /** The same connections again, caches warm. */
  readonly warmProbeMs: number;
  readonly warmProbes: number;
  readonly answered: number;
  readonly ruleLines: number;
  readonly heldRules: number;
  readonly peakRssBytes: number;
}

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Pairs of (client pod, ClusterIP:80 of a Service with endpoints), spread over the cluster. */
function probePairs(model: ClusterModel, n: number): Array<{ from: string; to: string }> {
  const withEndpoints = new Set(
    model.endpointSlices.filter((s) => s.endpoints.some((e) => e.ready)).map((s) => `${s.namespace}/${s.serviceName}`),
  );
  const services = model.services.filter(
    (s) => s.clusterIPs.length > 0 && withEndpoints.has(`${s.namespace}/${s.name}`),
  );
  const pods = model.pods.filter((p) => !p.hostNetwork);
  const out: Array<{ from: string; to: string }> = [];
  for (let i = 0; i < n && services.length > 0 && pods.length > 0; i++) {
    // strides that are prime to the list lengths visit distinct pods and Services on distinct nodes
    const svc = services[(i * 7919) % services.length]!;
    const pod = pods[(i * 104729 + 13) % pods.length]!;
    out.push({ from: podDisplayName(pod), to: `${formatIpv4(svc.clusterIPs[0]!)}:${svc.ports[0]!.port}` });
  }
  return out;
}

function main(): void {
  const file = process.argv[2];
  const probes = Number(process.argv[3] ?? 21);
  if (file === undefined) throw new Error('usage: scale-run.js <cluster.json> [probes]');
  const t0 = process.hrtime.bigint();
  const r = loadTopologyPath(file, 1);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (r.model === undefined || errors.length > 0)
    throw new Error(
      `scale cluster does not load: ${errors
        .slice(0, 3)
        .map((d) => d.message)
        .join('; ')}`,
    );
  const model = r.model;
  const loadSeconds = seconds(t0);
  const t1 = process.hrtime.bigint();
  const sim = new Simulation(model, { seed: 1 });
  const buildSeconds = seconds(t1);
  // rules as iptables-save prints them, summed over nodes, and the rules actually held (a chain
  // shared by every node is one object); a shared map's total is computed once
  let ruleLines = 0;
  const held = new Set<unknown>();
  let heldRules = 0;
  const sharedTotals = new Map<unknown, number>();
  for (const node of sim.network.nodes.values()) {
    for (const t of Object.values(node.nf.ruleset.tables)) {
      if (t === undefined) continue;
      for (const c of t.chains.values()) {
        ruleLines += c.rules.length;
        if (!held.has(c)) {
          held.add(c);
          heldRules += c.rules.length;
        }
      }
      if (t.shared === undefined) continue;
      let total = sharedTotals.get(t.shared);
      if (total === undefined) {
        total = 0;
        for (const c of t.shared.values()) {
          total += c.rules.length;
          held.add(c);
          heldRules += c.rules.length;
        }
        sharedTotals.set(t.shared, total);
      }
      // a node-specific chain of a shared name replaces the shared one
      for (const name of t.chains.keys()) total -= t.shared.get(name)?.rules.length ?? 0;
      ruleLines += total;
    }
  }
  const pairs = probePairs(model, probes);
  let answered = 0;
  const first: number[] = [];
  const again: number[] = [];
  const timed = (p: { from: string; to: string }): number => {
    const t = process.hrtime.bigint();
    const rep = sim.probe(p.from, p.to, 'tcp', { timeout: 2e9 });
    if (rep.replies === 1) answered++;
    return seconds(t) * 1e3;
  };
  // each pair twice: first contact (ARP across the underlay: a broadcast every node receives),
  // then the same connection again with the caches warm
  for (const p of pairs) {
    first.push(timed(p));
    again.push(timed(p));
  }
  const mean = (xs: readonly number[]): number => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const result: ScaleRunResult = {
    nodes: model.nodes.length,
    pods: model.pods.length,
    services: model.services.length,
    loadSeconds,
    buildSeconds,
    coldProbeMs: first[0] ?? NaN,
    firstContactMs: mean(first.slice(1)),
    warmProbeMs: mean(again.slice(1)),
    warmProbes: again.length - 1,
    answered,
    ruleLines,
    heldRules,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
