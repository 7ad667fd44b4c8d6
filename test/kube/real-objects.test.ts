/**
 * Objects a real cluster has (issue 14): ReplicationControllers make pods, nodes carry the labels
 * kubelet sets, an export's pod phases decide which pods have a network, and spec.hostAliases go
 * into the pod's /etc/hosts. Each from a fixture of this test's own.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { formatDiagnostic, loadTopologyPath, loadTopologyText } from '../../src/kube/load/index.js';
import { Simulation } from '../../src/api/simulation.js';
import type { PodModel } from '../../src/kube/model.js';
import { fmt } from './services-helpers.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('nodes carry the labels kubelet sets', () => {
  const r = loadTopologyPath(fixture('sock-shop-like.yaml'));

  test('a Deployment selecting beta.kubernetes.io/os=linux (sock-shop) loads and schedules', () => {
    expect(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
    const pods = r.model!.pods.filter((p) => p.namespace === 'sock-shop');
    expect(pods.map((p) => p.ownerRef?.replace(/-[456789bcdf]{10}$/, ''))).toEqual([
      'ReplicaSet/front-end',
      'ReplicaSet/front-end',
      'ReplicaSet/carts',
    ]);
    // the control plane is tainted: the three pods share the two workers
    expect(new Set(pods.map((p) => p.nodeName))).toEqual(new Set(['node2', 'node3']));
    const s = new Simulation(r.model!, { seed: 1 });
    expect(s.probe('node/node1', '172.18.0.3:30001', 'tcp').replies).toBe(1);
  });

  test("every node has kubelet's hostname, os and arch labels, GA and beta", () => {
    for (const n of r.model!.nodes) {
      expect(n.labels).toMatchObject({
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
      });
    }
  });

  test('labels the input gives win over the ones kubelet would set', () => {
    const m = loadTopologyText(
      `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: arm }
spec:
  nodes:
    - { name: pi, labels: { kubernetes.io/arch: arm64, beta.kubernetes.io/arch: arm64 } }
---
apiVersion: v1
kind: Node
metadata: { name: box, labels: { kubernetes.io/hostname: box.example.com } }
`,
      'arm.yaml',
    ).model!;
    expect(m.nodes.map((n) => [n.name, n.labels['kubernetes.io/arch'], n.labels['kubernetes.io/hostname']])).toEqual([
      ['pi', 'arm64', 'pi'],
      ['box', 'amd64', 'box.example.com'],
    ]);
    expect(m.nodes[0]!.labels['beta.kubernetes.io/arch']).toBe('arm64');
  });
});

describe('ReplicationController makes pods like a ReplicaSet', () => {
  const r = loadTopologyPath(fixture('guestbook-go-like.yaml'));
  const m = r.model!;
  const mine = (owner: string): string[] =>
    m.pods.filter((p) => p.ownerRef === `ReplicationController/${owner}`).map((p) => p.name);

  test('guestbook-go loads without a notice; each RC makes spec.replicas pods <rc>-<5 chars>', () => {
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(mine('redis-master')).toHaveLength(1);
    expect(mine('redis-replica')).toHaveLength(2);
    expect(mine('guestbook')).toHaveLength(3);
    for (const name of mine('guestbook')) expect(name).toMatch(/^guestbook-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    // the pods carry the template's labels (no pod-template-hash: an RC has none)
    expect(m.pods.find((p) => p.name === mine('guestbook')[0])?.labels).toEqual({ app: 'guestbook', tier: 'frontend' });
  });

  test('their Services get endpoints and a probe connects, by ClusterIP and by NodePort', () => {
    const eps = (svc: string): number =>
      m.endpointSlices.filter((s) => s.serviceName === svc).flatMap((s) => s.endpoints).length;
    expect([eps('redis-master'), eps('redis-replica'), eps('guestbook')]).toEqual([1, 2, 3]);
    const s = new Simulation(m, { seed: 1 });
    const front = mine('guestbook')[0]!;
    expect(s.probe(front, 'redis-master:6379', 'tcp').replies).toBe(1);
    expect(s.probe(front, 'redis-replica.default.svc.cluster.local:6379', 'tcp').replies).toBe(1);
    expect(s.probe('node/node1', '172.18.0.4:30300', 'tcp').replies).toBe(1);
  });

  test("an export's pods of an RC are counted (owned or adopted), not made again", () => {
    const rc = `apiVersion: v1
kind: ReplicationController
metadata: { name: web }
spec:
  replicas: 3
  selector: { app: web }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, ports: [{ containerPort: 80 }] }] }
`;
    const pod = (name: string, owner: string): string => `---
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: { app: web }
${owner}
spec: { containers: [{ name: web, ports: [{ containerPort: 80 }] }] }
`;
    const owned =
      '  ownerReferences: [{ apiVersion: v1, kind: ReplicationController, name: web, uid: u1, controller: true }]';
    const text = `apiVersion: podnet.dev/v1alpha1\nkind: Cluster\nmetadata: { name: t }\n---\n${rc}${pod('web-abcde', owned)}${pod('web-fghij', owned)}${pod('stray', '')}`;
    const got = loadTopologyText(text, 'rc-export.yaml').model!;
    expect(got.pods.filter((p) => p.labels['app'] === 'web').map((p) => p.name)).toEqual([
      'web-abcde',
      'web-fghij',
      'stray',
    ]);
  });

  test("the API server's checks: selector matches the template, a non-empty selector, restartPolicy Always", () => {
    const rc = (spec: string): string[] =>
      loadTopologyText(
        `apiVersion: v1\nkind: ReplicationController\nmetadata: { name: bad }\nspec:\n${spec}`,
        'bad.yaml',
      )
        .diagnostics.filter((d) => d.severity === 'error')
        .map(formatDiagnostic);
    expect(
      rc(`  selector: { app: x }
  template:
    metadata: { labels: { app: y } }
    spec: { containers: [{ name: c }] }
`),
    ).toEqual([
      "bad.yaml:7:25: error: ReplicationController default/bad: spec.template.metadata.labels: selector app=x does not match the template's labels (app=y): spec.template.metadata.labels must carry every selector label",
    ]);
    expect(
      rc(`  template:
    spec: { containers: [{ name: c }] }
`),
    ).toEqual([
      expect.stringContaining('spec.selector: missing required field, expected a label map selecting the pods'),
    ]);
    expect(
      rc(`  template:
    metadata: { labels: { app: y } }
    spec: { restartPolicy: Never, containers: [{ name: c }] }
`),
    ).toEqual([
      expect.stringContaining(
        `spec.template.spec.restartPolicy: expected "Always" for a ReplicationController's pods, got "Never"`,
      ),
    ]);
  });
});

describe("an export's pod phases decide which pods have a network", () => {
  const file = fixture('pod-phases-export.yaml');
  const r = loadTopologyPath(file);
  const m = r.model!;
  const pod = (name: string): PodModel | undefined => m.pods.find((p) => p.name === name);

  test('loads; each Pending pod without an address gives one notice and nothing else does', () => {
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      `${file}:69:23: notice: Pod default/big: this pod stays Pending as the input has it (status.phase Pending, no node, no podIP): no network, no endpoint`,
      `${file}:77:23: notice: Pod default/creating: this pod stays Pending as the input has it (status.phase Pending, bound to node node2, no podIP yet): no network, no endpoint`,
    ]);
  });

  test('Pending without an address, Succeeded and Failed pods have no netns; the others do', () => {
    expect(m.pods.map((p) => p.name).filter((n) => !n.startsWith('api-'))).toEqual(['web-0', 'initing', 'handwritten']);
    const s = new Simulation(m, { seed: 1 });
    expect(() => s.probe('big', '10.244.1.7:80', 'tcp')).toThrow(/big/);
    expect(s.probe('handwritten', '10.96.0.80:80', 'tcp', { count: 4 }).replies).toBe(4);
  });

  test("a finished pod's podIP is no longer taken: the Failed Job pod's 10.244.1.7 is web-0's now", () => {
    expect(fmt(pod('web-0')!.ip)).toBe('10.244.1.7');
    // the hand-written pod (no status) is scheduled and addressed as ever
    expect(pod('handwritten')).toMatchObject({ ready: true });
    expect(fmt(pod('handwritten')!.ip)).toMatch(/^10\.244\.[12]\.[2-6]$/);
  });

  test('the Service has endpoints only for pods with a network; readiness still from status.conditions', () => {
    const eps = m.endpointSlices
      .filter((s) => s.serviceName === 'web')
      .flatMap((s) => s.endpoints)
      .map((e) => `${fmt(e.ip)} ${e.ready === false ? 'not-ready' : 'ready'}`)
      .sort();
    expect(eps).toEqual([`${fmt(pod('handwritten')!.ip)} ready`, '10.244.1.7 ready', '10.244.2.9 not-ready'].sort());
  });

  test('controllers: a Job whose pods finished makes none; an evicted pod does not count for its ReplicaSet', () => {
    expect(m.pods.filter((p) => p.ownerRef === 'Job/migrate')).toEqual([]);
    // the evicted pod no longer counts: the ReplicaSet makes the replacement, as its controller would
    const api = m.pods.filter((p) => p.ownerRef === 'ReplicaSet/api-5d9c8b7f6d').map((p) => p.name);
    expect(api).toHaveLength(2);
    expect(api).toContain('api-5d9c8b7f6d-w2x4z');
    expect(api.find((n) => n !== 'api-5d9c8b7f6d-w2x4z')).toMatch(/^api-5d9c8b7f6d-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });
});

describe("spec.hostAliases go into the pod's /etc/hosts, read before DNS", () => {
  // The kubernetes.io hostAliases tutorial's pod, its foo.remote pointed at an external host that listens.
  const TEXT = `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: aliases }
spec:
  nodes: 2
  externalHosts:
    - { name: remote, ip: 172.18.0.100, ports: [{ containerPort: 80 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: hostaliases-pod }
spec:
  restartPolicy: Never
  hostAliases:
    - ip: "127.0.0.1"
      hostnames: ["foo.local", "bar.local"]
    - ip: "172.18.0.100"
      hostnames: ["foo.remote", "bar.remote"]
  containers:
    - name: cat-hosts
      image: busybox:1.28
      command: [cat]
      args: ["/etc/hosts"]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent }
spec:
  selector: { matchLabels: { app: agent } }
  template:
    metadata: { labels: { app: agent } }
    spec:
      hostNetwork: true
      tolerations: [{ operator: Exists }]
      hostAliases: [{ ip: 172.18.0.100, hostnames: [collector] }]
      containers: [{ name: agent }]
`;
  const m = loadTopologyText(TEXT, 'aliases.yaml').model!;

  test('a probe to foo.remote connects to the alias address without a DNS query', () => {
    const s = new Simulation(m, { seed: 1 });
    const r = s.probe('hostaliases-pod', 'foo.remote:80', 'tcp');
    expect(r.replies).toBe(1);
    expect(r.dst).toBe('172.18.0.100');
    expect(r.attempts[0]!.resolved).toMatchObject({ source: 'hosts', addresses: ['172.18.0.100'], queries: [] });
    // names are matched without regard to case, as glibc's files backend does
    expect(s.probe('hostaliases-pod', 'BAR.Remote:80', 'tcp').replies).toBe(1);
    // a name no alias gives still goes to cluster DNS
    const other = s.probe('hostaliases-pod', 'baz.remote:80', 'tcp');
    expect(other.attempts[0]!.resolved?.source).toBe('dns');
    expect(other.attempts[0]!.resolved?.queries.length).toBeGreaterThan(0);
  });

  test("the file is kubelet's: localhost, the pod's own name, then the aliases; a hostNetwork pod's is its node's", () => {
    const s = new Simulation(m, { seed: 1 });
    const text = (pod: string): string[] =>
      (s.resolverSetup(pod, s.newFlow()).hosts ?? []).map((h) => `${fmt(h.address)} ${h.names.join(' ')}`);
    const pod = m.pods.find((p) => p.name === 'hostaliases-pod')!;
    expect(text('hostaliases-pod')).toEqual([
      '127.0.0.1 localhost',
      `${fmt(pod.ip)} hostaliases-pod`,
      '127.0.0.1 foo.local bar.local',
      '172.18.0.100 foo.remote bar.remote',
    ]);
    const agent = m.pods.find((p) => p.name.startsWith('agent-') && p.nodeName === 'node2')!;
    expect(text(agent.name)).toEqual(['127.0.0.1 localhost', '172.18.0.3 node2', '172.18.0.100 collector']);
    expect(s.probe(agent.name, 'collector:80', 'tcp').replies).toBe(1);
  });

  test('the API server checks each ip and hostname; an IPv6 alias is kept out with a notice', () => {
    const r = loadTopologyText(
      `apiVersion: v1
kind: Pod
metadata: { name: bad }
spec:
  hostAliases:
    - { ip: 10.1.2, hostnames: [foo.remote] }
    - { hostnames: [bar.remote] }
    - { ip: 10.1.2.4, hostnames: [Foo_Bar] }
    - { ip: "fe80::1", hostnames: [v6.remote] }
  containers: [{ name: c }]
`,
      'bad.yaml',
    );
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      'bad.yaml:6:13: error: Pod default/bad: spec.hostAliases[0].ip: expected an IP address like 10.1.2.3, got "10.1.2"',
      'bad.yaml:7:7: error: Pod default/bad: spec.hostAliases[1].ip: missing required field, expected an IP address like 10.1.2.3',
      expect.stringMatching(
        /^bad\.yaml:8:35: error: Pod default\/bad: spec\.hostAliases\[2\]\.hostnames\[0\]: expected a DNS-1123 subdomain .*"Foo_Bar"$/,
      ),
      'bad.yaml:9:13: notice: Pod default/bad: spec.hostAliases[3].ip: "fe80::1" is an IPv6 address; podnet emulates IPv4 only, so /etc/hosts is written without it',
    ]);
  });
});

test('a Scenario probe from or to a pod with no network is an error at load, naming the phase', () => {
  const text = `${readFileSync(fixture('pod-phases-export.yaml'), 'utf8')}---
apiVersion: podnet.dev/v1alpha1
kind: Scenario
metadata: { name: s }
spec:
  probes:
    - { from: big, to: "10.244.1.7:80" }
    - { from: web-0, to: "pod/migrate-x7k2p:80" }
    - { from: web-0, to: "pod/initing:80" }
`;
  const errors = loadTopologyText(text, 'phases.yaml')
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => d.message);
  expect(errors).toEqual([
    'source Pod default/big has no network (status.phase Pending, no node, no podIP): it can send and answer nothing',
    'destination Pod default/migrate-x7k2p has no network (status.phase Succeeded): it can send and answer nothing',
  ]);
});
