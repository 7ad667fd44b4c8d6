/**
 * The resolver inside a pod: the /etc/resolv.conf kubelet writes for it and glibc's stub
 * resolver reading it, sending real packets.
 *
 * resolv.conf (kubelet pkg/kubelet/network/dns/dns.go GetPodDNS): ClusterFirst gives
 * `nameserver <--cluster-dns>` (kubeadm: the tenth address of the service CIDR), `search
 * <ns>.svc.<domain> svc.<domain> <domain>` plus the node's search domains, `options ndots:5`;
 * Default copies the node's resolv.conf (podnet's nodes: `nameserver <underlay gateway>`);
 * ClusterFirst on a hostNetwork pod falls back to Default unless the policy is
 * ClusterFirstWithHostNet; None starts empty. `dnsConfig` is then merged in (nameservers and
 * searches appended without duplicates, options merged by name) and cut to 3 nameservers.
 *
 * getaddrinfo (glibc resolv/res_query.c __res_context_search, res_send.c send_dg/send_vc,
 * nss_dns): /etc/hosts first (kubelet writes the pod's own name and its hostAliases), then for a name with fewer
 * dots than ndots the search list first and the name as given last, otherwise the name as
 * given first; a trailing dot skips the list. Each candidate is one A and one AAAA query sent
 * back to back from one connected UDP socket (one source port, a new socket per candidate, kept
 * across retries), moving on after NXDOMAIN and after NODATA, stopping at a server failure
 * other than SERVFAIL; per try and nameserver a timeout of `timeout` seconds (5), `attempts`
 * tries (2); a truncated answer (TC) repeats both queries over one TCP connection to the same
 * server. ICMP port unreachable from every server ends the lookup at once (EAI_AGAIN).
 */
import type { Ipv4Addr } from '../wire/addr.js';
import { formatIpv4, parseIpv4 } from '../wire/addr.js';
import {
  DnsClass,
  DnsRcode,
  DnsType,
  dnsHeader,
  dnsRcodeName,
  dnsTypeName,
  encodeDns,
  frameDnsTcp,
  lowerName,
  optRecord,
  parseDns,
  sameName,
  shortRecord,
  type DnsMessage,
} from '../wire/dns.js';
import { isWireError } from '../wire/errors.js';
import type { ClusterModel, PodModel } from '../kube/model.js';
import type { NetNs } from '../net/netns.js';
import type { UdpSocket } from '../net/sockets.js';
import type { TcpSocket } from '../net/tcp.js';
import type { Timer } from '../sim/scheduler.js';
import { sec, type Nanos } from '../sim/time.js';
import { DnsTcpReader } from './dns-server.js';
import type { ResolverDetail } from '../events/hop.js';
import { TraceTo } from '../events/tracer.js';

// ───────────────────────────── resolv.conf ─────────────────────────────

/** The resolver options glibc reads (`options` line; defaults as res_init sets them). */
export interface ResolverOptions {
  /** Names with fewer dots are tried with the search list first (default 1, at most 15). */
  readonly ndots: number;
  /** Seconds to wait per try and server (RES_TIMEOUT 5, at most 30). */
  readonly timeout: number;
  /** Tries per server (RES_DFLRETRY 2, at most 5). */
  readonly attempts: number;
  readonly rotate: boolean;
  /** Send A, wait for its answer, then AAAA (`single-request`). */
  readonly singleRequest: boolean;
  /** As single-request, with a new socket for the second query (`single-request-reopen`). */
  readonly singleRequestReopen: boolean;
  /** Always TCP (`use-vc`). */
  readonly useVc: boolean;
  /** Add an EDNS0 OPT record advertising 1200 bytes (`edns0`). */
  readonly edns0: boolean;
  /** Set the AD bit in queries (`trust-ad`). */
  readonly trustAd: boolean;
  /** Do not try a dot-less name as given (`no-tld-query`). */
  readonly noTldQuery: boolean;
}

/** A pod's (or host's) /etc/resolv.conf as glibc reads it. */
export interface ResolvConf {
  readonly nameservers: readonly Ipv4Addr[];
  readonly search: readonly string[];
  /** The `options` words as written (`ndots:5`). */
  readonly optionWords: readonly string[];
  readonly options: ResolverOptions;
  /** Where it came from: `ClusterFirst`, `Default (the node's)`, … */
  readonly origin: string;
}

/** The options glibc applies for the words of an `options` line. */
export function parseResolvOptions(words: readonly string[]): ResolverOptions {
  const o = {
    ndots: 1,
    timeout: 5,
    attempts: 2,
    rotate: false,
    singleRequest: false,
    singleRequestReopen: false,
    useVc: false,
    edns0: false,
    trustAd: false,
    noTldQuery: false,
  };
  const num = (w: string, max: number): number | undefined => {
    const v = Number.parseInt(w.slice(w.indexOf(':') + 1), 10);
    return Number.isFinite(v) && v >= 0 ? Math.min(v, max) : undefined;
  };
  for (const w of words) {
    if (w.startsWith('ndots:')) o.ndots = num(w, 15) ?? o.ndots;
    else if (w.startsWith('timeout:')) o.timeout = Math.max(1, num(w, 30) ?? o.timeout);
    else if (w.startsWith('attempts:')) o.attempts = Math.max(1, num(w, 5) ?? o.attempts);
    else if (w === 'rotate') o.rotate = true;
    else if (w === 'single-request') o.singleRequest = true;
    else if (w === 'single-request-reopen') o.singleRequestReopen = true;
    else if (w === 'use-vc') o.useVc = true;
    else if (w === 'edns0') o.edns0 = true;
    else if (w === 'trust-ad') o.trustAd = true;
    else if (w === 'no-tld-query') o.noTldQuery = true;
  }
  return o;
}

/** The tenth address of the service CIDR: kubeadm's --cluster-dns (GetDNSIP). */
export function clusterDnsIp(model: Pick<ClusterModel, 'serviceCIDR'>): Ipv4Addr {
  return (model.serviceCIDR.addr + 10) >>> 0;
}

/** The cluster domain (kubelet --cluster-domain). */
export function clusterDomain(model: Pick<ClusterModel, 'dns'>): string {
  return model.dns?.clusterDomain ?? 'cluster.local';
}

/** A node's (and an external host's) /etc/resolv.conf: the underlay gateway, no search list. */
export function hostResolvConf(model: Pick<ClusterModel, 'underlay'>): ResolvConf {
  const gw = model.underlay.gateway;
  return {
    nameservers: gw === undefined ? [] : [gw],
    search: [],
    optionWords: [],
    options: parseResolvOptions([]),
    origin: "the node's /etc/resolv.conf",
  };
}

function dedupe<T>(xs: readonly T[]): T[] {
  return xs.filter((x, i) => xs.indexOf(x) === i);
}

/** kubelet mergeDNSOptions: options by name, later ones replacing earlier ones. */
function mergeOptions(
  base: readonly string[],
  extra: ReadonlyArray<{ readonly name: string; readonly value: string | undefined }>,
): string[] {
  const out = new Map<string, string>();
  for (const w of base) out.set(w.split(':')[0]!, w);
  for (const o of extra) out.set(o.name, o.value === undefined ? o.name : `${o.name}:${o.value}`);
  return [...out.values()];
}

/** The /etc/resolv.conf kubelet writes for `pod` (see the module comment). */
export function podResolvConf(
  pod: Pick<PodModel, 'namespace' | 'hostNetwork' | 'dnsPolicy' | 'dnsConfig'>,
  model: Pick<ClusterModel, 'serviceCIDR' | 'underlay' | 'dns'>,
): ResolvConf {
  const host = hostResolvConf(model);
  const policy = pod.dnsPolicy ?? 'ClusterFirst';
  const kind =
    policy === 'None'
      ? 'none'
      : policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !pod.hostNetwork)
        ? 'cluster'
        : 'host';
  let nameservers: Ipv4Addr[];
  let search: string[];
  let words: string[];
  let origin: string;
  if (kind === 'none') {
    nameservers = [];
    search = [];
    words = [];
    origin = 'dnsPolicy None';
  } else if (kind === 'cluster') {
    const domain = clusterDomain(model);
    nameservers = [clusterDnsIp(model)];
    search = dedupe([`${pod.namespace}.svc.${domain}`, `svc.${domain}`, domain, ...host.search]);
    words = ['ndots:5'];
    origin = `dnsPolicy ${policy}`;
  } else {
    nameservers = [...host.nameservers];
    search = [...host.search];
    words = [...host.optionWords];
    origin =
      policy === 'ClusterFirst'
        ? "dnsPolicy ClusterFirst on a hostNetwork pod: Default (the node's /etc/resolv.conf)"
        : "dnsPolicy Default (the node's /etc/resolv.conf)";
  }
  const dc = pod.dnsConfig;
  if (dc !== undefined) {
    nameservers = dedupe([...nameservers, ...dc.nameservers]);
    search = dedupe([...search, ...dc.searches]);
    words = mergeOptions(words, dc.options);
  }
  // formDNSConfigFitsLimits: glibc reads at most 3 nameservers
  nameservers = nameservers.slice(0, 3);
  return { nameservers, search, optionWords: words, options: parseResolvOptions(words), origin };
}

/** The file as kubelet writes it. */
export function formatResolvConf(c: ResolvConf): string {
  const lines: string[] = [];
  if (c.search.length > 0) lines.push(`search ${c.search.join(' ')}`);
  for (const n of c.nameservers) lines.push(`nameserver ${formatIpv4(n)}`);
  if (c.optionWords.length > 0) lines.push(`options ${c.optionWords.join(' ')}`);
  return lines.join('\n');
}

/** A line of /etc/hosts: an address and its names. */
export interface HostsEntry {
  readonly address: Ipv4Addr;
  readonly names: readonly string[];
}

/** A node's (and an external host's) /etc/hosts: localhost, and its own name when it has one. */
export function hostHosts(host: { readonly ip: Ipv4Addr; readonly name: string } | undefined): HostsEntry[] {
  const out: HostsEntry[] = [{ address: 0x7f000001, names: ['localhost'] }];
  if (host !== undefined) out.push({ address: host.ip, names: [host.name] });
  return out;
}

/**
 * The /etc/hosts kubelet writes for a pod (pkg/kubelet/kubelet_pods.go managedHostsFileContent):
 * localhost, the pod's hostname (with its FQDN under a subdomain); a hostNetwork pod gets its
 * node's file instead (nodeHostsFileContent). Then, for both, one line per `spec.hostAliases`
 * entry (hostsEntriesFromHostAliases), in the order given.
 */
export function podHosts(
  pod: Pick<PodModel, 'ip' | 'hostname' | 'subdomain' | 'namespace' | 'hostNetwork' | 'nodeName' | 'hostAliases'>,
  model: Pick<ClusterModel, 'dns' | 'nodes'>,
): HostsEntry[] {
  let out: HostsEntry[];
  if (pod.hostNetwork) out = hostHosts(model.nodes.find((n) => n.name === pod.nodeName));
  else {
    const names =
      pod.subdomain !== undefined
        ? [`${pod.hostname}.${pod.subdomain}.${pod.namespace}.svc.${clusterDomain(model)}`, pod.hostname]
        : [pod.hostname];
    out = [
      { address: 0x7f000001, names: ['localhost'] },
      { address: pod.ip, names },
    ];
  }
  for (const a of pod.hostAliases ?? []) out.push({ address: a.ip, names: a.hostnames });
  return out;
}

/**
 * glibc's files backend for getaddrinfo (nss_files gethostbyname4, `multi on` as glibc ≥ 2.26
 * defaults): every line naming `name`, compared without regard to case, gives its address, in
 * file order; none: undefined (DNS is asked next).
 */
export function hostsLookup(hosts: readonly HostsEntry[], name: string): Ipv4Addr[] | undefined {
  const want = lowerName(name);
  const found = hosts.filter((h) => h.names.some((n) => lowerName(n) === want)).map((h) => h.address);
  return found.length > 0 ? found : undefined;
}

// ───────────────────────────── the stub resolver ─────────────────────────────

/** One query the resolver sent, and what came of it. */
export interface ResolverQuery {
  /** When it was sent (ns). */
  readonly t: Nanos;
  /** The name asked for, without the trailing dot. */
  readonly name: string;
  readonly type: string;
  readonly server: string;
  readonly proto: 'udp' | 'tcp';
  readonly sourcePort: number;
  readonly id: number;
  /** The answer's status (`NOERROR`, `NXDOMAIN`), absent without an answer. */
  rcode?: string;
  /** The answer records, short form (`A 10.96.0.100`). */
  answers?: string[];
  /** The answer was truncated. */
  tc?: true;
  /** Bytes of the answer's DNS message. */
  size?: number;
  /** What went wrong instead: `timeout`, `connection refused`. */
  error?: string;
  /** The server that answered, as it saw itself (a CoreDNS pod, `gateway`); filled in by the simulation. */
  answeredBy?: string;
}

/** What a getaddrinfo call did. */
export interface Resolution {
  /** The name as given. */
  readonly name: string;
  /** The addresses, in the order getaddrinfo returns them (the first one is dialled). */
  readonly addresses: string[];
  /** The first address, absent when resolution failed. */
  readonly address?: string;
  /** Where the answer came from: `dns`, `hosts` (/etc/hosts), `numeric`. */
  readonly source: 'dns' | 'hosts' | 'numeric' | 'none';
  /** The candidate names tried, in order. */
  readonly tried: string[];
  readonly queries: ResolverQuery[];
  /** gai_strerror text when it failed (`Name or service not known`). */
  readonly error?: string;
  /** Virtual time the lookup took (ns). */
  readonly durationNs: number;
}

type Herrno = 'HOST_NOT_FOUND' | 'NO_DATA' | 'TRY_AGAIN' | 'NO_RECOVERY';

const GAI_ERROR: Record<Herrno, string> = {
  HOST_NOT_FOUND: 'Name or service not known',
  NO_DATA: 'No address associated with hostname',
  TRY_AGAIN: 'Temporary failure in name resolution',
  NO_RECOVERY: 'Non-recoverable failure in name resolution',
};

/** getaddrinfo's error code (`EAI_NONAME`) for the gai_strerror text a {@link Resolution} carries. */
export function gaiErrorCode(text: string): string | undefined {
  switch (text) {
    case GAI_ERROR.HOST_NOT_FOUND:
      return 'EAI_NONAME';
    case GAI_ERROR.NO_DATA:
      return 'EAI_NODATA';
    case GAI_ERROR.TRY_AGAIN:
      return 'EAI_AGAIN';
    case GAI_ERROR.NO_RECOVERY:
      return 'EAI_FAIL';
    default:
      return undefined;
  }
}

/** The result of sending one or two queries (res_nsend). */
interface SendResult {
  /** The answers in the order they arrived. */
  readonly answers: DnsMessage[];
  /** Set when no answer came: ETIMEDOUT or ECONNREFUSED. */
  readonly errno?: 'ETIMEDOUT' | 'ECONNREFUSED';
  /** A server answered SERVFAIL (the search list then goes on). */
  readonly servfail?: boolean;
}

/** Options of a resolver instance. */
export interface ResolverSetup {
  readonly conf: ResolvConf;
  readonly hosts?: readonly HostsEntry[];
  /** Flow id the packets carry (the probe's). */
  readonly flow: number;
  /** Prefix of trace lines (`resolver`, `dig`). */
  readonly tag?: string;
}

type ResolverEvent = DistributiveOmit<ResolverDetail, 'app' | 'tag'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** glibc's stub resolver in one netns. */
export class Resolver {
  constructor(
    readonly ns: NetNs,
    readonly setup: ResolverSetup,
  ) {}

  private trace(detail: ResolverEvent): void {
    if (!this.ns.world.tracer.on) return;
    this.ns.trace(
      { kind: 'app', app: 'resolver', tag: this.setup.tag ?? 'resolver', ...detail },
      null,
      undefined,
      TraceTo.Hop,
      this.setup.flow,
    );
  }

  /** getaddrinfo(name, AF_UNSPEC): calls `done` once with what happened. */
  getaddrinfo(name: string, done: (r: Resolution) => void): void {
    const t0 = this.ns.world.now;
    const queries: ResolverQuery[] = [];
    const tried: string[] = [];
    const finish = (addresses: Ipv4Addr[], source: Resolution['source'], herrno?: Herrno): void => {
      const addrs = addresses.map(formatIpv4);
      const r: Resolution = {
        name,
        addresses: addrs,
        ...(addrs[0] !== undefined ? { address: addrs[0] } : {}),
        source,
        tried,
        queries,
        ...(herrno !== undefined ? { error: GAI_ERROR[herrno] } : {}),
        durationNs: this.ns.world.now - t0,
      };
      if (herrno !== undefined) this.trace({ what: 'failed', name, error: GAI_ERROR[herrno] });
      else this.trace({ what: 'result', name, addresses: addrs, source });
      done(r);
    };
    const numeric = parseIpv4(name);
    if (numeric !== undefined) {
      finish([numeric], 'numeric');
      return;
    }
    const bare = name.endsWith('.') ? name.slice(0, -1) : name;
    const fromFile = hostsLookup(this.setup.hosts ?? [], name);
    if (fromFile !== undefined) {
      finish(fromFile, 'hosts');
      return;
    }
    const conf = this.setup.conf;
    const o = conf.options;
    const dots = (bare.match(/\./g) ?? []).length;
    const trailing = name.endsWith('.');
    this.trace({
      what: 'start',
      name,
      dots,
      ndots: o.ndots,
      trailingDot: trailing,
      nameservers: conf.nameservers.map(formatIpv4),
    });

    // __res_context_search as a sequence of candidate names, decided as answers come in
    let savedHerrno: Herrno | undefined;
    let triedAsIs = false;
    let gotNodata = false;
    let gotServfail = false;
    let searched = false;
    let lastHerrno: Herrno = 'HOST_NOT_FOUND';
    const asIs = (next: () => void): void => {
      this.queryDomain(bare, queries, tried, (r) => {
        if ('addresses' in r) finish(r.addresses, 'dns');
        else {
          lastHerrno = r.herrno;
          next();
        }
      });
    };
    const end = (): void =>
      finish([], 'dns', savedHerrno ?? (gotNodata ? 'NO_DATA' : gotServfail ? 'TRY_AGAIN' : lastHerrno));
    const tail = (): void => {
      if ((dots > 0 || !searched || !o.noTldQuery) && !triedAsIs) asIs(end);
      else end();
    };
    const search = (i: number): void => {
      const domain = conf.search[i];
      if (domain === undefined) {
        tail();
        return;
      }
      searched = true;
      this.queryDomain(`${bare}.${domain}`, queries, tried, (r) => {
        if ('addresses' in r) {
          finish(r.addresses, 'dns');
          return;
        }
        lastHerrno = r.herrno;
        if (r.refused) {
          finish([], 'dns', 'TRY_AGAIN');
          return;
        }
        if (r.herrno === 'NO_DATA') gotNodata = true;
        if (r.herrno === 'NO_DATA' || r.herrno === 'HOST_NOT_FOUND') search(i + 1);
        else if (r.herrno === 'TRY_AGAIN' && r.servfail) {
          gotServfail = true;
          search(i + 1);
        } else tail();
      });
    };
    const afterFirst = (): void => {
      if (conf.search.length > 0 && !trailing) search(0);
      else tail();
    };
    if (dots >= o.ndots || trailing) {
      triedAsIs = true;
      this.queryDomain(bare, queries, tried, (r) => {
        if ('addresses' in r) finish(r.addresses, 'dns');
        else if (trailing) finish([], 'dns', r.herrno);
        else {
          savedHerrno = r.herrno;
          afterFirst();
        }
      });
    } else afterFirst();
  }

  /** __res_context_query for one candidate name: A and AAAA. */
  private queryDomain(
    fq: string,
    log: ResolverQuery[],
    tried: string[],
    done: (r: { addresses: Ipv4Addr[] } | { herrno: Herrno; servfail: boolean; refused: boolean }) => void,
  ): void {
    tried.push(fq);
    const o = this.setup.conf.options;
    const mk = (type: number): DnsMessage => ({
      header: dnsHeader({ id: this.ns.rng.nextU32() & 0xffff, rd: true, ad: o.trustAd }),
      questions: [{ name: fq, type, class: DnsClass.IN }],
      answers: [],
      authorities: [],
      additionals: o.edns0 ? [optRecord(1200)] : [],
    });
    const qs = [mk(DnsType.A), mk(DnsType.AAAA)];
    this.send(qs, log, (res) => {
      if (res.answers.length === 0) {
        done({ herrno: 'TRY_AGAIN', servfail: res.servfail === true, refused: res.errno === 'ECONNREFUSED' });
        return;
      }
      const [hp, hp2] = [res.answers[0]!, res.answers[1]];
      const ok = (m: DnsMessage | undefined): boolean =>
        m !== undefined && m.header.rcode === DnsRcode.NOERROR && m.answers.length > 0;
      if (ok(hp) || ok(hp2)) {
        const addrs: Ipv4Addr[] = [];
        for (const m of res.answers)
          for (const r of m.answers)
            if (r.data.type === 'A' && !addrs.includes(r.data.address)) addrs.push(r.data.address);
        if (addrs.length > 0) done({ addresses: addrs });
        else done({ herrno: 'NO_DATA', servfail: false, refused: false });
        return;
      }
      const rc = hp.header.rcode === DnsRcode.NOERROR ? (hp2?.header.rcode ?? DnsRcode.NOERROR) : hp.header.rcode;
      const herrno: Herrno =
        rc === DnsRcode.NXDOMAIN
          ? 'HOST_NOT_FOUND'
          : rc === DnsRcode.SERVFAIL
            ? 'TRY_AGAIN'
            : rc === DnsRcode.NOERROR
              ? 'NO_DATA'
              : 'NO_RECOVERY';
      done({ herrno, servfail: rc === DnsRcode.SERVFAIL, refused: false });
    });
  }

  /** res_nsend: the queries to each nameserver in turn, `attempts` times, UDP unless TC or use-vc. */
  send(qs: readonly DnsMessage[], log: ResolverQuery[], done: (r: SendResult) => void): void {
    const conf = this.setup.conf;
    const o = conf.options;
    // no nameserver line: glibc asks the loopback address
    const servers = conf.nameservers.length > 0 ? conf.nameservers : [0x7f000001];
    const socks: Array<UdpSocket | undefined> = servers.map(() => undefined);
    let gotsomewhere = false;
    let servfail = false;
    let vc = o.useVc;
    let terrno: 'ETIMEDOUT' | 'ECONNREFUSED' = 'ETIMEDOUT';
    const closeAll = (): void => {
      for (let i = 0; i < socks.length; i++) {
        socks[i]?.close();
        socks[i] = undefined;
      }
    };
    const run = (attempt: number, ns: number): void => {
      if (ns >= servers.length) {
        run(attempt + 1, 0);
        return;
      }
      if (attempt >= (vc ? 1 : o.attempts)) {
        closeAll();
        done({ answers: [], errno: vc ? terrno : gotsomewhere ? 'ETIMEDOUT' : 'ECONNREFUSED', servfail });
        return;
      }
      const seconds = Math.max(1, ns > 0 ? Math.floor((o.timeout << ns) / servers.length) : o.timeout);
      const server = servers[ns]!;
      const onResult = (r: DgResult): void => {
        if (r.kind === 'answers') {
          closeAll();
          done({ answers: r.answers });
        } else if (r.kind === 'tcp') {
          vc = true;
          closeAll();
          this.sendVc(server, qs, sec(seconds), log, (v) => {
            if (v.kind === 'answers') done({ answers: v.answers });
            else {
              terrno = v.errno;
              run(attempt, ns + 1);
            }
          });
        } else {
          // a timeout or an unusable answer counts as having got somewhere; next_ns and err_out close the sockets
          if (r.kind === 'timeout' || r.kind === 'next') gotsomewhere = true;
          if (r.kind === 'next' && r.servfail) servfail = true;
          if (r.kind !== 'timeout') closeAll();
          run(attempt, ns + 1);
        }
      };
      if (vc) {
        this.sendVc(server, qs, sec(seconds), log, (v) => {
          if (v.kind === 'answers') done({ answers: v.answers });
          else {
            terrno = v.errno;
            run(attempt, ns + 1);
          }
        });
        return;
      }
      let s = socks[ns];
      if (s === undefined || s.closed) {
        const opened = this.ns.sockets.openUdp(0, 0, this.setup.flow);
        if ('errno' in opened) {
          run(attempt, ns + 1);
          return;
        }
        opened.connect(server, 53);
        socks[ns] = opened;
        s = opened;
      }
      this.sendDg(s, server, qs, sec(seconds), o.singleRequest || o.singleRequestReopen, log, onResult);
    };
    run(0, 0);
  }

  private logQuery(
    log: ResolverQuery[],
    q: DnsMessage,
    server: Ipv4Addr,
    proto: 'udp' | 'tcp',
    sport: number,
  ): ResolverQuery {
    const question = q.questions[0]!;
    const e: ResolverQuery = {
      t: this.ns.world.now,
      name: question.name,
      type: dnsTypeName(question.type),
      server: formatIpv4(server),
      proto,
      sourcePort: sport,
      id: q.header.id,
    };
    log.push(e);
    this.trace({ what: 'query', type: e.type, name: e.name, server: e.server, proto, sourcePort: sport, id: e.id });
    return e;
  }

  private logAnswer(e: ResolverQuery, m: DnsMessage, size: number): void {
    e.rcode = dnsRcodeName(m.header.rcode);
    e.size = size;
    e.answers = m.answers.map(shortRecord);
    if (m.header.tc) e.tc = true;
    this.trace({
      what: 'answer',
      type: e.type,
      name: e.name,
      id: e.id,
      rcode: e.rcode,
      answers: e.answers,
      truncated: m.header.tc,
    });
  }

  /**
   * send_dg on a connected socket: both queries back to back (or one at a time), answers matched by id and question.
   */
  private sendDg(
    s: UdpSocket,
    server: Ipv4Addr,
    qs: readonly DnsMessage[],
    timeout: Nanos,
    single: boolean,
    log: ResolverQuery[],
    done: (r: DgResult) => void,
  ): void {
    const sched = this.ns.world.sched;
    let entries: Array<ResolverQuery | undefined> = qs.map(() => undefined);
    let got: Array<DnsMessage | undefined> = qs.map(() => undefined);
    const order: DnsMessage[] = [];
    let singleMode = single;
    let timer: Timer | null = null;
    let settled = false;
    const settle = (r: DgResult): void => {
      if (settled) return;
      settled = true;
      timer?.cancel();
      s.onMessage = null;
      s.onError = null;
      done(r);
    };
    const transmit = (i: number): void => {
      const q = qs[i]!;
      entries[i] = this.logQuery(log, q, server, 'udp', s.localPort);
      const err = s.send(encodeDns(q));
      if (err !== undefined) {
        entries[i]!.error = err.message;
        settle({ kind: 'refused' });
      }
    };
    const start = (): void => {
      entries = qs.map(() => undefined);
      got = qs.map(() => undefined);
      order.length = 0;
      timer?.cancel();
      timer = sched.schedule(timeout, onTimeout, null);
      if (singleMode) transmit(0);
      else for (let i = 0; i < qs.length; i++) transmit(i);
    };
    const onTimeout = (): void => {
      timer = null;
      const received = got.filter((x) => x !== undefined).length;
      for (const e of entries)
        if (e !== undefined && e.rcode === undefined && e.error === undefined) e.error = 'timeout';
      if (received > 0 && received < qs.length) {
        if (!singleMode) {
          // one answer arrived, the other did not: glibc switches to single-request mode and retries
          this.trace({ what: 'partial', received, sent: qs.length, timeout });
          singleMode = true;
          start();
          return;
        }
        settle({ kind: 'answers', answers: order.slice() });
        return;
      }
      this.trace({ what: 'timeout', server: formatIpv4(server), timeout, proto: 'udp' });
      settle({ kind: 'timeout' });
    };
    s.onError = (err) => {
      for (const e of entries)
        if (e !== undefined && e.rcode === undefined)
          e.error = err.errno === 'ECONNREFUSED' ? 'connection refused' : err.message;
      this.trace({ what: 'error', server: formatIpv4(server), error: err.message, proto: 'udp' });
      settle({ kind: 'refused' });
    };
    s.onMessage = (data, info) => {
      if (info.from !== server || info.fromPort !== 53) return;
      let m: DnsMessage;
      try {
        m = parseDns(data);
      } catch (e) {
        if (!isWireError(e)) throw e;
        return;
      }
      const i = qs.findIndex(
        (q, k) =>
          got[k] === undefined &&
          q.header.id === m.header.id &&
          m.questions.length === 1 &&
          sameName(m.questions[0]!.name, q.questions[0]!.name) &&
          m.questions[0]!.type === q.questions[0]!.type,
      );
      if (i < 0) return; // an old answer, or not ours
      const e = entries[i];
      if (e !== undefined) this.logAnswer(e, m, data.length);
      const rc = m.header.rcode;
      if (rc === DnsRcode.SERVFAIL || rc === DnsRcode.NOTIMP || rc === DnsRcode.REFUSED) {
        got[i] = m;
        if (order.length > 0) {
          settle({ kind: 'answers', answers: order.slice() });
          return;
        }
        if (got.every((x) => x !== undefined)) settle({ kind: 'next', servfail: rc === DnsRcode.SERVFAIL });
        else if (singleMode && i + 1 < qs.length) transmit(i + 1);
        return;
      }
      if (
        rc === DnsRcode.NOERROR &&
        m.answers.length === 0 &&
        !m.header.aa &&
        !m.header.ra &&
        m.additionals.length === 0
      ) {
        this.trace({ what: 'referral', server: formatIpv4(server) });
        settle({ kind: 'next', servfail: false });
        return;
      }
      if (m.header.tc) {
        this.trace({ what: 'truncated', server: formatIpv4(server) });
        settle({ kind: 'tcp' });
        return;
      }
      got[i] = m;
      order.push(m);
      if (got.every((x) => x !== undefined)) settle({ kind: 'answers', answers: order.slice() });
      else if (singleMode && i + 1 < qs.length) transmit(i + 1);
    };
    start();
  }

  /** send_vc: both queries written at once on one TCP connection, answers read in turn. */
  private sendVc(
    server: Ipv4Addr,
    qs: readonly DnsMessage[],
    timeout: Nanos,
    log: ResolverQuery[],
    done: (
      r: { kind: 'answers'; answers: DnsMessage[] } | { kind: 'failed'; errno: 'ETIMEDOUT' | 'ECONNREFUSED' },
    ) => void,
  ): void {
    const reader = new DnsTcpReader();
    const entries: ResolverQuery[] = [];
    const got: Array<DnsMessage | undefined> = qs.map(() => undefined);
    const order: DnsMessage[] = [];
    let settled = false;
    let sock: TcpSocket | undefined;
    const settle = (
      r: { kind: 'answers'; answers: DnsMessage[] } | { kind: 'failed'; errno: 'ETIMEDOUT' | 'ECONNREFUSED' },
    ): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      if (sock !== undefined && sock.state !== 'CLOSED') sock.close();
      done(r);
    };
    const timer = this.ns.world.sched.schedule(
      timeout,
      () => {
        for (const e of entries) if (e.rcode === undefined) e.error = 'timeout';
        this.trace({ what: 'timeout', server: formatIpv4(server), timeout, proto: 'tcp' });
        settle(order.length > 0 ? { kind: 'answers', answers: order } : { kind: 'failed', errno: 'ETIMEDOUT' });
      },
      null,
    );
    const s = this.ns.sockets.tcp.connect(server, 53, 0, this.setup.flow, {
      onConnected: (c) => {
        const frames = qs.map((q) => frameDnsTcp(encodeDns(q)));
        const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
        let off = 0;
        for (const f of frames) {
          all.set(f, off);
          off += f.length;
        }
        for (const q of qs) entries.push(this.logQuery(log, q, server, 'tcp', c.localPort));
        c.write(all);
      },
      onData: (_c, data) => {
        for (const raw of reader.pushRaw(data)) {
          let m: DnsMessage;
          try {
            m = parseDns(raw);
          } catch (err) {
            if (!isWireError(err)) throw err;
            continue;
          }
          const i = qs.findIndex((q, k) => got[k] === undefined && q.header.id === m.header.id);
          if (i < 0) continue;
          got[i] = m;
          order.push(m);
          const e = entries[i];
          if (e !== undefined) this.logAnswer(e, m, raw.length);
        }
        if (got.every((x) => x !== undefined)) settle({ kind: 'answers', answers: order });
      },
      onEof: (c) => c.close(),
      onClosed: (_c, err) => {
        if (settled) return;
        const refused = err?.errno === 'ECONNREFUSED';
        this.trace({ what: 'error', server: formatIpv4(server), error: err?.message ?? 'closed', proto: 'tcp' });
        settle(
          order.length > 0
            ? { kind: 'answers', answers: order }
            : { kind: 'failed', errno: refused ? 'ECONNREFUSED' : 'ETIMEDOUT' },
        );
      },
    });
    if ('errno' in s) settle({ kind: 'failed', errno: 'ECONNREFUSED' });
    else sock = s;
  }
}

type DgResult =
  | { kind: 'answers'; answers: DnsMessage[] }
  | { kind: 'timeout' }
  | { kind: 'refused' }
  | { kind: 'next'; servfail: boolean }
  | { kind: 'tcp' };

/** Whether a destination is a host name to resolve (not an address or a pod/node/ext reference). */
export function isResolvableName(host: string): boolean {
  if (host.includes('/') || parseIpv4(host) !== undefined) return false;
  const t = host.endsWith('.') ? host.slice(0, -1) : host;
  if (
    !/^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/.test(
      t,
    ) ||
    t.length > 253
  )
    return false;
  return !/^[0-9]+$/.test(t.slice(t.lastIndexOf('.') + 1));
}
