/** Emulated kube-proxy (iptables mode) with kubelet's and flannel's rules: the writers live in src/kube/agents/. */
export { buildClusterRules, type ClusterRules, type KubeProxyOptions } from '../agents/node-rules.js';
export { formatFixedExact, kubeProxyProbability, kubeProxyProbabilityText } from '../agents/kube-proxy/iptables.js';
export type { EndpointInfo, NodeServicePort, ServicePortInfo } from '../agents/kube-proxy/service-ports.js';
export {
  base32,
  extChain,
  fwChain,
  portProtoHash,
  protocolKey,
  sepChain,
  servicePortEndpointChainName,
  servicePortName,
  svcChain,
  svlChain,
} from '../agents/kube-proxy/hash.js';
