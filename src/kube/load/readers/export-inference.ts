/**
 * What an export of a real cluster says about that cluster beyond its objects: the address plan
 * (clusterCIDR, serviceCIDR, nodeCIDRMaskSize, nodePortRange), its nodes when it has no Node objects, and the CNI
 * it ran. Used by cluster.ts while it resolves the Cluster; each inferred value gets one notice.
 *
 * Only fields the Cluster document (if any) leaves out are inferred; a given field wins (and is
 * checked against the input as before). The address plan is inferred only from an input that
 * records a running cluster (Node objects, a pod with status.hostIP, or Service default/kubernetes
 * with its ClusterIP); in a hand-written topology an address off the defaults stays an error.
 *
 *   clusterCIDR: the smallest prefix holding every Node podCIDR and every pod IP of a pod not on
 *     the host network (status.podIP, not equal to status.hostIP). When it fits the default
 *     (10.244.0.0/16, kubeadm's and kind's) the default stays. Otherwise it is widened to a /16,
 *     the size kubeadm, kind, k3s and flannel give --cluster-cidr (k3s 10.42.0.0/16 with a /24 per
 *     node), unless that would take in a ClusterIP, a node address or a given serviceCIDR: then the
 *     widest prefix between /16 and the smallest one that does not.
 *   serviceCIDR: from the ClusterIPs (spec.clusterIP and spec.clusterIPs). kube-apiserver gives
 *     Service default/kubernetes the first address of --service-cluster-ip-range (the network
 *     address + 1), so when that Service is there the range starts at its ClusterIP − 1: the widest
 *     prefix starting there, at most /12 (the largest range kube-apiserver accepts), that holds
 *     every ClusterIP (none as its broadcast address) and no pod or node address. From 10.96.0.1
 *     that is kubeadm's 10.96.0.0/12, from 10.43.0.1 k3s's 10.43.0.0/16. Without that Service (or
 *     when no such prefix exists), the smallest prefix holding the ClusterIPs, widened to /16 as
 *     for clusterCIDR. The default (10.96.0.0/12) stays when it holds them all (and kubernetes has
 *     10.96.0.1).
 *   nodeCIDRMaskSize: the prefix length of the Node podCIDRs (the first node's when they differ).
 *   An export that holds the control plane's static pods says it outright: kube-controller-manager's
 *     --cluster-cidr and --node-cidr-mask-size(-ipv4), kube-apiserver's --service-cluster-ip-range
 *     (the first IPv4 entry) are taken as they are, before anything is inferred from addresses.
 *   nodePortRange: kube-apiserver's --service-node-port-range when its static pod is exported;
 *     else the default (30000-32767) widened to hold the input's nodePorts and healthCheckNodePorts
 *     that lie outside it (kube-apiserver accepted each, so its range held them).
 *   nodes: when the input has no Node objects and the Cluster document no spec.nodes, but its pods
 *     were running (a pod with spec.nodeName has status.hostIP), as in `kubectl get all -A -o
 *     yaml`: the nodes are the names pods' spec.nodeName give, in name order (as `kubectl get
 *     nodes` lists them). A node's address is the podIP of a hostNetwork pod on it, else any of its
 *     pods' status.hostIP, else allocated as for any node; its podCIDR the /nodeCIDRMaskSize subnet
 *     holding its pods' IPs when they all fall in one, else node IPAM's. A node running a
 *     kube-apiserver pod (label component=kube-apiserver, as kubeadm's and kind's static pods have)
 *     is a control-plane node, with kubeadm's control-plane taint when the cluster has more than one
 *     node; when none does (k3s runs the apiserver inside its own binary), the first node is the
 *     control plane, untainted, as a k3s server. Pods naming a node that does not exist next to
 *     Node objects (or a spec.nodes list) are still errors: such an input says what its nodes are.
 *   CNI: see detectCni.
 */
import type { Cidr, PortRangeModel } from '../../model.js';
import { Field } from '../field.js';
import { labelOf } from '../metadata.js';
import { StateKey, type LoadState, type ObjectInput } from '../state.js';
import {
  cidrContains,
  cidrOf,
  cidrsOverlap,
  cidrText,
  dnsSubdomain,
  formatIpv4,
  parseCidr,
  parseIpv4,
} from '../values.js';
import type { NodeObjectDraft } from './node.js';
import { CONTROL_PLANE_LABEL, CONTROL_PLANE_TAINT } from './taints.js';

/** Address plan values inferred from the input (undefined: keep the default). */
export interface InferredPlan {
  readonly clusterCIDR?: Cidr | undefined;
  readonly serviceCIDR?: Cidr | undefined;
  readonly nodeCIDRMaskSize?: number | undefined;
  readonly nodePortRange?: PortRangeModel | undefined;
  readonly cniBackend?: 'vxlan' | 'host-gw' | undefined;
}

/** The defaults inference compares against (CLUSTER_DEFAULTS' values, passed in to avoid a cycle). */
export interface PlanDefaults {
  readonly clusterCIDR: Cidr;
  readonly serviceCIDR: Cidr;
  readonly nodeCIDRMaskSize: number;
  readonly nodePortRange: PortRangeModel;
}

/** The /16 kube-controller-manager's --cluster-cidr has in kubeadm, kind, k3s and flannel's manifests. */
const USUAL_RANGE_LEN = 16;
/** kube-apiserver refuses a --service-cluster-ip-range wider than /12 (20 host bits) for IPv4. */
const WIDEST_SERVICE_RANGE = 12;

/** A pod of the input as far as inference needs it (read leniently: the Pod reader reports problems). */
interface PodFacts {
  readonly obj: ObjectInput;
  readonly nodeName: string | undefined;
  readonly hostNetwork: boolean;
  readonly podIP: number | undefined;
  readonly hostIP: number | undefined;
}

/** A scalar's field when `path` holds a string (no report otherwise). */
function stringAt(root: Field, path: string): { text: string; field: Field } | undefined {
  const text = root.rawStr(path);
  return text !== undefined ? { text, field: root.at(path) } : undefined;
}

function ipAt(root: Field, path: string): number | undefined {
  const t = root.rawStr(path);
  return t !== undefined ? parseIpv4(t.trim()) : undefined;
}

const FACTS = new StateKey<{ pods: PodFacts[] | undefined }>('exportFacts', () => ({ pods: undefined }));

function podFacts(state: LoadState): PodFacts[] {
  const s = state.get(FACTS);
  s.pods ??= state.objects
    .filter((o) => o.origin === 'user' && o.kind === 'Pod')
    .map((obj) => ({
      obj,
      nodeName: obj.root.rawStr('spec.nodeName'),
      hostNetwork: obj.root.raw('spec.hostNetwork') === true,
      podIP: ipAt(obj.root, 'status.podIP'),
      hostIP: ipAt(obj.root, 'status.hostIP'),
    }));
  return s.pods;
}

/** Pod IPs on the pod network (not the host's). */
function podNetworkIP(p: PodFacts): number | undefined {
  return !p.hostNetwork && p.podIP !== undefined && p.podIP !== p.hostIP ? p.podIP : undefined;
}

/** Every ClusterIP of the input's Services, with the Service default/kubernetes' own. */
function clusterIPs(state: LoadState): { ips: number[]; kubernetes: { ip: number; field: Field } | undefined } {
  const ips: number[] = [];
  let kubernetes: { ip: number; field: Field } | undefined;
  for (const o of state.objects) {
    if (o.origin !== 'user' || o.kind !== 'Service') continue;
    const one = stringAt(o.root, 'spec.clusterIP');
    const ip = one !== undefined ? parseIpv4(one.text.trim()) : undefined;
    if (ip !== undefined) {
      ips.push(ip);
      if (one !== undefined && o.effectiveNamespace === 'default' && o.name === 'kubernetes') {
        kubernetes = { ip, field: one.field };
      }
    }
    const list = mapAt(o.root, 'spec')?.child('clusterIPs');
    if (list?.isList === true) {
      for (const item of list.list('') ?? []) {
        const t = item.rawStr();
        const v = t !== undefined ? parseIpv4(t.trim()) : undefined;
        if (v !== undefined && v !== ip) ips.push(v);
      }
    }
  }
  return { ips, kubernetes };
}

/**
 * A flag of a control-plane static pod's command line (`--cluster-cidr=10.244.0.0/16`, or the
 * value as the next argument): kube-system pods labelled component=<component>, as kubeadm's and
 * kind's static pods are. The value's field, for the notice.
 */
function controlPlaneFlag(state: LoadState, component: string, flags: readonly string[]): Flag | undefined {
  for (const p of podFacts(state)) {
    if (p.obj.effectiveNamespace !== 'kube-system' || labelOf(p.obj.root, 'component') !== component) continue;
    const containers = mapAt(p.obj.root, 'spec')?.child('containers');
    if (containers?.isList !== true) continue;
    for (const c of containers.list('') ?? []) {
      if (!c.isMap) continue;
      for (const key of ['command', 'args']) {
        const argsF = c.child(key);
        if (!argsF.isList) continue;
        const args = argsF.list('') ?? [];
        for (let i = 0; i < args.length; i++) {
          const arg = args[i]?.rawStr();
          if (arg === undefined) continue;
          for (const flag of flags) {
            if (arg.startsWith(`--${flag}=`)) {
              return { flag, value: arg.slice(flag.length + 3), field: args[i] as Field };
            }
            const next = args[i + 1];
            const value = next?.rawStr();
            if (arg === `--${flag}` && next !== undefined && value !== undefined) {
              return { flag, value, field: next };
            }
          }
        }
      }
    }
  }
  return undefined;
}

interface Flag {
  readonly flag: string;
  readonly value: string;
  readonly field: Field;
}

/** The IPv4 prefix of a flag's value (the first IPv4 entry of a dual-stack `a,b` list). */
function flagCidr(f: Flag | undefined): Cidr | undefined {
  for (const part of f?.value.split(',') ?? []) {
    const r = parseCidr(part.trim());
    if (r.ok) return r.cidr;
  }
  return undefined;
}

/** The smallest prefix holding every prefix given (at least one). */
function commonPrefix(cidrs: readonly Cidr[]): Cidr {
  const first = cidrs[0] as Cidr;
  let len = Math.min(...cidrs.map((c) => c.len));
  while (len > 0 && !cidrs.every((c) => cidrContains(cidrOf(first.addr, len), c.addr))) len--;
  return cidrOf(first.addr, len);
}

/** `c` widened toward a /16 (see the header) as far as `clear` allows. */
function widen(c: Cidr, clear: (candidate: Cidr) => boolean): Cidr {
  for (let len = Math.min(USUAL_RANGE_LEN, c.len); len < c.len; len++) {
    const candidate = cidrOf(c.addr, len);
    if (clear(candidate)) return candidate;
  }
  return c;
}

/** The nodes inferred from the pods of an export without Node objects (see the header); none when not such an input. */
export function nodesFromPods(
  state: LoadState,
  clusterDoc: Field | undefined,
  maskSize: number,
  givenClusterCIDR: Cidr | undefined,
): NodeObjectDraft[] {
  if (clusterDoc?.at('spec.nodes').present === true || state.mayHaveBrokenKind('Node')) return [];
  const pods = podFacts(state);
  if (!pods.some((p) => p.nodeName !== undefined && p.hostIP !== undefined)) return [];
  const byNode = new Map<string, PodFacts[]>();
  for (const p of pods) {
    // A name the Pod reader refuses is reported there; it makes no node.
    if (p.nodeName === undefined || dnsSubdomain(p.nodeName) !== undefined) continue;
    const list = byNode.get(p.nodeName);
    if (list === undefined) byNode.set(p.nodeName, [p]);
    else list.push(p);
  }
  const names = [...byNode.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const apiserverNodes = new Set(
    pods
      .filter(
        (p) => p.obj.effectiveNamespace === 'kube-system' && labelOf(p.obj.root, 'component') === 'kube-apiserver',
      )
      .flatMap((p) => (p.nodeName !== undefined ? [p.nodeName] : [])),
  );
  const drafts: NodeObjectDraft[] = [];
  const summary: string[] = [];
  for (const name of names) {
    const on = byNode.get(name) ?? [];
    const first = on[0] as PodFacts;
    const file = first.obj.source.file;
    const absent = Field.detached(state.sink, file, `Node ${name}`);
    // The node's address: a hostNetwork pod's podIP is the node's own; any pod's hostIP too.
    const hostPod = on.find((p) => p.hostNetwork && p.podIP !== undefined);
    const withHostIP = on.find((p) => p.hostIP !== undefined);
    const ip = hostPod?.podIP ?? withHostIP?.hostIP;
    const ipField =
      hostPod !== undefined
        ? hostPod.obj.root.at('status.podIP')
        : withHostIP !== undefined
          ? withHostIP.obj.root.at('status.hostIP')
          : undefined;
    // Its podCIDR: the one subnet of the node mask size holding all its pods' IPs.
    const podIPs = on.flatMap((p) => {
      const v = podNetworkIP(p);
      return v !== undefined ? [{ ip: v, p }] : [];
    });
    const firstIP = podIPs[0];
    let podCIDR: Cidr | undefined;
    let podCIDRField: Field | undefined;
    if (firstIP !== undefined) {
      const subnet = cidrOf(firstIP.ip, maskSize);
      const fits = givenClusterCIDR === undefined || cidrContains(givenClusterCIDR, subnet.addr);
      if (fits && podIPs.every((x) => cidrContains(subnet, x.ip))) {
        podCIDR = subnet;
        podCIDRField = firstIP.p.obj.root.at('status.podIP');
      }
    }
    const controlPlane = apiserverNodes.has(name);
    drafts.push({
      name,
      label: `Node ${name}`,
      root: absent,
      nameField: first.obj.root.at('spec.nodeName'),
      ip,
      ipField,
      extraIPs: [],
      podCIDR,
      podCIDRField,
      labels: controlPlane ? { [CONTROL_PLANE_LABEL]: '' } : {},
      labelsField: absent,
      taints: controlPlane && names.length > 1 ? [CONTROL_PLANE_TAINT] : [],
      taintsField: absent,
      unschedulable: undefined,
      unschedulableField: absent,
      source: first.obj.source,
    });
    summary.push(
      `${name} (${ip !== undefined ? formatIpv4(ip) : 'address allocated'}${podCIDR !== undefined ? `, ${cidrText(podCIDR)}` : ''}${controlPlane ? ', control plane' : ''})`,
    );
  }
  const anchor = pods.find((p) => p.nodeName !== undefined && p.hostIP !== undefined) as PodFacts;
  anchor.obj.root
    .at('spec.nodeName')
    .objectNotice(
      `the input has no Node objects: ${names.length} node${names.length === 1 ? '' : 's'} inferred from the pods' spec.nodeName, ` +
        `addresses from hostNetwork pods' podIP or any pod's status.hostIP, podCIDRs from the pods' IPs: ${summary.join(', ')}`,
    );
  return drafts;
}

/** The address plan values the Cluster document leaves out, inferred from the input (see the header). */
export function inferAddressPlan(
  state: LoadState,
  clusterDoc: Field | undefined,
  nodes: readonly NodeObjectDraft[],
  defaults: PlanDefaults,
): InferredPlan {
  const spec = clusterDoc?.child('spec');
  const given = (key: string): boolean => spec?.isMap === true && spec.child(key).present;
  const givenCidr = (key: string): Cidr | undefined => {
    const t = spec?.isMap === true ? spec.rawStr(key) : undefined;
    const r = t !== undefined ? parseCidr(t) : undefined;
    return r?.ok === true ? r.cidr : undefined;
  };
  const pods = podFacts(state);
  const services = clusterIPs(state);
  if (!looksExported(state, nodes, pods, services.kubernetes !== undefined)) return {};
  const nodeIPs = [
    ...nodes.flatMap((n) => (n.ip !== undefined ? [n.ip] : [])),
    ...pods.flatMap((p) => (p.hostIP !== undefined ? [p.hostIP] : [])),
  ];
  const out: { -readonly [K in keyof InferredPlan]: InferredPlan[K] } = {};

  // nodeCIDRMaskSize from kube-controller-manager's flag, else from the Node podCIDRs.
  const withCidr = nodes.filter((n) => n.podCIDR !== undefined && n.podCIDRField !== undefined);
  const firstWithCidr = withCidr[0];
  const maskFlag = controlPlaneFlag(state, 'kube-controller-manager', [
    'node-cidr-mask-size-ipv4',
    'node-cidr-mask-size',
  ]);
  const flagMask = maskFlag !== undefined && /^\d{1,2}$/.test(maskFlag.value) ? Number(maskFlag.value) : undefined;
  if (!given('nodeCIDRMaskSize') && maskFlag !== undefined && flagMask !== undefined && flagMask <= 30) {
    if (flagMask !== defaults.nodeCIDRMaskSize) {
      out.nodeCIDRMaskSize = flagMask;
      maskFlag.field.objectNotice(
        `nodeCIDRMaskSize ${flagMask} read from kube-controller-manager's --${maskFlag.flag} of this pod; set the Cluster's spec.nodeCIDRMaskSize to choose it`,
      );
    }
  } else if (!given('nodeCIDRMaskSize') && firstWithCidr?.podCIDR !== undefined) {
    const len = firstWithCidr.podCIDR.len;
    if (len !== defaults.nodeCIDRMaskSize && len <= 30) {
      out.nodeCIDRMaskSize = len;
      firstWithCidr.podCIDRField?.objectNotice(
        `nodeCIDRMaskSize ${len} inferred from the Node podCIDRs (${firstWithCidr.name} has ${cidrText(firstWithCidr.podCIDR)}); set the Cluster's spec.nodeCIDRMaskSize to choose it`,
      );
    }
  }

  // clusterCIDR from the podCIDRs and the pod IPs.
  let clusterCIDR = givenCidr('clusterCIDR');
  const ccFlag = controlPlaneFlag(state, 'kube-controller-manager', ['cluster-cidr']);
  const ccFromFlag = flagCidr(ccFlag);
  if (!given('clusterCIDR') && ccFlag !== undefined && ccFromFlag !== undefined) {
    clusterCIDR = ccFromFlag;
    if (!sameCidr(ccFromFlag, defaults.clusterCIDR)) {
      out.clusterCIDR = ccFromFlag;
      ccFlag.field.objectNotice(
        `clusterCIDR ${cidrText(ccFromFlag)} read from kube-controller-manager's --cluster-cidr of this pod; set the Cluster's spec.clusterCIDR to choose it`,
      );
    }
  } else if (!given('clusterCIDR')) {
    const evidence: Array<{ cidr: Cidr; field: Field | undefined }> = [
      ...withCidr.map((n) => ({ cidr: n.podCIDR as Cidr, field: n.podCIDRField })),
      ...pods.flatMap((p) => {
        const ip = podNetworkIP(p);
        return ip !== undefined ? [{ cidr: { addr: ip, len: 32 }, field: p.obj.root.at('status.podIP') }] : [];
      }),
    ];
    const outside = evidence.find(
      (e) => !(e.cidr.len >= defaults.clusterCIDR.len && cidrContains(defaults.clusterCIDR, e.cidr.addr)),
    );
    if (outside !== undefined) {
      const smallest = commonPrefix(evidence.map((e) => e.cidr));
      const serviceGiven = givenCidr('serviceCIDR');
      const chosen = widen(
        smallest,
        (c) =>
          !services.ips.some((ip) => cidrContains(c, ip)) &&
          !nodeIPs.some((ip) => cidrContains(c, ip)) &&
          (serviceGiven === undefined || !cidrsOverlap(c, serviceGiven)),
      );
      clusterCIDR = chosen;
      out.clusterCIDR = chosen;
      const nCidrs = withCidr.length;
      const nIPs = evidence.length - nCidrs;
      const what = [
        nCidrs > 0 ? `${nCidrs} Node podCIDR${nCidrs === 1 ? '' : 's'}` : '',
        nIPs > 0 ? `${nIPs} pod IP${nIPs === 1 ? '' : 's'}` : '',
      ]
        .filter((s) => s !== '')
        .join(' and ');
      const how =
        chosen.len === smallest.len
          ? 'their smallest common prefix'
          : `their smallest common prefix ${cidrText(smallest)} widened to /${chosen.len}, the size kubeadm, kind and k3s give --cluster-cidr`;
      outside.field?.objectNotice(
        `clusterCIDR ${cidrText(chosen)} inferred from the ${what} of the input (${how}); set the Cluster's spec.clusterCIDR to choose it`,
      );
    }
  }
  clusterCIDR ??= defaults.clusterCIDR;

  // serviceCIDR from kube-apiserver's flag, else from the ClusterIPs, anchored at default/kubernetes' first address.
  const scFlag = controlPlaneFlag(state, 'kube-apiserver', ['service-cluster-ip-range']);
  const scFromFlag = flagCidr(scFlag);
  if (!given('serviceCIDR') && scFlag !== undefined && scFromFlag !== undefined) {
    if (!sameCidr(scFromFlag, defaults.serviceCIDR)) {
      out.serviceCIDR = scFromFlag;
      scFlag.field.objectNotice(
        `serviceCIDR ${cidrText(scFromFlag)} read from kube-apiserver's --service-cluster-ip-range of this pod; set the Cluster's spec.serviceCIDR to choose it`,
      );
    }
  } else if (!given('serviceCIDR') && services.ips.length > 0) {
    const k = services.kubernetes;
    const fitsDefault =
      services.ips.every((ip) => cidrContains(defaults.serviceCIDR, ip)) &&
      (k === undefined || k.ip === defaults.serviceCIDR.addr + 1);
    if (!fitsDefault) {
      const clear = (c: Cidr): boolean =>
        !cidrsOverlap(c, clusterCIDR as Cidr) && !nodeIPs.some((ip) => cidrContains(c, ip));
      const holdsAll = (c: Cidr): boolean =>
        services.ips.every((ip) => cidrContains(c, ip) && ip !== c.addr && ip !== (c.addr | ~cidrMask(c.len)) >>> 0);
      let chosen: Cidr | undefined;
      let why: string;
      if (k !== undefined) {
        const base = (k.ip - 1) >>> 0;
        for (let len = WIDEST_SERVICE_RANGE; len <= 30 && chosen === undefined; len++) {
          const c = cidrOf(base, len);
          if (c.addr === base && holdsAll(c) && clear(c)) chosen = c;
        }
        why =
          chosen !== undefined
            ? `Service default/kubernetes holds ${formatIpv4(k.ip)}, the first address kube-apiserver gives out of ` +
              `--service-cluster-ip-range, so the range starts at ${formatIpv4(base)}; /${chosen.len} is the widest ` +
              'prefix starting there (kube-apiserver accepts at most /12) that holds every ClusterIP and no pod or node address'
            : '';
      } else why = '';
      if (chosen === undefined) {
        const smallest = commonPrefix(services.ips.map((ip) => ({ addr: ip, len: 32 })));
        chosen = widen(smallest, (c) => clear(c) && holdsAll(c));
        why =
          chosen.len === smallest.len ? 'their smallest common prefix' : `their smallest common prefix widened to /16`;
      }
      out.serviceCIDR = chosen;
      const n = services.ips.length;
      const at = k?.field ?? firstClusterIPField(state);
      at?.objectNotice(
        `serviceCIDR ${cidrText(chosen)} inferred from the ${n} ClusterIP${n === 1 ? '' : 's'} of the input (${why}); set the Cluster's spec.serviceCIDR to choose it`,
      );
    }
  }
  if (!given('nodePortRange')) {
    const range = inferNodePortRange(state, defaults.nodePortRange);
    if (range !== undefined) out.nodePortRange = range;
  }
  return out;
}

/**
 * kube-apiserver's --service-node-port-range when an exported static pod shows it ("min-max",
 * "base+size" or one port, as utilnet.ParsePortRange reads it); else, when the input's nodePorts
 * and healthCheckNodePorts fall outside the default range, the default widened to hold them (the
 * real range holds them all, since kube-apiserver allocated or accepted each). With one notice.
 */
function inferNodePortRange(state: LoadState, defaultRange: PortRangeModel): PortRangeModel | undefined {
  const same = (r: PortRangeModel): boolean => r.min === defaultRange.min && r.max === defaultRange.max;
  const flag = controlPlaneFlag(state, 'kube-apiserver', ['service-node-port-range']);
  const fromFlag = flag !== undefined ? parsePortRangeFlag(flag.value) : undefined;
  if (flag !== undefined && fromFlag !== undefined) {
    if (same(fromFlag)) return undefined;
    flag.field.objectNotice(
      `nodePortRange ${fromFlag.min}-${fromFlag.max} read from kube-apiserver's --service-node-port-range of this pod; set the Cluster's spec.nodePortRange to choose it`,
    );
    return fromFlag;
  }
  let lo = defaultRange.min;
  let hi = defaultRange.max;
  let first: Field | undefined;
  const take = (f: Field): void => {
    const v = f.raw();
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) return;
    if (v >= defaultRange.min && v <= defaultRange.max) return;
    first ??= f;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  };
  for (const o of state.objects) {
    if (o.origin !== 'user' || o.kind !== 'Service') continue;
    const spec = mapAt(o.root, 'spec');
    if (spec === undefined) continue;
    take(spec.child('healthCheckNodePort'));
    const ports = spec.child('ports');
    if (!ports.isList) continue;
    for (const p of ports.list('') ?? []) if (p.isMap) take(p.child('nodePort'));
  }
  if (first === undefined) return undefined;
  const range = { min: lo, max: hi };
  first.objectNotice(
    `nodePortRange ${lo}-${hi} inferred: the input's nodePorts lie outside the default ${defaultRange.min}-` +
      `${defaultRange.max} (kube-apiserver's --service-node-port-range held them); set the Cluster's spec.nodePortRange to choose it`,
  );
  return range;
}

/** A port range as kube-apiserver's flag takes it: "min-max", "base+size" (size ports from base) or "port". */
function parsePortRangeFlag(text: string): PortRangeModel | undefined {
  const m = /^\s*(\d{1,5})\s*(?:([-+])\s*(\d{1,5}))?\s*$/.exec(text);
  if (m === null) return undefined;
  const a = Number(m[1]);
  const b = m[3] === undefined ? a : m[2] === '+' ? a + Number(m[3]) : Number(m[3]);
  return a >= 1 && a <= b && b <= 65535 ? { min: a, max: b } : undefined;
}

/**
 * Whether the input records a running cluster (Node objects, a pod kubelet reported on with
 * status.hostIP, or the apiserver's own default/kubernetes Service with its ClusterIP): only then
 * is the address plan inferred; in a hand-written topology an address off the defaults is a
 * mistake to report, as before.
 */
function looksExported(
  state: LoadState,
  nodes: readonly NodeObjectDraft[],
  pods: readonly PodFacts[],
  hasKubernetes: boolean,
): boolean {
  return (
    nodes.length > 0 ||
    hasKubernetes ||
    pods.some((p) => p.hostIP !== undefined) ||
    state.objects.some((o) => o.origin === 'user' && o.kind === 'Node')
  );
}

function sameCidr(a: Cidr, b: Cidr): boolean {
  return a.addr === b.addr && a.len === b.len;
}

function cidrMask(len: number): number {
  return len <= 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

function firstClusterIPField(state: LoadState): Field | undefined {
  for (const o of state.objects) {
    if (o.origin !== 'user' || o.kind !== 'Service') continue;
    const one = stringAt(o.root, 'spec.clusterIP');
    if (one !== undefined && parseIpv4(one.text.trim()) !== undefined) return one.field;
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------- CNI

/** A CNI the input shows it ran. */
export interface DetectedCni {
  /** `kindnet`, `calico`, `cilium`, `flannel`, … */
  readonly name: string;
  /** Whether podnet emulates it (flannel, and canal, whose pod network is flannel's). */
  readonly emulated: boolean;
  /** What showed it (`by its DaemonSet`, `by its image`, …); the notice names the object. */
  readonly evidence: string;
  /** Flannel's backend this CNI's data path is closest to (kindnet routes like host-gw). */
  readonly backend: 'vxlan' | 'host-gw';
  /** Where the notice goes. */
  readonly at: Field;
  /** Flannel runs outside pods (Node annotations only, as k3s embeds it): no flannel pods to add. */
  readonly outsidePods: boolean;
}

interface CniSignature {
  readonly name: string;
  /** DaemonSet names (their pods are `<name>-xxxxx`). */
  readonly daemonSets: readonly string[];
  /** Image repository paths (without registry and tag) ending so. */
  readonly images: readonly RegExp[];
  readonly emulated: boolean;
  readonly backend: 'vxlan' | 'host-gw';
}

/** Checked in order: canal before calico and flannel, whose images its pods run too. */
const CNI_SIGNATURES: readonly CniSignature[] = [
  { name: 'canal', daemonSets: ['canal'], images: [], emulated: true, backend: 'vxlan' },
  { name: 'kindnet', daemonSets: ['kindnet'], images: [/(^|\/)kindnetd$/], emulated: false, backend: 'host-gw' },
  { name: 'calico', daemonSets: ['calico-node'], images: [/(^|\/)calico\/node$/], emulated: false, backend: 'vxlan' },
  { name: 'cilium', daemonSets: ['cilium'], images: [/(^|\/)cilium\/cilium$/], emulated: false, backend: 'vxlan' },
  { name: 'weave', daemonSets: ['weave-net'], images: [/(^|\/)weave-kube$/], emulated: false, backend: 'vxlan' },
  {
    name: 'antrea',
    daemonSets: ['antrea-agent'],
    images: [/(^|\/)antrea-(agent-)?ubuntu$/, /(^|\/)antrea-agent$/],
    emulated: false,
    backend: 'vxlan',
  },
  {
    name: 'kube-router',
    daemonSets: ['kube-router'],
    images: [/(^|\/)kube-router$/],
    emulated: false,
    backend: 'vxlan',
  },
  {
    name: 'flannel',
    daemonSets: ['kube-flannel-ds', 'kube-flannel-ds-amd64', 'flannel'],
    images: [/(^|[/-])flannel$/],
    emulated: true,
    backend: 'vxlan',
  },
];

/** `docker.io/kindest/kindnetd:v20240202-8f1494ea@sha256:…` → `docker.io/kindest/kindnetd`. */
function imageRepository(image: string): string {
  const noDigest = image.split('@')[0] ?? image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** The mapping at a dotted path, walked without reporting anything (undefined when not there or not a mapping). */
function mapAt(root: Field, path: string): Field | undefined {
  let f = root;
  for (const key of path.split('.')) {
    if (!f.isMap) return undefined;
    f = f.child(key);
  }
  return f.isMap ? f : undefined;
}

function containerImages(root: Field, specPath: string): string[] {
  const containers = mapAt(root, specPath)?.child('containers');
  if (containers?.isList !== true) return [];
  return (containers.list('') ?? []).flatMap((c) => {
    const image = c.isMap ? c.rawStr('image') : undefined;
    return image !== undefined ? [imageRepository(image)] : [];
  });
}

const DETECTED = new StateKey<{ done: boolean; cni: DetectedCni | undefined }>('detectedCni', () => ({
  done: false,
  cni: undefined,
}));

/** The CNI the input's pods and DaemonSets (or its Nodes' flannel annotations) show, if any; computed once. */
export function detectCni(state: LoadState): DetectedCni | undefined {
  const s = state.get(DETECTED);
  if (s.done) return s.cni;
  s.done = true;
  // DaemonSets first: the DaemonSet names the CNI better than one of its pods.
  const user = state.objects
    .filter((o) => o.origin === 'user')
    .sort((a, b) => Number(b.kind === 'DaemonSet') - Number(a.kind === 'DaemonSet'));
  // One pass over the candidates (an export may hold 100,000 pods): each candidate is checked
  // against the signatures ranked before the best match so far, so the result is the first
  // signature (in CNI_SIGNATURES order) any candidate shows, and its first candidate.
  const byDaemonSet = new Map<string, number>();
  CNI_SIGNATURES.forEach((sig, i) => {
    for (const d of sig.daemonSets) if (!byDaemonSet.has(d)) byDaemonSet.set(d, i);
  });
  // Pods share few images: each repository's signature is worked out once.
  const byRepository = new Map<string, number>();
  const imageRank = (repository: string): number => {
    let rank = byRepository.get(repository);
    if (rank === undefined) {
      rank = CNI_SIGNATURES.findIndex((sig) => sig.images.some((re) => re.test(repository)));
      if (rank < 0) rank = CNI_SIGNATURES.length;
      byRepository.set(repository, rank);
    }
    return rank;
  };
  let best: { rank: number; o: ObjectInput; byImage: boolean } | undefined;
  for (const o of user) {
    if (o.kind !== 'Pod' && o.kind !== 'DaemonSet') continue;
    const name = o.name ?? '';
    // a DaemonSet's pods are `<daemonset>-xxxxx`
    const nameRank =
      (o.kind === 'DaemonSet'
        ? byDaemonSet.get(name)
        : name.length > 6 && name[name.length - 6] === '-'
          ? byDaemonSet.get(name.slice(0, -6))
          : undefined) ?? CNI_SIGNATURES.length;
    const specPath = o.kind === 'Pod' ? 'spec' : 'spec.template.spec';
    let rank = nameRank;
    let byImage = false;
    for (const repository of containerImages(o.root, specPath)) {
      const r = imageRank(repository);
      if (r < rank) {
        rank = r;
        byImage = true;
      }
    }
    if (rank < (best?.rank ?? CNI_SIGNATURES.length)) best = { rank, o, byImage };
    if (best?.rank === 0) break;
  }
  if (best !== undefined) {
    const sig = CNI_SIGNATURES[best.rank] as CniSignature;
    const o = best.o;
    s.cni = {
      name: sig.name,
      emulated: sig.emulated,
      evidence: best.byImage ? 'by its image' : o.kind === 'DaemonSet' ? 'by its DaemonSet' : 'by its pod',
      backend: sig.backend,
      at: o.root,
      outsidePods: false,
    };
    return s.cni;
  }
  // No CNI pods, but flannel's Node annotations: flannel runs outside Kubernetes (k3s embeds it).
  for (const o of user) {
    if (o.kind !== 'Node') continue;
    const annotations = mapAt(o.root, 'metadata.annotations');
    if (annotations === undefined) continue;
    const backend = annotations.child('flannel.alpha.coreos.com/backend-type').rawStr();
    if (backend === undefined) continue;
    s.cni = {
      name: 'flannel',
      emulated: true,
      evidence: "by the Node's flannel.alpha.coreos.com annotations",
      backend: backend === 'host-gw' ? 'host-gw' : 'vxlan',
      at: annotations.child('flannel.alpha.coreos.com/backend-type'),
      outsidePods: true,
    };
    return s.cni;
  }
  return undefined;
}

/**
 * Whether the input's Nodes are k3s's (annotation `k3s.io/node-args` or label
 * `node.kubernetes.io/instance-type=k3s`): k3s runs kube-proxy inside its own binary, so its
 * cluster has no kube-proxy pods (its rules are there all the same).
 */
export function k3sNodes(state: LoadState): boolean {
  return state.objects.some(
    (o) =>
      o.origin === 'user' &&
      o.kind === 'Node' &&
      (labelOf(o.root, 'node.kubernetes.io/instance-type') === 'k3s' ||
        mapAt(o.root, 'metadata.annotations')?.child('k3s.io/node-args').present === true),
  );
}

/** The one notice about a CNI podnet does not emulate, and the backend to run when the Cluster leaves it out. */
export function cniNotice(state: LoadState, clusterDoc: Field | undefined): 'vxlan' | 'host-gw' | undefined {
  const cni = detectCni(state);
  if (cni === undefined) return undefined;
  const givenBackend = clusterDoc?.rawStr('spec.cni.backend');
  if (cni.emulated) return givenBackend === undefined && cni.outsidePods ? cni.backend : undefined;
  const backend = givenBackend === 'host-gw' || givenBackend === 'vxlan' ? givenBackend : cni.backend;
  const path =
    backend === 'host-gw'
      ? "flannel's host-gw data path (each node's podCIDR routed via its node address, no encapsulation"
      : "flannel's vxlan data path (pod traffic between nodes in VXLAN";
  const like = cni.name === 'kindnet' && backend === 'host-gw' ? ', as kindnet routes it' : '';
  cni.at.objectNotice(
    `the input ran the ${cni.name} CNI (seen ${cni.evidence}), which podnet does not emulate: it runs ${path}${like}) ` +
      `and adds no flannel pods; ${givenBackend !== undefined ? "the Cluster's spec.cni.backend chose it" : "set the Cluster's spec.cni.backend to choose the other"}`,
  );
  return givenBackend === undefined ? backend : undefined;
}
