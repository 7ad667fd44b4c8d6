/** The EndpointSlice controller, driven directly: Services and pods in, slices and notices out. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  deriveEndpointSlices,
  endpointSlicesOfServices,
  handWrittenSlices,
  MAX_ENDPOINTS_PER_SLICE,
  selectorIndex,
  type HandWrittenSlice,
  type SliceControllerContext,
  type SliceService,
} from '../../../src/kube/load/controllers/endpointslice-controller.js';
import type { MirroredEndpoints } from '../../../src/kube/load/controllers/endpointslice-mirroring.js';
import { NamespacedNames } from '../../../src/kube/load/controllers/generated-names.js';
import type { EndpointSliceModel, PodModel } from '../../../src/kube/model.js';
import { formatIpv4 } from '../../../src/kube/load/values.js';
import { recorder, SUFFIX } from './helpers.js';

let nextIp = 0x0af40102;

function pod(
  name: string,
  labels: Record<string, string>,
  over: Partial<Pick<PodModel, 'ready' | 'hostname' | 'subdomain' | 'nodeName' | 'namespace'>> & {
    ports?: Array<{ name?: string; containerPort: number; protocol?: 'TCP' | 'UDP' }>;
  } = {},
): PodModel {
  const { ports, ...rest } = over;
  return {
    namespace: 'default',
    name,
    nodeName: 'node2',
    ip: nextIp++,
    labels,
    containers: [
      {
        name: 'c',
        ports: (ports ?? []).map((p) => ({
          name: p.name,
          containerPort: p.containerPort,
          protocol: p.protocol ?? 'TCP',
        })),
      },
    ],
    hostNetwork: false,
    ready: true,
    hostname: name,
    subdomain: undefined,
    ownerRef: undefined,
    source: undefined,
    ...rest,
  };
}

function svc(rec: ReturnType<typeof recorder>, name: string, over: Partial<SliceService> = {}): SliceService {
  return {
    namespace: 'default',
    name,
    key: `default/${name}`,
    type: 'ClusterIP',
    headless: false,
    selector: { app: name },
    ports: [{ name: 'http', protocol: 'TCP', targetPort: 8080 }],
    publishNotReadyAddresses: false,
    origin: 'user',
    source: { file: 'test.yaml', line: 1, col: 1 },
    selectorField: rec.at(`${name} selector`),
    nameField: rec.at(name),
    ...over,
  };
}

const names = (): NamespacedNames => new NamespacedNames(() => []);
const noHostname = (): boolean => false;

/** Each slice as `name: ports | ip ready/serving host…`. */
function show(slices: readonly EndpointSliceModel[]): string[] {
  return slices.map(
    (s) =>
      `${s.name}: ${s.ports.map((p) => `${p.name ?? ''}:${p.port}/${p.protocol}`).join(',')} | ${s.endpoints
        .map(
          (e) =>
            `${formatIpv4(e.ip)} ${e.ready ? 'R' : '-'}${e.serving ? 'S' : '-'}${e.hostname !== undefined ? ` ${e.hostname}` : ''} ${e.targetPod ?? ''}`,
        )
        .join('; ')}`,
  );
}

describe('deriving slices from a selector', () => {
  test('one slice <svc>-<5 chars> of the selected pods, targetPort numbers as they are', () => {
    const rec = recorder();
    nextIp = 0x0af40102;
    const slices = deriveEndpointSlices(
      svc(rec, 'web'),
      [pod('a', { app: 'web' }), pod('b', { app: 'web' })],
      noHostname,
      names(),
    );
    expect(slices).toHaveLength(1);
    expect(slices[0]!.name).toMatch(new RegExp(`^web-${SUFFIX}$`));
    expect(show(slices)[0]!.replace(/^\S+ /, '')).toBe(
      'http:8080/TCP | 10.244.1.2 RS default/a; 10.244.1.3 RS default/b',
    );
    expect(slices[0]!.endpoints.map((e) => e.nodeName)).toEqual(['node2', 'node2']);
  });

  test('a named targetPort is resolved per pod: pods with different numbers get slices of their own; a pod lacking the name is left out of that port', () => {
    const rec = recorder();
    nextIp = 0x0af40102;
    const web = svc(rec, 'web', {
      ports: [
        { name: 'http', protocol: 'TCP', targetPort: 'web' },
        { name: 'admin', protocol: 'TCP', targetPort: 9000 },
      ],
    });
    const pods = [
      pod('a', { app: 'web' }, { ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('b', { app: 'web' }, { ports: [{ name: 'web', containerPort: 8081 }] }),
      pod('c', { app: 'web' }, { ports: [{ name: 'web', containerPort: 8080, protocol: 'UDP' }] }),
      pod('d', { app: 'web' }, { ports: [{ name: 'web', containerPort: 8080 }] }),
    ];
    expect(show(deriveEndpointSlices(web, pods, noHostname, names())).map((l) => l.replace(/^\S+ /, ''))).toEqual([
      'http:8080/TCP,admin:9000/TCP | 10.244.1.2 RS default/a; 10.244.1.5 RS default/d',
      'http:8081/TCP,admin:9000/TCP | 10.244.1.3 RS default/b',
      'admin:9000/TCP | 10.244.1.4 RS default/c',
    ]);
  });

  test('readiness: an unready pod is neither ready nor serving; publishNotReadyAddresses makes it ready, still not serving', () => {
    const rec = recorder();
    nextIp = 0x0af40102;
    const pods = [pod('a', { app: 'web' }, { ready: false })];
    expect(show(deriveEndpointSlices(svc(rec, 'web'), pods, noHostname, names()))[0]).toContain(
      '10.244.1.2 -- default/a',
    );
    expect(
      show(deriveEndpointSlices(svc(rec, 'web', { publishNotReadyAddresses: true }), pods, noHostname, names()))[0],
    ).toContain('10.244.1.2 R- default/a');
  });

  test('a hostname only for pods that set spec.hostname and whose subdomain is the Service', () => {
    const rec = recorder();
    nextIp = 0x0af40102;
    const pods = [
      pod('web-0', { app: 'nginx' }, { subdomain: 'nginx' }),
      pod('web-1', { app: 'nginx' }, { subdomain: 'other' }),
      pod('web-2', { app: 'nginx' }, { subdomain: 'nginx' }),
    ];
    const explicit = (p: PodModel): boolean => p.name !== 'web-2';
    const endpoints = deriveEndpointSlices(svc(rec, 'nginx', { headless: true }), pods, explicit, names())[0]!
      .endpoints;
    expect(endpoints.map((e) => e.hostname)).toEqual(['web-0', undefined, undefined]);
  });

  test(`at most ${MAX_ENDPOINTS_PER_SLICE} endpoints a slice; names unique against the namespace's other slices`, () => {
    const rec = recorder();
    const pods = Array.from({ length: 250 }, (_, i) => pod(`p${i}`, { app: 'web' }));
    const first = deriveEndpointSlices(svc(rec, 'web'), pods, noHostname, names());
    expect(first.map((s) => s.endpoints.length)).toEqual([100, 100, 50]);
    const taken = new NamespacedNames(() => [first[0]!.name]);
    const again = deriveEndpointSlices(svc(rec, 'web'), pods, noHostname, taken);
    expect(again[0]!.name).not.toBe(first[0]!.name);
    expect(new Set([...again.map((s) => s.name), first[0]!.name]).size).toBe(4);
  });

  test('the selector index picks exactly the matching items of the namespace, in order', () => {
    const item = fc.record({
      namespace: fc.constantFrom('a', 'b'),
      labels: fc.dictionary(fc.constantFrom('app', 'tier', 'env'), fc.constantFrom('x', 'y')),
    });
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 60 }),
        fc.constantFrom('a', 'b'),
        fc.dictionary(fc.constantFrom('app', 'tier'), fc.constantFrom('x', 'y')),
        (items, ns, sel) => {
          const expected = items.filter(
            (it) => it.namespace === ns && Object.entries(sel).every(([k, v]) => it.labels[k] === v),
          );
          expect(selectorIndex(items)(ns, sel)).toEqual(expected);
        },
      ),
    );
  });
});

describe('the slices of every Service', () => {
  const given = (
    rec: ReturnType<typeof recorder>,
    name: string,
    service: string,
    managedBy?: string,
  ): HandWrittenSlice => ({
    model: {
      namespace: 'default',
      name,
      serviceName: service,
      ports: [],
      endpoints: [
        {
          ip: 1,
          ready: true,
          serving: true,
          terminating: false,
          nodeName: undefined,
          hostname: undefined,
          targetPod: undefined,
        },
      ],
      source: undefined,
    },
    label: `EndpointSlice default/${name}`,
    anchor: rec.at(name),
    managedBy,
  });

  function context(over: Partial<SliceControllerContext<SliceService>> = {}): SliceControllerContext<SliceService> {
    return {
      valid: () => true,
      podsSelected: () => [],
      explicitHostname: () => false,
      anyPodMatches: () => false,
      endpointsWritten: () => false,
      ...over,
    };
  }

  test("hand-written slices win over a selector, with a notice; the EndpointSlice controller's own slices silently", () => {
    const rec = recorder();
    const services = [svc(rec, 'web'), svc(rec, 'api')];
    const hand = handWrittenSlices(
      [given(rec, 'web-manual', 'web'), given(rec, 'api-abcde', 'api', 'endpointslice-controller.k8s.io')],
      { serviceExists: () => true, serviceMayBeUnread: () => false },
    );
    const slices = endpointSlicesOfServices(
      services,
      hand,
      new Map(),
      names(),
      context({ podsSelected: () => [pod('x', { app: 'web' })] }),
    );
    expect(slices.map((s) => s.name)).toEqual(['web-manual', 'api-abcde']);
    expect(rec.log).toEqual([
      'web selector: notice: has a selector and hand-written endpoints (EndpointSlice default/web-manual); the hand-written ones win, the selector is not used',
    ]);
  });

  test('mirrored Endpoints count as hand-written unless the endpoints controller wrote them', () => {
    const rec = recorder();
    const mirror = (fromController: boolean): MirroredEndpoints => ({
      label: 'Endpoints default/web',
      fromController,
      slices: [given(rec, 'web-mirror', 'web').model],
    });
    endpointSlicesOfServices(
      [svc(rec, 'web')],
      handWrittenSlices([], { serviceExists: () => true, serviceMayBeUnread: () => false }),
      new Map([['default/web', mirror(true)]]),
      names(),
      context(),
    );
    expect(rec.log).toEqual([]);
    endpointSlicesOfServices(
      [svc(rec, 'web')],
      handWrittenSlices([], { serviceExists: () => true, serviceMayBeUnread: () => false }),
      new Map([['default/web', mirror(false)]]),
      names(),
      context(),
    );
    expect(rec.log).toHaveLength(1);
  });

  test('slices of a missing Service: a notice, kept after all the others', () => {
    const rec = recorder();
    const hand = handWrittenSlices([given(rec, 'orphan', 'gone'), given(rec, 'web-manual', 'web')], {
      serviceExists: (k) => k === 'default/web',
      serviceMayBeUnread: () => false,
    });
    const slices = endpointSlicesOfServices(
      [svc(rec, 'web', { selector: undefined })],
      hand,
      new Map(),
      names(),
      context(),
    );
    expect(slices.map((s) => s.name)).toEqual(['web-manual', 'orphan']);
    expect(rec.log).toEqual([
      'orphan: notice: no Service default/gone (its kubernetes.io/service-name); kube-proxy ignores this EndpointSlice',
    ]);
  });

  test('Services left without endpoints get a notice, unless invalid, ExternalName, or their endpoints may be elsewhere', () => {
    const rec = recorder();
    const empty = handWrittenSlices([], { serviceExists: () => true, serviceMayBeUnread: () => false });
    const services = [
      svc(rec, 'nobody'),
      svc(rec, 'headless', { headless: true }),
      svc(rec, 'selectorless', { selector: undefined }),
      svc(rec, 'invalid'),
      svc(rec, 'external', { type: 'ExternalName', selector: undefined }),
      svc(rec, 'written', { selector: undefined }),
      svc(rec, 'unplaced'),
    ];
    endpointSlicesOfServices(
      services,
      empty,
      new Map(),
      names(),
      context({
        valid: (s) => s.name !== 'invalid',
        endpointsWritten: (_ns, name) => name === 'written',
        anyPodMatches: (_ns, sel) => sel['app'] === 'unplaced',
      }),
    );
    expect(rec.log).toEqual([
      'nobody selector: notice: selector app=nobody matches no pod in namespace default; kube-proxy will REJECT connections to it',
      'headless selector: notice: selector app=headless matches no pod in namespace default; DNS has no addresses for it',
      'selectorless: notice: has no endpoints; kube-proxy will REJECT connections to it',
    ]);
  });
});
