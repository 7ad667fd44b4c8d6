/**
 * podnet's library API: load a topology, build its emulated network, run probes, and read
 * what happened (hop events, captured frames, per-probe results).
 */
export { Simulation, ProbeError } from './api/simulation.js';
export type { SimulationOptions, ProbeReport, Endpoint } from './api/simulation.js';
export type { ProbeResult, ProbeAttempt, ProbeSpec } from './apps/probe.js';
export { loadTopologyPath, loadTopologyText, loadDefaultTopology, loadTopologyOrThrow, formatDiagnostic, TopologyError } from './kube/load/index.js';
export type { LoadResult, TopologyDiagnostic } from './kube/load/index.js';
export type * from './kube/model.js';
export { buildNetwork, Network } from './kube/network.js';
export type { BuiltNode, BuiltPod, BuiltExternal } from './kube/network.js';
export { World } from './net/world.js';
export { NetNs } from './net/netns.js';
export { Tracer } from './events/tracer.js';
export type { HopSink, CaptureSink, CapturePoint, PacketNotes } from './events/tracer.js';
export type { HopEvent, HopKind } from './events/hop.js';
export { MemoryCapture } from './trace/memory-capture.js';
export type { CapturedFrame } from './trace/memory-capture.js';
export { JsonHopSink, TextHopSink, formatHopLine, hopToJson } from './trace/format.js';
export type { HopJson } from './trace/format.js';
export { PcapngCaptureSink, CaptureFiles, PointFilter } from './trace/capture-sink.js';
export { PcapngWriter, PcapWriter } from './trace/pcapng.js';
export { readCapture } from './trace/pcap-read.js';
export { MemorySink, AtomicFileSink, safeOutputPath } from './trace/byte-sink.js';
export { dissectFrame } from './wire/dissect.js';
export { summarizeFrame } from './trace/frame-summary.js';
export type { FrameDissection } from './wire/dissect.js';
export { parseIpv4, formatIpv4, parseMac, formatMac } from './wire/addr.js';
export { Rng } from './sim/rng.js';
export { Scheduler } from './sim/scheduler.js';
export * from './api/index.js';
/** fast-check arbitraries for clusters, workloads, Services and flows (also in `podnet/testing`, with invariants and the counterexample runner). */
export * as arbitraries from './testing/arbitraries.js';
