/**
 * Topologies for library users: load one from YAML text, a path, or plain objects mirroring the
 * YAML (so code and property-test generators can build clusters), and print objects back as the
 * YAML a person would write, which `podnet` loads to the same model.
 */
import { existsSync } from 'node:fs';
import { Document, isMap, isScalar, isSeq, visit } from 'yaml';
import type { ClusterModel } from '../kube/model.js';
import { loadTopologyPath, loadTopologyText, TopologyError } from '../kube/load/index.js';
import type { LoadResult } from '../kube/load/index.js';
import { checkArray, checkOptInteger, checkOptions, checkOptString, fail, isRecord } from './check.js';

/** `metadata` of a manifest: the fields podnet reads, plus anything else kubectl would print. */
export interface ManifestMetadata {
  readonly name?: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

/** One Kubernetes-style object as a YAML document holds it (`Cluster`, `Pod`, `Service`, …). */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata?: ManifestMetadata;
  readonly [field: string]: unknown;
}

/**
 * What {@link loadTopology} accepts: YAML (or JSON) text, a path to a file or folder, one
 * manifest object, or a list of them (in document order). Diagnostics for objects point into
 * their YAML as {@link topologyToYaml} prints it.
 */
export type TopologyInput = string | Manifest | readonly Manifest[];

/** Options of {@link loadTopology}. */
export interface LoadTopologyOptions {
  /**
   * Seed of the loader's own draws (generated pod names, scheduling ties); default 1. Use the
   * seed you simulate with, as the CLI does with `--seed`, so a replay loads the same model.
   */
  readonly seed?: number;
  /** Name used in diagnostics for text and object input (default `<topology>`). */
  readonly fileName?: string;
}

/** True when a string names something on disk rather than holding YAML. */
function isPathLike(s: string): boolean {
  if (s.includes('\n')) return false;
  if (existsSync(s)) return true;
  // a single line that reads like a file name is a path that does not exist: let the loader say so
  return /\.(ya?ml|json)$/i.test(s.trim());
}

/** Loads a topology and returns every diagnostic (errors and notices) instead of throwing. */
export function loadTopologyResult(input: TopologyInput, opts: LoadTopologyOptions = {}): LoadResult {
  checkTopologyInput(input, 'input');
  const o = checkOptions(opts, 'opts');
  const seed = checkOptInteger(o['seed'], 'opts.seed') ?? 1;
  checkOptString(o['fileName'], 'opts.fileName');
  if (typeof input === 'string') {
    return isPathLike(input)
      ? loadTopologyPath(input.trim(), seed)
      : loadTopologyText(input, opts.fileName ?? '<topology>', seed);
  }
  // objects load through the loader's JSON fast path (the same model as their YAML, a few ms sooner);
  // when they do not load, load the YAML instead so each diagnostic's line:col points into topologyToYaml(input)
  const docs: readonly Manifest[] = Array.isArray(input) ? (input as readonly Manifest[]) : [input as Manifest];
  const fast = loadTopologyText(
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }),
    opts.fileName ?? '<topology>',
    seed,
  );
  if (fast.model !== undefined && !fast.diagnostics.some((d) => d.severity === 'error')) return fast;
  return loadTopologyText(topologyToYaml(docs), opts.fileName ?? '<topology>', seed);
}

const MANIFEST = 'a manifest object ({ apiVersion, kind, … })';

/** Checks topology input: text or a path, a manifest, or a list of manifests. */
export function checkTopologyInput(input: unknown, argument: string): void {
  const manifest = (m: unknown, arg: string): void => {
    // a missing or wrong apiVersion or kind is the loader's to report, with line:col
    if (!isRecord(m)) fail(arg, MANIFEST, m);
  };
  if (typeof input === 'string') return;
  if (Array.isArray(input))
    for (const [i, m] of checkArray(input, argument).entries()) manifest(m, `${argument}[${i}]`);
  else if (isRecord(input)) manifest(input, argument);
  else fail(argument, `YAML text, a path, ${MANIFEST} or an array of them`, input);
}

/**
 * Loads a topology (YAML text, a path, or manifest objects) into a cluster model; throws
 * {@link TopologyError} listing every error (each with file:line:col) when it does not load.
 */
export function loadTopology(input: TopologyInput, opts: LoadTopologyOptions = {}): ClusterModel {
  const r = loadTopologyResult(input, opts);
  if (r.model === undefined || r.diagnostics.some((d) => d.severity === 'error'))
    throw new TopologyError(r.diagnostics);
  return r.model;
}

/** True for a loaded cluster model (as opposed to topology input). */
export function isClusterModel(x: unknown): x is ClusterModel {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const m = x as Partial<ClusterModel> & { kind?: unknown };
  return (
    m.kind === undefined &&
    Array.isArray(m.nodes) &&
    Array.isArray(m.pods) &&
    typeof m.cni === 'object' &&
    typeof m.clusterCIDR === 'object'
  );
}

// A collection printed on one line when it fits in this many characters, as the example
// topologies are written (`metadata: { name: web, labels: { app: web } }`).
const FLOW_WIDTH = 100;

/** Prints one manifest as a YAML document (small nested collections on one line). */
export function manifestToYaml(m: Manifest): string {
  const doc = new Document(m);
  const width = new Map<unknown, number>();
  visit(doc, {
    Map(_key, node, path) {
      // path length 1 is the document's own map: its sections (metadata, spec) may go on one line, the document may not
      if (path.length >= 3) node.flow = flowWidth(node, width) <= FLOW_WIDTH;
    },
    Seq(_key, node, path) {
      if (path.length >= 3) node.flow = flowWidth(node, width) <= FLOW_WIDTH;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}

/**
 * About how wide a node is written on one line (`{ a: 1, b: [ x, y ] }`), memoised: an estimate
 * (plain scalars, no quoting) that only decides between one line and a block.
 */
function flowWidth(node: unknown, memo: Map<unknown, number>): number {
  const known = memo.get(node);
  if (known !== undefined) return known;
  let w: number;
  if (isMap(node)) {
    w = 4;
    for (const it of node.items) w += flowWidth(it.key, memo) + 2 + flowWidth(it.value, memo) + 2;
  } else if (isSeq(node)) {
    w = 4;
    for (const it of node.items) w += flowWidth(it, memo) + 2;
  } else if (isScalar(node)) {
    const v = node.value;
    w = typeof v === 'string' ? v.length + (/^[\w./-]*$/.test(v) ? 0 : 2) : String(v).length;
  } else w = String(node).length;
  memo.set(node, w);
  return w;
}

/** Prints manifests as one multi-document YAML stream (`---` between documents). */
export function topologyToYaml(input: Manifest | readonly Manifest[]): string {
  const docs: readonly Manifest[] = Array.isArray(input) ? (input as readonly Manifest[]) : [input as Manifest];
  return docs.map(manifestToYaml).join('---\n');
}

export { TopologyError };
