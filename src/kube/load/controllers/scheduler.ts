/**
 * kube-scheduler, deterministic for a given seed: which node each pod runs on. Pods are placed in
 * load order (see readers/pod.ts), one after another, each seeing the load the earlier ones made.
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
 * A pod no node accepts is an error naming each node's reason (for an addon pod a notice: it
 * stays Pending); a workload's pods report it once, at the workload.
 */
import { BinaryHeap } from '../../../sim/heap.js';
import type { Cidr, ObjectOrigin, TaintModel } from '../../model.js';
import { taintText, tolerates, type Toleration } from '../readers/taints.js';
import { nodeAffinityMatches, type NodeSelectorTerm } from '../selector.js';
import { cidrText, formatIpv4, quote } from '../values.js';
import type { Anchor } from './anchor.js';
import { stableHash } from './generated-names.js';

/** A node, as far as scheduling is concerned. */
export interface SchedulingNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly TaintModel[];
  readonly schedulable: boolean;
  readonly controlPlane: boolean;
  /** undefined when it could not be given one (reported). */
  readonly podCIDR: Cidr | undefined;
}

/** What the scheduler's filters read of a pod spec. */
export interface PlacementSpec {
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Required node affinity terms (none: no constraint); undefined when invalid (reported). */
  readonly affinity: readonly NodeSelectorTerm[] | undefined;
  readonly tolerations: readonly Toleration[];
  readonly hostNetwork: boolean;
}

/** A pod, as far as scheduling is concerned. */
export interface SchedulingPod {
  /** "this pod" for a Pod document, "pod web-7d4b9c8f5d-x2k4p" for a workload's pod. */
  readonly who: string;
  readonly origin: ObjectOrigin;
  /** Where a pod no node can run is reported: its name, or its workload's (shared by its pods). */
  readonly nameField: Anchor;
  readonly nodeName: string | undefined;
  /** `spec.nodeName`; present with `nodeName` undefined when it was invalid (reported). */
  readonly nodeNameField: Anchor & { readonly present: boolean };
  readonly podIP: number | undefined;
  readonly podIPField: Anchor;
  readonly spec: PlacementSpec;
}

/** Why `node` cannot run a pod with `spec` (undefined: it can), for scheduling and DaemonSets. */
export function nodeRefusal(
  spec: PlacementSpec,
  node: SchedulingNode,
  tolerations: readonly Toleration[],
  ignoreCordon = false,
): string | undefined {
  if (!ignoreCordon && !node.schedulable) return `${node.name} is not schedulable`;
  const missing = Object.entries(spec.nodeSelector).find(([k, v]) => node.labels[k] !== v);
  if (missing !== undefined) return `${node.name} lacks label ${missing[0]}=${missing[1]} (nodeSelector)`;
  if (spec.affinity !== undefined && !nodeAffinityMatches(spec.affinity, node.name, node.labels)) {
    return `${node.name} does not match the required node affinity`;
  }
  const t = node.taints.find((x) => x.effect !== 'PreferNoSchedule' && !tolerates(tolerations, x));
  if (t !== undefined) return `${node.name} has taint ${taintText(t)}`;
  return undefined;
}

/**
 * The node of each pod that gets one (see the header), placing `pods` in the order given.
 * Problems (an unknown node, a podIP in no node's podCIDR, no node fitting) are reported.
 */
export function schedulePods<P extends SchedulingPod, N extends SchedulingNode>(
  pods: readonly P[],
  nodes: readonly N[],
  seed: number,
): Map<P, N> {
  const placement = new Map<P, N>();
  const byName = new Map(nodes.map((n) => [n.name, n] as const));
  const load = new Map<N, number>(nodes.map((n) => [n, 0] as const));
  const nodeList = nodes.map((n) => n.name).join(', ');
  // A workload's pods share its name field: report that none can run once per workload.
  const unschedulable = new Set<Anchor>();
  const picker = new NodePicker(nodes, load, seed);
  const byPodCIDR = podCidrIndex(nodes);
  for (const pod of pods) {
    let node: N | undefined;
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
        if (pod.who !== 'this pod') {
          if (unschedulable.has(pod.nameField)) continue;
          unschedulable.add(pod.nameField);
        }
        if (pod.origin === 'addon') {
          pod.nameField.objectNotice(
            `${pod.who} stays Pending, no node can run it: ${why} (turn the addon off with the Cluster's spec.addons)`,
          );
        } else {
          pod.nameField.error(
            `no node can run ${pod.who}: ${why} (add a toleration, change the node selector or set spec.nodeName)`,
          );
        }
        continue;
      }
    }
    placement.set(pod, node);
    if (!scheduled) load.set(node, (load.get(node) ?? 0) + 1);
  }
  return placement;
}

/** The node whose podCIDR holds an address: one map lookup per distinct prefix length. */
function podCidrIndex<N extends SchedulingNode>(nodes: readonly N[]): (ip: number) => N | undefined {
  const byLen = new Map<number, Map<number, N>>();
  for (const n of nodes) {
    if (n.podCIDR === undefined) continue;
    let m = byLen.get(n.podCIDR.len);
    if (m === undefined) byLen.set(n.podCIDR.len, (m = new Map()));
    // the first node wins on duplicates, as the linear search it replaces did
    if (!m.has(n.podCIDR.addr)) m.set(n.podCIDR.addr, n);
  }
  const lens = [...byLen.keys()].sort((a, b) => b - a);
  return (ip) => {
    let best: N | undefined;
    for (const len of lens) {
      const hit = byLen.get(len)!.get(len === 0 ? 0 : (ip & (~0 << (32 - len))) >>> 0);
      if (hit !== undefined && (best === undefined || nodes.indexOf(hit) < nodes.indexOf(best))) best = hit;
    }
    return best;
  };
}

interface PickEntry<N> {
  readonly node: N;
  readonly prefer: number;
  load: number;
  readonly rank: number;
}

function pickBefore<N>(a: PickEntry<N>, b: PickEntry<N>): boolean {
  return a.prefer !== b.prefer ? a.prefer < b.prefer : a.load !== b.load ? a.load < b.load : a.rank < b.rank;
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
export class NodePicker<N extends SchedulingNode> {
  private readonly groups = new Map<string, BinaryHeap<PickEntry<N>>>();
  private readonly rank: ReadonlyMap<N, number>;

  /** `load` is shared with the caller, who counts the pods it places without the picker. */
  constructor(
    private readonly nodes: readonly N[],
    private readonly load: Map<N, number>,
    seed: number,
  ) {
    this.rank = new Map<N, number>(nodes.map((n) => [n, stableHash(`${seed}:${n.name}`)] as const));
  }

  /** The node for `pod`, with its load already counted; undefined when no node can run it. */
  pick(pod: { readonly origin: ObjectOrigin; readonly spec: PlacementSpec }): N | undefined {
    const key = JSON.stringify([
      pod.origin === 'addon',
      pod.spec.nodeSelector,
      pod.spec.affinity,
      pod.spec.tolerations,
    ]);
    let g = this.groups.get(key);
    if (g === undefined) {
      let eligible = this.nodes.filter((n) => nodeRefusal(pod.spec, n, pod.spec.tolerations) === undefined);
      if (pod.origin === 'addon' && eligible.some((n) => n.controlPlane)) {
        eligible = eligible.filter((n) => n.controlPlane);
      }
      g = new BinaryHeap<PickEntry<N>>(pickBefore);
      for (const n of eligible) {
        const prefer = n.taints.some((t) => t.effect === 'PreferNoSchedule' && !tolerates(pod.spec.tolerations, t))
          ? 1
          : 0;
        g.push({ node: n, prefer, load: this.load.get(n) ?? 0, rank: this.rank.get(n) ?? 0 });
      }
      this.groups.set(key, g);
    }
    for (;;) {
      const top = g.pop();
      if (top === undefined) return undefined;
      const current = this.load.get(top.node) ?? 0;
      if (current !== top.load) {
        top.load = current;
        g.push(top);
        continue;
      }
      top.load = current + 1;
      this.load.set(top.node, current + 1);
      g.push(top);
      return top.node;
    }
  }
}
