/**
 * kube-proxy's settings from its command line in an export: the flags of the `kube-system`
 * kube-proxy DaemonSet (else pod) give the settings when kube-proxy runs without --config; with
 * --config the file (the ConfigMap) replaces them, as cmd/kube-proxy/app/options.go Complete does;
 * a Cluster's spec.kubeProxy wins over both.
 */
import { describe, expect, it } from 'vitest';
import { nodeRules } from '../../../src/api/rules.js';
import { svcChain } from '../../../src/kube/agents/kube-proxy/hash.js';
import { formatDiagnostic, loadTopologyText } from '../../../src/kube/load/index.js';

const SOLO_SVC = svcChain('default/solo', 'tcp');
const MASQ_TAIL =
  '-d 10.96.0.50/32 -p tcp -m comment --comment "default/solo cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ';

/** Two nodes, a pod behind ClusterIP 10.96.0.50:80, and `extra` (kube-proxy's objects). */
function topology(extra: string, kubeProxy = ''): string {
  return `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: kpf }
spec:
  underlay: { cidr: 172.18.0.0/24, gateway: 172.18.0.1 }
  addons: none
${kubeProxy}
---
apiVersion: v1
kind: Node
metadata: { name: node1 }
spec: { podCIDR: 10.244.1.0/24 }
status: { addresses: [{ type: InternalIP, address: 172.18.0.2 }] }
---
apiVersion: v1
kind: Node
metadata: { name: node2 }
spec: { podCIDR: 10.244.2.0/24 }
status: { addresses: [{ type: InternalIP, address: 172.18.0.3 }] }
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
  clusterIP: 10.96.0.50
  selector: { app: solo }
  ports: [{ port: 80, targetPort: 8080 }]
${extra}`;
}

/** kube-proxy's DaemonSet as kops-style installs write it: the settings as flags. */
function daemonSet(args: readonly string[], kind = 'DaemonSet'): string {
  const lines = args.map((a) => `            - ${a}`).join('\n');
  if (kind === 'Pod') {
    return `---
apiVersion: v1
kind: Pod
metadata: { name: kube-proxy-node1, namespace: kube-system, labels: { k8s-app: kube-proxy } }
spec:
  nodeName: node1
  hostNetwork: true
  containers:
    - name: kube-proxy
      image: registry.k8s.io/kube-proxy:v1.30.2
      command:
        - /usr/local/bin/kube-proxy
${lines.replaceAll('            - ', '        - ')}
`;
  }
  return `---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: kube-proxy, namespace: kube-system }
spec:
  selector: { matchLabels: { k8s-app: kube-proxy } }
  template:
    metadata: { labels: { k8s-app: kube-proxy } }
    spec:
      hostNetwork: true
      containers:
        - name: kube-proxy
          image: registry.k8s.io/kube-proxy:v1.30.2
          command:
            - /usr/local/bin/kube-proxy
${lines}
`;
}

const configMap = (conf: string): string => `---
apiVersion: v1
kind: ConfigMap
metadata: { name: kube-proxy, namespace: kube-system }
data:
  config.conf: |-
    apiVersion: kubeproxy.config.k8s.io/v1alpha1
    kind: KubeProxyConfiguration
${conf}
`;

function load(yaml: string) {
  const r = loadTopologyText(yaml, 'e.yaml');
  return {
    r,
    diags: r.diagnostics.map(formatDiagnostic),
    notices: r.diagnostics.filter((d) => d.severity === 'notice').map((d) => d.message),
  };
}

function soloRule(yaml: string, node = 'node1'): string | undefined {
  const { r, diags } = load(yaml);
  expect(r.model, diags.join('\n')).toBeDefined();
  return nodeRules(r.model!, node)
    .split('\n')
    .filter((l) => l.startsWith(`-A ${SOLO_SVC} `))[0];
}

describe("kube-proxy's flags in an export's DaemonSet", () => {
  it('without them the ClusterIP masquerade tests the source against the Cluster clusterCIDR', () => {
    expect(soloRule(topology(''))).toBe(`-A ${SOLO_SVC} ! -s 10.244.0.0/16 ${MASQ_TAIL}`);
  });

  it('--masquerade-all and --cluster-cidr: the masquerade rule has no source test, with one notice', () => {
    const yaml = topology(daemonSet(['--masquerade-all', '--cluster-cidr=10.244.0.0/16', '--v=2']));
    expect(soloRule(yaml)).toBe(`-A ${SOLO_SVC} ${MASQ_TAIL}`);
    expect(load(yaml).notices.filter((n) => n.includes('kube-proxy'))).toEqual([
      "kube-proxy's settings are read from the flags of DaemonSet kube-system/kube-proxy",
    ]);
  });

  it('--cluster-cidr alone is the ClusterCIDR detector with that CIDR (host bits cleared, as Go parses it)', () => {
    expect(soloRule(topology(daemonSet(['--cluster-cidr', '10.244.1.7/24'])))).toBe(
      `-A ${SOLO_SVC} ! -s 10.244.1.0/24 ${MASQ_TAIL}`,
    );
  });

  it('no --cluster-cidr is no detector (getLocalDetectors: ClusterCIDR mode without a CIDR is a NoOp)', () => {
    const rule = soloRule(topology(daemonSet(['--hostname-override=$(NODE_NAME)'])));
    expect(rule).toContain('-j KUBE-SEP-');
    expect(rule).not.toContain('KUBE-MARK-MASQ');
  });

  it('--detect-local-mode=BridgeInterface --pod-bridge-interface=cni0: pods on cni0 are local', () => {
    const yaml = topology(daemonSet(['--detect-local-mode=BridgeInterface', '--pod-bridge-interface=cni0']));
    expect(soloRule(yaml)).toBe(`-A ${SOLO_SVC} ${MASQ_TAIL.replace('/32 ', '/32 ! -i cni0 ')}`);
  });

  it('booleans take Go spellings: --masquerade-all=false keeps the source test, =T drops it', () => {
    const args = ['--cluster-cidr=10.244.0.0/16'];
    expect(soloRule(topology(daemonSet([...args, '--masquerade-all=false'])))).toContain('! -s 10.244.0.0/16');
    expect(soloRule(topology(daemonSet([...args, '--masquerade-all=T'])))).toBe(`-A ${SOLO_SVC} ${MASQ_TAIL}`);
  });

  it('a static pod (no DaemonSet) is read the same way', () => {
    const yaml = topology(daemonSet(['--masquerade-all'], 'Pod'));
    expect(soloRule(yaml)).toBe(`-A ${SOLO_SVC} ${MASQ_TAIL}`);
    expect(load(yaml).notices).toContain(
      "kube-proxy's settings are read from the flags of Pod kube-system/kube-proxy-node1",
    );
  });

  it('--nodeport-addresses and --iptables-masquerade-bit are read', () => {
    const yaml = topology(daemonSet(['--nodeport-addresses=172.18.0.0/24', '--iptables-masquerade-bit=0x0f']));
    const rules = nodeRules(load(yaml).r.model!, 'node1');
    expect(rules).toContain('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x8000/0x8000');
    // nodePortAddresses: KUBE-NODEPORTS only for the node addresses in the CIDR, not `--dst-type LOCAL`.
    expect(rules).toContain('-A KUBE-SERVICES -d 172.18.0.2/32 -m comment --comment "kubernetes service nodeports;');
    expect(rules).not.toContain('--dst-type LOCAL -j KUBE-NODEPORTS');
  });
});

describe('flags next to a ConfigMap (kube-proxy: --config replaces what the flags set)', () => {
  it('with --config the ConfigMap is read and the rule flags beside it are ignored, with a notice', () => {
    const yaml =
      topology(
        daemonSet(['--config=/var/lib/kube-proxy/config.conf', '--masquerade-all', '--cluster-cidr=10.0.0.0/8']),
      ) + configMap('    clusterCIDR: 10.244.1.0/24');
    expect(soloRule(yaml)).toBe(`-A ${SOLO_SVC} ! -s 10.244.1.0/24 ${MASQ_TAIL}`);
    expect(load(yaml).notices).toEqual([
      'ignored beside --config: --masquerade-all, --cluster-cidr (kube-proxy reads the file only)',
      "kube-proxy's settings are read from this KubeProxyConfiguration",
    ]);
  });

  it('without --config the flags are the settings and the ConfigMap is not read', () => {
    const yaml = topology(daemonSet(['--masquerade-all'])) + configMap('    clusterCIDR: 10.244.1.0/24');
    expect(soloRule(yaml)).toBe(`-A ${SOLO_SVC} ${MASQ_TAIL}`);
    expect(load(yaml).notices).toEqual([
      "kube-proxy's settings are read from the flags of DaemonSet kube-system/kube-proxy",
      "not read: kube-proxy's command line (DaemonSet kube-system/kube-proxy) has no --config",
    ]);
  });

  it("the Cluster's spec.kubeProxy wins over flags and ConfigMap, with one notice", () => {
    const yaml =
      topology(
        daemonSet(['--masquerade-all', '--cluster-cidr=10.244.0.0/16']),
        '  kubeProxy: { clusterCIDR: 10.244.2.0/24 }',
      ) + configMap('    clusterCIDR: 10.244.1.0/24');
    expect(soloRule(yaml)).toBe(`-A ${SOLO_SVC} ! -s 10.244.2.0/24 ${MASQ_TAIL}`);
    expect(load(yaml).notices).toEqual(["not read: the Cluster's spec.kubeProxy sets kube-proxy's settings"]);
  });
});

describe('malformed flags', () => {
  const lineOf = (yaml: string, text: string): number => yaml.split('\n').findIndex((l) => l.includes(text)) + 1;

  it('a bad value is an error at its argument', () => {
    const yaml = topology(daemonSet(['--iptables-masquerade-bit=40']));
    const { r, diags } = load(yaml);
    expect(r.model).toBeUndefined();
    expect(diags).toEqual([
      `e.yaml:${lineOf(yaml, 'masquerade-bit')}:15: error: DaemonSet kube-system/kube-proxy: ` +
        'spec.template.spec.containers[0].command[1]: --iptables-masquerade-bit: expected an integer 0–31, got "40"',
    ]);
  });

  it('a boolean that is not one, a CIDR that is not one, a flag without its value', () => {
    const msgs = (args: string[]): string[] => load(topology(daemonSet(args))).r.diagnostics.map((d) => d.message);
    expect(msgs(['--masquerade-all=yes'])).toEqual([
      '--masquerade-all: expected true or false (the flag alone is true), got "yes"',
    ]);
    expect(msgs(['--nodeport-addresses=primary,10.0.0.0/8'])[0]).toContain('"primary" must be the only entry');
    expect(msgs(['--cluster-cidr=10.244.0.0'])).toEqual([
      '--cluster-cidr: expected a CIDR like 172.18.0.0/24, or a dual-stack pair, got "10.244.0.0"',
    ]);
    expect(msgs(['--detect-local-mode=BridgeInterface'])).toEqual([
      '--detect-local-mode=BridgeInterface needs a non-empty --pod-bridge-interface',
    ]);
    expect(msgs(['--proxy-mode=ipvs'])).toEqual(["--proxy-mode=ipvs: podnet emulates kube-proxy's iptables mode only"]);
    expect(msgs(['--cluster-cidr'])).toEqual(['flag needs an argument: --cluster-cidr']);
  });

  it('a flag kube-proxy does not have is a notice; ones that do not change the rules are silent', () => {
    const { r, notices } = load(
      topology(daemonSet(['--masquerade-all', '--kube-api-qps=20', '--resource-container=""'])),
    );
    expect(r.model).toBeDefined();
    expect(notices.filter((n) => n.includes('flag'))).toEqual([
      "kube-proxy's settings are read from the flags of DaemonSet kube-system/kube-proxy",
      '--resource-container is not a flag of kube-proxy v1.30+; ignored',
    ]);
  });
});

describe('the shell form (sh -c "… exec kube-proxy …")', () => {
  it('reads the words after kube-proxy up to a redirect', () => {
    const yaml = topology(`---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: kube-proxy, namespace: kube-system }
spec:
  selector: { matchLabels: { k8s-app: kube-proxy } }
  template:
    metadata: { labels: { k8s-app: kube-proxy } }
    spec:
      hostNetwork: true
      containers:
        - name: kube-proxy
          image: registry.k8s.io/kube-proxy:v1.30.2
          command: [/bin/sh, -c, "exec /usr/local/bin/kube-proxy --masquerade-all --v=2 > /var/log/kube-proxy.log 2>&1"]
`);
    expect(soloRule(yaml)).toBe(`-A ${SOLO_SVC} ${MASQ_TAIL}`);
  });
});
