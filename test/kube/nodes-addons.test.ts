/** Node objects (merged with a Cluster's nodes, the underlay derived from them) and the kubeadm/flannel addons. */
import { describe, expect, test } from 'vitest';
import { formatDiagnostic, loadTopologyText } from '../../src/kube/load/index.js';
import { formatCidr, type ClusterModel } from '../../src/kube/model.js';
import { fmt } from './services-helpers.js';

function load(text: string): ReturnType<typeof loadTopologyText> {
  return loadTopologyText(text, 'test.yaml');
}

function model(text: string): ClusterModel {
  const r = load(text);
  if (r.model === undefined) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.model;
}

function errors(text: string): string[] {
  return load(text)
    .diagnostics.filter((d) => d.severity === 'error')
    .map(formatDiagnostic);
}

const NODE = (name: string, ip?: string, extra = ''): string => `---
apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels: { kubernetes.io/hostname: ${name} }
spec:
${extra}  podCIDRs: []
status:
  addresses:
${ip !== undefined ? `    - { type: InternalIP, address: ${ip} }\n` : ''}    - { type: Hostname, address: ${name} }
`;

const CLUSTER = (spec: string): string => `apiVersion: podnet.dev/v1alpha1
kind: Cluster
spec:
${spec
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`;

describe('Node objects', () => {
  test('they define the nodes: name, InternalIP, podCIDR (or the next free one), labels, taints, unschedulable', () => {
    const m = model(
      NODE(
        'cp',
        '172.18.0.10',
        '  podCIDR: 10.244.5.0/24\n  taints: [{ key: node-role.kubernetes.io/control-plane, effect: NoSchedule }]\n',
      ).replace(
        'labels: { kubernetes.io/hostname: cp }',
        'labels: { kubernetes.io/hostname: cp, node-role.kubernetes.io/control-plane: "" }',
      ) +
        NODE('w1', '172.18.0.11') +
        NODE('w2', undefined, '  unschedulable: true\n'),
    );
    expect(
      m.nodes.map(
        (n) =>
          `${n.name} ${fmt(n.ip)} ${formatCidr(n.podCIDR)} ${n.schedulable} ${n.controlPlane === true} ${n.taints.length}`,
      ),
    ).toEqual([
      'cp 172.18.0.10 10.244.5.0/24 true true 1',
      'w1 172.18.0.11 10.244.0.0/24 true false 0',
      // no InternalIP: the default address for the third node
      'w2 172.18.0.4 10.244.1.0/24 false false 0',
    ]);
  });

  test('without a control-plane label the first node is the control plane; a Node object keeps the taints it lists (none)', () => {
    const m = model(NODE('a', '172.18.0.2') + NODE('b', '172.18.0.3'));
    expect(m.nodes.map((n) => [n.name, n.controlPlane, n.taints])).toEqual([
      ['a', true, []],
      ['b', false, []],
    ]);
    expect(m.nodes[0]?.labels['node-role.kubernetes.io/control-plane']).toBe('');
  });

  test("merged by name with the Cluster's node list; fields given on both sides must agree", () => {
    const cluster = CLUSTER(
      'nodes:\n  - { name: a, ip: 172.18.0.2, labels: { zone: z1 } }\n  - { name: b, ip: 172.18.0.3 }',
    );
    const m = model(cluster + NODE('b', '172.18.0.3', '  podCIDR: 10.244.7.0/24\n') + NODE('c', '172.18.0.9'));
    expect(m.nodes.map((n) => `${n.name} ${fmt(n.ip)} ${formatCidr(n.podCIDR)}`)).toEqual([
      'a 172.18.0.2 10.244.0.0/24',
      'b 172.18.0.3 10.244.7.0/24',
      'c 172.18.0.9 10.244.1.0/24',
    ]);
    expect(m.nodes[0]?.labels['zone']).toBe('z1');
    const errs = errors(
      CLUSTER(
        'nodes:\n  - { name: a, ip: 172.18.0.2, podCIDR: 10.244.0.0/24, labels: { zone: z1 }, taints: [], schedulable: true }',
      ) +
        NODE(
          'a',
          '172.18.0.5',
          '  podCIDR: 10.244.1.0/24\n  unschedulable: true\n  taints: [{ key: x, effect: NoSchedule }]\n',
        ).replace('{ kubernetes.io/hostname: a }', '{ kubernetes.io/hostname: a, zone: z2 }'),
    );
    expect(errs.map((e) => e.replace(/^test.yaml:\d+:\d+: /, ''))).toEqual([
      'error: Node a: metadata.labels.zone: label zone="z2" conflicts with the Cluster\'s spec.nodes[0].labels (line 5), "z1"',
      "error: Node a: spec.podCIDR: podCIDR 10.244.1.0/24 conflicts with the Cluster's spec.nodes[0].podCIDR (line 5), 10.244.0.0/24",
      "error: Node a: spec.unschedulable: unschedulable: true conflicts with the Cluster's spec.nodes[0].schedulable (line 5), schedulable: true",
      "error: Node a: spec.taints: taints [x:NoSchedule] conflict with the Cluster's spec.nodes[0].taints (line 5), []",
      "error: Node a: status.addresses[0].address: InternalIP 172.18.0.5 conflicts with the Cluster's spec.nodes[0].ip (line 5), 172.18.0.2",
    ]);
  });

  test('a node count next to Node objects must match them', () => {
    expect(errors(CLUSTER('nodes: 3') + NODE('a', '172.18.0.2'))).toEqual([
      'test.yaml:4:10: error: Cluster (unnamed): spec.nodes: 3 nodes, but 1 Node object defines the nodes (a); remove spec.nodes or list the nodes by name',
    ]);
    expect(model(CLUSTER('nodes: 1') + NODE('a', '172.18.0.2')).nodes.map((n) => n.name)).toEqual(['a']);
  });

  test('addresses outside the default underlay: the underlay is their smallest common prefix (/24 or larger), unless the Cluster sets one', () => {
    const r = load(NODE('a', '10.0.1.5') + NODE('b', '10.0.2.7'));
    const m = r.model!;
    expect(formatCidr(m.underlay.cidr)).toBe('10.0.0.0/22');
    expect(fmt(m.underlay.gateway ?? 0)).toBe('10.0.0.1');
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      "test.yaml:11:36: notice: Node a: underlay 10.0.0.0/22 derived from the Node addresses (10.0.1.5 is outside the default 172.18.0.0/24; set the Cluster's spec.underlay.cidr to choose it), gateway 10.0.0.1",
    ]);
    // a node holding the first address: the gateway is the last one
    expect(fmt(model(NODE('a', '192.168.9.1') + NODE('b', '192.168.9.2')).underlay.gateway ?? 0)).toBe('192.168.9.254');
    // the Cluster's own underlay wins, and then the addresses must fit it
    expect(errors(CLUSTER('underlay: { cidr: 172.18.0.0/24 }') + NODE('a', '10.0.1.5'))).toEqual([
      'test.yaml:15:36: error: Node a: status.addresses[0].address: 10.0.1.5 is outside the underlay 172.18.0.0/24',
    ]);
  });

  test('Node fields are checked: names, addresses, IPv6 pod CIDRs, taints', () => {
    const bad = `---
apiVersion: v1
kind: Node
metadata: { name: Bad_Name }
spec:
  podCIDRs: [fd00::/64]
  taints: [{ key: k, effect: Sometimes }]
status:
  addresses: [{ type: InternalIP, address: 300.1.2.3 }]
`;
    expect(errors(bad).map((e) => e.replace(/^test.yaml:\d+:\d+: error: /, ''))).toEqual([
      'Node Bad_Name: metadata.name: expected a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters), got "Bad_Name"',
      'Node Bad_Name: spec.podCIDRs[0]: "fd00::/64" is an IPv6 address; podnet is IPv4-only',
      'Node Bad_Name: spec.taints[0].effect: expected one of "NoSchedule", "PreferNoSchedule", "NoExecute", got "Sometimes"',
      'Node Bad_Name: status.addresses[0].address: expected an IPv4 address like 172.18.0.2, got "300.1.2.3"',
    ]);
    expect(errors(NODE('a', '172.18.0.2') + NODE('a', '172.18.0.3'))[0]).toContain(
      'Node a: metadata.name: duplicate Node "a" (first defined at line 2)',
    );
  });
});

describe('addons', () => {
  test('a file without a Cluster document has kubernetes, kube-dns, CoreDNS, kube-proxy and flannel, marked addon', () => {
    const m = model('');
    expect(m.addons).toEqual({ kubernetesService: true, coreDNS: true, kubeProxy: true, flannel: true });
    expect(
      m.services.map(
        (s) =>
          `${s.namespace}/${s.name} ${s.clusterIPs.map(fmt).join()} ` +
          `${s.ports.map((p) => `${p.name}:${p.port}/${p.protocol}->${p.targetPort}`).join(' ')} ${s.origin}`,
      ),
    ).toEqual([
      'default/kubernetes 10.96.0.1 https:443/TCP->6443 addon',
      'kube-system/kube-dns 10.96.0.10 dns:53/UDP->53 dns-tcp:53/TCP->53 metrics:9153/TCP->9153 addon',
    ]);
    expect(
      m.endpointSlices.map(
        (s) => `${s.namespace}/${s.serviceName} ${s.endpoints.map((e) => fmt(e.ip)).join(',')} ${s.origin}`,
      ),
    ).toEqual(['default/kubernetes 172.18.0.2 addon', 'kube-system/kube-dns 10.244.0.2,10.244.0.3 addon']);
    const coredns = m.pods.filter((p) => p.labels['k8s-app'] === 'kube-dns');
    expect(coredns.map((p) => `${p.nodeName} ${fmt(p.ip)}`)).toEqual(['node1 10.244.0.2', 'node1 10.244.0.3']);
    expect(coredns[0]?.containers[0]?.ports).toEqual([
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
      { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
    ]);
    expect(m.pods.every((p) => p.origin === 'addon')).toBe(true);
  });

  test('addons: none, or one switch at a time', () => {
    const none = model(CLUSTER('addons: none'));
    expect(none.pods).toEqual([]);
    expect(none.services).toEqual([]);
    const noDns = model(CLUSTER('addons: { coreDNS: false, flannel: false }'));
    expect(noDns.services.map((s) => s.name)).toEqual(['kubernetes']);
    expect([...new Set(noDns.pods.map((p) => p.ownerRef ?? p.name))]).toEqual([
      'kube-apiserver-node1',
      'DaemonSet/kube-proxy',
    ]);
    expect(errors(CLUSTER('addons: all'))).toEqual([
      'test.yaml:4:11: error: Cluster (unnamed): spec.addons: expected "none", or a mapping of kubernetesService, coreDNS, kubeProxy, flannel to true or false, got "all"',
    ]);
    expect(errors(CLUSTER('addons: { coreDNS: no }'))[0]).toContain(
      'spec.addons.coreDNS: expected a boolean (true or false), got "no"',
    );
  });

  test('objects of the input with the same names replace them', () => {
    const text = `apiVersion: v1
kind: Service
metadata: { name: kube-dns, namespace: kube-system }
spec: { clusterIP: 10.96.0.53, selector: { k8s-app: kube-dns }, ports: [{ name: dns, port: 53, protocol: UDP }] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: coredns, namespace: kube-system }
spec:
  replicas: 1
  selector: { matchLabels: { k8s-app: kube-dns } }
  template:
    metadata: { labels: { k8s-app: kube-dns } }
    spec:
      tolerations: [{ operator: Exists }]
      containers: [{ name: coredns, ports: [{ containerPort: 53, protocol: UDP }] }]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: kube-flannel-ds, namespace: kube-system }
spec:
  selector: { matchLabels: { app: flannel } }
  template:
    metadata: { labels: { app: flannel } }
    spec: { hostNetwork: true, tolerations: [{ operator: Exists }], containers: [{ name: flannel }] }
`;
    const m = model(text);
    expect(m.services.map((s) => `${s.name} ${fmt(s.clusterIPs[0] ?? 0)} ${s.origin ?? 'user'}`)).toEqual([
      'kube-dns 10.96.0.53 user',
      'kubernetes 10.96.0.1 addon',
    ]);
    expect(m.pods.filter((p) => p.labels['k8s-app'] === 'kube-dns').map((p) => p.origin ?? 'user')).toEqual(['user']);
    expect(m.pods.filter((p) => p.namespace === 'kube-flannel')).toEqual([]);
    expect(
      m.pods.filter((p) => p.labels['app'] === 'flannel').map((p) => `${p.namespace} ${p.origin ?? 'user'}`),
    ).toEqual(['kube-system user', 'kube-system user']);
  });

  test("the kubernetes Service points at every control-plane node's 6443, served by kube-apiserver static pods", () => {
    const m = model(
      CLUSTER(
        'nodes:\n  - { name: cp1, labels: { node-role.kubernetes.io/control-plane: "" } }\n  - { name: cp2, labels: { node-role.kubernetes.io/control-plane: "" } }\n  - { name: w }',
      ),
    );
    expect(m.endpointSlices.find((s) => s.serviceName === 'kubernetes')?.endpoints.map((e) => fmt(e.ip))).toEqual([
      '172.18.0.2',
      '172.18.0.3',
    ]);
    expect(
      m.pods
        .filter((p) => p.labels['component'] === 'kube-apiserver')
        .map((p) => `${p.name} ${p.nodeName} ${p.hostNetwork} ${p.containers[0]?.ports[0]?.containerPort}`),
    ).toEqual(['kube-apiserver-cp1 cp1 true 6443', 'kube-apiserver-cp2 cp2 true 6443']);
    // CoreDNS goes to the control-plane nodes, spread over them
    expect(
      m.pods
        .filter((p) => p.labels['k8s-app'] === 'kube-dns')
        .map((p) => p.nodeName)
        .sort(),
    ).toEqual(['cp1', 'cp2']);
  });

  test('when no node accepts CoreDNS it stays Pending with a notice, not an error', () => {
    const r = load(CLUSTER('nodes:\n  - { name: only, schedulable: false }'));
    expect(r.model).toBeDefined();
    expect(r.diagnostics.filter((d) => d.severity === 'notice').map((d) => d.message)).toEqual([
      // once for the Deployment, not once per pod
      expect.stringMatching(
        /^pod coredns-[456789bcdf]{10}-[a-z0-9]{5} stays Pending, no node can run it: only is not schedulable \(turn the addon off with the Cluster's spec.addons\)$/,
      ),
    ]);
    expect(r.diagnostics[0]?.file).toBe('<built-in addons>');
  });
});
