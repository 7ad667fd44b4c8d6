/**
 * Scenarios: a topology (plain manifest objects), one flow and a seed — the unit a property test
 * generates, runs and, when it fails, prints and replays. A scenario runs exactly as
 * `podnet trace <topology> --seed <seed> --from … --to …` would run it: the topology loads with
 * the seed (the same model as its printed YAML gives the command), and the flow is the command's
 * one probe.
 */
import { toStringMethod } from 'fast-check';
import type { ClusterModel } from '../kube/model.js';
import { loadTopology, topologyToYaml } from '../api/topology.js';
import type { Manifest } from '../api/topology.js';
import type { FlowSpec } from '../api/flow.js';
import { simulate } from '../api/simulate.js';
import type { SimulationResult } from '../api/simulate.js';
import type { FlowResult } from '../api/results.js';
import { mutateRules } from '../api/rules.js';
import type { RuleMutation } from '../api/rules.js';
import { checkRunOptions, checkScenarioArg } from './check.js';

/** What a property test generates: a cluster and its workloads as manifests, one flow, a seed. */
export interface Scenario {
  readonly topology: readonly Manifest[];
  readonly flow: FlowSpec;
  /** Seeds the loader and the simulation (`podnet trace --seed`). */
  readonly seed: number;
}

/** Options of {@link runScenario}. */
export interface RunScenarioOptions {
  /** Run with these nodes' rules mutated (a kube-proxy variant under test); see `mutations`. */
  readonly mutate?: RuleMutation;
  /** Only mutate these nodes' rules (default: every node). */
  readonly mutateNodes?: readonly string[];
  /** Record hop events (default true; the packet-level invariants need them). */
  readonly trace?: boolean;
  /** Keep captured frames in memory (default false). */
  readonly capture?: boolean;
}

/** A scenario after it ran. */
export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly model: ClusterModel;
  /** Mutated rules by node (only nodes whose rules changed). */
  readonly rules: Readonly<Record<string, string>>;
  readonly mutation: RuleMutation | undefined;
  readonly result: SimulationResult;
  /** The flow's result. */
  readonly flow: FlowResult;
}

/** Runs a scenario as `podnet trace` would (see the module comment). */
export function runScenario(sc: Scenario, opts: RunScenarioOptions = {}): ScenarioRun {
  checkScenarioArg(sc, 'scenario');
  checkRunOptions(opts, 'opts');
  // objects load as JSON (fast); test/testing proves that gives the same model as the printed YAML the replay command
  // reads
  const model = loadTopology(sc.topology, { seed: sc.seed, fileName: 'topology.yaml' });
  const rules =
    opts.mutate === undefined
      ? {}
      : mutateRules(model, opts.mutate, opts.mutateNodes === undefined ? {} : { nodes: opts.mutateNodes });
  const result = simulate(model, {
    seed: sc.seed,
    flows: [sc.flow],
    rules,
    trace: opts.trace ?? true,
    capture: opts.capture ?? false,
  });
  return { scenario: sc, model, rules, mutation: opts.mutate, result, flow: result.flows[0]! };
}

/** A one-line description of a flow spec (`tcp client → default/web:http via clusterIP`). */
export function describeFlowSpec(f: FlowSpec): string {
  const to =
    typeof f.to === 'string'
      ? f.to
      : `Service ${f.to.service}${f.to.port !== undefined ? `:${f.to.port}` : ''} via ${f.to.via ?? 'clusterIP'}${f.to.node !== undefined ? ` of ${f.to.node}` : ''}`;
  return `${f.protocol ?? ''}${f.protocol ? ' ' : ''}${f.from} → ${to}${f.count !== undefined && f.count > 1 ? ` ×${f.count}` : ''}`;
}

/** Makes a scenario that fast-check prints as its YAML, seed and flow (instead of a deep object dump). */
export function scenario(topology: readonly Manifest[], flow: FlowSpec, seed: number): Scenario {
  const sc: Scenario = { topology, flow, seed };
  Object.defineProperty(sc, toStringMethod, {
    value: () => `scenario (seed ${seed}, flow ${describeFlowSpec(flow)}):\n${topologyToYaml(topology)}`,
    enumerable: false,
  });
  return sc;
}
