/**
 * The load pipeline: parse every source, hand each object to its kind handler, run the resolve
 * phases (cluster and nodes → the addon manifests, handed to the kind handlers like the input →
 * namespaces → workload controllers → pods → EndpointSlices → Endpoints → Services → scenario),
 * and assemble the model when nothing failed.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterModel, NodeModel, ObjectOrigin } from '../model.js';
import { addonManifests, ADDONS_FILE } from './addons.js';
import { DiagnosticSink, type TopologyDiagnostic } from './diagnostics.js';
import { parseText, type KubeObject } from './documents.js';
import { clusterDraft } from './kinds/cluster.js';
import { podModels } from './kinds/pod.js';
import { scenarioModel } from './kinds/scenario.js';
import { endpointSliceModels, serviceModels } from './kinds/service.js';
import { CLUSTER_SCOPED_KINDS, HANDLERS, PHASES } from './registry.js';
import { LoadState, objectLabel, type DeferredObject, type LoadOptions } from './state.js';
import { quote } from './values.js';

export interface LoadResult {
  /** The model; undefined exactly when there is at least one error diagnostic. */
  readonly model: ClusterModel | undefined;
  /** Errors and notices, ordered by file (load order), line and column. */
  readonly diagnostics: TopologyDiagnostic[];
  /** Objects of kinds podnet recognises but does not model yet, as plain data (none today: see kinds/deferred.ts). */
  readonly deferred: DeferredObject[];
}

export interface Source {
  readonly file: string;
  readonly text: string;
}

/** Resolve phases up to this order run before the addon manifests are loaded. */
const ADDONS_AFTER_ORDER = 10;

/** Loads already-read sources; `modelFiles` is what `ClusterModel.files` reports. */
export function loadSources(sources: readonly Source[], modelFiles: readonly string[], sink = new DiagnosticSink(), opts: LoadOptions = {}): LoadResult {
  const state = new LoadState(sink, opts);
  try {
    let seq = 0;
    for (const src of sources) {
      sink.addFile(src.file);
      const parsed = parseText(src.text, src.file, sink, { fastJson: opts.fastJson !== false });
      for (const b of parsed.broken) state.addBroken(b);
      for (const obj of parsed.objects) dispatch(obj, state, 'user', seq++);
    }
    for (const phase of PHASES.filter((p) => p.order <= ADDONS_AFTER_ORDER)) phase.run(state);
    loadAddons(state);
    for (const phase of PHASES.filter((p) => p.order > ADDONS_AFTER_ORDER)) phase.run(state);
    const model = sink.errorCount === 0 ? assemble(state, modelFiles) : undefined;
    if (model === undefined && sink.errorCount === 0) {
      internalError(sink, sources[0]?.file ?? '<input>', 'the model is incomplete although no error was reported');
    }
    return { model: sink.errorCount === 0 ? model : undefined, diagnostics: sink.sorted(), deferred: state.deferred };
  } catch (e) {
    internalError(sink, sources[0]?.file ?? '<input>', e instanceof Error ? e.message : String(e));
    return { model: undefined, diagnostics: sink.sorted(), deferred: state.deferred };
  }
}

function internalError(sink: DiagnosticSink, file: string, message: string): void {
  sink.add({ severity: 'error', file, line: 1, col: 1, object: undefined, path: undefined, message: `internal error in the topology loader: ${message} (please report this)` });
}

/** Hands the addon manifests (addons.ts) to the kind handlers, ahead of the input in load order. */
function loadAddons(state: LoadState): void {
  const c = clusterDraft(state);
  // With errors already (a bad node name, say) there will be no model: adding the addons could
  // only repeat those errors in their terms.
  if (c === undefined || c.addons === undefined || !c.nodesKnown || state.sink.errorCount > 0) return;
  const text = addonManifests(state, c.addons, c.nodes);
  if (text === '') return;
  const parsed = parseText(text, ADDONS_FILE, state.sink);
  let seq = -parsed.objects.length;
  for (const obj of parsed.objects) dispatch(obj, state, 'addon', seq++);
}

function dispatch(obj: KubeObject, state: LoadState, origin: ObjectOrigin, seq: number): void {
  const handler = HANDLERS.get(obj.kind);
  if (handler === undefined) {
    const near = [...HANDLERS.keys()].find((k) => k.toLowerCase() === obj.kind.toLowerCase());
    if (near !== undefined) {
      obj.root.child('kind').error(`unknown kind ${quote(obj.kind)}; kinds are case-sensitive: did you mean ${near}?`);
      return;
    }
    const namespaced = !CLUSTER_SCOPED_KINDS.has(obj.kind);
    const p = obj.root.position();
    state.sink.add({
      severity: 'notice',
      file: obj.source.file,
      line: p.line,
      col: p.col,
      object: undefined,
      path: undefined,
      message: `ignored: ${objectLabel(obj.kind, namespaced, obj.namespace, obj.name)} (not part of the data path)`,
    });
    return;
  }
  const label = objectLabel(handler.kind, handler.namespaced, obj.namespace, obj.name);
  const root = obj.root.withObject(label);
  if (handler.apiVersions !== undefined) {
    const expected = handler.apiVersions.map((v) => quote(v)).join(' or ');
    const f = root.child('apiVersion');
    if (obj.apiVersion === undefined || obj.apiVersion === null) f.missing(`${expected} for kind ${handler.kind}`);
    else if (typeof obj.apiVersion !== 'string' || !handler.apiVersions.includes(obj.apiVersion)) f.typeError(`${expected} for kind ${handler.kind}`);
  }
  const input = { ...obj, root, label, effectiveNamespace: handler.namespaced ? (obj.namespace ?? 'default') : undefined, origin, seq };
  state.objects.push(input);
  handler.collect(input, state);
}

function assemble(state: LoadState, files: readonly string[]): ClusterModel | undefined {
  const c = clusterDraft(state);
  if (c === undefined) return undefined;
  const { clusterCIDR, serviceCIDR, nodeCIDRMaskSize, cni, underlay, links, nodePortRange, addons } = c;
  if (
    clusterCIDR === undefined ||
    serviceCIDR === undefined ||
    nodeCIDRMaskSize === undefined ||
    cni === undefined ||
    underlay === undefined ||
    links === undefined ||
    nodePortRange === undefined ||
    addons === undefined ||
    !c.loadBalancerPoolOk
  ) {
    return undefined;
  }
  const nodes: NodeModel[] = [];
  for (const n of c.nodes) {
    if (n.ip === undefined || n.podCIDR === undefined) return undefined;
    nodes.push({
      name: n.name,
      index: n.index,
      ip: n.ip,
      podCIDR: n.podCIDR,
      labels: n.labels,
      taints: n.taints,
      schedulable: n.schedulable,
      controlPlane: n.controlPlane,
      source: n.source,
    });
  }
  return {
    name: c.name,
    clusterCIDR,
    serviceCIDR,
    nodeCIDRMaskSize,
    cni,
    underlay,
    links,
    nodes,
    pods: podModels(state),
    externalHosts: c.externalHosts,
    services: serviceModels(state),
    endpointSlices: endpointSliceModels(state),
    nodePortRange,
    loadBalancerPool: c.loadBalancerPool,
    dns: c.dns,
    scenario: scenarioModel(state),
    addons,
    seed: state.seed,
    files,
  };
}

const YAML_FILE = /\.ya?ml$/i;

/** Reads a file, or every *.yaml / *.yml under a folder (recursively, sorted by path). */
export function readSources(path: string, sink: DiagnosticSink): { sources: Source[]; files: string[] } {
  const ioError = (file: string, e: unknown): void => {
    const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
    const reason =
      code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : e instanceof Error ? e.message : String(e);
    sink.add({ severity: 'error', file, line: 0, col: 0, object: undefined, path: undefined, message: `cannot read: ${reason}` });
  };
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    ioError(path, e);
    return { sources: [], files: [] };
  }
  const files: string[] = [];
  if (isDir) {
    const seen = new Set<string>();
    const walk = (dir: string): void => {
      let real: string;
      try {
        real = realpathSync(dir);
      } catch (e) {
        ioError(dir, e);
        return;
      }
      if (seen.has(real)) return;
      seen.add(real);
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch (e) {
        ioError(dir, e);
        return;
      }
      for (const name of entries) {
        const full = join(dir, name);
        let st;
        try {
          st = statSync(full);
        } catch (e) {
          if (YAML_FILE.test(name)) ioError(full, e);
          continue;
        }
        if (st.isDirectory()) walk(full);
        else if (st.isFile() && YAML_FILE.test(name)) files.push(full);
      }
    };
    walk(path);
    files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (files.length === 0) {
      sink.add({ severity: 'error', file: path, line: 0, col: 0, object: undefined, path: undefined, message: 'no *.yaml or *.yml files in this folder' });
    }
  } else files.push(path);
  const sources: Source[] = [];
  for (const file of files) {
    try {
      sources.push({ file, text: readFileSync(file, 'utf8') });
    } catch (e) {
      ioError(file, e);
    }
  }
  return { sources, files };
}
