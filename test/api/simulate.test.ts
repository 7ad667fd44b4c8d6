/**
 * What the CLI needs from the library, as a library user gets it: simulate() running a model's
 * own Scenario exactly as a Simulation does, the nat chains' choices (`allPaths`), the callback
 * between resolution and running, FlowError for what cannot run; a FlowSpec resolving to the
 * ProbeModel a Scenario loads as; and dig().
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FlowError, Simulation, dig, loadTopology, simulate, type HopEvent, type HopSink } from '../../src/index.js';
import { resolveFlow } from '../../src/internals.js';

const SCENARIOS = ['topologies/clusterip.yaml', 'topologies/dns.yaml', 'test/kernel/scenarios/p-parallel-probes.yaml'];

describe("simulate with flows: 'scenario'", () => {
  test.each(SCENARIOS)('%s: the same reports as the Simulation running its Scenario', (path) => {
    const model = loadTopology(path, { seed: 4 });
    const expected = new Simulation(model, { seed: 4 }).runScenario();
    const r = simulate(model, { seed: 4, flows: 'scenario', trace: false });
    expect(JSON.parse(JSON.stringify(r.flows.map((f) => f.report)))).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(r.flows.map((f) => f.probe)).toEqual(model.scenario!.probes);
    expect(r.flows.every((f) => f.target === undefined)).toBe(true);
  });

  test('a model without a Scenario is a FlowError', () => {
    const model = loadTopology('apiVersion: podnet.dev/v1alpha1\nkind: Cluster\n');
    expect(() => simulate(model, { flows: 'scenario' })).toThrow(FlowError);
  });
});

describe('a ProbeModel is a FlowSpec with every default applied', () => {
  const paths = readdirSync('topologies')
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join('topologies', f));
  test.each(paths)(
    '%s: each Scenario probe resolves to itself (less its expect: and its place in the file)',
    (path) => {
      const model = loadTopology(path);
      for (const p of model.scenario?.probes ?? []) {
        const { expect: _expectation, ...probe } = p;
        expect(resolveFlow(model, p)).toEqual({ ...probe, source: undefined });
      }
    },
  );

  test('a Service target stays on the result', () => {
    const model = loadTopology('topologies/clusterip.yaml');
    const to = { service: 'web', via: 'clusterIP' } as const;
    const f = simulate(model, { flows: [{ from: 'client', to }] }).flows[0]!;
    expect(f.target).toEqual(to);
    expect(f.probe.to).toBe('10.96.0.100:80');
    expect(f.probe.protocol).toBe('tcp');
  });
});

describe('onReady', () => {
  test('is called once, after resolution and before the first hop, and what it returns after the last', () => {
    const model = loadTopology('topologies/clusterip.yaml');
    const seen: string[] = [];
    const sink: HopSink = { hop: (_e: HopEvent) => void (seen.at(-1) === 'hop' || seen.push('hop')) };
    const r = simulate(model, {
      flows: [
        { from: 'client', to: '10.96.0.100:80' },
        { from: 'client', to: 'pod/web-0' },
      ],
      hopSinks: [sink],
      onReady: ({ probes, simulation }) => {
        seen.push(`ready ${probes.map((p) => p.name).join(', ')}`);
        expect(simulation.model).toBe(model);
        return () => seen.push('done');
      },
    });
    expect(seen).toEqual(['ready tcp client → 10.96.0.100:80, icmp client → pod/web-0', 'hop', 'done']);
    expect(r.flows.map((f) => f.replied)).toEqual([true, true]);
  });

  test('a flow that cannot run is a FlowError before anything runs', () => {
    const model = loadTopology('topologies/clusterip.yaml');
    let ready = false;
    const run = (): unknown =>
      simulate(model, {
        flows: [
          { from: 'client', to: 'pod/web-0' },
          { from: 'nobody', to: 'pod/web-0' },
        ],
        onReady: () => void (ready = true),
      });
    expect(run).toThrow(FlowError);
    expect(run).toThrow('no pod named "nobody"');
    expect(ready).toBe(false);
  });
});

describe('allPaths', () => {
  test("every decision of the nat chains, each flow's own on its result, probabilities summing to 1", () => {
    const model = loadTopology('topologies/clusterip.yaml');
    const r = simulate(model, {
      flows: [
        { from: 'client', to: '10.96.0.100:80' },
        { from: 'client', to: 'pod/web-0' },
      ],
      allPaths: true,
    });
    expect(r.allPaths.length).toBeGreaterThan(0);
    const [svc, direct] = r.flows;
    expect(svc!.allPaths).toEqual(r.allPaths.filter((a) => a.flow === svc!.id));
    expect(svc!.allPaths.length).toBeGreaterThan(0);
    expect(direct!.allPaths).toEqual([]);
    const dnat = svc!.allPaths.find((a) => a.paths.some((p) => p.nat?.startsWith('-j DNAT')))!;
    expect(dnat.node).toBe(svc!.source.kind === 'pod' ? svc!.source.node : undefined);
    expect(dnat.paths.reduce((s, p) => s + p.probability, 0)).toBeCloseTo(1, 12);
    expect(dnat.packet).toMatch(/^10\.244\.\d+\.\d+\.\d+ > 10\.96\.0\.100\.80: /);
    // without it, nothing is recorded
    expect(simulate(model, { flows: [{ from: 'client', to: '10.96.0.100:80' }] }).allPaths).toEqual([]);
  });
});

describe('dig', () => {
  test("asks the source's nameserver, through kube-dns to a CoreDNS pod, and returns the answer", () => {
    const model = loadTopology('topologies/dns.yaml');
    const r = dig(model, { name: 'web.shop.svc.cluster.local', from: 'client' });
    expect(r.from).toBe('client');
    expect(r.server).toBe('10.96.0.10');
    expect(r.query).toEqual({ name: 'web.shop.svc.cluster.local', type: 'A' });
    expect(r.response?.header.rcode).toBe(0);
    expect(r.response?.answers.length).toBeGreaterThan(0);
    expect(r.answeredBy).toMatch(/coredns/);
    expect(r.proto).toBe('udp');
    expect(r.queries).toHaveLength(1);
  });

  test('a PTR query for an address asks for its in-addr.arpa name; search walks the list', () => {
    const model = loadTopology('topologies/dns.yaml');
    expect(dig(model, { name: '10.96.0.10', type: 'PTR', from: 'client' }).query).toEqual({
      name: '10.0.96.10.in-addr.arpa',
      type: 'PTR',
    });
    const searched = dig(model, { name: 'web', search: true, from: 'shop/frontend' });
    expect(searched.tried[0]).toBe('web.shop.svc.cluster.local');
  });

  test('an unknown source is a FlowError', () => {
    expect(() => dig(loadTopology('topologies/dns.yaml'), { name: 'web', from: 'nobody' })).toThrow(FlowError);
  });
});
