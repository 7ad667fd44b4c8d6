/**
 * Kubernetes kinds podnet recognises but does not model yet: their objects are kept, as plain
 * data, in `LoadResult.deferred`. None today (workloads and Nodes are modelled, see workloads.ts
 * and node.ts); to defer a kind, list it here. To support one, write a handler module like pod.ts
 * and replace its entry in registry.ts.
 */
import type { KindHandler } from '../state.js';
import { dnsLabel } from '../values.js';
import { referenceNamespace } from './namespace.js';

/** Kinds collected into `deferred`, with whether they are namespaced. */
export const DEFERRED_KINDS: ReadonlyArray<readonly [kind: string, namespaced: boolean]> = [];

export function deferredKind(kind: string, namespaced: boolean): KindHandler {
  return {
    kind,
    apiVersions: undefined,
    namespaced,
    collect(obj, state) {
      const node = obj.root.toJS();
      let namespace: string | undefined;
      if (namespaced) {
        namespace = obj.root.str('metadata.namespace', { check: dnsLabel });
        if (namespace !== undefined) referenceNamespace(state, namespace, obj.label, obj.root.child('metadata').child('namespace'));
        namespace ??= obj.effectiveNamespace;
      }
      state.deferred.push({ kind, namespace, name: obj.name, source: obj.source, node });
    },
  };
}
