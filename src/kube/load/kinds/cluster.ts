/**
 * podnet `Cluster` (podnet.dev/v1alpha1): address plan, flannel settings, underlay, nodes and
 * external hosts. At most one per input; without one the built-in defaults apply.
 *
 * Defaults (each applied only when the field is absent):
 *   metadata.name podnet · clusterCIDR 10.244.0.0/16 · serviceCIDR 10.96.0.0/12 · nodeCIDRMaskSize 24
 *   cni: flannel, vxlan, vni 1, port 8472, hairpinMode true, ipMasq true,
 *        mtu = underlay.mtu − 50 (vxlan) or underlay.mtu (host-gw)
 *   underlay: cidr 172.18.0.0/24, mtu 1500, gateway = the network's first address (.1, as a
 *             Docker/kind network has it; `gateway: none` for no default route) · links: veth 2us, underlay 100us
 *   nodes: 2; node i (0-based): name node<i+1>, ip = underlay network + 2 + i,
 *          podCIDR = next free /nodeCIDRMaskSize subnet of clusterCIDR in node order (next-fit,
 *          skipping subnets other nodes claim explicitly), labels kubernetes.io/hostname=<name>
 *          and kubernetes.io/os=linux (given labels are added on top), no taints, schedulable.
 *   externalHosts: none; an external host's mtu defaults to the underlay MTU.
 *   nodePortRange: "30000-32767" (kube-apiserver --service-node-port-range; "min-max", inclusive).
 *   loadBalancerPool: none. A CIDR, on or off the underlay, from which LoadBalancer services
 *     without status.loadBalancer.ingress get their address (as MetalLB would hand them out; see
 *     kinds/service.ts). It must not overlap clusterCIDR or serviceCIDR, nor contain a node, an
 *     external host or the underlay gateway. Without it such services stay <pending>.
 */
import type { Cidr, CniModel, ExternalHostModel, LinkDelays, PortRangeModel, RouteModel, SourceRef, TaintModel, UnderlayModel } from '../../model.js';
import { isScalar } from 'yaml';
import { us } from '../../../sim/time.js';
import { Field } from '../field.js';
import { parsePorts, PortScope } from '../ports.js';
import { StateKey, whereText, type KindHandler, type LoadState, type ObjectInput } from '../state.js';
import {
  broadcastOf,
  cidrContains,
  cidrsOverlap,
  cidrText,
  dnsLabel,
  formatIpv4,
  labelKey,
  labelValue,
  ordinal,
  quote,
} from '../values.js';

export const CLUSTER_API_VERSION = 'podnet.dev/v1alpha1';

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

/** Largest node count accepted for `nodes: <count>`. */
export const MAX_NODES = 1000;

/** A node as far as it could be read; fields undefined where the input was invalid. */
export interface NodeDraft {
  readonly name: string;
  readonly index: number;
  ip: number | undefined;
  podCIDR: Cidr | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly TaintModel[];
  readonly schedulable: boolean;
  readonly source: SourceRef | undefined;
}

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
  readonly externalHosts: readonly ExternalHostModel[];
  /** Names of external hosts (including ones with other errors), for reference checks. */
  readonly externalHostNames: ReadonlySet<string>;
  readonly externalHostsKnown: boolean;
  /** undefined when `spec.nodePortRange` is invalid (reported). */
  readonly nodePortRange: PortRangeModel | undefined;
  /** undefined when absent or invalid; `loadBalancerPoolOk` tells which. */
  readonly loadBalancerPool: Cidr | undefined;
  readonly loadBalancerPoolOk: boolean;
}

interface ClusterState {
  first: ObjectInput | undefined;
  draft: ClusterDraft | undefined;
}

const CLUSTER = new StateKey<ClusterState>('cluster', () => ({ first: undefined, draft: undefined }));

/** The resolved cluster (available from resolve order 10 on). */
export function clusterDraft(state: LoadState): ClusterDraft | undefined {
  return state.get(CLUSTER).draft;
}

export const clusterKind: KindHandler = {
  kind: 'Cluster',
  apiVersions: [CLUSTER_API_VERSION],
  namespaced: false,
  collect(obj, state) {
    const s = state.get(CLUSTER);
    if (s.first !== undefined) {
      obj.root.error(`only one Cluster document is allowed; ${s.first.label} is already defined at ${whereText(s.first.source, obj.source.file)}`);
      return;
    }
    s.first = obj;
    s.draft = parseCluster(obj.root);
  },
  resolve: {
    order: 10,
    run(state) {
      const s = state.get(CLUSTER);
      if (s.draft !== undefined) return;
      const defaults = parseCluster(Field.detached(state.sink, '<defaults>', 'Cluster podnet'));
      // A Cluster in a document that could not be read: its nodes are unknown, so skip node checks.
      const unknown = state.mayHaveBrokenKind('Cluster');
      s.draft = unknown ? { ...defaults, nodesKnown: false, externalHostsKnown: false } : defaults;
    },
  },
};

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

/** Parses and validates a Cluster document (or, for a detached root, builds the defaults). */
export function parseCluster(root: Field): ClusterDraft {
  const name = root.str('metadata.name', { check: dnsLabel, default: CLUSTER_DEFAULTS.name }) ?? CLUSTER_DEFAULTS.name;
  const spec = root.child('spec');

  // Address plan.
  const ccF = spec.child('clusterCIDR');
  const scF = spec.child('serviceCIDR');
  const maskF = spec.child('nodeCIDRMaskSize');
  const clusterCIDR = spec.cidr('clusterCIDR', { default: CLUSTER_DEFAULTS.clusterCIDR });
  const serviceCIDR = spec.cidr('serviceCIDR', { default: CLUSTER_DEFAULTS.serviceCIDR });
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
    mask = CLUSTER_DEFAULTS.nodeCIDRMaskSize;
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
  const underlayMtu = u.int('mtu', 576, 9000, { default: CLUSTER_DEFAULTS.underlayMtu });
  const gwF = u.child('gateway');
  const noGateway = gwF.present && gwF.node !== undefined && isScalar(gwF.node) && gwF.node.value === 'none';
  let gateway = noGateway ? undefined : gwF.present ? u.ipv4('gateway') : underlayCidr !== undefined ? (underlayCidr.addr + 1) >>> 0 : undefined;
  if (gateway !== undefined && gwF.present && underlayCidr !== undefined && !checkHostAddress(gwF, gateway, underlayCidr, 'underlay')) gateway = undefined;
  const gatewayOk = !gwF.present || noGateway || gateway !== undefined;
  const underlay: UnderlayModel | undefined =
    underlayCidr !== undefined && underlayMtu !== undefined && gatewayOk ? { cidr: underlayCidr, mtu: underlayMtu, gateway } : undefined;

  // CNI.
  const c = spec.child('cni');
  const plugin = c.oneOf('plugin', ['flannel'] as const, { default: 'flannel' });
  const backend = c.oneOf('backend', ['vxlan', 'host-gw'] as const, { default: 'vxlan' });
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
    plugin !== undefined && backend !== undefined && vni !== undefined && port !== undefined && hairpinMode !== undefined && ipMasq !== undefined && cniMtu !== undefined
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

  const { nodes, nodesKnown } = parseNodes(root, spec, clusterCIDR, mask, underlayCidr, gateway);
  const ext = parseExternalHosts(spec, underlayCidr, underlayMtu, gateway, nodes);
  const nodePortRange = parseNodePortRange(spec);
  const pool = parseLoadBalancerPool(spec, { clusterCIDR, serviceCIDR, gateway, nodes, hosts: ext.hosts });

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
    externalHosts: ext.hosts,
    externalHostNames: ext.names,
    externalHostsKnown: ext.known,
    nodePortRange,
    loadBalancerPool: pool,
    loadBalancerPoolOk: pool !== undefined || !spec.child('loadBalancerPool').present,
  };
}

const PORT_RANGE_EXPECTED = 'a port range "min-max" such as "30000-32767" (1 ≤ min ≤ max ≤ 65535)';

/** `spec.nodePortRange`: "min-max", inclusive, as kube-apiserver's --service-node-port-range. */
function parseNodePortRange(spec: Field): PortRangeModel | undefined {
  const f = spec.child('nodePortRange');
  if (!f.present) return CLUSTER_DEFAULTS.nodePortRange;
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
  if (ctx.clusterCIDR !== undefined && cidrsOverlap(pool, ctx.clusterCIDR)) problems.push(`overlaps clusterCIDR ${cidrText(ctx.clusterCIDR)}`);
  if (ctx.serviceCIDR !== undefined && cidrsOverlap(pool, ctx.serviceCIDR)) problems.push(`overlaps serviceCIDR ${cidrText(ctx.serviceCIDR)}`);
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
): { nodes: NodeDraft[]; nodesKnown: boolean } {
  const nodesF = spec.child('nodes');
  let items: Array<Field | undefined>;
  let nodesKnown = true;
  if (!nodesF.present) {
    items = Array.from({ length: CLUSTER_DEFAULTS.nodes }, () => undefined);
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
    } else items = Array.from({ length: n }, () => undefined);
  } else {
    nodesF.typeError(`a node count (1–${MAX_NODES}) or a list of nodes`);
    items = [];
    nodesKnown = false;
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
  // Nodes whose default address falls outside the underlay, reported once for all of them.
  const noAddress: Array<{ name: string; candidate: number; offset: number; at: Field }> = [];

  items.forEach((item, i) => {
    const at = anchorFor(item);
    const isItemMap = item !== undefined && item.isMap;
    if (item !== undefined && !isItemMap) {
      item.typeError('a mapping (a node with name, ip, podCIDR, labels, taints, schedulable)');
    }
    const f = isItemMap ? item : undefined;

    // Name.
    const nameF = f?.child('name');
    const rawName = f?.rawStr('name');
    f?.str('name', { check: dnsLabel });
    const name = rawName ?? `node${i + 1}`;
    const prev = byName.get(name);
    if (prev !== undefined) {
      if (nameF?.present === true) nameF.error(`duplicate node name ${quote(name)} (also ${prev})`);
      else at.error(`the ${ordinal(i + 1)} node's default name ${quote(name)} is already used by ${prev}; give it a name`);
    } else byName.set(name, nodesF.isList ? `spec.nodes[${i}]` : `node ${i + 1}`);

    // Underlay address.
    const ipF = f?.child('ip');
    let ip: number | undefined;
    if (ipF?.present === true) {
      ip = ipF.ipv4('');
      if (ip !== undefined && underlayCidr !== undefined && !checkHostAddress(ipF, ip, underlayCidr, 'underlay')) ip = undefined;
    } else if (underlayCidr !== undefined) {
      const candidate = (underlayCidr.addr + 2 + i) >>> 0;
      if (!cidrContains(underlayCidr, candidate) || candidate === broadcastOf(underlayCidr)) {
        noAddress.push({ name, candidate, offset: 2 + i, at });
      } else ip = candidate;
    }
    if (ip !== undefined) {
      const where = ipF?.present === true ? ipF : at;
      const other = byIp.get(ip);
      if (other !== undefined) {
        where.error(`address ${formatIpv4(ip)}${ipF?.present === true ? '' : ' (default)'} of node ${name} is already used by ${other}`);
        ip = undefined;
      } else if (gateway !== undefined && ip === gateway) {
        where.error(`address ${formatIpv4(ip)}${ipF?.present === true ? '' : ' (default)'} of node ${name} is the underlay gateway`);
        ip = undefined;
      } else byIp.set(ip, `node ${name}`);
    }

    // Pod subnet (explicit ones now, defaults after all explicit claims are known).
    const pcF = f?.child('podCIDR');
    let podCIDR: Cidr | undefined;
    if (pcF?.present === true) {
      podCIDR = pcF.cidr('');
      if (podCIDR !== undefined && clusterCIDR !== undefined && !(podCIDR.len >= clusterCIDR.len && cidrContains(clusterCIDR, podCIDR.addr))) {
        pcF.error(`${cidrText(podCIDR)} is outside clusterCIDR ${cidrText(clusterCIDR)}`);
        podCIDR = undefined;
      } else if (podCIDR !== undefined && mask !== undefined && podCIDR.len !== mask) {
        pcF.error(`expected a /${mask} prefix (nodeCIDRMaskSize ${mask}${defaultNote(spec.child('nodeCIDRMaskSize'))}), got ${cidrText(podCIDR)}`);
        podCIDR = undefined;
      }
      if (podCIDR !== undefined) {
        const clash = explicitCidrs.find((e) => cidrsOverlap(e.cidr, podCIDR as Cidr));
        if (clash !== undefined) {
          pcF.error(`${cidrText(podCIDR)} overlaps podCIDR ${cidrText(clash.cidr)} of node ${clash.node}`);
          podCIDR = undefined;
        } else explicitCidrs.push({ cidr: podCIDR, node: name });
      }
    }

    // Labels, taints, schedulability.
    const userLabels = f?.stringMap('labels', labelKey, labelValue) ?? {};
    const labels = { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...userLabels };
    const taints = f !== undefined ? parseTaints(f) : [];
    const schedulable = f?.bool('schedulable', { default: true }) ?? true;

    const node: NodeDraft = {
      name,
      index: i,
      ip,
      podCIDR,
      labels,
      taints,
      schedulable,
      source: item?.present === true ? item.source() : nodesF.present ? nodesF.source() : undefined,
    };
    nodes.push(node);
    anchors.set(node, at);
    if (pcF?.present !== true) needsDefaultCidr.push(node);
  });

  const firstNoAddress = noAddress[0];
  if (firstNoAddress !== undefined && underlayCidr !== undefined) {
    const more = noAddress.length - 1;
    firstNoAddress.at.error(
      `no default address for node ${firstNoAddress.name}${more > 0 ? ` and ${more} more node${more === 1 ? '' : 's'}` : ''}: ${formatIpv4(firstNoAddress.candidate)} (underlay network + ${firstNoAddress.offset}) is not a host address of the underlay ${cidrText(underlayCidr)}; widen spec.underlay.cidr or set the node's ip`,
    );
  }

  // Default pod subnets: next-fit over the /mask subnets of clusterCIDR, in node order,
  // skipping subnets claimed explicitly (as kube-controller-manager's CIDR allocator would).
  if (clusterCIDR !== undefined && mask !== undefined && mask >= clusterCIDR.len && mask <= 30) {
    const total = 2 ** (mask - clusterCIDR.len);
    const step = 2 ** (32 - mask);
    const claimed = new Set<number>(explicitCidrs.map((e) => Math.floor((e.cidr.addr - clusterCIDR.addr) / step)));
    let cursor = 0;
    const unserved: NodeDraft[] = [];
    for (const node of needsDefaultCidr) {
      while (cursor < total && claimed.has(cursor)) cursor++;
      if (cursor >= total) {
        unserved.push(node);
        continue;
      }
      node.podCIDR = { addr: (clusterCIDR.addr + cursor * step) >>> 0, len: mask };
      claimed.add(cursor);
      cursor++;
    }
    const first = unserved[0];
    if (first !== undefined) {
      const more = unserved.length - 1;
      (anchors.get(first) ?? root).error(
        `no free /${mask} subnet left in clusterCIDR ${cidrText(clusterCIDR)} for node ${first.name}${more > 0 ? ` and ${more} more node${more === 1 ? '' : 's'}` : ''} (${total} subnet${total === 1 ? '' : 's'}, all taken); widen spec.clusterCIDR or raise spec.nodeCIDRMaskSize`,
      );
    }
  }
  return { nodes, nodesKnown };
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

function parseTaints(node: Field): TaintModel[] {
  const items = node.list('taints') ?? [];
  const out: TaintModel[] = [];
  for (const t of items) {
    if (!t.isMap) {
      t.typeError('a mapping with key, value and effect');
      continue;
    }
    const key = t.str('key', { required: true, check: labelKey });
    const value = t.str('value', { default: '', check: labelValue });
    const effect = t.oneOf('effect', TAINT_EFFECTS, { required: true });
    if (key !== undefined && value !== undefined && effect !== undefined) out.push({ key, value, effect });
  }
  return out;
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
    if (ip !== undefined && underlayCidr !== undefined && !checkHostAddress(ipF, ip, underlayCidr, 'underlay')) ip = undefined;
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

function parseRoutes(host: Field, underlayCidr: Cidr | undefined, hostIp: number | undefined): RouteModel[] | undefined {
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
    if (via !== undefined && underlayCidr !== undefined && !checkHostAddress(viaF, via, underlayCidr, 'underlay')) via = undefined;
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
