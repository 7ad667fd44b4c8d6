/** The ReplicaSet controller, driven directly: a ReplicaSet and the input's pods in, new pods out. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { runReplicaSet, type ReplicaSetToRun } from '../../../src/kube/load/controllers/replicaset.js';
import type { ExistingPod } from '../../../src/kube/load/controllers/workload-pods.js';
import { fields, from, memoryStore, podSpec, SUFFIX } from './helpers.js';

function rs(replicas: number, over: Partial<ReplicaSetToRun> = {}): ReplicaSetToRun {
  return {
    namespace: 'default',
    name: 'frontend',
    selector: { matchLabels: { tier: 'frontend' }, matchExpressions: [] },
    labels: { tier: 'frontend' },
    replicas,
    spec: podSpec(),
    from: from(fields().field('ReplicaSet default/frontend'), 7),
    ...over,
  };
}

const existing = (labels: Record<string, string>, over: Partial<ExistingPod> = {}): ExistingPod => ({
  namespace: 'default',
  labels,
  origin: 'user',
  nodeName: undefined,
  controllerRef: undefined,
  ...over,
});

describe('the ReplicaSet controller', () => {
  test('replicas pods <rs>-<5 chars>, owned by the ReplicaSet, placed at its position in load order', () => {
    const store = memoryStore();
    runReplicaSet(rs(3), [], new Set(), store, 1);
    expect(store.pods).toHaveLength(3);
    for (const [i, p] of store.pods.entries()) {
      expect(p.name).toMatch(new RegExp(`^frontend-${SUFFIX}$`));
      expect(p).toMatchObject({
        namespace: 'default',
        labels: { tier: 'frontend' },
        ownerRef: 'ReplicaSet/frontend',
        seq: 7,
        ordinal: i,
      });
    }
    expect(new Set(store.pods.map((p) => p.name)).size).toBe(3);
  });

  test('the suffixes come from the seed: the same seed the same names, another seed others', () => {
    const names = (seed: number): string[] => {
      const store = memoryStore();
      runReplicaSet(rs(3), [], new Set(), store, seed);
      return store.pods.map((p) => p.name);
    };
    expect(names(1)).toEqual(names(1));
    expect(names(2)).not.toEqual(names(1));
  });

  test('a name already taken is skipped', () => {
    const first = memoryStore();
    runReplicaSet(rs(1), [], new Set(), first, 1);
    const store = memoryStore([`default/${first.pods[0]!.name}`]);
    runReplicaSet(rs(1), [], new Set(), store, 1);
    expect(store.pods[0]!.name).not.toBe(first.pods[0]!.name);
  });

  test('owned pods and adopted orphans count toward replicas; a pod is adopted once; other namespaces and origins are not adopted', () => {
    const owned = existing({}, { controllerRef: { kind: 'ReplicaSet', name: 'frontend' } });
    const orphan = existing({ tier: 'frontend' });
    const elsewhere = existing({ tier: 'frontend' }, { namespace: 'other' });
    const addon = existing({ tier: 'frontend' }, { origin: 'addon' });
    const otherOwner = existing({ tier: 'frontend' }, { controllerRef: { kind: 'ReplicaSet', name: 'backend' } });
    const adopted = new Set<ExistingPod>();
    const store = memoryStore();
    const pods = [owned, orphan, elsewhere, addon, otherOwner];
    runReplicaSet(rs(4), pods, adopted, store, 1);
    expect(store.pods).toHaveLength(2);
    expect([...adopted]).toEqual([orphan]);
    const second = memoryStore();
    runReplicaSet(rs(1, { name: 'frontend-b' }), pods, adopted, second, 1);
    expect(second.pods).toHaveLength(1); // the orphan is taken already
  });

  test('Succeeded and Failed pods neither count nor get adopted (FilterActivePods before claiming)', () => {
    const evicted = existing({}, { controllerRef: { kind: 'ReplicaSet', name: 'frontend' }, phase: 'Failed' });
    const done = existing({ tier: 'frontend' }, { phase: 'Succeeded' });
    const running = existing({}, { controllerRef: { kind: 'ReplicaSet', name: 'frontend' }, phase: 'Running' });
    const adopted = new Set<ExistingPod>();
    const store = memoryStore();
    runReplicaSet(rs(2), [evicted, done, running], adopted, store, 1);
    expect(store.pods).toHaveLength(1);
    expect([...adopted]).toEqual([]);
  });

  test('a ReplicationController counts the pods owned by its kind and owns its pods by it', () => {
    const byRc = existing({}, { controllerRef: { kind: 'ReplicationController', name: 'frontend' } });
    const byRs = existing({}, { controllerRef: { kind: 'ReplicaSet', name: 'frontend' } });
    const store = memoryStore();
    runReplicaSet(rs(3, { kind: 'ReplicationController' }), [byRc, byRs], new Set(), store, 1);
    expect(store.pods.map((p) => p.ownerRef)).toEqual([
      'ReplicationController/frontend',
      'ReplicationController/frontend',
    ]);
  });

  test('property: pods made = max(0, replicas - pods it has), all names distinct', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 1, max: 100 }),
        (replicas, have, seed) => {
          const store = memoryStore();
          const mine = Array.from({ length: have }, () =>
            existing({}, { controllerRef: { kind: 'ReplicaSet', name: 'frontend' } }),
          );
          runReplicaSet(rs(replicas), mine, new Set(), store, seed);
          expect(store.pods.length).toBe(Math.max(0, replicas - have));
          expect(new Set(store.pods.map((p) => p.name)).size).toBe(store.pods.length);
        },
      ),
    );
  });
});
