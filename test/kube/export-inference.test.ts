/**
 * Exports of real clusters load as those clusters without a Cluster document: the address plan
 * comes from what the export holds (k3s's 10.42/10.43), the nodes from pods' spec.nodeName when
 * `kubectl get all` left the Node objects out, a folder of `.json` Lists (kubectl cluster-info
 * dump) loads like a folder of YAML, and a CNI podnet does not emulate is named in one notice
 * instead of getting flannel pods added next to it.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { formatDiagnostic, loadTopologyPath, loadTopologyText } from '../../src/kube/load/index.js';
import type { LoadResult } from '../../src/kube/load/load.js';
import { formatCidr, type ClusterModel } from '../../src/kube/model.js';
import { Simulation } from '../../src/api/simulation.js';
import { fmt } from './services-helpers.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const K3S_YAML = fixture('k3s-export.yaml');
const K3S_JSON = fixture('k3s-export.json');
const KIND = fixture('kind-get-all.yaml');

const errors = (r: LoadResult): string[] => r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
const notices = (r: LoadResult): string[] => r.diagnostics.filter((d) => d.severity === 'notice').map((d) => d.message);
const plan = (m: ClusterModel): string =>
  `${formatCidr(m.clusterCIDR)} ${formatCidr(m.serviceCIDR)} /${m.nodeCIDRMaskSize} ${m.cni.backend}`;
const nodes = (m: ClusterModel): string[] =>
  m.nodes.map(
    (n) =>
      `${n.name} ${fmt(n.ip)} ${formatCidr(n.podCIDR)}${n.controlPlane ? ' cp' : ''}${n.taints.map((t) => ` ${t.key}:${t.effect}`).join('')}`,
  );
const pods = (m: ClusterModel): string[] => m.pods.map((p) => `${p.namespace}/${p.name} ${p.nodeName} ${fmt(p.ip)}`);

describe('a k3s export (10.42/10.43) without a Cluster document', () => {
  const r = loadTopologyPath(K3S_YAML);
  const m = r.model!;

  test('loads: clusterCIDR from the podCIDRs and pod IPs, serviceCIDR anchored at kubernetes 10.43.0.1, each with one notice', () => {
    expect(errors(r)).toEqual([]);
    expect(plan(m)).toBe('10.42.0.0/16 10.43.0.0/16 /24 vxlan');
    expect(notices(r)).toEqual([
      "clusterCIDR 10.42.0.0/16 inferred from the 2 Node podCIDRs and 6 pod IPs of the input (their smallest common prefix 10.42.0.0/23 widened to /16, the size kubeadm, kind and k3s give --cluster-cidr); set the Cluster's spec.clusterCIDR to choose it",
      "underlay 192.168.122.0/24 derived from the Node addresses (192.168.122.11 is outside the default 172.18.0.0/24; set the Cluster's spec.underlay.cidr to choose it), gateway 192.168.122.1",
      "serviceCIDR 10.43.0.0/16 inferred from the 4 ClusterIPs of the input (Service default/kubernetes holds 10.43.0.1, the first address kube-apiserver gives out of --service-cluster-ip-range, so the range starts at 10.43.0.0; /16 is the widest prefix starting there (kube-apiserver accepts at most /12) that holds every ClusterIP and no pod or node address); set the Cluster's spec.serviceCIDR to choose it",
    ]);
    expect(nodes(m)).toEqual(['k3s-server 192.168.122.11 10.42.0.0/24 cp', 'k3s-agent 192.168.122.12 10.42.1.0/24']);
  });

  test('flannel and kube-proxy run inside k3s (only its Node annotations show them): no flannel or kube-proxy pods are added', () => {
    expect(m.pods.filter((p) => p.namespace === 'kube-flannel' || p.name.startsWith('kube-flannel'))).toEqual([]);
    expect(m.pods.filter((p) => p.name.startsWith('kube-proxy'))).toEqual([]);
  });

  test('the imported cluster runs: toolbox reaches web by its ClusterIP 10.43.120.7, answered by an exported web pod', () => {
    const sim = new Simulation(m, { seed: 1 });
    const rep = sim.probe('toolbox', '10.43.120.7:80', 'tcp', { count: 4 });
    expect(rep.replies).toBe(4);
    for (const a of rep.attempts) expect(a.answeredBy).toMatch(/^web-5d78c9b8f6-(kq4tn|p9zlw)$/);
  });

  test('the same export as JSON loads the same cluster with the same notices', () => {
    const j = loadTopologyPath(K3S_JSON);
    expect(errors(j)).toEqual([]);
    expect(notices(j)).toEqual(notices(r));
    expect(plan(j.model!)).toBe(plan(m));
    expect(nodes(j.model!)).toEqual(nodes(m));
    expect(pods(j.model!)).toEqual(pods(m));
  });

  const text = readFileSync(K3S_YAML, 'utf8');
  test('a Cluster document given explicitly still wins, and its inconsistency is an error as before', () => {
    const given = loadTopologyText(
      `${text}\n---\napiVersion: podnet.dev/v1alpha1\nkind: Cluster\nmetadata: { name: k3s }\nspec:\n  clusterCIDR: 10.244.0.0/16\n`,
      'k3s.yaml',
    );
    expect(given.model).toBeUndefined();
    expect(errors(given)).toContain(
      'k3s.yaml:40:14: error: Node k3s-server: spec.podCIDR: 10.42.0.0/24 is outside clusterCIDR 10.244.0.0/16',
    );
    expect(notices(given).some((n) => n.startsWith('clusterCIDR'))).toBe(false);
  });

  test('a Cluster document that leaves the address plan out (only spec.cni) still gets it from the export', () => {
    const partial = loadTopologyText(
      `${text}\n---\napiVersion: podnet.dev/v1alpha1\nkind: Cluster\nmetadata: { name: k3s }\nspec:\n  cni: { backend: host-gw }\n`,
      'k3s.yaml',
    );
    expect(errors(partial)).toEqual([]);
    expect(plan(partial.model!)).toBe('10.42.0.0/16 10.43.0.0/16 /24 host-gw');
  });
});

describe('the service CIDR rule', () => {
  const svc = (ns: string, name: string, ip: string): string =>
    `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: ${ns} }\nspec: { clusterIP: ${ip}, ports: [{ port: 80 }] }\n`;
  const node = `apiVersion: v1\nkind: Node\nmetadata: { name: n1 }\nspec: { podCIDR: 10.42.0.0/24 }\nstatus: { addresses: [{ type: InternalIP, address: 172.18.0.2 }] }\n`;
  test("kubeadm's 10.96.0.1 keeps the default 10.96.0.0/12 (no notice); an EKS-style 10.100.0.1 starts the range at 10.100.0.0", () => {
    const kubeadm = loadTopologyText([node, svc('default', 'kubernetes', '10.96.0.1')].join('---\n'), 'a.yaml');
    expect(formatCidr(kubeadm.model!.serviceCIDR)).toBe('10.96.0.0/12');
    expect(notices(kubeadm).filter((n) => n.startsWith('serviceCIDR'))).toEqual([]);
    const eks = loadTopologyText(
      [node, svc('default', 'kubernetes', '10.100.0.1'), svc('default', 'web', '10.100.37.4')].join('---\n'),
      'b.yaml',
    );
    expect(errors(eks)).toEqual([]);
    // 10.100.0.0 is aligned to /14: the widest prefix starting there
    expect(formatCidr(eks.model!.serviceCIDR)).toBe('10.100.0.0/14');
  });

  test('without default/kubernetes: the ClusterIPs’ smallest common prefix, widened to /16', () => {
    const r = loadTopologyText(
      [node, svc('default', 'web', '10.43.9.9'), svc('default', 'db', '10.43.200.3')].join('---\n'),
      'c.yaml',
    );
    expect(errors(r)).toEqual([]);
    expect(formatCidr(r.model!.serviceCIDR)).toBe('10.43.0.0/16');
  });

  test('a hand-written topology (no Node objects, no pod kubelet reported on) keeps the defaults: an address off them is an error', () => {
    const r = loadTopologyText(svc('default', 'web', '10.43.9.9'), 'd.yaml');
    expect(errors(r)).toEqual([
      "d.yaml:4:20: error: Service default/web: spec.clusterIP: 10.43.9.9 is outside the Cluster's serviceCIDR 10.96.0.0/12",
    ]);
  });
});

describe('`kubectl get all -A -o yaml` of a kind cluster: no Node objects, kindnet', () => {
  const r = loadTopologyPath(KIND);
  const m = r.model!;

  test("loads: the nodes pods' spec.nodeName names, addressed from hostNetwork pods and status.hostIP, podCIDRs from pod IPs", () => {
    expect(errors(r)).toEqual([]);
    expect(nodes(m)).toEqual([
      'kind-control-plane 172.18.0.3 10.244.0.0/24 cp node-role.kubernetes.io/control-plane:NoSchedule',
      'kind-worker 172.18.0.2 10.244.2.0/24',
      'kind-worker2 172.18.0.4 10.244.1.0/24',
    ]);
    expect(m.pods.find((p) => p.name === 'web-6d4cf56db6-2hlwx')).toMatchObject({ nodeName: 'kind-worker' });
    expect(fmt(m.pods.find((p) => p.name === 'web-6d4cf56db6-2hlwx')!.ip)).toBe('10.244.2.2');
  });

  test('each notice once: the inferred nodes, the service range from the apiserver flag, the kindnet CNI', () => {
    const all = notices(r);
    expect(all).toHaveLength(4);
    expect(all[0]).toBe(
      "the input has no Node objects: 3 nodes inferred from the pods' spec.nodeName, addresses from hostNetwork pods' podIP or any pod's status.hostIP, podCIDRs from the pods' IPs: kind-control-plane (172.18.0.3, 10.244.0.0/24, control plane), kind-worker (172.18.0.2, 10.244.2.0/24), kind-worker2 (172.18.0.4, 10.244.1.0/24)",
    );
    expect(all[1]).toBe(
      "serviceCIDR 10.96.0.0/16 read from kube-apiserver's --service-cluster-ip-range of this pod; set the Cluster's spec.serviceCIDR to choose it",
    );
    expect(all[2]).toMatch(/^namespace "local-path-storage" created/);
    expect(all[3]).toBe(
      "the input ran the kindnet CNI (seen by its DaemonSet), which podnet does not emulate: it runs flannel's host-gw data path (each node's podCIDR routed via its node address, no encapsulation, as kindnet routes it) and adds no flannel pods; set the Cluster's spec.cni.backend to choose the other",
    );
    expect(plan(m)).toBe('10.244.0.0/16 10.96.0.0/16 /24 host-gw');
    expect(m.cni.mtu).toBe(1500);
  });

  test('no flannel pods next to kindnet', () => {
    expect(m.pods.filter((p) => p.namespace === 'kube-flannel')).toEqual([]);
    expect(m.pods.filter((p) => p.name.startsWith('kindnet-'))).toHaveLength(3);
  });

  test('the cluster runs: client on kind-worker2 reaches web across nodes by its ClusterIP', () => {
    const sim = new Simulation(m, { seed: 1 });
    const rep = sim.probe('client', '10.96.142.77:80', 'tcp', { count: 6 });
    expect(rep.replies).toBe(6);
    expect(new Set(rep.attempts.map((a) => a.answeredBy))).toEqual(
      new Set(['web-6d4cf56db6-2hlwx', 'web-6d4cf56db6-z9kqp']),
    );
  });

  test('calico instead of kindnet: named in one notice, the vxlan data path, no flannel pods', () => {
    const calico = readFileSync(KIND, 'utf8')
      .replaceAll('docker.io/kindest/kindnetd', 'docker.io/calico/node')
      .replaceAll('kindnet', 'calico-node');
    const c = loadTopologyText(calico, 'calico.yaml');
    expect(errors(c)).toEqual([]);
    const cni = notices(c).filter((n) => n.includes('CNI'));
    expect(cni).toEqual([
      "the input ran the calico CNI (seen by its DaemonSet), which podnet does not emulate: it runs flannel's vxlan data path (pod traffic between nodes in VXLAN) and adds no flannel pods; set the Cluster's spec.cni.backend to choose the other",
    ]);
    expect(c.model!.cni.backend).toBe('vxlan');
    expect(c.model!.pods.filter((p) => p.namespace === 'kube-flannel')).toEqual([]);
  });

  test('Node objects given and a pod naming another node: still an error (the export says what its nodes are)', () => {
    const withNode = `${readFileSync(KIND, 'utf8')}\n---\napiVersion: v1\nkind: Node\nmetadata: { name: kind-control-plane }\nstatus: { addresses: [{ type: InternalIP, address: 172.18.0.3 }] }\n`;
    const e = errors(loadTopologyText(withNode, 'kind.yaml'));
    expect(
      e.some((x) => x.includes('spec.nodeName: node "kind-worker" does not exist (nodes: kind-control-plane)')),
    ).toBe(true);
  });
});

describe('a folder of .json Lists, as kubectl cluster-info dump writes it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-dump-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const items = (JSON.parse(readFileSync(K3S_JSON, 'utf8')) as { items: Array<Record<string, unknown>> }).items;
  const meta = (i: Record<string, unknown>): { name: string; namespace?: string } =>
    i['metadata'] as { name: string; namespace?: string };
  const write = (path: string, list: Array<Record<string, unknown>>, kind: string): void => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), JSON.stringify({ kind, apiVersion: 'v1', metadata: {}, items: list }, null, 4));
  };
  write(
    'nodes.json',
    items.filter((i) => i['kind'] === 'Node'),
    'NodeList',
  );
  for (const ns of ['default', 'kube-system']) {
    const of = (kind: string): Array<Record<string, unknown>> =>
      items.filter((i) => i['kind'] === kind && meta(i).namespace === ns);
    write(`${ns}/pods.json`, of('Pod'), 'PodList');
    write(`${ns}/services.json`, of('Service'), 'ServiceList');
    write(`${ns}/deployments.json`, [], 'DeploymentList');
    write(`${ns}/replication-controllers.json`, [], 'ReplicationControllerList');
    for (const p of of('Pod')) {
      mkdirSync(join(dir, ns, meta(p).name), { recursive: true });
      writeFileSync(
        join(dir, ns, meta(p).name, 'logs.txt'),
        `==== START logs for container x of pod ${ns}/${meta(p).name} ====\n`,
      );
    }
  }
  write(
    'default/events.json',
    [{ apiVersion: 'v1', kind: 'Event', metadata: { name: 'web.17d5', namespace: 'default' }, reason: 'Scheduled' }],
    'EventList',
  );

  test('loads the same cluster as the single export file; logs.txt files are not read', () => {
    const r = loadTopologyPath(dir);
    const single = loadTopologyPath(K3S_YAML);
    expect(errors(r)).toEqual([]);
    expect(plan(r.model!)).toBe(plan(single.model!));
    expect(nodes(r.model!)).toEqual(nodes(single.model!));
    expect(pods(r.model!).sort()).toEqual(pods(single.model!).sort());
    expect(r.model!.files.every((f) => f.endsWith('.json'))).toBe(true);
    expect(r.model!.files).toContain(join(dir, 'kube-system', 'pods.json'));
    expect(notices(r)).toContain('ignored: Event default/web.17d5 (not part of the data path)');
  });
});

describe("an export's NodePorts outside the default range", () => {
  const kind = readFileSync(KIND, 'utf8');
  // The web Service of the kind export as a NodePort Service with the given nodePort.
  const withNodePort = (text: string, nodePort: number): string =>
    text.replace(
      '    - port: 80\n      protocol: TCP\n      targetPort: 80\n    selector:\n      app: web\n    sessionAffinity: None\n    type: ClusterIP',
      `    - port: 80\n      protocol: TCP\n      targetPort: 80\n      nodePort: ${nodePort}\n    selector:\n      app: web\n    sessionAffinity: None\n    type: NodePort`,
    );

  test("kube-apiserver's --service-node-port-range in its exported static pod is the range, with one notice", () => {
    const text = withNodePort(
      kind.replace(
        '      - --secure-port=6443\n',
        '      - --secure-port=6443\n      - --service-node-port-range=20000-22767\n',
      ),
      20080,
    );
    expect(text).toContain('nodePort: 20080');
    const r = loadTopologyText(text, 'kind.yaml');
    expect(errors(r)).toEqual([]);
    expect(r.model!.nodePortRange).toEqual({ min: 20000, max: 22767 });
    expect(notices(r).filter((n) => n.includes('nodePortRange'))).toEqual([
      "nodePortRange 20000-22767 read from kube-apiserver's --service-node-port-range of this pod; set the Cluster's spec.nodePortRange to choose it",
    ]);
    // The NodePort answers on a node address.
    const sim = new Simulation(r.model!, { seed: 1 });
    const node = r.model!.nodes[1]!;
    expect(sim.probe('client', `${fmt(node.ip)}:20080`, 'tcp').replies).toBe(1);
  });

  test('without the flag, the default range widens to hold the nodePorts kube-apiserver accepted; a hand-written topology still refuses them', () => {
    const r = loadTopologyText(withNodePort(kind, 8080), 'kind.yaml');
    expect(errors(r)).toEqual([]);
    expect(r.model!.nodePortRange).toEqual({ min: 8080, max: 32767 });
    expect(notices(r).filter((n) => n.includes('nodePortRange'))).toEqual([
      "nodePortRange 8080-32767 inferred: the input's nodePorts lie outside the default 30000-32767 (kube-apiserver's --service-node-port-range held them); set the Cluster's spec.nodePortRange to choose it",
    ]);
    const handWritten = loadTopologyText(
      'apiVersion: v1\nkind: Service\nmetadata: { name: s }\nspec: { type: NodePort, selector: { a: b }, ports: [{ port: 80, nodePort: 8080 }] }\n',
      'h.yaml',
    );
    expect(errors(handWritten).join('\n')).toMatch(/nodePort.*8080/);
  });
});
