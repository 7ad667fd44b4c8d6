/**
 * Hop events as text for people: the one-line description of each event (the DETAILS column of
 * `podnet trace`, the `text` of JSON events) and the comment a capture writes on each packet.
 * This is the only place those words are made.
 */
import type {
  AppEvent,
  ArpEvent,
  BridgeEvent,
  CtEntryRef,
  DeliverEvent,
  DropDetail,
  FdbEvent,
  ForwardEvent,
  FragEvent,
  HopEvent,
  IcmpEvent,
  NatEvent,
  NeighCause,
  NeighEvent,
  NfEvent,
  RouteEvent,
  RuleRef,
  SocketRef,
  TupleRef,
  UpstreamTroubleRef,
} from '../events/hop.js';
import type { PacketNotes } from '../events/tracer.js';
import { summarizeFrame } from './frame-summary.js';
import { fqdn } from '../wire/dns.js';
import { displayText } from '../wire/text.js';

/** The description of a hop event (without time and place). */
export function hopText(ev: HopEvent): string {
  switch (ev.kind) {
    case 'tx':
    case 'rx':
      return ev.frame === undefined ? `${ev.kind} ${ev.len} bytes` : `${ev.kind} ${summarizeFrame(ev.frame)}`;
    case 'bridge':
      return bridgeText(ev);
    case 'fdb':
      return fdbText(ev);
    case 'route':
      return routeText(ev);
    case 'neigh':
      return neighText(ev);
    case 'arp':
      return arpText(ev);
    case 'forward':
      return forwardText(ev);
    case 'encap':
      return `VXLAN encap: inner ${ev.innerMac} → VTEP ${ev.remote} (fdb), vni ${ev.vni}, udp ${ev.sport} → ${ev.dport}, outer ${ev.local} → ${ev.remote} ttl ${ev.ttl}`;
    case 'decap':
      return `VXLAN decap: vni ${ev.vni} from ${ev.remote}:${ev.sport}, inner frame to ${ev.dev ?? '?'}`;
    case 'deliver':
      return deliverText(ev);
    case 'icmp':
      return icmpText(ev);
    case 'frag':
      return fragText(ev);
    case 'nf':
      return nfText(ev);
    case 'nat':
      return natText(ev);
    case 'drop':
      return `drop: ${dropText(ev.detail)}`;
    case 'app':
      return appText(ev);
  }
}

/** The pcapng comment of a captured frame: where it was seen, then what happened to it since its previous capture. */
export function captureComment(notes: PacketNotes): string {
  const p = notes.point;
  const where = `${notes.dir === 'out' ? 'sent by' : 'received by'} ${p.name}${p.role ? ` (${p.role})` : ''}`;
  const evs = notes.events;
  if (evs.length === 0) return where;
  // joined, not concatenated: the pcapng writer encodes a flat string without flattening a rope first
  const parts = [where];
  for (let i = 0; i < evs.length; i++) parts.push(hopText(evs[i]!));
  return parts.join('; ');
}

function bridgeText(ev: BridgeEvent): string {
  switch (ev.action) {
    case 'flood':
      if (ev.reason === 'unknown-unicast')
        return `unknown unicast ${ev.mac}${ev.inPort === undefined ? ' from the host' : ''}: flood`;
      return `${ev.reason} from ${ev.inPort ?? 'the host'}: flood to ports${ev.up ? ' and pass a copy up to the host' : ''}`;
    case 'local':
      return `dst ${ev.mac} is ${ev.owner}'s own MAC: up to the host stack`;
    case 'forward':
      return `forward to port ${ev.port}${ev.hairpin ? ' (hairpin: back out the ingress port)' : ''} (${ev.by})`;
  }
}

function fdbText(ev: FdbEvent): string {
  return ev.action === 'learn'
    ? `learned ${ev.mac} on port ${ev.port}`
    : `fdb entry ${ev.mac} aged out (${ev.ageingTime / 1e9}s without traffic from it)`;
}

function routeText(ev: RouteEvent): string {
  switch (ev.what) {
    case 'output': {
      const via = ev.local
        ? 'lo (local)'
        : `${ev.out}${ev.route.gateway !== undefined ? ` gw ${ev.route.gateway}` : ''}`;
      return `route output: ${ev.dst} via ${via} src ${ev.src} (${ev.route.spec})`;
    }
    case 'input-local':
      return `route input: ${ev.dst} is ${ev.type} → deliver to this host`;
    case 'input-unreachable':
      return `route input: no route to ${ev.dst}`;
    case 'pmtu':
      return `learned path MTU ${ev.mtu} toward ${ev.dst} (expires in ${ev.expires / 1e9}s)`;
  }
}

const NEIGH_CAUSE: { readonly [C in NeighCause]: string } = {
  resolving: 'resolving',
  'first-use-of-stale': 'first use of a stale entry',
  'reachable-expired-used': 'reachable time expired, recently used',
  'reachable-expired': 'reachable time expired',
  'confirmed-during-delay': 'confirmed during delay',
  'no-confirmation': 'no confirmation',
  'no-reply': 'no reply',
  'learned-from-request': 'learned from ARP request',
  'arp-reply': 'ARP reply',
  'arp-request-seen': 'ARP request seen',
};

function neighText(ev: NeighEvent): string {
  if (ev.what === 'queued') return `queued waiting for ARP resolution of ${ev.ip} on ${ev.dev ?? '?'}`;
  let cause = NEIGH_CAUSE[ev.cause];
  if (ev.cause === 'no-confirmation') cause = `no confirmation ${(ev.count ?? 0) / 1e9}s after first use`;
  else if (ev.cause === 'no-reply') cause = `no reply after ${ev.count ?? 0} probes`;
  return `neigh ${ev.ip} dev ${ev.dev ?? '?'}${ev.lladdr !== undefined ? ` lladdr ${ev.lladdr}` : ''} ${ev.from} → ${ev.to} (${cause})`;
}

function arpText(ev: ArpEvent): string {
  switch (ev.what) {
    case 'solicit':
      return `ARP ${ev.unicast ? 'unicast probe' : 'broadcast request'}: who-has ${ev.target} tell ${ev.sender} (neigh ${ev.state}, probe ${ev.probe})`;
    case 'answer':
      return `ARP request for ${ev.announced ? 'announced load-balancer' : 'local'} ${ev.target} from ${ev.sender}: replying is-at ${ev.mac}`;
    case 'ignored': {
      const what = ev.op === 'request' ? `request who-has ${ev.target}` : `reply ${ev.sender} is-at ${ev.senderMac}`;
      return `ARP ${what}: not for us, no entry for ${ev.sender} (ignored)`;
    }
    case 'reply':
      return `ARP reply ${ev.sender} is-at ${ev.mac}`;
  }
}

function forwardText(ev: ForwardEvent): string {
  switch (ev.what) {
    case 'forward':
      return `forward ${ev.in} → ${ev.out} via ${ev.gateway ?? 'direct'} (route ${ev.route.spec}), TTL ${ev.ttlBefore}→${ev.ttlAfter}`;
    case 'ttl-expired':
      return `TTL ${ev.ttl} would expire → ICMP time exceeded`;
    case 'frag-needed':
      return `${ev.len} bytes with DF exceed ${ev.out} MTU ${ev.mtu} → ICMP fragmentation needed`;
  }
}

function socketText(s: SocketRef): string {
  return `${s.local} → ${s.remote}`;
}

function deliverText(ev: DeliverEvent): string {
  switch (ev.what) {
    case 'udp':
      return `delivered to UDP socket ${ev.addr}:${ev.port}`;
    case 'udp-no-socket':
      return `no UDP socket on port ${ev.port}`;
    case 'ping':
      return `echo reply id ${ev.id} seq ${ev.seq} delivered to ping`;
    case 'ping-no-socket':
      return `echo reply id ${ev.id}: no ping socket waiting`;
    case 'tcp':
      return `to TCP socket ${socketText(ev.socket)} (${ev.state})`;
    case 'tcp-listener':
      return `SYN to listening port ${ev.port}`;
    case 'tcp-no-socket':
      return `no socket for TCP port ${ev.port}: sending RST`;
    case 'icmp-error':
      if (ev.socket === 'ping') return `${ev.error.message} reported to ping`;
      if (ev.socket === 'udp') return `${ev.error.message} reported to UDP socket :${ev.port ?? '?'}`;
      return ev.error.message;
    case 'icmp-ignored':
      return `ICMP type ${ev.icmpType} ignored`;
  }
}

/** The name of an ICMP error as traces give it (`ICMP port unreachable`). */
export function icmpErrorName(type: number, code: number): string {
  if (type === 11) return code === 1 ? 'ICMP fragment reassembly time exceeded' : 'ICMP time exceeded in transit';
  if (type === 3) {
    switch (code) {
      case 0:
        return 'ICMP net unreachable';
      case 1:
        return 'ICMP host unreachable';
      case 2:
        return 'ICMP protocol unreachable';
      case 3:
        return 'ICMP port unreachable';
      case 4:
        return 'ICMP fragmentation needed';
      case 13:
        return 'ICMP administratively prohibited';
      default:
        return `ICMP destination unreachable (code ${code})`;
    }
  }
  return `ICMP type ${type} code ${code}`;
}

function icmpText(ev: IcmpEvent): string {
  switch (ev.what) {
    case 'echo-reply':
      return `kernel echo responder: echo reply ${ev.src} → ${ev.dst} id ${ev.id} seq ${ev.seq}`;
    case 'error':
      return `${icmpErrorName(ev.icmpType, ev.code)} ${ev.src} → ${ev.dst}${ev.mtu !== undefined ? ` (next-hop MTU ${ev.mtu})` : ''}`;
    case 'ratelimited':
      return `ICMP type ${ev.icmpType} code ${ev.code} to ${ev.dst} suppressed by icmp_ratelimit`;
  }
}

function fragText(ev: FragEvent): string {
  switch (ev.what) {
    case 'fragmented':
      return `fragmented ${ev.len} bytes for ${ev.out} MTU ${ev.mtu} into ${ev.sizes.join(' + ')}`;
    case 'queued':
      return `fragment id ${ev.id} bytes ${ev.offset}–${ev.end} of ${ev.total ?? '?'} queued for reassembly`;
    case 'reassembled':
      return `reassembled ${ev.fragments} fragments of id ${ev.id} from ${ev.src} into ${ev.len} bytes`;
  }
}

const ruleTexts = new WeakMap<RuleRef, string>();

/** A matched rule as traces name it: `KUBE-SVC-…#2 "default/web:http" → KUBE-SEP-…`. */
export function ruleText(r: RuleRef): string {
  let s = ruleTexts.get(r);
  if (s === undefined) {
    const jump = r.jump === undefined ? '' : ` → ${r.jump === 'goto' ? `goto ${r.target ?? '?'}` : (r.target ?? '?')}`;
    s = `${r.chain}#${r.index}${r.comment !== undefined ? ` "${r.comment}"` : ''}${jump}`;
    ruleTexts.set(r, s);
  }
  return s;
}

function nfText(ev: NfEvent): string {
  switch (ev.what) {
    case 'traversal': {
      const path = ev.rules.map(ruleText).join(' → ');
      const verdict = ev.policy ? `policy ${ev.verdict}` : (ev.target ?? ev.verdict);
      return `iptables ${ev.table}/${ev.hook}${ev.bridged ? ' (bridged)' : ''}: ${path}${path ? ' ⇒ ' : ''}${verdict}`;
    }
    case 'defrag':
      return `conntrack defrag: reassembled ${ev.len} bytes (largest fragment ${ev.largest})`;
    case 'log':
      return `LOG ${JSON.stringify(ev.prefix)} in ${ev.table}/${ev.chain}`;
    case 'recent-set':
      return `recent ${ev.list}: set ${ev.addr}`;
    case 'bridged-dnat': {
      if (ev.mac !== undefined) {
        return `bridged DNAT: ${ev.dst} is behind ${ev.bridge} itself, so the frame is bridged, not routed: destination MAC → ${ev.mac}, source MAC kept, TTL unchanged`;
      }
      const why =
        ev.neighState === undefined
          ? 'its MAC is unknown'
          : `its neighbour entry is ${ev.neighState}${ev.connected ? ' without a cached header (the host never sent through it)' : ''}`;
      return `bridged DNAT: ${ev.dst} is behind ${ev.bridge} but ${why}; the frame goes out through ${ev.bridge}'s neighbour output, then on from ${ev.inPort ?? '?'}`;
    }
    case 'dnat-routed':
      return `DNAT to ${ev.dst} routes elsewhere: the frame goes up to ${ev.where}'s IP stack`;
    case 'extension':
      return ev.message;
  }
}

/** A conntrack tuple as `conntrack -L` prints it. */
function ctTupleText(t: TupleRef, proto: string): string {
  return proto === 'icmp'
    ? `src=${t.src} dst=${t.dst} type=${t.dport} id=${t.sport}`
    : `src=${t.src} dst=${t.dst} sport=${t.sport} dport=${t.dport}`;
}

/** A conntrack entry as `conntrack -L` prints it. */
export function ctEntryText(e: CtEntryRef): string {
  const state = e.tcpState === undefined ? '' : `${e.tcpState} `;
  const unreplied = e.seenReply ? '' : '[UNREPLIED] ';
  return `${e.proto} ${state}${ctTupleText(e.orig, e.proto)} ${unreplied}${ctTupleText(e.reply, e.proto)}${e.assured ? ' [ASSURED]' : ''}`;
}

function arrowTuple(t: TupleRef): string {
  return `${t.src}:${t.sport} → ${t.dst}:${t.dport}`;
}

function natText(ev: NatEvent): string {
  switch (ev.what) {
    case 'lookup':
      if (ev.created) return `conntrack: new flow ${ctEntryText(ev.entry)}`;
      return `conntrack: ${ev.ctstate} ${ev.reply ? 'reply' : 'original'} direction of ${ctEntryText(ev.entry)}`;
    case 'reopen':
      return `conntrack: a SYN reopens a ${ev.entry.tcpState === 'CLOSE' ? 'reset' : 'closed'} connection (${ev.entry.tcpState ?? '?'}): its entry is killed and the packet looked up again (-NF_REPEAT), old NAT dropped: ${ctEntryText(ev.entry)}`;
    case 'confirm':
      if (ev.clash === 'joined')
        return `conntrack clash resolved: the same flow was confirmed meanwhile, the packet joins it: ${ctEntryText(ev.entry)}`;
      if (ev.clash === 'reply-only')
        return `conntrack clash resolved: inserted by its reply tuple only, for 1s: ${ctEntryText(ev.entry)}`;
      return `conntrack confirmed: ${ctEntryText(ev.entry)}`;
    case 'binding':
      if (ev.type === 'DNAT')
        return `conntrack DNAT binding: ${ev.from} → ${ev.to}; replies will look like ${arrowTuple(ev.reply)}`;
      return `conntrack ${ev.type} binding: source ${ev.from} → ${ev.to}${ev.type === 'MASQUERADE' ? ` (${ev.device ?? '?'}'s address${ev.randomFully ? ', --random-fully port' : ''})` : ''}`;
    case 'remap':
      return `conntrack: reply tuple clashes with another flow, source port remapped ${ev.from} → ${ev.to}`;
    case 'rewrite':
      return `${ev.op}: ${ev.side} ${ev.from} → ${ev.to}`;
    case 'related':
      return `NAT of a related ICMP error: ${ev.before.src} → ${ev.before.dst} becomes ${ev.after.src} → ${ev.after.dst} (quoted header translated too)`;
  }
}

/** The particulars of a drop as one phrase (`no route`, `packet too big for cni0 (mtu 1450)`). */
export function dropText(d: DropDetail): string {
  switch (d.what) {
    case 'device-down':
      return 'device is down';
    case 'peer-down':
      return `peer ${d.peer} is down`;
    case 'exceeds-peer-mtu':
      return `frame of ${d.len} bytes exceeds ${d.peer} MTU ${d.mtu}`;
    case 'runt-frame':
      return 'runt frame';
    case 'unhandled-ethertype':
      return `ethertype 0x${d.ethertype.toString(16).padStart(4, '0')} not handled`;
    case 'other-host':
      return 'frame addressed to another host';
    case 'malformed-ipv4':
      return `malformed IPv4: ${d.error}`;
    case 'bad-ip-checksum':
      return 'bad IPv4 header checksum';
    case 'martian-source':
      return `martian source ${d.src}`;
    case 'no-route':
      return 'no route';
    case 'route-type':
      return `${d.type} route ${d.route}`;
    case 'forwarding-off':
      return `not addressed to ${d.host} and forwarding is off`;
    case 'link-broadcast':
      return 'link-layer broadcast is not forwarded';
    case 'route-without-device':
      return 'route without device';
    case 'ttl-exceeded':
      return 'TTL exceeded in transit';
    case 'too-big':
      return `packet too big for ${d.out} (mtu ${d.mtu})${d.df ? ' and DF set' : ''}`;
    case 'no-route-after-nat':
      return `no route to ${d.dst} after NAT (${d.error})`;
    case 'no-route-for-echo-reply':
      return `no route back to ${d.dst} for the echo reply`;
    case 'protocol-unsupported':
      return `protocol ${d.protocol} not supported`;
    case 'malformed-icmp':
      return 'malformed ICMP';
    case 'bad-icmp-checksum':
      return 'bad ICMP checksum';
    case 'echo-to-broadcast':
      return 'echo request to a broadcast address ignored (icmp_echo_ignore_broadcasts)';
    case 'icmp-short-quote':
      return 'ICMP error with a malformed or short quote';
    case 'malformed-udp':
      return 'malformed UDP';
    case 'bad-udp-checksum':
      return 'bad UDP checksum';
    case 'udp-port-unreachable':
      return `UDP port ${d.port} unreachable`;
    case 'malformed-tcp':
      return 'malformed TCP';
    case 'bad-tcp-checksum':
      return 'bad TCP checksum';
    case 'neigh-failed':
      return `ARP for ${d.ip} failed`;
    case 'neigh-queue-full':
      return `neighbour ${d.ip} unresolved queue full`;
    case 'malformed-arp':
      return `malformed ARP: ${d.error}`;
    case 'arp-other-host':
      return 'ARP frame for another host';
    case 'arp-invalid-address':
      return 'ARP for multicast/loopback or from 0.0.0.0 ignored';
    case 'frag-overlap':
      return 'overlapping IP fragment';
    case 'frag-timeout':
      return 'fragment reassembly timed out';
    case 'netfilter':
      return `dropped by iptables ${d.table}/${d.hook}`;
    case 'conntrack-clash':
      return 'conntrack insert clash (insert_failed)';
    case 'invalid-source-mac':
      return `invalid source MAC ${d.mac}`;
    case 'hairpin-off':
      return `destination is behind the ingress port ${d.port} and hairpin mode is off`;
    case 'own-mac-from-host':
      return 'frame from the host to its own MAC';
    case 'vxlan-no-fdb':
      return `no VXLAN fdb entry for ${d.mac} (flannel installs one per remote node)`;
    case 'vxlan-no-underlay-route':
      return `no underlay route to VTEP ${d.remote}`;
    case 'vxlan-short':
      return 'VXLAN datagram too short';
    case 'vxlan-vni-mismatch':
      return `VXLAN vni ${d.vni} does not match ${d.device} (vni ${d.deviceVni})`;
  }
}

function appText(ev: AppEvent): string {
  switch (ev.app) {
    case 'tcp':
      return `tcp ${tcpSocketText(ev)}`;
    case 'ping':
      if (ev.what === 'reply')
        return `ping: ${ev.bytes} bytes from ${ev.from}: icmp_seq=${ev.seq} ttl=${ev.ttl} time=${(ev.rttNs / 1e6).toFixed(3)} ms`;
      return ev.seq === undefined ? `ping: ${ev.error}` : `ping: ${ev.error} (icmp_seq=${ev.seq})`;
    case 'tcp-client':
      if (ev.what === 'read')
        return `tcp client ${socketText(ev.socket)}: read ${JSON.stringify(ev.received)} then EOF; closing`;
      return `tcp client ${socketText(ev.socket)}: ${ev.connecting ? 'Connection timed out' : 'timed out waiting for the reply'} after ${ev.timeout / 1e9}s`;
    case 'udp-client':
      if (ev.what === 'reply')
        return `udp client :${ev.port}: reply from ${ev.from}:${ev.fromPort} ${JSON.stringify(ev.received)}`;
      return `udp client :${ev.port}: ${ev.error}`;
    case 'probe':
      return ev.attempt ? `${ev.protocol}: ${resolveFailure(ev)}` : resolveFailure(ev);
    case 'resolver':
      return `${ev.tag}: ${resolverText(ev)}`;
    case 'coredns':
      return `coredns: ${coreDnsText(ev)}`;
    case 'upstream-dns':
      return `resolver: ${ev.proto} ${ev.client} ${ev.type} ${fqdn(ev.name)} → ${ev.rcode}, ${ev.answers} answer${ev.answers === 1 ? '' : 's'} (upstream table)${ev.truncated === true ? ' [TC]' : ''}`;
  }
}

function resolveFailure(ev: Extract<AppEvent, { app: 'probe' }>): string {
  // the name is what the probe or `podnet dig` was given, unchecked: shown escaped
  const name = displayText(ev.name);
  return ev.protocol === 'icmp' ? `ping: ${name}: ${ev.error}` : `Could not resolve host: ${name} (${ev.error})`;
}

function tcpSocketText(ev: Extract<AppEvent, { app: 'tcp' }>): string {
  const s = socketText(ev.socket);
  const d = ev.detail;
  switch (ev.what) {
    case 'connect':
      return `connect ${s}: SYN_SENT`;
    case 'close':
      return `close ${s}: FIN sent, ${ev.state}`;
    case 'give-up':
      return `${s}: ${d.retries ?? 0} retransmissions unanswered, giving up (ETIMEDOUT)`;
    case 'retransmit':
      return `${s}: retransmission timeout, resending ${d.flags ?? '?'} (retry ${d.retry ?? 0}, next RTO ${(d.rto ?? 0) / 1e9}s)`;
    case 'refused':
      return `${s}: connection refused (RST)`;
    case 'established':
      return `${s}: SYN-ACK received, ESTABLISHED`;
    case 'reset':
      return `${s}: reset by peer`;
    case 'accepted':
      return `${s}: handshake complete, ESTABLISHED (accepted)`;
    case 'fin-acked':
      return `${s}: FIN acknowledged, ${ev.state}`;
    case 'closed':
      return `${s}: FIN acknowledged, CLOSED`;
    case 'close-wait':
      return `${s}: FIN received, CLOSE_WAIT`;
    case 'syn-received':
      return `${s}: SYN received, SYN_RECV, sending SYN-ACK`;
    case 'time-wait':
      return `${s}: TIME_WAIT for ${(d.duration ?? 0) / 1e9}s`;
    case 'pmtu':
      return `${s}: path MTU ${d.mtu ?? '?'}, MSS now ${d.mss ?? '?'}`;
    case 'error':
      return `${s}: ${d.error ?? '?'}`;
  }
}

function resolverText(ev: Extract<AppEvent, { app: 'resolver' }>): string {
  switch (ev.what) {
    case 'start':
      return `getaddrinfo("${displayText(ev.name)}"): ${ev.dots} dot${ev.dots === 1 ? '' : 's'}, ndots:${ev.ndots}${ev.trailingDot ? ', trailing dot: no search list' : ''}, nameserver ${ev.nameservers.join(' ') || '(none: 127.0.0.1)'}`;
    case 'result':
      return `getaddrinfo("${displayText(ev.name)}") = ${ev.addresses.join(', ')}${ev.source === 'hosts' ? ' (/etc/hosts)' : ''}`;
    case 'failed':
      return `getaddrinfo("${displayText(ev.name)}") failed: ${ev.error}`;
    case 'query':
      return `query ${ev.type} ${fqdn(ev.name)} → ${ev.server}:53 ${ev.proto} from :${ev.sourcePort}, id ${ev.id}`;
    case 'answer':
      return `answer ${ev.type} ${fqdn(ev.name)} id ${ev.id}: ${ev.rcode}${ev.answers.length > 0 ? ` ${ev.answers.join(', ')}` : ''}${ev.truncated ? ' [TC]' : ''}`;
    case 'partial':
      return `only ${ev.received} of ${ev.sent} answers within ${ev.timeout / 1e9}s: retrying one query at a time`;
    case 'timeout':
      return ev.proto === 'udp'
        ? `no answer from ${ev.server}:53 within ${ev.timeout / 1e9}s`
        : `no answer over TCP from ${ev.server}:53 within ${ev.timeout / 1e9}s`;
    case 'error':
      return ev.proto === 'udp' ? `${ev.server}:53: ${ev.error}` : `TCP to ${ev.server}:53: ${ev.error}`;
    case 'referral':
      return `referral from ${ev.server}: trying the next server`;
    case 'truncated':
      return `truncated answer from ${ev.server}: retrying over TCP`;
  }
}

function coreDnsText(ev: Extract<AppEvent, { app: 'coredns' }>): string {
  switch (ev.what) {
    case 'answer': {
      const tc = ev.truncated === true ? ' [TC]' : '';
      return `${ev.proto} ${ev.client} ${ev.question} → ${ev.rcode}, ${ev.answers} answer${ev.answers === 1 ? '' : 's'}${ev.by === 'kubernetes' ? '' : ` (${ev.by})`}${tc}`;
    }
    case 'forward':
      return `forward ${ev.sourcePort} → ${ev.upstream}:53 ${ev.proto}, id ${ev.id}`;
    case 'forward-none':
      return 'forward: no upstream nameserver in /etc/resolv.conf (SERVFAIL)';
    case 'forward-timeout':
      return `forward to ${ev.upstream}:53: no answer within 5s (SERVFAIL)`;
    case 'forward-failed':
      return `forward to ${ev.upstream}:53: ${troubleText(ev.trouble)} (SERVFAIL)`;
    case 'forward-retry':
      return `forward to ${ev.upstream}:53: ${troubleText(ev.trouble)}`;
  }
}

function troubleText(t: UpstreamTroubleRef): string {
  return 'error' in t ? t.error : `no answer within ${t.timeout / 1e9}s${t.tcp ? ' over TCP' : ''}, retrying`;
}
