/**
 * The load-balancer IP allocator, as MetalLB's controller hands out addresses in L2 mode (a
 * bare-metal cluster has no cloud controller doing it). A LoadBalancer Service keeps
 * status.loadBalancer.ingress[].ip when given (an imported cluster keeps its addresses;
 * hostname-only entries are ignored, as kube-proxy ignores them). Otherwise it gets the lowest
 * free address of the Cluster's loadBalancerPool, in document order, skipping addresses given in
 * any status and, for a pool on the underlay, the underlay's network and broadcast addresses.
 * Without a pool, or when it is exhausted, the Service stays pending with a notice (EXTERNAL-IP
 * <pending>), as a cluster without a load-balancer controller leaves it.
 */
import type { Cidr } from '../../model.js';
import { broadcastOf, cidrContains, cidrText } from '../values.js';
import type { Anchor } from './anchor.js';

/** A LoadBalancer Service, as far as its address is concerned. */
export interface LoadBalancerRequest {
  /** status.loadBalancer.ingress[].ip as given. */
  readonly statusIPs: readonly number[];
  /** Where the pending notice points (the Service's type). */
  readonly typeField: Anchor;
}

/** The pool and what it must not hand out. */
export interface LoadBalancerPool {
  /** The Cluster's loadBalancerPool; undefined when there is none (or it is invalid). */
  readonly pool: Cidr | undefined;
  /** False when the pool was given but invalid (reported): no notices then. */
  readonly poolOk: boolean;
  /** The underlay: a pool on it never hands out its network and broadcast addresses. */
  readonly underlay: Cidr | undefined;
}

/**
 * The ingress addresses of `services` (LoadBalancer Services in document order); those without
 * one stay pending, with a notice for each `valid` one.
 */
export function assignLoadBalancerIPs<S extends LoadBalancerRequest>(
  services: readonly S[],
  pool: LoadBalancerPool,
  valid: (s: S) => boolean,
): Map<S, number[]> {
  const out = new Map<S, number[]>();
  const taken = new Set<number>(services.flatMap((d) => d.statusIPs));
  const skip = new Set<number>();
  const { underlay } = pool;
  if (pool.pool !== undefined && underlay !== undefined && cidrContains(underlay, pool.pool.addr)) {
    skip.add(underlay.addr);
    skip.add(broadcastOf(underlay));
  }
  let next = pool.pool?.addr ?? 0;
  const last = pool.pool !== undefined ? broadcastOf(pool.pool) : -1;
  for (const d of services) {
    if (d.statusIPs.length > 0) {
      out.set(d, [...d.statusIPs]);
      continue;
    }
    if (pool.pool === undefined) {
      if (pool.poolOk && valid(d)) {
        d.typeField.objectNotice(
          'LoadBalancer has no ingress IP (no loadBalancerPool in the Cluster; EXTERNAL-IP <pending>)',
        );
      }
      continue;
    }
    while (next <= last && (taken.has(next) || skip.has(next))) next++;
    if (next > last) {
      if (valid(d)) {
        d.typeField.objectNotice(
          `LoadBalancer has no ingress IP (loadBalancerPool ${cidrText(pool.pool)} is exhausted; EXTERNAL-IP <pending>)`,
        );
      }
      continue;
    }
    taken.add(next);
    out.set(d, [next]);
    next++;
  }
  return out;
}
