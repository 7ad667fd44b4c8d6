/**
 * Cases from CoreDNS's own tests restated for podnet: an upstream answer truncated under an ExternalName is passed on
 * with TC and the pod asks again over TCP (coredns #4715, plugin/kubernetes handler.go), a declared Namespace with
 * nothing in it exists (findServices/findPods NODATA, `pods insecure`), names keep the case of the question
 * (plugin/kubernetes handler_case_test.go), and `dig name.` is the same question as `dig name`.
 */
import { describe, expect, test } from 'vitest';
import { model, sim } from '../helpers.js';
import { answer, answerWith, clusterDnsView, replyTo, type ClusterDnsView } from '../../src/apps/coredns.js';
import { DnsType, dnsHeader, formatRecord, type DnsMessage, type DnsRecord } from '../../src/wire/dns.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { sec } from '../../src/sim/time.js';
import { dig } from '../../src/api/dig.js';
import { TextHopSink } from '../../src/trace/format.js';
import { KUBE_DNS } from './topology.js';
import { Resolver } from '../../src/apps/resolver.js';
import type { Simulation } from '../../src/api/simulation.js';

/** 100 addresses for one upstream name: 1,600 bytes of A records, more than a UDP answer without EDNS0 holds. */
const MANY = Array.from({ length: 100 }, (_, i) => `198.51.100.${i + 1}`);

/** A cluster: an ExternalName whose target has 100 A records, an empty Namespace, headless and ClusterIP Services. */
const CLUSTER = `apiVersion: podnet.dev/v1alpha1
kind: Cluster
metadata: { name: coredns-cases }
spec:
  nodes:
    - { name: node1, ip: 172.18.0.2, podCIDR: 10.244.0.0/24 }
    - { name: node2, ip: 172.18.0.3, podCIDR: 10.244.1.0/24 }
  dns:
    upstream:
      many.example.net: [${MANY.join(', ')}]
---
${KUBE_DNS}---
apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Namespace
metadata: { name: empty }
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: shop }
spec:
  nodeName: node1
  containers: [{ name: c }]
---
apiVersion: v1
kind: Pod
metadata: { name: web-a, namespace: shop, labels: { app: web } }
spec:
  nodeName: node2
  containers: [{ name: w, ports: [{ name: http, containerPort: 8080 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  clusterIP: 10.96.100.10
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Service
metadata: { name: many, namespace: shop }
spec:
  type: ExternalName
  externalName: many.example.net
---
apiVersion: v1
kind: Pod
metadata: { name: db-0, namespace: shop, labels: { app: db } }
spec:
  nodeName: node1
  hostname: db-0
  subdomain: db
  containers: [{ name: db, ports: [{ name: pg, containerPort: 5432 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: db, namespace: shop }
spec:
  clusterIP: None
  selector: { app: db }
  ports: [{ name: pg, port: 5432 }]
`;

function query(name: string, type: number = DnsType.A): DnsMessage {
  return {
    header: dnsHeader({ id: 99, rd: true }),
    questions: [{ name, type, class: 1 }],
    answers: [],
    authorities: [],
    additionals: [],
  };
}

const lines = (rs: readonly DnsRecord[]): string[] => rs.map((r) => formatRecord(r).replace(/\s+/g, ' '));

function view(): ClusterDnsView {
  const m = model(CLUSTER);
  return clusterDnsView(m, [m.pods.find((p) => p.name === 'coredns-0')!.ip]);
}

function ask(v: ClusterDnsView, name: string, type: number = DnsType.A): DnsMessage {
  const r = answerWith(query(name, type), v);
  if (r === 'forward') throw new Error(`${name} was forwarded`);
  return r;
}

function dbIp(): string {
  const p = model(CLUSTER).pods.find((x) => x.name === 'db-0')!.ip;
  return [24, 16, 8, 0].map((b) => (p >>> b) & 255).join('.');
}

describe('a truncated upstream answer under an ExternalName (CoreDNS passes TC on)', () => {
  test('the plugin sets TC on its answer when the upstream answer it chased was truncated, and not otherwise', () => {
    const v = view();
    const need = answer(query('many.shop.svc.cluster.local'), v);
    expect(need).toEqual({ kind: 'lookup', name: 'many.example.net', type: DnsType.A });
    // what forward hands back over UDP: the upstream's bare TC answer
    const cut = replyTo(query('many.example.net'), 0);
    cut.header.tc = true;
    const whole = replyTo(query('many.example.net'), 0);
    whole.answers = MANY.slice(0, 2).map((a) => ({
      name: 'many.example.net',
      class: 1,
      ttl: 300,
      data: { type: 'A' as const, address: parseIpv4(a)! },
    }));
    const key = 'many.example.net/1';
    const truncated = answer(query('many.shop.svc.cluster.local'), v, new Map([[key, cut]]));
    const complete = answer(query('many.shop.svc.cluster.local'), v, new Map([[key, whole]]));
    if (truncated.kind !== 'reply' || complete.kind !== 'reply') throw new Error('expected replies');
    expect(truncated.message.header).toMatchObject({ rcode: 0, tc: true, aa: true });
    expect(lines(truncated.message.answers)).toEqual(['many.shop.svc.cluster.local. 30 IN CNAME many.example.net.']);
    expect(complete.message.header.tc).toBe(false);
    expect(complete.message.answers).toHaveLength(3);
  });

  test('a pod resolving the ExternalName gets all 100 addresses: TC over UDP, then both queries again over TCP', () => {
    const { sim: s, hops } = sim(CLUSTER);
    const r = s.probe('shop/client', 'many:80', 'tcp', { timeout: sec(1) });
    const res = r.attempts[0]!.resolved!;
    expect(res.error).toBeUndefined();
    expect([...res.addresses].sort()).toEqual([...MANY].sort());
    const sent = res.queries.map(
      (x) => `${x.type} ${x.name} ${x.proto} ${x.rcode ?? '-'}${x.tc === true ? ' TC' : ''}`,
    );
    expect(sent).toEqual([
      'A many.shop.svc.cluster.local udp NOERROR TC',
      // glibc moves to TCP at the first truncated answer, without waiting for the AAAA one
      'AAAA many.shop.svc.cluster.local udp -',
      'A many.shop.svc.cluster.local tcp NOERROR',
      'AAAA many.shop.svc.cluster.local tcp NOERROR',
    ]);
    expect(res.queries[2]!.answers).toHaveLength(101);
    expect(res.queries.every((q) => q.rcode === undefined || q.answeredBy?.startsWith('kube-system/coredns-'))).toBe(
      true,
    );
    // the trace: the gateway cuts its UDP answer, CoreDNS passes TC on, the pod retries over TCP and CoreDNS forwards
    // over TCP too
    const texts = hops.events.filter((e) => e.kind === 'app').map((e) => e.text);
    const at = (re: RegExp): number => texts.findIndex((t) => re.test(t));
    const steps = [
      at(/^resolver: udp \S+ A many\.example\.net\. → NOERROR, 0 answers \(upstream table\) \[TC\]$/),
      at(/^coredns: udp \S+ A many\.shop\.svc\.cluster\.local\. → NOERROR, 1 answer \[TC\]$/),
      at(/^resolver: truncated answer from 10\.96\.0\.10: retrying over TCP$/),
      at(/^coredns: forward \d+ → 172\.18\.0\.1:53 tcp, id \d+$/),
      at(/^resolver: tcp \S+ A many\.example\.net\. → NOERROR, 100 answers \(upstream table\)$/),
      at(/^coredns: tcp \S+ A many\.shop\.svc\.cluster\.local\. → NOERROR, 101 answers$/),
    ];
    expect(steps.every((i) => i >= 0)).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
  });

  test('a name forwarded as asked: the upstream TC answer reaches the pod, which gets the records over TCP', () => {
    const r = dig(model(CLUSTER), { name: 'many.example.net', from: 'shop/client' });
    expect(r.queries.map((q) => `${q.proto}${q.tc === true ? ' TC' : ''}`)).toEqual(['udp TC', 'tcp']);
    expect(r.proto).toBe('tcp');
    expect(r.response!.answers).toHaveLength(100);
  });
});

describe('a declared Namespace with nothing in it exists', () => {
  test('the model lists declared namespaces, empty ones included', () => {
    const ns = model(CLUSTER).namespaces ?? [];
    expect(ns).toContain('empty');
    expect(ns).toEqual([...ns].sort());
  });

  test('<ns>.svc.<zone> is NODATA with the SOA, not NXDOMAIN; a namespace nobody declared stays NXDOMAIN', () => {
    const v = view();
    for (const n of ['empty.svc.cluster.local', 'empty.pod.cluster.local']) {
      const m = ask(v, n);
      expect([m.header.rcode, m.answers.length, m.authorities.length], n).toEqual([0, 0, 1]);
    }
    expect(ask(v, 'web.empty.svc.cluster.local').header.rcode).toBe(3);
    expect(ask(v, 'absent.svc.cluster.local').header.rcode).toBe(3);
  });

  test('pods insecure answers a dashed address in the empty namespace, over the wire too', () => {
    expect(lines(ask(view(), '10-244-1-77.empty.pod.cluster.local').answers)).toEqual([
      '10-244-1-77.empty.pod.cluster.local. 30 IN A 10.244.1.77',
    ]);
    const r = dig(model(CLUSTER), { name: '10-244-1-77.empty.pod.cluster.local', from: 'shop/client' });
    expect(r.response!.header.rcode).toBe(0);
    expect(lines(r.response!.answers)).toEqual(['10-244-1-77.empty.pod.cluster.local. 30 IN A 10.244.1.77']);
    expect(
      dig(model(CLUSTER), { name: '10-244-1-77.absent.pod.cluster.local', from: 'shop/client' }).response!.header.rcode,
    ).toBe(3);
  });
});

describe('names keep the case of the question (CoreDNS handler_case_test.go)', () => {
  const v = view();

  test('a negative answer: the SOA owner, its NS and mailbox in the zone as asked', () => {
    const m = ask(v, 'not-a-service.shop.svc.ClUsTeR.lOcAl');
    expect(m.header.rcode).toBe(3);
    expect(lines(m.authorities)).toEqual([
      'ClUsTeR.lOcAl. 30 IN SOA ns.dns.ClUsTeR.lOcAl. hostmaster.ClUsTeR.lOcAl. 0 7200 1800 86400 30',
    ]);
  });

  test('SRV of a ClusterIP Service: owner as asked, the target is the object name in the zone as asked', () => {
    const m = ask(v, '_HtTp._TcP.wEb.ShOp.SvC.cLuStEr.LoCaL', DnsType.SRV);
    expect(lines(m.answers)).toEqual([
      '_HtTp._TcP.wEb.ShOp.SvC.cLuStEr.LoCaL. 30 IN SRV 0 100 80 web.shop.svc.cLuStEr.LoCaL.',
    ]);
    expect(lines(m.additionals)).toEqual(['web.shop.svc.cLuStEr.LoCaL. 30 IN A 10.96.100.10']);
  });

  test('SRV of a headless Service: endpoint targets end in the zone as asked', () => {
    const m = ask(v, '_PG._tcp.DB.shop.svc.Cluster.Local', DnsType.SRV);
    expect(lines(m.answers)).toEqual([
      '_PG._tcp.DB.shop.svc.Cluster.Local. 30 IN SRV 0 100 5432 db-0.db.shop.svc.Cluster.Local.',
    ]);
    expect(lines(m.additionals)).toEqual([`db-0.db.shop.svc.Cluster.Local. 30 IN A ${dbIp()}`]);
    // SRV of a pod name: the labels as the plugin parsed them (lower case), the zone as asked
    expect(lines(ask(v, '10-244-1-77.Empty.pod.CLUSTER.local', DnsType.SRV).answers)).toEqual([
      '10-244-1-77.Empty.pod.CLUSTER.local. 30 IN SRV 0 100 0 10-244-1-77.empty.pod.CLUSTER.local.',
    ]);
  });

  test('the apex: SOA as asked; NS targets in the zone as asked, but only when the apex is asked in lower case', () => {
    expect(lines(ask(v, 'Cluster.local', DnsType.SOA).answers)).toEqual([
      'Cluster.local. 30 IN SOA ns.dns.Cluster.local. hostmaster.Cluster.local. 0 7200 1800 86400 30',
    ]);
    expect(lines(ask(v, 'cluster.local', DnsType.NS).answers)).toEqual([
      'cluster.local. 30 IN NS kube-dns.kube-system.svc.cluster.local.',
    ]);
    // handler.go compares the lower-cased name with the zone as asked: a capital makes it no apex, so NODATA
    const upper = ask(v, 'Cluster.local', DnsType.NS);
    expect([upper.header.rcode, upper.answers.length]).toEqual([0, 0]);
    // isDefaultNS likewise: ns.dns.<zone> answers in lower case only
    expect(lines(ask(v, 'ns.dns.cluster.local').answers)).toEqual(['ns.dns.cluster.local. 30 IN A 10.96.0.10']);
    expect(ask(v, 'ns.dns.Cluster.local').header.rcode).toBe(3);
  });

  test('over the wire: a mixed-case name resolves in a pod, owners and SRV targets come back as asked', () => {
    const { sim: s } = sim(CLUSTER);
    const r = s.probe('shop/client', 'WeB.sHoP.svc.cluster.local:80', 'tcp');
    expect(r.replies).toBe(1);
    const answered = r.attempts[0]!.resolved!.queries.find((q) => q.type === 'A' && q.rcode === 'NOERROR');
    expect([answered?.name, answered?.answers]).toEqual(['WeB.sHoP.svc.cluster.local', ['A 10.96.100.10']]);
    const a = dig(model(CLUSTER), { name: 'WeB.sHoP.svc.cluster.local', from: 'shop/client' });
    expect(lines(a.response!.answers)).toEqual(['WeB.sHoP.svc.cluster.local. 30 IN A 10.96.100.10']);
    const d = dig(model(CLUSTER), { name: '_http._tcp.WEB.shop.svc.Cluster.Local', type: 'SRV', from: 'shop/client' });
    expect(lines(d.response!.answers)).toEqual([
      '_http._tcp.WEB.shop.svc.Cluster.Local. 30 IN SRV 0 100 80 web.shop.svc.Cluster.Local.',
    ]);
  });
});

/** One query from `from` straight to a CoreDNS pod's address (its own cache), run to completion. */
function askPod(s: Simulation, from: string, pod: string, name: string): DnsMessage {
  const setup = s.resolverSetup(from, s.newFlow());
  const server = s.network.pod(pod)!.model.ip;
  const r = new Resolver(s.resolveFrom(from).ns, { ...setup, conf: { ...setup.conf, nameservers: [server] } });
  let got: DnsMessage | undefined;
  r.send([query(name)], [], (res) => {
    got = res.answers[0];
  });
  s.runUntil(() => got !== undefined, sec(30));
  return got!;
}

test("cache 30 answers a later question with the spelling of the one that filled it (CoreDNS's item.toMsg)", () => {
  const { sim: s } = sim(CLUSTER);
  const first = askPod(s, 'shop/client', 'kube-system/coredns-0', 'WEB.shop.svc.cluster.local');
  const later = askPod(s, 'shop/client', 'kube-system/coredns-0', 'web.shop.svc.cluster.local');
  expect(lines(first.answers)).toEqual(['WEB.shop.svc.cluster.local. 30 IN A 10.96.100.10']);
  expect(later.questions[0]!.name).toBe('web.shop.svc.cluster.local');
  expect(lines(later.answers)).toEqual(['WEB.shop.svc.cluster.local. 30 IN A 10.96.100.10']);
});

describe('dig name. (trailing dot)', () => {
  test('asks the same question as dig name, says which CoreDNS pod answered, and no trace line shows a double dot', () => {
    const out: string[] = [];
    const r = dig(model(CLUSTER), {
      name: 'web.shop.svc.cluster.local.',
      from: 'shop/client',
      hopSinks: [new TextHopSink((l: string) => out.push(l), undefined, false)],
    });
    expect(r.query.name).toBe('web.shop.svc.cluster.local');
    expect(r.tried).toEqual(['web.shop.svc.cluster.local']);
    expect(r.answeredBy).toMatch(/^kube-system\/coredns-[01]$/);
    expect(r.queries[0]!.answeredBy).toBe(r.answeredBy);
    expect(out.some((l) => l.includes('dig: query A web.shop.svc.cluster.local. → 10.96.0.10:53'))).toBe(true);
    expect(out.filter((l) => /[a-z]\.\.(\s|$)/.test(l))).toEqual([]);
  });

  test('--search leaves an absolute name alone', () => {
    const r = dig(model(CLUSTER), { name: 'web.', from: 'shop/client', search: true });
    expect(r.tried).toEqual(['web']);
    const walked = dig(model(CLUSTER), { name: 'web', from: 'shop/client', search: true });
    expect(walked.tried[0]).toBe('web.shop.svc.cluster.local');
  });
});
