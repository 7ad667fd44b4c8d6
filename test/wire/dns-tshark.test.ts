/** tshark reads podnet's DNS messages as podnet meant them: every record type, compressed or not, over UDP and TCP. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dnsHeader, encodeDns, frameDnsTcp, type DnsMessage, type DnsRecord } from '../../src/wire/index.js';
import { labelsToName } from '../../src/wire/dns.js';
import { missingTools } from '../tools.js';
import { ip, tcpFrame, udpFrame } from './frames.js';

const skip = missingTools('tshark');
if (skip) console.log(`dns tshark tests skipped: ${skip}`);

/** A classic pcap (linktype Ethernet) of `frames`. */
function pcap(frames: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(24 + frames.reduce((n, f) => n + 16 + f.length, 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 1, true);
  let off = 24;
  frames.forEach((f, i) => {
    dv.setUint32(off, 1_700_000_000 + i, true);
    dv.setUint32(off + 8, f.length, true);
    dv.setUint32(off + 12, f.length, true);
    out.set(f, off + 16);
    off += 16 + f.length;
  });
  return out;
}

function tshark(frames: readonly Uint8Array[], fields: readonly string[]): Array<Record<string, string>> {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-dns-'));
  try {
    const file = join(dir, 'dns.pcap');
    writeFileSync(file, pcap(frames));
    const out = execFileSync(
      'tshark',
      [
        '-r',
        file,
        '-o',
        'udp.check_checksum:TRUE',
        '-o',
        'tcp.check_checksum:TRUE',
        '-o',
        'tcp.analyze_sequence_numbers:FALSE',
        '-T',
        'fields',
        '-E',
        'occurrence=a',
        '-E',
        'aggregator=;',
        ...fields.flatMap((f) => ['-e', f]),
      ],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return out
      .trimEnd()
      .split('\n')
      .map((line) => Object.fromEntries(line.split('\t').map((v, i) => [fields[i]!, v])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rr = (name: string, data: DnsRecord['data'], ttl = 30): DnsRecord => ({ name, class: 1, ttl, data });
const msg = (
  id: number,
  qname: string,
  qtype: number,
  answers: DnsRecord[],
  extra: Partial<DnsMessage> = {},
): DnsMessage => ({
  header: dnsHeader({ id, qr: answers.length > 0 || extra.authorities !== undefined, aa: true, rd: true }),
  questions: [{ name: qname, type: qtype, class: 1 }],
  answers,
  authorities: [],
  additionals: [],
  ...extra,
});

const ENDS = { src: '10.244.0.2', dst: '10.244.0.3' };

describe.skipIf(skip !== undefined)('tshark and podnet agree on DNS', () => {
  it('decodes every record type podnet writes, compressed and not, with no malformed packet', () => {
    const v6 = new Uint8Array(16);
    v6[0] = 0xfd;
    v6[15] = 7;
    const soa = rr('cluster.local', {
      type: 'SOA',
      mname: 'ns.dns.cluster.local',
      rname: 'hostmaster.cluster.local',
      serial: 1,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: 30,
    });
    const messages: DnsMessage[] = [
      msg(1, 'web.shop.svc.cluster.local', 1, []),
      msg(2, 'web.shop.svc.cluster.local', 1, [
        rr('web.shop.svc.cluster.local', { type: 'A', address: ip('10.96.100.10') }),
      ]),
      msg(3, 'db.shop.svc.cluster.local', 1, [
        rr('db.shop.svc.cluster.local', { type: 'CNAME', target: 'my.database.example.com' }),
        rr('my.database.example.com', { type: 'A', address: ip('203.0.113.7') }),
      ]),
      msg(
        4,
        '_web._tcp.nginx.default.svc.cluster.local',
        33,
        [
          rr('_web._tcp.nginx.default.svc.cluster.local', {
            type: 'SRV',
            priority: 0,
            weight: 50,
            port: 80,
            target: 'web-0.nginx.default.svc.cluster.local',
          }),
        ],
        {
          additionals: [rr('web-0.nginx.default.svc.cluster.local', { type: 'A', address: ip('10.244.0.5') })],
        },
      ),
      msg(5, '10.100.96.10.in-addr.arpa', 12, [
        rr('10.100.96.10.in-addr.arpa', { type: 'PTR', target: 'web.shop.svc.cluster.local' }),
      ]),
      msg(6, 'nope.shop.svc.cluster.local', 1, [], { authorities: [soa] }),
      msg(7, 'dns-version.cluster.local', 16, [rr('dns-version.cluster.local', { type: 'TXT', text: ['1.1.0'] })]),
      msg(8, 'cluster.local', 2, [
        rr('cluster.local', { type: 'NS', target: 'kube-dns.kube-system.svc.cluster.local' }),
      ]),
      msg(9, 'web.shop.svc.cluster.local', 28, [rr('web.shop.svc.cluster.local', { type: 'AAAA', address: v6 })]),
      msg(10, 'example.com', 15, [rr('example.com', { type: 'MX', preference: 10, exchange: 'mail.example.com' })]),
    ];
    messages[5]!.header.rcode = 3;
    const frames: Uint8Array[] = [];
    for (const compress of [false, true])
      for (const m of messages) frames.push(udpFrame(ENDS, 53, 41000, encodeDns(m, { compress })));
    const fields = [
      '_ws.malformed',
      '_ws.expert.message',
      'dns.id',
      'dns.qry.name',
      'dns.a',
      'dns.aaaa',
      'dns.cname',
      'dns.srv.weight',
      'dns.srv.port',
      'dns.srv.target',
      'dns.ptr.domain_name',
      'dns.soa.mname',
      'dns.soa.rname',
      'dns.soa.minimum_ttl',
      'dns.txt',
      'dns.ns',
      'dns.mx.mail_exchange',
      'dns.flags.rcode',
      'dns.resp.ttl',
    ];
    const rows = tshark(frames, fields);
    expect(rows).toHaveLength(frames.length);
    for (const r of rows) {
      expect(r['_ws.malformed'], JSON.stringify(r)).toBe('');
      expect(r['_ws.expert.message'] ?? '', JSON.stringify(r)).not.toMatch(/malformed|invalid|bogus/i);
    }
    for (const off of [0, messages.length]) {
      const g = (i: number, f: string): string => rows[off + i]![f] ?? '';
      expect(g(1, 'dns.a')).toBe('10.96.100.10');
      expect(g(2, 'dns.cname')).toBe('my.database.example.com');
      expect(g(2, 'dns.a')).toBe('203.0.113.7');
      expect([g(3, 'dns.srv.weight'), g(3, 'dns.srv.port'), g(3, 'dns.srv.target'), g(3, 'dns.a')]).toEqual([
        '50',
        '80',
        'web-0.nginx.default.svc.cluster.local',
        '10.244.0.5',
      ]);
      expect(g(4, 'dns.ptr.domain_name')).toBe('web.shop.svc.cluster.local');
      expect([
        g(5, 'dns.flags.rcode'),
        g(5, 'dns.soa.mname'),
        g(5, 'dns.soa.rname'),
        g(5, 'dns.soa.minimum_ttl'),
      ]).toEqual(['3', 'ns.dns.cluster.local', 'hostmaster.cluster.local', '30']);
      expect(g(6, 'dns.txt')).toBe('1.1.0');
      expect(g(7, 'dns.ns')).toBe('kube-dns.kube-system.svc.cluster.local');
      expect(g(8, 'dns.aaaa')).toBe('fd00::7');
      expect(g(9, 'dns.mx.mail_exchange')).toBe('mail.example.com');
    }
  });

  it('decodes two length-prefixed queries in one TCP segment (glibc over TCP)', () => {
    const a = frameDnsTcp(encodeDns(msg(11, 'big.default.svc.cluster.local', 1, [])));
    const b = frameDnsTcp(encodeDns(msg(12, 'big.default.svc.cluster.local', 28, [])));
    const both = new Uint8Array(a.length + b.length);
    both.set(a);
    both.set(b, a.length);
    const f = tcpFrame(
      { src: '10.244.0.3', dst: '10.96.0.10' },
      { srcPort: 41000, dstPort: 53, seq: 1, ack: 1, flags: 0x18, window: 64, urgent: 0, options: [] },
      both,
    );
    const [row] = tshark([f], ['_ws.malformed', 'dns.id', 'dns.qry.name']);
    expect(row!['_ws.malformed']).toBe('');
    expect(row!['dns.id']).toBe('0x000b;0x000c');
  });

  it('decodes arbitrary messages podnet encodes without calling them malformed', () => {
    const label = fc
      .constantFrom('web', 'shop', 'svc', 'cluster', 'local', 'a-b', '_tcp')
      .map((s) => new TextEncoder().encode(s));
    const name = fc.array(label, { minLength: 1, maxLength: 5 }).map(labelsToName);
    const data = fc.oneof(
      fc.integer({ min: 0, max: 0xffff_ffff }).map((address) => ({ type: 'A' as const, address })),
      name.map((target) => ({ type: 'CNAME' as const, target })),
      name.map((target) => ({ type: 'PTR' as const, target })),
      fc.record({
        type: fc.constant('SRV' as const),
        priority: fc.nat(0xffff),
        weight: fc.nat(0xffff),
        port: fc.nat(0xffff),
        target: name,
      }),
      fc
        .array(fc.stringMatching(/^[ -~]{0,20}$/), { minLength: 1, maxLength: 3 })
        .map((text) => ({ type: 'TXT' as const, text })),
    );
    const message = fc.record({
      id: fc.nat(0xffff),
      q: name,
      answers: fc.array(fc.record({ name, ttl: fc.nat(86400), data }), { maxLength: 5 }),
      compress: fc.boolean(),
    });
    const samples = fc.sample(message, { numRuns: 60, seed: 42 });
    const frames = samples.map((s) =>
      udpFrame(
        ENDS,
        53,
        41000,
        encodeDns(
          msg(
            s.id,
            s.q,
            1,
            s.answers.map((a) => ({ name: a.name, class: 1, ttl: a.ttl, data: a.data })),
          ),
          { compress: s.compress },
        ),
      ),
    );
    const rows = tshark(frames, ['_ws.malformed', 'dns.count.answers', 'dns.qry.name']);
    rows.forEach((r, i) => {
      expect(r['_ws.malformed'], JSON.stringify(samples[i])).toBe('');
      expect(r['dns.count.answers']).toBe(String(samples[i]!.answers.length));
      expect(r['dns.qry.name']).toBe(samples[i]!.q);
    });
  });
});
