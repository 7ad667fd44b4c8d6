/** The EndpointSlice mirroring controller, driven directly: Endpoints in, slices out. */
import { describe, expect, test } from 'vitest';
import {
  mirrorEndpoints,
  mirroredSliceName,
  type EndpointsToMirror,
  type MirroringContext,
} from '../../../src/kube/load/controllers/endpointslice-mirroring.js';
import { NamespacedNames } from '../../../src/kube/load/controllers/generated-names.js';
import type { EndpointModel } from '../../../src/kube/model.js';
import { recorder, SUFFIX } from './helpers.js';

const endpoint = (ip: number, ready: boolean): EndpointModel => ({
  ip,
  ready,
  serving: ready,
  terminating: false,
  nodeName: undefined,
  hostname: undefined,
  targetPod: undefined,
});

function endpoints(
  rec: ReturnType<typeof recorder>,
  name: string,
  over: Partial<EndpointsToMirror> = {},
): EndpointsToMirror {
  return {
    namespace: 'default',
    name,
    label: `Endpoints default/${name}`,
    anchor: rec.at(name),
    skipMirror: false,
    fromController: false,
    subsets: [
      {
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
        endpoints: [endpoint(1, true), endpoint(2, false)],
        source: { file: 'test.yaml', line: 5, col: 3 },
      },
      {
        ports: [{ name: 'pg', port: 5433, protocol: 'TCP' }],
        endpoints: [endpoint(3, true)],
        source: { file: 'test.yaml', line: 9, col: 3 },
      },
    ],
    ...over,
  };
}

function context(over: Partial<MirroringContext> = {}): MirroringContext {
  return {
    serviceExists: () => true,
    serviceMayBeUnread: () => false,
    slicesDeclaredFor: () => false,
    hasManagedSlice: () => false,
    ...over,
  };
}

describe('the EndpointSlice mirroring controller', () => {
  test('each subset becomes a slice <name>-<5 chars> with its ports and endpoints, at the subset', () => {
    const rec = recorder();
    const m = mirrorEndpoints([endpoints(rec, 'db')], context(), new NamespacedNames(() => []));
    const db = m.get('default/db')!;
    expect(db.label).toBe('Endpoints default/db');
    expect(db.slices.map((s) => s.name)).toEqual([
      mirroredSliceName('default', 'db', 0),
      mirroredSliceName('default', 'db', 1),
    ]);
    expect(db.slices[0]!.name).toMatch(new RegExp(`^db-${SUFFIX}$`));
    expect(db.slices.map((s) => [s.serviceName, s.ports[0]!.port, s.endpoints.length, s.source?.line])).toEqual([
      ['db', 5432, 2, 5],
      ['db', 5433, 1, 9],
    ]);
  });

  test('a name taken in the namespace is retried', () => {
    const rec = recorder();
    const first = mirroredSliceName('default', 'db', 0);
    const m = mirrorEndpoints([endpoints(rec, 'db')], context(), new NamespacedNames(() => [first]));
    expect(m.get('default/db')!.slices[0]!.name).toBe(mirroredSliceName('default', 'db', 0, 1));
  });

  test('skip-mirror Endpoints are mirrored only when the input has no slice of their Service; a managed slice stops mirroring', () => {
    const rec = recorder();
    const names = new NamespacedNames(() => []);
    expect(mirrorEndpoints([endpoints(rec, 'a', { skipMirror: true })], context(), names).has('default/a')).toBe(true);
    expect(
      mirrorEndpoints(
        [endpoints(rec, 'b', { skipMirror: true })],
        context({ slicesDeclaredFor: () => true }),
        names,
      ).has('default/b'),
    ).toBe(false);
    expect(
      mirrorEndpoints([endpoints(rec, 'c')], context({ slicesDeclaredFor: () => true }), names).has('default/c'),
    ).toBe(true);
    expect(
      mirrorEndpoints([endpoints(rec, 'd')], context({ hasManagedSlice: () => true }), names).has('default/d'),
    ).toBe(false);
    expect(rec.log).toEqual([]);
  });

  test('Endpoints of a missing Service: not mirrored, a notice unless the Service may sit in an unread document', () => {
    const rec = recorder();
    const names = new NamespacedNames(() => []);
    expect(mirrorEndpoints([endpoints(rec, 'gone')], context({ serviceExists: () => false }), names).size).toBe(0);
    mirrorEndpoints(
      [endpoints(rec, 'unread')],
      context({ serviceExists: () => false, serviceMayBeUnread: () => true }),
      names,
    );
    expect(rec.log).toEqual(['gone: notice: no Service default/gone; kube-proxy ignores these Endpoints']);
  });
});
