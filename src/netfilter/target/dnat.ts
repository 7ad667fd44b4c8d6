/** `-j DNAT` (libxt_DNAT, xt_nat): the flow's destination becomes an address (and port) of the range. */
import { IPPROTO_ICMP } from '../../wire/ipv4.js';
import { Fail, O0, O1, type ExtParser, type TargetExtension, type Tok } from '../extension.js';
import { checkNatRule, chooseNat, natTo, pickInRange, printNatRange, type NatRange } from './nat-range.js';

/** `-j DNAT --to-destination …`. */
export interface DnatTarget {
  readonly kind: 'DNAT';
  readonly range: NatRange;
  readonly random: boolean;
  readonly persistent: boolean;
}

function print(t: DnatTarget): string {
  const r = printNatRange(t.range, false);
  let s = ' -j DNAT';
  if (r !== '') s += ` --to-destination ${r}`;
  if (t.random) s += ' --random';
  if (t.persistent) s += ' --persistent';
  return s;
}

/** The DNAT module. */
export const dnat: TargetExtension<DnatTarget> = {
  name: 'DNAT',
  verdict: 'accept',
  parser(at: Tok): ExtParser<DnatTarget> {
    let range: NatRange | undefined;
    let portsTok: Tok | undefined;
    let random = false;
    let persistent = false;
    return {
      opts: { 'to-destination': O1, random: O0, persistent: O0 },
      apply(o, [t]) {
        if (o === 'to-destination') {
          const r = natTo(t!);
          range = r.range;
          if (r.hasPorts) portsTok = t;
        } else if (o === 'random') random = true;
        else persistent = true;
      },
      finish(ctx) {
        checkNatRule('DNAT', ctx, at, portsTok);
        if (range === undefined) throw new Fail(at.col, 'DNAT needs --to-destination');
        return { kind: 'DNAT', range, random, persistent };
      },
    };
  },
  print,
  verdictText: (t) => print(t).trim(),
  evaluate: chooseNat,
  nat: {
    manip: 'dst',
    setup(t, c, pkt, state) {
      const nf = state.nf;
      const range = t.range;
      const addr = range.ips ? pickInRange(range.ips, nf.rng) : c.orig.dst;
      const port = range.ports && c.orig.proto !== IPPROTO_ICMP ? pickInRange(range.ports, nf.rng) : c.orig.dport;
      nf.natBindDst(c, pkt, addr, port);
    },
  },
};
