/**
 * kube-apiserver's NodePort allocator (deterministic, like the ClusterIP allocator). NodePorts
 * are for NodePort and LoadBalancer Services (not for LoadBalancer with
 * allocateLoadBalancerNodePorts: false, which keeps only given ones), from the Cluster's
 * nodePortRange (default 30000–32767): given ones reserved first, in document order (outside the
 * range, or already held by another Service or by another port number of the same Service: an
 * error at the second claimant), then the others in `namespace/name` order from the dynamic band
 * above the lowest min(max(16, size/32), 128) ports (KEP-3668), starting at a hash of
 * `namespace/name:portname/protocol` and probing upward; ports sharing a port number (53/UDP and
 * 53/TCP) share a NodePort. healthCheckNodePort, for LoadBalancer Services with
 * externalTrafficPolicy Local, comes from the same range the same way (key
 * `namespace/name:healthCheckNodePort`) when not given.
 */
import type { PortRangeModel } from '../../model.js';
import { whereText } from '../state.js';
import type { Anchor } from './anchor.js';
import { BandAllocator } from './band-allocator.js';

/** A service port, as far as NodePorts are concerned. */
export interface NodePortRequestPort {
  readonly name: string | undefined;
  readonly protocol: string;
  readonly port: number;
  /** `nodePort` when given (0 means "allocate one" and is undefined here). */
  readonly givenNodePort: number | undefined;
  readonly nodePortField: Anchor;
}

/** A Service, as far as NodePorts are concerned. */
export interface NodePortRequest<P extends NodePortRequestPort> {
  /** `namespace/name`: the allocation order and the hash key. */
  readonly key: string;
  /** `Service namespace/name`, for messages about it. */
  readonly label: string;
  readonly nameField: Anchor;
  readonly ports: readonly P[];
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** spec.allocateLoadBalancerNodePorts (LoadBalancer: false keeps only the given NodePorts). */
  readonly allocateLoadBalancerNodePorts: boolean;
  /** With Local, a LoadBalancer Service has a health-check node port. */
  readonly externalTrafficPolicy: 'Cluster' | 'Local';
  readonly givenHealthCheckNodePort: number | undefined;
  readonly healthCheckField: Anchor;
}

/** What the allocator decided. */
export interface NodePortAllocation<S, P> {
  /** The NodePort of each port that has one (given and accepted, or allocated). */
  readonly nodePorts: ReadonlyMap<P, number>;
  /** The health-check node port of each Service that has one. */
  readonly healthCheckNodePorts: ReadonlyMap<S, number>;
  /** Services refused (a bad given port, or none left): reported, and not to be modelled. */
  readonly refused: ReadonlySet<S>;
}

/**
 * Size of the static (lower) band of a NodePort range of `rangeSize` ports (KEP-3668):
 * min(max(16, size/32), 128), and no band for ranges of 16 ports or fewer.
 */
export function nodePortStaticBand(rangeSize: number): number {
  if (rangeSize <= 16) return 0;
  return Math.min(Math.max(16, Math.floor(rangeSize / 32)), 128);
}

/** Allocates NodePorts and health-check node ports of `services` (in document order) from `range` (see the header). */
export function allocateNodePorts<P extends NodePortRequestPort, S extends NodePortRequest<P>>(
  range: PortRangeModel,
  services: readonly S[],
): NodePortAllocation<S, P> {
  const alloc = new BandAllocator(range.min, range.max, nodePortStaticBand(range.max - range.min + 1));
  const text = `${range.min}-${range.max}`;
  const nodePorts = new Map<P, number>();
  const healthCheckNodePorts = new Map<S, number>();
  const refused = new Set<S>();
  // Owner of a given port: the Service and the service port number sharing it.
  const owners = new Map<number, { d: S; port: number | undefined; field: Anchor }>();

  const claim = (d: S, np: number, port: number | undefined, f: Anchor, what: string): boolean => {
    if (!alloc.contains(np)) {
      f.error(`${what} ${np} is outside the Cluster's nodePortRange ${text}`);
      refused.add(d);
      return false;
    }
    const prev = owners.get(np);
    if (prev !== undefined) {
      if (prev.d === d && port !== undefined && prev.port === port) return true; // same port number, other protocol
      f.error(
        prev.d === d
          ? `${what} ${np} is already used by ${prev.field.path} of this Service`
          : `${what} ${np} is already allocated to ${prev.d.label} (${whereText(prev.field.source(), f.source().file)})`,
      );
      refused.add(d);
      return false;
    }
    alloc.claim(np, d.key);
    owners.set(np, { d, port, field: f });
    return true;
  };

  // 1. Given NodePorts and health-check node ports, in document order.
  for (const d of services) {
    for (const p of d.ports) {
      if (p.givenNodePort === undefined) continue;
      if (claim(d, p.givenNodePort, p.port, p.nodePortField, 'nodePort')) nodePorts.set(p, p.givenNodePort);
    }
    if (
      d.givenHealthCheckNodePort !== undefined &&
      claim(d, d.givenHealthCheckNodePort, undefined, d.healthCheckField, 'healthCheckNodePort')
    ) {
      healthCheckNodePorts.set(d, d.givenHealthCheckNodePort);
    }
  }

  // 2. The rest, in namespace/name order; ports sharing a port number share a NodePort.
  const sorted = [...services].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const d of sorted) {
    const wantsNodePorts = d.type === 'NodePort' || (d.type === 'LoadBalancer' && d.allocateLoadBalancerNodePorts);
    if (!wantsNodePorts) continue;
    const byPort = new Map<number, number>();
    for (const p of d.ports) {
      const given = nodePorts.get(p);
      if (p.givenNodePort !== undefined && given !== undefined && !byPort.has(p.port)) byPort.set(p.port, given);
    }
    for (const p of d.ports) {
      if (p.givenNodePort !== undefined) continue;
      const shared = byPort.get(p.port);
      if (shared !== undefined) {
        nodePorts.set(p, shared);
        continue;
      }
      const np = alloc.allocate(`${d.key}:${p.name ?? ''}/${p.protocol}`, d.key);
      if (np === undefined) {
        refused.add(d);
        d.nameField.error(`no free NodePort left in the Cluster's nodePortRange ${text}; widen spec.nodePortRange`);
        break;
      }
      byPort.set(p.port, np);
      nodePorts.set(p, np);
    }
  }
  for (const d of sorted) {
    const wantsHealthCheck = d.type === 'LoadBalancer' && d.externalTrafficPolicy === 'Local';
    if (!wantsHealthCheck || d.givenHealthCheckNodePort !== undefined) continue;
    const np = alloc.allocate(`${d.key}:healthCheckNodePort`, d.key);
    if (np === undefined) {
      refused.add(d);
      d.nameField.error(
        `no free port left in the Cluster's nodePortRange ${text} for the health-check node port; widen spec.nodePortRange`,
      );
      continue;
    }
    healthCheckNodePorts.set(d, np);
  }
  return { nodePorts, healthCheckNodePorts, refused };
}
