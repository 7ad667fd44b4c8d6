/**
 * Kept for importers not yet moved (src/api): a node's rules are now written by the agents in
 * src/kube/agents/ (kube-proxy/iptables.ts, kubelet.ts, flannel.ts) and composed by node-rules.ts.
 */
export { buildClusterRules, type ClusterRules, type KubeProxyOptions } from '../agents/node-rules.js';
export { formatFixedExact, kubeProxyProbability, kubeProxyProbabilityText } from '../agents/kube-proxy/iptables.js';
export type { EndpointInfo, NodeServicePort, ServicePortInfo } from '../agents/kube-proxy/service-ports.js';
