/**
 * kube-proxy's settings in the topology: a Cluster's `spec.kubeProxy` (a KubeProxyConfiguration)
 * and `spec.iptables` change `podnet rules` as kube-proxy v1.30+ writes them (the expectations of
 * pkg/proxy/iptables/proxier_test.go and pkg/proxy/util/localdetector_test.go, restated on this
 * fixture) and traffic follows them; Nodes with several addresses answer NodePorts on each as
 * nodePortAddresses decides.
 */
import { describe, expect, it } from 'vitest';
import { nodeRules } from '../../../src/api/rules.js';
import { Simulation } from '../../../src/api/simulation.js';
import { formatDiagnostic, loadTopologyText } from '../../../src/kube/load/index.js';
import { svcChain, extChain } from '../../../src/kube/agents/kube-proxy/hash.js';
import { model } from '../../helpers.js';

/**
 * Two nodes given as Node objects (node1 has a second InternalIP, 172.18.0.12), a client pod and a
 * web pod on node1, a solo pod on node2, and an external host routing the service range via node1.
 * Services: `solo` (ClusterIP 10.96.0.50, NodePort 30050 → solo:8080), `local` (NodePort 30060,
 * externalTrafficPolicy Local → web).
 */
function cluster(kubeProxy = '', extraClusterSpec = '', node1Addresses = ''): string {
  return `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: kp }
spec:
  underlay: { cidr: 172.18.0.0/24, gateway: 172.18.0.1 }
  addons: none
  externalHosts:
    - { name: ext, ip: 172.18.0.100, routes: [{ to: 10.96.0.0/12, via: 172.18.0.2 }] }
${kubeProxy}
${extraClusterSpec}
---
apiVersion: v1
kind: Node
metadata: { name: node1 }
spec: { podCIDR: 10.244.1.0/24 }
status:
  addresses:
    - { type: InternalIP, address: 172.18.0.2 }
${node1Addresses || '    - { type: InternalIP, address: 172.18.0.12 }'}
    - { type: Hostname, address: node1 }
---
apiVersion: v1
kind: Node
metadata: { name: node2 }
spec: { podCIDR: 10.244.2.0/24 }
status:
  addresses: [{ type: InternalIP, address: 172.18.0.3 }]
---
apiVersion: v1
kind: Pod
metadata: { name: client }
spec: { nodeName: node1, containers: [{ name: c }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web, labels: { app: web } }
spec: { nodeName: node1, containers: [{ name: web, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Pod
metadata: { name: solo, labels: { app: solo } }
spec: { nodeName: node2, containers: [{ name: web, ports: [{ containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: solo }
spec:
  type: NodePort
  clusterIP: 10.96.0.50
  selector: { app: solo }
  ports: [{ port: 80, targetPort: 8080, nodePort: 30050 }]
---
apiVersion: v1
kind: Service
metadata: { name: local }
spec:
  type: NodePort
  clusterIP: 10.96.0.60
  externalTrafficPolicy: Local
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080, nodePort: 30060 }]
`;
}

const SOLO_SVC = svcChain('default/solo', 'tcp');
const LOCAL_EXT = extChain('default/local', 'tcp');

/** The rules of one chain on a node, as iptables-save lines. */
function chain(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`-A ${name} `));
}

function rulesOf(yaml: string, node = 'node1'): string {
  return nodeRules(model(yaml), node);
}

/** The source address the answering pod saw for one TCP connection. */
function sawFrom(yaml: string, from: string, to: string): string | undefined {
  const sim = new Simulation(model(yaml), { seed: 1 });
  const rep = sim.probe(from, to, 'tcp');
  expect(rep.replies, rep.attempts[0]?.error).toBe(1);
  return rep.attempts[0]!.serverSaw?.replace(/:\d+$/, '');
}

const SVC_MASQ_CLUSTER_CIDR = `-A ${SOLO_SVC} ! -s 10.244.0.0/16 -d 10.96.0.50/32 -p tcp -m comment --comment "default/solo cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`;

describe('without spec.kubeProxy (kubeadm defaults)', () => {
  it('the ClusterIP masquerade tests the source against clusterCIDR, the EXT chain sends pods on', () => {
    const text = rulesOf(cluster());
    expect(chain(text, SOLO_SVC)[0]).toBe(SVC_MASQ_CLUSTER_CIDR);
    expect(chain(text, LOCAL_EXT)[0]).toBe(
      `-A ${LOCAL_EXT} -s 10.244.0.0/16 -m comment --comment "pod traffic for default/local external destinations" -j ${svcChain('default/local', 'tcp')}`,
    );
  });

  it('a pod reaching a ClusterIP keeps its address; an outside host is masqueraded', () => {
    expect(sawFrom(cluster(), 'client', '10.96.0.50:80')).toBe('10.244.1.2');
    expect(sawFrom(cluster(), 'ext/ext', '10.96.0.50:80')).toBe('10.244.1.0');
    // to an endpoint on node1 itself flannel leaves it alone: kube-proxy's masquerade shows (cni0's address)
    expect(sawFrom(cluster(), 'ext/ext', '10.96.0.60:80')).toBe('10.244.1.1');
  });
});

describe('iptables.masqueradeAll', () => {
  const yaml = cluster('  kubeProxy: { iptables: { masqueradeAll: true } }');

  it('drops the source test from the ClusterIP masquerade rule (proxier_test.go TestMasqueradeAll)', () => {
    expect(chain(rulesOf(yaml), SOLO_SVC)[0]).toBe(
      `-A ${SOLO_SVC} -d 10.96.0.50/32 -p tcp -m comment --comment "default/solo cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`,
    );
  });

  it('SNATs pod-to-ClusterIP traffic: the endpoint on the other node sees flannel.1 of node1', () => {
    expect(sawFrom(yaml, 'client', '10.96.0.50:80')).toBe('10.244.1.0');
  });

  it('an explicit library option overrides the topology', () => {
    expect(chain(nodeRules(model(yaml), 'node1', { masqueradeAll: false }), SOLO_SVC)[0]).toBe(SVC_MASQ_CLUSTER_CIDR);
  });

  it('the library takes a detector too, checked like the other options', () => {
    const m = model(cluster());
    expect(chain(nodeRules(m, 'node1', { detectLocal: { mode: 'NoOp' } }), SOLO_SVC)[0]).toContain('-j KUBE-SEP-');
    expect(
      chain(nodeRules(m, 'node1', { detectLocal: { mode: 'ClusterCIDR', cidr: '10.244.1.0/24' } }), SOLO_SVC)[0],
    ).toBe(SVC_MASQ_CLUSTER_CIDR.replace('10.244.0.0/16', '10.244.1.0/24'));
    expect(() => nodeRules(m, 'node1', { detectLocal: { mode: 'Bridge' } as never })).toThrow(
      /proxy\.detectLocal\.mode: expected one of/,
    );
  });
});

describe('detectLocalMode', () => {
  it('an empty clusterCIDR is no detector: no rule tests the source (NoOpLocalDetector)', () => {
    const yaml = cluster('  kubeProxy: { clusterCIDR: "" }');
    const text = rulesOf(yaml);
    expect(chain(text, SOLO_SVC).some((l) => l.includes('KUBE-MARK-MASQ'))).toBe(false);
    expect(chain(text, LOCAL_EXT).some((l) => l.includes('pod traffic'))).toBe(false);
    expect(chain(text, LOCAL_EXT)[0]).toContain('masquerade LOCAL traffic');
    expect(
      text
        .split('\n')
        .filter((l) => l.startsWith('-A KUBE-'))
        .join('\n'),
    ).not.toMatch(/-s 10\.244\.0\.0\/16/);
    // so an outside host reaching a ClusterIP whose endpoint is on node1 is not masqueraded
    expect(sawFrom(yaml, 'ext/ext', '10.96.0.60:80')).toBe('172.18.0.100');
  });

  it('ClusterCIDR takes kube-proxy clusterCIDR over the Cluster one (host bits cleared as Go parses it)', () => {
    const text = rulesOf(cluster('  kubeProxy: { detectLocalMode: ClusterCIDR, clusterCIDR: "10.244.1.7/24" }'));
    expect(chain(text, SOLO_SVC)[0]).toBe(SVC_MASQ_CLUSTER_CIDR.replace('10.244.0.0/16', '10.244.1.0/24'));
  });

  it('NodeCIDR tests the source against each node its own podCIDR', () => {
    const yaml = cluster('  kubeProxy: { detectLocalMode: NodeCIDR }');
    expect(chain(rulesOf(yaml, 'node1'), SOLO_SVC)[0]).toBe(
      SVC_MASQ_CLUSTER_CIDR.replace('10.244.0.0/16', '10.244.1.0/24'),
    );
    expect(chain(rulesOf(yaml, 'node2'), SOLO_SVC)[0]).toBe(
      SVC_MASQ_CLUSTER_CIDR.replace('10.244.0.0/16', '10.244.2.0/24'),
    );
    expect(chain(rulesOf(yaml, 'node2'), LOCAL_EXT)[0]).toContain('-s 10.244.2.0/24 ');
    expect(sawFrom(yaml, 'client', '10.96.0.50:80')).toBe('10.244.1.2');
  });

  it('BridgeInterface matches the bridge by name: pods on cni0 keep their address', () => {
    const yaml = cluster('  kubeProxy: { detectLocalMode: BridgeInterface, detectLocal: { bridgeInterface: cni0 } }');
    const text = rulesOf(yaml);
    expect(chain(text, SOLO_SVC)[0]).toBe(
      SVC_MASQ_CLUSTER_CIDR.replace('! -s 10.244.0.0/16 -d 10.96.0.50/32', '-d 10.96.0.50/32 ! -i cni0'),
    );
    expect(chain(text, LOCAL_EXT)[0]).toBe(
      `-A ${LOCAL_EXT} -i cni0 -m comment --comment "pod traffic for default/local external destinations" -j ${svcChain('default/local', 'tcp')}`,
    );
    expect(sawFrom(yaml, 'client', '10.96.0.50:80')).toBe('10.244.1.2');
    expect(sawFrom(yaml, 'ext/ext', '10.96.0.50:80')).toBe('10.244.1.0');
  });

  it('InterfaceNamePrefix matches veth+, which on a bridge CNI is never the input interface: pods are masqueraded', () => {
    const yaml = cluster(
      '  kubeProxy: { detectLocalMode: InterfaceNamePrefix, detectLocal: { interfaceNamePrefix: veth } }',
    );
    expect(chain(rulesOf(yaml), SOLO_SVC)[0]).toBe(
      SVC_MASQ_CLUSTER_CIDR.replace('! -s 10.244.0.0/16 -d 10.96.0.50/32', '-d 10.96.0.50/32 ! -i veth+'),
    );
    // bridged pod traffic enters the host stack on cni0 (the veth is only the bridge port)
    expect(sawFrom(yaml, 'client', '10.96.0.50:80')).toBe('10.244.1.0');
  });
});

describe('nodePortAddresses and nodes with several addresses', () => {
  const nodePort = (yaml: string, to: string): ReturnType<Simulation['probe']> =>
    new Simulation(model(yaml), { seed: 1 }).probe('ext/ext', to, 'tcp');

  it('by default a NodePort answers on every address of the node (--dst-type LOCAL)', () => {
    const yaml = cluster();
    expect(nodePort(yaml, '172.18.0.2:30050').replies).toBe(1);
    expect(nodePort(yaml, '172.18.0.12:30050').replies).toBe(1);
    expect(model(yaml).nodes[0]!.extraIPs).toEqual([0xac12000c]);
  });

  it('a CIDR list writes one jump per matching node address, the second InternalIP included', () => {
    const text = rulesOf(cluster('  kubeProxy: { nodePortAddresses: [172.18.0.0/24] }'));
    const cm = '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
    expect(chain(text, 'KUBE-SERVICES').slice(-2)).toEqual([
      `-A KUBE-SERVICES -d 172.18.0.2/32 ${cm} -j KUBE-NODEPORTS`,
      `-A KUBE-SERVICES -d 172.18.0.12/32 ${cm} -j KUBE-NODEPORTS`,
    ]);
  });

  it('an address outside the list is not DNATed: the NodePort there is refused', () => {
    const yaml = cluster('  kubeProxy: { nodePortAddresses: [172.18.0.2/32] }');
    expect(nodePort(yaml, '172.18.0.2:30050').replies).toBe(1);
    const off = nodePort(yaml, '172.18.0.12:30050');
    expect(off.replies).toBe(0);
    expect(off.attempts[0]!.error).toContain('Connection refused');
  });

  it('primary answers only on the node InternalIP kube-proxy takes as primary', () => {
    const yaml = cluster('  kubeProxy: { nodePortAddresses: [primary] }');
    expect(chain(rulesOf(yaml), 'KUBE-SERVICES').at(-1)).toMatch(/^-A KUBE-SERVICES -d 172\.18\.0\.2\/32 /);
    expect(nodePort(yaml, '172.18.0.12:30050').replies).toBe(0);
  });

  it('an ExternalIP is a further address too', () => {
    const yaml = cluster('', '', '    - { type: ExternalIP, address: 172.18.0.200 }');
    expect(nodePort(yaml, '172.18.0.200:30050').replies).toBe(1);
  });

  it("an address another host holds is an error at the Node's field", () => {
    const r = loadTopologyText(cluster('', '', '    - { type: InternalIP, address: 172.18.0.3 }'), 'n.yaml');
    expect(r.model).toBeUndefined();
    expect(r.diagnostics.map(formatDiagnostic)).toContain(
      'n.yaml:19:36: error: Node node1: status.addresses[1].address: address 172.18.0.3 of node node1 is already used by node node2',
    );
  });
});

describe('the other settings', () => {
  it('iptables.localhostNodePorts: false keeps 127/8 out of the NodePort jump', () => {
    const text = rulesOf(cluster('  kubeProxy: { iptables: { localhostNodePorts: false } }'));
    expect(chain(text, 'KUBE-SERVICES').at(-1)).toBe(
      '-A KUBE-SERVICES ! -d 127.0.0.0/8 -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    );
  });

  it('iptables.masqueradeBit moves the mark; conntrack.tcpBeLiberal drops the INVALID rule', () => {
    const text = rulesOf(cluster('  kubeProxy: { iptables: { masqueradeBit: 0 }, conntrack: { tcpBeLiberal: true } }'));
    expect(chain(text, 'KUBE-MARK-MASQ')).toEqual(['-A KUBE-MARK-MASQ -j MARK --set-xmark 0x1/0x1']);
    expect(text).not.toContain('--ctstate INVALID -j DROP');
    expect(rulesOf(cluster())).toContain('-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP');
  });

  it('spec.iptables.randomFully: false writes plain MASQUERADE for kube-proxy and flannel', () => {
    const text = rulesOf(cluster('  iptables: { randomFully: false }'));
    expect(text).not.toContain('--random-fully');
    expect(rulesOf(cluster())).toContain('--random-fully');
  });

  it("kubeadm's config.conf pasted under spec.kubeProxy loads and gives kubeadm's rules", () => {
    const pasted = `  kubeProxy:
    apiVersion: kubeproxy.config.k8s.io/v1alpha1
    bindAddress: 0.0.0.0
    bindAddressHardFail: false
    clientConnection: { acceptContentTypes: "", burst: 0, contentType: "", kubeconfig: /var/lib/kube-proxy/kubeconfig.conf, qps: 0 }
    clusterCIDR: 10.244.0.0/16
    configSyncPeriod: 0s
    conntrack: { maxPerCore: null, min: null, tcpBeLiberal: false, tcpCloseWaitTimeout: null, tcpEstablishedTimeout: null, udpStreamTimeout: 0s, udpTimeout: 0s }
    detectLocal: { bridgeInterface: "", interfaceNamePrefix: "" }
    detectLocalMode: ""
    enableProfiling: false
    healthzBindAddress: ""
    hostnameOverride: ""
    iptables: { localhostNodePorts: null, masqueradeAll: false, masqueradeBit: null, minSyncPeriod: 0s, syncPeriod: 0s }
    ipvs: { excludeCIDRs: null, minSyncPeriod: 0s, scheduler: "", strictARP: false, syncPeriod: 0s, tcpFinTimeout: 0s, tcpTimeout: 0s, udpTimeout: 0s }
    kind: KubeProxyConfiguration
    logging: { flushFrequency: 0, options: { json: { infoBufferSize: "0" } }, verbosity: 0 }
    metricsBindAddress: ""
    mode: ""
    nftables: { masqueradeAll: false, masqueradeBit: null, minSyncPeriod: 0s, syncPeriod: 0s }
    nodePortAddresses: null
    oomScoreAdj: null
    portRange: ""
    showHiddenMetricsForVersion: ""
    winkernel: { enableDSR: false, forwardHealthCheckVip: false, networkName: "", rootHnsEndpointName: "", sourceVip: "" }`;
    const r = loadTopologyText(cluster(pasted), 'k.yaml');
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(nodeRules(r.model!, 'node1')).toBe(rulesOf(cluster()));
  });
});

describe('bad settings', () => {
  const messages = (kubeProxy: string): string[] =>
    loadTopologyText(cluster(kubeProxy), 'bad.yaml').diagnostics.map(formatDiagnostic);

  it('a field KubeProxyConfiguration does not have gets one notice at its position and is ignored', () => {
    const r = loadTopologyText(
      cluster('  kubeProxy: { udpIdleTimeout: 250ms, iptables: { masqueradAll: true } }'),
      'u.yaml',
    );
    expect(r.model).toBeDefined();
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      'u.yaml:9:32: notice: Cluster kp: spec.kubeProxy.udpIdleTimeout: unknown field "udpIdleTimeout" of KubeProxyConfiguration, ignored (kube-proxy decodes its configuration leniently)',
      'u.yaml:9:65: notice: Cluster kp: spec.kubeProxy.iptables.masqueradAll: unknown field "masqueradAll" of KubeProxyConfiguration iptables, ignored (kube-proxy decodes its configuration leniently)',
    ]);
  });

  it('wrong values are errors naming the field and what kube-proxy accepts', () => {
    expect(messages('  kubeProxy: { iptables: { masqueradeBit: 32 } }')).toEqual([
      'bad.yaml:9:43: error: Cluster kp: spec.kubeProxy.iptables.masqueradeBit: expected an integer 0–31, got 32',
    ]);
    expect(messages('  kubeProxy: { nodePortAddresses: [primary, 10.0.0.0/8] }')).toEqual([
      `bad.yaml:9:36: error: Cluster kp: spec.kubeProxy.nodePortAddresses[0]: "primary" must be the only entry (kube-proxy: can't use both 'primary' and CIDRs)`,
    ]);
    expect(messages('  kubeProxy: { nodePortAddresses: [10.0.0.0/33] }')).toEqual([
      'bad.yaml:9:36: error: Cluster kp: spec.kubeProxy.nodePortAddresses[0]: expected a CIDR like 172.18.0.0/24 or "primary", got "10.0.0.0/33"',
    ]);
    expect(messages('  kubeProxy: { detectLocalMode: Bridge }')[0]).toBe(
      'bad.yaml:9:33: error: Cluster kp: spec.kubeProxy.detectLocalMode: expected one of "ClusterCIDR", "NodeCIDR", "BridgeInterface", "InterfaceNamePrefix", "", got "Bridge"',
    );
    expect(messages('  kubeProxy: { detectLocalMode: BridgeInterface }')).toEqual([
      'bad.yaml:9:33: error: Cluster kp: spec.kubeProxy.detectLocalMode: detectLocalMode BridgeInterface needs a non-empty detectLocal.bridgeInterface',
    ]);
    expect(messages('  kubeProxy: { mode: ipvs }')).toEqual([
      `bad.yaml:9:22: error: Cluster kp: spec.kubeProxy.mode: podnet emulates kube-proxy's iptables mode only; use "iptables" or leave mode empty`,
    ]);
    expect(messages('  kubeProxy: { clusterCIDR: "10.244.0.0/16,10.245.0.0/16" }')).toEqual([
      'bad.yaml:9:29: error: Cluster kp: spec.kubeProxy.clusterCIDR: must be either a single CIDR or a dual-stack pair of CIDRs (e.g. 10.100.0.0/16,fde4:8dba:82e1::/48)',
    ]);
    expect(messages('  kubeProxy: { iptables: { masqueradeAll: "yes" } }')[0]).toContain(
      'spec.kubeProxy.iptables.masqueradeAll: expected a boolean (true or false), got "yes"',
    );
  });
});

describe("an export's kube-system/kube-proxy ConfigMap", () => {
  const configMap = (conf: string): string => `---
apiVersion: v1
kind: ConfigMap
metadata: { name: kube-proxy, namespace: kube-system }
data:
  kubeconfig.conf: "apiVersion: v1"
  config.conf: |-
    apiVersion: kubeproxy.config.k8s.io/v1alpha1
    kind: KubeProxyConfiguration
${conf}
`;

  it('its config.conf gives the settings when the Cluster has no spec.kubeProxy, with one notice', () => {
    const yaml = cluster() + configMap('    iptables:\n      masqueradeAll: true');
    const r = loadTopologyText(yaml, 'e.yaml');
    const n = cluster().split('\n').length;
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      `e.yaml:${n + 6}:16: notice: ConfigMap kube-system/kube-proxy: data["config.conf"]: kube-proxy's settings are read from this KubeProxyConfiguration`,
    ]);
    expect(chain(nodeRules(r.model!, 'node1'), SOLO_SVC)[0]).not.toContain('-s 10.244.0.0/16');
  });

  it('an error inside config.conf is reported at its line and column in the file', () => {
    const yaml = cluster() + configMap('    iptables:\n      masqueradeBit: 40');
    const n = cluster().split('\n').length;
    expect(loadTopologyText(yaml, 'e.yaml').diagnostics.map(formatDiagnostic)).toEqual([
      `e.yaml:${n + 10}:22: error: ConfigMap kube-system/kube-proxy: iptables.masqueradeBit: expected an integer 0–31, got 40`,
    ]);
  });

  it('a config.conf written as one quoted string (as JSON exports hold it) is read; its errors point at the string', () => {
    const cm = (conf: string): string =>
      `---\n{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-proxy", "namespace": "kube-system"}, "data": {"config.conf": ${JSON.stringify(conf)}}}\n`;
    const good = loadTopologyText(cluster() + cm('iptables:\n  masqueradeAll: true\n'), 'j.yaml');
    expect(chain(nodeRules(good.model!, 'node1'), SOLO_SVC)[0]).not.toContain('-s 10.244.0.0/16');
    const n = cluster().split('\n').length;
    expect(
      loadTopologyText(cluster() + cm('iptables:\n  masqueradeBit: 40\n'), 'j.yaml').diagnostics.map(formatDiagnostic),
    ).toEqual([
      `j.yaml:${n + 1}:131: error: ConfigMap kube-system/kube-proxy: iptables.masqueradeBit: expected an integer 0–31, got 40`,
    ]);
  });

  it("the Cluster's spec.kubeProxy wins, and other ConfigMaps stay ignored", () => {
    const yaml = `${cluster('  kubeProxy: { clusterCIDR: "" }') + configMap('    clusterCIDR: 10.244.0.0/16')}---
apiVersion: v1
kind: ConfigMap
metadata: { name: coredns, namespace: kube-system }
data: { Corefile: "." }
`;
    const r = loadTopologyText(yaml, 'e.yaml');
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      "not read: the Cluster's spec.kubeProxy sets kube-proxy's settings",
      'ignored: ConfigMap kube-system/coredns (not part of the data path)',
    ]);
    expect(chain(nodeRules(r.model!, 'node1'), SOLO_SVC).some((l) => l.includes('KUBE-MARK-MASQ'))).toBe(false);
  });
});
