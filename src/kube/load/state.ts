/**
 * Shared state of one load: the diagnostic sink, typed slots each reader owns, the deferred
 * objects, and what is known about documents that could not be read (so that references to them
 * do not produce follow-on errors).
 */
import type { ObjectOrigin, SourceRef } from '../model.js';
import type { DiagnosticSink } from './diagnostics.js';
import type { Field } from './field.js';
import type { BrokenObject, KubeObject } from './documents.js';

/** A Kubernetes object of a kind podnet will support later, kept as plain data. */
export interface DeferredObject {
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly source: SourceRef;
  /** The parsed plain JS value of the whole object. */
  readonly node: unknown;
}

/** A typed slot in the load state, owned by one module (`new StateKey('pods', () => [])`). */
export class StateKey<T> {
  constructor(
    readonly name: string,
    readonly init: () => T,
  ) {}
}

/** One object handed to its kind's reader, with its display label applied to `root`. */
export interface ObjectInput extends KubeObject {
  /** `Pod default/web`, `Cluster demo`. */
  readonly label: string;
  /** The namespace the object lives in (`default` when unset) for namespaced kinds. */
  readonly effectiveNamespace: string | undefined;
  /** `user` for the input, `addon` for podnet's built-in kubeadm/flannel objects. */
  readonly origin: ObjectOrigin;
  /** Position of the object in load order (addons first, then the input in document order). */
  readonly seq: number;
}

/** Options of one load. */
export interface LoadOptions {
  /** Seed for generated pod-name suffixes and scheduling ties (default 1). */
  readonly seed?: number | undefined;
  /** Take the strict-JSON fast path for JSON text (default true; false only to check it against the YAML parser). */
  readonly fastJson?: boolean | undefined;
  /**
   * Unknown fields of Kubernetes kinds, checked against the Kubernetes OpenAPI schema as `kubectl apply
   * --validate` does: `strict` (default) errors, `warn` notices, `ignore` nothing.
   */
  readonly validate?: ValidationMode | undefined;
}

/** How unknown fields of Kubernetes kinds are reported (kubectl's --validate). */
export type ValidationMode = 'strict' | 'warn' | 'ignore';

/** The state of one load, shared by the readers, the controllers and the pipeline. */
export class LoadState {
  readonly files: string[] = [];
  readonly deferred: DeferredObject[] = [];
  /** Every object dispatched to a kind's reader, in load order. */
  readonly objects: ObjectInput[] = [];
  readonly seed: number;
  /** How unknown fields of Kubernetes kinds are reported. */
  readonly validate: ValidationMode;
  private readonly broken: BrokenObject[] = [];
  private readonly slots = new Map<StateKey<unknown>, unknown>();

  constructor(
    readonly sink: DiagnosticSink,
    opts: LoadOptions = {},
  ) {
    this.seed = opts.seed ?? 1;
    this.validate = opts.validate ?? 'strict';
  }

  /** The value of a module's slot, created on first use. */
  get<T>(key: StateKey<T>): T {
    if (!this.slots.has(key as StateKey<unknown>)) this.slots.set(key as StateKey<unknown>, key.init());
    return this.slots.get(key as StateKey<unknown>) as T;
  }

  /** Records a document that could not be read (syntax error, missing kind, …). */
  addBroken(b: BrokenObject): void {
    this.broken.push(b);
  }

  /** Whether a document that could not be read may have been of this kind. */
  mayHaveBrokenKind(kind: string): boolean {
    return this.broken.some((b) => b.kind === undefined || b.kind === kind);
  }

  /**
   * Whether an object that was not loaded might still exist in a document that could not be
   * read; "X does not exist" errors are suppressed in that case to avoid cascades.
   */
  mayExistInBroken(kind: string, namespace: string | undefined, name: string): boolean {
    return this.broken.some(
      (b) =>
        (b.kind === undefined || b.kind === kind) &&
        (b.name === undefined ||
          (b.name === name && (namespace === undefined || (b.namespace ?? 'default') === namespace))),
    );
  }
}

/** What a kind's reader provides: which documents it reads, and how it reads one into its validated object. */
export interface KindReader {
  readonly kind: string;
  /** Accepted apiVersion values; undefined accepts any (for deferred kinds, checked later). */
  readonly apiVersions: readonly string[] | undefined;
  readonly namespaced: boolean;
  /** Reads and validates one object, reporting every problem, and keeps it in the load state. */
  read(obj: ObjectInput, state: LoadState): void;
}

/** The notice for an object podnet reads no further ("ignored: <label> (not part of the data path)"). */
export function noticeIgnored(sink: DiagnosticSink, obj: Pick<KubeObject, 'source' | 'root'>, label: string): void {
  const p = obj.root.position();
  sink.add({
    severity: 'notice',
    file: obj.source.file,
    line: p.line,
    col: p.col,
    object: undefined,
    path: undefined,
    message: `ignored: ${label} (not part of the data path)`,
  });
}

/** `Pod default/web`, `Cluster demo`, `Cluster (unnamed)`. */
export function objectLabel(
  kind: string,
  namespaced: boolean,
  namespace: string | undefined,
  name: string | undefined,
): string {
  const n = name ?? '(unnamed)';
  return namespaced ? `${kind} ${namespace ?? 'default'}/${n}` : `${kind} ${n}`;
}

/** "line 12" within the same file, "other.yaml:12" across files. */
export function whereText(ref: SourceRef | undefined, fromFile: string): string {
  if (ref === undefined) return 'the built-in defaults';
  return ref.file === fromFile ? `line ${ref.line}` : `${ref.file}:${ref.line}`;
}

/** What {@link addUnique} needs of a draft: where it was written and its name field. */
export interface NamedDraft {
  readonly source: SourceRef | undefined;
  readonly nameField: Field;
}

/**
 * Registers a draft under `key` unless one is there already; a second one is reported at its name
 * (`duplicate Pod default/web (first defined at line 12)`) and left out.
 */
export function addUnique<D extends NamedDraft>(
  byKey: Map<string, D>,
  list: D[],
  key: string,
  draft: D,
  what: string,
  fromFile: string,
): void {
  const first = byKey.get(key);
  if (first !== undefined) {
    draft.nameField.error(`duplicate ${what} (first defined at ${whereText(first.source, fromFile)})`);
    return;
  }
  byKey.set(key, draft);
  list.push(draft);
}
