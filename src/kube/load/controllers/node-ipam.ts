/**
 * kube-controller-manager's node IPAM (the range allocator behind --allocate-node-cidrs): nodes
 * without a podCIDR of their own get the next free /nodeCIDRMaskSize subnet of clusterCIDR, in
 * node order (next-fit), skipping the subnets other nodes claim explicitly. When the subnets run
 * out, one error names the first node left without one and how many more there are.
 */
import type { Cidr } from '../../model.js';
import { cidrText } from '../values.js';
import type { Anchor } from './anchor.js';

/** A node that needs a podCIDR. */
export interface PodCidrRequest {
  readonly name: string;
  /** Where running out is reported (the node's entry, or the Cluster's nodes field). */
  readonly at: Anchor;
}

/**
 * The podCIDR of each node of `nodes` (in node order) that gets one from `clusterCIDR` cut into
 * /`maskSize` subnets, `claimed` being taken already; none when the mask does not fit the range.
 */
export function allocatePodCIDRs<N extends PodCidrRequest>(
  clusterCIDR: Cidr,
  maskSize: number,
  claimed: readonly Cidr[],
  nodes: readonly N[],
): Map<N, Cidr> {
  const out = new Map<N, Cidr>();
  if (maskSize < clusterCIDR.len || maskSize > 30) return out;
  const total = 2 ** (maskSize - clusterCIDR.len);
  const step = 2 ** (32 - maskSize);
  const taken = new Set<number>(claimed.map((c) => Math.floor((c.addr - clusterCIDR.addr) / step)));
  let cursor = 0;
  const unserved: N[] = [];
  for (const node of nodes) {
    while (cursor < total && taken.has(cursor)) cursor++;
    if (cursor >= total) {
      unserved.push(node);
      continue;
    }
    out.set(node, { addr: (clusterCIDR.addr + cursor * step) >>> 0, len: maskSize });
    taken.add(cursor);
    cursor++;
  }
  const first = unserved[0];
  if (first !== undefined) {
    const more = unserved.length - 1;
    first.at.error(
      `no free /${maskSize} subnet left in clusterCIDR ${cidrText(clusterCIDR)} for node ${first.name}${more > 0 ? ` and ${more} more node${more === 1 ? '' : 's'}` : ''} (${total} subnet${total === 1 ? '' : 's'}, all taken); widen spec.clusterCIDR or raise spec.nodeCIDRMaskSize`,
    );
  }
  return out;
}
