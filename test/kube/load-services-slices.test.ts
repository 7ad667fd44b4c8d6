/** EndpointSlices: derived from selectors, mirrored from Endpoints, and given as EndpointSlices. */
import { describe, expect, test } from 'vitest';
import { formatDiagnostic } from '../../src/kube/load/index.js';
import type { EndpointSliceModel } from '../../src/kube/model.js';
import { CLUSTER, errors, fmt, load, model, notices, pod, service, slicesOf, userSlices } from './services-helpers.js';

const NAME = /^[a-z0-9-]+-[bcdfghjklmnpqrstvwxz2456789]{5}$/;
const HTTP = [{ name: 'http', port: 8080 }];

/** A slice as `ip/ready/serving/terminating/node/hostname/pod` strings, endpoints sorted. */
function eps(s: EndpointSliceModel | undefined): string[] {
  return (s?.endpoints ?? []).map(
    (e) =>
      `${fmt(e.ip)} r=${e.ready} s=${e.serving} t=${e.terminating} ${e.nodeName ?? '-'} ${e.hostname ?? '-'} ${e.targetPod ?? '-'}`,
  );
}

describe('slices derived from a selector', () => {
  test('pods of the same namespace whose labels match; one slice named <svc>-<5 chars>', () => {
    const m = model(
      pod('web-0', { labels: { app: 'web', tier: 'front' }, ports: HTTP, node: 'node1' }) +
        pod('web-1', { labels: { app: 'web' }, ports: HTTP, node: 'node2' }) +
        pod('api-0', { labels: { app: 'api' }, ports: HTTP }) +
        pod('web-other-ns', { ns: 'shop', labels: { app: 'web' }, ports: HTTP }) +
        service('web', 'selector: { app: web }\nports: [{ name: http, port: 80, targetPort: http }]') +
        service('front', 'selector: { app: web, tier: front }\nports: [{ port: 80, targetPort: 8080 }]'),
    );
    const [web, ...rest] = slicesOf(m, 'default/web');
    expect(rest).toEqual([]);
    expect(web?.name).toMatch(NAME);
    expect(web?.name.startsWith('web-')).toBe(true);
    expect(web?.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    // web-0 is node1's third pod: the two CoreDNS pods of the addons hold .2 and .3
    expect(eps(web)).toEqual([
      '10.244.0.4 r=true s=true t=false node1 - default/web-0',
      '10.244.1.2 r=true s=true t=false node2 - default/web-1',
    ]);
    expect(web?.source).toEqual(m.services.find((s) => s.name === 'web')?.source);
    const front = slicesOf(m, 'default/front');
    expect(front.map((s) => s.endpoints.map((e) => e.targetPod))).toEqual([['default/web-0']]);
    expect(front[0]?.ports).toEqual([{ name: undefined, port: 8080, protocol: 'TCP' }]);
  });

  test('names are deterministic and unique, also against hand-written slices', () => {
    const text =
      pod('a', { labels: { app: 'web' }, ports: HTTP }) +
      service('web', 'selector: { app: web }\nports: [{ port: 80 }]');
    const one = slicesOf(model(text), 'default/web')[0]?.name ?? '';
    expect(slicesOf(model(text), 'default/web')[0]?.name).toBe(one);
    // a hand-written slice of another service already holds that name
    const clash = `${text}---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${one}, labels: { kubernetes.io/service-name: other } }
addressType: IPv4
endpoints: []
${service('other', 'ports: [{ port: 1 }]')}`;
    const m = model(clash);
    const derived = slicesOf(m, 'default/web')[0]?.name ?? '';
    expect(derived).toMatch(NAME);
    expect(derived).not.toBe(one);
    expect(new Set(m.endpointSlices.map((s) => s.name)).size).toBe(m.endpointSlices.length);
  });

  test('readiness: an unready pod is neither ready nor serving; publishNotReadyAddresses makes it ready, still not serving', () => {
    const pods =
      pod('up', { labels: { app: 'web' }, ports: HTTP }) +
      pod('down', { labels: { app: 'web' }, ports: HTTP, ready: false });
    const m = model(
      pods +
        service('web', 'selector: { app: web }\nports: [{ port: 80, targetPort: 8080 }]') +
        service(
          'pub',
          'publishNotReadyAddresses: true\nselector: { app: web }\nports: [{ port: 80, targetPort: 8080 }]',
        ),
    );
    expect(eps(slicesOf(m, 'default/web')[0]).map((e) => e.split(' ').slice(1, 4).join(' '))).toEqual([
      'r=true s=true t=false',
      'r=false s=false t=false',
    ]);
    expect(eps(slicesOf(m, 'default/pub')[0]).map((e) => e.split(' ').slice(1, 4).join(' '))).toEqual([
      'r=true s=true t=false',
      'r=true s=false t=false',
    ]);
  });

  test('a named targetPort resolving to different numbers per pod gives two slices; a pod lacking it is left out of that port', () => {
    const m = model(
      pod('v1-a', {
        labels: { app: 'web' },
        ports: [
          { name: 'http', port: 8080 },
          { name: 'metrics', port: 9100 },
        ],
      }) +
        pod('v1-b', {
          labels: { app: 'web' },
          ports: [
            { name: 'http', port: 8080 },
            { name: 'metrics', port: 9100 },
          ],
        }) +
        pod('v2-a', {
          labels: { app: 'web' },
          ports: [
            { name: 'http', port: 9090 },
            { name: 'metrics', port: 9100 },
          ],
        }) +
        pod('udp-only', { labels: { app: 'web' }, ports: [{ name: 'http', port: 8080, protocol: 'UDP' }] }) +
        service(
          'web',
          'selector: { app: web }\nports: [{ name: http, port: 80, targetPort: http }, { name: metrics, port: 9100, targetPort: metrics }]',
        ),
    );
    const slices = slicesOf(m, 'default/web');
    expect(
      slices.map((s) => [
        s.ports.map((p) => `${p.name}:${p.port}`).join(','),
        s.endpoints.map((e) => e.targetPod).join(','),
      ]),
    ).toEqual([
      ['http:8080,metrics:9100', 'default/v1-a,default/v1-b'],
      ['http:9090,metrics:9100', 'default/v2-a'],
      // the name matches but the protocol does not (podutil.FindPort checks both)
      ['', 'default/udp-only'],
    ]);
    for (const s of slices) expect(s.name).toMatch(NAME);
    expect(new Set(slices.map((s) => s.name)).size).toBe(3);
  });

  test('hostNetwork pods are endpoints at their node IP', () => {
    const m = model(
      pod('agent', { labels: { app: 'agent' }, ports: [{ port: 9100 }], node: 'node2', hostNetwork: true }) +
        service('agent', 'selector: { app: agent }\nports: [{ port: 9100 }]'),
    );
    expect(eps(slicesOf(m, 'default/agent')[0])).toEqual(['172.18.0.3 r=true s=true t=false node2 - default/agent']);
  });

  test('hostname only when the pod sets spec.hostname and its subdomain is the service (StatefulSet style, docs/datapath.md §7)', () => {
    const m = model(
      pod('db-0', { labels: { app: 'db' }, hostname: 'db-0', subdomain: 'db' }) +
        pod('db-1', { labels: { app: 'db' }, hostname: 'db-1', subdomain: 'other' }) +
        pod('db-2', { labels: { app: 'db' }, subdomain: 'db' }) +
        service('db', 'clusterIP: None\nselector: { app: db }') +
        service('db-ro', 'selector: { app: db }\nports: [{ port: 5432 }]'),
    );
    const headless = slicesOf(m, 'default/db');
    expect(headless).toHaveLength(1);
    expect(headless[0]?.ports).toEqual([]);
    expect(headless[0]?.endpoints.map((e) => `${e.targetPod} ${e.hostname ?? '-'}`)).toEqual([
      'default/db-0 db-0',
      'default/db-1 -',
      'default/db-2 -',
    ]);
    expect(slicesOf(m, 'default/db-ro')[0]?.endpoints.every((e) => e.hostname === undefined)).toBe(true);
  });

  test('more than 100 matching pods are split into slices of at most 100', () => {
    const pods = Array.from({ length: 130 }, (_, i) => pod(`p${i}`, { labels: { app: 'big' } })).join('');
    const m = model(pods + service('big', 'selector: { app: big }\nports: [{ port: 80 }]'));
    expect(slicesOf(m, 'default/big').map((s) => s.endpoints.length)).toEqual([100, 30]);
  });

  test('ExternalName services get no slices; a selector matching nothing gets a notice', () => {
    const text =
      pod('web-0', { labels: { app: 'web' } }) +
      service('x', 'type: ExternalName\nexternalName: example.com\nselector: { app: web }') +
      service('nobody', 'selector: { app: nobody }\nports: [{ port: 80 }]');
    const m = model(text);
    expect(slicesOf(m, 'default/x')).toEqual([]);
    expect(slicesOf(m, 'default/nobody')).toEqual([]);
    expect(notices(text)).toEqual([
      'test.yaml:24:13: notice: Service default/nobody: selector app=nobody matches no pod in namespace default; kube-proxy will REJECT connections to it',
    ]);
  });
});

const ENDPOINTS = `---
apiVersion: v1
kind: Endpoints
metadata: { name: db }
subsets:
  - addresses:
      - { ip: 203.0.113.7 }
      - { ip: 10.244.1.9, nodeName: node2, hostname: db-0, targetRef: { kind: Pod, name: db-0 } }
    notReadyAddresses:
      - ip: 203.0.113.8
    ports: [{ name: pg, port: 5432 }, { name: metrics, port: 9187, protocol: TCP }]
  - addresses: [{ ip: 203.0.113.9 }]
    ports: [{ port: 6432, protocol: UDP }]
`;

describe('Endpoints', () => {
  test('each subset becomes a slice: addresses ready, notReadyAddresses not; IPs need not be pods', () => {
    const m = model(service('db', 'ports: [{ name: pg, port: 5432 }, { name: metrics, port: 9187 }]') + ENDPOINTS);
    const [a, b, ...rest] = slicesOf(m, 'default/db');
    expect(rest).toEqual([]);
    expect(a?.name).toMatch(/^db-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(b?.name).not.toBe(a?.name);
    expect(a?.ports).toEqual([
      { name: 'pg', port: 5432, protocol: 'TCP' },
      { name: 'metrics', port: 9187, protocol: 'TCP' },
    ]);
    expect(eps(a)).toEqual([
      '203.0.113.7 r=true s=true t=false - - -',
      '10.244.1.9 r=true s=true t=false node2 db-0 default/db-0',
      '203.0.113.8 r=false s=false t=false - - -',
    ]);
    expect(b?.ports).toEqual([{ name: undefined, port: 6432, protocol: 'UDP' }]);
    expect(eps(b)).toEqual(['203.0.113.9 r=true s=true t=false - - -']);
    expect(a?.source?.line).toBe(13);
  });

  test('Endpoints for a missing Service: a notice, nothing mirrored', () => {
    const r = load(ENDPOINTS);
    expect(userSlices(r.model!)).toEqual([]);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      'test.yaml:4:19: notice: Endpoints default/db: no Service default/db; kube-proxy ignores these Endpoints',
    ]);
  });

  test('a selector-less Service without Endpoints: a notice that kube-proxy will REJECT', () => {
    expect(notices(service('db', 'ports: [{ port: 5432 }]'))).toEqual([
      'test.yaml:5:9: notice: Service default/db: has no endpoints; kube-proxy will REJECT connections to it',
    ]);
  });

  test('skip-mirror Endpoints are not mirrored when slices of the Service are given; alone (an Endpoints export) they are used', () => {
    const text =
      service('db', 'ports: [{ port: 5432 }]') +
      ENDPOINTS.replace(
        'metadata: { name: db }',
        'metadata: { name: db, labels: { endpointslice.kubernetes.io/skip-mirror: "true" } }',
      );
    const slice = `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: db-own, labels: { kubernetes.io/service-name: db } }
addressType: IPv4
endpoints: [{ addresses: [10.244.1.9] }]
ports: [{ port: 5432 }]
`;
    expect(userSlices(model(text + slice)).map((s) => s.name)).toEqual(['db-own']);
    expect(userSlices(model(text)).map((s) => s.serviceName)).toEqual(['db', 'db']);
  });
});

const SLICE = (extra = ''): string => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abcde
  labels:
    kubernetes.io/service-name: web${extra}
addressType: IPv4
endpoints:
  - addresses: [10.244.0.7, 10.244.0.8]
  - addresses: [10.244.0.9]
    conditions: { ready: false }
  - addresses: [10.244.1.5]
    conditions: { ready: false, serving: true, terminating: true }
    nodeName: node2
    hostname: web-2
    targetRef: { kind: Pod, namespace: default, name: web-2 }
  - addresses: [10.244.1.6]
    conditions: { ready: null, serving: false }
    targetRef: { kind: Node, name: node2 }
ports:
  - { name: http, port: 8080 }
  - { name: grpc, protocol: TCP }
  - { name: dns, port: 53, protocol: UDP }
`;

describe('EndpointSlices', () => {
  test('conditions: nil ready is true, serving defaults to ready, terminating to false; the first address is used', () => {
    const m = model(
      service('web', 'ports: [{ name: http, port: 80 }, { name: dns, port: 53, protocol: UDP }]') + SLICE(),
    );
    const [s, ...rest] = slicesOf(m, 'default/web');
    expect(rest).toEqual([]);
    expect(s?.name).toBe('web-abcde');
    expect(s?.ports).toEqual([
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ]); // the port without a number is skipped, as kube-proxy skips it
    expect(eps(s)).toEqual([
      '10.244.0.7 r=true s=true t=false - - -',
      '10.244.0.9 r=false s=false t=false - - -',
      '10.244.1.5 r=false s=true t=true node2 web-2 default/web-2',
      '10.244.1.6 r=true s=false t=false - - -',
    ]);
    expect(s?.source).toEqual({ file: 'test.yaml', line: 9, col: 1 });
  });

  test('a slice for a missing Service is kept (it exists in the API) with a notice that kube-proxy ignores it', () => {
    const r = load(SLICE());
    expect(userSlices(r.model!).map((s) => s.name)).toEqual(['web-abcde']);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      'test.yaml:5:9: notice: EndpointSlice default/web-abcde: no Service default/web (its kubernetes.io/service-name); kube-proxy ignores this EndpointSlice',
    ]);
  });

  test("hand-written slices win over a selector, with a notice; the EndpointSlice controller's own slices silently", () => {
    const pods = pod('web-0', { labels: { app: 'web' }, ports: HTTP });
    const svc = service('web', 'selector: { app: web }\nports: [{ name: http, port: 80, targetPort: http }]');
    const r = load(pods + svc + SLICE());
    expect(slicesOf(r.model!, 'default/web').map((s) => s.name)).toEqual(['web-abcde']);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      'test.yaml:15:13: notice: Service default/web: has a selector and hand-written endpoints (EndpointSlice default/web-abcde); the hand-written ones win, the selector is not used',
    ]);
    const exported = load(
      pods + svc + SLICE('\n    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io'),
    );
    expect(exported.diagnostics).toEqual([]);
    expect(slicesOf(exported.model!, 'default/web').map((s) => s.name)).toEqual(['web-abcde']);
  });

  test('hand-written Endpoints also win over a selector; with exported slices beside them they are not mirrored again', () => {
    const svc = service(
      'db',
      'selector: { app: db }\nports: [{ name: pg, port: 5432 }, { name: metrics, port: 9187 }]',
    );
    const r = load(pod('db-0', { labels: { app: 'db' } }) + svc + ENDPOINTS);
    expect(slicesOf(r.model!, 'default/db')).toHaveLength(2);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      // db-0 declares no port: the selecting Service's targetPorts are where it listens
      "test.yaml:8:15: notice: Pod default/db-0: spec.containers: listens on ports no container declares: 5432/TCP (targetPort of Service default/db), 9187/TCP (targetPort of Service default/db); declare them as containerPorts, or state the pod's listeners in its podnet.dev/listen annotation",
      'test.yaml:15:13: notice: Service default/db: has a selector and hand-written endpoints (Endpoints default/db); the hand-written ones win, the selector is not used',
    ]);
    const withExport = model(
      svc +
        ENDPOINTS +
        `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-k2m4p
  labels: { kubernetes.io/service-name: db, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io }
addressType: IPv4
endpoints: [{ addresses: [10.244.1.9] }]
ports: [{ name: pg, port: 5432 }]
`,
    );
    expect(slicesOf(withExport, 'default/db').map((s) => s.name)).toEqual(['db-k2m4p']);
  });

  test('user-written slices and Endpoints together are both used, as kube-proxy would see the mirrored slice too', () => {
    const m = model(
      service('db', 'ports: [{ name: pg, port: 5432 }, { name: metrics, port: 9187 }]') +
        ENDPOINTS +
        SLICE().replace(/web/g, 'db'),
    );
    expect(slicesOf(m, 'default/db')).toHaveLength(3);
  });

  test('EndpointSlice and Endpoints errors come in one pass with their positions', () => {
    const errs = errors(
      `${CLUSTER('nodes: 1')}---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: s1, labels: { kubernetes.io/service-name: s1 } }
addressType: IPv4
endpoints:
  - addresses: []
  - addresses: [10.0.0.1]
    conditions: { serving: 1 }
    nodeName: node2
    targetRef: { kind: 5 }
ports:
  - { name: http, port: 0 }
  - { name: http, port: 80 }
---
apiVersion: v1
kind: Endpoints
metadata: { name: s1 }
subsets:
  - addresses: 10.0.0.1
  - notReadyAddresses: [{ ip: 10.0.0.2, targetRef: [] }]
    ports: [{ name: a, port: 1 }, { name: a, port: 2 }]
  - 7
`,
    );
    expect(errs).toEqual([
      'test.yaml:12:16: error: EndpointSlice default/s1: endpoints[0].addresses: expected at least one address, got an empty list',
      'test.yaml:14:28: error: EndpointSlice default/s1: endpoints[1].conditions.serving: expected a boolean (true or false), got 1',
      'test.yaml:16:24: error: EndpointSlice default/s1: endpoints[1].targetRef.kind: expected a string, got 5',
      'test.yaml:18:25: error: EndpointSlice default/s1: ports[0].port: expected an integer 1–65535, got 0',
      'test.yaml:19:13: error: EndpointSlice default/s1: ports[1].name: duplicate port name "http" (also ports[0])',
      'test.yaml:25:16: error: Endpoints default/s1: subsets[0].addresses: expected a list of addresses, got "10.0.0.1"',
      'test.yaml:26:52: error: Endpoints default/s1: subsets[1].notReadyAddresses[0].targetRef: expected a mapping (an object reference with kind, namespace and name), got a list',
      'test.yaml:27:43: error: Endpoints default/s1: subsets[1].ports[1].name: duplicate port name "a" (also subsets[1].ports[0])',
      'test.yaml:28:5: error: Endpoints default/s1: subsets[2]: expected a mapping (a subset with addresses, notReadyAddresses and ports), got 7',
    ]);
  });
});
