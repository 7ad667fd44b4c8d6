/** kube-scheduler, driven directly: pods and nodes in, placements and reports out. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  nodeRefusal,
  NodePicker,
  schedulePods,
  type SchedulingNode,
  type SchedulingPod,
} from '../../../src/kube/load/controllers/scheduler.js';
import type { Toleration } from '../../../src/kube/load/readers/taints.js';
import type { Cidr, TaintModel } from '../../../src/kube/model.js';
import { recorder } from './helpers.js';

const NO_SCHEDULE: TaintModel = { key: 'node-role.kubernetes.io/control-plane', value: '', effect: 'NoSchedule' };

function node(name: string, i: number, over: Partial<SchedulingNode> = {}): SchedulingNode {
  const podCIDR: Cidr = { addr: (0x0af40000 + i * 256) >>> 0, len: 24 };
  return {
    name,
    labels: { 'kubernetes.io/hostname': name },
    taints: [],
    schedulable: true,
    controlPlane: false,
    podCIDR,
    ...over,
  };
}

function nodes(n: number): SchedulingNode[] {
  return Array.from({ length: n }, (_, i) => node(`node${i + 1}`, i));
}

type Pod = SchedulingPod & { readonly name: string };

function pod(
  rec: ReturnType<typeof recorder>,
  name: string,
  over: Partial<Omit<Pod, 'spec'>> & { spec?: Partial<SchedulingPod['spec']> } = {},
): Pod {
  const { spec, ...rest } = over;
  return {
    name,
    who: 'this pod',
    origin: 'user',
    nameField: rec.at(name),
    nodeName: undefined,
    nodeNameField: rec.absent(`${name} nodeName`),
    podIP: undefined,
    podIPField: rec.at(`${name} podIP`),
    spec: { nodeSelector: {}, affinity: [], tolerations: [], hostNetwork: false, ...spec },
    ...rest,
  };
}

/** pod name → node name. */
function place(pods: readonly Pod[], ns: readonly SchedulingNode[], seed = 1): Record<string, string> {
  return Object.fromEntries([...schedulePods(pods, ns, seed)].map(([p, n]) => [p.name, n.name]));
}

const tolerateAll: Toleration = { key: '', operator: 'Exists', value: '', effect: '' };

describe('kube-scheduler', () => {
  test('spec.nodeName wins over taints and cordons; an unknown node is an error at the field', () => {
    const rec = recorder();
    const ns = [node('cp', 0, { taints: [NO_SCHEDULE], schedulable: false }), node('w', 1)];
    const pods = [
      pod(rec, 'pinned', { nodeName: 'cp', nodeNameField: rec.present('pinned nodeName') }),
      pod(rec, 'lost', { nodeName: 'nope', nodeNameField: rec.present('lost nodeName') }),
    ];
    expect(place(pods, ns)).toEqual({ pinned: 'cp' });
    expect(rec.log).toEqual(['lost nodeName: error: node "nope" does not exist (nodes: cp, w)']);
  });

  test('a pod with only status.podIP goes to the node owning the address; an address in no podCIDR is an error', () => {
    const rec = recorder();
    const pods = [pod(rec, 'imported', { podIP: 0x0af40105 }), pod(rec, 'stray', { podIP: 0x0a000001 })];
    expect(place(pods, nodes(2))).toEqual({ imported: 'node2' });
    expect(rec.log).toEqual([
      "stray podIP: error: 10.0.0.1 is not inside any node's podCIDR (node1 10.244.0.0/24, node2 10.244.1.0/24)",
    ]);
  });

  test('filters: cordoned nodes, missing nodeSelector labels, required affinity, untolerated NoSchedule taints', () => {
    const ns = [
      node('cordoned', 0, { schedulable: false }),
      node('tainted', 1, { taints: [NO_SCHEDULE] }),
      node('ssd', 2, { labels: { disk: 'ssd' } }),
      node('hdd', 3, { labels: { disk: 'hdd' } }),
    ];
    const spec = { nodeSelector: { disk: 'ssd' } };
    expect(nodeRefusal({ ...pod(recorder(), 'x').spec, ...spec }, ns[3]!, [])).toBe(
      'hdd lacks label disk=ssd (nodeSelector)',
    );
    expect(nodeRefusal(pod(recorder(), 'x').spec, ns[0]!, [])).toBe('cordoned is not schedulable');
    expect(nodeRefusal(pod(recorder(), 'x').spec, ns[0]!, [], true)).toBeUndefined();
    expect(nodeRefusal(pod(recorder(), 'x').spec, ns[1]!, [])).toBe(
      'tainted has taint node-role.kubernetes.io/control-plane:NoSchedule',
    );
    expect(nodeRefusal(pod(recorder(), 'x').spec, ns[1]!, [tolerateAll])).toBeUndefined();
    const affinity = [
      { matchExpressions: [{ key: 'disk', operator: 'In' as const, values: ['hdd'] }], matchFields: [] },
    ];
    expect(nodeRefusal({ ...pod(recorder(), 'x').spec, affinity }, ns[2]!, [])).toBe(
      'ssd does not match the required node affinity',
    );

    const rec = recorder();
    const pods = [
      pod(rec, 'a', { spec }),
      pod(rec, 'b', { spec }),
      pod(rec, 'c', { spec: { affinity } }),
      pod(rec, 'd', { spec: { tolerations: [tolerateAll], nodeSelector: { 'kubernetes.io/hostname': 'tainted' } } }),
    ];
    expect(place(pods, ns)).toEqual({ a: 'ssd', b: 'ssd', c: 'hdd', d: 'tainted' });
  });

  test('a pod no node accepts: an error naming each node; once per workload; an addon pod stays Pending with a notice', () => {
    const rec = recorder();
    const ns = [node('n1', 0, { taints: [NO_SCHEDULE] }), node('n2', 1, { schedulable: false })];
    const shared = rec.at('Deployment web');
    const pods = [
      pod(rec, 'bare'),
      pod(rec, 'web-1', { who: 'pod web-1', nameField: shared }),
      pod(rec, 'web-2', { who: 'pod web-2', nameField: shared }),
      pod(rec, 'dns', { who: 'pod dns', origin: 'addon' }),
    ];
    expect(place(pods, ns)).toEqual({});
    const why = 'n1 has taint node-role.kubernetes.io/control-plane:NoSchedule; n2 is not schedulable';
    expect(rec.log).toEqual([
      `bare: error: no node can run this pod: ${why} (add a toleration, change the node selector or set spec.nodeName)`,
      `Deployment web: error: no node can run pod web-1: ${why} (add a toleration, change the node selector or set spec.nodeName)`,
      `dns: notice: pod dns stays Pending, no node can run it: ${why} (turn the addon off with the Cluster's spec.addons)`,
    ]);
  });

  test('the fewest pods first, pinned pods counted; PreferNoSchedule nodes only when nothing else fits', () => {
    const rec = recorder();
    const ns = [
      node('n1', 0),
      node('n2', 1),
      node('soft', 2, { taints: [{ key: 'k', value: '', effect: 'PreferNoSchedule' }] }),
    ];
    const pinned = [0, 1].map((i) =>
      pod(rec, `pinned${i}`, { nodeName: 'n1', nodeNameField: rec.present('nodeName') }),
    );
    const free = [0, 1, 2].map((i) => pod(rec, `free${i}`));
    const got = place([...pinned, ...free], ns);
    expect(got).toMatchObject({ pinned0: 'n1', pinned1: 'n1', free0: 'n2', free1: 'n2' });
    expect(['n1', 'n2']).toContain(got['free2']);
    expect(Object.values(got)).not.toContain('soft');
    const onlySoft = place([pod(rec, 'x', { spec: { nodeSelector: { 'kubernetes.io/hostname': 'soft' } } })], ns);
    expect(onlySoft).toEqual({ x: 'soft' });
  });

  test('addon pods go to the control-plane nodes when one accepts them', () => {
    const rec = recorder();
    const ns = [node('worker', 0), node('cp', 1, { controlPlane: true, taints: [NO_SCHEDULE] })];
    const coredns = [0, 1].map((i) =>
      pod(rec, `coredns${i}`, { origin: 'addon', spec: { tolerations: [tolerateAll] } }),
    );
    expect(place(coredns, ns)).toEqual({ coredns0: 'cp', coredns1: 'cp' });
  });

  test('ties go by a permutation of the nodes drawn from the seed; adding a node keeps the order of the others', () => {
    const first = (seed: number, n: number): string => place([pod(recorder(), 'p')], nodes(n), seed)['p']!;
    const seeds = Array.from({ length: 40 }, (_, i) => i + 1);
    expect(new Set(seeds.map((s) => first(s, 5))).size).toBeGreaterThan(1);
    for (const s of seeds) expect(first(s, 5)).toBe(first(s, 5));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 2, max: 8 }), (seed, n) => {
        // the order in which n empty nodes are filled, one pod each: the seeded ranking
        const order = (count: number): string[] => {
          const rec = recorder();
          const got = place(
            Array.from({ length: count }, (_, i) => pod(rec, `p${i}`)),
            nodes(count),
            seed,
          );
          return Array.from({ length: count }, (_, i) => got[`p${i}`]!);
        };
        const small = order(n);
        const big = order(n + 1).filter((x) => x !== `node${n + 1}`);
        expect(big).toEqual(small);
      }),
    );
  });

  test('property: pods spread evenly: loads differ by at most one among the nodes a group may use', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 60 }), fc.integer(), (n, count, seed) => {
        const rec = recorder();
        const ns = nodes(n);
        const got = schedulePods(
          Array.from({ length: count }, (_, i) => pod(rec, `p${i}`)),
          ns,
          seed,
        );
        const load = new Map(ns.map((x) => [x.name, 0]));
        for (const x of got.values()) load.set(x.name, load.get(x.name)! + 1);
        expect(got.size).toBe(count);
        expect(Math.max(...load.values()) - Math.min(...load.values())).toBeLessThanOrEqual(1);
      }),
    );
  });

  test('the node picker counts its picks in the shared load map', () => {
    const ns = nodes(2);
    const load = new Map(ns.map((x) => [x, 0]));
    const picker = new NodePicker(ns, load, 1);
    const p = pod(recorder(), 'x');
    picker.pick(p);
    picker.pick(p);
    expect([...load.values()]).toEqual([1, 1]);
  });
});
