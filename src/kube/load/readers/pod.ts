/**
 * Kubernetes `Pod` (v1): reading and validation of Pods and of pod specs (also those of the pod
 * templates of workloads, see workload.ts), and the pod store: the pods of the input and those
 * the workload controllers make (controllers/workload-pods.ts), in one list.
 *
 * Order: pods are placed and addressed in load order: podnet's addon pods first (kubeadm and
 * flannel create them before anything else), then the input in document order (files in path
 * order, documents and List items in order), a workload's pods at the position of the workload's
 * document, in the order its controller creates them (ReplicaSet pods one after another,
 * StatefulSet ordinals upward, DaemonSet pods in node order, Job pods by start time). Where they
 * run is kube-scheduler's choice (controllers/scheduler.ts), their addresses host-local IPAM's
 * (controllers/host-local-ipam.ts).
 *
 * Status, as an export holds it: `status.podIP` (kept), readiness from `status.conditions`, and
 * `status.phase`: a Succeeded or Failed pod has no network (kubelet has torn its sandbox down: no
 * netns, no address, no endpoint, and it no longer counts for its ReplicaSet), nor does a Pending
 * pod without a podIP (one notice); see load.ts placePods. A pod without status runs as written.
 */
import type { Nanos } from '../../../sim/time.js';
import type { ContainerModel, ObjectOrigin, SourceRef } from '../../model.js';
import type { Field } from '../field.js';
import { ownerOf, readMetadata } from '../metadata.js';
import { parsePorts, PortScope } from '../ports.js';
import { parseNodeAffinity, type NodeSelectorTerm } from '../selector.js';
import { StateKey, addUnique, type KindReader, type LoadState, type ObjectInput } from '../state.js';
import { dnsLabel, dnsSubdomain, labelKey, labelValue, quote } from '../values.js';
import { parsePodDns, type PodDnsSettings } from './dns.js';
import {
  LISTEN_ANNOTATION,
  parseListenAnnotation,
  parseProbePorts,
  type ListenEntry,
  type ProbePort,
} from './listen.js';
import { ipv4Only } from './endpoint-fields.js';
import { parseTolerations, type Toleration } from './taints.js';

/** The `spec` of a pod or of a pod template, as read. */
export interface PodSpecDraft {
  readonly field: Field;
  readonly nodeName: string | undefined;
  readonly nodeNameField: Field;
  readonly hostNetwork: boolean;
  /** `spec.hostname` when given. */
  readonly hostname: string | undefined;
  readonly subdomain: string | undefined;
  /** undefined when the containers could not be read (reported). */
  readonly containers: readonly ContainerModel[] | undefined;
  /** The ports the containers' kubelet probes connect to (see listen.ts); absent: none. */
  readonly probePorts?: readonly ProbePort[] | undefined;
  /**
   * The `podnet.dev/listen` annotation of the pod or template (read with the spec so a workload's
   * pods carry it): the listeners stated outright; undefined when absent (or malformed, reported).
   */
  readonly listen?: readonly ListenEntry[] | undefined;
  readonly tolerations: readonly Toleration[];
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Required node affinity terms (none: no constraint); undefined when invalid (reported). */
  readonly affinity: readonly NodeSelectorTerm[] | undefined;
  readonly restartPolicy: string | undefined;
  /** spec.dnsPolicy and spec.dnsConfig (see dns.ts). */
  readonly dns?: PodDnsSettings | undefined;
}

/** A pod as read from its document (or made by a controller). */
export interface PodDraft {
  readonly namespace: string;
  readonly name: string;
  readonly label: string;
  /** Where problems with this pod are reported: its name, or its workload's name. */
  readonly nameField: Field;
  /** "this pod" for a Pod document, "pod web-7d4b9c8f5d-x2k4p" for a workload's pod. */
  readonly who: string;
  readonly spec: PodSpecDraft;
  readonly nodeName: string | undefined;
  readonly nodeNameField: Field;
  readonly hostname: string;
  /** `spec.hostname` was set (by the input or by the StatefulSet controller). */
  readonly explicitHostname: boolean;
  readonly subdomain: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly podIP: number | undefined;
  /** status.podIP was given but unusable (already reported): do not allocate one either. */
  readonly podIPInvalid: boolean;
  readonly podIPField: Field;
  readonly ready: boolean;
  /** `status.phase` as the input gives it (an export); undefined for a pod without status or a controller's pod. */
  readonly phase: string | undefined;
  readonly ownerRef: string | undefined;
  /** `Kind/name` of the controller owner reference given in the input, if any. */
  readonly controllerRef: { readonly kind: string; readonly name: string } | undefined;
  readonly origin: ObjectOrigin;
  readonly seq: number;
  readonly ordinal: number;
  readonly activeFrom: Nanos | undefined;
  readonly activeUntil: Nanos | undefined;
  readonly source: SourceRef;
}

interface PodState {
  readonly pods: PodDraft[];
  readonly byKey: Map<string, PodDraft>;
}

const PODS = new StateKey<PodState>('pods', () => ({ pods: [], byKey: new Map() }));

/** The pod `namespace/name` if it was declared or created (even with errors in its other fields). */
export function findPod(state: LoadState, namespace: string, name: string): PodDraft | undefined {
  return state.get(PODS).byKey.get(`${namespace}/${name}`);
}

/** Namespaces holding a pod called `name`, for "did you mean" hints. */
export function namespacesWithPod(state: LoadState, name: string): string[] {
  return state
    .get(PODS)
    .pods.filter((p) => p.name === name)
    .map((p) => p.namespace);
}

/** Every pod read or created (placed or not, with or without errors), in load order once sorted. */
export function podDrafts(state: LoadState): readonly PodDraft[] {
  return state.get(PODS).pods;
}

/** Sorts the pod store into load order (see the header) once every pod is there, and returns it. */
export function podsInLoadOrder(state: LoadState): readonly PodDraft[] {
  return state.get(PODS).pods.sort((a, b) => a.seq - b.seq || a.ordinal - b.ordinal);
}

/** Adds a pod a controller made; false when its name is taken (nothing added). */
export function addPod(state: LoadState, draft: PodDraft): boolean {
  const s = state.get(PODS);
  const key = `${draft.namespace}/${draft.name}`;
  if (s.byKey.has(key)) return false;
  s.byKey.set(key, draft);
  s.pods.push(draft);
  return true;
}

/** Whether a pod `namespace/name` exists (declared or created so far). */
export function podNameTaken(state: LoadState, namespace: string, name: string): boolean {
  return state.get(PODS).byKey.has(`${namespace}/${name}`);
}

/** Reads Pod documents into the pod store. */
export const podKind: KindReader = {
  kind: 'Pod',
  apiVersions: ['v1'],
  namespaced: true,
  read(obj, state) {
    const draft = readPod(obj, state);
    if (draft === undefined) return;
    const s = state.get(PODS);
    const key = `${draft.namespace}/${draft.name}`;
    addUnique(s.byKey, s.pods, key, draft, `Pod ${key}`, obj.source.file);
  },
};

/**
 * Reads the `spec` of a Pod or of a pod template; `listenAnnotation` is the `podnet.dev/listen`
 * annotation of its metadata, when there is one.
 */
export function parsePodSpec(specF: Field, spec: Field | undefined, listenAnnotation?: Field): PodSpecDraft {
  const nodeName = specF.str('nodeName', { check: dnsSubdomain });
  const hostNetwork = specF.bool('hostNetwork', { default: false }) ?? false;
  const hostname = specF.str('hostname', { check: dnsLabel });
  const subdomain = specF.str('subdomain', { check: dnsLabel });
  const read = spec !== undefined ? parseContainers(spec) : undefined;
  const containers = read?.containers;
  const tolerations = parseTolerations(specF);
  const nodeSelector = specF.stringMap('nodeSelector', labelKey, labelValue) ?? {};
  const affinity = parseNodeAffinity(specF);
  const restartPolicy = specF.oneOf('restartPolicy', ['Always', 'OnFailure', 'Never'] as const);
  const dns = parsePodDns(specF);
  return {
    field: specF,
    nodeName,
    nodeNameField: specF.child('nodeName'),
    hostNetwork,
    hostname,
    subdomain,
    containers,
    probePorts: read?.probePorts ?? [],
    listen: listenAnnotation !== undefined ? parseListenAnnotation(listenAnnotation) : undefined,
    tolerations,
    nodeSelector,
    affinity,
    restartPolicy,
    dns,
  };
}

function readPod(obj: ObjectInput, state: LoadState): PodDraft | undefined {
  const root = obj.root;
  const meta = readMetadata(obj, state, {
    name: { check: dnsSubdomain, required: { expected: 'the pod name (a DNS-1123 subdomain)' } },
    namespace: true,
    labels: true,
  });
  const rawName = meta.name;
  const labels = meta.labels ?? {};
  const owner = ownerOf(meta);

  const spec = root.map('spec', { required: true, expected: 'the pod spec (a mapping with containers)' });
  const specF = spec ?? root.child('spec');
  const podSpec = parsePodSpec(specF, spec, meta.annotation(LISTEN_ANNOTATION));

  const podIPField = root.child('status').child('podIP');
  // a legacy IP field: non-standard forms are read as kube-proxy reads them, with a notice
  const podIP = podIPField.present ? ipv4Only(podIPField) : undefined;
  const ready = readiness(root);
  // Read leniently: the API server does not validate the phase a status holds.
  const phase = root.at('status.phase').rawStr();

  if (rawName === undefined) return undefined;
  return {
    namespace: meta.namespace,
    name: rawName,
    label: obj.label,
    nameField: meta.nameField,
    who: 'this pod',
    spec: podSpec,
    nodeName: podSpec.nodeName,
    nodeNameField: podSpec.nodeNameField,
    hostname: podSpec.hostname ?? rawName,
    explicitHostname: podSpec.hostname !== undefined,
    subdomain: podSpec.subdomain,
    labels,
    podIP,
    podIPInvalid: podIPField.present && podIP === undefined,
    podIPField,
    ready,
    phase,
    ownerRef: owner !== undefined ? `${owner.kind}/${owner.name}` : undefined,
    controllerRef: owner?.controller === true ? { kind: owner.kind, name: owner.name } : undefined,
    origin: obj.origin,
    seq: obj.seq,
    ordinal: 0,
    activeFrom: undefined,
    activeUntil: undefined,
    source: obj.source,
  };
}

function parseContainers(
  spec: Field,
): { containers: ContainerModel[] | undefined; probePorts: readonly ProbePort[] } | undefined {
  const items = spec.list('containers', { required: true, itemName: 'container', nonEmpty: true });
  if (items === undefined) return undefined;
  const scope = new PortScope('pod');
  const names = new Map<string, string>();
  const out: ContainerModel[] = [];
  const probePorts: ProbePort[] = [];
  let ok = true;
  for (const c of items) {
    if (!c.isMap) {
      c.typeError('a mapping (a container with name, image, ports)');
      ok = false;
      continue;
    }
    const name = c.str('name', { required: true, check: dnsLabel, expected: 'the container name (a DNS-1123 label)' });
    if (name !== undefined) {
      const prev = names.get(name);
      if (prev !== undefined) {
        c.child('name').error(`duplicate container name ${quote(name)} (also ${prev})`);
        ok = false;
      } else names.set(name, c.path);
    }
    scope.nextContainer();
    const ports = parsePorts(c, 'ports', scope);
    if (name === undefined || ports === undefined) {
      ok = false;
      continue;
    }
    const probes = parseProbePorts(c, name, ports);
    if (probes === undefined) ok = false;
    else probePorts.push(...probes);
    out.push({ name, ports });
  }
  return { containers: ok ? out : undefined, probePorts };
}

/**
 * Why a pod has no network by the status.phase the input gives it (see the header), or undefined
 * when it has one (a pod without status, or Running, Unknown, Pending with a podIP).
 */
export function noNetworkReason(pod: PodDraft): string | undefined {
  switch (pod.phase) {
    case 'Succeeded':
    case 'Failed':
      return `status.phase ${pod.phase}`;
    case 'Pending':
      if (pod.podIP !== undefined || pod.podIPInvalid) return undefined; // its sandbox is up (init containers)
      return `status.phase Pending, ${pod.nodeName !== undefined ? `bound to node ${pod.nodeName}, no podIP yet` : 'no node, no podIP'}`;
    default:
      return undefined;
  }
}

/** `status.conditions[type=Ready].status`; ready when absent. */
function readiness(root: Field): boolean {
  const conditions = root.list('status.conditions') ?? [];
  let ready = true;
  for (const c of conditions) {
    if (!c.isMap) {
      c.typeError('a mapping with type and status');
      continue;
    }
    const type = c.str('type', { required: true });
    if (type !== 'Ready') continue;
    const statusF = c.child('status');
    const v = statusF.raw();
    // Unquoted True/False are YAML booleans; accept them as the strings Kubernetes writes.
    if (v === true || v === 'True') ready = true;
    else if (v === false || v === 'False' || v === 'Unknown') ready = false;
    else if (!statusF.present) statusF.missing('one of "True", "False", "Unknown"');
    else statusF.typeError('one of "True", "False", "Unknown"');
  }
  return ready;
}
