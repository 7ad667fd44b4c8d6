/**
 * Pod addresses as the CNI host-local IPAM plugin hands them out, per node: the node's podCIDR
 * network address is reserved, `.1` is the gateway (cni0), and the last address is broadcast.
 * Addresses given in `status.podIP` are honoured first (they must be usable addresses of that
 * node's podCIDR and unique). Every other pod gets the lowest address from `.2` upward not taken
 * by a `status.podIP`, in load order; addresses are never reused (not even those of Job pods that
 * have finished). hostNetwork pods share their node's underlay address (a given podIP must be it).
 */
import type { Cidr, ObjectOrigin } from '../../model.js';
import { whereText } from '../state.js';
import { broadcastOf, cidrContains, cidrText, formatIpv4 } from '../values.js';
import type { Anchor } from './anchor.js';

/** A node, as far as pod addresses are concerned. */
export interface IpamNode {
  readonly name: string;
  /** The node's underlay address (hostNetwork pods use it). */
  readonly ip: number | undefined;
  readonly podCIDR: Cidr | undefined;
}

/** A pod placed on a node, as far as its address is concerned. */
export interface IpamPod {
  /** `Pod namespace/name`. */
  readonly label: string;
  /** "this pod" for a Pod document, "pod web-7d4b9c8f5d-x2k4p" for a workload's pod. */
  readonly who: string;
  readonly origin: ObjectOrigin;
  /** Where running out of addresses is reported: its name, or its workload's (shared by its pods). */
  readonly nameField: Anchor;
  readonly podIP: number | undefined;
  /** status.podIP was given but unusable (already reported): no address is allocated either. */
  readonly podIPInvalid: boolean;
  readonly podIPField: Anchor;
  readonly spec: { readonly hostNetwork: boolean };
}

/** The address of every placed pod that gets one, in the order of `pods` (see the header); problems are reported. */
export function assignPodIPs<P extends IpamPod, N extends IpamNode>(
  pods: readonly P[],
  placement: ReadonlyMap<P, N>,
): Map<P, number> {
  const ips = new Map<P, number>();
  // A workload's pods share its name field: report a full node once per workload.
  const reported = new Map<Anchor, Set<string>>();
  const once = (pod: P, node: N): boolean => {
    if (pod.who === 'this pod') return true;
    let nodes = reported.get(pod.nameField);
    if (nodes === undefined) reported.set(pod.nameField, (nodes = new Set()));
    if (nodes.has(node.name)) return false;
    nodes.add(node.name);
    return true;
  };

  // 1. status.podIP first.
  const used = new Map<number, P>();
  for (const pod of pods) {
    const node = placement.get(pod);
    if (node === undefined || pod.podIP === undefined) continue;
    const ipText = formatIpv4(pod.podIP);
    if (pod.spec.hostNetwork) {
      if (node.ip !== undefined && pod.podIP !== node.ip) {
        pod.podIPField.error(
          `a hostNetwork pod has its node's address: expected ${formatIpv4(node.ip)} (node ${node.name}), got ${ipText}`,
        );
      }
      continue;
    }
    const cidr = node.podCIDR;
    if (cidr === undefined) continue;
    const where = `node ${node.name}'s podCIDR ${cidrText(cidr)}`;
    let problem: string | undefined;
    // (the API server does not check this; podnet's data path routes a node's pods by its podCIDR, as flannel does)
    if (!cidrContains(cidr, pod.podIP))
      problem = `${ipText} is outside ${where} (podnet routes a node's pods by its podCIDR, as flannel does)`;
    else if (pod.podIP === cidr.addr) problem = `${ipText} is the network address of ${where}`;
    else if (pod.podIP === cidr.addr + 1) problem = `${ipText} is the gateway (cni0) address of ${where}`;
    else if (pod.podIP === broadcastOf(cidr)) problem = `${ipText} is the broadcast address of ${where}`;
    if (problem !== undefined) {
      pod.podIPField.error(problem);
      continue;
    }
    const other = used.get(pod.podIP);
    if (other !== undefined) {
      pod.podIPField.error(
        `${ipText} is already the podIP of ${other.label} (${whereText(other.podIPField.source(), pod.podIPField.source().file)})`,
      );
      continue;
    }
    used.set(pod.podIP, pod);
    ips.set(pod, pod.podIP);
  }

  // 2. Then the lowest free address from .2 upward, never reused.
  const cursor = new Map<N, number>();
  for (const pod of pods) {
    const node = placement.get(pod);
    if (node === undefined) continue;
    if (pod.spec.hostNetwork) {
      if (node.ip !== undefined) ips.set(pod, node.ip);
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
      if (!once(pod, node)) continue;
      if (pod.origin === 'addon') {
        pod.nameField.objectNotice(
          `${pod.who} stays Pending: no free pod address left on node ${node.name} (podCIDR ${cidrText(cidr)})`,
        );
        continue;
      }
      pod.nameField.error(
        `no free pod address left on node ${node.name}${pod.who === 'this pod' ? '' : ` for ${pod.who}`}: its podCIDR ${cidrText(cidr)} has ${usable} usable address${usable === 1 ? '' : 'es'} (.1 is the gateway), all taken; lower nodeCIDRMaskSize or add nodes`,
      );
      continue;
    }
    ips.set(pod, next);
    used.set(next, pod);
    cursor.set(node, next + 1);
  }
  return ips;
}
