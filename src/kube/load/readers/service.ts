/**
 * Kubernetes `Service` (v1): reading and validation.
 *
 * Fields read: metadata.name (a DNS-1035 label), namespace, labels; spec.type (ClusterIP,
 * NodePort, LoadBalancer, ExternalName; default ClusterIP), spec.clusterIP / spec.clusterIPs,
 * spec.ports[] {name, protocol, port, targetPort, nodePort}, spec.selector, spec.externalIPs,
 * spec.loadBalancerSourceRanges, spec.externalTrafficPolicy, spec.internalTrafficPolicy,
 * spec.sessionAffinity, spec.sessionAffinityConfig.clientIP.timeoutSeconds,
 * spec.healthCheckNodePort, spec.allocateLoadBalancerNodePorts, spec.externalName,
 * spec.publishNotReadyAddresses, spec.ipFamilies / spec.ipFamilyPolicy (IPv4 first; the IPv6
 * half of a dual-stack Service is ignored with a notice, as kube-proxy's IPv4 proxier ignores it), and
 * status.loadBalancer.ingress[].ip. Validation follows the apiserver's:
 *   - clusterIP and clusterIPs[0] agree when both are set; `None` makes the Service headless
 *     (not allowed for NodePort and LoadBalancer); "" or absent means "allocate one"; an
 *     ExternalName Service has none. A second clusterIPs entry is the other IP family: IPv6
 *     values in a second ClusterIP, externalIPs, ingress IPs and source ranges are the IPv6 half
 *     of a dual-stack Service, ignored with a notice (kube-proxy's IPv4 proxier never sees them);
 *     an IPv6 clusterIP (an IPv6-primary Service) is refused, podnet is IPv4-only. Given IPs
 *     must be host addresses of the Cluster's serviceCIDR, and unique.
 *     clusterIP(s), externalIPs and ingress IPs are legacy IP fields: `172.30.0.041` and
 *     `::ffff:172.30.0.41` are read as kube-proxy reads them (172.30.0.41), with a notice.
 *   - loadBalancerSourceRanges entries are trimmed (the API server and kube-proxy trim them) and
 *     read with ParseCIDRSloppy: leading zeros and host bits set (cleared) are accepted, with a notice.
 *   - ports are required unless the Service is headless or ExternalName; a port name (a DNS-1123
 *     label, as the apiserver checks Service port names) is required when there are several and
 *     unique; port/protocol pairs are unique; protocol defaults to TCP; targetPort is a number
 *     1–65535 or a container port name (IANA_SVC_NAME), default the port (also for 0 and "", as
 *     the API server defaults them); nodePort only for
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
 * What the Service gets beyond what it says comes from controllers: its ClusterIP
 * (service-ip-allocator.ts), NodePorts (node-port-allocator.ts), load-balancer address
 * (load-balancer-ip-allocator.ts) and endpoints (endpointslice-controller.ts).
 */
import type { Cidr, ObjectOrigin, ServiceModel, SourceRef } from '../../model.js';
import type { Field } from '../field.js';
import { readMetadata } from '../metadata.js';
import { StateKey, addUnique, type KindReader, type LoadState, type ObjectInput } from '../state.js';
import {
  cidrText,
  dns1035Label,
  dnsLabel,
  dnsSubdomain,
  formatIpv4,
  ianaSvcName,
  labelKey,
  labelValue,
  looksIpv6,
  parseCidrSloppy,
  parseIpv4Sloppy,
  qualifiedName,
  quote,
} from '../values.js';
import { ipv4Only, ipv6Refusal, legacyIpNotice, nonSpecialIpv4, PROTOCOLS, type Protocol } from './endpoint-fields.js';

type ServiceType = ServiceModel['type'];
const TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

/** A service port as read. */
export interface ServicePortDraft {
  readonly field: Field;
  readonly name: string | undefined;
  readonly protocol: Protocol;
  readonly port: number;
  readonly targetPort: number | string;
  /** `nodePort` when given (0, "allocate one", is undefined). */
  readonly givenNodePort: number | undefined;
  readonly nodePortField: Field;
}

/** A Service as read: what it says, before anything is allocated for it. */
export interface ServiceDraft {
  readonly namespace: string;
  readonly name: string;
  /** `namespace/name`. */
  readonly key: string;
  /** `Service namespace/name`. */
  readonly label: string;
  readonly nameField: Field;
  readonly source: SourceRef;
  readonly origin: ObjectOrigin;
  readonly labels: Readonly<Record<string, string>>;
  /** No error found in the Service itself. */
  readonly valid: boolean;
  readonly type: ServiceType;
  readonly typeField: Field;
  readonly headless: boolean;
  readonly givenIP: number | undefined;
  readonly givenIPField: Field;
  readonly ports: readonly ServicePortDraft[];
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
  readonly allocateLoadBalancerNodePorts: boolean;
  readonly externalName: string | undefined;
  readonly publishNotReadyAddresses: boolean;
  /** status.loadBalancer.ingress[].ip (LoadBalancer only). */
  readonly statusIPs: readonly number[];
}

interface ServiceState {
  readonly drafts: ServiceDraft[];
  readonly byKey: Map<string, ServiceDraft>;
}

const SERVICES = new StateKey<ServiceState>('services', () => ({ drafts: [], byKey: new Map() }));

/** Every Service read (valid or not), in document order. */
export function serviceDrafts(state: LoadState): readonly ServiceDraft[] {
  return state.get(SERVICES).drafts;
}

/** Whether Service `namespace/name` was read (valid or not). */
export function serviceExists(state: LoadState, key: string): boolean {
  return state.get(SERVICES).byKey.has(key);
}

/** Whether the Service gets a ClusterIP: neither headless nor ExternalName. */
export function needsClusterIP(d: ServiceDraft): boolean {
  return d.type !== 'ExternalName' && !d.headless;
}

/** Reads Service documents. */
export const serviceKind: KindReader = {
  kind: 'Service',
  apiVersions: ['v1'],
  namespaced: true,
  read(obj, state) {
    const draft = readService(obj, state);
    if (draft === undefined) return;
    const s = state.get(SERVICES);
    addUnique(s.byKey, s.drafts, draft.key, draft, `Service ${draft.key}`, obj.source.file);
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
  // a legacy IP field: non-standard forms (172.30.0.041) are read as kube-proxy reads them
  const r = parseIpv4Sloppy(v);
  if (r !== undefined) {
    legacyIpNotice(f, v, r);
    return { kind: 'ip', ip: r.ip };
  }
  if (looksIpv6(v)) return ipv6Refusal(f, v);
  return f.typeError(CLUSTER_IP_EXPECTED);
}

/** An IPv6 address or prefix (and not an IPv4-mapped one, which is IPv4). */
function isIpv6Text(v: unknown): v is string {
  return typeof v === 'string' && looksIpv6(v.trim()) && parseIpv4Sloppy(v.trim()) === undefined;
}

/**
 * The IPv6 half of a dual-stack Service (a second ClusterIP, an IPv6 external or ingress IP or
 * source range): the API server accepts it; kube-proxy's IPv4 proxier, whose data path podnet
 * runs, never sees it. Ignored with a notice.
 */
function ipv6Half(f: Field, text: string): void {
  f.notice(
    `${quote(text)} is IPv6: ignored, as kube-proxy's IPv4 proxier ignores it (podnet runs the IPv4 half of a ` +
      'dual-stack cluster)',
  );
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
    const raw = item.raw();
    if (i > 0 && isIpv6Text(raw)) {
      ipv6Half(item, raw);
      return;
    }
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
  // 0 and "" are defaulted to the port by the API server (SetDefaults_Service), not refused
  if (v === 0 || v === '') return { value: port, ok: true };
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 1 && v <= 65535) return { value: v, ok: true };
    f.typeError('a port number 1–65535 or a container port name');
    return { value: undefined, ok: false };
  }
  if (typeof v === 'string') {
    if (/^\d+$/.test(v)) {
      f.error(
        `expected a port number or a container port name, got ${quote(v)}: a quoted number is a (bad) port name; write ${v} without quotes`,
      );
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

function parsePorts(
  spec: Field,
  type: ServiceType | undefined,
  headless: boolean,
): { ports: ServicePortDraft[]; ok: boolean } {
  const required = type !== undefined && type !== 'ExternalName' && !headless;
  const items = spec.list('ports', { itemName: 'service port', required, nonEmpty: required });
  const ports: ServicePortDraft[] = [];
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
    // appProtocol is not modelled, but checked as the API server checks it (a qualified name)
    const apF = item.child('appProtocol');
    if (apF.present && item.str('appProtocol', { check: qualifiedName }) === undefined) itemOk = false;
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
    const targetPort = target.value ?? port;
    ports.push({ field: item, name: portName, protocol, port, targetPort, givenNodePort, nodePortField: npF });
  }
  return { ports, ok };
}

function parseIpList(spec: Field, path: string, example: string): { ips: number[]; ok: boolean } {
  const items = spec.list(path, { itemName: 'address', plural: 'addresses' });
  if (items === undefined) return { ips: [], ok: !spec.child(path).present };
  const ips: number[] = [];
  let ok = true;
  for (const item of items) {
    const raw = item.raw();
    if (isIpv6Text(raw)) {
      ipv6Half(item, raw);
      continue;
    }
    // externalIPs: validateNonSpecialIP, as the API server checks them
    const ip = nonSpecialIpv4(item, example);
    if (ip === undefined) ok = false;
    else ips.push(ip);
  }
  return { ips, ok };
}

const SOURCE_RANGE_EXPECTED = 'a CIDR like 203.0.113.0/24';

function parseSourceRanges(spec: Field): { ranges: Cidr[]; ok: boolean } {
  const items = spec.list('loadBalancerSourceRanges', { itemName: 'CIDR' });
  if (items === undefined) return { ranges: [], ok: !spec.child('loadBalancerSourceRanges').present };
  const ranges: Cidr[] = [];
  let ok = true;
  for (const item of items) {
    const raw = item.raw();
    if (typeof raw !== 'string') {
      item.typeError(SOURCE_RANGE_EXPECTED);
      ok = false;
      continue;
    }
    // The API server trims each entry (a leftover of the comma-separated annotation this field
    // replaced), and so does kube-proxy (MapCIDRsByIPFamily): " 10.0.0.0/8 " is 10.0.0.0/8.
    const v = raw.trim();
    if (isIpv6Text(v)) {
      ipv6Half(item, v);
      continue;
    }
    const r = parseCidrSloppy(v);
    if (r === undefined) {
      item.typeError(SOURCE_RANGE_EXPECTED);
      ok = false;
      continue;
    }
    // A legacy CIDR field: the API server accepts (and warns about) these forms; kube-proxy
    // parses them with ParseCIDRSloppy, which reads leading zeros as decimal and clears host bits.
    if (r.hostBits || r.leadingZeros) {
      const what = r.hostBits
        ? `has bits set beyond the prefix length, read as ${cidrText(r.cidr)}`
        : `has leading zeros, read as ${cidrText(r.cidr)} (decimal, not octal)`;
      item.notice(
        `non-standard CIDR ${quote(v)} ${what}, as kube-proxy reads it (ParseCIDRSloppy); ` +
          'the API server accepts it in this legacy field with a warning',
      );
    }
    ranges.push(r.cidr);
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
    const rawIp = ipF.raw();
    if (isIpv6Text(rawIp)) {
      ipv6Half(ipF, rawIp);
      continue;
    }
    const ip = ipv4Only(ipF, '192.0.2.10');
    if (ip === undefined) ok = false;
    else ips.push(ip);
  }
  return { ips, ok };
}

function readService(obj: ObjectInput, state: LoadState): ServiceDraft | undefined {
  const root = obj.root;
  const meta = readMetadata(obj, state, {
    name: { check: dns1035Label, required: { expected: 'the Service name (a DNS-1035 label)' } },
    namespace: true,
    labels: true,
  });
  let valid = meta.valid;

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

  // IP families: IPv4 first; a second family (IPv6) is the dual-stack half podnet does not run.
  (spec.list('ipFamilies') ?? []).forEach((item, i) => {
    const v = item.raw();
    if (v === 'IPv6' && i > 0) {
      item.notice("the IPv6 family is ignored, as kube-proxy's IPv4 proxier ignores it (podnet runs the IPv4 half)");
    } else if (v === 'IPv6') {
      item.error('expected "IPv4", got "IPv6": podnet is IPv4-only (an IPv6-primary Service cannot be modelled)');
      valid = false;
    } else if (v !== 'IPv4') {
      item.typeError('"IPv4" (podnet is IPv4-only)');
      valid = false;
    }
  });
  if (spec.child('ipFamilies').present && !spec.child('ipFamilies').isList) valid = false;
  const policyF = spec.child('ipFamilyPolicy');
  const policy = spec.oneOf('ipFamilyPolicy', ['SingleStack', 'PreferDualStack', 'RequireDualStack'] as const);
  if (policyF.present && policy === undefined) valid = false;
  if (policy === 'RequireDualStack') {
    policyF.notice('RequireDualStack: podnet runs the IPv4 half of the Service (its IPv6 half is not modelled)');
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
  const externallyReachable =
    type === 'NodePort' || type === 'LoadBalancer' || (type === 'ClusterIP' && ext.ips.length > 0);

  const ranges = parseSourceRanges(spec);
  if (!ranges.ok) valid = false;
  if (
    knownType !== undefined &&
    knownType !== 'LoadBalancer' &&
    spec.child('loadBalancerSourceRanges').present &&
    ranges.ranges.length > 0
  ) {
    spec
      .child('loadBalancerSourceRanges')
      .error(`loadBalancerSourceRanges applies only to Services of type LoadBalancer; this one is ${knownType}`);
    valid = false;
  }

  const etpF = spec.child('externalTrafficPolicy');
  const etp = spec.oneOf('externalTrafficPolicy', ['Cluster', 'Local'] as const, { default: 'Cluster' });
  if (etp === undefined) valid = false;
  else if (etpF.present && knownType !== undefined && !externallyReachable) {
    etpF.error(
      `externalTrafficPolicy applies only to Services reachable from outside (type NodePort or LoadBalancer, or with externalIPs); this one is ${knownType}`,
    );
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
  if (
    givenHealthCheckNodePort !== undefined &&
    knownType !== undefined &&
    etp !== undefined &&
    !(knownType === 'LoadBalancer' && etp === 'Local')
  ) {
    hcF.error(
      `healthCheckNodePort is used only by LoadBalancer Services with externalTrafficPolicy Local; this one is ${knownType} with ${etp}`,
    );
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
    const check = (s: string): string | undefined =>
      dnsSubdomain(s.endsWith('.') ? s.slice(0, -1) : s) === undefined
        ? undefined
        : 'a DNS name such as db.example.com';
    externalName = spec.str('externalName', {
      required: true,
      check,
      expected: 'a DNS name such as db.example.com (required for type ExternalName)',
    });
    if (externalName === undefined) valid = false;
  }

  const publish = spec.bool('publishNotReadyAddresses', { default: false });
  if (publish === undefined) valid = false;

  const status = type === 'LoadBalancer' ? parseStatusIPs(root) : { ips: [], ok: true };
  if (!status.ok) valid = false;

  const rawName = meta.name;
  if (rawName === undefined) return undefined;
  const namespace = meta.namespace;
  return {
    namespace,
    name: rawName,
    key: `${namespace}/${rawName}`,
    label: obj.label,
    nameField: meta.nameField,
    source: obj.source,
    origin: obj.origin,
    labels: meta.labels ?? {},
    valid,
    type,
    typeField,
    headless,
    givenIP,
    givenIPField: cip.field,
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
    allocateLoadBalancerNodePorts: alb ?? true,
    externalName,
    publishNotReadyAddresses: publish ?? false,
    statusIPs: status.ips,
  };
}
