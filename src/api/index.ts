/** The library API for tests and tools: topologies from text or objects, flows, `simulate`, structured results, rules, pcapng. */
export { loadTopology, loadTopologyResult, isClusterModel, topologyToYaml, manifestToYaml } from './topology.js';
export type { Manifest, ManifestMetadata, TopologyInput, LoadTopologyOptions } from './topology.js';
export { resolveFlow, resolveServiceTarget, findService, probeModel, traceArgs, formatDurationArg, shellQuote, defaultFlowName, defaultSize, FlowError } from './flow.js';
export type { FlowSpec, ResolvedFlow, ServiceTarget, ServiceVia, Duration } from './flow.js';
export { simulate } from './simulate.js';
export type { SimulateOptions, SimulationResult } from './simulate.js';
export { flowResult, translationsOf, dropsOf, innermostIp, NetworkIndex } from './results.js';
export type { FlowResult, FlowSource, FlowDestination, ServiceAddressKind, Backend, AttemptResult, Translation, Drop, PacketRecord } from './results.js';
export { nodeRules, clusterRulesText, parseRules, mutateRules, ruleMutation, RulesError } from './rules.js';
export type { RuleMutation } from './rules.js';
export { pcapngBytes, writePcapng } from './pcap.js';
