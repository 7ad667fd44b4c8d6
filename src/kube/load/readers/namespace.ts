/**
 * Kubernetes `Namespace` (v1): declared namespaces, and auto-creation (with a notice) of
 * namespaces that objects reference without declaring. `default` and `kube-system` always exist.
 */
import type { SourceRef } from '../../model.js';
import type { Field } from '../field.js';
import { readMetadata } from '../metadata.js';
import { StateKey, whereText, type KindReader, type LoadState } from '../state.js';
import { dnsLabel, quote } from '../values.js';

/** Namespaces that exist in every cluster. */
export const BUILTIN_NAMESPACES: readonly string[] = ['default', 'kube-system'];

interface NamespaceState {
  readonly declared: Map<string, SourceRef>;
  /** First reference to each namespace, in discovery order. */
  readonly references: Map<string, { readonly by: string; readonly field: Field }>;
  /** Every namespace that exists after loading (declared, built in, or auto-created). */
  readonly all: string[];
}

const NAMESPACES = new StateKey<NamespaceState>('namespaces', () => ({
  declared: new Map(),
  references: new Map(),
  all: [],
}));

/** Records that object `by` lives in namespace `ns`; `field` is where a creation notice points. */
export function referenceNamespace(state: LoadState, ns: string, by: string, field: Field): void {
  const s = state.get(NAMESPACES);
  if (!s.references.has(ns)) s.references.set(ns, { by, field });
}

/** Namespaces of the cluster after loading (built-ins, declared and auto-created), sorted. */
export function namespaces(state: LoadState): readonly string[] {
  return state.get(NAMESPACES).all;
}

/** Reads Namespace documents (the declared namespaces). */
export const namespaceKind: KindReader = {
  kind: 'Namespace',
  apiVersions: ['v1'],
  namespaced: false,
  read(obj, state) {
    const meta = readMetadata(obj, state, {
      name: { check: dnsLabel, required: { expected: 'the namespace name (a DNS-1123 label)' } },
    });
    const name = meta.validName;
    if (name === undefined) return;
    const s = state.get(NAMESPACES);
    const first = s.declared.get(name);
    if (first !== undefined) {
      const where = whereText(first, obj.source.file);
      meta.nameField.error(`duplicate Namespace ${quote(name)} (first declared at ${where})`);
      return;
    }
    s.declared.set(name, obj.source);
  },
};

/**
 * Creates the namespaces objects live in without declaring them, with a notice each (as
 * `kubectl apply` of such objects would fail: podnet creates them instead); once every object,
 * the addons' included, has been read.
 */
export function createReferencedNamespaces(state: LoadState): void {
  const s = state.get(NAMESPACES);
  const all = new Set<string>([...BUILTIN_NAMESPACES, ...s.declared.keys()]);
  for (const [ns, ref] of s.references) {
    if (all.has(ns)) continue;
    all.add(ns);
    ref.field.ctx.sink.add({
      severity: 'notice',
      file: ref.field.ctx.file,
      ...ref.field.position(),
      object: undefined,
      path: undefined,
      message: `namespace ${quote(ns)} created (referenced by ${ref.by}, not declared)`,
    });
  }
  s.all.push(...[...all].sort());
}
