/**
 * The loader accepts what the API server accepts (issue 14, "Validation exactly as lenient as the
 * API server"), and the cluster then behaves as kube-proxy makes it behave. Fixture:
 * fixtures/lenient-export.yaml, each part of which the loader refused before.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { Simulation } from '../../src/api/simulation.js';
import { buildClusterRules } from '../../src/kube/agents/node-rules.js';
import { formatDiagnostic, loadTopologyPath, type LoadResult } from '../../src/kube/load/index.js';
import { formatCidr, type ClusterModel } from '../../src/kube/model.js';
import { formatIptablesSave } from '../../src/netfilter/iptables-save.js';
import { errors, fmt, model, notices, svc } from './services-helpers.js';

const FILE = fileURLToPath(new URL('./fixtures/lenient-export.yaml', import.meta.url));
const result: LoadResult = loadTopologyPath(FILE, 1);
const shown = result.diagnostics.map(formatDiagnostic);
const noticesOf = (re: RegExp): string[] => shown.filter((d) => d.includes(': notice: ') && re.test(d));

function loaded(): ClusterModel {
  if (result.model === undefined) throw new Error(shown.join('\n'));
  return result.model;
}

describe('an export with what the API server accepts loads', () => {
  test('no errors', () => {
    expect(shown.filter((d) => d.includes(': error: '))).toEqual([]);
    expect(result.model).toBeDefined();
  });
});

describe('loadBalancerSourceRanges', () => {
  test('entries padded with spaces are trimmed, host bits are cleared as ParseCIDRSloppy clears them', () => {
    const lb = svc(loaded(), 'default/web-lb');
    expect(lb.loadBalancerSourceRanges.map(formatCidr)).toEqual(['172.18.0.100/32', '10.244.0.0/16']);
    expect(noticesOf(/loadBalancerSourceRanges/)).toEqual([
      expect.stringContaining(
        'loadBalancerSourceRanges[1]: non-standard CIDR "10.244.1.7/16" has bits set beyond the prefix length, read as 10.244.0.0/16',
      ),
    ]);
  });

  test("kube-proxy's firewall chain allows the trimmed range: ext is let in, another host is dropped", () => {
    const nat = formatIptablesSave(buildClusterRules(loaded()).rulesForNode('node1'), { tables: ['nat'] });
    expect(nat).toMatch(/-A KUBE-FW-\S+ -s 172\.18\.0\.100\/32 /);
    expect(nat).toMatch(/-A KUBE-FW-\S+ -s 10\.244\.0\.0\/16 /);
    const sim = new Simulation(loaded(), { seed: 1 });
    expect(sim.probe('ext/ext', '172.18.0.241:80', 'tcp').replies).toBe(1);
    expect(sim.probe('ext/other', '172.18.0.241:80', 'tcp').replies).toBe(0);
  });
});

describe('endpoints on a node that is not in the topology', () => {
  test('are kept, with one notice per node name and object', () => {
    const m = loaded();
    const eps = m.endpointSlices
      .filter((s) => s.serviceName === 'db' || s.serviceName === 'db-local')
      .flatMap((s) => s.endpoints.map((e) => `${s.serviceName} ${fmt(e.ip)} ${e.nodeName}`));
    expect(eps).toEqual(['db 10.244.2.5 gone-node', 'db-local 10.244.2.5 gone-node', 'db-local 10.244.2.5 gone-node']);
    expect(noticesOf(/gone-node/).map((d) => d.replace(/^.*?: notice: /, ''))).toEqual([
      expect.stringMatching(
        /^Endpoints default\/db: subsets\[0\]\.addresses\[0\]\.nodeName: node "gone-node" is no node/,
      ),
      expect.stringMatching(
        /^EndpointSlice default\/db-local-x1: endpoints\[0\]\.nodeName: node "gone-node" is no node/,
      ),
    ]);
  });

  test('serve Cluster-policy traffic, and are local to no node for internalTrafficPolicy Local', () => {
    const sim = new Simulation(loaded(), { seed: 1 });
    const cluster = sim.probe('client', '10.96.0.60:5432', 'tcp');
    expect(cluster.replies).toBe(1);
    expect(cluster.attempts[0]?.answeredBy).toBe('db-0');
    // the endpoint is db-0 on node2, but its nodeName is no node: not local even there
    expect(sim.probe('client', '10.96.0.61:5432', 'tcp').replies).toBe(0);
    const rules = buildClusterRules(loaded());
    for (const node of ['node1', 'node2']) {
      const nat = formatIptablesSave(rules.rulesForNode(node), { tables: ['nat', 'filter'] });
      expect(nat, node).toContain('default/db-local has no local endpoints');
    }
  });
});

describe('legacy IPv4 spellings (leading zeros), read as kube-proxy reads them', () => {
  test('clusterIP(s), externalIPs, ingress IPs, Endpoints addresses and podIP: leading zeros are decimal', () => {
    const m = loaded();
    const web = svc(m, 'default/web');
    expect(web.clusterIPs.map(fmt)).toEqual(['10.96.0.50']);
    expect(web.externalIPs.map(fmt)).toEqual(['172.18.0.200']);
    expect(svc(m, 'default/web-lb').loadBalancerIPs.map(fmt)).toEqual(['172.18.0.241']);
    expect(fmt(m.pods.find((p) => p.name === 'web-0')?.ip ?? 0)).toBe('10.244.1.10');
    const legacy = noticesOf(/non-standard IP address/).map((d) => d.replace(/^.*?: notice: /, ''));
    expect(legacy).toEqual([
      expect.stringMatching(
        /^Pod default\/web-0: status\.podIP: non-standard IP address "10\.244\.1\.010" read as 10\.244\.1\.10, as kube-proxy reads it \(ParseIPSloppy: leading zeros are decimal, not octal\)/,
      ),
      expect.stringMatching(
        /^Service default\/web: spec\.clusterIP: non-standard IP address "10\.96\.0\.050" read as 10\.96\.0\.50/,
      ),
      expect.stringMatching(/^Service default\/web: spec\.clusterIPs\[0\]: non-standard IP address "10\.96\.0\.050"/),
      expect.stringMatching(
        /^Service default\/web: spec\.externalIPs\[0\]: non-standard IP address "172\.18\.0\.0200" read as 172\.18\.0\.200/,
      ),
      expect.stringMatching(
        /^Service default\/web-lb: status\.loadBalancer\.ingress\[0\]\.ip: .* read as 172\.18\.0\.241/,
      ),
      expect.stringMatching(
        /^Endpoints default\/db: subsets\[0\]\.addresses\[0\]\.ip: .*"10\.244\.2\.005" read as 10\.244\.2\.5/,
      ),
    ]);
  });

  test('the ClusterIP written with leading zeros answers at its decimal reading', () => {
    const sim = new Simulation(loaded(), { seed: 1 });
    const rep = sim.probe('client', '10.96.0.50:80', 'tcp');
    expect(rep.replies).toBe(1);
    expect(rep.attempts[0]?.answeredBy).toBe('web-0');
  });

  test('an IPv4-mapped IPv6 address in a legacy field is its IPv4 address', () => {
    const text = `apiVersion: v1
kind: Service
metadata: { name: m }
spec:
  clusterIP: '::ffff:10.96.0.77'
  ports: [{ port: 80 }]
`;
    expect(errors(text)).toEqual([]);
    expect(notices(text).filter((n) => n.includes('IPv4-mapped'))).toEqual([
      expect.stringContaining('spec.clusterIP: non-standard IP address "::ffff:10.96.0.77" read as 10.96.0.77'),
    ]);
  });

  test("dnsConfig nameservers are read as the pod's resolver reads them: octal, or skipped", () => {
    const text = `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  dnsPolicy: None
  dnsConfig: { nameservers: [10.96.0.010, 010.096.0.10, 10.96.0.10] }
  containers: [{ name: c }]
`;
    expect(errors(text)).toEqual([]);
    const ns = notices(text).filter((n) => n.includes('nameservers'));
    expect(ns).toEqual([
      expect.stringContaining('nameservers[0]: non-standard IP address "10.96.0.010" read as 10.96.0.8'),
      expect.stringContaining('nameservers[1]: non-standard IP address "010.096.0.10": the pod\'s resolver'),
    ]);
  });

  test('a Node podCIDR with leading zeros or host bits is the network ParseCIDRSloppy returns', () => {
    const text = `apiVersion: v1
kind: Node
metadata: { name: n1 }
spec: { podCIDR: 10.244.001.0/24 }
status: { addresses: [{ type: InternalIP, address: 172.18.0.2 }] }
---
apiVersion: v1
kind: Node
metadata: { name: n2 }
spec: { podCIDR: 10.244.2.1/24, podCIDRs: [10.244.2.1/24] }
status: { addresses: [{ type: InternalIP, address: 172.18.0.3 }] }
`;
    expect(errors(text)).toEqual([]);
    expect(model(text).nodes.map((n) => `${n.name} ${formatCidr(n.podCIDR)}`)).toEqual([
      'n1 10.244.1.0/24',
      'n2 10.244.2.0/24',
    ]);
  });
});

describe('EndpointSlices kube-proxy ignores are ignored, not refused', () => {
  test('IPv6 and FQDN slices, and a slice without its Service label: one notice each, no endpoints', () => {
    const m = loaded();
    const names = m.endpointSlices.map((s) => s.name);
    for (const n of ['web-v6', 'web-fqdn', 'stray']) expect(names).not.toContain(n);
    expect(noticesOf(/addressType: an IPv6 slice: ignored/)).toHaveLength(1);
    expect(noticesOf(/addressType: an FQDN slice \(deprecated\): ignored/)).toHaveLength(1);
    expect(noticesOf(/EndpointSlice default\/stray: .*no label kubernetes\.io\/service-name/)).toHaveLength(1);
  });
});

describe('a container port declared twice', () => {
  test('loads with the API server warning as a notice, and one server answers on it by either name', () => {
    expect(noticesOf(/duplicate port definition/)).toEqual([
      expect.stringContaining(
        'Pod default/web-0: spec.containers[0].ports[1].containerPort: port 8080/TCP is declared twice (also ',
      ),
    ]);
    const sim = new Simulation(loaded(), { seed: 1 });
    expect(sim.probe('client', '10.244.1.10:8080', 'tcp').replies).toBe(1);
  });
});

describe('pod specs: what the API server accepts', () => {
  test('two containers may each name a port "metrics" (names are unique per container); a Service picks the first', () => {
    const text = `apiVersion: v1
kind: Pod
metadata: { name: p, labels: { app: p } }
spec:
  containers:
    - { name: app, ports: [{ name: metrics, containerPort: 9090 }] }
    - { name: sidecar, ports: [{ name: metrics, containerPort: 15090 }] }
---
apiVersion: v1
kind: Service
metadata: { name: p }
spec:
  selector: { app: p }
  ports: [{ port: 80, targetPort: metrics }]
`;
    expect(errors(text)).toEqual([]);
    const m = model(text);
    const slice = m.endpointSlices.find((s) => s.serviceName === 'p');
    expect(slice?.ports.map((p) => p.port)).toEqual([9090]);
    // within one container the name is still unique
    const twice = text.replace(
      'containerPort: 15090 }]',
      'containerPort: 15090 }, { name: metrics, containerPort: 1 }]',
    );
    expect(errors(twice)).toEqual([expect.stringContaining('duplicate port name "metrics"')]);
  });

  test('node affinity Gt with a value that is no integer loads, and that term matches no node', () => {
    const text = `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions: [{ key: gpu-count, operator: Gt, values: [many] }]
  containers: [{ name: c }]
`;
    expect(notices(text).filter((n) => n.includes('compares integers'))).toEqual([
      expect.stringContaining('operator Gt compares integers; "many" is none, so this requirement matches no node'),
    ]);
    // the pod is then unschedulable, as kube-scheduler leaves it
    expect(errors(text)).toEqual([expect.stringContaining('no node can run this pod')]);
  });

  test('matchFields takes exactly one node name for In (the API server refuses two)', () => {
    const text = `apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchFields: [{ key: metadata.name, operator: In, values: [node1, node2] }]
  containers: [{ name: c }]
`;
    expect(errors(text)).toEqual([
      expect.stringContaining('operator In on a node field needs exactly one value (a node name), got 2'),
    ]);
  });

  test('a CronJob on "@every 30m" loads and runs every 30 minutes from its creation', () => {
    const text = `apiVersion: batch/v1
kind: CronJob
metadata: { name: tick }
spec:
  schedule: '@every 30m'
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{ name: c }]
`;
    expect(errors(text)).toEqual([]);
  });
});

describe("a dual-stack cluster's objects: podnet runs their IPv4 half", () => {
  const text = `apiVersion: v1
kind: Node
metadata: { name: n1 }
spec: { podCIDR: 10.244.1.0/24, podCIDRs: [10.244.1.0/24, 'fd00:10:244:1::/64'] }
status: { addresses: [{ type: InternalIP, address: 172.18.0.2 }, { type: InternalIP, address: 'fc00:f853::2' }] }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  ipFamilyPolicy: PreferDualStack
  ipFamilies: [IPv4, IPv6]
  clusterIP: 10.96.0.50
  clusterIPs: [10.96.0.50, 'fd00:10:96::50']
  externalIPs: ['2001:db8::7', 172.18.0.200]
  selector: { app: web }
  ports: [{ port: 80 }]
`;

  test('loads: the IPv6 ClusterIP, family, external IP and podCIDR are ignored with a notice each', () => {
    expect(errors(text)).toEqual([]);
    const m = model(text);
    const web = svc(m, 'default/web');
    expect(web.clusterIPs.map(fmt)).toEqual(['10.96.0.50']);
    expect(web.externalIPs.map(fmt)).toEqual(['172.18.0.200']);
    expect(m.nodes.map((n) => formatCidr(n.podCIDR))).toEqual(['10.244.1.0/24']);
    expect(
      notices(text)
        .filter((n) => n.includes('IPv6') || n.includes('IPv4 half'))
        .map((n) => n.split(': ')[3]),
    ).toEqual(['spec.podCIDRs[1]', 'spec.ipFamilies[1]', 'spec.clusterIPs[1]', 'spec.externalIPs[0]']);
  });
});

describe('Service and Endpoints details the API server decides', () => {
  test('targetPort 0 or "" is the port (the API server defaults it), not an error', () => {
    const text = `apiVersion: v1
kind: Pod
metadata: { name: p, labels: { app: p } }
spec:
  containers: [{ name: c, ports: [{ containerPort: 80 }, { containerPort: 81 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: p }
spec:
  selector: { app: p }
  ports: [{ name: a, port: 80, targetPort: 0 }, { name: b, port: 81, targetPort: '' }]
`;
    expect(errors(text)).toEqual([]);
    const slice = model(text).endpointSlices.find((s) => s.serviceName === 'p');
    expect(slice?.ports.map((p) => `${p.name}:${p.port}`)).toEqual(['a:80', 'b:81']);
  });

  // podnet was more lenient here: the API server refuses these (validateNonSpecialIP, validateEndpointSubsets)
  test('loopback, link-local and unspecified endpoint and external IPs are refused, as the API server refuses them', () => {
    const text = `apiVersion: v1
kind: Service
metadata: { name: s }
spec:
  externalIPs: [127.0.0.1]
  ports: [{ port: 80 }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: s }
subsets:
  - addresses: [{ ip: 169.254.169.254 }]
    ports: [{ port: 80 }]
  - ports: [{ port: 80 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: s-1, labels: { kubernetes.io/service-name: s } }
addressType: IPv4
endpoints: [{ addresses: [0.0.0.0] }]
ports: [{ port: 80 }]
`;
    expect(errors(text).map((e) => e.replace(/^test\.yaml:\d+:\d+: error: /, ''))).toEqual([
      'Service default/s: spec.externalIPs[0]: 127.0.0.1 may not be in the loopback range (127.0.0.0/8)',
      'Endpoints default/s: subsets[0].addresses[0].ip: 169.254.169.254 may not be in the link-local range (169.254.0.0/16)',
      'Endpoints default/s: subsets[1]: must specify `addresses` or `notReadyAddresses`',
      'EndpointSlice default/s-1: endpoints[0].addresses[0]: 0.0.0.0 may not be unspecified (0.0.0.0)',
    ]);
  });
});

// podnet was more lenient here: it did not look at appProtocol, which the API server checks (a qualified name)
describe('appProtocol', () => {
  test('a qualified name is accepted on Service, Endpoints and EndpointSlice ports; anything else refused', () => {
    const ok = `apiVersion: v1
kind: Service
metadata: { name: s }
spec:
  ports: [{ port: 80, appProtocol: kubernetes.io/h2c }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: s }
subsets: [{ addresses: [{ ip: 10.244.1.7 }], ports: [{ port: 80, appProtocol: http }] }]
`;
    expect(errors(ok)).toEqual([]);
    expect(
      errors(ok.replace('kubernetes.io/h2c', 'h2c please').replace('appProtocol: http', 'appProtocol: "a b"')),
    ).toEqual([
      expect.stringContaining('Service default/s: spec.ports[0].appProtocol: expected a qualified name'),
      expect.stringContaining('Endpoints default/s: subsets[0].ports[0].appProtocol: expected a qualified name'),
    ]);
  });
});

// podnet was more lenient here: the API server refuses these (ValidateTolerations, validateNodeTaints)
describe('tolerations and taints are checked as the API server checks them', () => {
  test('an empty key needs Exists, Exists takes no value, tolerationSeconds needs NoExecute; taints unique', () => {
    const text = `apiVersion: v1
kind: Node
metadata: { name: n1 }
spec:
  taints: [{ key: a, effect: NoSchedule }, { key: a, value: x, effect: NoSchedule }]
status: { addresses: [{ type: InternalIP, address: 172.18.0.2 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: p }
spec:
  nodeName: n1
  tolerations:
    - { operator: Equal, value: x }
    - { key: a, operator: Exists, value: x }
    - { key: a, effect: NoSchedule, tolerationSeconds: 30 }
    - { key: 'bad key!', operator: Exists }
  containers: [{ name: c }]
`;
    expect(errors(text).map((e) => e.replace(/^test\.yaml:\d+:\d+: error: /, ''))).toEqual([
      'Node n1: spec.taints[1]: taints must be unique by key and effect pair: a:NoSchedule is there twice',
      'Pod default/p: spec.tolerations[0].operator: operator must be Exists when `key` is empty, which means "match all values and all keys"',
      "Pod default/p: spec.tolerations[1].value: value must be empty when `operator` is 'Exists'",
      "Pod default/p: spec.tolerations[2].tolerationSeconds: effect must be 'NoExecute' when `tolerationSeconds` is set",
      expect.stringContaining('Pod default/p: spec.tolerations[3].key: expected a label key'),
    ]);
  });
});
