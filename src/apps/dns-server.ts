/**
 * DNS transport for podnet's DNS servers (CoreDNS pods, the underlay gateway's resolver): a UDP
 * socket and a TCP listener on port 53 that hand each well-formed query to a handler and send its
 * answer back over the same transport (TCP messages carry the 2-byte length prefix, RFC 1035
 * §4.2.2; the server closes after the client does).
 *
 * Queries are screened as miekg/dns's default MsgAcceptFunc does for CoreDNS: responses are
 * ignored, an opcode other than QUERY/NOTIFY gets NOTIMP, a question count other than 1 (or more
 * records than a query may carry) or bytes that do not parse get FORMERR, fewer than 12 bytes
 * are dropped.
 *
 * Also here: the resolver on the underlay gateway, which answers from the Cluster's
 * `spec.dns.upstream` table (what a kind/Docker network's upstream DNS would know about the
 * outside world) and NXDOMAIN for everything else.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { formatIpv4, parseIpv4 } from '../wire/addr.js';
import {
  DNS_HLEN,
  DnsClass,
  DnsRcode,
  DnsType,
  DnsView,
  dnsHeader,
  dnsRcodeName,
  dnsTypeName,
  ednsOf,
  encodeDns,
  frameDnsTcp,
  isOpt,
  lowerName,
  optRecord,
  parseDns,
  type DnsMessage,
  type DnsRecord,
} from '../wire/dns.js';
import { isWireError } from '../wire/errors.js';
import type { NetNs } from '../net/netns.js';
import type { TcpSocket } from '../net/tcp.js';
import type { UpstreamDnsEntry } from '../kube/model.js';
import { TraceTo } from '../events/tracer.js';

/** One query as a server received it. */
export interface DnsRequest {
  readonly query: DnsMessage;
  readonly proto: 'udp' | 'tcp';
  readonly client: Ipv4Addr;
  readonly clientPort: number;
  /** Flow of the packet that carried the query (replies inherit it). */
  readonly flow: number;
  /** Sends the answer (bytes of one DNS message) back to the client. */
  reply(msg: Uint8Array): void;
}

/** What a DNS server reports per answered query (for traces and probe results). */
export interface DnsServerLogEntry {
  readonly t: number;
  /** `kube-system/coredns-0`, `gateway`. */
  readonly server: string;
  readonly proto: 'udp' | 'tcp';
  readonly client: Ipv4Addr;
  readonly clientPort: number;
  readonly id: number;
  readonly name: string;
  readonly type: number;
  readonly rcode: number;
  /** Where the answer came from: the kubernetes plugin, the cache, forward, an error, or the upstream table. */
  readonly how: 'kubernetes' | 'cache' | 'forward' | 'error' | 'table';
  readonly flow: number;
}

/** Accumulates a TCP byte stream and yields every complete DNS message in it. */
export class DnsTcpReader {
  private buf = new Uint8Array(0);

  /** Adds bytes; returns the raw messages completed by them. */
  pushRaw(data: Uint8Array): Uint8Array[] {
    const b = new Uint8Array(this.buf.length + data.length);
    b.set(this.buf);
    b.set(data, this.buf.length);
    const out: Uint8Array[] = [];
    let pos = 0;
    while (pos + 2 <= b.length) {
      const len = (b[pos]! << 8) | b[pos + 1]!;
      if (pos + 2 + len > b.length) break;
      out.push(b.slice(pos + 2, pos + 2 + len));
      pos += 2 + len;
    }
    this.buf = b.slice(pos);
    return out;
  }

  /** Adds bytes; returns the messages completed by them that parse. */
  push(data: Uint8Array): DnsMessage[] {
    const out: DnsMessage[] = [];
    for (const raw of this.pushRaw(data)) {
      try {
        out.push(parseDns(raw));
      } catch (e) {
        if (!isWireError(e)) throw e;
      }
    }
    return out;
  }
}

/** A header-only error answer (SetRcodeFormatError / NOTIMP): id kept, opcode QUERY, no question. */
function headerOnly(raw: Uint8Array, rcode: number): Uint8Array {
  const v = new DnsView(raw, 0);
  return encodeDns({
    header: dnsHeader({ id: v.id, qr: true, opcode: 0, rcode }),
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
  });
}

/** miekg's defaultMsgAcceptFunc plus unpacking: the query, an error answer to send, or nothing at all. */
export function screenQuery(raw: Uint8Array): { query: DnsMessage } | { reject: Uint8Array } | undefined {
  if (raw.length < DNS_HLEN) return undefined;
  const v = new DnsView(raw, 0);
  if (v.qr) return undefined;
  if (v.opcode !== 0 && v.opcode !== 4) return { reject: headerOnly(raw, DnsRcode.NOTIMP) };
  if (v.qdcount !== 1 || v.ancount > 1 || v.nscount > 1 || v.arcount > 2)
    return { reject: headerOnly(raw, DnsRcode.FORMERR) };
  try {
    return { query: parseDns(raw) };
  } catch (e) {
    if (!isWireError(e)) throw e;
    return { reject: headerOnly(raw, DnsRcode.FORMERR) };
  }
}

/** Serves DNS on UDP and TCP `port` of `ns`; returns the ports that could not be bound. */
export function startDnsServer(ns: NetNs, port: number, handler: (req: DnsRequest) => void): string[] {
  const failed: string[] = [];
  const u = ns.sockets.openUdp(0, port);
  if ('errno' in u) failed.push(`${port}/UDP: ${u.message}`);
  else {
    u.onMessage = (data, info) => {
      const s = screenQuery(data);
      if (s === undefined) return;
      const send = (bytes: Uint8Array): void => {
        u.flow = info.flow;
        u.sendTo(info.from, info.fromPort, bytes);
      };
      if ('reject' in s) {
        send(s.reject);
        return;
      }
      handler({
        query: s.query,
        proto: 'udp',
        client: info.from,
        clientPort: info.fromPort,
        flow: info.flow,
        reply: send,
      });
    };
  }
  const l = ns.sockets.tcp.listen(0, port, (sock: TcpSocket) => {
    // Go's net package (CoreDNS) sets TCP_NODELAY on every connection: answers are not held back by Nagle
    sock.noDelay = true;
    const reader = new DnsTcpReader();
    sock.callbacks = {
      onData: (s, data) => {
        for (const raw of reader.pushRaw(data)) {
          const r = screenQuery(raw);
          if (r === undefined) continue;
          const send = (bytes: Uint8Array): void => {
            if (s.state === 'ESTABLISHED' || s.state === 'CLOSE_WAIT') s.write(frameDnsTcp(bytes));
          };
          if ('reject' in r) send(r.reject);
          else
            handler({
              query: r.query,
              proto: 'tcp',
              client: s.remoteAddr,
              clientPort: s.remotePort,
              flow: s.flow,
              reply: send,
            });
        }
      },
      onEof: (s) => s.close(),
    };
  });
  if ('errno' in l) failed.push(`${port}/TCP: ${l.message}`);
  return failed;
}

// ───────────────────────────── the underlay gateway's resolver ─────────────────────────────

/** TTL the upstream table's records carry. */
export const UPSTREAM_TTL = 300;

/** The zone a name's negative answers are signed by: its last two labels (the "registered domain"). */
function soaZone(lname: string): string {
  const labels = lname.split('.').filter((x) => x !== '');
  return labels.slice(-2).join('.');
}

function upstreamSoa(lname: string): DnsRecord {
  const zone = soaZone(lname);
  const at = zone === '' ? '' : `.${zone}`;
  return {
    name: zone,
    class: DnsClass.IN,
    ttl: UPSTREAM_TTL,
    data: {
      type: 'SOA',
      mname: `ns1${at}`,
      rname: `hostmaster${at}`,
      serial: 1,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: UPSTREAM_TTL,
    },
  };
}

/**
 * How the gateway's resolver answers `query` from `table` (lower-case names without the dot):
 * A records, CNAMEs chased through the table, PTR for the table's addresses, NODATA for other
 * types of known names, NXDOMAIN otherwise; negative answers carry an SOA of the name's last two
 * labels. Flags as a recursive resolver sets them: RA, no AA.
 */
export function upstreamAnswer(query: DnsMessage, table: Readonly<Record<string, UpstreamDnsEntry>>): DnsMessage {
  const q = query.questions[0]!;
  const h = query.header;
  const m: DnsMessage = {
    header: dnsHeader({ id: h.id, qr: true, opcode: h.opcode, rd: h.rd, ra: true, cd: h.cd }),
    questions: [q],
    answers: [],
    authorities: [],
    additionals: [],
  };
  const lname = lowerName(q.name.replace(/\.$/, ''));
  if (q.type === DnsType.PTR && lname.endsWith('.in-addr.arpa')) {
    const parts = lname.slice(0, -'.in-addr.arpa'.length).split('.');
    const ip = parts.length === 4 ? parseIpv4(parts.reverse().join('.')) : undefined;
    const names =
      ip === undefined
        ? []
        : Object.entries(table)
            .filter(([, e]) => 'addresses' in e && e.addresses.includes(ip))
            .map(([n]) => n);
    if (names.length === 0) {
      m.header.rcode = DnsRcode.NXDOMAIN;
      m.authorities = [upstreamSoa('in-addr.arpa')];
    } else
      m.answers = names.map((n) => ({
        name: q.name,
        class: DnsClass.IN,
        ttl: UPSTREAM_TTL,
        data: { type: 'PTR', target: n },
      }));
    return m;
  }
  let owner = q.name;
  let cur = lname;
  for (let hops = 0; hops < 8; hops++) {
    const e = table[cur];
    if (e === undefined) {
      m.header.rcode = DnsRcode.NXDOMAIN;
      m.authorities = [upstreamSoa(cur)];
      return m;
    }
    if ('cname' in e) {
      m.answers.push({ name: owner, class: DnsClass.IN, ttl: UPSTREAM_TTL, data: { type: 'CNAME', target: e.cname } });
      if (q.type === DnsType.CNAME) return m;
      owner = e.cname;
      cur = e.cname;
      continue;
    }
    if (q.type === DnsType.A || q.type === DnsType.ANY) {
      for (const a of e.addresses)
        m.answers.push({ name: owner, class: DnsClass.IN, ttl: UPSTREAM_TTL, data: { type: 'A', address: a } });
    } else if (m.answers.length === 0) m.authorities = [upstreamSoa(cur)];
    return m;
  }
  m.header.rcode = DnsRcode.SERVFAIL;
  return m;
}

/**
 * The gateway resolver's answer to `query` and its bytes over `proto` (cut to a bare TC answer when it does not fit).
 */
export function upstreamReply(
  query: DnsMessage,
  table: Readonly<Record<string, UpstreamDnsEntry>>,
  proto: 'udp' | 'tcp',
): { resp: DnsMessage; bytes: Uint8Array } {
  const resp = upstreamAnswer(query, table);
  const e = ednsOf(query);
  const limit = proto === 'tcp' ? 0xffff : Math.max(512, e?.udpSize ?? 512);
  // unbound answers EDNS queries with its own buffer size (1232)
  const withOpt = (x: DnsMessage): DnsMessage =>
    e === undefined ? x : { ...x, additionals: [...x.additionals.filter((r) => !isOpt(r)), optRecord(1232)] };
  let bytes = encodeDns(withOpt(resp));
  if (bytes.length > limit)
    bytes = encodeDns(
      withOpt({ ...resp, header: { ...resp.header, tc: true }, answers: [], authorities: [], additionals: [] }),
    );
  return { resp, bytes };
}

/** The resolver on the underlay gateway: serves `upstreamAnswer` on port 53. */
export function startUpstreamDns(
  ns: NetNs,
  table: Readonly<Record<string, UpstreamDnsEntry>>,
  log?: (e: DnsServerLogEntry) => void,
): string[] {
  return startDnsServer(ns, 53, (req) => {
    const q = req.query.questions[0]!;
    const { resp, bytes } = upstreamReply(req.query, table, req.proto);
    const truncated = (bytes[2]! & 0x02) !== 0;
    const w = ns.world;
    if (w.tracer.on) {
      const client = `${formatIpv4(req.client)}:${req.clientPort}`;
      const detail = {
        app: 'upstream-dns',
        what: 'answer',
        proto: req.proto,
        client,
        type: dnsTypeName(q.type),
        name: q.name,
        rcode: dnsRcodeName(resp.header.rcode),
        // what went out: a bare TC answer when the records did not fit
        answers: truncated ? 0 : resp.answers.length,
        ...(truncated ? { truncated } : {}),
      } as const;
      ns.trace({ kind: 'app', ...detail }, null, undefined, TraceTo.Hop, req.flow);
    }
    log?.({
      t: w.now,
      server: 'gateway',
      proto: req.proto,
      client: req.client,
      clientPort: req.clientPort,
      id: req.query.header.id,
      name: q.name,
      type: q.type,
      rcode: resp.header.rcode,
      how: 'table',
      flow: req.flow,
    });
    req.reply(bytes);
  });
}
