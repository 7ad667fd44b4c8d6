/**
 * CoreDNS's kubernetes plugin as kubeadm configures it (ttl 30, pods insecure, fallthrough for
 * reverse zones), as a pure function over the cluster model: every record type, NXDOMAIN and
 * NODATA with the zone's SOA, SRV weights, PTR, ExternalName CNAMEs, and the cache, loadbalance
 * and scrub stages of the server.
 */
import { describe, expect, test } from 'vitest';
import { model } from '../helpers.js';
import {
  answer,
  answerWith,
  cacheTtl,
  clusterDnsView,
  replyTo,
  roundRobin,
  scrub,
  type ClusterDnsView,
} from '../../src/apps/coredns.js';
import {
  DnsType,
  dnsHeader,
  encodeDns,
  formatRecord,
  optRecord,
  parseDns,
  type DnsMessage,
  type DnsRecord,
} from '../../src/wire/dns.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { Rng } from '../../src/sim/rng.js';
import { dnsCluster } from './topology.js';

function query(name: string, type: number = DnsType.A, extra: Partial<DnsMessage['header']> = {}): DnsMessage {
  return {
    header: dnsHeader({ id: 4660, rd: true, ...extra }),
    questions: [{ name, type, class: 1 }],
    answers: [],
    authorities: [],
    additionals: [],
  };
}

const lines = (rs: readonly DnsRecord[]): string[] => rs.map((r) => formatRecord(r).replace(/\s+/g, ' '));

const HEADLESS_WITHOUT_HOSTNAMES = `---
apiVersion: v1
kind: Service
metadata: { name: web-hl, namespace: shop }
spec:
  clusterIP: None
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
`;

const CLUSTER = model(dnsCluster(HEADLESS_WITHOUT_HOSTNAMES));
/** A pod's address as the loader placed it (`ns/name`, default namespace when bare). */
function ip(ref: string): string {
  const [ns, name] = ref.includes('/') ? ref.split('/') : ['default', ref];
  const p = CLUSTER.pods.find((x) => x.namespace === ns && x.name === name)!;
  return `${p.ip >>> 24}.${(p.ip >>> 16) & 255}.${(p.ip >>> 8) & 255}.${p.ip & 255}`;
}
const dashed = (ref: string): string => ip(ref).replace(/\./g, '-');
const rev = (ref: string): string => `${ip(ref).split('.').reverse().join('.')}.in-addr.arpa`;

function view(opts: { web2Ready?: boolean } = {}): ClusterDnsView {
  const m = model(dnsCluster(HEADLESS_WITHOUT_HOSTNAMES, opts));
  const coredns0 = m.pods.find((p) => p.name === 'coredns-0')!;
  return clusterDnsView(m, [coredns0.ip]);
}

function ask(
  v: ClusterDnsView,
  name: string,
  type: number = DnsType.A,
  upstream?: (n: string, t: number) => DnsMessage | undefined,
): DnsMessage {
  const r = answerWith(query(name, type), v, upstream);
  if (r === 'forward') throw new Error(`${name} was forwarded`);
  return r;
}

const SOA = 'cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 30';

describe('the kubernetes plugin (kubeadm Corefile)', () => {
  const v = view();

  test('a ClusterIP Service is one A record with TTL 30, authoritative, RD copied, no RA', () => {
    const m = ask(v, 'web.shop.svc.cluster.local');
    expect(m.header).toMatchObject({ id: 4660, qr: true, aa: true, rd: true, ra: false, rcode: 0 });
    expect(lines(m.answers)).toEqual(['web.shop.svc.cluster.local. 30 IN A 10.96.100.10']);
    expect(m.authorities).toEqual([]);
    // the owner keeps the spelling of the question
    expect(lines(ask(v, 'Web.SHOP.svc.Cluster.Local').answers)).toEqual([
      'Web.SHOP.svc.Cluster.Local. 30 IN A 10.96.100.10',
    ]);
  });

  test('NODATA for a name that exists without the type (AAAA, MX, TXT of a Service) carries the SOA', () => {
    for (const t of [DnsType.AAAA, DnsType.MX, DnsType.TXT, DnsType.CNAME, 99]) {
      const m = ask(v, 'web.shop.svc.cluster.local', t);
      expect(m.header.rcode, String(t)).toBe(0);
      expect(m.answers).toEqual([]);
      expect(lines(m.authorities)).toEqual([SOA]);
    }
  });

  test('NXDOMAIN with the SOA for a missing Service, a missing namespace, and names the plugin cannot parse', () => {
    for (const n of [
      'nope.shop.svc.cluster.local',
      'web.nowhere.svc.cluster.local',
      'web.shop.cluster.local',
      'a.b.c.web.shop.svc.cluster.local',
      'example.com.shop.svc.cluster.local',
      'x.pod.cluster.local',
    ]) {
      const m = ask(v, n);
      expect(m.header.rcode, n).toBe(3);
      expect(m.header.aa).toBe(true);
      expect(lines(m.authorities)).toEqual([SOA]);
    }
    // the zone itself, svc.<zone> and an existing namespace exist but hold no address: NODATA
    for (const n of ['cluster.local', 'svc.cluster.local', 'shop.svc.cluster.local'])
      expect(ask(v, n).header.rcode, n).toBe(0);
  });

  test('a headless Service is one A record per ready endpoint; an endpoint that turns not-ready drops out', () => {
    expect(lines(ask(v, 'nginx.default.svc.cluster.local').answers)).toEqual([
      `nginx.default.svc.cluster.local. 30 IN A ${ip('web-0')}`,
      `nginx.default.svc.cluster.local. 30 IN A ${ip('web-1')}`,
      `nginx.default.svc.cluster.local. 30 IN A ${ip('web-2')}`,
    ]);
    const notReady = view({ web2Ready: false });
    expect(lines(ask(notReady, 'nginx.default.svc.cluster.local').answers)).toEqual([
      `nginx.default.svc.cluster.local. 30 IN A ${ip('web-0')}`,
      `nginx.default.svc.cluster.local. 30 IN A ${ip('web-1')}`,
    ]);
    expect(ask(notReady, 'web-2.nginx.default.svc.cluster.local').header.rcode).toBe(3);
  });

  test('endpoint names: the hostname of a StatefulSet-style pod, else the dashed IP, for headless and ClusterIP Services alike', () => {
    expect(lines(ask(v, 'web-0.nginx.default.svc.cluster.local').answers)).toEqual([
      `web-0.nginx.default.svc.cluster.local. 30 IN A ${ip('web-0')}`,
    ]);
    const a = dashed('shop/web-a');
    const b = dashed('shop/web-b');
    expect(lines(ask(v, `${a}.web-hl.shop.svc.cluster.local`).answers)).toEqual([
      `${a}.web-hl.shop.svc.cluster.local. 30 IN A ${ip('shop/web-a')}`,
    ]);
    expect(lines(ask(v, `${b}.web.shop.svc.cluster.local`).answers)).toEqual([
      `${b}.web.shop.svc.cluster.local. 30 IN A ${ip('shop/web-b')}`,
    ]);
    // a pod that is no endpoint of the Service has no name under it
    expect(ask(v, `${dashed('web-0')}.web.shop.svc.cluster.local`).header.rcode).toBe(3);
    expect(ask(v, '10-244-9-9.web.shop.svc.cluster.local').header.rcode).toBe(3);
  });

  test('pods insecure: <dashed-ip>.<ns>.pod.<zone> answers any well-formed address in an existing namespace', () => {
    expect(lines(ask(v, '10-244-1-77.shop.pod.cluster.local').answers)).toEqual([
      '10-244-1-77.shop.pod.cluster.local. 30 IN A 10.244.1.77',
    ]);
    expect(ask(v, '10-244-1-77.nowhere.pod.cluster.local').header.rcode).toBe(3);
    expect(ask(v, '10-244-1.shop.pod.cluster.local').header.rcode).toBe(3);
    expect(ask(v, '10-244-1-300.shop.pod.cluster.local').header.rcode).toBe(3);
  });

  test('ExternalName: a CNAME, chased upstream for A queries; an IP externalName has no record', () => {
    const upstream = (n: string, t: number): DnsMessage | undefined => {
      const m = replyTo(query(n, t), 0);
      m.header.ra = true;
      if (t === DnsType.A)
        m.answers = [{ name: n, class: 1, ttl: 300, data: { type: 'A', address: parseIpv4('203.0.113.7')! } }];
      return m;
    };
    const first = answer(query('db.shop.svc.cluster.local'), v);
    expect(first).toEqual({ kind: 'lookup', name: 'my.database.example.com', type: DnsType.A });
    expect(lines(ask(v, 'db.shop.svc.cluster.local', DnsType.A, upstream).answers)).toEqual([
      'db.shop.svc.cluster.local. 30 IN CNAME my.database.example.com.',
      'my.database.example.com. 300 IN A 203.0.113.7',
    ]);
    expect(lines(ask(v, 'db.shop.svc.cluster.local', DnsType.CNAME).answers)).toEqual([
      'db.shop.svc.cluster.local. 30 IN CNAME my.database.example.com.',
    ]);
    // the lookup failing leaves NODATA
    const failed = ask(v, 'db.shop.svc.cluster.local', DnsType.A, () => undefined);
    expect([failed.header.rcode, failed.answers.length]).toEqual([0, 0]);
    expect(ask(v, 'ipname.shop.svc.cluster.local').header.rcode).toBe(3);
  });

  test('SRV of a ClusterIP named port: one target, weight 100, the A record in the additional section', () => {
    const m = ask(v, '_http._tcp.web.shop.svc.cluster.local', DnsType.SRV);
    expect(lines(m.answers)).toEqual([
      '_http._tcp.web.shop.svc.cluster.local. 30 IN SRV 0 100 80 web.shop.svc.cluster.local.',
    ]);
    expect(lines(m.additionals)).toEqual(['web.shop.svc.cluster.local. 30 IN A 10.96.100.10']);
    expect(lines(ask(v, '_dns._udp.kube-dns.kube-system.svc.cluster.local', DnsType.SRV).answers)).toEqual([
      '_dns._udp.kube-dns.kube-system.svc.cluster.local. 30 IN SRV 0 100 53 kube-dns.kube-system.svc.cluster.local.',
    ]);
    // a port name or protocol the Service does not have
    expect(ask(v, '_grpc._tcp.web.shop.svc.cluster.local', DnsType.SRV).header.rcode).toBe(3);
    expect(ask(v, '_http._udp.web.shop.svc.cluster.local', DnsType.SRV).header.rcode).toBe(3);
  });

  test('SRV of a headless Service: one record per endpoint weighted floor(100/n), targets the endpoint names, A records additional', () => {
    const m = ask(v, '_web._tcp.nginx.default.svc.cluster.local', DnsType.SRV);
    expect(lines(m.answers)).toEqual([
      '_web._tcp.nginx.default.svc.cluster.local. 30 IN SRV 0 33 80 web-0.nginx.default.svc.cluster.local.',
      '_web._tcp.nginx.default.svc.cluster.local. 30 IN SRV 0 33 80 web-1.nginx.default.svc.cluster.local.',
      '_web._tcp.nginx.default.svc.cluster.local. 30 IN SRV 0 33 80 web-2.nginx.default.svc.cluster.local.',
    ]);
    expect(lines(m.additionals)).toEqual([
      `web-0.nginx.default.svc.cluster.local. 30 IN A ${ip('web-0')}`,
      `web-1.nginx.default.svc.cluster.local. 30 IN A ${ip('web-1')}`,
      `web-2.nginx.default.svc.cluster.local. 30 IN A ${ip('web-2')}`,
    ]);
    expect(
      ask(view({ web2Ready: false }), '_web._tcp.nginx.default.svc.cluster.local', DnsType.SRV).answers.map((r) =>
        r.data.type === 'SRV' ? r.data.weight : -1,
      ),
    ).toEqual([50, 50]);
    expect(lines(ask(v, '_http._tcp.web-hl.shop.svc.cluster.local', DnsType.SRV).answers)).toEqual([
      `_http._tcp.web-hl.shop.svc.cluster.local. 30 IN SRV 0 50 8080 ${dashed('shop/web-a')}.web-hl.shop.svc.cluster.local.`,
      `_http._tcp.web-hl.shop.svc.cluster.local. 30 IN SRV 0 50 8080 ${dashed('shop/web-b')}.web-hl.shop.svc.cluster.local.`,
    ]);
  });

  test('PTR: a ClusterIP names its Service, an endpoint IP its endpoint name; anything else goes on to forward', () => {
    expect(lines(ask(v, '10.100.96.10.in-addr.arpa', DnsType.PTR).answers)).toEqual([
      '10.100.96.10.in-addr.arpa. 30 IN PTR web.shop.svc.cluster.local.',
    ]);
    expect(lines(ask(v, rev('web-0'), DnsType.PTR).answers)).toEqual([
      `${rev('web-0')}. 30 IN PTR web-0.nginx.default.svc.cluster.local.`,
    ]);
    // web-a backs two Services: one PTR each
    expect(lines(ask(v, rev('shop/web-a'), DnsType.PTR).answers)).toEqual([
      `${rev('shop/web-a')}. 30 IN PTR ${dashed('shop/web-a')}.web.shop.svc.cluster.local.`,
      `${rev('shop/web-a')}. 30 IN PTR ${dashed('shop/web-a')}.web-hl.shop.svc.cluster.local.`,
    ]);
    expect(answer(query(rev('shop/client'), DnsType.PTR), v)).toEqual({ kind: 'forward' });
    expect(answer(query(rev('web-2'), DnsType.PTR), view({ web2Ready: false }))).toEqual({ kind: 'forward' });
    expect(
      answer(query('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa', DnsType.PTR), v),
    ).toEqual({ kind: 'forward' });
  });

  test('names outside the zones are forwarded; the zone apex answers SOA and NS; dns-version is a TXT record', () => {
    expect(answer(query('example.com'), v)).toEqual({ kind: 'forward' });
    expect(answer(query('cluster.local.example.com'), v)).toEqual({ kind: 'forward' });
    expect(lines(ask(v, 'cluster.local', DnsType.SOA).answers)).toEqual([SOA]);
    // SOA below the apex: NODATA, even for a name that does not exist (handler.go only answers the apex)
    expect(ask(v, 'nope.shop.svc.cluster.local', DnsType.SOA).header.rcode).toBe(0);
    const ns = ask(v, 'cluster.local', DnsType.NS);
    expect(lines(ns.answers)).toEqual(['cluster.local. 30 IN NS kube-dns.kube-system.svc.cluster.local.']);
    expect(lines(ns.additionals)).toEqual(['kube-dns.kube-system.svc.cluster.local. 30 IN A 10.96.0.10']);
    expect(lines(ask(v, 'ns.dns.cluster.local').answers)).toEqual(['ns.dns.cluster.local. 30 IN A 10.96.0.10']);
    expect(lines(ask(v, 'dns-version.cluster.local', DnsType.TXT).answers)).toEqual([
      'dns-version.cluster.local. 28800 IN TXT "1.1.0"',
    ]);
    expect(ask(v, 'cluster.local', DnsType.AXFR).header.rcode).toBe(5);
  });
});

describe('the server around the plugin', () => {
  test('cache 30 caps TTLs at 30 s (dns-version, upstream answers) and keeps negative answers 30 s', () => {
    const v = view();
    expect(cacheTtl(ask(v, 'dns-version.cluster.local', DnsType.TXT))).toBe(30);
    expect(cacheTtl(ask(v, 'nope.shop.svc.cluster.local'))).toBe(30);
    const servfail = replyTo(query('x'), 2);
    expect(cacheTtl(servfail)).toBe(5);
  });

  test('loadbalance shuffles address records (deterministically from the RNG), CNAMEs first', () => {
    const rs: DnsRecord[] = Array.from({ length: 5 }, (_, i) => ({
      name: 'x',
      class: 1,
      ttl: 30,
      data: { type: 'A', address: i + 1 },
    }));
    const a = roundRobin(rs, new Rng(7, 'lb'));
    expect(a.map((r) => (r.data.type === 'A' ? r.data.address : 0)).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(roundRobin(rs, new Rng(7, 'lb'))).toEqual(a);
    const orders = new Set(
      Array.from({ length: 40 }, (_, i) =>
        roundRobin(rs, new Rng(i, 'lb'))
          .map((r) => (r.data.type === 'A' ? r.data.address : 0))
          .join(),
      ),
    );
    expect(orders.size).toBeGreaterThan(10);
    const mixed: DnsRecord[] = [rs[0]!, { name: 'x', class: 1, ttl: 30, data: { type: 'CNAME', target: 'y' } }, rs[1]!];
    expect(roundRobin(mixed, new Rng(1)).map((r) => r.data.type)).toEqual(['CNAME', 'A', 'A']);
  });

  test('scrub: uncompressed when it fits, EDNS0 echoed, truncated with TC to 512 bytes without EDNS0, compressed when cut', () => {
    const q = query('big.default.svc.cluster.local');
    const resp = replyTo(q, 0);
    resp.header.aa = true;
    resp.answers = Array.from({ length: 60 }, (_, i) => ({
      name: 'big.default.svc.cluster.local',
      class: 1,
      ttl: 30,
      data: { type: 'A' as const, address: 0x0af40100 + i },
    }));
    const small = scrub(q, { ...resp, answers: resp.answers.slice(0, 3) }, 'udp');
    expect(small.length).toBe(encodeDns({ ...resp, answers: resp.answers.slice(0, 3) }, { compress: false }).length);
    const cut = parseDns(scrub(q, resp, 'udp'));
    expect(cut.header.tc).toBe(true);
    expect(cut.answers.length).toBeLessThan(60);
    expect(scrub(q, resp, 'udp').length).toBeLessThanOrEqual(512);
    const edns = { ...q, additionals: [optRecord(1232)] };
    const withOpt = parseDns(scrub(edns, resp, 'udp'));
    expect(withOpt.header.tc).toBe(false);
    expect(withOpt.answers).toHaveLength(60);
    expect(withOpt.additionals.map((r) => [r.data.type === 'RAW' ? r.data.code : 0, r.class])).toEqual([[41, 1232]]);
    expect(parseDns(scrub(q, resp, 'tcp')).answers).toHaveLength(60);
  });
});
