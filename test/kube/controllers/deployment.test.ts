/** The Deployment controller, driven directly: a Deployment in, the ReplicaSet it makes out. */
import { describe, expect, test } from 'vitest';
import {
  deploymentReplicaSet,
  type DeploymentToRun,
  type ExistingReplicaSet,
} from '../../../src/kube/load/controllers/deployment.js';
import { podTemplateHash } from '../../../src/kube/load/controllers/generated-names.js';
import type { ExistingPod } from '../../../src/kube/load/controllers/workload-pods.js';
import { fields, from, template } from './helpers.js';

const HASH = '[456789bcdf]{10}';

function deployment(image = 'nginx:1.27', replicas = 3): DeploymentToRun {
  const raw = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } };
  return {
    namespace: 'default',
    name: 'web',
    ...from(fields().field('Deployment default/web'), 4),
    spec: {
      selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] },
      template: template({ app: 'web' }, undefined, raw),
      replicas,
    },
  };
}

const pod = (over: Partial<ExistingPod>): ExistingPod => ({
  namespace: 'default',
  labels: { app: 'web' },
  origin: 'user',
  nodeName: undefined,
  controllerRef: undefined,
  ...over,
});

describe('the Deployment controller', () => {
  test('a ReplicaSet <deploy>-<pod-template-hash> with its replicas, the hash as a label of its pods and in its selector', () => {
    const d = deployment();
    const rs = deploymentReplicaSet(d, [], [])!;
    const hash = podTemplateHash(d.spec.template.raw);
    expect(hash).toMatch(new RegExp(`^${HASH}$`));
    expect(rs.name).toBe(`web-${hash}`);
    expect(rs.replicas).toBe(3);
    expect(rs.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.selector).toEqual({
      matchLabels: { app: 'web', 'pod-template-hash': hash },
      matchExpressions: d.spec.selector.matchExpressions,
    });
    expect(rs.spec).toBe(d.spec.template.spec);
    expect(rs.from).toBe(d); // its pods are reported at, and placed with, the Deployment
  });

  test('another template, another hash; the same template, the same ReplicaSet', () => {
    expect(deploymentReplicaSet(deployment('nginx:1.28'), [], [])!.name).not.toBe(
      deploymentReplicaSet(deployment(), [], [])!.name,
    );
    expect(deploymentReplicaSet(deployment(), [], [])!.name).toBe(deploymentReplicaSet(deployment(), [], [])!.name);
  });

  test('nothing when the input holds its state: a ReplicaSet it controls, its ReplicaSet pods, or a ReplicaSet of that name', () => {
    const d = deployment();
    const name = deploymentReplicaSet(d, [], [])!.name;
    const owned: ExistingReplicaSet = {
      namespace: 'default',
      name: 'web-abc',
      controllerRef: { kind: 'Deployment', name: 'web' },
    };
    const sameName: ExistingReplicaSet = { namespace: 'default', name, controllerRef: undefined };
    const elsewhere: ExistingReplicaSet = {
      namespace: 'other',
      name,
      controllerRef: { kind: 'Deployment', name: 'web' },
    };
    expect(deploymentReplicaSet(d, [owned], [])).toBeUndefined();
    expect(deploymentReplicaSet(d, [sameName], [])).toBeUndefined();
    expect(deploymentReplicaSet(d, [elsewhere], [])).toBeDefined();
    expect(
      deploymentReplicaSet(d, [], [pod({ controllerRef: { kind: 'ReplicaSet', name: 'web-5d78c9869d' } })]),
    ).toBeUndefined();
    // pods of a ReplicaSet by that prefix that the selector does not pick, or of another name, are not its state
    expect(
      deploymentReplicaSet(
        d,
        [],
        [pod({ labels: { app: 'api' }, controllerRef: { kind: 'ReplicaSet', name: 'web-5d78c9869d' } })],
      ),
    ).toBeDefined();
    expect(
      deploymentReplicaSet(d, [], [pod({ controllerRef: { kind: 'ReplicaSet', name: 'webx-5d78c9869d' } })]),
    ).toBeDefined();
  });
});
