/**
 * Importing a real cluster's state: `kubectl get pods,svc,endpoints,nodes -A -o yaml` of a kubeadm +
 * flannel cluster (test/kube/fixtures/kubeadm-export.yaml) loads as that cluster: its nodes, pod
 * IPs, ClusterIPs, NodePorts and load-balancer IPs exactly, its own CoreDNS, kube-proxy, flannel
 * and kubernetes objects instead of podnet's addons, and the kube-proxy chains a real node has.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { formatDiagnostic, loadTopologyPath } from '../../src/kube/load/index.js';
import { formatCidr } from '../../src/kube/model.js';
import { buildClusterRules } from '../../src/kube/agents/node-rules.js';
import { svcChain } from '../../src/kube/agents/kube-proxy/hash.js';
import { formatIptablesSave } from '../../src/netfilter/iptables-save.js';
import { Simulation } from '../../src/api/simulation.js';
import { fmt } from './services-helpers.js';

const FILE = fileURLToPath(new URL('./fixtures/kubeadm-export.yaml', import.meta.url));

interface Item {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown>;
  status: Record<string, unknown>;
}
/** The export read independently of podnet, as the reference. */
const items = (parse(readFileSync(FILE, 'utf8')) as { items: Item[] }).items;
const of = (kind: string): Item[] => items.filter((i) => i.kind === kind);

describe('a kubeadm + flannel cluster exported with kubectl', () => {
  const r = loadTopologyPath(FILE);
  const m = r.model!;

  test('loads without errors; the notices say what was inferred', () => {
    expect(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      'namespace "kube-flannel" created (referenced by Pod kube-flannel/kube-flannel-ds-4zq7r, not declared)',
      // the static pod declares no port; its liveness probe shows where the apiserver listens
      "listens on a port no container declares: 6443/TCP (livenessProbe httpGet of container kube-apiserver); declare it as a containerPort, or state the pod's listeners in its podnet.dev/listen annotation",
      "underlay 192.168.56.0/24 derived from the Node addresses (192.168.56.10 is outside the default 172.18.0.0/24; set the Cluster's spec.underlay.cidr to choose it), gateway 192.168.56.1",
    ]);
  });

  test('the Node objects are the nodes: names, InternalIPs, podCIDRs, labels, taints; the underlay is derived from them', () => {
    expect(
      m.nodes.map(
        (n) =>
          `${n.name} ${fmt(n.ip)} ${formatCidr(n.podCIDR)} ${n.controlPlane === true ? 'cp' : 'worker'} [${n.taints.map((t) => `${t.key}:${t.effect}`).join(',')}]`,
      ),
    ).toEqual([
      'k8s-cp 192.168.56.10 10.244.0.0/24 cp [node-role.kubernetes.io/control-plane:NoSchedule]',
      'k8s-w1 192.168.56.11 10.244.1.0/24 worker []',
      'k8s-w2 192.168.56.12 10.244.2.0/24 worker []',
    ]);
    expect(m.nodes[1]?.labels).toMatchObject({
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': 'k8s-w1',
      'beta.kubernetes.io/os': 'linux',
    });
    expect(formatCidr(m.underlay.cidr)).toBe('192.168.56.0/24');
    expect(fmt(m.underlay.gateway ?? 0)).toBe('192.168.56.1');
  });

  test('every pod is where the export says, at the address it says (hostNetwork pods at their node IP)', () => {
    const want = of('Pod')
      .map(
        (p) =>
          `${p.metadata.namespace}/${p.metadata.name} ${p.spec['nodeName'] as string} ${p.status['podIP'] as string}`,
      )
      .sort();
    expect(m.pods.map((p) => `${p.namespace}/${p.name} ${p.nodeName} ${fmt(p.ip)}`).sort()).toEqual(want);
    expect(m.pods).toHaveLength(15);
    expect(m.pods.find((p) => p.name === 'web-7f8b9c6d54-vn5tw')).toMatchObject({
      ownerRef: 'ReplicaSet/web-7f8b9c6d54',
      ready: true,
      labels: { app: 'web', 'pod-template-hash': '7f8b9c6d54' },
    });
  });

  test('its own CoreDNS, kube-proxy, flannel, apiserver and kubernetes/kube-dns objects replace the addons', () => {
    expect(m.addons).toEqual({ kubernetesService: true, coreDNS: true, kubeProxy: true, flannel: true });
    expect(m.pods.filter((p) => p.origin === 'addon')).toEqual([]);
    expect(m.services.filter((s) => s.origin === 'addon')).toEqual([]);
    expect(m.endpointSlices.filter((s) => s.origin === 'addon')).toEqual([]);
  });

  test('ClusterIPs, NodePorts, health-check node ports and load-balancer IPs are the exported ones', () => {
    for (const s of of('Service')) {
      const key = `${s.metadata.namespace}/${s.metadata.name}`;
      const got = m.services.find((x) => `${x.namespace}/${x.name}` === key);
      expect(got, key).toBeDefined();
      const cip = s.spec['clusterIP'] as string | undefined;
      expect(got!.clusterIPs.map(fmt), key).toEqual(cip === undefined || cip === 'None' ? [] : [cip]);
      const ports = (s.spec['ports'] as Array<{ nodePort?: number }> | undefined) ?? [];
      expect(
        got!.ports.map((p) => p.nodePort),
        key,
      ).toEqual(ports.map((p) => p.nodePort));
      expect(got!.healthCheckNodePort, key).toBe(s.spec['healthCheckNodePort']);
      const ingress = ((s.status['loadBalancer'] as { ingress?: Array<{ ip: string }> }).ingress ?? []).map(
        (i) => i.ip,
      );
      expect(got!.loadBalancerIPs.map(fmt), key).toEqual(ingress);
    }
    expect(m.services.find((s) => s.name === 'legacy-db')).toMatchObject({
      type: 'ExternalName',
      externalName: 'db.corp.example.com',
      clusterIPs: [],
    });
  });

  test("the Endpoints become the endpoints kube-proxy uses, the apiserver's skip-mirror ones included", () => {
    const eps = (name: string): string[] =>
      m.endpointSlices
        .filter((s) => s.serviceName === name)
        .flatMap((s) =>
          s.endpoints.map((e) => `${fmt(e.ip)}:${s.ports.map((p) => `${p.port}/${p.protocol}`).join(',')}`),
        );
    expect(eps('kubernetes')).toEqual(['192.168.56.10:6443/TCP']);
    expect(eps('kube-dns')).toEqual(['10.244.0.2:53/TCP,53/UDP,9153/TCP', '10.244.0.3:53/TCP,53/UDP,9153/TCP']);
    expect(eps('web')).toEqual(['10.244.1.2:80/TCP', '10.244.1.4:80/TCP', '10.244.2.3:80/TCP']);
  });

  test('podnet rules names the KUBE-SVC chains a real node has (hashes of ns/name:port and protocol)', () => {
    const rules = buildClusterRules(m);
    for (const node of ['k8s-cp', 'k8s-w1', 'k8s-w2']) {
      const nat = formatIptablesSave(rules.rulesForNode(node), { tables: ['nat'] });
      // chain names seen in every kubeadm cluster's iptables-save
      for (const known of [
        'KUBE-SVC-NPX46M4PTMTKRN6Y',
        'KUBE-SVC-TCOU7JCQXEZGVUNU',
        'KUBE-SVC-ERIFXISQEP7F7OF4',
        'KUBE-SVC-JD5MR3NA4I4DYORP',
      ])
        expect(nat, `${node} ${known}`).toContain(`:${known} - [0:0]`);
      expect(nat).toContain(
        '-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m comment --comment "default/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y',
      );
      expect(nat).toContain(
        '-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU',
      );
      // every exported ClusterIP port jumps to the chain named after it
      for (const s of m.services) {
        for (const p of s.ports) {
          const ip = s.clusterIPs[0];
          if (ip === undefined) continue;
          const spn = `${s.namespace}/${s.name}${p.name !== undefined ? `:${p.name}` : ''}`;
          const proto = p.protocol.toLowerCase();
          expect(nat, spn).toContain(
            `-A KUBE-SERVICES -d ${fmt(ip)}/32 -p ${proto} -m comment --comment "${spn} cluster IP" -m ${proto} --dport ${p.port} -j ${svcChain(spn, proto)}`,
          );
        }
      }
      expect(nat).toContain(
        '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/web-nodeport:http" -m tcp --dport 31380 -j KUBE-EXT-IWCJJAMV7TQADP7P',
      );
      expect(nat).toContain(
        '-A KUBE-SERVICES -d 192.168.56.240/32 -p tcp -m comment --comment "default/web-lb:http loadbalancer IP" -m tcp --dport 80 -j KUBE-EXT-JR7PZPMGEHYLHTEW',
      );
      // ExternalName and headless Services have no rules
      expect(nat).not.toContain('legacy-db');
      expect(nat).not.toContain('web-headless');
    }
  });

  test('the imported cluster runs: a web pod reaches the web ClusterIP, answered by one of the exported pods', () => {
    const sim = new Simulation(m, { seed: 1 });
    const rep = sim.probe('web-7f8b9c6d54-2xk9p', '10.103.42.17:80', 'tcp', { count: 6 });
    expect(rep.replies).toBe(6);
    for (const a of rep.attempts) expect(a.answeredBy).toMatch(/^web-7f8b9c6d54-(2xk9p|8qzlm|vn5tw)$/);
  });

  test('nothing in an import depends on the seed', () => {
    const other = loadTopologyPath(FILE, 7).model!;
    expect(JSON.stringify({ ...other, seed: 1 })).toBe(JSON.stringify(m));
  });
});
