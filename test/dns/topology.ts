/**
 * A cluster for the DNS tests: kube-dns and two CoreDNS pods declared as kubeadm deploys them, and Services of every
 * type.
 */

/** kube-dns (10.96.0.10) and CoreDNS pods on node1 and node2, as kubeadm deploys them. */
export const KUBE_DNS = `apiVersion: v1
kind: Service
metadata: { name: kube-dns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  clusterIP: 10.96.0.10
  selector: { k8s-app: kube-dns }
  ports:
    - { name: dns, port: 53, protocol: UDP }
    - { name: dns-tcp, port: 53, protocol: TCP }
    - { name: metrics, port: 9153, protocol: TCP }
---
apiVersion: v1
kind: Pod
metadata: { name: coredns-0, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  nodeName: node1
  dnsPolicy: Default
  containers:
    - name: coredns
      ports: [{ name: dns, containerPort: 53, protocol: UDP }, { name: dns-tcp, containerPort: 53, protocol: TCP }, { name: metrics, containerPort: 9153 }]
---
apiVersion: v1
kind: Pod
metadata: { name: coredns-1, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  nodeName: node2
  dnsPolicy: Default
  containers:
    - name: coredns
      ports: [{ name: dns, containerPort: 53, protocol: UDP }, { name: dns-tcp, containerPort: 53, protocol: TCP }, { name: metrics, containerPort: 9153 }]
`;

/** The whole test cluster; `extra` documents are appended, `webReady` sets web-2's readiness. */
export function dnsCluster(extra = '', opts: { web2Ready?: boolean; clusterSpec?: string } = {}): string {
  return `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: dns-test }
spec:
  nodes:
    - { name: node1, ip: 172.18.0.2, podCIDR: 10.244.0.0/24 }
    - { name: node2, ip: 172.18.0.3, podCIDR: 10.244.1.0/24 }
  dns:
    upstream:
      my.database.example.com: 203.0.113.7
      example.com: 93.184.215.14
      www.example.org: cdn.example.net
      cdn.example.net: [198.51.100.1, 198.51.100.2]
${opts.clusterSpec ?? ''}
---
${KUBE_DNS}---
apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Namespace
metadata: { name: other }
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: shop }
spec:
  nodeName: node1
  containers: [{ name: c }]
---
apiVersion: v1
kind: Pod
metadata: { name: client }
spec:
  nodeName: node1
  containers: [{ name: c }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-a, namespace: shop, labels: { app: web } }
spec:
  nodeName: node1
  containers: [{ name: w, ports: [{ name: http, containerPort: 8080 }] }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-b, namespace: shop, labels: { app: web } }
spec:
  nodeName: node2
  containers: [{ name: w, ports: [{ name: http, containerPort: 8080 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  clusterIP: 10.96.100.10
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Service
metadata: { name: db, namespace: shop }
spec:
  type: ExternalName
  externalName: my.database.example.com
---
apiVersion: v1
kind: Service
metadata: { name: ipname, namespace: shop }
spec:
  type: ExternalName
  externalName: 203.0.113.9
---
apiVersion: v1
kind: Pod
metadata: { name: web-o, namespace: other, labels: { app: web } }
spec:
  nodeName: node2
  containers: [{ name: w, ports: [{ containerPort: 8080 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: other }
spec:
  clusterIP: 10.96.100.20
  selector: { app: web }
  ports: [{ port: 8080 }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-0, labels: { app: nginx } }
spec:
  nodeName: node1
  hostname: web-0
  subdomain: nginx
  containers: [{ name: nginx, ports: [{ name: web, containerPort: 80 }] }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-1, labels: { app: nginx } }
spec:
  nodeName: node2
  hostname: web-1
  subdomain: nginx
  containers: [{ name: nginx, ports: [{ name: web, containerPort: 80 }] }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-2, labels: { app: nginx } }
spec:
  nodeName: node2
  hostname: web-2
  subdomain: nginx
  containers: [{ name: nginx, ports: [{ name: web, containerPort: 80 }] }]
status:
  conditions: [{ type: Ready, status: "${opts.web2Ready === false ? 'False' : 'True'}" }]
---
apiVersion: v1
kind: Service
metadata: { name: nginx }
spec:
  clusterIP: None
  selector: { app: nginx }
  ports: [{ name: web, port: 80 }]
${extra}`;
}
