/**
 * Kubernetes `Pod` (v1): parsing (also of the pod templates of workloads, see workloads.ts),
 * scheduling and pod IP allocation.
 *
 * Order: pods are placed and addressed in load order: podnet's addon pods first (kubeadm and
 * flannel create them before anything else), then the input in document order (files in path
 * order, documents and List items in order), a workload's pods at the position of the workload's
 * document, in the order its controller creates them (ReplicaSet pods one after another,
 * StatefulSet ordinals upward, DaemonSet pods in node order, Job pods by start time).
 *
 * Scheduling (deterministic for a given seed):
 *   - A pod with `spec.nodeName` runs on that node, whatever its taints or schedulability
 *     (DaemonSet pods are pinned to their node by the DaemonSet controller this way).
 *   - A pod without `spec.nodeName` but with `status.podIP` (e.g. `kubectl get -o yaml` output)
 *     runs on the node whose podCIDR contains that address.
 *   - Any other pod is filtered, as kube-scheduler does: the node must be `schedulable` (not
 *     cordoned), carry every `spec.nodeSelector` label, satisfy the required node affinity
 *     (`requiredDuringSchedulingIgnoredDuringExecution` terms; preferred affinity and pod
 *     (anti-)affinity are not modelled), and have no NoSchedule/NoExecute taint the pod does not
 *     tolerate. Among the nodes left, those without an untolerated PreferNoSchedule taint come
 *     first; then the node with the fewest pods placed so far; ties go to the node ranked first
 *     in a permutation of the nodes drawn from the seed (SHA-256 of `<seed>:<node name>`, so the
 *     order is stable when nodes are added). Every pod counts toward its node's load, hostNetwork
 *     pods and pinned pods included. Addon pods (CoreDNS) go to the control-plane nodes when one
 *     of them accepts them, as kubeadm deploys CoreDNS before workers join.
 *
 * Pod IPs (host-local IPAM, per node): the node's podCIDR network address is reserved, `.1` is the
 * gateway (cni0), and the last address is broadcast. Addresses given in `status.podIP` are
 * honoured (they must be usable addresses of that node's podCIDR and unique). Every other pod gets
 * the lowest address from `.2` upward not taken by a `status.podIP`, in the order above;
 * addresses are never reused (not even those of Job pods that have finished). hostNetwork pods
 * share their node's underlay address.
 */
import type { Nanos } from '../../../sim/time.js';
import type { ContainerModel, ObjectOrigin, PodModel, SourceRef } from '../../model.js';
import { stableHash } from '../alloc.js';
import type { Field } from '../field.js';
import { parsePorts, PortScope } from '../ports.js';
import { nodeAffinityMatches, parseNodeAffinity, type NodeSelectorTerm } from '../selector.js';
import { StateKey, addUnique, whereText, type KindHandler, type LoadState } from '../state.js';
import { broadcastOf, cidrContains, cidrText, dnsLabel, dnsSubdomain, formatIpv4, labelKey, labelValue, quote } from '../values.js';
import { clusterDraft, type NodeDraft } from './cluster.js';
import { referenceNamespace } from './namespace.js';
import { parsePodDns, type PodDnsSettings } from './dns.js';
import { parseTolerations, taintText, tolerates, type Toleration } from './taints.js';

/** The `spec` of a pod or of a pod template, as read. */
export interface PodSpecDraft {
  readonly field: Field;
  readonly nodeName: string | undefined;
  readonly nodeNameField: Field;
  readonly hostNetwork: boolean;
  /** `spec.hostname` when given. */
  readonly hostname: string | undefined;
  readonly subdomain: string | undefined;
  /** undefined when the containers could not be read (reported). */
  readonly containers: readonly ContainerModel[] | undefined;
  readonly tolerations: readonly Toleration[];
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Required node affinity terms (none: no constraint); undefined when invalid (reported). */
  readonly affinity: readonly NodeSelectorTerm[] | undefined;
  readonly restartPolicy: string | undefined;
  /** spec.dnsPolicy and spec.dnsConfig (see kinds/dns.ts). */
  readonly dns?: PodDnsSettings | undefined;
}

/** A pod as read from its document (or made by a controller), before placement. */
export interface PodDraft {
  readonly namespace: string;
  readonly name: string;
  readonly label: string;
  /** Where problems with this pod are reported: its name, or its workload's name. */
  readonly nameField: Field;
  /** "this pod" for a Pod document, "pod web-7d4b9c8f5d-x2k4p" for a workload's pod. */
  readonly who: string;
  readonly spec: PodSpecDraft;
  readonly nodeName: string | undefined;
  readonly nodeNameField: Field;
  readonly hostname: string;
  /** `spec.hostname` was set (by the input or by the StatefulSet controller). */
  readonly explicitHostname: boolean;
  readonly subdomain: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly podIP: number | undefined;
  /** status.podIP was given but unusable (already reported): do not allocate one either. */
  readonly podIPInvalid: boolean;
  readonly podIPField: Field;
  readonly ready: boolean;
  readonly ownerRef: string | undefined;
  /** `Kind/name` of the controller owner reference given in the input, if any. */
  readonly controllerRef: { readonly kind: string; readonly name: string } | undefined;
  readonly origin: ObjectOrigin;
  readonly seq: number;
  readonly ordinal: number;
  readonly activeFrom: Nanos | undefined;
  readonly activeUntil: Nanos | undefined;
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

/** The pod `namespace/name` if it was declared or created (even with errors in its other fields). */
export function findPod(state: LoadState, namespace: string, name: string): PodDraft | undefined {
  return state.get(PODS).byKey.get(`${namespace}/${name}`);
}

/** Namespaces holding a pod called `name`, for "did you mean" hints. */
export function namespacesWithPod(state: LoadState, name: string): string[] {
  return state.get(PODS).pods.filter((p) => p.name === name).map((p) => p.namespace);
}

/** Every pod read or created (placed or not, with or without errors), in load order once placed. */
export function podDrafts(state: LoadState): readonly PodDraft[] {
  return state.get(PODS).pods;
}

/** Placed pods in load order (complete only when there were no errors). */
export function podModels(state: LoadState): readonly PodModel[] {
  return state.get(PODS).models;
}

/** A pod a controller creates (see workloads.ts). */
export interface GeneratedPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: PodSpecDraft;
  /** The workload's name field: where problems with the pod are reported. */
  readonly nameField: Field;
  readonly ownerRef: string;
  readonly origin: ObjectOrigin;
  readonly seq: number;
  readonly ordinal: number;
  /** Set by the DaemonSet controller. */
  readonly nodeName?: string | undefined;
  /** Set by the StatefulSet controller. */
  readonly hostname?: string | undefined;
  readonly subdomain?: string | undefined;
  readonly activeFrom?: Nanos | undefined;
  readonly activeUntil?: Nanos | undefined;
  readonly source: SourceRef;
}

/** Adds a controller-made pod; false when its name is taken (nothing added). */
export function addGeneratedPod(state: LoadState, g: GeneratedPod): boolean {
  const s = state.get(PODS);
  const key = `${g.namespace}/${g.name}`;
  if (s.byKey.has(key)) return false;
  const hostname = g.hostname ?? g.spec.hostname;
  const draft: PodDraft = {
    namespace: g.namespace,
    name: g.name,
    label: `Pod ${key}`,
    nameField: g.nameField,
    who: `pod ${g.name}`,
    spec: g.spec,
    nodeName: g.nodeName ?? g.spec.nodeName,
    nodeNameField: g.spec.nodeNameField,
    hostname: hostname ?? g.name,
    explicitHostname: hostname !== undefined,
    subdomain: g.subdomain ?? g.spec.subdomain,
    labels: g.labels,
    podIP: undefined,
    podIPInvalid: false,
    podIPField: g.nameField,
    ready: true,
    ownerRef: g.ownerRef,
    controllerRef: undefined,
    origin: g.origin,
    seq: g.seq,
    ordinal: g.ordinal,
    activeFrom: g.activeFrom,
    activeUntil: g.activeUntil,
    source: g.source,
    node: undefined,
    ip: undefined,
  };
  s.byKey.set(key, draft);
  s.pods.push(draft);
  return true;
}

/** Whether a pod `namespace/name` exists (declared or created so far). */
export function podNameTaken(state: LoadState, namespace: string, name: string): boolean {
  return state.get(PODS).byKey.has(`${namespace}/${name}`);
}

export const podKind: KindHandler = {
  kind: 'Pod',
  apiVersions: ['v1'],
  namespaced: true,
  collect(obj, state) {
    const draft = parsePod(obj.root, obj.label, obj.source, state, obj.origin, obj.seq);
    if (draft === undefined) return;
    const s = state.get(PODS);
    const key = `${draft.namespace}/${draft.name}`;
    addUnique(s.byKey, s.pods, key, draft, `Pod ${key}`, obj.source.file);
  },
  resolve: {
    order: 30,
    run(state) {
      placePods(state);
    },
  },
};

/** Reads the `spec` of a Pod or of a pod template. */
export function parsePodSpec(specF: Field, spec: Field | undefined): PodSpecDraft {
  const nodeName = specF.str('nodeName', { check: dnsSubdomain });
  const hostNetwork = specF.bool('hostNetwork', { default: false }) ?? false;
  const hostname = specF.str('hostname', { check: dnsLabel });
  const subdomain = specF.str('subdomain', { check: dnsLabel });
  const containers = spec !== undefined ? parseContainers(spec) : undefined;
  const tolerations = parseTolerations(specF);
  const nodeSelector = specF.stringMap('nodeSelector', labelKey, labelValue) ?? {};
  const affinity = parseNodeAffinity(specF);
  const restartPolicy = specF.oneOf('restartPolicy', ['Always', 'OnFailure', 'Never'] as const);
  const dns = parsePodDns(specF);
  return {
    field: specF,
    nodeName,
    nodeNameField: specF.child('nodeName'),
    hostNetwork,
    hostname,
    subdomain,
    containers,
    tolerations,
    nodeSelector,
    affinity,
    restartPolicy,
    dns,
  };
}

function parsePod(root: Field, label: string, source: SourceRef, state: LoadState, origin: ObjectOrigin, seq: number): PodDraft | undefined {
  const nameField = root.child('metadata').child('name');
  const rawName = root.rawStr('metadata.name');
  root.str('metadata.name', { required: true, check: dnsSubdomain, expected: 'the pod name (a DNS-1123 subdomain)' });
  const nsField = root.child('metadata').child('namespace');
  const rawNs = root.rawStr('metadata.namespace');
  const ns = root.str('metadata.namespace', { check: dnsLabel });
  if (ns !== undefined) referenceNamespace(state, ns, label, nsField);
  const labels = root.stringMap('metadata.labels', labelKey, labelValue) ?? {};
  const owner = ownerOf(root);

  const spec = root.map('spec', { required: true, expected: 'the pod spec (a mapping with containers)' });
  const specF = spec ?? root.child('spec');
  const podSpec = parsePodSpec(specF, spec);

  const podIPField = root.child('status').child('podIP');
  const podIP = root.ipv4('status.podIP');
  const ready = readiness(root);

  if (rawName === undefined) return undefined;
  return {
    namespace: rawNs ?? 'default',
    name: rawName,
    label,
    nameField,
    who: 'this pod',
    spec: podSpec,
    nodeName: podSpec.nodeName,
    nodeNameField: podSpec.nodeNameField,
    hostname: podSpec.hostname ?? rawName,
    explicitHostname: podSpec.hostname !== undefined,
    subdomain: podSpec.subdomain,
    labels,
    podIP,
    podIPInvalid: podIPField.present && podIP === undefined,
    podIPField,
    ready,
    ownerRef: owner !== undefined ? `${owner.kind}/${owner.name}` : undefined,
    controllerRef: owner?.controller === true ? { kind: owner.kind, name: owner.name } : undefined,
    origin,
    seq,
    ordinal: 0,
    activeFrom: undefined,
    activeUntil: undefined,
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

/** The controlling owner reference (or else the first one), read leniently. */
export function ownerOf(root: Field): { kind: string; name: string; controller: boolean } | undefined {
  const refs = root.child('metadata').child('ownerReferences');
  if (!refs.isList) return undefined;
  const items = root.list('metadata.ownerReferences') ?? [];
  const controller = items.find((r) => r.raw('controller') === true);
  const pick = controller ?? items[0];
  const kind = pick?.rawStr('kind');
  const name = pick?.rawStr('name');
  return kind !== undefined && name !== undefined ? { kind, name, controller: controller !== undefined } : undefined;
}

/** Why `node` cannot run a pod with `spec` (undefined: it can), for scheduling and DaemonSets. */
export function nodeRefusal(spec: PodSpecDraft, node: NodeDraft, tolerations: readonly Toleration[], ignoreCordon = false): string | undefined {
  if (!ignoreCordon && !node.schedulable) return `${node.name} is not schedulable`;
  const missing = Object.entries(spec.nodeSelector).find(([k, v]) => node.labels[k] !== v);
  if (missing !== undefined) return `${node.name} lacks label ${missing[0]}=${missing[1]} (nodeSelector)`;
  if (spec.affinity !== undefined && !nodeAffinityMatches(spec.affinity, node.name, node.labels)) return `${node.name} does not match the required node affinity`;
  const t = node.taints.find((x) => x.effect !== 'PreferNoSchedule' && !tolerates(tolerations, x));
  if (t !== undefined) return `${node.name} has taint ${taintText(t)}`;
  return undefined;
}

/** Chooses nodes and addresses for all pods (see the header comment for the rules). */
function placePods(state: LoadState): void {
  const s = state.get(PODS);
  s.pods.sort((a, b) => a.seq - b.seq || a.ordinal - b.ordinal);
  const cluster = clusterDraft(state);
  if (cluster === undefined || !cluster.nodesKnown) return;
  const nodes = cluster.nodes;
  const byName = new Map(nodes.map((n) => [n.name, n] as const));
  const load = new Map<NodeDraft, number>(nodes.map((n) => [n, 0] as const));
  const rank = new Map<NodeDraft, number>(nodes.map((n) => [n, stableHash(`${state.seed}:${n.name}`)] as const));
  const nodeList = nodes.map((n) => n.name).join(', ');
  // A workload's pods share its name field: report each kind of problem once per workload (and node).
  const reported = new Set<string>();
  const once = (pod: PodDraft, what: string): boolean => {
    if (pod.who === 'this pod') return true;
    const key = `${pod.nameField.ctx.file}\u0000${pod.nameField.offset}\u0000${what}`;
    if (reported.has(key)) return false;
    reported.add(key);
    return true;
  };

  // 1. Nodes.
  const picker = new NodePicker(nodes, load, rank);
  const byPodCIDR = podCidrIndex(nodes);
  for (const pod of s.pods) {
    let node: NodeDraft | undefined;
    let scheduled = false;
    if (pod.nodeName !== undefined) {
      node = byName.get(pod.nodeName);
      if (node === undefined) {
        pod.nodeNameField.error(`node ${quote(pod.nodeName)} does not exist (nodes: ${nodeList})`);
        continue;
      }
    } else if (pod.nodeNameField.present) {
      continue; // invalid nodeName, already reported
    } else if (pod.podIP !== undefined && !pod.spec.hostNetwork) {
      node = byPodCIDR(pod.podIP);
      if (node === undefined) {
        if (nodes.every((n) => n.podCIDR !== undefined)) {
          pod.podIPField.error(
            `${formatIpv4(pod.podIP)} is not inside any node's podCIDR (${nodes.map((n) => `${n.name} ${n.podCIDR !== undefined ? cidrText(n.podCIDR) : '?'}`).join(', ')})`,
          );
        }
        continue;
      }
    } else {
      if (pod.spec.affinity === undefined) continue; // invalid affinity, already reported
      node = picker.pick(pod);
      scheduled = true;
      if (node === undefined) {
        const why = nodes.map((n) => nodeRefusal(pod.spec, n, pod.spec.tolerations) ?? `${n.name} ?`).join('; ');
        if (!once(pod, 'unschedulable')) continue;
        if (pod.origin === 'addon') pod.nameField.objectNotice(`${pod.who} stays Pending, no node can run it: ${why} (turn the addon off with the Cluster's spec.addons)`);
        else pod.nameField.error(`no node can run ${pod.who}: ${why} (add a toleration, change the node selector or set spec.nodeName)`);
        continue;
      }
    }
    pod.node = node;
    if (!scheduled) load.set(node, (load.get(node) ?? 0) + 1);
  }

  // 2. Addresses: honour status.podIP first, then allocate from .2 upward.
  const used = new Map<number, PodDraft>();
  for (const pod of s.pods) {
    const node = pod.node;
    if (node === undefined || pod.podIP === undefined) continue;
    const ipText = formatIpv4(pod.podIP);
    if (pod.spec.hostNetwork) {
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
    if (pod.spec.hostNetwork) {
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
      cursor.set(node, next);
      if (!once(pod, `full:${node.name}`)) continue;
      if (pod.origin === 'addon') {
        pod.nameField.objectNotice(`${pod.who} stays Pending: no free pod address left on node ${node.name} (podCIDR ${cidrText(cidr)})`);
        continue;
      }
      pod.nameField.error(
        `no free pod address left on node ${node.name}${pod.who === 'this pod' ? '' : ` for ${pod.who}`}: its podCIDR ${cidrText(cidr)} has ${usable} usable address${usable === 1 ? '' : 'es'} (.1 is the gateway), all taken; lower nodeCIDRMaskSize or add nodes`,
      );
      continue;
    }
    pod.ip = next;
    used.set(next, pod);
    cursor.set(node, next + 1);
  }

  // 3. Models.
  for (const pod of s.pods) {
    if (pod.node === undefined || pod.ip === undefined || pod.spec.containers === undefined) continue;
    s.models.push({
      namespace: pod.namespace,
      name: pod.name,
      nodeName: pod.node.name,
      ip: pod.ip,
      labels: pod.labels,
      containers: pod.spec.containers,
      hostNetwork: pod.spec.hostNetwork,
      ready: pod.ready,
      hostname: pod.hostname,
      subdomain: pod.subdomain,
      ownerRef: pod.ownerRef,
      ...(pod.activeFrom !== undefined ? { activeFrom: pod.activeFrom } : {}),
      ...(pod.activeUntil !== undefined ? { activeUntil: pod.activeUntil } : {}),
      ...(pod.origin === 'addon' ? { origin: pod.origin } : {}),
      ...(pod.spec.dns?.dnsPolicy !== undefined ? { dnsPolicy: pod.spec.dns.dnsPolicy } : {}),
      ...(pod.spec.dns?.dnsConfig !== undefined ? { dnsConfig: pod.spec.dns.dnsConfig } : {}),
      source: pod.source,
    });
  }
}

/** The node whose podCIDR holds an address: one map lookup per distinct prefix length. */
function podCidrIndex(nodes: readonly NodeDraft[]): (ip: number) => NodeDraft | undefined {
  const byLen = new Map<number, Map<number, NodeDraft>>();
  for (const n of nodes) {
    if (n.podCIDR === undefined) continue;
    let m = byLen.get(n.podCIDR.len);
    if (m === undefined) byLen.set(n.podCIDR.len, (m = new Map()));
    // the first node wins on duplicates, as the linear search it replaces did
    if (!m.has(n.podCIDR.addr)) m.set(n.podCIDR.addr, n);
  }
  const lens = [...byLen.keys()].sort((a, b) => b - a);
  return (ip) => {
    let best: NodeDraft | undefined;
    for (const len of lens) {
      const hit = byLen.get(len)!.get(len === 0 ? 0 : (ip & (~0 << (32 - len))) >>> 0);
      if (hit !== undefined && (best === undefined || nodes.indexOf(hit) < nodes.indexOf(best))) best = hit;
    }
    return best;
  };
}

/**
 * Chooses the best eligible node for each pod (see the header): fewest pods first, nodes with an
 * untolerated PreferNoSchedule taint only as a fallback, ties broken by the seeded rank.
 *
 * Pods with the same constraints share one eligible set and a min-heap over
 * (prefer, load, rank), so 150,000 pods on 5,000 nodes cost O(P log N) rather than O(P × N).
 * Loads only grow, so a heap entry whose recorded load is stale is simply re-pushed with the
 * current one when it surfaces: the first up-to-date entry popped is the true minimum.
 */
class NodePicker {
  private readonly groups = new Map<string, PickEntry[]>();

  constructor(
    private readonly nodes: readonly NodeDraft[],
    private readonly load: Map<NodeDraft, number>,
    private readonly rank: ReadonlyMap<NodeDraft, number>,
  ) {}

  /** The node for `pod`, with its load already counted; undefined when no node can run it. */
  pick(pod: PodDraft): NodeDraft | undefined {
    const key = JSON.stringify([pod.origin === 'addon', pod.spec.nodeSelector, pod.spec.affinity, pod.spec.tolerations]);
    let g = this.groups.get(key);
    if (g === undefined) {
      let eligible = this.nodes.filter((n) => nodeRefusal(pod.spec, n, pod.spec.tolerations) === undefined);
      if (pod.origin === 'addon' && eligible.some((n) => n.controlPlane)) eligible = eligible.filter((n) => n.controlPlane);
      const heap: PickEntry[] = [];
      for (const n of eligible) {
        const prefer = n.taints.some((t) => t.effect === 'PreferNoSchedule' && !tolerates(pod.spec.tolerations, t)) ? 1 : 0;
        heapPush(heap, { node: n, prefer, load: this.load.get(n) ?? 0, rank: this.rank.get(n) ?? 0 });
      }
      g = heap;
      this.groups.set(key, g);
    }
    for (;;) {
      const top = heapPop(g);
      if (top === undefined) return undefined;
      const current = this.load.get(top.node) ?? 0;
      if (current !== top.load) {
        top.load = current;
        heapPush(g, top);
        continue;
      }
      top.load = current + 1;
      this.load.set(top.node, current + 1);
      heapPush(g, top);
      return top.node;
    }
  }
}

interface PickEntry {
  readonly node: NodeDraft;
  readonly prefer: number;
  load: number;
  readonly rank: number;
}

function pickBefore(a: PickEntry, b: PickEntry): boolean {
  return a.prefer !== b.prefer ? a.prefer < b.prefer : a.load !== b.load ? a.load < b.load : a.rank < b.rank;
}

function heapPush(h: PickEntry[], e: PickEntry): void {
  let i = h.length;
  h.push(e);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!pickBefore(e, h[p]!)) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = e;
}

function heapPop(h: PickEntry[]): PickEntry | undefined {
  const top = h[0];
  const last = h.pop();
  if (top === undefined || last === undefined || h.length === 0) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= h.length) break;
    const r = l + 1;
    const c = r < h.length && pickBefore(h[r]!, h[l]!) ? r : l;
    if (!pickBefore(h[c]!, last)) break;
    h[i] = h[c]!;
    i = c;
  }
  h[i] = last;
  return top;
}
