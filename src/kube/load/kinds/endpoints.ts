/**
 * Kubernetes `Endpoints` (v1): the classic endpoint list, mostly written by hand for Services
 * without a selector (an external database, an apiserver). Its name is the Service's name.
 *
 * Fields read: metadata.name/namespace/labels, `subsets[]` with `addresses[]` and
 * `notReadyAddresses[]` (`ip` required, IPv4 only; `nodeName`, which must be a node of the
 * cluster; `hostname`; `targetRef`, a Pod reference becoming `targetPod` `ns/name`) and `ports[]`
 * (`name`, a DNS-1123 label, required and unique when there are several; `port` 1–65535,
 * required; `protocol` TCP, UDP or SCTP, default TCP). The addresses need not be pods or even
 * on the underlay (`203.0.113.7`).
 *
 * Each subset becomes one EndpointSlice, as the EndpointSlice mirroring controller would make it:
 * named `<name>-<5 chars>` (a stable hash, not random), `addresses` ready and serving,
 * `notReadyAddresses` neither, none terminating. When that mirroring happens (or does not) is
 * decided in kinds/service.ts.
 */
import type { EndpointSliceModel, SourceRef } from '../../model.js';
import { generatedName } from '../alloc.js';
import { endpointRefs, ipv4Only, parseEndpointPorts, rawLabel, resolveEndpoints, SKIP_MIRROR_LABEL, type EndpointDraft, type SlicePort } from '../endpoints-common.js';
import type { Field } from '../field.js';
import { StateKey, addUnique, type KindHandler, type LoadState } from '../state.js';
import { dnsLabel, dnsSubdomain, labelKey, labelValue } from '../values.js';
import { referenceNamespace } from './namespace.js';

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

/** A validated Endpoints object with its subsets converted to EndpointSlices, for kinds/service.ts. */
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
  /** One slice per subset, unnamed yet: the caller names them (see `mirroredSliceName`). */
  readonly slices: ReadonlyArray<Omit<EndpointSliceModel, 'name'>>;
}

interface EndpointsState {
  readonly drafts: EndpointsDraft[];
  readonly byKey: Map<string, EndpointsDraft>;
  readonly given: GivenEndpoints[];
}

/** The endpoints controller's annotation on the Endpoints it writes. */
const LAST_CHANGE_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

const ENDPOINTS = new StateKey<EndpointsState>('endpoints', () => ({ drafts: [], byKey: new Map(), given: [] }));

/** Valid Endpoints objects in document order (available from resolve order 34 on). */
export function givenEndpoints(state: LoadState): readonly GivenEndpoints[] {
  return state.get(ENDPOINTS).given;
}

/** Whether Endpoints `namespace/name` were declared (valid or not). */
export function endpointsDeclared(state: LoadState, namespace: string, name: string): boolean {
  return state.get(ENDPOINTS).byKey.has(`${namespace}/${name}`);
}

/** The generated name of the slice mirroring subset `index` of Endpoints `ns/name` (`attempt` > 0 on a name clash). */
export function mirroredSliceName(namespace: string, name: string, index: number, attempt = 0): string {
  return generatedName(name, `${namespace}/${name}:endpoints:${index}${attempt > 0 ? `#${attempt}` : ''}`);
}

export const endpointsKind: KindHandler = {
  kind: 'Endpoints',
  apiVersions: ['v1'],
  namespaced: true,
  collect(obj, state) {
    const draft = parseEndpoints(obj.root, obj.label, obj.source, state);
    if (draft === undefined) return;
    const s = state.get(ENDPOINTS);
    const key = `${draft.namespace}/${draft.name}`;
    addUnique(s.byKey, s.drafts, key, draft, `Endpoints ${key}`, obj.source.file);
  },
  resolve: {
    order: 34,
    run(state) {
      const s = state.get(ENDPOINTS);
      for (const d of s.drafts) {
        if (!d.valid || d.subsets === undefined) continue;
        const slices: Array<Omit<EndpointSliceModel, 'name'>> = [];
        let ok = true;
        for (const sub of d.subsets) {
          const endpoints = resolveEndpoints(state, sub.endpoints);
          if (endpoints === undefined) {
            ok = false;
            continue;
          }
          slices.push({ namespace: d.namespace, serviceName: d.name, ports: sub.ports, endpoints, source: sub.field.source() });
        }
        if (ok) s.given.push({ namespace: d.namespace, name: d.name, label: d.label, anchor: d.nameField, skipMirror: d.skipMirror, fromController: d.fromController, slices });
      }
    },
  },
};

function parseEndpoints(root: Field, label: string, source: SourceRef, state: LoadState): EndpointsDraft | undefined {
  const nameField = root.child('metadata').child('name');
  const rawName = root.rawStr('metadata.name');
  const name = root.str('metadata.name', { required: true, check: dnsSubdomain, expected: 'the Endpoints name (the name of its Service)' });
  const nsField = root.child('metadata').child('namespace');
  const rawNs = root.rawStr('metadata.namespace');
  const ns = root.str('metadata.namespace', { check: dnsLabel });
  if (ns !== undefined) referenceNamespace(state, ns, label, nsField);
  const namespace = rawNs ?? 'default';
  const labels = root.stringMap('metadata.labels', labelKey, labelValue);
  const valid = name !== undefined && (ns !== undefined || !nsField.present) && (labels !== undefined || !root.child('metadata').child('labels').present);
  const skipMirror = (labels?.[SKIP_MIRROR_LABEL] ?? rawLabel(root, SKIP_MIRROR_LABEL)) === 'true';
  const annotations = root.child('metadata').child('annotations');
  const fromController = annotations.isMap && annotations.child(LAST_CHANGE_ANNOTATION).present;
  const subsets = parseSubsets(root, namespace);
  if (rawName === undefined) return undefined;
  return { namespace, name: rawName, label, nameField, skipMirror, fromController, subsets, valid, source };
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
    const ip = ipF.present ? ipv4Only(ipF, '203.0.113.7') : (ipF.missing('an IPv4 address like 203.0.113.7'), undefined);
    const refs = endpointRefs(a, namespace);
    if (ip === undefined || !refs.ok) {
      ok = false;
      continue;
    }
    out.push({ ip, ready, serving: ready, terminating: false, nodeName: refs.nodeName, nodeField: a.child('nodeName'), hostname: refs.hostname, targetPod: refs.targetPod });
  }
  return ok ? out : undefined;
}
