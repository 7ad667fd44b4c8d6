/**
 * DNS settings read by other kinds: the Cluster's `spec.dns` (cluster domain and the underlay
 * gateway's upstream table) and a Pod's `spec.dnsPolicy` / `spec.dnsConfig`, validated as the
 * API server does (at most 3 nameservers, 32 search domains of 2048 characters in all, None
 * needs a nameserver), and its `spec.hostAliases` ({ip, hostnames[]}: an IP address, each
 * hostname a DNS-1123 subdomain, as ValidateHostAliases checks; kubelet appends them to the
 * pod's /etc/hosts, see src/apps/resolver.ts podHosts).
 *
 *   spec.dns:
 *     clusterDomain: cluster.local          # kubelet --cluster-domain, CoreDNS's zone
 *     upstream:                             # what the resolver on the underlay gateway knows
 *       my.database.example.com: 203.0.113.7
 *       api.example.com: [198.51.100.1, 198.51.100.2]
 *       www.example.com: cdn.example.net    # a name: a CNAME (chased inside the table)
 */
import type { ClusterDnsModel, DnsPolicy, HostAliasModel, PodDnsConfigModel, UpstreamDnsEntry } from '../../model.js';
import type { Field } from '../field.js';
import { dnsSubdomain, formatIpv4, looksIpv6, parseIpv4, parseIpv4Inet, parseIpv4Sloppy, quote } from '../values.js';

/** Default cluster domain (kubelet --cluster-domain, kubeadm's networking.dnsDomain). */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

const POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] as const;
const NAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;
const NAME_EXPECTED = 'a DNS name (dot-separated labels of letters, digits, "-" and "_", each at most 63 characters)';

/**
 * A host name as written in a resolver table or search list: lower-cased, one trailing dot dropped; undefined when
 * invalid.
 */
export function normaliseDnsName(s: string): string | undefined {
  const t = s.endsWith('.') ? s.slice(0, -1) : s;
  return NAME_RE.test(t) ? t.toLowerCase() : undefined;
}

/**
 * A destination written as a host name (`web`, `web.shop`, `my.database.example.com.`): a DNS
 * name whose last label is not all digits (RFC 1123 §2.1: `10.244.1.300` is a bad address, not a name).
 */
export function isHostName(s: string): boolean {
  const n = normaliseDnsName(s);
  return n !== undefined && !/^[0-9]+$/.test(n.slice(n.lastIndexOf('.') + 1));
}

/** `spec.dns` of a Cluster; undefined when absent or invalid (invalid is reported). */
export function parseClusterDns(spec: Field): ClusterDnsModel | undefined {
  const f = spec.map('dns');
  if (f === undefined)
    return spec.child('dns').present ? undefined : { clusterDomain: DEFAULT_CLUSTER_DOMAIN, upstream: {} };
  let ok = true;
  const domainText = f.str('clusterDomain', {
    default: DEFAULT_CLUSTER_DOMAIN,
    check: (v) => (normaliseDnsName(v) === undefined ? NAME_EXPECTED : undefined),
  });
  if (domainText === undefined) ok = false;
  const upstream: Record<string, UpstreamDnsEntry> = {};
  for (const [key, v] of f.entries('upstream') ?? []) {
    const name = normaliseDnsName(key);
    if (name === undefined) {
      v.error(`upstream name ${quote(key)} is not ${NAME_EXPECTED}`);
      ok = false;
      continue;
    }
    const entry = upstreamEntry(v);
    if (entry === undefined) {
      ok = false;
      continue;
    }
    upstream[name] = entry;
  }
  if (!ok || domainText === undefined) return undefined;
  return { clusterDomain: normaliseDnsName(domainText)!, upstream };
}

const ENTRY_EXPECTED = 'an IPv4 address, a list of IPv4 addresses, or a name (an alias)';

function upstreamEntry(v: Field): UpstreamDnsEntry | undefined {
  if (v.isList) {
    const items = v.list('', { nonEmpty: true, itemName: 'address', plural: 'addresses' }) ?? [];
    const addresses: number[] = [];
    for (const it of items) {
      const a = it.ipv4('');
      if (a === undefined) return undefined;
      addresses.push(a);
    }
    return items.length > 0 ? { addresses } : undefined;
  }
  const raw = v.raw();
  if (typeof raw !== 'string') return v.typeError(ENTRY_EXPECTED);
  const ip = parseIpv4(raw);
  if (ip !== undefined) return { addresses: [ip] };
  if (looksIpv6(raw)) {
    v.error(`${quote(raw)} is an IPv6 address; podnet emulates IPv4 only`);
    return undefined;
  }
  const cname = normaliseDnsName(raw);
  if (cname === undefined) return v.typeError(ENTRY_EXPECTED);
  return { cname };
}

/** A pod's DNS settings as read. */
export interface PodDnsSettings {
  readonly dnsPolicy: DnsPolicy | undefined;
  readonly dnsConfig: PodDnsConfigModel | undefined;
  /** `spec.hostAliases`, IPv4 entries only (empty when none). */
  readonly hostAliases: readonly HostAliasModel[];
}

/**
 * One `dnsConfig.nameservers` entry. A legacy IP field (KEP-4858): the API server keeps
 * `010.096.000.010` in objects written before it tightened IP validation, kubelet copies the text
 * into resolv.conf as is, and the pod's resolver (glibc inet_aton) reads leading-zero octets as
 * octal, or skips the line when they are no octal number. Both are reported in a notice.
 */
function nameserver(it: Field, raw: string | undefined): number | undefined {
  const sloppy = raw === undefined || parseIpv4(raw) !== undefined ? undefined : parseIpv4Sloppy(raw);
  if (raw === undefined || sloppy === undefined) return it.ipv4('');
  if (sloppy.nonStandard === 'IPv4-mapped IPv6') {
    it.notice(
      `non-standard IP address ${quote(raw)} read as ${formatIpv4(sloppy.ip)}: an IPv4-mapped IPv6 nameserver is ` +
        'that IPv4 address; the API server keeps such values only in objects written before it tightened IP ' +
        'validation (KEP-4858)',
    );
    return sloppy.ip;
  }
  const inet = parseIpv4Inet(raw);
  it.notice(
    inet === undefined
      ? `non-standard IP address ${quote(raw)}: the pod's resolver (glibc inet_aton, octal for leading zeros) ` +
          'cannot read it and skips this nameserver; the API server keeps such values only in objects written ' +
          'before it tightened IP validation (KEP-4858)'
      : `non-standard IP address ${quote(raw)} read as ${formatIpv4(inet)}, as the pod's resolver reads the line ` +
          'kubelet copies into resolv.conf (glibc inet_aton: leading zeros are octal); the API server keeps such ' +
          'values only in objects written before it tightened IP validation (KEP-4858)',
  );
  return inet;
}

/** `spec.dnsPolicy` and `spec.dnsConfig` of a pod spec (problems are reported). */
export function parsePodDns(spec: Field): PodDnsSettings {
  const dnsPolicy = spec.oneOf('dnsPolicy', POLICIES);
  const cf = spec.map('dnsConfig');
  let dnsConfig: PodDnsConfigModel | undefined;
  if (cf !== undefined) {
    const nameservers: number[] = [];
    const nsItems = cf.list('nameservers') ?? [];
    for (const it of nsItems) {
      const raw = it.rawStr();
      if (raw !== undefined && looksIpv6(raw) && parseIpv4Sloppy(raw) === undefined) {
        it.error(`${quote(raw)} is an IPv6 address; podnet emulates IPv4 only`);
        continue;
      }
      const a = nameserver(it, raw);
      if (a !== undefined && !nameservers.includes(a)) nameservers.push(a);
    }
    if (nsItems.length > 3)
      cf.child('nameservers').error(`must not have more than 3 nameservers, got ${nsItems.length}`);
    const searches: string[] = [];
    const sItems = cf.list('searches') ?? [];
    for (const it of sItems) {
      const s = it.str('', { check: (v) => (normaliseDnsName(v) === undefined ? NAME_EXPECTED : undefined) });
      const n = s === undefined ? undefined : normaliseDnsName(s);
      if (n !== undefined && !searches.includes(n)) searches.push(n);
    }
    if (sItems.length > 32) cf.child('searches').error(`must not have more than 32 search paths, got ${sItems.length}`);
    const total = searches.reduce((n, s) => n + s.length, 0) + Math.max(0, searches.length - 1);
    if (total > 2048)
      cf.child('searches').error(
        `must not have more than 2048 characters (including spaces) in the search list, got ${total}`,
      );
    const options: Array<{ name: string; value: string | undefined }> = [];
    for (const it of cf.list('options') ?? []) {
      if (!it.isMap) {
        it.typeError('a mapping with name and an optional value');
        continue;
      }
      const name = it.str('name', { required: true });
      const value = it.str('value');
      if (name !== undefined) options.push({ name, value });
    }
    dnsConfig = { nameservers, searches, options };
  }
  if (dnsPolicy === 'None' && (dnsConfig === undefined || dnsConfig.nameservers.length === 0)) {
    (cf ?? spec.child('dnsPolicy')).error(
      'must provide at least one DNS nameserver in dnsConfig.nameservers when dnsPolicy is None',
    );
  }
  return { dnsPolicy, dnsConfig, hostAliases: parseHostAliases(spec) };
}

/** `spec.hostAliases` (problems are reported; an IPv6 entry, valid to the API server, is left out with a notice). */
function parseHostAliases(spec: Field): HostAliasModel[] {
  const out: HostAliasModel[] = [];
  for (const it of spec.list('hostAliases', { itemName: 'host alias', plural: 'host aliases' }) ?? []) {
    if (!it.isMap) {
      it.typeError('a mapping with ip and hostnames');
      continue;
    }
    const ipF = it.child('ip');
    const raw = ipF.rawStr();
    let ip: number | undefined;
    if (!ipF.present) ipF.missing('an IP address like 10.1.2.3');
    else if (raw === undefined) ipF.typeError('an IP address like 10.1.2.3');
    else if (looksIpv6(raw)) {
      ipF.notice(`${quote(raw)} is an IPv6 address; podnet emulates IPv4 only, so /etc/hosts is written without it`);
    } else {
      ip = parseIpv4(raw);
      if (ip === undefined) ipF.typeError('an IP address like 10.1.2.3');
    }
    const hostnames: string[] = [];
    for (const h of it.list('hostnames', { itemName: 'hostname' }) ?? []) {
      const name = h.str('', { check: dnsSubdomain });
      if (name !== undefined) hostnames.push(name);
    }
    if (ip !== undefined) out.push({ ip, hostnames });
  }
  return out;
}
