/**
 * The exported functions check what a JavaScript caller can get wrong: each wrong type is an
 * ArgumentError (a TypeError) naming the argument as the caller wrote it. And the case that used
 * to go wrong silently: NodePort addresses given as CIDR text now give the same rules as
 * `{ addr, len }` (they gave rules without NodePort jumps).
 */
import { describe, expect, test } from 'vitest';
import {
  ArgumentError,
  Simulation,
  clusterRulesText,
  dig,
  loadTopology,
  loadTopologyResult,
  mutateRules,
  nodeRules,
  parseRules,
  pcapngBytes,
  ruleMutation,
  simulate,
  traceArgs,
  writePcapng,
} from '../../src/index.js';
import { resolveFlow } from '../../src/internals.js';
import {
  assertScenarios,
  checkScenario,
  findCounterexample,
  runScenario,
  scenarioArb,
  standardInvariants,
} from '../../src/testing/index.js';
import { parseIpv4 } from '../../src/wire/index.js';

const model = loadTopology('topologies/nodeport.yaml');
const flow = { from: 'ext/ext', to: 'pod/web-0:8080' };

/** Calls `f` (as a JavaScript caller would, types aside) and returns the ArgumentError it threw. */
function argumentError(f: () => unknown): ArgumentError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e).toBeInstanceOf(TypeError);
    return e as ArgumentError;
  }
  throw new Error('expected an ArgumentError, nothing was thrown');
}

/** Asserts `f` throws an ArgumentError naming `argument`, with a message that starts with it. */
function rejects(f: () => unknown, argument: string): void {
  const e = argumentError(f);
  expect(e.argument).toBe(argument);
  expect(e.message.startsWith(`${argument}: expected`)).toBe(true);
}

// eslint-style escape hatch: the point of these tests is the calls TypeScript would refuse
const js = <T>(v: unknown): T => v as T;

describe('simulate', () => {
  test('the input and the flows', () => {
    rejects(() => simulate(js(42), { flows: [flow] }), 'input');
    rejects(() => simulate(model, js(undefined)), 'opts');
    rejects(() => simulate(model, js({ flows: 'all' })), 'opts.flows');
    rejects(() => simulate(model, js({ flows: [flow, 'client → web'] })), 'opts.flows[1]');
    rejects(() => simulate(model, js({ flows: [{ to: 'pod/web-0' }] })), 'opts.flows[0].from');
    rejects(() => simulate(model, js({ flows: [{ from: 'client', to: 7 }] })), 'opts.flows[0].to');
    rejects(
      () => simulate(model, js({ flows: [{ from: 'client', to: { service: 'web', via: 'nodeport' } }] })),
      'opts.flows[0].to.via',
    );
    rejects(() => simulate(model, js({ flows: [{ ...flow, count: '3' }] })), 'opts.flows[0].count');
    rejects(() => simulate(model, js({ flows: [{ ...flow, port: 70000 }] })), 'opts.flows[0].port');
    rejects(() => simulate(model, js({ flows: [{ ...flow, protocol: 'TCP' }] })), 'opts.flows[0].protocol');
    rejects(() => simulate(model, js({ flows: [{ ...flow, interval: true }] })), 'opts.flows[0].interval');
  });

  test('seed, capture, rules, sinks and callbacks', () => {
    rejects(() => simulate(model, js({ flows: [flow], seed: 1.5 })), 'opts.seed');
    rejects(() => simulate(model, js({ flows: [flow], seed: '7' })), 'opts.seed');
    rejects(() => simulate(model, js({ flows: [flow], capture: 'node1/*' })), 'opts.capture');
    rejects(() => simulate(model, js({ flows: [flow], capture: ['node1/*', 3] })), 'opts.capture[1]');
    rejects(() => simulate(model, js({ flows: [flow], rules: { node1: 42 } })), 'opts.rules.node1');
    rejects(() => simulate(model, js({ flows: [flow], rules: ['*nat'] })), 'opts.rules');
    rejects(() => simulate(model, js({ flows: [flow], hopSinks: [{}] })), 'opts.hopSinks[0]');
    rejects(() => simulate(model, js({ flows: [flow], onReady: 'print' })), 'opts.onReady');
    rejects(() => simulate(model, js({ flows: [flow], allPaths: 'yes' })), 'opts.allPaths');
  });

  test('kube-proxy settings: each field, and each NodePort address', () => {
    rejects(
      () => simulate(model, js({ flows: [flow], kubeProxy: { masqueradeAll: 'true' } })),
      'opts.kubeProxy.masqueradeAll',
    );
    rejects(
      () => simulate(model, js({ flows: [flow], kubeProxy: { masqueradeBit: 40 } })),
      'opts.kubeProxy.masqueradeBit',
    );
    rejects(
      () => simulate(model, js({ flows: [flow], kubeProxy: { nodePortAddresses: '172.18.0.0/24' } })),
      'opts.kubeProxy.nodePortAddresses',
    );
    rejects(
      () =>
        simulate(model, js({ flows: [flow], kubeProxy: { nodePortAddresses: ['172.18.0.0/24', '172.18.0.300/24'] } })),
      'opts.kubeProxy.nodePortAddresses[1]',
    );
    rejects(
      () => simulate(model, js({ flows: [flow], kubeProxy: { nodePortAddresses: [{ addr: '172.18.0.0', len: 24 }] } })),
      'opts.kubeProxy.nodePortAddresses[0]',
    );
  });

  test('NodePort addresses as CIDR text reach the NodePort, as { addr, len } does', () => {
    const to = { service: 'web', via: 'nodePort', node: 'node2' } as const;
    for (const nodePortAddresses of [['172.18.0.0/24'], [{ addr: parseIpv4('172.18.0.0')!, len: 24 }]]) {
      const f = simulate(model, { flows: [{ from: 'ext/ext', to }], kubeProxy: { nodePortAddresses } }).flows[0]!;
      expect(f.replied).toBe(true);
      expect(f.translations.some((t) => t.kind === 'DNAT' && t.rules.some((r) => r.chain === 'KUBE-NODEPORTS'))).toBe(
        true,
      );
    }
  });
});

describe('rules', () => {
  test('nodeRules and clusterRulesText', () => {
    rejects(() => nodeRules(js('topologies/nodeport.yaml'), 'node1'), 'model');
    rejects(() => nodeRules(model, js(1)), 'node');
    rejects(() => nodeRules(model, 'node1', js({ nodePortAddresses: [172] })), 'proxy.nodePortAddresses[0]');
    rejects(() => clusterRulesText(model, js({ kubelet: 'no' })), 'proxy.kubelet');
  });

  test('CIDR text gives the NodePort jumps { addr, len } gives (it used to give none)', () => {
    const text = nodeRules(model, 'node1', { nodePortAddresses: ['172.18.0.0/24'] });
    expect(text).toBe(nodeRules(model, 'node1', { nodePortAddresses: [{ addr: parseIpv4('172.18.0.0')!, len: 24 }] }));
    expect(text).toMatch(/-A KUBE-SERVICES -d 172\.18\.0\.2\/32 .*-j KUBE-NODEPORTS/);
    // host bits are cleared, as kube-proxy reads --nodeport-addresses
    expect(nodeRules(model, 'node1', { nodePortAddresses: ['172.18.0.2/24'] })).toBe(text);
  });

  test('mutateRules, ruleMutation and parseRules', () => {
    rejects(() => mutateRules(model, js('s/MASQUERADE/ACCEPT/')), 'mutation');
    rejects(() => mutateRules(model, (d) => d, js({ nodes: 'node1' })), 'opts.nodes');
    rejects(
      () => mutateRules(model, (d) => d, js({ proxy: { nodePortAddresses: ['any'] } })),
      'opts.proxy.nodePortAddresses[0]',
    );
    rejects(() => ruleMutation(js(undefined), (d) => d), 'name');
    rejects(() => ruleMutation('noop', js('s/a/b/')), 'apply');
    rejects(() => parseRules(js(Buffer.from('*nat\nCOMMIT\n'))), 'text');
  });
});

describe('topologies, probes and captures', () => {
  test('loadTopology and loadTopologyResult', () => {
    rejects(() => loadTopology(js(undefined)), 'input');
    rejects(() => loadTopology(js([{ apiVersion: 'v1', kind: 'Pod' }, 'kind: Pod'])), 'input[1]');
    rejects(() => loadTopologyResult('topologies/nodeport.yaml', js({ seed: 'random' })), 'opts.seed');
    rejects(() => loadTopologyResult('topologies/nodeport.yaml', js({ fileName: 3 })), 'opts.fileName');
  });

  test('resolveFlow and traceArgs', () => {
    rejects(() => resolveFlow(model, js({ ...flow, size: -1 })), 'flow.size');
    rejects(() => traceArgs(js('tcp client → web')), 'probe');
  });

  test('the Simulation', () => {
    rejects(() => new Simulation(js({ nodes: [] })), 'model');
    rejects(() => new Simulation(model, js({ seed: 2n })), 'opts.seed');
    rejects(() => new Simulation(model, js({ captureSinks: [{ packet: () => {} }] })), 'opts.captureSinks[0]');
    rejects(
      () => new Simulation(model, js({ build: { proxy: { nodePortAddresses: ['10.0.0.0/40'] } } })),
      'opts.build.proxy.nodePortAddresses[0]',
    );
  });

  test('pcapngBytes and writePcapng', () => {
    rejects(() => pcapngBytes(js([])), 'capture');
    const capture = simulate(model, { flows: [flow], capture: true, trace: false }).capture!;
    rejects(() => pcapngBytes(capture, js(1)), 'comment');
    rejects(() => writePcapng(capture, js(undefined)), 'path');
  });

  test('dig', () => {
    rejects(() => dig(model, js({ name: 5 })), 'opts.name');
    rejects(() => dig(model, js({ name: 'web', type: 'AAAAA' })), 'opts.type');
    rejects(() => dig(model, js({ name: 'web', server: '10.96.0' })), 'opts.server');
    rejects(() => dig(model, js({ name: 'web', tcp: 1 })), 'opts.tcp');
  });
});

describe('podnet/testing', () => {
  const sc = { topology: [], flow, seed: 1 };

  test('scenarioArb', () => {
    rejects(() => scenarioArb(js({ maxNodes: 0 })), 'constraints.maxNodes');
    rejects(() => scenarioArb(js({ flows: ['pod-to-service', 'pod-to-nowhere'] })), 'constraints.flows[1]');
  });

  test('runScenario and checkScenario', () => {
    rejects(() => runScenario(js({ ...sc, seed: undefined })), 'scenario.seed');
    rejects(() => runScenario(js({ ...sc, topology: 'kind: Pod' })), 'scenario.topology');
    rejects(() => runScenario(js(sc), js({ mutate: (d: string) => d })), 'opts.mutate');
    // a wrong argument is the suite's mistake, not a violation to report as a counterexample
    rejects(() => checkScenario(js(sc), js('deliveredToOneReadyEndpoint')), 'check');
  });

  test('findCounterexample and assertScenarios', () => {
    rejects(() => findCounterexample(js([sc]), standardInvariants), 'arb');
    rejects(() => assertScenarios(scenarioArb(), js([standardInvariants])), 'check[0]');
    rejects(() => assertScenarios(scenarioArb(), standardInvariants, js({ numRuns: 0 })), 'opts.numRuns');
  });
});
