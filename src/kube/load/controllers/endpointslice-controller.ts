/**
 * The EndpointSlice controller, and which slices each Service ends up with.
 *
 * Slices of a Service `ns/svc`:
 *   1. Hand-written: every EndpointSlice labelled kubernetes.io/service-name=svc in ns, as given,
 *      plus the slices mirrored from Endpoints `ns/svc` (endpointslice-mirroring.ts).
 *   2. Otherwise, for a Service with a (non-empty) selector that is not ExternalName, derived as
 *      the EndpointSlice controller does: the pods of ns whose labels match the selector, in load
 *      order; per pod every service port's targetPort resolved (a number as is; a name looked up
 *      in the pod's container ports by name and protocol, a pod lacking it being left out of that
 *      port's mapping); pods grouped by their resolved port list, one slice per group (at most
 *      100 endpoints each), named `<svc>-<5 chars>` from a stable hash. Endpoint: the pod IP (the
 *      node IP for hostNetwork pods), ready = pod Ready or publishNotReadyAddresses, serving = pod
 *      Ready, terminating false, the pod's node, hostname = spec.hostname when the pod sets one and
 *      its spec.subdomain is the Service name (docs/datapath.md §7), targetPod ns/name.
 * When a Service with a selector also has hand-written endpoints, the hand-written ones win, with
 * a notice (none when all of them are the controllers' own output, as in an export: slices
 * managed by the EndpointSlice controller, Endpoints written by the endpoints controller). A
 * Service (not ExternalName) left without any endpoint gets a notice, as do EndpointSlices of a
 * Service that does not exist (kube-proxy ignores them; they are kept, after all the others).
 */
import type {
  EndpointModel,
  EndpointSliceModel,
  ObjectOrigin,
  PodModel,
  ServiceModel,
  SourceRef,
} from '../../model.js';
import { SLICE_CONTROLLER, type Protocol, type SlicePort } from '../readers/endpoint-fields.js';
import type { Anchor } from './anchor.js';
import type { MirroredEndpoints } from './endpointslice-mirroring.js';
import { generatedName, type NamespacedNames } from './generated-names.js';

/** Endpoints per derived slice (kube-controller-manager --max-endpoints-per-slice default). */
export const MAX_ENDPOINTS_PER_SLICE = 100;

/** A Service, as far as its endpoints are concerned. */
export interface SliceService {
  readonly namespace: string;
  readonly name: string;
  /** `namespace/name`. */
  readonly key: string;
  readonly type: ServiceModel['type'];
  readonly headless: boolean;
  /** A non-empty selector, or undefined (no selector, or ExternalName). */
  readonly selector: Readonly<Record<string, string>> | undefined;
  readonly ports: ReadonlyArray<{
    readonly name: string | undefined;
    readonly protocol: Protocol;
    readonly targetPort: number | string;
  }>;
  readonly publishNotReadyAddresses: boolean;
  readonly origin: ObjectOrigin;
  readonly source: SourceRef;
  readonly selectorField: Anchor;
  readonly nameField: Anchor;
}

/** A valid EndpointSlice of the input. */
export interface HandWrittenSlice {
  readonly model: EndpointSliceModel;
  /** `EndpointSlice shop/web-abcde`. */
  readonly label: string;
  readonly anchor: Anchor;
  /** `endpointslice.kubernetes.io/managed-by`, when set. */
  readonly managedBy: string | undefined;
}

/** Hand-written slices by Service `namespace/name`, and those whose Service does not exist. */
export interface HandWrittenSlices<G extends HandWrittenSlice> {
  readonly byService: ReadonlyMap<string, readonly G[]>;
  readonly orphans: readonly G[];
}

/** Sorts the input's slices by Service; one of a Service that does not exist (nor may, unread) gets a notice. */
export function handWrittenSlices<G extends HandWrittenSlice>(
  slices: readonly G[],
  ctx: { serviceExists(key: string): boolean; serviceMayBeUnread(namespace: string, name: string): boolean },
): HandWrittenSlices<G> {
  const byService = new Map<string, G[]>();
  const orphans: G[] = [];
  for (const g of slices) {
    const key = `${g.model.namespace}/${g.model.serviceName}`;
    if (!ctx.serviceExists(key)) {
      if (!ctx.serviceMayBeUnread(g.model.namespace, g.model.serviceName)) {
        g.anchor.objectNotice(
          `no Service ${key} (its kubernetes.io/service-name); kube-proxy ignores this EndpointSlice`,
        );
      }
      orphans.push(g);
      continue;
    }
    let list = byService.get(key);
    if (list === undefined) byService.set(key, (list = []));
    list.push(g);
  }
  return { byService, orphans };
}

/** What the controller needs to know beyond the Services' own endpoints. */
export interface SliceControllerContext<S> {
  /** The Service has no error of its own (no notices about its endpoints otherwise). */
  valid(service: S): boolean;
  /** The pods of `namespace` a selector picks, in load order. */
  podsSelected(namespace: string, selector: Readonly<Record<string, string>>): readonly PodModel[];
  /** The pod sets spec.hostname itself (or its StatefulSet does). */
  explicitHostname(pod: PodModel): boolean;
  /** Some pod of the input, placed or not, matches (or may sit in an unread document). */
  anyPodMatches(namespace: string, selector: Readonly<Record<string, string>>): boolean;
  /** Endpoints or EndpointSlices of the Service were written, valid or not (or may sit in an unread document). */
  endpointsWritten(namespace: string, name: string): boolean;
}

/**
 * Every EndpointSlice of the cluster: per Service in document order its hand-written slices, its
 * mirrored ones, or the ones derived from its selector; then the slices of missing Services.
 */
export function endpointSlicesOfServices<S extends SliceService, G extends HandWrittenSlice>(
  services: readonly S[],
  handWritten: HandWrittenSlices<G>,
  mirrored: ReadonlyMap<string, MirroredEndpoints>,
  names: NamespacedNames,
  ctx: SliceControllerContext<S>,
): EndpointSliceModel[] {
  const out: EndpointSliceModel[] = [];
  for (const d of services) {
    const hand = handWritten.byService.get(d.key) ?? [];
    const mirror = mirrored.get(d.key);
    const slices: EndpointSliceModel[] = [...hand.map((g) => g.model), ...(mirror?.slices ?? [])];
    if (slices.length > 0 && d.selector !== undefined) {
      const controllerOutput =
        (mirror === undefined || mirror.fromController) && hand.every((g) => g.managedBy === SLICE_CONTROLLER);
      if (!controllerOutput) {
        const what = [...hand.map((g) => g.label), ...(mirror !== undefined ? [mirror.label] : [])].join(', ');
        d.selectorField.objectNotice(
          `has a selector and hand-written endpoints (${what}); the hand-written ones win, the selector is not used`,
        );
      }
    } else if (d.selector !== undefined) {
      slices.push(...deriveEndpointSlices(d, ctx.podsSelected(d.namespace, d.selector), ctx.explicitHostname, names));
    }
    out.push(...slices);
    // Notices about Services left without endpoints (not about ones with errors of their own,
    // nor when the endpoints may sit in a document that could not be read).
    if (d.type === 'ExternalName' || !ctx.valid(d)) continue;
    if (slices.some((sl) => sl.endpoints.length > 0)) continue;
    const consequence = d.headless ? 'DNS has no addresses for it' : 'kube-proxy will REJECT connections to it';
    const selector = d.selector;
    if (selector !== undefined && slices.length === 0) {
      if (!ctx.anyPodMatches(d.namespace, selector)) {
        d.selectorField.objectNotice(
          `selector ${selectorText(selector)} matches no pod in namespace ${d.namespace}; ${consequence}`,
        );
      }
    } else if (!ctx.endpointsWritten(d.namespace, d.name)) {
      d.nameField.objectNotice(`has no endpoints; ${consequence}`);
    }
  }
  out.push(...handWritten.orphans.map((g) => g.model));
  return out;
}

/** The EndpointSlice controller's slices of a Service with a selector; `pods` are the ones it selects. */
export function deriveEndpointSlices(
  d: SliceService,
  pods: readonly PodModel[],
  explicitHostname: (pod: PodModel) => boolean,
  names: NamespacedNames,
): EndpointSliceModel[] {
  if (d.selector === undefined) return [];
  const groups = new Map<string, { ports: SlicePort[]; endpoints: EndpointModel[] }>();
  for (const pod of pods) {
    const ports: SlicePort[] = [];
    for (const sp of d.ports) {
      const port = typeof sp.targetPort === 'number' ? sp.targetPort : findNamedPort(pod, sp.targetPort, sp.protocol);
      if (port === undefined) continue;
      ports.push({ name: sp.name, port, protocol: sp.protocol });
    }
    const key = ports.map((p) => `${p.name ?? ''}:${p.port}/${p.protocol}`).join(',');
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { ports, endpoints: [] }));
    g.endpoints.push({
      ip: pod.ip,
      ready: d.publishNotReadyAddresses || pod.ready,
      serving: pod.ready,
      terminating: false,
      nodeName: pod.nodeName,
      hostname: explicitHostname(pod) && pod.subdomain === d.name ? pod.hostname : undefined,
      targetPod: `${pod.namespace}/${pod.name}`,
    });
  }
  const out: EndpointSliceModel[] = [];
  for (const [key, g] of groups) {
    for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) {
      const chunk = i / MAX_ENDPOINTS_PER_SLICE;
      const name = names.claim(d.namespace, (attempt) =>
        generatedName(d.name, `${d.key}:${key}:${chunk}${attempt > 0 ? `#${attempt}` : ''}`),
      );
      out.push({
        namespace: d.namespace,
        name,
        serviceName: d.name,
        ports: g.ports,
        endpoints: g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE),
        ...(d.origin === 'addon' ? { origin: d.origin } : {}),
        source: d.source,
      });
    }
  }
  return out;
}

/**
 * The items a label selector picks in a namespace, in their original order. Candidates come
 * from the smallest (namespace, key=value) bucket of the selector, so 10,000 Services over
 * 150,000 pods cost a few lookups each instead of a scan of every pod.
 */
export function selectorIndex<
  T extends { readonly namespace: string; readonly labels: Readonly<Record<string, string>> },
>(items: readonly T[]): (ns: string, sel: Readonly<Record<string, string>>) => readonly T[] {
  const byNs = new Map<string, T[]>();
  const byLabel = new Map<string, T[]>();
  for (const it of items) {
    let l = byNs.get(it.namespace);
    if (l === undefined) byNs.set(it.namespace, (l = []));
    l.push(it);
    for (const k in it.labels) {
      const key = `${it.namespace}\u0000${k}\u0000${it.labels[k]!}`;
      let b = byLabel.get(key);
      if (b === undefined) byLabel.set(key, (b = []));
      b.push(it);
    }
  }
  return (ns, sel) => {
    let candidates: readonly T[] = byNs.get(ns) ?? [];
    for (const k in sel) {
      const b = byLabel.get(`${ns}\u0000${k}\u0000${sel[k]!}`) ?? [];
      if (b.length < candidates.length) candidates = b;
    }
    return candidates.filter((p) => matches(sel, p.labels));
  };
}

function selectorText(sel: Readonly<Record<string, string>>): string {
  return Object.entries(sel)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function matches(sel: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

/** A container port of `pod` named `name` with `protocol` (podutil.FindPort). */
function findNamedPort(pod: PodModel, name: string, protocol: Protocol): number | undefined {
  for (const c of pod.containers) {
    for (const p of c.ports) if (p.name === name && p.protocol === protocol) return p.containerPort;
  }
  return undefined;
}
