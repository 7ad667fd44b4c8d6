/**
 * Unknown fields of Kubernetes kinds, found as `kubectl apply --validate=strict` finds them: against the
 * Kubernetes OpenAPI schema. The schema is the one @kubernetes/client-node is generated from (each model
 * class lists its fields and their types in `attributeTypeMap`), so it follows Kubernetes releases rather
 * than a hand-written list. The API server's strict decoding reports `unknown field "spec.ports[0].protocl"`;
 * podnet says the same, at the field's position, with the nearest known field as a suggestion.
 */
import * as models from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
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
  walk(root, type, '', (path, key, offset, known) => {
    const near = suggest(key, known);
    const tail = near === undefined ? '' : ` (did you mean ${near}?)`;
    root.objectReport(severity, `unknown field ${JSON.stringify(path)}${tail}`, offset);
  });
}

type Report = (path: string, key: string, offset: number | undefined, known: readonly string[]) => void;

function joinPath(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

function walk(f: Field, type: string, path: string, report: Report): void {
  const arr = ARRAY.exec(type);
  if (arr !== null) {
    const inner = arr[1] ?? 'any';
    f.quietItems().forEach((item, i) => walk(item, inner, `${path}[${i}]`, report));
    return;
  }
  const map = MAP.exec(type);
  if (map !== null) {
    const inner = map[1] ?? 'any';
    for (const [key, child] of f.quietEntries()) walk(child, inner, joinPath(path, key), report);
    return;
  }
  const fields = fieldsOf(type);
  // string, number, boolean, Date, IntOrString, any, object: leaves.
  if (fields === undefined) return;
  const known = [...fields.keys()];
  for (const [key, child, offset] of f.quietEntries()) {
    const t = fields.get(key);
    if (t === undefined) report(joinPath(path, key), key, offset, known);
    else walk(child, t, joinPath(path, key), report);
  }
}
