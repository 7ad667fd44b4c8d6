/**
 * `podnet dig` as users run it, against topologies/dns.yaml: dig's output for each Service type, --search, --json, exit
 * codes.
 */
import { describe, expect, test } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { candidates } from '../../src/api/dig.js';

const CLI = join(process.cwd(), 'dist', 'cli', 'podnet.mjs');
const TOPO = join('topologies', 'dns.yaml');

function dig(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'dig', ...args, TOPO], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The section after `;; <title> SECTION:` up to the blank line, whitespace squeezed. */
function section(out: string, title: string): string[] {
  const lines = out.split('\n');
  const i = lines.indexOf(`;; ${title} SECTION:`);
  if (i < 0) return [];
  const rest = lines.slice(i + 1);
  const end = rest.indexOf('');
  return rest.slice(0, end < 0 ? undefined : end).map((l) => l.replace(/\s+/g, ' '));
}

test('dig +search order: search list first below ndots, the name first at or above it, a trailing dot alone', () => {
  const s = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];
  expect(candidates('web.shop', s, 5)).toEqual([
    'web.shop.default.svc.cluster.local',
    'web.shop.svc.cluster.local',
    'web.shop.cluster.local',
    'web.shop',
  ]);
  expect(candidates('a.b.c.d.e.f', s, 5)[0]).toBe('a.b.c.d.e.f');
  expect(candidates('a.b.c.d.e', s, 5)[0]).toBe('a.b.c.d.e.default.svc.cluster.local');
  expect(candidates('web.', s, 5)).toEqual(['web']);
});

describe.skipIf(!existsSync(CLI))('podnet dig', () => {
  test("a ClusterIP Service: dig's header, flags, sections and server line", () => {
    const r = dig(['web.shop.svc.cluster.local', '--from', 'client']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^; <<>> podnet dig <<>> web\.shop\.svc\.cluster\.local \(from client\)\n;; global options: \+cmd\n;; Got answer:\n/,
    );
    expect(r.stdout).toMatch(
      /;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: \d+\n;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1\n;; WARNING: recursion requested but not available\n/,
    );
    expect(r.stdout).toContain(';; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: 1232\n');
    expect(r.stdout).toContain(';; QUESTION SECTION:\n;web.shop.svc.cluster.local.\tIN\tA\n');
    expect(r.stdout).toContain(';; ANSWER SECTION:\nweb.shop.svc.cluster.local. 30\tIN\tA\t10.96.100.10\n');
    expect(r.stdout).toContain(';; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)\n');
    expect(r.stdout).toMatch(/;; ANSWERED BY: kube-system\/coredns-[01]/);
    expect(r.stdout).toMatch(/;; MSG SIZE {2}rcvd: \d+\n/);
  });

  test('NXDOMAIN and NODATA show the SOA in the authority section', () => {
    const nx = dig(['nope.shop.svc.cluster.local', '--from', 'client']);
    expect(nx.code).toBe(0);
    expect(nx.stdout).toContain('status: NXDOMAIN');
    expect(section(nx.stdout, 'AUTHORITY')).toEqual([
      'cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 0 7200 1800 86400 30',
    ]);
    const nodata = dig(['web.shop.svc.cluster.local', '--type', 'AAAA', '--from', 'client']);
    expect(nodata.stdout).toContain('status: NOERROR');
    expect(nodata.stdout).toContain('ANSWER: 0, AUTHORITY: 1');
  });

  test('each Service type: headless (one A per pod), StatefulSet pod name, ExternalName CNAME, SRV, PTR, TXT', () => {
    const headless = section(dig(['nginx.default.svc.cluster.local', '--from', 'client']).stdout, 'ANSWER');
    expect(headless).toHaveLength(2);
    for (const l of headless) expect(l).toMatch(/^nginx\.default\.svc\.cluster\.local\. 30 IN A 10\.244\.[01]\.\d+$/);
    const web0 = section(dig(['web-0.nginx.default.svc.cluster.local', '--from', 'client']).stdout, 'ANSWER');
    expect(web0).toHaveLength(1);
    const web0ip = web0[0]!.split(' ').pop()!;
    expect(headless.map((l) => l.split(' ').pop())).toContain(web0ip);
    expect(section(dig(['db.shop.svc.cluster.local', '--from', 'client']).stdout, 'ANSWER')).toEqual([
      'db.shop.svc.cluster.local. 30 IN CNAME my.database.example.com.',
      'my.database.example.com. 30 IN A 172.18.0.50',
    ]);
    const srv = dig(['_web._tcp.nginx.default.svc.cluster.local', '--type', 'SRV', '--from', 'client']).stdout;
    expect(section(srv, 'ANSWER').sort()).toEqual([
      '_web._tcp.nginx.default.svc.cluster.local. 30 IN SRV 0 50 80 web-0.nginx.default.svc.cluster.local.',
      '_web._tcp.nginx.default.svc.cluster.local. 30 IN SRV 0 50 80 web-1.nginx.default.svc.cluster.local.',
    ]);
    expect(section(srv, 'ADDITIONAL').sort()[0]).toBe(`web-0.nginx.default.svc.cluster.local. 30 IN A ${web0ip}`);
    expect(section(srv, 'ADDITIONAL')).toHaveLength(2);
    expect(
      section(dig(['_http._tcp.web.shop.svc.cluster.local', '--type', 'SRV', '--from', 'client']).stdout, 'ANSWER'),
    ).toEqual(['_http._tcp.web.shop.svc.cluster.local. 30 IN SRV 0 100 80 web.shop.svc.cluster.local.']);
    const ptr = dig(['10.96.100.10', '--type', 'PTR', '--from', 'client']).stdout;
    expect(section(ptr, 'QUESTION')).toEqual([';10.100.96.10.in-addr.arpa. IN PTR']);
    expect(section(ptr, 'ANSWER')).toEqual(['10.100.96.10.in-addr.arpa. 30 IN PTR web.shop.svc.cluster.local.']);
    expect(section(dig(['dns-version.cluster.local', '--type', 'TXT', '--from', 'client']).stdout, 'ANSWER')).toEqual([
      'dns-version.cluster.local. 30 IN TXT "1.1.0"',
    ]);
  });

  test("--search walks the pod's search list; an outside name is forwarded (RA set, not authoritative)", () => {
    const r = dig(['web', '--search', '--from', 'shop/frontend']);
    expect(section(r.stdout, 'ANSWER')).toEqual(['web.shop.svc.cluster.local. 30 IN A 10.96.100.10']);
    const ext = dig(['example.com', '--from', 'client']);
    expect(ext.stdout).toContain(';; flags: qr rd ra;');
    expect(section(ext.stdout, 'ANSWER')).toEqual(['example.com. 30 IN A 93.184.215.14']);
    const gw = dig(['example.com', '--from', 'client', '--server', '172.18.0.1']);
    expect(section(gw.stdout, 'ANSWER')).toEqual(['example.com. 300 IN A 93.184.215.14']);
    expect(gw.stdout).toContain(';; SERVER: 172.18.0.1#53(172.18.0.1) (UDP)');
  });

  test('a name with its trailing dot: the same question, the CoreDNS pod that answered, no double dot anywhere', () => {
    const r = dig(['web.shop.svc.cluster.local.', '--from', 'client', '--trace']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^; <<>> podnet dig <<>> web\.shop\.svc\.cluster\.local\. \(from client\)$/m);
    expect(r.stdout).toContain(';; QUESTION SECTION:\n;web.shop.svc.cluster.local.\tIN\tA\n');
    expect(r.stdout).toMatch(/;; ANSWERED BY: kube-system\/coredns-[01] \(podnet: the pod behind 10\.96\.0\.10\)\n/);
    expect(r.stdout).not.toContain(';; (asked');
    expect(r.stdout).toContain('dig: query A web.shop.svc.cluster.local. → 10.96.0.10:53 udp');
    expect(r.stdout).not.toMatch(/[a-z]\.\.(\s|$)/m);
    const t = spawnSync(
      process.execPath,
      [CLI, 'trace', TOPO, '--from', 'client', '--to', 'web.shop.svc.cluster.local.:80'],
      {
        encoding: 'utf8',
      },
    );
    expect(t.status).toBe(0);
    expect(t.stdout).toContain('resolved "web.shop.svc.cluster.local." → 10.96.100.10');
    expect(t.stdout).not.toMatch(/[a-z]\.\.(\s|$)/m);
  }, 60_000);

  test('--tcp, --json, no reply (exit 1) and bad input (exit 2)', () => {
    expect(dig(['web.shop.svc.cluster.local', '--from', 'client', '--tcp']).stdout).toContain('(TCP)');
    const j = JSON.parse(dig(['web.other', '--search', '--from', 'client', '--json']).stdout) as {
      schema: string;
      tried: string[];
      response: { status: string; answer: string[] };
      queries: unknown[];
    };
    expect(j.schema).toBe('podnet.dig/v1');
    expect(j.tried).toEqual(['web.other.default.svc.cluster.local', 'web.other.svc.cluster.local']);
    expect(j.response.status).toBe('NOERROR');
    expect(j.response.answer).toEqual(['web.other.svc.cluster.local. 30 IN A 10.96.100.20']);
    expect(j.queries).toHaveLength(2);
    const none = dig(['web.shop.svc.cluster.local', '--from', 'client', '--server', '10.96.0.99']);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain(';; no servers could be reached');
    expect(dig(['x', '--from', 'nobody']).code).toBe(2);
    expect(dig(['x', '--type', 'BOGUS', '--from', 'client']).code).toBe(2);
  }, 60_000);
});

describe.skipIf(!existsSync(CLI))('podnet trace with a name', () => {
  test('shows the queries, the DNAT to a CoreDNS pod and the answers, then the connection; JSON records the resolution', () => {
    const r = spawnSync(process.execPath, [CLI, 'trace', TOPO, '--from', 'client', '--to', 'web.shop:80'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const out = r.stdout;
    const at = (re: RegExp): number => out.split('\n').findIndex((l) => re.test(l));
    const q = at(/tx 10\.244\.0\.\d+\.\d+ > 10\.96\.0\.10\.53: DNS query A web\.shop\.default\.svc\.cluster\.local/);
    const dnat = at(/kube-system\/kube-dns:dns.*DNAT --to-destination 10\.244\.\d+\.\d+:53/);
    const nx = at(
      /tx 10\.96\.0\.10\.53 > 10\.244\.0\.\d+\.\d+: DNS response NXDOMAIN A web\.shop\.default\.svc\.cluster\.local/,
    );
    const ok = at(/DNS response NOERROR A web\.shop\.svc\.cluster\.local: A 10\.96\.100\.10/);
    const syn = at(/tx 10\.244\.0\.\d+\.\d+ > 10\.96\.100\.10\.80: Flags \[S\]/);
    expect([q, dnat, nx, ok, syn].every((i) => i >= 0)).toBe(true);
    expect(q).toBeLessThan(dnat);
    expect(dnat).toBeLessThan(nx);
    expect(nx).toBeLessThan(ok);
    expect(ok).toBeLessThan(syn);
    expect(out).toContain('resolved "web.shop" → 10.96.100.10 (4 queries');
    expect(out).toMatch(/tcp client → web\.shop:80 \(10\.96\.100\.10\): 1\/1 answered, 0 lost/);
    const j = JSON.parse(
      spawnSync(process.execPath, [CLI, 'trace', TOPO, '--from', 'client', '--to', 'web.shop:80', '--json'], {
        encoding: 'utf8',
      }).stdout,
    ) as {
      result: { dst: string; attempts: Array<{ resolved: { name: string; address: string; tried: string[] } }> };
      events: Array<{ frame?: { dns?: { questions: Array<{ name: string }> } } }>;
    };
    expect(j.result.dst).toBe('10.96.100.10');
    expect(j.result.attempts[0]!.resolved).toMatchObject({
      name: 'web.shop',
      address: '10.96.100.10',
      tried: ['web.shop.default.svc.cluster.local', 'web.shop.svc.cluster.local'],
    });
    expect(j.events.some((e) => e.frame?.dns?.questions[0]?.name === 'web.shop.svc.cluster.local.')).toBe(true);
    const bad = spawnSync(process.execPath, [CLI, 'trace', TOPO, '--from', 'client', '--to', 'nope:80'], {
      encoding: 'utf8',
    });
    // nothing answered (the name did not resolve): exit 1, as curl and ping
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('could not resolve "nope": Name or service not known');
    expect(bad.stdout).toContain('tcp client → nope:80 (not resolved): 0/1 answered');
  }, 60_000);
});
