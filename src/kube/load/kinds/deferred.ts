/**
 * Kubernetes kinds podnet will model later (workloads and Nodes). For now their objects are
 * kept, as plain data, in `LoadResult.deferred`. To support one, write a handler module like
 * pod.ts and replace its entry in registry.ts.
 */
import type { KindHandler } from '../state.js';
import { dnsLabel } from '../values.js';
import { referenceNamespace } from './namespace.js';

/** Kinds collected into `deferred`, with whether they are namespaced. */
export const DEFERRED_KINDS: ReadonlyArray<readonly [kind: string, namespaced: boolean]> = [
  ['Deployment', true],
  ['ReplicaSet', true],
  ['StatefulSet', true],
  ['DaemonSet', true],
  ['Job', true],
  ['CronJob', true],
  ['Node', false],
];

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
