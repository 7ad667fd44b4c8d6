/** `-j SNAT` (libxt_SNAT, xt_nat): the flow's source becomes an address (and port) of the range. */
import { Fail, O0, O1, type ExtParser, type TargetExtension, type Tok } from '../extension.js';
import { checkNatRule, chooseNat, natTo, pickInRange, printNatRange, type NatRange } from './nat-range.js';

/** `-j SNAT --to-source …`. */
export interface SnatTarget {
  readonly kind: 'SNAT';
  readonly range: NatRange;
  readonly random: boolean;
  readonly randomFully: boolean;
  readonly persistent: boolean;
}

function print(t: SnatTarget): string {
  const r = printNatRange(t.range, false);
  let s = ' -j SNAT';
  if (r !== '') s += ` --to-source ${r}`;
  if (t.random) s += ' --random';
  if (t.randomFully) s += ' --random-fully';
  if (t.persistent) s += ' --persistent';
  return s;
}

/** The SNAT module. */
export const snat: TargetExtension<SnatTarget> = {
  name: 'SNAT',
  verdict: 'accept',
  parser(at: Tok): ExtParser<SnatTarget> {
    let range: NatRange | undefined;
    let portsTok: Tok | undefined;
    let random = false;
    let randomFully = false;
    let persistent = false;
    return {
      opts: { 'to-source': O1, random: O0, 'random-fully': O0, persistent: O0 },
      apply(o, [t]) {
        if (o === 'to-source') {
          const r = natTo(t!);
          range = r.range;
          if (r.hasPorts) portsTok = t;
        } else if (o === 'random') random = true;
        else if (o === 'random-fully') randomFully = true;
        else persistent = true;
      },
      finish(ctx) {
        checkNatRule('SNAT', ctx, at, portsTok);
        if (range === undefined) throw new Fail(at.col, 'SNAT needs --to-source');
        return { kind: 'SNAT', range, random, randomFully, persistent };
      },
    };
  },
  print,
  verdictText: (t) => print(t).trim(),
  evaluate: chooseNat,
  nat: {
    manip: 'src',
    setup(t, c, pkt, state) {
      const nf = state.nf;
      const addr = t.range.ips ? pickInRange(t.range.ips, nf.rng) : c.orig.src;
      nf.natBindSrc(c, pkt, addr, t.range.ports, t.randomFully || t.random, 'SNAT', undefined, t.randomFully);
    },
  },
};
