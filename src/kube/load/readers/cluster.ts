/**
 * podnet `Cluster` (podnet.dev/v1alpha1): address plan, flannel settings, underlay, nodes and
 * external hosts. At most one per input; without one the built-in defaults apply, except that an
 * export of a running cluster gives the address plan it shows, and its nodes when it has no Node
 * objects (export-inference.ts: each inferred value with a notice; a field the document gives wins).
 *
 * Defaults (each applied only when the field is absent):
 *   metadata.name podnet · clusterCIDR 10.244.0.0/16 · serviceCIDR 10.96.0.0/12 · nodeCIDRMaskSize 24
 *   cni: flannel, vxlan, vni 1, port 8472, hairpinMode true, ipMasq true,
 *        mtu = underlay.mtu − 50 (vxlan) or underlay.mtu (host-gw)
 *   underlay: cidr 172.18.0.0/24, mtu 1500, gateway = the network's first address (.1, as a
 *             Docker/kind network has it; `gateway: none` for no default route) · links: veth 2us, underlay 100us
 *   nodes: 2; node i (0-based): name node<i+1>, ip = underlay network + 2 + i,
 *          podCIDR = next free /nodeCIDRMaskSize subnet of clusterCIDR in node order (node IPAM,
 *          controllers/node-ipam.ts, once the Cluster is read), the labels kubelet sets on its Node
 *          (kubernetes.io/hostname=<name>, kubernetes.io/os=linux, kubernetes.io/arch=amd64 and the
 *          beta.kubernetes.io/os and /arch it still writes; labels given, on the entry or the Node
 *          object, are laid on top), no taints, schedulable.
 *   externalHosts: none; an external host's mtu defaults to the underlay MTU.
 *   nodePortRange: "30000-32767" (kube-apiserver --service-node-port-range; "min-max", inclusive).
 *   loadBalancerPool: none. A CIDR, on or off the underlay, from which LoadBalancer services
 *     without status.loadBalancer.ingress get their address (as MetalLB would hand them out; see
 *     controllers/load-balancer-ip-allocator.ts). It must not overlap clusterCIDR or serviceCIDR,
 *     nor contain a node, an external host or the underlay gateway. Without it such services stay
 *     <pending>.
 *
 * Nodes and Node objects: when the input holds Kubernetes `Node` objects (node.ts) they
 * define the nodes. With a `spec.nodes` list they are merged by name: a field given on both sides
 * must agree (address, podCIDR, a label's value, the taint list, schedulability), else it is an
 * error at the Node object; list entries come first, then Node objects not in the list, in
 * document order. A `spec.nodes` count next to Node objects must equal their number.
 *   underlay: when Node objects bring addresses outside the default underlay and spec.underlay.cidr
 *     is not given, the underlay is the smallest common prefix (a /24 or larger) of all node
 *     addresses, with a notice; its gateway is the prefix's first address, or its last when a
 *     node holds the first, or none when nodes hold both.
 *   control plane: nodes labelled node-role.kubernetes.io/control-plane (or the legacy
 *     node-role.kubernetes.io/master) are the control-plane nodes. When no node is, the first node
 *     is the control-plane: it gets that label, and kubeadm's taint
 *     node-role.kubernetes.io/control-plane:NoSchedule unless its taints are given explicitly (a
 *     `taints:` key on its entry, even `[]`, or a Node object, which always says what its taints
 *     are) or it is the only node (a one-node cluster is untainted, as kind and minikube leave it).
 *   addons: `spec.addons` is `none` or a mapping {kubernetesService, coreDNS, kubeProxy, flannel},
 *     each true by default (see addons.ts for what each adds).
 */
import type {
  AddonsModel,
  Cidr,
  ClusterDnsModel,
  CniModel,
  ExternalHostModel,
  KubeProxyModel,
  LinkDelays,
  PortRangeModel,
  RouteModel,
  SourceRef,
  TaintModel,
  UnderlayModel,
} from '../../model.js';
import { isScalar } from 'yaml';
import { us } from '../../../sim/time.js';
import { Field } from '../field.js';
import { parsePorts, PortScope } from '../ports.js';
import { readName } from '../metadata.js';
import { StateKey, whereText, type KindReader, type LoadState, type ObjectInput } from '../state.js';
import { nodeObjects, nodeObjectsIncomplete, type NodeObjectDraft } from './node.js';
import { cniNotice, inferAddressPlan, nodesFromPods, type InferredPlan } from './export-inference.js';
import { kubeletLabels } from './node.js';
import { parseClusterDns } from './dns.js';
import { parseKubeProxy } from './kube-proxy-config.js';
import { CONTROL_PLANE_LABEL, CONTROL_PLANE_TAINT, LEGACY_MASTER_LABEL, parseTaints, taintText } from './taints.js';
import {
  broadcastOf,
  cidrOf,
  cidrContains,
  cidrsOverlap,
  cidrText,
  dnsLabel,
  formatIpv4,
  labelKey,
  labelValue,
  ordinal,
  parseCidr,
  parseIpv4,
  quote,
} from '../values.js';
import { checkClusterFields } from './own-fields.js';

/** The apiVersion of podnet's Cluster kind. */
export const CLUSTER_API_VERSION = 'podnet.dev/v1alpha1';

/** The built-in cluster settings (see the header). */
export const CLUSTER_DEFAULTS = {
  name: 'podnet',
  clusterCIDR: { addr: 0x0af40000, len: 16 } as Cidr, // 10.244.0.0/16
  serviceCIDR: { addr: 0x0a600000, len: 12 } as Cidr, // 10.96.0.0/12
  nodeCIDRMaskSize: 24,
  underlayCIDR: { addr: 0xac120000, len: 24 } as Cidr, // 172.18.0.0/24
  underlayMtu: 1500,
  nodes: 2,
  vni: 1,
  vxlanPort: 8472,
  vethDelay: us(2),
  underlayDelay: us(100),
  /** Bytes of VXLAN overhead counted against the MTU: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
  vxlanOverhead: 50,
  /** kube-apiserver's default --service-node-port-range. */
  nodePortRange: { min: 30000, max: 32767 } as PortRangeModel,
} as const;

/** Largest node count accepted for `nodes: <count>`: Kubernetes' published limit of 5,000 nodes per cluster. */
export const MAX_NODES = 5000;

/** A node as far as it could be read; fields undefined where the input was invalid. */
export interface NodeDraft {
  readonly name: string;
  readonly index: number;
  ip: number | undefined;
  podCIDR: Cidr | undefined;
  labels: Readonly<Record<string, string>>;
  taints: readonly TaintModel[];
  readonly schedulable: boolean;
  /** Labelled node-role.kubernetes.io/control-plane (given, or the default first node). */
  controlPlane: boolean;
  readonly source: SourceRef | undefined;
}

/** A node without a podCIDR of its own, and where to report that none is left for it. */
export interface PodCidrRequestOf {
  readonly node: NodeDraft;
  readonly name: string;
  readonly at: Field;
}

/** Every addon on (the default) and off (`addons: none`). */
export const ADDONS_ALL: AddonsModel = { kubernetesService: true, coreDNS: true, kubeProxy: true, flannel: true };
/** `addons: none`. */
export const ADDONS_NONE: AddonsModel = { kubernetesService: false, coreDNS: false, kubeProxy: false, flannel: false };

/** The Cluster as read (with the Node objects merged in); fields undefined where the input was invalid. */
export interface ClusterDraft {
  readonly name: string;
  readonly clusterCIDR: Cidr | undefined;
  readonly serviceCIDR: Cidr | undefined;
  readonly nodeCIDRMaskSize: number | undefined;
  readonly cni: CniModel | undefined;
  readonly underlay: UnderlayModel | undefined;
  readonly links: LinkDelays | undefined;
  readonly nodes: readonly NodeDraft[];
  /** False when the node list itself could not be read: references to nodes are not checked. */
  readonly nodesKnown: boolean;
  /** Nodes left to node IPAM for their podCIDR (controllers/node-ipam.ts), in node order. */
  readonly podCIDRRequests: readonly PodCidrRequestOf[];
  /** The podCIDRs nodes claim explicitly. */
  readonly claimedPodCIDRs: readonly Cidr[];
  readonly externalHosts: readonly ExternalHostModel[];
  /** Names of external hosts (including ones with other errors), for reference checks. */
  readonly externalHostNames: ReadonlySet<string>;
  readonly externalHostsKnown: boolean;
  /** undefined when `spec.nodePortRange` is invalid (reported). */
  readonly nodePortRange: PortRangeModel | undefined;
  /** undefined when absent or invalid; `loadBalancerPoolOk` tells which. */
  readonly loadBalancerPool: Cidr | undefined;
  readonly loadBalancerPoolOk: boolean;
  /** spec.dns (cluster domain, upstream table; see dns.ts); undefined when invalid (reported). */
  readonly dns?: ClusterDnsModel | undefined;
  /** spec.kubeProxy and spec.iptables (kube-proxy-config.ts); undefined when invalid (reported). */
  readonly kubeProxy?: KubeProxyModel | undefined;
  /** The Cluster has `spec.kubeProxy` (a kube-proxy ConfigMap in the input is then not read). */
  readonly kubeProxyGiven?: boolean | undefined;
  /** undefined when `spec.addons` is invalid (reported). */
  readonly addons: AddonsModel | undefined;
}

interface ClusterState {
  first: ObjectInput | undefined;
  draft: ClusterDraft | undefined;
}

const CLUSTER = new StateKey<ClusterState>('cluster', () => ({ first: undefined, draft: undefined }));

/** The resolved cluster (once `resolveCluster` has run). */
export function clusterDraft(state: LoadState): ClusterDraft | undefined {
  return state.get(CLUSTER).draft;
}

/** Reads Cluster documents (at most one); the Cluster is resolved once the Node objects are read too. */
export const clusterKind: KindReader = {
  kind: 'Cluster',
  apiVersions: [CLUSTER_API_VERSION],
  namespaced: false,
  read(obj, state) {
    const s = state.get(CLUSTER);
    if (s.first !== undefined) {
      obj.root.error(
        `only one Cluster document is allowed; ${s.first.label} is already defined at ${whereText(s.first.source, obj.source.file)}`,
      );
      return;
    }
    s.first = obj;
  },
};

/**
 * Reads the Cluster document (or the defaults) with the Node objects merged in; `clusterDraft`
 * then. What the document leaves out of the address plan, and the nodes of an export without Node
 * objects, are inferred from the input (export-inference.ts).
 */
export function resolveCluster(state: LoadState): ClusterDraft {
  const s = state.get(CLUSTER);
  const doc = s.first?.root;
  const { objects, inferred } = inferFromInput(state, doc);
  if (doc !== undefined) {
    const draft = parseCluster(doc, objects, inferred);
    s.draft = nodeObjectsIncomplete(state) || state.mayHaveBrokenKind('Node') ? { ...draft, nodesKnown: false } : draft;
    return s.draft;
  }
  const defaults = parseCluster(Field.detached(state.sink, '<defaults>', 'Cluster podnet'), objects, inferred);
  // A Cluster (or Node) in a document that could not be read: the nodes are unknown, so skip node checks.
  const unknown = state.mayHaveBrokenKind('Cluster') || state.mayHaveBrokenKind('Node') || nodeObjectsIncomplete(state);
  const externalHostsKnown = state.mayHaveBrokenKind('Cluster') ? false : defaults.externalHostsKnown;
  s.draft = unknown ? { ...defaults, nodesKnown: false, externalHostsKnown } : defaults;
  return s.draft;
}

/** The Node objects (or the nodes an export's pods name) and the address plan the input shows. */
function inferFromInput(
  state: LoadState,
  doc: Field | undefined,
): { objects: readonly NodeObjectDraft[]; inferred: InferredPlan } {
  const given = nodeObjects(state);
  const docMask = doc?.raw('spec.nodeCIDRMaskSize');
  const docCidr = doc?.rawStr('spec.clusterCIDR');
  const parsedCidr = docCidr !== undefined ? parseCidr(docCidr) : undefined;
  const objects =
    given.length > 0 || nodeObjectsIncomplete(state)
      ? given
      : nodesFromPods(
          state,
          doc,
          typeof docMask === 'number' ? docMask : CLUSTER_DEFAULTS.nodeCIDRMaskSize,
          parsedCidr?.ok === true ? parsedCidr.cidr : undefined,
        );
  const plan = inferAddressPlan(state, doc, objects, CLUSTER_DEFAULTS);
  const cniBackend = cniNotice(state, doc);
  return { objects, inferred: { ...plan, cniBackend } };
}

/** Reports ip problems relative to a subnet (outside, network or broadcast address). */
function checkHostAddress(f: Field, ip: number, net: Cidr, netName: string): boolean {
  const ipText = formatIpv4(ip);
  if (!cidrContains(net, ip)) {
    f.error(`${ipText} is outside the ${netName} ${cidrText(net)}`);
    return false;
  }
  if (ip === net.addr) {
    f.error(`${ipText} is the network address of the ${netName} ${cidrText(net)}`);
    return false;
  }
  if (ip === broadcastOf(net)) {
    f.error(`${ipText} is the broadcast address of the ${netName} ${cidrText(net)}`);
    return false;
  }
  return true;
}

/** The first present field, for reporting problems that involve defaults. */
function firstPresent(...fields: Field[]): Field | undefined {
  return fields.find((f) => f.present);
}

function defaultNote(f: Field): string {
  return f.present ? '' : ' (default)';
}

/**
 * Parses and validates a Cluster document (or, for a detached root, builds the defaults) with the input's Node objects.
 */
export function parseCluster(
  root: Field,
  objects: readonly NodeObjectDraft[] = [],
  inferred: InferredPlan = {},
): ClusterDraft {
  const name = readName(root, { check: dnsLabel }) ?? CLUSTER_DEFAULTS.name;
  checkClusterFields(root);
  const spec = root.child('spec');

  // Address plan.
  const ccF = spec.child('clusterCIDR');
  const scF = spec.child('serviceCIDR');
  const maskF = spec.child('nodeCIDRMaskSize');
  const clusterCIDR = spec.cidr('clusterCIDR', { default: inferred.clusterCIDR ?? CLUSTER_DEFAULTS.clusterCIDR });
  const serviceCIDR = spec.cidr('serviceCIDR', { default: inferred.serviceCIDR ?? CLUSTER_DEFAULTS.serviceCIDR });
  let mask: number | undefined;
  if (maskF.present) {
    const min = clusterCIDR?.len ?? 0;
    const v = maskF.raw();
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= 30) mask = v;
    else
      maskF.typeError(
        clusterCIDR !== undefined
          ? `an integer ${min}–30 (from the clusterCIDR prefix length /${min} up to 30)`
          : 'an integer 0–30',
      );
  } else {
    mask = inferred.nodeCIDRMaskSize ?? CLUSTER_DEFAULTS.nodeCIDRMaskSize;
    if (clusterCIDR !== undefined && clusterCIDR.len > mask) {
      ccF.error(
        `clusterCIDR ${cidrText(clusterCIDR)} is smaller than one node subnet (nodeCIDRMaskSize defaults to ${mask}); set spec.nodeCIDRMaskSize to ${clusterCIDR.len <= 30 ? `${clusterCIDR.len}–30` : 'at most 30 and widen clusterCIDR'}`,
      );
      mask = undefined;
    }
  }
  if (clusterCIDR !== undefined && clusterCIDR.len > 30 && maskF.present) {
    ccF.error(`clusterCIDR ${cidrText(clusterCIDR)} leaves no room for node subnets; use a prefix of /30 or shorter`);
  }

  // Underlay.
  const u = spec.child('underlay');
  const ucF = u.child('cidr');
  let underlayCidr = u.cidr('cidr', { default: CLUSTER_DEFAULTS.underlayCIDR });
  if (underlayCidr !== undefined && underlayCidr.len > 30) {
    ucF.error(`expected a prefix of /30 or shorter so nodes have addresses, got /${underlayCidr.len}`);
    underlayCidr = undefined;
  }
  const derived = !ucF.present && underlayCidr !== undefined ? deriveUnderlay(spec, objects, underlayCidr) : undefined;
  if (derived !== undefined) underlayCidr = derived.cidr;
  const underlayMtu = u.int('mtu', 576, 9000, { default: CLUSTER_DEFAULTS.underlayMtu });
  const gwF = u.child('gateway');
  const noGateway = gwF.present && gwF.node !== undefined && isScalar(gwF.node) && gwF.node.value === 'none';
  let gateway = noGateway
    ? undefined
    : gwF.present
      ? u.ipv4('gateway')
      : derived !== undefined
        ? derived.gateway
        : underlayCidr !== undefined
          ? (underlayCidr.addr + 1) >>> 0
          : undefined;
  if (
    gateway !== undefined &&
    gwF.present &&
    underlayCidr !== undefined &&
    !checkHostAddress(gwF, gateway, underlayCidr, 'underlay')
  )
    gateway = undefined;
  const gatewayOk = !gwF.present || noGateway || gateway !== undefined;
  const underlay: UnderlayModel | undefined =
    underlayCidr !== undefined && underlayMtu !== undefined && gatewayOk
      ? { cidr: underlayCidr, mtu: underlayMtu, gateway }
      : undefined;

  // CNI.
  const c = spec.child('cni');
  const plugin = c.oneOf('plugin', ['flannel'] as const, { default: 'flannel' });
  const backend = c.oneOf('backend', ['vxlan', 'host-gw'] as const, { default: inferred.cniBackend ?? 'vxlan' });
  const vni = c.int('vni', 1, 16777215, { default: CLUSTER_DEFAULTS.vni });
  const port = c.int('port', 1, 65535, { default: CLUSTER_DEFAULTS.vxlanPort });
  const hairpinMode = c.bool('hairpinMode', { default: true });
  const ipMasq = c.bool('ipMasq', { default: true });
  const mtuF = c.child('mtu');
  let cniMtu: number | undefined;
  if (mtuF.present) {
    cniMtu = c.int('mtu', 576, 9000);
    if (cniMtu !== undefined && underlayMtu !== undefined && backend !== undefined) {
      const limit = backend === 'vxlan' ? underlayMtu - CLUSTER_DEFAULTS.vxlanOverhead : underlayMtu;
      if (cniMtu > limit) {
        mtuF.error(
          backend === 'vxlan'
            ? `${cniMtu} does not fit the vxlan backend: at most ${limit} (underlay mtu ${underlayMtu}${defaultNote(u.child('mtu'))} − ${CLUSTER_DEFAULTS.vxlanOverhead} bytes of VXLAN encapsulation)`
            : `${cniMtu} does not fit the host-gw backend: at most the underlay mtu ${underlayMtu}${defaultNote(u.child('mtu'))}`,
        );
        cniMtu = undefined;
      }
    }
  } else if (underlayMtu !== undefined && backend !== undefined) {
    cniMtu = backend === 'vxlan' ? underlayMtu - CLUSTER_DEFAULTS.vxlanOverhead : underlayMtu;
  }
  const cni: CniModel | undefined =
    plugin !== undefined &&
    backend !== undefined &&
    vni !== undefined &&
    port !== undefined &&
    hairpinMode !== undefined &&
    ipMasq !== undefined &&
    cniMtu !== undefined
      ? { plugin, backend, vni, port, mtu: cniMtu, hairpinMode, ipMasq }
      : undefined;

  // Links.
  const l = spec.child('links');
  const veth = l.duration('veth', { default: CLUSTER_DEFAULTS.vethDelay });
  const wire = l.duration('underlay', { default: CLUSTER_DEFAULTS.underlayDelay });
  const links: LinkDelays | undefined = veth !== undefined && wire !== undefined ? { veth, underlay: wire } : undefined;

  // Overlaps between the three address ranges.
  if (clusterCIDR !== undefined && serviceCIDR !== undefined && cidrsOverlap(clusterCIDR, serviceCIDR)) {
    (firstPresent(scF, ccF) ?? spec).error(
      `serviceCIDR ${cidrText(serviceCIDR)}${defaultNote(scF)} overlaps clusterCIDR ${cidrText(clusterCIDR)}${defaultNote(ccF)}`,
    );
  }
  if (underlayCidr !== undefined) {
    if (clusterCIDR !== undefined && cidrsOverlap(clusterCIDR, underlayCidr)) {
      (firstPresent(ucF, ccF) ?? spec).error(
        `underlay cidr ${cidrText(underlayCidr)}${defaultNote(ucF)} overlaps clusterCIDR ${cidrText(clusterCIDR)}${defaultNote(ccF)}`,
      );
    }
    if (serviceCIDR !== undefined && cidrsOverlap(serviceCIDR, underlayCidr)) {
      (firstPresent(ucF, scF) ?? spec).error(
        `underlay cidr ${cidrText(underlayCidr)}${defaultNote(ucF)} overlaps serviceCIDR ${cidrText(serviceCIDR)}${defaultNote(scF)}`,
      );
    }
  }

  const { nodes, nodesKnown, podCIDRRequests, claimedPodCIDRs } = parseNodes(
    root,
    spec,
    clusterCIDR,
    mask,
    underlayCidr,
    gateway,
    objects,
  );
  const ext = parseExternalHosts(spec, underlayCidr, underlayMtu, gateway, nodes);
  const nodePortRange = parseNodePortRange(spec, inferred.nodePortRange);
  const pool = parseLoadBalancerPool(spec, { clusterCIDR, serviceCIDR, gateway, nodes, hosts: ext.hosts });
  const addons = parseAddons(spec);

  return {
    name,
    clusterCIDR,
    serviceCIDR,
    nodeCIDRMaskSize: mask,
    cni,
    underlay,
    links,
    nodes,
    nodesKnown,
    podCIDRRequests,
    claimedPodCIDRs,
    externalHosts: ext.hosts,
    externalHostNames: ext.names,
    externalHostsKnown: ext.known,
    nodePortRange,
    loadBalancerPool: pool,
    loadBalancerPoolOk: pool !== undefined || !spec.child('loadBalancerPool').present,
    dns: parseClusterDns(spec),
    kubeProxy: parseKubeProxy(spec, clusterCIDR),
    kubeProxyGiven: spec.child('kubeProxy').present,
    addons,
  };
}

const ADDON_KEYS = ['kubernetesService', 'coreDNS', 'kubeProxy', 'flannel'] as const;
const ADDONS_EXPECTED = `"none", or a mapping of ${ADDON_KEYS.join(', ')} to true or false`;

/** `spec.addons`: `none`, or a mapping of switches (each default true). */
function parseAddons(spec: Field): AddonsModel | undefined {
  const f = spec.child('addons');
  if (!f.present) return ADDONS_ALL;
  const v = f.raw();
  if (v === 'none') return ADDONS_NONE;
  if (!f.isMap) return f.typeError(ADDONS_EXPECTED);
  const out: Record<(typeof ADDON_KEYS)[number], boolean> = { ...ADDONS_ALL };
  let ok = true;
  for (const k of ADDON_KEYS) {
    const b = f.bool(k, { default: true });
    if (b === undefined) ok = false;
    else out[k] = b;
  }
  return ok ? out : undefined;
}

/**
 * The underlay derived from Node objects' addresses when one lies outside the default underlay
 * (see the header): the longest common prefix of every node address, at most /24.
 */
function deriveUnderlay(
  spec: Field,
  objects: readonly NodeObjectDraft[],
  defaultCidr: Cidr,
): { cidr: Cidr; gateway: number | undefined } | undefined {
  const outside = objects.find((o) => o.ip !== undefined && !cidrContains(defaultCidr, o.ip));
  const anchor = outside?.ip;
  if (outside === undefined || anchor === undefined) return undefined;
  const ips: number[] = objects.flatMap((o) => (o.ip !== undefined ? [o.ip] : []));
  const listed = spec.child('nodes');
  if (listed.isList) {
    for (const item of listed.list('') ?? []) {
      const text = item.rawStr('ip');
      const ip = text !== undefined ? parseIpv4(text) : undefined;
      if (ip !== undefined) ips.push(ip);
    }
  }
  let len = 24;
  while (len > 0 && !ips.every((ip) => cidrContains(cidrOf(anchor, len), ip))) len--;
  const cidr = cidrOf(anchor, len);
  const taken = new Set(ips);
  const gateway = [(cidr.addr + 1) >>> 0, broadcastOf(cidr) - 1].find((g) => !taken.has(g));
  outside.ipField?.objectNotice(
    `underlay ${cidrText(cidr)} derived from the Node addresses (${formatIpv4(anchor)} is outside the default ${cidrText(defaultCidr)}; set the Cluster's spec.underlay.cidr to choose it)${gateway !== undefined ? `, gateway ${formatIpv4(gateway)}` : ', no gateway'}`,
  );
  return { cidr, gateway };
}

const PORT_RANGE_EXPECTED = 'a port range "min-max" such as "30000-32767" (1 ≤ min ≤ max ≤ 65535)';

/** `spec.nodePortRange`: "min-max", inclusive, as kube-apiserver's --service-node-port-range. */
function parseNodePortRange(spec: Field, inferred: PortRangeModel | undefined): PortRangeModel | undefined {
  const f = spec.child('nodePortRange');
  if (!f.present) return inferred ?? CLUSTER_DEFAULTS.nodePortRange;
  const v = f.raw();
  const m = typeof v === 'string' ? /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(v) : null;
  const min = Number(m?.[1]);
  const max = Number(m?.[2]);
  if (m === null || !(min >= 1 && min <= max && max <= 65535)) return f.typeError(PORT_RANGE_EXPECTED);
  return { min, max };
}

/** `spec.loadBalancerPool`: a CIDR clear of the pod and service networks and of every host address. */
function parseLoadBalancerPool(
  spec: Field,
  ctx: {
    readonly clusterCIDR: Cidr | undefined;
    readonly serviceCIDR: Cidr | undefined;
    readonly gateway: number | undefined;
    readonly nodes: readonly NodeDraft[];
    readonly hosts: readonly ExternalHostModel[];
  },
): Cidr | undefined {
  const f = spec.child('loadBalancerPool');
  const pool = spec.cidr('loadBalancerPool');
  if (pool === undefined) return undefined;
  const text = cidrText(pool);
  const problems: string[] = [];
  if (ctx.clusterCIDR !== undefined && cidrsOverlap(pool, ctx.clusterCIDR))
    problems.push(`overlaps clusterCIDR ${cidrText(ctx.clusterCIDR)}`);
  if (ctx.serviceCIDR !== undefined && cidrsOverlap(pool, ctx.serviceCIDR))
    problems.push(`overlaps serviceCIDR ${cidrText(ctx.serviceCIDR)}`);
  const holders: Array<[number | undefined, string]> = [
    ...ctx.nodes.map((n): [number | undefined, string] => [n.ip, `node ${n.name}`]),
    ...ctx.hosts.map((h): [number | undefined, string] => [h.ip, `external host ${h.name}`]),
    [ctx.gateway, 'the underlay gateway'],
  ];
  for (const [ip, who] of holders) {
    if (ip !== undefined && cidrContains(pool, ip)) problems.push(`contains ${formatIpv4(ip)}, the address of ${who}`);
  }
  if (problems.length === 0) return pool;
  f.error(`loadBalancerPool ${text} ${problems.join('; ')}; choose addresses no host uses`);
  return undefined;
}

function parseNodes(
  root: Field,
  spec: Field,
  clusterCIDR: Cidr | undefined,
  mask: number | undefined,
  underlayCidr: Cidr | undefined,
  gateway: number | undefined,
  objects: readonly NodeObjectDraft[],
): { nodes: NodeDraft[]; nodesKnown: boolean; podCIDRRequests: PodCidrRequestOf[]; claimedPodCIDRs: Cidr[] } {
  const nodesF = spec.child('nodes');
  let items: Array<Field | undefined>;
  let nodesKnown = true;
  if (!nodesF.present) {
    items = objects.length > 0 ? [] : Array.from({ length: CLUSTER_DEFAULTS.nodes }, () => undefined);
  } else if (nodesF.isList) {
    const list = spec.list('nodes', { itemName: 'node', nonEmpty: true });
    if (list === undefined) {
      items = [];
      nodesKnown = false;
    } else items = list;
  } else if (typeof nodesF.raw() === 'number') {
    const n = spec.int('nodes', 1, MAX_NODES);
    if (n === undefined) {
      items = [];
      nodesKnown = false;
    } else if (objects.length > 0) {
      // Node objects define the nodes; a count must agree with them.
      if (n !== objects.length) {
        const names = objects.map((o) => o.name);
        nodesF.error(
          `${n} node${n === 1 ? '' : 's'}, but ${objects.length} Node object${objects.length === 1 ? ' defines' : 's define'} the nodes (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}); remove spec.nodes or list the nodes by name`,
        );
      }
      items = [];
    } else items = Array.from({ length: n }, () => undefined);
  } else {
    nodesF.typeError(`a node count (1–${MAX_NODES}) or a list of nodes`);
    items = [];
    nodesKnown = false;
  }

  // Entries: the Cluster's nodes, with Node objects merged in by name, then the other Node objects.
  const entries: Array<{ item: Field | undefined; obj: NodeObjectDraft | undefined }> = items.map((item) => ({
    item,
    obj: undefined,
  }));
  for (const obj of objects) {
    const twin = entries.find(
      (e) => e.obj === undefined && e.item !== undefined && e.item.isMap && e.item.rawStr('name') === obj.name,
    );
    if (twin !== undefined) twin.obj = obj;
    else entries.push({ item: undefined, obj });
  }

  /** Where to report a problem with node i when it has no item of its own. */
  const anchorFor = (item: Field | undefined): Field =>
    item ?? firstPresent(nodesF, spec.child('underlay').child('cidr'), spec.child('clusterCIDR'), spec) ?? root;

  const nodes: NodeDraft[] = [];
  const byName = new Map<string, string>();
  const byIp = new Map<number, string>();
  const explicitCidrs: Array<{ cidr: Cidr; node: string }> = [];
  const needsDefaultCidr: NodeDraft[] = [];
  const anchors = new Map<NodeDraft, Field>();
  const taintsGiven = new Set<NodeDraft>();
  // Nodes whose default address falls outside the underlay, reported once for all of them.
  const noAddress: Array<{ name: string; candidate: number; offset: number; at: Field }> = [];

  entries.forEach(({ item, obj }, i) => {
    const at = item !== undefined ? anchorFor(item) : (obj?.nameField ?? anchorFor(undefined));
    const isItemMap = item?.isMap;
    if (item !== undefined && !isItemMap) {
      item.typeError('a mapping (a node with name, ip, podCIDR, labels, taints, schedulable)');
    }
    const f = isItemMap ? item : undefined;
    const inCluster = (field: Field): string =>
      `the Cluster's ${field.path} (${whereText(field.source(), obj?.source.file ?? field.ctx.file)})`;

    // Name.
    const nameF = f?.child('name');
    const rawName = f?.rawStr('name') ?? obj?.name;
    f?.str('name', { check: dnsLabel });
    const name = rawName ?? `node${i + 1}`;
    const prev = byName.get(name);
    if (prev !== undefined) {
      if (nameF?.present === true) nameF.error(`duplicate node name ${quote(name)} (also ${prev})`);
      else if (obj !== undefined) obj.nameField.error(`node name ${quote(name)} is already used by ${prev}`);
      else
        at.error(`the ${ordinal(i + 1)} node's default name ${quote(name)} is already used by ${prev}; give it a name`);
    } else
      byName.set(
        name,
        obj !== undefined && item === undefined ? obj.label : nodesF.isList ? `spec.nodes[${i}]` : `node ${i + 1}`,
      );

    // Underlay address: the entry's, the Node object's (they must agree), or the default.
    const ipF = f?.child('ip');
    let ip: number | undefined;
    let ipWhere: Field | undefined;
    if (ipF?.present === true) {
      ip = ipF.ipv4('');
      ipWhere = ipF;
      if (ip !== undefined && obj?.ip !== undefined && obj.ipField !== undefined && obj.ip !== ip) {
        obj.ipField.error(`InternalIP ${formatIpv4(obj.ip)} conflicts with ${inCluster(ipF)}, ${formatIpv4(ip)}`);
        ip = undefined;
      }
    } else if (obj?.ip !== undefined && obj.ipField !== undefined) {
      ip = obj.ip;
      ipWhere = obj.ipField;
    } else if (underlayCidr !== undefined) {
      const candidate = (underlayCidr.addr + 2 + i) >>> 0;
      if (!cidrContains(underlayCidr, candidate) || candidate === broadcastOf(underlayCidr)) {
        noAddress.push({ name, candidate, offset: 2 + i, at });
      } else ip = candidate;
    }
    if (
      ip !== undefined &&
      ipWhere !== undefined &&
      underlayCidr !== undefined &&
      !checkHostAddress(ipWhere, ip, underlayCidr, 'underlay')
    )
      ip = undefined;
    if (ip !== undefined) {
      const where = ipWhere ?? at;
      const other = byIp.get(ip);
      if (other !== undefined) {
        where.error(
          `address ${formatIpv4(ip)}${ipWhere !== undefined ? '' : ' (default)'} of node ${name} is already used by ${other}`,
        );
        ip = undefined;
      } else if (gateway !== undefined && ip === gateway) {
        where.error(
          `address ${formatIpv4(ip)}${ipWhere !== undefined ? '' : ' (default)'} of node ${name} is the underlay gateway`,
        );
        ip = undefined;
      } else byIp.set(ip, `node ${name}`);
    }

    // Pod subnet (explicit ones now, defaults after all explicit claims are known).
    const pcF = f?.child('podCIDR');
    let podCIDR: Cidr | undefined;
    let pcWhere: Field | undefined;
    if (pcF?.present === true) {
      podCIDR = pcF.cidr('');
      pcWhere = pcF;
      if (
        podCIDR !== undefined &&
        obj?.podCIDR !== undefined &&
        obj.podCIDRField !== undefined &&
        (obj.podCIDR.addr !== podCIDR.addr || obj.podCIDR.len !== podCIDR.len)
      ) {
        obj.podCIDRField.error(
          `podCIDR ${cidrText(obj.podCIDR)} conflicts with ${inCluster(pcF)}, ${cidrText(podCIDR)}`,
        );
        podCIDR = undefined;
      }
    } else if (obj?.podCIDR !== undefined && obj.podCIDRField !== undefined) {
      podCIDR = obj.podCIDR;
      pcWhere = obj.podCIDRField;
    }
    if (podCIDR !== undefined && pcWhere !== undefined) {
      if (clusterCIDR !== undefined && !(podCIDR.len >= clusterCIDR.len && cidrContains(clusterCIDR, podCIDR.addr))) {
        pcWhere.error(`${cidrText(podCIDR)} is outside clusterCIDR ${cidrText(clusterCIDR)}`);
        podCIDR = undefined;
      } else if (mask !== undefined && podCIDR.len !== mask) {
        pcWhere.error(
          `expected a /${mask} prefix (nodeCIDRMaskSize ${mask}${defaultNote(spec.child('nodeCIDRMaskSize'))}), got ${cidrText(podCIDR)}`,
        );
        podCIDR = undefined;
      }
      if (podCIDR !== undefined) {
        const clash = explicitCidrs.find((e) => cidrsOverlap(e.cidr, podCIDR as Cidr));
        if (clash !== undefined) {
          pcWhere.error(`${cidrText(podCIDR)} overlaps podCIDR ${cidrText(clash.cidr)} of node ${clash.node}`);
          podCIDR = undefined;
        } else explicitCidrs.push({ cidr: podCIDR, node: name });
      }
    }

    // Labels (defaults, the entry's, the Node object's), taints, schedulability.
    const userLabels = f?.stringMap('labels', labelKey, labelValue) ?? {};
    // kubelet's initialNode labels (GA and the beta ones it still sets); the input's win.
    const labels: Record<string, string> = { ...kubeletLabels(name), ...userLabels };
    if (obj !== undefined) {
      for (const [k, v] of Object.entries(obj.labels)) {
        const mine = userLabels[k];
        if (mine !== undefined && mine !== v) {
          obj.labelsField
            .child(k)
            .error(`label ${k}=${quote(v)} conflicts with ${inCluster(f?.child('labels') ?? at)}, ${quote(mine)}`);
          continue;
        }
        labels[k] = v;
      }
    }
    const itemTaintsF = f?.child('taints');
    const itemTaints = f !== undefined ? parseTaints(f) : [];
    let taints: readonly TaintModel[] = itemTaints;
    if (obj !== undefined) {
      if (itemTaintsF?.present === true) {
        const key = (ts: readonly TaintModel[]): string => ts.map(taintText).sort().join(', ');
        if (key(itemTaints) !== key(obj.taints)) {
          (obj.taintsField.present ? obj.taintsField : obj.nameField).error(
            `taints [${obj.taints.map(taintText).join(', ')}] conflict with ${inCluster(itemTaintsF)}, [${itemTaints.map(taintText).join(', ')}]`,
          );
        }
      } else taints = obj.taints;
    }
    const itemSched = f?.bool('schedulable');
    const objSched = obj?.unschedulable !== undefined ? !obj.unschedulable : undefined;
    if (itemSched !== undefined && objSched !== undefined && itemSched !== objSched && obj !== undefined) {
      obj.unschedulableField.error(
        `unschedulable: ${String(!objSched)} conflicts with ${inCluster(f?.child('schedulable') ?? at)}, schedulable: ${String(itemSched)}`,
      );
    }
    const schedulable = itemSched ?? objSched ?? true;

    const node: NodeDraft = {
      name,
      index: i,
      ip,
      podCIDR,
      labels,
      taints,
      schedulable,
      controlPlane: false,
      source:
        obj !== undefined
          ? obj.source
          : item?.present === true
            ? item.source()
            : nodesF.present
              ? nodesF.source()
              : undefined,
    };
    nodes.push(node);
    anchors.set(node, at);
    if (itemTaintsF?.present === true || obj !== undefined) taintsGiven.add(node);
    if (podCIDR === undefined && pcF?.present !== true && obj?.podCIDRField === undefined) needsDefaultCidr.push(node);
  });

  // The control plane (see the header).
  const labelled = (n: NodeDraft): boolean => CONTROL_PLANE_LABEL in n.labels || LEGACY_MASTER_LABEL in n.labels;
  const first = nodes[0];
  if (first !== undefined && !nodes.some(labelled)) {
    first.labels = { ...first.labels, [CONTROL_PLANE_LABEL]: '' };
    if (!taintsGiven.has(first) && nodes.length > 1) first.taints = [...first.taints, CONTROL_PLANE_TAINT];
  }
  for (const n of nodes) n.controlPlane = labelled(n);

  const firstNoAddress = noAddress[0];
  if (firstNoAddress !== undefined && underlayCidr !== undefined) {
    const more = noAddress.length - 1;
    firstNoAddress.at.error(
      `no default address for node ${firstNoAddress.name}${more > 0 ? ` and ${more} more node${more === 1 ? '' : 's'}` : ''}: ` +
        `${formatIpv4(firstNoAddress.candidate)} (underlay network + ${firstNoAddress.offset}) is not a host address ` +
        `of the underlay ${cidrText(underlayCidr)}; widen spec.underlay.cidr or set the node's ip`,
    );
  }

  const podCIDRRequests = needsDefaultCidr.map((node) => ({ node, name: node.name, at: anchors.get(node) ?? root }));
  return { nodes, nodesKnown, podCIDRRequests, claimedPodCIDRs: explicitCidrs.map((e) => e.cidr) };
}

function parseExternalHosts(
  spec: Field,
  underlayCidr: Cidr | undefined,
  underlayMtu: number | undefined,
  gateway: number | undefined,
  nodes: readonly NodeDraft[],
): { hosts: ExternalHostModel[]; names: Set<string>; known: boolean } {
  const listF = spec.child('externalHosts');
  const items = spec.list('externalHosts');
  const names = new Set<string>();
  const hosts: ExternalHostModel[] = [];
  if (items === undefined) return { hosts, names, known: !listF.present };
  const nodeIps = new Map<number, string>();
  for (const n of nodes) if (n.ip !== undefined) nodeIps.set(n.ip, `node ${n.name}`);
  const extIps = new Map<number, string>();
  const extNames = new Map<string, string>();
  for (const h of items) {
    if (!h.isMap) {
      h.typeError('a mapping (an external host with name, ip, mtu, routes, ports)');
      continue;
    }
    const rawName = h.rawStr('name');
    const name = h.str('name', { required: true, check: dnsLabel, expected: 'the host name (a DNS-1123 label)' });
    if (rawName !== undefined) names.add(rawName);
    if (name !== undefined) {
      const prev = extNames.get(name);
      if (prev !== undefined) h.child('name').error(`duplicate external host name ${quote(name)} (also ${prev})`);
      else extNames.set(name, h.path);
    }
    const ipF = h.child('ip');
    let ip = h.ipv4('ip', { required: true });
    if (ip !== undefined && underlayCidr !== undefined && !checkHostAddress(ipF, ip, underlayCidr, 'underlay'))
      ip = undefined;
    if (ip !== undefined) {
      const clash = nodeIps.get(ip) ?? extIps.get(ip) ?? (ip === gateway ? 'the underlay gateway' : undefined);
      if (clash !== undefined) {
        ipF.error(`${formatIpv4(ip)} is already used by ${clash}`);
        ip = undefined;
      } else extIps.set(ip, `external host ${name ?? rawName ?? h.path}`);
    }
    const mtu = h.int('mtu', 576, 9000, { default: underlayMtu ?? CLUSTER_DEFAULTS.underlayMtu });
    const routes = parseRoutes(h, underlayCidr, ip);
    const ports = parsePorts(h, 'ports', new PortScope());
    if (name !== undefined && ip !== undefined && mtu !== undefined && routes !== undefined && ports !== undefined) {
      hosts.push({ name, ip, mtu, routes, ports, source: h.source() });
    }
  }
  return { hosts, names, known: true };
}

function parseRoutes(
  host: Field,
  underlayCidr: Cidr | undefined,
  hostIp: number | undefined,
): RouteModel[] | undefined {
  const items = host.list('routes');
  if (items === undefined) return host.child('routes').present ? undefined : [];
  const out: RouteModel[] = [];
  let ok = true;
  for (const r of items) {
    if (!r.isMap) {
      r.typeError('a mapping with to (a CIDR) and via (an address on the underlay)');
      ok = false;
      continue;
    }
    const dst = r.cidr('to', { required: true });
    const viaF = r.child('via');
    let via = r.ipv4('via', { required: true });
    if (via !== undefined && underlayCidr !== undefined && !checkHostAddress(viaF, via, underlayCidr, 'underlay'))
      via = undefined;
    if (via !== undefined && via === hostIp) {
      viaF.error(`${formatIpv4(via)} is this host's own address; a route needs a next hop`);
      via = undefined;
    }
    if (dst === undefined || via === undefined) {
      ok = false;
      continue;
    }
    out.push({ dst, via });
  }
  return ok ? out : undefined;
}
