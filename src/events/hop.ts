/**
 * Hop events: what the emulated kernel, its devices and the applications did, as typed data.
 * Every kind carries its own fields (addresses and MACs as text in their usual notation, so an
 * event is plain JSON); only sinks (`src/trace/`) turn events into lines for people.
 *
 * Like ns-3's trace sources, an event is only built when someone listens (a hop sink, a capture
 * that keeps per-packet notes, or a flow whose NAT bindings and drops are being recorded).
 */
import type { Nanos } from '../sim/time.js';
import type { FrameDissection } from '../wire/dissect.js';

/** What every hop event has: when, in which network namespace and device, for which packet and flow. */
export interface HopBase {
  /** Virtual time (ns). */
  readonly t: Nanos;
  /** The network namespace: `node1`, `pod:client`, `pod:shop/web`, `ext:ext`, `gw`. */
  readonly where: string;
  /** The device, when the event happened at one. */
  readonly dev: string | undefined;
  /** The packet (ids are unique within a run; a flooded copy gets its own). */
  readonly pkt: number | undefined;
  /** The probe/flow the packet or application belongs to (0: none, e.g. a neighbour timer). */
  readonly flow: number;
}

// ───────────────────────────── shared records ─────────────────────────────

/** A route, as `ip route` names it and field by field. */
export interface RouteRef {
  /** The route in `ip route` syntax (`10.244.1.0/24 via 10.244.1.0 dev flannel.1 onlink`). */
  readonly spec: string;
  readonly table: 'local' | 'main';
  readonly type: string;
  /** `10.244.1.0/24`, `default`, or a host address. */
  readonly dst: string;
  /** The gateway, when the route has one. */
  readonly gateway: string | undefined;
  readonly device: string | undefined;
}

/** A rule of a netfilter chain that a packet matched. */
export interface RuleRef {
  readonly chain: string;
  /** 1-based, as `iptables -L --line-numbers` counts. */
  readonly index: number;
  /** The rule's `-m comment` text. */
  readonly comment: string | undefined;
  /**
   * Where it sends the packet: a chain for a jump or goto, else the target (`DNAT`, `ACCEPT`…); none for a rule without
   * one.
   */
  readonly target: string | undefined;
  /** `jump` (`-j CHAIN`) or `goto` (`-g CHAIN`) when the target is a chain. */
  readonly jump: 'jump' | 'goto' | undefined;
}

/** A conntrack tuple (for ICMP: `sport` is the echo id, `dport` the type). */
export interface TupleRef {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
}

/** A conntrack entry as `conntrack -L` shows it. */
export interface CtEntryRef {
  /** `tcp`, `udp`, `icmp`, or the protocol number. */
  readonly proto: string;
  /** TCP's conntrack state (`SYN_SENT`, `ESTABLISHED`…). */
  readonly tcpState: string | undefined;
  readonly orig: TupleRef;
  readonly reply: TupleRef;
  readonly seenReply: boolean;
  readonly assured: boolean;
}

/** A conntrack state as the conntrack match names it. */
export type CtStateName = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';

/** An error a socket reported (errno, and the ICMP message behind it when there was one). */
export interface SocketErrorRef {
  readonly errno: string;
  /** As the tool prints it (`Connection refused`, `From 10.244.0.1 icmp_seq=1 Destination Host Unreachable`). */
  readonly message: string;
  readonly icmpType: number | undefined;
  readonly icmpCode: number | undefined;
}

/** A TCP connection's endpoints. */
export interface SocketRef {
  /** `10.244.0.4:43292` */
  readonly local: string;
  readonly remote: string;
}

// ───────────────────────────── frames ─────────────────────────────

/** A device sent (`tx`) or received (`rx`) a frame. */
export interface FrameEvent extends HopBase {
  readonly kind: 'tx' | 'rx';
  /** Frame length in bytes. */
  readonly len: number;
  /** The frame decoded layer by layer (made for hop sinks only, not for captures). */
  readonly frame: FrameDissection | undefined;
}

// ───────────────────────────── bridge ─────────────────────────────

/** A bridge's forwarding decision. */
export type BridgeEvent = HopBase & { readonly kind: 'bridge' } & (
    | {
        readonly action: 'flood';
        /** Why: a broadcast or multicast destination, or a unicast one the FDB does not know. */
        readonly reason: 'broadcast' | 'multicast' | 'unknown-unicast';
        /** The ingress port, or undefined when the host sent the frame through the bridge. */
        readonly inPort: string | undefined;
        /** The destination MAC. */
        readonly mac: string;
        /** A copy also goes up to the host's stack. */
        readonly up: boolean;
      }
    | { readonly action: 'local'; readonly mac: string; readonly owner: string }
    | { readonly action: 'forward'; readonly port: string; readonly hairpin: boolean; readonly by: 'fdb' | 'flood' }
  );

/** A forwarding-database change (bridge FDB). */
export type FdbEvent = HopBase & { readonly kind: 'fdb'; readonly mac: string } & (
    | { readonly action: 'learn'; readonly port: string }
    | { readonly action: 'age-out'; readonly ageingTime: Nanos }
  );

// ───────────────────────────── IPv4 ─────────────────────────────

/** A routing decision. */
export type RouteEvent = HopBase & { readonly kind: 'route' } & (
    | {
        readonly what: 'output';
        readonly dst: string;
        readonly src: string;
        /** The device it leaves by (`lo` for a local destination). */
        readonly out: string;
        readonly local: boolean;
        readonly route: RouteRef;
      }
    | { readonly what: 'input-local'; readonly dst: string; readonly type: 'local' | 'broadcast' }
    | { readonly what: 'input-unreachable'; readonly dst: string }
    | { readonly what: 'pmtu'; readonly dst: string; readonly mtu: number; readonly expires: Nanos }
  );

/** Why a neighbour entry changed state (the kernel function or event behind it). */
export type NeighCause =
  | 'resolving'
  | 'first-use-of-stale'
  | 'reachable-expired-used'
  | 'reachable-expired'
  | 'confirmed-during-delay'
  | 'no-confirmation'
  | 'no-reply'
  | 'learned-from-request'
  | 'arp-reply'
  | 'arp-request-seen';

/** A neighbour (ARP) entry change, or a packet queued behind a resolution. */
export type NeighEvent = HopBase & { readonly kind: 'neigh'; readonly ip: string } & (
    | {
        readonly what: 'state';
        /** The link-layer address, when the new state has one. */
        readonly lladdr: string | undefined;
        readonly from: string;
        readonly to: string;
        readonly cause: NeighCause;
        /** For `no-confirmation`: the delay (ns); for `no-reply`: the probes sent. */
        readonly count: number | undefined;
      }
    | { readonly what: 'queued' }
  );

/** ARP handled by a stack. */
export type ArpEvent = HopBase & { readonly kind: 'arp' } & (
    | {
        readonly what: 'solicit';
        readonly unicast: boolean;
        readonly target: string;
        readonly sender: string;
        /** The neighbour entry's state. */
        readonly state: string;
        /** Which solicitation this is (1-based, per kind). */
        readonly probe: number;
      }
    | {
        readonly what: 'answer';
        readonly target: string;
        readonly sender: string;
        readonly mac: string;
        /** Answered for a load-balancer address the device announces rather than a local one. */
        readonly announced: boolean;
      }
    | {
        readonly what: 'ignored';
        readonly op: 'request' | 'reply';
        readonly target: string;
        readonly sender: string;
        readonly senderMac: string;
      }
    | { readonly what: 'reply'; readonly sender: string; readonly mac: string }
  );

/** IPv4 forwarding. */
export type ForwardEvent = HopBase & { readonly kind: 'forward' } & (
    | {
        readonly what: 'forward';
        readonly in: string;
        readonly out: string;
        readonly gateway: string | undefined;
        readonly route: RouteRef;
        readonly ttlBefore: number;
        readonly ttlAfter: number;
      }
    | { readonly what: 'ttl-expired'; readonly ttl: number }
    | { readonly what: 'frag-needed'; readonly len: number; readonly out: string; readonly mtu: number }
  );

/** Tunnel encapsulation. */
export interface EncapEvent extends HopBase {
  readonly kind: 'encap';
  readonly tunnel: 'vxlan';
  /** The inner frame's destination MAC, which chose the remote. */
  readonly innerMac: string;
  readonly remote: string;
  readonly local: string;
  readonly vni: number;
  readonly sport: number;
  readonly dport: number;
  readonly ttl: number;
}

/** Tunnel decapsulation. */
export interface DecapEvent extends HopBase {
  readonly kind: 'decap';
  readonly tunnel: 'vxlan';
  readonly vni: number;
  readonly remote: string;
  readonly sport: number;
}

/** Local delivery: to a socket, to the kernel, or refused. */
export type DeliverEvent = HopBase & { readonly kind: 'deliver' } & (
    | { readonly what: 'udp'; readonly addr: string; readonly port: number }
    | { readonly what: 'udp-no-socket'; readonly port: number }
    | { readonly what: 'ping'; readonly id: number; readonly seq: number }
    | { readonly what: 'ping-no-socket'; readonly id: number }
    | { readonly what: 'tcp'; readonly socket: SocketRef; readonly state: string }
    | { readonly what: 'tcp-listener'; readonly port: number }
    | { readonly what: 'tcp-no-socket'; readonly port: number }
    | {
        readonly what: 'icmp-error';
        readonly error: SocketErrorRef;
        /** The socket told, if one was found. */
        readonly socket: 'ping' | 'udp' | 'tcp' | undefined;
        readonly port: number | undefined;
      }
    | { readonly what: 'icmp-ignored'; readonly icmpType: number }
  );

/** An ICMP message a kernel generated (or chose not to). */
export type IcmpEvent = HopBase & { readonly kind: 'icmp' } & (
    | {
        readonly what: 'echo-reply';
        readonly src: string;
        readonly dst: string;
        readonly id: number;
        readonly seq: number;
      }
    | {
        readonly what: 'error';
        readonly icmpType: number;
        readonly code: number;
        readonly src: string;
        readonly dst: string;
        /** The next-hop MTU of a fragmentation-needed error. */
        readonly mtu: number | undefined;
      }
    | { readonly what: 'ratelimited'; readonly icmpType: number; readonly code: number; readonly dst: string }
  );

/** IPv4 fragmentation and reassembly. */
export type FragEvent = HopBase & { readonly kind: 'frag' } & (
    | {
        readonly what: 'fragmented';
        readonly len: number;
        readonly out: string;
        readonly mtu: number;
        readonly sizes: readonly number[];
      }
    | {
        readonly what: 'queued';
        readonly id: number;
        readonly offset: number;
        readonly end: number;
        /** The datagram's length, once its last fragment was seen. */
        readonly total: number | undefined;
      }
    | {
        readonly what: 'reassembled';
        readonly fragments: number;
        readonly id: number;
        readonly src: string;
        readonly len: number;
      }
  );

// ───────────────────────────── netfilter ─────────────────────────────

/** A netfilter event: a table traversal, or what an extension or br_netfilter did. */
export type NfEvent = HopBase & { readonly kind: 'nf' } & (
    | {
        readonly what: 'traversal';
        readonly table: string;
        /** The hook's built-in chain (`PREROUTING`…). */
        readonly hook: string;
        /** br_netfilter: a frame bridged on a Linux bridge. */
        readonly bridged: boolean;
        /** The rules that matched, in order. */
        readonly rules: readonly RuleRef[];
        /** How the traversal ended for the packet (a NAT target accepts it). */
        readonly verdict: 'ACCEPT' | 'DROP';
        /** The built-in chain's policy decided (no rule did). */
        readonly policy: boolean;
        /**
         * The deciding rule's target as its extension names it (`ACCEPT`, `REJECT --reject-with
         * icmp-port-unreachable`, `-j DNAT --to-destination 10.244.1.2:8080`); none for a policy.
         */
        readonly target: string | undefined;
      }
    | { readonly what: 'defrag'; readonly len: number; readonly largest: number }
    | { readonly what: 'log'; readonly prefix: string; readonly table: string; readonly chain: string }
    | { readonly what: 'recent-set'; readonly list: string; readonly addr: string }
    | {
        readonly what: 'bridged-dnat';
        readonly dst: string;
        readonly bridge: string;
        /** The backend's MAC, when a usable neighbour entry had it (the frame is bridged at once). */
        readonly mac: string | undefined;
        /** Otherwise the frame goes through the neighbour layer: the entry's state (undefined: no MAC known)… */
        readonly neighState: string | undefined;
        /** …and whether it is valid but never had a cached header. */
        readonly connected: boolean;
        readonly inPort: string | undefined;
      }
    | { readonly what: 'dnat-routed'; readonly dst: string }
    | {
        readonly what: 'extension';
        /** What an extension registered from outside podnet said (its own words). */
        readonly message: string;
      }
  );

/** Conntrack and NAT. */
export type NatEvent = HopBase & { readonly kind: 'nat' } & (
    | {
        readonly what: 'lookup';
        readonly ctstate: CtStateName;
        /** A new, not yet confirmed entry. */
        readonly created: boolean;
        readonly reply: boolean;
        readonly entry: CtEntryRef;
      }
    | { readonly what: 'reopen'; readonly entry: CtEntryRef }
    | { readonly what: 'confirm'; readonly entry: CtEntryRef; readonly clash: 'joined' | 'reply-only' | undefined }
    | NatBinding
    | { readonly what: 'remap'; readonly from: number; readonly to: number }
    | {
        readonly what: 'rewrite';
        readonly op: 'DNAT' | 'SNAT' | 'un-DNAT' | 'un-SNAT';
        readonly side: 'src' | 'dst';
        /** `ip:port` (or `ip` when the protocol has no ports). */
        readonly from: string;
        readonly to: string;
      }
    | { readonly what: 'related'; readonly before: TupleRef; readonly after: TupleRef }
  );

/** A NAT mapping conntrack decided on a connection's first packet. */
export interface NatBinding {
  readonly what: 'binding';
  readonly type: 'DNAT' | 'SNAT' | 'MASQUERADE';
  /** The address and port before and after (`ip:port`). */
  readonly from: string;
  readonly to: string;
  /** What replies look like once the binding is in place. */
  readonly reply: TupleRef;
  /** The nat chain that decided (`PREROUTING`, `OUTPUT`, `POSTROUTING`), with its rules. */
  readonly hook: string;
  readonly bridged: boolean;
  /** The rules the decision passed, the deciding one last (empty when no rule decided). */
  readonly rules: readonly RuleRef[];
  /** MASQUERADE: the device whose address was taken. */
  readonly device: string | undefined;
  readonly randomFully: boolean;
}

// ───────────────────────────── drops ─────────────────────────────

/**
 * Why a packet was dropped: Linux's `SKB_DROP_REASON_*` name where one fits (enum skb_drop_reason,
 * include/net/dropreason-core.h), else a podnet name in the same style.
 */
export type DropReason =
  | 'DEV_READY'
  | 'PKT_TOO_SMALL'
  | 'PKT_TOO_BIG'
  | 'UNHANDLED_PROTO'
  | 'OTHERHOST'
  | 'IP_INHDR'
  | 'IP_CSUM'
  | 'IP_INVALID_SOURCE'
  | 'IP_NOROUTES'
  | 'IP_OUTNOROUTES'
  | 'IP_INADDRERRORS'
  | 'IP_NOPROTO'
  | 'ICMP_CSUM'
  | 'ICMP_ECHO_IGNORED'
  | 'UDP_CSUM'
  | 'TCP_CSUM'
  | 'NO_SOCKET'
  | 'NEIGH_FAILED'
  | 'NEIGH_QUEUEFULL'
  | 'DUP_FRAG'
  | 'FRAG_REASM_TIMEOUT'
  | 'NETFILTER_DROP'
  | 'NF_CONNTRACK_CLASH'
  | 'MAC_INVALID_SOURCE'
  | 'BRIDGE_NO_HAIRPIN'
  | 'BRIDGE_OWN_MAC'
  | 'ARP_INVALID'
  | 'VXLAN_NO_REMOTE'
  | 'VXLAN_VNI_NOT_FOUND'
  | 'VXLAN_INVALID_HDR';

/** What exactly was dropped and why: the reason's particulars. */
export type DropDetail =
  | { readonly what: 'device-down' }
  | { readonly what: 'peer-down'; readonly peer: string }
  | { readonly what: 'exceeds-peer-mtu'; readonly len: number; readonly peer: string; readonly mtu: number }
  | { readonly what: 'runt-frame' }
  | { readonly what: 'unhandled-ethertype'; readonly ethertype: number }
  | { readonly what: 'other-host' }
  | { readonly what: 'malformed-ipv4'; readonly error: string }
  | { readonly what: 'bad-ip-checksum' }
  | { readonly what: 'martian-source'; readonly src: string }
  | { readonly what: 'no-route' }
  | { readonly what: 'route-type'; readonly type: 'blackhole' | 'unreachable' | 'prohibit'; readonly route: string }
  | { readonly what: 'forwarding-off'; readonly host: string }
  | { readonly what: 'link-broadcast' }
  | { readonly what: 'route-without-device' }
  | { readonly what: 'ttl-exceeded' }
  | { readonly what: 'too-big'; readonly out: string; readonly mtu: number; readonly df: boolean }
  | { readonly what: 'no-route-after-nat'; readonly dst: string; readonly error: string }
  | { readonly what: 'no-route-for-echo-reply'; readonly dst: string }
  | { readonly what: 'protocol-unsupported'; readonly protocol: number }
  | { readonly what: 'malformed-icmp' }
  | { readonly what: 'bad-icmp-checksum' }
  | { readonly what: 'echo-to-broadcast' }
  | { readonly what: 'icmp-short-quote' }
  | { readonly what: 'malformed-udp' }
  | { readonly what: 'bad-udp-checksum' }
  | { readonly what: 'udp-port-unreachable'; readonly port: number }
  | { readonly what: 'malformed-tcp' }
  | { readonly what: 'bad-tcp-checksum' }
  | { readonly what: 'neigh-failed'; readonly ip: string }
  | { readonly what: 'neigh-queue-full'; readonly ip: string }
  | { readonly what: 'malformed-arp'; readonly error: string }
  | { readonly what: 'arp-other-host' }
  | { readonly what: 'arp-invalid-address' }
  | { readonly what: 'frag-overlap' }
  | { readonly what: 'frag-timeout' }
  | { readonly what: 'netfilter'; readonly table: string; readonly hook: string }
  | { readonly what: 'conntrack-clash' }
  | { readonly what: 'invalid-source-mac'; readonly mac: string }
  | { readonly what: 'hairpin-off'; readonly port: string }
  | { readonly what: 'own-mac-from-host' }
  | { readonly what: 'vxlan-no-fdb'; readonly mac: string }
  | { readonly what: 'vxlan-no-underlay-route'; readonly remote: string }
  | { readonly what: 'vxlan-short' }
  | { readonly what: 'vxlan-vni-mismatch'; readonly vni: number; readonly device: string; readonly deviceVni: number };

/** The packet was dropped. */
export interface DropEvent extends HopBase {
  readonly kind: 'drop';
  readonly reason: DropReason;
  readonly detail: DropDetail;
}

/** The Linux drop reason of each particular. */
export const DROP_REASON: { readonly [W in DropDetail['what']]: DropReason } = {
  'device-down': 'DEV_READY',
  'peer-down': 'DEV_READY',
  'exceeds-peer-mtu': 'PKT_TOO_BIG',
  'runt-frame': 'PKT_TOO_SMALL',
  'unhandled-ethertype': 'UNHANDLED_PROTO',
  'other-host': 'OTHERHOST',
  'malformed-ipv4': 'IP_INHDR',
  'bad-ip-checksum': 'IP_CSUM',
  'martian-source': 'IP_INVALID_SOURCE',
  'no-route': 'IP_NOROUTES',
  'route-type': 'IP_NOROUTES',
  'forwarding-off': 'IP_INADDRERRORS',
  'link-broadcast': 'OTHERHOST',
  'route-without-device': 'IP_OUTNOROUTES',
  'ttl-exceeded': 'IP_INHDR',
  'too-big': 'PKT_TOO_BIG',
  'no-route-after-nat': 'IP_OUTNOROUTES',
  'no-route-for-echo-reply': 'IP_OUTNOROUTES',
  'protocol-unsupported': 'IP_NOPROTO',
  'malformed-icmp': 'PKT_TOO_SMALL',
  'bad-icmp-checksum': 'ICMP_CSUM',
  'echo-to-broadcast': 'ICMP_ECHO_IGNORED',
  'icmp-short-quote': 'PKT_TOO_SMALL',
  'malformed-udp': 'PKT_TOO_SMALL',
  'bad-udp-checksum': 'UDP_CSUM',
  'udp-port-unreachable': 'NO_SOCKET',
  'malformed-tcp': 'PKT_TOO_SMALL',
  'bad-tcp-checksum': 'TCP_CSUM',
  'neigh-failed': 'NEIGH_FAILED',
  'neigh-queue-full': 'NEIGH_QUEUEFULL',
  'malformed-arp': 'ARP_INVALID',
  'arp-other-host': 'OTHERHOST',
  'arp-invalid-address': 'ARP_INVALID',
  'frag-overlap': 'DUP_FRAG',
  'frag-timeout': 'FRAG_REASM_TIMEOUT',
  netfilter: 'NETFILTER_DROP',
  'conntrack-clash': 'NF_CONNTRACK_CLASH',
  'invalid-source-mac': 'MAC_INVALID_SOURCE',
  'hairpin-off': 'BRIDGE_NO_HAIRPIN',
  'own-mac-from-host': 'BRIDGE_OWN_MAC',
  'vxlan-no-fdb': 'VXLAN_NO_REMOTE',
  'vxlan-no-underlay-route': 'IP_OUTNOROUTES',
  'vxlan-short': 'PKT_TOO_SMALL',
  'vxlan-vni-mismatch': 'VXLAN_VNI_NOT_FOUND',
};

// ───────────────────────────── applications ─────────────────────────────

/** What an application (a probe client, a TCP socket, a resolver, a DNS server) did. */
export type AppEvent = HopBase & { readonly kind: 'app' } & AppDetail;

/** The application events, by application. */
export type AppDetail =
  | {
      readonly app: 'tcp';
      readonly socket: SocketRef;
      readonly what: TcpSocketWhat;
      readonly state: string;
      readonly detail: TcpSocketDetail;
    }
  | {
      readonly app: 'ping';
      readonly what: 'reply';
      readonly bytes: number;
      readonly from: string;
      readonly seq: number;
      readonly ttl: number;
      readonly rttNs: number;
    }
  | { readonly app: 'ping'; readonly what: 'error'; readonly error: string; readonly seq: number | undefined }
  | {
      readonly app: 'tcp-client';
      readonly what: 'read';
      readonly socket: SocketRef;
      /** What the client read before EOF (the server's banner line). */
      readonly received: string;
      /** The endpoint that answered (from the server's banner line). */
      readonly answeredBy: string | undefined;
      /** The client address and port that endpoint saw. */
      readonly serverSaw: string | undefined;
    }
  | {
      readonly app: 'tcp-client';
      readonly what: 'timeout';
      readonly socket: SocketRef;
      readonly connecting: boolean;
      readonly timeout: Nanos;
    }
  | {
      readonly app: 'udp-client';
      readonly what: 'reply';
      readonly port: number;
      readonly from: string;
      readonly fromPort: number;
      readonly received: string;
      readonly answeredBy: string | undefined;
      readonly serverSaw: string | undefined;
    }
  | { readonly app: 'udp-client'; readonly what: 'error'; readonly port: number; readonly error: string }
  | {
      readonly app: 'probe';
      readonly what: 'resolve-failed';
      readonly protocol: string;
      readonly name: string;
      readonly error: string;
      readonly attempt: boolean;
    }
  | ResolverDetail
  | CoreDnsDetail
  | {
      readonly app: 'upstream-dns';
      readonly what: 'answer';
      readonly proto: 'udp' | 'tcp';
      readonly client: string;
      readonly type: string;
      readonly name: string;
      readonly rcode: string;
      /** Records in the answer section as sent (none when it did not fit and went out truncated). */
      readonly answers: number;
      /** Sent with TC: too big for the transport, the client should ask again over TCP. */
      readonly truncated?: boolean;
    };

/** What a TCP socket did. */
export type TcpSocketWhat =
  | 'connect'
  | 'close'
  | 'give-up'
  | 'retransmit'
  | 'refused'
  | 'established'
  | 'reset'
  | 'accepted'
  | 'fin-acked'
  | 'closed'
  | 'close-wait'
  | 'syn-received'
  | 'time-wait'
  | 'pmtu'
  | 'error';

/** The particulars of a TCP socket event. */
export interface TcpSocketDetail {
  /** retransmit: the segment's flags (`SYN`, `FIN,ACK`…), the retry, the next timeout (ns). */
  readonly flags?: string;
  readonly retry?: number;
  readonly rto?: Nanos;
  /** give-up: the retransmissions sent. */
  readonly retries?: number;
  /** time-wait: how long (ns). */
  readonly duration?: Nanos;
  /** pmtu: the path MTU and the new MSS. */
  readonly mtu?: number;
  readonly mss?: number;
  /** error: the socket error. */
  readonly error?: string;
}

/** What the glibc-style stub resolver did. */
export type ResolverDetail = { readonly app: 'resolver'; readonly tag: string } & (
  | {
      readonly what: 'start';
      readonly name: string;
      readonly dots: number;
      readonly ndots: number;
      readonly trailingDot: boolean;
      readonly nameservers: readonly string[];
    }
  | { readonly what: 'result'; readonly name: string; readonly addresses: readonly string[]; readonly source: string }
  | { readonly what: 'failed'; readonly name: string; readonly error: string }
  | {
      readonly what: 'query';
      readonly type: string;
      readonly name: string;
      readonly server: string;
      readonly proto: 'udp' | 'tcp';
      readonly sourcePort: number;
      readonly id: number;
    }
  | {
      readonly what: 'answer';
      readonly type: string;
      readonly name: string;
      readonly id: number;
      readonly rcode: string;
      readonly answers: readonly string[];
      readonly truncated: boolean;
    }
  | { readonly what: 'partial'; readonly received: number; readonly sent: number; readonly timeout: Nanos }
  | { readonly what: 'timeout'; readonly server: string; readonly timeout: Nanos; readonly proto: 'udp' | 'tcp' }
  | { readonly what: 'error'; readonly server: string; readonly error: string; readonly proto: 'udp' | 'tcp' }
  | { readonly what: 'referral'; readonly server: string }
  | { readonly what: 'truncated'; readonly server: string }
);

/** What a CoreDNS server did. */
export type CoreDnsDetail = { readonly app: 'coredns' } & (
  | {
      readonly what: 'answer';
      readonly proto: 'udp' | 'tcp';
      readonly client: string;
      /** The question as `TYPE name.` */
      readonly question: string;
      readonly rcode: string;
      readonly answers: number;
      /** Which plugin answered: `kubernetes`, `cache`, `forward`, … */
      readonly by: string;
      /** Sent with TC (cut to fit, or passed on from upstream): the client should ask again over TCP. */
      readonly truncated?: boolean;
    }
  | {
      readonly what: 'forward';
      readonly proto: 'udp' | 'tcp';
      readonly sourcePort: number;
      readonly upstream: string;
      readonly id: number;
    }
  | { readonly what: 'forward-none' }
  | { readonly what: 'forward-timeout'; readonly upstream: string }
  | { readonly what: 'forward-failed'; readonly upstream: string; readonly trouble: UpstreamTroubleRef }
  | { readonly what: 'forward-retry'; readonly upstream: string; readonly trouble: UpstreamTroubleRef }
);

/** Why an upstream DNS exchange gave no answer: none in time, or a socket error. */
export type UpstreamTroubleRef = { readonly timeout: Nanos; readonly tcp: boolean } | { readonly error: string };

// ───────────────────────────── the union ─────────────────────────────

/** One hop event. `kind` tells which fields it has. */
export type HopEvent =
  | FrameEvent
  | BridgeEvent
  | FdbEvent
  | RouteEvent
  | NeighEvent
  | ArpEvent
  | ForwardEvent
  | EncapEvent
  | DecapEvent
  | DeliverEvent
  | IcmpEvent
  | FragEvent
  | NfEvent
  | NatEvent
  | DropEvent
  | AppEvent;

/** What happened at a hop. */
export type HopKind = HopEvent['kind'];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event without its time and place: what a call site describes (the emitter adds the rest). */
export type HopBody = DistributiveOmit<HopEvent, keyof HopBase>;

/** The body of one kind of event. */
export type BodyOf<K extends HopKind> = Extract<HopBody, { readonly kind: K }>;
