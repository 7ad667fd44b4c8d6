/**
 * Every registered match and target module, driven from the registry: its own iptables-save text
 * parses and prints back the same, and a packet it should match (or act on) and one it should
 * not go through a netfilter holding the rule. A module without a case here fails the test.
 */
import { describe, expect, it } from 'vitest';
import { sim, twoNodeCluster } from '../helpers.js';
import { formatIpv4, parseIpv4 } from '../../src/wire/addr.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, Ipv4View, emitIpv4Header } from '../../src/wire/ipv4.js';
import { NfHook } from '../../src/net/stack.js';
import type { NetDevice } from '../../src/net/device.js';
import type { Packet } from '../../src/net/packet.js';
import { Netfilter } from '../../src/netfilter/engine.js';
import { type Conn, UNTRACKED } from '../../src/netfilter/conntrack.js';
import { formatIptablesSave, formatParseError, parseIptablesSave } from '../../src/netfilter/iptables-save.js';
import { getChain, type Ruleset, type TableName } from '../../src/netfilter/rules.js';
import { matchNames, targetNames, matchExtension } from '../../src/netfilter/registry.js';
import { HEADER_MATCHES } from '../../src/netfilter/match/header.js';
import { hopText } from '../../src/trace/hop-text.js';

const { sim: s } = sim(twoNodeCluster());
const node = s.network.nodes.get('node1')!;
const world = s.network.world;

/** A packet to build: TCP from client 10.244.1.3 to 10.96.0.10:80 unless said otherwise. */
interface PacketSpec {
  readonly src?: string;
  readonly dst?: string;
  readonly proto?: 'tcp' | 'udp' | 'icmp' | 'sctp';
  readonly sport?: number;
  readonly dport?: number;
  /** TCP flags (default SYN). */
  readonly flags?: number;
  readonly icmpType?: number;
  /** Byte offset of a later fragment. */
  readonly fragOffset?: number;
  readonly mark?: number;
  /** The packet was exempted from conntrack before. */
  readonly untracked?: boolean;
  /** What `-m statistic --mode random` decides for it. */
  readonly statistic?: boolean;
}

/** One hook run: the hook, its devices, and the bridge ports of a br_netfilter run. */
interface HookRun {
  readonly hook: NfHook;
  readonly in: NetDevice | null;
  readonly out: NetDevice | null;
  readonly physIn?: string;
}

const PRE: readonly HookRun[] = [{ hook: NfHook.PreRouting, in: node.cni0, out: null }];
const BRIDGED_PRE: readonly HookRun[] = [{ hook: NfHook.PreRouting, in: node.cni0, out: null, physIn: 'veth0a1b2c3d' }];
const FORWARD: readonly HookRun[] = [{ hook: NfHook.Forward, in: node.cni0, out: node.eth0 }];
const INPUT: readonly HookRun[] = [{ hook: NfHook.LocalIn, in: node.cni0, out: null }];
const PRE_POST: readonly HookRun[] = [...PRE, { hook: NfHook.PostRouting, in: null, out: node.eth0 }];

function ip(text: string): number {
  return parseIpv4(text)!;
}

function packet(p: PacketSpec): Packet {
  const pkt = world.allocPacket(14 + 20 + 20);
  const protocol = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, icmp: IPPROTO_ICMP, sctp: 132 }[p.proto ?? 'tcp'];
  emitIpv4Header(
    {
      src: ip(p.src ?? '10.244.1.3'),
      dst: ip(p.dst ?? '10.96.0.10'),
      protocol,
      ttl: 64,
      ident: 1,
      df: false,
      mf: false,
      fragOffset: p.fragOffset ?? 0,
      tos: 0,
      payloadLen: 20,
    },
    pkt.buf,
    pkt.l3,
  );
  const l4 = pkt.l3 + 20;
  if (p.proto === 'icmp') {
    pkt.buf[l4] = p.icmpType ?? 8;
    pkt.buf[l4 + 4] = 0x12;
  } else {
    const sport = p.sport ?? 40000;
    const dport = p.dport ?? 80;
    pkt.buf[l4] = sport >> 8;
    pkt.buf[l4 + 1] = sport & 0xff;
    pkt.buf[l4 + 2] = dport >> 8;
    pkt.buf[l4 + 3] = dport & 0xff;
    pkt.buf[l4 + 12] = 0x50;
    pkt.buf[l4 + 13] = p.flags ?? 0x02;
  }
  pkt.mark = p.mark ?? 0;
  if (p.untracked === true) pkt.ct = UNTRACKED;
  return pkt;
}

function parse(text: string): Ruleset {
  const r = parseIptablesSave(text, 'case.rules');
  if ('errors' in r) throw new Error(r.errors.map(formatParseError).join('\n'));
  return r.ruleset;
}

/** The `-A` lines of a dump exactly as the printer writes them back. */
function printedRules(rs: Ruleset): string[] {
  return formatIptablesSave(rs)
    .split('\n')
    .filter((l) => l.startsWith('-A '));
}

interface RunResult {
  readonly nf: Netfilter;
  /** What the last hook returned (null: dropped or stolen). */
  readonly out: Packet | null;
  /** The packet as the hooks left it (the last one that came out). */
  readonly pkt: Packet;
}

function run(rs: Ruleset, spec: PacketSpec, hooks: readonly HookRun[]): RunResult {
  const nf = new Netfilter(node.ns, rs);
  if (spec.statistic !== undefined) nf.statisticDecider = () => spec.statistic;
  let pkt = packet(spec);
  let out: Packet | null = pkt;
  for (const h of hooks) {
    out = nf.runHook(h.hook, pkt, h.in, h.out, h.physIn !== undefined, h.physIn ?? '', '');
    if (out === null) break;
    pkt = out;
  }
  return { nf, out, pkt };
}

// ───────────────────────────── matches ─────────────────────────────

/** A match case: a rule (after `-A CHAIN`) in mangle, and packets it matches and does not. */
interface MatchCase {
  readonly rule: string;
  readonly chain?: string;
  readonly hooks?: readonly HookRun[];
  /** The hook runs of the miss, when they differ (the devices, not the packet). */
  readonly missHooks?: readonly HookRun[];
  /** Rules before the tested one (e.g. the `--set` a `--rcheck` needs). */
  readonly before?: readonly string[];
  readonly hit: PacketSpec;
  /** Undefined for matches that never fail (comment, nfacct). */
  readonly miss: PacketSpec | undefined;
}

const MATCH_CASES: Readonly<Record<string, MatchCase>> = {
  addrtype: { rule: '-m addrtype --dst-type LOCAL', hit: { dst: '172.18.0.2' }, miss: { dst: '10.96.0.10' } },
  comment: { rule: '-m comment --comment "kube-system/kube-dns:dns cluster IP"', hit: {}, miss: undefined },
  conntrack: {
    rule: '-m conntrack --ctstate NEW --ctorigdstport 80',
    hit: {},
    miss: { dport: 81 },
  },
  icmp: {
    rule: '-p icmp -m icmp --icmp-type 8',
    hit: { proto: 'icmp', icmpType: 8 },
    miss: { proto: 'icmp', icmpType: 0 },
  },
  mark: { rule: '-m mark --mark 0x4000/0x4000', hit: { mark: 0x4000 }, miss: { mark: 0x1 } },
  multiport: { rule: '-p tcp -m multiport --dports 80,443,8000:8080', hit: { dport: 8001 }, miss: { dport: 81 } },
  nfacct: { rule: '-m nfacct --nfacct-name  ct_state_invalid_dropped_pkts', hit: {}, miss: undefined },
  physdev: {
    rule: '-m physdev --physdev-in veth+ --physdev-is-bridged',
    hooks: BRIDGED_PRE,
    hit: {},
    miss: {},
    missHooks: PRE,
  },
  recent: {
    rule: '-m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-X --mask 255.255.255.255 --rsource',
    before: ['-s 10.244.1.3/32 -m recent --set --name KUBE-SEP-X --mask 255.255.255.255 --rsource'],
    hit: {},
    miss: { src: '10.244.1.4' },
  },
  sctp: { rule: '-p sctp -m sctp --dport 80', hit: { proto: 'sctp' }, miss: { proto: 'sctp', dport: 81 } },
  state: { rule: '-m state --state NEW,ESTABLISHED', hit: {}, miss: { untracked: true } },
  statistic: {
    rule: '-m statistic --mode random --probability 0.33333333349',
    hit: { statistic: true },
    miss: { statistic: false },
  },
  tcp: { rule: '-p tcp -m tcp --dport 80 --tcp-flags FIN,SYN,RST,ACK SYN', hit: {}, miss: { flags: 0x10 } },
  udp: { rule: '-p udp -m udp --sport 53', hit: { proto: 'udp', sport: 53 }, miss: { proto: 'udp', sport: 54 } },
};

/** The header fields (`-s -d -i -o -p -f`), which iptables parses itself rather than through `-m`. */
const HEADER_CASES: Readonly<Record<string, MatchCase>> = {
  src: { rule: '-s 10.244.1.0/24', hit: {}, miss: { src: '10.244.2.3' } },
  dst: { rule: '! -d 10.96.0.0/12', hit: { dst: '172.18.0.2' }, miss: {} },
  in: { rule: '-i cni+', hit: {}, miss: {}, missHooks: [{ hook: NfHook.PreRouting, in: node.eth0, out: null }] },
  out: {
    rule: '-o eth0',
    chain: 'FORWARD',
    hooks: FORWARD,
    hit: {},
    miss: {},
    missHooks: [{ hook: NfHook.Forward, in: node.cni0, out: node.cni0 }],
  },
  proto: { rule: '-p udp', hit: { proto: 'udp' }, miss: {} },
  frag: { rule: '-f', chain: 'FORWARD', hooks: FORWARD, hit: { fragOffset: 8 }, miss: {} },
};

function checkMatch(name: string, c: MatchCase): void {
  const chain = c.chain ?? 'PREROUTING';
  const lines = [...(c.before ?? []), c.rule].map((r) => `-A ${chain} ${r}`);
  const rs = parse(`*mangle\n${lines.join('\n')}\nCOMMIT\n`);
  expect(printedRules(rs), `${name}: its own text prints back the same`).toEqual(lines);
  const counted = (r: RunResult): number =>
    r.nf.counters.get(getChain(rs.tables.mangle!, chain)!, lines.length - 1).packets;
  const hooks = c.hooks ?? PRE;
  expect(counted(run(rs, c.hit, hooks)), `${name}: the matching packet`).toBe(1);
  if (c.miss === undefined) {
    expect(matchExtension(name)?.alwaysMatches, `${name}: only a match that never fails has no miss case`).toBe(true);
    return;
  }
  expect(counted(run(rs, c.miss, c.missHooks ?? hooks)), `${name}: the other packet`).toBe(0);
}

describe('match modules', () => {
  it('every registered match has a case here', () => {
    expect(Object.keys(MATCH_CASES).sort()).toEqual(matchNames());
    expect(Object.keys(HEADER_CASES).sort()).toEqual(HEADER_MATCHES.map((h) => h.kind).sort());
  });

  for (const name of matchNames()) {
    it(`-m ${name}: round-trips its text, matches one packet and not another`, () => {
      const c = MATCH_CASES[name];
      expect(c, `no case for -m ${name}`).toBeDefined();
      checkMatch(name, c!);
    });
  }

  for (const h of HEADER_MATCHES) {
    it(`header match ${h.kind}: round-trips its text, matches one packet and not another`, () => {
      checkMatch(h.kind, HEADER_CASES[h.kind]!);
    });
  }
});

// ───────────────────────────── targets ─────────────────────────────

/** A target case: a dump, packets the target acts on and not, and what it does to them. */
interface TargetCase {
  readonly table: TableName;
  /** Chain declarations and `-A` lines. */
  readonly lines: readonly string[];
  readonly hooks: readonly HookRun[];
  readonly hit: PacketSpec;
  readonly miss: PacketSpec;
  /** What the target changes (compared between the two packets). */
  readonly effect: (r: RunResult) => unknown;
  readonly hitEffect: unknown;
  readonly missEffect: unknown;
}

const passed = (r: RunResult): boolean => r.out !== null;
const dstOf = (r: RunResult): string => {
  const dport = (r.pkt.buf[r.pkt.l3 + 22]! << 8) | r.pkt.buf[r.pkt.l3 + 23]!;
  return `${formatIpv4(new Ipv4View(r.pkt.buf, r.pkt.l3).dst)}:${dport}`;
};
const srcOf = (r: RunResult): string => formatIpv4(new Ipv4View(r.pkt.buf, r.pkt.l3).src);
const DPORT_80 = '-p tcp -m tcp --dport 80';

const TARGET_CASES: Readonly<Record<string, TargetCase>> = {
  ACCEPT: {
    table: 'filter',
    lines: [':INPUT DROP [0:0]', `-A INPUT ${DPORT_80} -j ACCEPT`],
    hooks: INPUT,
    hit: {},
    miss: { dport: 81 },
    effect: passed,
    hitEffect: true,
    missEffect: false,
  },
  DROP: {
    table: 'filter',
    lines: [`-A INPUT ${DPORT_80} -j DROP`],
    hooks: INPUT,
    hit: {},
    miss: { dport: 81 },
    effect: passed,
    hitEffect: false,
    missEffect: true,
  },
  REJECT: {
    table: 'filter',
    lines: [`-A INPUT ${DPORT_80} -j REJECT --reject-with icmp-port-unreachable`],
    hooks: INPUT,
    hit: {},
    miss: { dport: 81 },
    effect: passed,
    hitEffect: false,
    missEffect: true,
  },
  RETURN: {
    table: 'filter',
    lines: [':SUB - [0:0]', '-A INPUT -j SUB', `-A SUB ${DPORT_80} -j RETURN`, '-A SUB -j DROP'],
    hooks: INPUT,
    hit: {},
    miss: { dport: 81 },
    effect: passed,
    hitEffect: true,
    missEffect: false,
  },
  MARK: {
    table: 'mangle',
    lines: [`-A PREROUTING ${DPORT_80} -j MARK --set-xmark 0x4000/0x4000`],
    hooks: PRE,
    hit: {},
    miss: { dport: 81 },
    effect: (r) => r.pkt.mark,
    hitEffect: 0x4000,
    missEffect: 0,
  },
  CONNMARK: {
    table: 'mangle',
    lines: [`-A PREROUTING ${DPORT_80} -j CONNMARK --set-xmark 0x7/0xffffffff`],
    hooks: PRE,
    hit: {},
    miss: { dport: 81 },
    effect: (r) => (r.pkt.ct as Conn).mark,
    hitEffect: 7,
    missEffect: 0,
  },
  NOTRACK: {
    table: 'raw',
    lines: [`-A PREROUTING ${DPORT_80} -j NOTRACK`],
    hooks: PRE,
    hit: {},
    miss: { dport: 81 },
    effect: (r) => r.pkt.ct === UNTRACKED,
    hitEffect: true,
    missEffect: false,
  },
  CT: {
    table: 'raw',
    lines: [`-A PREROUTING ${DPORT_80} -j CT --notrack`],
    hooks: PRE,
    hit: {},
    miss: { dport: 81 },
    effect: (r) => r.pkt.ct === UNTRACKED,
    hitEffect: true,
    missEffect: false,
  },
  LOG: {
    table: 'mangle',
    lines: [`-A PREROUTING ${DPORT_80} -j LOG --log-prefix "web: " --log-level 6`],
    hooks: PRE,
    hit: {},
    miss: { dport: 81 },
    effect: (r) => (r.pkt.notes ?? []).map(hopText).filter((n) => n.startsWith('LOG ')),
    hitEffect: ['LOG "web: " in mangle/PREROUTING'],
    missEffect: [],
  },
  DNAT: {
    table: 'nat',
    lines: [`-A PREROUTING ${DPORT_80} -j DNAT --to-destination 10.244.2.9:8080`],
    hooks: PRE,
    hit: {},
    miss: { dport: 81 },
    effect: dstOf,
    hitEffect: '10.244.2.9:8080',
    missEffect: '10.96.0.10:81',
  },
  SNAT: {
    table: 'nat',
    lines: [`-A POSTROUTING ${DPORT_80} -j SNAT --to-source 172.18.0.2`],
    hooks: PRE_POST,
    hit: {},
    miss: { dport: 81 },
    effect: srcOf,
    hitEffect: '172.18.0.2',
    missEffect: '10.244.1.3',
  },
  MASQUERADE: {
    table: 'nat',
    lines: [`-A POSTROUTING ${DPORT_80} -j MASQUERADE --random-fully`],
    hooks: PRE_POST,
    hit: {},
    miss: { dport: 81 },
    effect: srcOf,
    hitEffect: '172.18.0.2',
    missEffect: '10.244.1.3',
  },
};

describe('target modules', () => {
  it('every registered target has a case here', () => {
    expect(Object.keys(TARGET_CASES).sort()).toEqual(targetNames());
  });

  for (const name of targetNames()) {
    it(`-j ${name}: round-trips its text, acts on one packet and not on another`, () => {
      const c = TARGET_CASES[name];
      expect(c, `no case for -j ${name}`).toBeDefined();
      const rs = parse(`*${c!.table}\n${c!.lines.join('\n')}\nCOMMIT\n`);
      expect(printedRules(rs), `${name}: its own text prints back the same`).toEqual(
        c!.lines.filter((l) => l.startsWith('-A ')),
      );
      expect(c!.effect(run(rs, c!.hit, c!.hooks)), `${name}: the packet it acts on`).toEqual(c!.hitEffect);
      expect(c!.effect(run(rs, c!.miss, c!.hooks)), `${name}: the other packet`).toEqual(c!.missEffect);
    });
  }
});
