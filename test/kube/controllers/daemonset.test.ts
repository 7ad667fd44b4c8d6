/** The DaemonSet controller, driven directly: a DaemonSet and the nodes in, one pod per accepting node out. */
import { describe, expect, test } from 'vitest';
import { runDaemonSet, type DaemonSetToRun } from '../../../src/kube/load/controllers/daemonset.js';
import type { SchedulingNode } from '../../../src/kube/load/controllers/scheduler.js';
import type { ExistingPod } from '../../../src/kube/load/controllers/workload-pods.js';
import type { PodSpecDraft } from '../../../src/kube/load/readers/pod.js';
import type { TaintModel } from '../../../src/kube/model.js';
import { fields, from, memoryStore, podSpec, SUFFIX, template } from './helpers.js';

function node(name: string, over: Partial<SchedulingNode> = {}): SchedulingNode {
  return {
    name,
    labels: { 'kubernetes.io/os': 'linux' },
    taints: [],
    schedulable: true,
    controlPlane: false,
    podCIDR: undefined,
    ...over,
  };
}

function ds(spec: Partial<PodSpecDraft> = {}): DaemonSetToRun {
  return {
    namespace: 'kube-system',
    name: 'agent',
    ...from(fields().field('DaemonSet kube-system/agent'), 3),
    spec: {
      selector: { matchLabels: { app: 'agent' }, matchExpressions: [] },
      template: template({ app: 'agent' }, podSpec(spec)),
    },
  };
}

const taint = (key: string, effect: TaintModel['effect'] = 'NoSchedule'): TaintModel => ({ key, value: '', effect });

function run(
  d: DaemonSetToRun,
  nodes: readonly SchedulingNode[],
  existing: readonly ExistingPod[] = [],
): Array<[string, string | undefined, number]> {
  const store = memoryStore();
  runDaemonSet(d, nodes, existing, store, 1);
  return store.pods.map((p) => [p.name, p.nodeName, p.ordinal]);
}

describe('the DaemonSet controller', () => {
  test('one pod <ds>-<5 chars> per node, pinned to it, in node order', () => {
    const pods = run(ds(), [node('n1'), node('n2'), node('n3')]);
    expect(pods.map(([, n, i]) => [n, i])).toEqual([
      ['n1', 0],
      ['n2', 1],
      ['n3', 2],
    ]);
    for (const [name] of pods) expect(name).toMatch(new RegExp(`^agent-${SUFFIX}$`));
    expect(new Set(pods.map(([name]) => name)).size).toBe(3);
  });

  test("untolerated NoSchedule taints keep it off; cordoned nodes and the controller's own tolerations do not", () => {
    const nodes = [
      node('cp', { taints: [taint('node-role.kubernetes.io/control-plane')] }),
      node('cordoned', { schedulable: false, taints: [taint('node.kubernetes.io/unschedulable')] }),
      node('not-ready', { taints: [taint('node.kubernetes.io/not-ready', 'NoExecute')] }),
      node('no-network', { taints: [taint('node.kubernetes.io/network-unavailable')] }),
    ];
    expect(run(ds(), nodes).map(([, n]) => n)).toEqual(['cordoned', 'not-ready']);
    expect(run(ds({ hostNetwork: true }), nodes).map(([, n]) => n)).toEqual(['cordoned', 'not-ready', 'no-network']);
    const tolerateAll = ds({ tolerations: [{ key: '', operator: 'Exists', value: '', effect: '' }] });
    expect(run(tolerateAll, nodes).map(([, n]) => n)).toEqual(['cp', 'cordoned', 'not-ready', 'no-network']);
  });

  test('nodeSelector and node affinity choose the nodes', () => {
    const nodes = [node('linux'), node('windows', { labels: { 'kubernetes.io/os': 'windows' } })];
    expect(run(ds({ nodeSelector: { 'kubernetes.io/os': 'linux' } }), nodes).map(([, n]) => n)).toEqual(['linux']);
    const affinity = [
      {
        matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In' as const, values: ['windows'] }],
        matchFields: [],
      },
    ];
    expect(run(ds({ affinity }), nodes).map(([, n]) => n)).toEqual(['windows']);
  });

  test('nodes already running one of its pods get none; such a pod without a node counts for every node', () => {
    const mine = (nodeName: string | undefined): ExistingPod => ({
      namespace: 'kube-system',
      labels: {},
      origin: 'user',
      nodeName,
      controllerRef: { kind: 'DaemonSet', name: 'agent' },
    });
    expect(run(ds(), [node('n1'), node('n2')], [mine('n1')]).map(([, n]) => n)).toEqual(['n2']);
    expect(run(ds(), [node('n1'), node('n2')], [mine(undefined)])).toEqual([]);
  });

  test('a Failed or Succeeded pod of the input does not count: its node gets a new one', () => {
    const finished = (nodeName: string, phase: string): ExistingPod => ({
      namespace: 'kube-system',
      labels: {},
      origin: 'user',
      nodeName,
      controllerRef: { kind: 'DaemonSet', name: 'agent' },
      phase,
    });
    const nodes = [node('n1'), node('n2'), node('n3')];
    const pods = [finished('n1', 'Failed'), finished('n2', 'Succeeded'), finished('n3', 'Running')];
    expect(run(ds(), nodes, pods).map(([, n]) => n)).toEqual(['n1', 'n2']);
  });
});
