/** Emulated kube-proxy (iptables mode) with kubelet's and flannel's rules: see generate.ts. */
export {
  buildClusterRules,
  formatFixedExact,
  kubeProxyProbability,
  kubeProxyProbabilityText,
  type ClusterRules,
  type EndpointInfo,
  type KubeProxyOptions,
  type NodeServicePort,
  type ServicePortInfo,
} from './generate.js';
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
} from './hash.js';
