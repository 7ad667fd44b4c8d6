/** The built-in default topology, the example files, path loading and the throwing convenience. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { DEFAULT_TOPOLOGY_NAME, DEFAULT_TOPOLOGY_YAML } from '../../src/kube/default-topology.js';
import {
  formatDiagnostic,
  loadDefaultTopology,
  loadTopologyOrThrow,
  loadTopologyPath,
  TopologyError,
  type LoadResult,
} from '../../src/kube/load/index.js';
import { formatCidr, type ClusterModel } from '../../src/kube/model.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOPOLOGIES = join(ROOT, 'topologies');

function fmt(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function ok(r: LoadResult): ClusterModel {
  if (r.model === undefined) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.model;
}

/** Every IPv4 address or prefix in a model, formatted. */
function allAddresses(m: ClusterModel): string[] {
  const out = [formatCidr(m.clusterCIDR), formatCidr(m.serviceCIDR), formatCidr(m.underlay.cidr)];
  for (const n of m.nodes) out.push(fmt(n.ip), formatCidr(n.podCIDR));
  for (const p of m.pods) out.push(fmt(p.ip));
  for (const h of m.externalHosts) {
    out.push(fmt(h.ip));
    for (const r of h.routes) out.push(formatCidr(r.dst), fmt(r.via));
  }
  return out;
}

/** The input's pods (without the kubeadm/flannel addon pods). */
function userPods(m: ClusterModel): ClusterModel['pods'] {
  return m.pods.filter((p) => p.origin !== 'addon');
}

describe('built-in default topology', () => {
  test('loads without diagnostics: node1/node2, client and web-0 on node1, web-1 on node2', () => {
    const r = loadDefaultTopology();
    expect(r.diagnostics).toEqual([]);
    const m = ok(r);
    expect(m.files).toEqual([]);
    expect(m.nodes.map((n) => `${n.name} ${fmt(n.ip)} ${formatCidr(n.podCIDR)}`)).toEqual([
      'node1 172.18.0.2 10.244.0.0/24',
      'node2 172.18.0.3 10.244.1.0/24',
    ]);
    // CoreDNS holds 10.244.0.2 and .3 on the control-plane node1, as on a kubeadm cluster
    expect(userPods(m).map((p) => `${p.name}@${p.nodeName} ${fmt(p.ip)}`)).toEqual([
      'client@node1 10.244.0.4',
      'web-0@node1 10.244.0.5',
      'web-1@node2 10.244.1.2',
    ]);
    expect(m.addons).toEqual({ kubernetesService: true, coreDNS: true, kubeProxy: true, flannel: true });
    const web = m.pods.find((p) => p.name === 'web-1');
    expect(web?.labels).toEqual({ app: 'web' });
    expect(web?.containers[0]?.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'echo', containerPort: 7777, protocol: 'UDP' },
    ]);
    expect(userPods(m)[0]?.source?.file).toBe(DEFAULT_TOPOLOGY_NAME);
  });

  test('has the kubeadm/flannel addons: CoreDNS on node1 at .2 and .3, kube-proxy and flannel on both nodes, kubernetes and kube-dns', () => {
    const m = ok(loadDefaultTopology());
    const addons = m.pods.filter((p) => p.origin === 'addon');
    expect(
      addons
        .filter((p) => !p.hostNetwork)
        .map((p) => `${p.namespace}/${p.labels['k8s-app']}@${p.nodeName} ${fmt(p.ip)}`),
    ).toEqual(['kube-system/kube-dns@node1 10.244.0.2', 'kube-system/kube-dns@node1 10.244.0.3']);
    expect(
      addons.filter((p) => p.hostNetwork).map((p) => `${p.ownerRef ?? p.name}@${p.nodeName} ${fmt(p.ip)}`),
    ).toEqual([
      'kube-apiserver-node1@node1 172.18.0.2',
      'DaemonSet/kube-proxy@node1 172.18.0.2',
      'DaemonSet/kube-proxy@node2 172.18.0.3',
      'DaemonSet/kube-flannel-ds@node1 172.18.0.2',
      'DaemonSet/kube-flannel-ds@node2 172.18.0.3',
    ]);
    expect(
      m.services.map((s) => `${s.namespace}/${s.name} ${s.clusterIPs.map(fmt).join(',')} ${s.origin ?? 'user'}`),
    ).toEqual(['default/kubernetes 10.96.0.1 addon', 'kube-system/kube-dns 10.96.0.10 addon']);
  });

  test('has the four probes: cross-node TCP (traced by a bare podnet trace), same-node ping, cross-node ping, UDP', () => {
    const probes = ok(loadDefaultTopology()).scenario?.probes ?? [];
    expect(probes.map((p) => [p.from, p.to, p.protocol, p.port, p.count, p.sourcePort])).toEqual([
      ['pod/default/client', 'pod/web-1:8080', 'tcp', 8080, 1, undefined],
      ['pod/default/client', 'pod/web-0', 'icmp', undefined, 3, undefined],
      ['pod/default/client', 'pod/web-1', 'icmp', undefined, 3, undefined],
      ['pod/default/client', 'pod/web-1:7777', 'udp', 7777, 1, 40001],
    ]);
  });

  test('starts with a comment header', () => {
    expect(DEFAULT_TOPOLOGY_YAML.startsWith('# ')).toBe(true);
  });

  test('topologies/pod-to-pod.yaml describes the same cluster as the built-in default', () => {
    const file = ok(loadTopologyPath(join(TOPOLOGIES, 'pod-to-pod.yaml')));
    const builtin = ok(loadDefaultTopology());
    const strip = (m: ClusterModel): unknown =>
      JSON.parse(
        JSON.stringify(
          { ...m, name: '', files: [], scenario: m.scenario?.probes.map((p) => ({ ...p, source: undefined })) },
          (k, v: unknown) => (k === 'source' ? undefined : v),
        ),
      );
    expect(strip(file)).toEqual(strip(builtin));
  });
});

describe('example topologies', () => {
  test.each(['pod-to-pod.yaml', 'k3s-style.yaml', 'mtu.yaml', 'services.yaml'])(
    '%s loads without errors and starts with a comment header',
    (name) => {
      const r = loadTopologyPath(join(TOPOLOGIES, name));
      expect(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
      expect(r.model?.files).toEqual([join(TOPOLOGIES, name)]);
      expect(r.model?.scenario?.probes.length).toBeGreaterThan(0);
    },
  );

  test('a k3s-style cluster uses its own CIDRs and nothing from the kubeadm/flannel defaults', () => {
    const m = ok(loadTopologyPath(join(TOPOLOGIES, 'k3s-style.yaml')));
    expect(formatCidr(m.clusterCIDR)).toBe('10.42.0.0/16');
    expect(formatCidr(m.serviceCIDR)).toBe('10.43.0.0/16');
    expect(m.cni.port).toBe(4789);
    expect(m.nodes.map((n) => `${n.name} ${fmt(n.ip)} ${formatCidr(n.podCIDR)}`)).toEqual([
      'server 192.168.122.11 10.42.0.0/24',
      'agent-1 192.168.122.12 10.42.1.0/24',
      'agent-2 192.168.122.13 10.42.2.0/24',
    ]);
    for (const p of m.pods.filter((x) => !x.hostNetwork)) expect(fmt(p.ip)).toMatch(/^10\.42\.\d+\.\d+$/);
    // k3s runs kube-proxy and flannel inside its own binary, not as pods; its server is untainted
    expect(m.addons).toMatchObject({ kubeProxy: false, flannel: false, coreDNS: true });
    expect(m.nodes[0]?.taints).toEqual([]);
    expect(m.services.find((s) => s.name === 'kube-dns')?.clusterIPs.map(fmt)).toEqual(['10.43.0.10']);
    for (const a of allAddresses(m)) {
      expect(a.startsWith('10.244.')).toBe(false);
      expect(a.startsWith('10.96.')).toBe(false);
      expect(a.startsWith('172.18.')).toBe(false);
    }
    const probes = m.scenario?.probes ?? [];
    expect(new Set(probes.map((p) => p.protocol))).toEqual(new Set(['icmp', 'tcp', 'udp']));
    expect(probes.find((p) => p.name === 'ping-node-to-pod')?.from).toBe('node/agent-2');
  });

  test('mtu.yaml has the DF sizes around the 1450-byte pod MTU and an external host routed via node1', () => {
    const m = ok(loadTopologyPath(join(TOPOLOGIES, 'mtu.yaml')));
    expect(m.cni.mtu).toBe(1450);
    const probes = m.scenario?.probes ?? [];
    expect(probes.map((p) => `${p.from} ${p.size} ${p.pmtudisc}`)).toEqual([
      'pod/default/client 1472 do',
      'pod/default/client 1423 do',
      'pod/default/client 1422 do',
      'pod/default/client 1472 dont',
      'ext/ext 1472 do',
      'ext/ext 1422 do',
    ]);
    const ext = m.externalHosts[0];
    const node1 = m.nodes[0];
    const node2 = m.nodes[1];
    expect(ext?.mtu).toBe(1500);
    expect(ext?.routes).toEqual([{ dst: node2?.podCIDR, via: node1?.ip }]);
    const web = m.pods.find((p) => p.name === 'web-1');
    expect(web?.nodeName).toBe('node2');
  });
});

describe('loading paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-load-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a folder loads every *.yaml and *.yml recursively, in path order', () => {
    const root = join(dir, 'tree');
    mkdirSync(join(root, 'b-pods'), { recursive: true });
    mkdirSync(join(root, 'a-cluster'), { recursive: true });
    writeFileSync(
      join(root, 'a-cluster', 'cluster.yml'),
      'apiVersion: podnet.dev/v1alpha1\nkind: Cluster\nmetadata: { name: tree }\nspec: { nodes: 3 }\n',
    );
    writeFileSync(
      join(root, 'b-pods', 'z.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: { name: z }\nspec: { containers: [{ name: c }] }\n',
    );
    writeFileSync(
      join(root, 'b-pods', 'a.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: { name: a }\nspec: { containers: [{ name: c }] }\n',
    );
    writeFileSync(join(root, 'README.md'), 'not yaml: [');
    const m = ok(loadTopologyPath(root));
    expect(m.name).toBe('tree');
    expect(m.files).toEqual([
      join(root, 'a-cluster', 'cluster.yml'),
      join(root, 'b-pods', 'a.yaml'),
      join(root, 'b-pods', 'z.yaml'),
    ]);
    // node1 is the tainted control plane; a and z go to node2 and node3 (their order from the seed)
    expect(userPods(m).map((p) => p.name)).toEqual(['a', 'z']);
    expect(new Set(userPods(m).map((p) => p.nodeName))).toEqual(new Set(['node2', 'node3']));
  });

  test('errors in a folder name the file they are in', () => {
    const root = join(dir, 'bad');
    mkdirSync(root, { recursive: true });
    writeFileSync(
      join(root, 'pods.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: { name: a }\nspec: { nodeName: nope, containers: [{ name: c }] }\n',
    );
    const r = loadTopologyPath(root);
    expect(r.model).toBeUndefined();
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      `${join(root, 'pods.yaml')}:4:19: error: Pod default/a: spec.nodeName: node "nope" does not exist (nodes: node1, node2)`,
    ]);
  });

  test('a missing path is a diagnostic at line 0, not an exception', () => {
    const missing = join(dir, 'does-not-exist.yaml');
    const r = loadTopologyPath(missing);
    expect(r.model).toBeUndefined();
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([`${missing}: error: cannot read: no such file or directory`]);
  });

  test('a folder without YAML files is an error', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const r = loadTopologyPath(empty);
    expect(r.model).toBeUndefined();
    expect(r.diagnostics[0]?.message).toContain('no *.yaml, *.yml or *.json files');
  });

  test('loadTopologyOrThrow throws a TopologyError listing every error, and returns the default for undefined', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: Pod\nmetadata: { name: A }\nspec: { containers: 5 }\n');
    let caught: unknown;
    try {
      loadTopologyOrThrow(bad);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TopologyError);
    const err = caught as TopologyError;
    expect(err.diagnostics.filter((d) => d.severity === 'error')).toHaveLength(2);
    expect(err.message).toContain('2 errors in the topology');
    expect(err.message).toContain(
      `${bad}:4:21: error: Pod default/A: spec.containers: expected a list of containers, got 5`,
    );
    expect(userPods(loadTopologyOrThrow(undefined).model)).toHaveLength(3);
  });
});
