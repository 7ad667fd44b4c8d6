/**
 * podnet/testing: fast-check arbitraries for clusters, workloads, Services and flows; invariants
 * of the pod network with readable explanations; broken kube-proxy variants; and a runner that
 * shrinks a failure to a small topology and prints the `podnet trace` command replaying it.
 * Uses the `fast-check` peer dependency (npm installs it with podnet), the same copy as the suite.
 */
export {
  scenarioArb,
  scenarioShapeArb,
  clusterShapeArb,
  workloadShapeArb,
  serviceShapeArb,
  flowShapeArb,
  buildScenario,
  allowedFlowKinds,
  FLOW_KINDS,
  SERVICE_KINDS,
  FLOW_SERVICE_KINDS,
  EXTERNAL_HOST,
  EXTERNAL_NAME,
} from './arbitraries.js';
export type {
  AddressPlan,
  ClusterShape,
  BackendPodShape,
  WorkloadKind,
  WorkloadShape,
  ServiceKind,
  ServiceShape,
  FlowKind,
  FlowShape,
  ScenarioShape,
  ScenarioConstraints,
} from './arbitraries.js';
export { runScenario, scenario, describeFlowSpec } from './scenario.js';
export type { Scenario, RunScenarioOptions, ScenarioRun } from './scenario.js';
export {
  deliveredToOneReadyEndpoint,
  replyFromDialledAddress,
  clientIpPreserved,
  affinityStable,
  noPacketExceedsMtu,
  ttlNeverIncreases,
  standardInvariants,
  checkInvariants,
  assertVerdict,
  allowedEndpoints,
  serviceEndpoints,
  servicePortLabel,
  destinationService,
} from './invariants.js';
export type { Verdict, Invariant, AllowedEndpoint, AllowedEndpoints } from './invariants.js';
export {
  mutations,
  forgetHairpinMasquerade,
  masqueradeLocalPolicy,
  forgetSessionAffinity,
  forgetNodePorts,
} from './mutations.js';
export {
  checkScenario,
  findCounterexample,
  assertScenarios,
  counterexampleFor,
  formatCounterexample,
  CounterexampleError,
} from './counterexample.js';
export type { ScenarioCheck, PropertyOptions, Counterexample } from './counterexample.js';
export { ruleMutation, mutateRules, nodeRules } from '../api/rules.js';
export type { RuleMutation } from '../api/rules.js';
