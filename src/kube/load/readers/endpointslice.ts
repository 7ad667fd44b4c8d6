/**
 * Kubernetes `EndpointSlice` (discovery.k8s.io/v1), as written by hand or as `kubectl get
 * endpointslices -o yaml` prints the controllers' output.
 *
 * Fields read: metadata.name/namespace/labels, the label `kubernetes.io/service-name` (the
 * Service the slice belongs to; a slice without it is ignored with a notice, as kube-proxy ignores
 * it), `addressType` (required; IPv4 slices are read, IPv6 and FQDN ones ignored with a notice, as
 * kube-proxy's IPv4 proxier ignores them), `endpoints[]` and `ports[]`.
 *
 * Per endpoint: `addresses` (at least one IPv4 address; kube-proxy uses only the first),
 * `conditions` — `ready` nil is true (as kube-proxy treats it), `serving` nil defers to ready,
 * `terminating` nil is false — `nodeName` (a DNS-1123 subdomain; one that is no node of the
 * topology is kept, with a notice, and is local to no node), `hostname`, and
 * `targetRef` (a Pod reference becomes `targetPod` `ns/name`). Ports: `name` (a DNS-1123 label;
 * empty or absent is unnamed; unique), `port` (1–65535; a port without one is skipped, as
 * kube-proxy skips it), `protocol` (TCP, UDP or SCTP; default TCP).
 *
 * Which Service uses the slice, and what happens when that Service does not exist, is decided
 * by the EndpointSlice controller (controllers/endpointslice-controller.ts).
 */
import type { EndpointSliceModel, ObjectOrigin, SourceRef } from '../../model.js';
import type { Field } from '../field.js';
import { labelOf, readMetadata } from '../metadata.js';
import { StateKey, addUnique, type KindReader, type LoadState, type ObjectInput } from '../state.js';
import { dnsSubdomain } from '../values.js';
import {
  endpointRefs,
  MANAGED_BY_LABEL,
  nonSpecialIpv4,
  parseEndpointPorts,
  resolveEndpoints,
  SERVICE_NAME_LABEL,
  type EndpointDraft,
  type SlicePort,
} from './endpoint-fields.js';

/** The apiVersion of EndpointSlice. */
export const ENDPOINTSLICE_API_VERSION = 'discovery.k8s.io/v1';

/** An EndpointSlice as read; `endpoints` undefined when any of them was invalid (reported). */
interface SliceDraft {
  readonly namespace: string;
  readonly name: string;
  readonly label: string;
  readonly nameField: Field;
  readonly serviceName: string | undefined;
  readonly managedBy: string | undefined;
  readonly ports: readonly SlicePort[] | undefined;
  readonly endpoints: readonly EndpointDraft[] | undefined;
  readonly valid: boolean;
  readonly origin: ObjectOrigin;
  readonly source: SourceRef;
}

/** A validated EndpointSlice, for the EndpointSlice controller. */
export interface GivenSlice {
  readonly model: EndpointSliceModel;
  /** `EndpointSlice shop/web-abcde`. */
  readonly label: string;
  /** Where notices about the slice point (its name). */
  readonly anchor: Field;
  /** `endpointslice.kubernetes.io/managed-by`, when set. */
  readonly managedBy: string | undefined;
}

interface SliceState {
  readonly drafts: SliceDraft[];
  readonly byKey: Map<string, SliceDraft>;
  readonly given: GivenSlice[];
}

const SLICES = new StateKey<SliceState>('endpointSlices', () => ({ drafts: [], byKey: new Map(), given: [] }));

/** Valid EndpointSlices in document order (once `checkEndpointSliceNodes` has run). */
export function givenSlices(state: LoadState): readonly GivenSlice[] {
  return state.get(SLICES).given;
}

/** Names of the EndpointSlices declared in `namespace` (valid or not), so derived names avoid them. */
export function sliceNamesIn(state: LoadState, namespace: string): string[] {
  return state
    .get(SLICES)
    .drafts.filter((d) => d.namespace === namespace)
    .map((d) => d.name);
}

/** Whether any EndpointSlice (valid or not) names Service `namespace/service`. */
export function slicesDeclaredFor(state: LoadState, namespace: string, service: string): boolean {
  return state.get(SLICES).drafts.some((d) => d.namespace === namespace && d.serviceName === service);
}

/** Reads EndpointSlice documents. */
export const endpointSliceKind: KindReader = {
  kind: 'EndpointSlice',
  apiVersions: [ENDPOINTSLICE_API_VERSION],
  namespaced: true,
  read(obj, state) {
    const draft = readSlice(obj, state);
    if (draft === undefined) return;
    const s = state.get(SLICES);
    const key = `${draft.namespace}/${draft.name}`;
    addUnique(s.byKey, s.drafts, key, draft, `EndpointSlice ${key}`, obj.source.file);
  },
};

/** Checks the node names of every valid EndpointSlice against the cluster's nodes (once the nodes are known). */
export function checkEndpointSliceNodes(state: LoadState): void {
  const s = state.get(SLICES);
  for (const d of s.drafts) {
    if (!d.valid || d.serviceName === undefined || d.ports === undefined || d.endpoints === undefined) continue;
    const endpoints = resolveEndpoints(state, d.endpoints);
    s.given.push({
      model: {
        namespace: d.namespace,
        name: d.name,
        serviceName: d.serviceName,
        ports: d.ports,
        endpoints,
        ...(d.origin === 'addon' ? { origin: d.origin } : {}),
        source: d.source,
      },
      label: d.label,
      anchor: d.nameField,
      managedBy: d.managedBy,
    });
  }
}

function readSlice(obj: ObjectInput, state: LoadState): SliceDraft | undefined {
  const root = obj.root;
  const meta = readMetadata(obj, state, {
    name: { check: dnsSubdomain, required: { expected: 'the EndpointSlice name (a DNS-1123 subdomain)' } },
    namespace: true,
    labels: true,
  });
  const namespace = meta.namespace;
  const labels = meta.labels;
  let valid = meta.valid;

  // The Service this slice belongs to.
  const serviceName = labels?.[SERVICE_NAME_LABEL] ?? labelOf(root, SERVICE_NAME_LABEL);
  if (serviceName === undefined || serviceName === '') {
    const metadataF = meta.field;
    const labelsF = metadataF.isMap ? meta.labelsField : metadataF.silenced();
    const at = labelsF.isMap ? labelsF : metadataF.isMap ? metadataF : root;
    // (a metadata or labels value of the wrong type is reported already)
    // The API server accepts a slice without it; kube-proxy skips such a slice (it belongs to no Service).
    if ((!metadataF.present || metadataF.isMap) && (!labelsF.present || labelsF.isMap)) {
      at.notice(
        `no label ${SERVICE_NAME_LABEL}: the slice belongs to no Service and kube-proxy ignores it, as podnet does ` +
          `(an EndpointSlice names its Service in metadata.labels["${SERVICE_NAME_LABEL}"])`,
      );
    }
  }

  // addressType: the API server accepts IPv4, IPv6 and FQDN; podnet (IPv4-only) reads IPv4 slices and,
  // as kube-proxy's IPv4 proxier does, ignores the others (FQDN slices are ignored by kube-proxy altogether).
  const atF = root.child('addressType');
  const at = atF.raw();
  let ignored = false;
  if (!atF.present) {
    atF.missing('"IPv4" (the addressType of the slice)');
    valid = false;
  } else if (at === 'IPv6' || at === 'FQDN') {
    atF.notice(
      at === 'IPv6'
        ? "an IPv6 slice: ignored, as kube-proxy's IPv4 proxier ignores it (podnet is IPv4-only)"
        : 'an FQDN slice (deprecated): ignored, as kube-proxy ignores FQDN slices',
    );
    ignored = true;
  } else if (at !== 'IPv4') {
    atF.typeError('one of "IPv4", "IPv6", "FQDN"');
    valid = false;
  }

  const ports = ignored ? [] : parseEndpointPorts(root, 'ports', false);
  const endpoints = ignored ? [] : parseSliceEndpoints(root, namespace);
  if (meta.name === undefined) return undefined;
  return {
    namespace,
    name: meta.name,
    label: obj.label,
    nameField: meta.nameField,
    serviceName: serviceName === '' || ignored ? undefined : serviceName,
    managedBy: labels?.[MANAGED_BY_LABEL] ?? labelOf(root, MANAGED_BY_LABEL),
    ports,
    endpoints,
    valid,
    origin: obj.origin,
    source: obj.source,
  };
}

function parseSliceEndpoints(root: Field, namespace: string): EndpointDraft[] | undefined {
  const items = root.list('endpoints', { itemName: 'endpoint' });
  if (items === undefined) return root.child('endpoints').present ? undefined : [];
  const out: EndpointDraft[] = [];
  let ok = true;
  for (const e of items) {
    if (!e.isMap) {
      e.typeError('a mapping (an endpoint with addresses, conditions, nodeName, targetRef)');
      ok = false;
      continue;
    }
    const addrs = e.list('addresses', { required: true, itemName: 'address', plural: 'addresses', nonEmpty: true });
    let ip: number | undefined;
    if (addrs !== undefined) {
      addrs.forEach((a, i) => {
        const v = nonSpecialIpv4(a);
        if (v === undefined) ok = false;
        else if (i === 0) ip = v;
      });
    } else ok = false;
    const cond = e.map('conditions', { expected: 'a mapping with ready, serving and terminating' });
    const readyRaw = cond?.bool('ready');
    const servingRaw = cond?.bool('serving');
    const terminatingRaw = cond?.bool('terminating');
    if (e.child('conditions').present && cond === undefined) ok = false;
    for (const k of ['ready', 'serving', 'terminating'])
      if (cond?.child(k).present && typeof cond.child(k).raw() !== 'boolean') ok = false;
    const ready = readyRaw ?? true;
    const serving = servingRaw ?? ready;
    const terminating = terminatingRaw ?? false;
    const refs = endpointRefs(e, namespace);
    if (!refs.ok) ok = false;
    if (ip === undefined) continue;
    out.push({
      ip,
      ready,
      serving,
      terminating,
      nodeName: refs.nodeName,
      nodeField: e.child('nodeName'),
      hostname: refs.hostname,
      targetPod: refs.targetPod,
    });
  }
  return ok ? out : undefined;
}
