/**
 * Kubernetes `Node` (v1), as `kubectl get nodes -o yaml` prints it. When Node objects are given
 * they define the cluster's nodes (merged by name with a Cluster document's `spec.nodes` list;
 * see cluster.ts, which turns them into nodes).
 *
 * Fields read: `metadata.name` (a DNS-1123 subdomain), `metadata.labels`; `spec.podCIDR` and
 * `spec.podCIDRs` (the first entry must equal podCIDR when both are set; an IPv6 first entry is
 * refused, podnet is IPv4-only; a dual-stack node's IPv6 second entry is ignored with a notice),
 * `spec.taints[]` {key, value, effect} (`timeAdded` ignored), `spec.unschedulable`;
 * `status.addresses[]` {type, address}: the first IPv4 `InternalIP` is the node's underlay address
 * (IPv6 ones are skipped, as in a dual-stack node's list); its other IPv4 InternalIPs and
 * ExternalIPs are further addresses of its uplink (secondary addresses on eth0, where NodePorts
 * answer too, as kube-proxy's nodePortAddresses allows). Everything else (conditions, capacity,
 * nodeInfo, images, annotations, managedFields) is ignored.
 */
import type { Cidr, SourceRef, TaintModel } from '../../model.js';
import type { Field } from '../field.js';
import { readMetadata } from '../metadata.js';
import { StateKey, addUnique, type KindReader, type LoadState, type ObjectInput } from '../state.js';
import {
  cidrContains,
  cidrText,
  dnsSubdomain,
  formatIpv4,
  looksIpv6,
  parseCidrSloppy,
  parseIpv4,
  quote,
} from '../values.js';
import { ipv6Refusal } from './endpoint-fields.js';
import { parseTaints } from './taints.js';

/**
 * The labels kubelet puts on the Node it registers (pkg/kubelet/kubelet_node_status.go
 * initialNode): its hostname, and runtime.GOOS / GOARCH under the GA keys and the beta ones it
 * still writes for old selectors (sock-shop's `beta.kubernetes.io/os: linux`). podnet's nodes are
 * linux/amd64.
 */
export function kubeletLabels(name: string): Record<string, string> {
  return {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': 'amd64',
  };
}

/** A Node object as read; fields undefined where absent or invalid (reported). */
export interface NodeObjectDraft {
  readonly name: string;
  /** `Node kind-worker`. */
  readonly label: string;
  readonly root: Field;
  readonly nameField: Field;
  readonly ip: number | undefined;
  /** The `status.addresses[i].address` field the address came from. */
  readonly ipField: Field | undefined;
  /** The other IPv4 InternalIPs and ExternalIPs, in order, without `ip` and repeats. */
  readonly extraIPs: ReadonlyArray<{ readonly ip: number; readonly field: Field }>;
  readonly podCIDR: Cidr | undefined;
  readonly podCIDRField: Field | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly labelsField: Field;
  readonly taints: readonly TaintModel[];
  readonly taintsField: Field;
  readonly unschedulable: boolean | undefined;
  readonly unschedulableField: Field;
  readonly source: SourceRef;
}

interface NodeObjectState {
  readonly drafts: NodeObjectDraft[];
  readonly byName: Map<string, NodeObjectDraft>;
  /** A Node object could not be read completely: node references are not checked. */
  incomplete: boolean;
}

const NODE_OBJECTS = new StateKey<NodeObjectState>('nodeObjects', () => ({
  drafts: [],
  byName: new Map(),
  incomplete: false,
}));

/** The Node objects of the input, in document order. */
export function nodeObjects(state: LoadState): readonly NodeObjectDraft[] {
  return state.get(NODE_OBJECTS).drafts;
}

/** Whether some Node object had a name that could not be read. */
export function nodeObjectsIncomplete(state: LoadState): boolean {
  return state.get(NODE_OBJECTS).incomplete;
}

/** Reads Node documents. */
export const nodeKind: KindReader = {
  kind: 'Node',
  apiVersions: ['v1'],
  namespaced: false,
  read(obj, state) {
    const s = state.get(NODE_OBJECTS);
    const draft = readNode(obj, state);
    if (draft === undefined) {
      s.incomplete = true;
      return;
    }
    addUnique(s.byName, s.drafts, draft.name, draft, `Node ${quote(draft.name)}`, obj.source.file);
  },
};

function readNode(obj: ObjectInput, state: LoadState): NodeObjectDraft | undefined {
  const root = obj.root;
  const meta = readMetadata(obj, state, {
    name: { check: dnsSubdomain, required: { expected: 'the node name (a DNS-1123 subdomain)' } },
    labels: true,
  });
  const name = meta.validName;
  const spec = root.child('spec');
  const podCIDR = parsePodCIDRs(spec);
  const taintsField = spec.child('taints');
  const taints = parseTaints(spec);
  const unschedulableField = spec.child('unschedulable');
  const unschedulable = spec.bool('unschedulable');
  const { primary: address, extra: extraIPs } = nodeAddresses(root);
  if (name === undefined) return undefined;
  return {
    name,
    label: obj.label,
    root,
    nameField: meta.nameField,
    ip: address?.ip,
    ipField: address?.field,
    extraIPs,
    podCIDR: podCIDR?.cidr,
    podCIDRField: podCIDR?.field,
    labels: meta.labels ?? {},
    labelsField: meta.labelsField,
    taints,
    taintsField,
    unschedulable,
    unschedulableField,
    source: obj.source,
  };
}

/** `spec.podCIDR` / `spec.podCIDRs[0]`, checked against each other; IPv6 refused. */
function parsePodCIDRs(spec: Field): { cidr: Cidr; field: Field } | undefined {
  const oneF = spec.child('podCIDR');
  const readOne = (f: Field): Cidr | undefined => {
    const v = f.raw();
    if (typeof v === 'string' && looksIpv6(v)) return ipv6Refusal(f, v);
    // A legacy CIDR field (KEP-4858): leading zeros and host bits are accepted, as ParseCIDRSloppy reads them.
    const r = typeof v === 'string' ? parseCidrSloppy(v) : undefined;
    if (r === undefined || (!r.hostBits && !r.leadingZeros)) return f.cidr('');
    f.notice(
      `non-standard CIDR ${quote(v as string)} read as ${cidrText(r.cidr)}, as the network plugin and kube-proxy ` +
        'read it (ParseCIDRSloppy); the API server keeps such values only in objects written before it tightened ' +
        'IP validation (KEP-4858)',
    );
    return r.cidr;
  };
  const one = oneF.present ? readOne(oneF) : undefined;
  let first: { cidr: Cidr; field: Field } | undefined;
  (spec.list('podCIDRs', { itemName: 'CIDR' }) ?? []).forEach((item, i) => {
    const raw = item.raw();
    if (i > 0 && typeof raw === 'string' && looksIpv6(raw)) {
      // a dual-stack node's second podCIDR: the API server accepts it; podnet runs the IPv4 half
      item.notice(
        `${quote(raw)} is the node's IPv6 podCIDR: ignored (podnet runs the IPv4 half of a dual-stack cluster)`,
      );
      return;
    }
    const c = readOne(item);
    if (c !== undefined && i === 0) first = { cidr: c, field: item };
  });
  if (one !== undefined && first !== undefined && (one.addr !== first.cidr.addr || one.len !== first.cidr.len)) {
    first.field.error(`must equal spec.podCIDR (${cidrText(one)}), got ${cidrText(first.cidr)}`);
    return undefined;
  }
  if (one !== undefined) return { cidr: one, field: oneF };
  return first;
}

type AddressOf = { readonly ip: number; readonly field: Field };

/** The first IPv4 InternalIP of `status.addresses`, and the node's other IPv4 InternalIPs and ExternalIPs. */
function nodeAddresses(root: Field): { primary: AddressOf | undefined; extra: AddressOf[] } {
  let primary: AddressOf | undefined;
  const all: AddressOf[] = [];
  for (const a of root.list('status.addresses', { itemName: 'address', plural: 'addresses' }) ?? []) {
    if (!a.isMap) {
      a.typeError('a mapping with type and address');
      continue;
    }
    const type = a.str('type', { required: true });
    const af = a.child('address');
    const v = a.str('address', { required: true });
    if ((type !== 'InternalIP' && type !== 'ExternalIP') || v === undefined) continue;
    const ip = parseIpv4(v);
    if (ip === undefined) {
      if (!looksIpv6(v)) af.typeError('an IPv4 address like 172.18.0.2');
      continue; // a dual-stack node lists its IPv6 address too
    }
    if (type === 'InternalIP') primary ??= { ip, field: af };
    all.push({ ip, field: af });
  }
  const extra: AddressOf[] = [];
  // further addresses of a node whose primary one is known (an ExternalIP alone is not read as the node's address)
  if (primary !== undefined)
    for (const a of all) if (a.ip !== primary.ip && !extra.some((e) => e.ip === a.ip)) extra.push(a);
  return { primary, extra };
}

/** What a node's further address must not collide with. */
export interface AddressPlan {
  readonly nodes: ReadonlyArray<{ readonly name: string; readonly ip: number | undefined }>;
  readonly externalHosts: ReadonlyArray<{ readonly name: string; readonly ip: number }>;
  readonly gateway: number | undefined;
  readonly underlay: Cidr | undefined;
  readonly ranges: ReadonlyArray<{ readonly name: string; readonly cidr: Cidr | undefined }>;
}

/**
 * The further addresses of each node with a Node object (by node name), checked against the
 * address plan: another node's, an external host's or the gateway's address, or one in the pod or
 * service range, is an error; one outside the underlay is added to the uplink as a /32 (reachable
 * only through a route to it), with a notice.
 */
export function nodeExtraIPs(state: LoadState, plan: AddressPlan): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const owner = new Map<number, string>();
  for (const n of plan.nodes) if (n.ip !== undefined) owner.set(n.ip, `node ${n.name}`);
  for (const h of plan.externalHosts) owner.set(h.ip, `external host ${h.name}`);
  if (plan.gateway !== undefined) owner.set(plan.gateway, 'the underlay gateway');
  const known = new Set(plan.nodes.map((n) => n.name));
  for (const d of nodeObjects(state)) {
    if (!known.has(d.name) || d.extraIPs.length === 0) continue;
    const ips: number[] = [];
    for (const { ip, field } of d.extraIPs) {
      const text = formatIpv4(ip);
      const other = owner.get(ip);
      const range = plan.ranges.find((r) => r.cidr !== undefined && cidrContains(r.cidr, ip));
      if (other !== undefined) field.error(`address ${text} of node ${d.name} is already used by ${other}`);
      else if (range !== undefined) field.error(`address ${text} of node ${d.name} is inside the ${range.name}`);
      else {
        if (plan.underlay !== undefined && !cidrContains(plan.underlay, ip))
          field.notice(
            `${text} is outside the underlay ${cidrText(plan.underlay)}: it is added to ${d.name}'s eth0 as ${text}/32, reachable only through a route to it (an external host's routes)`,
          );
        owner.set(ip, `node ${d.name}`);
        ips.push(ip);
      }
    }
    if (ips.length > 0) out.set(d.name, ips);
  }
  return out;
}
