import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ETHERTYPE_IPV6,
  ETH_HLEN,
  IPPROTO_UDP,
  Ipv4View,
  TcpView,
  dissectFrame,
  emitEthernet,
  emitIpv4Header,
  isMalformed,
  type FrameDissection,
} from '../../src/wire/index.js';
import { summarizeFrame } from '../../src/trace/frame-summary.js';
import {
  arpReply,
  arpRequest,
  echoRequest,
  icmpFrame,
  ip,
  linuxSyn,
  tcpFrame,
  udpFrame,
  vxlanFrame,
} from './frames.js';

const pods = { src: '10.244.1.3', dst: '10.244.2.2' };
const nodes = { src: '172.18.0.2', dst: '172.18.0.3' };
const IP_OFF = ETH_HLEN;
const L4_OFF = ETH_HLEN + 20;

function summary(f: Uint8Array): string {
  return summarizeFrame(dissectFrame(f));
}

/** The first 28 bytes of an IPv4 packet, as an ICMP error quotes it. */
function quoteOf(frame: Uint8Array): Uint8Array {
  return frame.slice(IP_OFF, IP_OFF + 28);
}

describe('frame summaries read like tcpdump', () => {
  it('ARP request and reply', () => {
    expect(summary(arpRequest('10.244.1.3', '10.244.1.1'))).toBe('ARP, Request who-has 10.244.1.1 tell 10.244.1.3');
    expect(summary(arpReply('10.244.1.1', '10.244.1.3'))).toBe('ARP, Reply 10.244.1.1 is-at 0a:58:0a:f4:01:01');
  });

  it('ICMP echo request', () => {
    expect(summary(echoRequest(pods))).toBe(
      '10.244.1.3 > 10.244.2.2: ICMP echo request, id 1, seq 1, ttl 64, length 64',
    );
  });

  it("TCP SYN with Linux's options", () => {
    expect(summary(linuxSyn({ src: '10.244.1.3', dst: '10.96.0.100' }))).toBe(
      '10.244.1.3.40001 > 10.96.0.100.80: Flags [S], seq 12345, win 64860, options [mss 1410,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0, ttl 64',
    );
  });

  it('TCP data segment with ACK shows a sequence range and the ack number', () => {
    const f = tcpFrame(
      pods,
      { srcPort: 80, dstPort: 40001, seq: 0xffff_fffe, ack: 12346, flags: 0x18, window: 509, urgent: 0, options: [] },
      new Uint8Array(4),
    );
    expect(summary(f)).toBe(
      '10.244.1.3.80 > 10.244.2.2.40001: Flags [P.], seq 4294967294:2, ack 12346, win 509, length 4, ttl 64',
    );
  });

  it('ICMP fragmentation needed', () => {
    const quoted = echoRequest({ src: '10.244.1.3', dst: '10.244.2.2' }, 1, 1, 1472);
    const f = icmpFrame(pods, { kind: 'dest-unreachable', code: 4, nextHopMtu: 1450, quote: quoteOf(quoted) });
    expect(summary(f)).toBe('10.244.1.3 > 10.244.2.2: ICMP 10.244.2.2 unreachable - need to frag (mtu 1450)');
  });

  it('ICMP port unreachable and time exceeded name what they quote', () => {
    const dns = udpFrame({ src: '10.244.1.3', dst: '10.96.0.10' }, 40001, 53, new Uint8Array(30));
    const f = icmpFrame(
      { src: '10.96.0.10', dst: '10.244.1.3' },
      { kind: 'dest-unreachable', code: 3, nextHopMtu: 0, quote: quoteOf(dns) },
    );
    expect(summary(f)).toBe('10.96.0.10 > 10.244.1.3: ICMP 10.96.0.10 udp port 53 unreachable');
    const d = dissectFrame(f);
    expect(d.icmp).toEqual({
      type: 3,
      code: 3,
      len: 36,
      checksumOk: true,
      quote: { src: '10.244.1.3', dst: '10.96.0.10', proto: IPPROTO_UDP, sport: 40001, dport: 53 },
    });
    const te = icmpFrame(
      { src: '10.244.1.1', dst: '10.244.1.3' },
      { kind: 'time-exceeded', code: 0, quote: quoteOf(linuxSyn(pods)) },
    );
    expect(summary(te)).toBe('10.244.1.1 > 10.244.1.3: ICMP time exceeded in-transit');
    expect(dissectFrame(te).icmp).toMatchObject({ quote: { proto: 6, sport: 40001, dport: 80, seq: 12345 } });
    const echoQuote = icmpFrame(
      { src: '10.244.1.1', dst: '10.244.1.3' },
      { kind: 'time-exceeded', code: 0, quote: quoteOf(echoRequest(pods, 7, 9)) },
    );
    expect(dissectFrame(echoQuote).icmp).toMatchObject({ quote: { proto: 1, id: 7, seq: 9 } });
  });

  it('VXLAN names the outer UDP ports and summarises the inner frame', () => {
    const f = vxlanFrame(nodes, echoRequest(pods));
    expect(summary(f)).toBe(
      '172.18.0.2.40548 > 172.18.0.3.8472: VXLAN, vni 1: 10.244.1.3 > 10.244.2.2: ICMP echo request, id 1, seq 1, ttl 64, length 64',
    );
  });

  it('plain UDP and unknown ethertypes', () => {
    expect(summary(udpFrame(pods, 40001, 53, new Uint8Array(30)))).toBe(
      '10.244.1.3.40001 > 10.244.2.2.53: UDP, length 30, ttl 64',
    );
    const f = new Uint8Array(ETH_HLEN + 40);
    emitEthernet({ dst: 1, src: 2, ethertype: ETHERTYPE_IPV6 }, f, 0);
    expect(summary(f)).toBe('ethertype IPv6 (0x86dd), length 54');
    expect(dissectFrame(f).payloadLen).toBe(40);
  });
});

describe('frame dissection', () => {
  it('decodes every layer of a VXLAN-encapsulated TCP SYN into JSON-stable data', () => {
    const d = dissectFrame(vxlanFrame(nodes, linuxSyn({ src: '10.244.1.3', dst: '10.96.0.100' })));
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
    expect(d.eth).toEqual({ src: '02:42:ac:12:00:02', dst: '02:42:ac:12:00:03', type: 0x0800 });
    expect(d.ip).toMatchObject({
      src: '172.18.0.2',
      dst: '172.18.0.3',
      proto: 17,
      ttl: 64,
      df: false,
      checksumOk: true,
    });
    expect(d.udp).toEqual({ sport: 40548, dport: 8472, len: 8 + 8 + 14 + 20 + 40, checksumOk: true });
    expect(d.vxlan).toEqual({ vni: 1, flags: 0x08 });
    expect(d.inner?.tcp).toEqual({
      sport: 40001,
      dport: 80,
      seq: 12345,
      ack: 0,
      flags: 'S',
      window: 64860,
      len: 0,
      options: ['mss 1410', 'sackOK', 'TS val 1 ecr 0', 'nop', 'wscale 7'],
      checksumOk: true,
    });
    expect(d.malformed).toBeUndefined();
    expect(d.inner?.malformed).toBeUndefined();
  });

  it('decodes ARP fields as strings', () => {
    expect(dissectFrame(arpRequest('10.244.1.3', '10.244.1.1')).arp).toEqual({
      op: 'request',
      senderMac: '0a:58:0a:f4:01:03',
      senderIp: '10.244.1.3',
      targetMac: '00:00:00:00:00:00',
      targetIp: '10.244.1.1',
    });
    const odd = arpRequest('10.244.1.3', '10.244.1.1');
    odd[ETH_HLEN + 7] = 9;
    expect(dissectFrame(odd).arp).toMatchObject({ op: 9 });
  });

  it('honours the configured VXLAN ports', () => {
    const f = vxlanFrame(nodes, echoRequest(pods), 42, 1234, 4789);
    expect(dissectFrame(f).vxlan).toEqual({ vni: 42, flags: 8 });
    const none = dissectFrame(f, { vxlanPorts: [] });
    expect(none.vxlan).toBeUndefined();
    expect(none.inner).toBeUndefined();
    expect(none.payloadLen).toBe(8 + 98);
  });

  it('treats a zero UDP checksum as absent and flags corrupted checksums', () => {
    expect(dissectFrame(udpFrame(pods, 1, 2, new Uint8Array(3), false)).udp).toMatchObject({ checksumOk: true });
    const f = linuxSyn(pods);
    f[L4_OFF + 14] = 0xfc; // window 64860 -> 64604, checksum left stale
    const d = dissectFrame(f);
    expect(d.tcp).toMatchObject({ checksumOk: false });
    expect(summarizeFrame(d)).toMatch(/\[bad tcp cksum\]$/);
    f[IP_OFF + 8] = 1; // TTL without checksum update
    expect(dissectFrame(f).ip).toMatchObject({ checksumOk: false, ttl: 1 });
    expect(summary(f)).toMatch(/\[bad ip cksum\]$/);
  });

  it('decodes a first fragment above IP but cannot verify its L4 checksum, and leaves later fragments alone', () => {
    const first = echoRequest({ ...pods, mf: true, df: false, ident: 77 }, 1, 1, 1472);
    const d1 = dissectFrame(first);
    expect(d1.icmp).toMatchObject({ type: 8, id: 1, seq: 1, checksumOk: false });
    expect(summarizeFrame(d1)).toBe(
      '10.244.1.3 > 10.244.2.2: ICMP echo request, id 1, seq 1, ttl 64, length 1480 (frag 77:1480@0+)',
    );
    const later = udpFrame({ ...pods, mf: false, df: false, ident: 77, fragOffset: 1480 }, 1, 2, new Uint8Array(100));
    const d2 = dissectFrame(later);
    expect(d2.udp).toBeUndefined();
    expect(d2.payloadLen).toBe(108);
    expect(summarizeFrame(d2)).toBe('10.244.1.3 > 10.244.2.2: UDP (frag 77:108@1480), ttl 64');
    const firstUdp = udpFrame({ ...pods, mf: true, df: false, ident: 5 }, 53, 8472, new Uint8Array(40));
    // Pretend the datagram is longer than this fragment, as it would be.
    firstUdp[L4_OFF + 5] = 200;
    const d3 = dissectFrame(firstUdp);
    expect(d3.udp).toEqual({ sport: 53, dport: 8472, len: 200, checksumOk: false });
    expect(d3.vxlan).toBeUndefined();
  });

  it('marks each malformed layer and keeps the layers above it decoded', () => {
    const short = dissectFrame(new Uint8Array(10));
    expect(isMalformed(short.eth)).toBe(true);
    expect(short.malformed).toMatch(/ethernet/);
    expect(summarizeFrame(short)).toMatch(/^\[malformed: ethernet/);

    const arp = arpRequest('10.244.1.3', '10.244.1.1');
    arp[ETH_HLEN + 1] = 6;
    const da = dissectFrame(arp);
    expect(da.arp).toEqual({ malformed: expect.stringMatching(/^arp: /) });
    expect(da.malformed).toBe((da.arp as { malformed: string }).malformed);

    const ipTrunc = echoRequest(pods).subarray(0, 60);
    const di = dissectFrame(ipTrunc);
    expect(di.eth).toMatchObject({ type: 0x0800 });
    expect(di.ip).toEqual({ malformed: expect.stringMatching(/total length 84 exceeds 46/) });
    expect(summarizeFrame(di)).toMatch(/^IP \[malformed: /);

    const tcp = linuxSyn(pods);
    tcp[L4_OFF + 12] = 0x40;
    const dt = dissectFrame(tcp);
    expect(dt.ip).toMatchObject({ src: '10.244.1.3' });
    expect(dt.tcp).toEqual({ malformed: expect.stringMatching(/^tcp: /) });
    expect(summarizeFrame(dt)).toMatch(/^10\.244\.1\.3 > 10\.244\.2\.2: TCP \[malformed: /);

    const badOpt = linuxSyn(pods);
    badOpt[L4_OFF + 27] = 0x40; // timestamps option length
    new TcpView(badOpt, L4_OFF).fillChecksum(ip(pods.src), ip(pods.dst), 40);
    expect(dissectFrame(badOpt).tcp).toMatchObject({ options: ['mss 1410', 'sackOK', '[bad opt]'], checksumOk: true });

    const udp = udpFrame(pods, 1, 2, new Uint8Array(4));
    udp[L4_OFF + 5] = 7;
    expect(dissectFrame(udp).udp).toEqual({ malformed: expect.stringMatching(/^udp: /) });

    const vx = udpFrame(nodes, 1, 8472, new Uint8Array(5));
    const dv = dissectFrame(vx);
    expect(dv.udp).toMatchObject({ dport: 8472, checksumOk: true });
    expect(dv.vxlan).toEqual({ malformed: expect.stringMatching(/^vxlan: /) });

    const innerBad = vxlanFrame(nodes, new Uint8Array(6));
    const dib = dissectFrame(innerBad);
    expect(dib.vxlan).toEqual({ vni: 1, flags: 8 });
    expect(dib.inner?.malformed).toMatch(/ethernet/);
    expect(dib.malformed).toBeUndefined();

    const icmpShort = new Uint8Array(ETH_HLEN + 20 + 4);
    emitEthernet({ dst: 1, src: 2, ethertype: 0x0800 }, icmpShort, 0);
    emitIpv4Header(
      { src: 1, dst: 2, protocol: 1, ttl: 1, ident: 0, df: false, mf: false, fragOffset: 0, tos: 0, payloadLen: 4 },
      icmpShort,
      ETH_HLEN,
    );
    expect(dissectFrame(icmpShort).icmp).toEqual({ malformed: expect.stringMatching(/^icmp: /) });

    const badQuote = icmpFrame(pods, { kind: 'dest-unreachable', code: 1, nextHopMtu: 0, quote: new Uint8Array(10) });
    expect(dissectFrame(badQuote).icmp).toMatchObject({ quote: { malformed: expect.stringMatching(/quote/) } });
    expect(summary(badQuote)).toBe('10.244.1.3 > 10.244.2.2: ICMP host ? unreachable');
  });

  it('ignores Ethernet padding after the IP datagram', () => {
    const f = new Uint8Array(60);
    f.set(arpRequest('1.1.1.1', '2.2.2.2'));
    expect(dissectFrame(f).arp).toMatchObject({ op: 'request' });
    const g = new Uint8Array(80);
    g.set(udpFrame(pods, 1, 2, new Uint8Array(2)));
    expect(Ipv4View.checked(g, ETH_HLEN).totalLength).toBe(30);
    expect(dissectFrame(g)).toMatchObject({ udp: { len: 10, checksumOk: true }, payloadLen: 2 });
  });

  it('never throws on corrupted or truncated valid frames, and its output survives JSON', () => {
    const seeds = [
      arpRequest('10.244.1.3', '10.244.1.1'),
      echoRequest(pods),
      linuxSyn(pods),
      udpFrame(pods, 1, 53, new Uint8Array(12)),
      vxlanFrame(nodes, linuxSyn(pods)),
      vxlanFrame(nodes, vxlanFrame(nodes, echoRequest(pods))),
      icmpFrame(pods, { kind: 'dest-unreachable', code: 4, nextHopMtu: 1450, quote: quoteOf(linuxSyn(pods)) }),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        (seed, edits, cut) => {
          const f = seed.slice(0, seed.length - (cut % 8 === 0 ? cut % seed.length : 0));
          for (const [pos, val] of edits) if (f.length > 0) f[pos % f.length] = val;
          const d: FrameDissection = dissectFrame(f);
          expect(JSON.stringify(d)).not.toContain('internal error');
          expect(JSON.parse(JSON.stringify(d))).toEqual(d);
          expect(typeof summarizeFrame(d)).toBe('string');
        },
      ),
      { numRuns: 3000 },
    );
  });
});
