/**
 * What the workload controllers share: the pods they make, where they put them, and how they name
 * them (`<base>-<5 chars>`, the suffix drawn from the load's seed, retried while the name is taken).
 */
import type { Nanos } from '../../../sim/time.js';
import type { ObjectOrigin, SourceRef } from '../../model.js';
import type { Field } from '../field.js';
import type { PodDraft, PodSpecDraft } from '../readers/pod.js';
import { seededName } from './generated-names.js';

/** A pod a controller creates. */
export interface GeneratedPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: PodSpecDraft;
  /** The workload's name field: where problems with the pod are reported. */
  readonly nameField: Field;
  /** `Kind/name` of the controller that made it. */
  readonly ownerRef: string;
  readonly origin: ObjectOrigin;
  /** The workload's place in load order; `ordinal` orders its pods. */
  readonly seq: number;
  readonly ordinal: number;
  /** Set by the DaemonSet controller. */
  readonly nodeName?: string | undefined;
  /** Set by the StatefulSet controller. */
  readonly hostname?: string | undefined;
  readonly subdomain?: string | undefined;
  readonly activeFrom?: Nanos | undefined;
  readonly activeUntil?: Nanos | undefined;
  readonly source: SourceRef;
}

/** Where controllers put the pods they make: the load's pod store, or a test's. */
export interface PodStore {
  /** Whether a pod `namespace/name` exists already (in the input, or made before). */
  taken(namespace: string, name: string): boolean;
  /** Adds a pod whose name is free. */
  add(pod: GeneratedPod): void;
}

/** The workload object behind a controller's pods: they are reported at its name and placed at its position. */
export interface PodSource {
  readonly nameField: Field;
  readonly origin: ObjectOrigin;
  /** The object's place in load order. */
  readonly seq: number;
  readonly source: SourceRef;
}

/** A pod of the input, as the controllers look at it when deciding what exists already. */
export interface ExistingPod {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly origin: ObjectOrigin;
  readonly nodeName: string | undefined;
  /** The controller owner reference given in the input, if any. */
  readonly controllerRef: { readonly kind: string; readonly name: string } | undefined;
  /** `status.phase` given in the input (Succeeded and Failed pods are no longer active). */
  readonly phase?: string | undefined;
}

/** Whether a pod of the input counts for its controller (controller.FilterActivePods: not Succeeded, not Failed). */
export function isActive(p: ExistingPod): boolean {
  return p.phase !== 'Succeeded' && p.phase !== 'Failed';
}

/**
 * A namer for one controller run: each call gives `<base>-<5 chars>`, the suffix drawn from the
 * seed and `<namespace>/<owner>#<counter>`, the counter advancing past names already taken.
 */
export function podNamer(store: PodStore, namespace: string, owner: string, seed: number): (base: string) => string {
  let counter = 0;
  return (base) => {
    let name: string;
    do name = seededName(base, seed, `${namespace}/${owner}#${counter++}`);
    while (store.taken(namespace, name));
    return name;
  };
}

/** The pod the apiserver stores for a controller's pod: ready, its hostname defaulting to its name. */
export function generatedPodDraft(g: GeneratedPod): PodDraft {
  const hostname = g.hostname ?? g.spec.hostname;
  return {
    namespace: g.namespace,
    name: g.name,
    label: `Pod ${g.namespace}/${g.name}`,
    nameField: g.nameField,
    who: `pod ${g.name}`,
    spec: g.spec,
    nodeName: g.nodeName ?? g.spec.nodeName,
    nodeNameField: g.spec.nodeNameField,
    hostname: hostname ?? g.name,
    explicitHostname: hostname !== undefined,
    subdomain: g.subdomain ?? g.spec.subdomain,
    labels: g.labels,
    podIP: undefined,
    podIPInvalid: false,
    podIPField: g.nameField,
    ready: true,
    phase: undefined,
    ownerRef: g.ownerRef,
    controllerRef: undefined,
    origin: g.origin,
    seq: g.seq,
    ordinal: g.ordinal,
    activeFrom: g.activeFrom,
    activeUntil: g.activeUntil,
    source: g.source,
  };
}
