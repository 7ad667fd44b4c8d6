/** Chain indexes (the verdict-map speed-up) never change what first-match evaluation decides. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { sim, twoNodeCluster } from '../helpers.js';
import { Netfilter } from '../../src/netfilter/engine.js';
import { builtinChain, makeRuleset, makeTable, rule, userChain } from '../../src/netfilter/rules.js';
import type { Match, Rule, Target } from '../../src/netfilter/rules.js';
import { chainIndex } from '../../src/netfilter/chain-index.js';
import { NfHook } from '../../src/net/stack.js';
import { emitIpv4Header, IPPROTO_TCP, IPPROTO_UDP } from '../../src/wire/ipv4.js';

const VIPS = [0x0a600001, 0x0a600002, 0x0a600003, 0x0a600004];
const PORTS = [53, 80, 443, 8080];

const keyedRule = fc.record({
  dst: fc.option(fc.constantFrom(...VIPS), { nil: undefined }),
  proto: fc.constantFrom(IPPROTO_TCP, IPPROTO_UDP),
  dport: fc.constantFrom(...PORTS),
  target: fc.constantFrom<Target | undefined>(
    { kind: 'ACCEPT' },
    { kind: 'DROP' },
    { kind: 'RETURN' },
    { kind: 'jump', chain: 'SUB' },
    undefined,
    {
      kind: 'DNAT',
      range: { ips: { min: 0x0af40102, max: 0x0af40102 }, ports: { min: 8080, max: 8080 } },
      random: false,
      persistent: false,
    },
  ),
  extra: fc.constantFrom<'none' | 'src' | 'mark'>('none', 'none', 'src', 'mark'),
});

const otherRule = fc.record({
  kind: fc.constantFrom('src', 'proto', 'mark', 'addrtype'),
  target: fc.constantFrom<Target | undefined>({ kind: 'RETURN' }, { kind: 'jump', chain: 'SUB' }, undefined),
});

interface Keyed {
  dst: number | undefined;
  proto: number;
  dport: number;
  target: Target | undefined;
  extra: 'none' | 'src' | 'mark';
}

function toRule(r: Keyed | { kind: string; target: Target | undefined }, isKeyed: boolean): Rule {
  const ms: Match[] = [];
  if (isKeyed) {
    const k = r as Keyed;
    if (k.dst !== undefined) ms.push({ kind: 'dst', invert: false, cidr: { addr: k.dst, len: 32 } });
    ms.push({ kind: 'proto', invert: false, proto: k.proto });
    ms.push({ kind: 'comment', text: 'svc' });
    if (k.extra === 'src') ms.push({ kind: 'src', invert: true, cidr: { addr: 0x0af40000, len: 16 } });
    if (k.extra === 'mark') ms.push({ kind: 'mark', invert: false, value: 0, mask: 0x4000 });
    ms.push({
      kind: k.proto === IPPROTO_TCP ? 'tcp' : 'udp',
      dport: { min: k.dport, max: k.dport, invert: false },
    } as Match);
    return rule(ms, k.target);
  }
  const o = r as { kind: string; target: Target | undefined };
  if (o.kind === 'src') ms.push({ kind: 'src', invert: false, cidr: { addr: 0x0af40100, len: 24 } });
  if (o.kind === 'proto') ms.push({ kind: 'proto', invert: false, proto: IPPROTO_UDP });
  if (o.kind === 'mark') ms.push({ kind: 'mark', invert: true, value: 0x4000, mask: 0x4000 });
  if (o.kind === 'addrtype')
    ms.push({ kind: 'addrtype', dst: { types: ['LOCAL'], invert: false }, limitIfaceIn: false, limitIfaceOut: false });
  return rule(ms, o.target);
}

const noJump = (r: Rule): Rule => (r.target?.kind === 'jump' ? { ...r, target: { kind: 'RETURN' } } : r);
// chains built from blocks: runs of keyed rules of one kind (long enough to be indexed) and a few other rules
const keyedRun = fc.boolean().chain((withDst) =>
  fc.array(
    keyedRule.map((k) => toRule(withDst ? { ...k, dst: k.dst ?? VIPS[0]! } : { ...k, dst: undefined }, true)),
    { minLength: 1, maxLength: 40 },
  ),
);
const chainArb = fc
  .array(
    fc.oneof(
      { weight: 3, arbitrary: keyedRun },
      {
        weight: 1,
        arbitrary: fc.array(
          otherRule.map((o) => toRule(o, false)),
          { minLength: 1, maxLength: 2 },
        ),
      },
    ),
    { minLength: 0, maxLength: 6 },
  )
  .map((blocks) => blocks.flat());

describe('chain indexes', () => {
  test('indexed and linear evaluation take the same path to the same verdict on generated rulesets', () => {
    const { sim: s } = sim(twoNodeCluster());
    const node = s.network.nodes.get('node1')!;
    const pkt = s.network.world.allocPacket(14 + 20 + 20);
    let indexed = 0;
    fc.assert(
      fc.property(
        chainArb,
        chainArb.map((rs) => rs.map(noJump)),
        fc.constantFrom(...VIPS, 0x0af40203),
        fc.constantFrom(IPPROTO_TCP, IPPROTO_UDP, 1),
        fc.constantFrom(...PORTS, 9999),
        fc.constantFrom(0, 0x4000),
        (main, sub, dst, proto, dport, mark) => {
          const pre = builtinChain('PREROUTING', 'ACCEPT', main);
          const rs = makeRuleset([makeTable('nat', [pre, userChain('SUB', sub)])]);
          if (chainIndex(pre) !== null) indexed++;
          const nf = new Netfilter(node.ns, rs);
          emitIpv4Header(
            {
              src: 0x0af40103,
              dst,
              protocol: proto,
              ttl: 64,
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
          pkt.buf[pkt.l3 + 20] = 0x9c;
          pkt.buf[pkt.l3 + 21] = 0x40;
          pkt.buf[pkt.l3 + 22] = dport >> 8;
          pkt.buf[pkt.l3 + 23] = dport & 0xff;
          pkt.mark = mark;
          nf.indexing = true;
          const a = nf.explore('nat', NfHook.PreRouting, pkt, node.cni0, null);
          nf.indexing = false;
          const b = nf.explore('nat', NfHook.PreRouting, pkt, node.cni0, null);
          expect(a).toEqual(b);
        },
      ),
      { numRuns: 1000 },
    );
    // the property must have exercised indexed chains, not only short ones
    expect(indexed).toBeGreaterThan(500);
  });

  test('kube-proxy chains at scale are indexed: KUBE-SERVICES with 2000 ports is one indexed run', () => {
    const rules: Rule[] = [];
    for (let i = 0; i < 2000; i++) {
      rules.push(
        rule(
          [
            { kind: 'dst', invert: false, cidr: { addr: 0x0a600000 + i, len: 32 } },
            { kind: 'proto', invert: false, proto: IPPROTO_TCP },
            { kind: 'comment', text: `svc ${i}` },
            { kind: 'tcp', dport: { min: 80, max: 80, invert: false } } as Match,
          ],
          { kind: 'jump', chain: `KUBE-SVC-${i}` },
        ),
      );
    }
    rules.push(
      rule(
        [{ kind: 'addrtype', dst: { types: ['LOCAL'], invert: false }, limitIfaceIn: false, limitIfaceOut: false }],
        { kind: 'jump', chain: 'KUBE-NODEPORTS' },
      ),
    );
    const idx = chainIndex(userChain('KUBE-SERVICES', rules))!;
    expect(idx.segmentOf[0]!.start).toBe(0);
    expect(idx.segmentOf[0]!.end).toBe(2000);
    expect(idx.segmentOf[2000]).toBeNull();
  });
});
