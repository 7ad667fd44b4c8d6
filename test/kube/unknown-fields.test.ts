/** Misspelt fields and kinds: errors with a suggestion in podnet's own kinds; a kind one slip from a known one. */
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, loadTopologyText } from '../../src/kube/load/index.js';

function load(yaml: string): { ok: boolean; errors: string[]; notices: string[] } {
  const r = loadTopologyText(yaml, 't.yaml');
  return {
    ok: r.model !== undefined,
    errors: r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic),
    notices: r.diagnostics.filter((d) => d.severity === 'notice').map(formatDiagnostic),
  };
}

const CLUSTER = `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: {name: c}
spec:
  nodes: 2
`;

describe('unknown fields of podnet kinds', () => {
  it('refuses a misspelt expect field instead of passing the probe unchecked', () => {
    const r = load(`${CLUSTER}---
apiVersion: podnet.dev/v1alpha1
kind: Scenario
metadata: {name: s}
spec:
  probes:
  - from: node/node1
    to: node/node2
    protocol: icmp
    count: 1
    expect: { answerdBy: [nobody], ttll: 1 }
`);
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([
      expect.stringMatching(
        /t\.yaml:16:15: .*spec\.probes\[0\]\.expect: unknown field "answerdBy" \(did you mean answeredBy\?\)/,
      ),
      expect.stringMatching(/spec\.probes\[0\]\.expect: unknown field "ttll" \(did you mean ttl\?\)/),
    ]);
  });

  it('refuses a misspelt Cluster field with the one it is near', () => {
    const r = load(CLUSTER.replace('  nodes: 2', '  clusterCIRD: 10.244.0.0/16\n  nodes: 2'));
    expect(r.errors).toEqual([
      expect.stringMatching(/spec: unknown field "clusterCIRD" \(did you mean clusterCIDR\?\)/),
    ]);
  });

  it('checks nested Cluster mappings and list items', () => {
    const r = load(`apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: {name: c, labls: {}}
spec:
  cni: {backnd: host-gw}
  underlay: {mtuu: 1500}
  links: {vet: 1ms}
  iptables: {randomFuly: true}
  dns: {clusterDomian: x.local}
  addons: {coredns: false}
  nodes:
  - {name: n1, podCidr: 10.244.1.0/24, taints: [{key: a, effect: NoSchedule, efect: x}]}
  externalHosts:
  - name: h
    ip: 172.18.0.200
    rotes: []
    ports: [{containerPort: 80, protcol: TCP}]
    routes: [{to: 10.0.0.0/8, via: 172.18.0.1, dev: eth0}]
  spec: {}
`);
    const fields = r.errors.map((e) => /unknown field "([^"]+)"(?: \(did you mean (\w+)\?\))?/.exec(e)?.slice(1, 3));
    expect(fields).toEqual([
      ['labls', 'labels'],
      ['backnd', 'backend'],
      ['mtuu', 'mtu'],
      ['vet', 'veth'],
      ['randomFuly', 'randomFully'],
      ['clusterDomian', 'clusterDomain'],
      ['coredns', 'coreDNS'],
      ['podCidr', 'podCIDR'],
      ['efect', 'effect'],
      ['rotes', 'routes'],
      ['protcol', 'protocol'],
      ['dev', undefined],
      ['spec', undefined],
    ]);
  });

  it('keeps unknown kube-proxy settings as notices (kube-proxy decodes leniently)', () => {
    const r = load(CLUSTER.replace('  nodes: 2', '  nodes: 2\n  kubeProxy: {mode: iptables, fooBar: 1}'));
    expect(r.errors).toEqual([]);
    expect(r.notices.some((n) => n.includes('unknown field "fooBar"'))).toBe(true);
  });

  it('refuses unknown probe and spec fields of a Scenario', () => {
    const r = load(`${CLUSTER}---
apiVersion: podnet.dev/v1alpha1
kind: Scenario
metadata: {name: s}
spec:
  paralel: true
  probes:
  - {from: node/node1, to: node/node2, protocol: icmp, cout: 2}
`);
    expect(r.errors).toEqual([
      expect.stringMatching(/spec: unknown field "paralel" \(did you mean parallel\?\)/),
      expect.stringMatching(/spec\.probes\[0\]: unknown field "cout" \(did you mean count\?\)/),
    ]);
  });
});

describe('misspelt kinds', () => {
  it('refuses a kind one slip from a known kind, naming it', () => {
    const r = load(`${CLUSTER}---
apiVersion: v1
kind: Servce
metadata: {name: x}
---
apiVersion: apps/v1
kind: Deploymnet
metadata: {name: y}
---
apiVersion: v1
kind: ConfgMap
metadata: {name: z}
`);
    expect(r.errors).toEqual([
      expect.stringMatching(/unknown kind "Servce" \(did you mean Service\?\)/),
      expect.stringMatching(/unknown kind "Deploymnet" \(did you mean Deployment\?\)/),
      expect.stringMatching(/unknown kind "ConfgMap" \(did you mean ConfigMap\?\)/),
    ]);
  });

  it('still ignores, with a notice, a kind near no known one or in a custom resource group', () => {
    const r = load(`${CLUSTER}---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: monitoring.coreos.com/v1
kind: Probe
metadata: {name: p}
---
apiVersion: example.com/v1
kind: Servce
metadata: {name: s}
`);
    expect(r.errors).toEqual([]);
    expect(r.notices).toHaveLength(3);
  });
});

describe('unknown fields of Kubernetes kinds, against the Kubernetes OpenAPI schema', () => {
  const WORKLOADS = `${CLUSTER}---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{containerPort: 80, protocl: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selectr: {app: web}
  ports: [{port: 80, targetPort: 80}]
`;

  it('reports each as kubectl apply --validate=strict does: the full field path, as an error', () => {
    const r = loadTopologyText(WORKLOADS, 't.yaml');
    const errors = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    expect(r.model).toBeUndefined();
    expect(errors).toEqual([
      't.yaml:19:37: error: Deployment default/web: unknown field "spec.template.spec.containers[0].ports[0].protocl" (did you mean protocol?)',
      't.yaml:25:3: error: Service default/web: unknown field "spec.selectr" (did you mean selector?)',
    ]);
  });

  it('makes them notices with warn, and says nothing with ignore', () => {
    const warn = loadTopologyText(WORKLOADS, 't.yaml', 1, 'warn');
    expect(warn.model).toBeDefined();
    expect(warn.diagnostics.filter((d) => d.message.startsWith('unknown field')).map((d) => d.severity)).toEqual([
      'notice',
      'notice',
    ]);
    const ignore = loadTopologyText(WORKLOADS, 't.yaml', 1, 'ignore');
    expect(ignore.model).toBeDefined();
    expect(ignore.diagnostics.some((d) => d.message.includes('unknown field'))).toBe(false);
  });

  it('accepts what an export carries (status, managedFields, annotations) and follows YAML merge keys', () => {
    const r = load(`${CLUSTER}---
apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations: {a: b}
  managedFields: [{manager: kubectl, operation: Update, fieldsType: FieldsV1, fieldsV1: {f:spec: {}}}]
spec:
  nodeName: node1
  containers:
  - &c {name: web, image: nginx, resources: {limits: {cpu: "1"}}}
  - {<<: *c, name: side, imagePullPolcy: Always}
status: {phase: Running, podIP: 10.244.0.9, conditions: [{type: Ready, status: "True"}]}
`);
    expect(r.errors).toEqual([
      expect.stringMatching(/unknown field "spec\.containers\[1\]\.imagePullPolcy" \(did you mean imagePullPolicy\?\)/),
    ]);
  });

  it('leaves custom resources alone', () => {
    const r = load(`${CLUSTER}---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: m}
spec: {anything: [1, 2]}
`);
    expect(r.errors).toEqual([]);
  });
});
