/**
 * An extension defined outside podnet's sources — here a `-m ttl` match (after xt_ttl) and a
 * `-j TARPIT` target (after xtables-addons) — is registered and then parsed, printed and
 * evaluated like a built-in one, without touching the grammar, the printer or the evaluator.
 */
import { describe, expect, it } from 'vitest';
import { sim, twoNodeCluster } from '../helpers.js';
import { parseIpv4 } from '../../src/wire/addr.js';
import { IPPROTO_TCP, Ipv4View, emitIpv4Header } from '../../src/wire/ipv4.js';
import { NfHook } from '../../src/net/stack.js';
import { Netfilter } from '../../src/netfilter/engine.js';
import {
  Fail,
  O1,
  inv,
  num,
  type ExtParser,
  type MatchExtension,
  type TargetExtension,
  type Tok,
} from '../../src/netfilter/extension.js';
import { formatIptablesSave, formatParseError, parseIptablesSave } from '../../src/netfilter/iptables-save.js';
import { matchNames, registerMatch, registerTarget, targetNames } from '../../src/netfilter/registry.js';
import { getChain, type Ruleset } from '../../src/netfilter/rules.js';
import { hopText } from '../../src/trace/hop-text.js';

/** `-m ttl --ttl-lt N` / `--ttl-gt N` / `[!] --ttl-eq N`. */
interface TtlMatch {
  readonly kind: 'ttl';
  readonly op: 'eq' | 'lt' | 'gt';
  readonly invert: boolean;
  readonly value: number;
}

const ttl: MatchExtension<TtlMatch> = {
  name: 'ttl',
  parser(at: Tok): ExtParser<TtlMatch> {
    let v: { op: 'eq' | 'lt' | 'gt'; invert: boolean; value: number } | undefined;
    return {
      opts: {
        'ttl-eq': { args: 1, invert: true, canon: 'ttl' },
        'ttl-lt': { ...O1, canon: 'ttl' },
        'ttl-gt': { ...O1, canon: 'ttl' },
      },
      apply(o, [t], invert) {
        v = { op: o === 'ttl-eq' ? 'eq' : o === 'ttl-lt' ? 'lt' : 'gt', invert, value: num(t!, 255, 'TTL') };
      },
      finish() {
        if (v === undefined) throw new Fail(at.col, '-m ttl needs --ttl-eq, --ttl-lt or --ttl-gt');
        return { kind: 'ttl', ...v };
      },
    };
  },
  print: (m) => ` -m ttl${inv(m.invert)} --ttl-${m.op} ${m.value}`,
  evaluate(m, ctx) {
    const t = new Ipv4View(ctx.pkt.buf, ctx.pkt.l3).ttl;
    const hit = m.op === 'eq' ? t === m.value : m.op === 'lt' ? t < m.value : t > m.value;
    return hit !== m.invert;
  },
};

/** `-j TARPIT`: holds the connection open (here: drops, and says so in the trace). */
interface TarpitTarget {
  readonly kind: 'TARPIT';
}

const tarpit: TargetExtension<TarpitTarget> = {
  name: 'TARPIT',
  verdict: 'drop',
  parser: (): ExtParser<TarpitTarget> => ({ opts: {}, apply() {}, finish: () => ({ kind: 'TARPIT' }) }),
  print: () => ' -j TARPIT',
  verdictText: () => 'TARPIT',
  evaluate(_t, ctx) {
    if (ctx.tracing && ctx.dry === null) ctx.trace('TARPIT: connection held');
  },
};

registerMatch(ttl);
registerTarget(tarpit);

const { sim: s } = sim(twoNodeCluster());
const node = s.network.nodes.get('node1')!;

function packet(ttlValue: number): ReturnType<typeof s.network.world.allocPacket> {
  const pkt = s.network.world.allocPacket(14 + 20 + 20);
  const src = parseIpv4('10.244.1.3')!;
  const dst = parseIpv4('172.18.0.2')!;
  emitIpv4Header(
    {
      src,
      dst,
      protocol: IPPROTO_TCP,
      ttl: ttlValue,
      ident: 1,
      df: true,
      mf: false,
      fragOffset: 0,
      tos: 0,
      payloadLen: 20,
    },
    pkt.buf,
    pkt.l3,
  );
  pkt.buf.set([0x9c, 0x40, 0x00, 0x16], pkt.l3 + 20);
  pkt.buf[pkt.l3 + 32] = 0x50;
  pkt.buf[pkt.l3 + 33] = 0x02;
  return pkt;
}

const DUMP = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m ttl --ttl-lt 5 -m comment --comment "scanners come from afar" -j TARPIT
-A INPUT -m ttl ! --ttl-eq 64
COMMIT
`;

function parsed(): Ruleset {
  const r = parseIptablesSave(DUMP, 'extra.rules');
  if ('errors' in r) throw new Error(r.errors.map(formatParseError).join('\n'));
  return r.ruleset;
}

describe('an extension registered from outside', () => {
  it('is listed with the built-in ones', () => {
    expect(matchNames()).toContain('ttl');
    expect(targetNames()).toContain('TARPIT');
  });

  it('parses and prints back the same text', () => {
    expect(formatIptablesSave(parsed())).toBe(DUMP);
  });

  it("reports its own parse errors at the option's line and column", () => {
    const r = parseIptablesSave('*filter\n-A INPUT -m ttl --ttl-lt x\nCOMMIT\n', 'bad.rules');
    expect('errors' in r && r.errors.map(formatParseError)).toEqual([
      'bad.rules:2:26: bad TTL "x" (expected a number 0..255)',
    ]);
  });

  it('evaluates: a packet it matches gets its target, another packet passes', () => {
    const rs = parsed();
    const input = getChain(rs.tables.filter!, 'INPUT')!;
    const nf = new Netfilter(node.ns, rs);
    const near = packet(64);
    expect(nf.runHook(NfHook.LocalIn, near, node.cni0, null, false)).toBe(near);
    const mid = packet(30);
    expect(nf.runHook(NfHook.LocalIn, mid, node.cni0, null, false)).toBe(mid);
    const far = packet(3);
    expect(nf.runHook(NfHook.LocalIn, far, node.cni0, null, false)).toBeNull();
    expect(nf.counters.get(input, 0).packets).toBe(1);
    expect(nf.counters.get(input, 1).packets).toBe(1);
    // its trace line and verdict come out like a built-in target's
    const notes = (far.notes ?? []).map(hopText);
    expect(notes).toContain('TARPIT: connection held');
    expect(notes).toContain('iptables filter/INPUT: INPUT#1 "scanners come from afar" ⇒ TARPIT');
  });

  it('takes part in path exploration', () => {
    const nf = new Netfilter(node.ns, parsed());
    const paths = nf.explore('filter', NfHook.LocalIn, packet(3), node.cni0, null);
    expect(paths).toEqual([
      {
        probability: 1,
        verdict: 'TARPIT',
        nat: undefined,
        rules: [{ chain: 'INPUT', index: 1, comment: 'scanners come from afar', target: 'TARPIT', jump: undefined }],
      },
    ]);
  });
});
