/**
 * One-line, tcpdump-style summaries of decoded frames, for trace lines and reports
 * (`10.244.1.3 > 10.244.2.2: ICMP echo request, id 1, seq 1, ttl 64, length 64`).
 */
import type {
  ArpDissection,
  DnsDissection,
  FrameDissection,
  IcmpDissection,
  IcmpQuoteDissection,
  IpDissection,
  MalformedLayer,
  TcpDissection,
  UdpDissection,
} from '../wire/dissect.js';
import { isMalformed } from '../wire/dissect.js';
import { ETHERTYPE_IPV6 } from '../wire/ethernet.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { DEST_UNREACH, ECHO_REPLY, ECHO_REQUEST, TIME_EXCEEDED } from '../wire/icmp.js';
import { UDP_HLEN } from '../wire/udp.js';

/**
 * One-line summary of a DNS message: `DNS query A web.shop.svc.cluster.local, id 4660` or `DNS response NXDOMAIN A x
 * (no answer), id 4660`.
 */
export function summarizeDns(m: DnsDissection): string {
  const q = m.questions[0];
  const what = q === undefined ? '(no question)' : `${q.type} ${q.name.replace(/\.$/, '')}`;
  const tc = m.flags.split(' ').includes('tc') ? ' [TC]' : '';
  if (!m.qr) return `DNS query ${what}${tc}, id ${m.id}`;
  const shown = m.answers.slice(0, 3).map((a) => a.split(' ').slice(3).join(' '));
  const more = m.answers.length > 3 ? `, +${m.answers.length - 3} more` : '';
  const ans = m.answers.length === 0 ? ' (no answer)' : `: ${shown.join(', ')}${more}`;
  return `DNS response ${m.rcode} ${what}${ans}${tc}, id ${m.id}`;
}

/**
 * One tcpdump-like line for a dissection, e.g. `10.244.1.3 > 10.244.2.2: ICMP echo request, id 1, seq 1, ttl 64, length
 * 64`.
 */
export function summarizeFrame(d: FrameDissection): string {
  const eth = d.eth;
  if (eth === undefined) return `[malformed: ${d.malformed ?? 'nothing decoded'}]`;
  if (isMalformed(eth)) return `[malformed: ${eth.malformed}]`;
  if (d.arp !== undefined) return summarizeArp(d.arp);
  if (d.ip !== undefined) return summarizeIp(d, d.ip);
  const name = eth.type === ETHERTYPE_IPV6 ? 'IPv6 ' : '';
  return `ethertype ${name}(0x${eth.type.toString(16).padStart(4, '0')}), length ${d.len}`;
}

function summarizeArp(a: ArpDissection | MalformedLayer): string {
  if (isMalformed(a)) return `ARP, [malformed: ${a.malformed}]`;
  if (a.op === 'request') return `ARP, Request who-has ${a.targetIp} tell ${a.senderIp}`;
  if (a.op === 'reply') return `ARP, Reply ${a.senderIp} is-at ${a.senderMac}`;
  return `ARP, op ${a.op}, sender ${a.senderIp} (${a.senderMac}), target ${a.targetIp} (${a.targetMac})`;
}

function protoName(p: number): string {
  return p === IPPROTO_ICMP ? 'ICMP' : p === IPPROTO_TCP ? 'TCP' : p === IPPROTO_UDP ? 'UDP' : `ip-proto-${p}`;
}

function summarizeIp(d: FrameDissection, ip: IpDissection | MalformedLayer): string {
  if (isMalformed(ip)) return `IP [malformed: ${ip.malformed}]`;
  const payload = ip.len - ip.hlen;
  const isFrag = ip.mf || ip.fragOffset > 0;
  const frag = isFrag ? ` (frag ${ip.id}:${payload}@${ip.fragOffset}${ip.mf ? '+' : ''})` : '';
  const badIp = ip.checksumOk ? '' : ' [bad ip cksum]';
  const hosts = `${ip.src} > ${ip.dst}`;
  if (ip.fragOffset > 0) return `${hosts}: ${protoName(ip.proto)}${frag}, ttl ${ip.ttl}${badIp}`;
  let line: string;
  if (d.icmp !== undefined) line = `${hosts}: ${summarizeIcmp(d.icmp, ip.ttl, isFrag)}`;
  else if (d.tcp !== undefined) line = summarizeTcp(d, ip, d.tcp, isFrag);
  else if (d.udp !== undefined) line = summarizeUdp(d, ip, d.udp, isFrag);
  else line = `${hosts}: ${protoName(ip.proto)} ${payload}, ttl ${ip.ttl}`;
  return line + frag + badIp;
}

function summarizeIcmp(icmp: IcmpDissection | MalformedLayer, ttl: number, isFrag: boolean): string {
  if (isMalformed(icmp)) return `ICMP [malformed: ${icmp.malformed}]`;
  const bad = icmp.checksumOk || isFrag ? '' : ' [bad icmp cksum]';
  const q = icmp.quote;
  const qdst = q === undefined ? '?' : isMalformed(q) ? '?' : q.dst;
  switch (icmp.type) {
    case ECHO_REQUEST:
    case ECHO_REPLY: {
      const what = icmp.type === ECHO_REQUEST ? 'request' : 'reply';
      return `ICMP echo ${what}, id ${icmp.id ?? 0}, seq ${icmp.seq ?? 0}, ttl ${ttl}, length ${icmp.len}${bad}`;
    }
    case DEST_UNREACH:
      return `ICMP ${describeUnreach(icmp.code, qdst, q, icmp.mtu)}${bad}`;
    case TIME_EXCEEDED:
      return `ICMP ${icmp.code === 0 ? 'time exceeded in-transit' : icmp.code === 1 ? 'ip reassembly time exceeded' : `time exceeded, code ${icmp.code}`}${bad}`;
    default:
      return `ICMP type ${icmp.type}, code ${icmp.code}, length ${icmp.len}${bad}`;
  }
}

function describeUnreach(
  code: number,
  qdst: string,
  q: IcmpQuoteDissection | MalformedLayer | undefined,
  mtu: number | undefined,
): string {
  switch (code) {
    case 0:
      return `net ${qdst} unreachable`;
    case 1:
      return `host ${qdst} unreachable`;
    case 2:
      return `${qdst} protocol ${q !== undefined && !isMalformed(q) ? q.proto : '?'} unreachable`;
    case 3: {
      const qq = q !== undefined && !isMalformed(q) ? q : undefined;
      const proto = qq === undefined ? '' : qq.proto === IPPROTO_TCP ? 'tcp ' : qq.proto === IPPROTO_UDP ? 'udp ' : '';
      return `${qdst} ${proto}port ${qq?.dport ?? '?'} unreachable`;
    }
    case 4:
      return `${qdst} unreachable - need to frag (mtu ${mtu ?? 0})`;
    case 13:
      return `host ${qdst} unreachable - admin prohibited filter`;
    default:
      return `${qdst} unreachable, code ${code}`;
  }
}

function summarizeTcp(
  d: FrameDissection,
  ip: IpDissection,
  tcp: TcpDissection | MalformedLayer,
  isFrag: boolean,
): string {
  if (isMalformed(tcp)) return `${ip.src} > ${ip.dst}: TCP [malformed: ${tcp.malformed}], ttl ${ip.ttl}`;
  const seq = tcp.len > 0 ? `${tcp.seq}:${(tcp.seq + tcp.len) >>> 0}` : `${tcp.seq}`;
  const ack = tcp.flags.includes('.') ? `, ack ${tcp.ack}` : '';
  const opts = tcp.options.length > 0 ? `, options [${tcp.options.join(',')}]` : '';
  const bad = tcp.checksumOk || isFrag ? '' : ' [bad tcp cksum]';
  const dns = d.dns === undefined ? '' : `: ${[d.dns, ...(d.dnsMore ?? [])].map(summarizeDns).join('; ')}`;
  return (
    `${ip.src}.${tcp.sport} > ${ip.dst}.${tcp.dport}: Flags [${tcp.flags}], seq ${seq}${ack}, win ${tcp.window}` +
    `${opts}, length ${tcp.len}${dns}, ttl ${ip.ttl}${bad}`
  );
}

function summarizeUdp(
  d: FrameDissection,
  ip: IpDissection,
  udp: UdpDissection | MalformedLayer,
  isFrag: boolean,
): string {
  if (isMalformed(udp)) return `${ip.src} > ${ip.dst}: UDP [malformed: ${udp.malformed}], ttl ${ip.ttl}`;
  const ends = `${ip.src}.${udp.sport} > ${ip.dst}.${udp.dport}`;
  const bad = udp.checksumOk || isFrag ? '' : ' [bad udp cksum]';
  if (d.vxlan !== undefined) {
    if (isMalformed(d.vxlan)) return `${ends}: VXLAN [malformed: ${d.vxlan.malformed}]${bad}`;
    const inner = d.inner === undefined ? '' : `: ${summarizeFrame(d.inner)}`;
    return `${ends}: VXLAN, vni ${d.vxlan.vni}${bad}${inner}`;
  }
  if (d.dns !== undefined) return `${ends}: ${summarizeDns(d.dns)}, ttl ${ip.ttl}${bad}`;
  return `${ends}: UDP, length ${udp.len - UDP_HLEN}, ttl ${ip.ttl}${bad}`;
}
