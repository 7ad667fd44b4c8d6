/**
 * kube-proxy's iptables chain names. A service port's chains are named by a hash of its
 * service port name and protocol; an endpoint's chain by a hash that also covers `ip:port`
 * (pkg/proxy/iptables/proxier.go: portProtoHash, servicePortEndpointChainName):
 * SHA-256, standard base32 (RFC 4648, A–Z2–7), first 16 characters.
 */
import { createHash } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Standard base32 with `=` padding (Go's base32.StdEncoding). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

function hash16(s: string): string {
  return base32(createHash('sha256').update(s, 'utf8').digest()).slice(0, 16);
}

/**
 * kube-proxy's portProtoHash: the 16-character suffix shared by a service port's KUBE-SVC-,
 * KUBE-SVL-, KUBE-EXT- and KUBE-FW- chains. `protocol` is hashed as given; kube-proxy passes
 * it lower-case (`tcp`, `udp`, `sctp`).
 */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return hash16(servicePortName + protocol);
}

/** kube-proxy's servicePortEndpointChainName: `KUBE-SEP-` + hash of name + protocol + `ip:port`. */
export function servicePortEndpointChainName(servicePortName: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${hash16(servicePortName + protocol + endpoint)}`;
}

/** `namespace/name`, plus `:portName` when the port is named (proxy.ServicePortName.String). */
export function servicePortName(namespace: string, name: string, portName: string | undefined): string {
  return portName === undefined || portName === '' ? `${namespace}/${name}` : `${namespace}/${name}:${portName}`;
}

/** Lower-cases a Kubernetes protocol (`TCP` → `tcp`) the way kube-proxy does before hashing. */
export function protocolKey(protocol: string): string {
  return protocol.toLowerCase();
}

/** KUBE-SVC-…: the cluster traffic policy chain. */
export function svcChain(spn: string, protocol: string): string {
  return `KUBE-SVC-${portProtoHash(spn, protocolKey(protocol))}`;
}

/** KUBE-SVL-…: the local traffic policy chain. */
export function svlChain(spn: string, protocol: string): string {
  return `KUBE-SVL-${portProtoHash(spn, protocolKey(protocol))}`;
}

/** KUBE-EXT-…: the external destinations chain (NodePort, externalIPs, LB IPs). */
export function extChain(spn: string, protocol: string): string {
  return `KUBE-EXT-${portProtoHash(spn, protocolKey(protocol))}`;
}

/** KUBE-FW-…: the loadBalancerSourceRanges firewall chain. */
export function fwChain(spn: string, protocol: string): string {
  return `KUBE-FW-${portProtoHash(spn, protocolKey(protocol))}`;
}

/** KUBE-SEP-…: an endpoint's chain; `endpoint` is `ip:port`. */
export function sepChain(spn: string, protocol: string, endpoint: string): string {
  return servicePortEndpointChainName(spn, protocolKey(protocol), endpoint);
}
