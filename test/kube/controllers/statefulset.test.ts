/** The StatefulSet controller, driven directly: a StatefulSet in, its pods out. */
import { describe, expect, test } from 'vitest';
import { runStatefulSet, type StatefulSetToRun } from '../../../src/kube/load/controllers/statefulset.js';
import { fields, from, memoryStore, template } from './helpers.js';

function sts(replicas: number, serviceName: string | undefined, f = fields()): StatefulSetToRun {
  return {
    namespace: 'default',
    name: 'web',
    ...from(f.field('StatefulSet default/web'), 2),
    spec: {
      selector: { matchLabels: { app: 'nginx' }, matchExpressions: [] },
      template: template({ app: 'nginx' }),
      replicas,
      serviceName,
      serviceNameField: f.field('StatefulSet default/web'),
    },
  };
}

describe('the StatefulSet controller', () => {
  test('pods <sts>-0 … <sts>-N-1 in ordinal order, hostname = pod name, subdomain = serviceName, ordinal labels', () => {
    const store = memoryStore();
    runStatefulSet(sts(3, 'nginx'), store, () => true);
    expect(store.pods.map((p) => [p.name, p.hostname, p.subdomain, p.ordinal, p.ownerRef])).toEqual([
      ['web-0', 'web-0', 'nginx', 0, 'StatefulSet/web'],
      ['web-1', 'web-1', 'nginx', 1, 'StatefulSet/web'],
      ['web-2', 'web-2', 'nginx', 2, 'StatefulSet/web'],
    ]);
    expect(store.pods[1]!.labels).toMatchObject({
      app: 'nginx',
      'apps.kubernetes.io/pod-index': '1',
      'statefulset.kubernetes.io/pod-name': 'web-1',
    });
    expect(store.pods[1]!.labels['controller-revision-hash']).toMatch(/^web-[456789bcdf]{10}$/);
  });

  test('ordinals whose pod is in the input are kept, the others created', () => {
    const store = memoryStore(['default/web-1']);
    runStatefulSet(sts(3, 'nginx'), store, () => true);
    expect(store.pods.map((p) => p.name)).toEqual(['web-0', 'web-2']);
  });

  test('a notice when spec.serviceName names no Service; none without a serviceName', () => {
    const f = fields();
    runStatefulSet(sts(1, 'nginx', f), memoryStore(), () => false);
    runStatefulSet(sts(1, undefined, f), memoryStore(), () => false);
    expect(f.messages()).toEqual([
      "test.yaml: notice: StatefulSet default/web: no Service default/nginx: the pods' DNS names (web-0.nginx.default.svc.cluster.local) need a headless Service of that name",
    ]);
  });
});
