/**
 * Kubernetes `Pod` (v1): parsing, scheduling and pod IP allocation.
 *
 * Scheduling (deterministic; no randomness):
 *   Pods are placed in document order (files in path order, documents and List items in order).
 *   - A pod with `spec.nodeName` runs on that node, whatever its taints or schedulability.
 *   - A pod without `spec.nodeName` but with `status.podIP` (e.g. `kubectl get -o yaml` output)
 *     runs on the node whose podCIDR contains that address.
 *   - Any other pod goes to the node with the fewest pods placed so far, among nodes that are
 *     `schedulable` and whose NoSchedule/NoExecute taints the pod tolerates (`spec.tolerations`);
 *     nodes with an untolerated PreferNoSchedule taint are used only when no other node fits.
 *     Ties go to the node listed first. Every pod counts toward its node's load, hostNetwork
 *     pods and pods placed by `spec.nodeName` included.
 *
 * Pod IPs (host-local IPAM, per node): the node's podCIDR network address is reserved, `.1` is the
 * gateway (cni0), and the last address is broadcast. Addresses given in `status.podIP` are
 * honoured (they must be usable addresses of that node's podCIDR and unique). Every other pod gets
 * the lowest address from `.2` upward not taken by a `status.podIP`, in document order; addresses
 * are never reused. hostNetwork pods share their node's underlay address.
 */
import type { ContainerModel, PodModel, SourceRef, TaintModel } from '../../model.js';
import type { Field } from '../field.js';
import { parsePorts, PortScope } from '../ports.js';
import { StateKey, whereText, type KindHandler, type LoadState } from '../state.js';
import { broadcastOf, cidrContains, cidrText, dnsLabel, dnsSubdomain, formatIpv4, labelKey, labelValue, quote } from '../values.js';
import { clusterDraft, type NodeDraft } from './cluster.js';
import { referenceNamespace } from './namespace.js';

interface Toleration {
  readonly key: string;
  readonly operator: 'Exists' | 'Equal';
  readonly value: string;
  readonly effect: TaintModel['effect'] | '';
}

/** A pod as read from its document, before placement. */
export interface PodDraft {
  readonly namespace: string;
  readonly name: string;
  readonly label: string;
  readonly root: Field;
  readonly nameField: Field;
  readonly nodeName: string | undefined;
  readonly nodeNameField: Field;
  readonly hostNetwork: boolean;
  readonly hostname: string;
  readonly subdomain: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly containers: readonly ContainerModel[] | undefined;
  readonly tolerations: readonly Toleration[];
  readonly podIP: number | undefined;
  /** status.podIP was given but unusable (already reported): do not allocate one either. */
  readonly podIPInvalid: boolean;
  readonly podIPField: Field;
  readonly ready: boolean;
  readonly ownerRef: string | undefined;
  readonly source: SourceRef;
  // Placement results.
  node: NodeDraft | undefined;
  ip: number | undefined;
}

interface PodState {
  readonly pods: PodDraft[];
  readonly byKey: Map<string, PodDraft>;
  readonly models: PodModel[];
}

const PODS = new StateKey<PodState>('pods', () => ({ pods: [], byKey: new Map(), models: [] }));

/** The pod `namespace/name` if it was declared (even with errors in its other fields). */
export function findPod(state: LoadState, namespace: string, name: string): PodDraft | undefined {
  return state.get(PODS).byKey.get(`${namespace}/${name}`);
}

/** Namespaces holding a pod called `name`, for "did you mean" hints. */
export function namespacesWithPod(state: LoadState, name: string): string[] {
  return state.get(PODS).pods.filter((p) => p.name === name).map((p) => p.namespace);
}

/** Every pod read (placed or not, with or without errors), in document order. */
export function podDrafts(state: LoadState): readonly PodDraft[] {
  return state.get(PODS).pods;
}

/** Placed pods in document order (complete only when there were no errors). */
export function podModels(state: LoadState): readonly PodModel[] {
  return state.get(PODS).models;
}

export const podKind: KindHandler = {
  kind: 'Pod',
  apiVersions: ['v1'],
  namespaced: true,
  collect(obj, state) {
    const draft = parsePod(obj.root, obj.label, obj.source, state);
    if (draft === undefined) return;
    const s = state.get(PODS);
    const key = `${draft.namespace}/${draft.name}`;
    const first = s.byKey.get(key);
    if (first !== undefined) {
      draft.nameField.error(`duplicate Pod ${key} (first defined at ${whereText(first.source, obj.source.file)})`);
      return;
    }
    s.byKey.set(key, draft);
    s.pods.push(draft);
  },
  resolve: {
    order: 30,
    run(state) {
      placePods(state);
    },
  },
};

function parsePod(root: Field, label: string, source: SourceRef, state: LoadState): PodDraft | undefined {
  const nameField = root.child('metadata').child('name');
  const rawName = root.rawStr('metadata.name');
  root.str('metadata.name', { required: true, check: dnsSubdomain, expected: 'the pod name (a DNS-1123 subdomain)' });
  const nsField = root.child('metadata').child('namespace');
  const rawNs = root.rawStr('metadata.namespace');
  const ns = root.str('metadata.namespace', { check: dnsLabel });
  if (ns !== undefined) referenceNamespace(state, ns, label, nsField);
  const labels = root.stringMap('metadata.labels', labelKey, labelValue) ?? {};
  const ownerRef = ownerOf(root);

  const spec = root.map('spec', { required: true, expected: 'the pod spec (a mapping with containers)' });
  const specF = spec ?? root.child('spec');
  const nodeName = specF.str('nodeName', { check: dnsSubdomain });
  const hostNetwork = specF.bool('hostNetwork', { default: false }) ?? false;
  const hostname = specF.str('hostname', { check: dnsLabel });
  const subdomain = specF.str('subdomain', { check: dnsLabel });
  const containers = spec !== undefined ? parseContainers(spec) : undefined;
  const tolerations = parseTolerations(specF);

  const podIPField = root.child('status').child('podIP');
  const podIP = root.ipv4('status.podIP');
  const ready = readiness(root);

  if (rawName === undefined) return undefined;
  return {
    namespace: rawNs ?? 'default',
    name: rawName,
    label,
    root,
    nameField,
    nodeName,
    nodeNameField: specF.child('nodeName'),
    hostNetwork,
    hostname: hostname ?? rawName,
    subdomain,
    labels,
    containers,
    tolerations,
    podIP,
    podIPInvalid: podIPField.present && podIP === undefined,
    podIPField,
    ready,
    ownerRef,
    source,
    node: undefined,
    ip: undefined,
  };
}

function parseContainers(spec: Field): ContainerModel[] | undefined {
  const items = spec.list('containers', { required: true, itemName: 'container', nonEmpty: true });
  if (items === undefined) return undefined;
  const scope = new PortScope();
  const names = new Map<string, string>();
  const out: ContainerModel[] = [];
  let ok = true;
  for (const c of items) {
    if (!c.isMap) {
      c.typeError('a mapping (a container with name, image, ports)');
      ok = false;
      continue;
    }
    const name = c.str('name', { required: true, check: dnsLabel, expected: 'the container name (a DNS-1123 label)' });
    if (name !== undefined) {
      const prev = names.get(name);
      if (prev !== undefined) {
        c.child('name').error(`duplicate container name ${quote(name)} (also ${prev})`);
        ok = false;
      } else names.set(name, c.path);
    }
    const ports = parsePorts(c, 'ports', scope);
    if (name === undefined || ports === undefined) {
      ok = false;
      continue;
    }
    out.push({ name, ports });
  }
  return ok ? out : undefined;
}

function parseTolerations(spec: Field): Toleration[] {
  const items = spec.list('tolerations') ?? [];
  const out: Toleration[] = [];
  for (const t of items) {
    if (!t.isMap) {
      t.typeError('a mapping with key, operator, value and effect');
      continue;
    }
    const key = t.str('key', { default: '' });
    const operator = t.oneOf('operator', ['Exists', 'Equal'] as const, { default: 'Equal' });
    const value = t.str('value', { default: '' });
    const effect = t.oneOf('effect', ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const);
    if (key === undefined || operator === undefined || value === undefined || (t.child('effect').present && effect === undefined)) continue;
    out.push({ key, operator, value, effect: effect ?? '' });
  }
  return out;
}

function tolerates(tolerations: readonly Toleration[], taint: TaintModel): boolean {
  return tolerations.some(
    (t) =>
      (t.effect === '' || t.effect === taint.effect) &&
      (t.operator === 'Exists' ? t.key === '' || t.key === taint.key : t.key === taint.key && t.value === taint.value),
  );
}

/** `status.conditions[type=Ready].status`; ready when absent. */
function readiness(root: Field): boolean {
  const conditions = root.list('status.conditions') ?? [];
  let ready = true;
  for (const c of conditions) {
    if (!c.isMap) {
      c.typeError('a mapping with type and status');
      continue;
    }
    const type = c.str('type', { required: true });
    if (type !== 'Ready') continue;
    const statusF = c.child('status');
    const v = statusF.raw();
    // Unquoted True/False are YAML booleans; accept them as the strings Kubernetes writes.
    if (v === true || v === 'True') ready = true;
    else if (v === false || v === 'False' || v === 'Unknown') ready = false;
    else if (!statusF.present) statusF.missing('one of "True", "False", "Unknown"');
    else statusF.typeError('one of "True", "False", "Unknown"');
  }
  return ready;
}

/** `Kind/name` of the controlling owner reference, if any (read leniently). */
function ownerOf(root: Field): string | undefined {
  const refs = root.child('metadata').child('ownerReferences');
  if (!refs.isList) return undefined;
  const items = root.list('metadata.ownerReferences') ?? [];
  const pick = items.find((r) => r.raw('controller') === true) ?? items[0];
  const kind = pick?.rawStr('kind');
  const name = pick?.rawStr('name');
  return kind !== undefined && name !== undefined ? `${kind}/${name}` : undefined;
}

function taintText(t: TaintModel): string {
  return `${t.key}${t.value !== '' ? `=${t.value}` : ''}:${t.effect}`;
}

/** Chooses nodes and addresses for all pods (see the header comment for the rules). */
function placePods(state: LoadState): void {
  const s = state.get(PODS);
  const cluster = clusterDraft(state);
  if (cluster === undefined || !cluster.nodesKnown) return;
  const nodes = cluster.nodes;
  const byName = new Map(nodes.map((n) => [n.name, n] as const));
  const load = new Map<NodeDraft, number>(nodes.map((n) => [n, 0] as const));
  const nodeList = nodes.map((n) => n.name).join(', ');

  // 1. Nodes.
  for (const pod of s.pods) {
    let node: NodeDraft | undefined;
    if (pod.nodeName !== undefined) {
      node = byName.get(pod.nodeName);
      if (node === undefined) {
        pod.nodeNameField.error(`node ${quote(pod.nodeName)} does not exist (nodes: ${nodeList})`);
        continue;
      }
    } else if (pod.nodeNameField.present) {
      continue; // invalid nodeName, already reported
    } else if (pod.podIP !== undefined && !pod.hostNetwork) {
      node = nodes.find((n) => n.podCIDR !== undefined && cidrContains(n.podCIDR, pod.podIP as number));
      if (node === undefined) {
        if (nodes.every((n) => n.podCIDR !== undefined)) {
          pod.podIPField.error(
            `${formatIpv4(pod.podIP)} is not inside any node's podCIDR (${nodes.map((n) => `${n.name} ${n.podCIDR !== undefined ? cidrText(n.podCIDR) : '?'}`).join(', ')})`,
          );
        }
        continue;
      }
    } else {
      node = schedule(pod, nodes, load);
      if (node === undefined) {
        const why = nodes
          .map((n) => {
            if (!n.schedulable) return `${n.name} is not schedulable`;
            const t = n.taints.find((x) => x.effect !== 'PreferNoSchedule' && !tolerates(pod.tolerations, x));
            return `${n.name} has taint ${taintText(t ?? { key: '?', value: '', effect: 'NoSchedule' })}`;
          })
          .join('; ');
        pod.nameField.error(`no node can run this pod: ${why} (add a toleration or set spec.nodeName)`);
        continue;
      }
    }
    pod.node = node;
    load.set(node, (load.get(node) ?? 0) + 1);
  }

  // 2. Addresses: honour status.podIP first, then allocate from .2 upward.
  const used = new Map<number, PodDraft>();
  for (const pod of s.pods) {
    const node = pod.node;
    if (node === undefined || pod.podIP === undefined) continue;
    const ipText = formatIpv4(pod.podIP);
    if (pod.hostNetwork) {
      if (node.ip !== undefined && pod.podIP !== node.ip) {
        pod.podIPField.error(`a hostNetwork pod has its node's address: expected ${formatIpv4(node.ip)} (node ${node.name}), got ${ipText}`);
      }
      continue;
    }
    const cidr = node.podCIDR;
    if (cidr === undefined) continue;
    const where = `node ${node.name}'s podCIDR ${cidrText(cidr)}`;
    let problem: string | undefined;
    if (!cidrContains(cidr, pod.podIP)) problem = `${ipText} is outside ${where}`;
    else if (pod.podIP === cidr.addr) problem = `${ipText} is the network address of ${where}`;
    else if (pod.podIP === cidr.addr + 1) problem = `${ipText} is the gateway (cni0) address of ${where}`;
    else if (pod.podIP === broadcastOf(cidr)) problem = `${ipText} is the broadcast address of ${where}`;
    if (problem !== undefined) {
      pod.podIPField.error(problem);
      continue;
    }
    const other = used.get(pod.podIP);
    if (other !== undefined) {
      pod.podIPField.error(`${ipText} is already the podIP of ${other.label} (${whereText(other.podIPField.source(), pod.podIPField.ctx.file)})`);
      continue;
    }
    used.set(pod.podIP, pod);
    pod.ip = pod.podIP;
  }
  const cursor = new Map<NodeDraft, number>();
  for (const pod of s.pods) {
    const node = pod.node;
    if (node === undefined) continue;
    if (pod.hostNetwork) {
      pod.ip = node.ip;
      continue;
    }
    if (pod.podIP !== undefined || pod.podIPInvalid) continue;
    const cidr = node.podCIDR;
    if (cidr === undefined) continue;
    const last = broadcastOf(cidr) - 1;
    let next = cursor.get(node) ?? cidr.addr + 2;
    while (next <= last && used.has(next)) next++;
    if (next > last) {
      const usable = Math.max(0, last - (cidr.addr + 2) + 1);
      pod.nameField.error(
        `no free pod address left on node ${node.name}: its podCIDR ${cidrText(cidr)} has ${usable} usable address${usable === 1 ? '' : 'es'} (.1 is the gateway), all taken; lower nodeCIDRMaskSize or add nodes`,
      );
      cursor.set(node, next);
      continue;
    }
    pod.ip = next;
    used.set(next, pod);
    cursor.set(node, next + 1);
  }

  // 3. Models.
  for (const pod of s.pods) {
    if (pod.node === undefined || pod.ip === undefined || pod.containers === undefined) continue;
    s.models.push({
      namespace: pod.namespace,
      name: pod.name,
      nodeName: pod.node.name,
      ip: pod.ip,
      labels: pod.labels,
      containers: pod.containers,
      hostNetwork: pod.hostNetwork,
      ready: pod.ready,
      hostname: pod.hostname,
      subdomain: pod.subdomain,
      ownerRef: pod.ownerRef,
      source: pod.source,
    });
  }
}

/** The least-loaded eligible node (ties: node order); PreferNoSchedule nodes only as a fallback. */
function schedule(pod: PodDraft, nodes: readonly NodeDraft[], load: ReadonlyMap<NodeDraft, number>): NodeDraft | undefined {
  let best: NodeDraft | undefined;
  let bestKey: [number, number] | undefined;
  for (const n of nodes) {
    if (!n.schedulable) continue;
    const untolerated = n.taints.filter((t) => !tolerates(pod.tolerations, t));
    if (untolerated.some((t) => t.effect !== 'PreferNoSchedule')) continue;
    const key: [number, number] = [untolerated.length > 0 ? 1 : 0, load.get(n) ?? 0];
    if (bestKey === undefined || key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
      best = n;
      bestKey = key;
    }
  }
  return best;
}
