/**
 * Kubernetes `Service` (v1): parsing and validation, address allocation, and the EndpointSlices
 * every Service ends up with (hand-written, mirrored from Endpoints, or derived from its
 * selector as the EndpointSlice controller would).
 *
 * Fields read: metadata.name (a DNS-1035 label), namespace, labels; spec.type (ClusterIP,
 * NodePort, LoadBalancer, ExternalName; default ClusterIP), spec.clusterIP / spec.clusterIPs,
 * spec.ports[] {name, protocol, port, targetPort, nodePort}, spec.selector, spec.externalIPs,
 * spec.loadBalancerSourceRanges, spec.externalTrafficPolicy, spec.internalTrafficPolicy,
 * spec.sessionAffinity, spec.sessionAffinityConfig.clientIP.timeoutSeconds,
 * spec.healthCheckNodePort, spec.allocateLoadBalancerNodePorts, spec.externalName,
 * spec.publishNotReadyAddresses, spec.ipFamilies / spec.ipFamilyPolicy (IPv6 refused), and
 * status.loadBalancer.ingress[].ip. Validation follows the apiserver's:
 *   - clusterIP and clusterIPs[0] agree when both are set; `None` makes the Service headless
 *     (not allowed for NodePort and LoadBalancer); "" or absent means "allocate one"; an
 *     ExternalName Service has none. A second clusterIPs entry is the other IP family: IPv6
 *     values anywhere (clusterIPs, externalIPs, ingress IPs, ranges) are refused, podnet is
 *     IPv4-only. Given IPs must be host addresses of the Cluster's serviceCIDR, and unique.
 *   - ports are required unless the Service is headless or ExternalName; a port name (a DNS-1123
 *     label, as the apiserver checks Service port names) is required when there are several and
 *     unique; port/protocol pairs are unique; protocol defaults to TCP; targetPort is a number
 *     1–65535 or a container port name (IANA_SVC_NAME), default the port; nodePort only for
 *     NodePort and LoadBalancer, inside the Cluster's nodePortRange, unique per protocol within
 *     the Service (ports with the same port number share one nodePort, as the apiserver
 *     allocates them) and unique across Services.
 *   - externalTrafficPolicy (Cluster|Local, default Cluster) only for Services reachable from
 *     outside: NodePort, LoadBalancer, or with externalIPs; loadBalancerSourceRanges and
 *     allocateLoadBalancerNodePorts only for LoadBalancer; healthCheckNodePort only for
 *     LoadBalancer with externalTrafficPolicy Local; sessionAffinityConfig only with
 *     sessionAffinity ClientIP (timeoutSeconds 1–86400, default 10800); externalName required
 *     for (and used only by) ExternalName, a DNS name.
 *   - An empty selector ({}) is no selector, as the API stores it; an ExternalName Service's
 *     selector is ignored.
 *   - Two Services with one name in a namespace, or claiming one ClusterIP or NodePort: error at
 *     the second.
 *
 * ClusterIPs (deterministic, independent of the seed and of document order). The serviceCIDR's
 * network and broadcast addresses are never used. Given IPs are reserved first, in document
 * order. Then `default/kubernetes` gets the first address (.1) and `kube-system/kube-dns` the
 * tenth (.10), as kubeadm arranges, unless a given IP already holds it. Every other Service
 * gets an address from the upper "dynamic" band — the lowest min(max(16, size/16), 256)
 * addresses are the static band (KEP-3070), used only once the dynamic band is full — starting
 * at a hash (SHA-256) of `namespace/name` and probing upward past taken addresses. Services are
 * allocated in `namespace/name` order, so adding a Service never moves another unless their
 * hashes collide (see alloc.ts).
 *
 * NodePorts, for NodePort and LoadBalancer Services (not for LoadBalancer with
 * allocateLoadBalancerNodePorts: false, which keeps only given ones), from the Cluster's
 * nodePortRange (default 30000–32767): given ones reserved first, then the others from the
 * dynamic band above the lowest min(max(16, size/32), 128) ports (KEP-3668), starting at a
 * hash of `namespace/name:portname/protocol` and probing upward; ports sharing a port number
 * share a NodePort. healthCheckNodePort, for LoadBalancer Services with externalTrafficPolicy
 * Local, comes from the same range the same way (key `namespace/name:healthCheckNodePort`)
 * when not given.
 *
 * Load-balancer IPs (LoadBalancer Services only): status.loadBalancer.ingress[].ip when given
 * (an imported cluster keeps its addresses; hostname-only entries are ignored, as kube-proxy
 * ignores them). Otherwise the lowest free address of the Cluster's loadBalancerPool, in
 * document order, skipping addresses given in any status and, for a pool on the underlay, the
 * underlay's network and broadcast addresses (as MetalLB hands them out). Without a pool, or
 * when it is exhausted, the Service stays pending with a notice, like a bare-metal cluster
 * without a load-balancer controller (EXTERNAL-IP <pending>).
 *
 * EndpointSlices of a Service `ns/svc`:
 *   1. Hand-written: every EndpointSlice labelled kubernetes.io/service-name=svc in ns, as given,
 *      plus the subsets of Endpoints `ns/svc`, one slice each (see endpoints.ts), unless the
 *      Endpoints carry endpointslice.kubernetes.io/skip-mirror=true and the input has an
 *      EndpointSlice of the Service, or a given slice of the Service carries an
 *      endpointslice.kubernetes.io/managed-by label (then the input is an export whose slices
 *      already hold what the Endpoints say; kube-proxy reads only slices). Skip-mirror Endpoints
 *      without any slice of their Service are used: in an export of Endpoints alone (`kubectl get
 *      endpoints`), where the apiserver labels default/kubernetes skip-mirror, they are all there
 *      is of the slices the real cluster has.
 *   2. Otherwise, for a Service with a (non-empty) selector that is not ExternalName, derived as
 *      the EndpointSlice controller does: the pods of ns whose labels match the selector, in
 *      document order; per pod every service port's targetPort resolved (a number as is; a name
 *      looked up in the pod's container ports by name and protocol, a pod lacking it being left
 *      out of that port's mapping); pods grouped by their resolved port list, one slice per
 *      group (at most 100 endpoints each), named `<svc>-<5 chars>` from a stable hash. Endpoint:
 *      the pod IP (the node IP for hostNetwork pods), ready = pod Ready or publishNotReadyAddresses,
 *      serving = pod Ready, terminating false, the pod's node, hostname = spec.hostname when the
 *      pod sets one and its spec.subdomain is the Service name (docs/datapath.md §7), targetPod ns/name.
 *   When a Service with a selector also has hand-written endpoints, the hand-written ones win,
 *   with a notice (none when all of them are the controllers' own output, as in an export: slices
 *   managed by the EndpointSlice controller, Endpoints with the endpoints controller's
 *   endpoints.kubernetes.io/last-change-trigger-time annotation). A Service (not ExternalName) left without any endpoint gets a notice, as do
 *   Endpoints and EndpointSlices of a Service that does not exist (kube-proxy ignores them;
 *   such Endpoints are not mirrored, such slices are kept in the model).
 */
import type { Cidr, EndpointModel, EndpointSliceModel, ObjectOrigin, PodModel, ServiceModel, ServicePortModel, SourceRef } from '../../model.js';
import { BandAllocator, generatedName, nodePortStaticBand, serviceIpStaticBand } from '../alloc.js';
import { ipv4Only, ipv6Refusal, PROTOCOLS, SLICE_CONTROLLER, type Protocol, type SlicePort } from '../endpoints-common.js';
import type { Field } from '../field.js';
import { StateKey, addUnique, whereText, type KindHandler, type LoadState } from '../state.js';
import {
  broadcastOf,
  cidrContains,
  cidrSize,
  cidrText,
  dns1035Label,
  dnsLabel,
  dnsSubdomain,
  formatIpv4,
  ianaSvcName,
  labelKey,
  labelValue,
  looksIpv6,
  parseCidr,
  parseIpv4,
  quote,
} from '../values.js';
import { clusterDraft, type ClusterDraft } from './cluster.js';
import { givenSlices, sliceNamesIn, slicesDeclaredFor, type GivenSlice } from './endpointslice.js';
import { endpointsDeclared, givenEndpoints, mirroredSliceName } from './endpoints.js';
import { referenceNamespace } from './namespace.js';
import { findPod, podDrafts, podModels, type PodDraft } from './pod.js';

type ServiceType = ServiceModel['type'];
const TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

/** Endpoints per derived slice (kube-controller-manager --max-endpoints-per-slice default). */
export const MAX_ENDPOINTS_PER_SLICE = 100;

/** kubeadm's fixed ClusterIPs: offsets from the serviceCIDR's network address. */
const WELL_KNOWN: ReadonlyArray<readonly [key: string, offset: number, why: string]> = [
  ['default/kubernetes', 1, "kubeadm's address for the kubernetes Service"],
  ['kube-system/kube-dns', 10, "kubeadm's address for kube-dns"],
];

interface PortDraft {
  readonly field: Field;
  readonly name: string | undefined;
  readonly protocol: Protocol;
  readonly port: number;
  readonly targetPort: number | string;
  readonly givenNodePort: number | undefined;
  readonly nodePortField: Field;
  nodePort: number | undefined;
}

interface ServiceDraft {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
  readonly label: string;
  readonly nameField: Field;
  readonly source: SourceRef;
  readonly origin: ObjectOrigin;
  readonly labels: Readonly<Record<string, string>>;
  /** No error found in the Service so far (parsing, then allocation). */
  valid: boolean;
  readonly type: ServiceType;
  readonly typeField: Field;
  readonly headless: boolean;
  readonly givenIP: number | undefined;
  readonly givenIPField: Field;
  clusterIP: number | undefined;
  readonly ports: readonly PortDraft[];
  readonly selector: Readonly<Record<string, string>> | undefined;
  readonly selectorField: Field;
  readonly externalIPs: readonly number[];
  readonly loadBalancerSourceRanges: readonly Cidr[];
  readonly externalTrafficPolicy: 'Cluster' | 'Local';
  readonly internalTrafficPolicy: 'Cluster' | 'Local';
  readonly sessionAffinity: 'None' | 'ClientIP';
  readonly affinityTimeoutSeconds: number;
  readonly givenHealthCheckNodePort: number | undefined;
  readonly healthCheckField: Field;
  healthCheckNodePort: number | undefined;
  readonly allocateLoadBalancerNodePorts: boolean;
  readonly externalName: string | undefined;
  readonly publishNotReadyAddresses: boolean;
  readonly statusIPs: readonly number[];
  loadBalancerIPs: number[];
}

interface ServiceState {
  readonly drafts: ServiceDraft[];
  readonly byKey: Map<string, ServiceDraft>;
  readonly models: ServiceModel[];
  readonly slices: EndpointSliceModel[];
}

const SERVICES = new StateKey<ServiceState>('services', () => ({ drafts: [], byKey: new Map(), models: [], slices: [] }));

/** Services after allocation, in document order (complete only when there were no errors). */
export function serviceModels(state: LoadState): readonly ServiceModel[] {
  return state.get(SERVICES).models;
}

/** Every EndpointSlice of the cluster: per Service in document order, then orphaned given slices. */
export function endpointSliceModels(state: LoadState): readonly EndpointSliceModel[] {
  return state.get(SERVICES).slices;
}

export const serviceKind: KindHandler = {
  kind: 'Service',
  apiVersions: ['v1'],
  namespaced: true,
  collect(obj, state) {
    const draft = parseService(obj.root, obj.label, obj.source, state, obj.origin);
    if (draft === undefined) return;
    const s = state.get(SERVICES);
    addUnique(s.byKey, s.drafts, draft.key, draft, `Service ${draft.key}`, obj.source.file);
  },
  resolve: {
    order: 35,
    run(state) {
      const s = state.get(SERVICES);
      const cluster = clusterDraft(state);
      if (cluster !== undefined) {
        allocateClusterIPs(s.drafts, cluster);
        allocateNodePorts(s.drafts, cluster);
        assignLoadBalancerIPs(s.drafts, cluster);
      }
      resolveEndpointSlices(state, s);
      for (const d of s.drafts) {
        const m = toModel(d);
        if (m !== undefined) s.models.push(m);
      }
    },
  },
};

// ------------------------------------------------------------------------------------ parsing

const CLUSTER_IP_EXPECTED = 'an IPv4 address, "None" (headless) or "" (allocate one)';

type IpChoice = { readonly kind: 'unset' } | { readonly kind: 'none' } | { readonly kind: 'ip'; readonly ip: number };

function readClusterIP(f: Field): IpChoice | undefined {
  const v = f.raw();
  if (typeof v !== 'string') return f.typeError(CLUSTER_IP_EXPECTED);
  if (v === '') return { kind: 'unset' };
  if (v === 'None') return { kind: 'none' };
  const ip = parseIpv4(v);
  if (ip !== undefined) return { kind: 'ip', ip };
  if (looksIpv6(v)) return ipv6Refusal(f, v);
  return f.typeError(CLUSTER_IP_EXPECTED);
}

function sameChoice(a: IpChoice, b: IpChoice): boolean {
  return a.kind === b.kind && (a.kind !== 'ip' || (b.kind === 'ip' && a.ip === b.ip));
}

function choiceText(c: IpChoice): string {
  return c.kind === 'ip' ? formatIpv4(c.ip) : c.kind === 'none' ? 'None' : '""';
}

/** spec.clusterIP and spec.clusterIPs, checked against each other. */
function parseClusterIPs(spec: Field): { choice: IpChoice; field: Field; ok: boolean } {
  const oneF = spec.child('clusterIP');
  let ok = true;
  let one: IpChoice = { kind: 'unset' };
  if (oneF.present) {
    const r = readClusterIP(oneF);
    if (r === undefined) ok = false;
    else one = r;
  }
  let first: IpChoice = { kind: 'unset' };
  let firstF: Field | undefined;
  const items = spec.list('clusterIPs');
  if (items === undefined && spec.child('clusterIPs').present) ok = false;
  (items ?? []).forEach((item, i) => {
    const r = readClusterIP(item);
    if (r === undefined) {
      ok = false;
      return;
    }
    if (i === 0) {
      first = r;
      firstF = item;
    } else if (r.kind === 'ip') {
      item.error(`a second ClusterIP is for the other IP family (IPv6), got ${formatIpv4(r.ip)}: podnet is IPv4-only`);
      ok = false;
    } else {
      item.error(`expected at most one entry (podnet is IPv4-only), got ${item.describe()} as entry ${i + 1}`);
      ok = false;
    }
  });
  if (firstF !== undefined && one.kind !== 'unset' && first.kind !== 'unset' && !sameChoice(one, first)) {
    firstF.error(`must equal spec.clusterIP (${choiceText(one)}), got ${choiceText(first)}`);
    ok = false;
  }
  if (one.kind !== 'unset') return { choice: one, field: oneF, ok };
  return { choice: first, field: firstF ?? oneF, ok };
}

function parseTargetPort(item: Field, port: number | undefined): { value: number | string | undefined; ok: boolean } {
  const f = item.child('targetPort');
  if (!f.present) return { value: port, ok: true };
  const v = f.raw();
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 1 && v <= 65535) return { value: v, ok: true };
    f.typeError('a port number 1–65535 or a container port name');
    return { value: undefined, ok: false };
  }
  if (typeof v === 'string') {
    if (/^\d+$/.test(v)) {
      f.error(`expected a port number or a container port name, got ${quote(v)}: a quoted number is a (bad) port name; write ${v} without quotes`);
      return { value: undefined, ok: false };
    }
    const bad = ianaSvcName(v);
    if (bad === undefined) return { value: v, ok: true };
    f.typeError(`a port number 1–65535 or a container port name, ${bad}`);
    return { value: undefined, ok: false };
  }
  f.typeError('a port number 1–65535 or a container port name');
  return { value: undefined, ok: false };
}

function parsePorts(spec: Field, type: ServiceType | undefined, headless: boolean): { ports: PortDraft[]; ok: boolean } {
  const required = type !== undefined && type !== 'ExternalName' && !headless;
  const items = spec.list('ports', { itemName: 'service port', required, nonEmpty: required });
  const ports: PortDraft[] = [];
  if (items === undefined) return { ports, ok: !spec.child('ports').present && !required };
  let ok = true;
  const names = new Map<string, string>();
  const pairs = new Map<string, string>();
  const nodePorts = new Map<string, string>();
  const nodePortAllowed = type === 'NodePort' || type === 'LoadBalancer';
  for (const item of items) {
    if (!item.isMap) {
      item.typeError('a mapping (a service port with port, and name, protocol, targetPort, nodePort)');
      ok = false;
      continue;
    }
    const nameF = item.child('name');
    const name = item.str('name', { check: (s) => (s === '' ? undefined : dnsLabel(s)) });
    let itemOk = !(nameF.present && name === undefined);
    const portName = name === '' ? undefined : name;
    if (itemOk && portName === undefined && items.length > 1) {
      nameF.missing('a port name (required when a Service has more than one port)');
      itemOk = false;
    }
    if (portName !== undefined) {
      const prev = names.get(portName);
      if (prev !== undefined) {
        nameF.error(`duplicate port name ${quote(portName)} (also ${prev})`);
        itemOk = false;
      } else names.set(portName, item.path);
    }
    const protocol = item.oneOf('protocol', PROTOCOLS, { default: 'TCP' });
    const port = item.int('port', 1, 65535, { required: true });
    if (port !== undefined && protocol !== undefined) {
      const key = `${port}/${protocol}`;
      const prev = pairs.get(key);
      if (prev !== undefined) {
        item.child('port').error(`port ${key} is declared twice (also ${prev})`);
        itemOk = false;
      } else pairs.set(key, item.path);
    }
    const target = parseTargetPort(item, port);
    const npF = item.child('nodePort');
    // nodePort 0 means "allocate one", as the apiserver reads it.
    const np = item.int('nodePort', 0, 65535);
    const givenNodePort = np === 0 ? undefined : np;
    if (npF.present && np === undefined) itemOk = false;
    if (givenNodePort !== undefined && !nodePortAllowed && type !== undefined) {
      npF.error(`a nodePort is only for Services of type NodePort or LoadBalancer; this one is ${type}`);
      itemOk = false;
    }
    if (givenNodePort !== undefined && protocol !== undefined) {
      const key = `${givenNodePort}/${protocol}`;
      const prev = nodePorts.get(key);
      if (prev !== undefined) {
        npF.error(`nodePort ${key} is used twice in this Service (also ${prev})`);
        itemOk = false;
      } else nodePorts.set(key, item.path);
    }
    if (!itemOk || !target.ok) ok = false;
    if (protocol === undefined || port === undefined) {
      ok = false;
      continue;
    }
    // Kept even when other fields are wrong, so its nodePort is still checked against others.
    ports.push({ field: item, name: portName, protocol, port, targetPort: target.value ?? port, givenNodePort, nodePortField: npF, nodePort: givenNodePort });
  }
  return { ports, ok };
}

function parseIpList(spec: Field, path: string, example: string): { ips: number[]; ok: boolean } {
  const items = spec.list(path, { itemName: 'address', plural: 'addresses' });
  if (items === undefined) return { ips: [], ok: !spec.child(path).present };
  const ips: number[] = [];
  let ok = true;
  for (const item of items) {
    const ip = ipv4Only(item, example);
    if (ip === undefined) ok = false;
    else ips.push(ip);
  }
  return { ips, ok };
}

function parseSourceRanges(spec: Field): { ranges: Cidr[]; ok: boolean } {
  const items = spec.list('loadBalancerSourceRanges', { itemName: 'CIDR' });
  if (items === undefined) return { ranges: [], ok: !spec.child('loadBalancerSourceRanges').present };
  const ranges: Cidr[] = [];
  let ok = true;
  for (const item of items) {
    const v = item.raw();
    if (typeof v === 'string' && looksIpv6(v) && !parseCidr(v).ok) {
      ipv6Refusal(item, v);
      ok = false;
      continue;
    }
    const c = item.cidr('');
    if (c === undefined) ok = false;
    else ranges.push(c);
  }
  return { ranges, ok };
}

function parseStatusIPs(root: Field): { ips: number[]; ok: boolean } {
  const items = root.list('status.loadBalancer.ingress', { itemName: 'ingress point' });
  if (items === undefined) return { ips: [], ok: !root.at('status.loadBalancer.ingress').present };
  const ips: number[] = [];
  let ok = true;
  for (const item of items) {
    if (!item.isMap) {
      item.typeError('a mapping with ip (or hostname)');
      ok = false;
      continue;
    }
    const ipF = item.child('ip');
    item.str('hostname'); // hostname-only entries (cloud load balancers) carry no address kube-proxy can use
    if (!ipF.present) continue;
    const ip = ipv4Only(ipF, '192.0.2.10');
    if (ip === undefined) ok = false;
    else ips.push(ip);
  }
  return { ips, ok };
}

function parseService(root: Field, label: string, source: SourceRef, state: LoadState, origin: ObjectOrigin): ServiceDraft | undefined {
  const nameField = root.child('metadata').child('name');
  const rawName = root.rawStr('metadata.name');
  const name = root.str('metadata.name', { required: true, check: dns1035Label, expected: 'the Service name (a DNS-1035 label)' });
  const nsField = root.child('metadata').child('namespace');
  const rawNs = root.rawStr('metadata.namespace');
  const ns = root.str('metadata.namespace', { check: dnsLabel });
  if (ns !== undefined) referenceNamespace(state, ns, label, nsField);
  const labels = root.stringMap('metadata.labels', labelKey, labelValue);
  let valid = name !== undefined && (ns !== undefined || !nsField.present) && (labels !== undefined || !root.child('metadata').child('labels').present);

  let spec = root.child('spec');
  if (spec.present && !spec.isMap) {
    spec.typeError('the Service spec (a mapping with type, ports, selector, …)');
    spec = spec.silenced();
    valid = false;
  }
  const typeField = spec.child('type');
  const typeRaw = spec.oneOf('type', TYPES, { default: 'ClusterIP' });
  if (typeRaw === undefined) valid = false;
  const type = typeRaw ?? 'ClusterIP';
  const knownType = typeRaw;

  // ClusterIP(s).
  const cip = parseClusterIPs(spec);
  if (!cip.ok) valid = false;
  const headless = cip.choice.kind === 'none' && type !== 'ExternalName';
  if (knownType !== undefined && cip.choice.kind !== 'unset') {
    if (knownType === 'ExternalName') {
      cip.field.error(`an ExternalName Service has no ClusterIP; remove ${cip.field.path}`);
      valid = false;
    } else if (cip.choice.kind === 'none' && (knownType === 'NodePort' || knownType === 'LoadBalancer')) {
      cip.field.error(`a ${knownType} Service cannot be headless (clusterIP: None); remove it or use type ClusterIP`);
      valid = false;
    }
  }
  const givenIP = cip.choice.kind === 'ip' ? cip.choice.ip : undefined;

  // IP families: IPv4 only.
  for (const item of spec.list('ipFamilies') ?? []) {
    const v = item.raw();
    if (v === 'IPv6') {
      item.error('expected "IPv4", got "IPv6": podnet is IPv4-only');
      valid = false;
    } else if (v !== 'IPv4') {
      item.typeError('"IPv4" (podnet is IPv4-only)');
      valid = false;
    }
  }
  if (spec.child('ipFamilies').present && !spec.child('ipFamilies').isList) valid = false;
  const policyF = spec.child('ipFamilyPolicy');
  const policy = spec.oneOf('ipFamilyPolicy', ['SingleStack', 'PreferDualStack', 'RequireDualStack'] as const);
  if (policyF.present && policy === undefined) valid = false;
  if (policy === 'RequireDualStack') {
    policyF.error('RequireDualStack needs an IPv6 address too: podnet is IPv4-only (use SingleStack or PreferDualStack)');
    valid = false;
  }

  const ports = parsePorts(spec, knownType, headless);
  if (!ports.ok) valid = false;

  // Selector ({} is no selector, as the API stores it).
  const selectorField = spec.child('selector');
  const selectorMap = spec.stringMap('selector', labelKey, labelValue);
  if (selectorField.present && selectorMap === undefined) valid = false;
  const selector = selectorMap !== undefined && Object.keys(selectorMap).length > 0 ? selectorMap : undefined;

  const ext = parseIpList(spec, 'externalIPs', '192.0.2.10');
  if (!ext.ok) valid = false;
  const externallyReachable = type === 'NodePort' || type === 'LoadBalancer' || (type === 'ClusterIP' && ext.ips.length > 0);

  const ranges = parseSourceRanges(spec);
  if (!ranges.ok) valid = false;
  if (knownType !== undefined && knownType !== 'LoadBalancer' && spec.child('loadBalancerSourceRanges').present && ranges.ranges.length > 0) {
    spec.child('loadBalancerSourceRanges').error(`loadBalancerSourceRanges applies only to Services of type LoadBalancer; this one is ${knownType}`);
    valid = false;
  }

  const etpF = spec.child('externalTrafficPolicy');
  const etp = spec.oneOf('externalTrafficPolicy', ['Cluster', 'Local'] as const, { default: 'Cluster' });
  if (etp === undefined) valid = false;
  else if (etpF.present && knownType !== undefined && !externallyReachable) {
    etpF.error(`externalTrafficPolicy applies only to Services reachable from outside (type NodePort or LoadBalancer, or with externalIPs); this one is ${knownType}`);
    valid = false;
  }
  const itp = spec.oneOf('internalTrafficPolicy', ['Cluster', 'Local'] as const, { default: 'Cluster' });
  if (itp === undefined) valid = false;

  const affinity = spec.oneOf('sessionAffinity', ['None', 'ClientIP'] as const, { default: 'None' });
  if (affinity === undefined) valid = false;
  const sacF = spec.child('sessionAffinityConfig');
  const timeout = spec.int('sessionAffinityConfig.clientIP.timeoutSeconds', 1, 86400, { default: 10800 });
  if (timeout === undefined) valid = false;
  if (sacF.present && affinity === 'None') {
    sacF.error('sessionAffinityConfig applies only with sessionAffinity: ClientIP');
    valid = false;
  }

  const hcF = spec.child('healthCheckNodePort');
  const hc = spec.int('healthCheckNodePort', 0, 65535);
  if (hcF.present && hc === undefined) valid = false;
  const givenHealthCheckNodePort = hc === 0 ? undefined : hc;
  if (givenHealthCheckNodePort !== undefined && knownType !== undefined && etp !== undefined && !(knownType === 'LoadBalancer' && etp === 'Local')) {
    hcF.error(`healthCheckNodePort is used only by LoadBalancer Services with externalTrafficPolicy Local; this one is ${knownType} with ${etp}`);
    valid = false;
  }

  const albF = spec.child('allocateLoadBalancerNodePorts');
  const alb = spec.bool('allocateLoadBalancerNodePorts', { default: true });
  if (alb === undefined) valid = false;
  if (albF.present && knownType !== undefined && knownType !== 'LoadBalancer') {
    albF.error(`allocateLoadBalancerNodePorts applies only to Services of type LoadBalancer; this one is ${knownType}`);
    valid = false;
  }

  let externalName: string | undefined;
  if (type === 'ExternalName' && knownType !== undefined) {
    const check = (s: string): string | undefined => (dnsSubdomain(s.endsWith('.') ? s.slice(0, -1) : s) === undefined ? undefined : 'a DNS name such as db.example.com');
    externalName = spec.str('externalName', { required: true, check, expected: 'a DNS name such as db.example.com (required for type ExternalName)' });
    if (externalName === undefined) valid = false;
  }

  const publish = spec.bool('publishNotReadyAddresses', { default: false });
  if (publish === undefined) valid = false;

  const status = type === 'LoadBalancer' ? parseStatusIPs(root) : { ips: [], ok: true };
  if (!status.ok) valid = false;

  if (rawName === undefined) return undefined;
  const namespace = rawNs ?? 'default';
  return {
    namespace,
    name: rawName,
    key: `${namespace}/${rawName}`,
    label,
    nameField,
    source,
    origin,
    labels: labels ?? {},
    valid,
    type,
    typeField,
    headless,
    givenIP,
    givenIPField: cip.field,
    clusterIP: undefined,
    ports: ports.ports,
    selector: type === 'ExternalName' ? undefined : selector,
    selectorField,
    externalIPs: ext.ips,
    loadBalancerSourceRanges: ranges.ranges,
    externalTrafficPolicy: etp ?? 'Cluster',
    internalTrafficPolicy: itp ?? 'Cluster',
    sessionAffinity: affinity ?? 'None',
    affinityTimeoutSeconds: timeout ?? 10800,
    givenHealthCheckNodePort,
    healthCheckField: hcF,
    healthCheckNodePort: givenHealthCheckNodePort,
    allocateLoadBalancerNodePorts: alb ?? true,
    externalName,
    publishNotReadyAddresses: publish ?? false,
    statusIPs: status.ips,
    loadBalancerIPs: [],
  };
}

// ---------------------------------------------------------------------------------- allocation

function needsClusterIP(d: ServiceDraft): boolean {
  return d.type !== 'ExternalName' && !d.headless;
}

function allocateClusterIPs(drafts: readonly ServiceDraft[], cluster: ClusterDraft): void {
  const cidr = cluster.serviceCIDR;
  if (cidr === undefined) return;
  const size = cidrSize(cidr);
  // The network and broadcast addresses are never handed out.
  const alloc = new BandAllocator(cidr.addr + 1, broadcastOf(cidr) - 1, serviceIpStaticBand(size));
  const text = cidrText(cidr);
  const holders = new Map<number, ServiceDraft>();

  // 1. Given IPs, in document order.
  for (const d of drafts) {
    if (d.givenIP === undefined || !needsClusterIP(d)) continue;
    const ip = d.givenIP;
    const ipText = formatIpv4(ip);
    const f = d.givenIPField;
    let problem: string | undefined;
    if (!cidrContains(cidr, ip)) problem = `${ipText} is outside the Cluster's serviceCIDR ${text}`;
    else if (ip === cidr.addr) problem = `${ipText} is the network address of serviceCIDR ${text}`;
    else if (ip === broadcastOf(cidr)) problem = `${ipText} is the broadcast address of serviceCIDR ${text}`;
    else {
      const other = holders.get(ip);
      if (other !== undefined) problem = `${ipText} is already the ClusterIP of ${other.label} (${whereText(other.givenIPField.source(), f.ctx.file)})`;
    }
    if (problem !== undefined) {
      f.error(problem);
      d.valid = false;
    } else {
      alloc.claim(ip, d.key);
      holders.set(ip, d);
      d.clusterIP = ip;
    }
  }

  // 2. kubeadm's well-known addresses.
  for (const [key, offset, why] of WELL_KNOWN) {
    const d = drafts.find((x) => x.key === key);
    if (d === undefined || d.givenIP !== undefined || !needsClusterIP(d)) continue;
    const ip = (cidr.addr + offset) >>> 0;
    if (!alloc.contains(ip)) continue;
    const other = holders.get(ip);
    if (other !== undefined) {
      d.nameField.objectNotice(`${formatIpv4(ip)} (${why}) is taken by ${other.label}; allocating another address`);
      continue;
    }
    alloc.claim(ip, d.key);
    holders.set(ip, d);
    d.clusterIP = ip;
  }

  // 3. Everyone else from the dynamic band, in namespace/name order.
  const rest = drafts.filter((d) => needsClusterIP(d) && d.clusterIP === undefined && d.givenIP === undefined);
  rest.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const d of rest) {
    const ip = alloc.allocate(d.key, d.key);
    if (ip === undefined) {
      d.valid = false;
      d.nameField.error(`no free ClusterIP left in serviceCIDR ${text} (${Math.max(0, alloc.size)} usable addresses, all taken); widen the Cluster's serviceCIDR`);
      continue;
    }
    holders.set(ip, d);
    d.clusterIP = ip;
  }
}

function rangeText(min: number, max: number): string {
  return `${min}-${max}`;
}

function allocateNodePorts(drafts: readonly ServiceDraft[], cluster: ClusterDraft): void {
  const range = cluster.nodePortRange;
  if (range === undefined) return;
  const alloc = new BandAllocator(range.min, range.max, nodePortStaticBand(range.max - range.min + 1));
  const text = rangeText(range.min, range.max);
  // Owner of a claimed port: the Service and the service port number sharing it.
  const owners = new Map<number, { d: ServiceDraft; port: number | undefined; field: Field }>();

  const claim = (d: ServiceDraft, np: number, port: number | undefined, f: Field, what: string): boolean => {
    if (!alloc.contains(np)) {
      f.error(`${what} ${np} is outside the Cluster's nodePortRange ${text}`);
      d.valid = false;
      return false;
    }
    const prev = owners.get(np);
    if (prev !== undefined) {
      if (prev.d === d && port !== undefined && prev.port === port) return true; // same port number, other protocol
      f.error(
        prev.d === d
          ? `${what} ${np} is already used by ${prev.field.path} of this Service`
          : `${what} ${np} is already allocated to ${prev.d.label} (${whereText(prev.field.source(), f.ctx.file)})`,
      );
      d.valid = false;
      return false;
    }
    alloc.claim(np, d.key);
    owners.set(np, { d, port, field: f });
    return true;
  };

  // 1. Given NodePorts and health-check node ports, in document order.
  for (const d of drafts) {
    for (const p of d.ports) {
      if (p.givenNodePort === undefined) continue;
      if (!claim(d, p.givenNodePort, p.port, p.nodePortField, 'nodePort')) p.nodePort = undefined;
    }
    if (d.givenHealthCheckNodePort !== undefined && !claim(d, d.givenHealthCheckNodePort, undefined, d.healthCheckField, 'healthCheckNodePort')) {
      d.healthCheckNodePort = undefined;
    }
  }

  // 2. The rest, in namespace/name order; ports sharing a port number share a NodePort.
  const sorted = [...drafts].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const d of sorted) {
    const wantsNodePorts = d.type === 'NodePort' || (d.type === 'LoadBalancer' && d.allocateLoadBalancerNodePorts);
    if (!wantsNodePorts) continue;
    const byPort = new Map<number, number>();
    for (const p of d.ports) if (p.givenNodePort !== undefined && p.nodePort !== undefined && !byPort.has(p.port)) byPort.set(p.port, p.nodePort);
    for (const p of d.ports) {
      if (p.givenNodePort !== undefined) continue;
      const shared = byPort.get(p.port);
      if (shared !== undefined) {
        p.nodePort = shared;
        continue;
      }
      const np = alloc.allocate(`${d.key}:${p.name ?? ''}/${p.protocol}`, d.key);
      if (np === undefined) {
        d.valid = false;
        d.nameField.error(`no free NodePort left in the Cluster's nodePortRange ${text}; widen spec.nodePortRange`);
        break;
      }
      owners.set(np, { d, port: p.port, field: p.field });
      byPort.set(p.port, np);
      p.nodePort = np;
    }
  }
  for (const d of sorted) {
    if (!(d.type === 'LoadBalancer' && d.externalTrafficPolicy === 'Local') || d.givenHealthCheckNodePort !== undefined) continue;
    const np = alloc.allocate(`${d.key}:healthCheckNodePort`, d.key);
    if (np === undefined) {
      d.valid = false;
      d.nameField.error(`no free port left in the Cluster's nodePortRange ${text} for the health-check node port; widen spec.nodePortRange`);
      continue;
    }
    owners.set(np, { d, port: undefined, field: d.healthCheckField });
    d.healthCheckNodePort = np;
  }
}

function assignLoadBalancerIPs(drafts: readonly ServiceDraft[], cluster: ClusterDraft): void {
  const pool = cluster.loadBalancerPool;
  const lbs = drafts.filter((d) => d.type === 'LoadBalancer');
  const taken = new Set<number>(lbs.flatMap((d) => d.statusIPs));
  const underlay = cluster.underlay?.cidr;
  const skip = new Set<number>();
  if (pool !== undefined && underlay !== undefined && cidrContains(underlay, pool.addr)) {
    skip.add(underlay.addr);
    skip.add(broadcastOf(underlay));
  }
  let next = pool?.addr ?? 0;
  const last = pool !== undefined ? broadcastOf(pool) : -1;
  for (const d of lbs) {
    if (d.statusIPs.length > 0) {
      d.loadBalancerIPs = [...d.statusIPs];
      continue;
    }
    if (pool === undefined) {
      if (cluster.loadBalancerPoolOk && d.valid) d.typeField.objectNotice('LoadBalancer has no ingress IP (no loadBalancerPool in the Cluster; EXTERNAL-IP <pending>)');
      continue;
    }
    while (next <= last && (taken.has(next) || skip.has(next))) next++;
    if (next > last) {
      if (d.valid) d.typeField.objectNotice(`LoadBalancer has no ingress IP (loadBalancerPool ${cidrText(pool)} is exhausted; EXTERNAL-IP <pending>)`);
      continue;
    }
    taken.add(next);
    d.loadBalancerIPs = [next];
    next++;
  }
}

// ----------------------------------------------------------------------------- endpoint slices

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
  for (const c of pod.containers) for (const p of c.ports) if (p.name === name && p.protocol === protocol) return p.containerPort;
  return undefined;
}

function resolveEndpointSlices(state: LoadState, s: ServiceState): void {
  const services = s.byKey;
  const usedNames = new Map<string, Set<string>>();
  const namesIn = (ns: string): Set<string> => {
    let set = usedNames.get(ns);
    if (set === undefined) usedNames.set(ns, (set = new Set(sliceNamesIn(state, ns))));
    return set;
  };
  const uniqueName = (ns: string, make: (attempt: number) => string): string => {
    const set = namesIn(ns);
    let attempt = 0;
    let name = make(attempt);
    while (set.has(name)) name = make(++attempt);
    set.add(name);
    return name;
  };

  // Hand-written slices per Service.
  const given = new Map<string, GivenSlice[]>();
  const orphans: EndpointSliceModel[] = [];
  for (const g of givenSlices(state)) {
    const key = `${g.model.namespace}/${g.model.serviceName}`;
    if (!services.has(key)) {
      if (!state.mayExistInBroken('Service', g.model.namespace, g.model.serviceName)) {
        g.anchor.objectNotice(`no Service ${key} (its kubernetes.io/service-name); kube-proxy ignores this EndpointSlice`);
      }
      orphans.push(g.model);
      continue;
    }
    let list = given.get(key);
    if (list === undefined) given.set(key, (list = []));
    list.push(g);
  }
  const mirrored = new Map<string, { label: string; fromController: boolean; slices: EndpointSliceModel[] }>();
  for (const e of givenEndpoints(state)) {
    const key = `${e.namespace}/${e.name}`;
    if (!services.has(key)) {
      if (!state.mayExistInBroken('Service', e.namespace, e.name)) e.anchor.objectNotice(`no Service ${key}; kube-proxy ignores these Endpoints`);
      continue;
    }
    if ((e.skipMirror && slicesDeclaredFor(state, e.namespace, e.name)) || (given.get(key) ?? []).some((g) => g.managedBy !== undefined)) continue;
    mirrored.set(key, {
      label: e.label,
      fromController: e.fromController,
      slices: e.slices.map((sl, i) => ({ ...sl, name: uniqueName(e.namespace, (attempt) => mirroredSliceName(e.namespace, e.name, i, attempt)) })),
    });
  }

  const podsSelected = selectorIndex(podModels(state));
  let draftsSelected: ReturnType<typeof selectorIndex<PodDraft>> | undefined;
  for (const d of s.drafts) {
    const hand = given.get(d.key) ?? [];
    const mirror = mirrored.get(d.key);
    const slices: EndpointSliceModel[] = [...hand.map((g) => g.model), ...(mirror?.slices ?? [])];
    if (slices.length > 0 && d.selector !== undefined) {
      const controllerOutput = (mirror === undefined || mirror.fromController) && hand.every((g) => g.managedBy === SLICE_CONTROLLER);
      if (!controllerOutput) {
        const what = [...hand.map((g) => g.label), ...(mirror !== undefined ? [mirror.label] : [])].join(', ');
        d.selectorField.objectNotice(`has a selector and hand-written endpoints (${what}); the hand-written ones win, the selector is not used`);
      }
    } else if (d.selector !== undefined) {
      slices.push(...deriveSlices(d, podsSelected(d.namespace, d.selector), state, uniqueName));
    }
    s.slices.push(...slices);
    // Notices about Services left without endpoints (not about ones with errors of their own,
    // nor when the endpoints may sit in a document that could not be read).
    if (d.type === 'ExternalName' || !d.valid) continue;
    if (slices.some((sl) => sl.endpoints.length > 0)) continue;
    const consequence = d.headless ? 'DNS has no addresses for it' : 'kube-proxy will REJECT connections to it';
    const selector = d.selector;
    if (selector !== undefined && slices.length === 0) {
      draftsSelected ??= selectorIndex(podDrafts(state));
      const anyPod = state.mayHaveBrokenKind('Pod') || draftsSelected(d.namespace, selector).length > 0;
      if (!anyPod) d.selectorField.objectNotice(`selector ${selectorText(selector)} matches no pod in namespace ${d.namespace}; ${consequence}`);
    } else if (
      !state.mayHaveBrokenKind('Endpoints') &&
      !state.mayHaveBrokenKind('EndpointSlice') &&
      !endpointsDeclared(state, d.namespace, d.name) &&
      !slicesDeclaredFor(state, d.namespace, d.name)
    ) {
      d.nameField.objectNotice(`has no endpoints; ${consequence}`);
    }
  }
  s.slices.push(...orphans);
}

/**
 * The items a label selector picks in a namespace, in their original order. Candidates come
 * from the smallest (namespace, key=value) bucket of the selector, so 10,000 Services over
 * 150,000 pods cost a few lookups each instead of a scan of every pod.
 */
function selectorIndex<T extends { readonly namespace: string; readonly labels: Readonly<Record<string, string>> }>(items: readonly T[]): (ns: string, sel: Readonly<Record<string, string>>) => readonly T[] {
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

/** The EndpointSlice controller's slices for a Service with a selector (see the header); `pods` are the ones it selects. */
function deriveSlices(d: ServiceDraft, pods: readonly PodModel[], state: LoadState, uniqueName: (ns: string, make: (attempt: number) => string) => string): EndpointSliceModel[] {
  const selector = d.selector;
  if (selector === undefined) return [];
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
    const explicitHostname = findPod(state, pod.namespace, pod.name)?.explicitHostname === true;
    g.endpoints.push({
      ip: pod.ip,
      ready: d.publishNotReadyAddresses || pod.ready,
      serving: pod.ready,
      terminating: false,
      nodeName: pod.nodeName,
      hostname: explicitHostname && pod.subdomain === d.name ? pod.hostname : undefined,
      targetPod: `${pod.namespace}/${pod.name}`,
    });
  }
  const out: EndpointSliceModel[] = [];
  for (const [key, g] of groups) {
    for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) {
      const chunk = i / MAX_ENDPOINTS_PER_SLICE;
      const name = uniqueName(d.namespace, (attempt) => generatedName(d.name, `${d.key}:${key}:${chunk}${attempt > 0 ? `#${attempt}` : ''}`));
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

// ---------------------------------------------------------------------------------------- model

function toModel(d: ServiceDraft): ServiceModel | undefined {
  if (!d.valid) return undefined;
  if (needsClusterIP(d) && d.clusterIP === undefined) return undefined;
  const ports: ServicePortModel[] = d.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port, targetPort: p.targetPort, nodePort: p.nodePort }));
  return {
    namespace: d.namespace,
    name: d.name,
    type: d.type,
    clusterIPs: needsClusterIP(d) && d.clusterIP !== undefined ? [d.clusterIP] : [],
    headless: d.headless,
    ports,
    selector: d.selector,
    externalIPs: d.externalIPs,
    loadBalancerIPs: d.loadBalancerIPs,
    loadBalancerSourceRanges: d.loadBalancerSourceRanges,
    externalTrafficPolicy: d.externalTrafficPolicy,
    internalTrafficPolicy: d.internalTrafficPolicy,
    sessionAffinity: d.sessionAffinity,
    affinityTimeoutSeconds: d.affinityTimeoutSeconds,
    healthCheckNodePort: d.type === 'LoadBalancer' && d.externalTrafficPolicy === 'Local' ? d.healthCheckNodePort : undefined,
    externalName: d.externalName,
    publishNotReadyAddresses: d.publishNotReadyAddresses,
    source: d.source,
    labels: d.labels,
    ...(d.origin === 'addon' ? { origin: d.origin } : {}),
  };
}
