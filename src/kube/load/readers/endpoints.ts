/**
 * Kubernetes `Endpoints` (v1): the classic endpoint list, mostly written by hand for Services
 * without a selector (an external database, an apiserver). Its name is the Service's name.
 *
 * Fields read: metadata.name/namespace/labels, `subsets[]` with `addresses[]` and
 * `notReadyAddresses[]` (`ip` required, IPv4 only, legacy forms read as kube-proxy reads them;
 * `nodeName`, a DNS-1123 subdomain: one that is no node of the topology is kept, local to no node;
 * `hostname`; `targetRef`, a Pod reference becoming `targetPod` `ns/name`) and `ports[]`
 * (`name`, a DNS-1123 label, required and unique when there are several; `port` 1–65535,
 * required; `protocol` TCP, UDP or SCTP, default TCP). The addresses need not be pods or even
 * on the underlay (`203.0.113.7`).
 *
 * `addresses` are ready and serving, `notReadyAddresses` neither, none terminating. Each subset
 * becomes one EndpointSlice through the EndpointSlice mirroring controller
 * (controllers/endpointslice-mirroring.ts), which also decides when that happens.
 */
import type { EndpointModel, SourceRef } from '../../model.js';
import type { Field } from '../field.js';
import { labelOf, readMetadata } from '../metadata.js';
import { StateKey, addUnique, type KindReader, type LoadState, type ObjectInput } from '../state.js';
import { dnsSubdomain } from '../values.js';
import {
  endpointRefs,
  nonSpecialIpv4,
  parseEndpointPorts,
  resolveEndpoints,
  SKIP_MIRROR_LABEL,
  type EndpointDraft,
  type SlicePort,
} from './endpoint-fields.js';

interface SubsetDraft {
  readonly ports: readonly SlicePort[];
  readonly endpoints: readonly EndpointDraft[];
  readonly field: Field;
}

interface EndpointsDraft {
  readonly namespace: string;
  readonly name: string;
  readonly label: string;
  readonly nameField: Field;
  readonly skipMirror: boolean;
  readonly fromController: boolean;
  /** undefined when any subset was invalid (reported). */
  readonly subsets: readonly SubsetDraft[] | undefined;
  readonly valid: boolean;
  readonly source: SourceRef;
}

/** One subset of a validated Endpoints object, its nodes checked against the cluster. */
export interface GivenSubset {
  readonly ports: readonly SlicePort[];
  readonly endpoints: readonly EndpointModel[];
  /** Where the subset is written. */
  readonly source: SourceRef;
}

/** A validated Endpoints object, for the EndpointSlice mirroring controller. */
export interface GivenEndpoints {
  readonly namespace: string;
  /** The Endpoints (= Service) name. */
  readonly name: string;
  /** `Endpoints shop/db`. */
  readonly label: string;
  readonly anchor: Field;
  /** `endpointslice.kubernetes.io/skip-mirror: "true"`: not to be mirrored (when slices of the Service are given). */
  readonly skipMirror: boolean;
  /** Written by the endpoints controller (its last-change-trigger-time annotation), as in an export. */
  readonly fromController: boolean;
  readonly subsets: readonly GivenSubset[];
}

interface EndpointsState {
  readonly drafts: EndpointsDraft[];
  readonly byKey: Map<string, EndpointsDraft>;
  readonly given: GivenEndpoints[];
}

/** The endpoints controller's annotation on the Endpoints it writes. */
const LAST_CHANGE_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

const ENDPOINTS = new StateKey<EndpointsState>('endpoints', () => ({ drafts: [], byKey: new Map(), given: [] }));

/** Valid Endpoints objects in document order (once `checkEndpointsNodes` has run). */
export function givenEndpoints(state: LoadState): readonly GivenEndpoints[] {
  return state.get(ENDPOINTS).given;
}

/** Whether Endpoints `namespace/name` were declared (valid or not). */
export function endpointsDeclared(state: LoadState, namespace: string, name: string): boolean {
  return state.get(ENDPOINTS).byKey.has(`${namespace}/${name}`);
}

/** Reads Endpoints documents. */
export const endpointsKind: KindReader = {
  kind: 'Endpoints',
  apiVersions: ['v1'],
  namespaced: true,
  read(obj, state) {
    const draft = readEndpoints(obj, state);
    if (draft === undefined) return;
    const s = state.get(ENDPOINTS);
    const key = `${draft.namespace}/${draft.name}`;
    addUnique(s.byKey, s.drafts, key, draft, `Endpoints ${key}`, obj.source.file);
  },
};

/** Checks the node names of every valid Endpoints object against the cluster's nodes (once the nodes are known). */
export function checkEndpointsNodes(state: LoadState): void {
  const s = state.get(ENDPOINTS);
  for (const d of s.drafts) {
    if (!d.valid || d.subsets === undefined) continue;
    const subsets: GivenSubset[] = [];
    for (const sub of d.subsets) {
      const endpoints = resolveEndpoints(state, sub.endpoints);
      subsets.push({ ports: sub.ports, endpoints, source: sub.field.source() });
    }
    const { namespace, name, label, nameField: anchor, skipMirror, fromController } = d;
    s.given.push({ namespace, name, label, anchor, skipMirror, fromController, subsets });
  }
}

function readEndpoints(obj: ObjectInput, state: LoadState): EndpointsDraft | undefined {
  const root = obj.root;
  const meta = readMetadata(obj, state, {
    name: { check: dnsSubdomain, required: { expected: 'the Endpoints name (the name of its Service)' } },
    namespace: true,
    labels: true,
  });
  const namespace = meta.namespace;
  const skipMirror = (meta.labels?.[SKIP_MIRROR_LABEL] ?? labelOf(root, SKIP_MIRROR_LABEL)) === 'true';
  const fromController = meta.annotation(LAST_CHANGE_ANNOTATION) !== undefined;
  const subsets = parseSubsets(root, namespace);
  if (meta.name === undefined) return undefined;
  const { name, nameField, valid } = meta;
  return {
    namespace,
    name,
    label: obj.label,
    nameField,
    skipMirror,
    fromController,
    subsets,
    valid,
    source: obj.source,
  };
}

function parseSubsets(root: Field, namespace: string): SubsetDraft[] | undefined {
  const items = root.list('subsets', { itemName: 'subset' });
  if (items === undefined) return root.child('subsets').present ? undefined : [];
  const out: SubsetDraft[] = [];
  let ok = true;
  for (const sub of items) {
    if (!sub.isMap) {
      sub.typeError('a mapping (a subset with addresses, notReadyAddresses and ports)');
      ok = false;
      continue;
    }
    const ready = parseAddresses(sub, 'addresses', namespace, true);
    const notReady = parseAddresses(sub, 'notReadyAddresses', namespace, false);
    const ports = parseEndpointPorts(sub, 'ports', true);
    if (ready === undefined || notReady === undefined || ports === undefined) {
      ok = false;
      continue;
    }
    if (ready.length === 0 && notReady.length === 0) {
      // as the API server requires (validateEndpointSubsets)
      const at = sub.child('addresses');
      (at.present ? at : sub).error('must specify `addresses` or `notReadyAddresses`');
      ok = false;
      continue;
    }
    out.push({ ports, endpoints: [...ready, ...notReady], field: sub });
  }
  return ok ? out : undefined;
}

function parseAddresses(sub: Field, path: string, namespace: string, ready: boolean): EndpointDraft[] | undefined {
  const items = sub.list(path, { itemName: 'address', plural: 'addresses' });
  if (items === undefined) return sub.child(path).present ? undefined : [];
  const out: EndpointDraft[] = [];
  let ok = true;
  for (const a of items) {
    if (!a.isMap) {
      a.typeError('a mapping (an address with ip, and optionally nodeName, hostname, targetRef)');
      ok = false;
      continue;
    }
    const ipF = a.child('ip');
    let ip: number | undefined;
    if (ipF.present) ip = nonSpecialIpv4(ipF, '203.0.113.7');
    else ipF.missing('an IPv4 address like 203.0.113.7');
    const refs = endpointRefs(a, namespace);
    if (ip === undefined || !refs.ok) {
      ok = false;
      continue;
    }
    out.push({
      ip,
      ready,
      serving: ready,
      terminating: false,
      nodeName: refs.nodeName,
      nodeField: a.child('nodeName'),
      hostname: refs.hostname,
      targetPod: refs.targetPod,
    });
  }
  return ok ? out : undefined;
}
