/** The load-balancer IP allocator (MetalLB's L2 mode), driven directly. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  assignLoadBalancerIPs,
  type LoadBalancerPool,
  type LoadBalancerRequest,
} from '../../../src/kube/load/controllers/load-balancer-ip-allocator.js';
import type { Cidr } from '../../../src/kube/model.js';
import { broadcastOf, cidrContains, formatIpv4, parseCidr, parseIpv4 } from '../../../src/kube/load/values.js';
import { recorder } from './helpers.js';

function cidr(text: string): Cidr {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(text);
  return r.cidr;
}

function lb(
  rec: ReturnType<typeof recorder>,
  name: string,
  status: readonly string[] = [],
): LoadBalancerRequest & { name: string } {
  return { name, statusIPs: status.map((s) => parseIpv4(s)!), typeField: rec.at(name) };
}

function assign(
  services: ReadonlyArray<LoadBalancerRequest & { name: string }>,
  pool: LoadBalancerPool,
  valid: (s: { name: string }) => boolean = () => true,
): Record<string, string[]> {
  const r = assignLoadBalancerIPs(services, pool, valid);
  return Object.fromEntries(services.map((s) => [s.name, (r.get(s) ?? []).map(formatIpv4)]));
}

const UNDERLAY = cidr('172.18.0.0/24');

describe('the load-balancer IP allocator', () => {
  test('status addresses are kept; the others get the lowest free address of the pool, in document order', () => {
    const rec = recorder();
    const got = assign([lb(rec, 'a'), lb(rec, 'kept', ['172.18.0.241']), lb(rec, 'b'), lb(rec, 'c')], {
      pool: cidr('172.18.0.240/29'),
      poolOk: true,
      underlay: UNDERLAY,
    });
    expect(got).toEqual({ a: ['172.18.0.240'], kept: ['172.18.0.241'], b: ['172.18.0.242'], c: ['172.18.0.243'] });
    expect(rec.log).toEqual([]);
  });

  test("a pool on the underlay never hands out the underlay's network or broadcast address", () => {
    const rec = recorder();
    const got = assign([lb(rec, 'a'), lb(rec, 'b'), lb(rec, 'c')], {
      pool: cidr('172.18.0.254/31'),
      poolOk: true,
      underlay: cidr('172.18.0.0/24'),
    });
    expect(got).toEqual({ a: ['172.18.0.254'], b: [], c: [] });
    expect(rec.log).toEqual([
      'b: notice: LoadBalancer has no ingress IP (loadBalancerPool 172.18.0.254/31 is exhausted; EXTERNAL-IP <pending>)',
      'c: notice: LoadBalancer has no ingress IP (loadBalancerPool 172.18.0.254/31 is exhausted; EXTERNAL-IP <pending>)',
    ]);
  });

  test('a pool off the underlay hands out every address', () => {
    const rec = recorder();
    expect(
      assign([lb(rec, 'a'), lb(rec, 'b')], { pool: cidr('203.0.113.0/31'), poolOk: true, underlay: UNDERLAY }),
    ).toEqual({ a: ['203.0.113.0'], b: ['203.0.113.1'] });
  });

  test('without a pool: pending, with a notice only for valid Services and when no invalid pool was given', () => {
    const rec = recorder();
    assign(
      [lb(rec, 'a'), lb(rec, 'broken')],
      { pool: undefined, poolOk: true, underlay: UNDERLAY },
      (s) => s.name !== 'broken',
    );
    assign([lb(rec, 'quiet')], { pool: undefined, poolOk: false, underlay: UNDERLAY });
    expect(rec.log).toEqual([
      'a: notice: LoadBalancer has no ingress IP (no loadBalancerPool in the Cluster; EXTERNAL-IP <pending>)',
    ]);
  });

  test('property: never an address twice, always in the pool, status addresses skipped', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.integer({ min: 0, max: 15 }), { nil: undefined }), { maxLength: 30 }),
        fc.integer({ min: 28, max: 32 }),
        (statuses, len) => {
          const rec = recorder();
          const pool = cidr(`198.51.100.0/${len}`);
          const services = statuses.map((s, i) => lb(rec, `s${i}`, s !== undefined ? [`198.51.100.${s}`] : []));
          const r = assignLoadBalancerIPs(services, { pool, poolOk: true, underlay: UNDERLAY }, () => true);
          const statusIPs = new Set(services.flatMap((s) => s.statusIPs));
          const handed = services.filter((s) => s.statusIPs.length === 0).flatMap((s) => r.get(s) ?? []);
          expect(new Set(handed).size).toBe(handed.length);
          for (const ip of handed) {
            expect(cidrContains(pool, ip) && ip <= broadcastOf(pool)).toBe(true);
            expect(statusIPs.has(ip)).toBe(false);
          }
        },
      ),
    );
  });
});
