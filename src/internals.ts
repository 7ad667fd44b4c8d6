/**
 * podnet/internals: the engine under the library, for power users — the emulated world, network
 * namespaces and the built network, the tracer, scheduler and RNG, capture writers and byte sinks,
 * and the helpers `simulate` and the CLI are made of. NOT a stable API: anything here may change
 * or go in any release; the main entry (`podnet`) is the one that is kept compatible.
 */

// the emulated network
export { World } from './net/world.js';
export { NetNs } from './net/netns.js';
export { Network, buildNetwork } from './kube/network.js';
export type { BuildOptions, BuiltNode, BuiltPod, BuiltExternal } from './kube/network.js';
export type { Endpoint } from './api/simulation.js';
export type { KubeProxyOptions } from './kube/agents/node-rules.js';
export type { ExploredPath } from './netfilter/engine.js';

// the engine
export { Tracer } from './events/tracer.js';
export { Scheduler } from './sim/scheduler.js';
export { Rng } from './sim/rng.js';

// writers and byte sinks
export { PcapngWriter, PcapWriter } from './trace/pcapng.js';
export { PcapngCaptureSink } from './trace/capture-sink.js';
export { MemorySink, AtomicFileSink, safeOutputPath } from './trace/byte-sink.js';
export type { ByteSink } from './trace/byte-sink.js';

// topology loading by kind of input
export { loadTopologyPath, loadTopologyText, loadDefaultTopology, loadTopologyOrThrow } from './kube/load/index.js';
export { podDisplayName, MAC_PREFIX } from './kube/model.js';

// what simulate, dig and the CLI are made of
export {
  resolveFlow,
  resolveServiceTarget,
  findService,
  checkFlowSpec,
  defaultFlowName,
  defaultSize,
  formatDurationArg,
  shellQuote,
} from './api/flow.js';
export { NetworkIndex, flowResult, translationsOf, dropsOf, innermostIp } from './api/results.js';
export { checkKubeProxy } from './api/rules.js';
export { digQuestion, candidates } from './api/dig.js';
