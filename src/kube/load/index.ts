/**
 * The topology loader: YAML in (podnet Cluster and Scenario; Kubernetes Namespace, Node, Pod,
 * Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, Service, Endpoints and
 * EndpointSlice; Lists of them), `ClusterModel` out, with positioned, actionable
 * diagnostics. Loading never throws (except `loadTopologyOrThrow`, by design) and reports every
 * problem in one pass.
 */
import type { ClusterModel } from '../model.js';
import { DEFAULT_TOPOLOGY_NAME, DEFAULT_TOPOLOGY_YAML } from '../default-topology.js';
import { DiagnosticSink, formatDiagnostic, type TopologyDiagnostic } from './diagnostics.js';
import { loadSources, readSources, type LoadResult } from './load.js';
import type { ValidationMode } from './state.js';

export type { TopologyDiagnostic } from './diagnostics.js';
export { formatDiagnostic } from './diagnostics.js';
export type { LoadResult } from './load.js';
export { readInputText, InputLimitError, MAX_INPUT_BYTES } from './sources.js';
export type { DeferredObject, ValidationMode } from './state.js';
export { CLUSTER_DEFAULTS, CLUSTER_API_VERSION } from './readers/cluster.js';

/**
 * Loads a file, or all *.yaml / *.yml files under a folder (recursively, in path order).
 * `seed` (default 1) draws generated pod-name suffixes and breaks scheduling ties; the CLI passes
 * its --seed.
 */
export function loadTopologyPath(path: string, seed = 1, validate?: ValidationMode): LoadResult {
  const sink = new DiagnosticSink();
  const { sources, files } = readSources(path, sink);
  return loadSources(sources, files, sink, { seed, validate });
}

/** Loads YAML text; `fileName` is used in diagnostics and `ClusterModel.files`. */
export function loadTopologyText(text: string, fileName: string, seed = 1, validate?: ValidationMode): LoadResult {
  return loadSources([{ file: fileName, text }], [fileName], new DiagnosticSink(), { seed, validate });
}

/** Loads the built-in default topology (two nodes, three pods, four probes, and the kubeadm/flannel addons). */
export function loadDefaultTopology(seed = 1, validate?: ValidationMode): LoadResult {
  return loadSources([{ file: DEFAULT_TOPOLOGY_NAME, text: DEFAULT_TOPOLOGY_YAML }], [], new DiagnosticSink(), {
    seed,
    validate,
  });
}

/** Thrown by `loadTopologyOrThrow`; the message lists every error, one per line. */
export class TopologyError extends Error {
  readonly diagnostics: TopologyDiagnostic[];

  constructor(diagnostics: TopologyDiagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    super(
      `${errors.length} error${errors.length === 1 ? '' : 's'} in the topology:\n${errors.map((d) => `  ${formatDiagnostic(d)}`).join('\n')}`,
    );
    this.name = 'TopologyError';
    this.diagnostics = diagnostics;
  }
}

/** Loads `path` (or the built-in default when undefined); throws `TopologyError` on any error. */
export function loadTopologyOrThrow(path: string | undefined, seed = 1): LoadResult & { readonly model: ClusterModel } {
  const result = path === undefined ? loadDefaultTopology(seed) : loadTopologyPath(path, seed);
  const model = result.model;
  if (model === undefined) throw new TopologyError(result.diagnostics);
  return { ...result, model };
}
