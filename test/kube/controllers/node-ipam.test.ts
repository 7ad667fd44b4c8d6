/** kube-controller-manager's node IPAM (the podCIDR range allocator), driven directly. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { allocatePodCIDRs, type PodCidrRequest } from '../../../src/kube/load/controllers/node-ipam.js';
import type { Cidr } from '../../../src/kube/model.js';
import { cidrContains, cidrsOverlap, cidrText, parseCidr } from '../../../src/kube/load/values.js';
import { recorder } from './helpers.js';

function cidr(text: string): Cidr {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(text);
  return r.cidr;
}

function nodes(rec: ReturnType<typeof recorder>, n: number): PodCidrRequest[] {
  return Array.from({ length: n }, (_, i) => ({ name: `node${i + 1}`, at: rec.at(`node${i + 1}`) }));
}

describe('node IPAM', () => {
  test('the next free subnets in node order, skipping the claimed ones (next-fit)', () => {
    const rec = recorder();
    const ns = nodes(rec, 3);
    const got = allocatePodCIDRs(cidr('10.244.0.0/16'), 24, [cidr('10.244.1.0/24')], ns);
    expect(ns.map((n) => cidrText(got.get(n)!))).toEqual(['10.244.0.0/24', '10.244.2.0/24', '10.244.3.0/24']);
  });

  test('running out: one error at the first node left without a subnet, counting the others', () => {
    const rec = recorder();
    const ns = nodes(rec, 5);
    const got = allocatePodCIDRs(cidr('10.244.0.0/23'), 24, [], ns);
    expect(got.size).toBe(2);
    expect(rec.log).toEqual([
      'node3: error: no free /24 subnet left in clusterCIDR 10.244.0.0/23 for node node3 and 2 more nodes (2 subnets, all taken); widen spec.clusterCIDR or raise spec.nodeCIDRMaskSize',
    ]);
  });

  test('a mask that does not fit the range gives nothing', () => {
    const rec = recorder();
    expect(allocatePodCIDRs(cidr('10.244.0.0/16'), 12, [], nodes(rec, 1)).size).toBe(0);
    expect(allocatePodCIDRs(cidr('10.244.0.0/16'), 31, [], nodes(rec, 1)).size).toBe(0);
    expect(rec.log).toEqual([]);
  });

  test('property: subnets of the mask, inside the range, disjoint from each other and from the claimed ones', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 17, max: 26 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 31 }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 40 }),
        (mask, idx, count) => {
          const rec = recorder();
          const range = cidr('10.244.0.0/16');
          const step = 2 ** (32 - mask);
          const claimed = idx
            .filter((i) => i < 2 ** (mask - 16))
            .map((i) => ({ addr: range.addr + i * step, len: mask }));
          const got = [...allocatePodCIDRs(range, mask, claimed, nodes(rec, count)).values()];
          expect(got.length).toBe(Math.min(count, 2 ** (mask - 16) - claimed.length));
          const all = [...claimed, ...got];
          for (const c of got) expect(c.len === mask && cidrContains(range, c.addr)).toBe(true);
          for (let i = 0; i < all.length; i++) {
            for (let j = i + 1; j < all.length; j++) expect(cidrsOverlap(all[i]!, all[j]!)).toBe(false);
          }
        },
      ),
    );
  });
});
