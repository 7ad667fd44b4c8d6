/**
 * The EndpointSlice mirroring controller: each subset of an Endpoints object becomes one
 * EndpointSlice, named `<name>-<5 chars>` (a stable hash, not random), with the subset's ports and
 * addresses. Endpoints are mirrored unless they carry endpointslice.kubernetes.io/skip-mirror=true
 * and the input has an EndpointSlice of their Service, or a given slice of the Service carries an
 * endpointslice.kubernetes.io/managed-by label (then the input is an export whose slices already
 * hold what the Endpoints say; kube-proxy reads only slices). Skip-mirror Endpoints without any
 * slice of their Service are used: in an export of Endpoints alone (`kubectl get endpoints`), where
 * the apiserver labels default/kubernetes skip-mirror, they are all there is of the slices the real
 * cluster has. Endpoints of a Service that does not exist are not mirrored (a notice: kube-proxy
 * ignores them).
 */
import type { EndpointModel, EndpointSliceModel, SourceRef } from '../../model.js';
import type { SlicePort } from '../readers/endpoint-fields.js';
import type { Anchor } from './anchor.js';
import { generatedName, type NamespacedNames } from './generated-names.js';

/** Validated Endpoints, as the mirroring controller reads them. */
export interface EndpointsToMirror {
  readonly namespace: string;
  /** The Endpoints (= Service) name. */
  readonly name: string;
  /** `Endpoints shop/db`. */
  readonly label: string;
  /** Where notices about the Endpoints point. */
  readonly anchor: Anchor;
  /** Labelled endpointslice.kubernetes.io/skip-mirror=true. */
  readonly skipMirror: boolean;
  /** Written by the endpoints controller (as in an export). */
  readonly fromController: boolean;
  readonly subsets: ReadonlyArray<{
    readonly ports: readonly SlicePort[];
    readonly endpoints: readonly EndpointModel[];
    readonly source: SourceRef;
  }>;
}

/** The slices mirrored from one Endpoints object. */
export interface MirroredEndpoints {
  /** `Endpoints shop/db`. */
  readonly label: string;
  readonly fromController: boolean;
  readonly slices: readonly EndpointSliceModel[];
}

/** What the mirroring controller needs to know about the rest of the input. */
export interface MirroringContext {
  /** Whether Service `namespace/name` exists. */
  serviceExists(key: string): boolean;
  /** Whether Service `namespace/name` may exist in a document that could not be read (no notice then). */
  serviceMayBeUnread(namespace: string, name: string): boolean;
  /** Whether any EndpointSlice of the input (valid or not) names the Service. */
  slicesDeclaredFor(namespace: string, name: string): boolean;
  /** Whether a valid given slice of Service `namespace/name` carries a managed-by label. */
  hasManagedSlice(key: string): boolean;
}

/** The generated name of the slice mirroring subset `index` of Endpoints `ns/name` (`attempt` > 0 on a name clash). */
export function mirroredSliceName(namespace: string, name: string, index: number, attempt = 0): string {
  return generatedName(name, `${namespace}/${name}:endpoints:${index}${attempt > 0 ? `#${attempt}` : ''}`);
}

/** The mirrored slices of every Endpoints object to mirror, by Service `namespace/name`, named in document order. */
export function mirrorEndpoints(
  endpoints: readonly EndpointsToMirror[],
  ctx: MirroringContext,
  names: NamespacedNames,
): Map<string, MirroredEndpoints> {
  const mirrored = new Map<string, MirroredEndpoints>();
  for (const e of endpoints) {
    const key = `${e.namespace}/${e.name}`;
    if (!ctx.serviceExists(key)) {
      if (!ctx.serviceMayBeUnread(e.namespace, e.name)) {
        e.anchor.objectNotice(`no Service ${key}; kube-proxy ignores these Endpoints`);
      }
      continue;
    }
    if ((e.skipMirror && ctx.slicesDeclaredFor(e.namespace, e.name)) || ctx.hasManagedSlice(key)) continue;
    mirrored.set(key, {
      label: e.label,
      fromController: e.fromController,
      slices: e.subsets.map((sub, i) => ({
        namespace: e.namespace,
        serviceName: e.name,
        ports: sub.ports,
        endpoints: sub.endpoints,
        source: sub.source,
        name: names.claim(e.namespace, (attempt) => mirroredSliceName(e.namespace, e.name, i, attempt)),
      })),
    });
  }
  return mirrored;
}
