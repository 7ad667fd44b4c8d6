/**
 * Unknown fields of Kubernetes kinds, found as `kubectl apply --validate=strict` finds them: against the
 * Kubernetes OpenAPI schema. The schema is the one @kubernetes/client-node is generated from (each model
 * class lists its fields and their types in `attributeTypeMap`), so it follows Kubernetes releases rather
 * than a hand-written list. The API server's strict decoding reports `unknown field "spec.ports[0].protocl"`;
 * podnet says the same, at the field's position, with the nearest known field as a suggestion.
 */
import * as models from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { isAlias, isMap, isScalar, isSeq, type Document, type YAMLMap } from 'yaml';
import type { Field } from './field.js';
import type { ValidationMode } from './state.js';
import { suggest } from './values.js';

/** One field of a model class, as the generator writes it. */
interface Attribute {
  readonly baseName: string;
  readonly type: string;
}

const MODELS = models as unknown as Readonly<Record<string, unknown>>;
const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

/** The fields of model class `name` by JSON name, or undefined when there is no such class. */
function attributes(name: string): ReadonlyMap<string, string> | undefined {
  const cls = MODELS[name];
  if (typeof cls !== 'function') return undefined;
  const get = (cls as { getAttributeTypeMap?: unknown }).getAttributeTypeMap;
  if (typeof get !== 'function') return undefined;
  const list: unknown = get.call(cls);
  if (!Array.isArray(list)) return undefined;
  const out = new Map<string, string>();
  for (const a of list as Attribute[]) out.set(a.baseName, a.type);
  return out;
}

const cache = new Map<string, ReadonlyMap<string, string> | undefined>();
function fieldsOf(name: string): ReadonlyMap<string, string> | undefined {
  if (!cache.has(name)) cache.set(name, attributes(name));
  return cache.get(name);
}

/** The model class of a built-in kind (`apps/v1` Deployment → V1Deployment), if the schema has it. */
function rootType(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.slice(apiVersion.indexOf('/') + 1);
  if (!/^v[0-9]+((alpha|beta)[0-9]+)?$/.test(version)) return undefined;
  const name = `${version[0]?.toUpperCase() ?? ''}${version.slice(1)}${kind}`;
  const fields = fieldsOf(name);
  // Only top-level objects (they have apiVersion and kind); `V1Event` is events.k8s.io's, and a
  // core/v1 Event is CoreV1Event: try that too.
  if (fields?.has('kind') === true) return name;
  const core = `CoreV1${kind}`;
  return !apiVersion.includes('/') && version === 'v1' && fieldsOf(core)?.has('kind') === true ? core : undefined;
}

/**
 * Reports the fields of `root` (a Kubernetes object of `apiVersion`/`kind`) that its schema does not have;
 * quiet for kinds the schema does not know (custom resources) and in `ignore` mode.
 */
export function checkKubernetesFields(root: Field, apiVersion: string, kind: string, mode: ValidationMode): void {
  if (mode === 'ignore') return;
  const type = rootType(apiVersion, kind);
  if (type === undefined) return;
  const severity = mode === 'strict' ? 'error' : 'notice';
  walk(root.node, root.ctx.doc, type, '', (path, key, offset, known) => {
    const near = suggest(key, known);
    const tail = near === undefined ? '' : ` (did you mean ${near}?)`;
    root.objectReport(severity, `unknown field ${JSON.stringify(path)}${tail}`, offset);
  });
}

type Report = (path: string, key: string, offset: number | undefined, known: readonly string[]) => void;

function joinPath(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

/** Follows aliases (bounded: an alias cycle ends the walk there). */
function resolve(n: unknown, doc: Document): unknown {
  let cur = n;
  for (let i = 0; i < 32 && isAlias(cur); i++) {
    try {
      cur = cur.resolve(doc);
    } catch {
      return undefined;
    }
  }
  return cur;
}

/** Calls `visit` for each string key of a mapping (merge keys expanded) with its value and the key's offset. */
function eachPair(
  map: YAMLMap,
  doc: Document,
  depth: number,
  visit: (key: string, value: unknown, offset: number | undefined) => void,
): void {
  for (const pair of map.items) {
    const k = resolve(pair.key, doc);
    if (!isScalar(k)) continue;
    const v: unknown = k.value;
    if (typeof v === 'symbol' && v.description === '<<') {
      if (depth > 8) continue;
      const m = resolve(pair.value, doc);
      const sources = isSeq(m) ? m.items.map((i) => resolve(i, doc)) : [m];
      for (const src of sources) if (isMap(src)) eachPair(src, doc, depth + 1, visit);
      continue;
    }
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
    visit(String(v), pair.value, (pair.key as { range?: [number, number, number] } | null)?.range?.[0]);
  }
}

// The walk reads the YAML nodes directly rather than through Field: it visits every field of every object,
// which on a 20,000-pod export is millions of fields.
function walk(node: unknown, doc: Document, type: string, path: string, report: Report): void {
  const n = resolve(node, doc);
  const arr = ARRAY.exec(type);
  if (arr !== null) {
    const inner = arr[1] ?? 'any';
    if (isSeq(n)) for (const [i, item] of n.items.entries()) walk(item, doc, inner, `${path}[${i}]`, report);
    return;
  }
  if (!isMap(n)) return;
  const map = MAP.exec(type);
  if (map !== null) {
    const inner = map[1] ?? 'any';
    if (fieldsOf(inner) !== undefined || ARRAY.test(inner) || MAP.test(inner))
      eachPair(n, doc, 0, (key, value) => walk(value, doc, inner, joinPath(path, key), report));
    return;
  }
  const fields = fieldsOf(type);
  // string, number, boolean, Date, IntOrString, any, object: leaves.
  if (fields === undefined) return;
  eachPair(n, doc, 0, (key, value, offset) => {
    const t = fields.get(key);
    if (t === undefined) report(joinPath(path, key), key, offset, [...fields.keys()]);
    else walk(value, doc, t, joinPath(path, key), report);
  });
}
