/**
 * Field readers shared by the Service, Endpoints and EndpointSlice kinds: IPv4-only addresses
 * (IPv6 is recognised and refused with "podnet is IPv4-only"), endpoint ports, `targetRef`, and
 * the node-name check of an endpoint.
 */
import type { EndpointModel, EndpointSliceModel } from '../../model.js';
import type { Field } from '../field.js';
import type { LoadState } from '../state.js';
import {
  dnsLabel,
  dnsSubdomain,
  formatIpv4,
  looksIpv6,
  parseIpv4Sloppy,
  qualifiedName,
  quote,
  type SloppyIpv4,
} from '../values.js';
import { clusterDraft } from './cluster.js';

/** Protocols of Service and endpoint ports. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
/** Every `Protocol`, for `oneOf`. */
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** A port of an EndpointSlice. */
export type SlicePort = EndpointSliceModel['ports'][number];

/** Label naming the Service of an EndpointSlice. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Label naming the controller that manages an EndpointSlice. */
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
/** The EndpointSlice controller's managed-by value (slices derived from a selector). */
export const SLICE_CONTROLLER = 'endpointslice-controller.k8s.io';
/** Endpoints with this label set to "true" are not mirrored into EndpointSlices. */
export const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';

/** The "podnet is IPv4-only" refusal of an IPv6 value. */
export function ipv6Refusal(f: Field, text: string): undefined {
  f.error(`${quote(text)} is an IPv6 address; podnet is IPv4-only`);
  return undefined;
}

/**
 * The notice for a legacy IP field holding a non-standard IPv4 address (`172.30.0.041`,
 * `::ffff:10.0.0.1`): the API server keeps such values in objects created before it tightened IP
 * validation (KEP-4858), and kube-proxy reads them with ParseIPSloppy.
 */
export function legacyIpNotice(f: Field, text: string, r: SloppyIpv4): void {
  if (r.nonStandard === undefined) return;
  const how =
    r.nonStandard === 'leading zeros'
      ? 'leading zeros are decimal, not octal'
      : 'an IPv4-mapped IPv6 address is its IPv4 address';
  f.notice(
    `non-standard IP address ${quote(text)} read as ${formatIpv4(r.ip)}, as kube-proxy reads it (ParseIPSloppy: ${how}); ` +
      'the API server keeps such values only in objects written before it tightened IP validation (KEP-4858)',
  );
}

/**
 * An IPv4 address at `f` (present) in one of the API's legacy IP fields (Service clusterIP(s),
 * externalIPs and ingress IPs, Endpoints and EndpointSlice addresses, pod IPs, dnsConfig
 * nameservers): non-standard forms are read as kube-proxy reads them, with a notice; IPv6 is
 * refused with "podnet is IPv4-only".
 */
export function ipv4Only(f: Field, example = '10.244.1.7'): number | undefined {
  const v = f.raw();
  if (typeof v === 'string') {
    const r = parseIpv4Sloppy(v);
    if (r !== undefined) {
      legacyIpNotice(f, v, r);
      return r.ip;
    }
    if (looksIpv6(v)) return ipv6Refusal(f, v);
  }
  return f.typeError(`an IPv4 address like ${example}`);
}

/**
 * The API server's validateNonSpecialIP, for endpoint addresses and externalIPs: the unspecified
 * address, loopback, link-local and link-local multicast are refused. The "may not be …" phrase,
 * or undefined.
 */
export function specialIpProblem(ip: number): string | undefined {
  if (ip === 0) return 'may not be unspecified (0.0.0.0)';
  if (ip >>> 24 === 127) return 'may not be in the loopback range (127.0.0.0/8)';
  if (ip >>> 16 === 0xa9fe) return 'may not be in the link-local range (169.254.0.0/16)';
  if (ip >>> 8 === 0xe00000) return 'may not be in the link-local multicast range (224.0.0.0/24)';
  return undefined;
}

/** `ipv4Only`, then refused (reported) when `specialIpProblem` finds a problem. */
export function nonSpecialIpv4(f: Field, example?: string): number | undefined {
  const ip = ipv4Only(f, example);
  if (ip === undefined) return undefined;
  const bad = specialIpProblem(ip);
  if (bad === undefined) return ip;
  f.error(`${formatIpv4(ip)} ${bad}`);
  return undefined;
}

/** An endpoint as read, its node still to be checked against the cluster. */
export interface EndpointDraft {
  readonly ip: number;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName: string | undefined;
  readonly nodeField: Field;
  readonly hostname: string | undefined;
  readonly targetPod: string | undefined;
}

/**
 * `nodeName`, `hostname` and `targetRef` of an endpoint or an Endpoints address. `ok` is false
 * when one of them was present but invalid (reported).
 */
export function endpointRefs(
  f: Field,
  namespace: string,
): { ok: boolean; nodeName: string | undefined; hostname: string | undefined; targetPod: string | undefined } {
  const nodeName = f.str('nodeName', { check: dnsSubdomain });
  const hostname = f.str('hostname', { check: dnsLabel });
  let ok =
    (nodeName !== undefined || !f.child('nodeName').present) &&
    (hostname !== undefined || !f.child('hostname').present);
  let targetPod: string | undefined;
  const ref = f.map('targetRef', { expected: 'a mapping (an object reference with kind, namespace and name)' });
  if (ref !== undefined) {
    const kind = ref.str('kind');
    const ns = ref.str('namespace', { check: dnsLabel });
    const name = ref.str('name', { check: dnsSubdomain });
    if (
      (ref.child('kind').present && kind === undefined) ||
      (ref.child('namespace').present && ns === undefined) ||
      (ref.child('name').present && name === undefined)
    )
      ok = false;
    else if (kind === 'Pod' && name !== undefined) targetPod = `${ns ?? namespace}/${name}`;
  } else if (f.child('targetRef').present) ok = false;
  return { ok, nodeName, hostname, targetPod };
}

/**
 * Endpoint ports (`{name, port, protocol}`) of an EndpointSlice or an Endpoints subset. Names are
 * DNS-1123 labels (an empty name is no name) and unique within the list. For Endpoints
 * (`strict`) names are required when there is more than one port and `port` is required; in an
 * EndpointSlice a port without `port` is skipped, as kube-proxy skips it. Returns undefined when
 * anything is wrong (reported), [] when the list is absent.
 */
export function parseEndpointPorts(parent: Field, path: string, strict: boolean): SlicePort[] | undefined {
  const items = parent.list(path, { itemName: 'port' });
  if (items === undefined) return parent.child(path).present ? undefined : [];
  const out: SlicePort[] = [];
  const names = new Map<string, string>();
  let ok = true;
  for (const item of items) {
    if (!item.isMap) {
      item.typeError('a mapping with port, and optionally name and protocol');
      ok = false;
      continue;
    }
    const nameF = item.child('name');
    const rawName = item.str('name', { check: (s) => (s === '' ? undefined : dnsLabel(s)) });
    const name = rawName === '' ? undefined : rawName;
    let itemOk = !(nameF.present && rawName === undefined);
    if (itemOk && name === undefined && strict && items.length > 1) {
      nameF.missing('a port name (required when there is more than one port)');
      itemOk = false;
    } else if (itemOk) {
      const key = name ?? '';
      const prev = names.get(key);
      if (prev !== undefined) {
        (name !== undefined ? nameF : item).error(
          name !== undefined
            ? `duplicate port name ${quote(name)} (also ${prev})`
            : `a second unnamed port (also ${prev}); name them`,
        );
        itemOk = false;
      } else names.set(key, item.path);
    }
    const port = item.int('port', 1, 65535, { required: strict });
    // appProtocol is not modelled, but checked as the API server checks it (a qualified name)
    if (item.child('appProtocol').present && item.str('appProtocol', { check: qualifiedName }) === undefined)
      itemOk = false;
    const protocol = item.oneOf('protocol', PROTOCOLS, { default: 'TCP' });
    if (!itemOk || (port === undefined && (strict || item.child('port').present)) || protocol === undefined) {
      ok = false;
      continue;
    }
    if (port === undefined) continue;
    out.push({ name, port, protocol });
  }
  return ok ? out : undefined;
}

/**
 * The endpoints as models, their node names checked against the cluster's nodes. A node name
 * that is no node of the topology is kept (the API server checks only its syntax, for Endpoints
 * and EndpointSlices alike), with one notice per name in the object: such an endpoint is local to
 * no node, so kube-proxy's Local traffic policies never choose it.
 */
export function resolveEndpoints(state: LoadState, drafts: readonly EndpointDraft[]): EndpointModel[] {
  const cluster = clusterDraft(state);
  const nodes = cluster?.nodesKnown === true ? cluster.nodes : undefined;
  const told = new Set<string>();
  const out: EndpointModel[] = [];
  for (const d of drafts) {
    if (d.nodeName !== undefined && nodes !== undefined && !nodes.some((n) => n.name === d.nodeName)) {
      if (!told.has(d.nodeName)) {
        told.add(d.nodeName);
        d.nodeField.notice(
          `node ${quote(d.nodeName)} is no node of this topology (nodes: ${nodes.map((n) => n.name).join(', ')}); ` +
            'the endpoint is kept, as the API server keeps it, and is local to no node ' +
            '(Local traffic policies never choose it)',
        );
      }
    }
    out.push({
      ip: d.ip,
      ready: d.ready,
      serving: d.serving,
      terminating: d.terminating,
      nodeName: d.nodeName,
      hostname: d.hostname,
      targetPod: d.targetPod,
    });
  }
  return out;
}
