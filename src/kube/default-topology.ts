/**
 * The topology podnet runs when given none: the smallest cluster that shows both pod-to-pod
 * paths (same node through the cni0 bridge, cross node through flannel VXLAN), with what kubeadm
 * and flannel add to every cluster (the Cluster's default addons).
 */

/** How the built-in topology is named in diagnostics and traces. */
export const DEFAULT_TOPOLOGY_NAME = '<built-in default>';

export const DEFAULT_TOPOLOGY_YAML = `# podnet built-in default topology: two nodes, three pods, four probes.
#
# It looks like a two-node kubeadm cluster with flannel: node1 is the control plane (tainted
# node-role.kubernetes.io/control-plane:NoSchedule; the three pods below are pinned with nodeName,
# which bypasses the taint) and runs the two CoreDNS pods at 10.244.0.2 and .3, so client is
# 10.244.0.4, web-0 10.244.0.5 and web-1 10.244.1.2; both nodes run kube-proxy and flannel
# (hostNetwork); default/kubernetes (10.96.0.1) and kube-system/kube-dns (10.96.0.10) exist.
#
# What to look at:
#   - ping-same-node: client -> web-0, both on node1. The packet leaves client's eth0, crosses
#     its veth into the cni0 bridge and is bridged straight into web-0's veth; it is never routed
#     through flannel.1, and the TTL web-0 sees is still 64.
#   - ping-cross-node: client (node1, 10.244.0.0/24) -> web-1 (node2, 10.244.1.0/24). node1 routes
#     10.244.1.0/24 via 10.244.1.0 dev flannel.1; the VXLAN device wraps the frame in
#     UDP 8472 (VNI 1) from 172.18.0.2 to 172.18.0.3; node2 unwraps it and routes it to cni0.
#     Pod MTU is 1450 = 1500 - 50 bytes of encapsulation.
#   - tcp-cross-node / udp-cross-node: the same path for a TCP connection to web-1's server on
#     8080/TCP (it answers "<pod> <client-ip> <client-port>" and closes), and a UDP datagram to
#     7777/UDP from a pinned source port 40001. \`podnet trace\` with no flags traces tcp-cross-node.
apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata:
  name: podnet
spec:
  nodes:
    - name: node1
      ip: 172.18.0.2
      podCIDR: 10.244.0.0/24
    - name: node2
      ip: 172.18.0.3
      podCIDR: 10.244.1.0/24
---
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  nodeName: node1
  containers:
    - name: client
      image: podnet/toolbox
---
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  labels:
    app: web
spec:
  nodeName: node1
  containers:
    - name: web
      image: podnet/echo
      ports:
        - name: http
          containerPort: 8080
          protocol: TCP
        - name: echo
          containerPort: 7777
          protocol: UDP
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels:
    app: web
spec:
  nodeName: node2
  containers:
    - name: web
      image: podnet/echo
      ports:
        - name: http
          containerPort: 8080
          protocol: TCP
        - name: echo
          containerPort: 7777
          protocol: UDP
---
apiVersion: podnet.dev/v1alpha1
kind: Scenario
metadata:
  name: basics
spec:
  probes:
    # first, so that a bare \`podnet trace\` shows it: ARP, the bridge, routing, VXLAN both ways
    - name: tcp-cross-node
      from: client
      to: pod/web-1:8080
      protocol: tcp
    - name: ping-same-node
      from: client
      to: pod/web-0
      protocol: icmp
      count: 3
    - name: ping-cross-node
      from: client
      to: pod/web-1
      protocol: icmp
      count: 3
    - name: udp-cross-node
      from: client
      to: pod/web-1:7777
      protocol: udp
      sourcePort: 40001
`;
