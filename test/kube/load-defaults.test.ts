/** Defaults, allocation and scheduling of the topology loader. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { formatDiagnostic, loadTopologyText, type LoadResult } from '../../src/kube/load/index.js';
import type { ClusterModel } from '../../src/kube/model.js';
import { formatCidr } from '../../src/kube/model.js';

function ip(s: string): number {
  const [a = 0, b = 0, c = 0, d = 0] = s.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function fmt(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function load(text: string): LoadResult {
  return loadTopologyText(text, 'test.yaml');
}

function model(text: string): ClusterModel {
  const r = load(text);
  if (r.model === undefined) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.model;
}

/** The input's pods (without the kubeadm/flannel addon pods). */
function userPods(m: ClusterModel): ClusterModel['pods'] {
  return m.pods.filter((p) => p.origin !== 'addon');
}

function errors(text: string): string[] {
  return load(text)
    .diagnostics.filter((d) => d.severity === 'error')
    .map(formatDiagnostic);
}

const CLUSTER = (spec: string): string => `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: demo }
spec:
${spec
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`;

const pod = (name: string, extra = '', ns?: string): string => `---
apiVersion: v1
kind: Pod
metadata:
  name: ${name}${ns !== undefined ? `\n  namespace: ${ns}` : ''}
spec:
  containers: [{ name: c }]
${extra}`;

describe('cluster defaults', () => {
  test('an input without a Cluster document gets the built-in cluster settings', () => {
    const m = model(pod('a'));
    expect(m.name).toBe('podnet');
    expect(formatCidr(m.clusterCIDR)).toBe('10.244.0.0/16');
    expect(formatCidr(m.serviceCIDR)).toBe('10.96.0.0/12');
    expect(m.nodeCIDRMaskSize).toBe(24);
    expect(m.cni).toEqual({
      plugin: 'flannel',
      backend: 'vxlan',
      vni: 1,
      port: 8472,
      mtu: 1450,
      hairpinMode: true,
      ipMasq: true,
    });
    expect(formatCidr(m.underlay.cidr)).toBe('172.18.0.0/24');
    expect(m.underlay.mtu).toBe(1500);
    expect(m.underlay.gateway).toBe(0xac120001); // the underlay network's first address, as on a Docker/kind network
    expect(m.links).toEqual({ veth: 2_000, underlay: 100_000 });
    expect(m.externalHosts).toEqual([]);
    expect(m.scenario).toBeUndefined();
    expect(m.files).toEqual(['test.yaml']);
  });

  test('default nodes are node1 and node2 at underlay .2 and .3 with the first two /24s; node1 is the control plane', () => {
    const m = model(pod('a'));
    expect(
      m.nodes.map((n) => [n.name, n.index, fmt(n.ip), formatCidr(n.podCIDR), n.schedulable, n.controlPlane]),
    ).toEqual([
      ['node1', 0, '172.18.0.2', '10.244.0.0/24', true, true],
      ['node2', 1, '172.18.0.3', '10.244.1.0/24', true, false],
    ]);
    expect(m.nodes[0]?.labels).toEqual({
      'kubernetes.io/hostname': 'node1',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': 'amd64',
      'node-role.kubernetes.io/control-plane': '',
    });
    expect(m.nodes[0]?.taints).toEqual([
      { key: 'node-role.kubernetes.io/control-plane', value: '', effect: 'NoSchedule' },
    ]);
    expect(m.nodes[1]?.labels).toEqual({
      'kubernetes.io/hostname': 'node2',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': 'amd64',
    });
    expect(m.nodes[1]?.taints).toEqual([]);
  });

  test('the control plane: a labelled node, else the first; untainted when taints are given or it is the only node', () => {
    const cp = (text: string): string[] =>
      model(text).nodes.map(
        (n) =>
          `${n.name} ${n.controlPlane === true ? 'cp' : '-'} ${n.taints.map((t) => `${t.key}:${t.effect}`).join(',')}`,
      );
    expect(cp(CLUSTER('nodes: 3'))).toEqual([
      'node1 cp node-role.kubernetes.io/control-plane:NoSchedule',
      'node2 - ',
      'node3 - ',
    ]);
    expect(cp(CLUSTER('nodes: 1'))).toEqual(['node1 cp ']);
    expect(cp(CLUSTER('nodes:\n  - { name: a, taints: [] }\n  - { name: b }'))).toEqual(['a cp ', 'b - ']);
    expect(
      cp(CLUSTER('nodes:\n  - { name: a }\n  - { name: b, labels: { node-role.kubernetes.io/control-plane: "" } }')),
    ).toEqual(['a - ', 'b cp ']);
    expect(
      cp(CLUSTER('nodes:\n  - { name: a }\n  - { name: b, labels: { node-role.kubernetes.io/master: "" } }')),
    ).toEqual(['a - ', 'b cp ']);
  });

  test('an empty Cluster document also yields every default', () => {
    const m = model('apiVersion: podnet.dev/v1alpha1\nkind: Cluster\n');
    expect(m.name).toBe('podnet');
    expect(m.nodes).toHaveLength(2);
  });

  test('a node count assigns podCIDRs in node order and addresses upward from .2', () => {
    const m = model(CLUSTER('nodes: 4'));
    expect(m.nodes.map((n) => `${n.name} ${fmt(n.ip)} ${formatCidr(n.podCIDR)}`)).toEqual([
      'node1 172.18.0.2 10.244.0.0/24',
      'node2 172.18.0.3 10.244.1.0/24',
      'node3 172.18.0.4 10.244.2.0/24',
      'node4 172.18.0.5 10.244.3.0/24',
    ]);
  });

  test('default podCIDRs skip subnets other nodes claim explicitly (next-fit)', () => {
    const m = model(
      CLUSTER('nodes:\n  - { podCIDR: 10.244.1.0/24 }\n  - {}\n  - {}\n  - { podCIDR: 10.244.2.0/24 }\n  - {}'),
    );
    expect(m.nodes.map((n) => formatCidr(n.podCIDR))).toEqual([
      '10.244.1.0/24',
      '10.244.0.0/24',
      '10.244.3.0/24',
      '10.244.2.0/24',
      '10.244.4.0/24',
    ]);
  });

  test('nodeCIDRMaskSize changes the size of default node subnets', () => {
    const m = model(CLUSTER('clusterCIDR: 10.0.0.0/20\nnodeCIDRMaskSize: 26\nnodes: 3'));
    expect(m.nodes.map((n) => formatCidr(n.podCIDR))).toEqual(['10.0.0.0/26', '10.0.0.64/26', '10.0.0.128/26']);
  });

  test('cni mtu derives from the underlay: −50 for vxlan, equal for host-gw', () => {
    expect(model(CLUSTER('underlay: { mtu: 9000 }')).cni.mtu).toBe(8950);
    expect(model(CLUSTER('cni: { backend: host-gw }')).cni.mtu).toBe(1500);
    expect(model(CLUSTER('cni: { mtu: 1400 }')).cni.mtu).toBe(1400);
  });

  test('explicit node names, addresses, labels, taints and schedulability are kept', () => {
    const m = model(
      CLUSTER(`underlay: { cidr: 10.10.0.0/24, gateway: 10.10.0.1 }
links: { veth: 5us, underlay: 1ms }
nodes:
  - name: cp
    ip: 10.10.0.10
    labels: { node-role.kubernetes.io/control-plane: "" }
    taints: [{ key: node-role.kubernetes.io/control-plane, effect: NoSchedule }]
    schedulable: false`),
    );
    const n = m.nodes[0];
    expect(n?.name).toBe('cp');
    expect(fmt(n?.ip ?? 0)).toBe('10.10.0.10');
    expect(n?.labels).toEqual({
      'kubernetes.io/hostname': 'cp',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': 'amd64',
      'node-role.kubernetes.io/control-plane': '',
    });
    expect(n?.taints).toEqual([{ key: 'node-role.kubernetes.io/control-plane', value: '', effect: 'NoSchedule' }]);
    expect(n?.schedulable).toBe(false);
    expect(m.underlay.gateway).toBe(ip('10.10.0.1'));
    expect(m.links).toEqual({ veth: 5_000, underlay: 1_000_000 });
    expect(n?.source).toEqual({ file: 'test.yaml', line: 8, col: 7 });
  });

  test('external hosts default their MTU to the underlay and keep routes and ports', () => {
    const m = model(
      CLUSTER(`externalHosts:
  - name: ext
    ip: 172.18.0.100
    routes: [{ to: 10.244.1.0/24, via: 172.18.0.2 }]
    ports: [{ containerPort: 8080 }, { containerPort: 53, protocol: UDP, name: dns }]`),
    );
    expect(m.externalHosts).toHaveLength(1);
    const h = m.externalHosts[0];
    expect(h?.mtu).toBe(1500);
    expect(h?.routes).toEqual([{ dst: { addr: ip('10.244.1.0'), len: 24 }, via: ip('172.18.0.2') }]);
    expect(h?.ports).toEqual([
      { name: undefined, containerPort: 8080, protocol: 'TCP' },
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
    ]);
  });
});

describe('pod scheduling and addresses', () => {
  test('pods without nodeName spread to the node with the fewest pods, ties in a seeded order of the nodes; the control plane is avoided', () => {
    const text = CLUSTER('nodes: 4') + pod('a') + pod('b') + pod('c') + pod('d') + pod('e') + pod('f');
    const at = (seed: number): string[] =>
      userPods(loadTopologyText(text, 'test.yaml', seed).model!).map((p) => p.nodeName);
    for (const seed of [1, 2, 3, 4, 5]) {
      const nodes = at(seed);
      expect(nodes).not.toContain('node1'); // tainted control plane
      // round robin over the three workers, in the same order twice
      expect(new Set(nodes.slice(0, 3)).size).toBe(3);
      expect(nodes.slice(3)).toEqual(nodes.slice(0, 3));
    }
    expect(at(1)).toEqual(at(1));
    expect(new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => at(seed).join(','))).size).toBeGreaterThan(1);
  });

  test('pods pinned with spec.nodeName count toward the load seen by later pods', () => {
    const m = model(
      CLUSTER('addons: none\nnodes:\n  - { name: node1, taints: [] }\n  - { name: node2 }') +
        pod('a', '  nodeName: node1\n') +
        pod('b', '  nodeName: node1\n') +
        pod('c') +
        pod('d') +
        pod('e'),
    );
    expect(m.pods.map((p) => `${p.name}@${p.nodeName}`).slice(0, 4)).toEqual([
      'a@node1',
      'b@node1',
      'c@node2',
      'd@node2',
    ]);
    expect(['node1', 'node2']).toContain(m.pods[4]?.nodeName); // a tie, broken by the seed
  });

  test('nodeSelector and required node affinity filter the nodes', () => {
    const cluster = CLUSTER(
      'addons: none\nnodes:\n  - { name: a, labels: { disk: ssd, zone: z1 } }\n  - { name: b, labels: { disk: hdd, zone: z2 } }\n  - { name: c, labels: { zone: z3 } }',
    );
    const affinity = (expr: string): string =>
      `  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n          - matchExpressions: [${expr}]\n`;
    const m = model(
      cluster +
        pod('sel', '  nodeSelector: { disk: ssd }\n  tolerations: [{ operator: Exists }]\n') +
        pod('in', affinity('{ key: zone, operator: In, values: [z2] }')) +
        pod('notin', affinity('{ key: zone, operator: NotIn, values: [z1, z2] }')) +
        pod(
          'exists',
          affinity('{ key: disk, operator: Exists }') +
            '  tolerations: [{ operator: Exists }]\n  nodeSelector: { zone: z1 }\n',
        ) +
        pod('absent', affinity('{ key: disk, operator: DoesNotExist }')),
    );
    expect(m.pods.map((p) => `${p.name}@${p.nodeName}`)).toEqual(['sel@a', 'in@b', 'notin@c', 'exists@a', 'absent@c']);
    const errs = errors(cluster + pod('none', '  nodeSelector: { disk: nvme }\n'));
    expect(errs.join('\n')).toContain(
      'no node can run this pod: a lacks label disk=nvme (nodeSelector); b lacks label disk=nvme (nodeSelector); c lacks label disk=nvme (nodeSelector)',
    );
    expect(errors(cluster + pod('cp', '  nodeSelector: { disk: ssd }\n')).join('\n')).toContain(
      'no node can run this pod: a has taint node-role.kubernetes.io/control-plane:NoSchedule; b lacks label disk=ssd',
    );
  });

  test('pod IPs start at .2 of their node podCIDR and go upward in document order', () => {
    const m = model(
      CLUSTER('addons: none') +
        pod('a', '  nodeName: node1\n') +
        pod('b', '  nodeName: node2\n') +
        pod('c', '  nodeName: node1\n') +
        pod('d', '  nodeName: node1\n'),
    );
    expect(m.pods.map((p) => `${p.name} ${fmt(p.ip)}`)).toEqual([
      'a 10.244.0.2',
      'b 10.244.1.2',
      'c 10.244.0.3',
      'd 10.244.0.4',
    ]);
  });

  test("with the addons, the CoreDNS pods hold the control plane's .2 and .3 and user pods follow", () => {
    const m = model(pod('a', '  nodeName: node1\n') + pod('b', '  nodeName: node2\n'));
    expect(
      m.pods
        .filter((p) => !p.hostNetwork)
        .map((p) => `${p.namespace}/${p.name.replace(/-[a-z0-9]{10}-[a-z0-9]{5}$/, '-…')} ${fmt(p.ip)}`),
    ).toEqual([
      'kube-system/coredns-… 10.244.0.2',
      'kube-system/coredns-… 10.244.0.3',
      'default/a 10.244.0.4',
      'default/b 10.244.1.2',
    ]);
  });

  test('status.podIP is honoured and allocation skips the addresses it takes', () => {
    const m = model(
      CLUSTER('addons: none') +
        pod('a', '  nodeName: node1\n') +
        pod('b', '  nodeName: node1\nstatus:\n  podIP: 10.244.0.3\n') +
        pod('c', '  nodeName: node1\n') +
        pod('d', '  nodeName: node1\nstatus:\n  podIP: 10.244.0.2\n'),
    );
    expect(m.pods.map((p) => `${p.name} ${fmt(p.ip)}`)).toEqual([
      'a 10.244.0.4',
      'b 10.244.0.3',
      'c 10.244.0.5',
      'd 10.244.0.2',
    ]);
  });

  test('a pod with status.podIP but no nodeName runs on the node owning that address', () => {
    const m = model(pod('a', 'status:\n  podIP: 10.244.1.9\n'));
    expect(userPods(m)[0]?.nodeName).toBe('node2');
    expect(fmt(userPods(m)[0]?.ip ?? 0)).toBe('10.244.1.9');
  });

  test('hostNetwork pods take the node IP and consume no pod address', () => {
    const m = model(pod('agent', '  nodeName: node2\n  hostNetwork: true\n') + pod('a', '  nodeName: node2\n'));
    expect(userPods(m).map((p) => `${p.name} ${fmt(p.ip)} ${p.hostNetwork}`)).toEqual([
      'agent 172.18.0.3 true',
      'a 10.244.1.2 false',
    ]);
  });

  test('unschedulable nodes and untolerated NoSchedule taints are avoided; tolerations allow them', () => {
    const cluster = CLUSTER(`nodes:
  - { name: cp, taints: [{ key: role, value: cp, effect: NoSchedule }] }
  - { name: cordoned, schedulable: false }
  - { name: worker }`);
    const tolerant = `  tolerations: [{ key: role, operator: Exists, effect: NoSchedule }]\n`;
    const m = model(cluster + pod('a') + pod('b') + pod('c', tolerant) + pod('d', '  nodeName: cordoned\n'));
    expect(userPods(m).map((p) => `${p.name}@${p.nodeName}`)).toEqual(['a@worker', 'b@worker', 'c@cp', 'd@cordoned']);
  });

  test('PreferNoSchedule nodes are used only when nothing else fits', () => {
    const m = model(
      CLUSTER('nodes:\n  - { name: soft, taints: [{ key: k, effect: PreferNoSchedule }] }\n  - { name: plain }') +
        pod('a') +
        pod('b'),
    );
    expect(userPods(m).map((p) => p.nodeName)).toEqual(['plain', 'plain']);
  });

  test('a pod no node accepts is an error naming why each node refuses', () => {
    const errs = errors(CLUSTER('nodes:\n  - { name: only, schedulable: false }') + pod('a'));
    expect(errs.join('\n')).toContain('no node can run this pod: only is not schedulable');
  });

  test('pod fields: labels, hostname, subdomain, readiness, owner and ports', () => {
    const m = model(`apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: shop
  labels: { app: web, tier: "1" }
  ownerReferences:
    - { apiVersion: apps/v1, kind: StatefulSet, name: web, controller: true }
spec:
  hostname: web-zero
  subdomain: web
  containers:
    - name: web
      image: nginx
      ports: [{ name: http, containerPort: 80 }, { containerPort: 5353, protocol: UDP }]
    - name: sidecar
status:
  conditions:
    - { type: PodScheduled, status: "True" }
    - { type: Ready, status: "False" }
`);
    const p = userPods(m)[0];
    expect(p).toMatchObject({
      namespace: 'shop',
      name: 'web-0',
      labels: { app: 'web', tier: '1' },
      hostname: 'web-zero',
      subdomain: 'web',
      ready: false,
      ownerRef: 'StatefulSet/web',
      hostNetwork: false,
    });
    expect(p?.containers).toEqual([
      {
        name: 'web',
        ports: [
          { name: 'http', containerPort: 80, protocol: 'TCP' },
          { name: undefined, containerPort: 5353, protocol: 'UDP' },
        ],
      },
      { name: 'sidecar', ports: [] },
    ]);
    expect(p?.source).toEqual({ file: 'test.yaml', line: 1, col: 1 });
  });

  test('pods are ready when no Ready condition is given; hostname defaults to the pod name', () => {
    const p = userPods(model(pod('a')))[0];
    expect(p?.ready).toBe(true);
    expect(p?.hostname).toBe('a');
    expect(p?.subdomain).toBeUndefined();
    expect(p?.ownerRef).toBeUndefined();
  });
});

describe('documents, namespaces and kinds', () => {
  test('undeclared namespaces are created with one notice each; default and kube-system are silent', () => {
    const r = load(pod('a', '', 'shop') + pod('b', '', 'shop') + pod('c', '', 'kube-system') + pod('d', '', 'default'));
    expect(r.model).toBeDefined();
    const notices = r.diagnostics.map(formatDiagnostic);
    expect(notices).toEqual([
      'test.yaml:6:14: notice: namespace "shop" created (referenced by Pod shop/a, not declared)',
    ]);
  });

  test('a declared Namespace, even after its pods, produces no notice', () => {
    const r = load(`${pod('a', '', 'shop')}---\napiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n`);
    expect(r.diagnostics).toEqual([]);
  });

  test('other kinds are reported once each as ignored; workloads and Nodes are modelled, nothing is deferred', () => {
    const r = load(`apiVersion: v1
kind: ConfigMap
metadata: { name: cfg, namespace: shop }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: admin }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  replicas: 3
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web }] }
---
apiVersion: v1
kind: Node
metadata: { name: node1 }
`);
    expect(r.model).toBeDefined();
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      'test.yaml:1:1: notice: ignored: ConfigMap shop/cfg (not part of the data path)',
      'test.yaml:5:1: notice: ignored: ClusterRole admin (not part of the data path)',
    ]);
    expect(r.deferred).toEqual([]);
    expect(userPods(r.model!).map((p) => p.ownerRef)).toEqual([
      expect.stringMatching(/^ReplicaSet\/web-[456789bcdf]{10}$/),
      expect.anything(),
      expect.anything(),
    ]);
    expect(r.model!.nodes.map((n) => n.name)).toEqual(['node1']);
  });

  test('kind: List items are loaded like documents, and typed lists may omit the item kind', () => {
    const m = model(`apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: { name: a }
    spec: { containers: [{ name: c }] }
---
apiVersion: v1
kind: PodList
items:
  - metadata: { name: b }
    spec: { containers: [{ name: c }] }
`);
    expect(userPods(m).map((p) => p.name)).toEqual(['a', 'b']);
  });

  test('empty documents, comments and unknown fields are ignored', () => {
    const m = model(`# just a comment
---
---
apiVersion: v1
kind: Pod
metadata: { name: a, generateName: x-, uid: 1234 }
spec:
  containers: [{ name: c, image: nginx, resources: { limits: { cpu: 1 } } }]
  dnsPolicy: ClusterFirst
status:
  phase: Running
`);
    expect(userPods(m)).toHaveLength(1);
  });

  test('an empty input loads the default cluster with only the addon pods and no scenario', () => {
    const m = model('');
    expect(m.nodes).toHaveLength(2);
    expect(userPods(m)).toEqual([]);
    expect(
      m.pods.map((p) => `${p.namespace}/${p.ownerRef !== undefined ? p.name.replace(/-[a-z0-9]{5}$/, '') : p.name}`),
    ).toEqual([
      'kube-system/kube-apiserver-node1',
      expect.stringMatching(/^kube-system\/coredns-[456789bcdf]{10}$/),
      expect.stringMatching(/^kube-system\/coredns-[456789bcdf]{10}$/),
      'kube-system/kube-proxy',
      'kube-system/kube-proxy',
      'kube-flannel/kube-flannel-ds',
      'kube-flannel/kube-flannel-ds',
    ]);
    expect(m.scenario).toBeUndefined();
    expect(model('apiVersion: podnet.dev/v1alpha1\nkind: Cluster\nspec: { addons: none }\n').pods).toEqual([]);
  });

  test('YAML anchors and merge keys resolve', () => {
    const m = model(`apiVersion: v1
kind: Pod
metadata: { name: a, labels: &labels { app: web } }
spec: &spec
  containers: [{ name: c, ports: [{ containerPort: 80 }] }]
---
apiVersion: v1
kind: Pod
metadata:
  name: b
  labels:
    <<: { app: web, tier: x }
    tier: y
spec:
  nodeName: node2
  containers: [{ name: c }]
`);
    expect(userPods(m).map((p) => p.labels)).toEqual([{ app: 'web' }, { app: 'web', tier: 'y' }]);
  });

  test('every error in a file is reported in one pass, in position order', () => {
    const errs = errors(`apiVersion: podnet.dev/v1alpha1
kind: Cluster
spec:
  clusterCIDR: 10.244.1.0/16
  cni: { vni: 0, port: 70000, backend: geneve }
  nodes:
    - { name: Node_1 }
    - { ip: 1.2.3.4 }
`);
    expect(errs).toHaveLength(6);
    expect(errs.map((e) => e.split(':').slice(1, 3).join(':'))).toEqual([
      '4:16',
      '5:15',
      '5:24',
      '5:40',
      '7:15',
      '8:13',
    ]);
  });

  test('formatDiagnostic prints file:line:col, severity, object, path and message', () => {
    expect(
      formatDiagnostic({
        severity: 'error',
        file: 'a.yaml',
        line: 3,
        col: 7,
        object: 'Pod default/web',
        path: 'spec.containers[0].ports[1].containerPort',
        message: 'expected an integer 1–65535, got "http"',
      }),
    ).toBe(
      'a.yaml:3:7: error: Pod default/web: spec.containers[0].ports[1].containerPort: expected an integer 1–65535, got "http"',
    );
    expect(
      formatDiagnostic({
        severity: 'error',
        file: 'x',
        line: 0,
        col: 0,
        object: undefined,
        path: undefined,
        message: 'cannot read',
      }),
    ).toBe('x: error: cannot read');
  });

  test('a kind differing only in case from a supported one is an error, not an ignored object', () => {
    expect(errors('apiVersion: v1\nkind: pod\nmetadata: { name: a }\n')).toEqual([
      'test.yaml:2:7: error: kind: unknown kind "pod"; kinds are case-sensitive: did you mean Pod?',
    ]);
  });

  test('workloads also create the namespaces they reference', () => {
    const r = load(
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web, namespace: shop }\nspec:\n  selector: { matchLabels: { a: b } }\n  template: { metadata: { labels: { a: b } }, spec: { containers: [{ name: c }] } }\n',
    );
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      'test.yaml:3:35: notice: namespace "shop" created (referenced by Deployment shop/web, not declared)',
    ]);
    expect(userPods(r.model!).map((p) => p.namespace)).toEqual(['shop']);
  });
});

describe('follow-on errors', () => {
  test('references to an object in a document with a YAML syntax error are not reported again', () => {
    const errs = errors(`apiVersion: v1
kind: Pod
metadata: { name: web }
spec:
  containers: [{ name: c
---
apiVersion: podnet.dev/v1alpha1
kind: Scenario
spec:
  probes:
    - { from: web, to: pod/web }
    - { from: other, to: pod/web }
`);
    expect(errs.filter((e) => !e.includes('YAML:'))).toEqual([
      'test.yaml:12:15: error: Scenario (unnamed): spec.probes[1].from: source Pod default/other does not exist',
    ]);
    expect(errs.some((e) => e.startsWith('test.yaml:6:1: error: YAML:'))).toBe(true);
  });

  test('fields under a value of the wrong type are not reported as missing', () => {
    expect(errors('apiVersion: v1\nkind: Pod\nmetadata: web\nspec: { containers: [{ name: c }] }\n')).toEqual([
      'test.yaml:3:11: error: Pod default/(unnamed): metadata: expected a mapping, got "web"',
    ]);
  });
});

describe('determinism', () => {
  test('loading the same text twice gives identical results', () => {
    const text =
      CLUSTER('nodes: 3') + pod('a') + pod('b', '', 'x') + pod('c') + pod('d', 'status:\n  podIP: 10.244.2.7\n');
    expect(load(text)).toEqual(load(text));
  });

  test('the loader sources use neither Math.random nor Date.now', () => {
    const dir = fileURLToPath(new URL('../../src/kube/load/', import.meta.url));
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files)
      expect(readFileSync(join(dir, f), 'utf8'), f).not.toMatch(/Math\.random|Date\.now|new Date\(/);
  });
});
