import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DNS_HLEN,
  DnsType,
  DnsView,
  WireError,
  dissectFrame,
  dnsHeader,
  encodeDns,
  emitDns,
  frameDnsTcp,
  parseDns,
  parseDnsTcpStream,
  reverseName,
  type DnsHeader,
  type DnsMessage,
  type DnsQuestion,
  type DnsRData,
  type DnsRecord,
} from '../../src/wire/index.js';
import {
  canonicalName,
  formatQuestion,
  formatRecord,
  labelsToName,
  nameToLabels,
  parseDnsHeader,
  sameName,
} from '../../src/wire/dns.js';
import { summarizeFrame } from '../../src/trace/frame-summary.js';
import { RUNS, hex, onlyWireErrors, toHex, u16, u32, u8 } from './arb.js';
import { ip, udpFrame } from './frames.js';

// ───── arbitraries ─────

/** Labels from a small pool (so names share suffixes and compression kicks in) or random bytes. */
const label: fc.Arbitrary<Uint8Array> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .constantFrom('web', 'shop', 'svc', 'cluster', 'local', 'WeB', '_http', '_tcp', 'a', '10-244-1-7')
      .map((s) => new TextEncoder().encode(s)),
  },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 63 }) },
);

const dnsName: fc.Arbitrary<string> = fc
  .array(label, { maxLength: 6 })
  .filter((ls) => ls.reduce((n, l) => n + 1 + l.length, 1) <= 255)
  .map((ls) => labelsToName(ls));

const header: fc.Arbitrary<DnsHeader> = fc.record({
  id: u16,
  qr: fc.boolean(),
  opcode: fc.integer({ min: 0, max: 15 }),
  aa: fc.boolean(),
  tc: fc.boolean(),
  rd: fc.boolean(),
  ra: fc.boolean(),
  z: fc.boolean(),
  ad: fc.boolean(),
  cd: fc.boolean(),
  rcode: fc.integer({ min: 0, max: 15 }),
});

const question: fc.Arbitrary<DnsQuestion> = fc.record({ name: dnsName, type: u16, class: u16 });

const latin1 = fc.uint8Array({ maxLength: 40 }).map((b) => String.fromCharCode(...b));
const DECODED = new Set<number>([1, 2, 5, 6, 12, 15, 16, 28, 33]);

const rdata: fc.Arbitrary<DnsRData> = fc.oneof(
  u32.map((address) => ({ type: 'A' as const, address })),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((address) => ({ type: 'AAAA' as const, address })),
  fc.record({ type: fc.constantFrom('NS' as const, 'CNAME' as const, 'PTR' as const), target: dnsName }),
  fc.record({ type: fc.constant('MX' as const), preference: u16, exchange: dnsName }),
  fc.record({
    type: fc.constant('SOA' as const),
    mname: dnsName,
    rname: dnsName,
    serial: u32,
    refresh: u32,
    retry: u32,
    expire: u32,
    minimum: u32,
  }),
  fc.record({ type: fc.constant('SRV' as const), priority: u16, weight: u16, port: u16, target: dnsName }),
  fc.record({ type: fc.constant('TXT' as const), text: fc.array(latin1, { minLength: 1, maxLength: 3 }) }),
  fc.record({
    type: fc.constant('RAW' as const),
    code: u16.filter((c) => !DECODED.has(c)),
    bytes: fc.uint8Array({ maxLength: 40 }),
  }),
);

const record: fc.Arbitrary<DnsRecord> = fc.record({ name: dnsName, class: u16, ttl: u32, data: rdata });

const message: fc.Arbitrary<DnsMessage> = fc.record({
  header,
  questions: fc.array(question, { maxLength: 3 }),
  answers: fc.array(record, { maxLength: 4 }),
  authorities: fc.array(record, { maxLength: 3 }),
  additionals: fc.array(record, { maxLength: 3 }),
});

// ───── properties ─────

describe('dns wire format', () => {
  it('any message emitted (compressed or not) parses back to the same message', () => {
    fc.assert(
      fc.property(message, fc.boolean(), (m, compress) => {
        const bytes = encodeDns(m, { compress });
        expect(parseDns(bytes)).toEqual(m);
      }),
      RUNS,
    );
  });

  it('compression never makes a message longer, and only uses backward pointers', () => {
    fc.assert(
      fc.property(message, (m) => {
        const plain = encodeDns(m, { compress: false });
        const packed = encodeDns(m);
        expect(packed.length).toBeLessThanOrEqual(plain.length);
        // the uncompressed encoding carries no pointer bytes at label positions: it parses the same
        expect(parseDns(plain)).toEqual(parseDns(packed));
      }),
      RUNS,
    );
  });

  it('emitDns writes at an offset and the header view reads the same fields', () => {
    fc.assert(
      fc.property(message, fc.integer({ min: 0, max: 7 }), (m, off) => {
        const bytes = encodeDns(m);
        const buf = new Uint8Array(off + bytes.length);
        expect(emitDns(m, buf, off)).toBe(bytes.length);
        const v = DnsView.checked(buf, off);
        expect(parseDnsHeader(v)).toEqual(m.header);
        expect([v.qdcount, v.ancount, v.nscount, v.arcount]).toEqual([
          m.questions.length,
          m.answers.length,
          m.authorities.length,
          m.additionals.length,
        ]);
        expect(parseDns(buf, off)).toEqual(m);
        expect(() => emitDns(m, new Uint8Array(bytes.length - 1), 0)).toThrow(WireError);
      }),
      RUNS,
    );
  });

  it('TCP framing: a stream of length-prefixed messages parses back, a partial tail is left over', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 30 }), (ms, cut) => {
        const frames = ms.map((m) => frameDnsTcp(encodeDns(m)));
        const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
        let o = 0;
        for (const f of frames) {
          all.set(f, o);
          o += f.length;
        }
        expect(parseDnsTcpStream(all)).toEqual({ messages: ms, rest: 0 });
        const part = all.subarray(0, Math.max(0, all.length - cut));
        const r = parseDnsTcpStream(part);
        expect(r.messages.length).toBeLessThan(ms.length);
        expect(r.rest).toBeGreaterThanOrEqual(0);
      }),
      RUNS,
    );
  });

  it('arbitrary bytes never throw anything but WireError, and a checked view never reads past its window', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: -2, max: 310 }),
        fc.integer({ min: -2, max: 310 }),
        (bytes, off, len) => {
          onlyWireErrors(() => parseDns(bytes));
          onlyWireErrors(() => parseDns(bytes, off, len));
          onlyWireErrors(() => parseDnsTcpStream(bytes));
          onlyWireErrors(() => parseDnsHeader(DnsView.checked(bytes, off, len)));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('corrupting any byte of a valid message gives a message or a WireError, never anything else', () => {
    fc.assert(
      fc.property(
        message,
        fc.array(fc.tuple(fc.nat(), u8), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (m, edits, cut) => {
          const b = encodeDns(m);
          for (const [pos, val] of edits) b[pos % b.length] = val;
          onlyWireErrors(() => parseDns(b));
          onlyWireErrors(() => parseDns(b.subarray(0, b.length - (cut % (b.length + 1)))));
          // and the frame dissector stays quiet about it
          const f = udpFrame({ src: '10.244.0.2', dst: '10.96.0.10' }, 40000, 53, b);
          expect(typeof summarizeFrame(dissectFrame(f))).toBe('string');
        },
      ),
      RUNS,
    );
  });

  it('names: escapes round-trip, limits and bad names are WireErrors, comparison ignores case and a trailing dot', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 63 }), { maxLength: 3 }), (ls) => {
        const name = labelsToName(ls);
        expect(nameToLabels(name)).toEqual(ls);
        expect(canonicalName(`${name}.`)).toBe(name);
      }),
      RUNS,
    );
    expect(labelsToName([new TextEncoder().encode('a.b'), Uint8Array.of(0, 0x5c, 0x20)])).toBe('a\\.b.\\000\\\\\\032');
    expect(canonicalName('\\065bc.\\100')).toBe('Abc.d');
    expect(sameName('Web.Shop.', 'web.shop')).toBe(true);
    expect(sameName('web', 'web.shop')).toBe(false);
    expect(() => nameToLabels('a..b')).toThrow(WireError);
    expect(() => nameToLabels(`${'x'.repeat(64)}.com`)).toThrow(WireError);
    expect(() => nameToLabels(Array.from({ length: 128 }, () => 'a').join('.'))).toThrow(WireError);
    expect(nameToLabels(Array.from({ length: 127 }, () => 'a').join('.'))).toHaveLength(127);
    expect(() => nameToLabels('bad\\')).toThrow(WireError);
    expect(() => nameToLabels('\\256')).toThrow(WireError);
    expect(() => nameToLabels('ünïcode')).not.toThrow();
    expect(() => nameToLabels('日本')).toThrow(WireError);
    expect(reverseName(ip('10.96.0.10'))).toBe('10.0.96.10.in-addr.arpa');
  });
});

// ───── known answers ─────

describe('dns known-answer vectors', () => {
  const query = hex(`
    1234 0100 0001 0000 0000 0000
    03 776562 04 73686f70 03 737663 07 636c7573746572 05 6c6f63616c 00
    0001 0001`);

  it('encodes a glibc-style A query for web.shop.svc.cluster.local byte for byte', () => {
    const m: DnsMessage = {
      header: dnsHeader({ id: 0x1234, rd: true }),
      questions: [{ name: 'web.shop.svc.cluster.local', type: DnsType.A, class: 1 }],
      answers: [],
      authorities: [],
      additionals: [],
    };
    expect(toHex(encodeDns(m))).toBe(toHex(query));
    expect(parseDns(query)).toEqual(m);
    expect(formatQuestion(m.questions[0]!)).toBe(';web.shop.svc.cluster.local.\tIN\tA');
  });

  it('compresses the answer owner to a pointer at the question (0xc00c) and the SOA names to suffix pointers', () => {
    const m: DnsMessage = {
      header: dnsHeader({ id: 0x1234, qr: true, aa: true, rd: true, rcode: 3 }),
      questions: [{ name: 'nope.shop.svc.cluster.local', type: DnsType.A, class: 1 }],
      answers: [],
      authorities: [
        {
          name: 'cluster.local',
          class: 1,
          ttl: 30,
          data: {
            type: 'SOA',
            mname: 'ns.dns.cluster.local',
            rname: 'hostmaster.cluster.local',
            serial: 1,
            refresh: 7200,
            retry: 1800,
            expire: 86400,
            minimum: 30,
          },
        },
      ],
      additionals: [],
    };
    const b = encodeDns(m);
    // question name: nope(5) shop(5) svc(4) cluster(8) local(6) root(1) at offset 12; "cluster.local" starts at 12+14 =
    // 26 = 0x1a
    expect(toHex(b.subarray(DNS_HLEN + 29 + 4, DNS_HLEN + 29 + 6))).toBe('c01a');
    // mname = ns.dns + pointer to cluster.local; rname = hostmaster + pointer to cluster.local
    const rd = DNS_HLEN + 29 + 4 + 2 + 10;
    expect(toHex(b.subarray(rd, rd + 9))).toBe('026e7303646e73c01a');
    expect(toHex(b.subarray(rd + 9, rd + 22))).toBe('0a686f73746d6173746572c01a');
    expect(b.length).toBe(rd + 22 + 20);
    expect(formatRecord(m.authorities[0]!)).toBe(
      'cluster.local.\t\t30\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 30',
    );
    const p = parseDns(b);
    expect(p).toEqual(m);
    const uncompressed = encodeDns(m, { compress: false });
    expect(uncompressed.length).toBe(b.length + 3 * (15 - 2));
  });

  it('formats records the way dig does, long owners pushing the columns', () => {
    expect(
      formatRecord({ name: 'google.com', class: 1, ttl: 300, data: { type: 'A', address: ip('142.250.72.14') } }),
    ).toBe('google.com.\t\t300\tIN\tA\t142.250.72.14');
    expect(
      formatRecord({
        name: 'kubernetes.default.svc.cluster.local',
        class: 1,
        ttl: 30,
        data: { type: 'A', address: ip('10.96.0.1') },
      }),
    ).toBe('kubernetes.default.svc.cluster.local. 30 IN A\t10.96.0.1');
    expect(
      formatRecord({
        name: '_http._tcp.web.shop.svc.cluster.local',
        class: 1,
        ttl: 30,
        data: { type: 'SRV', priority: 0, weight: 100, port: 80, target: 'web.shop.svc.cluster.local' },
      }),
    ).toBe('_http._tcp.web.shop.svc.cluster.local. 30 IN SRV 0 100 80 web.shop.svc.cluster.local.');
    expect(
      formatRecord({ name: 'dns-version.cluster.local', class: 1, ttl: 30, data: { type: 'TXT', text: ['1.1.0'] } }),
    ).toBe('dns-version.cluster.local. 30\tIN\tTXT\t"1.1.0"');
    const v6 = new Uint8Array(16);
    v6[0] = 0x20;
    v6[1] = 0x01;
    v6[2] = 0x0d;
    v6[3] = 0xb8;
    v6[15] = 1;
    expect(formatRecord({ name: 'x', class: 1, ttl: 1, data: { type: 'AAAA', address: v6 } })).toBe(
      'x.\t\t\t1\tIN\tAAAA\t2001:db8::1',
    );
    expect(
      formatRecord({ name: 'x', class: 1, ttl: 1, data: { type: 'RAW', code: 99, bytes: Uint8Array.of(1, 0xab) } }),
    ).toBe('x.\t\t\t1\tIN\tTYPE99\t\\# 2 01AB');
  });

  it('refuses pointer loops, forward pointers, extended label types and lying lengths', () => {
    const head = '0000 0100 0001 0000 0000 0000';
    // a pointer to itself at offset 12
    expect(() => parseDns(hex(`${head} c00c 0001 0001`))).toThrow(/loops are refused/);
    // two names pointing at each other: the second (at 18) points forward to 24 which points back to 18
    expect(() => parseDns(hex(`0000 0100 0002 0000 0000 0000 01 61 c0 0e 0001 0001 c018 0001 0001`))).toThrow(
      WireError,
    );
    expect(() => parseDns(hex(`${head} 41 00 0001 0001`))).toThrow(/label type 0x40/);
    expect(() => parseDns(hex(`${head} 05 616263 00 0001 0001`))).toThrow(WireError);
    // A record whose RDLENGTH says 5
    expect(() => parseDns(hex(`0000 8100 0000 0001 0000 0000 00 0001 0001 0000001e 0005 0a600001 00`))).toThrow(
      /A rdata is 5 bytes/,
    );
    // CNAME whose name is shorter than RDLENGTH
    expect(() => parseDns(hex(`0000 8100 0000 0001 0000 0000 00 0005 0001 0000001e 0004 01 61 00 00`))).toThrow(
      /CNAME rdata is 4 bytes/,
    );
    // a counted record that is not there
    expect(() => parseDns(hex(`0000 8100 0000 0002 0000 0000 00 0001 0001 0000001e 0004 0a600001`))).toThrow(
      /answer record 2 of 2/,
    );
    // a name longer than 255 bytes built from pointers to repeated labels
    const labels = Array.from({ length: 64 }, () => '03 616161').join(' ');
    expect(() => parseDns(hex(`${head} ${labels} 00 0001 0001`))).toThrow(/longer than 255/);
  });

  it('dissects DNS over UDP in summaries and JSON; a non-DNS payload on port 53 stays plain UDP', () => {
    const q = udpFrame({ src: '10.244.0.2', dst: '10.96.0.10' }, 41000, 53, query);
    expect(summarizeFrame(dissectFrame(q))).toBe(
      '10.244.0.2.41000 > 10.96.0.10.53: DNS query A web.shop.svc.cluster.local, id 4660, ttl 64',
    );
    const resp: DnsMessage = {
      header: dnsHeader({ id: 0x1234, qr: true, aa: true, rd: true }),
      questions: [{ name: 'web.shop.svc.cluster.local', type: 1, class: 1 }],
      answers: [
        { name: 'web.shop.svc.cluster.local', class: 1, ttl: 30, data: { type: 'A', address: ip('10.96.0.100') } },
      ],
      authorities: [],
      additionals: [],
    };
    const r = udpFrame({ src: '10.96.0.10', dst: '10.244.0.2' }, 53, 41000, encodeDns(resp, { compress: false }));
    const d = dissectFrame(r);
    expect(summarizeFrame(d)).toBe(
      '10.96.0.10.53 > 10.244.0.2.41000: DNS response NOERROR A web.shop.svc.cluster.local: A 10.96.0.100, id 4660, ttl 64',
    );
    expect(d.dns).toEqual({
      id: 4660,
      qr: true,
      opcode: 0,
      flags: 'qr aa rd',
      rcode: 'NOERROR',
      questions: [{ name: 'web.shop.svc.cluster.local.', type: 'A', class: 'IN' }],
      answers: ['web.shop.svc.cluster.local. 30 IN A 10.96.0.100'],
      authority: [],
      additional: [],
    });
    const nx = udpFrame(
      { src: '10.96.0.10', dst: '10.244.0.2' },
      53,
      41000,
      encodeDns({ ...resp, header: { ...resp.header, rcode: 3 }, answers: [] }),
    );
    expect(summarizeFrame(dissectFrame(nx))).toBe(
      '10.96.0.10.53 > 10.244.0.2.41000: DNS response NXDOMAIN A web.shop.svc.cluster.local (no answer), id 4660, ttl 64',
    );
    expect(
      summarizeFrame(
        dissectFrame(
          udpFrame({ src: '10.244.0.2', dst: '10.96.0.10' }, 41000, 53, new TextEncoder().encode('probe\n')),
        ),
      ),
    ).toBe('10.244.0.2.41000 > 10.96.0.10.53: UDP, length 6, ttl 64');
  });
});
