/** `-m multiport --sports|--dports|--ports` (libxt_multiport, xt_multiport). */
import { IPPROTO_TCP, IPPROTO_UDP } from '../../wire/ipv4.js';
import {
  Fail,
  inRange,
  inv,
  needProto,
  port,
  portRange,
  type ExtParser,
  type MatchExtension,
  type OptSpec,
  type Tok,
} from '../extension.js';
import type { PortRange } from '../rules.js';

/** `-m multiport --sports|--dports|--ports`. */
export interface MultiportMatch {
  readonly kind: 'multiport';
  readonly invert: boolean;
  readonly dir: 'src' | 'dst' | 'both';
  readonly ports: readonly PortRange[];
}

const DIRS: Readonly<Record<string, 'src' | 'dst' | 'both'>> = {
  sports: 'src',
  'source-ports': 'src',
  dports: 'dst',
  'destination-ports': 'dst',
  ports: 'both',
};

const SPEC: OptSpec = { args: 1, invert: true, canon: 'ports' };

/** The multiport module. */
export const multiport: MatchExtension<MultiportMatch> = {
  name: 'multiport',
  parser(at: Tok): ExtParser<MultiportMatch> {
    let v: { invert: boolean; dir: 'src' | 'dst' | 'both'; ports: PortRange[] } | undefined;
    return {
      opts: { sports: SPEC, 'source-ports': SPEC, dports: SPEC, 'destination-ports': SPEC, ports: SPEC },
      apply(o, [t], invert) {
        const ports: PortRange[] = [];
        let slots = 0;
        for (const part of t!.text.split(',')) {
          const i = part.indexOf(':');
          const min = port(i < 0 ? part : part.slice(0, i), t!);
          const max = i < 0 ? min : port(part.slice(i + 1), t!);
          if (min > max) throw new Fail(t!.col, `invalid port range "${part}" (min > max)`);
          ports.push({ min, max });
          slots += min === max ? 1 : 2;
        }
        if (slots > 15) throw new Fail(t!.col, 'too many ports specified (multiport takes at most 15)');
        v = { invert, dir: DIRS[o]!, ports };
      },
      finish(ctx) {
        needProto(ctx, at, '-m multiport', [6, 17, 132, 33, 136]);
        if (v === undefined) throw new Fail(at.col, '-m multiport needs --sports, --dports or --ports');
        return { kind: 'multiport', ...v };
      },
    };
  },
  print(m) {
    const opt = m.dir === 'src' ? 'sports' : m.dir === 'dst' ? 'dports' : 'ports';
    return ` -m multiport${inv(m.invert)} --${opt} ${m.ports.map((p) => portRange(p)).join(',')}`;
  },
  evaluate(m, ctx) {
    if (ctx.fragOff !== 0 || (ctx.proto !== IPPROTO_TCP && ctx.proto !== IPPROTO_UDP && ctx.proto !== 132))
      return false;
    const hit = m.ports.some(
      (r) => (m.dir !== 'dst' && inRange(ctx.sport, r)) || (m.dir !== 'src' && inRange(ctx.dport, r)),
    );
    return hit !== m.invert;
  },
};
