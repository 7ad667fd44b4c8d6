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
 * (IPv6 ones are skipped, as in a dual-stack node's list). Everything else (conditions, capacity,
 * nodeInfo, images, annotations, managedFields) is ignored.
 */
import type { Cidr, SourceRef, TaintModel } from '../../model.js';
import type { Field } from '../field.js';
import { readMetadata } from '../metadata.js';
import { StateKey, addUnique, type KindReader, type LoadState, type ObjectInput } from '../state.js';
import { cidrText, dnsSubdomain, looksIpv6, parseCidrSloppy, parseIpv4, quote } from '../values.js';
import { ipv6Refusal } from './endpoint-fields.js';
import { parseTaints } from './taints.js';

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
  const address = internalIP(root);
  if (name === undefined) return undefined;
  return {
    name,
    label: obj.label,
    root,
    nameField: meta.nameField,
    ip: address?.ip,
    ipField: address?.field,
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

/** The first IPv4 InternalIP of `status.addresses`. */
function internalIP(root: Field): { ip: number; field: Field } | undefined {
  let found: { ip: number; field: Field } | undefined;
  for (const a of root.list('status.addresses', { itemName: 'address', plural: 'addresses' }) ?? []) {
    if (!a.isMap) {
      a.typeError('a mapping with type and address');
      continue;
    }
    const type = a.str('type', { required: true });
    const af = a.child('address');
    const v = a.str('address', { required: true });
    if (type !== 'InternalIP' || v === undefined) continue;
    const ip = parseIpv4(v);
    if (ip === undefined) {
      if (!looksIpv6(v)) af.typeError('an IPv4 address like 172.18.0.2');
      continue; // a dual-stack node lists its IPv6 address too
    }
    found ??= { ip, field: af };
  }
  return found;
}
