/**
 * podnet/wire: the byte formats, for writing packets and reading captures — each format's
 * zero-copy view class, its Repr with parse and emit functions, checksums, the protocol
 * constants, and the frame dissector. (The engine's own byte helpers stay inside.)
 */
export { WireError, isWireError } from './errors.js';
export { parseIpv4, formatIpv4, parseMac, formatMac, MAC_BROADCAST, MAC_ZERO } from './addr.js';
export type { Ipv4Addr, MacAddr, Cidr } from './addr.js';
export { checksum, pseudoHeaderSum, updateChecksum16, updateChecksum32 } from './checksum.js';
export {
  EthernetView,
  parseEthernet,
  emitEthernet,
  ETH_HLEN,
  ETHERTYPE_IPV4,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV6,
} from './ethernet.js';
export type { EthernetRepr } from './ethernet.js';
export { ArpView, parseArp, emitArp, ARP_LEN, ARPOP_REQUEST, ARPOP_REPLY } from './arp.js';
export type { ArpRepr } from './arp.js';
export {
  Ipv4View,
  parseIpv4Header,
  emitIpv4Header,
  IPV4_HLEN,
  IPV4_MAX_FRAG_OFFSET,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from './ipv4.js';
export type { Ipv4Repr } from './ipv4.js';
export {
  IcmpView,
  parseIcmp,
  emitIcmp,
  icmpLen,
  ICMP_HLEN,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_DEST_UNREACH,
  ICMP_TIME_EXCEEDED,
  ICMP_NET_UNREACH,
  ICMP_HOST_UNREACH,
  ICMP_PROTO_UNREACH,
  ICMP_PORT_UNREACH,
  ICMP_FRAG_NEEDED,
  ICMP_ADMIN_PROHIBITED,
  ICMP_TTL_EXCEEDED,
  ICMP_FRAG_REASM_EXCEEDED,
} from './icmp.js';
export type { IcmpRepr } from './icmp.js';
export { UdpView, parseUdp, emitUdp, emitUdpHeader, UDP_HLEN } from './udp.js';
export type { UdpRepr } from './udp.js';
export {
  TcpView,
  parseTcp,
  emitTcpHeader,
  tcpHeaderLen,
  parseTcpOptions,
  TCP_HLEN,
  TCP_MAX_HLEN,
  TCP_FIN,
  TCP_SYN,
  TCP_RST,
  TCP_PSH,
  TCP_ACK,
  TCP_URG,
  TCP_ECE,
  TCP_CWR,
  TCPOPT_EOL,
  TCPOPT_NOP,
  TCPOPT_MSS,
  TCPOPT_WSCALE,
  TCPOPT_SACK_PERM,
  TCPOPT_SACK,
  TCPOPT_TIMESTAMPS,
} from './tcp.js';
export type { TcpRepr, TcpOption } from './tcp.js';
export {
  VxlanView,
  parseVxlan,
  emitVxlan,
  VXLAN_HLEN,
  VXLAN_FLAG_I,
  VXLAN_PORT_LINUX,
  VXLAN_PORT_IANA,
} from './vxlan.js';
export type { VxlanRepr } from './vxlan.js';
export {
  DnsView,
  parseDns,
  emitDns,
  encodeDns,
  dnsLength,
  parseDnsTcpStream,
  frameDnsTcp,
  dnsHeader,
  optRecord,
  ednsOf,
  isOpt,
  reverseName,
  dnsTypeName,
  dnsTypeCode,
  dnsClassName,
  dnsRcodeName,
  DnsType,
  DnsClass,
  DnsRcode,
  DNS_PORT,
  DNS_HLEN,
  DNS_OPCODE_QUERY,
  DNS_MAX_LABEL,
  DNS_MAX_NAME_WIRE,
  DNS_UDP_PLAIN_MAX,
} from './dns.js';
export type { DnsHeader, DnsQuestion, DnsRData, DnsRecord, DnsMessage, DnsEmitOptions, Edns } from './dns.js';
export { dissectFrame, isMalformed } from './dissect.js';
export type {
  FrameDissection,
  DissectOptions,
  MalformedLayer,
  EthDissection,
  ArpDissection,
  IpDissection,
  IcmpDissection,
  IcmpQuoteDissection,
  UdpDissection,
  TcpDissection,
  VxlanDissection,
  DnsDissection,
} from './dissect.js';
