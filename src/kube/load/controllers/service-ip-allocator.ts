/**
 * kube-apiserver's Service ClusterIP allocator (deterministic: independent of the seed and of
 * document order). The serviceCIDR's network and broadcast addresses are never used. Given IPs
 * are reserved first, in document order; a given IP outside the range, on its network or
 * broadcast address, or already held is an error at the second claimant. Then
 * `default/kubernetes` gets the first address (.1) and `kube-system/kube-dns` the tenth (.10), as
 * kubeadm arranges, unless a given IP already holds it (a notice). Every other Service gets an
 * address from the upper "dynamic" band — the lowest min(max(16, size/16), 256) addresses are the
 * static band (KEP-3070), used only once the dynamic band is full — starting at a hash (SHA-256)
 * of `namespace/name` and probing upward past taken addresses. Services are allocated in
 * `namespace/name` order, so adding a Service never moves another unless their hashes collide
 * (see band-allocator.ts).
 */
import type { Cidr } from '../../model.js';
import { whereText } from '../state.js';
import { broadcastOf, cidrContains, cidrSize, cidrText, formatIpv4 } from '../values.js';
import type { Anchor } from './anchor.js';
import { BandAllocator } from './band-allocator.js';

/** A Service that needs a ClusterIP (neither headless nor ExternalName). */
export interface ClusterIPRequest {
  /** `namespace/name`: the allocation order and the hash key. */
  readonly key: string;
  /** `Service namespace/name`, for messages about it. */
  readonly label: string;
  /** `spec.clusterIP(s)` when it names an address. */
  readonly givenIP: number | undefined;
  /** Where the given address is written (or would be). */
  readonly givenIPField: Anchor;
  /** Where problems of the Service as a whole are reported. */
  readonly nameField: Anchor;
}

/** What the allocator decided. */
export interface ClusterIPAllocation<S> {
  /** The ClusterIP of each Service that has one. */
  readonly clusterIPs: ReadonlyMap<S, number>;
  /** Services refused (a bad given IP, or none left): reported, and not to be modelled. */
  readonly refused: ReadonlySet<S>;
}

/** kubeadm's fixed ClusterIPs: offsets from the serviceCIDR's network address. */
const WELL_KNOWN: ReadonlyArray<readonly [key: string, offset: number, why: string]> = [
  ['default/kubernetes', 1, "kubeadm's address for the kubernetes Service"],
  ['kube-system/kube-dns', 10, "kubeadm's address for kube-dns"],
];

/**
 * Size of the static (lower) band of a Service CIDR of `cidrSize` addresses (KEP-3070):
 * min(max(16, size/16), 256), and no band at all for ranges under 16 addresses.
 */
export function serviceIpStaticBand(cidrSize: number): number {
  if (cidrSize < 16) return 0;
  return Math.min(Math.max(16, Math.floor(cidrSize / 16)), 256);
}

/** Allocates the ClusterIPs of `services` (in document order) from `serviceCIDR` (see the header). */
export function allocateClusterIPs<S extends ClusterIPRequest>(
  serviceCIDR: Cidr,
  services: readonly S[],
): ClusterIPAllocation<S> {
  const cidr = serviceCIDR;
  const size = cidrSize(cidr);
  // The network and broadcast addresses are never handed out.
  const alloc = new BandAllocator(cidr.addr + 1, broadcastOf(cidr) - 1, serviceIpStaticBand(size));
  const text = cidrText(cidr);
  const holders = new Map<number, S>();
  const clusterIPs = new Map<S, number>();
  const refused = new Set<S>();

  // 1. Given IPs, in document order.
  for (const d of services) {
    if (d.givenIP === undefined) continue;
    const ip = d.givenIP;
    const ipText = formatIpv4(ip);
    const f = d.givenIPField;
    let problem: string | undefined;
    if (!cidrContains(cidr, ip)) problem = `${ipText} is outside the Cluster's serviceCIDR ${text}`;
    else if (ip === cidr.addr) problem = `${ipText} is the network address of serviceCIDR ${text}`;
    else if (ip === broadcastOf(cidr)) problem = `${ipText} is the broadcast address of serviceCIDR ${text}`;
    else {
      const other = holders.get(ip);
      if (other !== undefined) {
        problem = `${ipText} is already the ClusterIP of ${other.label} (${whereText(other.givenIPField.source(), f.source().file)})`;
      }
    }
    if (problem !== undefined) {
      f.error(problem);
      refused.add(d);
    } else {
      alloc.claim(ip, d.key);
      holders.set(ip, d);
      clusterIPs.set(d, ip);
    }
  }

  // 2. kubeadm's well-known addresses.
  for (const [key, offset, why] of WELL_KNOWN) {
    const d = services.find((x) => x.key === key);
    if (d === undefined || d.givenIP !== undefined) continue;
    const ip = (cidr.addr + offset) >>> 0;
    if (!alloc.contains(ip)) continue;
    const other = holders.get(ip);
    if (other !== undefined) {
      d.nameField.objectNotice(`${formatIpv4(ip)} (${why}) is taken by ${other.label}; allocating another address`);
      continue;
    }
    alloc.claim(ip, d.key);
    holders.set(ip, d);
    clusterIPs.set(d, ip);
  }

  // 3. Everyone else from the dynamic band, in namespace/name order.
  const rest = services.filter((d) => !clusterIPs.has(d) && d.givenIP === undefined);
  rest.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const d of rest) {
    const ip = alloc.allocate(d.key, d.key);
    if (ip === undefined) {
      refused.add(d);
      d.nameField.error(
        `no free ClusterIP left in serviceCIDR ${text} (${Math.max(0, alloc.size)} usable addresses, all taken); widen the Cluster's serviceCIDR`,
      );
      continue;
    }
    holders.set(ip, d);
    clusterIPs.set(d, ip);
  }
  return { clusterIPs, refused };
}
