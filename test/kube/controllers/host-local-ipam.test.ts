/** host-local IPAM, driven directly: placed pods in, addresses and reports out. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { assignPodIPs, type IpamNode, type IpamPod } from '../../../src/kube/load/controllers/host-local-ipam.js';
import { broadcastOf, formatIpv4, parseIpv4 } from '../../../src/kube/load/values.js';
import { recorder } from './helpers.js';

const NODE1: IpamNode = {
  name: 'node1',
  ip: parseIpv4('172.18.0.2'),
  podCIDR: { addr: parseIpv4('10.244.0.0')!, len: 24 },
};
const NODE2: IpamNode = {
  name: 'node2',
  ip: parseIpv4('172.18.0.3'),
  podCIDR: { addr: parseIpv4('10.244.1.0')!, len: 24 },
};

type Pod = IpamPod & { readonly name: string };

function pod(rec: ReturnType<typeof recorder>, name: string, over: Partial<Pod> = {}): Pod {
  return {
    name,
    label: `Pod default/${name}`,
    who: 'this pod',
    origin: 'user',
    nameField: rec.at(name),
    podIP: undefined,
    podIPInvalid: false,
    podIPField: rec.at(`${name} podIP`),
    spec: { hostNetwork: false },
    ...over,
  };
}

function assign(placed: ReadonlyArray<[Pod, IpamNode]>): Record<string, string> {
  const ips = assignPodIPs(
    placed.map(([p]) => p),
    new Map(placed),
  );
  return Object.fromEntries([...ips].map(([p, ip]) => [p.name, formatIpv4(ip)]));
}

describe('host-local IPAM', () => {
  test('the lowest free address from .2 up, per node, in the order given', () => {
    const rec = recorder();
    expect(
      assign([
        [pod(rec, 'a'), NODE1],
        [pod(rec, 'b'), NODE2],
        [pod(rec, 'c'), NODE1],
      ]),
    ).toEqual({ a: '10.244.0.2', b: '10.244.1.2', c: '10.244.0.3' });
  });

  test('status.podIP is honoured first, and allocation skips what it takes', () => {
    const rec = recorder();
    const got = assign([
      [pod(rec, 'a'), NODE1],
      [pod(rec, 'imported', { podIP: parseIpv4('10.244.0.3') }), NODE1],
      [pod(rec, 'b'), NODE1],
    ]);
    expect(got).toEqual({ a: '10.244.0.2', imported: '10.244.0.3', b: '10.244.0.4' });
  });

  test('hostNetwork pods take the node IP (a given podIP must be it) and use no pod address', () => {
    const rec = recorder();
    const got = assign([
      [pod(rec, 'host', { spec: { hostNetwork: true } }), NODE1],
      [pod(rec, 'wrong', { spec: { hostNetwork: true }, podIP: parseIpv4('10.244.0.9') }), NODE1],
      [pod(rec, 'a'), NODE1],
    ]);
    expect(got).toEqual({ host: '172.18.0.2', wrong: '172.18.0.2', a: '10.244.0.2' });
    expect(rec.log).toEqual([
      "wrong podIP: error: a hostNetwork pod has its node's address: expected 172.18.0.2 (node node1), got 10.244.0.9",
    ]);
  });

  test("unusable podIPs: outside the node's podCIDR, its network, gateway or broadcast address, or taken", () => {
    const rec = recorder();
    const ip = (s: string): number => parseIpv4(s)!;
    assign([
      [pod(rec, 'outside', { podIP: ip('10.244.1.5') }), NODE1],
      [pod(rec, 'network', { podIP: ip('10.244.0.0') }), NODE1],
      [pod(rec, 'gateway', { podIP: ip('10.244.0.1') }), NODE1],
      [pod(rec, 'broadcast', { podIP: ip('10.244.0.255') }), NODE1],
      [pod(rec, 'first', { podIP: ip('10.244.0.7') }), NODE1],
      [pod(rec, 'second', { podIP: ip('10.244.0.7') }), NODE1],
    ]);
    const where = "node node1's podCIDR 10.244.0.0/24";
    expect(rec.log).toEqual([
      `outside podIP: error: 10.244.1.5 is outside ${where} (podnet routes a node's pods by its podCIDR, as flannel does)`,
      `network podIP: error: 10.244.0.0 is the network address of ${where}`,
      `gateway podIP: error: 10.244.0.1 is the gateway (cni0) address of ${where}`,
      `broadcast podIP: error: 10.244.0.255 is the broadcast address of ${where}`,
      'second podIP: error: 10.244.0.7 is already the podIP of Pod default/first (line 1)',
    ]);
  });

  test('a full node: an error (once per workload), a notice for addon pods; addresses are never reused', () => {
    const rec = recorder();
    const tiny: IpamNode = {
      name: 'tiny',
      ip: parseIpv4('172.18.0.9'),
      podCIDR: { addr: parseIpv4('10.244.9.0')!, len: 30 },
    };
    const shared = rec.at('Deployment web');
    const got = assign([
      [pod(rec, 'a'), tiny],
      [pod(rec, 'b'), tiny],
      [pod(rec, 'web-1', { who: 'pod web-1', nameField: shared }), tiny],
      [pod(rec, 'web-2', { who: 'pod web-2', nameField: shared }), tiny],
      [pod(rec, 'dns', { who: 'pod dns', origin: 'addon' }), tiny],
    ]);
    expect(got).toEqual({ a: '10.244.9.2' });
    expect(rec.log).toEqual([
      'b: error: no free pod address left on node tiny: its podCIDR 10.244.9.0/30 has 1 usable address (.1 is the gateway), all taken; lower nodeCIDRMaskSize or add nodes',
      'Deployment web: error: no free pod address left on node tiny for pod web-1: its podCIDR 10.244.9.0/30 has 1 usable address (.1 is the gateway), all taken; lower nodeCIDRMaskSize or add nodes',
      'dns: notice: pod dns stays Pending: no free pod address left on node tiny (podCIDR 10.244.9.0/30)',
    ]);
  });

  test('property: never an address twice, always a usable address of the node', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined })), {
          maxLength: 80,
        }),
        (spec) => {
          const rec = recorder();
          const placed = spec.map(([onFirst, given], i): [Pod, IpamNode] => {
            const node = onFirst ? NODE1 : NODE2;
            return [pod(rec, `p${i}`, given !== undefined ? { podIP: node.podCIDR!.addr + given } : {}), node];
          });
          const ips = assignPodIPs(
            placed.map(([p]) => p),
            new Map(placed),
          );
          const values = [...ips.values()];
          expect(new Set(values).size).toBe(values.length);
          for (const [p, node] of placed) {
            const ip = ips.get(p);
            if (ip === undefined) continue;
            const c = node.podCIDR!;
            expect(ip >= c.addr + 2 && ip < broadcastOf(c)).toBe(true);
          }
        },
      ),
    );
  });
});
