/** kube-apiserver's ClusterIP allocator, driven directly: requests in, addresses and reports out. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import type { Cidr } from '../../../src/kube/model.js';
import { stableHash } from '../../../src/kube/load/controllers/generated-names.js';
import {
  allocateClusterIPs,
  serviceIpStaticBand,
  type ClusterIPRequest,
} from '../../../src/kube/load/controllers/service-ip-allocator.js';
import { broadcastOf, formatIpv4, parseCidr, parseIpv4 } from '../../../src/kube/load/values.js';
import { recorder } from './helpers.js';

function cidr(text: string): Cidr {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(text);
  return r.cidr;
}

const SERVICE_CIDR = cidr('10.96.0.0/12');

function request(rec: ReturnType<typeof recorder>, key: string, given?: string): ClusterIPRequest {
  return {
    key,
    label: `Service ${key}`,
    givenIP: given !== undefined ? parseIpv4(given) : undefined,
    givenIPField: rec.at(`${key} clusterIP`),
    nameField: rec.at(key),
  };
}

/** Addresses by key, as text. */
function allocate(range: Cidr, services: readonly ClusterIPRequest[]): Record<string, string> {
  const r = allocateClusterIPs(range, services);
  return Object.fromEntries(
    services.flatMap((s) => (r.clusterIPs.has(s) ? [[s.key, formatIpv4(r.clusterIPs.get(s)!)]] : [])),
  );
}

describe('the ClusterIP allocator', () => {
  test('the static band: min(max(16, size/16), 256), none under 16 addresses', () => {
    expect(serviceIpStaticBand(8)).toBe(0);
    expect(serviceIpStaticBand(16)).toBe(16);
    expect(serviceIpStaticBand(1024)).toBe(64);
    expect(serviceIpStaticBand(1 << 20)).toBe(256);
  });

  test('default/kubernetes gets .1 and kube-system/kube-dns .10, as kubeadm arranges', () => {
    const rec = recorder();
    expect(allocate(SERVICE_CIDR, [request(rec, 'kube-system/kube-dns'), request(rec, 'default/kubernetes')])).toEqual({
      'kube-system/kube-dns': '10.96.0.10',
      'default/kubernetes': '10.96.0.1',
    });
    expect(rec.log).toEqual([]);
  });

  test('any other Service: the upper band at the hash of namespace/name', () => {
    const rec = recorder();
    const ip = parseIpv4(allocate(SERVICE_CIDR, [request(rec, 'shop/web')])['shop/web']!)!;
    const first = SERVICE_CIDR.addr + 1;
    const size = broadcastOf(SERVICE_CIDR) - 1 - first + 1;
    const band = serviceIpStaticBand(size + 2);
    expect(ip).toBe(first + band + (stableHash('shop/web') % (size - band)));
  });

  test('a given IP is reserved first, whatever the document order; a Service hashed onto it probes past it', () => {
    const rec = recorder();
    const alone = allocate(SERVICE_CIDR, [request(rec, 'shop/web')])['shop/web']!;
    const both = allocate(SERVICE_CIDR, [request(rec, 'shop/web'), request(rec, 'shop/db', alone)]);
    expect(both['shop/db']).toBe(alone);
    expect(parseIpv4(both['shop/web']!)).toBe(parseIpv4(alone)! + 1);
    expect(rec.log).toEqual([]);
  });

  test('given IPs outside the range, on its network or broadcast address, or taken: errors at the second claimant', () => {
    const rec = recorder();
    const services = [
      request(rec, 'a/outside', '10.0.0.1'),
      request(rec, 'a/network', '10.96.0.0'),
      request(rec, 'a/broadcast', '10.111.255.255'),
      request(rec, 'a/first', '10.96.0.50'),
      request(rec, 'a/second', '10.96.0.50'),
    ];
    const r = allocateClusterIPs(SERVICE_CIDR, services);
    expect(rec.log).toEqual([
      "a/outside clusterIP: error: 10.0.0.1 is outside the Cluster's serviceCIDR 10.96.0.0/12",
      'a/network clusterIP: error: 10.96.0.0 is the network address of serviceCIDR 10.96.0.0/12',
      'a/broadcast clusterIP: error: 10.111.255.255 is the broadcast address of serviceCIDR 10.96.0.0/12',
      'a/second clusterIP: error: 10.96.0.50 is already the ClusterIP of Service a/first (line 1)',
    ]);
    expect([...r.refused].map((s) => s.key)).toEqual(['a/outside', 'a/network', 'a/broadcast', 'a/second']);
    expect(formatIpv4(r.clusterIPs.get(services[3]!)!)).toBe('10.96.0.50');
  });

  test('when a given IP holds .10, kube-dns gets another address with a notice', () => {
    const rec = recorder();
    const got = allocate(SERVICE_CIDR, [
      request(rec, 'default/squatter', '10.96.0.10'),
      request(rec, 'kube-system/kube-dns'),
    ]);
    expect(got['kube-system/kube-dns']).not.toBe('10.96.0.10');
    expect(rec.log).toEqual([
      "kube-system/kube-dns: notice: 10.96.0.10 (kubeadm's address for kube-dns) is taken by Service default/squatter; allocating another address",
    ]);
  });

  test('a tiny range: the static band once the dynamic one is full, then an error', () => {
    const rec = recorder();
    const tiny = cidr('10.96.0.0/29'); // 6 usable addresses, no static band
    const services = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => request(rec, `x/${n}`));
    const r = allocateClusterIPs(tiny, services);
    expect(r.clusterIPs.size).toBe(6);
    expect([...r.refused].map((s) => s.key)).toEqual(['x/g']);
    expect(rec.log).toEqual([
      "x/g: error: no free ClusterIP left in serviceCIDR 10.96.0.0/29 (6 usable addresses, all taken); widen the Cluster's serviceCIDR",
    ]);
  });

  const names = fc.uniqueArray(
    fc
      .tuple(fc.constantFrom('default', 'shop', 'kube-system'), fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/))
      .map(([ns, n]) => `${ns}/${n}`),
    {
      maxLength: 40,
    },
  );

  test('property: never an address twice, always a host address of the range, every request served while there is room', () => {
    fc.assert(
      fc.property(names, fc.constantFrom('10.96.0.0/12', '10.96.0.0/26', '10.96.0.0/28'), (keys, range) => {
        const c = cidr(range);
        const rec = recorder();
        const r = allocateClusterIPs(
          c,
          keys.map((k) => request(rec, k)),
        );
        const ips = [...r.clusterIPs.values()];
        expect(new Set(ips).size).toBe(ips.length);
        for (const ip of ips) expect(ip > c.addr && ip < broadcastOf(c)).toBe(true);
        expect(ips.length).toBe(Math.min(keys.length, broadcastOf(c) - c.addr - 1));
      }),
    );
  });

  test('property: with distinct hash slots, adding Services or reordering them moves none: each sits at its slot', () => {
    const size = broadcastOf(SERVICE_CIDR) - 1 - SERVICE_CIDR.addr;
    const band = serviceIpStaticBand(size + 2);
    const slot = (k: string): number => stableHash(k) % (size - band);
    fc.assert(
      fc.property(names, names, (before, added) => {
        const all = [...new Set([...before, ...added])].filter((k) => k !== 'kube-system/kube-dns');
        fc.pre(new Set(all.map(slot)).size === all.length);
        const rec = recorder();
        const first = allocate(
          SERVICE_CIDR,
          before.filter((k) => all.includes(k)).map((k) => request(rec, k)),
        );
        const then = allocate(
          SERVICE_CIDR,
          [...all].reverse().map((k) => request(rec, k)),
        );
        for (const k of all) expect(parseIpv4(then[k]!)).toBe(SERVICE_CIDR.addr + 1 + band + slot(k));
        for (const k of Object.keys(first)) expect(then[k]).toBe(first[k]);
      }),
    );
  });
});
