/**
 * DNS in the running cluster: probes by name resolve first (real packets, DNAT to a CoreDNS
 * pod), conntrack keeps UDP DNS flows as the kernel does and pins a socket to one CoreDNS pod,
 * truncated answers move to TCP, CoreDNS's cache and forward, and the Scenario syntax for names.
 */
import { describe, expect, test } from 'vitest';
import { layer, model, sim } from '../helpers.js';
import { JsonHopSink } from '../../src/trace/format.js';
import { DnsClass, DnsType, dnsHeader, encodeDns, parseDns, type DnsMessage } from '../../src/wire/dns.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { NS_PER_S, sec } from '../../src/sim/time.js';
import { Resolver, type ResolverQuery } from '../../src/apps/resolver.js';
import { loadTopologyText, formatDiagnostic } from '../../src/kube/load/index.js';
import type { Simulation } from '../../src/api/simulation.js';
import { dnsCluster } from './topology.js';

function q(name: string, type: number = DnsType.A, id = 1): DnsMessage {
  return {
    header: dnsHeader({ id, rd: true }),
    questions: [{ name, type, class: DnsClass.IN }],
    answers: [],
    authorities: [],
    additionals: [],
  };
}

/** One query from `from` to `server` through Resolver.send (glibc's res_send), run to completion. */
function send(
  s: Simulation,
  from: string,
  server: string,
  msg: DnsMessage,
  words: string[] = [],
): { answer: DnsMessage | undefined; log: ResolverQuery[] } {
  const setup = s.resolverSetup(from, s.newFlow());
  const { parseResolvOptions } = resolverOptions;
  const r = new Resolver(s.resolveFrom(from).ns, {
    ...setup,
    conf: { ...setup.conf, nameservers: [parseIpv4(server)!], optionWords: words, options: parseResolvOptions(words) },
  });
  const log: ResolverQuery[] = [];
  let answer: DnsMessage | undefined;
  let done = false;
  r.send([msg], log, (res) => {
    answer = res.answers[0];
    done = true;
  });
  s.runUntil(() => done, 60 * NS_PER_S);
  s.annotateQueries(log);
  return { answer, log };
}
const resolverOptions = await import('../../src/apps/resolver.js');

describe('probes by name', () => {
  test('a tcp probe to web.shop:80 resolves first, then connects to the first address; the attempt records the resolution', () => {
    const hops = new JsonHopSink();
    const { sim: s } = sim(dnsCluster(), { hopSinks: [hops] });
    const r = s.probe('client', 'web.shop:80', 'tcp');
    expect(r.replies).toBe(1);
    expect(r.dst).toBe('10.96.100.10');
    const a = r.attempts[0]!;
    expect(a.resolved).toMatchObject({
      name: 'web.shop',
      address: '10.96.100.10',
      addresses: ['10.96.100.10'],
      source: 'dns',
      tried: ['web.shop.default.svc.cluster.local', 'web.shop.svc.cluster.local'],
    });
    expect(a.resolved!.queries.map((x) => `${x.type} ${x.name} ${x.rcode}`)).toEqual([
      'A web.shop.default.svc.cluster.local NXDOMAIN',
      'AAAA web.shop.default.svc.cluster.local NXDOMAIN',
      'A web.shop.svc.cluster.local NOERROR',
      'AAAA web.shop.svc.cluster.local NOERROR',
    ]);
    expect(a.resolved!.queries.every((x) => x.answeredBy?.startsWith('kube-system/coredns-'))).toBe(true);
    expect(JSON.parse(JSON.stringify(r)).attempts[0].resolved.queries).toHaveLength(4);
    // the trace: DNS queries DNATed to a CoreDNS pod and un-DNATed back, then the connection to the ClusterIP
    const texts = hops.events.map((e) => e.text);
    const firstDnat = texts.findIndex((t) => /DNAT --to-destination 10\.244\.\d+\.\d+:53/.test(t));
    const answerBack = texts.findIndex((t) =>
      /^tx 10\.96\.0\.10\.53 > 10\.244\.0\.\d+\.\d+: DNS response NOERROR A web\.shop\.svc\.cluster\.local: A 10\.96\.100\.10/.test(
        t,
      ),
    );
    const syn = texts.findIndex((t) => /^tx 10\.244\.0\.\d+\.\d+ > 10\.96\.100\.10\.80: Flags \[S\]/.test(t));
    expect(firstDnat).toBeGreaterThan(0);
    expect(answerBack).toBeGreaterThan(firstDnat);
    expect(syn).toBeGreaterThan(answerBack);
    expect(hops.events.filter((e) => e.frame?.dns !== undefined).length).toBeGreaterThan(10);
  });

  test('each connection resolves again; ping resolves once; a name that does not resolve fails every attempt without sending', () => {
    const { sim: s } = sim(dnsCluster());
    const tcp = s.probe('client', 'web.shop:80', 'tcp', { count: 2, interval: sec(1) });
    expect(tcp.attempts.map((a) => a.resolved?.queries.length)).toEqual([4, 4]);
    const ping = s.probe('shop/client', 'web-0.nginx.default', 'icmp', { count: 2, interval: sec(1) });
    expect(ping.replies).toBe(2);
    expect(ping.attempts.map((a) => a.resolved !== undefined)).toEqual([true, false]);
    const bad = s.probe('client', 'nope.shop:80', 'tcp', { count: 2 });
    expect(bad.sent).toBe(0);
    expect(bad.localErrors).toBe(2);
    expect(bad.dst).toBe('');
    expect(bad.attempts.map((a) => a.error)).toEqual([
      'Could not resolve host: nope.shop (Name or service not known)',
      'Could not resolve host: nope.shop (Name or service not known)',
    ]);
    const badPing = s.probe('client', 'nope', 'icmp', { count: 1 });
    expect(badPing.attempts[0]!.error).toBe('ping: nope: Name or service not known');
  });

  test('an ExternalName Service resolves through its CNAME; the external name is forwarded to the gateway', () => {
    const { sim: s } = sim(dnsCluster());
    const r = s.probe('shop/client', 'db:5432', 'tcp', { timeout: sec(1) });
    const res = r.attempts[0]!.resolved!;
    expect(res.addresses).toEqual(['203.0.113.7']);
    expect(res.queries[0]!.answers).toEqual(['CNAME my.database.example.com.', 'A 203.0.113.7']);
    // nothing listens there (the gateway black-holes it): the connection times out
    expect(r.attempts[0]!.error).toBe('Connection timed out');
    // a CNAME chain in the upstream table, chased by the gateway's resolver
    const org = s.probe('shop/client', 'www.example.org:80', 'tcp', { timeout: sec(1) });
    expect(org.attempts[0]!.resolved!.addresses).toEqual(['198.51.100.1', '198.51.100.2']);
  });

  test('the Scenario accepts names in `to` (and still refuses malformed destinations)', () => {
    const doc = (to: string): string[] =>
      loadTopologyText(
        `${dnsCluster()}---\napiVersion: podnet.dev/v1alpha1\nkind: Scenario\nmetadata: { name: s }\nspec:\n  probes:\n    - { from: shop/client, to: "${to}" }\n`,
        's.yaml',
      )
        .diagnostics.filter((d) => d.severity === 'error')
        .map(formatDiagnostic);
    for (const ok of [
      'web:80',
      'web.shop:80',
      'web.shop.svc.cluster.local:8080',
      'web-0.nginx:80',
      'my.database.example.com:5432',
      'web.shop.svc.cluster.local.:80',
      'example.com',
    ])
      expect(doc(ok), ok).toEqual([]);
    for (const bad of ['10.244.1.300', 'pod:web-1', 'web shop:80', 'web..shop:80', '-web:80'])
      expect(doc(bad).length, bad).toBe(1);
  });
});

describe('conntrack for DNS over UDP', () => {
  test('one socket sticks to one CoreDNS pod: its entry lives 30 s, 120 s once it is a stream; new sockets spread over both pods', () => {
    const { sim: s } = sim(dnsCluster());
    const client = s.network.pod('shop/client')!;
    const sock = client.ns.sockets.openUdp(0, 0, 1);
    if ('errno' in sock) throw new Error(sock.message);
    sock.connect(parseIpv4('10.96.0.10')!, 53);
    const answers: number[] = [];
    sock.onMessage = (data) => answers.push(parseDns(data).header.id);
    const node1 = s.network.nodes.get('node1')!;
    const entry = () => node1.nf.ct.all(s.now).find((c) => c.orig.sport === sock.localPort && c.orig.dport === 53)!;
    const expiresIn = (): number => Math.round((entry().expires - s.now) / NS_PER_S);
    sock.send(encodeDns(q('web.shop.svc.cluster.local', DnsType.A, 1)));
    s.advance(sec(1));
    expect(answers).toEqual([1]);
    expect(expiresIn()).toBe(29);
    expect(entry().assured).toBe(false);
    for (let i = 2; i <= 10; i++) {
      sock.send(encodeDns(q('web.shop.svc.cluster.local', DnsType.A, i)));
      s.advance(sec(2));
    }
    expect(answers).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(entry().assured).toBe(true);
    expect(expiresIn()).toBe(118);
    const servers = new Set(s.dnsLog.filter((e) => e.clientPort === sock.localPort).map((e) => e.server));
    expect(servers.size).toBe(1);
    // after 30 s of silence before it became a stream, another socket's flow starts afresh; many sockets reach both
    // pods
    const spread = new Set<string>();
    for (let i = 0; i < 16; i++) {
      const { log } = send(s, 'shop/client', '10.96.0.10', q('web.shop.svc.cluster.local', DnsType.A, 100 + i));
      spread.add(log[0]!.answeredBy!);
    }
    expect([...spread].sort()).toEqual(['kube-system/coredns-0', 'kube-system/coredns-1']);
  });

  test("glibc's A and AAAA race through conntrack together and both are answered (no insert_failed, as on Linux ≥ 5.6)", () => {
    const hops = new JsonHopSink();
    const { sim: s } = sim(dnsCluster(), { hopSinks: [hops] });
    const r = s.probe('shop/client', 'web:80', 'tcp');
    expect(r.attempts[0]!.resolved!.durationNs).toBeLessThan(NS_PER_S);
    expect(hops.events.some((e) => e.kind === 'drop' && /insert_failed/.test(e.text))).toBe(false);
  });
});

describe('CoreDNS on the wire', () => {
  test('an answer too big for 512 bytes comes back truncated; the resolver asks again over TCP (both queries on one connection)', () => {
    const pods = Array.from(
      { length: 40 },
      (_, i) =>
        `---\napiVersion: v1\nkind: Pod\nmetadata: { name: big-${i}, labels: { app: big } }\nspec:\n  nodeName: node${(i % 2) + 1}\n  containers: [{ name: c, ports: [{ containerPort: 80 }] }]\n`,
    ).join('');
    const svc = `---\napiVersion: v1\nkind: Service\nmetadata: { name: big }\nspec:\n  clusterIP: None\n  selector: { app: big }\n  ports: [{ port: 80 }]\n`;
    const { sim: s, cap } = sim(dnsCluster(pods + svc));
    const r = s.probe('client', 'big:80', 'tcp');
    const res = r.attempts[0]!.resolved!;
    expect(res.addresses).toHaveLength(40);
    expect(res.queries.map((x) => `${x.type} ${x.proto} ${x.tc === true ? 'TC' : ''}`)).toEqual([
      'A udp TC',
      'AAAA udp ',
      'A tcp ',
      'AAAA tcp ',
    ]);
    expect(r.replies).toBe(1);
    // the first TCP segment with data carries both length-prefixed queries
    const seg = cap
      .at('pod:client/eth0')
      .map((f) => cap.dissect(f))
      .find((d) => d.tcp !== undefined && layer(d.tcp).dport === 53 && layer(d.tcp).len > 0);
    expect(seg?.dns?.questions[0]?.type).toBe('A');
    expect(seg?.dnsMore?.map((m) => m.questions[0]?.type)).toEqual(['AAAA']);
  });

  test('cache 30: a second ask within the TTL counts down without asking upstream again; each CoreDNS pod has its own cache', () => {
    const { sim: s, cap } = sim(dnsCluster());
    const coredns0 = s.network.pod('kube-system/coredns-0')!;
    const ip = coredns0.model.ip;
    const server = `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
    const first = send(s, 'shop/client', server, q('example.com'));
    expect(first.answer!.answers.map((r) => r.ttl)).toEqual([30]);
    expect(first.answer!.header).toMatchObject({ aa: false, ra: true });
    s.advance(sec(12));
    const again = send(s, 'shop/client', server, q('example.com'));
    expect(again.answer!.answers.map((r) => r.ttl)).toEqual([18]);
    // served from the cache: authoritative (cache/item.go sets AA), and the gateway saw one query only
    expect(again.answer!.header).toMatchObject({ aa: true, ra: true });
    const upstreamQueries = () =>
      cap
        .at('gw/eth0')
        .map((f) => cap.dissect(f))
        .filter((d) => d.dns !== undefined && !d.dns.qr).length;
    expect(upstreamQueries()).toBe(1);
    expect(s.dnsLog.filter((e) => e.server === 'kube-system/coredns-0').map((e) => e.how)).toEqual([
      'forward',
      'cache',
    ]);
    // kubernetes answers are cached too
    send(s, 'shop/client', server, q('web.shop.svc.cluster.local'));
    s.advance(sec(5));
    expect(send(s, 'shop/client', server, q('web.shop.svc.cluster.local')).answer!.answers.map((r) => r.ttl)).toEqual([
      25,
    ]);
    s.advance(sec(40));
    expect(send(s, 'shop/client', server, q('example.com')).answer!.answers.map((r) => r.ttl)).toEqual([30]);
    expect(upstreamQueries()).toBe(2);
  });

  test('CoreDNS forwards reusing its upstream socket for 10 s; over TCP when the client used TCP', () => {
    const { sim: s, cap } = sim(dnsCluster());
    const coredns0 = s.network.pod('kube-system/coredns-0')!;
    const server = [24, 16, 8, 0].map((b) => (coredns0.model.ip >>> b) & 255).join('.');
    send(s, 'shop/client', server, q('example.com'));
    s.advance(sec(3));
    send(s, 'shop/client', server, q('my.database.example.com'));
    s.advance(sec(15));
    send(s, 'shop/client', server, q('www.example.org'));
    const ports = cap
      .at('gw/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.dns !== undefined && !d.dns.qr)
      .map((d) => layer(d.udp).sport);
    expect(ports).toHaveLength(3);
    expect(ports[0]).toBe(ports[1]);
    expect(ports[2]).not.toBe(ports[0]);
    const tcp = send(s, 'shop/client', server, q('cdn.example.net'), ['use-vc']);
    expect(tcp.log.map((x) => x.proto)).toEqual(['tcp']);
    expect(tcp.answer!.answers).toHaveLength(2);
    const overTcp = cap
      .at('gw/eth0')
      .map((f) => cap.dissect(f))
      .filter((d) => d.tcp !== undefined && d.dns !== undefined);
    expect(overTcp.map((d) => (d.dns!.qr ? 'answer' : 'query'))).toEqual(['query', 'answer']);
  });

  test('malformed queries: FORMERR for two questions, NOTIMP for another opcode, silence for a response', () => {
    const { sim: s } = sim(dnsCluster());
    const two: DnsMessage = {
      ...q('a.b'),
      questions: [
        { name: 'a', type: 1, class: 1 },
        { name: 'b', type: 1, class: 1 },
      ],
    };
    const client = s.network.pod('shop/client')!;
    const sock = client.ns.sockets.openUdp(0, 0, 1);
    if ('errno' in sock) throw new Error(sock.message);
    sock.connect(parseIpv4('10.96.0.10')!, 53);
    const got: DnsMessage[] = [];
    sock.onMessage = (data) => got.push(parseDns(data));
    sock.send(encodeDns(two));
    sock.send(encodeDns({ ...q('x'), header: dnsHeader({ id: 7, opcode: 2 }) }));
    sock.send(encodeDns({ ...q('x'), header: dnsHeader({ id: 8, qr: true }) }));
    s.advance(sec(1));
    expect(got.map((m) => [m.header.id, m.header.rcode, m.questions.length])).toEqual([
      [1, 1, 0],
      [7, 4, 0],
    ]);
  });

  test('headless answers follow endpoint readiness', () => {
    const ask = (ready: boolean): number => {
      const { sim: s } = sim(dnsCluster('', { web2Ready: ready }));
      return s.probe('client', 'nginx:80', 'tcp').attempts[0]!.resolved!.addresses.length;
    };
    expect([ask(true), ask(false)]).toEqual([3, 2]);
  });

  test('the default cluster serves DNS too when CoreDNS comes from the built-in addons', () => {
    const m = model(
      dnsCluster().replace(/---\napiVersion: v1\nkind: Pod\nmetadata: \{ name: coredns-[01][\s\S]*?(?=---)/g, ''),
    );
    const coredns = m.pods.filter((p) => p.namespace === 'kube-system' && p.labels['k8s-app'] === 'kube-dns');
    if (coredns.length === 0) return; // built-in addons not available in this build
    const { sim: s } = sim(
      dnsCluster().replace(/---\napiVersion: v1\nkind: Pod\nmetadata: \{ name: coredns-[01][\s\S]*?(?=---)/g, ''),
    );
    expect(s.probe('client', 'web.shop:80', 'tcp').replies).toBe(1);
  });
});
