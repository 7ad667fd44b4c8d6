/** Services: parsing, ClusterIP / NodePort / load-balancer allocation, and cross-object validation. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { formatDiagnostic, loadTopologyPath, loadTopologyText } from '../../src/kube/load/index.js';
import { formatCidr } from '../../src/kube/model.js';
import { CLUSTER, cip, errors, fmt, ip, load, model, notices, service, svc, userServices } from './services-helpers.js';

const SIMPLE = (port = 80): string => `selector: { app: web }\nports: [{ port: ${port} }]`;
const EXPORT = fileURLToPath(new URL('./fixtures/services-export.yaml', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../topologies/services.yaml', import.meta.url));

describe('ClusterIP allocation', () => {
  test('default/kubernetes gets .1 and kube-system/kube-dns .10, as kubeadm sets them up', () => {
    const m = model(
      service('kubernetes', 'ports: [{ name: https, port: 443, targetPort: 6443 }]') +
        service(
          'kube-dns',
          'selector: { k8s-app: kube-dns }\nports: [{ name: dns, port: 53, protocol: UDP }, { name: dns-tcp, port: 53 }]',
          'kube-system',
        ),
    );
    expect(cip(m, 'default/kubernetes')).toBe('10.96.0.1');
    expect(cip(m, 'kube-system/kube-dns')).toBe('10.96.0.10');
  });

  test('a k3s-style 10.43.0.0/16 serviceCIDR: .1, .10 and the rest from its dynamic band', () => {
    const m = model(
      CLUSTER('clusterCIDR: 10.42.0.0/16\nserviceCIDR: 10.43.0.0/16') +
        service('kubernetes', 'ports: [{ port: 443 }]') +
        service('kube-dns', 'ports: [{ port: 53, protocol: UDP }]', 'kube-system') +
        service('web', SIMPLE()),
    );
    expect(cip(m, 'default/kubernetes')).toBe('10.43.0.1');
    expect(cip(m, 'kube-system/kube-dns')).toBe('10.43.0.10');
    const web = svc(m, 'default/web').clusterIPs[0] ?? 0;
    // /16: 65536 addresses, static band min(max(16, 4096), 256) = 256 → dynamic from 10.43.1.1
    expect(web).toBeGreaterThanOrEqual(ip('10.43.1.1'));
    expect(web).toBeLessThanOrEqual(ip('10.43.255.254'));
  });

  test('other services come from the dynamic band, at an address derived from namespace/name', () => {
    const text = service('web', SIMPLE()) + service('api', SIMPLE(), 'shop');
    const a = model(text);
    const b = model(text);
    expect(cip(a, 'default/web')).toBe(cip(b, 'default/web'));
    for (const s of userServices(a)) {
      const addr = s.clusterIPs[0] ?? 0;
      expect(addr).toBeGreaterThanOrEqual(ip('10.96.1.1')); // /12: static band of 256 below
      expect(addr).toBeLessThanOrEqual(ip('10.111.255.254'));
    }
    expect(cip(a, 'default/web')).not.toBe(cip(a, 'shop/api'));
    // documented in topologies/services.yaml
    expect(cip(a, 'default/web')).toBe('10.111.237.75');
  });

  test('adding services, or reordering documents, does not move the others', () => {
    const base = ['web', 'api', 'db', 'cache'].map((n) => service(n, SIMPLE()));
    const before = model(base.join(''));
    const more = model(
      [...base.reverse(), ...Array.from({ length: 40 }, (_, i) => service(`extra-${i}`, SIMPLE()))].join(''),
    );
    for (const n of ['web', 'api', 'db', 'cache']) expect(cip(more, `default/${n}`)).toBe(cip(before, `default/${n}`));
    expect(new Set(userServices(more).map((s) => s.clusterIPs[0])).size).toBe(44);
  });

  test('given IPs are honoured and reserved first: a service hashed onto one probes past it', () => {
    const alone = model(service('web', SIMPLE()));
    const webIp = cip(alone, 'default/web');
    const m = model(service('web', SIMPLE()) + service('pinned', `clusterIP: ${webIp}\n${SIMPLE()}`));
    expect(cip(m, 'default/pinned')).toBe(webIp);
    expect(cip(m, 'default/web')).not.toBe(webIp);
    expect(ip(cip(m, 'default/web'))).toBe(ip(webIp) + 1);
  });

  test('clusterIPs alone, clusterIP: "" (allocate), and a given IP in the static band', () => {
    const m = model(
      service('a', `clusterIPs: [10.96.0.77]\n${SIMPLE()}`) +
        service('b', `clusterIP: ""\n${SIMPLE()}`) +
        service('kubernetes', `clusterIP: ""\nports: [{ port: 443 }]`),
    );
    expect(cip(m, 'default/a')).toBe('10.96.0.77');
    expect(ip(cip(m, 'default/b'))).toBeGreaterThanOrEqual(ip('10.96.1.1'));
    expect(cip(m, 'default/kubernetes')).toBe('10.96.0.1');
  });

  test('when a given IP holds .10, kube-dns gets another address with a notice', () => {
    const text =
      service('dns-squatter', `clusterIP: 10.96.0.10\n${SIMPLE()}`) +
      service('kube-dns', 'ports: [{ port: 53, protocol: UDP }]', 'kube-system');
    const m = model(text);
    expect(cip(m, 'default/dns-squatter')).toBe('10.96.0.10');
    expect(cip(m, 'kube-system/kube-dns')).not.toBe('10.96.0.10');
    expect(notices(text)).toContain(
      "test.yaml:14:9: notice: Service kube-system/kube-dns: 10.96.0.10 (kubeadm's address for kube-dns) is taken by Service default/dns-squatter; allocating another address",
    );
  });

  test('headless and ExternalName services get no ClusterIP', () => {
    const m = model(
      service('h', `clusterIP: None\n${SIMPLE()}`) + service('x', 'type: ExternalName\nexternalName: db.example.com'),
    );
    expect(svc(m, 'default/h')).toMatchObject({ headless: true, clusterIPs: [], type: 'ClusterIP' });
    expect(svc(m, 'default/x')).toMatchObject({
      headless: false,
      clusterIPs: [],
      type: 'ExternalName',
      externalName: 'db.example.com',
    });
    const none2 = model(service('h2', `clusterIPs: [None]\nselector: { app: x }`));
    expect(svc(none2, 'default/h2')).toMatchObject({ headless: true, ports: [] });
  });

  test('a tiny serviceCIDR falls back to the static band, then runs out with an error', () => {
    // /28: 16 addresses → the static band covers all 14 usable ones; allocation still works
    const small = model(
      CLUSTER('serviceCIDR: 10.96.0.0/28') + ['a', 'b', 'c'].map((n) => service(n, SIMPLE())).join(''),
    );
    for (const s of small.services) expect(s.clusterIPs[0]).toBeLessThanOrEqual(ip('10.96.0.14'));
    // /29: 6 usable addresses
    // without the addons' kubernetes and kube-dns Services, which would take two of the six addresses
    const text =
      CLUSTER('serviceCIDR: 10.96.0.0/29\naddons: none') +
      Array.from({ length: 7 }, (_, i) => service(`s${i}`, SIMPLE())).join('');
    const errs = errors(text);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(
      /Service default\/s\d: metadata\.name: no free ClusterIP left in serviceCIDR 10\.96\.0\.0\/29 \(6 usable addresses, all taken\)/,
    );
  });
});

describe('NodePort allocation', () => {
  test('NodePort and LoadBalancer services get NodePorts from the dynamic band of 30000-32767; ClusterIP ones none', () => {
    const m = model(
      service(
        'np',
        'type: NodePort\nselector: { app: web }\nports: [{ name: http, port: 80 }, { name: https, port: 443 }]',
      ) +
        service('lb', 'type: LoadBalancer\nselector: { app: web }\nports: [{ port: 80 }]') +
        service('cip', SIMPLE()),
    );
    const ports = [...svc(m, 'default/np').ports, ...svc(m, 'default/lb').ports].map((p) => p.nodePort ?? 0);
    // static band: min(max(16, 2768/32), 128) = 86 ports, 30000-30085
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(30086);
      expect(p).toBeLessThanOrEqual(32767);
    }
    expect(new Set(ports).size).toBe(3);
    expect(svc(m, 'default/cip').ports[0]?.nodePort).toBeUndefined();
    expect(m.nodePortRange).toEqual({ min: 30000, max: 32767 });
  });

  test('given NodePorts are honoured, and others are stable when services are added', () => {
    const base = service(
      'np',
      'type: NodePort\nselector: { app: web }\nports: [{ name: a, port: 80, nodePort: 30080 }, { name: b, port: 81 }]',
    );
    const m1 = model(base);
    const m2 = model(
      Array.from({ length: 20 }, (_, i) => service(`x${i}`, `type: NodePort\n${SIMPLE()}`)).join('') + base,
    );
    expect(svc(m1, 'default/np').ports.map((p) => p.nodePort)).toEqual(
      svc(m2, 'default/np').ports.map((p) => p.nodePort),
    );
    expect(svc(m1, 'default/np').ports[0]?.nodePort).toBe(30080);
  });

  test('ports sharing a port number (53/UDP and 53/TCP) share one NodePort, as the apiserver allocates them', () => {
    const m = model(
      service(
        'dns',
        'type: NodePort\nselector: { app: dns }\nports: [{ name: dns, port: 53, protocol: UDP }, { name: dns-tcp, port: 53, protocol: TCP }, { name: metrics, port: 9153 }]',
      ),
    );
    const [udp, tcp, metrics] = svc(m, 'default/dns').ports.map((p) => p.nodePort);
    expect(udp).toBeDefined();
    expect(tcp).toBe(udp);
    expect(metrics).not.toBe(udp);
    // and a given nodePort may be shared the same way
    const g = model(
      service(
        'dns',
        'type: NodePort\nselector: { app: dns }\nports: [{ name: dns, port: 53, protocol: UDP, nodePort: 30053 }, { name: dns-tcp, port: 53, nodePort: 30053 }]',
      ),
    );
    expect(svc(g, 'default/dns').ports.map((p) => p.nodePort)).toEqual([30053, 30053]);
  });

  test('a custom nodePortRange is used, with its own static band', () => {
    const m = model(
      CLUSTER('nodePortRange: 20000-20100') +
        service(
          'np',
          `type: NodePort\nselector: { app: web }\nports: [{ name: a, port: 80 }, { name: b, port: 81, nodePort: 20005 }]`,
        ),
    );
    expect(m.nodePortRange).toEqual({ min: 20000, max: 20100 });
    const [a, b] = svc(m, 'default/np').ports.map((p) => p.nodePort ?? 0);
    expect(a).toBeGreaterThanOrEqual(20016); // 101 ports: static band of 16
    expect(a).toBeLessThanOrEqual(20100);
    expect(b).toBe(20005);
    expect(
      errors(
        CLUSTER('nodePortRange: 20000-20100') +
          service('np', 'type: NodePort\nselector: { app: web }\nports: [{ port: 80, nodePort: 30080 }]'),
      ),
    ).toEqual([
      "test.yaml:14:33: error: Service default/np: spec.ports[0].nodePort: nodePort 30080 is outside the Cluster's nodePortRange 20000-20100",
    ]);
  });

  test('a small range runs out with an error naming the range', () => {
    const text =
      CLUSTER('nodePortRange: 30000-30002') +
      Array.from({ length: 4 }, (_, i) => service(`s${i}`, `type: NodePort\n${SIMPLE()}`)).join('');
    const errs = errors(text);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toContain(
      "no free NodePort left in the Cluster's nodePortRange 30000-30002; widen spec.nodePortRange",
    );
  });

  test('LoadBalancer with allocateLoadBalancerNodePorts: false gets none; with externalTrafficPolicy Local a healthCheckNodePort', () => {
    const m = model(
      service(
        'nolb',
        'type: LoadBalancer\nallocateLoadBalancerNodePorts: false\nselector: { app: web }\nports: [{ port: 80 }, ]'.replace(
          ', ]',
          ']',
        ),
      ) +
        service(
          'local',
          'type: LoadBalancer\nexternalTrafficPolicy: Local\nselector: { app: web }\nports: [{ port: 80 }]',
        ) +
        service(
          'pinned',
          'type: LoadBalancer\nexternalTrafficPolicy: Local\nhealthCheckNodePort: 32222\nselector: { app: web }\nports: [{ port: 80 }]',
        ),
    );
    expect(svc(m, 'default/nolb').ports[0]?.nodePort).toBeUndefined();
    const local = svc(m, 'default/local');
    expect(local.externalTrafficPolicy).toBe('Local');
    expect(local.healthCheckNodePort).toBeGreaterThanOrEqual(30086);
    expect(local.healthCheckNodePort).not.toBe(local.ports[0]?.nodePort);
    expect(svc(m, 'default/pinned').healthCheckNodePort).toBe(32222);
  });

  test("a healthCheckNodePort colliding with another service's nodePort is an error at the second", () => {
    expect(
      errors(
        service('a', 'type: NodePort\nselector: { app: web }\nports: [{ port: 80, nodePort: 31000 }]') +
          service(
            'b',
            'type: LoadBalancer\nexternalTrafficPolicy: Local\nhealthCheckNodePort: 31000\nselector: { app: web }\nports: [{ port: 80 }]',
          ),
      ),
    ).toEqual([
      'test.yaml:18:24: error: Service default/b: spec.healthCheckNodePort: healthCheckNodePort 31000 is already allocated to Service default/a (line 9)',
    ]);
  });
});

describe('load-balancer addresses', () => {
  test('without a loadBalancerPool a LoadBalancer stays pending, with a one-line notice', () => {
    const text = service('lb', 'type: LoadBalancer\nselector: { app: web }\nports: [{ port: 80 }]');
    const r = load(text);
    expect(r.model).toBeDefined();
    expect(svc(r.model!, 'default/lb').loadBalancerIPs).toEqual([]);
    expect(r.diagnostics.map(formatDiagnostic)).toContain(
      'test.yaml:7:9: notice: Service default/lb: LoadBalancer has no ingress IP (no loadBalancerPool in the Cluster; EXTERNAL-IP <pending>)',
    );
    expect(r.model?.loadBalancerPool).toBeUndefined();
  });

  test("status.loadBalancer.ingress IPs are kept; others get the pool's lowest free address in document order", () => {
    const text =
      CLUSTER('loadBalancerPool: 172.18.0.240/29') +
      service('first', 'type: LoadBalancer\nselector: { app: web }\nports: [{ port: 80 }]') +
      `${service('imported', 'type: LoadBalancer\nselector: { app: web }\nports: [{ port: 80 }]')}status:\n  loadBalancer:\n    ingress: [{ ip: 172.18.0.241 }, { hostname: lb.example.com }]\n` +
      service('second', 'type: LoadBalancer\nselector: { app: web }\nports: [{ port: 80 }]') +
      `${service('elsewhere', 'type: LoadBalancer\nselector: { app: web }\nports: [{ port: 80 }]')}status:\n  loadBalancer:\n    ingress: [{ ip: 198.51.100.9 }]\n`;
    const m = model(text);
    expect(formatCidr(m.loadBalancerPool!)).toBe('172.18.0.240/29');
    expect(userServices(m).map((s) => `${s.name} ${s.loadBalancerIPs.map(fmt).join(',')}`)).toEqual([
      'first 172.18.0.240',
      'imported 172.18.0.241',
      'second 172.18.0.242',
      'elsewhere 198.51.100.9',
    ]);
  });

  test('an exhausted pool leaves the rest pending; the underlay broadcast address is never handed out', () => {
    const text =
      CLUSTER('loadBalancerPool: 172.18.0.254/31') +
      ['a', 'b', 'c']
        .map((n) => service(n, 'type: LoadBalancer\nselector: { app: web }\nports: [{ port: 80 }]'))
        .join('');
    const r = load(text);
    expect(userServices(r.model!).map((s) => s.loadBalancerIPs.map(fmt).join(','))).toEqual(['172.18.0.254', '', '']);
    expect(r.diagnostics.filter((d) => d.message.includes('exhausted')).map(formatDiagnostic)).toEqual([
      'test.yaml:21:9: notice: Service default/b: LoadBalancer has no ingress IP (loadBalancerPool 172.18.0.254/31 is exhausted; EXTERNAL-IP <pending>)',
      'test.yaml:30:9: notice: Service default/c: LoadBalancer has no ingress IP (loadBalancerPool 172.18.0.254/31 is exhausted; EXTERNAL-IP <pending>)',
    ]);
  });

  test('the pool may be off the underlay, but must not overlap the cluster networks or any host', () => {
    expect(model(CLUSTER('loadBalancerPool: 192.168.100.0/24')).loadBalancerPool).toEqual({
      addr: ip('192.168.100.0'),
      len: 24,
    });
    expect(errors(CLUSTER('loadBalancerPool: 10.244.5.0/24'))).toEqual([
      'test.yaml:5:21: error: Cluster demo: spec.loadBalancerPool: loadBalancerPool 10.244.5.0/24 overlaps clusterCIDR 10.244.0.0/16; choose addresses no host uses',
    ]);
    expect(
      errors(CLUSTER('loadBalancerPool: 172.18.0.96/27\nexternalHosts: [{ name: ext, ip: 172.18.0.100 }]')),
    ).toEqual([
      'test.yaml:5:21: error: Cluster demo: spec.loadBalancerPool: loadBalancerPool 172.18.0.96/27 contains 172.18.0.100, the address of external host ext; choose addresses no host uses',
    ]);
    expect(errors(CLUSTER('loadBalancerPool: 10.96.0.0/24'))[0]).toContain('overlaps serviceCIDR 10.96.0.0/12');
    expect(errors(CLUSTER('loadBalancerPool: 172.18.0.1/24'))[0]).toContain(
      '"172.18.0.1/24" has host bits set; did you mean 172.18.0.0/24?',
    );
  });
});

describe('service fields', () => {
  test('defaults: ClusterIP, TCP, targetPort = port, Cluster policies, no affinity (10800 s), no externals', () => {
    const s = svc(model(service('web', 'selector: { app: web }\nports: [{ port: 80 }]')), 'default/web');
    expect(s).toMatchObject({
      type: 'ClusterIP',
      headless: false,
      ports: [{ name: undefined, protocol: 'TCP', port: 80, targetPort: 80, nodePort: undefined }],
      selector: { app: 'web' },
      externalIPs: [],
      loadBalancerIPs: [],
      loadBalancerSourceRanges: [],
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None',
      affinityTimeoutSeconds: 10800,
      healthCheckNodePort: undefined,
      externalName: undefined,
      publishNotReadyAddresses: false,
      labels: {},
    });
    expect(s.source).toEqual({ file: 'test.yaml', line: 2, col: 1 });
  });

  test('every field as written', () => {
    const s = svc(
      model(
        `${service(
          'web',
          `type: LoadBalancer
selector: { app: web, tier: front }
ports:
  - { name: http, port: 80, targetPort: http, nodePort: 30080 }
  - { name: dns, port: 53, protocol: UDP, targetPort: 5353 }
  - { name: sctp, port: 9, protocol: SCTP }
externalIPs: [198.51.100.7]
loadBalancerSourceRanges: [203.0.113.0/24, 198.51.100.0/25]
externalTrafficPolicy: Local
internalTrafficPolicy: Local
sessionAffinity: ClientIP
sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }
healthCheckNodePort: 32100
publishNotReadyAddresses: true
ipFamilies: [IPv4]
ipFamilyPolicy: SingleStack`,
          'shop',
        ).replace(
          '  namespace: shop',
          '  namespace: shop\n  labels: { team: a }',
        )}status:\n  loadBalancer: { ingress: [{ ip: 192.0.2.10 }] }\n`,
      ),
      'shop/web',
    );
    expect(s).toMatchObject({
      type: 'LoadBalancer',
      selector: { app: 'web', tier: 'front' },
      externalIPs: [ip('198.51.100.7')],
      loadBalancerIPs: [ip('192.0.2.10')],
      loadBalancerSourceRanges: [
        { addr: ip('203.0.113.0'), len: 24 },
        { addr: ip('198.51.100.0'), len: 25 },
      ],
      externalTrafficPolicy: 'Local',
      internalTrafficPolicy: 'Local',
      sessionAffinity: 'ClientIP',
      affinityTimeoutSeconds: 60,
      healthCheckNodePort: 32100,
      publishNotReadyAddresses: true,
      labels: { team: 'a' },
    });
    expect(s.ports.map((p) => [p.name, p.protocol, p.port, p.targetPort])).toEqual([
      ['http', 'TCP', 80, 'http'],
      ['dns', 'UDP', 53, 5353],
      ['sctp', 'SCTP', 9, 9],
    ]);
    expect(s.ports[0]?.nodePort).toBe(30080);
  });

  test('a ClusterIP service with externalIPs may set externalTrafficPolicy (it is reachable from outside)', () => {
    const s = svc(
      model(service('web', `externalIPs: [198.51.100.7]\nexternalTrafficPolicy: Local\n${SIMPLE()}`)),
      'default/web',
    );
    expect(s.externalTrafficPolicy).toBe('Local');
  });

  test('service port names follow the apiserver (DNS-1123 labels, longer than IANA names may be)', () => {
    const s = svc(
      model(
        service(
          'web',
          'selector: { app: web }\nports: [{ name: metrics-endpoint-long, port: 80 }, { name: "8080", port: 81 }]',
        ),
      ),
      'default/web',
    );
    expect(s.ports.map((p) => p.name)).toEqual(['metrics-endpoint-long', '8080']);
  });
});

describe('validation across objects', () => {
  test('every error of a Service is reported in one pass, in position order', () => {
    const errs = errors(
      service(
        'Web',
        `type: NodePort
clusterIP: 10.200.0.1
ports:
  - { port: 80, nodePort: 80 }
  - { port: 80 }
  - { name: x, port: 70000, targetPort: "http-" }
sessionAffinity: Sticky`,
      ),
    );
    expect(errs.map((e) => e.split(': error: ')[1]?.split(':').slice(0, 2).join(':'))).toEqual([
      'Service default/Web: metadata.name',
      'Service default/Web: spec.clusterIP',
      'Service default/Web: spec.ports[0].name',
      'Service default/Web: spec.ports[0].nodePort',
      'Service default/Web: spec.ports[1].name',
      'Service default/Web: spec.ports[1].port',
      'Service default/Web: spec.ports[2].port',
      'Service default/Web: spec.ports[2].targetPort',
      'Service default/Web: spec.sessionAffinity',
    ]);
  });

  test('allocation errors (given IPs and NodePorts) are reported for every service, at the second claimant', () => {
    const errs = errors(
      service(
        'a',
        `clusterIP: 10.96.5.5\ntype: NodePort\nselector: { app: web }\nports: [{ port: 80, nodePort: 30100 }]`,
      ) +
        service(
          'b',
          `clusterIP: 10.96.5.5\ntype: NodePort\nselector: { app: web }\nports: [{ port: 80, nodePort: 30100 }]`,
        ),
    );
    expect(errs).toEqual([
      'test.yaml:17:14: error: Service default/b: spec.clusterIP: 10.96.5.5 is already the ClusterIP of Service default/a (line 7)',
      'test.yaml:20:33: error: Service default/b: spec.ports[0].nodePort: nodePort 30100 is already allocated to Service default/a (line 10)',
    ]);
  });

  test('a nodePort reused within one Service for another port number is an error', () => {
    expect(
      errors(
        service(
          'a',
          'type: NodePort\nselector: { app: web }\nports: [{ name: x, port: 80, nodePort: 30100 }, { name: y, port: 81, protocol: UDP, nodePort: 30100 }]',
        ),
      ),
    ).toEqual([
      'test.yaml:9:97: error: Service default/a: spec.ports[1].nodePort: nodePort 30100 is already used by spec.ports[0].nodePort of this Service',
    ]);
  });

  test('services in undeclared namespaces create them with the usual notice', () => {
    expect(notices(service('web', 'clusterIP: None\nports: []', 'shop'))).toEqual([
      'test.yaml:5:9: notice: Service shop/web: has no endpoints; DNS has no addresses for it',
      'test.yaml:6:14: notice: namespace "shop" created (referenced by Service shop/web, not declared)',
    ]);
  });

  test('an IPv6 ClusterIP (an IPv6-primary Service) is refused; the IPv6 half of a dual-stack one is ignored', () => {
    const text = `${service(
      'lb',
      `type: LoadBalancer
clusterIP: fd00::10
ipFamilyPolicy: RequireDualStack
loadBalancerSourceRanges: ["2001:db8::/32"]
selector: { app: web }
ports: [{ port: 80 }]`,
    )}status:\n  loadBalancer: { ingress: [{ ip: "2001:db8::1" }] }\n`;
    const errs = errors(text);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toContain('podnet is IPv4-only');
    expect(errs.map((e) => e.split(': ')[3])).toEqual(['spec.clusterIP']);
    // (kube-proxy's IPv4 proxier never sees IPv6 values; the API server accepts them in a dual-stack cluster)
    expect(notices(text).map((e) => e.split(': ')[3])).toEqual([
      'spec.ipFamilyPolicy',
      'spec.loadBalancerSourceRanges[0]',
      'status.loadBalancer.ingress[0].ip',
    ]);
  });

  test('a spec of the wrong type is one error, not one per field read from it', () => {
    expect(errors('apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec: [80]\n')).toEqual([
      'test.yaml:4:7: error: Service default/web: spec: expected the Service spec (a mapping with type, ports, selector, …), got a list',
    ]);
  });

  test('Services are no longer deferred', () => {
    const r = load(service('web', SIMPLE()));
    expect(r.deferred).toEqual([]);
  });
});

describe('an exported cluster (kubectl get -o yaml)', () => {
  const r = loadTopologyPath(EXPORT);

  test('loads, keeping every imported address', () => {
    expect(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
    const m = r.model!;
    expect(
      m.services.map(
        (s) =>
          `${s.namespace}/${s.name} ${s.type} ${s.clusterIPs.map(fmt).join(',')} ` +
          `${s.ports.map((p) => p.nodePort ?? '-').join(',')} ${s.loadBalancerIPs.map(fmt).join(',')}`,
      ),
    ).toEqual([
      'default/kubernetes ClusterIP 10.96.0.1 - ',
      'shop/web NodePort 10.100.12.34 31080 ',
      'kube-system/kube-dns ClusterIP 10.96.0.10 -,-,- ',
      'shop/shop-lb LoadBalancer 10.100.77.7 30880 192.168.50.1',
      `shop/fresh-lb LoadBalancer ${cip(m, 'shop/fresh-lb')} ${svc(m, 'shop/fresh-lb').ports[0]?.nodePort ?? '?'} 192.168.50.0`,
      'shop/search ExternalName   ',
      `shop/pg ClusterIP ${cip(m, 'shop/pg')} - `,
    ]);
    expect(svc(m, 'shop/shop-lb').healthCheckNodePort).toBe(32001);
    expect(svc(m, 'shop/search').externalName).toBe('search.example.com.');
  });

  test('its only notice is the namespace creation: controller-made slices replace the selector silently', () => {
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      `${EXPORT}:21:18: notice: namespace "shop" created (referenced by Pod shop/web-7d4b9c-abcde, not declared)`,
    ]);
  });

  test('the same text loads the same way from a string', () => {
    const again = loadTopologyText(readFileSync(EXPORT, 'utf8'), EXPORT);
    expect(JSON.stringify(again.model)).toBe(JSON.stringify(r.model));
  });
});

describe('topologies/services.yaml', () => {
  const r = loadTopologyPath(EXAMPLE);

  test('loads without any diagnostic, with the addresses its header promises', () => {
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([]);
    const m = r.model!;
    expect(userServices(m).map((s) => s.name)).toEqual(['web', 'web-nodeport', 'web-headless', 'db']);
    expect(cip(m, 'default/kubernetes')).toBe('10.96.0.1');
    expect(cip(m, 'kube-system/kube-dns')).toBe('10.96.0.10');
    expect(cip(m, 'default/web')).toBe('10.111.237.75');
    expect(svc(m, 'default/web-nodeport').ports.map((p) => p.nodePort)).toEqual([30080, 32166]);
    expect(svc(m, 'default/web-headless')).toMatchObject({ headless: true, clusterIPs: [] });
  });

  test('web is backed by the three web pods, db by the external host, web-headless with hostnames', () => {
    const m = r.model!;
    const of = (name: string): string[] =>
      m.endpointSlices
        .filter((s) => s.serviceName === name)
        .flatMap((s) => s.endpoints.map((e) => `${fmt(e.ip)} ${e.hostname ?? '-'} ${e.targetPod ?? '-'}`));
    // CoreDNS holds 10.244.0.2 and .3 on node1, client .4
    expect(of('web')).toEqual([
      '10.244.0.5 - default/web-0',
      '10.244.1.2 - default/web-1',
      '10.244.1.3 - default/web-2',
    ]);
    expect(of('web-headless')).toEqual([
      '10.244.0.5 web-0 default/web-0',
      '10.244.1.2 web-1 default/web-1',
      '10.244.1.3 web-2 default/web-2',
    ]);
    expect(of('db')).toEqual(['172.18.0.50 - -']);
    expect(m.externalHosts.map((h) => fmt(h.ip))).toEqual(['172.18.0.50']);
    expect(m.endpointSlices.find((s) => s.serviceName === 'web')?.ports).toEqual([
      { name: 'http', port: 8080, protocol: 'TCP' },
    ]);
  });
});
