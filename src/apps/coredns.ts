/**
 * CoreDNS as kubeadm deploys it. The Corefile (kubeadm's CoreDNSConfigMap):
 *
 *   .:53 {
 *       errors
 *       health { lameduck 5s }
 *       ready
 *       kubernetes cluster.local in-addr.arpa ip6.arpa {
 *          pods insecure
 *          fallthrough in-addr.arpa ip6.arpa
 *          ttl 30
 *       }
 *       prometheus :9153
 *       forward . /etc/resolv.conf { max_concurrent 1000 }
 *       cache 30
 *       loop
 *       reload
 *       loadbalance
 *   }
 *
 * {@link answer} is the kubernetes plugin as a pure function over the cluster model, following
 * coredns/coredns plugin/kubernetes (kubernetes.go Services/Records/findServices/findPods,
 * parse.go parseRequest, reverse.go, ns.go, handler.go ServeDNS) and plugin/backend_lookup.go
 * (A/AAAA/TXT/CNAME/PTR/SRV/NS/SOA assembly, SRV weights, the SOA of negative answers).
 *
 * {@link CoreDnsServer} runs it in a CoreDNS pod on port 53 (UDP and TCP) inside the plugin
 * chain as the server builds it: the response goes out through the ScrubWriter (EDNS0 OPT echo,
 * truncation to 512 bytes or the client's EDNS0 size with TC, compression only when needed),
 * loadbalance (shuffles A/AAAA records, from the simulation's RNG), cache 30 (TTLs capped at 30 s
 * and rewritten to the message minimum, negative answers kept as long, SERVFAIL 5 s), then
 * kubernetes, and names outside its zones go to forward, which sends the query as real packets
 * to the nameservers of the pod's own resolv.conf (dnsPolicy Default: the node's, i.e. the
 * underlay gateway) with a fresh id over pooled connections (reused for 10 s, plugin/pkg/proxy),
 * a 2 s read timeout and a 5 s overall deadline.
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { formatIpv4, parseIpv4 } from '../wire/addr.js';
import {
  DnsClass,
  DnsRcode,
  DnsType,
  dnsHeader,
  dnsTypeName,
  dnsRcodeName,
  ednsOf,
  fqdn,
  encodeDns,
  frameDnsTcp,
  isOpt,
  lowerName,
  optRecord,
  parseDns,
  recordType,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
} from '../wire/dns.js';
import type { ClusterModel, EndpointSliceModel, PodModel, ServiceModel } from '../kube/model.js';
import { hostResolvConf, podResolvConf } from './resolver.js';
import type { NetNs } from '../net/netns.js';
import type { Rng } from '../sim/rng.js';
import { sec, type Nanos } from '../sim/time.js';
import type { Timer } from '../sim/scheduler.js';
import type { UdpSocket } from '../net/sockets.js';
import type { TcpSocket } from '../net/tcp.js';
import { DnsTcpReader, startDnsServer, type DnsServerLogEntry } from './dns-server.js';
import type { CoreDnsDetail } from '../events/hop.js';
import { TraceTo } from '../events/tracer.js';

/** A CoreDNS event as the chain reports it (the host adds time and place). */
export type CoreDnsEvent = DistributiveOmit<CoreDnsDetail, 'app'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The kubernetes plugin's TTL as kubeadm configures it (`ttl 30`; the plugin's own default is 5). */
export const KUBEADM_DNS_TTL = 30;
/** `dns-version` TXT payload (plugin/kubernetes DNSSchemaVersion). */
export const DNS_SCHEMA_VERSION = '1.1.0';
/** TTL the plugin gives the dns-version TXT record (before `cache` caps it). */
const DNS_VERSION_TTL = 28800;
/** The name the zone's NS records live at, below the zone (plugin/kubernetes defaultNSName). */
const DEFAULT_NS = 'ns.dns.';

/** What the kubernetes plugin knows: the cluster's Services, EndpointSlices and namespaces. */
export interface ClusterDnsView {
  /** The cluster zone without the trailing dot (`cluster.local`). */
  readonly zone: string;
  readonly ttl: number;
  /** SOA serial: CoreDNS uses the Unix time of the last change it saw (podnet's clock starts at 0). */
  readonly serial: number;
  readonly services: readonly ServiceModel[];
  readonly slices: readonly EndpointSliceModel[];
  /** Namespaces that exist (a name in any other namespace is NXDOMAIN). */
  readonly namespaces: ReadonlySet<string>;
  /** Addresses of the CoreDNS pod answering (ns.dns.<zone> and the zone's NS records come from them). */
  readonly localIps: readonly Ipv4Addr[];
}

/** Namespaces every kubeadm cluster has (kube-public and kube-node-lease too, which the loader does not create). */
const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** The plugin's view of a cluster model, as seen from a CoreDNS pod with addresses `localIps`. */
export function clusterDnsView(model: ClusterModel, localIps: readonly Ipv4Addr[] = [], serial = 0): ClusterDnsView {
  // the plugin asks the API for the Namespace object (filteredNamespaceExists): a declared namespace exists even with
  // nothing in it; a hand-built model without a namespace list has those its objects live in
  const namespaces = new Set<string>([...SYSTEM_NAMESPACES, ...(model.namespaces ?? [])]);
  for (const p of model.pods) namespaces.add(p.namespace);
  for (const s of model.services) namespaces.add(s.namespace);
  for (const s of model.endpointSlices) namespaces.add(s.namespace);
  return {
    zone: model.dns?.clusterDomain ?? 'cluster.local',
    ttl: KUBEADM_DNS_TTL,
    serial,
    services: model.services,
    slices: model.endpointSlices,
    namespaces,
    localIps,
  };
}

/** A {@link ClusterDnsView} as JSON (for a DNS server outside this process, e.g. the kernel check's agent). */
export function dnsViewToJson(v: ClusterDnsView): string {
  // the plugin reads neither where an object was written nor its source ranges (Cidr objects)
  const services = v.services.map((s) => ({ ...s, source: undefined, loadBalancerSourceRanges: [] }));
  const slices = v.slices.map((s) => ({ ...s, source: undefined }));
  return JSON.stringify({
    zone: v.zone,
    ttl: v.ttl,
    serial: v.serial,
    services,
    slices,
    namespaces: [...v.namespaces],
    localIps: v.localIps,
  });
}

/** The view {@link dnsViewToJson} wrote. */
export function dnsViewFromJson(text: string): ClusterDnsView {
  const j = JSON.parse(text) as Omit<ClusterDnsView, 'namespaces'> & { namespaces: string[] };
  return { ...j, namespaces: new Set(j.namespaces) };
}

/** What the kubernetes plugin does with a query. */
export type KubeAnswer =
  /** A complete response (rcode, answers, the SOA of negative answers). */
  | { readonly kind: 'reply'; readonly message: DnsMessage }
  /** Not for this plugin (outside its zones, or fallthrough for reverse names): the next plugin, forward, gets it. */
  | { readonly kind: 'forward' }
  /**
   * The answer chases a CNAME out of the zone (an ExternalName): look `name`/`type` up upstream, then ask again with it
   * in `lookups`.
   */
  | { readonly kind: 'lookup'; readonly name: string; readonly type: number };

/** Upstream answers gathered for {@link answer}, keyed by {@link lookupKey}; null: the lookup failed. */
export type Lookups = ReadonlyMap<string, DnsMessage | null>;

/** The key of an upstream lookup. */
export function lookupKey(name: string, type: number): string {
  return `${lowerName(name)}/${type}`;
}

// ───────────────────────────── records (kubernetes.go) ─────────────────────────────

/** msg.Service: a host (an IP or a name) plus where it lives in the zone. */
interface Svc {
  readonly host: string;
  readonly port: number;
  readonly ttl: number;
  /** Owner name for SRV targets and NS records (msg.Domain(key)), without the trailing dot. */
  readonly domain: string;
  readonly text?: string;
}

type NameErr = 'nxdomain';

interface Request {
  port: string;
  protocol: string;
  endpoint: string;
  service: string;
  namespace: string;
  podOrSvc: string;
}

function isIpHost(h: string): boolean {
  return parseIpv4(h) !== undefined;
}

/** parse.go parseRequest: `[endpoint.]|[_port._proto.]service.namespace.(svc|pod)` below the zone. */
function parseRequest(base: string): Request | NameErr {
  const r: Request = { port: '', protocol: '', endpoint: '', service: '', namespace: '', podOrSvc: '' };
  if (base === '' || base === 'svc' || base === 'pod') return r;
  const segs = base.split('.');
  let last = segs.length - 1;
  r.podOrSvc = segs[last]!;
  if (r.podOrSvc !== 'pod' && r.podOrSvc !== 'svc') return 'nxdomain';
  last--;
  if (last < 0) return r;
  r.namespace = segs[last]!;
  last--;
  if (last < 0) return r;
  r.service = segs[last]!;
  last--;
  if (last < 0) return r;
  if (last === 0) r.endpoint = segs[0]!;
  else if (last === 1) {
    r.protocol = strip(segs[1]!);
    r.port = strip(segs[0]!);
  } else return 'nxdomain';
  return r;
}

function strip(s: string): string {
  return s.startsWith('_') ? s.slice(1) : s;
}

function matchPort(want: string, name: string | undefined, wantProto: string, proto: string): boolean {
  return (
    (want === '' || want === (name ?? '').toLowerCase()) && (wantProto === '' || wantProto === proto.toLowerCase())
  );
}

function dashed(ip: Ipv4Addr): string {
  return formatIpv4(ip).replace(/\./g, '-');
}

/** endpointHostname: the endpoint's hostname, else the dashed IP. */
function endpointHostname(ep: { readonly hostname: string | undefined; readonly ip: Ipv4Addr }): string {
  return ep.hostname !== undefined && ep.hostname !== '' ? ep.hostname : dashed(ep.ip);
}

class Plugin {
  /**
   * `zone`: the zone the question matched, lower case; `owner`: that zone as the question spells it (state.Zone), which
   * the names the plugin makes end in (SRV and NS targets, their address records), as CoreDNS keys them by it.
   */
  constructor(
    private readonly v: ClusterDnsView,
    private readonly zone: string,
    private readonly owner: string,
  ) {}

  private nsExposed(ns: string): boolean {
    return this.v.namespaces.has(ns);
  }

  private slicesOf(svc: ServiceModel): EndpointSliceModel[] {
    return this.v.slices.filter((s) => s.namespace === svc.namespace && s.serviceName === svc.name);
  }

  /** Records(): the services behind a name in the cluster zone. */
  records(lname: string): { svcs: Svc[]; err: NameErr | undefined } {
    const base = this.base(lname);
    const r = parseRequest(base);
    if (r === 'nxdomain') return { svcs: [], err: 'nxdomain' };
    if (r.podOrSvc === '') return { svcs: [], err: undefined };
    if (lname.endsWith('in-addr.arpa') || lname.endsWith('ip6.arpa')) return { svcs: [], err: 'nxdomain' };
    if (!this.nsExposed(r.namespace)) return { svcs: [], err: 'nxdomain' };
    return r.podOrSvc === 'pod' ? this.findPods(r) : this.findServices(r);
  }

  private base(lname: string): string {
    if (lname === this.zone) return '';
    return lname.slice(0, lname.length - this.zone.length - 1);
  }

  private findPods(r: Request): { svcs: Svc[]; err: NameErr | undefined } {
    if (r.service === '') return { svcs: [], err: undefined };
    const name = r.service;
    // four dash-separated parts without "--" are IPv4; anything else would be an IPv6 address
    const ip =
      (name.match(/-/g) ?? []).length === 3 && !name.includes('--') ? parseIpv4(name.replace(/-/g, '.')) : undefined;
    if (ip === undefined) return { svcs: [], err: 'nxdomain' };
    return {
      svcs: [{ host: formatIpv4(ip), port: 0, ttl: this.v.ttl, domain: `${name}.${r.namespace}.pod.${this.owner}` }],
      err: undefined,
    };
  }

  private findServices(r: Request): { svcs: Svc[]; err: NameErr | undefined } {
    if (r.service === '') return { svcs: [], err: undefined };
    let err: NameErr | undefined = 'nxdomain';
    const out: Svc[] = [];
    const ttl = this.v.ttl;
    for (const svc of this.v.services) {
      if (svc.namespace !== r.namespace || svc.name.toLowerCase() !== r.service) continue;
      const domain = `${svc.name}.${svc.namespace}.svc.${this.owner}`;
      if (svc.type === 'ExternalName') {
        if (r.endpoint !== '' || r.port !== '' || r.protocol !== '') continue;
        const target = svc.externalName ?? '';
        if (target !== '' && !isIpHost(target)) {
          out.push({ host: target, port: 0, ttl, domain });
          err = undefined;
        }
        continue;
      }
      if (svc.headless || r.endpoint !== '') {
        for (const slice of this.slicesOf(svc)) {
          const ports = slice.ports.length === 0 ? [{ name: undefined, port: -1, protocol: '' }] : slice.ports;
          for (const ep of slice.endpoints) {
            // EndpointSliceToEndpoints keeps endpoints whose Ready condition is true (or unset)
            if (!ep.ready) continue;
            const host = endpointHostname(ep);
            if (r.endpoint !== '' && r.endpoint !== host.toLowerCase()) continue;
            for (const p of ports) {
              if (!matchPort(r.port, p.name, r.protocol, p.protocol)) continue;
              out.push({ host: formatIpv4(ep.ip), port: p.port, ttl, domain: `${host}.${domain}` });
              err = undefined;
            }
          }
        }
        continue;
      }
      for (const p of svc.ports) {
        if (!matchPort(r.port, p.name, r.protocol, p.protocol)) continue;
        err = undefined;
        for (const ip of svc.clusterIPs) out.push({ host: formatIpv4(ip), port: p.port, ttl, domain });
      }
    }
    return { svcs: out, err };
  }

  /** nsAddrs: the kube-dns Service names (or ns.dns.<zone>) of this CoreDNS pod's addresses. */
  nsAddrs(): Array<{ name: string; ip: string }> {
    const out: Array<{ name: string; ip: string }> = [];
    let found = false;
    for (const local of this.v.localIps) {
      for (const slice of this.v.slices) {
        if (!slice.endpoints.some((e) => e.ready && e.ip === local)) continue;
        found = true;
        for (const svc of this.v.services) {
          if (svc.namespace !== slice.namespace || svc.name !== slice.serviceName) continue;
          const name = `${svc.name}.${svc.namespace}.svc.${this.owner}`;
          if (svc.headless) {
            for (const e of slice.endpoints)
              if (e.ready) out.push({ name: `${endpointHostname(e)}.${name}`, ip: formatIpv4(e.ip) });
          } else for (const ip of svc.clusterIPs) out.push({ name, ip: formatIpv4(ip) });
        }
      }
    }
    if (!found) for (const ip of this.v.localIps) out.push({ name: `ns.dns.${this.owner}`, ip: formatIpv4(ip) });
    return out;
  }

  /** Services(): TXT and NS special cases, ns.dns.<zone>, SRV without CNAMEs, else Records(). */
  services(lname: string, qtype: number): { svcs: Svc[]; err: NameErr | undefined } {
    if (qtype === DnsType.TXT) {
      const base = this.base(lname);
      if (base === 'dns-version')
        return {
          svcs: [{ host: '', port: 0, ttl: DNS_VERSION_TTL, domain: lname, text: DNS_SCHEMA_VERSION }],
          err: undefined,
        };
      const r = this.records(lname);
      if (r.svcs.length > 0) return { svcs: [], err: undefined };
      return { svcs: [], err: 'nxdomain' };
    }
    if (qtype === DnsType.NS) {
      return {
        svcs: this.nsAddrs().map((n) => ({ host: n.ip, port: 0, ttl: this.v.ttl, domain: n.name })),
        err: undefined,
      };
    }
    // isDefaultNS compares the lower-cased name with the zone as asked: `ns.dns.<zone>` with capitals in the zone
    // part is not recognised (and then fails to parse: NXDOMAIN)
    if (lname.startsWith(DEFAULT_NS) && lname.indexOf(this.owner) === DEFAULT_NS.length) {
      const svcs =
        qtype === DnsType.A ? this.nsAddrs().map((n) => ({ host: n.ip, port: 0, ttl: this.v.ttl, domain: lname })) : [];
      return { svcs, err: undefined };
    }
    const r = this.records(lname);
    if (qtype !== DnsType.SRV) return r;
    return { svcs: r.svcs.filter((s) => isIpHost(s.host)), err: r.err };
  }

  /** reverse.go serviceRecordForIP: names in the primary zone as configured (the question is an in-addr.arpa name). */
  reverse(ip: Ipv4Addr): Svc[] {
    for (const svc of this.v.services) {
      if (svc.clusterIPs.includes(ip))
        return [{ host: `${svc.name}.${svc.namespace}.svc.${this.v.zone}`, port: 0, ttl: this.v.ttl, domain: '' }];
    }
    const out: Svc[] = [];
    for (const slice of this.v.slices) {
      for (const e of slice.endpoints) {
        if (e.ready && e.ip === ip)
          out.push({
            host: `${endpointHostname(e)}.${slice.serviceName}.${slice.namespace}.svc.${this.v.zone}`,
            port: 0,
            ttl: this.v.ttl,
            domain: '',
          });
      }
    }
    return out;
  }
}

// ───────────────────────────── answer assembly (backend_lookup.go, handler.go) ─────────────────────────────

const ZONES_EXTRA = ['in-addr.arpa', 'ip6.arpa'];

function rr(name: string, ttl: number, data: DnsRecord['data']): DnsRecord {
  return { name, class: DnsClass.IN, ttl, data };
}

function inZone(lname: string, zone: string): boolean {
  return lname === zone || lname.endsWith(`.${zone}`);
}

/** The reverse-name address (`7.1.244.10.in-addr.arpa` → 10.244.1.7), or undefined. */
function addressFromReverse(lname: string): Ipv4Addr | undefined {
  if (!lname.endsWith('.in-addr.arpa')) return undefined;
  const parts = lname.slice(0, -'.in-addr.arpa'.length).split('.');
  if (parts.length !== 4) return undefined;
  return parseIpv4(parts.reverse().join('.'));
}

/** The reply skeleton as miekg's SetReply/SetRcode build it (id, opcode, RD, CD, the question). */
export function replyTo(query: DnsMessage, rcode: number): DnsMessage {
  const h = query.header;
  const opQuery = h.opcode === 0;
  return {
    header: dnsHeader({ id: h.id, qr: true, opcode: h.opcode, rd: opQuery && h.rd, cd: opQuery && h.cd, rcode }),
    questions: query.questions.slice(0, 1),
    answers: [],
    authorities: [],
    additionals: [],
  };
}

class Assembler {
  readonly plugin: Plugin;
  constructor(
    readonly v: ClusterDnsView,
    readonly zone: string,
    readonly zoneOwner: string,
    readonly lookups: Lookups,
  ) {
    this.plugin = new Plugin(v, zone, zoneOwner);
  }

  /**
   * A / AAAA: addresses, CNAMEs chased in the zone and upstream. Returns records (`truncated` when an upstream answer
   * chased was, as plugin.A reports it) or a needed lookup.
   */
  address(
    qname: string,
    qtype: number,
    previous: DnsRecord[],
  ): { records: DnsRecord[]; err: NameErr | undefined; truncated: boolean } | { need: { name: string; type: number } } {
    const lname = lowerName(qname);
    // checkForApex: for the zone itself apex.dns.<zone> is tried first, which the plugin cannot parse,
    // so the zone name is looked up like any other
    const { svcs, err } = this.plugin.services(lname, qtype);
    if (err !== undefined) return { records: [], err, truncated: false };
    const out: DnsRecord[] = [];
    let truncated = false;
    const dup = new Set<string>();
    for (const s of svcs) {
      if (isIpHost(s.host)) {
        if (qtype === DnsType.A && !dup.has(s.host)) {
          dup.add(s.host);
          out.push(rr(qname, s.ttl, { type: 'A', address: parseIpv4(s.host)! }));
        }
        continue;
      }
      // a CNAME (ExternalName)
      const target = s.host.endsWith('.') ? s.host.slice(0, -1) : s.host;
      if (lowerName(target) === lname) continue;
      const cname = rr(qname, s.ttl, { type: 'CNAME', target });
      if (previous.length > 10) continue;
      if (
        previous.some(
          (p) =>
            p.data.type === 'CNAME' && lowerName(p.name) === lname && lowerName(p.data.target) === lowerName(target),
        )
      )
        continue;
      if (inZone(lowerName(target), this.zone)) {
        const next = this.address(target, qtype, [...previous, cname]);
        if ('need' in next) return next;
        if (next.err === undefined && next.records.length > 0) out.push(cname, ...next.records);
        truncated ||= next.truncated;
        continue;
      }
      const key = lookupKey(target, qtype);
      if (!this.lookups.has(key)) return { need: { name: target, type: qtype } };
      const m = this.lookups.get(key);
      if (m === null || m === undefined) continue;
      // an upstream answer cut short (TC) makes this one truncated too, so the client asks again over TCP
      truncated ||= m.header.tc;
      out.push(cname, ...m.answers);
    }
    return { records: out, err: undefined, truncated };
  }

  srv(qname: string): { records: DnsRecord[]; extra: DnsRecord[]; err: NameErr | undefined } {
    const { svcs, err } = this.plugin.services(lowerName(qname), DnsType.SRV);
    if (err !== undefined) return { records: [], extra: [], err };
    // every service weighs 100 (priority 0); each record gets floor(100 / total × 100), at least 1
    const total = svcs.length * 100;
    const records: DnsRecord[] = [];
    const extra: DnsRecord[] = [];
    const dup = new Set<string>();
    for (const s of svcs) {
      if (s.port === -1) continue;
      const weight = Math.max(1, Math.floor((100 / total) * 100));
      const target = s.domain;
      const k1 = `${target}|${s.port}`;
      if (!dup.has(k1)) {
        dup.add(k1);
        records.push(rr(qname, s.ttl, { type: 'SRV', priority: 0, weight, port: s.port, target }));
      }
      const k2 = `${target}|${s.host}`;
      if (!dup.has(k2)) {
        dup.add(k2);
        extra.push(rr(target, s.ttl, { type: 'A', address: parseIpv4(s.host)! }));
      }
    }
    return { records, extra, err: undefined };
  }

  soa(): DnsRecord {
    const ttl = Math.min(this.v.ttl, 300);
    return rr(this.zoneOwner, ttl, {
      type: 'SOA',
      mname: `ns.dns.${this.zoneOwner}`,
      rname: `hostmaster.${this.zoneOwner}`,
      serial: this.v.serial >>> 0,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: this.v.ttl,
    });
  }
}

/**
 * The kubernetes plugin's answer to `query` (handler.go ServeDNS). `lookups` carries upstream
 * answers for CNAME targets outside the zone, as a previous `lookup` outcome asked for.
 */
export function answer(query: DnsMessage, view: ClusterDnsView, lookups: Lookups = new Map()): KubeAnswer {
  const q: DnsQuestion | undefined = query.questions[0];
  if (q === undefined) return { kind: 'forward' };
  const qname = q.name;
  const lname = lowerName(qname);
  const zones = [view.zone, ...ZONES_EXTRA];
  let zone: string | undefined;
  for (const z of zones) if (inZone(lname, z) && (zone === undefined || z.length > zone.length)) zone = z;
  if (zone === undefined) return { kind: 'forward' };
  // the zone keeps the query's spelling (`zone = qname[len(qname)-len(zone):]`)
  const zoneOwner = qname.slice(qname.length - zone.length);
  const a = new Assembler(view, zone, zoneOwner, lookups);
  let records: DnsRecord[] = [];
  let extra: DnsRecord[] = [];
  let err: NameErr | undefined;
  let truncated = false;
  switch (q.type) {
    case DnsType.A:
    case DnsType.AAAA: {
      const r = a.address(qname, q.type, []);
      if ('need' in r) return { kind: 'lookup', ...r.need };
      ({ records, err, truncated } = r);
      break;
    }
    case DnsType.TXT: {
      const s = a.plugin.services(lname, DnsType.TXT);
      err = s.err;
      records = s.svcs
        .filter((x) => x.text !== undefined)
        .map((x) => rr(qname, x.ttl, { type: 'TXT', text: [x.text!] }));
      break;
    }
    case DnsType.CNAME: {
      const s = a.plugin.services(lname, DnsType.CNAME);
      err = s.err;
      const first = s.svcs[0];
      if (err === undefined && first !== undefined && !isIpHost(first.host))
        records = [rr(qname, first.ttl, { type: 'CNAME', target: first.host.replace(/\.$/, '') })];
      break;
    }
    case DnsType.PTR: {
      const ip = addressFromReverse(lname);
      let svcs: Svc[];
      if (ip === undefined) {
        const r = lname.endsWith('.ip6.arpa') ? { svcs: [], err: 'nxdomain' as const } : a.plugin.records(lname);
        svcs = r.svcs;
        err = r.err;
      } else {
        svcs = a.plugin.reverse(ip);
        err = svcs.length === 0 ? 'nxdomain' : undefined;
      }
      if (err === undefined) {
        const dup = new Set<string>();
        for (const s of svcs) {
          if (isIpHost(s.host) || dup.has(s.host)) continue;
          dup.add(s.host);
          records.push(rr(qname, s.ttl, { type: 'PTR', target: s.host.replace(/\.$/, '') }));
        }
      }
      break;
    }
    case DnsType.SRV: {
      const r = a.srv(qname);
      ({ records, extra, err } = r);
      break;
    }
    case DnsType.MX: {
      // no Service is a mail exchanger; only the name check matters
      err = a.plugin.services(lname, DnsType.MX).err;
      break;
    }
    case DnsType.SOA:
      if (lname === zone) records = [a.soa()];
      break;
    case DnsType.AXFR:
    case DnsType.IXFR:
      return { kind: 'reply', message: replyTo(query, DnsRcode.REFUSED) };
    case DnsType.NS:
      // handler.go compares the lower-cased name with the zone as asked: an apex spelled with capitals is not the apex
      // here and gets NODATA, as any other type would
      if (lname === zoneOwner) {
        const seen = new Set<string>();
        for (const n of a.plugin.nsAddrs()) {
          extra.push(rr(n.name, view.ttl, { type: 'A', address: parseIpv4(n.ip)! }));
          if (seen.has(n.name)) continue;
          seen.add(n.name);
          records.push(rr(qname, view.ttl, { type: 'NS', target: n.name }));
        }
      } else {
        // NS below the apex is answered like any other type: only whether the name exists matters
        const r = a.address(qname, DnsType.A, []);
        if ('need' in r) return { kind: 'lookup', ...r.need };
        err = r.err;
      }
      break;
    default: {
      const r = a.address(qname, DnsType.A, []);
      if ('need' in r) return { kind: 'lookup', ...r.need };
      err = r.err;
      records = [];
    }
  }
  if (err !== undefined) {
    // fallthrough in-addr.arpa ip6.arpa: the next plugin (forward) gets reverse names the cluster does not own
    if (zone !== view.zone) return { kind: 'forward' };
    const m = replyTo(query, DnsRcode.NXDOMAIN);
    m.header.aa = true;
    m.authorities = [a.soa()];
    return { kind: 'reply', message: m };
  }
  const m = replyTo(query, DnsRcode.NOERROR);
  m.header.aa = true;
  if (records.length === 0) {
    m.authorities = [a.soa()];
    return { kind: 'reply', message: m };
  }
  m.header.tc = truncated;
  m.answers = records;
  m.additionals = extra;
  return { kind: 'reply', message: m };
}

/**
 * {@link answer} with upstream lookups answered synchronously by `upstream` (undefined: the
 * lookup fails); 'forward' when the name is not the plugin's.
 */
export function answerWith(
  query: DnsMessage,
  view: ClusterDnsView,
  upstream: (name: string, type: number) => DnsMessage | undefined = () => undefined,
): DnsMessage | 'forward' {
  const lookups = new Map<string, DnsMessage | null>();
  for (let i = 0; i < 16; i++) {
    const r = answer(query, view, lookups);
    if (r.kind === 'reply') return r.message;
    if (r.kind === 'forward') return 'forward';
    lookups.set(lookupKey(r.name, r.type), upstream(r.name, r.type) ?? null);
  }
  return replyTo(query, DnsRcode.SERVFAIL);
}

// ───────────────────────────── cache 30 (plugin/cache) ─────────────────────────────

/** `cache 30`: success and denial TTLs capped at 30 s, at least 5 s; SERVFAIL kept 5 s. */
const CACHE_MAX_TTL = 30;
const CACHE_MIN_TTL = 5;
const CACHE_FAIL_TTL = 5;

type CacheKind = 'success' | 'denial' | 'failure' | 'other';

function classify(m: DnsMessage): CacheKind {
  const rc = m.header.rcode;
  if (rc === DnsRcode.NXDOMAIN) return 'denial';
  if (rc === DnsRcode.SERVFAIL) return 'failure';
  if (rc !== DnsRcode.NOERROR) return 'other';
  return m.answers.length === 0 ? 'denial' : 'success';
}

function hasSoa(m: DnsMessage): boolean {
  return m.authorities.some((r) => recordType(r) === DnsType.SOA);
}

/** The cache's TTL for a response (dnsutil.MinimalTTL capped and floored as `cache 30` does), in seconds. */
export function cacheTtl(m: DnsMessage): number {
  const kind = classify(m);
  if (kind === 'failure') return CACHE_FAIL_TTL;
  const rrs = [...m.answers, ...m.authorities, ...m.additionals.filter((r) => !isOpt(r))];
  // dnsutil.MinimalTTL: the smallest TTL of the message, 5 s for one without records
  let min = kind === 'other' || rrs.length === 0 ? CACHE_MIN_TTL : CACHE_MAX_TTL;
  if (kind !== 'other') for (const r of rrs) min = Math.min(min, r.ttl);
  return Math.min(Math.max(min, CACHE_MIN_TTL), CACHE_MAX_TTL);
}

/** Every record's TTL set to `ttl`, OPT records dropped (filterRRSlice). */
function withTtl(m: DnsMessage, ttl: number): DnsMessage {
  const set = (rs: DnsRecord[]): DnsRecord[] => rs.filter((r) => !isOpt(r)).map((r) => ({ ...r, ttl }));
  return {
    ...m,
    header: { ...m.header },
    answers: set(m.answers),
    authorities: set(m.authorities),
    additionals: set(m.additionals),
  };
}

interface CacheItem {
  readonly msg: DnsMessage;
  readonly stored: Nanos;
  readonly ttl: number;
}

// ───────────────────────────── loadbalance ─────────────────────────────

/** loadbalance round_robin: shuffles address records (CNAMEs first, as glibc wants them). */
export function roundRobin(rs: readonly DnsRecord[], rng: Rng): DnsRecord[] {
  if (rs.length <= 1) return [...rs];
  const t0 = recordType(rs[0]!);
  if ((t0 === DnsType.A || t0 === DnsType.AAAA) && rs.every((r) => recordType(r) === t0)) {
    const out = [...rs];
    shuffle(out, rng);
    return out;
  }
  const cname: DnsRecord[] = [];
  const address: DnsRecord[] = [];
  const mx: DnsRecord[] = [];
  const rest: DnsRecord[] = [];
  for (const r of rs) {
    const t = recordType(r);
    if (t === DnsType.CNAME) cname.push(r);
    else if (t === DnsType.A || t === DnsType.AAAA) address.push(r);
    else if (t === DnsType.MX) mx.push(r);
    else rest.push(r);
  }
  shuffle(address, rng);
  shuffle(mx, rng);
  return [...cname, ...rest, ...address, ...mx];
}

// roundRobinShuffle: a coin flip for two records, else swap each position with a random later one
function shuffle(rs: DnsRecord[], rng: Rng): void {
  const l = rs.length;
  if (l <= 1) return;
  if (l === 2) {
    if ((rng.nextU32() & 0xffff) % 2 === 0) [rs[0], rs[1]] = [rs[1]!, rs[0]!];
    return;
  }
  for (let j = 0; j < l; j++) {
    const p = j + ((rng.nextU32() & 0xffff) % (l - j));
    if (p !== j) [rs[j], rs[p]] = [rs[p]!, rs[j]!];
  }
}

// ───────────────────────────── scrub (request.ScrubWriter) ─────────────────────────────

/**
 * The largest response a client accepts: 512 without EDNS0, its advertised size (at least 512) with; 65535 over TCP.
 */
export function responseSize(query: DnsMessage, proto: 'udp' | 'tcp'): number {
  if (proto === 'tcp') return 0xffff;
  const e = ednsOf(query);
  return Math.max(512, e?.udpSize ?? 512);
}

/**
 * SizeAndDo + Scrub: echo the client's OPT (version 0, its size, DO), then make the message fit
 * (miekg Msg.Truncate: uncompressed if it fits, else compressed and cut record by record with TC
 * set when anything was left out). Returns the bytes to send.
 */
export function scrub(query: DnsMessage, resp: DnsMessage, proto: 'udp' | 'tcp'): Uint8Array {
  const qe = ednsOf(query);
  const m: DnsMessage = { ...resp, header: { ...resp.header }, additionals: resp.additionals.filter((r) => !isOpt(r)) };
  let opt: DnsRecord | undefined;
  if (qe !== undefined) opt = optRecord(qe.udpSize, { do: qe.do });
  const size = responseSize(query, proto);
  const full = (x: DnsMessage): DnsMessage => (opt === undefined ? x : { ...x, additionals: [...x.additionals, opt] });
  const plain = encodeDns(full(m), { compress: false });
  if (plain.length <= size) {
    // IPv4 UDP answers over 1480 bytes are compressed to spare fragmentation
    if (proto === 'udp' && plain.length > 1480) return encodeDns(full(m));
    return plain;
  }
  const budget = size - (opt === undefined ? 0 : 11);
  const cut: DnsMessage = { ...m, answers: [], authorities: [], additionals: [] };
  let dropped = false;
  const fits = (): boolean => encodeDns(cut).length <= budget;
  for (const section of ['answers', 'authorities', 'additionals'] as const) {
    for (const r of m[section]) {
      if (dropped) break;
      cut[section].push(r);
      if (!fits()) {
        cut[section].pop();
        dropped = true;
      }
    }
  }
  const anyDropped =
    cut.answers.length < m.answers.length ||
    cut.authorities.length < m.authorities.length ||
    cut.additionals.length < m.additionals.length;
  cut.header.tc = cut.header.tc || anyDropped;
  return encodeDns(full(cut));
}

// ───────────────────────────── the plugin chain ─────────────────────────────

/** Options of a CoreDNS plugin chain. */
export interface CoreDnsOptions {
  /** Display name of the pod (`kube-system/coredns-0`). */
  readonly name: string;
  readonly view: ClusterDnsView;
  /** `forward . /etc/resolv.conf`: the pod's nameservers (dnsPolicy Default: the node's). */
  readonly upstreams: readonly Ipv4Addr[];
  /** Where answered queries are reported (for traces and probe results). */
  readonly log?: (e: DnsServerLogEntry) => void;
}

/**
 * How one exchange with an upstream ended: its answer, a failure worth another try, or one that ends the forward
 * (SERVFAIL).
 */
export type UpstreamOutcome =
  | { readonly answer: DnsMessage }
  | { readonly retry: UpstreamTrouble }
  | { readonly fail: UpstreamTrouble };

/** Why an upstream exchange gave no answer: no answer in time, or a socket error. */
export type UpstreamTrouble = { readonly timeout: Nanos; readonly tcp: boolean } | { readonly error: string };

/**
 * What a plugin chain needs from where it runs: podnet's simulated pod ({@link CoreDnsServer})
 * or a real network namespace (the kernel conformance check's DNS agent).
 */
export interface CoreDnsHost {
  /** Time now (ns): the cache's clock and the forward deadline. */
  now(): Nanos;
  /** loadbalance's shuffles, upstream query ids, the choice among several upstreams. */
  readonly rng: Rng;
  /**
   * One query to `upstream`:53 over `proto` (the forward plugin's transport: pooled UDP
   * connections reused for 10 s, a TCP connection per query), waiting `timeout` for the answer
   * whose id is `id`.
   */
  exchange(
    upstream: Ipv4Addr,
    proto: 'udp' | 'tcp',
    wire: Uint8Array,
    id: number,
    timeout: Nanos,
    flow: number,
    done: (o: UpstreamOutcome) => void,
  ): void;
  /** An event for podnet's trace (a no-op where nothing is traced). */
  trace(flow: number, detail: CoreDnsEvent): void;
}

/** One query as the chain receives it. */
export interface CoreDnsQuery {
  readonly query: DnsMessage;
  readonly proto: 'udp' | 'tcp';
  readonly client: Ipv4Addr;
  readonly clientPort: number;
  readonly flow: number;
}

const FORWARD_READ_TIMEOUT = sec(2);
const FORWARD_DEADLINE = sec(5);
/** How long the forward plugin keeps an idle upstream connection for reuse (plugin/pkg/proxy expire). */
export const FORWARD_CONN_EXPIRE = sec(10);

/**
 * kubeadm's Corefile as a chain, independent of transport: loadbalance → cache 30 → kubernetes →
 * forward, the answer made to fit by the ScrubWriter.
 */
export class CoreDnsChain {
  private readonly cache = new Map<string, CacheItem>();

  constructor(
    readonly opts: CoreDnsOptions,
    private readonly host: CoreDnsHost,
  ) {}

  /** Answers one screened query; `reply` gets the bytes of the answer (one DNS message). */
  handle(req: CoreDnsQuery, reply: (bytes: Uint8Array) => void): void {
    const q = req.query;
    const question = q.questions[0];
    const t0 = this.host.now();
    this.serve(q, req.proto, req.flow, (resp, how) => {
      const bytes = scrub(q, this.loadbalance(resp), req.proto);
      const label = question === undefined ? '(no question)' : `${dnsTypeName(question.type)} ${fqdn(question.name)}`;
      // TC as sent: passed on from upstream or the plugin, or set by the scrub that cut the answer to fit
      const truncated = (bytes[2]! & 0x02) !== 0;
      const client = `${formatIpv4(req.client)}:${req.clientPort}`;
      const answer = {
        what: 'answer',
        proto: req.proto,
        client,
        question: label,
        rcode: dnsRcodeName(resp.header.rcode),
        answers: resp.answers.length,
        by: how,
        ...(truncated ? { truncated } : {}),
      } as const;
      this.host.trace(req.flow, answer);
      this.opts.log?.({
        t: t0,
        server: this.opts.name,
        proto: req.proto,
        client: req.client,
        clientPort: req.clientPort,
        id: q.header.id,
        name: question?.name ?? '',
        type: question?.type ?? 0,
        rcode: resp.header.rcode,
        how,
        flow: req.flow,
      });
      reply(bytes);
    });
  }

  private loadbalance(m: DnsMessage): DnsMessage {
    const q = m.questions[0];
    if (
      m.header.rcode !== DnsRcode.NOERROR ||
      (q !== undefined && (q.type === DnsType.AXFR || q.type === DnsType.IXFR))
    )
      return m;
    const rng = this.host.rng;
    return {
      ...m,
      answers: roundRobin(m.answers, rng),
      authorities: roundRobin(m.authorities, rng),
      additionals: roundRobin(m.additionals, rng),
    };
  }

  private cacheKey(q: DnsMessage): string | undefined {
    const question = q.questions[0];
    if (question === undefined) return undefined;
    const e = ednsOf(q);
    return `${lowerName(question.name)}|${question.type}|${question.class}|${e?.do === true ? 1 : 0}|${q.header.cd ? 1 : 0}`;
  }

  /** cache → kubernetes → forward; `how` says where the answer came from. */
  private serve(
    q: DnsMessage,
    proto: 'udp' | 'tcp',
    flow: number,
    done: (m: DnsMessage, how: 'kubernetes' | 'cache' | 'forward' | 'error') => void,
  ): void {
    const now = this.host.now();
    const key = this.cacheKey(q);
    const hit = key === undefined ? undefined : this.cache.get(key);
    if (hit !== undefined) {
      const left = hit.ttl - Math.floor((now - hit.stored) / 1e9);
      if (left > 0) {
        const m = withTtl(hit.msg, left);
        const r = replyTo(q, hit.msg.header.rcode);
        done(
          { ...m, header: { ...r.header, aa: true, ra: hit.msg.header.ra, ad: false }, questions: r.questions },
          'cache',
        );
        return;
      }
      this.cache.delete(key!);
    }
    const finish = (resp: DnsMessage, how: 'kubernetes' | 'forward' | 'error'): void => {
      const ttl = cacheTtl(resp);
      const out = withTtl(resp, ttl);
      const kind = classify(resp);
      const cacheable =
        key !== undefined &&
        !resp.header.tc &&
        kind !== 'other' &&
        !(kind === 'denial' && resp.header.rcode === DnsRcode.NXDOMAIN && !hasSoa(resp));
      if (cacheable && ttl > 0) this.cache.set(key!, { msg: out, stored: now, ttl });
      done(out, how);
    };
    const lookups = new Map<string, DnsMessage | null>();
    const step = (): void => {
      const r = answer(q, this.opts.view, lookups);
      if (r.kind === 'reply') {
        finish(r.message, 'kubernetes');
        return;
      }
      if (r.kind === 'forward') {
        this.forward(q, proto, flow, (resp) => {
          if (resp === undefined) finish(replyTo(q, DnsRcode.SERVFAIL), 'error');
          else finish({ ...resp, header: { ...resp.header, id: q.header.id } }, 'forward');
        });
        return;
      }
      // upstream.Lookup: the target goes through this server's own chain (cache, forward)
      const sub: DnsMessage = {
        header: dnsHeader({ id: this.host.rng.nextU32() & 0xffff, rd: true }),
        questions: [{ name: r.name, type: r.type, class: DnsClass.IN }],
        answers: [],
        authorities: [],
        additionals: ednsOf(q) === undefined ? [] : [optRecord(ednsOf(q)!.udpSize)],
      };
      this.serve(sub, proto, flow, (m) => {
        lookups.set(lookupKey(r.name, r.type), m.header.rcode === DnsRcode.SERVFAIL ? null : m);
        step();
      });
    };
    step();
  }

  /** forward . /etc/resolv.conf: the query, with a fresh id, to one upstream (random among several). */
  private forward(q: DnsMessage, proto: 'udp' | 'tcp', flow: number, done: (m: DnsMessage | undefined) => void): void {
    const host = this.host;
    const ups = this.opts.upstreams;
    if (ups.length === 0) {
      host.trace(flow, { what: 'forward-none' });
      done(undefined);
      return;
    }
    const upstream = ups.length === 1 ? ups[0]! : ups[host.rng.nextInt(ups.length)]!;
    const start = host.now();
    const attempt = (): void => {
      const id = host.rng.nextU32() & 0xffff;
      const wire = encodeDns({ ...q, header: { ...q.header, id } });
      const left = start + FORWARD_DEADLINE - host.now();
      if (left <= 0) {
        host.trace(flow, { what: 'forward-timeout', upstream: formatIpv4(upstream) });
        done(undefined);
        return;
      }
      const timeout = Math.min(FORWARD_READ_TIMEOUT, left);
      host.exchange(upstream, proto, wire, id, timeout, flow, (o) => {
        if ('answer' in o) done(o.answer);
        else if ('fail' in o) {
          host.trace(flow, { what: 'forward-failed', upstream: formatIpv4(upstream), trouble: o.fail });
          done(undefined);
        } else {
          host.trace(flow, { what: 'forward-retry', upstream: formatIpv4(upstream), trouble: o.retry });
          if (host.now() - start >= FORWARD_DEADLINE) done(undefined);
          else attempt();
        }
      });
    };
    attempt();
  }
}

// ───────────────────────────── the server in a simulated pod ─────────────────────────────

interface PooledUdp {
  readonly sock: UdpSocket;
  lastUsed: Nanos;
  pending: { id: number; done: (o: UpstreamOutcome) => void; timer: Timer } | undefined;
}

/** CoreDNS in one pod: the plugin chain of kubeadm's Corefile on port 53. */
export class CoreDnsServer implements CoreDnsHost {
  private readonly pool: PooledUdp[] = [];
  readonly rng: Rng;
  private readonly chain: CoreDnsChain;

  constructor(
    readonly ns: NetNs,
    readonly opts: CoreDnsOptions,
  ) {
    this.rng = ns.rng.fork('coredns');
    this.chain = new CoreDnsChain(opts, this);
  }

  /** Binds UDP and TCP port 53; returns what could not be bound. */
  start(port = 53): string[] {
    return startDnsServer(this.ns, port, (req) => this.chain.handle(req, (bytes) => req.reply(bytes)));
  }

  now(): Nanos {
    return this.ns.world.now;
  }

  trace(flow: number, detail: CoreDnsEvent): void {
    if (this.ns.world.tracer.on)
      this.ns.trace({ kind: 'app', app: 'coredns', ...detail }, null, undefined, TraceTo.Hop, flow);
  }

  exchange(
    upstream: Ipv4Addr,
    proto: 'udp' | 'tcp',
    wire: Uint8Array,
    id: number,
    timeout: Nanos,
    flow: number,
    done: (o: UpstreamOutcome) => void,
  ): void {
    if (proto === 'tcp') this.exchangeTcp(upstream, wire, id, timeout, flow, done);
    else this.exchangeUdp(upstream, wire, id, timeout, flow, done);
  }

  private exchangeUdp(
    upstream: Ipv4Addr,
    wire: Uint8Array,
    id: number,
    timeout: Nanos,
    flow: number,
    done: (o: UpstreamOutcome) => void,
  ): void {
    const now = this.ns.world.now;
    // Transport.Dial: reuse an idle connection used within the last 10 s, else dial a new one
    let pc: PooledUdp | undefined;
    while (this.pool.length > 0) {
      const c = this.pool.shift()!;
      if (now - c.lastUsed > FORWARD_CONN_EXPIRE || c.sock.closed) {
        c.sock.close();
        continue;
      }
      pc = c;
      break;
    }
    if (pc === undefined) {
      const s = this.ns.sockets.openUdp(0, 0, flow);
      if ('errno' in s) {
        done({ retry: { error: s.message } });
        return;
      }
      s.connect(upstream, 53);
      const fresh: PooledUdp = { sock: s, lastUsed: now, pending: undefined };
      s.onMessage = (data) => this.onUpstreamUdp(fresh, data);
      s.onError = (err) => {
        const p = fresh.pending;
        fresh.pending = undefined;
        fresh.sock.close();
        if (p !== undefined) {
          p.timer.cancel();
          p.done({ fail: { error: err.message } });
        }
      };
      pc = fresh;
    }
    const conn = pc;
    conn.sock.flow = flow;
    const timer = this.ns.world.sched.schedule(
      timeout,
      () => {
        if (conn.pending?.id !== id) return;
        conn.pending = undefined;
        conn.sock.close();
        done({ retry: { timeout, tcp: false } });
      },
      null,
    );
    conn.pending = {
      id,
      timer,
      done: (o) => {
        conn.lastUsed = this.ns.world.now;
        if ('answer' in o) this.pool.push(conn);
        done(o);
      },
    };
    this.trace(flow, {
      what: 'forward',
      proto: 'udp',
      sourcePort: conn.sock.localPort,
      upstream: formatIpv4(upstream),
      id,
    });
    const err = conn.sock.send(wire);
    if (err !== undefined) {
      timer.cancel();
      conn.pending = undefined;
      conn.sock.close();
      done({ retry: { error: err.message } });
    }
  }

  private onUpstreamUdp(conn: PooledUdp, data: Uint8Array): void {
    const p = conn.pending;
    if (p === undefined) return;
    let m: DnsMessage;
    try {
      m = parseDns(data);
    } catch {
      return;
    }
    if (m.header.id !== p.id) return; // an old answer: keep reading
    conn.pending = undefined;
    p.timer.cancel();
    p.done({ answer: m });
  }

  private exchangeTcp(
    upstream: Ipv4Addr,
    wire: Uint8Array,
    id: number,
    timeout: Nanos,
    flow: number,
    done: (o: UpstreamOutcome) => void,
  ): void {
    const reader = new DnsTcpReader();
    let settled = false;
    let sock: TcpSocket | undefined;
    const finish = (m: DnsMessage | undefined, why?: UpstreamTrouble): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      sock?.close();
      done(m !== undefined ? { answer: m } : { retry: why ?? { error: 'connection failed' } });
    };
    const timer = this.ns.world.sched.schedule(timeout, () => finish(undefined, { timeout, tcp: true }), null);
    const s = this.ns.sockets.tcp.connect(upstream, 53, 0, flow, {
      onConnected: (c) => {
        this.trace(flow, {
          what: 'forward',
          proto: 'tcp',
          sourcePort: c.localPort,
          upstream: formatIpv4(upstream),
          id,
        });
        c.write(frameDnsTcp(wire));
      },
      onData: (_c, data) => {
        for (const m of reader.push(data)) if (m.header.id === id) finish(m);
      },
      onClosed: (_c, err) => finish(undefined, { error: err?.message ?? 'closed without an answer' }),
    });
    if ('errno' in s) finish(undefined, { error: s.message });
    else {
      s.noDelay = true;
      sock = s;
    }
  }
}

/**
 * The ports a CoreDNS pod serves with the banner server: all it declares but 53/UDP and 53/TCP, which CoreDNS serves
 * itself.
 */
export function coreDnsOtherPorts<P extends { readonly port: number; readonly protocol: string }>(
  ports: readonly P[],
): P[] {
  return ports.filter((p) => p.port !== 53 || (p.protocol !== 'UDP' && p.protocol !== 'TCP'));
}

/**
 * `forward . /etc/resolv.conf` of a CoreDNS pod: its own resolv.conf's nameservers. kubeadm deploys
 * it with dnsPolicy Default (the node's, i.e. the underlay gateway); a ClusterFirst one would
 * forward to itself, so it is given the node's too.
 */
export function coreDnsUpstreams(pod: PodModel, model: ClusterModel): Ipv4Addr[] {
  const policy = pod.dnsPolicy;
  const conf = policy === 'Default' || policy === 'None' ? podResolvConf(pod, model) : hostResolvConf(model);
  return [...conf.nameservers];
}

/** Every CoreDNS pod of a model: namespace kube-system, label k8s-app=kube-dns. */
export function isCoreDnsPod(p: {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}): boolean {
  return p.namespace === 'kube-system' && p.labels['k8s-app'] === 'kube-dns';
}
