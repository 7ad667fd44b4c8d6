/**
 * The objects a kubeadm (v1.30) cluster with flannel has without anyone asking, as manifests that
 * go through the same readers and controllers as the input (so CoreDNS is a Deployment whose
 * ReplicaSet makes two pods, kube-proxy a DaemonSet, and so on). Each group is switched by the
 * Cluster's `spec.addons`:
 *
 *   kubernetesService: Service default/kubernetes (no selector; the service CIDR's first address,
 *     port https 443/TCP → 6443), its EndpointSlice `kubernetes` listing every control-plane node's
 *     address on 6443 (as the apiserver maintains it), and a hostNetwork static pod
 *     kube-system/kube-apiserver-<node> per control-plane node serving 6443/TCP.
 *   coreDNS: Service kube-system/kube-dns (the tenth address; ports dns 53/UDP, dns-tcp 53/TCP,
 *     metrics 9153/TCP; selector k8s-app=kube-dns) and Deployment kube-system/coredns (2 replicas,
 *     same ports, tolerating the control-plane taint; placed on the control-plane nodes, see
 *     controllers/scheduler.ts), whose pods get podnet's generic servers on those ports for now.
 *   kubeProxy: DaemonSet kube-system/kube-proxy (hostNetwork, tolerates every taint); not added for
 *     k3s's Nodes (k3s runs kube-proxy inside its binary; the rules are there all the same).
 *   flannel: Namespace kube-flannel and DaemonSet kube-flannel/kube-flannel-ds (hostNetwork,
 *     tolerates NoSchedule taints, linux nodes only); not added when the input shows a CNI of its
 *     own (another CNI's pods, flannel's under another name, or flannel's Node annotations
 *     without flannel pods, as k3s runs it in its binary; readers/export-inference.ts detectCni).
 *
 * What the input brings replaces the default: an object of the same kind, namespace and name; for
 * the workloads also pods of the input that are theirs (kube-system pods labelled
 * k8s-app=kube-dns for CoreDNS, k8s-app=kube-proxy for kube-proxy, component=kube-apiserver for the
 * apiserver, and app=flannel pods in kube-flannel or kube-system, or a kube-flannel-ds DaemonSet in
 * either, for flannel); for the kubernetes EndpointSlice also Endpoints default/kubernetes or any
 * EndpointSlice of that Service. So an imported cluster keeps its own CoreDNS, kube-dns and
 * kubernetes objects.
 */
import type { AddonsModel } from '../model.js';
import { labelOf } from './metadata.js';
import type { NodeDraft } from './readers/cluster.js';
import { SERVICE_NAME_LABEL } from './readers/endpoint-fields.js';
import { detectCni, k3sNodes } from './readers/export-inference.js';
import type { LoadState } from './state.js';
import { formatIpv4 } from './values.js';

/** How the addon manifests are named in diagnostics. */
export const ADDONS_FILE = '<built-in addons>';

const K8S_VERSION = 'v1.30.0';

/** The addon manifests to load for this input (an empty string when there are none). */
export function addonManifests(state: LoadState, addons: AddonsModel, nodes: readonly NodeDraft[]): string {
  const has = (kind: string, ns: string | undefined, name: string): boolean =>
    state.objects.some(
      (o) =>
        o.origin === 'user' && o.kind === kind && o.name === name && (ns === undefined || o.effectiveNamespace === ns),
    );
  const labelled = (namespaces: readonly string[], key: string, value: string): boolean =>
    state.objects.some(
      (o) =>
        o.origin === 'user' &&
        o.kind === 'Pod' &&
        namespaces.includes(o.effectiveNamespace ?? '') &&
        labelOf(o.root, key) === value,
    );
  const docs: string[] = [];

  if (addons.kubernetesService) {
    const cps = nodes.filter((n) => n.controlPlane && n.ip !== undefined);
    if (!has('Service', 'default', 'kubernetes')) docs.push(KUBERNETES_SERVICE);
    const sliceGiven =
      has('Endpoints', 'default', 'kubernetes') ||
      has('EndpointSlice', 'default', 'kubernetes') ||
      state.objects.some(
        (o) =>
          o.origin === 'user' &&
          o.kind === 'EndpointSlice' &&
          o.effectiveNamespace === 'default' &&
          labelOf(o.root, SERVICE_NAME_LABEL) === 'kubernetes',
      );
    if (!sliceGiven && cps.length > 0) docs.push(kubernetesSlice(cps.map((n) => formatIpv4(n.ip as number))));
    if (!labelled(['kube-system'], 'component', 'kube-apiserver')) {
      for (const n of cps)
        if (!has('Pod', 'kube-system', `kube-apiserver-${n.name}`))
          docs.push(apiserverPod(n.name, formatIpv4(n.ip as number)));
    }
  }
  if (addons.coreDNS) {
    if (!has('Service', 'kube-system', 'kube-dns')) docs.push(KUBE_DNS_SERVICE);
    const replaced =
      has('Deployment', 'kube-system', 'coredns') ||
      labelled(['kube-system'], 'k8s-app', 'kube-dns') ||
      state.objects.some(
        (o) =>
          o.origin === 'user' &&
          o.kind === 'ReplicaSet' &&
          o.effectiveNamespace === 'kube-system' &&
          labelOf(o.root, 'k8s-app') === 'kube-dns',
      );
    if (!replaced) docs.push(COREDNS_DEPLOYMENT);
  }
  if (
    addons.kubeProxy &&
    !k3sNodes(state) &&
    !has('DaemonSet', 'kube-system', 'kube-proxy') &&
    !labelled(['kube-system'], 'k8s-app', 'kube-proxy')
  )
    docs.push(KUBE_PROXY_DAEMONSET);
  if (addons.flannel) {
    // Another CNI's pods (or flannel's own under another name, or flannel outside pods as k3s runs
    // it) take flannel's place: podnet still runs flannel's data path (export-inference.ts says so).
    const replaced =
      detectCni(state) !== undefined ||
      has('DaemonSet', 'kube-flannel', 'kube-flannel-ds') ||
      has('DaemonSet', 'kube-system', 'kube-flannel-ds') ||
      labelled(['kube-flannel', 'kube-system'], 'app', 'flannel');
    if (!replaced) {
      if (!has('Namespace', undefined, 'kube-flannel')) docs.push(FLANNEL_NAMESPACE);
      docs.push(FLANNEL_DAEMONSET);
    }
  }
  return docs.join('---\n');
}

const KUBERNETES_SERVICE = `# kube-apiserver's own Service (it creates and maintains it)
apiVersion: v1
kind: Service
metadata:
  name: kubernetes
  namespace: default
  labels: { component: apiserver, provider: kubernetes }
spec:
  type: ClusterIP
  sessionAffinity: None
  ports:
    - { name: https, port: 443, protocol: TCP, targetPort: 6443 }
`;

function kubernetesSlice(ips: readonly string[]): string {
  return `# the apiserver endpoints: every control-plane node on 6443
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kubernetes
  namespace: default
  labels: { kubernetes.io/service-name: kubernetes }
addressType: IPv4
endpoints:
${ips.map((ip) => `  - { addresses: [${ip}], conditions: { ready: true } }`).join('\n')}
ports:
  - { name: https, port: 6443, protocol: TCP }
`;
}

function apiserverPod(node: string, ip: string): string {
  return `# kubeadm's static pod (/etc/kubernetes/manifests/kube-apiserver.yaml); the port is declared so podnet serves it
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver-${node}
  namespace: kube-system
  labels: { component: kube-apiserver, tier: control-plane }
  annotations: { kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: "${ip}:6443" }
spec:
  nodeName: ${node}
  hostNetwork: true
  priorityClassName: system-node-critical
  tolerations: [{ operator: Exists, effect: NoExecute }]
  containers:
    - name: kube-apiserver
      image: registry.k8s.io/kube-apiserver:${K8S_VERSION}
      ports: [{ name: https, containerPort: 6443, protocol: TCP }]
`;
}

const KUBE_DNS_SERVICE = `# kubeadm's CoreDNS Service (cmd/kubeadm/app/phases/addons/dns)
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: { k8s-app: kube-dns, kubernetes.io/cluster-service: "true", kubernetes.io/name: CoreDNS }
  annotations: { prometheus.io/port: "9153", prometheus.io/scrape: "true" }
spec:
  selector: { k8s-app: kube-dns }
  ports:
    - { name: dns, port: 53, protocol: UDP, targetPort: 53 }
    - { name: dns-tcp, port: 53, protocol: TCP, targetPort: 53 }
    - { name: metrics, port: 9153, protocol: TCP, targetPort: 9153 }
`;

const COREDNS_DEPLOYMENT = `# kubeadm's CoreDNS Deployment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: { k8s-app: kube-dns }
spec:
  replicas: 2
  selector: { matchLabels: { k8s-app: kube-dns } }
  template:
    metadata:
      labels: { k8s-app: kube-dns }
    spec:
      priorityClassName: system-cluster-critical
      serviceAccountName: coredns
      dnsPolicy: Default
      nodeSelector: { kubernetes.io/os: linux }
      tolerations:
        - { key: CriticalAddonsOnly, operator: Exists }
        - { key: node-role.kubernetes.io/control-plane, effect: NoSchedule }
      containers:
        - name: coredns
          image: registry.k8s.io/coredns/coredns:v1.11.1
          args: [-conf, /etc/coredns/Corefile]
          ports:
            - { name: dns, containerPort: 53, protocol: UDP }
            - { name: dns-tcp, containerPort: 53, protocol: TCP }
            - { name: metrics, containerPort: 9153, protocol: TCP }
`;

const KUBE_PROXY_DAEMONSET = `# kubeadm's kube-proxy DaemonSet (iptables mode)
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-proxy
  namespace: kube-system
  labels: { k8s-app: kube-proxy }
spec:
  selector: { matchLabels: { k8s-app: kube-proxy } }
  template:
    metadata:
      labels: { k8s-app: kube-proxy }
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      serviceAccountName: kube-proxy
      nodeSelector: { kubernetes.io/os: linux }
      tolerations: [{ operator: Exists }]
      containers:
        - name: kube-proxy
          image: registry.k8s.io/kube-proxy:${K8S_VERSION}
          command: [/usr/local/bin/kube-proxy, --config=/var/lib/kube-proxy/config.conf, --hostname-override=$(NODE_NAME)]
`;

const FLANNEL_NAMESPACE = `# kube-flannel.yml
apiVersion: v1
kind: Namespace
metadata:
  name: kube-flannel
  labels: { k8s-app: flannel, pod-security.kubernetes.io/enforce: privileged }
`;

const FLANNEL_DAEMONSET = `# kube-flannel.yml
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-flannel-ds
  namespace: kube-flannel
  labels: { app: flannel, k8s-app: flannel, tier: node }
spec:
  selector: { matchLabels: { app: flannel, k8s-app: flannel } }
  template:
    metadata:
      labels: { app: flannel, k8s-app: flannel, tier: node }
    spec:
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions: [{ key: kubernetes.io/os, operator: In, values: [linux] }]
      hostNetwork: true
      priorityClassName: system-node-critical
      serviceAccountName: flannel
      tolerations: [{ effect: NoSchedule, operator: Exists }]
      containers:
        - name: kube-flannel
          image: docker.io/flannel/flannel:v0.25.1
          command: [/opt/bin/flanneld]
          args: [--ip-masq, --kube-subnet-mgr]
`;
