/**
 * The pod resolver: resolv.conf per dnsPolicy as kubelet writes it, and glibc's query sequence
 * as real packets: the search list walk, A and AAAA back to back from one source port, moving on
 * after NXDOMAIN and NODATA, the absolute name last (or first), a trailing dot, /etc/hosts, and
 * the forward of outside names by CoreDNS to the gateway's resolver.
 */
import { describe, expect, test } from 'vitest';
import { model, sim, layer } from '../helpers.js';
import {
  formatResolvConf,
  hostResolvConf,
  parseResolvOptions,
  podResolvConf,
  Resolver,
  type Resolution,
} from '../../src/apps/resolver.js';
import { NS_PER_S } from '../../src/sim/time.js';
import type { Simulation } from '../../src/api/simulation.js';
import { dnsCluster } from './topology.js';

/** Runs getaddrinfo(name) from `from` to completion. */
function lookup(s: Simulation, from: string, name: string): Resolution {
  const setup = s.resolverSetup(from, s.newFlow());
  let out: Resolution | undefined;
  new Resolver(s.resolveFrom(from).ns, setup).getaddrinfo(name, (r) => (out = r));
  s.runUntil(() => out !== undefined, 120 * NS_PER_S);
  if (out === undefined) throw new Error('lookup did not finish');
  s.annotateQueries(out.queries);
  return out;
}

/** The queries as `TYPE name rcode` lines. */
const seq = (r: Resolution): string[] => r.queries.map((q) => `${q.type} ${q.name} ${q.rcode ?? q.error ?? '?'}`);

const POLICY_PODS = `---
apiVersion: v1
kind: Pod
metadata: { name: dflt, namespace: shop }
spec:
  nodeName: node1
  dnsPolicy: Default
  containers: [{ name: c }]
---
apiVersion: v1
kind: Pod
metadata: { name: none, namespace: shop }
spec:
  nodeName: node1
  dnsPolicy: None
  dnsConfig:
    nameservers: [10.96.0.10]
    searches: [other.svc.cluster.local]
    options: [{ name: ndots, value: "2" }, { name: edns0 }]
  containers: [{ name: c }]
---
apiVersion: v1
kind: Pod
metadata: { name: hostnet, namespace: shop }
spec:
  nodeName: node2
  hostNetwork: true
  containers: [{ name: c }]
---
apiVersion: v1
kind: Pod
metadata: { name: hostnet-cf, namespace: shop }
spec:
  nodeName: node2
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  containers: [{ name: c }]
---
apiVersion: v1
kind: Pod
metadata: { name: merged, namespace: shop }
spec:
  nodeName: node2
  dnsConfig:
    nameservers: [172.18.0.1, 10.96.0.10]
    searches: [corp.example.com]
    options: [{ name: ndots, value: "1" }, { name: attempts, value: "3" }]
  containers: [{ name: c }]
`;

describe('resolv.conf as kubelet writes it', () => {
  const m = model(dnsCluster(POLICY_PODS));
  const pod = (name: string) => m.pods.find((p) => p.namespace === 'shop' && p.name === name)!;

  test('ClusterFirst: the tenth service address, the namespace search list, ndots:5', () => {
    const c = podResolvConf(pod('client'), m);
    expect(formatResolvConf(c)).toBe(
      'search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5',
    );
    expect(c.options).toMatchObject({ ndots: 5, timeout: 5, attempts: 2 });
  });

  test("Default and hostNetwork pods get the node's resolv.conf; ClusterFirstWithHostNet keeps the cluster one", () => {
    expect(formatResolvConf(podResolvConf(pod('dflt'), m))).toBe('nameserver 172.18.0.1');
    expect(formatResolvConf(podResolvConf(pod('hostnet'), m))).toBe('nameserver 172.18.0.1');
    expect(podResolvConf(pod('hostnet'), m).origin).toMatch(/hostNetwork/);
    expect(formatResolvConf(podResolvConf(pod('hostnet-cf'), m))).toBe(
      'search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5',
    );
    expect(formatResolvConf(hostResolvConf(m))).toBe('nameserver 172.18.0.1');
  });

  test('None takes dnsConfig alone; other policies merge it (nameservers and searches appended, options by name)', () => {
    expect(formatResolvConf(podResolvConf(pod('none'), m))).toBe(
      'search other.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:2 edns0',
    );
    const merged = podResolvConf(pod('merged'), m);
    expect(formatResolvConf(merged)).toBe(
      'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example.com\nnameserver 10.96.0.10\nnameserver 172.18.0.1\noptions ndots:1 attempts:3',
    );
    expect(merged.options).toMatchObject({ ndots: 1, attempts: 3 });
  });

  test('options as glibc reads them, with its limits', () => {
    expect(
      parseResolvOptions(['ndots:30', 'timeout:0', 'attempts:9', 'single-request-reopen', 'use-vc', 'trust-ad']),
    ).toMatchObject({
      ndots: 15,
      timeout: 1,
      attempts: 5,
      singleRequestReopen: true,
      useVc: true,
      trustAd: true,
    });
  });

  test('the loader checks dnsPolicy and dnsConfig as the API server does', async () => {
    const { loadTopologyText, formatDiagnostic } = await import('../../src/kube/load/index.js');
    const bad = (spec: string): string[] =>
      loadTopologyText(
        `apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c }]\n${spec}`,
        'p.yaml',
      )
        .diagnostics.filter((d) => d.severity === 'error')
        .map(formatDiagnostic);
    expect(bad('  dnsPolicy: None\n')[0]).toMatch(/at least one DNS nameserver/);
    expect(bad('  dnsPolicy: Cluster\n')[0]).toMatch(
      /spec\.dnsPolicy: expected one of "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"/,
    );
    expect(bad('  dnsConfig: { nameservers: [1.1.1.1, 1.0.0.1, 8.8.8.8, 8.8.4.4] }\n')[0]).toMatch(
      /more than 3 nameservers/,
    );
    expect(bad('  dnsConfig: { nameservers: ["2001:db8::1"] }\n')[0]).toMatch(/IPv6/);
    expect(bad('  dnsConfig: { searches: ["bad name"] }\n')[0]).toMatch(/DNS name/);
    expect(bad('  dnsConfig: { options: [{ name: ndots, value: 2 }] }\n')[0]).toMatch(
      /options\[0\]\.value: expected a string/,
    );
    expect(bad('  dnsPolicy: None\n  dnsConfig: { nameservers: [10.96.0.10] }\n')).toEqual([]);
  });
});

describe("glibc's query sequence, as packets", () => {
  test('"web" from its own namespace: the first search domain answers; A and AAAA share one source port', () => {
    const { sim: s, cap } = sim(dnsCluster());
    const r = lookup(s, 'shop/client', 'web');
    expect(r.addresses).toEqual(['10.96.100.10']);
    expect(r.tried).toEqual(['web.shop.svc.cluster.local']);
    expect(seq(r)).toEqual(['A web.shop.svc.cluster.local NOERROR', 'AAAA web.shop.svc.cluster.local NOERROR']);
    expect(r.queries[0]!.answers).toEqual(['A 10.96.100.10']);
    expect(r.queries[1]!.answers).toEqual([]);
    expect(new Set(r.queries.map((q) => q.sourcePort)).size).toBe(1);
    expect(r.queries[0]!.id).not.toBe(r.queries[1]!.id);
    expect(r.queries.every((q) => q.server === '10.96.0.10' && q.proto === 'udp')).toBe(true);
    expect(r.queries.every((q) => q.answeredBy?.startsWith('kube-system/coredns-'))).toBe(true);
    // both queries left the pod back to back, before any answer came in
    const out = cap
      .at('pod:shop/client/eth0')
      .filter((f) => f.dir === 'out')
      .map((f) => cap.dissect(f))
      .filter((d) => d.dns !== undefined);
    expect(out.map((d) => layer(d.dns).questions[0]!.type)).toEqual(['A', 'AAAA']);
    expect(out.map((d) => layer(d.udp).sport)).toEqual([r.queries[0]!.sourcePort, r.queries[0]!.sourcePort]);
  });

  test('"web.other": NXDOMAIN in the own namespace, then the other namespace answers; a new socket per candidate', () => {
    const { sim: s } = sim(dnsCluster());
    const r = lookup(s, 'shop/client', 'web.other');
    expect(seq(r)).toEqual([
      'A web.other.shop.svc.cluster.local NXDOMAIN',
      'AAAA web.other.shop.svc.cluster.local NXDOMAIN',
      'A web.other.svc.cluster.local NOERROR',
      'AAAA web.other.svc.cluster.local NOERROR',
    ]);
    expect(r.addresses).toEqual(['10.96.100.20']);
    expect(r.queries[0]!.sourcePort).toBe(r.queries[1]!.sourcePort);
    expect(r.queries[2]!.sourcePort).toBe(r.queries[3]!.sourcePort);
    expect(r.queries[2]!.sourcePort).not.toBe(r.queries[0]!.sourcePort);
  });

  test('"example.com": NXDOMAIN through the whole search list, then the name as given, forwarded upstream by CoreDNS', () => {
    const { sim: s, cap } = sim(dnsCluster());
    const r = lookup(s, 'shop/client', 'example.com');
    expect(r.tried).toEqual([
      'example.com.shop.svc.cluster.local',
      'example.com.svc.cluster.local',
      'example.com.cluster.local',
      'example.com',
    ]);
    expect(seq(r)).toEqual([
      'A example.com.shop.svc.cluster.local NXDOMAIN',
      'AAAA example.com.shop.svc.cluster.local NXDOMAIN',
      'A example.com.svc.cluster.local NXDOMAIN',
      'AAAA example.com.svc.cluster.local NXDOMAIN',
      'A example.com.cluster.local NXDOMAIN',
      'AAAA example.com.cluster.local NXDOMAIN',
      'A example.com NOERROR',
      'AAAA example.com NOERROR',
    ]);
    expect(r.addresses).toEqual(['93.184.215.14']);
    expect(r.queries.slice(6).map((q) => q.answers)).toEqual([['A 93.184.215.14'], []]);
    // the forward is real packets: the CoreDNS pod's query reaches the gateway masqueraded to its node's address
    const atGw = cap
      .at('gw/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.dns !== undefined);
    const queries = atGw.filter((d) => !layer(d.dns).qr);
    const answers = atGw.filter((d) => layer(d.dns).qr);
    expect(queries.map((d) => layer(d.dns).questions[0]!.name).sort()).toEqual(['example.com.', 'example.com.']);
    expect(
      queries.every((d) => ['172.18.0.2', '172.18.0.3'].includes(layer(d.ip).src) && layer(d.udp).dport === 53),
    ).toBe(true);
    expect(answers.map((d) => layer(d.dns).flags)).toEqual(['qr rd ra', 'qr rd ra']);
    expect(answers.map((d) => layer(d.dns).answers)).toContainEqual(['example.com. 300 IN A 93.184.215.14']);
    // CoreDNS relays the answer with the cache's 30 s cap and the client's own id
    const back = cap
      .at('pod:shop/client/eth0')
      .filter((f) => f.dir === 'in')
      .map((f) => cap.dissect(f))
      .filter((d) => d.dns !== undefined && layer(d.dns).questions[0]!.name === 'example.com.');
    expect(back.flatMap((d) => layer(d.dns).answers)).toEqual(['example.com. 30 IN A 93.184.215.14']);
    expect(back.map((d) => layer(d.dns).id).sort()).toEqual(
      r.queries
        .slice(6)
        .map((q) => q.id)
        .sort(),
    );
  });

  test('a name with ndots dots or more goes as given first; a trailing dot skips the search list', () => {
    const { sim: s } = sim(dnsCluster(POLICY_PODS));
    expect(lookup(s, 'shop/client', 'web.shop.svc.cluster.local.').tried).toEqual(['web.shop.svc.cluster.local']);
    const fqdn = lookup(s, 'shop/client', 'web.shop.svc.cluster.local');
    expect(fqdn.tried).toEqual([
      'web.shop.svc.cluster.local.shop.svc.cluster.local',
      'web.shop.svc.cluster.local.svc.cluster.local',
      'web.shop.svc.cluster.local.cluster.local',
      'web.shop.svc.cluster.local',
    ]);
    expect(fqdn.addresses).toEqual(['10.96.100.10']);
    const none = lookup(s, 'shop/none', 'web.shop');
    // ndots:2 from dnsConfig: "web.shop" (1 dot) still searches first, in other.svc.cluster.local only
    expect(none.tried).toEqual(['web.shop.other.svc.cluster.local', 'web.shop']);
  });

  test('a name nobody knows fails with EAI_NONAME after the absolute name; NODATA moves on and is what remains', () => {
    const { sim: s } = sim(dnsCluster(POLICY_PODS));
    const r = lookup(s, 'shop/client', 'nope');
    expect(r.tried).toEqual(['nope.shop.svc.cluster.local', 'nope.svc.cluster.local', 'nope.cluster.local', 'nope']);
    expect(r.error).toBe('Name or service not known');
    expect(r.addresses).toEqual([]);
    // the kubernetes plugin has no AAAA: a name whose A exists nowhere but who answers NODATA
    const n = lookup(s, 'shop/client', 'shop.svc.cluster.local.');
    expect(n.error).toBe('No address associated with hostname');
  });

  test("/etc/hosts first: localhost and the pod's own hostname never reach DNS", () => {
    const { sim: s } = sim(dnsCluster());
    expect(lookup(s, 'shop/client', 'localhost')).toMatchObject({
      source: 'hosts',
      addresses: ['127.0.0.1'],
      queries: [],
    });
    const own = lookup(s, 'web-0', 'web-0.nginx.default.svc.cluster.local');
    expect(own.source).toBe('hosts');
    expect(lookup(s, 'shop/client', '10.1.2.3')).toMatchObject({
      source: 'numeric',
      addresses: ['10.1.2.3'],
      queries: [],
    });
  });

  test('dnsPolicy Default asks the gateway straight away: cluster names are unknown there, outside names answer at once', () => {
    const { sim: s } = sim(dnsCluster(POLICY_PODS));
    const web = lookup(s, 'shop/dflt', 'web');
    expect(web.tried).toEqual(['web']);
    expect(web.queries.every((q) => q.server === '172.18.0.1' && q.answeredBy === 'gateway')).toBe(true);
    expect(web.error).toBe('Name or service not known');
    const ex = lookup(s, 'shop/dflt', 'example.com');
    expect(ex.tried).toEqual(['example.com']);
    expect(ex.addresses).toEqual(['93.184.215.14']);
    // a hostNetwork pod with ClusterFirst falls back to the node's resolv.conf too; ClusterFirstWithHostNet does not
    expect(lookup(s, 'shop/hostnet', 'web.shop.svc.cluster.local').queries[0]!.server).toBe('172.18.0.1');
    expect(lookup(s, 'shop/hostnet-cf', 'web.shop.svc.cluster.local').addresses).toEqual(['10.96.100.10']);
  });

  test('options edns0 adds an OPT record to the queries; CoreDNS echoes it', async () => {
    const { sim: s, cap } = sim(dnsCluster(POLICY_PODS));
    // search other.svc.cluster.local, ndots:2: "web" becomes web.other.svc.cluster.local
    const r = lookup(s, 'shop/none', 'web');
    expect(r.tried).toEqual(['web.other.svc.cluster.local']);
    expect(r.addresses).toEqual(['10.96.100.20']);
    const node = s.network.pods.get('shop/none')!;
    const raw = cap.at(`${node.ns.label}/eth0`).filter((f) => cap.dissect(f).dns !== undefined);
    const { parseDns } = await import('../../src/wire/dns.js');
    const msgs = raw.map((f) => parseDns(f.bytes, 42));
    expect(msgs.length).toBe(4);
    for (const m of msgs)
      expect(m.additionals.map((a) => [a.data.type === 'RAW' ? a.data.code : 0, a.class])).toEqual([
        [41, m.header.qr ? 1200 : 1200],
      ]);
  });

  test('kube-dns without endpoints is REJECTed: ICMP port unreachable on both tries ends the lookup with EAI_AGAIN', () => {
    // the CoreDNS pods lose their label, and the built-in addons are told not to bring their own
    const noCoreDns = dnsCluster('', { clusterSpec: '  addons: { coreDNS: false }' }).replace(
      /k8s-app: kube-dns \} \}\nspec:\n {2}nodeName/g,
      'k8s-app: other-dns } }\nspec:\n  nodeName',
    );
    const { sim: s } = sim(noCoreDns);
    const r = lookup(s, 'shop/client', 'web');
    expect(r.error).toBe('Temporary failure in name resolution');
    // both tries of res_send get port unreachable (a new socket each time), then the search stops
    expect(r.queries.map((q) => `${q.type} ${q.name} ${q.error}`)).toEqual([
      'A web.shop.svc.cluster.local connection refused',
      'AAAA web.shop.svc.cluster.local connection refused',
      'A web.shop.svc.cluster.local connection refused',
      'AAAA web.shop.svc.cluster.local connection refused',
    ]);
    expect(r.durationNs).toBeLessThan(NS_PER_S);
  });
});
