/**
 * podnet's library API: load a topology, run flows through its emulated network (`simulate`),
 * ask its DNS (`dig`), and read what happened — per-flow results, hop events, captured frames,
 * each node's rules. The engine underneath is in `podnet/internals` (not a stable API); byte
 * formats are in `podnet/wire`; property-test helpers in `podnet/testing`.
 */

// topologies
export { loadTopology, loadTopologyResult, isClusterModel, topologyToYaml, manifestToYaml } from './api/topology.js';
export type { Manifest, ManifestMetadata, TopologyInput, LoadTopologyOptions } from './api/topology.js';
export { TopologyError, formatDiagnostic } from './kube/load/index.js';
export type { LoadResult, TopologyDiagnostic } from './kube/load/index.js';

// flows, DNS queries and their results
export { simulate } from './api/simulate.js';
export type { SimulateOptions, SimulationReady, SimulationResult } from './api/simulate.js';
export { dig } from './api/dig.js';
export type { DigOptions, DigResult } from './api/dig.js';
export { FlowError, ArgumentError } from './api/errors.js';
export { traceArgs } from './api/flow.js';
export type { FlowSpec, ServiceTarget, ServiceVia, Duration } from './api/flow.js';
export type {
  FlowResult,
  FlowSource,
  FlowDestination,
  ServiceAddressKind,
  Backend,
  AttemptResult,
  Translation,
  Drop,
  PacketRecord,
  NatChoice,
  NatPath,
} from './api/results.js';
export type { ProbeReport, ProbeAttempt } from './apps/probe.js';
export type { Resolution, ResolverQuery } from './apps/resolver.js';

// the lower level: one simulation, driven step by step
export { Simulation } from './api/simulation.js';
export type { SimulationOptions, RunOptions } from './api/simulation.js';

// rules
export { nodeRules, clusterRulesText, parseRules, mutateRules, ruleMutation, RulesError } from './api/rules.js';
export type { RuleMutation, KubeProxySettings } from './api/rules.js';
export type { Ruleset } from './netfilter/rules.js';

// hop events and their sinks
export type {
  HopEvent,
  HopKind,
  HopBase,
  FrameEvent,
  BridgeEvent,
  FdbEvent,
  RouteEvent,
  NeighEvent,
  ArpEvent,
  ForwardEvent,
  EncapEvent,
  DecapEvent,
  DeliverEvent,
  IcmpEvent,
  FragEvent,
  NfEvent,
  NatEvent,
  DropEvent,
  AppEvent,
} from './events/hop.js';
export type { HopSink, CaptureSink, CapturePoint, PacketNotes } from './events/tracer.js';
export { TextHopSink, JsonHopSink, hopToJson, formatHopLine } from './trace/format.js';
export { hopText, ruleText, dropText } from './trace/hop-text.js';
export type { HopJson } from './trace/format.js';

// captures and frames
export { MemoryCapture } from './trace/memory-capture.js';
export type { CapturedFrame } from './trace/memory-capture.js';
export { CaptureFiles, PointFilter } from './trace/capture-sink.js';
export { pcapngBytes, writePcapng } from './api/pcap.js';
export { readCapture, CaptureFormatError } from './trace/pcap-read.js';
export type { CaptureFile, CaptureInterface, CapturedPacket } from './trace/pcap-read.js';
export { dissectFrame } from './wire/dissect.js';
export type { FrameDissection } from './wire/dissect.js';
export { summarizeFrame } from './trace/frame-summary.js';

// the cluster model: what a topology loads as (addresses are numbers; these print and parse them)
export { parseIpv4, formatIpv4, parseMac, formatMac } from './wire/addr.js';
export { formatCidr } from './kube/model.js';
export type {
  ClusterModel,
  CniModel,
  UnderlayModel,
  LinkDelays,
  AddonsModel,
  NodeModel,
  TaintModel,
  PodModel,
  ContainerModel,
  ContainerPortModel,
  ListenerModel,
  ListenerReason,
  ProbeKind,
  DnsPolicy,
  PodDnsConfigModel,
  ClusterDnsModel,
  UpstreamDnsEntry,
  ExternalHostModel,
  RouteModel,
  ServiceModel,
  ServicePortModel,
  EndpointSliceModel,
  EndpointModel,
  PortRangeModel,
  ScenarioModel,
  ProbeModel,
  ProbeProtocol,
  ProbeExpectation,
  SourceRef,
  ObjectOrigin,
  Cidr,
  Ipv4Addr,
  MacAddr,
} from './kube/model.js';

/**
 * fast-check arbitraries for clusters, workloads, Services and flows (also in `podnet/testing`, with invariants and the
 * counterexample runner).
 */
export * as arbitraries from './testing/arbitraries.js';
