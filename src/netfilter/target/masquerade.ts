/** `-j MASQUERADE` (libxt_MASQUERADE, nf_nat_masquerade): SNAT to the egress device's address. */
import { O0, O1, type ExtParser, type TargetExtension, type Tok } from '../extension.js';
import type { PortRange } from '../rules.js';
import { checkNatRule, chooseNat, natPorts, printNatRange } from './nat-range.js';

/** `-j MASQUERADE [--to-ports …] [--random] [--random-fully]`. */
export interface MasqueradeTarget {
  readonly kind: 'MASQUERADE';
  readonly ports?: PortRange;
  readonly random: boolean;
  readonly randomFully: boolean;
}

function print(t: MasqueradeTarget): string {
  let s = ' -j MASQUERADE';
  if (t.ports !== undefined) s += ` --to-ports ${printNatRange({ ports: t.ports }, true)}`;
  if (t.random) s += ' --random';
  if (t.randomFully) s += ' --random-fully';
  return s;
}

/** The MASQUERADE module. */
export const masquerade: TargetExtension<MasqueradeTarget> = {
  name: 'MASQUERADE',
  verdict: 'accept',
  parser(at: Tok): ExtParser<MasqueradeTarget> {
    let ports: PortRange | undefined;
    let portsTok: Tok | undefined;
    let random = false;
    let randomFully = false;
    return {
      opts: { 'to-ports': O1, random: O0, 'random-fully': O0 },
      apply(o, [t]) {
        if (o === 'to-ports') {
          ports = natPorts(t!.text, t!);
          portsTok = t;
        } else if (o === 'random') random = true;
        else randomFully = true;
      },
      finish(ctx) {
        checkNatRule('MASQUERADE', ctx, at, portsTok);
        return { kind: 'MASQUERADE', ...(ports !== undefined ? { ports } : {}), random, randomFully };
      },
    };
  },
  print,
  verdictText: (t) => print(t).trim(),
  evaluate: chooseNat,
  nat: {
    manip: 'src',
    setup(t, c, pkt, state) {
      const out = state.out;
      if (out === null) return;
      const nf = state.nf;
      // nf_nat_masquerade_ipv4: the egress device's address toward the next hop
      const dst = c.dnat?.addr ?? c.orig.dst;
      const r = nf.ns.fib.lookup(dst);
      const addr = nf.ns.selectSourceAddress(out, r?.gateway || dst, 'universe');
      if (addr === 0) return;
      nf.natBindSrc(c, pkt, addr, t.ports, t.randomFully || t.random, 'MASQUERADE', out, t.randomFully);
    },
  },
};
