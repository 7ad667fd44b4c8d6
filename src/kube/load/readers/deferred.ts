/**
 * Kubernetes kinds podnet recognises but does not model yet: their objects are kept, as plain
 * data, in `LoadResult.deferred`. None today (workloads and Nodes are modelled, see workload.ts
 * and node.ts); to defer a kind, list it here. To support one, write a reader like pod.ts and
 * replace its entry in registry.ts.
 */
import { readMetadata } from '../metadata.js';
import type { KindReader } from '../state.js';

/** Kinds collected into `deferred`, with whether they are namespaced. */
export const DEFERRED_KINDS: ReadonlyArray<readonly [kind: string, namespaced: boolean]> = [];

/** A reader keeping objects of `kind` as plain data. */
export function deferredKind(kind: string, namespaced: boolean): KindReader {
  return {
    kind,
    apiVersions: undefined,
    namespaced,
    read(obj, state) {
      const node = obj.root.toJS();
      let namespace: string | undefined;
      if (namespaced) {
        namespace = readMetadata(obj, state, { namespace: true }).validNamespace ?? obj.effectiveNamespace;
      }
      state.deferred.push({ kind, namespace, name: obj.name, source: obj.source, node });
    },
  };
}
